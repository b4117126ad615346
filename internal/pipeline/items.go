package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
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

// itemTarget is one subject a pass's items go to: the items it takes,
// and its batches' message ids (id, then the run and the batch index)
// and extra headers.
type itemTarget struct {
	subject string
	id      string
	takes   func(*detect.Item) bool
	header  nats.Header
}

// itemBatches gathers one pass's items per target, in encoded batches.
type itemBatches struct {
	targets []itemTarget
	cur     [][]detect.Item // per target, not yet encoded
	out     [][][]byte      // per target, encoded batches
}

func newItemBatches(targets []itemTarget) *itemBatches {
	return &itemBatches{targets: targets, cur: make([][]detect.Item, len(targets)), out: make([][][]byte, len(targets))}
}

func (b *itemBatches) send(it detect.Item) {
	for i := range b.targets {
		if b.targets[i].takes(&it) {
			b.add(i, it)
		}
	}
}

func (b *itemBatches) add(i int, it detect.Item) {
	b.cur[i] = append(b.cur[i], it)
	if len(b.cur[i]) >= itemsPerBatch {
		b.seal(i)
	}
}

// seal encodes target i's pending items as one batch or more (halved
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

// vesselTargets are the vessel partitions' subjects: their MMSIs' items
// and every tick.
func vesselTargets(stream string, sp Split) []itemTarget {
	var ts []itemTarget
	for i := range sp.Vessels {
		p := detect.Partition{Index: i, Count: sp.Vessels}
		id := fmt.Sprintf("items:%s:%d:%d", stream, sp.Vessels, i)
		if sp.Areas > 0 {
			id = fmt.Sprintf("items:%s:%s:vessels:%d", stream, sp.Tag(), i)
		}
		ts = append(ts, itemTarget{subject: VesselSubject(sp, i), id: id, takes: func(it *detect.Item) bool { return it.For(p) }})
	}
	return ts
}

// items is the sink of the sequencer's run from-to, stored after the
// sequence after (ingest.Options.Items): its items go to the vessel
// partitions and, with a split, to the stages' partitions.
func (w *Worker) items(after, from, to uint64, flush bool) func(bool) (func(detect.Item), func(context.Context) error) {
	return func(detached bool) (func(detect.Item), func(context.Context) error) {
		sp := w.split()
		b := newItemBatches(append(vesselTargets(w.stream(), sp), stageTargets(w.stream(), sp)...))
		h := itemHeader{after: after, from: from, to: to, flush: flush, detached: detached}
		return b.send, func(ctx context.Context) error { return publishBatches(ctx, w.JS, b, h) }
	}
}

// publishBatches publishes a pass's batches and waits for their acks:
// every target gets at least one batch a run, so each knows when a
// run's batches are all in.
func publishBatches(ctx context.Context, js jetstream.JetStream, b *itemBatches, h itemHeader) error {
	from := h.from
	var futures []jetstream.PubAckFuture
	var st PublishStats
	for i, t := range b.targets {
		if len(b.cur[i]) > 0 || len(b.out[i]) == 0 {
			b.seal(i)
		}
		k := len(b.out[i])
		for j, data := range b.out[i] {
			m := nats.NewMsg(t.subject)
			m.Data = data
			for name, v := range t.header {
				m.Header[name] = v
			}
			m.Header.Set(nats.MsgIdHdr, fmt.Sprintf("%s:%d:%d", t.id, from, j))
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
			f, err := js.PublishMsgAsync(m)
			if err != nil {
				return fmt.Errorf("%w: batch %d of run %d to %s: %w", errPublishItems, j, from, t.subject, err)
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
	// Split is the sequencer's split, when it has stages behind an area
	// sequencer (it names the partition's key); its Vessels is
	// Part.Count.
	Split Split
}

// VesselKey is the key of a vessel partition's detector state.
func VesselKey(stream string, p detect.Partition) string {
	return fmt.Sprintf("nats/%s/vessels-%d-of-%d", stream, p.Index, p.Count)
}

func (v *VesselWorker) gatherer() *gatherer {
	return &gatherer{JS: v.JS, Stream: v.Stream, ItemStream: v.ItemStream, Part: v.Part, Store: v.Store, Idle: v.Idle, Standby: v.Standby,
		StandbyPoll: v.StandbyPoll, Log: v.Log, OnRun: v.OnRun}
}

// Run works until ctx ends (nil then) or an error stops it.
func (v *VesselWorker) Run(ctx context.Context) error {
	if v.Part.Count < 1 || v.Part.Index < 0 || v.Part.Index >= v.Part.Count {
		return fmt.Errorf("pipeline: vessel partition %d of %d", v.Part.Index, v.Part.Count)
	}
	sp := v.Split
	if sp.Vessels == 0 {
		sp.Vessels = v.Part.Count
	}
	if err := sp.Check(); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	if sp.Vessels != v.Part.Count {
		return fmt.Errorf("pipeline: vessel partition %d of %d in a split of %d vessel partitions", v.Part.Index, v.Part.Count, sp.Vessels)
	}
	g := v.gatherer()
	spec := stageSpec{
		who:      fmt.Sprintf("vessel partition %d of %d", v.Part.Index, v.Part.Count),
		key:      StageKey(g.stream(), sp, StageVessels, v.Part.Index),
		consumer: fmt.Sprintf("tidewatch-%s-vessels-%d-of-%d%s", g.itemStream(), v.Part.Index, v.Part.Count, tagSuffix(sp)),
		subjects: []string{VesselSubject(sp, v.Part.Index)},
		origins:  1,
		origin:   func(string, nats.Header) (int, error) { return 0, nil },
	}
	spec.store = func(ctx context.Context, lease store.Lease, r *stageRun) (RunInfo, error) {
		return v.ingest(ctx, g, lease, spec.key, r)
	}
	return g.run(ctx, spec)
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

// ingest stores one sequencer run's items as a run of the partition.
func (v *VesselWorker) ingest(ctx context.Context, g *gatherer, lease store.Lease, key string, r *stageRun) (RunInfo, error) {
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
	batches := r.origins[0].batches
	in := ingest.Input{
		Name: fmt.Sprintf("items:%s:%d-%d", g.stream(), r.from, r.to),
		ID:   fmt.Sprintf("items:%s:%d-of-%d%s:%d", g.stream(), v.Part.Index, v.Part.Count, tagSuffix(v.Split), r.from),
		Items: func(ctx context.Context, apply func(*detect.Item)) error {
			return applyBatches(ctx, batches, apply)
		},
	}
	return g.ingestRun(ctx, lease, r, in, o, "vessel")
}
