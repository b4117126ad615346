package pipeline_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/internal/pipeline"
	"github.com/tidewatch/tidewatch/sim"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/postgres"
	"github.com/tidewatch/tidewatch/store/postgres/pgtest"
	"github.com/tidewatch/tidewatch/store/sqlite"
	"github.com/tidewatch/tidewatch/track"
)

// fixture is the simulated set every test publishes, and what one
// process makes of it.
type fixture struct {
	nmea   []byte
	want   []string // detect's events, sorted JSON
	fixes  int64    // positions one engine uses (Observe)
	mmsis  []uint32
	geo    ingest.Options
	events int
}

var (
	fixOnce sync.Once
	fix     fixture
)

// theFixture: 100 background ships and every planted case over 36 hours
// (planted encounters, dark periods, an IMO on two MMSIs, identity
// changes), run through `detect` in one process.
func theFixture(t testing.TB) *fixture {
	t.Helper()
	fixOnce.Do(func() {
		sc := sim.DefaultScenario
		sc.Background, sc.Duration, sc.Interval, sc.Seed = 100, 36*time.Hour, 3*time.Minute, 11
		var nmea bytes.Buffer
		if err := sim.Run(sc, &nmea, io.Discard); err != nil {
			panic(err)
		}
		fix = fixtureOf(nmea.Bytes())
	})
	if fix.events == 0 {
		t.Fatal("the fixture has no events")
	}
	return &fix
}

// fixtureOf is what one process (`detect`) makes of the NMEA.
func fixtureOf(nmea []byte) fixture {
	var fix fixture
	land, _ := geo.LoadLand()
	ports, _ := geo.LoadPorts()
	zones, _ := geo.BuiltinZones()
	fix.nmea = nmea
	fix.geo = ingest.Options{Detect: detect.DefaultConfig, Land: land, Ports: ports, Zones: zones, BatchFixes: 20000}
	var evs []detect.Event
	seen := map[uint32]bool{}
	eng := detect.NewEngine(detect.DefaultConfig, land, ports, zones, func(e detect.Event) { evs = append(evs, e) })
	eng.Observe = func(f track.Fix, seg int) {
		if seg >= 0 {
			fix.fixes++
		}
		if !seen[f.MMSI] {
			seen[f.MMSI] = true
			fix.mmsis = append(fix.mmsis, f.MMSI)
		}
	}
	r, _ := ais.NewReader(bytes.NewReader(fix.nmea))
	if _, _, err := detect.FeedAIS(eng, r); err != io.EOF {
		panic(err)
	}
	eng.Flush()
	fix.want = sortedJSON(evs)
	fix.events = len(evs)
	return fix
}

func sortedJSON(evs []detect.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		b, _ := json.Marshal(e)
		out[i] = string(b)
	}
	sort.Strings(out)
	return out
}

type testStore interface {
	store.IngestStore
	store.VesselStore
	Close() error
}

