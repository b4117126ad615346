package ais

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const feedLine = "!AIVDM,1,1,,B,15Mq4J0P01EREODRv4@74gv00HRq,0*72\n"

// A TCP feed that drops the connection mid-line is reconnected; the cut
// line is counted, not glued to the next connection's first line.
func TestTCPFeedReconnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// First connection: two messages and half of a third, then drop.
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Write([]byte(feedLine + feedLine + feedLine[:20]))
		c.Close()
		// Second connection: three more.
		c, err = ln.Accept()
		if err != nil {
			return
		}
		c.Write([]byte(feedLine + feedLine + feedLine))
		c.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var log strings.Builder
	src, closer, err := OpenInput(ctx, "tcp://"+ln.Addr().String(), FeedOptions{Log: &log, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	var m Message
	for i := 0; i < 5; i++ {
		if err := src.Next(&m); err != nil {
			t.Fatalf("message %d: %v (log %s)", i, err, log.String())
		}
		if m.MMSI != 366888040 || m.Time.IsZero() {
			t.Fatalf("message %d: %+v", i, m)
		}
	}
	wg.Wait()
	if src.Stats().Errors[ReasonMalformed] != 1 {
		t.Errorf("errors %v", src.Stats().ErrorsByName())
	}
	if !strings.Contains(log.String(), "connection lost") {
		t.Errorf("log %q", log.String())
	}
	// The listener is gone: the feed retries with backoff and, when told
	// to give up, says why.
	ln.Close()
	src2, closer2, _ := OpenInput(ctx, "tcp://"+ln.Addr().String(), FeedOptions{MinBackoff: time.Millisecond, MaxReconnects: 3})
	defer closer2.Close()
	if err := src2.Next(&m); err == nil || !strings.Contains(err.Error(), "3 connection attempts in a row failed") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("dead feed: %v", err)
	}
}

func TestUDPFeed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	src, closer, err := OpenInput(ctx, "udp://127.0.0.1:0", FeedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	conn, err := net.Dial("udp", LocalAddr(closer).String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// One datagram without a newline, one with two lines.
	go func() {
		for i := 0; i < 50; i++ { // UDP may drop; resend until read
			conn.Write([]byte(strings.TrimSuffix(feedLine, "\n")))
			conn.Write([]byte(feedLine + feedLine))
			time.Sleep(20 * time.Millisecond)
			if ctx.Err() != nil {
				return
			}
		}
	}()
	var m Message
	for i := 0; i < 3; i++ {
		if err := src.Next(&m); err != nil {
			t.Fatal(err)
		}
		if m.MMSI != 366888040 {
			t.Fatalf("mmsi %d", m.MMSI)
		}
	}
	cancel()
	// A cancelled feed ends.
	for src.Next(&m) == nil {
	}
}

// FeedOptions.Read counts a file's bytes as stored (compressed, for gzip).
func TestOpenInputCountsBytesRead(t *testing.T) {
	name := "testdata/dma_aislib_2010-06-11_stream_example.nmea.gz"
	st, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	var read atomic.Int64
	src, closer, err := OpenInput(context.Background(), name, FeedOptions{Read: &read})
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	var m Message
	n := 0
	for src.Next(&m) == nil {
		n++
	}
	if n == 0 || read.Load() != st.Size() {
		t.Errorf("%d messages, %d bytes counted of %d", n, read.Load(), st.Size())
	}
}

// The backoff starts at its minimum, doubles up to its cap, draws each
// wait from [step/2, step], and starts again after a reset.
func TestBackoffSteps(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	for round := 0; round < 2; round++ {
		for i, step := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
			step *= time.Millisecond
			w := b.next()
			if b.step != step || w < step/2 || w > step {
				t.Fatalf("round %d, wait %d: %v (step %v), want step %v", round, i, w, b.step, step)
			}
		}
		b.reset()
	}
	// The jitter spreads: 200 draws at the cap are not all alike.
	seen := map[time.Duration]bool{}
	for range 200 {
		seen[b.next()] = true
	}
	if len(seen) < 50 {
		t.Errorf("%d distinct waits of 200", len(seen))
	}
}

