package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/store"
)

var errStep = errors.New("injected failure")

// stagedBatches are three batches of one run, large enough that every
// step is done in several slices (with smallSlices): chunks, events and identity records
// past sliceRows, identity records repeated within and across batches
// (their totals add up), and a checkpoint of three parts replaced by a
// smaller one.
func stagedBatches() []*store.Batch {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var bs []*store.Batch
	for bi := 1; bi <= 3; bi++ {
		b := &store.Batch{Run: store.Run{ID: "r", Inputs: []string{"day.nmea"}, Batches: int64(bi), Fixes: int64(bi * 1000), Done: bi == 3}}
		for i := range 250 {
			start := t0.Add(time.Duration(bi)*time.Hour + time.Duration(i)*time.Second)
			b.Chunks = append(b.Chunks, store.Chunk{MMSI: uint32(440000000 + i%70), Start: start, End: start.Add(time.Minute), N: 2, Fixes: 3,
				Data: []byte(fmt.Sprintf("chunk %d of batch %d", i, bi))})
		}
		for i := range 150 {
			seq := int64(bi*10000 + i)
			b.Events = append(b.Events, store.StoredEvent{Seq: seq, Event: detect.Event{Kind: detect.KindGap,
				Vessels: []detect.Vessel{{MMSI: uint32(440000000 + i)}}, Start: t0.Add(time.Duration(seq) * time.Minute), End: t0.Add(time.Duration(seq+60) * time.Minute), Lat: 38, Lon: 124}})
		}
		for i := range 450 {
			// Values repeat within the batch (i and i+225) and across
			// batches.
			v := i % 225
			b.Identities = append(b.Identities, store.Identity{MMSI: uint32(440000000 + v%90), Field: "name", Value: fmt.Sprintf("SHIP %d", v),
				IMO: uint32(9000000 + bi), First: t0.Add(time.Duration(bi*i) * time.Second), Last: t0.Add(time.Duration(bi*i+bi) * time.Second), Count: int64(bi), Source: "s"})
		}
		switch bi {
		case 1:
			b.State = &store.StateBlob{Key: "ingest", Data: []byte(strings.Repeat("state one ", 250000))} // 2.5 MB: three parts
		case 3:
			b.State = &store.StateBlob{Key: "ingest", Data: []byte("state three")}
		}
		bs = append(bs, b)
	}
	return bs
}

// smallSlices makes the staged writes' slices small for the test.
func smallSlices(t *testing.T) {
	rows, bytes := sliceRows, sliceBytes
	sliceRows, sliceBytes = 64, 64<<10
	t.Cleanup(func() { sliceRows, sliceBytes = rows, bytes })
}

