// Package sqlite is the embedded Store: one SQLite file through
// modernc.org/sqlite, a pure-Go driver, so the binary stays cgo-free.
// The choice and its measurements are in docs/store.md.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/store"
)

// migrations are applied in order; PRAGMA user_version holds how many
// ran. Never edit one that shipped: append a new one.
var migrations = []string{
	// 1: the first schema.
	`CREATE TABLE list_versions(id TEXT PRIMARY KEY, list TEXT NOT NULL, sha256 TEXT NOT NULL, published TEXT, retrieved_ms INTEGER, json TEXT NOT NULL);
	CREATE TABLE list_entities(version_id TEXT NOT NULL, seq INTEGER NOT NULL, entity_id TEXT NOT NULL, type TEXT, name TEXT, ship_imo TEXT, json TEXT NOT NULL, PRIMARY KEY(version_id, seq));
	CREATE INDEX list_entities_imo ON list_entities(ship_imo) WHERE ship_imo != '';
	CREATE TABLE runs(id TEXT PRIMARY KEY, json TEXT NOT NULL, started_ms INTEGER, updated_ms INTEGER);
	CREATE TABLE chunks(mmsi INTEGER NOT NULL, start_ms INTEGER NOT NULL, run TEXT NOT NULL, end_ms INTEGER NOT NULL, n INTEGER NOT NULL, fixes INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(mmsi, start_ms, run)) WITHOUT ROWID;
	CREATE INDEX chunks_run ON chunks(run);
	CREATE TABLE events(run TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY(run, seq));
	CREATE TABLE event_vessels(mmsi INTEGER NOT NULL, start_ms INTEGER NOT NULL, run TEXT NOT NULL, seq INTEGER NOT NULL, end_ms INTEGER NOT NULL, imo INTEGER, PRIMARY KEY(mmsi, start_ms, run, seq)) WITHOUT ROWID;
	CREATE INDEX event_vessels_run ON event_vessels(run);
	CREATE TABLE identities(mmsi INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, run TEXT NOT NULL, imo INTEGER, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, count INTEGER NOT NULL, source TEXT, PRIMARY KEY(mmsi, field, value, run));
	CREATE INDEX identities_imo ON identities(imo) WHERE imo != 0;
	CREATE INDEX identities_run ON identities(run);
	CREATE TABLE assessments(id TEXT PRIMARY KEY, imo INTEGER, mmsi INTEGER, as_of_ms INTEGER, score REAL, outcome TEXT, json TEXT NOT NULL);
	CREATE TABLE audit(seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, data TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);`,
	// 2: the detectors' checkpoint between ingests, in parts of at most
	// statePart bytes (SQLite and its driver hold a blob read whole about
	// four times over; a checkpoint can be a hundred MB).
	`CREATE TABLE detector_state(key TEXT NOT NULL, part INTEGER NOT NULL, data BLOB NOT NULL, updated_ms INTEGER NOT NULL, PRIMARY KEY(key, part)) WITHOUT ROWID;`,
}

// DB is the SQLite store.
type DB struct {
	db   *sql.DB
	path string
}

var _ store.Store = (*DB)(nil)

