package ais

import (
	"fmt"
	"math"
	"strings"
)

// bitWriter builds a payload most significant bit first.
type bitWriter struct {
	bits []byte // one byte per bit, for simplicity: encoding is not a hot path
}

func (w *bitWriter) put(v uint64, width int) {
	for i := width - 1; i >= 0; i-- {
		w.bits = append(w.bits, byte(v>>uint(i)&1))
	}
}

func (w *bitWriter) putSigned(v int64, width int) { w.put(uint64(v)&(1<<uint(width)-1), width) }

func (w *bitWriter) putText(s string, chars int) {
	s = strings.ToUpper(s)
	for i := 0; i < chars; i++ {
		c := byte('@')
		if i < len(s) {
			c = s[i]
		}
		v := strings.IndexByte(sixbitASCII, c)
		if v < 0 {
			v = strings.IndexByte(sixbitASCII, ' ')
		}
		w.put(uint64(v), 6)
	}
}

// armoured returns the payload characters and the fill bits.
func (w *bitWriter) armoured() (string, int) {
	fill := (6 - len(w.bits)%6) % 6
	bits := append(w.bits, make([]byte, fill)...)
	var b strings.Builder
	for i := 0; i < len(bits); i += 6 {
		v := 0
		for j := 0; j < 6; j++ {
			v = v<<1 | int(bits[i+j])
		}
		c := byte(v + 48)
		if c > 87 {
			c += 8
		}
		b.WriteByte(c)
	}
	return b.String(), fill
}

// EncodePosition encodes a class A position report (type 1) from m's
// MMSI, Status, SpeedRaw, LatRaw, LonRaw, Course, Heading and Second, for
// simulators and tests. Turn is written as not available.
func EncodePosition(m *Message) (payload string, fill int) {
	var w bitWriter
	w.put(1, 6)
	w.put(0, 2)
	w.put(uint64(m.MMSI), 30)
	w.put(uint64(m.Status), 4)
	w.putSigned(-128, 8)
	w.put(uint64(m.SpeedRaw), 10)
	w.put(0, 1)
	w.putSigned(int64(m.LonRaw), 28)
	w.putSigned(int64(m.LatRaw), 27)
	w.put(uint64(m.Course), 12)
	w.put(uint64(m.Heading), 9)
	w.put(uint64(m.Second), 6)
	w.put(0, 2)
	w.put(0, 3)
	w.put(0, 1)
	w.put(0, 19)
	return w.armoured()
}

// EncodeStatic encodes a static and voyage report (type 5).
func EncodeStatic(m *Message) (payload string, fill int) {
	var w bitWriter
	w.put(5, 6)
	w.put(0, 2)
	w.put(uint64(m.MMSI), 30)
	w.put(0, 2)
	w.put(uint64(m.IMO), 30)
	w.putText(m.CallSign, 7)
	w.putText(m.ShipName, 20)
	w.put(uint64(m.ShipType), 8)
	w.put(uint64(m.ToBow), 9)
	w.put(uint64(m.ToStern), 9)
	w.put(uint64(m.ToPort), 6)
	w.put(uint64(m.ToStarboard), 6)
	w.put(1, 4)
	w.put(uint64(m.ETAMonth), 4)
	w.put(uint64(m.ETADay), 5)
	w.put(uint64(m.ETAHour), 5)
	w.put(uint64(m.ETAMin), 6)
	w.put(uint64(m.Draught), 8)
	w.putText(m.Destination, 20)
	w.put(0, 1)
	w.put(0, 1)
	return w.armoured()
}

// Sentences wraps a payload in !AIVDM sentences of at most 60 characters,
// with an NMEA 4.10 tag block carrying the time (c:, Unix seconds), the
// source (s:) and, for multi-sentence messages, the group (g:).
func Sentences(payload string, fill int, unix int64, source string, seq, group int, channel byte) []string {
	const maxChars = 60
	n := (len(payload) + maxChars - 1) / maxChars
	if n == 0 {
		n = 1
	}
	var out []string
	for i := 0; i < n; i++ {
		part := payload[i*maxChars : min(len(payload), (i+1)*maxChars)]
		f := 0
		if i == n-1 {
			f = fill
		}
		seqField := ""
		if n > 1 {
			seqField = fmt.Sprint(seq % 10)
		}
		body := fmt.Sprintf("AIVDM,%d,%d,%s,%c,%s,%d", n, i+1, seqField, channel, part, f)
		tag := ""
		switch {
		case n == 1:
			tag = fmt.Sprintf("s:%s,c:%d", source, unix)
		case i == 0:
			tag = fmt.Sprintf("g:%d-%d-%d,s:%s,c:%d", i+1, n, group, source, unix)
		default:
			tag = fmt.Sprintf("g:%d-%d-%d", i+1, n, group)
		}
		out = append(out, fmt.Sprintf("\\%s*%s\\!%s*%s", tag, xorHex(tag), body, xorHex(body)))
	}
	return out
}

func xorHex(s string) string {
	var x byte
	for i := 0; i < len(s); i++ {
		x ^= s[i]
	}
	return fmt.Sprintf("%02X", x)
}

// RawLatLon converts degrees to the 1/10000-minute units of types 1-3.
func RawLatLon(lat, lon float64) (int32, int32) {
	return int32(math.Round(lat * 600000)), int32(math.Round(lon * 600000))
}
