package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/internal/pipeline"
	"github.com/tidewatch/tidewatch/sim"
	"github.com/tidewatch/tidewatch/store"
)

// The stages behind an area sequencer (stages.go): the sequencer with a
// Split, and vessel, area, pair, IMO and reception workers.

var splitStages = []pipeline.Stage{pipeline.StageVessels, pipeline.StageArea, pipeline.StagePairs, pipeline.StageIMO, pipeline.StageReception}

// splitSequencer runs the sequencer of the split sp.
func (c *cluster) splitSequencer(sp pipeline.Split, opts ingest.Options, configure ...func(*pipeline.Worker)) *running {
	seq := func(w *pipeline.Worker) {
		w.Part, w.Vessels, w.Split = detect.Partition{Index: 0, Count: 1}, sp.Vessels, sp
	}
	return c.worker(0, opts, append([]func(*pipeline.Worker){seq}, configure...)...)
}

// stage runs partition i of stage s of the split sp until stopped.
func (c *cluster) stage(s pipeline.Stage, i int, sp pipeline.Split, opts ingest.Options) *running {
	t := c.t
	nc, js, err := pipeline.Connect(c.srv.URL(), fmt.Sprintf("test-%s-%d", s, i))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := newRunning(cancel)
	var run func(context.Context) error
	if s == pipeline.StageVessels {
		w := &pipeline.VesselWorker{JS: js, Part: detect.Partition{Index: i, Count: sp.Vessels}, Split: sp, Store: c.st, Options: opts,
			Idle: 200 * time.Millisecond, Log: testLog{t}, OnRun: r.onRun}
		run = w.Run
	} else {
		var log io.Writer = testLog{t}
		if c.stageLog != nil {
			log = c.stageLog
		}
		w := &pipeline.StageWorker{JS: js, Split: sp, Stage: s, Index: i, Store: c.st, Options: opts,
			Idle: 200 * time.Millisecond, Log: log, OnRun: r.onRun}
		run = w.Run
	}
	go func() {
		err := run(ctx)
		nc.Close()
		r.done <- err
		close(r.exited)
	}()
	r.cleanup(t)
	return r
}

// stageWorkers runs every partition of every stage of sp (but skip's).
func (c *cluster) stageWorkers(sp pipeline.Split, opts ingest.Options, skip func(s pipeline.Stage, i int) bool) []*running {
	var ws []*running
	for _, s := range splitStages {
		for i := range sp.Count(s) {
			if skip == nil || !skip(s, i) {
				ws = append(ws, c.stage(s, i, sp, opts))
			}
		}
	}
	return ws
}

// runSplit runs the sequencer of sp and every stage's workers to the
// flush mark.
func (c *cluster) runSplit(sp pipeline.Split, opts ingest.Options) {
	t := c.t
	seq := c.splitSequencer(sp, opts)
	ws := c.stageWorkers(sp, opts, nil)
	seq.waitFlushed(t)
	for _, w := range ws {
		w.waitFlushed(t)
	}
	seq.stop(t)
	for _, w := range ws {
		w.stop(t)
	}
}

var shapes = []pipeline.Split{
	{Vessels: 2, Areas: 2, Pairs: 2, IMOs: 2, Reception: 2},
	{Vessels: 1, Areas: 1, Pairs: 1, IMOs: 1, Reception: 1},
}

func shapeName(sp pipeline.Split) string {
	return fmt.Sprintf("%d vessel, %d area, %d pair, %d IMO, %d reception", sp.Vessels, sp.Areas, sp.Pairs, sp.IMOs, sp.Reception)
}

// TestStagesSameEvents: the simulated set through the sequencer of a
// split and its vessel, area, pair, IMO and reception workers (2 of
// each, and 1 of each; PostgreSQL: 2 of each) stores `detect`'s events,
// sorted JSON byte for byte, every position once, and the tracks and
// identity histories of the whole-engine pipeline.
func TestStagesSameEvents(t *testing.T) {
	want := theWholeStored(t)
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			sps := shapes
			if s.name == "postgres" {
				sps = shapes[:1]
			}
			for _, sp := range sps {
				t.Run(shapeName(sp), func(t *testing.T) {
					c := newCluster(t, s.open(t), sp.Vessels)
					c.publish()
					c.runSplit(sp, c.opts)
					c.check()
					storedOf(t, c.st, c.fix.mmsis).same(t, shapeName(sp), want)
				})
			}
		})
	}
}