// stores are the stores the tests run against: SQLite, and PostgreSQL
// when TIDEWATCH_TEST_POSTGRES names a server (skipped otherwise, as the
// store's own tests are).
var stores = []struct {
	name string
	open func(t *testing.T) testStore
}{
	{"sqlite", func(t *testing.T) testStore {
		db, err := sqlite.Open(filepath.Join(t.TempDir(), "tw.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}},
	{"postgres", func(t *testing.T) testStore {
		// Each worker holds a connection for its partition's lock: room
		// for four workers and their commits.
		db, err := postgres.Open(context.Background(), pgtest.URL(t)+"&pool_max_conns=12", postgres.Options{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}},
}

// A cluster's NATS server starts on a port the system chooses (-1), and
// comes back on that same port when restarted. (Test binaries run at once
// used to pick the same port from a fixed range, and the second server's
// listener failed: it never became ready.)

type cluster struct {
	t      *testing.T
	srv    *pipeline.Embedded
	dir    string
	port   int
	st     testStore
	n      int
	opts   ingest.Options
	block  int
	runMax int
	// fix is what is published (default theFixture); csv publishes it as
	// a decoded CSV export (PublishCSV).
	fix *fixture
	csv bool
	// stageLog, when set, is the stage workers' log (default the test's).
	stageLog io.Writer
}

func newCluster(t *testing.T, st testStore, n int) *cluster {
	c := &cluster{t: t, dir: t.TempDir(), port: -1, st: st, n: n, opts: theFixture(t).geo, block: 32 << 10, runMax: 1 << 20, fix: theFixture(t)}
	c.start()
	return c
}

func (c *cluster) start() {
	srv, err := pipeline.StartEmbedded(c.dir, "127.0.0.1", c.port)
	if err != nil {
		c.t.Fatal(err)
	}
	c.port = srv.Server.Addr().(*net.TCPAddr).Port
	c.srv = srv
	c.t.Cleanup(srv.Close)
}

// publish puts the fixture on the stream, then the flush mark.
func (c *cluster) publish() {
	p, done := c.publishFixture()
	defer done()
	if err := p.PublishFlush(context.Background(), "fixture"); err != nil {
		c.t.Fatal(err)
	}
}

// publishFixture puts the fixture on the stream, and returns the
// publisher (for a flush mark later) and what closes its connection.
func (c *cluster) publishFixture() (*pipeline.Publisher, func()) {
	t := c.t
	nc, js, err := pipeline.Connect(c.srv.URL(), "test-publisher")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := pipeline.EnsureStream(ctx, js, "", pipeline.Limits{}); err != nil {
		nc.Close()
		t.Fatal(err)
	}
	p := &pipeline.Publisher{JS: js, BlockBytes: c.block}
	var st pipeline.PublishStats
	if c.csv {
		// As publish and serve --nats do: a file (gzipped here), told
		// from NMEA by its header.
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(c.fix.nmea)
		zw.Close()
		path := filepath.Join(t.TempDir(), "fixture.csv.gz")
		if err := os.WriteFile(path, gz.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		st, err = p.PublishFile(ctx, path, "fixture")
	} else {
		st, err = p.Publish(ctx, "fixture", "sim", bytes.NewReader(c.fix.nmea))
	}
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	if st.Messages < 20 {
		nc.Close()
		t.Fatalf("published %d messages: too few to cut runs", st.Messages)
	}
	return p, nc.Close
}

// worker runs partition i until ctx ends; flushed is closed when it has
// stored the run ending at the flush mark.
type running struct {
	cancel  context.CancelFunc
	done    chan error
	flushed chan struct{}
	exited  chan struct{} // closed when the worker's goroutine ends
	runs    []pipeline.RunInfo
	mu      sync.Mutex
	once    sync.Once
}

// whenStored starts a worker (start, given opts with a progress hook)
// and runs fn once, the first time that worker has stored n runs.
func whenStored(opts ingest.Options, n int, fn func(), start func(ingest.Options) *running) *running {
	var mu sync.Mutex
	var once sync.Once
	var w *running
	opts.Progress = func(ingest.Progress) {
		mu.Lock()
		r := w
		mu.Unlock()
		if r == nil {
			return
		}
		r.mu.Lock()
		k := len(r.runs)
		r.mu.Unlock()
		if k == n {
			once.Do(fn)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	w = start(opts)
	return w
}

// restartNATS stops the cluster's NATS server and starts it again on
// the same store directory.
func (c *cluster) restartNATS() {
	c.srv.Close()
	time.Sleep(300 * time.Millisecond)
	c.start()
}

func newRunning(cancel context.CancelFunc) *running {
	return &running{cancel: cancel, done: make(chan error, 1), flushed: make(chan struct{}), exited: make(chan struct{})}
}

// onRun records a run the worker stored, and closes flushed at the run
// ending at the flush mark.
func (r *running) onRun(ri pipeline.RunInfo) {
	r.mu.Lock()
	r.runs = append(r.runs, ri)
	r.mu.Unlock()
	if ri.Flush {
		r.once.Do(func() { close(r.flushed) })
	}
}

func (c *cluster) worker(i int, opts ingest.Options, configure ...func(*pipeline.Worker)) *running {
	t := c.t
	nc, js, err := pipeline.Connect(c.srv.URL(), fmt.Sprintf("test-worker-%d", i))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := newRunning(cancel)
	w := &pipeline.Worker{JS: js, Part: detect.Partition{Index: i, Count: c.n}, Store: c.st, Options: opts,
		RunBytes: c.runMax, Idle: 200 * time.Millisecond, Log: testLog{t}, OnRun: r.onRun}
	for _, f := range configure {
		f(w)
	}
	go func() {
		err := w.Run(ctx)
		nc.Close()
		r.done <- err
		close(r.exited)
	}()
	r.cleanup(t)
	return r
}

// cleanup stops the worker at the end of the test, if it runs still (a
// test that failed): it must not log after the test.
func (r *running) cleanup(t *testing.T) {
	t.Cleanup(func() {
		r.cancel()
		<-r.exited
	})
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) { l.t.Log(string(b)); return len(b), nil }

func (r *running) stop(t *testing.T) {
	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatalf("worker: %v", err)
	}
}

// firstRunResumed checks that the worker's first run resumed a run an
// earlier worker had begun and not finished.
func (r *running) firstRunResumed(t *testing.T, who string) {
	t.Helper()
	r.mu.Lock()
	took := r.runs[0]
	r.mu.Unlock()
	if !took.Resumed || took.Result.ResumedBatches == 0 {
		t.Errorf("%s: its first run %d-%d did not resume the earlier worker's (resumed %v, %d batches)", who, took.From, took.To, took.Resumed, took.Result.ResumedBatches)
	}
}

func (r *running) waitFlushed(t *testing.T) {
	select {
	case <-r.flushed:
	case err := <-r.done:
		t.Fatalf("worker ended before the flush mark: %v", err)
	case <-time.After(hangAfter):
		t.Fatal("worker did not reach the flush mark in " + hangAfter.String())
	}
}

// check compares the store with the one process: the same events byte
// for byte (latest version of each), and nothing stored twice: the
// positions are the runs' kept points, each run's events stored once, and
// every position the engine used stored by exactly one partition's runs.
func (c *cluster) check() {
	t := c.t
	f := c.fix
	ctx := context.Background()
	evs, err := c.st.QueryEvents(ctx, store.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	got := sortedJSON(evs)
	if len(got) != len(f.want) {
		t.Errorf("%d workers: %d events stored, %d from one process", c.n, len(got), len(f.want))
	}
	for i := range min(len(got), len(f.want)) {
		if got[i] != f.want[i] {
			t.Errorf("%d workers: event %d differs:\n got %s\nwant %s", c.n, i, got[i], f.want[i])
			break
		}
	}
	runs, err := c.st.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var fixes, kept, events int64
	for _, r := range runs {
		if !r.Done {
			t.Errorf("run %s (%v) not done", r.ID, r.Inputs)
		}
		fixes, kept, events = fixes+r.Fixes, kept+r.Kept, events+r.Events
	}
	stats, err := c.st.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fixes != f.fixes {
		t.Errorf("%d workers: the runs stored %d positions, one engine used %d", c.n, fixes, f.fixes)
	}
	if stats.Points != kept || stats.Events != events {
		t.Errorf("%d workers: the store holds %d points and %d event rows, its runs wrote %d and %d", c.n, stats.Points, stats.Events, kept, events)
	}
	var points int64
	for _, m := range f.mmsis {
		tr, err := c.st.Track(ctx, m, time.Time{}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(tr); i++ {
			if tr[i].Time.Before(tr[i-1].Time) {
				t.Errorf("MMSI %d: position at %v stored out of order", m, tr[i].Time)
				break
			}
		}
		points += int64(len(tr))
	}
	if points != stats.Points {
		t.Errorf("tracks hold %d points, the store %d", points, stats.Points)
	}
	t.Logf("%d workers: %d events, %d runs, %d positions, %d kept", c.n, len(got), len(runs), fixes, kept)
}

// TestWorkersSameEvents: the simulated set published to JetStream and
// ingested by 1, 2 and 4 workers (one partition each) stores the events
// `detect` makes of it in one process, byte for byte (on PostgreSQL with
// 4 workers, the most concurrent, to keep the suite short).
func TestWorkersSameEvents(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			counts := []int{1, 2, 4}
			if s.name == "postgres" {
				counts = []int{4}
			}
			for _, n := range counts {
				t.Run(fmt.Sprint(n), func(t *testing.T) {
					c := newCluster(t, s.open(t), n)
					c.publish()
					var ws []*running
					for i := range n {
						ws = append(ws, c.worker(i, c.opts))
					}
					for _, w := range ws {
						w.waitFlushed(t)
					}
					for _, w := range ws {
						w.stop(t)
					}
					c.check()
				})
			}
		})
	}
}

// crashingStore fails its nth CommitBatch, as a worker killed in the
// middle of that transaction leaves the store; with pauseAt set, it first
// holds its pauseAt-th commit until resume is closed (the worker holds
// its partition meanwhile), closing paused when it gets there.
type crashingStore struct {
	testStore
	mu             sync.Mutex
	n, seen        int
	pauseAt        int
	paused, resume chan struct{}
}

var errKilled = errors.New("killed")

func (c *crashingStore) CommitBatch(ctx context.Context, b *store.Batch) error {
	c.mu.Lock()
	c.seen++
	n := c.seen
	c.mu.Unlock()
	if c.pauseAt > 0 && n == c.pauseAt {
		close(c.paused)
		<-c.resume
	}
	if n == c.n {
		return errKilled
	}
	return c.testStore.CommitBatch(ctx, b)
}

// TestWorkerKilledAndRestarted: a worker dies in the middle of a run (its
// 12th batch is never committed, nothing of the run acked) while the
// other partition's worker goes on; started again, it resumes that run
// from the stream and the store ends up with what uninterrupted workers
// store.
func TestWorkerKilledAndRestarted(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			c := newCluster(t, s.open(t), 2)
			c.publish()
			opts := c.opts
			opts.BatchFixes = 300 // several batches a run
			other := c.worker(1, opts)
			real := c.st
			c.st = &crashingStore{testStore: real, n: 12}
			w0 := c.worker(0, opts)
			select {
			case err := <-w0.done:
				if !errors.Is(err, errKilled) {
					t.Fatalf("worker 0 ended with %v, want it killed", err)
				}
			case <-time.After(hangAfter):
				t.Fatal("worker 0 was never killed")
			}
			c.st = real
			w0.mu.Lock()
			before := len(w0.runs)
			w0.mu.Unlock()
			again := c.worker(0, opts)
			again.waitFlushed(t)
			again.mu.Lock()
			first := again.runs[0]
			again.mu.Unlock()
			if !first.Resumed || first.Result.ResumedBatches == 0 {
				t.Errorf("the restarted worker's first run %d-%d did not resume the killed one (resumed %v, %d batches)", first.From, first.To, first.Resumed, first.Result.ResumedBatches)
			}
			t.Logf("killed after %d runs; the restart resumed run %d-%d with %d batches committed", before, first.From, first.To, first.Result.ResumedBatches)
			other.waitFlushed(t)
			again.stop(t)
			other.stop(t)
			c.check()
		})
	}
}

// TestNATSRestart: the NATS server stopped while the workers run and
// started again on the same store directory: the workers wait, continue,
// and store what they would have.
func TestNATSRestart(t *testing.T) {
	for _, s := range stores[:1] { // the store plays no part in it
		t.Run(s.name, func(t *testing.T) {
			c := newCluster(t, s.open(t), 2)
			c.publish()
			restarted := make(chan struct{})
			w0 := whenStored(c.opts, 3, func() { c.restartNATS(); close(restarted) },
				func(opts ingest.Options) *running { return c.worker(0, opts) })
			w1 := c.worker(1, c.opts)
			select {
			case <-restarted:
			case <-time.After(hangAfter):
				t.Fatal("the server was never restarted")
			}
			w0.waitFlushed(t)
			w1.waitFlushed(t)
			w0.stop(t)
			w1.stop(t)
			c.check()
		})
	}
}

// TestStandbyTakesOver: a second worker for a partition another worker
// holds stands by instead of stopping (without Standby it stops with
// ErrLocked); when the first dies in the middle of a run, the standby
// takes the partition over, resumes that run and stores what one
// uninterrupted worker stores.
func TestStandbyTakesOver(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			c := newCluster(t, s.open(t), 1)
			c.publish()
			opts := c.opts
			opts.BatchFixes = 300 // several batches a run
			real := c.st
			ps := &crashingStore{testStore: real, pauseAt: 5, n: 12, paused: make(chan struct{}), resume: make(chan struct{})}
			c.st = ps
			first := c.worker(0, opts)
			select {
			case <-ps.paused:
			case err := <-first.done:
				t.Fatalf("the first worker ended before its 5th commit: %v", err)
			case <-time.After(hangAfter):
				t.Fatal("the first worker never reached its 5th commit")
			}
			c.st = real
			// Without Standby the second stops at once: the partition is held.
			if err := <-c.worker(0, opts).done; !errors.Is(err, store.ErrLocked) {
				t.Fatalf("a second worker without standby: %v, want ErrLocked", err)
			}
			standby := c.worker(0, opts, func(w *pipeline.Worker) { w.Standby, w.StandbyPoll = true, 50*time.Millisecond })
			select {
			case err := <-standby.done:
				t.Fatalf("the standby worker stopped while the partition was held: %v", err)
			case <-time.After(500 * time.Millisecond):
			}
			standby.mu.Lock()
			if len(standby.runs) > 0 {
				t.Fatalf("the standby worker stored %d runs while the partition was held", len(standby.runs))
			}
			standby.mu.Unlock()
			close(ps.resume)
			if err := <-first.done; !errors.Is(err, errKilled) {
				t.Fatalf("the first worker ended with %v, want it killed", err)
			}
			standby.waitFlushed(t)
			standby.firstRunResumed(t, "the standby")
			standby.stop(t)
			c.check()
		})
	}
}

// TestWorkerStopsMidRunWhenItsLockIsLost: the partition's lock lost in
// the middle of a run (the lock file removed after the run's third batch)
// stops the worker before its next batch: it commits nothing more and
// stores no run; a worker started after resumes that run from the store
// and the store ends up with what one process stores. Before, the lease
// was checked only before a run, and the whole run went on committing.
func TestWorkerStopsMidRunWhenItsLockIsLost(t *testing.T) {
	c := newCluster(t, stores[0].open(t), 1)
	c.publish()
	opts := c.opts
	opts.BatchFixes = 300 // several batches a run
	real := c.st
	path := real.(interface{ Path() string }).Path()
	hs := &hookedStore{testStore: real, at: 3, fn: func() {
		if err := os.RemoveAll(path + ".locks"); err != nil {
			t.Error(err)
		}
	}}
	c.st = hs
	first := c.worker(0, opts)
	select {
	case err := <-first.done:
		if !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("the worker ended with %v, want its lock lost", err)
		}
	case <-time.After(hangAfter):
		t.Fatalf("the worker whose lock was lost did not stop in %v (%d batches committed)", hangAfter, hs.n.Load())
	}
	if n := hs.n.Load(); n != 3 {
		t.Errorf("%d batches committed, want 3 (none after the lock was lost)", n)
	}
	first.mu.Lock()
	if n := len(first.runs); n != 0 {
		t.Errorf("the worker stored %d runs after its lock was lost mid-run", n)
	}
	first.mu.Unlock()
	c.st = real
	second := c.worker(0, opts)
	second.waitFlushed(t)
	second.firstRunResumed(t, "the second worker")
	second.stop(t)
	c.check()
}

