package screen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"sort"

	"github.com/tidewatch/tidewatch/sanctions"
)

// The binary encoding of a built index: the merged entities, every name's
// comparison key and the lookup tables, so that a server can start from a
// saved index instead of decoding every list version's JSON, merging and
// normalising every name again (docs/index-cache.md). Reading it is
// allocation of the tables and nothing else; no name is normalised.
//
// Layout: a header (magic, IndexFormat, payload length, CRC-32C of the
// payload), then the payload: a string table (every distinct string once),
// the number of entities and of the items they hold, the entities, the
// identifier tables and one name index per entity type.
// Integers are varints; each slice is written as its length + 1, 0 for
// nil, so that what is read is deeply equal to what was written. Every
// reference read (string, entity, name entry) is checked against what
// the payload holds: a damaged or foreign file is an error, never a panic
// or a wrong index.

// IndexFormat is the version of the encoding. Change it whenever the
// layout or what an Index holds changes (TestCodecKnowsEveryField fails
// when a field is added to a type the encoding writes).
const IndexFormat = 4

var indexMagic = [8]byte{'T', 'W', 'I', 'N', 'D', 'E', 'X', 0}

const headerSize = 8 + 4 + 8 + 4

// ErrBadEncoding says bytes are not an index this program wrote intact.
var ErrBadEncoding = errors.New("not a valid screening index encoding")

// MarshalBinary encodes the index (see IndexFormat).
func (ix *Index) MarshalBinary() ([]byte, error) {
	strs := map[string]uint64{}
	var order []string
	// The entities and the tables are written apart (the reader decodes
	// the two at once), numbering strings as they are met; the string
	// table goes in front of both.
	ents := encoder{strs: strs, order: &order}
	for _, e := range ix.entities {
		ents.entity(e)
	}
	w := encoder{strs: strs, order: &order}
	w.intTable(ix.shipIMO)
	w.intTable(ix.coIMO)
	mmsi := make(map[int][]int32, len(ix.mmsi))
	for k, v := range ix.mmsi {
		mmsi[int(k)] = v
	}
	w.intTable(mmsi)
	w.strTable(ix.callSign)
	w.uvarint(uint64(len(sanctions.EntityTypes)))
	for _, t := range sanctions.EntityTypes {
		ni := ix.byType[t]
		if ni == nil {
			return nil, fmt.Errorf("index has no name index for %s", t)
		}
		w.nameIndex(ni)
	}
	var head encoder
	head.uvarint(uint64(len(order)))
	total := 0
	for _, s := range order {
		head.uvarint(uint64(len(s)))
		total += len(s)
	}
	head.buf = slices.Grow(head.buf, total)
	for _, s := range order {
		head.buf = append(head.buf, s...)
	}
	// What the entities hold in all, so the reader allocates it at once.
	head.uvarint(uint64(len(ix.entities)))
	for _, n := range ents.counts[:cWords] {
		head.uvarint(n)
	}
	head.uvarint(w.postings)
	head.uvarint(w.counts[cWords])
	head.uvarint(uint64(len(ents.buf)))
	payload := len(head.buf) + len(ents.buf) + len(w.buf)
	out := make([]byte, headerSize, headerSize+payload)
	copy(out, indexMagic[:])
	binary.LittleEndian.PutUint32(out[8:], IndexFormat)
	binary.LittleEndian.PutUint64(out[12:], uint64(payload))
	out = append(out, head.buf...)
	out = append(out, ents.buf...)
	out = append(out, w.buf...)
	binary.LittleEndian.PutUint32(out[20:], crc32.Checksum(out[headerSize:], castagnoli))
	return out, nil
}

