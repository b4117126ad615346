package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/store"
)

// Worker ingests one partition's share of the stream into the store.
//
// It reads the whole stream, in order, through the durable consumer
// ConsumerName (acks: AckAll). Messages are gathered into a run (up to
// RunBytes of NMEA, or what came before the stream was quiet for Idle, or
// up to a flush mark), and the run is an ingest of that range of the
// stream (sequences A to B) continuing the partition's detector state
// (StateKey). Only when the ingest has committed its last batch (with the
// state) is message B acked.
//
// Restarts lose and double nothing: the store says where the partition
// is. The run reading sequences A to B is named by the partition and A;
// a worker starting finds the run after the last one done (a hint under
// StateKey+"/seq" says where to look, the runs themselves are the truth)
// and, when that run was begun and not finished, reads exactly its range
// again from the stream (ingest resumes it, skipping the batches it
// committed). Messages redelivered up to the last run done are acked and
// skipped.
type Worker struct {
	JS     jetstream.JetStream
	Stream string // default DefaultStream
	Part   detect.Partition
	Store  store.IngestStore
	// Options configure each run (Detect, Land, Ports, Zones, Designated,
	// Thin, BatchFixes); StateKey, Part and Flush are the worker's.
	Options ingest.Options
	// RunBytes is the NMEA a run reads at most (default 64 MiB); Idle how
	// long the stream is quiet before a run starts with what came
	// (default 1 s).
	RunBytes int
	Idle     time.Duration
	// RunEvery, when set, also ends a run once its first message has
	// waited that long: a live stream is never quiet, and without it a
	// run (and its events) would wait for RunBytes of traffic.
	RunEvery time.Duration
	// Standby makes a worker whose partition another worker holds wait
	// for it (trying every StandbyPoll, default 2 s) and take over when
	// that worker stops or dies, instead of stopping with an error.
	Standby     bool
	StandbyPoll time.Duration
	Log         io.Writer
	// OnRun, when set, is told of each run committed.
	OnRun func(RunInfo)
	// Designated, when set, gives each run the designated-vessel matcher
	// of the lists in force when it starts (ingest.Options.Designated), so
	// a list update reaches a running worker at its next run.
	Designated func(ctx context.Context) (func(imo, mmsi uint32) (string, string, bool), error)
	// Vessels, when set, makes the worker the sequencer of a split
	// (docs/scale.md, "Splitting the work"): it reads the whole stream
	// (Part must be the whole, 0 of 1) through the sequencer stage
	// (ingest.StageSequencer), stores that stage's events and checkpoint,
	// and publishes its items to ItemStream for Vessels vessel workers
	// (VesselWorker, partitions 0..Vessels-1), each run's before the run
	// is done.
	Vessels    int
	ItemStream string // default DefaultItemStream
	// Split, when its Areas are set, makes the sequencer an area
	// sequencer (detect.NewAreaSequencer) whose encounters, and as it
	// says the IMOs' users and the reception counts and gaps, go to the
	// stages' workers (StageWorker): it publishes their items too. Its
	// Vessels is Vessels. The split names the sequencer's state: a
	// changed split is a new state, read from the start of the stream.
	Split Split
}

// split is the sequencer's split.
func (w *Worker) split() Split {
	sp := w.Split
	sp.Vessels = w.Vessels
	return sp
}

// RunInfo says what one worker run did.
type RunInfo struct {
	From, To uint64 // stream sequences read
	Flush    bool
	Resumed  bool // an earlier attempt had begun it
	Result   ingest.Result
}

// ConsumerName is the partition's durable consumer.
func ConsumerName(stream string, p detect.Partition) string {
	return fmt.Sprintf("tidewatch-%s-p%d-of-%d", stream, p.Index, max(p.Count, 1))
}

// StateKey is the key of the partition's detector state in the store.
func StateKey(stream string, p detect.Partition) string {
	return fmt.Sprintf("nats/%s/%d-of-%d", stream, p.Index, max(p.Count, 1))
}

