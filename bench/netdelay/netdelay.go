// Package netdelay is a TCP proxy that delays what it forwards, so that
// `engram bench --db-latency` can put a network between engram and its
// database: each direction holds every chunk of bytes for half the round
// trip before passing it on, as a cable does, without limiting throughput
// (chunks in flight overlap) or reordering anything.
package netdelay

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Proxy forwards connections made to Addr to a target address, adding a
// round-trip delay.
type Proxy struct {
	ln     net.Listener
	target string
	oneWay time.Duration

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Start listens on a free loopback port and forwards every connection to
// target ("host:port"), adding rtt to each round trip (rtt/2 each way).
func Start(target string, rtt time.Duration) (*Proxy, error) {
	if rtt < 0 {
		return nil, errors.New("netdelay: negative delay")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, oneWay: rtt / 2, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's address ("127.0.0.1:PORT").
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops listening, closes every forwarded connection and waits for
// them to end.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(client) {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(client)
			server, err := net.Dial("tcp", p.target)
			if err != nil {
				return
			}
			if !p.track(server) {
				return
			}
			defer p.untrack(server)
			done := make(chan struct{}, 2)
			go func() { delayCopy(server, client, p.oneWay); done <- struct{}{} }()
			go func() { delayCopy(client, server, p.oneWay); done <- struct{}{} }()
			<-done // one side ended: end both
			client.Close()
			server.Close()
			<-done
		}()
	}
}

// chunk is bytes read at one moment, due to be written at due.
type chunk struct {
	b   []byte
	due time.Time
}

// delayCopy copies src to dst, each chunk written delay after it was read.
func delayCopy(dst, src net.Conn, delay time.Duration) {
	line := make(chan chunk, 4096)
	go func() {
		defer close(line)
		for {
			buf := make([]byte, 64<<10)
			n, err := src.Read(buf)
			if n > 0 {
				line <- chunk{b: buf[:n], due: time.Now().Add(delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range line {
		if d := time.Until(c.due); d > 0 {
			time.Sleep(d)
		}
		if _, err := dst.Write(c.b); err != nil {
			for range line { // let the reader finish
			}
			return
		}
	}
	if tc, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	} else {
		_, _ = io.Copy(io.Discard, src)
	}
}
