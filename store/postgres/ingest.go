package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tidewatch/tidewatch/store"
)

// Run returns a stored run.
func (s *DB) Run(ctx context.Context, id string) (store.Run, error) {
	var j []byte
	err := s.pool.QueryRow(ctx, `SELECT json FROM runs WHERE id = $1`, id).Scan(&j)
	if errors.Is(err, pgx.ErrNoRows) || isBadText(err) {
		return store.Run{}, store.ErrNotFound
	}
	if err != nil {
		return store.Run{}, err
	}
	var r store.Run
	return r, json.Unmarshal(j, &r)
}

func putRun(ctx context.Context, tx pgx.Tx, r store.Run) error {
	j, err := json.Marshal(r)
	if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	_, err = tx.Exec(ctx, `INSERT INTO runs(id, json, started_ms, updated_ms) VALUES($1,$2,$3,$3)
		ON CONFLICT (id) DO UPDATE SET json = excluded.json, updated_ms = excluded.updated_ms`, r.ID, j, now)
	return err
}

// Runs returns every run's record, by ID.
func (s *DB) Runs(ctx context.Context) ([]store.Run, error) {
	return jsonRows[store.Run](ctx, s, "run record", `SELECT json FROM runs ORDER BY id`)
}

// PutRun stores a run's record.
func (s *DB) PutRun(ctx context.Context, r store.Run) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := putRun(ctx, tx, r); err != nil {
			return fmt.Errorf("store run %s: %w", r.ID, err)
		}
		return nil
	})
}

// ResetRun deletes what a run wrote and stores its new record, in one
// transaction.
func (s *DB) ResetRun(ctx context.Context, r store.Run) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		for _, t := range []string{"chunks", "events", "event_vessels", "identities"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+t+` WHERE run = $1`, r.ID); err != nil {
				return fmt.Errorf("reset run %s: %w", r.ID, err)
			}
		}
		if err := putRun(ctx, tx, r); err != nil {
			return fmt.Errorf("reset run %s: %w", r.ID, err)
		}
		return nil
	})
}

// identStage is the per-connection table identities are copied into
// before they are merged into the identities table (COPY cannot update
// a row already there); its rows go at commit.
const identStage = `CREATE TEMP TABLE IF NOT EXISTS tidewatch_identities_in(mmsi bigint, field text COLLATE "C", value bytea, imo bigint, first_ms bigint, last_ms bigint, count bigint, source bytea) ON COMMIT DELETE ROWS`

// CommitBatch stores a batch and the run's progress in one transaction:
// chunks, events and identities by COPY.
func (s *DB) CommitBatch(ctx context.Context, b *store.Batch) error {
	run := b.Run.ID
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// A batch the run's progress already counts is refused, not added
		// again (two writers of one run: a worker that lost its lock goes
		// on while another resumes the run). The row lock orders two
		// writers of the run.
		var done int64
		err := tx.QueryRow(ctx, `SELECT coalesce((json->>'batches')::bigint, 0) FROM runs WHERE id = $1 FOR UPDATE`, run).Scan(&done)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if err == nil && done >= b.Run.Batches {
			return fmt.Errorf("batch %d of run %s is stored already (%d stored: another writer of the run?): %w", b.Run.Batches, run, done, store.ErrConflict)
		}
		if len(b.Chunks) > 0 {
			rows := make([][]any, len(b.Chunks))
			for i, c := range b.Chunks {
				rows[i] = []any{int64(c.MMSI), ms(c.Start), run, ms(c.End), int32(c.N), c.Fixes, c.Data}
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"chunks"}, []string{"mmsi", "start_ms", "run", "end_ms", "n", "fixes", "data"}, pgx.CopyFromRows(rows)); err != nil {
				return fmt.Errorf("store %d chunks: %w", len(b.Chunks), err)
			}
		}
		if len(b.Identities) > 0 {
			if err := copyIdentities(ctx, tx, run, b.Identities); err != nil {
				return err
			}
		}
		if b.State != nil {
			if err := putState(ctx, tx, b.State.Key, b.State.Data); err != nil {
				return fmt.Errorf("store detector state: %w", err)
			}
		}
		if err := putRun(ctx, tx, b.Run); err != nil {
			return fmt.Errorf("store run %s: %w", run, err)
		}
		if len(b.Events) > 0 {
			// Events are numbered (their cursor for EventsAfter) under
			// one lock held to the commit, so cursors grow in commit
			// order: a reader that has seen cursor n never later finds
			// an event below n committed by another node. Taken last,
			// it covers only the events' own writes.
			if err := s.lock(ctx, tx, "events"); err != nil {
				return err
			}
			if err := copyEvents(ctx, tx, run, b.Events); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit batch %d of run %s: %w", b.Run.Batches, run, err)
	}
	return nil
}

