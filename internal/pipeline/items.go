package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/store"
)

// The split (docs/scale.md, "Splitting the work"): a sequencer (a Worker
// with Vessels set) reads the raw AIS stream and publishes, for each of
// its runs, the items of each vessel partition (detect.Item, in the
// wire form detect.AppendItems) to the item stream, subject
// ItemSubject(N, I); vessel workers (VesselWorker), one per partition,
// apply them.
//
// A sequencer's run reading AIS sequences A to B publishes, per
// partition, K >= 1 batches numbered (A, 0..K-1) (headers HeaderRun,
// HeaderBatch, HeaderBatches; HeaderFlush on each batch of a run ending
// at a flush mark; HeaderDetached on each batch of a run it read on its
// own; HeaderRunAfter, the end of the run it stored before), and waits
// for their acks before it commits the batch that completes the run. A
// run resumed after a stop is the same range read from the same state:
// it publishes the same batches under the same numbers (and message ids: the stream stores a batch published twice
// within two minutes once). A vessel worker makes one run of each
// sequencer run's batches, named by A: batches of a run it has stored,
// and batches it holds already, are skipped, so a batch delivered or
// published twice is applied once. A run that does not start where the
// last one the worker stored ended (HeaderRunAfter) stops the worker: the
// runs between are missing (removed by the item stream's limits).

// DefaultItemStream is the item stream's name; its subjects are
// ItemSubjects.
const DefaultItemStream = "TIDEWATCH_ITEMS"

// ItemSubjects is the item stream's filter.
const ItemSubjects = "tidewatch.items.>"

// ItemSubject is where the sequencer publishes the items of partition i
// of n.
func ItemSubject(n, i int) string { return fmt.Sprintf("tidewatch.items.%d.%d", n, i) }

// The item batches' headers.
const (
	HeaderRun     = "Tidewatch-Run"     // the sequencer run's first AIS sequence (A)
	HeaderRunTo   = "Tidewatch-Run-To"  // and its last (B)
	HeaderBatch   = "Tidewatch-Batch"   // the batch's index in the run, from 0
	HeaderBatches = "Tidewatch-Batches" // the run's batches for this partition
	// HeaderRunAfter is the last AIS sequence the sequencer stored
	// before the run (the end of its run before; 0 before its first):
	// the vessel worker's last run must have ended there.
	HeaderRunAfter = "Tidewatch-Run-After"
	// HeaderDetached marks the batches of a run the sequencer read on
	// its own (ingest.Result.Detached: AIS from before its reorder
	// window), from a fresh sequencer: the vessel workers read it on
	// their own too, their stored state left as it was.
	HeaderDetached = "Tidewatch-Detached"
)

// itemsPerBatch and itemBatchBytes bound one item batch (a NATS message,
// 1 MiB at most by default): about 78 bytes an item.
const (
	itemsPerBatch  = 4096
	itemBatchBytes = 768 << 10
)

// EnsureItemStream creates the item stream when it is missing (file
// storage, limits retention, two minutes of duplicate detection) and
// otherwise changes only the limits lim sets (as EnsureStream).
func EnsureItemStream(ctx context.Context, js jetstream.JetStream, name string, lim Limits) (jetstream.Stream, error) {
	if name == "" {
		name = DefaultItemStream
	}
	return ensureStream(ctx, js, name, ItemSubjects, lim)
}

func (w *Worker) itemStream() string {
	if w.ItemStream == "" {
		return DefaultItemStream
	}
	return w.ItemStream
}

// itemBatches gathers one sequencer pass's items per partition, in
// encoded batches.
type itemBatches struct {
	parts []detect.Partition
	cur   [][]detect.Item // per partition, not yet encoded
	out   [][][]byte      // per partition, encoded batches
}

func (b *itemBatches) send(it detect.Item) {
	if it.Tick() {
		for i := range b.parts {
			b.add(i, it)
		}
		return
	}
	for i, p := range b.parts {
		if p.OwnsMMSI(it.Fix.MMSI) {
			b.add(i, it)
			return
		}
	}
}

