package engram

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"
)

var idState struct {
	sync.Mutex
	ms  uint64
	seq uint16
}

// NewID returns a new UUIDv7 in canonical text form. Version 7 ids start
// with a millisecond timestamp, so new rows land at the end of an index.
// Within one process ids are strictly increasing: the 12 bits after the
// timestamp count ids made in the same millisecond (RFC 9562, method 1),
// so documents created in one batch sort in the order they were given.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	idState.Lock()
	ms := uint64(time.Now().UnixMilli())
	if ms <= idState.ms {
		ms = idState.ms
		idState.seq++
		if idState.seq > 0x0fff {
			ms++
			idState.seq = 0
		}
	} else {
		idState.seq = 0
	}
	idState.ms = ms
	seq := idState.seq
	idState.Unlock()
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], ms)
	copy(b[0:6], ts[2:8])
	b[6] = 0x70 | byte(seq>>8) // version 7 and the counter's high bits
	b[7] = byte(seq)
	b[8] = (b[8] & 0x3f) | 0x80 // RFC 4122 variant
	return formatID(b)
}

// IDBefore returns the smallest UUIDv7 of t's millisecond: every id NewID
// made before t sorts below it, as text and as a PostgreSQL uuid.
func IDBefore(t time.Time) string {
	var b [16]byte
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(t.UnixMilli()))
	copy(b[0:6], ts[2:8])
	b[6] = 0x70
	b[8] = 0x80
	return formatID(b)
}

func formatID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

// ParseID checks that s is a UUID in the 8-4-4-4-12 hex form and returns it
// in lowercase canonical form.
func ParseID(s string) (string, bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return "", false
	}
	var b [16]byte
	j := 0
	for _, part := range [][2]int{{0, 8}, {9, 13}, {14, 18}, {19, 23}, {24, 36}} {
		n, err := hex.Decode(b[j:], []byte(s[part[0]:part[1]]))
		if err != nil {
			return "", false
		}
		j += n
	}
	return formatID(b), true
}
