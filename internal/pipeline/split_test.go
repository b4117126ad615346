package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/internal/pipeline"
	"github.com/tidewatch/tidewatch/store"
)

// sequencer runs the split's sequencer for c.n vessel partitions until
// ctx ends; flushed is closed when it has stored the run ending at the
// flush mark.
func (c *cluster) sequencer(opts ingest.Options, configure ...func(*pipeline.Worker)) *running {
	seq := func(w *pipeline.Worker) { w.Part, w.Vessels = detect.Partition{Index: 0, Count: 1}, c.n }
	return c.worker(0, opts, append([]func(*pipeline.Worker){seq}, configure...)...)
}

// vessels runs vessel partition i of c.n until ctx ends.
func (c *cluster) vessels(i int, opts ingest.Options) *running {
	t := c.t
	nc, js, err := pipeline.Connect(c.srv.URL(), fmt.Sprintf("test-vessels-%d", i))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := newRunning(cancel)
	w := &pipeline.VesselWorker{JS: js, Part: detect.Partition{Index: i, Count: c.n}, Store: c.st, Options: opts,
		Idle: 200 * time.Millisecond, Log: testLog{t}, OnRun: r.onRun}
	go func() {
		err := w.Run(ctx)
		nc.Close()
		r.done <- err
		close(r.exited)
	}()
	r.cleanup(t)
	return r
}

// stored is what a store holds of the fixture's vessels: each MMSI's
// stored track and identity history, as text.
type stored struct {
	tracks, idents map[uint32]string
	points         int
}

func storedOf(t *testing.T, st testStore, mmsis []uint32) stored {
	t.Helper()
	ctx := context.Background()
	s := stored{tracks: map[uint32]string{}, idents: map[uint32]string{}}
	for _, m := range mmsis {
		tr, err := st.Track(ctx, m, time.Time{}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		s.points += len(tr)
		var b strings.Builder
		for _, p := range tr {
			fmt.Fprintf(&b, "%s %.6f %.6f %.1f %.1f %d\n", p.Time.UTC().Format(time.RFC3339Nano), p.Lat, p.Lon, p.SOG, p.COG, p.Segment)
		}
		s.tracks[m] = b.String()
		ids, err := st.IdentityHistory(ctx, store.VesselQuery{MMSI: m})
		if err != nil {
			t.Fatal(err)
		}
		lines := make([]string, len(ids))
		for i, id := range ids {
			lines[i] = fmt.Sprintf("%d %d %s %q %s %s %d %s", id.MMSI, id.IMO, id.Field, id.Value, id.First.UTC().Format(time.RFC3339),
				id.Last.UTC().Format(time.RFC3339), id.Count, id.Source)
		}
		sort.Strings(lines)
		s.idents[m] = strings.Join(lines, "\n")
	}
	return s
}

// same reports the first MMSI whose track or identity history differs.
func (s stored) same(t *testing.T, who string, want stored) {
	t.Helper()
	if s.points != want.points {
		t.Errorf("%s: %d points stored, the whole-engine pipeline %d", who, s.points, want.points)
	}
	for m, tr := range want.tracks {
		if s.tracks[m] != tr {
			t.Errorf("%s: MMSI %d's stored track differs from the whole-engine pipeline's", who, m)
			break
		}
	}
	for m, id := range want.idents {
		if s.idents[m] != id {
			t.Errorf("%s: MMSI %d's identity history differs:\n got %s\nwant %s", who, m, s.idents[m], id)
			break
		}
	}
}

var (
	wholeOnce   sync.Once
	wholeStored stored
)

// theWholeStored is what the existing pipeline (one whole-engine worker,
// partition 0 of 1) stores of the fixture on SQLite.
func theWholeStored(t *testing.T) stored {
	wholeOnce.Do(func() {
		c := newCluster(t, stores[0].open(t), 1)
		c.publish()
		w := c.worker(0, c.opts)
		w.waitFlushed(t)
		w.stop(t)
		c.check()
		wholeStored = storedOf(t, c.st, c.fix.mmsis)
	})
	if wholeStored.points == 0 {
		t.Fatal("the whole-engine pipeline stored no points")
	}
	return wholeStored
}

// split runs the sequencer and n vessel workers to the flush mark.
func (c *cluster) split(opts ingest.Options) {
	t := c.t
	seq := c.sequencer(opts)
	var ws []*running
	for i := range c.n {
		ws = append(ws, c.vessels(i, opts))
	}
	seq.waitFlushed(t)
	for _, w := range ws {
		w.waitFlushed(t)
	}
	seq.stop(t)
	for _, w := range ws {
		w.stop(t)
	}
}

// TestSplitSameEvents: the simulated set published to JetStream and
// read by the sequencer and 1, 2 and 4 vessel workers stores the events
// `detect` makes of it in one process, byte for byte, every position
// once, and the same tracks and identity histories as the whole-engine
// pipeline (PostgreSQL: 4 vessel workers).
func TestSplitSameEvents(t *testing.T) {
	want := theWholeStored(t)
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
					c.split(c.opts)
					c.check()
					storedOf(t, c.st, c.fix.mmsis).same(t, fmt.Sprintf("sequencer and %d vessel workers", n), want)
				})
			}
		})
	}
}

