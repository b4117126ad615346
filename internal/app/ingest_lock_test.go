package app_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/sim"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// TestConcurrentIngestRefusedPlainly: a second ingest of the same inputs
// while the first writes is refused, in another process, with a conflict
// that says why (not a database's "UNIQUE constraint failed" or
// SQLITE_BUSY); in this process it waits its turn for the detectors'
// state (TestUploadsAtOnceContinueEachOther) and then finds the inputs
// already ingested. The first finishes.
func TestConcurrentIngestRefusedPlainly(t *testing.T) {
	s, st := seeded(t)
	// Another process on the same store: a second open of it (its locks
	// are the file locks another process takes).
	db2, err := sqlite.Open(st.Path())
	if err != nil {
		t.Fatal(err)
	}
	other := app.New(app.Config{Store: db2, Now: func() time.Time { return now }})
	t.Cleanup(func() { other.Close(); db2.Close() })
	gate := make(chan struct{})
	opened := make(chan struct{}, 1)
	nmea := []byte("!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24\n")
	in := ingest.Input{Name: "slow.nmea", ID: "slow-input", Open: func(ctx context.Context) (ais.Source, io.Closer, error) {
		select {
		case opened <- struct{}{}:
		default:
		}
		<-gate
		r, err := ais.NewReader(bytes.NewReader(nmea))
		return r, io.NopCloser(nil), err
	}}
	first := make(chan error, 1)
	go func() {
		_, err := s.Ingest(ctx, local, app.IngestRequest{Inputs: []ingest.Input{in}})
		first <- err
	}()
	<-opened
	_, err = other.Ingest(ctx, local, app.IngestRequest{Inputs: []ingest.Input{in}})
	if app.CodeOf(err) != app.CodeConflict || !strings.Contains(err.Error(), "another ingest") {
		t.Errorf("a second ingest at once in another process: %v", err)
	}
	waiting := make(chan string, 4)
	second := make(chan error, 1)
	var res app.IngestResult
	go func() {
		var err error
		res, err = s.Ingest(ctx, local, app.IngestRequest{Inputs: []ingest.Input{in}, Status: func(n string) { waiting <- n }})
		second <- err
	}()
	if n := <-waiting; !strings.HasPrefix(n, "waiting for the detectors' state") {
		t.Errorf("a second ingest at once in this process: %q", n)
	}
	close(gate)
	if err := <-first; err != nil {
		t.Errorf("the first ingest: %v", err)
	}
	if err := <-second; err != nil || !res.AlreadyDone {
		t.Errorf("the second ingest in this process: %+v %v", res.Result, err)
	}
}

// TestIngestWhileTheStateIsHeld: while another run (a live feed) holds
// the detectors' state, an ingest is read on its own: it neither
// continues nor changes the state; once the state is free, the next run
// continues it.
func TestIngestWhileTheStateIsHeld(t *testing.T) {
	s, st := seeded(t)
	path := scenarioFile(t)
	first, err := ingestFile(s, path)
	if err != nil || first.Detached {
		t.Fatalf("first: %+v %v", first, err)
	}
	before, err := st.DetectorState(ctx, ingest.StateKey)
	if err != nil {
		t.Fatal(err)
	}
	held, err := st.LockIngest(ctx, "detector-state")
	if err != nil {
		t.Fatal(err)
	}
	other := scenarioFileAfter(t, 1)
	res, err := ingestFile(s, other)
	if err != nil || !res.Detached || !res.Run.Done || !strings.HasPrefix(res.StateHeld, "another process") {
		t.Errorf("while held: %+v %q %v", res.Result, res.StateHeld, err)
	}
	after, _ := st.DetectorState(ctx, ingest.StateKey)
	if !bytes.Equal(before, after) {
		t.Error("a run made while the state was held changed it")
	}
	held()
	third, err := ingestFile(s, scenarioFileAfter(t, 2))
	if err != nil || third.Detached {
		t.Errorf("after: %+v %v", third.Result, err)
	}
}

// scenarioFileAfter is the 12-hour scenario moved days later (another
// stretch of the same stream).
func scenarioFileAfter(t *testing.T, days int) string {
	t.Helper()
	sc := sim.DefaultScenario
	sc.Duration, sc.Background, sc.Seed = 12*time.Hour, 8, int64(days)
	sc.Start = sc.Start.Add(time.Duration(days) * 24 * time.Hour)
	var buf bytes.Buffer
	if err := sim.Run(sc, &buf, nil); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "later.nmea")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
