package store

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/detect"
)

var m0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func TestMergeIdentitiesSumsRunsWhateverTheOrder(t *testing.T) {
	h := func(n int) time.Time { return m0.Add(time.Duration(n) * time.Hour) }
	rows := []Identity{
		{MMSI: 2, Field: "name", Value: "B", First: h(0), Last: h(1), Count: 1, Source: "x"},
		{MMSI: 1, Field: "name", Value: "Z", First: h(3), Last: h(4), Count: 2, Source: "s"},
		{MMSI: 1, IMO: 9100009, Field: "imo", Value: "9100009", First: h(5), Last: h(6), Count: 4, Source: "t"},
		{MMSI: 1, Field: "name", Value: "Z", First: h(1), Last: h(2), Count: 3, Source: "r"},
		{MMSI: 1, Field: "name", Value: "A", First: h(3), Last: h(3), Count: 1, Source: "s"},
		{MMSI: 1, Field: "imo", Value: "9100009", First: h(2), Last: h(9), Count: 1, Source: "u"},
	}
	want := []Identity{
		{MMSI: 1, IMO: 9100009, Field: "imo", Value: "9100009", First: h(2), Last: h(9), Count: 5, Source: "t"},
		{MMSI: 1, Field: "name", Value: "Z", First: h(1), Last: h(4), Count: 5, Source: "r"},
		{MMSI: 1, Field: "name", Value: "A", First: h(3), Last: h(3), Count: 1, Source: "s"},
		{MMSI: 2, Field: "name", Value: "B", First: h(0), Last: h(1), Count: 1, Source: "x"},
	}
	if got := MergeIdentities(append([]Identity(nil), rows...)); !reflect.DeepEqual(got, want) {
		t.Errorf("merged:\n got %+v\nwant %+v", got, want)
	}
	// Reversed input, same answer.
	rev := make([]Identity, len(rows))
	for i, r := range rows {
		rev[len(rows)-1-i] = r
	}
	if got := MergeIdentities(rev); !reflect.DeepEqual(got, want) {
		t.Errorf("reversed input:\n got %+v\nwant %+v", got, want)
	}
}

func encodeChunk(t *testing.T, pts []Point) StoredChunk {
	t.Helper()
	var e ChunkEncoder
	for _, p := range pts {
		if err := e.Append(p); err != nil {
			t.Fatal(err)
		}
	}
	return StoredChunk{Start: pts[0].Time, N: len(pts), Data: append([]byte(nil), e.Bytes()...)}
}

func TestMergeTrackDropsPointsStoredTwice(t *testing.T) {
	p := func(min int, lat float64) Point {
		return Point{Time: m0.Add(time.Duration(min) * time.Minute), Lat: lat, Lon: 120, SOG: 1, COG: 2}
	}
	a := encodeChunk(t, []Point{p(0, 30), p(1, 30.1), p(2, 30.2)})
	b := encodeChunk(t, []Point{p(1, 30.1), p(2, 30.2), p(3, 30.3)}) // another run, overlapping
	got, err := MergeTrack(7, []StoredChunk{a, b}, m0, m0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d points, want 4: %+v", len(got), got)
	}
	for i := range got {
		if !got[i].Time.Equal(p(i, 0).Time) {
			t.Errorf("point %d at %s", i, got[i].Time)
		}
	}
	w, _ := MergeTrack(7, []StoredChunk{a, b}, m0.Add(90*time.Second), m0.Add(150*time.Second))
	if len(w) != 1 || !w[0].Time.Equal(p(2, 0).Time) {
		t.Errorf("window: %+v", w)
	}
	bad := StoredChunk{Start: m0, N: 1, Data: []byte{1, 0xff}}
	if _, err := MergeTrack(7, []StoredChunk{bad}, m0, m0.Add(time.Hour)); !errors.Is(err, ErrCorruptChunk) {
		t.Errorf("corrupt chunk: %v", err)
	}
}

func TestUniqueEventsOrderDoesNotDependOnRowOrder(t *testing.T) {
	ev := func(lat float64) []byte {
		b, _ := json.Marshal(detect.Event{Kind: detect.KindGap, Vessels: []detect.Vessel{{MMSI: 1}}, Start: m0, End: m0.Add(time.Hour), Lat: lat})
		return b
	}
	early, _ := json.Marshal(detect.Event{Kind: detect.KindGap, Vessels: []detect.Vessel{{MMSI: 9}}, Start: m0.Add(-time.Hour), End: m0})
	x, y := ev(1), ev(2) // equal under detect.SortEvents
	a, err := UniqueEvents([]EventRow{{"a", 0, y}, {"a", 1, x}, {"b", 0, x}, {"b", 1, early}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := UniqueEvents([]EventRow{{"a", 0, early}, {"a", 1, x}, {"a", 2, y}, {"b", 0, y}})
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 3 || !reflect.DeepEqual(a, b) {
		t.Fatalf("the same events read in two orders:\n%+v\n%+v", a, b)
	}
	if a[0].Vessels[0].MMSI != 9 || a[1].Lat != 1 || a[2].Lat != 2 {
		t.Errorf("order: %+v", a)
	}
	if _, err := UniqueEvents([]EventRow{{"r", 3, []byte("{")}}); err == nil {
		t.Error("bad JSON accepted")
	}
}

func TestCoverageBuilder(t *testing.T) {
	var b CoverageBuilder
	day := 24 * time.Hour
	b.Add(m0.Add(23*time.Hour), m0.Add(day+time.Hour), 10, 20) // two days
	b.Add(m0.Add(5*day), m0.Add(5*day+time.Hour), 1, 1)
	b.Add(m0.Add(-day), m0.Add(-day), 1, 3)
	c := b.Coverage()
	if c.Points != 12 || c.Fixes != 24 || c.Days != 4 || !c.First.Equal(m0.Add(-day)) || !c.Last.Equal(m0.Add(5*day+time.Hour)) {
		t.Errorf("%+v", c)
	}
	var empty CoverageBuilder
	if c := empty.Coverage(); c != (Coverage{}) {
		t.Errorf("empty: %+v", c)
	}
}

func TestQueryLimits(t *testing.T) {
	if QueryLimit(0) != MaxQueryEvents || QueryLimit(-1) != MaxQueryEvents || QueryLimit(MaxQueryEvents+1) != MaxQueryEvents || QueryLimit(5) != 5 {
		t.Error("QueryLimit")
	}
	if UniqueMMSIs([]uint32{3, 1, 3, 2, 1})[2] != 3 || len(UniqueMMSIs([]uint32{3, 1, 3, 2, 1})) != 3 {
		t.Error("UniqueMMSIs")
	}
}
