package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/sim"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/postgres"
	"github.com/tidewatch/tidewatch/store/postgres/pgtest"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

func TestSchemaVersions(t *testing.T) {
	url := pgtest.URL(t)
	if _, err := postgres.Open(ctx, url, postgres.Options{}); !errors.Is(err, postgres.ErrNoStore) {
		t.Fatalf("a database without a store, opened without Create: %v", err)
	}
	db := open(t, url)
	var v int
	if err := db.Pool().QueryRow(ctx, `SELECT version FROM tidewatch_schema`).Scan(&v); err != nil || v != postgres.SchemaVersion() {
		t.Errorf("schema version %d (%v), want %d", v, err, postgres.SchemaVersion())
	}
	if err := db.PutRun(ctx, store.Run{ID: "r1"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Reopening, without Create, migrates nothing and keeps the data.
	db, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := db.Run(ctx, "r1"); err != nil || r.ID != "r1" {
		t.Errorf("run lost on reopen: %v", err)
	}
	// A store from a newer build is refused, not guessed at.
	if _, err := db.Pool().Exec(ctx, `UPDATE tidewatch_schema SET version = 99`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := postgres.Open(ctx, url, postgres.Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("newer schema: %v", err)
	}
}

func TestMissingSchema(t *testing.T) {
	u, _ := url.Parse(pgtest.URL(t))
	q := u.Query()
	q.Set("search_path", "tw_no_such_schema")
	u.RawQuery = q.Encode()
	if _, err := postgres.Open(ctx, u.String(), postgres.Options{Create: true}); err == nil || !strings.Contains(err.Error(), "CREATE SCHEMA") {
		t.Errorf("a search_path naming no schema: %v", err)
	}
}

// Nodes starting at once on a new database migrate it once.
func TestConcurrentOpenOfANewStore(t *testing.T) {
	for round := 0; round < 3; round++ {
		url := pgtest.URL(t)
		errs := make(chan error, 4)
		for i := 0; i < 4; i++ {
			go func() {
				db, err := postgres.Open(ctx, url, postgres.Options{Create: true})
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

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://tw:s3cret@db.example:5432/tw?sslmode=require": "postgres://tw:xxxxx@db.example:5432/tw?sslmode=require",
		"postgres:///tw?host=/tmp/x&password=s3cret":              "postgres:///tw?host=%2Ftmp%2Fx&password=xxxxx",
		"postgres://tw@db/tw":                                     "postgres://tw@db/tw",
	} {
		if got := postgres.Redact(in); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCorruptChunkIsReported(t *testing.T) {
	db := open(t, pgtest.URL(t))
	defer db.Close()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var enc store.ChunkEncoder
	enc.Append(store.Point{Time: t0, Lat: 1, Lon: 2})
	if err := db.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: "r"}, Chunks: []store.Chunk{{MMSI: 445000101, Start: t0, End: t0, N: 1, Data: enc.Bytes()}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool().Exec(ctx, `UPDATE chunks SET data = '\x01ff'::bytea`); err != nil {
		t.Fatal(err)
	}
	_, err := db.Track(ctx, 445000101, t0, t0.Add(time.Hour))
	if !errors.Is(err, store.ErrCorruptChunk) || !strings.Contains(err.Error(), "445000101") {
		t.Errorf("corrupt chunk: %v", err)
	}
}

// An ingest lock is PostgreSQL's: a node that loses its connection
// (killed, cut off) loses the lock, and another node can take the run.
func TestIngestLockGoesWithTheConnection(t *testing.T) {
	base := pgtest.URL(t)
	u, _ := url.Parse(base)
	q := u.Query()
	app := fmt.Sprintf("tw-lock-test-%d", time.Now().UnixNano())
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	a, b := open(t, u.String()), open(t, base)
	defer a.Close()
	defer b.Close()
	unlock, err := a.LockIngest(ctx, "run-x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.LockIngest(ctx, "run-x"); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second lock: %v", err)
	}
	// Node a's connections are cut, as when its process dies.
	if _, err := b.Pool().Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, app); err != nil {
		t.Fatal(err)
	}
	var got func() error
	for i := 0; i < 100; i++ {
		if got, err = b.LockIngest(ctx, "run-x"); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("the lock of a dead node is still held: %v", err)
	}
	if err := got(); err != nil {
		t.Error(err)
	}
	unlock() // the dead node's unlock fails or not, but returns
}

func simFile(t testing.TB, sc sim.Scenario) string {
	t.Helper()
	var buf bytes.Buffer
	if err := sim.Run(sc, &buf, nil); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "sim.nmea")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func ingestOptions() ingest.Options {
	land, _ := geo.LoadLand()
	ports, _ := geo.LoadPorts()
	zones, _ := geo.BuiltinZones()
	return ingest.Options{Detect: detect.DefaultConfig, Land: land, Ports: ports, Zones: zones, BatchFixes: 10000}
}

func fileInput(t testing.TB, p string) ingest.Input {
	in, err := ingest.FileInput(p, func(ctx context.Context) (ais.Source, io.Closer, error) {
		return ais.OpenInput(ctx, p, ais.FeedOptions{})
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// failingStore fails its nth CommitBatch, as a process killed in the
// middle of that transaction would leave the store.
type failingStore struct {
	store.Store
	n, calls int
}

var errKilled = errors.New("killed")

func (f *failingStore) CommitBatch(ctx context.Context, b *store.Batch) error {
	f.calls++
	if f.calls == f.n {
		return errKilled
	}
	return f.Store.CommitBatch(ctx, b)
}

// view is what a store answers, through the contract, about everything
// one ingest stored: runs, counts, and per vessel its track, identities,
// coverage and events; events by query and in store order.
func view(t *testing.T, st store.Store, mmsis []uint32) string {
	t.Helper()
	var b strings.Builder
	put := func(what string, v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		j, _ := json.Marshal(v)
		fmt.Fprintf(&b, "%s %s\n", what, j)
	}
	runs, err := st.Runs(ctx)
	put("runs", runs, err)
	s, err := st.Stats(ctx)
	s.Bytes, s.SchemaVersion, s.Tenants = 0, 0, 0
	put("stats", s, err)
	from, to := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, m := range mmsis {
		pts, err := st.Track(ctx, m, from, to)
		put(fmt.Sprint("track ", m), pts, err)
		ids, err := st.IdentityHistory(ctx, store.VesselQuery{MMSI: m})
		put(fmt.Sprint("identities ", m), ids, err)
		cov, err := st.Coverage(ctx, []uint32{m}, from, to)
		put(fmt.Sprint("coverage ", m), cov, err)
		evs, err := st.Events(ctx, []uint32{m}, from, to)
		put(fmt.Sprint("events ", m), evs, err)
	}
	all, err := st.QueryEvents(ctx, store.EventQuery{})
	put("query all", all, err)
	area, err := st.QueryEvents(ctx, store.EventQuery{Area: &store.BBox{South: 30, West: 120, North: 45, East: 135}, Limit: 50})
	put("query area", area, err)
	cur, err := st.EventsAfter(ctx, 0, 0)
	var order []detect.Event
	for _, c := range cur {
		order = append(order, c.Event)
	}
	put("events after", order, err)
	return b.String()
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			cut := func(s string) string {
				if len(s) > 300 {
					return s[:300] + "..."
				}
				return s
			}
			return fmt.Sprintf("line %d:\n sqlite:   %s\n postgres: %s", i, cut(al[i]), cut(bl[i]))
		}
	}
	return fmt.Sprintf("%d lines against %d", len(al), len(bl))
}

// The same ingest into SQLite and into PostgreSQL reads back the same
// through every read of the contract; so does a PostgreSQL ingest
// killed in the middle and run again.
func TestSameAnswersAsSQLite(t *testing.T) {
	url := pgtest.URL(t)
	sc := sim.DefaultScenario
	sc.Duration, sc.Background = 48*time.Hour, 20
	in := fileInput(t, simFile(t, sc))
	opt := ingestOptions()

	lite, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	res, err := ingest.Run(ctx, lite, []ingest.Input{in}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Batches < 5 || res.Run.Events == 0 {
		t.Fatalf("ingest: %+v", res.Run)
	}
	pg := open(t, url)
	defer pg.Close()
	if _, err := ingest.Run(ctx, &failingStore{Store: pg, n: 3}, []ingest.Input{in}, opt); !errors.Is(err, errKilled) {
		t.Fatalf("killed ingest: %v", err)
	}
	res2, err := ingest.Run(ctx, pg, []ingest.Input{in}, opt)
	if err != nil || !res2.Resumed || res2.ResumedBatches != 2 {
		t.Fatalf("resumed ingest: %+v %v", res2, err)
	}
	// Every MMSI the store holds anything of.
	var mmsis []uint32
	rows, err := pg.Pool().Query(ctx, `SELECT mmsi FROM chunks UNION SELECT mmsi FROM identities UNION SELECT mmsi FROM event_vessels ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var m int64
		rows.Scan(&m)
		mmsis = append(mmsis, uint32(m))
	}
	rows.Close()
	if len(mmsis) < 20 {
		t.Fatalf("%d MMSIs", len(mmsis))
	}
	want, got := view(t, lite, mmsis), view(t, pg, mmsis)
	t.Logf("%d batches, %d fixes, %d kept, %d events, %d MMSIs: %d bytes of answers", res.Run.Batches, res.Run.Fixes, res.Run.Kept, res.Run.Events, len(mmsis), len(want))
	if got != want {
		t.Errorf("PostgreSQL answers differently from SQLite: %s", firstDiff(want, got))
	}
	// The same data ingested again as another run (another batch size):
	// reads drop what both runs stored.
	opt2 := opt
	opt2.BatchFixes = 25000
	for _, st := range []store.Store{lite, pg} {
		if _, err := ingest.Run(ctx, st, []ingest.Input{in}, opt2); err != nil {
			t.Fatal(err)
		}
	}
	want2, got2 := view(t, lite, mmsis), view(t, pg, mmsis)
	if got2 != want2 {
		t.Errorf("after a second run, PostgreSQL answers differently from SQLite: %s", firstDiff(want2, got2))
	}
}

// Readers do not wait for a long write: a batch's transaction held open
// does not hold up reads of what is committed.
func TestReadsDoNotWaitForAWrite(t *testing.T) {
	db := open(t, pgtest.URL(t))
	defer db.Close()
	if err := db.PutRun(ctx, store.Run{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `LOCK TABLE chunks, events, runs IN ROW EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE runs SET updated_ms = 1`); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if r, err := db.Run(rctx, "r"); err != nil || r.ID != "r" {
			t.Errorf("read during a write: %+v %v", r, err)
		}
		if _, err := db.Stats(rctx); err != nil {
			t.Errorf("stats during a write: %v", err)
		}
	}()
	wg.Wait()
}

// Approvals on two nodes at once: one wins, the others are told they
// lost (the contract's UpdateDecisionIf).
func TestUpdateDecisionIfAcrossNodes(t *testing.T) {
	url := pgtest.URL(t)
	a, b := open(t, url), open(t, url)
	defer a.Close()
	defer b.Close()
	d := store.Decision{Tenant: "club", Subject: "imo:9100009", IMO: 9100009, Decision: "accept", Status: "pending_approval", Time: time.Now().UTC()}
	if err := a.PutDecision(ctx, d); err != nil {
		t.Fatal(err)
	}
	d.ID = 1
	var mu sync.Mutex
	won, lost := 0, 0
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := a
			if i%2 == 1 {
				st = b
			}
			x := d
			x.Status, x.ApprovedBy = "in_force", fmt.Sprint("approver", i)
			err := st.UpdateDecisionIf(ctx, x, "pending_approval")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, store.ErrConflict):
				lost++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || lost != 7 {
		t.Errorf("%d approvals won, %d lost", won, lost)
	}
	if err := a.UpdateDecisionIf(ctx, store.Decision{Tenant: "club", ID: 9}, "pending_approval"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("no such decision: %v", err)
	}
}

// TestAlertChangesMigration: a store made before alerts had change
// numbers (migration 5 undone) numbers its alerts by id when opened, and
// later writes follow them.
func TestAlertChangesMigration(t *testing.T) {
	url := pgtest.URL(t)
	db := open(t, url)
	for i, tenant := range []string{"club", "club", "other"} {
		a := &store.Alert{Tenant: tenant, Key: fmt.Sprint("k", i), Version: 1, Kind: "event", State: "open"}
		if err := db.PutAlert(ctx, a, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Pool().Exec(ctx, `DROP INDEX alerts_change; ALTER TABLE alerts DROP COLUMN change; DROP SEQUENCE alert_changes; UPDATE tidewatch_schema SET version = 4`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = open(t, url)
	defer db.Close()
	as, err := db.Alerts(ctx, "club", store.AlertFilter{Order: store.AlertsByChange})
	if err != nil || len(as) != 2 || as[0].ID != 1 || as[1].ID != 2 || as[0].Change >= as[1].Change {
		t.Fatalf("after the migration: %+v %v", as, err)
	}
	o, err := db.Alert(ctx, "other", 1)
	if err != nil || o.Change <= 0 {
		t.Fatalf("the other tenant's alert: %+v %v", o, err)
	}
	a := as[0]
	a.State = "acknowledged"
	if err := db.PutAlert(ctx, &a, nil, nil); err != nil || a.Change <= max(as[1].Change, o.Change) {
		t.Errorf("a change after the migration: %d (%v), not after %d and %d", a.Change, err, as[1].Change, o.Change)
	}
}
