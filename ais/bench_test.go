package ais

import (
	"bytes"
	"fmt"
	"testing"
)

// benchLines returns the sentences of the real NMEA test files, bare,
// filtered by keep on the message type.
func benchLines(b *testing.B, keep func(typ byte) bool) [][]byte {
	b.Helper()
	var out [][]byte
	for _, file := range nmeaFiles(b) {
		data := readTestdata(b, file)
		for _, line := range bytes.Split(data, []byte("\n")) {
			if bytes.HasPrefix(line, []byte("#")) {
				continue
			}
			s := sentenceRE.Find(line)
			if s == nil || !bytes.HasPrefix(s[6:], []byte(",1,1,")) {
				continue
			}
			// First payload character gives the type.
			f := bytes.SplitN(s, []byte(","), 7)
			if len(f) < 6 || len(f[5]) == 0 || !keep(sixbit[f[5][0]]) {
				continue
			}
			out = append(out, append([]byte(nil), s...))
		}
	}
	if len(out) < 1000 {
		b.Fatalf("only %d lines", len(out))
	}
	return out
}

// BenchmarkDecodePosition: sentence parsing (checksum, fields) plus payload
// decoding of single-sentence position reports (types 1, 2, 3, 18) from the
// real files, one goroutine. Reported per sentence.
func BenchmarkDecodePosition(b *testing.B) {
	lines := benchLines(b, func(t byte) bool { return t == 1 || t == 2 || t == 3 || t == 18 })
	d := NewDecoder()
	var m Message
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		if d.Line(lines[i%len(lines)], &m) {
			n++
		}
	}
	if n == 0 {
		b.Fatal("nothing decoded")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sentences/s")
}

// BenchmarkDecodePositionJSON adds writing gpsd-style JSON.
func BenchmarkDecodePositionJSON(b *testing.B) {
	lines := benchLines(b, func(t byte) bool { return t == 1 || t == 2 || t == 3 || t == 18 })
	d := NewDecoder()
	var m Message
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if d.Line(lines[i%len(lines)], &m) {
			buf = AppendJSON(buf[:0], &m)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sentences/s")
}

// BenchmarkDecodeAllTypes: every single-sentence message of the real files.
func BenchmarkDecodeAllTypes(b *testing.B) {
	lines := benchLines(b, func(byte) bool { return true })
	d := NewDecoder()
	var m Message
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Line(lines[i%len(lines)], &m)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sentences/s")
}

// TestPositionDecodeAllocatesNothing pins the zero-allocation property the
// benchmark reports, so a change that breaks it fails the suite.
func TestPositionDecodeAllocatesNothing(t *testing.T) {
	lines := [][]byte{
		[]byte("!AIVDM,1,1,,B,15Mq4J0P01EREODRv4@74gv00HRq,0*72,b003669970,1272412824"),
		[]byte(`\s:rEV02,c:1334337317*58\!AIVDM,1,1,,B,19NWuLhuRb5QHfCpPcwj` + "`" + `26B0<02,0*5F`),
		[]byte("!AIVDM,1,1,,A,B6CdCm0t3`tba35f@V9faHi7kP06,0*58"),
	}
	d := NewDecoder()
	var m Message
	buf := make([]byte, 0, 512)
	for _, l := range lines {
		d.Line(l, &m) // warm up the source cache
	}
	allocs := testing.AllocsPerRun(1000, func() {
		for _, l := range lines {
			if d.Line(l, &m) {
				buf = AppendJSON(buf[:0], &m)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per run of %d position sentences", allocs, len(lines))
	}
	if d.Stats.Messages < 3 {
		t.Errorf("decoded %d", d.Stats.Messages)
	}
}

// BenchmarkDecodeTagBlocked: what a satellite or simulated feed looks like,
// each position sentence behind a "\s:source,c:epoch*hh\" tag block (the
// tag block's parsing and the source's interning are on the hot path
// of every such line). The sentences are the real ones of
// BenchmarkDecodePosition.
func BenchmarkDecodeTagBlocked(b *testing.B) {
	bare := benchLines(b, func(t byte) bool { return t == 1 || t == 2 || t == 3 || t == 18 })
	lines := make([][]byte, len(bare))
	for i, s := range bare {
		tb := fmt.Sprintf("s:sat%d,c:%d", i%3, 1772323200+i)
		lines[i] = fmt.Appendf(nil, "\\%s*%02X\\%s", tb, xorBytes([]byte(tb)), s)
	}
	d := NewDecoder()
	var m Message
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		if d.Line(lines[i%len(lines)], &m) {
			n++
		}
	}
	if n == 0 || d.Stats.TagBlockChecksum != 0 || m.Time.IsZero() || m.Source == "" {
		b.Fatalf("decoded %d, %d bad tag blocks, time %v, source %q", n, d.Stats.TagBlockChecksum, m.Time, m.Source)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sentences/s")
}