// Open opens or creates the store at path and brings its schema up to
// date. A store written by a newer Tidewatch is refused rather than
// guessed at.
func Open(path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
	}
	// WAL with synchronous=NORMAL: a committed transaction survives the
	// process being killed (the WAL is in the OS cache); only a power cut
	// can lose the last ones, never corrupt the file.
	// A 64 MiB page cache and memory-mapped reads: a year of one ship's
	// track is a few megabytes of chunks, read without a system call per
	// page (BenchmarkVesselYear).
	// busy_timeout comes first: the pragmas apply in order, and switching
	// a new file to WAL needs a lock another process may hold.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)" +
		"&_pragma=cache_size(-65536)&_pragma=mmap_size(1073741824)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer; SQLite serialises anyway
	s := &DB{db: db, path: path}
	// Switching a brand-new file to WAL can fail at once with "database
	// is locked" when another process is doing the same (SQLite does not
	// always wait on that lock): try again for up to ten seconds.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err = s.migrate()
		if err == nil {
			return s, nil
		}
		if !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Now().After(deadline) {
			db.Close()
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SchemaVersion is the number of migrations this build knows.
func SchemaVersion() int { return len(migrations) }

func (s *DB) migrate() error {
	// Two processes may open a new store at once (an ingest and a
	// report): the version is read and the migrations run under one write
	// lock (BEGIN IMMEDIATE), so the second waits and then finds the
	// schema current.
	ctx := context.Background()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// A current store (the usual case) needs no lock.
	var current int
	if err := conn.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&current); err == nil && current == len(migrations) {
		return nil
	}
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return fmt.Errorf("lock for migration: %w", err)
	}
	done := false
	defer func() {
		if !done {
			conn.ExecContext(ctx, `ROLLBACK`)
		}
	}()
	var v int
	if err := conn.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this build knows (%d): use a newer tidewatch", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if _, err := conn.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, i+1)); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return fmt.Errorf("commit migrations: %w", err)
	}
	done = true
	return nil
}

// Close closes the store.
func (s *DB) Close() error { return s.db.Close() }

// Path is the store's file.
func (s *DB) Path() string { return s.path }

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// PutListVersion stores a list version and its entities, once: a version
// already held (same ID) is left as it is.
func (s *DB) PutListVersion(ctx context.Context, ds *sanctions.Dataset) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM list_versions WHERE id = ?`, ds.Version.ID).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	vj, err := json.Marshal(ds.Version)
	if err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO list_versions(id, list, sha256, published, retrieved_ms, json) VALUES(?,?,?,?,?,?)`,
		ds.Version.ID, ds.Version.List, ds.Version.SHA256, ds.Version.Published, ms(ds.Version.Retrieved), string(vj)); err != nil {
		return false, fmt.Errorf("store list version %s: %w", ds.Version.ID, err)
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO list_entities(version_id, seq, entity_id, type, name, ship_imo, json) VALUES(?,?,?,?,?,?,?)`)
	if err != nil {
		return false, err
	}
	defer st.Close()
	for i, e := range ds.Entities {
		ej, err := json.Marshal(e)
		if err != nil {
			return false, err
		}
		if _, err := st.ExecContext(ctx, ds.Version.ID, i, e.ID, string(e.Type), e.Name, e.ShipIMO(), string(ej)); err != nil {
			return false, fmt.Errorf("store entity %s of %s: %w", e.ID, ds.Version.ID, err)
		}
	}
	return true, tx.Commit()
}

// ListVersions returns every stored list version, by list then ID.
func (s *DB) ListVersions(ctx context.Context) ([]sanctions.Version, error) {
	return jsonRows[sanctions.Version](ctx, s.db, "list version record", `SELECT json FROM list_versions ORDER BY list, id`)
}

// ListEntities returns a stored version's entities in source order.
func (s *DB) ListEntities(ctx context.Context, versionID string) ([]*sanctions.Entity, error) {
	out, err := jsonRows[*sanctions.Entity](ctx, s.db, "entity of "+versionID, `SELECT json FROM list_entities WHERE version_id = ? ORDER BY seq`, versionID)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("list version %s: %w", versionID, store.ErrNotFound)
	}
	return out, nil
}

// jsonRows runs a query whose one column is a JSON record and decodes each
// row into a T; what names a record in errors.
func jsonRows[T any](ctx context.Context, db *sql.DB, what, query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var j []byte
		if err := rows.Scan(&j); err != nil {
			return nil, err
		}
		var v T
		if err := json.Unmarshal(j, &v); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Run returns a stored run.
func (s *DB) Run(ctx context.Context, id string) (store.Run, error) {
	var j string
	err := s.db.QueryRowContext(ctx, `SELECT json FROM runs WHERE id = ?`, id).Scan(&j)
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

// Counts returns the number of rows of each data table, and the
// positions held in chunks.
func (s *DB) Counts(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range []string{"list_versions", "list_entities", "runs", "chunks", "events", "identities", "assessments", "audit"} {
		var n int64
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		out[t] = n
	}
	var pts, vessels sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT sum(n), count(DISTINCT mmsi) FROM chunks`).Scan(&pts, &vessels); err != nil {
		return nil, err
	}
	out["points"], out["mmsis"] = pts.Int64, vessels.Int64
	return out, nil
}

