package ais

import (
	"bufio"
	"bytes"
)

// Format is what the first bytes of an AIS file (past any gzip layer)
// say it is.
type Format int

// The formats Sniff tells apart.
const (
	// FormatUnknown: neither NMEA nor a decoded CSV export (text, a CSV
	// of other columns, or nothing but comment lines within SniffLimit).
	FormatUnknown Format = iota
	FormatNMEA
	FormatCSV
)

// SniffLimit bounds the bytes Sniff looks at: a file whose comment and
// blank lines run longer than this before its first sentence is not
// told as NMEA (not read whole to find out).
const SniffLimit = 64 << 10

// LooksCSV says whether head (a file's first bytes) starts as a decoded
// CSV export does: its header line first (MarineCadastre's "MMSI,...",
// DMA's "# Timestamp,..."), a byte order mark, quotes and '#' allowed
// before it. The readers of files (OpenInput) pick the CSV reader so.
func LooksCSV(head []byte) bool {
	h := bytes.ToLower(bytes.TrimPrefix(head, []byte("\ufeff")))
	h = bytes.TrimLeft(h, "\"# ")
	return bytes.HasPrefix(h, []byte("mmsi")) || bytes.HasPrefix(h, []byte("timestamp"))
}

// Sniff tells a file's format from its first bytes, read from br without
// consuming them (Peek): a decoded CSV export (LooksCSV), NMEA (the first
// line that is not blank or a comment, skipped as the NMEA decoder skips
// them, is a sentence: a tag block, '!', '$', or an AIS talker's VDM or
// VDO), or neither. It peeks 512 bytes, and more, up to SniffLimit (and
// br's size), only while all it has seen is comment and blank lines.
func Sniff(br *bufio.Reader) Format {
	limit := min(SniffLimit, br.Size())
	for n := min(512, limit); ; n = min(n*4, limit) {
		head, err := br.Peek(n)
		if LooksCSV(head) {
			return FormatCSV
		}
		atEnd := err != nil // the input ends within n bytes, or br is full
		if f, ok := sniffNMEA(head, atEnd); ok || atEnd || n == limit {
			return f
		}
	}
}

// sniffNMEA looks for the first line of head that is not blank or a
// comment: ok is false when head holds none whole (a last line without
// its end counts when atEnd). A head of nothing at all is NMEA (an empty
// file: no message).
func sniffNMEA(head []byte, atEnd bool) (Format, bool) {
	if len(head) == 0 {
		return FormatNMEA, true
	}
	for len(head) > 0 {
		i := bytes.IndexByte(head, '\n')
		if i < 0 && !atEnd {
			return FormatUnknown, false // a line not whole yet
		}
		line := head
		if i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		for len(line) > 0 && isSpace(line[0]) {
			line = line[1:]
		}
		for len(line) > 0 && isSpace(line[len(line)-1]) {
			line = line[:len(line)-1]
		}
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if line[0] == '\\' || line[0] == '!' || line[0] == '$' || bytes.Contains(line, []byte("VDM,")) || bytes.Contains(line, []byte("VDO,")) {
			return FormatNMEA, true
		}
		return FormatUnknown, true
	}
	return FormatUnknown, atEnd
}