func (b *itemBatches) add(i int, it detect.Item) {
	b.cur[i] = append(b.cur[i], it)
	if len(b.cur[i]) >= itemsPerBatch {
		b.seal(i)
	}
}

// seal encodes partition i's pending items as one batch or more (halved
// until each is under itemBatchBytes).
func (b *itemBatches) seal(i int) {
	var enc func(items []detect.Item)
	enc = func(items []detect.Item) {
		data := detect.AppendItems(make([]byte, 0, 80*len(items)+64), items)
		if len(data) > itemBatchBytes && len(items) > 1 {
			enc(items[:len(items)/2])
			enc(items[len(items)/2:])
			return
		}
		b.out[i] = append(b.out[i], data)
	}
	enc(b.cur[i])
	clear(b.cur[i])
	b.cur[i] = b.cur[i][:0]
}

// items is the sink of the sequencer's run from-to, stored after the
// sequence after (ingest.Options.Items).
func (w *Worker) items(after, from, to uint64, flush bool) func(bool) (func(detect.Item), func(context.Context) error) {
	return func(detached bool) (func(detect.Item), func(context.Context) error) {
		b := &itemBatches{parts: make([]detect.Partition, w.Vessels), cur: make([][]detect.Item, w.Vessels), out: make([][][]byte, w.Vessels)}
		for i := range b.parts {
			b.parts[i] = detect.Partition{Index: i, Count: w.Vessels}
		}
		h := itemHeader{after: after, from: from, to: to, flush: flush, detached: detached}
		return b.send, func(ctx context.Context) error { return w.publishItems(ctx, b, h) }
	}
}

// publishItems publishes a pass's batches and waits for their acks.
func (w *Worker) publishItems(ctx context.Context, b *itemBatches, h itemHeader) error {
	from := h.from
	var futures []jetstream.PubAckFuture
	var st PublishStats
	for i := range b.parts {
		if len(b.cur[i]) > 0 || len(b.out[i]) == 0 {
			b.seal(i) // every partition gets at least one batch a run
		}
		k := len(b.out[i])
		for j, data := range b.out[i] {
			m := nats.NewMsg(ItemSubject(w.Vessels, i))
			m.Data = data
			m.Header.Set(nats.MsgIdHdr, fmt.Sprintf("items:%s:%d:%d:%d:%d", w.stream(), w.Vessels, i, from, j))
			m.Header.Set(HeaderRun, strconv.FormatUint(from, 10))
			m.Header.Set(HeaderRunTo, strconv.FormatUint(h.to, 10))
			m.Header.Set(HeaderRunAfter, strconv.FormatUint(h.after, 10))
			m.Header.Set(HeaderBatch, strconv.Itoa(j))
			m.Header.Set(HeaderBatches, strconv.Itoa(k))
			if h.flush {
				m.Header.Set(HeaderFlush, "1")
			}
			if h.detached {
				m.Header.Set(HeaderDetached, "1")
			}
			f, err := w.JS.PublishMsgAsync(m)
			if err != nil {
				return fmt.Errorf("%w: items %d of run %d, partition %d: %w", errPublishItems, j, from, i, err)
			}
			futures = append(futures, f)
			if len(futures) >= 256 {
				if err := waitAcks(ctx, &futures, &st); err != nil && ctx.Err() == nil {
					return fmt.Errorf("%w: run %d: %w", errPublishItems, from, err)
				} else if err != nil {
					return err
				}
			}
		}
		b.out[i] = nil
	}
	if err := waitAcks(ctx, &futures, &st); err != nil && ctx.Err() == nil {
		return fmt.Errorf("%w: run %d: %w", errPublishItems, from, err)
	}
	return ctx.Err()
}

// waitAcks waits for the acks, a minute at most: an ack lost with a
// connection (NATS restarted) never comes, and the run is then published
// again.
func waitAcks(ctx context.Context, fs *[]jetstream.PubAckFuture, st *PublishStats) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return wait(ctx, fs, st)
}