// The checksum is CRC-32C: it is there to catch a damaged or cut file
// (a file anyone could alter can be given a matching checksum of any
// kind), and costs a millisecond where SHA-256 cost a sixth of a read.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// UnmarshalIndex reads an index MarshalBinary wrote. It fails with
// ErrBadEncoding (wrapped, saying what is wrong) on anything else: another
// format, a truncated or damaged file, a payload whose references do not
// hold.
func UnmarshalIndex(data []byte) (*Index, error) {
	if len(data) < headerSize || !bytes.Equal(data[:8], indexMagic[:]) {
		return nil, fmt.Errorf("%w: no index header", ErrBadEncoding)
	}
	if f := binary.LittleEndian.Uint32(data[8:]); f != IndexFormat {
		return nil, fmt.Errorf("%w: format %d, this program reads %d", ErrBadEncoding, f, IndexFormat)
	}
	if n := binary.LittleEndian.Uint64(data[12:]); n != uint64(len(data)-headerSize) {
		return nil, fmt.Errorf("%w: payload of %d bytes, %d held (truncated?)", ErrBadEncoding, n, len(data)-headerSize)
	}
	if binary.LittleEndian.Uint32(data[20:]) != crc32.Checksum(data[headerSize:], castagnoli) {
		return nil, fmt.Errorf("%w: checksum mismatch (damaged)", ErrBadEncoding)
	}
	return decodePayload(data[headerSize:])
}

// decodePayload reads the payload behind a checked header. It is what the
// fuzzer exercises: it must refuse, never panic on, any input.
func decodePayload(p []byte) (*Index, error) {
	r := decoder{buf: p}
	r.stringTable()
	n := r.count(8)
	var counts [nCounts]int
	for i := range cWords {
		counts[i] = r.count(1)
	}
	total := r.count(1)
	words := r.count(1)
	entBytes := r.count(1)
	// Every item takes at least this many bytes where it is written: a
	// count the bytes cannot hold is refused before it is allocated.
	for i, least := range [nCounts]int{cNames: 2, cIDs: 3, cAddresses: 5, cLinks: 3, cListings: 5, cJoins: 4, cStrings: 1} {
		if i < cWords && counts[i] > entBytes/least {
			r.fail("%d items of kind %d in %d bytes", counts[i], i, entBytes)
		}
	}
	if rest := len(r.buf) - entBytes; n > entBytes/8 || total > rest || words > rest {
		r.fail("counts exceed the payload")
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEncoding, r.err)
	}
	// The entities on one goroutine, the tables on this one.
	er := decoder{buf: r.buf[:entBytes], strs: r.strs}
	r.buf = r.buf[entBytes:]
	ents := make([]sanctions.Entity, n)
	ptrs := make([]*sanctions.Entity, n)
	done := make(chan struct{})
	go func() {
		defer close(done)
		er.arenas(counts)
		for i := range ents {
			er.entity(&ents[i])
			ptrs[i] = &ents[i]
			if er.err != nil {
				break
			}
		}
		if er.err == nil && len(er.buf) != 0 {
			er.fail("%d bytes after the entities", len(er.buf))
		}
	}()
	ix := r.tables(n, total, words)
	<-done
	if er.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEncoding, er.err)
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEncoding, r.err)
	}
	ix.entities = ptrs
	ix.scratch.New = func() any { return &scratch{} }
	return ix, nil
}

// tables reads the identifier tables and the name indexes of n entities.
func (r *decoder) tables(n, postings, words int) *Index {
	r.nEnts = n
	r.arena = make([]int32, 0, postings)
	r.strArena = make([]string, words)
	ix := &Index{byType: map[sanctions.EntityType]*nameIndex{}}
	ix.shipIMO = r.intTable()
	ix.coIMO = r.intTable()
	mmsi := r.intTable()
	ix.mmsi = make(map[uint32][]int32, len(mmsi))
	for k, v := range mmsi {
		if k < 0 || k > math.MaxUint32 {
			r.fail("MMSI %d out of range", k)
			break
		}
		ix.mmsi[uint32(k)] = v
	}
	ix.callSign = r.strTable()
	if nt := r.count(1); nt != len(sanctions.EntityTypes) && r.err == nil {
		r.fail("%d name indexes, want %d", nt, len(sanctions.EntityTypes))
	}
	for _, t := range sanctions.EntityTypes {
		if r.err != nil {
			break
		}
		ni := r.nameIndex()
		if r.err == nil && ni.typ != t {
			r.fail("name index of %q where %q belongs", ni.typ, t)
		}
		ix.byType[t] = ni
	}
	if r.err == nil && len(r.buf) != 0 {
		r.fail("%d bytes after the index", len(r.buf))
	}
	return ix
}

