package mail

import (
	"bufio"
	"bytes"
	"io"
	"regexp"
)

// rawMessage is one message cut from a file.
type rawMessage struct {
	data []byte
	// offset is where the message (its "From " line, in an mbox) starts.
	offset int64
	// size is the message's full length; when it is over the limit, data
	// is nil and the message is reported as too large.
	size int64
}

// fromLine matches the separator line of an mbox, "From <sender> <date>",
// with the ctime-style date every writer puts there ("Thu Aug 22 13:17:22
// 2002", Gmail's "Thu Sep 10 14:27:16 +0000 2020"). Requiring the date keeps
// a body line such as "From 9:30 we meet" from splitting a message that a
// careless writer did not escape.
var fromLine = regexp.MustCompile(`^From \S+\s+[A-Z][a-z]{2} [A-Z][a-z]{2}\s+\d{1,2} \d{1,2}:\d\d`)

// mboxReader cuts an mbox into messages, one at a time, holding only the
// current one in memory. Lines of the form ">From ", ">>From ", … lose one
// ">" (mboxrd quoting, which also undoes mboxo's).
type mboxReader struct {
	r     *bufio.Reader
	limit int
	off   int64 // bytes consumed so far
	next  int64 // offset of the "From " line already read, -1 if none
	done  bool
	line  []byte
}

func newMboxReader(r io.Reader, limit int) *mboxReader {
	return &mboxReader{r: bufio.NewReaderSize(r, 64<<10), limit: limit, next: -1}
}

// Next returns the next message, or io.EOF after the last. A message over
// the limit comes back with nil data and its size, and the reader moves on.
func (m *mboxReader) Next() (rawMessage, error) {
	if m.done {
		return rawMessage{}, io.EOF
	}
	msg := rawMessage{offset: m.off}
	if m.next >= 0 {
		msg.offset = m.next
	}
	var buf bytes.Buffer
	over := false
	for {
		// Keep enough of a line to recognise a "From " line even when the
		// message is already over the limit.
		line, n, err := m.readLine(max(m.limit-buf.Len(), 256))
		if n == 0 {
			m.done = true
			if err != nil && err != io.EOF {
				return rawMessage{}, err
			}
			break
		}
		start := m.off
		m.off += int64(n)
		// The file's first line is a separator whatever its date looks like.
		if fromLine.Match(line) || (start == 0 && bytes.HasPrefix(line, []byte("From "))) {
			if msg.size == 0 {
				msg.offset = start // this message's own separator
				continue
			}
			m.next = start
			break
		}
		msg.size += int64(n)
		if line[0] == '>' && bytes.HasPrefix(bytes.TrimLeft(line, ">"), []byte("From ")) {
			line = line[1:]
		}
		if !over && buf.Len()+len(line) <= m.limit && len(line) >= n-1 {
			buf.Write(line)
		} else {
			over = true
		}
	}
	if msg.size == 0 {
		return rawMessage{}, io.EOF
	}
	if !over {
		msg.data = buf.Bytes()
	}
	return msg, nil
}

// readLine reads one line, keeping at most keep bytes of it; n is the
// line's full length.
func (m *mboxReader) readLine(keep int) (line []byte, n int, err error) {
	m.line = m.line[:0]
	for {
		frag, err := m.r.ReadSlice('\n')
		n += len(frag)
		if room := keep - len(m.line); room > 0 {
			m.line = append(m.line, frag[:min(room, len(frag))]...)
		}
		if err != bufio.ErrBufferFull {
			return m.line, n, err
		}
	}
}