// Runs returns every run's record, by ID.
func (s *DB) Runs(ctx context.Context) ([]store.Run, error) {
	return jsonRows[store.Run](ctx, s.db, "run record", `SELECT json FROM runs ORDER BY id`)
}

// PutRun stores a run's record.
func (s *DB) PutRun(ctx context.Context, r store.Run) error {
	tx, err := s.db.BeginTx(ctx, nil)
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
	tx, err := s.db.BeginTx(ctx, nil)
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
	tx, err := s.db.BeginTx(ctx, nil)
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
		st, err := tx.PrepareContext(ctx, `INSERT INTO events(run, seq, kind, start_ms, end_ms, json) VALUES(?,?,?,?,?,?)`)
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
				_, err = st.ExecContext(ctx, run, e.Seq, e.Event.Kind, ms(e.Event.Start), ms(e.Event.End), string(j))
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
	if err := s.db.QueryRowContext(ctx, `SELECT sum(length(data)) FROM detector_state WHERE key = ?`, key).Scan(&size); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT data FROM detector_state WHERE key = ? ORDER BY part`, key)
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
	return putState(ctx, s.db, key, data)
}

// IdentityHistory returns every identity value seen for a vessel, summed
// over runs. By IMO, it covers every MMSI that broadcast the IMO.
func (s *DB) IdentityHistory(ctx context.Context, q store.VesselQuery) ([]store.Identity, error) {
	mmsis := []uint32{}
	if q.MMSI != 0 {
		mmsis = append(mmsis, q.MMSI)
	}
	if q.IMO != 0 {
		rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT mmsi FROM identities WHERE imo = ?`, q.IMO)
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
		rows, err := s.db.QueryContext(ctx, `SELECT field, value, max(imo), min(first_ms), max(last_ms), sum(count), min(source)
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
	rows, err := s.db.QueryContext(ctx, `SELECT start_ms, n, data FROM chunks WHERE mmsi = ? AND start_ms <= ? AND end_ms >= ? ORDER BY start_ms, run`,
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
	q := `SELECT DISTINCT e.rowid, e.run, e.seq, e.json FROM event_vessels v JOIN events e ON e.run = v.run AND e.seq = v.seq
		WHERE v.mmsi IN (` + placeholders(len(mmsis)) + `) AND v.start_ms <= ? AND v.end_ms >= ? ORDER BY e.rowid`
	args := make([]any, 0, len(mmsis)+2)
	for _, m := range mmsis {
		args = append(args, m)
	}
	args = append(args, to.UnixMilli(), from.UnixMilli())
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []detect.Event
	seen := map[string]bool{}
	byID := map[string]int{} // an occurrence's place in out
	for rows.Next() {
		var rowid int64
		var run string
		var seq int64
		var j []byte
		if err := rows.Scan(&rowid, &run, &seq, &j); err != nil {
			return nil, err
		}
		// The same event stored by two runs (same data ingested twice)
		// is one event.
		if seen[string(j)] {
			continue
		}
		seen[string(j)] = true
		var ev detect.Event
		if err := json.Unmarshal(j, &ev); err != nil {
			return nil, fmt.Errorf("event %s/%d: %w", run, seq, err)
		}
		// A later version of an occurrence (its ID stored before: open at
		// a checkpoint, then longer or closed) replaces the earlier one.
		if ev.ID != "" {
			if i, ok := byID[ev.ID]; ok {
				out[i] = ev
				continue
			}
			byID[ev.ID] = len(out)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	detect.SortEvents(out)
	return out, nil
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
		rows, err := s.db.QueryContext(ctx, `SELECT start_ms, end_ms, n, fixes FROM chunks WHERE mmsi = ? AND start_ms <= ? AND end_ms >= ?`,
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

// PutAssessment stores a risk profile (once per content hash).
func (s *DB) PutAssessment(ctx context.Context, a store.Assessment) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO assessments(id, imo, mmsi, as_of_ms, score, outcome, json) VALUES(?,?,?,?,?,?,?)`,
		a.ID, a.IMO, a.MMSI, ms(a.AsOf), a.Score, a.Outcome, string(a.Profile))
	if err != nil {
		return fmt.Errorf("store assessment %s: %w", a.ID, err)
	}
	return nil
}