// errPublishItems is a sequencer's run that could not publish its items
// (NATS away): the run is not done, and the sequencer starts again from
// what is stored, resuming it.
var errPublishItems = errors.New("nats: items not published")

// VesselWorker is the vessel worker of one partition of a split: it
// reads its subject of the item stream (ItemSubject) through the durable
// consumer of its own and ingests each sequencer run's items as one run
// (ingest.StageVessels, named by the sequencer run's first sequence),
// storing its events, its MMSIs' positions and identity history and its
// checkpoint; it acks a run's last batch once that run has committed.
//
// Restarts lose and double nothing: the store says which sequencer run
// the partition stored last (a hint under its key+"/seq"; the runs
// themselves are the truth: a run stored before is not stored again),
// the consumer delivers from after it, and a run begun and not finished
// is resumed by ingest (same name, same start state).
type VesselWorker struct {
	JS jetstream.JetStream
	// Stream is the raw AIS stream the sequencer reads (default
	// DefaultStream: it names the keys); ItemStream the item stream.
	Stream, ItemStream string
	// Part is this worker's partition; Part.Count is the sequencer's
	// Vessels.
	Part    detect.Partition
	Store   store.IngestStore
	Options ingest.Options
	// Idle is how long a pull waits for messages (default 1 s).
	Idle        time.Duration
	Standby     bool
	StandbyPoll time.Duration
	Log         io.Writer
	OnRun       func(RunInfo)
	Designated  func(ctx context.Context) (func(imo, mmsi uint32) (string, string, bool), error)
}

// VesselKey is the key of a vessel partition's detector state.
func VesselKey(stream string, p detect.Partition) string {
	return fmt.Sprintf("nats/%s/vessels-%d-of-%d", stream, p.Index, p.Count)
}

func (v *VesselWorker) stream() string {
	if v.Stream == "" {
		return DefaultStream
	}
	return v.Stream
}

func (v *VesselWorker) itemStream() string {
	if v.ItemStream == "" {
		return DefaultItemStream
	}
	return v.ItemStream
}

func (v *VesselWorker) logf(format string, args ...any) {
	if v.Log != nil {
		fmt.Fprintf(v.Log, format+"\n", args...)
	}
}

// the Worker that holds the lock and the logging for v.
func (v *VesselWorker) locker() *Worker {
	return &Worker{Store: v.Store, Part: v.Part, Standby: v.Standby, StandbyPoll: v.StandbyPoll, Log: v.Log}
}

// Run works until ctx ends (nil then) or an error stops it.
func (v *VesselWorker) Run(ctx context.Context) error {
	if v.Idle <= 0 {
		v.Idle = time.Second
	}
	if v.Part.Count < 1 || v.Part.Index < 0 || v.Part.Index >= v.Part.Count {
		return fmt.Errorf("pipeline: vessel partition %d of %d", v.Part.Index, v.Part.Count)
	}
	if _, err := EnsureItemStream(ctx, v.JS, v.itemStream(), Limits{}); err != nil {
		return err
	}
	key := VesselKey(v.stream(), v.Part)
	for {
		err := v.runHeld(ctx, key)
		if !v.Standby || !errors.Is(err, store.ErrLeaseLost) {
			return err
		}
		v.logf("vessel partition %d of %d: %v: standing by", v.Part.Index, v.Part.Count, err)
	}
}

// itemRun is a sequencer run's batches as they come: in any order (a
// publish that failed for some of a run's batches and succeeded for
// others, then retried whole, stores the run's batches out of order),
// each once.
type itemRun struct {
	from, to        uint64
	total           int
	flush, detached bool
	batches         [][]byte // by index; nil: not come yet
	have            int
	last            jetstream.Msg
}

type itemHeader struct {
	from, to     uint64
	batch, total int
	flush        bool
	detached     bool
	// after: HeaderRunAfter; hasAfter: the batch has it (a sequencer of
	// an earlier version does not send it).
	after    uint64
	hasAfter bool
}