// SequencerKey is the key of the sequencer's detector state in the store
// (a sequencer for vessels vessel partitions).
func SequencerKey(stream string, vessels int) string {
	return fmt.Sprintf("nats/%s/sequencer-for-%d", stream, vessels)
}

func (w *Worker) stateKey() string {
	if w.Vessels > 0 {
		return SequencerKey(w.stream(), w.Vessels) + tagSuffix(w.split())
	}
	return StateKey(w.stream(), w.Part)
}

func (w *Worker) stream() string {
	if w.Stream == "" {
		return DefaultStream
	}
	return w.Stream
}

func (w *Worker) logf(format string, args ...any) {
	if w.Log != nil {
		fmt.Fprintf(w.Log, format+"\n", args...)
	}
}

// Run works until ctx ends (nil then) or an error stops it.
func (w *Worker) Run(ctx context.Context) error {
	if w.RunBytes <= 0 {
		w.RunBytes = 64 << 20
	}
	if w.Idle <= 0 {
		w.Idle = time.Second
	}
	if w.Part.Count <= 0 {
		w.Part.Count = 1
	}
	if w.Part.Index < 0 || w.Part.Index >= w.Part.Count {
		return fmt.Errorf("pipeline: partition %d of %d", w.Part.Index, w.Part.Count)
	}
	if w.Vessels < 0 || w.Vessels > 0 && w.Part.Count != 1 {
		return fmt.Errorf("pipeline: a sequencer reads the whole stream (partition %d of %d, for %d vessel partitions)", w.Part.Index, w.Part.Count, w.Vessels)
	}
	if w.Vessels == 0 && w.Split != (Split{}) {
		return errors.New("pipeline: a split's stages need a sequencer (Vessels)")
	}
	if w.Vessels > 0 {
		if err := w.split().Check(); err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		if _, err := EnsureItemStream(ctx, w.JS, w.itemStream(), Limits{}); err != nil {
			return err
		}
	}
	key := w.stateKey()
	for {
		err := w.runHeld(ctx, key)
		if errors.Is(err, errPublishItems) && ctx.Err() == nil {
			// NATS away while the sequencer published a run's items: the
			// run is not done; wait, and resume it from what is stored.
			w.logf("%v (starting again from what is stored)", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(w.Idle):
			}
			continue
		}
		if !w.Standby || !errors.Is(err, store.ErrLeaseLost) {
			return err
		}
		// Lost to another worker: stand by again, and take over from
		// what is stored when that one stops.
		w.logf("partition %d of %d: %v: standing by", w.Part.Index, w.Part.Count, err)
	}
}