// TestVesselWorkerKilledAndRestarted: a vessel worker dies in the middle
// of a run (its 12th batch never committed, nothing of the run acked)
// while the sequencer and the other vessel worker go on; started again,
// it resumes that run from the item stream and the store holds what
// uninterrupted workers store.
func TestVesselWorkerKilledAndRestarted(t *testing.T) {
	want := theWholeStored(t)
	s := stores[0]
	c := newCluster(t, s.open(t), 2)
	c.publish()
	opts := c.opts
	opts.BatchFixes = 300 // several batches a run
	seq := c.sequencer(opts)
	other := c.vessels(1, opts)
	real := c.st
	c.st = &crashingStore{testStore: real, n: 12}
	w0 := c.vessels(0, opts)
	select {
	case err := <-w0.done:
		if !errors.Is(err, errKilled) {
			t.Fatalf("vessel worker 0 ended with %v, want it killed", err)
		}
	case <-time.After(hangAfter):
		t.Fatal("vessel worker 0 was never killed")
	}
	c.st = real
	again := c.vessels(0, opts)
	again.waitFlushed(t)
	again.firstRunResumed(t, "the restarted vessel worker")
	seq.waitFlushed(t)
	other.waitFlushed(t)
	for _, r := range []*running{seq, other, again} {
		r.stop(t)
	}
	c.check()
	storedOf(t, c.st, c.fix.mmsis).same(t, "a vessel worker killed and restarted", want)
}

// seqCrash fails the sequencer's commit of the batch that completes its
// nth run: after the run's items were published, before the run is done.
type seqCrash struct {
	testStore
	key    string
	mu     sync.Mutex
	n      int
	killed chan struct{}
}