// What the entities and name keys hold in all: the reader takes each
// entity's slices from one allocation of each kind.
const (
	cNames = iota
	cIDs
	cAddresses
	cLinks
	cListings
	cJoins
	cStrings // past flags, nationalities, birth dates, programmes
	cWords   // name keys' words (the tables' count)
	nCounts
)

type encoder struct {
	buf      []byte
	strs     map[string]uint64
	order    *[]string
	postings uint64
	counts   [nCounts]uint64
}

func (w *encoder) uvarint(v uint64) { w.buf = binary.AppendUvarint(w.buf, v) }
func (w *encoder) varint(v int64)   { w.buf = binary.AppendVarint(w.buf, v) }

func (w *encoder) str(s string) {
	i, ok := w.strs[s]
	if !ok {
		i = uint64(len(*w.order))
		w.strs[s] = i
		*w.order = append(*w.order, s)
	}
	w.uvarint(i)
}

// length writes a slice's length + 1, or 0 for nil.
func (w *encoder) length(n int, isNil bool) {
	if isNil {
		w.uvarint(0)
		return
	}
	w.uvarint(uint64(n) + 1)
}

func (w *encoder) strList(ss []string, c int) {
	w.counts[c] += uint64(len(ss))
	w.length(len(ss), ss == nil)
	for _, s := range ss {
		w.str(s)
	}
}

func (w *encoder) entity(e *sanctions.Entity) {
	w.str(e.ID)
	w.str(string(e.Type))
	w.str(e.Name)
	w.counts[cNames] += uint64(len(e.Names))
	w.counts[cIDs] += uint64(len(e.Identifiers))
	w.counts[cAddresses] += uint64(len(e.Addresses))
	w.counts[cLinks] += uint64(len(e.Links))
	w.counts[cListings] += uint64(len(e.Listings))
	w.counts[cJoins] += uint64(len(e.Joins))
	w.length(len(e.Names), e.Names == nil)
	for _, n := range e.Names {
		w.str(n.Value)
		w.str(string(n.Kind))
	}
	w.length(len(e.Identifiers), e.Identifiers == nil)
	for _, id := range e.Identifiers {
		w.str(string(id.Scheme))
		w.str(id.Value)
		w.str(id.Note)
	}
	w.str(e.Flag)
	w.strList(e.PastFlags, cStrings)
	w.str(e.VesselType)
	w.str(e.Tonnage)
	w.str(e.BuildYear)
	w.strList(e.Nationalities, cStrings)
	w.strList(e.BirthDates, cStrings)
	w.length(len(e.Addresses), e.Addresses == nil)
	for _, a := range e.Addresses {
		w.str(a.Street)
		w.str(a.City)
		w.str(a.Region)
		w.str(a.Country)
		w.str(a.Full)
	}
	w.length(len(e.Links), e.Links == nil)
	for _, l := range e.Links {
		w.str(string(l.Relation))
		w.str(l.Name)
		w.str(l.TargetID)
	}
	w.length(len(e.Listings), e.Listings == nil)
	for _, l := range e.Listings {
		w.str(l.List)
		w.str(l.SourceID)
		w.str(l.ListedOn)
		w.strList(l.Programmes, cStrings)
		w.str(l.Version)
	}
	w.str(e.Remarks)
	w.length(len(e.Joins), e.Joins == nil)
	for _, j := range e.Joins {
		w.str(j.A)
		w.str(j.B)
		w.str(string(j.By))
		w.str(j.Value)
	}
}

