package ais

import (
	"bytes"
	"encoding/binary"
	"errors"
	"time"
)

// Reason is why a line or message could not be used. Every unusable input
// is counted under one reason and skipped; none is fatal.
type Reason uint8

const (
	ReasonChecksum  Reason = iota // NMEA or tag-block checksum mismatch or missing
	ReasonMalformed               // not enough fields, bad fragment numbers, truncated sentence
	ReasonPayload                 // invalid armouring character or fill bits
	ReasonOrphan                  // fragment whose other parts never came (or came out of order)
	ReasonShort                   // payload shorter than its type requires
	ReasonBadField                // a field value the standard does not allow
	ReasonTooLong                 // line longer than the line limit
	ReasonNotAIS                  // an NMEA sentence that is not AIS (GPS, $PGHP without a following AIS sentence...)
	numReasons
)

var reasonNames = [numReasons]string{"checksum", "malformed", "bad_payload", "orphan_fragment", "short_payload", "bad_field", "line_too_long", "not_ais"}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// sentence is one parsed !xxVDM/!xxVDO sentence; byte slices point into
// the line.
type sentence struct {
	total, num int
	seq        int // -1 when empty
	channel    byte
	payload    []byte
	fill       int
	own        bool // VDO: own ship
}

// tagBlock holds the NMEA 4.10 tag-block fields Tidewatch uses.
type tagBlock struct {
	time       time.Time // zero when absent
	source     []byte
	groupNum   int
	groupTotal int
	groupID    int
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}

// checksumOK verifies "*hh" at s[star:] against the XOR of body.
func checksumOK(body []byte, hh []byte) bool {
	if len(hh) < 2 {
		return false
	}
	hi, lo := hexVal(hh[0]), hexVal(hh[1])
	if hi < 0 || lo < 0 {
		return false
	}
	return int(xorBytes(body)) == hi<<4|lo
}

// xorBytes is the NMEA checksum of b: the XOR of its bytes, taken eight
// at a time (a sentence is 50-80 bytes and two checksums are verified per
// tag-blocked line).
func xorBytes(b []byte) byte {
	var w uint64
	for len(b) >= 8 {
		w ^= binary.LittleEndian.Uint64(b)
		b = b[8:]
	}
	w ^= w >> 32
	w ^= w >> 16
	w ^= w >> 8
	x := byte(w)
	for _, c := range b {
		x ^= c
	}
	return x
}

// parseSentence reads "!AIVDM,2,1,3,B,payload,0*hh[,trailing...]" from
// s[0] == '!'. It returns the sentence, the text after the checksum, and a
// reason when the sentence is unusable.
func parseSentence(s []byte) (sen sentence, trailing []byte, bad Reason, ok bool) {
	// The checksum star: the first '*' (payload characters never include it).
	star := bytes.IndexByte(s, '*')
	if star < 0 || len(s) < star+3 {
		return sen, nil, ReasonMalformed, false // cut off before its checksum
	}
	if !checksumOK(s[1:star], s[star+1:star+3]) {
		return sen, nil, ReasonChecksum, false
	}
	trailing = s[star+3:]
	body := s[1:star]
	// Address field: ccVDM or ccVDO.
	comma := indexByte(body, ',')
	if comma != 5 || body[2] != 'V' || body[3] != 'D' || (body[4] != 'M' && body[4] != 'O') {
		return sen, nil, ReasonNotAIS, false
	}
	sen.own = body[4] == 'O'
	f := body[comma+1:]
	// Fields: total, number, sequence, channel, payload, fill bits. The
	// first four are a character or two: a byte loop finds their commas
	// faster than a call per field; the payload's end is one IndexByte.
	var fields [6][]byte
	start, k := 0, 0
	for i := 0; i < len(f) && k < 4; i++ {
		if f[i] == ',' {
			fields[k] = f[start:i]
			k++
			start = i + 1
		}
	}
	if k < 4 {
		return sen, nil, ReasonMalformed, false
	}
	f = f[start:]
	j := indexByte(f, ',')
	if j < 0 {
		return sen, nil, ReasonMalformed, false
	}
	fields[4], fields[5] = f[:j], f[j+1:]
	sen.total = smallInt(fields[0])
	sen.num = smallInt(fields[1])
	if sen.total < 1 || sen.total > 9 || sen.num < 1 || sen.num > sen.total {
		return sen, nil, ReasonMalformed, false
	}
	sen.seq = -1
	if len(fields[2]) > 0 {
		sen.seq = smallInt(fields[2])
		if sen.seq < 0 {
			return sen, nil, ReasonMalformed, false
		}
	}
	if len(fields[3]) > 0 {
		sen.channel = fields[3][0]
	}
	sen.payload = fields[4]
	sen.fill = smallInt(fields[5])
	if sen.fill < 0 || sen.fill > 5 {
		return sen, nil, ReasonPayload, false
	}
	return sen, trailing, 0, true
}

