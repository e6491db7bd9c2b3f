package classify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/classify"
)

// corpusDir finds the SpamAssassin public corpus: ham/ and spam/ folders
// of raw RFC 822 messages.
func corpusDir(t testing.TB) string {
	dir := os.Getenv("ENGRAM_SPAMASSASSIN_DIR")
	if dir == "" {
		// go test runs in the package directory.
		dir = filepath.Join("..", "..", "shared", "data", "spamassassin")
	}
	if _, err := os.Stat(filepath.Join(dir, "ham")); err != nil {
		t.Skipf("SpamAssassin corpus not found at %s (set ENGRAM_SPAMASSASSIN_DIR): %v", dir, err)
	}
	return dir
}

// loadMail reads every message of dir as the mail connector would see
// it. Messages net/mail cannot parse are skipped.
func loadMail(t testing.TB, dir string) []engram.ClassifyInput {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var docs []engram.ClassifyInput
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := parseMail(raw); ok {
			d.ID = e.Name()
			docs = append(docs, d)
		}
	}
	return docs
}

func parseMail(raw []byte) (engram.ClassifyInput, bool) {
	// The files are mbox entries: an envelope "From " line comes first,
	// which is not a header.
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			raw = raw[i+1:]
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return engram.ClassifyInput{}, false
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		subject = msg.Header.Get("Subject")
	}
	from := msg.Header.Get("From")
	sender, email := "", from
	if a, err := mail.ParseAddress(from); err == nil {
		sender, email = a.Name, a.Address
	}
	var body strings.Builder
	textOf(&body, msg.Body, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), 0)
	return engram.ClassifyInput{Title: subject, Content: body.String(), Sender: sender, SenderEmail: email, SourceType: "mail"}, true
}

// textOf appends the text parts of a MIME entity, decoding the transfer
// encodings mail clients use; other parts (images, attachments) are left
// out, as a mail connector would. Broken entities fall back to raw bytes.
func textOf(out *strings.Builder, r io.Reader, contentType, encoding string, depth int) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = "text/plain"
	}
	if strings.HasPrefix(mediaType, "multipart/") && params["boundary"] != "" && depth < 4 {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return
			}
			// Read through Header: multipart would otherwise decode
			// quoted-printable itself and hide the header.
			textOf(out, p, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), depth+1)
		}
	}
	if !strings.HasPrefix(mediaType, "text/") {
		return
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, _ := io.ReadAll(io.LimitReader(r, 64<<10))
	out.Write(b)
	out.WriteByte('\n')
}

// TestCorpus measures the rules against real ham and spam. The corpus is
// mailing-list traffic and newsletters from 2002; the thresholds are set a
// little below what the rules measure, so a change that makes them
// noticeably worse fails.
func TestCorpus(t *testing.T) {
	t.Parallel()
	dir := corpusDir(t)
	ham := loadMail(t, filepath.Join(dir, "ham"))
	spam := loadMail(t, filepath.Join(dir, "spam"))
	if len(ham) < 100 || len(spam) < 100 {
		t.Fatalf("corpus too small: %d ham, %d spam", len(ham), len(spam))
	}
	hamCounts, hamSure := classCounts(t, ham)
	spamCounts, _ := classCounts(t, spam)
	recall := float64(spamCounts[engram.ClassSpam]) / float64(len(spam))
	falsePositive := float64(hamCounts[engram.ClassSpam]) / float64(len(ham))
	sureFalsePositive := float64(hamSure) / float64(len(ham))
	t.Logf("spam: %d messages, %v, recall %.3f", len(spam), spamCounts, recall)
	t.Logf("ham: %d messages, %v, classified spam %.3f, of which not borderline %.3f", len(ham), hamCounts, falsePositive, sureFalsePositive)
	// The ham folder holds easy ham (lists, personal mail) and hard ham
	// (commercial newsletters); they fail very differently.
	var hard []engram.ClassifyInput
	for _, d := range ham {
		if strings.HasPrefix(d.ID, "hard-") {
			hard = append(hard, d)
		}
	}
	if len(hard) > 0 {
		hardCounts, _ := classCounts(t, hard)
		easySpam := hamCounts[engram.ClassSpam] - hardCounts[engram.ClassSpam]
		t.Logf("of which easy ham %d/%d classified spam, hard ham (newsletters) %d/%d",
			easySpam, len(ham)-len(hard), hardCounts[engram.ClassSpam], len(hard))
	}
	if recall < minRecall {
		t.Errorf("spam recall %.3f, want at least %.2f", recall, minRecall)
	}
	if falsePositive > maxFalsePositive {
		t.Errorf("ham classified spam %.3f, want at most %.2f", falsePositive, maxFalsePositive)
	}
	if sureFalsePositive > maxSureFalsePositive {
		t.Errorf("ham classified spam without being borderline %.3f, want at most %.2f", sureFalsePositive, maxSureFalsePositive)
	}
}

// Thresholds for TestCorpus, a little worse than measured: recall 0.816,
// ham classified spam 0.043, not borderline 0.023. The weights were chosen
// looking at this same corpus (by how often each signal fires in ham and
// in spam), so these are training figures, not a held-out estimate.
const (
	minRecall        = 0.78
	maxFalsePositive = 0.05
	// Not borderline is what a tenant may confirm automatically, so a
	// false positive there hides good mail without anyone looking.
	maxSureFalsePositive = 0.03
)

// classCounts classifies docs and counts the results by class, and the
// spam results that are not borderline.
func classCounts(t *testing.T, docs []engram.ClassifyInput) (map[engram.Classification]int, int) {
	t.Helper()
	res, err := classify.New().Classify(context.Background(), nil, docs)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[engram.Classification]int{}
	sure := 0
	for _, r := range res {
		counts[r.Classification]++
		if r.Classification == engram.ClassSpam && !r.IsBorderline {
			sure++
		}
	}
	return counts, sure
}