// list writes a posting list as differences from the previous entry.
func (w *encoder) list(ids []int32) {
	w.length(len(ids), ids == nil)
	prev := int64(0)
	for _, id := range ids {
		w.varint(int64(id) - prev)
		prev = int64(id)
	}
	w.postings += uint64(len(ids))
}

// intTable writes a map in key order (the same index, the same bytes).
func (w *encoder) intTable(m map[int][]int32) {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	w.uvarint(uint64(len(keys)))
	for _, k := range keys {
		w.varint(int64(k))
		w.list(m[k])
	}
}

func (w *encoder) strTable(m map[string][]int32) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	w.uvarint(uint64(len(keys)))
	for _, k := range keys {
		w.str(k)
		w.list(m[k])
	}
}

func (w *encoder) nameIndex(ni *nameIndex) {
	w.str(string(ni.typ))
	w.uvarint(uint64(len(ni.entries)))
	for i := range ni.entries {
		e := &ni.entries[i]
		w.str(e.eid)
		w.uvarint(uint64(e.entity))
		w.str(string(e.kind))
		w.str(e.name)
		w.strList(e.key.Words, cWords)
		w.str(e.key.Numbers)
		w.str(e.key.Joined)
		w.str(e.key.Raw)
		w.str(e.key.Sorted)
		w.strList(e.key.RawWords, cWords)
		w.str(e.key.RawSorted)
		flags := uint64(0)
		if e.key.Legal {
			flags |= 1
		}
		if e.roman {
			flags |= 2
		}
		w.uvarint(flags)
		w.str(e.key.Text)
	}
	grams := make([]uint32, 0, len(ni.grams))
	for g := range ni.grams {
		grams = append(grams, g)
	}
	sort.Slice(grams, func(i, j int) bool { return grams[i] < grams[j] })
	w.uvarint(uint64(len(grams)))
	prev := uint64(0)
	for _, g := range grams {
		w.uvarint(uint64(g) - prev)
		prev = uint64(g)
		w.list(ni.grams[g])
	}
	w.strTable(ni.byNumber)
	words := make([]string, 0, len(ni.idf))
	for k := range ni.idf {
		words = append(words, k)
	}
	sort.Strings(words)
	w.uvarint(uint64(len(words)))
	for _, k := range words {
		w.str(k)
		w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(ni.idf[k]))
	}
	w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(ni.defIDF))
}

// decoder reads a payload; the first error sticks and every later read
// returns zero values.
type decoder struct {
	buf   []byte
	err   error
	strs  []string
	arena []int32
	nEnts int
	// The entities' slices, taken in turn.
	names     []sanctions.Name
	ids       []sanctions.Identifier
	addresses []sanctions.Address
	links     []sanctions.Link
	listings  []sanctions.Listing
	joins     []sanctions.Join
	strArena  []string
}

func (r *decoder) arenas(c [nCounts]int) {
	r.names = make([]sanctions.Name, c[cNames])
	r.ids = make([]sanctions.Identifier, c[cIDs])
	r.addresses = make([]sanctions.Address, c[cAddresses])
	r.links = make([]sanctions.Link, c[cLinks])
	r.listings = make([]sanctions.Listing, c[cListings])
	r.joins = make([]sanctions.Join, c[cJoins])
	r.strArena = make([]string, c[cStrings])
}

// take cuts n items off the front of an arena (capacity n: an append
// never writes into the next entity's); nil when the arena is short (the
// payload lied about its counts) or n < 0 (a nil slice).
func take[T any](r *decoder, arena *[]T, n int) []T {
	if n < 0 || r.err != nil {
		return nil
	}
	if n > len(*arena) {
		r.fail("more items than announced")
		return nil
	}
	s := (*arena)[:n:n]
	*arena = (*arena)[n:]
	return s
}

