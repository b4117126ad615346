package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/store"
)

// IdentityHistory returns every identity value seen for a vessel, summed
// over runs (store.MergeIdentities). By IMO, it covers every MMSI that
// broadcast the IMO.
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
	var all []store.Identity
	for _, m := range store.UniqueMMSIs(mmsis) {
		rows, err := s.r.QueryContext(ctx, `SELECT field, value, imo, first_ms, last_ms, count, source FROM identities WHERE mmsi = ?`, m)
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
			all = append(all, id)
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, err
		}
		rows.Close()
	}
	return store.MergeIdentities(all), nil
}

// Track returns an MMSI's stored positions in [from, to], in time order,
// a position stored by two runs once (store.MergeTrack).
func (s *DB) Track(ctx context.Context, mmsi uint32, from, to time.Time) ([]store.Point, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT start_ms, n, data FROM chunks WHERE mmsi = ? AND start_ms <= ? AND end_ms >= ? ORDER BY start_ms, run`,
		mmsi, to.UnixMilli(), from.UnixMilli())
	if err != nil {
		return nil, err
	}
	var chunks []store.StoredChunk
	for rows.Next() {
		var c store.StoredChunk
		var start int64
		if err := rows.Scan(&start, &c.N, &c.Data); err != nil {
			rows.Close()
			return nil, err
		}
		c.Start = fromMS(start)
		chunks = append(chunks, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return store.MergeTrack(mmsi, chunks, from, to)
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

// Coverage sums the chunks of the MMSIs overlapping [from, to]
// (store.CoverageBuilder).
func (s *DB) Coverage(ctx context.Context, mmsis []uint32, from, to time.Time) (store.Coverage, error) {
	var b store.CoverageBuilder
	for _, m := range store.UniqueMMSIs(mmsis) {
		rows, err := s.r.QueryContext(ctx, `SELECT start_ms, end_ms, n, fixes FROM chunks WHERE mmsi = ? AND start_ms <= ? AND end_ms >= ?`,
			m, to.UnixMilli(), from.UnixMilli())
		if err != nil {
			return b.Coverage(), err
		}
		for rows.Next() {
			var a, e, n, f int64
			if err := rows.Scan(&a, &e, &n, &f); err != nil {
				rows.Close()
				return b.Coverage(), err
			}
			b.Add(fromMS(a), fromMS(e), n, f)
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return b.Coverage(), err
		}
		rows.Close()
	}
	return b.Coverage(), nil
}

// QueryEvents selects events by vessel, kind, time and area, in
// detect.SortEvents order, each occurrence once.
func (s *DB) QueryEvents(ctx context.Context, q store.EventQuery) ([]detect.Event, error) {
	limit := store.QueryLimit(q.Limit)
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
	args = append(args, store.EventScanLimit(limit))
	out, err := s.eventRows(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// eventRows reads (run, seq, json) rows into events, each occurrence
// once, in detect.SortEvents order (store.UniqueEvents).
func (s *DB) eventRows(ctx context.Context, query string, args ...any) ([]detect.Event, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var raw []store.EventRow
	for rows.Next() {
		var r store.EventRow
		if err := rows.Scan(&r.Run, &r.Seq, &r.JSON); err != nil {
			return nil, err
		}
		raw = append(raw, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return store.UniqueEvents(raw)
}
