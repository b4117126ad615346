package app_test

import (
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/store"
)

// TestMonitorStopsWhenItsLeaseIsLost: a monitor pass that finds its
// lease lost (on PostgreSQL its lock's connection ended, and another node
// may hold it now) writes nothing more: no alert, no status, no cursor.
// The ingest or list import that ran the pass still succeeds, and the
// next pass, under a lease held, raises the alerts it left.
func TestMonitorStopsWhenItsLeaseIsLost(t *testing.T) {
	st, err := sqliteOpen(t)
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan error, 1)
	var taken atomic.Int32
	var logs syncBuffer
	s := app.New(app.Config{Store: checkedStore{st, held, &taken, &stickyErr{}}, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	defer s.Close()
	lost := fmt.Errorf("its connection ended: %w", store.ErrLeaseLost)
	if _, err := s.ImportLists(ctx, local, app.ImportRequest{Files: []sanctions.File{ftmList("2026-01-01", false)}, MinRatio: -1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePortfolio(ctx, local, "fleet", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddVessels(ctx, local, "fleet", []app.VesselEntry{
		{ID: "koti", IMO: "9417115", Name: "KOTI"},
		{ID: "dprk", MMSI: "445000101"},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ScreenNewEvents(ctx); err != nil { // the cursor starts here
		t.Fatal(err)
	}
	alerts := func() []store.Alert {
		as, err := s.Alerts(ctx, local, store.AlertFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return as
	}

	// Events: the pass the ingest runs finds its lease lost.
	held <- lost
	res, err := ingestFile(s, demoScenarioFile(t))
	if err != nil {
		t.Fatalf("the ingest failed with the monitor's lost lease: %v", err)
	}
	if res.Monitor != nil || len(held) != 0 {
		t.Errorf("the ingest's pass: %+v (the lost lease unread: %v)", res.Monitor, len(held) != 0)
	}
	if as := alerts(); len(as) != 0 {
		t.Fatalf("%d alerts raised by a pass that had lost its lease", len(as))
	}
	m, err := s.ScreenNewEvents(ctx)
	if err != nil || m.Alerts == 0 {
		t.Fatalf("the next pass: %+v %v", m, err)
	}
	events := len(alerts())

	// Lists: the pass the import runs finds its lease lost.
	held <- lost
	imp, err := s.ImportLists(ctx, local, app.ImportRequest{Files: []sanctions.File{ftmList("2026-02-01", true)}, MinRatio: -1})
	if err != nil {
		t.Fatalf("the import failed with the monitor's lost lease: %v", err)
	}
	if imp.Monitor != nil {
		t.Errorf("the import's pass: %+v", imp.Monitor)
	}
	if n := len(alerts()); n != events {
		t.Fatalf("%d alerts raised by a list pass that had lost its lease", n-events)
	}
	l, err := s.ScreenListChanges(ctx)
	if err != nil || l.Alerts != 1 {
		t.Fatalf("the next list pass: %+v %v", l, err)
	}
	if n := len(alerts()); n != events+1 {
		t.Errorf("%d alerts after the list pass, want %d", n, events+1)
	}

	if n := strings.Count(logs.String(), "lease is lost"); n != 2 {
		t.Errorf("the two stopped passes logged %d times, want twice:\n%s", n, logs.String())
	}
	if taken.Load() < 6 {
		t.Errorf("%d leases taken: the passes did not take checkable leases", taken.Load())
	}
}
