// Package sqlite is the embedded Store: one SQLite file through
// modernc.org/sqlite, a pure-Go driver, so the binary stays cgo-free.
// The choice and its measurements are in docs/store.md.
//
// Writes go through one connection (SQLite has one writer); reads use a
// pool of their own, so in WAL mode a reader never waits for a long write
// such as an ingest batch.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/tidewatch/tidewatch/store"
)

// migration is one schema step: SQL, then optionally Go code in the same
// transaction (for data that SQL alone cannot move).
type migration struct {
	sql string
	fn  func(ctx context.Context, tx *sql.Conn) error
}

// migrations are applied in order; PRAGMA user_version holds how many
// ran. Never edit one that shipped: append a new one.
var migrations = []migration{
	// 1: the first schema.
	{sql: `CREATE TABLE list_versions(id TEXT PRIMARY KEY, list TEXT NOT NULL, sha256 TEXT NOT NULL, published TEXT, retrieved_ms INTEGER, json TEXT NOT NULL);
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
	CREATE TABLE audit(seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, data TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);`},
	// 2: tenants, users and API keys; one audit log per tenant with its
	// anchor; assessments and decisions per tenant; list versions' raw
	// files and import log (the list store's one home); event positions
	// for queries by area. What a store held before belongs to the
	// "local" tenant, the operator of a one-machine installation.
	{sql: `CREATE TABLE tenants(id TEXT PRIMARY KEY, json TEXT NOT NULL);
	CREATE TABLE users(tenant TEXT NOT NULL, name TEXT NOT NULL, password_hash TEXT NOT NULL DEFAULT '', json TEXT NOT NULL, PRIMARY KEY(tenant, name));
	CREATE TABLE api_keys(id TEXT PRIMARY KEY, tenant TEXT NOT NULL, hash TEXT NOT NULL, json TEXT NOT NULL);
	CREATE INDEX api_keys_tenant ON api_keys(tenant);
	CREATE TABLE decisions(tenant TEXT NOT NULL, id INTEGER NOT NULL, subject TEXT NOT NULL, imo INTEGER, mmsi INTEGER, json TEXT NOT NULL, PRIMARY KEY(tenant, id));
	CREATE TABLE list_files(version_id TEXT NOT NULL, role TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY(version_id, role, name));
	CREATE TABLE list_imports(id INTEGER PRIMARY KEY, list TEXT NOT NULL, time_ms INTEGER NOT NULL, json TEXT NOT NULL);
	CREATE INDEX list_imports_list ON list_imports(list, id);
	CREATE TABLE audit2(tenant TEXT NOT NULL, seq INTEGER NOT NULL, time_ms INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, data TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY(tenant, seq));
	INSERT INTO audit2 SELECT 'local', seq, time_ms, actor, action, subject, data, prev, hash FROM audit;
	DROP TABLE audit;
	ALTER TABLE audit2 RENAME TO audit;
	CREATE INDEX audit_subject ON audit(tenant, subject);
	CREATE TABLE audit_anchor(tenant TEXT PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL, records INTEGER NOT NULL);
	INSERT INTO audit_anchor SELECT 'local', max(seq), (SELECT hash FROM audit a WHERE a.tenant = 'local' ORDER BY seq DESC LIMIT 1), count(*) FROM audit WHERE tenant = 'local' HAVING count(*) > 0;
	CREATE TABLE assessments2(tenant TEXT NOT NULL, id TEXT NOT NULL, imo INTEGER, mmsi INTEGER, as_of_ms INTEGER, score REAL, outcome TEXT, json TEXT NOT NULL, PRIMARY KEY(tenant, id));
	INSERT INTO assessments2 SELECT 'local', id, imo, mmsi, as_of_ms, score, outcome, json FROM assessments;
	DROP TABLE assessments;
	ALTER TABLE assessments2 RENAME TO assessments;
	ALTER TABLE events ADD COLUMN lat REAL;
	ALTER TABLE events ADD COLUMN lon REAL;
	UPDATE events SET lat = json_extract(json, '$.lat'), lon = json_extract(json, '$.lon');
	CREATE INDEX events_start ON events(start_ms);
	CREATE INDEX events_kind ON events(kind, start_ms);`,
		fn: migrateLocalTenant},
	// 3: monitoring: portfolios and their vessels, alerts, webhooks, the
	// delivery outbox, the monitor's cursors.
	{sql: `CREATE TABLE portfolios(tenant TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY(tenant, id));
	CREATE TABLE portfolio_vessels(tenant TEXT NOT NULL, portfolio TEXT NOT NULL, id TEXT NOT NULL, imo INTEGER, mmsi INTEGER, json TEXT NOT NULL, PRIMARY KEY(tenant, portfolio, id));
	CREATE INDEX portfolio_vessels_imo ON portfolio_vessels(imo) WHERE imo != 0;
	CREATE INDEX portfolio_vessels_mmsi ON portfolio_vessels(mmsi) WHERE mmsi != 0;
	CREATE TABLE alerts(tenant TEXT NOT NULL, id INTEGER NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL, kind TEXT NOT NULL, portfolio TEXT NOT NULL, vessel TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY(tenant, id));
	CREATE UNIQUE INDEX alerts_key ON alerts(tenant, key);
	CREATE TABLE webhooks(tenant TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY(tenant, id));
	CREATE TABLE outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, webhook TEXT NOT NULL, state TEXT NOT NULL, next_ms INTEGER NOT NULL, payload BLOB NOT NULL, json TEXT NOT NULL);
	CREATE INDEX outbox_due ON outbox(state, next_ms);
	CREATE INDEX outbox_tenant ON outbox(tenant, id);
	CREATE TABLE monitor_state(key TEXT PRIMARY KEY, value BLOB NOT NULL);`},
	// 4: sessions of signed-in users.
	{sql: `CREATE TABLE sessions(id_hash TEXT PRIMARY KEY, tenant TEXT NOT NULL, user TEXT NOT NULL, expires_ms INTEGER NOT NULL, json TEXT NOT NULL);
	CREATE INDEX sessions_user ON sessions(tenant, user);`},
	// 5: the audit log's subject index goes: records are read in order and
	// filtered as they stream, and the index cost a page write per
	// screening.
	{sql: `DROP INDEX IF EXISTS audit_subject;`},
	// 6: the cap ledger (notified records, capacities, factors: shared)
	// and case files (signing keys, ingested inputs' content ids, imported
	// cases per tenant).
	{sql: `CREATE TABLE ledger_notified(id TEXT PRIMARY KEY, period_start TEXT NOT NULL, json TEXT NOT NULL);
	CREATE TABLE ledger_capacities(key TEXT PRIMARY KEY, json TEXT NOT NULL);
	CREATE TABLE ledger_factors(product TEXT PRIMARY KEY, json TEXT NOT NULL);
	CREATE TABLE signing_keys(tenant TEXT NOT NULL, id TEXT NOT NULL, created_ms INTEGER NOT NULL, sealed BLOB NOT NULL, json TEXT NOT NULL, PRIMARY KEY(tenant, id));
	CREATE TABLE input_records(run TEXT NOT NULL, name TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY(run, name));
	CREATE TABLE imported_cases(tenant TEXT NOT NULL, id TEXT NOT NULL, imo INTEGER, mmsi INTEGER, imported_ms INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY(tenant, id));`},
	// 7: the detectors' checkpoint between ingests, in parts of at most
	// statePart bytes (SQLite and its driver hold a blob read whole about
	// four times over; a checkpoint can be a hundred MB).
	{sql: `CREATE TABLE detector_state(key TEXT NOT NULL, part INTEGER NOT NULL, data BLOB NOT NULL, updated_ms INTEGER NOT NULL, PRIMARY KEY(key, part)) WITHOUT ROWID;`},
	// 8: alerts are ordered by when they last changed (a new alert, a new
	// version, a state change), so a server follows what others changed:
	// the tenant's highest change plus one, taken in the writing
	// transaction (one writer at a time). Alerts already stored are
	// numbered by id.
	{sql: `ALTER TABLE alerts ADD COLUMN change INTEGER NOT NULL DEFAULT 0;
	UPDATE alerts SET change = id;
	CREATE INDEX alerts_change ON alerts(tenant, change);`},
	// 9: an ingest batch is written in short transactions (CommitBatch):
	// chunks carry the batch that wrote them (a batch written again after
	// a failure replaces its own, never another's); a detector
	// checkpoint's parts go under a generation of their own, the head
	// naming the one in force (moved by the batch's last transaction); a
	// batch's identity records are staged, then added to their totals in
	// slices, each staged row marked when added so that a batch written
	// again adds none twice.
	{sql: `ALTER TABLE chunks ADD COLUMN batch INTEGER;
	CREATE TABLE detector_states(key TEXT NOT NULL, gen TEXT NOT NULL, part INTEGER NOT NULL, data BLOB NOT NULL, updated_ms INTEGER NOT NULL, PRIMARY KEY(key, gen, part));
	INSERT INTO detector_states SELECT key, '', part, data, updated_ms FROM detector_state;
	CREATE TABLE detector_state_head(key TEXT PRIMARY KEY, gen TEXT NOT NULL);
	INSERT INTO detector_state_head SELECT DISTINCT key, '' FROM detector_state;
	DROP TABLE detector_state;
	CREATE TABLE identity_stage(run TEXT NOT NULL, batch INTEGER NOT NULL, i INTEGER NOT NULL, mmsi INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, imo INTEGER, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, count INTEGER NOT NULL, source TEXT, merged INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(run, batch, i)) WITHOUT ROWID;`},
	// 10: the audit log lives in files beside the database (auditfile.go).
	// The schema changes only by this marker, so that builds from before
	// the move, which would begin a new log in the audit table, refuse
	// the store ("newer than this build knows") rather than write there.
	{sql: `CREATE TABLE IF NOT EXISTS audit_in_files(since_ms INTEGER NOT NULL);
	INSERT INTO audit_in_files SELECT CAST(strftime('%s','now') AS INTEGER) * 1000 WHERE NOT EXISTS (SELECT 1 FROM audit_in_files);`},
}