// runHeld takes the partition's lock and works while it holds it.
func (w *Worker) runHeld(ctx context.Context, key string) error {
	lease, err := w.lock(ctx, key)
	if err != nil || lease == nil {
		return err
	}
	defer lease.Release()
	s, err := w.JS.Stream(ctx, w.stream())
	if err != nil {
		return fmt.Errorf("pipeline: stream %s: %w", w.stream(), err)
	}
	done, err := w.catchUp(ctx, s, lease)
	if err != nil {
		return err
	}
	cons, err := w.consumer(ctx, done+1)
	if err != nil {
		return err
	}
	// queue holds the messages fetched and not yet stored, in stream
	// order; runs are cut from its front.
	var queue []jetstream.Msg
	var queuedAt time.Time // when the queue's first message came
	for ctx.Err() == nil {
		// The server ends the pull after Idle (a client-side deadline
		// could drop messages already on their way), or sooner when a
		// run is due by RunEvery. Small pulls: a pull that expires while
		// its messages are on their way leaves them pending, which the
		// sequence check below catches (and costs a fetch again).
		wait := w.Idle
		if w.RunEvery > 0 {
			// A pull returns when full or expired: one longer than
			// RunEvery would hold what arrives meanwhile past it.
			wait = min(wait, w.RunEvery)
			if len(queue) > 0 {
				wait = min(wait, max(w.RunEvery-time.Since(queuedAt), 100*time.Millisecond))
			}
		}
		batch, err := cons.Fetch(32, jetstream.FetchMaxWait(wait))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			// The server went away (a restart) or the consumer did:
			// start again after what is stored.
			w.logf("fetch: %v (starting again after message %d)", err, done)
			select {
			case <-ctx.Done():
			case <-time.After(w.Idle):
			}
			if c, err := w.consumer(ctx, done+1); err == nil {
				cons, queue = c, nil
			}
			continue
		}
		got, missed := 0, false
		for m := range batch.Messages() {
			if missed {
				continue // drained; fetched again from the start
			}
			seq, err := seqOf(m)
			if err != nil {
				return fmt.Errorf("pipeline: message metadata: %w", err)
			}
			last := done
			if len(queue) > 0 {
				last, _ = seqOf(queue[len(queue)-1])
			}
			if seq <= last {
				// Redelivered: stored already (or queued already).
				if seq <= done {
					_ = m.Ack()
				}
				continue
			}
			if seq != last+1 {
				if _, err := s.GetMsg(ctx, last+1); !errors.Is(err, jetstream.ErrMsgNotFound) {
					w.logf("message %d arrived before %d (not removed from the stream): fetching again from %d", seq, last+1, done+1)
					missed = true
					continue
				}
			}
			got++
			if len(queue) == 0 {
				queuedAt = time.Now()
			}
			queue = append(queue, m)
		}
		if err := batch.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			w.logf("fetch: %v", err)
		}
		if missed {
			// A message the consumer passed over without delivering it
			// here: start again after what is stored.
			if c, err := w.consumer(ctx, done+1); err == nil {
				cons, queue = c, nil
			}
			continue
		}
		for ctx.Err() == nil {
			due := w.RunEvery > 0 && len(queue) > 0 && time.Since(queuedAt) >= w.RunEvery
			n, flush := w.cut(queue, got == 0 || due)
			if n == 0 {
				break
			}
			run := queue[:n]
			from, _ := seqOf(run[0])
			to, _ := seqOf(run[n-1])
			data := make([]block, n)
			for i, m := range run {
				data[i] = block{m.Data(), m.Headers()}
			}
			// The partition's lock can end while this worker goes on (on
			// PostgreSQL its connection ended): another worker may then
			// hold the partition, and this one must not store a run more.
			if err := lease.Held(ctx); errors.Is(err, store.ErrLeaseLost) {
				return fmt.Errorf("pipeline: partition %d of %d: the partition's lock was lost, another worker may hold it: %w", w.Part.Index, w.Part.Count, err)
			} else if err != nil && ctx.Err() == nil {
				w.logf("partition %d of %d: checking its lock: %v (going on)", w.Part.Index, w.Part.Count, err)
			}
			info, err := w.ingest(ctx, lease, done, from, to, data, flush, false)
			if err != nil {
				if ctx.Err() != nil {
					break // interrupted: nothing acked, the next start resumes the run
				}
				return err
			}
			if err := run[n-1].Ack(); err != nil {
				w.logf("ack %d: %v (the next start skips it)", to, err)
			}
			done = to
			if w.OnRun != nil {
				w.OnRun(info)
			}
			clear(run)
			queue = queue[n:]
			queuedAt = time.Now() // what is left came after the run's start
		}
	}
	return nil
}

// lock takes the partition's ingest lock as a lease its holder checks
// (on a store without leases: a lock that is never lost): nil, nil when
// ctx ended while standing by.
func (w *Worker) lock(ctx context.Context, key string) (store.Lease, error) {
	announced := false
	for {
		var lease store.Lease
		var err error
		if ls, ok := w.Store.(store.LeaseStore); ok {
			lease, err = ls.LockLease(ctx, key)
		} else {
			var unlock func() error
			if unlock, err = w.Store.LockIngest(ctx, key); err == nil {
				lease = heldLock(unlock)
			}
		}
		switch {
		case err == nil:
			if announced {
				w.logf("partition %d of %d: taking over", w.Part.Index, w.Part.Count)
			}
			return lease, nil
		case !w.Standby || !errors.Is(err, store.ErrLocked):
			return nil, fmt.Errorf("pipeline: partition %d of %d: %w", w.Part.Index, w.Part.Count, err)
		}
		if !announced {
			w.logf("partition %d of %d is held by another worker: standing by", w.Part.Index, w.Part.Count)
			announced = true
		}
		poll := w.StandbyPoll
		if poll <= 0 {
			poll = 2 * time.Second
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(poll):
		}
	}
}

