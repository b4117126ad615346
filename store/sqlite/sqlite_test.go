package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/storetest"
)

func TestSchemaVersions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var v int
	db.w.QueryRow(`PRAGMA user_version`).Scan(&v)
	if v != SchemaVersion() {
		t.Errorf("schema version %d, want %d", v, SchemaVersion())
	}
	// Reopening migrates nothing and keeps the data.
	db.PutRun(context.Background(), store.Run{ID: "r1"})
	db.Close()
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := db.Run(context.Background(), "r1"); err != nil || r.ID != "r1" {
		t.Errorf("run lost on reopen: %v", err)
	}
	if _, err := db.Run(context.Background(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing run: %v", err)
	}
	// A store from a newer build is refused, not guessed at.
	db.Exec(`PRAGMA user_version = 99`)
	db.Close()
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("newer schema: %v", err)
	}
}

func TestCorruptChunkIsReported(t *testing.T) {
	db, _, t0 := yearStore(t, 0)
	if err := db.Exec(`UPDATE chunks SET data = x'01ff' WHERE start_ms = (SELECT min(start_ms) FROM chunks)`); err != nil {
		t.Fatal(err)
	}
	_, err := db.Track(context.Background(), 445000101, t0, t0.AddDate(1, 0, 0))
	if !errors.Is(err, store.ErrCorruptChunk) || !strings.Contains(err.Error(), "445000101") {
		t.Errorf("corrupt chunk: %v", err)
	}
}

// Processes opening a new store at the same moment must not both create
// its tables.
func TestConcurrentOpenOfANewStore(t *testing.T) {
	for round := 0; round < 5; round++ {
		path := filepath.Join(t.TempDir(), "s.db")
		errs := make(chan error, 4)
		for i := 0; i < 4; i++ {
			go func() {
				db, err := Open(path)
				if err == nil {
					db.Close()
				}
				errs <- err
			}()
		}
		for i := 0; i < 4; i++ {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}

// The SQLite store passes the store conformance suite.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := Open(filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

// Two handles on one SQLite file (two processes on one machine: a
// server and a CLI command) pass the suite of several nodes.
func TestConformanceNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T) (store.Store, store.Store) {
		path := filepath.Join(t.TempDir(), "s.db")
		a, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	})
}

// TestAlertChangesMigration: a store made before alerts had change
// numbers (version 7) numbers its alerts by id when opened, and later
// writes follow them.
func TestAlertChangesMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"k1", "k2"} {
		if err := db.PutAlert(ctx, &store.Alert{Tenant: "club", Key: key, Version: 1, Kind: "event", State: "open"}, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.w.Exec(downgradeTo8 + `DROP INDEX alerts_change; ALTER TABLE alerts DROP COLUMN change; PRAGMA user_version = 7`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	as, err := db.Alerts(ctx, "club", store.AlertFilter{Order: store.AlertsByChange})
	if err != nil || len(as) != 2 || as[0].ID != 1 || as[0].Change != 1 || as[1].Change != 2 {
		t.Fatalf("after the migration: %+v %v", as, err)
	}
	a := as[0]
	a.State = "acknowledged"
	if err := db.PutAlert(ctx, &a, nil, nil); err != nil || a.Change != 3 {
		t.Errorf("a change after the migration: %d (%v)", a.Change, err)
	}
}

// downgradeTo8 undoes migration 9 (tests of earlier migrations).
const downgradeTo8 = `DROP TABLE detector_states; DROP TABLE detector_state_head; DROP TABLE identity_stage; ALTER TABLE chunks DROP COLUMN batch;
	CREATE TABLE detector_state(key TEXT NOT NULL, part INTEGER NOT NULL, data BLOB NOT NULL, updated_ms INTEGER NOT NULL, PRIMARY KEY(key, part)) WITHOUT ROWID;
	PRAGMA user_version = 8;`