// hookedStore calls fn once its at-th batch is committed.
type hookedStore struct {
	testStore
	n  atomic.Int32
	at int32
	fn func()
}

// LockLease gives the store's checkable leases (an embedded interface
// would hide them, and the worker would hold a lock it never checks).
func (h *hookedStore) LockLease(ctx context.Context, key string) (store.Lease, error) {
	return h.testStore.(store.LeaseStore).LockLease(ctx, key)
}

func (h *hookedStore) CommitBatch(ctx context.Context, b *store.Batch) error {
	err := h.testStore.CommitBatch(ctx, b)
	if err == nil && h.n.Add(1) == h.at {
		h.fn()
	}
	return err
}

// TestRunEveryCutsABusyStream: a stream that is never quiet for Idle
// (here: Idle longer than the test) and never fills RunBytes still has
// its runs stored when RunEvery says so; the result is the same store.
func TestRunEveryCutsABusyStream(t *testing.T) {
	c := newCluster(t, stores[0].open(t), 1)
	c.runMax = 1 << 30
	p, done := c.publishFixture()
	defer done()
	ctx := context.Background()
	w := c.worker(0, c.opts, func(w *pipeline.Worker) { w.Idle, w.RunEvery = 10*time.Minute, 300*time.Millisecond })
	deadline := time.After(60 * time.Second)
	for ran := false; !ran; {
		select {
		case err := <-w.done:
			t.Fatalf("worker: %v", err)
		case <-deadline:
			t.Fatal("no run stored in 60 s: RunEvery did not cut the run")
		case <-time.After(50 * time.Millisecond):
		}
		w.mu.Lock()
		ran = len(w.runs) > 0
		w.mu.Unlock()
	}
	if err := p.PublishFlush(ctx, "fixture"); err != nil {
		t.Fatal(err)
	}
	w.waitFlushed(t)
	w.stop(t)
	c.check()
}