// heldLock is a lock that is not lost while its process lives.
type heldLock func() error

func (heldLock) Held(context.Context) error { return nil }
func (u heldLock) Release() error           { return u() }

// cut says how many messages from the front of the queue make the next
// run: up to a flush mark, or RunBytes, or (quiet: the stream had nothing
// more, or the run is due by RunEvery) all of them; 0 to wait for more.
func (w *Worker) cut(queue []jetstream.Msg, quiet bool) (n int, flush bool) {
	size := 0
	for i, m := range queue {
		if m.Headers().Get(HeaderFlush) != "" {
			return i + 1, true
		}
		size += len(m.Data())
		if size >= w.RunBytes {
			return i + 1, false
		}
	}
	if quiet {
		return len(queue), false
	}
	return 0, false
}

// consumer (re)creates the partition's durable consumer to deliver from
// sequence from on: the store, not the consumer, says where the partition
// is, so messages a stopped worker fetched and never acked are delivered
// again at once rather than after the ack wait.
func (w *Worker) consumer(ctx context.Context, from uint64) (jetstream.Consumer, error) {
	name := ConsumerName(w.stream(), w.Part)
	if w.Vessels > 0 {
		name = fmt.Sprintf("tidewatch-%s-sequencer-for-%d%s", w.stream(), w.Vessels, tagSuffix(w.split()))
	}
	if err := w.JS.DeleteConsumer(ctx, w.stream(), name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("pipeline: consumer %s: %w", name, err)
	}
	c, err := w.JS.CreateConsumer(ctx, w.stream(), jetstream.ConsumerConfig{
		Durable:       name,
		Description:   fmt.Sprintf("tidewatch worker, partition %d of %d", w.Part.Index, w.Part.Count),
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   from,
		AckPolicy:     jetstream.AckAllPolicy,
		AckWait:       time.Hour, // a run acks when committed
		MaxAckPending: -1,
		FilterSubject: Subjects,
	})
	if err != nil {
		return nil, fmt.Errorf("pipeline: consumer %s: %w", name, err)
	}
	return c, nil
}

func seqOf(m jetstream.Msg) (uint64, error) {
	meta, err := m.Metadata()
	if err != nil {
		return 0, err
	}
	return meta.Sequence.Stream, nil
}

// inputName is the run's input name, which records its range.
func (w *Worker) inputName(from, to uint64) string {
	return fmt.Sprintf("nats:%s:%d-%d", w.stream(), from, to)
}

// inputID names a run by the partition and its first sequence, so that a
// restart finds it whatever range it will turn out to have.
func (w *Worker) inputID(from uint64) string {
	if w.Vessels > 0 {
		return fmt.Sprintf("nats:%s:sequencer-for-%d%s:%d", w.stream(), w.Vessels, tagSuffix(w.split()), from)
	}
	return fmt.Sprintf("nats:%s:%d-of-%d:%d", w.stream(), w.Part.Index, w.Part.Count, from)
}

func (w *Worker) options(flush bool) ingest.Options {
	o := w.Options
	o.StateKey = w.stateKey()
	o.Part = w.Part
	if w.Vessels > 0 {
		o.Stage = ingest.StageSequencer
		if sp := w.split(); sp.Areas > 0 {
			o.AreaSplit = &detect.Split{IMOs: sp.IMOs, Reception: sp.Reception}
		}
	}
	o.Flush = flush
	o.Detach = false
	return o
}

