package ais

import (
	"bytes"
	"time"
)

// Stats counts what a Decoder saw. Errors are by Reason; nothing that is
// counted here stops decoding.
type Stats struct {
	Lines     int64 // lines offered, blank and comment lines included
	Sentences int64 // AIS sentences with a valid checksum
	Messages  int64 // complete messages returned
	// ByType counts returned messages by message type (0-63).
	ByType [64]int64
	// Undecoded counts returned messages of types whose fields Tidewatch
	// does not decode; they carry their raw payload.
	Undecoded int64
	Errors    [numReasons]int64
	// TagBlockChecksum counts tag blocks whose own checksum was missing or
	// wrong. Their fields are used anyway (the sentence is checked on its
	// own); this says how far to trust the times.
	TagBlockChecksum int64
	// First and Last are the earliest and latest message times seen.
	First, Last time.Time
}

// Add adds o's counts to s (two readers of one input in turn).
func (s *Stats) Add(o *Stats) {
	s.Lines += o.Lines
	s.Sentences += o.Sentences
	s.Messages += o.Messages
	for i := range s.ByType {
		s.ByType[i] += o.ByType[i]
	}
	s.Undecoded += o.Undecoded
	for i := range s.Errors {
		s.Errors[i] += o.Errors[i]
	}
	s.TagBlockChecksum += o.TagBlockChecksum
	if !o.First.IsZero() && (s.First.IsZero() || o.First.Before(s.First)) {
		s.First = o.First
	}
	if o.Last.After(s.Last) {
		s.Last = o.Last
	}
}

// ErrorCount sums the errors.
func (s *Stats) ErrorCount() int64 {
	var n int64
	for _, e := range s.Errors {
		n += e
	}
	return n
}

// ErrorsByName returns the non-zero error counts by reason name.
func (s *Stats) ErrorsByName() map[string]int64 {
	out := map[string]int64{}
	for r, n := range s.Errors {
		if n > 0 {
			out[Reason(r).String()] = n
		}
	}
	return out
}

type fragKey struct {
	channel byte
	own     bool
	seq     int16
	total   int8
	group   int32
}

type fragment struct {
	bits    bitBuf
	next    int
	started int64 // sentence counter at the first fragment
	time    time.Time
	source  []byte
}

// Decoder turns lines into messages. It keeps the state that spans lines:
// unfinished multi-sentence messages and the time a $PGHP line gives the
// next sentence. Its memory is bounded: at most MaxPending unfinished
// messages, each dropped as an orphan after OrphanAfter further sentences.
// A Decoder is not safe for concurrent use.
type Decoder struct {
	Stats Stats
	// MaxPending bounds unfinished multi-sentence messages (default 1024).
	MaxPending int
	// OrphanAfter drops an unfinished message once this many sentences
	// have passed since its first fragment (default 1000).
	OrphanAfter int64
	// Now, when set, stamps messages whose input carries no time (live
	// feeds: the receive time). Files leave it nil: no wall clock in
	// event time.
	Now func() time.Time

	pending map[fragKey]*fragment
	spare   []*fragment
	pghp    time.Time
	bb      bitBuf
	sources map[string]string
	// lastSource is the source the last line carried.
	lastSource string
}

// intern returns src as a string, allocating once per distinct receiver
// name: a merged feed alternates between a few dozen of them.
func (d *Decoder) intern(src []byte) string {
	if len(src) == 0 {
		return ""
	}
	// A feed usually repeats its last source: one comparison, no lookup.
	if string(src) == d.lastSource {
		return d.lastSource
	}
	if s, ok := d.sources[string(src)]; ok {
		d.lastSource = s
		return s
	}
	s := string(src)
	if d.sources == nil {
		d.sources = map[string]string{}
	}
	if len(d.sources) < 4096 { // bounded whatever the input
		d.sources[s] = s
	}
	d.lastSource = s
	return s
}

