package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/store"
)

// The stages behind an area sequencer (docs/scale.md, "Splitting the
// work"). A sequencer given a Split with Areas > 0 runs
// detect.NewAreaSequencer and publishes, besides the vessel partitions'
// items (ItemSubject), each run's items of every area partition
// (StageSubject(StageArea)), the pair partitions' share (static reports,
// evictions, the identity sweep and the flush: StageSubject(StagePairs)),
// and with IMOs or Reception > 0 the IMO and reception partitions'
// (StageSubject(StageIMO), StageSubject(StageReception)), all under the
// same run numbering and headers as the vessel partitions' batches. A
// StageWorker of each applies them:
//
//   - an area worker applies its run's items and publishes the contacts
//     it finds to the pair partitions (ContactSubject), batched per run
//     with its index (HeaderArea), at least one batch per pair partition
//     and run, published and acked before it commits the run: a restart
//     publishes the same batches under the same message ids;
//   - a pair worker gathers, for a run, the sequencer's batches and every
//     area worker's contacts, merges them by Item.Seq (the contacts of
//     fix S after the sequencer's item S and before S+1) and stores the
//     encounters;
//   - IMO and reception workers apply their items and store their events.
//
// Every stage stores its events, its checkpoint and its run records, in
// runs named by the sequencer's run, as a vessel worker does.

// Split is the shape of a sequencer's split: Vessels vessel partitions
// and, with Areas > 0, an area sequencer with Areas area partitions and
// Pairs pair partitions (both or neither), and IMOs IMO partitions (0:
// the sequencer keeps the IMOs' users) and Reception reception
// partitions (0: the sequencer keeps the reception counts and gaps),
// which need the area sequencer. Every stage of a split is given the same
// Split: it names their keys and subjects, so a changed split is new
// state everywhere, read from the start of the stream.
type Split struct {
	Vessels, Areas, Pairs, IMOs, Reception int
}

// Check says what is wrong with a split, if anything.
func (sp Split) Check() error {
	switch {
	case sp.Vessels < 1:
		return fmt.Errorf("a split needs one vessel partition or more (%d)", sp.Vessels)
	case sp.Areas < 0 || sp.Pairs < 0 || sp.IMOs < 0 || sp.Reception < 0:
		return errors.New("a split's partition counts are 0 or more")
	case (sp.Areas > 0) != (sp.Pairs > 0):
		return fmt.Errorf("area and pair partitions go together (%d area, %d pair): the area workers' contacts are the pair workers' input", sp.Areas, sp.Pairs)
	case sp.Areas == 0 && (sp.IMOs > 0 || sp.Reception > 0):
		return fmt.Errorf("IMO and reception partitions (%d, %d) need area and pair partitions: they run behind the area sequencer", sp.IMOs, sp.Reception)
	case sp.IMOs > detect.MaxIMOPartitions:
		return fmt.Errorf("%d IMO partitions: at most %d", sp.IMOs, detect.MaxIMOPartitions)
	}
	return nil
}

// Tag names the split in keys and subjects: "" without the area
// sequencer (the sequencer and vessel partitions' keys and subjects are
// then those of a sequencer for Vessels partitions).
func (sp Split) Tag() string {
	if sp.Areas == 0 {
		return ""
	}
	return fmt.Sprintf("v%d-a%d-p%d-i%d-r%d", sp.Vessels, sp.Areas, sp.Pairs, sp.IMOs, sp.Reception)
}

// Stage is a stage of the split behind the sequencer.
type Stage string

const (
	StageVessels   Stage = "vessels"
	StageArea      Stage = "area"
	StagePairs     Stage = "pairs"
	StageIMO       Stage = "imo"
	StageReception Stage = "reception"
)

// Count is how many partitions the split gives the stage.
func (sp Split) Count(s Stage) int {
	switch s {
	case StageVessels:
		return sp.Vessels
	case StageArea:
		return sp.Areas
	case StagePairs:
		return sp.Pairs
	case StageIMO:
		return sp.IMOs
	case StageReception:
		return sp.Reception
	}
	return 0
}

// StageSubject is where the sequencer publishes the items of partition i
// of a stage of the split.
func StageSubject(sp Split, s Stage, i int) string {
	return fmt.Sprintf("tidewatch.items.%s.%s.%d", s, sp.Tag(), i)
}

