package netdelay_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"

	"github.com/engram-kb/engram/bench/netdelay"
)

// echoServer answers every connection with what it reads.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

// TestProxyDelaysAndKeepsBytes checks that bytes come back unchanged and in
// order through the proxy, large and small, and that a round trip takes
// at least the delay asked for (a lower bound the proxy guarantees by
// holding each chunk; no upper bound is asserted: that would be a timing).
func TestProxyDelaysAndKeepsBytes(t *testing.T) {
	t.Parallel()
	const rtt = 20 * time.Millisecond
	p, err := netdelay.Start(echoServer(t), rtt)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, size := range []int{1, 1500, 3 << 20} {
		want := make([]byte, size)
		_, _ = rand.Read(want)
		start := time.Now()
		go func() { _, _ = c.Write(want) }()
		got := make([]byte, size)
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if took := time.Since(start); took < rtt {
			t.Errorf("%d bytes came back after %s, before the %s round trip", size, took, rtt)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%d bytes came back changed", size)
		}
	}
	// Close ends forwarded connections: the client sees EOF.
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("read after Close succeeded")
	}
}

func TestNegativeDelay(t *testing.T) {
	if _, err := netdelay.Start("127.0.0.1:1", -time.Millisecond); err == nil {
		t.Error("a negative delay was accepted")
	}
}