// copyIdentities merges a batch's identity rows. Ingest writes an
// identity record of a run in parts (when first seen, when its vessel is
// evicted, at the end), each what was counted since the last: the row
// adds them up (earliest first, latest last, counts summed, the IMO
// given last that is not 0), as the SQLite store does; a value given
// twice in one batch is added up the same way before the copy.
func copyIdentities(ctx context.Context, tx pgx.Tx, run string, ids []store.Identity) error {
	type key struct {
		mmsi         uint32
		field, value string
	}
	at := make(map[key]int, len(ids))
	var merged []store.Identity
	for _, id := range ids {
		k := key{id.MMSI, id.Field, id.Value}
		i, ok := at[k]
		if !ok {
			at[k] = len(merged)
			merged = append(merged, id)
			continue
		}
		m := &merged[i]
		if id.IMO != 0 {
			m.IMO = id.IMO
		}
		if id.First.Before(m.First) {
			m.First = id.First
		}
		if id.Last.After(m.Last) {
			m.Last = id.Last
		}
		m.Count += id.Count
	}
	rows := make([][]any, 0, len(merged))
	for _, id := range merged {
		rows = append(rows, []any{int64(id.MMSI), id.Field, []byte(id.Value), int64(id.IMO), ms(id.First), ms(id.Last), id.Count, []byte(id.Source)})
	}
	if _, err := tx.Exec(ctx, identStage); err != nil {
		return fmt.Errorf("store identities: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"tidewatch_identities_in"}, []string{"mmsi", "field", "value", "imo", "first_ms", "last_ms", "count", "source"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("store %d identities: %w", len(rows), err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO identities(mmsi, field, value, run, imo, first_ms, last_ms, count, source)
		SELECT mmsi, field, value, $1, imo, first_ms, last_ms, count, source FROM tidewatch_identities_in
		ON CONFLICT (mmsi, field, value, run) DO UPDATE SET imo = CASE WHEN excluded.imo != 0 THEN excluded.imo ELSE identities.imo END,
		first_ms = LEAST(identities.first_ms, excluded.first_ms), last_ms = GREATEST(identities.last_ms, excluded.last_ms),
		count = identities.count + excluded.count`, run); err != nil {
		return fmt.Errorf("store %d identities: %w", len(rows), err)
	}
	return nil
}

func copyEvents(ctx context.Context, tx pgx.Tx, run string, evs []store.StoredEvent) error {
	rows := make([][]any, len(evs))
	type vkey struct {
		mmsi uint32
		seq  int64
	}
	seen := map[vkey]bool{}
	var vrows [][]any
	for i, e := range evs {
		j, err := json.Marshal(e.Event)
		if err != nil {
			return fmt.Errorf("store event %d: %w", e.Seq, err)
		}
		rows[i] = []any{run, e.Seq, e.Event.Kind, ms(e.Event.Start), ms(e.Event.End), e.Event.Lat, e.Event.Lon, j}
		for _, v := range e.Event.Vessels {
			// One row per vessel of an event, the first IMO given.
			if seen[vkey{v.MMSI, e.Seq}] {
				continue
			}
			seen[vkey{v.MMSI, e.Seq}] = true
			vrows = append(vrows, []any{int64(v.MMSI), ms(e.Event.Start), run, e.Seq, ms(e.Event.End), int64(v.IMO)})
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"run", "seq", "kind", "start_ms", "end_ms", "lat", "lon", "json"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("store %d events: %w", len(rows), err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"event_vessels"}, []string{"mmsi", "start_ms", "run", "seq", "end_ms", "imo"}, pgx.CopyFromRows(vrows)); err != nil {
		return fmt.Errorf("store the vessels of %d events: %w", len(rows), err)
	}
	return nil
}

// statePart is the size of one row of a detector state (as in SQLite: a
// state of a hundred MB is not one value).
const statePart = 1 << 20

func putState(ctx context.Context, tx pgx.Tx, key string, data []byte) error {
	if _, err := tx.Exec(ctx, `DELETE FROM detector_state WHERE key = $1`, key); err != nil || data == nil {
		return err
	}
	now := time.Now().UnixMilli()
	rows := [][]any{}
	for part := 0; part == 0 || part*statePart < len(data); part++ {
		end := min((part+1)*statePart, len(data))
		rows = append(rows, []any{key, int32(part), data[part*statePart : end], now})
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"detector_state"}, []string{"key", "part", "data", "updated_ms"}, pgx.CopyFromRows(rows))
	return err
}

// DetectorState returns the detectors' checkpoint stored under key.
func (s *DB) DetectorState(ctx context.Context, key string) ([]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT data FROM detector_state WHERE key = $1 ORDER BY part`, key)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var b []byte
	found := false
	for rows.Next() {
		var part []byte
		if err := rows.Scan(&part); err != nil {
			return nil, err
		}
		b, found = append(b, part...), true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !found {
		return nil, store.ErrNotFound
	}
	return b, nil
}

// PutDetectorState stores (nil data: deletes) the checkpoint under key.
func (s *DB) PutDetectorState(ctx context.Context, key string, data []byte) error {
	return s.tx(ctx, func(tx pgx.Tx) error { return putState(ctx, tx, key, data) })
}
