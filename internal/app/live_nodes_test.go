package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/postgres"
	"github.com/tidewatch/tidewatch/store/postgres/pgtest"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// liveStatus is the status of the one live input a node reports.
func liveStatus(t *testing.T, s *app.Service) app.FeedStatus {
	t.Helper()
	fs, err := s.Feeds(app.LocalPrincipal("test"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 {
		return app.FeedStatus{}
	}
	return fs[0]
}

// waitFor waits up to two minutes for cond.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited two minutes for %s", what)
		}
	}
}

// sortedEvents is a store's events as sorted JSON lines.
func sortedEvents(t *testing.T, st interface {
	QueryEvents(context.Context, store.EventQuery) ([]detect.Event, error)
}) []string {
	t.Helper()
	evs, err := st.QueryEvents(context.Background(), store.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(evs))
	for i, e := range evs {
		b, _ := json.Marshal(e)
		out[i] = string(b)
	}
	sort.Strings(out)
	return out
}

// TestWatchedFolderOnTwoNodes: two servers on one PostgreSQL store watch
// the same folder. One holds it (the folder's lease) and ingests each
// file once; the other waits as a standby, says so in its feed status,
// and takes the folder over when the first stops. The store then holds
// what one process ingesting the two files in turn stores: the same
// events, byte for byte, the same points, chunks, identities and runs.
func TestWatchedFolderOnTwoNodes(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	local := app.LocalPrincipal("test")
	var nodes []*app.Service
	var db *postgres.DB
	for range 2 {
		d, err := postgres.Open(ctx, url+"&pool_max_conns=8", postgres.Options{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		s := app.New(app.Config{Store: d, LiveStandbyEvery: 20 * time.Millisecond})
		t.Cleanup(func() { s.Close(); d.Close() })
		nodes, db = append(nodes, s), d
	}
	a, b := nodes[0], nodes[1]
	files := []string{scenarioFileAfter(t, 0), scenarioFileAfter(t, 1)}

	// The reference: one process ingesting the two files in turn.
	ref, err := sqlite.Open(filepath.Join(t.TempDir(), "ref.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	rs := app.New(app.Config{Store: ref})
	defer rs.Close()
	for _, f := range files {
		in, err := ingest.FileInput(f, func(ctx context.Context) (ais.Source, io.Closer, error) {
			return ais.OpenInput(ctx, f, ais.FeedOptions{})
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rs.Ingest(ctx, local, app.IngestRequest{Inputs: []ingest.Input{in}}); err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	watch := func(s *app.Service) (stop func()) {
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- s.WatchFolder(wctx, local, dir, 20*time.Millisecond) }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("watch: %v", err)
			}
		}
	}
	stopA := watch(a)
	waitFor(t, "A to hold the folder", func() bool { return liveStatus(t, a).State == app.LiveActive })
	stopB := watch(b)
	defer stopB()
	waitFor(t, "B to wait as a standby", func() bool { return liveStatus(t, b).State == app.LiveStandby })

	drop := func(i int) {
		data, err := os.ReadFile(files[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(files[i])+".tmp"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, filepath.Base(files[i])+".tmp"), filepath.Join(dir, filepath.Base(files[i])+"-"+string(rune('a'+i))+".nmea")); err != nil {
			t.Fatal(err)
		}
	}
	drop(0)
	waitFor(t, "A to ingest the first file", func() bool { return liveStatus(t, a).Files == 1 })
	if st := liveStatus(t, b); st.State != app.LiveStandby || st.Files != 0 || st.Failed != 0 {
		t.Errorf("B while A holds the folder: %+v", st)
	}
	if st := liveStatus(t, a); st.Failed != 0 || st.LastError != "" {
		t.Errorf("A: %+v", st)
	}

	// A stops: B takes the folder over and ingests the next file.
	stopA()
	waitFor(t, "B to take the folder over", func() bool { return liveStatus(t, b).State == app.LiveActive })
	drop(1)
	waitFor(t, "B to ingest the second file", func() bool { return liveStatus(t, b).Files == 1 })
	if st := liveStatus(t, b); st.Failed != 0 || st.LastError != "" {
		t.Errorf("B: %+v", st)
	}
	for _, sub := range []string{"ingested", "failed"} {
		es, _ := os.ReadDir(filepath.Join(dir, sub))
		if want := map[string]int{"ingested": 2, "failed": 0}[sub]; len(es) != want {
			t.Errorf("%d files in %s/, want %d", len(es), sub, want)
		}
	}

	got, want := sortedEvents(t, db), sortedEvents(t, ref)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("the two nodes stored %d events, one process %d: not the same", len(got), len(want))
	}
	gs, err := db.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := ref.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if gs.Runs != 2 || gs.Runs != ws.Runs || gs.Points != ws.Points || gs.Chunks != ws.Chunks || gs.Events != ws.Events || gs.Identities != ws.Identities {
		t.Errorf("two nodes: %d runs, %d points in %d chunks, %d event rows, %d identities; one process: %d, %d in %d, %d, %d",
			gs.Runs, gs.Points, gs.Chunks, gs.Events, gs.Identities, ws.Runs, ws.Points, ws.Chunks, ws.Events, ws.Identities)
	}
}

// TestFeedOnTwoNodes: two servers on one PostgreSQL store given the same
// live feed: one connects to it, the other waits as a standby without
// connecting, and connects when the first stops.
func TestFeedOnTwoNodes(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	local := app.LocalPrincipal("test")
	var nodes []*app.Service
	for range 2 {
		d, err := postgres.Open(ctx, url+"&pool_max_conns=8", postgres.Options{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		s := app.New(app.Config{Store: d, LiveStandbyEvery: 20 * time.Millisecond})
		t.Cleanup(func() { s.Close(); d.Close() })
		nodes = append(nodes, s)
	}
	a, b := nodes[0], nodes[1]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conns := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	addr := "tcp://" + ln.Addr().String()
	feed := func(s *app.Service) (stop func()) {
		fctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- s.RunFeed(fctx, local, addr, ais.FeedOptions{Log: io.Discard}, 100*time.Millisecond, time.Millisecond)
		}()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("feed: %v", err)
			}
		}
	}
	stopA := feed(a)
	first := <-conns
	defer first.Close()
	waitFor(t, "A to hold the feed", func() bool { return liveStatus(t, a).State == app.LiveActive })
	stopB := feed(b)
	defer stopB()
	waitFor(t, "B to wait as a standby", func() bool { return liveStatus(t, b).State == app.LiveStandby })
	select {
	case c := <-conns:
		c.Close()
		t.Fatal("the standby connected to the feed")
	default:
	}
	stopA()
	second := <-conns // B, taking the feed over
	defer second.Close()
	waitFor(t, "B to take the feed over", func() bool { return liveStatus(t, b).State == app.LiveActive })
}
