package detect

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/tidewatch/tidewatch/track"
)

// enc and dec write and read a checkpoint's binary form: varints,
// IEEE floats and length-prefixed strings, strings interned in a table
// (source names and zone and port names repeat across thousands of
// fixes and runs).
type enc struct {
	b    []byte
	strs map[string]uint64
	// last is the string written last and its number (held in strs):
	// a run of fixes repeats one source name, looked up here without
	// hashing it.
	last  string
	lastN uint64
	hasL  bool
}

func (w *enc) u(v uint64)  { w.b = binary.AppendUvarint(w.b, v) }
func (w *enc) i(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *enc) f(v float64) { w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(v)) }
func (w *enc) t(v track.Time) {
	w.i(int64(v))
}
func (w *enc) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

// s writes a string once; later uses refer to it by number.
func (w *enc) s(v string) {
	if w.hasL && v == w.last {
		w.u(w.lastN + 1)
		return
	}
	if n, ok := w.strs[v]; ok {
		w.last, w.lastN, w.hasL = v, n, true
		w.u(n + 1)
		return
	}
	if w.strs == nil {
		w.strs = map[string]uint64{}
	}
	n := uint64(len(w.strs))
	w.strs[v] = n
	w.last, w.lastN, w.hasL = v, n, true
	w.u(0)
	w.u(uint64(len(v)))
	w.b = append(w.b, v...)
}

func (w *enc) bytes(v []byte) {
	w.u(uint64(len(v)))
	w.b = append(w.b, v...)
}

var errCorrupt = errors.New("detect: checkpoint truncated or corrupt")

type dec struct {
	b      []byte
	strs   []string
	extras map[string]*track.Extra
	err    error
}

func (r *dec) fail() {
	if r.err == nil {
		r.err = errCorrupt
	}
	r.b = nil
}

func (r *dec) u() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *dec) i() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *dec) f() float64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

func (r *dec) t() track.Time { return track.Time(r.i()) }

func (r *dec) bool() bool {
	if len(r.b) < 1 {
		r.fail()
		return false
	}
	v := r.b[0] != 0
	r.b = r.b[1:]
	return v
}

func (r *dec) s() string {
	n := r.u()
	if n > 0 {
		if n-1 >= uint64(len(r.strs)) {
			r.fail()
			return ""
		}
		return r.strs[n-1]
	}
	l := r.u()
	if l > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	v := string(r.b[:l])
	r.b = r.b[l:]
	r.strs = append(r.strs, v)
	return v
}

func (r *dec) bytes() []byte {
	l := r.u()
	if l > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	v := append([]byte(nil), r.b[:l]...)
	r.b = r.b[l:]
	return v
}

// n reads a count, refusing one larger than the bytes left could hold
// (each element takes at least one byte), so corrupt input cannot make a
// huge allocation.
func (r *dec) n() int {
	v := r.u()
	if v > uint64(len(r.b)) {
		r.fail()
		return 0
	}
	return int(v)
}
