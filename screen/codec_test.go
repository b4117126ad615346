package screen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/names"
)

// sameIndex fails unless two indexes hold deeply equal entities and
// tables.
func sameIndex(t *testing.T, a, b *Index) {
	t.Helper()
	if len(a.entities) != len(b.entities) {
		t.Fatalf("%d entities, want %d", len(b.entities), len(a.entities))
	}
	for i := range a.entities {
		if !reflect.DeepEqual(a.entities[i], b.entities[i]) {
			t.Fatalf("entity %d differs:\n%+v\n%+v", i, a.entities[i], b.entities[i])
		}
	}
	for name, pair := range map[string][2]any{
		"shipIMO": {a.shipIMO, b.shipIMO}, "coIMO": {a.coIMO, b.coIMO}, "mmsi": {a.mmsi, b.mmsi}, "callSign": {a.callSign, b.callSign},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Fatalf("%s differs", name)
		}
	}
	if len(a.byType) != len(b.byType) {
		t.Fatalf("%d name indexes, want %d", len(b.byType), len(a.byType))
	}
	for typ, na := range a.byType {
		nb := b.byType[typ]
		if !reflect.DeepEqual(na, nb) {
			t.Fatalf("name index of %s differs", typ)
		}
	}
}

// answers screens every way of writing every listed name the evaluation
// uses (and real unlisted vessel names), as every type, and returns the
// answers as JSON: what a client would read.
func answers(t *testing.T, ix *Index, qs []Query) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, q := range qs {
		ans, err := ix.Screen(q, Options{All: true, Limit: 20})
		if err != nil {
			enc.Encode(err.Error())
			continue
		}
		if err := enc.Encode(ans); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func codecQueries(t testing.TB, ix *Index, ents []*sanctions.Entity) []Query {
	every, dprk := 3, true
	if testing.Short() {
		every, dprk = 50, false
	}
	var qs []Query
	for i, e := range ents {
		if i%every != 0 && !(dprk && e.IsDPRK()) {
			continue // a sample of the rest: the test stays quick
		}
		for _, v := range variantsFor(e) {
			qs = append(qs, v.q)
			if i%2 == 0 {
				v.q.Type = "any"
				qs = append(qs, v.q)
			}
		}
		if imo := e.ShipIMO(); imo != "" {
			qs = append(qs, Query{IMO: imo}, Query{Type: "vessel", Name: e.Name, IMO: imo})
		}
		for _, m := range e.IDs(sanctions.SchemeMMSI) {
			qs = append(qs, Query{MMSI: m})
		}
		for _, c := range e.IDs(sanctions.SchemeCallSign) {
			qs = append(qs, Query{CallSign: c, Type: "vessel"})
		}
		for _, c := range e.IDs(sanctions.SchemeCompanyIMO) {
			qs = append(qs, Query{IMO: c, Type: "organization"})
		}
	}
	for i, n := range negativeNames(t, ix) {
		if i%every == 0 {
			qs = append(qs, Query{Type: "vessel", Name: n})
		}
	}
	return qs
}

// TestIndexBinaryRoundTrip: an index read back from its encoding holds
// the same entities and tables, and gives byte for byte the same answers
// as the index built from the lists, on the embedded snapshot.
func TestIndexBinaryRoundTrip(t *testing.T) {
	ix, ents := embeddedIndex(t)
	b, err := ix.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalIndex(b)
	if err != nil {
		t.Fatal(err)
	}
	sameIndex(t, ix, got)
	qs := codecQueries(t, ix, ents)
	t.Logf("%d queries", len(qs))
	if len(qs) < 2000 {
		t.Fatalf("only %d queries", len(qs))
	}
	want, have := answers(t, ix, qs), answers(t, got, qs)
	if !bytes.Equal(want, have) {
		a, b := bytes.Split(want, []byte("\n")), bytes.Split(have, []byte("\n"))
		for i := range a {
			if i >= len(b) || !bytes.Equal(a[i], b[i]) {
				t.Fatalf("answer %d (%+v) differs:\nbuilt %s\nread  %s", i, qs[i], a[i], b[i])
			}
		}
		t.Fatal("answers differ")
	}
	// The same index, the same bytes: a cache written by any node is the
	// same file.
	again, err := got.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, again) {
		t.Fatal("re-encoding the decoded index gives other bytes")
	}
}

// TestUnmarshalIndexDamaged: a truncated, extended or altered encoding,
// another format or not an index at all is refused with ErrBadEncoding.
func TestUnmarshalIndexDamaged(t *testing.T) {
	ix, _ := embeddedIndex(t)
	b, err := ix.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":     nil,
		"header":    b[:headerSize],
		"half":      b[:len(b)/2],
		"one short": b[:len(b)-1],
		"one more":  append(append([]byte(nil), b...), 0),
		"json":      []byte(`{"entities":[]}`),
	}
	for _, off := range []int{0, 9, 13, 25, headerSize, headerSize + 1, len(b) / 3, len(b) - 1} {
		c := append([]byte(nil), b...)
		c[off] ^= 0x20
		cases["flipped byte "+strconv.Itoa(off)] = c
	}
	for name, c := range cases {
		if _, err := UnmarshalIndex(c); !errors.Is(err, ErrBadEncoding) {
			t.Errorf("%s: err %v, want ErrBadEncoding", name, err)
		}
	}
}

