package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tidewatch/tidewatch/store"
)

// Run returns a stored run.
func (s *DB) Run(ctx context.Context, id string) (store.Run, error) {
	var j string
	err := s.r.QueryRowContext(ctx, `SELECT json FROM runs WHERE id = ?`, id).Scan(&j)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Run{}, store.ErrNotFound
	}
	if err != nil {
		return store.Run{}, err
	}
	var r store.Run
	return r, json.Unmarshal([]byte(j), &r)
}

func putRun(ctx context.Context, tx *sql.Tx, r store.Run) error {
	j, err := json.Marshal(r)
	if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	_, err = tx.ExecContext(ctx, `INSERT INTO runs(id, json, started_ms, updated_ms) VALUES(?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET json = excluded.json, updated_ms = excluded.updated_ms`, r.ID, string(j), now, now)
	return err
}

// Runs returns every run's record, by ID.
func (s *DB) Runs(ctx context.Context) ([]store.Run, error) {
	return jsonRows[store.Run](ctx, s.r, "run record", `SELECT json FROM runs ORDER BY id`)
}

// PutRun stores a run's record.
func (s *DB) PutRun(ctx context.Context, r store.Run) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := putRun(ctx, tx, r); err != nil {
		return fmt.Errorf("store run %s: %w", r.ID, err)
	}
	return tx.Commit()
}

// ResetRun deletes what a run wrote and stores its new record, in one
// transaction.
func (s *DB) ResetRun(ctx context.Context, r store.Run) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range []string{"chunks", "events", "event_vessels", "identities"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t+` WHERE run = ?`, r.ID); err != nil {
			return fmt.Errorf("reset run %s: %w", r.ID, err)
		}
	}
	if err := putRun(ctx, tx, r); err != nil {
		return fmt.Errorf("reset run %s: %w", r.ID, err)
	}
	return tx.Commit()
}

// CommitBatch stores a batch and the run's progress in one transaction.
func (s *DB) CommitBatch(ctx context.Context, b *store.Batch) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	run := b.Run.ID
	if len(b.Chunks) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO chunks(mmsi, start_ms, run, end_ms, n, fixes, data) VALUES(?,?,?,?,?,?,?)`)
		if err != nil {
			return err
		}
		for _, c := range b.Chunks {
			if _, err := st.ExecContext(ctx, c.MMSI, ms(c.Start), run, ms(c.End), c.N, c.Fixes, c.Data); err != nil {
				st.Close()
				return fmt.Errorf("store chunk of %d at %s: %w", c.MMSI, c.Start.Format(time.RFC3339), err)
			}
		}
		st.Close()
	}
	if len(b.Events) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO events(run, seq, kind, start_ms, end_ms, json, lat, lon) VALUES(?,?,?,?,?,?,?,?)`)
		if err != nil {
			return err
		}
		sv, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO event_vessels(mmsi, start_ms, run, seq, end_ms, imo) VALUES(?,?,?,?,?,?)`)
		if err != nil {
			st.Close()
			return err
		}
		for _, e := range b.Events {
			j, err := json.Marshal(e.Event)
			if err == nil {
				_, err = st.ExecContext(ctx, run, e.Seq, e.Event.Kind, ms(e.Event.Start), ms(e.Event.End), string(j), e.Event.Lat, e.Event.Lon)
			}
			for _, v := range e.Event.Vessels {
				if err != nil {
					break
				}
				_, err = sv.ExecContext(ctx, v.MMSI, ms(e.Event.Start), run, e.Seq, ms(e.Event.End), v.IMO)
			}
			if err != nil {
				st.Close()
				sv.Close()
				return fmt.Errorf("store event %d: %w", e.Seq, err)
			}
		}
		st.Close()
		sv.Close()
	}
	if len(b.Identities) > 0 {
		// Ingest writes an identity record of a run in parts (when first
		// seen, when its vessel is evicted, at the end), each what was
		// counted since the last: the row adds them up. A resumed run
		// does not write again the parts of the batches it skips.
		st, err := tx.PrepareContext(ctx, `INSERT INTO identities(mmsi, field, value, run, imo, first_ms, last_ms, count, source) VALUES(?,?,?,?,?,?,?,?,?)
			ON CONFLICT(mmsi, field, value, run) DO UPDATE SET imo = CASE WHEN excluded.imo != 0 THEN excluded.imo ELSE identities.imo END,
			first_ms = min(identities.first_ms, excluded.first_ms), last_ms = max(identities.last_ms, excluded.last_ms),
			count = identities.count + excluded.count`)
		if err != nil {
			return err
		}
		for _, id := range b.Identities {
			if _, err := st.ExecContext(ctx, id.MMSI, id.Field, id.Value, run, id.IMO, ms(id.First), ms(id.Last), id.Count, id.Source); err != nil {
				st.Close()
				return fmt.Errorf("store identity %d %s: %w", id.MMSI, id.Field, err)
			}
		}
		st.Close()
	}
	if b.State != nil {
		if err := putState(ctx, tx, b.State.Key, b.State.Data); err != nil {
			return fmt.Errorf("store detector state: %w", err)
		}
	}
	if err := putRun(ctx, tx, b.Run); err != nil {
		return fmt.Errorf("store run %s: %w", run, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit batch %d of run %s: %w", b.Run.Batches, run, err)
	}
	return nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// statePart is the size of one row of a detector state.
const statePart = 1 << 20

func putState(ctx context.Context, x execer, key string, data []byte) error {
	if _, err := x.ExecContext(ctx, `DELETE FROM detector_state WHERE key = ?`, key); err != nil || data == nil {
		return err
	}
	now := time.Now().UnixMilli()
	for part := 0; part == 0 || part*statePart < len(data); part++ {
		end := min((part+1)*statePart, len(data))
		if _, err := x.ExecContext(ctx, `INSERT INTO detector_state(key, part, data, updated_ms) VALUES(?,?,?,?)`, key, part, data[part*statePart:end], now); err != nil {
			return err
		}
	}
	return nil
}

// DetectorState returns the detectors' checkpoint stored under key.
func (s *DB) DetectorState(ctx context.Context, key string) ([]byte, error) {
	var size sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT sum(length(data)) FROM detector_state WHERE key = ?`, key).Scan(&size); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT data FROM detector_state WHERE key = ? ORDER BY part`, key)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	b := make([]byte, 0, size.Int64)
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
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := putState(ctx, tx, key, data); err != nil {
		return err
	}
	return tx.Commit()
}