func dumpString(t *testing.T, db *DB) string {
	t.Helper()
	var sb strings.Builder
	err := db.Dump(context.Background(), func(table string, row []any) error {
		fmt.Fprintln(&sb, table, row)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

// TestStagedBatchSurvivesAFailureAtEveryStep fails a batch's write at
// each of its short transactions in turn and writes the batch again, as
// a resumed ingest does: the store ends as a clean write leaves it
// (identity totals added once, the checkpoint in force whole), and a
// failed write never moves the run's progress.
func TestStagedBatchSurvivesAFailureAtEveryStep(t *testing.T) {
	smallSlices(t)
	ctx := context.Background()
	open := func() *DB {
		db, err := Open(filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	clean := open()
	var steps []string
	clean.stepHook = func(step string) error { steps = append(steps, step); return nil }
	for _, b := range stagedBatches() {
		if err := clean.CommitBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	want := dumpString(t, clean)
	if st, err := clean.DetectorState(ctx, "ingest"); err != nil || string(st) != "state three" {
		t.Fatalf("clean state %q %v", st, err)
	}
	// Identity totals add every part once: "SHIP 7" comes twice in each
	// batch, with counts 1, 2 and 3 (2+4+6), and the last IMO given.
	var n, imo, first, last int64
	if err := clean.r.QueryRow(`SELECT count, imo, first_ms, last_ms FROM identities WHERE mmsi = 440000007 AND field = 'name' AND value = 'SHIP 7'`).Scan(&n, &imo, &first, &last); err != nil || n != 12 || imo != 9000003 {
		t.Fatalf("SHIP 7: count %d, imo %d (%v), want 12 and 9000003", n, imo, err)
	}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if first != t0.Add(7*time.Second).UnixMilli() || last != t0.Add(3*232*time.Second+3*time.Second).UnixMilli() {
		t.Errorf("SHIP 7: first %d, last %d", first, last)
	}
	count := map[string]int{}
	for _, s := range steps {
		count[s]++
	}
	for _, s := range []string{"chunks", "events", "identities", "merge", "state", "commit"} {
		if count[s] < 2 {
			t.Fatalf("step %s ran %d times: make the batches larger (%v)", s, count[s], count)
		}
	}
	stride := 1
	if testing.Short() {
		stride = 7
	}
	for k := 1; k <= len(steps); k += stride {
		db := open()
		n := 0
		db.stepHook = func(step string) error {
			if n++; n == k {
				return fmt.Errorf("%s: %w", step, errStep)
			}
			return nil
		}
		for _, b := range stagedBatches() {
			before, _ := db.Run(ctx, "r")
			err := db.CommitBatch(ctx, b)
			if errors.Is(err, errStep) {
				if after, _ := db.Run(ctx, "r"); after.Batches != before.Batches {
					t.Fatalf("failure at step %d (%s): the run moved from batch %d to %d", k, steps[k-1], before.Batches, after.Batches)
				}
				err = db.CommitBatch(ctx, b)
			}
			if err != nil {
				t.Fatalf("failure at step %d (%s), batch %d written again: %v", k, steps[k-1], b.Run.Batches, err)
			}
		}
		if got := dumpString(t, db); got != want {
			t.Fatalf("after a failure at step %d of %d (%s) the store differs from a clean write's", k, len(steps), steps[k-1])
		}
		// A failure while deleting what the batch replaced leaves it to
		// the next write of the checkpoint.
		if err := db.PutDetectorState(ctx, "ingest", []byte("state three")); err != nil {
			t.Fatal(err)
		}
		var left int
		db.r.QueryRow(`SELECT count(*) FROM detector_states WHERE key = 'ingest'`).Scan(&left)
		if left != 1 {
			t.Errorf("failure at step %d (%s), then one more write: %d checkpoint parts kept, want the one in force", k, steps[k-1], left)
		}
	}
	t.Logf("%d steps (%v), each failed once and written again", len(steps), count)
}

// A screening's answer waits for its audit record: the record is
// appended beside the database, so it never waits for the database's
// writer, even while a long ingest batch holds it (before the log moved
// out of the database it waited for the step under way).
func TestAuditAppendNeverWaitsForTheWriter(t *testing.T) {
	smallSlices(t)
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var steps int
	db.stepHook = func(step string) error {
		steps++
		if steps != 1 {
			return nil
		}
		// Inside the first step's transaction, which holds the writer.
		appended := make(chan error, 1)
		go func() {
			appended <- db.AppendAudit(ctx, []store.AuditRecord{{Tenant: "t", Seq: 1, Time: time.Now(), Actor: "a", Action: "screen", Subject: "s", Data: []byte(`{}`), Hash: "h"}})
		}()
		select {
		case err := <-appended:
			return err
		case <-time.After(20 * time.Second):
			return errors.New("the audit append waited for the writer")
		}
	}
	for _, b := range stagedBatches()[:1] {
		if err := db.CommitBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if tail, err := db.AuditTail(ctx, "t"); err != nil || tail.Seq != 1 {
		t.Fatalf("tail %+v %v", tail, err)
	}
	t.Logf("audit record appended inside step 1 of %d", steps)
}

// TestMigration9KeepsTheCheckpoint: a checkpoint stored before the
// staged writes (schema 8) is read, replaced and deleted after.
func TestMigration9KeepsTheCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.Exec(downgradeTo8 + `INSERT INTO detector_state VALUES('ingest', 0, X'6f6c64', 0), ('ingest', 1, X'207374617465', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if st, err := db.DetectorState(ctx, "ingest"); err != nil || string(st) != "old state" {
		t.Fatalf("after the migration: %q %v", st, err)
	}
	if err := db.PutDetectorState(ctx, "ingest", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if st, err := db.DetectorState(ctx, "ingest"); err != nil || string(st) != "new" {
		t.Fatalf("replaced: %q %v", st, err)
	}
	if err := db.PutDetectorState(ctx, "ingest", nil); err != nil {
		t.Fatal(err)
	}
	var rows int
	db.r.QueryRow(`SELECT count(*) FROM detector_states`).Scan(&rows)
	if _, err := db.DetectorState(ctx, "ingest"); !errors.Is(err, store.ErrNotFound) || rows != 0 {
		t.Fatalf("deleted: %v, %d parts left", err, rows)
	}
}

// TestCheckpointsInTheBackground: no commit checkpoints (the writer's
// wal_autocheckpoint is 0); the store's checkpointer copies the WAL into
// the file on its own.
func TestCheckpointsInTheBackground(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var auto int
	if err := db.w.QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("the writer's wal_autocheckpoint is %d (%v), want 0", auto, err)
	}
	if err := db.PutDetectorState(ctx, "ingest", make([]byte, 8<<20)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for db.ckFrames.Load() < 2048 { // 8 MB of 4 KiB pages
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s the checkpointer had copied %d frames", db.ckFrames.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Size() < 8<<20 {
		t.Fatalf("the file holds %d bytes after the checkpoint (%v)", fi.Size(), err)
	}
}

// TestRestartNeverShutsWritersOut: with the WAL past the restart size and
// a reader holding an old snapshot (a backup, a long export), writes go
// on: the checkpointer's restart gives up at once instead of holding the
// write lock while it waits for the reader (found in review: every write
// failed SQLITE_BUSY after 10 s).
func TestRestartNeverShutsWritersOut(t *testing.T) {
	old := walRestartFrames
	walRestartFrames = 10
	t.Cleanup(func() { walRestartFrames = old })
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PutDetectorState(ctx, "k", make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	tx, err := db.r.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM detector_states`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	// Writes across several checkpointer ticks, the reader still open.
	for i := range 8 {
		if err := db.PutRun(ctx, store.Run{ID: fmt.Sprintf("r%d", i)}); err != nil {
			t.Fatalf("write %d while a reader holds a snapshot: %v", i, err)
		}
		if err := db.PutDetectorState(ctx, "k", make([]byte, 64<<10)); err != nil {
			t.Fatalf("state %d while a reader holds a snapshot: %v", i, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestBatchWrittenTwiceIsRefused: a batch the run's progress already
// counts is refused, not added again (found in review: two writers of one
// run, as when a worker lost its lock, added its identity values twice).
func TestBatchWrittenTwiceIsRefused(t *testing.T) {
	smallSlices(t)
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bs := stagedBatches()
	for _, b := range bs {
		if err := db.CommitBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	want := dumpString(t, db)
	if err := db.CommitBatch(ctx, stagedBatches()[1]); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("batch 2 written again: %v, want a conflict", err)
	}
	if got := dumpString(t, db); got != want {
		t.Error("batch 2 written again changed the store")
	}
}

// TestCheckpointWritersDoNotTear: two writers of one checkpoint key at
// once (found in review: one deleted the other's staged parts as not in
// force, then the other put them in force: the checkpoint was gone). The
// head never names a generation missing a part.
func TestCheckpointWritersDoNotTear(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	gen, parts, err := db.stageState(ctx, "k", []byte(strings.Repeat("a", 3<<20)))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutDetectorState(ctx, "k", []byte("b")); err != nil {
		t.Fatal(err)
	}
	err = db.step(ctx, "commit", func(tx *sql.Tx) error { return setStateHead(ctx, tx, "k", gen, parts, true) })
	if st, rerr := db.DetectorState(ctx, "k"); rerr != nil || string(st) != "b" {
		t.Fatalf("after the interleaving (head move: %v): %q %v, want the other writer's", err, st, rerr)
	}
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("moving the head to a generation another writer removed: %v, want a conflict", err)
	}
}

// TestStagedRowsOfADoneRunGo: a failure after a run's last batch
// committed, before its staged rows were deleted, leaves them; the next
// batch of any run deletes them (they were kept for ever: no later batch
// of that run comes).
func TestStagedRowsOfADoneRunGo(t *testing.T) {
	smallSlices(t)
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bs := stagedBatches()
	commits := 0
	db.stepHook = func(step string) error {
		if step == "commit" {
			commits++
		}
		if commits == 3 && step == "stage" {
			return errStep // the cleanup after the last batch's commit
		}
		return nil
	}
	for _, b := range bs {
		if err := db.CommitBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	db.stepHook = nil
	left := func() (n int) {
		db.r.QueryRow(`SELECT count(*) FROM identity_stage`).Scan(&n)
		return n
	}
	if left() == 0 {
		t.Fatal("the injected failure left no staged rows: the test no longer tests")
	}
	other := &store.Batch{Run: store.Run{ID: "other", Batches: 1}}
	if err := db.CommitBatch(ctx, other); err != nil {
		t.Fatal(err)
	}
	if n := left(); n != 0 {
		t.Errorf("%d staged rows of the done run kept", n)
	}
}

// TestWriterCacheIsSmall: the writer's page cache is writerCacheKiB, the
// readers' stays 64 MiB (a write paid for fresh cache memory while a
// 64 MiB cache filled: BenchmarkAppendAudit, docs/benchmarks.md).
func TestWriterCacheIsSmall(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var w, r int
	if err := db.w.QueryRow(`PRAGMA cache_size`).Scan(&w); err != nil {
		t.Fatal(err)
	}
	if err := db.r.QueryRow(`PRAGMA cache_size`).Scan(&r); err != nil {
		t.Fatal(err)
	}
	if w != -writerCacheKiB || r != -65536 {
		t.Fatalf("cache_size: writer %d, readers %d; want %d and -65536", w, r, -writerCacheKiB)
	}
}