var (
	meetOnce sync.Once
	meetFix  fixture
)

// theMeetings is a set of many encounters and shared IMOs (sim.Meetings,
// sim.IMOSharing: meetings at sea over tile corners, third ships, broken
// windows, renames; IMOs used by two MMSIs at once, handed over, handed
// back), one after the other, and what `detect` makes of it.
func theMeetings(t *testing.T) *fixture {
	meetOnce.Do(func() {
		var b bytes.Buffer
		if err := sim.WriteNMEA(&b, append(sim.Meetings(60, 1), sim.IMOSharing(60, 3)...)); err != nil {
			panic(err)
		}
		meetFix = fixtureOf(b.Bytes())
	})
	return &meetFix
}

// eventKinds counts a fixture's events of the area split's stages.
func eventKinds(want []string) (encounters, imos, gaps int) {
	for _, e := range want {
		switch {
		case strings.Contains(e, `"kind":"encounter"`):
			encounters++
		case strings.Contains(e, `"one_imo_two_mmsi"`) || strings.Contains(e, `"field":"mmsi"`):
			imos++
		case strings.Contains(e, `"kind":"gap"`) || strings.Contains(e, `"kind":"dark_period"`):
			gaps++
		}
	}
	return
}

// TestStagesMeetings: the set of many encounters and shared IMOs through
// the split (2 of each stage, and 1 of each) stores `detect`'s events
// byte for byte, each once.
func TestStagesMeetings(t *testing.T) {
	f := theMeetings(t)
	enc, imos, _ := eventKinds(f.want)
	t.Logf("the set: %d events, %d encounters, %d IMO events, %d positions", f.events, enc, imos, f.fixes)
	if enc < 40 || imos < 40 {
		t.Fatalf("the set has %d encounters and %d IMO events: too few to test the stages", enc, imos)
	}
	sps := shapes
	if testing.Short() {
		sps = shapes[:1]
	}
	for _, sp := range sps {
		t.Run(shapeName(sp), func(t *testing.T) {
			c := newCluster(t, stores[0].open(t), sp.Vessels)
			c.fix = f
			c.publish()
			c.runSplit(sp, c.opts)
			c.check()
		})
	}
}

// stageCrash fails the commit of the batch that completes the nth run
// stored under key (with its state: after an area worker published its
// contacts, before the run is done).
type stageCrash struct {
	testStore
	key    string
	mu     sync.Mutex
	n      int
	killed chan struct{}
}

func (s *stageCrash) CommitBatch(ctx context.Context, b *store.Batch) error {
	if b.State != nil && b.State.Key == s.key {
		s.mu.Lock()
		s.n--
		n := s.n
		s.mu.Unlock()
		if n == 0 {
			close(s.killed)
			return errKilled
		}
	}
	return s.testStore.CommitBatch(ctx, b)
}

// killed waits for a worker to end killed.
func killed(t *testing.T, r *running, who string) {
	t.Helper()
	select {
	case err := <-r.done:
		if !errors.Is(err, errKilled) {
			t.Fatalf("%s ended with %v, want it killed", who, err)
		}
	case <-time.After(hangAfter):
		t.Fatalf("%s was never killed", who)
	}
}

