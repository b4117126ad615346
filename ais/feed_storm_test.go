package ais

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hostile is a local TCP server that counts the connections it accepts
// and handles each with serve.
type hostile struct {
	ln      net.Listener
	accepts atomic.Int64
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
	done    chan struct{}
}

func newHostile(t *testing.T, serve func(c net.Conn, done <-chan struct{})) *hostile {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hostile{ln: ln, done: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.accepts.Add(1)
			h.mu.Lock()
			h.conns = append(h.conns, c)
			h.mu.Unlock()
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				serve(c, h.done)
			}()
		}
	}()
	t.Cleanup(h.stop)
	return h
}

func (h *hostile) addr() string { return "tcp://" + h.ln.Addr().String() }

func (h *hostile) stop() {
	select {
	case <-h.done:
		return
	default:
	}
	close(h.done)
	h.ln.Close()
	h.mu.Lock()
	for _, c := range h.conns {
		c.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// maxConnects bounds the connections a feed may make in elapsed when every
// one of them ends unhealthy: the first at once, then one after each wait,
// each wait at least half its backoff step (min, doubling, capped at max).
// Doubled, plus two, for slack: the bound catches a storm (thousands), not
// a connection more or less.
func maxConnects(elapsed, minB, maxB time.Duration) int64 {
	n := int64(1)
	step := minB
	for total := step / 2; total <= elapsed; total += step / 2 {
		n++
		step = min(2*step, maxB)
	}
	return 2*n + 2
}

// runFeedUntil reads the feed on a goroutine until cond holds (checked
// every 10 ms, for at least atLeast and at most 30 s), then cancels it. It
// returns how long the feed ran and the messages it read.
func runFeedUntil(t *testing.T, addr string, opt FeedOptions, atLeast time.Duration, cond func() bool) (time.Duration, int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	src, closer, err := OpenInput(ctx, addr, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	var msgs atomic.Int64
	done := make(chan error, 1)
	go func() {
		var m Message
		for {
			if err := src.Next(&m); err != nil {
				done <- err
				return
			}
			msgs.Add(1)
		}
	}()
	deadline := start.Add(30 * time.Second)
	for time.Since(start) < atLeast || !cond() {
		if time.Now().After(deadline) {
			t.Errorf("condition not met after %s", time.Since(start))
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	cancel()
	select {
	case err := <-done:
		if err != io.EOF {
			t.Errorf("feed ended with %v, want io.EOF on cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("feed did not end after its context was cancelled")
	}
	return elapsed, int(msgs.Load())
}

// A server that accepts and drops the connection (at once, after garbage,
// or after one valid sentence) made the feed reconnect in a tight loop:
// 60,923 connections in 8 s, because only failed dials backed off. Every
// connection that ends before it is healthy must now be followed by the
// backoff.
func TestFeedAcceptAndCloseBacksOff(t *testing.T) {
	for _, c := range []struct {
		name  string
		write string
	}{
		{"close at once", ""},
		{"garbage then close", strings.Repeat("\x00\xffgarbage, not NMEA\n", 50)},
		{"one sentence then close", feedLine},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, func(conn net.Conn, _ <-chan struct{}) {
				conn.Write([]byte(c.write))
				conn.Close()
			})
			minB, maxB := 20*time.Millisecond, 200*time.Millisecond
			elapsed, _ := runFeedUntil(t, h.addr(), FeedOptions{MinBackoff: minB, MaxBackoff: maxB}, time.Second,
				func() bool { return h.accepts.Load() >= 3 })
			n, bound := h.accepts.Load(), maxConnects(elapsed, minB, maxB)
			t.Logf("%d connections in %s (bound %d)", n, elapsed.Round(time.Millisecond), bound)
			if n > bound {
				t.Errorf("%d connections in %s: a reconnect storm (at most %d with the backoff)", n, elapsed, bound)
			}
		})
	}
}

// A connection that stays open but delivers nothing (silence, or bytes
// that hold no AIS sentence) is dropped after the idle timeout and
// redialled, with the backoff since it was never healthy.
func TestFeedIdleConnectionRedialled(t *testing.T) {
	for _, c := range []struct {
		name    string
		garbage bool
	}{
		{"stall", false},
		{"garbage only", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHostile(t, func(conn net.Conn, done <-chan struct{}) {
				for {
					if c.garbage {
						if _, err := conn.Write([]byte("$GPZDA,garbage*00\n\x1b[2J\n!AIVDM,1,1,,B,bad*00\n")); err != nil {
							return
						}
					}
					select {
					case <-done:
						return
					case <-time.After(2 * time.Millisecond):
					}
				}
			})
			idle := 100 * time.Millisecond
			minB, maxB := 10*time.Millisecond, 50*time.Millisecond
			var log syncBuf
			f, err := OpenFeed(context.Background(), h.addr(), FeedOptions{Log: &log, IdleTimeout: idle, MinBackoff: minB, MaxBackoff: maxB})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			go f.Run(func(*Message) error { return nil })
			for f.Health().Connects < 3 {
				if time.Since(start) > 30*time.Second {
					t.Fatalf("not redialled: %+v\n%s", f.Health(), log.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			f.Close()
			elapsed := time.Since(start)
			hs := f.Health()
			// Each connection lasts the idle timeout at least.
			if bound := int64(elapsed/idle) + 2; hs.Connects > bound || h.accepts.Load() > bound {
				t.Errorf("%d connections (%d accepted) in %s, at most %d", hs.Connects, h.accepts.Load(), elapsed, bound)
			}
			if hs.Errors.Idle < 2 || hs.Errors.Closed+hs.Errors.Read != 0 || hs.Messages != 0 {
				t.Errorf("health %+v", hs)
			}
			if c.garbage && (hs.Errors.Lines["not_ais"] == 0 || hs.Errors.Lines["checksum"] == 0 || hs.Bytes == 0) {
				t.Errorf("garbage not counted: %+v", hs)
			}
			if !strings.Contains(log.String(), "no AIS sentence for 100ms") {
				t.Errorf("log %s", log.String())
			}
		})
	}
}

// A healthy feed whose server restarts: the feed redials, backs off while
// the port is closed, and reads the new server; the backoff was reset by
// the healthy period, so the first wait after it is the shortest one.
func TestFeedHealthyRestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	const other = "!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24\n" // MMSI 265547250
	serve := func(ln net.Listener, line string, stop <-chan struct{}) {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for {
			if _, err := c.Write([]byte(line)); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	stop1 := make(chan struct{})
	go serve(ln, feedLine, stop1)

	var log syncBuf
	minB := 20 * time.Millisecond
	f, err := OpenFeed(context.Background(), "tcp://"+addr, FeedOptions{Log: &log, MinBackoff: minB, MaxBackoff: 200 * time.Millisecond, HealthyAfter: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msgs := make(chan uint32, 1<<16)
	go f.Run(func(m *Message) error { msgs <- m.MMSI; return nil })

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for start := time.Now(); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Since(start) > 30*time.Second {
				t.Fatalf("%s: %+v\n%s", what, f.Health(), log.String())
			}
		}
	}
	// Session one runs past the healthy period.
	waitFor("first session", func() bool { h := f.Health(); return h.Messages > 0 && time.Since(h.StateSince) > 300*time.Millisecond })
	if h := f.Health(); h.State != FeedConnected || h.Backoff != 0 || h.Connects != 1 {
		t.Errorf("healthy feed: %+v", h)
	}
	// The server goes away for a while, then comes back on the same port.
	close(stop1)
	ln.Close()
	waitFor("dials refused", func() bool { return f.Health().Errors.Dial >= 2 })
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s not reusable here: %v", addr, err)
	}
	defer ln2.Close()
	stop2 := make(chan struct{})
	defer close(stop2)
	go serve(ln2, other, stop2)
	var got265 bool
	waitFor("second session", func() bool {
		for {
			select {
			case m := <-msgs:
				got265 = got265 || m == 265547250
				continue
			default:
			}
			return got265
		}
	})
	waitFor("second session healthy", func() bool { h := f.Health(); return h.Backoff == 0 && h.State == FeedConnected })
	h := f.Health()
	if h.Connects != 2 || h.Errors.Closed+h.Errors.Read != 1 || h.Disconnects != 1 || h.Errors.Dial < 2 {
		t.Errorf("health after the restart: %+v", h)
	}
	// The first wait after the healthy session is the first step.
	l := log.String()
	i := strings.Index(l, "reconnecting")
	j := strings.Index(l[i:], "retrying in ")
	if i < 0 || j < 0 {
		t.Fatalf("log %s", l)
	}
	var wait time.Duration
	if w, _, _ := strings.Cut(l[i+j+len("retrying in "):], "\n"); true {
		wait, err = time.ParseDuration(w)
	}
	if err != nil || wait > minB || wait < minB/2 {
		t.Errorf("first wait after the healthy session %v (%v), want %v..%v\n%s", wait, err, minB/2, minB, l)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A connection that delivered AIS and stayed up past the healthy period is
// healthy even when it fell quiet before the peer closed it: the feed
// redials at once, without a backoff wait.
func TestFeedQuietHealthyConnectionRedialledAtOnce(t *testing.T) {
	h := newHostile(t, func(c net.Conn, done <-chan struct{}) {
		c.Write([]byte(feedLine + feedLine))
		select {
		case <-done:
		case <-time.After(300 * time.Millisecond):
		}
		c.Close()
	})
	var log syncBuf
	f, err := OpenFeed(context.Background(), h.addr(), FeedOptions{Log: &log, HealthyAfter: 100 * time.Millisecond, MinBackoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	go f.Run(func(*Message) error { return nil })
	for start := time.Now(); f.Health().Connects < 2; time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("not redialled: %+v\n%s", f.Health(), log.String())
		}
	}
	if hs := f.Health(); hs.Errors.Closed != 1 || hs.Backoff != 0 || strings.Contains(log.String(), "retrying") {
		t.Errorf("%+v\n%s", hs, log.String())
	}
}