// TestCodecKnowsEveryField fails when a type the encoding writes gains or
// loses a field: the codec must then be changed with it, and IndexFormat
// raised, or a saved index would silently lose the field.
func TestCodecKnowsEveryField(t *testing.T) {
	for typ, n := range map[reflect.Type]int{
		reflect.TypeFor[sanctions.Entity](): 17, reflect.TypeFor[sanctions.Name](): 2, reflect.TypeFor[sanctions.Identifier](): 3,
		reflect.TypeFor[sanctions.Address](): 5, reflect.TypeFor[sanctions.Link](): 3, reflect.TypeFor[sanctions.Listing](): 5,
		reflect.TypeFor[sanctions.Join](): 4, reflect.TypeFor[names.Key](): 9,
		// nameEntry's rank is not written: rankEntries derives it on load.
		reflect.TypeFor[nameEntry](): 7, reflect.TypeFor[nameIndex](): 6, reflect.TypeFor[Index](): 7,
	} {
		if got := typ.NumField(); got != n {
			t.Errorf("%v has %d fields, the index encoding (format %d) knows %d: change screen/codec.go and IndexFormat", typ, got, IndexFormat, n)
		}
	}
}

// smallIndex indexes a few entities of every type (the fuzzer's seeds).
func smallIndex(t testing.TB) *Index {
	_, ents := embeddedIndex(t)
	var pick []*sanctions.Entity
	seen := map[sanctions.EntityType]int{}
	for _, e := range ents {
		if seen[e.Type] < 4 && (e.IsDPRK() || e.Type == sanctions.Aircraft) {
			seen[e.Type]++
			pick = append(pick, e)
		}
	}
	return NewIndex(pick)
}

// FuzzDecodeIndex decodes arbitrary payloads (the part behind the
// checksum, so the fuzzer reaches the decoder): never a panic; what is
// accepted encodes again to the same bytes and can be searched.
func FuzzDecodeIndex(f *testing.F) {
	// Seeds in testdata/fuzz/FuzzDecodeIndex: a small index's payload,
	// and cut and altered copies of it.
	f.Fuzz(func(t *testing.T, p []byte) {
		ix, err := decodePayload(p)
		if err != nil {
			if !errors.Is(err, ErrBadEncoding) && ix != nil {
				t.Fatalf("error %v with an index", err)
			}
			return
		}
		b, err := ix.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := UnmarshalIndex(b); err != nil {
			t.Fatalf("re-encoded index refused: %v", err)
		}
		for _, q := range []Query{{Name: "CHON MA SAN"}, {Type: "vessel", Name: "JI SONG 8", IMO: "8606173"}, {MMSI: "445123000"}, {CallSign: "HMAB"}} {
			ix.Search(q, Options{All: true})
		}
	})
}

// TestFuzzSeeds keeps the fuzzer's seeds meaningful: the first is a
// payload this encoding accepts (UPDATE_FUZZ_SEEDS=1 writes them again
// after a format change).
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeIndex")
	if os.Getenv("UPDATE_FUZZ_SEEDS") != "" {
		b, err := smallIndex(t).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		p := b[headerSize:]
		flipped := append([]byte(nil), p...)
		flipped[len(p)/2] ^= 0xff
		seeds := map[string][]byte{"small-index": p, "cut-half": p[:len(p)/2], "cut-strings": p[:40], "flipped": flipped}
		os.MkdirAll(dir, 0o755)
		for name, s := range seeds {
			if err := os.WriteFile(filepath.Join(dir, name), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "small-index"))
	if err != nil {
		t.Fatal(err)
	}
	_, lit, _ := bytes.Cut(b, []byte("[]byte("))
	lit = bytes.TrimSuffix(bytes.TrimSpace(lit), []byte(")"))
	p, err := strconv.Unquote(string(lit))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodePayload([]byte(p)); err != nil {
		t.Fatalf("the seed index is refused: %v (run with UPDATE_FUZZ_SEEDS=1)", err)
	}
}

// TestIndexBuildDeterministic: two builds of the same entities encode to
// the same bytes (the average word weight was summed in map order, and
// differed in its last bits from build to build: a saved index could not
// be compared with a fresh one, nor two nodes' with each other).
func TestIndexBuildDeterministic(t *testing.T) {
	ix, ents := embeddedIndex(t)
	want, err := ix.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		got, err := NewIndex(ents).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatal("two builds of the same entities differ")
		}
	}
}