// VesselSubject is where the sequencer publishes the items of vessel
// partition i: ItemSubject without the area sequencer (as before the
// stages), the split's own subject with it, so that the batches of two
// sequencers for the same vessel partitions (another split, or none) are
// never on one subject.
func VesselSubject(sp Split, i int) string {
	if sp.Areas == 0 {
		return ItemSubject(sp.Vessels, i)
	}
	return StageSubject(sp, StageVessels, i)
}

// ContactSubject is where the area workers publish the contacts of pair
// partition j.
func ContactSubject(sp Split, j int) string {
	return fmt.Sprintf("tidewatch.items.contacts.%s.%d", sp.Tag(), j)
}

// HeaderArea and HeaderAreas are on an area worker's contact batches:
// its partition and the area partitions' count.
const (
	HeaderArea  = "Tidewatch-Area"
	HeaderAreas = "Tidewatch-Areas"
)

// StageKey is the key of the detector state of partition i of a stage
// of the split.
func StageKey(stream string, sp Split, s Stage, i int) string {
	if s == StageVessels {
		return VesselKey(stream, detect.Partition{Index: i, Count: sp.Vessels}) + tagSuffix(sp)
	}
	return fmt.Sprintf("nats/%s/%s-%d-of-%s", stream, s, i, sp.Tag())
}

func tagSuffix(sp Split) string {
	if t := sp.Tag(); t != "" {
		return "-" + t
	}
	return ""
}

// pairTakes is what a pair worker takes of the sequencer's items: the
// names (static reports), the evictions (their pairs close) and the ticks
// that close pairs (the hourly sweep, the flush).
func pairTakes(it *detect.Item) bool {
	switch it.Kind {
	case detect.ItemStatic, detect.ItemEvicted, detect.ItemSweepIdentity, detect.ItemFlush:
		return true
	}
	return false
}

// stageTargets are the subjects of the split's stages (none without the
// area sequencer).
func stageTargets(stream string, sp Split) []itemTarget {
	if sp.Areas == 0 {
		return nil
	}
	var ts []itemTarget
	id := func(s Stage, i int) string { return fmt.Sprintf("items:%s:%s:%s:%d", stream, sp.Tag(), s, i) }
	for i := range sp.Areas {
		a := detect.AreaPartition{Index: i, Count: sp.Areas}
		ts = append(ts, itemTarget{subject: StageSubject(sp, StageArea, i), id: id(StageArea, i), takes: func(it *detect.Item) bool { return it.ForArea(a) }})
	}
	for j := range sp.Pairs {
		ts = append(ts, itemTarget{subject: StageSubject(sp, StagePairs, j), id: id(StagePairs, j), takes: pairTakes})
	}
	for i := range sp.IMOs {
		p := detect.Partition{Index: i, Count: sp.IMOs}
		ts = append(ts, itemTarget{subject: StageSubject(sp, StageIMO, i), id: id(StageIMO, i), takes: func(it *detect.Item) bool { return it.ForIMO(p) }})
	}
	for i := range sp.Reception {
		p := detect.Partition{Index: i, Count: sp.Reception}
		ts = append(ts, itemTarget{subject: StageSubject(sp, StageReception, i), id: id(StageReception, i), takes: func(it *detect.Item) bool { return it.ForReception(p) }})
	}
	return ts
}

// contactTargets are area worker i's contact subjects: one per pair
// partition, each taking the contacts of the pairs it owns.
func contactTargets(stream string, sp Split, i int) []itemTarget {
	var ts []itemTarget
	for j := range sp.Pairs {
		p := detect.Partition{Index: j, Count: sp.Pairs}
		h := nats.Header{}
		h.Set(HeaderArea, strconv.Itoa(i))
		h.Set(HeaderAreas, strconv.Itoa(sp.Areas))
		ts = append(ts, itemTarget{subject: ContactSubject(sp, j), id: fmt.Sprintf("contacts:%s:%s:%d:%d", stream, sp.Tag(), i, j), header: h,
			takes: func(it *detect.Item) bool { return it.Kind == detect.ItemContact && p.OwnsPair(it.Fix.MMSI, it.Other) }})
	}
	return ts
}