func parseItemHeader(h nats.Header) (itemHeader, error) {
	var x itemHeader
	var errs [4]error
	x.from, errs[0] = strconv.ParseUint(h.Get(HeaderRun), 10, 64)
	x.to, errs[1] = strconv.ParseUint(h.Get(HeaderRunTo), 10, 64)
	x.batch, errs[2] = strconv.Atoi(h.Get(HeaderBatch))
	x.total, errs[3] = strconv.Atoi(h.Get(HeaderBatches))
	if err := errors.Join(errs[:]...); err != nil || x.total < 1 || x.batch < 0 || x.batch >= x.total || x.to < x.from {
		return x, fmt.Errorf("not an item batch of a sequencer run (headers %s %q, %s %q, %s %q, %s %q)", HeaderRun, h.Get(HeaderRun),
			HeaderRunTo, h.Get(HeaderRunTo), HeaderBatch, h.Get(HeaderBatch), HeaderBatches, h.Get(HeaderBatches))
	}
	x.flush = h.Get(HeaderFlush) != ""
	x.detached = h.Get(HeaderDetached) != ""
	if a := h.Get(HeaderRunAfter); a != "" {
		var err error
		if x.after, err = strconv.ParseUint(a, 10, 64); err != nil || x.after >= x.from {
			return x, fmt.Errorf("not an item batch of a sequencer run (header %s %q, run %d)", HeaderRunAfter, a, x.from)
		}
		x.hasAfter = true
	}
	return x, nil
}