// TestAreaWorkerKilledBetweenPublishAndCommit: area worker 0 dies after
// publishing its third run's contacts and before committing the run;
// those contacts (and those of its first run, stored by the pair workers
// by then or soon) are published again under other message ids, as
// after the duplicate window; restarted, it reads the run again and
// publishes the same contacts. The pair workers apply each contact once:
// the store holds `detect`'s events, each once.
func TestAreaWorkerKilledBetweenPublishAndCommit(t *testing.T) {
	sp := shapes[0]
	c := newCluster(t, stores[0].open(t), sp.Vessels)
	c.fix = theMeetings(t)
	c.publish()
	seq := c.splitSequencer(sp, c.opts)
	ws := c.stageWorkers(sp, c.opts, func(s pipeline.Stage, i int) bool { return s == pipeline.StageArea && i == 0 })
	real := c.st
	key := pipeline.StageKey(pipeline.DefaultStream, sp, pipeline.StageArea, 0)
	c.st = &stageCrash{testStore: real, key: key, n: 3, killed: make(chan struct{})}
	area := c.stage(pipeline.StageArea, 0, sp, c.opts)
	c.st = real
	killed(t, area, "area worker 0")
	area.mu.Lock()
	if len(area.runs) != 2 {
		t.Fatalf("area worker 0 stored %d runs before it was killed, want 2", len(area.runs))
	}
	first, killedRun := area.runs[0].From, area.runs[1].To+1
	area.mu.Unlock()
	// Its contacts of the first run and of the run killed, again.
	again := c.republish(t, func(m *jetstream.RawStreamMsg) bool {
		run := m.Header.Get(pipeline.HeaderRun)
		return strings.HasPrefix(m.Subject, "tidewatch.items.contacts.") && m.Header.Get(pipeline.HeaderArea) == "0" &&
			(run == fmt.Sprint(first) || run == fmt.Sprint(killedRun))
	})
	contacts := 0
	for _, m := range again {
		if items, err := detect.DecodeItems(m.Data); err == nil {
			contacts += len(items)
		}
	}
	if len(again) < 2*sp.Pairs || contacts == 0 {
		t.Fatalf("published %d contact batches (%d contacts) again: the runs %d and %d of area worker 0 have too few", len(again), contacts, first, killedRun)
	}
	restarted := c.stage(pipeline.StageArea, 0, sp, c.opts)
	restarted.waitFlushed(t)
	restarted.mu.Lock()
	if r := restarted.runs[0]; r.From != killedRun || r.Result.AlreadyDone {
		t.Errorf("the restarted area worker's first run is %d-%d (done before: %v), want the killed run %d read again", r.From, r.To, r.Result.AlreadyDone, killedRun)
	}
	restarted.mu.Unlock()
	seq.waitFlushed(t)
	for _, w := range ws {
		w.waitFlushed(t)
	}
	for _, w := range append([]*running{seq, restarted}, ws...) {
		w.stop(t)
	}
	t.Logf("killed before committing run %d; %d contact batches (%d contacts) published again", killedRun, len(again), contacts)
	c.check()
}

// midRunCrash fails the first commit from the nth on that is not a
// run's first batch: the run has committed batches when it dies.
type midRunCrash struct {
	testStore
	mu      sync.Mutex
	n, seen int
	done    bool
}

func (c *midRunCrash) CommitBatch(ctx context.Context, b *store.Batch) error {
	c.mu.Lock()
	c.seen++
	kill := !c.done && c.seen >= c.n && b.Run.Batches > 1
	c.done = c.done || kill
	c.mu.Unlock()
	if kill {
		return errKilled
	}
	return c.testStore.CommitBatch(ctx, b)
}

// TestStageWorkersKilledMidRun: a pair worker and an IMO worker each die
// in the middle of a run (a batch of it never committed, nothing of it
// acked) while the other stages go on; started again, each resumes that
// run (the batches it committed skipped) and the store holds `detect`'s
// events, each once.
func TestStageWorkersKilledMidRun(t *testing.T) {
	sp := shapes[0]
	for _, s := range []pipeline.Stage{pipeline.StagePairs, pipeline.StageIMO} {
		t.Run(string(s), func(t *testing.T) {
			c := newCluster(t, stores[0].open(t), sp.Vessels)
			c.fix = theMeetings(t)
			c.publish()
			opts := c.opts
			opts.BatchFixes = 300 // a batch every 300 items: several a run
			seq := c.splitSequencer(sp, opts)
			ws := c.stageWorkers(sp, opts, func(st pipeline.Stage, i int) bool { return st == s && i == 0 })
			real := c.st
			c.st = &midRunCrash{testStore: real, n: 8}
			w := c.stage(s, 0, sp, opts)
			c.st = real
			killed(t, w, fmt.Sprintf("%s worker 0", s))
			w.mu.Lock()
			before := len(w.runs)
			w.mu.Unlock()
			again := c.stage(s, 0, sp, opts)
			again.waitFlushed(t)
			again.firstRunResumed(t, fmt.Sprintf("the restarted %s worker", s))
			seq.waitFlushed(t)
			for _, w := range ws {
				w.waitFlushed(t)
			}
			for _, w := range append([]*running{seq, again}, ws...) {
				w.stop(t)
			}
			again.mu.Lock()
			r := again.runs[0]
			again.mu.Unlock()
			t.Logf("killed after %d runs; the restart resumed run %d-%d with %d batches committed", before, r.From, r.To, r.Result.ResumedBatches)
			c.check()
		})
	}
}