func (s *seqCrash) CommitBatch(ctx context.Context, b *store.Batch) error {
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

// TestSequencerKilledBetweenPublishAndCommit: the sequencer dies after
// publishing its third run's items and before committing that run; its
// batches (and those of a run the vessel workers stored already) are
// published again under other message ids, as a sequencer restarted
// after the stream's duplicate window would; the sequencer started again
// resumes the run and publishes the same batches. Nothing is lost or
// applied twice: the store holds what uninterrupted stages store.
func TestSequencerKilledBetweenPublishAndCommit(t *testing.T) {
	want := theWholeStored(t)
	c := newCluster(t, stores[0].open(t), 2)
	c.publish()
	real := c.st
	crash := &seqCrash{testStore: real, key: pipeline.SequencerKey(pipeline.DefaultStream, 2), n: 3, killed: make(chan struct{})}
	c.st = crash
	seq := c.sequencer(c.opts)
	c.st = real
	ws := []*running{c.vessels(0, c.opts), c.vessels(1, c.opts)}
	select {
	case err := <-seq.done:
		if !errors.Is(err, errKilled) {
			t.Fatalf("the sequencer ended with %v, want it killed", err)
		}
	case <-time.After(hangAfter):
		t.Fatal("the sequencer was never killed")
	}
	seq.mu.Lock()
	if len(seq.runs) != 2 {
		t.Fatalf("the sequencer stored %d runs before it was killed, want 2", len(seq.runs))
	}
	first, killedRun := seq.runs[0].From, seq.runs[1].To+1
	seq.mu.Unlock()
	// Publish again the batches of the first run (stored by the vessel
	// workers by now, or soon) and of the run killed.
	again := c.republish(t, func(m *jetstream.RawStreamMsg) bool {
		run := m.Header.Get(pipeline.HeaderRun)
		return run == fmt.Sprint(first) || run == fmt.Sprint(killedRun)
	})
	if len(again) < 4 {
		t.Fatalf("published %d batches again: the runs %d and %d have too few", len(again), first, killedRun)
	}
	restarted := c.sequencer(c.opts)
	restarted.waitFlushed(t)
	restarted.mu.Lock()
	if r := restarted.runs[0]; r.From != killedRun || r.Result.AlreadyDone {
		t.Errorf("the restarted sequencer's first run is %d-%d (done before: %v), want the killed run %d read again", r.From, r.To, r.Result.AlreadyDone, killedRun)
	}
	restarted.mu.Unlock()
	for _, w := range ws {
		w.waitFlushed(t)
	}
	restarted.stop(t)
	for _, w := range ws {
		w.stop(t)
	}
	t.Logf("killed before committing run %d; %d batches published again", killedRun, len(again))
	c.check()
	storedOf(t, c.st, c.fix.mmsis).same(t, "the sequencer killed and restarted", want)
}

// TestVesselWorkerWaitsForARunsLastBatch: a run's first batch of two on
// the stream and not the second (its sequencer not done publishing): the
// vessel worker waits, fetching again now and then (a pull that expired
// with the batch on its way leaves it pending), and stores the run when
// the second batch comes.
func TestVesselWorkerWaitsForARunsLastBatch(t *testing.T) {
	c := newCluster(t, stores[0].open(t), 1)
	nc, js, err := pipeline.Connect(c.srv.URL(), "test-items")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx := context.Background()
	if _, err := pipeline.EnsureItemStream(ctx, js, "", pipeline.Limits{}); err != nil {
		t.Fatal(err)
	}
	publish := func(k int) {
		m := nats.NewMsg(pipeline.ItemSubject(1, 0))
		m.Data = detect.AppendItems(nil, []detect.Item{{Kind: detect.ItemSweepIdentity}})
		for h, v := range map[string]string{pipeline.HeaderRun: "5", pipeline.HeaderRunTo: "9", pipeline.HeaderBatch: fmt.Sprint(k), pipeline.HeaderBatches: "2"} {
			m.Header.Set(h, v)
		}
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	publish(0)
	w := c.vessels(0, c.opts)
	time.Sleep(2 * time.Second) // more than 3 pulls of 200 ms: fetched again
	publish(1)
	deadline := time.After(30 * time.Second)
	for {
		w.mu.Lock()
		n := len(w.runs)
		w.mu.Unlock()
		if n > 0 {
			break
		}
		select {
		case err := <-w.done:
			t.Fatalf("the vessel worker ended: %v", err)
		case <-deadline:
			t.Fatal("the vessel worker did not store the run")
		case <-time.After(50 * time.Millisecond):
		}
	}
	w.stop(t)
	w.mu.Lock()
	defer w.mu.Unlock()
	if r := w.runs[0]; r.From != 5 || r.To != 9 || !r.Result.Run.Done {
		t.Errorf("stored run %d-%d (done %v), want 5-9 done", r.From, r.To, r.Result.Run.Done)
	}
}

// TestVesselWorkerMissingBatches: a vessel worker whose subject holds a
// run's second batch and not its first (removed by the stream's limits),
// then the next run's, stops with an error saying so, rather than
// waiting for ever; a message that is not an item batch stops it too.
func TestVesselWorkerMissingBatches(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   string
	}{
		{"missing", map[string]string{pipeline.HeaderRun: "5", pipeline.HeaderRunTo: "9", pipeline.HeaderBatch: "1", pipeline.HeaderBatches: "2"}, "lacks them"},
		{"not items", map[string]string{pipeline.HeaderRun: "5"}, "not an item batch"},
	} {
		// missing: run 5's second batch of two, then run 10's only
		// batch: the sequencer publishes run 10 once run 5 is published
		// whole, so run 5's first batch is not on the stream.
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, stores[0].open(t), 1)
			nc, js, err := pipeline.Connect(c.srv.URL(), "test-items")
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			ctx := context.Background()
			if _, err := pipeline.EnsureItemStream(ctx, js, "", pipeline.Limits{}); err != nil {
				t.Fatal(err)
			}
			m := nats.NewMsg(pipeline.ItemSubject(1, 0))
			m.Data = detect.AppendItems(nil, nil)
			for k, v := range tc.header {
				m.Header.Set(k, v)
			}
			if _, err := js.PublishMsg(ctx, m); err != nil {
				t.Fatal(err)
			}
			if tc.name == "missing" {
				m := nats.NewMsg(pipeline.ItemSubject(1, 0))
				m.Data = detect.AppendItems(nil, nil)
				for k, v := range map[string]string{pipeline.HeaderRun: "10", pipeline.HeaderRunTo: "12", pipeline.HeaderBatch: "0", pipeline.HeaderBatches: "1"} {
					m.Header.Set(k, v)
				}
				if _, err := js.PublishMsg(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
			w := c.vessels(0, c.opts)
			select {
			case err := <-w.done:
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("the vessel worker ended with %v, want an error saying %q", err, tc.want)
				}
			case <-time.After(30 * time.Second):
				w.cancel()
				t.Fatal("the vessel worker did not stop")
			}
		})
	}
}