// smallInt parses a short non-negative decimal; -1 when empty or not digits.
func smallInt(b []byte) int {
	if len(b) == 0 || len(b) > 9 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func indexByte(b []byte, c byte) int { return bytes.IndexByte(b, c) }

// parseTagBlock reads "key:val,key:val*hh" (without the backslashes).
//
// ok is false when the checksum is missing or wrong. The fields are read
// either way: some feeds write a dummy tag-block checksum ("*00"), and the
// sentence after the block carries its own.
func parseTagBlock(b []byte) (tb tagBlock, ok bool) {
	// One pass: the checksum and the fields together (a tag block is
	// short, and a call per field cost more than the loop).
	var x byte
	start := 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '*':
			tb.field(b[start:i])
			hh := b[i+1:]
			if len(hh) >= 2 {
				hi, lo := hexVal(hh[0]), hexVal(hh[1])
				ok = hi >= 0 && lo >= 0 && int(x) == hi<<4|lo
			}
			return tb, ok
		case ',':
			tb.field(b[start:i])
			start = i + 1
			x ^= c
		default:
			x ^= c
		}
	}
	tb.field(b[start:])
	return tb, false
}

// field reads one "key:value" of a tag block; others are ignored.
func (tb *tagBlock) field(kv []byte) {
	if len(kv) < 2 || kv[1] != ':' {
		return
	}
	v := kv[2:]
	switch kv[0] {
	case 'c':
		if t, ok := epochTime(v); ok {
			tb.time = t
		}
	case 's':
		tb.source = v
	case 'g':
		// g:num-total-id
		parts := [3]int{-1, -1, -1}
		k := 0
		start := 0
		for i := 0; i <= len(v) && k < 3; i++ {
			if i == len(v) || v[i] == '-' {
				parts[k] = smallInt(v[start:i])
				k++
				start = i + 1
			}
		}
		tb.groupNum, tb.groupTotal, tb.groupID = parts[0], parts[1], parts[2]
	}
}

// The times an AIS message may carry: AIS began in the late 1990s, and a
// time past 2100 is a corrupt field (Go's nanosecond clock, which the
// detectors use, ends in 2262; "c:9999999999" used to wrap to 1702).
var (
	minAISTime = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	maxAISTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// PlausibleTime says t can be an AIS message's time (1990 to 2099); a
// message with another is read as having no time.
func PlausibleTime(t time.Time) bool { return !t.Before(minAISTime) && t.Before(maxAISTime) }

var errTimeRange = errors.New("time out of range (1990-2099)")

// epochTime reads Unix time in seconds (up to 10 digits, optional
// fraction), milliseconds (13 digits) or nanoseconds (19 digits).
func epochTime(b []byte) (time.Time, bool) {
	n := 0
	i := 0
	var v int64
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		if n == 19 {
			return time.Time{}, false
		}
		v = v*10 + int64(b[i]-'0')
		n++
		i++
	}
	if n == 0 {
		return time.Time{}, false
	}
	frac := int64(0)
	if i < len(b) && b[i] == '.' && n <= 10 {
		scale := int64(100000000)
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			frac += int64(b[i]-'0') * scale
			scale /= 10
		}
	}
	if i != len(b) {
		return time.Time{}, false
	}
	var t time.Time
	switch {
	case n <= 10:
		t = time.Unix(v, frac).UTC()
	case n == 13:
		t = time.UnixMilli(v).UTC()
	case n == 16:
		t = time.UnixMicro(v).UTC()
	case n == 19:
		t = time.Unix(0, v).UTC()
	default:
		return time.Time{}, false
	}
	return t, PlausibleTime(t)
}

// parsePGHP reads Gatehouse's "$PGHP,1,YYYY,M,D,h,m,s,ms,..." time line.
func parsePGHP(s []byte) (time.Time, bool) {
	star := indexByte(s, '*')
	if star < 0 || !checksumOK(s[1:star], s[star+1:min(star+3, len(s))]) {
		return time.Time{}, false
	}
	f := s[1:star]
	var v [9]int
	for i := 0; i < 9; i++ {
		j := indexByte(f, ',')
		if j < 0 {
			return time.Time{}, false
		}
		if i > 0 {
			v[i] = smallInt(f[:j])
			if v[i] < 0 {
				return time.Time{}, false
			}
		}
		f = f[j+1:]
	}
	// v[0] is "PGHP", v[1] the message type (1 = time).
	if v[1] != 1 {
		return time.Time{}, false
	}
	t := time.Date(v[2], time.Month(v[3]), v[4], v[5], v[6], v[7], v[8]*1e6, time.UTC)
	return t, v[2] > 1970 && v[3] >= 1 && v[3] <= 12
}

// trailingTime reads the fields after the checksum: ",1327992119173"
// (exactEarth, epoch ms), ",b003669970,1272412824" or ",rSTATION,epoch"
// (USCG NAIS: station then epoch seconds). It returns the epoch and the
// station, if any.
func trailingTime(t []byte) (time.Time, []byte, bool) {
	var station []byte
	var last []byte
	for len(t) > 0 {
		if t[0] != ',' {
			break
		}
		t = t[1:]
		j := indexByte(t, ',')
		var f []byte
		if j < 0 {
			f, t = t, nil
		} else {
			f, t = t[:j], t[j:]
		}
		if len(f) > 0 && (f[0] < '0' || f[0] > '9') {
			station = f
		} else {
			last = f
		}
	}
	// Strip a trailing CR or spaces.
	for len(last) > 0 && (last[len(last)-1] == '\r' || last[len(last)-1] == ' ') {
		last = last[:len(last)-1]
	}
	if len(last) == 0 {
		return time.Time{}, station, false
	}
	tm, ok := epochTime(last)
	return tm, station, ok
}
