package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/sanctions/snapshot"
	"github.com/tidewatch/tidewatch/sim"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// faultStore fails the store's failAt-th write of a kind, as a full disk
// or a killed process would at that commit.
type faultStore struct {
	*sqlite.DB
	commits, puts int
	failAt        int
	kind          string // "commit" or "lists"
}

var errInjected = errors.New("injected fault: disk full")

func (f *faultStore) CommitBatch(ctx context.Context, b *store.Batch) error {
	f.commits++
	if f.kind == "commit" && f.commits == f.failAt {
		return errInjected
	}
	return f.DB.CommitBatch(ctx, b)
}

func (f *faultStore) PutListVersions(ctx context.Context, vs []store.ListVersion) (int, error) {
	f.puts++
	if f.kind == "lists" && f.puts == f.failAt {
		return 0, errInjected
	}
	return f.DB.PutListVersions(ctx, vs)
}

func dumpOf(t *testing.T, db *sqlite.DB) string {
	t.Helper()
	var b strings.Builder
	if err := db.Dump(ctx, func(table string, row []any) error {
		fmt.Fprintln(&b, table, row)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func scenarioFile(t *testing.T) string {
	t.Helper()
	sc := sim.DefaultScenario
	sc.Duration, sc.Background = 12*time.Hour, 8
	var buf bytes.Buffer
	if err := sim.Run(sc, &buf, nil); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "scenario.nmea")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func ingestFile(s *app.Service, path string) (app.IngestResult, error) {
	in, err := ingest.FileInput(path, func(ctx context.Context) (ais.Source, io.Closer, error) {
		return ais.OpenInput(ctx, path, ais.FeedOptions{})
	})
	if err != nil {
		return app.IngestResult{}, err
	}
	return s.Ingest(ctx, local, app.IngestRequest{Inputs: []ingest.Input{in}, BatchFixes: 2000})
}

// The store fails at every commit of an ingest in turn; each time, the
// rerun completes the run and the store holds exactly what a clean run
// writes: nothing lost, nothing twice.
func TestIngestSurvivesAFaultAtEveryCommit(t *testing.T) {
	path := scenarioFile(t)
	open := func(kind string, failAt int) (*app.Service, *faultStore) {
		db, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		fs := &faultStore{DB: db, kind: kind, failAt: failAt}
		s := app.New(app.Config{Store: fs, Now: func() time.Time { return now }})
		t.Cleanup(func() { s.Close(); db.Close() })
		return s, fs
	}
	clean, cfs := open("", 0)
	res, err := ingestFile(clean, path)
	if err != nil || !res.Run.Done {
		t.Fatalf("clean ingest: %+v %v", res.Run, err)
	}
	want := dumpOf(t, cfs.DB)
	commits := cfs.commits
	if commits < 3 {
		t.Fatalf("only %d commits: make the scenario longer", commits)
	}
	step := 1
	if testing.Short() {
		step = max(1, commits/3)
	}
	for n := 1; n <= commits; n += step {
		s, fs := open("commit", n)
		if _, err := ingestFile(s, path); !errors.Is(err, errInjected) {
			t.Fatalf("fault at commit %d of %d: %v", n, commits, err)
		}
		fs.kind = ""
		res, err := ingestFile(s, path)
		if err != nil || !res.Run.Done {
			t.Fatalf("rerun after a fault at commit %d: %+v %v", n, res.Run, err)
		}
		if got := dumpOf(t, fs.DB); got != want {
			t.Errorf("after a fault at commit %d of %d the store differs from a clean run's", n, commits)
		}
	}
	t.Logf("%d commits, each failed once and recovered", commits)
}

// A list import that fails when it is stored leaves nothing half done:
// no version, the failure in the import log, and a second attempt stores
// everything.
func TestListImportSurvivesAFault(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fs := &faultStore{DB: db, kind: "lists", failAt: 1}
	s := app.New(app.Config{Store: fs, Now: func() time.Time { return now }})
	defer s.Close()
	req := app.ImportRequest{Files: snapshot.Files(), Source: "snapshot", MinRatio: -1}
	if _, err := s.ImportLists(ctx, local, req); !errors.Is(err, errInjected) {
		t.Fatalf("import with a failing store: %v", err)
	}
	if vs, _ := db.ListVersions(ctx); len(vs) != 0 {
		t.Errorf("a failed import left %d versions", len(vs))
	}
	log, _ := db.ListImports(ctx, "")
	if len(log) != 7 || log[0].Outcome != app.OutcomeFailed || !strings.Contains(log[0].Reason, "disk full") {
		t.Errorf("import log after the fault: %+v", log)
	}
	res, err := s.ImportLists(ctx, local, req)
	if err != nil || res.Failed() != 0 {
		t.Fatalf("second attempt: %+v %v", res, err)
	}
	if vs, _ := db.ListVersions(ctx); len(vs) != 7 {
		t.Errorf("%d versions after the second attempt", len(vs))
	}
}