func (r *decoder) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
	r.buf = nil
}

func (r *decoder) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *decoder) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// count reads a number of items each taking at least min bytes: a count
// the rest of the payload cannot hold is refused before anything is
// allocated for it.
func (r *decoder) count(min int) int {
	v := r.uvarint()
	if v > uint64(len(r.buf)/min) {
		r.fail("count %d exceeds the %d bytes left", v, len(r.buf))
		return 0
	}
	return int(v)
}

// length reads what encoder.length wrote: -1 for nil.
func (r *decoder) length(min int) int {
	v := r.uvarint()
	if v == 0 {
		return -1
	}
	if v-1 > uint64(len(r.buf)/min) {
		r.fail("length %d exceeds the %d bytes left", v-1, len(r.buf))
		return -1
	}
	return int(v - 1)
}

func (r *decoder) f64() float64 {
	if r.err != nil {
		return 0
	}
	if len(r.buf) < 8 {
		r.fail("truncated number")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.buf))
	r.buf = r.buf[8:]
	return v
}

func (r *decoder) stringTable() {
	n := r.count(1)
	lens := make([]int, n)
	total := 0
	for i := range lens {
		l := r.uvarint()
		if l > uint64(len(r.buf)) {
			r.fail("string of %d bytes exceeds the payload", l)
			return
		}
		lens[i] = int(l)
		total += int(l)
		if total > len(r.buf) {
			r.fail("strings exceed the payload")
			return
		}
	}
	if r.err != nil {
		return
	}
	// One copy of every string's bytes; the strings are slices of it.
	all := string(r.buf[:total])
	r.buf = r.buf[total:]
	r.strs = make([]string, n)
	off := 0
	for i, l := range lens {
		r.strs[i] = all[off : off+l]
		off += l
	}
}

func (r *decoder) str() string {
	i := r.uvarint()
	if r.err != nil {
		return ""
	}
	if i >= uint64(len(r.strs)) {
		r.fail("string %d of %d", i, len(r.strs))
		return ""
	}
	return r.strs[i]
}

func (r *decoder) strList() []string {
	out := take(r, &r.strArena, r.length(1))
	for i := range out {
		out[i] = r.str()
	}
	return out
}

func (r *decoder) entity(e *sanctions.Entity) {
	e.ID = r.str()
	e.Type = sanctions.EntityType(r.str())
	e.Name = r.str()
	if n := r.length(2); n >= 0 {
		e.Names = take(r, &r.names, n)
		for i := range e.Names {
			e.Names[i] = sanctions.Name{Value: r.str(), Kind: sanctions.NameKind(r.str())}
		}
	}
	if n := r.length(3); n >= 0 {
		e.Identifiers = take(r, &r.ids, n)
		for i := range e.Identifiers {
			e.Identifiers[i] = sanctions.Identifier{Scheme: sanctions.Scheme(r.str()), Value: r.str(), Note: r.str()}
		}
	}
	e.Flag = r.str()
	e.PastFlags = r.strList()
	e.VesselType = r.str()
	e.Tonnage = r.str()
	e.BuildYear = r.str()
	e.Nationalities = r.strList()
	e.BirthDates = r.strList()
	if n := r.length(5); n >= 0 {
		e.Addresses = take(r, &r.addresses, n)
		for i := range e.Addresses {
			e.Addresses[i] = sanctions.Address{Street: r.str(), City: r.str(), Region: r.str(), Country: r.str(), Full: r.str()}
		}
	}
	if n := r.length(3); n >= 0 {
		e.Links = take(r, &r.links, n)
		for i := range e.Links {
			e.Links[i] = sanctions.Link{Relation: sanctions.Relation(r.str()), Name: r.str(), TargetID: r.str()}
		}
	}
	if n := r.length(5); n >= 0 {
		e.Listings = take(r, &r.listings, n)
		for i := range e.Listings {
			l := &e.Listings[i]
			l.List = r.str()
			l.SourceID = r.str()
			l.ListedOn = r.str()
			l.Programmes = r.strList()
			l.Version = r.str()
		}
	}
	e.Remarks = r.str()
	if n := r.length(4); n >= 0 {
		e.Joins = take(r, &r.joins, n)
		for i := range e.Joins {
			e.Joins[i] = sanctions.Join{A: r.str(), B: r.str(), By: sanctions.JoinBy(r.str()), Value: r.str()}
		}
	}
}