// migrateLocalTenant creates the "local" operator tenant and moves the
// decisions recorded in its audit log into the decisions table.
func migrateLocalTenant(ctx context.Context, c *sql.Conn) error {
	t := store.Tenant{ID: LocalTenant, Name: "Local installation", Operator: true, Created: time.Now().UTC().Truncate(time.Millisecond)}
	tj, _ := json.Marshal(t)
	if _, err := c.ExecContext(ctx, `INSERT INTO tenants(id, json) VALUES(?, ?)`, t.ID, string(tj)); err != nil {
		return err
	}
	rows, err := c.QueryContext(ctx, `SELECT seq, time_ms, actor, subject, data FROM audit WHERE tenant = 'local' AND action = 'decision' ORDER BY seq`)
	if err != nil {
		return err
	}
	var ds []store.Decision
	for rows.Next() {
		var d store.Decision
		var tm int64
		var data string
		if err := rows.Scan(&d.AuditSeq, &tm, &d.By, &d.Subject, &data); err != nil {
			rows.Close()
			return err
		}
		var v struct{ Decision, Note string }
		json.Unmarshal([]byte(data), &v)
		d.Tenant, d.Time, d.Decision, d.Reason, d.Status = LocalTenant, fromMS(tm), v.Decision, v.Note, "in_force"
		d.IMO, d.MMSI = subjectIDs(d.Subject)
		ds = append(ds, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i, d := range ds {
		d.ID = int64(i + 1)
		j, _ := json.Marshal(d)
		if _, err := c.ExecContext(ctx, `INSERT INTO decisions(tenant, id, subject, imo, mmsi, json) VALUES(?,?,?,?,?,?)`, d.Tenant, d.ID, d.Subject, d.IMO, d.MMSI, string(j)); err != nil {
			return err
		}
	}
	return nil
}

// subjectIDs reads "imo:N" or "mmsi:N".
func subjectIDs(s string) (imo, mmsi uint32) {
	kind, num, _ := strings.Cut(s, ":")
	var n uint64
	fmt.Sscan(num, &n)
	switch kind {
	case "imo":
		return uint32(n), 0
	case "mmsi":
		return 0, uint32(n)
	}
	return 0, 0
}

// LocalTenant is the tenant of a one-machine installation: the CLI acts
// for it, and every store has it.
const LocalTenant = "local"

// DB is the SQLite store.
type DB struct {
	w    *sql.DB // the one writer connection
	r    *sql.DB // readers
	path string
	// readOnly: opened without write access (a read-only file or
	// directory); writes fail with ErrReadOnly.
	readOnly bool
	// ck is the checkpointer's connection (nil read-only); ckFrames is
	// how many of the WAL's frames its last checkpoint found copied.
	ck             *sql.DB
	ckStop, ckDone chan struct{}
	ckFrames       atomic.Int64
	ckOnce         sync.Once
	// audit is the audit log's files beside the database.
	audit *auditFiles
	// stepHook, when set (tests), runs before each short transaction of
	// a staged write commits; an error fails the write there.
	stepHook func(step string) error
}

var _ store.Store = (*DB)(nil)

// ErrReadOnly is returned by writes to a store opened read-only.
var ErrReadOnly = errors.New("the store is read-only (check the permissions of the file and its directory): nothing was written")

// Options say how to open a store.
type Options struct {
	// Create allows making a new store file; without it a missing file
	// is an error (a mistyped path must not silently start an empty store).
	Create bool
	// ReadOnly opens for reading only: it works on a file or directory
	// the process cannot write, and every write fails with ErrReadOnly.
	ReadOnly bool
}

// ErrNoStore says the store file does not exist (and Create was not set).
var ErrNoStore = errors.New("no store at this path")

// Open opens or creates the store at path and brings its schema up to
// date. A store written by a newer Tidewatch is refused rather than
// guessed at.
func Open(path string) (*DB, error) { return OpenWith(path, Options{Create: true}) }

// OpenWith opens a store with options.
func OpenWith(path string, o Options) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
		if !o.Create || o.ReadOnly {
			return nil, fmt.Errorf("open store %s: %w", path, ErrNoStore)
		}
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("open store %s: %w", path, err)
			}
		}
		// The file is made here, 0600, not by SQLite (0644 under umask
		// 022): it holds every tenant's portfolios, decisions and keys'
		// hashes, and SQLite gives the -wal and -shm files it creates the
		// database file's mode. An empty file is an empty database. Another
		// process making it first is fine.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
		if err == nil {
			f.Close()
		}
	}
	if o.ReadOnly {
		return openReadOnly(path)
	}
	// WAL with synchronous=NORMAL: a committed transaction survives the
	// process being killed (the WAL is in the OS cache); only a power cut
	// can lose the last ones, never corrupt the file.
	// A 64 MiB page cache and memory-mapped reads: a year of one ship's
	// track is a few megabytes of chunks, read without a system call per
	// page (BenchmarkVesselYear).
	// busy_timeout comes first: the pragmas apply in order, and switching
	// a new file to WAL needs a lock another process may hold.
	// wal_autocheckpoint(0): no commit copies the WAL into the file
	// (SQLite's default makes the commit that crosses 1,000 pages do it,
	// and the writer's caller waits: measured, a screening's audit commit
	// waited up to 1.5 s after an ingest had filled the WAL); the
	// store's checkpointer does it in the background (checkpointer).
	pragmas := func(busyMS, cacheKiB int) string {
		return fmt.Sprintf("?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)", busyMS) +
			fmt.Sprintf("&_pragma=cache_size(-%d)&_pragma=mmap_size(1073741824)&_pragma=wal_autocheckpoint(0)", cacheKiB)
	}
	// Write transactions begin IMMEDIATE: they take the write lock at
	// BEGIN, waiting (busy_timeout) for another process's writer. A
	// deferred one that read first and then found another process had
	// written meanwhile fails at once with SQLITE_BUSY, which the
	// timeout does not cover (a server and a CLI command on one file).
	// The writer's page cache is 8 MiB, not the readers' 64: a write
	// that needs a page the cache has never held costs fresh memory
	// (measured: BenchmarkAppendAudit 15.0-16.2 µs a record while a
	// 64 MiB cache was still filling, 9.7-10.5 µs with 8 MiB; the
	// 1.09 M-fix ingest 6.7-7.0 s against 7.5-7.6 s). Reads of
	// committed pages come through the memory map either way.
	w, err := sql.Open("sqlite", "file:"+escapePath(path)+pragmas(10000, writerCacheKiB)+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1) // one writer; SQLite serialises anyway
	s := &DB{w: w, path: path}
	// Switching a brand-new file to WAL can fail at once with "database
	// is locked" when another process is doing the same (SQLite does not
	// always wait on that lock): try again for up to ten seconds.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err = s.migrate()
		if err == nil {
			break
		}
		if isReadOnlyErr(err) {
			w.Close()
			return openReadOnly(path)
		}
		if !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Now().After(deadline) {
			w.Close()
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A file SQLite opened but cannot write (permissions, a read-only
	// disk) is found now, by a write that changes nothing, so that reads
	// work and every write says plainly why it cannot.
	if _, err := w.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations))); err != nil {
		w.Close()
		if isReadOnlyErr(err) {
			return openReadOnly(path)
		}
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// A store made by an earlier build may be readable by every local
	// user: its files (the process's own) are made private now.
	makePrivate(path)
	r, err := sql.Open("sqlite", "file:"+escapePath(path)+pragmas(10000, 65536)+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s.r = r
	// The checkpointer never waits for a lock (busy_timeout 0): a
	// checkpoint that would wait for the writer or a reader is skipped
	// until the next tick, never holding the writer lock while it waits
	// (found in review: a RESTART waiting 10 s for a reader's snapshot
	// held the write lock, and every write failed SQLITE_BUSY).
	ck, err := sql.Open("sqlite", "file:"+escapePath(path)+pragmas(0, 65536))
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	ck.SetMaxOpenConns(1)
	s.ck, s.ckStop, s.ckDone = ck, make(chan struct{}), make(chan struct{})
	go s.checkpointer(checkpointEvery)
	if s.audit, err = openAuditFiles(path+".audit", false); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := s.moveAuditTable(context.Background()); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := s.audit.recover(context.Background()); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// checkpointEvery is how often the checkpointer copies what the WAL
// holds into the database file; walRestartFrames (256 MiB of 4 KiB
// pages) is the WAL past which it waits for the writer to restart it.
const checkpointEvery = 500 * time.Millisecond

// writerCacheKiB is the writer connection's page cache.
const writerCacheKiB = 8192

var walRestartFrames int64 = 65536 // a variable: tests lower it

// checkpointer runs a passive checkpoint every period on a connection of
// its own: it copies the committed pages no reader still needs into the
// file without taking the write lock, so writers never wait for it, and
// the WAL starts again from its beginning once all of it was copied.
func (s *DB) checkpointer(every time.Duration) {
	defer close(s.ckDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.ckStop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			var busy, log, done int64
			if err := s.ck.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done); err == nil {
				s.ckFrames.Store(done)
			}
			// A passive checkpoint never resets a WAL that writers keep
			// appending to: past walRestartFrames, a restarting one, tried
			// without waiting (it takes the write lock only when free,
			// copies the few frames the passive ones left, and gives up at
			// once if a reader still needs the WAL).
			if log > walRestartFrames {
				s.ck.QueryRowContext(ctx, `PRAGMA wal_checkpoint(RESTART)`).Scan(&busy, &log, &done)
			}
			cancel()
		}
	}
}