func (v *VesselWorker) runHeld(ctx context.Context, key string) error {
	lease, err := v.locker().lock(ctx, key)
	if err != nil || lease == nil {
		return err
	}
	defer lease.Release()
	// done: the item stream's sequence of the last batch stored; doneRun
	// the sequencer run it ended, doneTo that run's end (0: not known, a
	// hint of an earlier version or none).
	var done, doneRun, doneTo uint64
	if b, err := v.Store.DetectorState(ctx, key+"/seq"); err == nil {
		f := strings.Fields(string(b))
		for i, p := range []*uint64{&done, &doneRun, &doneTo} {
			if i < len(f) {
				*p, _ = strconv.ParseUint(f[i], 10, 64)
			}
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	cons, err := v.consumer(ctx, done+1)
	if err != nil {
		return err
	}
	var cur *itemRun
	misses := 0 // runs found incomplete since the last stored
	quiet := 0  // fetches that brought nothing while a run was incomplete
	var quietRun uint64
	again := func(why string) {
		v.logf("vessel partition %d of %d: %s: fetching again from message %d", v.Part.Index, v.Part.Count, why, done+1)
		if c, err := v.consumer(ctx, done+1); err == nil {
			cons, cur = c, nil
		}
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(32, jetstream.FetchMaxWait(v.Idle))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(v.Idle):
			}
			again(fmt.Sprintf("fetch: %v", err))
			continue
		}
		missed, got := "", 0
		for m := range batch.Messages() {
			got++
			if missed != "" {
				continue // drained; fetched again
			}
			seq, err := seqOf(m)
			if err != nil {
				return fmt.Errorf("pipeline: message metadata: %w", err)
			}
			if seq <= done {
				_ = m.Ack() // stored already
				continue
			}
			h, err := parseItemHeader(m.Headers())
			if err != nil {
				return fmt.Errorf("pipeline: item stream %s, message %d: %w", v.itemStream(), seq, err)
			}
			switch {
			case h.from <= doneRun:
				continue // a batch of a run stored already (published again)
			case cur != nil && h.from < cur.from:
				// A run after the last stored and before the one begun
				// was never applied: the sequencer publishes its runs in
				// order, so the run begun does not follow the last stored.
				return fmt.Errorf("pipeline: vessel partition %d of %d: item stream %s, message %d: a batch of run %d came after run %d began, and run %d was never stored here (the last stored: run %d): the runs are not in the sequencer's order",
					v.Part.Index, v.Part.Count, v.itemStream(), seq, h.from, cur.from, h.from, doneRun)
			case cur == nil && doneTo > 0 && (h.hasAfter && h.after != doneTo || !h.hasAfter && h.from != doneTo+1):
				// The sequencer's run before this one is not the last run
				// stored here: the runs between were passed over, or removed.
				missed = fmt.Sprintf("run %d-%d follows the sequencer's run ending at %d, and the last run stored here ended at %d (run %d-%d): the runs between are missing",
					h.from, h.to, max(h.after, h.from-1), doneTo, doneRun, doneTo)
				continue
			case cur == nil && done == 0 && doneRun == 0 && h.hasAfter && h.after != 0:
				// Nothing stored here yet, and the first run on the stream
				// is not the sequencer's first: its runs before were
				// removed (or published before this stream), and a vessel
				// partition applies every run from the sequencer's first.
				missed = fmt.Sprintf("the first run here, %d-%d, follows the sequencer's run ending at %d, and nothing is stored here yet: the sequencer's runs before it are missing",
					h.from, h.to, h.after)
				continue
			case cur != nil && h.from > cur.from:
				// The sequencer publishes a run only once the run before
				// it is published whole: the batches missing were passed
				// over, or removed.
				missed = fmt.Sprintf("run %d began before run %d's batches all came (%d of %d)", h.from, cur.from, cur.have, cur.total)
				continue
			case cur == nil:
				cur = &itemRun{from: h.from, to: h.to, total: h.total, flush: h.flush, detached: h.detached, batches: make([][]byte, h.total)}
			}
			if h.total != cur.total || h.to != cur.to || h.flush != cur.flush || h.detached != cur.detached {
				return fmt.Errorf("pipeline: item stream %s, message %d: run %d's batches disagree (%d-%d of %d batches, flush %v, detached %v; then %d-%d of %d, flush %v, detached %v)",
					v.itemStream(), seq, cur.from, cur.from, cur.to, cur.total, cur.flush, cur.detached, h.from, h.to, h.total, h.flush, h.detached)
			}
			if cur.batches[h.batch] != nil {
				continue // held already
			}
			cur.batches[h.batch] = m.Data()
			cur.have++
			cur.last = m // the latest in the stream's order: acking it acks the run's
			if cur.have < cur.total {
				continue
			}
			if err := lease.Held(ctx); errors.Is(err, store.ErrLeaseLost) {
				return fmt.Errorf("pipeline: vessel partition %d of %d: the partition's lock was lost, another worker may hold it: %w", v.Part.Index, v.Part.Count, err)
			} else if err != nil && ctx.Err() == nil {
				v.logf("vessel partition %d of %d: checking its lock: %v (going on)", v.Part.Index, v.Part.Count, err)
			}
			info, err := v.ingest(ctx, lease, key, cur)
			if err != nil {
				if ctx.Err() != nil {
					return nil // interrupted: nothing acked, the next start resumes the run
				}
				return err
			}
			if err := cur.last.Ack(); err != nil {
				v.logf("ack %d: %v (the next start skips it)", seq, err)
			}
			done, doneRun, doneTo, cur, misses = seq, info.From, info.To, nil, 0
			if err := v.Store.PutDetectorState(ctx, key+"/seq", fmt.Appendf(nil, "%d %d %d", done, doneRun, doneTo)); err != nil {
				v.logf("note: progress hint not stored: %v", err)
			}
			if v.OnRun != nil {
				v.OnRun(info)
			}
		}
		if err := batch.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			v.logf("fetch: %v", err)
		}
		if got == 0 && cur != nil && missed == "" {
			// A pull that expired with a run's last batches on their way
			// leaves them pending until the ack wait; nothing comes
			// after them to show they are missing. Fetch again.
			if quiet++; quiet >= 3 {
				quiet = 0
				if cur.from != quietRun { // said once a run: the sequencer may be down
					quietRun = cur.from
					v.logf("vessel partition %d of %d: run %d has %d of its %d batches and nothing more came: fetching again from message %d (and every %s while so)",
						v.Part.Index, v.Part.Count, cur.from, cur.have, cur.total, done+1, 3*v.Idle)
				}
				if c, err := v.consumer(ctx, done+1); err == nil {
					cons, cur = c, nil
				}
			}
		} else {
			quiet = 0
		}
		if missed != "" {
			if misses++; misses > 3 {
				// Not a pull that expired with messages on their way:
				// the batches are not on the stream.
				return fmt.Errorf("pipeline: vessel partition %d of %d: %s, fetched again 3 times from message %d: the item stream %s lacks them (removed by its limits?)",
					v.Part.Index, v.Part.Count, missed, done+1, v.itemStream())
			}
			again(missed)
		}
	}
	return nil
}

