package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

// feedServer is a TCP AIS source: each connection a node makes to it
// comes out of conns.
type feedServer struct {
	addr  string
	conns chan net.Conn
}

func newFeedServer(t *testing.T) *feedServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	fs := &feedServer{addr: "tcp://" + ln.Addr().String(), conns: make(chan net.Conn, 4)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fs.conns <- c
		}
	}()
	return fs
}

// runFeed runs a node's RunFeed of the server's feed until stop.
func (fs *feedServer) runFeed(t *testing.T, s *app.Service) (stop func()) {
	fctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.RunFeed(fctx, app.LocalPrincipal("test"), fs.addr, ais.FeedOptions{Log: io.Discard}, 100*time.Millisecond, time.Millisecond)
	}()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("feed: %v", err)
		}
	}
}

// accept waits up to two minutes for the next connection to the feed.
func (fs *feedServer) accept(t *testing.T, what string) net.Conn {
	t.Helper()
	select {
	case c := <-fs.conns:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(2 * time.Minute):
		t.Fatalf("waited two minutes for %s", what)
		return nil
	}
}

// halves splits a simulated day's NMEA into two parts of whole lines,
// with their line counts.
func halves(t *testing.T) (parts [2][]byte, lines [2]int64) {
	t.Helper()
	data, err := os.ReadFile(scenarioFileAfter(t, 0))
	if err != nil {
		t.Fatal(err)
	}
	all := strings.SplitAfter(string(data), "\n")
	if all[len(all)-1] == "" {
		all = all[:len(all)-1]
	}
	mid := len(all) / 2
	parts[0], parts[1] = []byte(strings.Join(all[:mid], "")), []byte(strings.Join(all[mid:], ""))
	lines[0], lines[1] = int64(mid), int64(len(all)-mid)
	return parts, lines
}

// sendAll writes data to a feed connection and waits until the node
// reading it has read every line.
func sendAll(t *testing.T, c net.Conn, data []byte, lines int64, s *app.Service, who string) {
	t.Helper()
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	waitFor(t, who+" to read the lines sent", func() bool { return liveStatus(t, s).Health.Lines == lines })
}