// StageWorker is the worker of partition Index of a stage of the split
// behind an area sequencer (StageArea, StagePairs, StageIMO,
// StageReception): it reads its subjects of the item stream through a
// durable consumer of its own, gathers each sequencer run's batches (a
// pair worker: the sequencer's and every area worker's contacts) and
// stores them as one run of its stage (ingest.StageArea, StagePairs,
// StageIMO, StageReception), named by the sequencer run's first
// sequence. Restarts, duplicates and missing runs are handled as a
// VesselWorker handles them.
type StageWorker struct {
	JS jetstream.JetStream
	// Stream is the raw AIS stream the sequencer reads (default
	// DefaultStream: it names the keys); ItemStream the item stream.
	Stream, ItemStream string
	Split              Split
	Stage              Stage
	Index              int
	Store              store.IngestStore
	Options            ingest.Options
	// Idle is how long a pull waits for messages (default 1 s).
	Idle        time.Duration
	Standby     bool
	StandbyPoll time.Duration
	Log         io.Writer
	OnRun       func(RunInfo)
	Designated  func(ctx context.Context) (func(imo, mmsi uint32) (string, string, bool), error)
}

var ingestStages = map[Stage]ingest.Stage{StageVessels: ingest.StageVessels, StageArea: ingest.StageArea, StagePairs: ingest.StagePairs,
	StageIMO: ingest.StageIMO, StageReception: ingest.StageReception}

// Run works until ctx ends (nil then) or an error stops it.
func (w *StageWorker) Run(ctx context.Context) error {
	sp := w.Split
	if err := sp.Check(); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	if w.Stage == StageVessels || ingestStages[w.Stage] == 0 {
		return fmt.Errorf("pipeline: stage %q: give area, pairs, imo or reception (vessels: VesselWorker)", w.Stage)
	}
	n := sp.Count(w.Stage)
	if n < 1 || w.Index < 0 || w.Index >= n {
		return fmt.Errorf("pipeline: %s partition %d of %d", w.Stage, w.Index, n)
	}
	g := &gatherer{JS: w.JS, Stream: w.Stream, ItemStream: w.ItemStream, Store: w.Store, Idle: w.Idle, Standby: w.Standby, StandbyPoll: w.StandbyPoll,
		Log: w.Log, OnRun: w.OnRun, Part: detect.Partition{Index: w.Index, Count: n}}
	who := fmt.Sprintf("%s partition %d of %d", w.Stage, w.Index, n)
	spec := stageSpec{
		who:      who,
		key:      StageKey(g.stream(), sp, w.Stage, w.Index),
		consumer: fmt.Sprintf("tidewatch-%s-%s-%d-of-%s", g.itemStream(), w.Stage, w.Index, sp.Tag()),
		subjects: []string{StageSubject(sp, w.Stage, w.Index)},
		origins:  1,
		origin:   func(string, nats.Header) (int, error) { return 0, nil },
	}
	if w.Stage == StagePairs {
		// The sequencer's batches (origin 0) and area worker i's
		// contacts (origin 1+i).
		spec.subjects = append(spec.subjects, ContactSubject(sp, w.Index))
		spec.origins = 1 + sp.Areas
		seqSubject := spec.subjects[0]
		spec.origin = func(subject string, h nats.Header) (int, error) {
			if subject == seqSubject {
				return 0, nil
			}
			i, err1 := strconv.Atoi(h.Get(HeaderArea))
			n, err2 := strconv.Atoi(h.Get(HeaderAreas))
			if err1 != nil || err2 != nil || n != sp.Areas || i < 0 || i >= n {
				return 0, fmt.Errorf("not a contact batch of one of %d area workers (headers %s %q, %s %q)", sp.Areas, HeaderArea, h.Get(HeaderArea),
					HeaderAreas, h.Get(HeaderAreas))
			}
			return 1 + i, nil
		}
	}
	spec.store = func(ctx context.Context, lease store.Lease, r *stageRun) (RunInfo, error) {
		return w.ingest(ctx, g, lease, spec.key, r)
	}
	return g.run(ctx, spec)
}