// list reads a posting list into the arena; every id must be below limit.
func (r *decoder) list(limit int) []int32 {
	n := r.length(1)
	if n < 0 {
		return nil
	}
	if len(r.arena)+n > cap(r.arena) {
		r.fail("more postings than announced")
		return nil
	}
	start := len(r.arena)
	prev := int64(0)
	for range n {
		prev += r.varint()
		if prev < 0 || prev >= int64(limit) {
			r.fail("posting %d out of range [0,%d)", prev, limit)
			return nil
		}
		r.arena = append(r.arena, int32(prev))
	}
	// Full slice expression: an append to one list never writes into
	// the next.
	return r.arena[start:len(r.arena):len(r.arena)]
}

func (r *decoder) intTable() map[int][]int32 {
	n := r.count(2)
	m := make(map[int][]int32, n)
	for range n {
		k := r.varint()
		v := r.list(r.nEnts)
		if r.err != nil {
			return m
		}
		m[int(k)] = v
	}
	return m
}

func (r *decoder) strTableLimit(limit int) map[string][]int32 {
	n := r.count(2)
	m := make(map[string][]int32, n)
	for range n {
		k := r.str()
		v := r.list(limit)
		if r.err != nil {
			return m
		}
		m[k] = v
	}
	return m
}

func (r *decoder) strTable() map[string][]int32 { return r.strTableLimit(r.nEnts) }

func (r *decoder) nameIndex() *nameIndex {
	ni := &nameIndex{typ: sanctions.EntityType(r.str())}
	n := r.count(12)
	ni.entries = make([]nameEntry, n)
	for i := range ni.entries {
		e := &ni.entries[i]
		e.eid = r.str()
		ent := r.uvarint()
		if r.err == nil && ent >= uint64(r.nEnts) {
			r.fail("name entry of entity %d of %d", ent, r.nEnts)
		}
		e.entity = int32(ent)
		e.kind = sanctions.NameKind(r.str())
		e.name = r.str()
		e.key.Words = r.strList()
		e.key.Numbers = r.str()
		e.key.Joined = r.str()
		e.key.Raw = r.str()
		e.key.Sorted = r.str()
		e.key.RawWords = r.strList()
		e.key.RawSorted = r.str()
		flags := r.uvarint()
		if flags > 3 {
			r.fail("bad flag")
		}
		e.key.Legal, e.roman = flags&1 != 0, flags&2 != 0
		e.key.Text = r.str()
		if r.err != nil {
			return ni
		}
	}
	ng := r.count(2)
	ni.grams = make(map[uint32][]int32, ng)
	g := uint64(0)
	for range ng {
		g += r.uvarint()
		if g > math.MaxUint32 {
			r.fail("trigram out of range")
		}
		v := r.list(len(ni.entries))
		if r.err != nil {
			return ni
		}
		ni.grams[uint32(g)] = v
	}
	ni.byNumber = r.strTableLimit(len(ni.entries))
	nw := r.count(9)
	ni.idf = make(map[string]float64, nw)
	for range nw {
		k := r.str()
		ni.idf[k] = r.f64()
	}
	ni.defIDF = r.f64()
	if r.err == nil {
		ni.rankEntries()
	}
	return ni
}