// AuditTail returns the last audit record.
func (s *DB) AuditTail(ctx context.Context) (store.AuditRecord, error) {
	row := s.db.QueryRowContext(ctx, `SELECT seq, time_ms, actor, action, subject, data, prev, hash FROM audit ORDER BY seq DESC LIMIT 1`)
	r, err := scanAudit(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.ErrNotFound
	}
	return r, err
}

func scanAudit(scan func(...any) error) (store.AuditRecord, error) {
	var r store.AuditRecord
	var t int64
	var data string
	err := scan(&r.Seq, &t, &r.Actor, &r.Action, &r.Subject, &data, &r.Prev, &r.Hash)
	r.Time, r.Data = fromMS(t), json.RawMessage(data)
	return r, err
}

// AppendAudit appends a record; its Seq must be the next one.
func (s *DB) AppendAudit(ctx context.Context, r store.AuditRecord) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit(seq, time_ms, actor, action, subject, data, prev, hash) VALUES(?,?,?,?,?,?,?,?)`,
		r.Seq, ms(r.Time), r.Actor, r.Action, r.Subject, string(r.Data), r.Prev, r.Hash)
	if err != nil {
		return fmt.Errorf("append audit record %d: %w", r.Seq, err)
	}
	return nil
}

// AuditRecords calls fn for every record in the order they are stored
// (by seq).
func (s *DB) AuditRecords(ctx context.Context, fn func(store.AuditRecord) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, time_ms, actor, action, subject, data, prev, hash FROM audit ORDER BY seq`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanAudit(rows.Scan)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// PruneAudit deletes records through seq.
func (s *DB) PruneAudit(ctx context.Context, throughSeq int64) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM audit WHERE seq <= ?`, throughSeq)
	return err
}

// Exec runs a statement; tests use it to tamper with the store.
func (s *DB) Exec(query string, args ...any) error {
	_, err := s.db.Exec(query, args...)
	return err
}

// Dump writes every row of the data tables in a fixed order, leaving out
// wall-clock columns: two stores with the same contents dump the same.
func (s *DB) Dump(ctx context.Context, fn func(table string, row []any) error) error {
	queries := []struct{ table, q string }{
		{"list_versions", `SELECT id, list, sha256, published, retrieved_ms, json FROM list_versions ORDER BY id`},
		{"list_entities", `SELECT version_id, seq, entity_id, json FROM list_entities ORDER BY version_id, seq`},
		{"runs", `SELECT id, json FROM runs ORDER BY id`},
		{"chunks", `SELECT mmsi, start_ms, run, end_ms, n, fixes, hex(data) FROM chunks ORDER BY mmsi, start_ms, run`},
		{"events", `SELECT run, seq, kind, start_ms, end_ms, json FROM events ORDER BY run, seq`},
		{"event_vessels", `SELECT mmsi, start_ms, run, seq, end_ms, imo FROM event_vessels ORDER BY mmsi, start_ms, run, seq`},
		{"identities", `SELECT mmsi, field, value, run, imo, first_ms, last_ms, count, source FROM identities ORDER BY mmsi, field, value, run`},
		{"detector_state", `SELECT key, part, hex(data) FROM detector_state ORDER BY key, part`},
	}
	for _, q := range queries {
		rows, err := s.db.QueryContext(ctx, q.q)
		if err != nil {
			return fmt.Errorf("dump %s: %w", q.table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return err
			}
			if err := fn(q.table, vals); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return err
		}
		rows.Close()
	}
	return nil
}