// TestStreamLimits: a new stream takes the limits given; a process that
// starts without limits leaves the stream's as they are (set by another
// process or by the operator); given ones change only those.
func TestStreamLimits(t *testing.T) {
	c := newCluster(t, stores[0].open(t), 1)
	nc, js, err := pipeline.Connect(c.srv.URL(), "test-limits")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx := context.Background()
	cfgOf := func(lim pipeline.Limits) jetstream.StreamConfig {
		t.Helper()
		s, err := pipeline.EnsureStream(ctx, js, "", lim)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.Config
	}
	if cfg := cfgOf(pipeline.Limits{MaxAge: 720 * time.Hour}); cfg.MaxAge != 720*time.Hour || cfg.MaxBytes != -1 {
		t.Fatalf("created with max age %s, max bytes %d", cfg.MaxAge, cfg.MaxBytes)
	}
	// The operator caps the message count with the nats tool.
	s, _ := js.Stream(ctx, pipeline.DefaultStream)
	cfg := s.CachedInfo().Config
	cfg.MaxMsgs = 1_000_000
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if cfg := cfgOf(pipeline.Limits{}); cfg.MaxAge != 720*time.Hour || cfg.MaxMsgs != 1_000_000 || cfg.MaxBytes != -1 {
		t.Fatalf("a process without limits changed them: max age %s, max msgs %d, max bytes %d", cfg.MaxAge, cfg.MaxMsgs, cfg.MaxBytes)
	}
	if cfg := cfgOf(pipeline.Limits{MaxBytes: 1 << 30}); cfg.MaxBytes != 1<<30 || cfg.MaxAge != 720*time.Hour || cfg.MaxMsgs != 1_000_000 {
		t.Fatalf("max bytes set: max age %s, max msgs %d, max bytes %d", cfg.MaxAge, cfg.MaxMsgs, cfg.MaxBytes)
	}
	if cfg := cfgOf(pipeline.Limits{MaxAge: -1, MaxBytes: -1}); cfg.MaxAge != 0 || cfg.MaxBytes != -1 {
		t.Fatalf("limits removed: max age %s, max bytes %d", cfg.MaxAge, cfg.MaxBytes)
	}
}

