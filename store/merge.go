package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/tidewatch/tidewatch/detect"
)

// The rules below are what every adapter applies to the rows it reads,
// so that stores holding the same rows answer the same: the same data
// ingested by two runs is stored twice (each run keeps its own rows, so a
// run can be reset alone), and reads merge the runs.

// MergeIdentities sums identity rows stored by several runs: one value
// per MMSI, field and value, first seen the earliest, last seen the
// latest, seen the sum of the counts, with the highest IMO and the least
// source any run gave. The result is ordered by MMSI, field, first seen
// and value (bytewise), whatever order the rows came in.
func MergeIdentities(rows []Identity) []Identity {
	type key struct {
		mmsi         uint32
		field, value string
	}
	byKey := make(map[key]int, len(rows))
	var out []Identity
	for _, r := range rows {
		k := key{r.MMSI, r.Field, r.Value}
		i, ok := byKey[k]
		if !ok {
			byKey[k] = len(out)
			out = append(out, r)
			continue
		}
		m := &out[i]
		m.IMO = max(m.IMO, r.IMO)
		if r.First.Before(m.First) {
			m.First = r.First
		}
		if r.Last.After(m.Last) {
			m.Last = r.Last
		}
		m.Count += r.Count
		m.Source = min(m.Source, r.Source)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.MMSI != b.MMSI {
			return a.MMSI < b.MMSI
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		if !a.First.Equal(b.First) {
			return a.First.Before(b.First)
		}
		return a.Value < b.Value
	})
	return out
}

// StoredChunk is a chunk as an adapter reads it back for a track: its
// first point's time and its encoded points.
type StoredChunk struct {
	Start time.Time
	N     int // points in Data (a capacity hint)
	Data  []byte
}

// MergeTrack decodes an MMSI's chunks (ordered by start time, then run)
// into its positions in [from, to], in time order, a position stored by
// two runs (the same data ingested twice) once. A chunk that does not
// decode is an error naming the vessel and the chunk's time.
func MergeTrack(mmsi uint32, chunks []StoredChunk, from, to time.Time) ([]Point, error) {
	total := 0
	for _, c := range chunks {
		total += c.N
	}
	// One allocation for the whole track: a year can be half a million
	// points, and growing the slice chunk by chunk cost more than decoding.
	pts := make([]Point, 0, total)
	var err error
	for _, c := range chunks {
		n := len(pts)
		pts, err = DecodeChunk(pts, c.Start, c.Data)
		if err != nil {
			return nil, fmt.Errorf("track of %d: chunk at %s: %w", mmsi, c.Start.UTC().Format(time.RFC3339), err)
		}
		// keep only the window
		w := n
		for i := n; i < len(pts); i++ {
			if p := &pts[i]; !p.Time.Before(from) && !p.Time.After(to) {
				pts[w] = *p
				w++
			}
		}
		pts = pts[:w]
	}
	// Chunks of one run never overlap; only data ingested by two runs
	// needs sorting and de-duplicating.
	sorted := true
	for i := 1; i < len(pts); i++ {
		if pts[i].Time.Before(pts[i-1].Time) {
			sorted = false
			break
		}
	}
	if !sorted {
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].Time.Before(pts[j].Time) })
	}
	out := pts[:0]
	for i := range pts {
		if i > 0 && pts[i].Time.Equal(pts[i-1].Time) && pts[i].Lat == pts[i-1].Lat && pts[i].Lon == pts[i-1].Lon {
			continue
		}
		out = append(out, pts[i])
	}
	return out, nil
}

// EventRow is a stored event as an adapter reads it: its run, its place
// in the run, and its JSON (as detect writes it).
type EventRow struct {
	Run  string
	Seq  int64
	JSON []byte
}

// UniqueEvents decodes event rows into events, each occurrence once, in
// detect.SortEvents order; events that SortEvents ranks equal are ordered
// by their JSON, so the order does not depend on the order the rows were
// read in.
//
// "Once": the same event stored by two runs (the same data ingested
// twice) has the same JSON; and an occurrence stored in several versions
// (reported open at a checkpoint, then longer, then closed: the same ID)
// is read as its latest version: a closed one before an open one, then
// the one that ends last. Versions only grow, so this holds whatever
// order the runs were stored in (a part ingested again later stores an
// older version again).
func UniqueEvents(rows []EventRow) ([]detect.Event, error) {
	sort.SliceStable(rows, func(i, j int) bool { return bytes.Compare(rows[i].JSON, rows[j].JSON) < 0 })
	out := make([]detect.Event, 0, len(rows))
	byID := map[string]int{}
	for i, r := range rows {
		if i > 0 && bytes.Equal(r.JSON, rows[i-1].JSON) {
			continue
		}
		var ev detect.Event
		if err := json.Unmarshal(r.JSON, &ev); err != nil {
			return nil, fmt.Errorf("event %s/%d: %w", r.Run, r.Seq, err)
		}
		if ev.ID != "" {
			if k, ok := byID[ev.ID]; ok {
				if laterVersion(ev, out[k]) {
					out[k] = ev
				}
				continue
			}
			byID[ev.ID] = len(out)
		}
		out = append(out, ev)
	}
	detect.SortEvents(out)
	return out, nil
}

// laterVersion says whether a is a later version of b's occurrence than b
// (rows arrive in JSON order, so among equals the first stays).
func laterVersion(a, b detect.Event) bool {
	aClosed, bClosed := a.Status != detect.StatusOpen, b.Status != detect.StatusOpen
	if aClosed != bClosed {
		return aClosed
	}
	return a.End.After(b.End)
}

// EventScanLimit is how many rows, in the order start time, kind, run,
// seq, an adapter reads for QueryEvents with this limit: one occurrence
// stored by two runs is two rows, dropped to one by UniqueEvents, so a
// margin is read past the limit, and the result cut to limit after.
func EventScanLimit(limit int) int { return limit*2 + 16 }

// MaxQueryEvents caps QueryEvents when the query sets no lower limit.
const MaxQueryEvents = 10000

// QueryLimit is the limit QueryEvents applies for a query's Limit.
func QueryLimit(l int) int {
	if l <= 0 || l > MaxQueryEvents {
		return MaxQueryEvents
	}
	return l
}

// CoverageBuilder sums the chunks of a coverage: add each chunk
// overlapping the window once (chunks straddling the window's ends count
// whole: coverage is a summary, the track itself is exact).
type CoverageBuilder struct {
	c    Coverage
	days map[int64]bool
}

// Add counts one chunk spanning [start, end] with n points kept of fixes
// received.
func (b *CoverageBuilder) Add(start, end time.Time, n, fixes int64) {
	if b.days == nil {
		b.days = map[int64]bool{}
	}
	b.c.Points += n
	b.c.Fixes += fixes
	if b.c.First.IsZero() || start.Before(b.c.First) {
		b.c.First = start
	}
	if end.After(b.c.Last) {
		b.c.Last = end
	}
	for d := start.UnixMilli() / 86400000; d <= end.UnixMilli()/86400000; d++ {
		b.days[d] = true
	}
}

// Coverage is the sum so far.
func (b *CoverageBuilder) Coverage() Coverage {
	c := b.c
	c.Days = len(b.days)
	return c
}

// UniqueMMSIs returns the MMSIs sorted, each once (a new slice).
func UniqueMMSIs(v []uint32) []uint32 {
	s := append([]uint32(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