// openReadOnly opens a store the process may not write: immutable mode
// reads the file without the WAL's shared-memory file or locks (which
// need write access to the directory). A store that is being written
// by another process at the same time must not be opened this way.
func openReadOnly(path string) (*DB, error) {
	db, err := sql.Open("sqlite", "file:"+escapePath(path)+"?mode=ro&immutable=1&_pragma=query_only(1)")
	if err != nil {
		return nil, fmt.Errorf("open store %s read-only: %w", path, err)
	}
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s read-only: %w", path, err)
	}
	if v != len(migrations) {
		db.Close()
		return nil, fmt.Errorf("open store %s read-only: its schema version is %d and this build needs %d; open it once with write access to upgrade it", path, v, len(migrations))
	}
	// A store written before the audit log moved out of the database
	// still has it in its table: only a writer moves it.
	var inTable int
	if err := db.QueryRow(`SELECT count(*) FROM (SELECT 1 FROM audit LIMIT 1)`).Scan(&inTable); err != nil || inTable != 0 {
		db.Close()
		if err == nil {
			err = errors.New("its audit log is still in the database, where an earlier version kept it; open it once with write access to move it beside the database")
		}
		return nil, fmt.Errorf("open store %s read-only: %w", path, err)
	}
	a, err := openAuditFiles(path+".audit", true)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &DB{w: db, r: db, path: path, readOnly: true, audit: a}, nil
}