// ingest stores one sequencer run's items as a run of the stage.
func (w *StageWorker) ingest(ctx context.Context, g *gatherer, lease store.Lease, key string, r *stageRun) (RunInfo, error) {
	o := w.Options
	o.StateKey, o.Part, o.Flush, o.Detach, o.Stage = key, g.Part, r.flush, r.detached, ingestStages[w.Stage]
	if w.Designated != nil && w.Stage != StageArea {
		d, err := w.Designated(ctx)
		if err != nil {
			return RunInfo{From: r.from, To: r.to}, fmt.Errorf("pipeline: the lists in force: %w", err)
		}
		o.Designated = d
	}
	if w.Stage == StageArea {
		// The contacts go to the pair partitions, under the sequencer
		// run's numbers, before the run is done.
		h := itemHeader{after: r.after, from: r.from, to: r.to, flush: r.flush, detached: r.detached}
		targets := contactTargets(g.stream(), w.Split, w.Index)
		o.Items = func(bool) (func(detect.Item), func(context.Context) error) {
			b := newItemBatches(targets)
			return b.send, func(ctx context.Context) error { return publishBatches(ctx, w.JS, b, h) }
		}
	}
	in := ingest.Input{
		Name: fmt.Sprintf("items:%s:%d-%d", g.stream(), r.from, r.to),
		ID:   fmt.Sprintf("items:%s:%s-%d-of-%s:%d", g.stream(), w.Stage, w.Index, w.Split.Tag(), r.from),
		Items: func(ctx context.Context, apply func(*detect.Item)) error {
			if w.Stage == StagePairs {
				return mergeBySeq(ctx, r.origins, apply)
			}
			return applyBatches(ctx, r.origins[0].batches, apply)
		},
	}
	return g.ingestRun(ctx, lease, r, in, o, string(w.Stage))
}

// applyBatches decodes a run's batches in order and applies their items.
func applyBatches(ctx context.Context, batches [][]byte, apply func(*detect.Item)) error {
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
}

// cursor reads one origin's batches item by item, decoding a batch when
// it gets there.
type cursor struct {
	batches [][]byte
	k       int // the next batch
	items   []detect.Item
	i       int
	err     error
}

func (c *cursor) head() *detect.Item {
	for c.i >= len(c.items) {
		if c.k >= len(c.batches) || c.err != nil {
			return nil
		}
		c.items, c.err = detect.DecodeItems(c.batches[c.k])
		if c.err != nil {
			c.err = fmt.Errorf("batch %d: %w", c.k, c.err)
			return nil
		}
		c.k++
		c.i = 0
	}
	return &c.items[c.i]
}