// NewDecoder returns a Decoder with default limits.
func NewDecoder() *Decoder {
	return &Decoder{MaxPending: 1024, OrphanAfter: 1000, pending: map[fragKey]*fragment{}}
}

// Line decodes one line of input. It returns true when m now holds a
// complete message (decoded, or raw for types Tidewatch does not decode);
// false when the line was a fragment, not AIS, or unusable (then counted
// in Stats.Errors). m is overwritten only when Line returns true.
func (d *Decoder) Line(line []byte, m *Message) bool {
	d.Stats.Lines++
	for len(line) > 0 && isSpace(line[len(line)-1]) {
		line = line[:len(line)-1]
	}
	for len(line) > 0 && isSpace(line[0]) {
		line = line[1:]
	}
	if len(line) == 0 || line[0] == '#' {
		return false
	}
	var tb tagBlock
	hasTB := false
	if line[0] == '\\' {
		end := indexByte(line[1:], '\\')
		if end < 0 {
			d.Stats.Errors[ReasonMalformed]++
			return false
		}
		var ok bool
		tb, ok = parseTagBlock(line[1 : 1+end])
		if !ok {
			d.Stats.TagBlockChecksum++
		}
		hasTB = true
		line = line[2+end:]
		if len(line) == 0 {
			return false // a tag block on its own line carries nothing we use
		}
	}
	var lead time.Time
	if line[0] >= '0' && line[0] <= '9' {
		sp := indexByte(line, ' ')
		if sp < 0 {
			sp = indexByte(line, '\t')
		}
		if sp < 0 {
			d.Stats.Errors[ReasonMalformed]++
			return false
		}
		lead, _ = epochTime(line[:sp])
		line = bytes.TrimLeft(line[sp:], " \t")
		if len(line) == 0 {
			d.Stats.Errors[ReasonMalformed]++
			return false
		}
	}
	switch line[0] {
	case '!':
	case '$':
		if bytes.HasPrefix(line, []byte("$PGHP,1,")) {
			if t, ok := parsePGHP(line); ok {
				d.pghp = t
				return false
			}
			d.Stats.Errors[ReasonChecksum]++
			return false
		}
		d.Stats.Errors[ReasonNotAIS]++
		return false
	default:
		d.Stats.Errors[ReasonMalformed]++
		return false
	}
	sen, trailing, bad, ok := parseSentence(line)
	if !ok {
		d.Stats.Errors[bad]++
		return false
	}
	d.Stats.Sentences++
	// The receive time: tag block, then trailing epoch, then leading epoch,
	// then the last $PGHP line (which applies to the next sentence only).
	t := tb.time
	tr, station, _ := trailingTime(trailing)
	if t.IsZero() {
		t = tr
	}
	if t.IsZero() {
		t = lead
	}
	if t.IsZero() {
		t = d.pghp
	}
	d.pghp = time.Time{}
	src := tb.source
	if len(src) == 0 {
		src = station
	}

	if sen.total == 1 {
		d.bb.reset()
		if err := d.bb.appendArmoured(sen.payload, sen.fill); err != nil {
			d.Stats.Errors[ReasonPayload]++
			return false
		}
		return d.finish(&d.bb, t, src, m)
	}
	d.expire()
	key := fragKey{channel: sen.channel, own: sen.own, seq: int16(sen.seq), total: int8(sen.total), group: -1}
	if hasTB && tb.groupID >= 0 {
		key.group = int32(tb.groupID)
	}
	f := d.pending[key]
	if sen.num == 1 {
		if f != nil {
			d.Stats.Errors[ReasonOrphan]++ // the previous message never finished
		} else {
			if len(d.pending) >= d.MaxPending {
				d.evictOldest()
			}
			f = d.newFragment()
			d.pending[key] = f
		}
		f.bits.reset()
		f.next = 2
		f.started = d.Stats.Sentences
		f.time = t
		f.source = append(f.source[:0], src...)
		if err := f.bits.appendArmoured(sen.payload, sen.fill); err != nil {
			d.Stats.Errors[ReasonPayload]++
			d.drop(key, f)
		}
		return false
	}
	if f == nil || f.next != sen.num {
		d.Stats.Errors[ReasonOrphan]++
		if f != nil {
			d.Stats.Errors[ReasonOrphan]++
			d.drop(key, f)
		}
		return false
	}
	if err := f.bits.appendArmoured(sen.payload, sen.fill); err != nil {
		d.Stats.Errors[ReasonPayload]++
		d.drop(key, f)
		return false
	}
	if sen.num < sen.total {
		f.next++
		return false
	}
	if f.time.IsZero() {
		f.time = t
	}
	ok = d.finish(&f.bits, f.time, f.source, m)
	d.drop(key, f)
	return ok
}

