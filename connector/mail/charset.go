package mail

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/transform"
)

// lookupCharset finds the decoder for a MIME charset label. The WHATWG
// index (htmlindex) comes first because mail clients mislabel like web
// pages do and it maps labels the way browsers and mail readers do
// (iso-8859-1 and us-ascii to windows-1252, gb2312 to GBK,
// ks_c_5601-1987 to EUC-KR); the IANA index catches the rest.
func lookupCharset(label string) encoding.Encoding {
	label = strings.Trim(strings.ToLower(strings.TrimSpace(label)), `"'`)
	if label == "" {
		return nil
	}
	if e, err := htmlindex.Get(label); err == nil {
		return e
	}
	if e, err := ianaindex.MIME.Encoding(label); err == nil && e != nil {
		return e
	}
	return nil
}

// isUTF8Label reports labels under which UTF-8 bytes should be taken as they
// are: UTF-8 itself, and US-ASCII and none, which 8-bit mail often claims
// while sending UTF-8.
func isUTF8Label(label string) bool {
	switch strings.Trim(strings.ToLower(strings.TrimSpace(label)), `"'`) {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968":
		return true
	}
	return false
}

// toUTF8 decodes b from charset label. Bytes that are valid UTF-8 and not
// plain ASCII are taken as UTF-8 whatever the label says: text in a legacy
// charset almost never forms valid UTF-8 by chance, while UTF-8 labelled
// iso-8859-1 (or re-encoded after the fact, as in parts of the SpamAssassin
// corpus) is common. Invalid bytes in text labelled UTF-8 become U+FFFD;
// other text under no label, US-ASCII or an unknown label is decoded as
// windows-1252, the most common legacy charset, which maps every byte.
func toUTF8(b []byte, label string) string {
	if utf8.Valid(b) && (isUTF8Label(label) || !isASCII(b)) {
		return string(b)
	}
	if l := strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`)); l == "utf-8" || l == "utf8" {
		// Broken UTF-8 is still mostly UTF-8: replace the bad bytes only.
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	enc := lookupCharset(label)
	if enc == nil || isUTF8Label(label) {
		enc = charmap.Windows1252
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// wordDecoder decodes RFC 2047 encoded words in any charset we know.
var wordDecoder = &mime.WordDecoder{
	CharsetReader: func(label string, r io.Reader) (io.Reader, error) {
		enc := lookupCharset(label)
		if enc == nil {
			return nil, unknownCharset(label)
		}
		return transform.NewReader(r, enc.NewDecoder()), nil
	},
}

type unknownCharset string

func (e unknownCharset) Error() string { return "unknown charset " + string(e) }

// headerText decodes a raw header value: raw 8-bit bytes, which RFC 5322
// forbids but old and spam mail send, are read in the message's charset
// (fallback), then RFC 2047 encoded words are decoded. A value that does
// not decode is returned as it is.
func headerText(raw, fallback string) string {
	s := rawHeader(raw, fallback)
	if !strings.Contains(s, "=?") {
		return s
	}
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// rawHeader makes a raw header value valid UTF-8 without decoding encoded
// words.
func rawHeader(raw, fallback string) string {
	if utf8.ValidString(raw) {
		return raw
	}
	return toUTF8([]byte(raw), fallback)
}

// decodeQuotedPrintable decodes quoted-printable leniently: a "=" not
// followed by two hex digits or a line break is kept as it is, the way mail
// readers show broken encodings, instead of failing the message as
// mime/quotedprintable does.
func decodeQuotedPrintable(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		rest := b[i+1:]
		// A soft line break: "=", optional trailing blanks, then EOL.
		j := 0
		for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t') {
			j++
		}
		switch {
		case j < len(rest) && rest[j] == '\n':
			i += j + 1
		case j+1 < len(rest) && rest[j] == '\r' && rest[j+1] == '\n':
			i += j + 2
		case j == len(rest):
			i = len(b)
		case len(rest) >= 2 && isHex(rest[0]) && isHex(rest[1]):
			out = append(out, unhex(rest[0])<<4|unhex(rest[1]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// decodeBase64 decodes base64 leniently: characters outside the alphabet
// (line breaks, stray blanks) are dropped, and a truncated last group
// decodes as far as it goes.
func decodeBase64(b []byte) []byte {
	clean := make([]byte, 0, len(b))
	for _, c := range b {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/':
			clean = append(clean, c)
		case c == '=':
			// Padding ends the data; anything after it is junk.
			return decodeRawBase64(clean)
		}
	}
	return decodeRawBase64(clean)
}

func decodeRawBase64(b []byte) []byte {
	if len(b)%4 == 1 {
		b = b[:len(b)-1] // one leftover character holds no whole byte
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(b)))
	n, _ := base64.RawStdEncoding.Decode(out, b)
	return out[:n]
}

// stripBOM drops a UTF-8 byte order mark.
func stripBOM(b []byte) []byte {
	return bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
}