// TestFeedLeaseLostOnTwoNodes: two servers on one PostgreSQL store given
// the same live feed; the holder's lease connection alone is terminated
// (pg_terminate_backend) while the holder goes on. The holder notices at
// its next lease check: it stops reading (closes its feed connection),
// ends its run, says once in its log that it lost the lease, and waits
// as a standby; the other takes the feed over, continuing the detectors'
// state of the first's run. The store then holds what one process reading
// the feed in two sessions stores: the same events, byte for byte, each
// fix once, two runs, neither read on its own.
func TestFeedLeaseLostOnTwoNodes(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	parts, lines := halves(t)

	// The reference: one process reading the feed in two sessions.
	ref, err := sqlite.Open(filepath.Join(t.TempDir(), "ref.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	rs := app.New(app.Config{Store: ref})
	defer rs.Close()
	rsrv := newFeedServer(t)
	for i := range parts {
		stop := rsrv.runFeed(t, rs)
		sendAll(t, rsrv.accept(t, "the reference to connect"), parts[i], lines[i], rs, "the reference")
		stop()
	}

	var logs syncBuffer
	var nodes []*app.Service
	var db *postgres.DB
	for i := range 2 {
		d, err := postgres.Open(ctx, url+"&pool_max_conns=8", postgres.Options{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		// The check every second, the standby's try every 20 ms: the
		// other node takes the lease long before the holder notices,
		// and finds the holder's run still going.
		cfg := app.Config{Store: d, LiveStandbyEvery: 20 * time.Millisecond, LiveLeaseCheckEvery: time.Second}
		if i == 0 {
			cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		}
		s := app.New(cfg)
		t.Cleanup(func() { s.Close(); d.Close() })
		// The lists stored, the screening index built and the
		// geography loaded now, not when a run starts.
		if _, err := s.EnsureLists(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Designated(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Geography(); err != nil {
			t.Fatal(err)
		}
		nodes, db = append(nodes, s), d
	}
	a, b := nodes[0], nodes[1]
	srv := newFeedServer(t)
	stopA := srv.runFeed(t, a)
	first := srv.accept(t, "A to connect")
	waitFor(t, "A to hold the feed", func() bool { return liveStatus(t, a).State == app.LiveActive })
	stopB := srv.runFeed(t, b)
	waitFor(t, "B to wait as a standby", func() bool { return liveStatus(t, b).State == app.LiveStandby })
	sendAll(t, first, parts[0], lines[0], a, "A")

	// A's lease connection alone ends.
	pid, err := db.LockHolder(ctx, app.FeedKey(srv.addr))
	if err != nil || pid == 0 {
		t.Fatalf("the feed's lease holder: %d %v", pid, err)
	}
	var ok bool
	if err := db.Pool().QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate the lease's connection: %v %v", ok, err)
	}
	// A stops reading: it closes its connection to the feed.
	closed := make(chan struct{})
	go func() { io.Copy(io.Discard, first); close(closed) }()
	waitFor(t, "A to close its feed connection", func() bool {
		select {
		case <-closed:
			return true
		default:
			return false
		}
	})
	waitFor(t, "A to wait as a standby", func() bool { return liveStatus(t, a).State == app.LiveStandby })
	second := srv.accept(t, "B to take the feed over")
	waitFor(t, "B to hold the feed", func() bool { return liveStatus(t, b).State == app.LiveActive })
	sendAll(t, second, parts[1], lines[1], b, "B")
	// B waited for A's run to end before starting its own: no run of
	// B's was refused while A's was still going.
	if st := liveStatus(t, b); st.LastError != "" {
		t.Errorf("B: %+v", st)
	}
	if st := liveStatus(t, a); st.State != app.LiveStandby || st.Health.Lines != 0 {
		t.Errorf("A while B holds the feed: %+v", st)
	}
	select {
	case c := <-srv.conns:
		c.Close()
		t.Error("a third connection to the feed: A took it again while B held it")
	default:
	}
	stopA()
	stopB()

	if n := strings.Count(logs.String(), "lost its lease"); n != 1 {
		t.Errorf("A logged the lost lease %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"live input: lost its lease`) {
		t.Errorf("A's log: %s", logs.String())
	}
	got, want := sortedEvents(t, db), sortedEvents(t, ref)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("the two nodes stored %d events, one process %d: not the same", len(got), len(want))
		for _, e := range got {
			if !slices.Contains(want, e) {
				t.Logf("two nodes only: %s", e)
			}
		}
		for _, e := range want {
			if !slices.Contains(got, e) {
				t.Logf("one process only: %s", e)
			}
		}
	}
	gs, err := db.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := ref.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if gs.Runs != 2 || gs.Runs != ws.Runs || gs.Points != ws.Points || gs.Events != ws.Events || gs.Identities != ws.Identities {
		t.Errorf("two nodes: %d runs, %d points, %d event rows, %d identities; one process: %d, %d, %d, %d",
			gs.Runs, gs.Points, gs.Events, gs.Identities, ws.Runs, ws.Points, ws.Events, ws.Identities)
	}
	t.Logf("two nodes: %d runs, %d points, %d events; one process: %d, %d, %d", gs.Runs, gs.Points, len(got), ws.Runs, ws.Points, len(want))
	runs, err := db.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.Detached || !r.Done {
			t.Errorf("run %s: detached %v, done %v (want B's run to continue A's)", r.ID, r.Detached, r.Done)
		}
	}
}

// TestFolderLeaseLostOnSQLite: two servers on one SQLite store watch the
// same folder. The lease is a flock on a file beside the store, which the
// kernel keeps while the process lives; but the lock file can be removed
// (a cleanup of the store's .locks folder), and the other server then
// locks a new file at the path. The holder notices at its next check,
// warns once and waits as a standby; the other takes the folder over;
// each file is ingested once, as one process ingesting them in turn.
func TestFolderLeaseLostOnSQLite(t *testing.T) {
	ctx := context.Background()
	local := app.LocalPrincipal("test")
	path := filepath.Join(t.TempDir(), "s.db")
	var logs syncBuffer
	var nodes []*app.Service
	var db *sqlite.DB
	for i := range 2 {
		d, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg := app.Config{Store: d, LiveStandbyEvery: 20 * time.Millisecond, LiveLeaseCheckEvery: 20 * time.Millisecond}
		if i == 0 {
			cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		}
		s := app.New(cfg)
		t.Cleanup(func() { s.Close(); d.Close() })
		nodes, db = append(nodes, s), d
	}
	a, b := nodes[0], nodes[1]
	files := []string{scenarioFileAfter(t, 0), scenarioFileAfter(t, 1)}

	ref, err := sqlite.Open(filepath.Join(t.TempDir(), "ref.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	rs := app.New(app.Config{Store: ref})
	defer rs.Close()
	for _, f := range files {
		if _, err := ingestFile(rs, f); err != nil {
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
	drop := func(i int) {
		data, err := os.ReadFile(files[i])
		if err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(dir, "drop.tmp")
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, string(rune('a'+i))+".nmea")); err != nil {
			t.Fatal(err)
		}
	}
	stopA := watch(a)
	waitFor(t, "A to hold the folder", func() bool { return liveStatus(t, a).State == app.LiveActive })
	stopB := watch(b)
	waitFor(t, "B to wait as a standby", func() bool { return liveStatus(t, b).State == app.LiveStandby })
	drop(0)
	waitFor(t, "A to ingest the first file", func() bool { return liveStatus(t, a).Files == 1 })

	if err := os.RemoveAll(path + ".locks"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A to wait as a standby", func() bool { return liveStatus(t, a).State == app.LiveStandby })
	waitFor(t, "B to take the folder over", func() bool { return liveStatus(t, b).State == app.LiveActive })
	drop(1)
	waitFor(t, "B to ingest the second file", func() bool { return liveStatus(t, b).Files == 1 })
	if st := liveStatus(t, a); st.State != app.LiveStandby || st.Files != 1 {
		t.Errorf("A while B holds the folder: %+v", st)
	}
	stopA()
	stopB()
	if n := strings.Count(logs.String(), "lost its lease"); n != 1 {
		t.Errorf("A logged the lost lease %d times, want once:\n%s", n, logs.String())
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
	if gs.Runs != 2 || gs.Runs != ws.Runs || gs.Points != ws.Points || gs.Events != ws.Events || gs.Identities != ws.Identities {
		t.Errorf("two nodes: %d runs, %d points, %d event rows, %d identities; one process: %d, %d, %d, %d",
			gs.Runs, gs.Points, gs.Events, gs.Identities, ws.Runs, ws.Points, ws.Events, ws.Identities)
	}
}

// checkedStore gives leases whose checks answer what the test says: an
// error sent on held is the answer of the next check, and of every check
// after it until nil is sent (so a check made between two sends cannot
// answer "held" and end the episode the test is counting); a lost lease
// is answered once.
type checkedStore struct {
	*sqlite.DB
	held   chan error
	taken  *atomic.Int32
	sticky *stickyErr
}

type stickyErr struct {
	mu  sync.Mutex
	err error
}

func (c checkedStore) LockLease(ctx context.Context, key string) (store.Lease, error) {
	l, err := c.DB.LockLease(ctx, key)
	if err != nil {
		return nil, err
	}
	c.taken.Add(1)
	return checkedLease{l, c.held, c.sticky}, nil
}

type checkedLease struct {
	store.Lease
	held   chan error
	sticky *stickyErr
}

func (l checkedLease) Held(ctx context.Context) error {
	l.sticky.mu.Lock()
	defer l.sticky.mu.Unlock()
	select {
	case err := <-l.held:
		l.sticky.err = err
		if errors.Is(err, store.ErrLeaseLost) {
			l.sticky.err = nil
		}
		if err != nil {
			return err
		}
	default:
		if l.sticky.err != nil {
			return l.sticky.err
		}
	}
	return l.Lease.Held(ctx)
}

// A lease check that cannot tell (the store failing while the lease's
// lock stands) leaves the holder reading, logged once; a check that
// finds the lease lost makes it a standby, logged once, and it takes the
// lease again once free (nobody else wants it here).
func TestLiveLeaseChecks(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	held := make(chan error)
	var taken atomic.Int32
	var logs syncBuffer
	s := app.New(app.Config{Store: checkedStore{st, held, &taken, &stickyErr{}}, Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		LiveStandbyEvery: 5 * time.Millisecond, LiveLeaseCheckEvery: 5 * time.Millisecond})
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.WatchFolder(ctx, app.LocalPrincipal("tester"), t.TempDir(), 5*time.Millisecond) }()
	waitFor(t, "the folder held", func() bool { return liveStatus(t, s).State == app.LiveActive })
	unsure := errors.New("connection reset by peer")
	for range 3 {
		held <- unsure
	}
	held <- nil
	if st := liveStatus(t, s); st.State != app.LiveActive {
		t.Errorf("after checks that could not tell: %+v", st)
	}
	if n := strings.Count(logs.String(), "checking its lease"); n != 1 {
		t.Errorf("a check that cannot tell logged %d times, want once:\n%s", n, logs.String())
	}
	held <- fmt.Errorf("gone: %w", store.ErrLeaseLost)
	// The lease released, nobody else holding it, the node takes it again.
	waitFor(t, "the lease taken again", func() bool { return taken.Load() == 2 })
	waitFor(t, "the folder held again", func() bool { return liveStatus(t, s).State == app.LiveActive })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "lost its lease"); n != 1 {
		t.Errorf("the lost lease logged %d times, want once:\n%s", n, logs.String())
	}
}

// A watched file whose run another ingest is writing (a node that held
// the folder, lost its lease and is ending its run) is not a failed file:
// it is left in the folder and ingested once that run's lock is free.
func TestWatchedFileRunLockedElsewhere(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	other, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var logs syncBuffer
	s := app.New(app.Config{Store: st, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	defer s.Close()
	src := scenarioFileAfter(t, 0)
	in, err := ingest.FileInput(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := other.LockIngest(ctx, ingest.RunID([]ingest.Input{in}, ingest.Options{Detect: detect.DefaultConfig}))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.WatchFolder(wctx, app.LocalPrincipal("test"), dir, 20*time.Millisecond) }()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.nmea"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the file found locked", func() bool { return strings.Contains(logs.String(), "being ingested by another ingest") })
	if _, err := os.Stat(filepath.Join(dir, "a.nmea")); err != nil {
		t.Errorf("the file left in the folder: %v", err)
	}
	if st := liveStatus(t, s); st.Failed != 0 || st.Files != 0 {
		t.Errorf("while its run is locked elsewhere: %+v", st)
	}
	unlock()
	waitFor(t, "the file ingested", func() bool { return liveStatus(t, s).Files == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := liveStatus(t, s); st.Failed != 0 || st.LastError != "" {
		t.Errorf("after: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(dir, "ingested", "a.nmea")); err != nil {
		t.Error(err)
	}
}