// consumer (re)creates the partition's durable consumer to deliver from
// the item stream's sequence from on (as Worker.consumer).
func (v *VesselWorker) consumer(ctx context.Context, from uint64) (jetstream.Consumer, error) {
	name := fmt.Sprintf("tidewatch-%s-vessels-%d-of-%d", v.itemStream(), v.Part.Index, v.Part.Count)
	if err := v.JS.DeleteConsumer(ctx, v.itemStream(), name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("pipeline: consumer %s: %w", name, err)
	}
	c, err := v.JS.CreateConsumer(ctx, v.itemStream(), jetstream.ConsumerConfig{
		Durable:       name,
		Description:   fmt.Sprintf("tidewatch vessel worker, partition %d of %d", v.Part.Index, v.Part.Count),
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   from,
		AckPolicy:     jetstream.AckAllPolicy,
		AckWait:       time.Hour, // a run acks when committed
		MaxAckPending: -1,
		FilterSubject: ItemSubject(v.Part.Count, v.Part.Index),
	})
	if err != nil {
		return nil, fmt.Errorf("pipeline: consumer %s: %w", name, err)
	}
	return c, nil
}

// ingest stores one sequencer run's items as a run of the partition.
func (v *VesselWorker) ingest(ctx context.Context, lease store.Lease, key string, r *itemRun) (RunInfo, error) {
	o := v.Options
	// A run the sequencer read on its own is read on its own here too:
	// from a fresh vessel worker, the stored state left as it was.
	o.StateKey, o.Part, o.Flush, o.Detach, o.Stage = key, v.Part, r.flush, r.detached, ingest.StageVessels
	if v.Designated != nil {
		d, err := v.Designated(ctx)
		if err != nil {
			return RunInfo{From: r.from, To: r.to}, fmt.Errorf("pipeline: the lists in force: %w", err)
		}
		o.Designated = d
	}
	batches := r.batches
	in := ingest.Input{
		Name: fmt.Sprintf("items:%s:%d-%d", v.stream(), r.from, r.to),
		ID:   fmt.Sprintf("items:%s:%d-of-%d:%d", v.stream(), v.Part.Index, v.Part.Count, r.from),
		Items: func(ctx context.Context, apply func(*detect.Item)) error {
			for k, b := range batches {
				items, err := detect.DecodeItems(b)
				if err != nil {
					return fmt.Errorf("batch %d: %w", k, err)
				}
				for i := range items {
					apply(&items[i])
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
			return nil
		},
	}
	res, err := ingest.Run(ctx, fenced{v.Store, lease, v.Part}, []ingest.Input{in}, o)
	info := RunInfo{From: r.from, To: r.to, Flush: r.flush, Resumed: res.Resumed, Result: res}
	if err != nil {
		return info, fmt.Errorf("pipeline: vessel run %d-%d: %w", r.from, r.to, err)
	}
	if len(res.Failed) > 0 {
		return info, fmt.Errorf("pipeline: vessel run %d-%d: %v", r.from, r.to, errors.Join(res.Failed...))
	}
	if !res.Run.Done && !res.AlreadyDone {
		return info, fmt.Errorf("pipeline: vessel run %d-%d did not complete", r.from, r.to)
	}
	return info, nil
}