// mergeBySeq applies a pair worker's run: the sequencer's items (origin
// 0) and the area workers' contacts (origins 1..), each in its order,
// merged by Seq: a fix's contacts (they carry the fix's Seq) after the
// sequencer's item of that number and before the next. All contacts of
// one fix come from one area worker, in its order.
func mergeBySeq(ctx context.Context, origins []originBatches, apply func(*detect.Item)) error {
	cs := make([]*cursor, len(origins))
	for o := range origins {
		cs[o] = &cursor{batches: origins[o].batches}
	}
	n := 0
	for {
		best := -1
		var bs uint64
		for o, c := range cs {
			it := c.head()
			if c.err != nil {
				if o == 0 {
					return fmt.Errorf("the sequencer's %w", c.err)
				}
				return fmt.Errorf("area worker %d's contacts, %w", o-1, c.err)
			}
			if it == nil {
				continue
			}
			// Ties: the sequencer's item first, then the lowest origin.
			if best < 0 || it.Seq < bs {
				best, bs = o, it.Seq
			}
		}
		if best < 0 {
			return nil
		}
		c := cs[best]
		apply(&c.items[c.i])
		c.i++
		if n++; n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// gatherer is what a vessel worker and a stage worker share: the
// partition's lock, its consumer of the item stream, the gathering of
// each sequencer run's batches and their storing as one run.
type gatherer struct {
	JS                 jetstream.JetStream
	Stream, ItemStream string
	Part               detect.Partition
	Store              store.IngestStore
	Idle               time.Duration
	Standby            bool
	StandbyPoll        time.Duration
	Log                io.Writer
	OnRun              func(RunInfo)
}

// stageSpec is what one stage worker reads and does with a run.
type stageSpec struct {
	who      string   // "vessel partition 0 of 2", in logs and errors
	key      string   // its state key; the hint is under key+"/seq"
	consumer string   // its durable consumer
	subjects []string // the consumer's filter
	// origins is how many publishers a run's batches come from (1; a
	// pair worker: the sequencer and each area worker); origin says
	// whose a message is.
	origins int
	origin  func(subject string, h nats.Header) (int, error)
	store   func(ctx context.Context, lease store.Lease, r *stageRun) (RunInfo, error)
}

// originBatches are one publisher's batches of a run, as they come: in
// any order (a publish that failed for some of a run's batches and
// succeeded for others, then retried whole, stores the run's batches out
// of order), each once. total 0: none has come yet.
type originBatches struct {
	total, have int
	batches     [][]byte // by index; nil: not come yet
}

// stageRun is a sequencer run's batches as they come, from each origin.
type stageRun struct {
	from, to        uint64
	after           uint64
	hasAfter        bool
	flush, detached bool
	origins         []originBatches
	first           uint64 // the item stream's sequence of its first message
}

func (r *stageRun) complete() bool {
	for _, o := range r.origins {
		if o.total == 0 || o.have < o.total {
			return false
		}
	}
	return true
}

// state says which origins' batches are missing, for errors.
func (r *stageRun) state() string {
	if len(r.origins) == 1 {
		return fmt.Sprintf("%d of %d", r.origins[0].have, r.origins[0].total)
	}
	var parts []string
	for o, b := range r.origins {
		who := "the sequencer"
		if o > 0 {
			who = fmt.Sprintf("area worker %d", o-1)
		}
		parts = append(parts, fmt.Sprintf("%s %d of %d", who, b.have, b.total))
	}
	return strings.Join(parts, ", ")
}

func (g *gatherer) stream() string {
	if g.Stream == "" {
		return DefaultStream
	}
	return g.Stream
}

func (g *gatherer) itemStream() string {
	if g.ItemStream == "" {
		return DefaultItemStream
	}
	return g.ItemStream
}

func (g *gatherer) logf(format string, args ...any) {
	if g.Log != nil {
		fmt.Fprintf(g.Log, format+"\n", args...)
	}
}

// run works until ctx ends (nil then) or an error stops it.
func (g *gatherer) run(ctx context.Context, spec stageSpec) error {
	if g.Idle <= 0 {
		g.Idle = time.Second
	}
	if _, err := EnsureItemStream(ctx, g.JS, g.itemStream(), Limits{}); err != nil {
		return err
	}
	for {
		err := g.runHeld(ctx, spec)
		if errors.Is(err, errPublishItems) && ctx.Err() == nil {
			// NATS away while an area worker published a run's contacts:
			// the run is not done; wait, and resume it from what is stored.
			g.logf("%s: %v (starting again from what is stored)", spec.who, err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(g.Idle):
			}
			continue
		}
		if !g.Standby || !errors.Is(err, store.ErrLeaseLost) {
			return err
		}
		g.logf("%s: %v: standing by", spec.who, err)
	}
}

// runHeld takes the partition's lock and works while it holds it.
//
// Each origin (the sequencer; for a pair worker each area worker too)
// publishes its runs in order, each whole before the next (the sequencer
// a run only once the run before is published; an area worker a run's
// contacts only once it has stored the run before), and every origin
// gives every partition at least one batch a run. Runs are stored in
// order, each once all its origins' batches have come; several may be
// gathered at once (a pair worker may have the sequencer's next run
// before an area worker's contacts of this one).
func (g *gatherer) runHeld(ctx context.Context, spec stageSpec) error {
	lease, err := (&Worker{Store: g.Store, Part: g.Part, Standby: g.Standby, StandbyPoll: g.StandbyPoll, Log: g.Log}).lock(ctx, spec.key)
	if err != nil || lease == nil {
		return err
	}
	defer lease.Release()
	// done: every message of the item stream up to it is of a run stored
	// (or skipped); doneRun the last sequencer run stored, doneTo that
	// run's end (0: not known, a hint of an earlier version or none).
	var done, doneRun, doneTo uint64
	if b, err := g.Store.DetectorState(ctx, spec.key+"/seq"); err == nil {
		f := strings.Fields(string(b))
		for i, p := range []*uint64{&done, &doneRun, &doneTo} {
			if i < len(f) {
				*p, _ = strconv.ParseUint(f[i], 10, 64)
			}
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	cons, err := g.consumer(ctx, spec, done+1)
	if err != nil {
		return err
	}
	var pending []*stageRun // by run, ascending
	misses := 0             // runs found incomplete since the last stored
	quiet := 0              // fetches that brought nothing while a run was incomplete
	var quietRun uint64
	again := func(why string) {
		g.logf("%s: %s: fetching again from message %d", spec.who, why, done+1)
		if c, err := g.consumer(ctx, spec, done+1); err == nil {
			cons, pending = c, nil
		}
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(32, jetstream.FetchMaxWait(g.Idle))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(g.Idle):
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
				return fmt.Errorf("pipeline: item stream %s, message %d: %w", g.itemStream(), seq, err)
			}
			o, err := spec.origin(m.Subject(), m.Headers())
			if err != nil {
				return fmt.Errorf("pipeline: item stream %s, message %d: %w", g.itemStream(), seq, err)
			}
			if h.from <= doneRun {
				continue // a batch of a run stored already (published again)
			}
			var r *stageRun
			for _, p := range pending {
				if p.from == h.from {
					r = p
				}
			}
			for _, p := range pending {
				switch {
				case p.from < h.from && p.origins[o].have < max(p.origins[o].total, 1):
					// This origin publishes a run only once the run before
					// is published whole: the batches missing were passed
					// over, or removed.
					if missed == "" {
						missed = fmt.Sprintf("run %d began before run %d's batches all came (%s)", h.from, p.from, p.state())
					}
				case r == nil && p.from > h.from && p.origins[o].total > 0:
					// A run after the last stored and before one begun was
					// never applied: the origin publishes its runs in order.
					return fmt.Errorf("pipeline: %s: item stream %s, message %d: a batch of run %d came after run %d began, and run %d was never stored here (the last stored: run %d): the runs are not in the sequencer's order",
						spec.who, g.itemStream(), seq, h.from, p.from, h.from, doneRun)
				case r == nil && p.from > h.from && missed == "":
					// The sequencer's batches of a run come before any
					// area worker's contacts of it, and before its batches
					// of the next run.
					missed = fmt.Sprintf("run %d came after run %d began", h.from, p.from)
				}
			}
			if missed != "" {
				continue
			}
			if r == nil {
				// The run before this one must be the last stored here, or
				// the last being gathered.
				prevTo, prevRun := doneTo, doneRun
				if len(pending) > 0 {
					prevTo, prevRun = pending[len(pending)-1].to, pending[len(pending)-1].from
				}
				nothing := done == 0 && doneRun == 0 && len(pending) == 0
				switch {
				case prevTo > 0 && (h.hasAfter && h.after != prevTo || !h.hasAfter && h.from != prevTo+1):
					// The sequencer's run before this one is not the last
					// run here: the runs between were passed over, or removed.
					missed = fmt.Sprintf("run %d-%d follows the sequencer's run ending at %d, and the last run stored here ended at %d (run %d-%d): the runs between are missing",
						h.from, h.to, max(h.after, h.from-1), prevTo, prevRun, prevTo)
					continue
				case nothing && h.hasAfter && h.after != 0:
					// Nothing stored here yet, and the first run on the
					// stream is not the sequencer's first: its runs before
					// were removed (or published before this stream), and a
					// partition applies every run from the sequencer's first.
					missed = fmt.Sprintf("the first run here, %d-%d, follows the sequencer's run ending at %d, and nothing is stored here yet: the sequencer's runs before it are missing",
						h.from, h.to, h.after)
					continue
				}
				r = &stageRun{from: h.from, to: h.to, after: h.after, hasAfter: h.hasAfter, flush: h.flush, detached: h.detached,
					origins: make([]originBatches, spec.origins), first: seq}
				pending = append(pending, r)
			}
			if h.to != r.to || h.flush != r.flush || h.detached != r.detached || h.hasAfter && r.hasAfter && h.after != r.after {
				return fmt.Errorf("pipeline: item stream %s, message %d: run %d's batches disagree (%d-%d, flush %v, detached %v; then %d-%d, flush %v, detached %v)",
					g.itemStream(), seq, r.from, r.from, r.to, r.flush, r.detached, h.from, h.to, h.flush, h.detached)
			}
			ob := &r.origins[o]
			if ob.total == 0 {
				ob.total, ob.batches = h.total, make([][]byte, h.total)
			} else if h.total != ob.total {
				return fmt.Errorf("pipeline: item stream %s, message %d: run %d's batches disagree (%d batches, then %d)", g.itemStream(), seq, r.from, ob.total, h.total)
			}
			if ob.batches[h.batch] != nil {
				continue // held already
			}
			ob.batches[h.batch] = m.Data()
			ob.have++
			for len(pending) > 0 && pending[0].complete() {
				r := pending[0]
				if err := lease.Held(ctx); errors.Is(err, store.ErrLeaseLost) {
					return fmt.Errorf("pipeline: %s: the partition's lock was lost, another worker may hold it: %w", spec.who, err)
				} else if err != nil && ctx.Err() == nil {
					g.logf("%s: checking its lock: %v (going on)", spec.who, err)
				}
				info, err := spec.store(ctx, lease, r)
				if err != nil {
					if ctx.Err() != nil {
						return nil // interrupted: nothing acked, the next start resumes the run
					}
					return err
				}
				pending = pending[1:]
				doneRun, doneTo, misses = r.from, r.to, 0
				if len(pending) == 0 {
					// Every message up to this one is of a run stored.
					done = seq
					if err := m.Ack(); err != nil {
						g.logf("ack %d: %v (the next start skips it)", seq, err)
					}
				} else {
					done = max(done, slices.MinFunc(pending, func(a, b *stageRun) int { return cmp.Compare(a.first, b.first) }).first-1)
				}
				if err := g.Store.PutDetectorState(ctx, spec.key+"/seq", fmt.Appendf(nil, "%d %d %d", done, doneRun, doneTo)); err != nil {
					g.logf("note: progress hint not stored: %v", err)
				}
				if g.OnRun != nil {
					g.OnRun(info)
				}
			}
		}
		if err := batch.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			g.logf("fetch: %v", err)
		}
		if got == 0 && len(pending) > 0 && missed == "" {
			// A pull that expired with a run's last batches on their way
			// leaves them pending until the ack wait; nothing comes
			// after them to show they are missing. Fetch again.
			if quiet++; quiet >= 3 {
				quiet = 0
				if r := pending[0]; r.from != quietRun { // said once a run: the sequencer may be down
					quietRun = r.from
					g.logf("%s: run %d has %s batches and nothing more came: fetching again from message %d (and every %s while so)",
						spec.who, r.from, r.state(), done+1, 3*g.Idle)
				}
				if c, err := g.consumer(ctx, spec, done+1); err == nil {
					cons, pending = c, nil
				}
			}
		} else {
			quiet = 0
		}
		if missed != "" {
			if misses++; misses > 3 {
				// Not a pull that expired with messages on their way:
				// the batches are not on the stream.
				return fmt.Errorf("pipeline: %s: %s, fetched again 3 times from message %d: the item stream %s lacks them (removed by its limits?)",
					spec.who, missed, done+1, g.itemStream())
			}
			again(missed)
		}
	}
	return nil
}

// consumer (re)creates the partition's durable consumer to deliver from
// the item stream's sequence from on (as Worker.consumer).
func (g *gatherer) consumer(ctx context.Context, spec stageSpec, from uint64) (jetstream.Consumer, error) {
	if err := g.JS.DeleteConsumer(ctx, g.itemStream(), spec.consumer); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("pipeline: consumer %s: %w", spec.consumer, err)
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       spec.consumer,
		Description:   "tidewatch " + spec.who,
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   from,
		AckPolicy:     jetstream.AckAllPolicy,
		AckWait:       time.Hour, // a run acks when committed
		MaxAckPending: -1,
	}
	if len(spec.subjects) == 1 {
		cfg.FilterSubject = spec.subjects[0]
	} else {
		cfg.FilterSubjects = spec.subjects
	}
	c, err := g.JS.CreateConsumer(ctx, g.itemStream(), cfg)
	if err != nil {
		return nil, fmt.Errorf("pipeline: consumer %s: %w", spec.consumer, err)
	}
	return c, nil
}

// ingestRun stores one sequencer run's items (in) as a run of the
// partition, with options o.
func (g *gatherer) ingestRun(ctx context.Context, lease store.Lease, r *stageRun, in ingest.Input, o ingest.Options, stage string) (RunInfo, error) {
	res, err := ingest.Run(ctx, fenced{g.Store, lease, g.Part}, []ingest.Input{in}, o)
	info := RunInfo{From: r.from, To: r.to, Flush: r.flush, Resumed: res.Resumed, Result: res}
	if err != nil {
		return info, fmt.Errorf("pipeline: %s run %d-%d: %w", stage, r.from, r.to, err)
	}
	if len(res.Failed) > 0 {
		return info, fmt.Errorf("pipeline: %s run %d-%d: %v", stage, r.from, r.to, errors.Join(res.Failed...))
	}
	if !res.Run.Done && !res.AlreadyDone {
		return info, fmt.Errorf("pipeline: %s run %d-%d did not complete", stage, r.from, r.to)
	}
	return info, nil
}