// TestWorkerStopsWhenItsLockIsLost: a worker whose partition lock ends
// while it goes on (on SQLite: its lock file removed, so another process
// can lock a new one; on PostgreSQL: its connection ended) stores no run
// more and stops (a standby would stand by again); a worker started
// after takes the partition from what is stored, and the store ends as
// one process leaves it.
func TestWorkerStopsWhenItsLockIsLost(t *testing.T) {
	c := newCluster(t, stores[0].open(t), 1)
	c.runMax = 512 << 10 // several runs
	c.publish()
	path := c.st.(interface{ Path() string }).Path()
	var once sync.Once
	first := c.worker(0, c.opts, func(w *pipeline.Worker) {
		on := w.OnRun
		w.OnRun = func(ri pipeline.RunInfo) {
			on(ri)
			once.Do(func() {
				if err := os.RemoveAll(path + ".locks"); err != nil {
					t.Error(err)
				}
			})
		}
	})
	select {
	case err := <-first.done:
		if !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("the worker ended with %v, want its lock lost", err)
		}
	case <-time.After(hangAfter):
		t.Fatal("the worker whose lock was lost did not stop in " + hangAfter.String())
	}
	first.mu.Lock()
	if n := len(first.runs); n != 1 {
		t.Errorf("the worker stored %d runs, want 1 (none after its lock was lost)", n)
	}
	first.mu.Unlock()
	second := c.worker(0, c.opts)
	second.waitFlushed(t)
	second.stop(t)
	c.check()
}

// hangAfter is how long a test waits for a worker to reach a point before
// it calls the worker hung. It only catches hangs: on a loaded machine
// (CI runs two packages at once on two cores, beside whatever else runs)
// the stage tests' eleven workers took more than 90 s to reach a flush
// mark that they reach in a few seconds alone.
const hangAfter = 5 * time.Minute
