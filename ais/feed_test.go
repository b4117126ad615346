package ais

import (
	"context"
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
	if err := src2.Next(&m); err == nil || !strings.Contains(err.Error(), "3 connection attempts failed") {
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
