package engram

import (
	"testing"
	"time"
)

func TestIDBefore(t *testing.T) {
	now := time.Now()
	id := NewID()
	if lo, hi := IDBefore(now.Add(-time.Millisecond)), IDBefore(now.Add(time.Second)); !(lo < id && id < hi) {
		t.Fatalf("IDBefore: %s < %s < %s does not hold", lo, id, hi)
	}
	if _, ok := ParseID(IDBefore(now)); !ok {
		t.Fatalf("IDBefore(now) = %q is not an id", IDBefore(now))
	}
}