// TestStagesNATSRestart: the NATS server stopped while the sequencer and
// every stage's workers run, and started again on the same directory:
// the stages reconnect, publish again what lost its acks, and store
// `detect`'s events, each once.
func TestStagesNATSRestart(t *testing.T) {
	sp := shapes[0]
	c := newCluster(t, stores[0].open(t), sp.Vessels)
	c.fix = theMeetings(t)
	c.publish()
	restarted := make(chan struct{})
	seq := whenStored(c.opts, 3, func() { c.restartNATS(); close(restarted) },
		func(opts ingest.Options) *running { return c.splitSequencer(sp, opts) })
	ws := c.stageWorkers(sp, c.opts, nil)
	select {
	case <-restarted:
	case <-time.After(hangAfter):
		t.Fatal("the server was never restarted")
	}
	seq.waitFlushed(t)
	for _, w := range ws {
		w.waitFlushed(t)
	}
	seq.stop(t)
	for _, w := range ws {
		w.stop(t)
	}
	c.check()
}

// TestAreaWorkerRetriesPublish: the item stream takes no contacts for a
// while (its subjects changed to leave them out, and back, as a
// JetStream outage would refuse them) once area worker 0 has stored a
// run: a run whose contacts could not be published is not done; the area
// workers start again from what is stored, publish once the stream takes
// them, and the store holds `detect`'s events, each once.
func TestAreaWorkerRetriesPublish(t *testing.T) {
	sp := shapes[0]
	c := newCluster(t, stores[0].open(t), sp.Vessels)
	c.fix = theMeetings(t)
	c.publish()
	nc, js, err := pipeline.Connect(c.srv.URL(), "test-admin")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx := context.Background()
	items, err := pipeline.EnsureItemStream(ctx, js, "", pipeline.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	setSubjects := func(s ...string) {
		cfg := items.CachedInfo().Config
		cfg.Subjects = s
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			t.Error(err)
		}
	}
	var logs strings.Builder
	var logMu sync.Mutex
	c.stageLog = writerFunc(func(b []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		t.Log(string(b))
		return logs.Write(b)
	})
	back := make(chan struct{})
	seq := c.splitSequencer(sp, c.opts)
	ws := c.stageWorkers(sp, c.opts, func(s pipeline.Stage, i int) bool { return s == pipeline.StageArea && i == 0 })
	area := whenStored(c.opts, 1, func() {
		// Every subject of the split but the contacts'.
		setSubjects("tidewatch.items.vessels.>", "tidewatch.items.area.>", "tidewatch.items.pairs.>",
			"tidewatch.items.imo.>", "tidewatch.items.reception.>")
		go func() {
			time.Sleep(1500 * time.Millisecond)
			setSubjects(pipeline.ItemSubjects)
			close(back)
		}()
	}, func(opts ingest.Options) *running { return c.stage(pipeline.StageArea, 0, sp, opts) })
	seq.waitFlushed(t)
	<-back
	area.waitFlushed(t)
	for _, w := range ws {
		w.waitFlushed(t)
	}
	for _, w := range append([]*running{seq, area}, ws...) {
		w.stop(t)
	}
	logMu.Lock()
	retried := false
	for _, l := range strings.Split(logs.String(), "\n") {
		retried = retried || strings.HasPrefix(l, "area partition 0 of 2: ") && strings.Contains(l, "items not published") && strings.Contains(l, "starting again from what is stored")
	}
	if !retried {
		t.Errorf("area worker 0 never failed to publish its contacts: the test did not test it")
	}
	logMu.Unlock()
	c.check()
}
