package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	for _, t := range []string{"chunks", "events", "event_vessels", "identities", "identity_stage"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t+` WHERE run = ?`, r.ID); err != nil {
			return fmt.Errorf("reset run %s: %w", r.ID, err)
		}
	}
	if err := putRun(ctx, tx, r); err != nil {
		return fmt.Errorf("reset run %s: %w", r.ID, err)
	}
	return tx.Commit()
}

// CommitBatch stores a batch and the run's progress.
//
// It writes in short transactions rather than one (measured: one
// transaction held SQLite's single write lock for 0.4-2.5 s for a batch
// of a 10,000-ship ingest, and every screening's audit record waited
// behind it). Each step is safe to do again, so a batch written again
// after a failure at any step (as ingest does when a run resumes) leaves
// the store as one clean write would:
//
//  1. chunks (written again: replaced), events and their vessels (kept),
//     the detector checkpoint's parts under a new generation, and the
//     identity records into identity_stage (kept), a slice at a time;
//  2. the staged identity records added to their totals a slice at a
//     time, each slice marking its rows as added in the same
//     transaction;
//  3. one short transaction: the checkpoint's head moved to the new
//     generation and the run's progress;
//  4. what the batch left behind (its staged rows, the checkpoint's
//     earlier generations) deleted a slice at a time.
//
// Until step 3 readers may see part of the batch's positions and events:
// rows of a batch not yet counted in the run's progress, which the run,
// resumed, writes again the same.
func (s *DB) CommitBatch(ctx context.Context, b *store.Batch) error {
	if s.readOnly {
		return ErrReadOnly
	}
	run := b.Run.ID
	fail := func(err error) error {
		return fmt.Errorf("commit batch %d of run %s: %w", b.Run.Batches, run, err)
	}
	if err := fence(ctx, s.w, run, b.Run.Batches); err != nil {
		return fail(err)
	}
	// Staged rows of this run's earlier batches were all added when those
	// committed, and so were those of runs that are done; a failure
	// before their cleanup left them (found in review: a run's last
	// batch's rows were then kept for ever).
	if err := s.deleteInSlices(ctx, "stage", `DELETE FROM identity_stage WHERE (run, batch, i) IN
		(SELECT run, batch, i FROM identity_stage WHERE (run = ? AND batch < ?)
			OR run IN (SELECT id FROM runs WHERE json_extract(json, '$.done')) LIMIT 4096)`, run, b.Run.Batches); err != nil {
		return fail(err)
	}
	// Chunk keys repeated within the batch: refused before anything is
	// written.
	seen := make(map[chunkKey]bool, len(b.Chunks))
	for _, c := range b.Chunks {
		k := chunkKey{c.MMSI, ms(c.Start)}
		if seen[k] {
			return fail(fmt.Errorf("two chunks of %d start at %s", c.MMSI, c.Start.Format(time.RFC3339Nano)))
		}
		seen[k] = true
	}
	err := s.inSlices(ctx, "chunks", len(b.Chunks), func(i int) int { return len(b.Chunks[i].Data) + 64 }, func(tx *sql.Tx, from, to int) error {
		// A chunk this batch wrote before (a failed attempt) is replaced;
		// one another batch wrote is an error.
		st, err := tx.PrepareContext(ctx, `INSERT INTO chunks(mmsi, start_ms, run, end_ms, n, fixes, data, batch) VALUES(?,?,?,?,?,?,?,?)
			ON CONFLICT(mmsi, start_ms, run) DO UPDATE SET end_ms = excluded.end_ms, n = excluded.n, fixes = excluded.fixes, data = excluded.data
			WHERE chunks.batch = excluded.batch`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, c := range b.Chunks[from:to] {
			res, err := st.ExecContext(ctx, c.MMSI, ms(c.Start), run, ms(c.End), c.N, c.Fixes, c.Data, b.Run.Batches)
			var n int64
			if err == nil {
				n, err = res.RowsAffected()
			}
			if err == nil && n == 0 {
				err = errors.New("another batch of the run stored a chunk there")
			}
			if err != nil {
				return fmt.Errorf("store chunk of %d at %s: %w", c.MMSI, c.Start.Format(time.RFC3339), err)
			}
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	err = s.inSlices(ctx, "events", len(b.Events), func(i int) int { return 1024 }, func(tx *sql.Tx, from, to int) error {
		st, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO events(run, seq, kind, start_ms, end_ms, json, lat, lon) VALUES(?,?,?,?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		sv, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO event_vessels(mmsi, start_ms, run, seq, end_ms, imo) VALUES(?,?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer sv.Close()
		for _, e := range b.Events[from:to] {
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
				return fmt.Errorf("store event %d: %w", e.Seq, err)
			}
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	if err := s.stageIdentities(ctx, run, b.Run.Batches, b.Identities); err != nil {
		return fail(fmt.Errorf("store identities: %w", err))
	}
	var gen string
	var parts int
	if b.State != nil && b.State.Data != nil {
		if gen, parts, err = s.stageState(ctx, b.State.Key, b.State.Data); err != nil {
			return fail(fmt.Errorf("store detector state: %w", err))
		}
	}
	err = s.step(ctx, "commit", func(tx *sql.Tx) error {
		if err := fence(ctx, tx, run, b.Run.Batches); err != nil {
			return err
		}
		if b.State != nil {
			if err := setStateHead(ctx, tx, b.State.Key, gen, parts, b.State.Data != nil); err != nil {
				return fmt.Errorf("store detector state: %w", err)
			}
		}
		if err := putRun(ctx, tx, b.Run); err != nil {
			return fmt.Errorf("store run %s: %w", run, err)
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	// Cleanup: the batch is committed whatever happens now; what is left
	// here is deleted by the next batch or state write.
	_ = s.deleteInSlices(ctx, "stage", `DELETE FROM identity_stage WHERE (run, batch, i) IN
		(SELECT run, batch, i FROM identity_stage WHERE run = ? AND batch = ? LIMIT 4096)`, run, b.Run.Batches)
	if b.State != nil {
		s.dropOldStates(ctx, b.State.Key)
	}
	return nil
}

// fence refuses to write batch of run once the run's stored progress
// counts it: a batch written twice would add its identity values twice
// (two writers of one run: a worker that lost its partition lock goes on
// while another resumes the run).
func fence(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, run string, batch int64) error {
	var done int64
	err := q.QueryRowContext(ctx, `SELECT coalesce(json_extract(json, '$.batches'), 0) FROM runs WHERE id = ?`, run).Scan(&done)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if done >= batch {
		return fmt.Errorf("batch %d of run %s is stored already (%d stored: another writer of the run?): %w", batch, run, done, store.ErrConflict)
	}
	return nil
}

type chunkKey struct {
	mmsi  uint32
	start int64
}

// Slices of a staged write: at most sliceRows rows or about sliceBytes
// bytes a transaction, each held for tens of milliseconds at most
// (variables: tests make them small).
var (
	sliceRows  = 2048
	sliceBytes = 1 << 20
)

// step runs fn in one write transaction.
func (s *DB) step(ctx context.Context, name string, fn func(tx *sql.Tx) error) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if s.stepHook != nil {
		if err := s.stepHook(name); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// inSlices writes rows 0..n-1 with write(tx, from, to), one transaction
// for each slice of at most sliceRows rows and sliceBytes bytes (size
// says a row's).
func (s *DB) inSlices(ctx context.Context, name string, n int, size func(i int) int, write func(tx *sql.Tx, from, to int) error) error {
	for from := 0; from < n; {
		to, bytes := from, 0
		for to < n && to-from < sliceRows && (to == from || bytes+size(to) <= sliceBytes) {
			bytes += size(to)
			to++
		}
		if err := s.step(ctx, name, func(tx *sql.Tx) error { return write(tx, from, to) }); err != nil {
			return err
		}
		from = to
	}
	return nil
}

// deleteInSlices runs a DELETE limited to a slice (LIMIT in its
// subquery) until it deletes nothing more.
func (s *DB) deleteInSlices(ctx context.Context, name, q string, args ...any) error {
	for {
		var n int64
		err := s.step(ctx, name, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil || n == 0 {
			return err
		}
	}
}

const identityCols = `mmsi, field, value, run, imo, first_ms, last_ms, count, source`

// stageIdentities writes a batch's identity records to identity_stage
// (kept when there already: a batch written again finds them, some
// perhaps added), then adds the rows not yet added to the totals, a
// slice at a time. The totals add parts up (ingest writes a vessel's
// counts in parts: when first seen, when evicted, at the end), so each
// staged row must be added once: its merged mark moves with the sum.
func (s *DB) stageIdentities(ctx context.Context, run string, batch int64, ids []store.Identity) error {
	const rowsPerStmt = 64
	err := s.inSlices(ctx, "identities", len(ids), func(int) int { return 96 }, func(tx *sql.Tx, from, to int) error {
		for i := from; i < to; i += rowsPerStmt {
			part := ids[i:min(i+rowsPerStmt, to)]
			q := `INSERT OR IGNORE INTO identity_stage(run, batch, i, ` + identityColsNoRun + `) VALUES` +
				strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?,?,?,?),", len(part)), ",")
			args := make([]any, 0, 11*len(part))
			for j, id := range part {
				args = append(args, run, batch, i+j, id.MMSI, id.Field, id.Value, id.IMO, ms(id.First), ms(id.Last), id.Count, id.Source)
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for from := 0; from < len(ids); from += sliceRows {
		to := from + sliceRows
		err := s.step(ctx, "merge", func(tx *sql.Tx) error {
			if err := fence(ctx, tx, run, batch); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO identities(`+identityCols+`)
				SELECT `+identityCols+` FROM identity_stage WHERE run = ? AND batch = ? AND i >= ? AND i < ? AND merged = 0 ORDER BY i
				ON CONFLICT(mmsi, field, value, run) DO UPDATE SET imo = CASE WHEN excluded.imo != 0 THEN excluded.imo ELSE identities.imo END,
				first_ms = min(identities.first_ms, excluded.first_ms), last_ms = max(identities.last_ms, excluded.last_ms),
				count = identities.count + excluded.count`, run, batch, from, to); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE identity_stage SET merged = 1 WHERE run = ? AND batch = ? AND i >= ? AND i < ? AND merged = 0`, run, batch, from, to)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

const identityColsNoRun = `mmsi, field, value, imo, first_ms, last_ms, count, source`

// statePart is the size of one row of a detector state.
const statePart = 1 << 20

// stageState writes a checkpoint's parts, one a transaction, under a new
// generation of key (not yet in force: setStateHead moves the head to
// it), and says how many parts it wrote. Generations a failed write left
// are deleted after the next head move (dropOldStates), not before: one
// another writer of the key is staging may be among them.
func (s *DB) stageState(ctx context.Context, key string, data []byte) (string, int, error) {
	gen := strconv.FormatInt(time.Now().UnixNano(), 36)
	now := time.Now().UnixMilli()
	parts := 0
	for part := 0; part == 0 || part*statePart < len(data); part++ {
		parts++
		end := min((part+1)*statePart, len(data))
		err := s.step(ctx, "state", func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO detector_states(key, gen, part, data, updated_ms) VALUES(?,?,?,?,?)`, key, gen, part, data[part*statePart:end], now)
			return err
		})
		if err != nil {
			return "", 0, err
		}
	}
	return gen, parts, nil
}

// setStateHead puts generation gen of key, of parts parts, in force
// (present false: the checkpoint is deleted). A generation missing a
// part (another writer of the key deleted it as not in force) is refused:
// the head never names a torn checkpoint.
func setStateHead(ctx context.Context, tx *sql.Tx, key, gen string, parts int, present bool) error {
	if !present {
		_, err := tx.ExecContext(ctx, `DELETE FROM detector_state_head WHERE key = ?`, key)
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM detector_states WHERE key = ? AND gen = ?`, key, gen).Scan(&n); err != nil {
		return err
	}
	if n != parts {
		return fmt.Errorf("checkpoint %s: %d of its %d parts are left (another writer of the key removed them): %w", key, n, parts, store.ErrConflict)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO detector_state_head(key, gen) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET gen = excluded.gen`, key, gen)
	return err
}

// dropOldStates deletes, a part a transaction, the generations of key
// not in force (replaced ones, and any a failed write left). A failure
// leaves them for the next write.
func (s *DB) dropOldStates(ctx context.Context, key string) {
	_ = s.deleteInSlices(ctx, "drop", `DELETE FROM detector_states WHERE rowid IN (SELECT rowid FROM detector_states
		WHERE key = ? AND gen IS NOT (SELECT gen FROM detector_state_head WHERE key = ?) LIMIT 1)`, key, key)
}

// DetectorState returns the detectors' checkpoint stored under key.
func (s *DB) DetectorState(ctx context.Context, key string) ([]byte, error) {
	const inForce = `FROM detector_state_head h JOIN detector_states d ON d.key = h.key AND d.gen = h.gen WHERE h.key = ?`
	var size sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT sum(length(d.data)) `+inForce, key).Scan(&size); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT d.data `+inForce+` ORDER BY d.part`, key)
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

// PutDetectorState stores (nil data: deletes) the checkpoint under key:
// its parts in short transactions, then the head moved to them.
func (s *DB) PutDetectorState(ctx context.Context, key string, data []byte) error {
	if s.readOnly {
		return ErrReadOnly
	}
	var gen string
	var parts int
	if data != nil {
		var err error
		if gen, parts, err = s.stageState(ctx, key, data); err != nil {
			return err
		}
	}
	if err := s.step(ctx, "commit", func(tx *sql.Tx) error { return setStateHead(ctx, tx, key, gen, parts, data != nil) }); err != nil {
		return err
	}
	s.dropOldStates(ctx, key)
	return nil
}
