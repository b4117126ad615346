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
)

// TestConcurrentIngestRefusedPlainly: a second ingest of the same inputs
// while the first writes is refused with a conflict that says why (not
// a database's "UNIQUE constraint failed" or SQLITE_BUSY), and the first
// finishes.
func TestConcurrentIngestRefusedPlainly(t *testing.T) {
	s, _ := seeded(t)
	gate := make(chan struct{})
	opened := make(chan struct{}, 1)
	nmea := []byte("!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24\n")
	in := ingest.Input{Name: "slow.nmea", ID: "slow-input", Open: func(ctx context.Context) (ais.Source, io.Closer, error) {
		opened <- struct{}{}
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
	_, err := s.Ingest(ctx, local, app.IngestRequest{Inputs: []ingest.Input{in}})
	if app.CodeOf(err) != app.CodeConflict || !strings.Contains(err.Error(), "another ingest") {
		t.Errorf("a second ingest at once: %v", err)
	}
	close(gate)
	if err := <-first; err != nil {
		t.Errorf("the first ingest: %v", err)
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
	if err != nil || !res.Detached || !res.Run.Done {
		t.Errorf("while held: %+v %v", res.Result, err)
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