// Health is readable from another goroutine while the feed runs; Run
// hands every message over and returns fn's error; the state, counts and
// times are those of what happened.
func TestFeedHealthAndRun(t *testing.T) {
	const timed = `\s:r1,c:1334337317*78\` + "!AIVDM,1,1,,B,15Mq4J0P01EREODRv4@74gv00HRq,0*72\n"
	h := newHostile(t, func(c net.Conn, done <-chan struct{}) {
		c.Write([]byte(feedLine + "junk\n" + timed + feedLine))
		<-done
	})
	before := time.Now()
	f, err := OpenFeed(context.Background(), h.addr(), FeedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hs := f.Health(); hs.State != FeedConnecting || hs.Address != h.addr() || hs.Connects != 0 {
		t.Errorf("before the first read: %+v", hs)
	}
	stopErr := errors.New("enough")
	var n int
	var polls atomic.Int64
	go func() {
		for f.Health().State != FeedStopped {
			polls.Add(1)
			time.Sleep(time.Millisecond)
		}
	}()
	err = f.Run(func(m *Message) error {
		n++
		if m.Time.IsZero() {
			t.Errorf("message %d without a time", n)
		}
		if n == 3 {
			return stopErr
		}
		return nil
	})
	if err != stopErr || n != 3 {
		t.Fatalf("Run: %v after %d messages", err, n)
	}
	hs := f.Health()
	if hs.State != FeedConnected || hs.Connects != 1 || hs.Messages != 3 || hs.Lines != 4 || hs.Errors.Lines["malformed"] != 1 ||
		hs.Bytes < int64(len(feedLine)*2+len(timed)) || hs.LastMessageAt.Before(before) ||
		!hs.LastEventTime.Equal(time.Unix(1334337317, 0)) || hs.Backoff != 0 {
		t.Errorf("health %+v", hs)
	}
	b, err := json.Marshal(hs)
	if err != nil || !strings.Contains(string(b), `"state":"connected"`) || !strings.Contains(string(b), `"lines":{"malformed":1}`) {
		t.Errorf("JSON %s %v", b, err)
	}
	var back FeedHealth
	if err := json.Unmarshal(b, &back); err != nil || back.State != FeedConnected || back.Messages != 3 {
		t.Errorf("JSON round trip: %+v %v", back, err)
	}
	// Close from another goroutine ends a Run blocked on a quiet feed.
	done := make(chan error, 1)
	go func() { done <- f.Run(func(*Message) error { return nil }) }()
	time.Sleep(20 * time.Millisecond)
	f.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end Run")
	}
	if hs := f.Health(); hs.State != FeedStopped || polls.Load() == 0 {
		t.Errorf("after Close: %+v", hs)
	}
}

// Cancelling the context ends a feed that is backing off, at once.
func TestFeedCancelWhileBackingOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "tcp://" + ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	f, err := OpenFeed(ctx, addr, FeedOptions{MinBackoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.Run(func(*Message) error { return nil }) }()
	for f.Health().State != FeedBackingOff {
		time.Sleep(time.Millisecond)
	}
	hs := f.Health()
	if hs.Errors.Dial != 1 || hs.Backoff != time.Hour || hs.NextAttempt.Before(time.Now().Add(29*time.Minute)) || !strings.Contains(hs.LastError, "refused") {
		t.Errorf("backing off: %+v", hs)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancel did not end a feed backing off")
	}
}

func TestUDPFeedHealth(t *testing.T) {
	f, err := OpenFeed(context.Background(), "udp://127.0.0.1:0", FeedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	conn, err := net.Dial("udp", f.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() {
		for i := 0; i < 100 && f.Health().Messages == 0; i++ {
			conn.Write([]byte(feedLine))
			time.Sleep(20 * time.Millisecond)
		}
	}()
	var m Message
	if err := f.Next(&m); err != nil {
		t.Fatal(err)
	}
	if hs := f.Health(); hs.State != FeedListening || hs.Messages != 1 || hs.Bytes < int64(len(feedLine)) {
		t.Errorf("%+v", hs)
	}
	if _, err := OpenFeed(context.Background(), "http://x", FeedOptions{}); !errors.Is(err, ErrUnsupportedInput) {
		t.Errorf("http: %v", err)
	}
}