func isReadOnlyErr(err error) bool {
	if errors.As(err, new(newerSchemaError)) {
		return false // its text holds this build's version: "(8)" is not SQLite's code 8
	}
	s := err.Error()
	return strings.Contains(s, "SQLITE_READONLY") || strings.Contains(s, "SQLITE_CANTOPEN") || strings.Contains(s, "readonly database") ||
		strings.Contains(s, "(14)") || strings.Contains(s, "(8)")
}

// escapePath makes a file path safe inside a file: URI.
func escapePath(p string) string {
	return (&url.URL{Path: p}).EscapedPath()
}

// newerSchemaError refuses a store written by a newer build.
type newerSchemaError struct{ have, know int }

func (e newerSchemaError) Error() string {
	return fmt.Sprintf("schema version %d is newer than this build knows (%d): use a newer tidewatch", e.have, e.know)
}

// ReadOnly says the store was opened without write access.
func (s *DB) ReadOnly() bool { return s.readOnly }

// SchemaVersion is the number of migrations this build knows.
func SchemaVersion() int { return len(migrations) }

func (s *DB) migrate() error {
	// Two processes may open a new store at once (an ingest and a
	// report): the version is read and the migrations run under one write
	// lock (BEGIN IMMEDIATE), so the second waits and then finds the
	// schema current.
	ctx := context.Background()
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// A current store (the usual case) needs no lock.
	var current int
	if err := conn.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&current); err == nil && current == len(migrations) {
		return nil
	} else if err == nil && current > len(migrations) {
		return newerSchemaError{current, len(migrations)}
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
		return newerSchemaError{v, len(migrations)}
	}
	for i := v; i < len(migrations); i++ {
		m := migrations[i]
		if _, err := conn.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if m.fn != nil {
			if err := m.fn(ctx, conn); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
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
func (s *DB) Close() error {
	if s.audit != nil {
		s.audit.close()
	}
	if s.ck != nil {
		s.ckOnce.Do(func() {
			close(s.ckStop)
			<-s.ckDone
			s.ck.Close()
		})
	}
	err := s.w.Close()
	if s.r != s.w {
		if e := s.r.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Path is the store's file.
func (s *DB) Path() string { return s.path }

// begin starts a write transaction.
func (s *DB) begin(ctx context.Context) (*sql.Tx, error) {
	if s.readOnly {
		return nil, ErrReadOnly
	}
	return s.w.BeginTx(ctx, nil)
}

// exec runs one write statement.
func (s *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s.readOnly {
		return nil, ErrReadOnly
	}
	return s.w.ExecContext(ctx, q, args...)
}

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

// jsonRows runs a read query whose one column is a JSON record and decodes
// each row into a T; what names a record in errors.
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

// jsonRowsParallel is jsonRows with the decoding spread over the
// processors: a list version is read when a server starts, and decoding
// the largest one (OFAC's SDN list, 15,000 entities, 10 MB of JSON) was
// the longest step of the start.
func jsonRowsParallel[T any](ctx context.Context, db *sql.DB, what, query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var raw [][]byte
	for rows.Next() {
		var j []byte
		if err := rows.Scan(&j); err != nil {
			rows.Close()
			return nil, err
		}
		raw = append(raw, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]T, len(raw))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(raw)/256))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(raw); i += workers {
				if err := json.Unmarshal(raw[i], &out[i]); err != nil {
					errs[w] = fmt.Errorf("%s: %w", what, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// jsonRow reads one JSON record (store.ErrNotFound when there is none).
func jsonRow[T any](ctx context.Context, db *sql.DB, what, query string, args ...any) (T, error) {
	var v T
	var j []byte
	err := db.QueryRowContext(ctx, query, args...).Scan(&j)
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(j, &v); err != nil {
		return v, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

// Stats counts what the store holds.
func (s *DB) Stats(ctx context.Context) (store.Stats, error) {
	st := store.Stats{SchemaVersion: len(migrations)}
	if fi, err := os.Stat(s.path); err == nil {
		st.Bytes = fi.Size()
	}
	if fi, err := os.Stat(s.path + "-wal"); err == nil {
		st.Bytes += fi.Size()
	}
	for _, c := range []struct {
		table string
		n     *int64
	}{{"list_versions", &st.ListVersions}, {"list_entities", &st.ListEntities}, {"runs", &st.Runs}, {"chunks", &st.Chunks},
		{"events", &st.Events}, {"identities", &st.Identities}, {"assessments", &st.Assessments}, {"decisions", &st.Decisions},
		{"tenants", &st.Tenants}} {
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM `+c.table).Scan(c.n); err != nil {
			return st, fmt.Errorf("count %s: %w", c.table, err)
		}
	}
	var pts, vessels sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT sum(n), count(DISTINCT mmsi) FROM chunks`).Scan(&pts, &vessels); err != nil {
		return st, err
	}
	st.Points, st.MMSIs = pts.Int64, vessels.Int64
	n, bytes, err := s.audit.count()
	if err != nil {
		return st, err
	}
	st.Audit, st.Bytes = n, st.Bytes+bytes
	return st, nil
}

// Exec runs a statement; tests use it to tamper with the store.
func (s *DB) Exec(query string, args ...any) error {
	_, err := s.w.Exec(query, args...)
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
		{"detector_state", `SELECT h.key, d.part, hex(d.data) FROM detector_state_head h JOIN detector_states d ON d.key = h.key AND d.gen = h.gen ORDER BY h.key, d.part`},
	}
	for _, q := range queries {
		rows, err := s.r.QueryContext(ctx, q.q)
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
