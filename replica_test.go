package engram_test

import (
	"testing"

	"github.com/engram-kb/engram"
)

func TestWALPosition(t *testing.T) {
	for _, s := range []string{"0/0", "16/B374D848", "FFFFFFFF/FFFFFFFF", "0/1"} {
		p, err := engram.ParseWALPosition(s)
		if err != nil || p.String() != s {
			t.Errorf("ParseWALPosition(%q) = %v (%s), %v", s, uint64(p), p, err)
		}
	}
	a, _ := engram.ParseWALPosition("1/0")
	b, _ := engram.ParseWALPosition("0/FFFFFFFF")
	if a <= b {
		t.Error("1/0 does not come after 0/FFFFFFFF")
	}
	for _, s := range []string{"", "x", "1/", "/1", "1/2/3", "100000000/0", "-1/0"} {
		if _, err := engram.ParseWALPosition(s); engram.ErrorCode(err) != engram.EInvalid {
			t.Errorf("ParseWALPosition(%q): %v, want invalid_argument", s, err)
		}
	}
}
