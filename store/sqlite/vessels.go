package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/store"
)

// IdentityHistory returns every identity value seen for a vessel, summed
// over runs. By IMO, it covers every MMSI that broadcast the IMO.
func (s *DB) IdentityHistory(ctx context.Context, q store.VesselQuery) ([]store.Identity, error) {
	mmsis := []uint32{}
	if q.MMSI != 0 {
		mmsis = append(mmsis, q.MMSI)
	}
	if q.IMO != 0 {
		rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT mmsi FROM identities WHERE imo = ?`, q.IMO)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var m uint32
			if err := rows.Scan(&m); err != nil {
				rows.Close()
				return nil, err
			}
			mmsis = append(mmsis, m)
		}
		rows.Close()
	}
	var out []store.Identity
	for _, m := range uniq(mmsis) {
		rows, err := s.r.QueryContext(ctx, `SELECT field, value, max(imo), min(first_ms), max(last_ms), sum(count), min(source)
			FROM identities WHERE mmsi = ? GROUP BY field, value ORDER BY field, min(first_ms), value`, m)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			id := store.Identity{MMSI: m}
			var first, last int64
			var imo sql.NullInt64
			var src sql.NullString
			if err := rows.Scan(&id.Field, &id.Value, &imo, &first, &last, &id.Count, &src); err != nil {
				rows.Close()
				return nil, err
			}
			id.IMO, id.First, id.Last, id.Source = uint32(imo.Int64), fromMS(first), fromMS(last), src.String
			out = append(out, id)
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, err
		}
		rows.Close()
	}
	return out, nil
}

func uniq(v []uint32) []uint32 {
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	out := v[:0]
	for i, x := range v {
		if i == 0 || x != v[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// Track returns an MMSI's stored positions in [from, to], in time order.
// A position stored by two runs (the same data ingested twice) is returned
// once.
func (s *DB) Track(ctx context.Context, mmsi uint32, from, to time.Time) ([]store.Point, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT start_ms, n, data FROM chunks WHERE mmsi = ? AND start_ms <= ? AND end_ms >= ? ORDER BY start_ms, run`,
		mmsi, to.UnixMilli(), from.UnixMilli())
	if err != nil {
		return nil, err
	}
	type chunk struct {
		start int64
		data  []byte
	}
	var chunks []chunk
	total := 0
	for rows.Next() {
		var c chunk
		var n int
		if err := rows.Scan(&c.start, &n, &c.data); err != nil {
			rows.Close()
			return nil, err
		}
		chunks = append(chunks, c)
		total += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// One allocation for the whole track: a year can be half a million
	// points, and growing the slice chunk by chunk cost more than decoding.
	pts := make([]store.Point, 0, total)
	for _, c := range chunks {
		n := len(pts)
		pts, err = store.DecodeChunk(pts, fromMS(c.start), c.data)
		if err != nil {
			return nil, fmt.Errorf("track of %d: chunk at %s: %w", mmsi, fromMS(c.start).Format(time.RFC3339), err)
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

// Events returns the events involving any of the MMSIs that overlap
// [from, to], in the detectors' order (detect.SortEvents), each once.
func (s *DB) Events(ctx context.Context, mmsis []uint32, from, to time.Time) ([]detect.Event, error) {
	if len(mmsis) == 0 {
		return nil, nil
	}
	q := `SELECT DISTINCT e.run, e.seq, e.json FROM event_vessels v JOIN events e ON e.run = v.run AND e.seq = v.seq
		WHERE v.mmsi IN (` + placeholders(len(mmsis)) + `) AND v.start_ms <= ? AND v.end_ms >= ?`
	args := make([]any, 0, len(mmsis)+2)
	for _, m := range mmsis {
		args = append(args, m)
	}
	args = append(args, to.UnixMilli(), from.UnixMilli())
	return s.eventRows(ctx, q, args...)
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// Coverage sums the chunks of the MMSIs overlapping [from, to]. Chunks
// straddling the window's ends count whole: coverage is a summary, the
// track itself is exact.
func (s *DB) Coverage(ctx context.Context, mmsis []uint32, from, to time.Time) (store.Coverage, error) {
	var c store.Coverage
	days := map[int64]bool{}
	for _, m := range uniq(append([]uint32(nil), mmsis...)) {
		rows, err := s.r.QueryContext(ctx, `SELECT start_ms, end_ms, n, fixes FROM chunks WHERE mmsi = ? AND start_ms <= ? AND end_ms >= ?`,
			m, to.UnixMilli(), from.UnixMilli())
		if err != nil {
			return c, err
		}
		for rows.Next() {
			var a, b, n, f int64
			if err := rows.Scan(&a, &b, &n, &f); err != nil {
				rows.Close()
				return c, err
			}
			c.Points += n
			c.Fixes += f
			if t := fromMS(a); c.First.IsZero() || t.Before(c.First) {
				c.First = t
			}
			if t := fromMS(b); t.After(c.Last) {
				c.Last = t
			}
			for d := a / 86400000; d <= b/86400000; d++ {
				days[d] = true
			}
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return c, err
		}
		rows.Close()
	}
	c.Days = len(days)
	return c, nil
}

// maxQueryEvents caps QueryEvents when the query sets no lower limit.
const maxQueryEvents = 10000

// QueryEvents selects events by vessel, kind, time and area, in
// detect.SortEvents order, each occurrence once.
func (s *DB) QueryEvents(ctx context.Context, q store.EventQuery) ([]detect.Event, error) {
	limit := q.Limit
	if limit <= 0 || limit > maxQueryEvents {
		limit = maxQueryEvents
	}
	var where []string
	var args []any
	from := "events e"
	if len(q.MMSIs) > 0 {
		from = "event_vessels v JOIN events e ON e.run = v.run AND e.seq = v.seq"
		where = append(where, "v.mmsi IN ("+placeholders(len(q.MMSIs))+")")
		for _, m := range q.MMSIs {
			args = append(args, m)
		}
	}
	if len(q.Kinds) > 0 {
		where = append(where, "e.kind IN ("+placeholders(len(q.Kinds))+")")
		for _, k := range q.Kinds {
			args = append(args, k)
		}
	}
	if !q.To.IsZero() {
		where = append(where, "e.start_ms <= ?")
		args = append(args, q.To.UnixMilli())
	}
	if !q.From.IsZero() {
		where = append(where, "e.end_ms >= ?")
		args = append(args, q.From.UnixMilli())
	}
	if b := q.Area; b != nil {
		where = append(where, "e.lat BETWEEN ? AND ?")
		args = append(args, b.South, b.North)
		if b.West <= b.East {
			where = append(where, "e.lon BETWEEN ? AND ?")
			args = append(args, b.West, b.East)
		} else {
			where = append(where, "(e.lon >= ? OR e.lon <= ?)")
			args = append(args, b.West, b.East)
		}
	}
	query := "SELECT DISTINCT e.run, e.seq, e.json FROM " + from
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	// One occurrence stored by two runs (the same data ingested twice)
	// is two rows, dropped to one below: read a margin past the limit.
	query += " ORDER BY e.start_ms, e.kind, e.run, e.seq LIMIT ?"
	args = append(args, limit*2+16)
	out, err := s.eventRows(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// eventRows decodes (run, seq, json) rows into events, each occurrence
// once (the same event stored by two runs: the same data ingested twice),
// sorted by detect.SortEvents.
func (s *DB) eventRows(ctx context.Context, query string, args ...any) ([]detect.Event, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []detect.Event
	seen := map[string]bool{}
	for rows.Next() {
		var run string
		var seq int64
		var j []byte
		if err := rows.Scan(&run, &seq, &j); err != nil {
			return nil, err
		}
		if seen[string(j)] {
			continue
		}
		seen[string(j)] = true
		var ev detect.Event
		if err := json.Unmarshal(j, &ev); err != nil {
			return nil, fmt.Errorf("event %s/%d: %w", run, seq, err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	detect.SortEvents(out)
	return out, nil
}