func (d *Decoder) newFragment() *fragment {
	if n := len(d.spare); n > 0 {
		f := d.spare[n-1]
		d.spare = d.spare[:n-1]
		return f
	}
	return &fragment{}
}

func (d *Decoder) drop(k fragKey, f *fragment) {
	delete(d.pending, k)
	d.spare = append(d.spare, f)
}

// expire drops unfinished messages whose later fragments are overdue.
// It runs every 64 sentences, so its cost is spread thin.
func (d *Decoder) expire() {
	if len(d.pending) == 0 || d.Stats.Sentences&63 != 0 {
		return
	}
	for k, f := range d.pending {
		if d.Stats.Sentences-f.started > d.OrphanAfter {
			d.Stats.Errors[ReasonOrphan]++
			d.drop(k, f)
		}
	}
}

func (d *Decoder) evictOldest() {
	var oldest fragKey
	var of *fragment
	for k, f := range d.pending {
		if of == nil || f.started < of.started {
			oldest, of = k, f
		}
	}
	if of != nil {
		d.Stats.Errors[ReasonOrphan]++
		d.drop(oldest, of)
	}
}

// Pending is the number of unfinished multi-sentence messages held.
func (d *Decoder) Pending() int { return len(d.pending) }

// Flush counts the unfinished messages still held as orphans (at the end
// of an input) and forgets them.
func (d *Decoder) Flush() {
	for k, f := range d.pending {
		d.Stats.Errors[ReasonOrphan]++
		d.drop(k, f)
	}
}

func (d *Decoder) finish(bb *bitBuf, t time.Time, src []byte, m *Message) bool {
	if t.IsZero() && d.Now != nil {
		t = d.Now().UTC()
	}
	m.Time = t
	m.Source = d.intern(src)
	err := m.decode(bb)
	switch err {
	case nil:
	case ErrUnknownType:
		m.Payload = armour(m.Payload[:0], bb)
		d.Stats.Undecoded++
	default:
		switch {
		case isShort(err):
			d.Stats.Errors[ReasonShort]++
		default:
			d.Stats.Errors[ReasonBadField]++
		}
		return false
	}
	d.Stats.Messages++
	d.Stats.ByType[m.Type&63]++
	if !t.IsZero() {
		if d.Stats.First.IsZero() || t.Before(d.Stats.First) {
			d.Stats.First = t
		}
		if t.After(d.Stats.Last) {
			d.Stats.Last = t
		}
	}
	return true
}

func isShort(err error) bool {
	for e := err; e != nil; {
		if e == ErrShortPayload {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

// armour re-encodes bits as payload characters (the last one padded with
// zeros), for messages kept raw.
func armour(dst []byte, bb *bitBuf) []byte {
	for p := 0; p < bb.n; p += 6 {
		w := min(6, bb.n-p)
		v := bb.u(p, w) << (6 - w)
		c := byte(v) + 48
		if c > 87 {
			c += 8
		}
		dst = append(dst, c)
	}
	return dst
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
