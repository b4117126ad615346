// Package ais reads AIS: NMEA 0183 sentences (!AIVDM/!AIVDO from any
// talker, multi-sentence messages, NMEA 4.10 tag blocks, Gatehouse $PGHP
// lines, trailing and leading epoch fields), the payload bits of the message
// types that matter for vessel tracking (ITU-R M.1371), decoded CSV exports
// and live feeds. Decoding is the hot path of the product: the sentence
// parser and the position decoders do not allocate.
package ais

import (
	"encoding/binary"
	"errors"
)

// maxPayloadBits is the longest AIS message: five slots, 1008 bits, 168
// six-bit characters.
const maxPayloadBits = 1008

// bitBuf holds a de-armoured payload, most significant bit first.
type bitBuf struct {
	b [maxPayloadBits/8 + 8]byte // slack so reads never index past the end
	n int                        // bits
}

var errArmour = errors.New("invalid payload character")
var errTooLong = errors.New("payload longer than 1008 bits")

// sixbit maps an armoured payload character to its six bits, or 0xff.
var sixbit = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := 48; c <= 87; c++ { // '0'..'W'
		t[c] = byte(c - 48)
	}
	for c := 96; c <= 119; c++ { // '`'..'w'
		t[c] = byte(c - 56)
	}
	return t
}()

// appendArmoured de-armours payload characters onto the buffer, so the
// fragments of a multi-sentence message can be joined bit-exactly. fill
// is the number of pad bits at the end of this fragment.
func (bb *bitBuf) appendArmoured(p []byte, fill int) error {
	if bb.n+len(p)*6 > maxPayloadBits+6 {
		return errTooLong
	}
	// Fast path: at a byte boundary (every single-sentence message), pack
	// four characters into three bytes at a time.
	i := 0
	if bb.n&7 == 0 {
		o := bb.n >> 3
		// Eight characters make six bytes: one 8-byte store (the buffer
		// has slack for the two bytes past them, rewritten next).
		for ; i+8 <= len(p); i += 8 {
			q := p[i : i+8 : i+8]
			a, b, c, d := sixbit[q[0]], sixbit[q[1]], sixbit[q[2]], sixbit[q[3]]
			e, f, g, h := sixbit[q[4]], sixbit[q[5]], sixbit[q[6]], sixbit[q[7]]
			if (a|b|c|d|e|f|g|h)&0xc0 != 0 { // 0xff marks an invalid character
				return errArmour
			}
			w := uint64(a)<<58 | uint64(b)<<52 | uint64(c)<<46 | uint64(d)<<40 |
				uint64(e)<<34 | uint64(f)<<28 | uint64(g)<<22 | uint64(h)<<16
			binary.BigEndian.PutUint64(bb.b[o:o+8], w)
			o += 6
		}
		for ; i+4 <= len(p); i += 4 {
			a, b, c, d := sixbit[p[i]], sixbit[p[i+1]], sixbit[p[i+2]], sixbit[p[i+3]]
			if a|b|c|d == 0xff || (a|b|c|d)&0xc0 != 0 {
				return errArmour
			}
			w := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
			bb.b[o] = byte(w >> 16)
			bb.b[o+1] = byte(w >> 8)
			bb.b[o+2] = byte(w)
			o += 3
		}
		bb.n = o << 3
	}
	for ; i < len(p); i++ {
		v := sixbit[p[i]]
		if v == 0xff {
			return errArmour
		}
		// Write six bits at position n; they span at most two bytes.
		byteIdx := bb.n >> 3
		off := bb.n & 7
		w := uint16(v) << (10 - off)
		bb.b[byteIdx] |= byte(w >> 8)
		bb.b[byteIdx+1] |= byte(w)
		bb.n += 6
	}
	if fill < 0 || fill > 5 || fill > bb.n {
		return errFill
	}
	bb.n -= fill
	// Clear the pad bits so a following fragment writes onto zeros.
	for i := bb.n; i < bb.n+fill; i++ {
		bb.b[i>>3] &^= 0x80 >> (i & 7)
	}
	return nil
}

var errFill = errors.New("fill bits out of range")

func (bb *bitBuf) reset() {
	clear(bb.b[:(bb.n+7)/8+1])
	bb.n = 0
}

// u reads width (<= 32) bits at start as an unsigned integer. Reads past
// the end see zero bits; callers check lengths first.
func (bb *bitBuf) u(start, width int) uint32 {
	// One 8-byte load covers any 32-bit field at any offset (the buffer
	// has eight bytes of slack): drop the bits before it, keep width.
	idx := start >> 3
	v := binary.BigEndian.Uint64(bb.b[idx : idx+8])
	return uint32(v << (start & 7) >> (64 - width))
}

// s reads a two's-complement signed field.
func (bb *bitBuf) s(start, width int) int32 {
	v := bb.u(start, width)
	if v&(1<<(width-1)) != 0 {
		return int32(v) - int32(1<<width)
	}
	return int32(v)
}

func (bb *bitBuf) flag(start int) bool { return bb.u(start, 1) == 1 }

// sixbitASCII is the AIS character table (ITU-R M.1371 table 47).
const sixbitASCII = "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_ !\"#$%&'()*+,-./0123456789:;<=>?"

// text reads n six-bit characters at start into dst and returns it with
// trailing '@' padding and spaces removed. Characters past the end of the
// payload are treated as padding (senders truncate names).
func (bb *bitBuf) text(dst []byte, start, n int) []byte {
	return trimText(bb.textRaw(dst[:0], start, n))
}

// textRaw appends n characters, untrimmed, stopping at the payload's end.
func (bb *bitBuf) textRaw(dst []byte, start, n int) []byte {
	for i := 0; i < n; {
		p := start + 6*i
		// Up to eight characters from one 8-byte load (the buffer has
		// eight bytes of slack), as many as the field and the bits hold.
		k := min(8, n-i, (bb.n-p)/6)
		if k <= 0 {
			break
		}
		idx := p >> 3
		v := binary.BigEndian.Uint64(bb.b[idx:idx+8]) << (p & 7)
		for range k {
			dst = append(dst, sixbitASCII[v>>58])
			v <<= 6
		}
		i += k
	}
	return dst
}

// trimText cuts at the first '@' (the rest is padding) and drops trailing
// spaces.
func trimText(dst []byte) []byte {
	for i, c := range dst {
		if c == '@' {
			dst = dst[:i]
			break
		}
	}
	for len(dst) > 0 && dst[len(dst)-1] == ' ' {
		dst = dst[:len(dst)-1]
	}
	return dst
}

// str is text as a string, allocated only when non-empty.
func (bb *bitBuf) str(start, n int) string {
	var buf [40]byte
	t := bb.text(buf[:0], start, n)
	if len(t) == 0 {
		return ""
	}
	return string(t)
}
