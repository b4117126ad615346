package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/store"
)

func int64s(v []uint32) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// IdentityHistory returns every identity value seen for a vessel, summed
// over runs (store.MergeIdentities). By IMO, it covers every MMSI that
// broadcast the IMO.
func (s *DB) IdentityHistory(ctx context.Context, q store.VesselQuery) ([]store.Identity, error) {
	mmsis := []uint32{}
	if q.MMSI != 0 {
		mmsis = append(mmsis, q.MMSI)
	}
	if q.IMO != 0 {
		rows, err := s.pool.Query(ctx, `SELECT DISTINCT mmsi FROM identities WHERE imo = $1`, int64(q.IMO))
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var m int64
			if err := rows.Scan(&m); err != nil {
				rows.Close()
				return nil, err
			}
			mmsis = append(mmsis, uint32(m))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if len(mmsis) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT mmsi, field, value, imo, first_ms, last_ms, count, source FROM identities WHERE mmsi = ANY($1)`, int64s(store.UniqueMMSIs(mmsis)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var all []store.Identity
	for rows.Next() {
		var id store.Identity
		var mmsi, imo, first, last int64
		var value, source []byte
		if err := rows.Scan(&mmsi, &id.Field, &value, &imo, &first, &last, &id.Count, &source); err != nil {
			return nil, err
		}
		id.MMSI, id.Value, id.IMO, id.First, id.Last, id.Source = uint32(mmsi), string(value), uint32(imo), fromMS(first), fromMS(last), string(source)
		all = append(all, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return store.MergeIdentities(all), nil
}

// Track returns an MMSI's stored positions in [from, to], in time order,
// a position stored by two runs once (store.MergeTrack).
func (s *DB) Track(ctx context.Context, mmsi uint32, from, to time.Time) ([]store.Point, error) {
	rows, err := s.pool.Query(ctx, `SELECT start_ms, n, data FROM chunks WHERE mmsi = $1 AND start_ms <= $2 AND end_ms >= $3 ORDER BY start_ms, run`,
		int64(mmsi), to.UnixMilli(), from.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var chunks []store.StoredChunk
	for rows.Next() {
		var c store.StoredChunk
		var start int64
		var n int32
		if err := rows.Scan(&start, &n, &c.Data); err != nil {
			return nil, err
		}
		c.Start, c.N = fromMS(start), int(n)
		chunks = append(chunks, c)
	}
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
	return s.eventRows(ctx, `SELECT e.run, e.seq, e.json FROM events e WHERE (e.run, e.seq) IN
		(SELECT run, seq FROM event_vessels WHERE mmsi = ANY($1) AND start_ms <= $2 AND end_ms >= $3)`,
		int64s(mmsis), to.UnixMilli(), from.UnixMilli())
}

// Coverage sums the chunks of the MMSIs overlapping [from, to]
// (store.CoverageBuilder).
func (s *DB) Coverage(ctx context.Context, mmsis []uint32, from, to time.Time) (store.Coverage, error) {
	var b store.CoverageBuilder
	if len(mmsis) == 0 {
		return b.Coverage(), nil
	}
	rows, err := s.pool.Query(ctx, `SELECT start_ms, end_ms, n, fixes FROM chunks WHERE mmsi = ANY($1) AND start_ms <= $2 AND end_ms >= $3`,
		int64s(store.UniqueMMSIs(mmsis)), to.UnixMilli(), from.UnixMilli())
	if err != nil {
		return b.Coverage(), err
	}
	defer rows.Close()
	for rows.Next() {
		var a, e, f int64
		var n int32
		if err := rows.Scan(&a, &e, &n, &f); err != nil {
			return b.Coverage(), err
		}
		b.Add(fromMS(a), fromMS(e), int64(n), f)
	}
	return b.Coverage(), rows.Err()
}

// QueryEvents selects events by vessel, kind, time and area, in
// detect.SortEvents order, each occurrence once. The area uses the GiST
// index on the events' points, then the box's exact edges (the index
// compares single-precision boxes); a box across the antimeridian is two.
func (s *DB) QueryEvents(ctx context.Context, q store.EventQuery) ([]detect.Event, error) {
	limit := store.QueryLimit(q.Limit)
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if len(q.MMSIs) > 0 {
		where = append(where, "(e.run, e.seq) IN (SELECT run, seq FROM event_vessels WHERE mmsi = ANY("+arg(int64s(q.MMSIs))+"))")
	}
	if len(q.Kinds) > 0 {
		where = append(where, "e.kind = ANY("+arg(q.Kinds)+")")
	}
	if !q.To.IsZero() {
		where = append(where, "e.start_ms <= "+arg(q.To.UnixMilli()))
	}
	if !q.From.IsZero() {
		where = append(where, "e.end_ms >= "+arg(q.From.UnixMilli()))
	}
	if b := q.Area; b != nil {
		s, n := arg(b.South), arg(b.North)
		if b.West <= b.East {
			w, e := arg(b.West), arg(b.East)
			where = append(where, fmt.Sprintf("e.pos && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", w, s, e, n),
				fmt.Sprintf("e.lat BETWEEN %s AND %s AND e.lon BETWEEN %s AND %s", s, n, w, e))
		} else {
			w, e := arg(b.West), arg(b.East)
			// Longitudes past 180 (AIS's 181, "not available") lie east
			// of any west edge, as in the SQLite store: the boxes reach
			// far past the antimeridian.
			where = append(where, fmt.Sprintf("(e.pos && ST_MakeEnvelope(%s, %s, 1e9, %s, 4326) OR e.pos && ST_MakeEnvelope(-1e9, %s, %s, %s, 4326))", w, s, n, s, e, n),
				fmt.Sprintf("e.lat BETWEEN %s AND %s AND (e.lon >= %s OR e.lon <= %s)", s, n, w, e))
		}
	}
	query := "SELECT e.run, e.seq, e.json FROM events e"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	// One occurrence stored by two runs (the same data ingested twice)
	// is two rows, dropped to one after: read a margin past the limit,
	// in the order the SQLite store reads them.
	query += " ORDER BY e.start_ms, e.kind, e.run, e.seq LIMIT " + arg(store.EventScanLimit(limit))
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
	rows, err := s.pool.Query(ctx, query, args...)
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