// block is one message of a run: its payload and headers.
type block struct {
	data   []byte
	header nats.Header
}

func (w *Worker) input(from, to uint64, data []block) ingest.Input {
	return ingest.Input{Name: w.inputName(from, to), ID: w.inputID(from), Open: func(context.Context) (ais.Source, io.Closer, error) {
		return &blockSource{blocks: data}, io.NopCloser(nil), nil
	}}
}

// blockSource reads a run's messages in order: consecutive NMEA blocks
// through one NMEA reader (a sentence group is never cut between
// blocks), each CSV block (HeaderCSV) through a CSV reader of its own,
// given the header line and seeded with the file's reader's memory of the
// block's vessels (HeaderCSVStatic).
type blockSource struct {
	blocks []block
	cur    ais.Source
	done   ais.Stats // the readers finished
}

func (b *blockSource) Next(m *ais.Message) error {
	for {
		if b.cur == nil {
			if len(b.blocks) == 0 {
				return io.EOF
			}
			src, err := b.open()
			if err != nil {
				return err
			}
			b.cur = src
		}
		err := b.cur.Next(m)
		if err == io.EOF {
			b.done.Add(b.cur.Stats())
			b.cur = nil
			continue
		}
		return err
	}
}

// open opens the reader of the next blocks.
func (b *blockSource) open() (ais.Source, error) {
	first := b.blocks[0]
	if header := first.header.Get(HeaderCSV); header != "" {
		b.blocks = b.blocks[1:]
		cr, err := ais.NewCSVReader(io.MultiReader(strings.NewReader(header+"\n"), bytes.NewReader(first.data)))
		if err != nil {
			return nil, fmt.Errorf("pipeline: CSV block: %w", err)
		}
		seed, err := parseStatic(first.header.Get(HeaderCSVStatic))
		if err != nil {
			return nil, err
		}
		cr.SeedStatic(seed)
		return cr, nil
	}
	n := 0
	for n < len(b.blocks) && b.blocks[n].header.Get(HeaderCSV) == "" {
		n++
	}
	rs := make([]io.Reader, n)
	for i, d := range b.blocks[:n] {
		rs[i] = bytes.NewReader(d.data)
	}
	b.blocks = b.blocks[n:]
	return ais.NewReader(io.MultiReader(rs...))
}

// Stats sums the counts of the readers so far.
func (b *blockSource) Stats() *ais.Stats {
	st := b.done
	if b.cur != nil {
		st.Add(b.cur.Stats())
	}
	return &st
}

// fenced is the store a run writes through: it checks the partition's
// lease before each batch it commits. A run is many batches (one of
// 256 MiB takes seconds), and a worker whose lock ended while it went on
// must not commit one more: another worker may be resuming that run. A
// check that cannot tell lets the batch go, as the check before a run
// does (the store's run fence still refuses a batch of a run another
// worker has moved on).
type fenced struct {
	store.IngestStore
	lease store.Lease
	part  detect.Partition
}

func (f fenced) CommitBatch(ctx context.Context, b *store.Batch) error {
	if err := f.lease.Held(ctx); errors.Is(err, store.ErrLeaseLost) {
		return fmt.Errorf("partition %d of %d: the partition's lock was lost, another worker may hold it: %w", f.part.Index, f.part.Count, err)
	}
	return f.IngestStore.CommitBatch(ctx, b)
}

