package ais

import (
	"context"
	"net"
	"testing"
)

// BenchmarkStaticJSON writes the JSON of the real type 5 and 24 messages:
// the text fields go through appendString, which escapes what a terminal
// could act on. Reported per message.
func BenchmarkStaticJSON(b *testing.B) {
	var msgs []Message
	for _, file := range nmeaFiles(b) {
		ms, _ := decodeAll(b, readTestdata(b, file))
		for _, m := range ms {
			if m.Type == 5 || m.Type == 24 {
				msgs = append(msgs, m)
			}
		}
	}
	if len(msgs) < 100 {
		b.Fatalf("%d static messages", len(msgs))
	}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = AppendJSON(buf[:0], &msgs[i%len(msgs)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "messages/s")
}

// BenchmarkTCPFeed reads the real position sentences through a TCP feed
// over loopback: the feed's reads, health bookkeeping and decoding, one
// goroutine reading. Reported per message.
func BenchmarkTCPFeed(b *testing.B) {
	lines := benchLines(b, func(t byte) bool { return t == 1 || t == 2 || t == 3 || t == 18 })
	var chunk []byte
	for _, l := range lines {
		chunk = append(append(chunk, l...), '\n')
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src, closer, err := OpenInput(ctx, "tcp://"+ln.Addr().String(), FeedOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer closer.Close()
	var m Message
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := src.Next(&m); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "messages/s")
}