// TestVesselWorkersSkipDuplicates: the item stream holds each run's
// batches last first, and every batch twice, each copy after the next
// batch (so a run's batch comes again while the run is being gathered,
// and a run's last batch after the run is stored), as a sequencer whose
// publish failed in part and that published again after the duplicate
// window leaves them: the vessel workers apply each batch once.
func TestVesselWorkersSkipDuplicates(t *testing.T) {
	want := theWholeStored(t)
	first := newCluster(t, stores[0].open(t), 2)
	first.publish()
	first.split(first.opts)
	ctx := context.Background()
	nc1, js1, err := pipeline.Connect(first.srv.URL(), "test-read")
	if err != nil {
		t.Fatal(err)
	}
	defer nc1.Close()
	src, err := js1.Stream(ctx, pipeline.DefaultItemStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := src.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := newCluster(t, stores[0].open(t), 2)
	c.publish()
	nc, js, err := pipeline.Connect(c.srv.URL(), "test-items")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := pipeline.EnsureItemStream(ctx, js, "", pipeline.Limits{}); err != nil {
		t.Fatal(err)
	}
	// Each run's batches of a partition, gathered, are published last
	// first (as a run whose publish failed for its first batches and
	// succeeded for the others, then was published again, stores them).
	var order []*nats.Msg
	held := map[string][]*nats.Msg{} // by subject: the run being gathered
	flushRun := func(subject string) {
		run := held[subject]
		for i := len(run) - 1; i >= 0; i-- {
			order = append(order, run[i])
		}
		held[subject] = nil
	}
	for sq := info.State.FirstSeq; sq <= info.State.LastSeq; sq++ {
		m, err := src.GetMsg(ctx, sq)
		if err != nil {
			t.Fatal(err)
		}
		msg := nats.NewMsg(m.Subject)
		msg.Data, msg.Header = m.Data, m.Header // the sequencer's message id: its own publishing is stored once
		if run := held[m.Subject]; len(run) > 0 && run[0].Header.Get(pipeline.HeaderRun) != m.Header.Get(pipeline.HeaderRun) {
			flushRun(m.Subject)
		}
		held[m.Subject] = append(held[m.Subject], msg)
	}
	for subject := range held {
		flushRun(subject)
	}
	prev := map[string]*nats.Msg{} // by subject
	n, reversed := 0, 0
	for _, msg := range order {
		if msg.Header.Get(pipeline.HeaderBatch) != "0" && msg.Header.Get(pipeline.HeaderBatches) != "1" {
			if p := prev[msg.Subject]; p == nil || p.Header.Get(pipeline.HeaderRun) != msg.Header.Get(pipeline.HeaderRun) {
				reversed++ // a run whose later batch comes first
			}
		}
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if p := prev[msg.Subject]; p != nil {
			dup := nats.NewMsg(p.Subject)
			dup.Data = p.Data
			for k, v := range p.Header {
				dup.Header[k] = append([]string(nil), v...)
			}
			dup.Header.Set(nats.MsgIdHdr, p.Header.Get(nats.MsgIdHdr)+":again")
			if _, err := js.PublishMsg(ctx, dup); err != nil {
				t.Fatal(err)
			}
			n++
		}
		prev[msg.Subject] = msg
	}
	if reversed == 0 {
		t.Fatal("no run of several batches: the test would not test their order")
	}
	t.Logf("%d batches, %d published twice; %d runs of several batches, published last first", info.State.Msgs, n, reversed)
	c.split(c.opts)
	c.check()
	storedOf(t, c.st, c.fix.mmsis).same(t, "vessel workers given every batch twice", want)
}

// TestSplitNATSRestart: the NATS server stopped while the sequencer and
// two vessel workers run, and started again on the same store directory:
// the stages wait (the sequencer publishes a run's items again when their
// acks were lost), continue, and store what they would have.
func TestSplitNATSRestart(t *testing.T) {
	want := theWholeStored(t)
	c := newCluster(t, stores[0].open(t), 2)
	c.publish()
	restarted := make(chan struct{})
	seq := whenStored(c.opts, 3, func() { c.restartNATS(); close(restarted) },
		func(opts ingest.Options) *running { return c.sequencer(opts) })
	ws := []*running{c.vessels(0, c.opts), c.vessels(1, c.opts)}
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
	storedOf(t, c.st, c.fix.mmsis).same(t, "the split through a NATS restart", want)
}

// TestSequencerRetriesPublish: the item stream takes no publishes for a
// while (its subjects changed away and back, as a JetStream outage would
// refuse them) in the middle of the sequencer's runs: the run that could
// not publish is not done; the sequencer starts again from what is
// stored, publishes that run's items once the stream takes them, and the
// store holds what it would have.
func TestSequencerRetriesPublish(t *testing.T) {
	want := theWholeStored(t)
	c := newCluster(t, stores[0].open(t), 2)
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
	setSubjects := func(s string) {
		cfg := items.CachedInfo().Config
		cfg.Subjects = []string{s}
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			t.Error(err)
		}
	}
	back := make(chan struct{})
	var logs strings.Builder
	var logMu sync.Mutex
	seq := whenStored(c.opts, 2, func() {
		setSubjects("tidewatch.elsewhere.>")
		go func() {
			time.Sleep(1500 * time.Millisecond)
			setSubjects(pipeline.ItemSubjects)
			close(back)
		}()
	}, func(opts ingest.Options) *running {
		return c.sequencer(opts, func(w *pipeline.Worker) {
			w.Log = writerFunc(func(b []byte) (int, error) {
				logMu.Lock()
				defer logMu.Unlock()
				t.Log(string(b))
				return logs.Write(b)
			})
		})
	})
	ws := []*running{c.vessels(0, c.opts), c.vessels(1, c.opts)}
	seq.waitFlushed(t)
	<-back
	for _, w := range ws {
		w.waitFlushed(t)
	}
	seq.stop(t)
	for _, w := range ws {
		w.stop(t)
	}
	logMu.Lock()
	if !strings.Contains(logs.String(), "starting again from what is stored") {
		t.Errorf("the sequencer never failed to publish: the test did not test it")
	}
	logMu.Unlock()
	c.check()
	storedOf(t, c.st, c.fix.mmsis).same(t, "the sequencer through a publishing outage", want)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// republish publishes again, under other message ids (as after the
// duplicate window), every message of the item stream that want picks,
// and returns them.
func (c *cluster) republish(t *testing.T, want func(m *jetstream.RawStreamMsg) bool) []*jetstream.RawStreamMsg {
	t.Helper()
	nc, js, err := pipeline.Connect(c.srv.URL(), "test-republish")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx := context.Background()
	items, err := js.Stream(ctx, pipeline.DefaultItemStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := items.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var again []*jetstream.RawStreamMsg
	for sq := info.State.FirstSeq; sq <= info.State.LastSeq; sq++ {
		m, err := items.GetMsg(ctx, sq)
		if err != nil {
			t.Fatal(err)
		}
		if !want(m) {
			continue
		}
		msg := nats.NewMsg(m.Subject)
		msg.Data, msg.Header = m.Data, m.Header
		msg.Header.Set(nats.MsgIdHdr, m.Header.Get(nats.MsgIdHdr)+":again")
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
		again = append(again, m)
	}
	return again
}
