package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/store"
)

func TestSchemaVersions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var v int
	db.db.QueryRow(`PRAGMA user_version`).Scan(&v)
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

// The detectors' checkpoint: stored, replaced, deleted, and written with
// a batch in the same transaction; a store made by the first schema gains
// the table on opening (migration 2).
func TestDetectorState(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(migrations[0]); err != nil {
		t.Fatal(err)
	}
	old.Exec(`PRAGMA user_version = 1`)
	old.Close()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.DetectorState(ctx, "ingest"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty: %v", err)
	}
	if err := db.PutDetectorState(ctx, "ingest", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := db.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: "r"}, State: &store.StateBlob{Key: "ingest", Data: []byte("two")}}); err != nil {
		t.Fatal(err)
	}
	if b, err := db.DetectorState(ctx, "ingest"); err != nil || string(b) != "two" {
		t.Fatalf("after the batch: %q %v", b, err)
	}
	// A batch that fails stores no state either.
	bad := &store.Batch{Run: store.Run{ID: "r"}, Chunks: []store.Chunk{{MMSI: 1}, {MMSI: 1}}, State: &store.StateBlob{Key: "ingest", Data: []byte("three")}}
	if err := db.CommitBatch(ctx, bad); err == nil {
		t.Fatal("duplicate chunk stored")
	}
	if b, _ := db.DetectorState(ctx, "ingest"); string(b) != "two" {
		t.Errorf("a failed batch changed the state: %q", b)
	}
	// Larger than a part: stored in parts, read back whole.
	big := make([]byte, 5*statePart/2)
	for i := range big {
		big[i] = byte(i * 7)
	}
	if err := db.PutDetectorState(ctx, "ingest", big); err != nil {
		t.Fatal(err)
	}
	if b, err := db.DetectorState(ctx, "ingest"); err != nil || string(b) != string(big) {
		t.Fatalf("a state of %d bytes came back as %d: %v", len(big), len(b), err)
	}
	if err := db.PutDetectorState(ctx, "ingest", []byte("small")); err != nil {
		t.Fatal(err)
	}
	if b, err := db.DetectorState(ctx, "ingest"); err != nil || string(b) != "small" {
		t.Fatalf("after a smaller one: %d bytes %v", len(b), err)
	}
	if err := db.PutDetectorState(ctx, "ingest", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DetectorState(ctx, "ingest"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted: %v", err)
	}
}

// A later version of an occurrence (the same ID) replaces the earlier
// one for readers: one event, the last stored.
func TestEventsLatestVersion(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ev := detect.Event{ID: "abc", Kind: detect.KindGap, Status: detect.StatusOpen, Vessels: []detect.Vessel{{MMSI: 7}}, Start: t0, End: t0.Add(7 * time.Hour)}
	closed := ev
	closed.Status, closed.End = detect.StatusClosed, t0.Add(9*time.Hour)
	other := ev
	other.ID, other.Start = "def", t0.Add(time.Hour)
	if err := db.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: "r1"}, Events: []store.StoredEvent{{Seq: 0, Event: ev}, {Seq: 1, Event: other}}}); err != nil {
		t.Fatal(err)
	}
	if err := db.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: "r2"}, Events: []store.StoredEvent{{Seq: 0, Event: closed}}}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Events(ctx, []uint32{7}, t0, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "abc" || got[0].Status != detect.StatusClosed || !got[0].End.Equal(closed.End) || got[1].ID != "def" {
		t.Errorf("events %+v", got)
	}
}