// ingest stores the run from-to of the stream; after is the last
// sequence the partition stored before it (a sequencer's items carry it,
// HeaderRunAfter, for the vessel workers to see a run missing).
func (w *Worker) ingest(ctx context.Context, lease store.Lease, after, from, to uint64, data []block, flush, resumed bool) (RunInfo, error) {
	o := w.options(flush)
	if w.Designated != nil {
		d, err := w.Designated(ctx)
		if err != nil {
			return RunInfo{From: from, To: to}, fmt.Errorf("pipeline: the lists in force: %w", err)
		}
		o.Designated = d
	}
	if w.Vessels > 0 {
		o.Items = w.items(after, from, to, flush)
	}
	res, err := ingest.Run(ctx, fenced{w.Store, lease, w.Part}, []ingest.Input{w.input(from, to, data)}, o)
	info := RunInfo{From: from, To: to, Flush: flush, Resumed: resumed || res.Resumed, Result: res}
	if err != nil {
		return info, fmt.Errorf("pipeline: run %d-%d: %w", from, to, err)
	}
	if len(res.Failed) > 0 {
		return info, fmt.Errorf("pipeline: run %d-%d: %v", from, to, errors.Join(res.Failed...))
	}
	if !res.Run.Done && !res.AlreadyDone {
		return info, fmt.Errorf("pipeline: run %d-%d did not complete", from, to)
	}
	// The hint of where the partition is; the runs are the truth.
	if err := w.Store.PutDetectorState(ctx, o.StateKey+"/seq", []byte(strconv.FormatUint(to, 10))); err != nil {
		w.logf("note: progress hint not stored: %v", err)
	}
	return info, nil
}

// catchUp finds the last sequence the partition stored, finishing a run
// an earlier worker began and did not complete.
func (w *Worker) catchUp(ctx context.Context, s jetstream.Stream, lease store.Lease) (uint64, error) {
	var done uint64
	key := w.stateKey()
	if b, err := w.Store.DetectorState(ctx, key+"/seq"); err == nil {
		done, _ = strconv.ParseUint(string(b), 10, 64)
	} else if !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	for {
		run, flush, err := w.runFrom(ctx, done+1)
		if errors.Is(err, store.ErrNotFound) {
			return done, nil
		}
		if err != nil {
			return 0, err
		}
		from, to, ok := w.rangeOf(run)
		if !ok {
			return 0, fmt.Errorf("pipeline: run %s names no range of the stream (%v)", run.ID, run.Inputs)
		}
		if !run.Done {
			w.logf("resuming run %d-%d (%d batches committed before)", from, to, run.Batches)
			data, err := readRange(ctx, s, from, to)
			if err != nil {
				return 0, err
			}
			info, err := w.ingest(ctx, lease, done, from, to, data, flush, true)
			if err != nil {
				return 0, err
			}
			if w.OnRun != nil {
				w.OnRun(info)
			}
		}
		done = to
	}
}

// runFrom looks up the partition's run starting at sequence from (a
// flushing one or not).
func (w *Worker) runFrom(ctx context.Context, from uint64) (store.Run, bool, error) {
	for _, flush := range []bool{false, true} {
		id := ingest.RunID([]ingest.Input{{ID: w.inputID(from)}}, w.options(flush))
		r, err := w.Store.Run(ctx, id)
		if err == nil {
			return r, flush, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Run{}, false, err
		}
	}
	return store.Run{}, false, store.ErrNotFound
}

func (w *Worker) rangeOf(r store.Run) (from, to uint64, ok bool) {
	if len(r.Inputs) != 1 {
		return 0, 0, false
	}
	rest, found := strings.CutPrefix(r.Inputs[0], "nats:"+w.stream()+":")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(rest, "-")
	if !found {
		return 0, 0, false
	}
	from, err1 := strconv.ParseUint(a, 10, 64)
	to, err2 := strconv.ParseUint(b, 10, 64)
	return from, to, err1 == nil && err2 == nil && from <= to
}

// readRange reads the messages from..to of the stream again (those
// removed by the stream's limits meanwhile are missing: counted as an
// error, since the run would not be the one begun).
func readRange(ctx context.Context, s jetstream.Stream, from, to uint64) ([]block, error) {
	var out []block
	for seq := from; seq <= to; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, fmt.Errorf("pipeline: message %d of the stream is gone (its limits removed it): the run %d-%d cannot be read again", seq, from, to)
		}
		if err != nil {
			return nil, fmt.Errorf("pipeline: read message %d: %w", seq, err)
		}
		out = append(out, block{m.Data, m.Header})
	}
	return out, nil
}
