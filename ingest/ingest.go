// Package ingest loads AIS into the store through the detectors: every
// fix is tracked and checked, events are stored with the vessels' identity
// history and a thinned, compressed track (ThinPolicy).
//
// Ingest is resumable. A run is named by its inputs and settings; its
// work is cut into batches at fixed counts of fixes, and each batch is
// committed atomically with the run's progress. Rerun after any stop
// (kill -9 included), the same inputs are read again from the start so
// the detectors rebuild exactly the state they had, and the batches
// already committed are not written again: the store ends up holding what
// one clean run would have written, nothing lost, nothing twice.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/identity"
	"github.com/tidewatch/tidewatch/internal/batch"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/track"
)

// Input is one AIS input.
type Input struct {
	Name string
	// ID identifies the content (see FileInput); runs are named by it.
	ID   string
	Open func(ctx context.Context) (ais.Source, io.Closer, error)
	// Live marks a feed that cannot be read again: its runs commit on a
	// clock too, and a restart continues with what the feed sends next.
	Live bool
	// Path is the file the input reads, when it is one (FileInput): what
	// an API node publishes to the AIS pipeline as it is.
	Path string
	// Items reads a vessel worker's input (Options.Stage StageVessels,
	// which reads nothing else): it hands apply the sequencer's items, in
	// its order. Open is not used then.
	Items func(ctx context.Context, apply func(*detect.Item)) error
}

// FileInput names a file by its size and the SHA-256 of its first and
// last MiB: cheap on a multi-gigabyte log, and a file that was appended
// to or replaced gets a new ID, hence a new run.
func FileInput(path string, open func(ctx context.Context) (ais.Source, io.Closer, error)) (Input, error) {
	f, err := os.Open(path)
	if err != nil {
		return Input{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Input{}, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "size %d\n", fi.Size())
	const span = 1 << 20
	if _, err := io.CopyN(h, f, span); err != nil && err != io.EOF {
		return Input{}, fmt.Errorf("read %s: %w", path, err)
	}
	if fi.Size() > 2*span {
		if _, err := f.Seek(-span, io.SeekEnd); err != nil {
			return Input{}, err
		}
		if _, err := io.Copy(h, f); err != nil {
			return Input{}, fmt.Errorf("read %s: %w", path, err)
		}
	} else if fi.Size() > span {
		if _, err := io.Copy(h, f); err != nil {
			return Input{}, fmt.Errorf("read %s: %w", path, err)
		}
	}
	return Input{Name: path, ID: hex.EncodeToString(h.Sum(nil))[:24], Open: open, Path: path}, nil
}

// Options configure an ingest.
type Options struct {
	Detect detect.Config
	Land   *geo.Land
	Ports  *geo.Ports
	Zones  []*geo.Zone
	Thin   ThinPolicy
	// BatchFixes is how many positions make a batch (default 1<<20).
	BatchFixes int64
	// ChunkPoints caps the points of one stored chunk (default 1024).
	ChunkPoints int
	// CommitEvery commits live runs on a clock as well (default 10 s).
	CommitEvery time.Duration
	// Progress, when set, is called after every batch.
	Progress func(Progress)
	// Summary, when set, gets each input's reading statistics.
	Summary func(name string, st *ais.Stats)
	// Log receives notes.
	Log io.Writer
	// Designated, when set, tells the detectors which IMOs and MMSIs
	// belong to designated vessels (detect.Engine.Designated).
	Designated func(imo, mmsi uint32) (listing, listedFlag string, ok bool)
	// Flush closes every occurrence still open at the end of the run and
	// clears the detectors' state, as if the stream ended here; without
	// it the run ends at a checkpoint the next run continues from.
	Flush bool
	// Detach reads the inputs on their own: the stored detector state is
	// neither continued nor changed (for a run made while another one,
	// such as a live feed, owns the state).
	Detach bool
	// StateKey is the key the detectors' state is stored under (default
	// StateKey): one continuous stream per key.
	StateKey string
	// Part, when split, makes the run detect and store one partition's
	// share: its events, and the positions and identity history of its
	// MMSIs (detect.Partition; the workers of package pipeline).
	Part detect.Partition
	// Stage is the detection stage the run is (docs/scale.md, "Splitting
	// the work"). StageWhole (the default) runs every detector.
	// StageSequencer runs the sequencer (detect.NewSequencer) on the AIS
	// inputs: it stores its events (encounters, gaps, IMO conflicts and
	// hand-overs) and its checkpoint, and no positions or identities (the
	// vessel workers store them); its items go to Items. StageVessels
	// runs the vessel worker of Part (detect.VesselWorker) on inputs that
	// give items (Input.Items): it stores its events, its MMSIs'
	// positions and identity history, and its checkpoint.
	Stage Stage
	// Items, for a sequencer's run, is called at the start of each pass
	// (a run read again, sorted whole, is a new pass: what an earlier
	// pass sent is not published). detached says the pass reads the
	// inputs on their own (Result.Detached: from a fresh sequencer, its
	// items ending with a flush): the vessel workers must apply them on
	// their own too (Options.Detach), not on their stored state. The
	// pass gives send its items in order, and calls publish once it has
	// read its inputs to their end, before it commits the batch that
	// completes the run: a run is done only once its items are published
	// (an error fails the run, not done, and its next attempt sends the
	// same items again).
	Items func(detached bool) (send func(detect.Item), publish func(context.Context) error)
	// AreaSplit, for a sequencer's run, makes it the sequencer of the
	// area split (detect.NewAreaSequencer with this Split): the encounter
	// grid and pairs go to area and pair workers, and, as the Split says,
	// the IMOs' users to IMO workers and the reception counts and gaps to
	// reception workers. Nil: detect.NewSequencer (every cross-vessel
	// detector in the sequencer).
	AreaSplit *detect.Split
}

// Stage is a detection stage (Options.Stage).
type Stage uint8

const (
	StageWhole     Stage = iota // every detector, one process
	StageSequencer              // the sequencer: reorder, tracking, shared detectors
	StageVessels                // a vessel worker: one partition's per-vessel detectors
	// The stages behind an area sequencer (Options.AreaSplit), each on
	// inputs of items (Input.Items) and storing its events and checkpoint
	// only: StageArea an area worker (detect.AreaWorker of the
	// AreaPartition Part; its contacts go to Items, published before the
	// run is done, as a sequencer's items), StagePairs a pair worker
	// (its input: the sequencer's items and the area workers' contacts,
	// merged), StageIMO an IMO worker, StageReception a reception worker.
	StageArea
	StagePairs
	StageIMO
	StageReception
)

// itemStage says the stage reads items (Input.Items), not AIS.
func (s Stage) itemStage() bool { return s >= StageVessels && s <= StageReception }

func (o *Options) stateKey() string {
	if o.StateKey != "" {
		return o.StateKey
	}
	return StateKey
}

// StateKey is the key of the detectors' state in the store: one
// continuous stream per store.
const StateKey = "ingest"

// Progress is reported after each batch.
type Progress struct {
	Batch   int64
	Fixes   int64
	Kept    int64
	Events  int64
	Skipped bool // the batch was committed by an earlier attempt
}

// Result says what an ingest did.
type Result struct {
	Run store.Run
	// AlreadyDone: the run had completed before; nothing was read.
	AlreadyDone bool
	// Resumed: an earlier attempt had committed ResumedBatches batches.
	Resumed        bool
	ResumedBatches int64
	// Resorted: the inputs were found out of time order and read again,
	// sorted whole.
	Resorted bool
	// Continued: the detectors started from the state the previous run
	// left; Detached: the inputs reached further back than that state's
	// window, so they were read on their own (flushed at the end, the
	// state left as it was).
	Continued, Detached bool
	Untimed             int64
	// NoAIS names the inputs that held no AIS message at all (an empty
	// file, a CSV of other columns, text that is not NMEA): read to
	// their end without error, they are no failure of the run, but the
	// caller should say they were not AIS.
	NoAIS []string
	// Evicted counts the vessels the detectors forgot to stay under
	// detect.Config.MaxVessels (0 unless more MMSIs were in play).
	Evicted int64
	Failed  []error // inputs that could not be read to the end
}

func (o *Options) defaults() {
	if o.BatchFixes <= 0 {
		o.BatchFixes = 1 << 20
	}
	if o.ChunkPoints <= 0 {
		o.ChunkPoints = 1024
	}
	if o.CommitEvery <= 0 {
		o.CommitEvery = 10 * time.Second
	}
	if o.Thin == (ThinPolicy{}) {
		o.Thin = DefaultThin
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// formatVersion changes when what ingest writes changes, so that old runs
// are not resumed by a build that would write differently.
const formatVersion = 2

// RunID names the run of these inputs with these settings, whatever the
// inputs' order.
func RunID(inputs []Input, o Options) string {
	o.defaults()
	ids := make([]string, len(inputs))
	for i, in := range inputs {
		ids[i] = in.ID
	}
	sort.Strings(ids)
	h := sha256.New()
	var part *detect.Partition
	if o.Part.Split() {
		part = &o.Part
	}
	cfg, _ := json.Marshal(struct {
		V        int
		Detect   detect.Config
		Thin     ThinPolicy
		Batch    int64
		Chunk    int
		Inputs   []string
		Flush    bool
		StateKey string            `json:",omitempty"`
		Part     *detect.Partition `json:",omitempty"`
		Stage    Stage             `json:",omitempty"`
		Split    *detect.Split     `json:",omitempty"`
	}{formatVersion, o.Detect, o.Thin, o.BatchFixes, o.ChunkPoints, ids, o.Flush, o.StateKey, part, o.Stage, o.AreaSplit})
	h.Write(cfg)
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// Run ingests the inputs into st, continuing the detectors' state the
// previous run left in the store (Options.Flush: and closing everything
// at the end).
//
// Continuity: the run starts from the stored state (its hash is the
// run's StartState) and ends at a checkpoint: the occurrences still open
// are stored with status "open" (a later run stores their later
// versions under the same IDs) and the state, with the fixes still in
// the reorder window, is stored in the run's last batch. Positions in
// that window are stored when a later run releases them, or by a flush.
// Inputs that reach back before the state's window are read on their own
// (Result.Detached). A run resumed after a stop starts from the same
// state it started from; if another run changed the state meanwhile, the
// run starts over.
func Run(ctx context.Context, st store.IngestStore, inputs []Input, o Options) (Result, error) {
	o.defaults()
	if len(inputs) == 0 {
		return Result{}, errors.New("ingest: no inputs")
	}
	return run(ctx, st, inputs, o, "", nil)
}

// Flush closes the stored stream: every occurrence still open is closed
// and stored, the reorder window's positions are stored, and the state is
// cleared. Nothing to flush is no error (Result.AlreadyDone).
func Flush(ctx context.Context, st store.IngestStore, o Options) (Result, error) {
	o.defaults()
	o.Flush = true
	state, err := st.DetectorState(ctx, o.stateKey())
	if errors.Is(err, store.ErrNotFound) {
		return Result{AlreadyDone: true}, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("ingest: read detector state: %w", err)
	}
	// The state read here is the one the flush restores: a large state
	// is read from the store once, not once for its hash and again to
	// use it (each read is the blob and the driver's copies of it).
	return run(ctx, st, nil, o, "flush-"+stateHash(state), state)
}

// loadState reads the stored detector state (nil when there is none).
func loadState(ctx context.Context, st store.IngestStore, key string) ([]byte, error) {
	b, err := st.DetectorState(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("ingest: read detector state: %w", err)
	}
	return b, nil
}

func stateHash(b []byte) string {
	if b == nil {
		return "none"
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:12])
}

// run reads inputs as run id; state is the stored detector state when
// the caller has read it already (nil: read here).
func run(ctx context.Context, st store.IngestStore, inputs []Input, o Options, id string, state []byte) (Result, error) {
	live := false
	for _, in := range inputs {
		live = live || in.Live
	}
	if id == "" {
		id = RunID(inputs, o)
	}
	if live {
		// A feed cannot be replayed: each session is its own run.
		id += "-live-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	var res Result
	if state == nil {
		var err error
		if state, err = loadState(ctx, st, o.stateKey()); err != nil {
			return res, err
		}
	}
	start := stateHash(state)
	hasState := state != nil
	run, err := st.Run(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		run = store.Run{ID: id, StartState: start, Detached: o.Detach}
		for _, in := range inputs {
			run.Inputs = append(run.Inputs, in.Name)
		}
		if err := st.PutRun(ctx, run); err != nil {
			return res, err
		}
	case err != nil:
		return res, fmt.Errorf("ingest: read run %s: %w", id, err)
	case run.Done && run.StoredNothing() && !live:
		// Recorded by an earlier build that found nothing in these
		// inputs (and did not say they were not AIS): no reason to
		// refuse them now. Read them again.
		fmt.Fprintf(o.Log, "note: run %s was recorded earlier with nothing read from its inputs; reading them again\n", id)
		run = store.Run{ID: run.ID, Inputs: run.Inputs, StartState: start, Detached: o.Detach}
		if err := st.ResetRun(ctx, run); err != nil {
			return res, err
		}
	case run.Done:
		res.Run, res.AlreadyDone = run, true
		res.Untimed, res.NoAIS = run.Untimed, run.NoAIS
		return res, nil
	case o.Detach && !run.Detached:
		// Begun continuing the state, resumed while another run owns it:
		// read it on its own, from the start.
		fmt.Fprintf(o.Log, "note: run %s is read on its own this time (another run holds the detectors' state); starting it over\n", id)
		run = store.Run{ID: run.ID, Inputs: run.Inputs, StartState: start, Detached: true}
		if err := st.ResetRun(ctx, run); err != nil {
			return res, err
		}
	case run.StartState != start && !run.Detached:
		// Another run moved the state on since this one began: what it
		// committed was detected from another start. Start it over.
		fmt.Fprintf(o.Log, "note: run %s began from another detector state; starting it over\n", id)
		run = store.Run{ID: run.ID, Inputs: run.Inputs, StartState: start}
		if err := st.ResetRun(ctx, run); err != nil {
			return res, err
		}
	default:
		res.Resumed, res.ResumedBatches = run.Batches > 0, run.Batches
	}
	for {
		p := &pass{o: o, st: st, run: run, committed: run.Batches, vessels: map[uint32]*vesselState{},
			idents: map[identKey]*identRec{}, live: live, lastCommit: time.Now()}
		p.continues = hasState && !run.Detached
		if p.continues {
			// The first pass restores the state already read; a pass
			// after it reads it again (it is not held meanwhile).
			p.initial, state = state, nil
		}
		late, err := p.do(ctx, inputs)
		res.Untimed, res.Failed, res.Evicted, res.NoAIS = p.untimed, p.failed, p.forgotten, p.noAIS
		res.Continued, res.Detached = p.restored, run.Detached
		if err != nil {
			res.Run = p.run
			return res, err
		}
		if late > 0 && !live {
			next := store.Run{ID: run.ID, Inputs: run.Inputs, StartState: start, Sorted: true, Detached: run.Detached}
			switch {
			case !run.Sorted:
				fmt.Fprintf(o.Log, "note: the input is not in time order (a fix came more than %.0f min late); reading it again, sorted whole\n",
					o.Detect.ReorderLatenessMinutes)
				res.Resorted = true
			case !run.Detached:
				fmt.Fprintf(o.Log, "note: the input reaches back before the detectors' state (%d fixes older than its window); reading it on its own\n", late)
				next.Detached = true
			default:
				return res, fmt.Errorf("ingest: %d fixes late in a pass sorted whole", late)
			}
			run = next
			if err := st.ResetRun(ctx, run); err != nil {
				return res, err
			}
			continue
		}
		res.Run = p.run
		return res, nil
	}
}

// vesselState is one MMSI's open chunk and thinning state: about 250
// bytes for each vessel in play (docs/detection.md, "Memory").
type vesselState struct {
	thin       thinState
	enc        store.ChunkEncoder
	start, end track.Time
	day        int64
	fixes      int64
	imo        uint32
	flagSeen   bool
	flag       *identRec // the MID flag's record, updated on every fix
	recs       *identRec // every record of the vessel, linked by next
	// last holds, per static field, the value last reported and its
	// record: most static reports repeat the last, which then costs no
	// map lookup. Allocated at the vessel's first static report.
	last *[nStaticFields]lastValue
}

type lastValue struct {
	value string
	rec   *identRec
}

const (
	fImo = iota
	fName
	fCallSign
	fShipType
	fDestination
	fLength
	fDraught
	nStaticFields
	fFlag = nStaticFields // the MID's flag, from every position
)

// fieldNames are the stored names of the fields.
var fieldNames = [...]string{fImo: "imo", fName: "name", fCallSign: "call_sign", fShipType: "ship_type", fDestination: "destination",
	fLength: "length", fDraught: "draught", fFlag: "flag"}

type identKey struct {
	mmsi  uint32
	field uint8
	value string
}

// identRec is one identity record of the run: what has been counted
// since it was last written (first, last, count: first is zero when
// nothing has been). The store adds each written part to the row (the
// earliest first, the latest last, the counts summed), so a record can be
// written when first seen, when its vessel is evicted (and then
// forgotten), and at the end, and memory follows the vessels in play.
type identRec struct {
	key         identKey
	imo         uint32
	first, last track.Time
	count       int64
	source      string
	next        *identRec // the vessel's next record
}

// see counts a report at t.
func (r *identRec) see(t track.Time, imo uint32) {
	if imo != 0 {
		r.imo = imo
	}
	if r.count == 0 {
		r.first, r.last = t, t
	} else if t.After(r.last) {
		r.last = t
	}
	r.count++
}

// take returns what the record counted since it was last written, and
// starts counting afresh.
func (r *identRec) take() store.Identity {
	id := store.Identity{MMSI: r.key.mmsi, IMO: r.imo, Field: fieldNames[r.key.field], Value: r.key.value,
		First: r.first.Std(), Last: r.last.Std(), Count: r.count, Source: r.source}
	r.first, r.last, r.count = 0, 0, 0
	return id
}

type pass struct {
	o         Options
	st        store.IngestStore
	run       store.Run
	committed int64 // batches an earlier attempt stored
	batch     int64 // index of the batch being built
	live      bool

	vessels   map[uint32]*vesselState
	idents    map[identKey]*identRec
	newIdents []*identRec      // records created in this batch
	written   []store.Identity // parts of evicted vessels' records, for this batch

	chunks []store.Chunk
	events []store.StoredEvent
	seq    int64

	fixes, kept, nEvents int64
	untimed              int64
	noAIS                []string // inputs read to their end without an AIS message
	messages             int64    // AIS messages read, of any type
	read                 int64    // positions read from the inputs
	held                 int64    // positions in the reorder window at the checkpoint
	forgotten            int64    // vessels evicted

	continues  bool             // start from the stored detector state
	initial    []byte           // that state, when already read
	restored   bool             // the engine did
	state      *store.StateBlob // the state to store with the last batch
	failed     []error
	err        error
	lastCommit time.Time
	// incomplete: an input was not read to its end; the run's last batch
	// is committed without marking it done (nor storing the state).
	incomplete bool
}

func (p *pass) do(ctx context.Context, inputs []Input) (late int64, err error) {
	if p.o.Stage.itemStage() {
		return 0, p.doItems(ctx, inputs)
	}
	cfg := p.o.Detect
	window := minutes(cfg.ReorderLatenessMinutes)
	if p.run.Sorted {
		cfg.ReorderLatenessMinutes = math.MaxInt32
	}
	// Storing runs on a goroutine of its own, fed in the detectors' order
	// (events and fixes interleaved as they happened), so the batches are
	// the same as if it ran inline, and decoding, detecting and storing
	// overlap.
	st := newStage(p)
	defer st.finish()
	var publish func(context.Context) error
	newEngine := func() *detect.Engine { return detect.NewEngine(cfg, p.o.Land, p.o.Ports, p.o.Zones, st.event) }
	if p.o.Stage == StageSequencer {
		if p.o.Items == nil {
			return 0, errors.New("ingest: a sequencer's run needs Options.Items")
		}
		var send func(detect.Item)
		send, publish = p.o.Items(p.run.Detached)
		newEngine = func() *detect.Engine { return detect.NewSequencer(cfg, p.o.Land, p.o.Ports, p.o.Zones, st.event, send) }
		if sp := p.o.AreaSplit; sp != nil {
			if sp.IMOs < 0 || sp.IMOs > detect.MaxIMOPartitions || sp.Reception < 0 {
				return 0, fmt.Errorf("ingest: a split of %d IMO and %d reception partitions (IMO partitions: 0 to %d)", sp.IMOs, sp.Reception, detect.MaxIMOPartitions)
			}
			newEngine = func() *detect.Engine {
				return detect.NewAreaSequencer(cfg, p.o.Land, p.o.Ports, p.o.Zones, st.event, send, *sp)
			}
		}
	}
	eng := newEngine()
	if p.continues {
		state := p.initial
		p.initial = nil
		if state == nil {
			var err error
			if state, err = loadState(ctx, p.st, p.o.stateKey()); err != nil {
				return 0, err
			}
		}
		switch err := eng.Restore(state); {
		case err == nil:
			p.restored = true
			// The pass's window, not the one the state was taken with.
			eng.SetLateness(minutes(cfg.ReorderLatenessMinutes))
		default:
			// Settings changed, or the state is unreadable: this run
			// starts the stream afresh (and its checkpoint replaces the
			// state).
			fmt.Fprintf(p.o.Log, "note: the detectors' stored state cannot continue here (%v); starting afresh\n", err)
			eng = newEngine()
		}
	}
	if p.o.Stage == StageWhole {
		eng.Part = p.o.Part
	}
	eng.Observe = st.observe
	eng.Designated = p.o.Designated
	eng.Forget = st.forget
	// An unordered file shows itself within its first reorder window:
	// stop there, and let the caller read it again sorted.
	eng.StopWhenLate = !p.run.Sorted && !p.live
	// Inputs are read in ID order; the reorder buffer makes the fix order
	// independent of it anyway.
	ordered := append([]Input(nil), inputs...)
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].ID < ordered[j].ID })
	for _, in := range ordered {
		src, closer, err := in.Open(ctx)
		if err != nil {
			p.failed = append(p.failed, inputError(in.Name, err))
			continue
		}
		n, u, err := detect.FeedAISConcurrentBatch(eng, &ctxSource{Source: src, ctx: ctx}, p.handOver(4096))
		p.read += n
		closer.Close()
		if err == detect.ErrOutOfOrder {
			st.finish()
			return eng.Late(), p.err
		}
		p.untimed += u
		if st.failed.Load() {
			st.finish()
			return 0, p.err
		}
		if ctx.Err() != nil && !in.Live {
			st.finish()
			return 0, fmt.Errorf("ingest interrupted after %d committed batches (rerun the same command to resume): %w", p.run.Batches, ctx.Err())
		}
		if err != io.EOF && !(in.Live && ctx.Err() != nil) {
			p.failed = append(p.failed, inputError(in.Name, err))
		} else if err == io.EOF && !in.Live && src.Stats().Messages == 0 {
			p.noAIS = append(p.noAIS, in.Name)
		}
		p.messages += src.Stats().Messages
		if p.o.Summary != nil {
			p.o.Summary(in.Name, src.Stats())
		}
	}
	if p.restored && eng.Late() > 0 && !p.live {
		// Sorted whole, the input still reaches back before the state's
		// window: the caller reads it on its own.
		st.finish()
		return eng.Late(), p.err
	}
	switch {
	case p.run.Detached || p.o.Flush:
		// Nothing continues a detached run; a flush ends the stream.
		eng.Flush()
		if !p.run.Detached {
			p.state = &store.StateBlob{Key: p.o.stateKey()}
		}
	default:
		if p.run.Sorted {
			eng.SetLateness(window)
		}
		p.held = eng.HeldPositions()
		p.state = &store.StateBlob{Key: p.o.stateKey(), Data: eng.Checkpoint()}
	}
	st.finish()
	if p.err != nil {
		return 0, p.err
	}
	// A late fix would have ended the feed with ErrOutOfOrder above
	// (StopWhenLate): reaching here, the run is complete, unless a file
	// could not be read to its end (a truncated file, a read error): then
	// what was read is committed but the run stays unfinished, so a rerun
	// (with the file mended) completes it.
	for _, in := range ordered {
		if !in.Live && p.inputFailed(in.Name) {
			p.incomplete = true
		}
	}
	if publish != nil && !p.incomplete {
		// A sequencer's items reach the vessel workers before the run
		// is done: a run stopped between the two is read again and
		// sends the same items, which the workers take once.
		if err := publish(ctx); err != nil {
			return 0, fmt.Errorf("ingest: the sequencer's items: %w", err)
		}
	}
	if err := p.commit(true); err != nil {
		return 0, err
	}
	return 0, nil
}

// itemWorker is a stage that applies a sequencer's items
// (detect.VesselWorker, AreaWorker, PairWorker, IMOWorker,
// ReceptionWorker).
type itemWorker interface {
	Apply(*detect.Item)
	Rejected() int64
	Checkpoint() []byte
	Restore([]byte) error
}

// newItemWorker builds the pass's stage worker: its events go to st, a
// vessel worker's positions and identities too, an area worker's
// contacts to send.
func (p *pass) newItemWorker(st *stage, send func(detect.Item)) (itemWorker, error) {
	o := &p.o
	cfg := o.Detect
	switch o.Stage {
	case StageVessels:
		w := detect.NewVesselWorker(cfg, o.Land, o.Ports, o.Zones, o.Part, st.event)
		w.Observe, w.Forget, w.Designated = st.observe, st.forget, o.Designated
		return w, nil
	case StageArea:
		return detect.NewAreaWorker(cfg, o.Land, o.Ports, o.Zones, detect.AreaPartition(o.Part), send), nil
	case StagePairs:
		w := detect.NewPairWorker(cfg, o.Land, o.Ports, o.Zones, o.Part, st.event)
		w.Designated = o.Designated
		return w, nil
	case StageIMO:
		if o.Part.Count > detect.MaxIMOPartitions {
			return nil, fmt.Errorf("ingest: IMO partition %d of %d (at most %d)", o.Part.Index, o.Part.Count, detect.MaxIMOPartitions)
		}
		w := detect.NewIMOWorker(cfg, o.Land, o.Ports, o.Zones, o.Part, st.event)
		w.Designated = o.Designated
		return w, nil
	case StageReception:
		w := detect.NewReceptionWorker(cfg, o.Land, o.Ports, o.Zones, o.Part, st.event)
		w.Designated = o.Designated
		return w, nil
	}
	return nil, fmt.Errorf("ingest: stage %d reads no items", o.Stage)
}

// stageNames name the item stages in notes and errors.
var stageNames = map[Stage]string{StageVessels: "vessel", StageArea: "area", StagePairs: "pair", StageIMO: "IMO", StageReception: "reception"}

// doItems is a stage worker's pass (StageVessels, StageArea, StagePairs,
// StageIMO, StageReception): the inputs' items through the stage's
// worker, its events (and a vessel worker's positions and identities)
// stored as a whole run's are. A stage other than the vessels' cuts a
// batch every BatchFixes items (the same places when resumed), so a long
// run is resumed rather than read again whole; an area worker's contacts
// are published before the batch that completes the run is committed.
func (p *pass) doItems(ctx context.Context, inputs []Input) error {
	st := newStage(p)
	defer st.finish()
	var send func(detect.Item)
	var publish func(context.Context) error
	if p.o.Stage == StageArea {
		if p.o.Items == nil {
			return errors.New("ingest: an area worker's run needs Options.Items")
		}
		send, publish = p.o.Items(p.run.Detached)
	}
	w, err := p.newItemWorker(st, send)
	if err != nil {
		return err
	}
	name := stageNames[p.o.Stage]
	if p.continues {
		state := p.initial
		p.initial = nil
		if state == nil {
			var err error
			if state, err = loadState(ctx, p.st, p.o.stateKey()); err != nil {
				return err
			}
		}
		if err := w.Restore(state); err != nil {
			fmt.Fprintf(p.o.Log, "note: the %s worker's stored state cannot continue here (%v); starting afresh\n", name, err)
			if w, err = p.newItemWorker(st, send); err != nil {
				return err
			}
		} else {
			p.restored = true
		}
	}
	ordered := append([]Input(nil), inputs...)
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].ID < ordered[j].ID })
	vessels := p.o.Stage == StageVessels
	var items int64
	for _, in := range ordered {
		if in.Items == nil {
			p.failed = append(p.failed, inputError(in.Name, fmt.Errorf("not a %s worker's input of items", name)))
			continue
		}
		err := in.Items(ctx, func(it *detect.Item) {
			if vessels {
				if it.Kind == detect.ItemFix && it.For(p.o.Part) {
					p.read++
				}
				w.Apply(it)
				return
			}
			w.Apply(it)
			items++
			if items%p.o.BatchFixes == 0 {
				st.cut()
			}
		})
		if st.failed.Load() {
			st.finish()
			return p.err
		}
		if ctx.Err() != nil {
			st.finish()
			return fmt.Errorf("ingest interrupted after %d committed batches (rerun the same command to resume): %w", p.run.Batches, ctx.Err())
		}
		if err != nil {
			p.failed = append(p.failed, inputError(in.Name, err))
			p.incomplete = true
		}
	}
	if !vessels {
		// The items read: a run of a stage that stores no positions is
		// not taken for one that found nothing (store.Run.StoredNothing).
		p.messages = items
	}
	if r := w.Rejected(); r > 0 {
		// The items do not follow from the state they were applied to
		// (the workers' Rejected): the stages disagree, and what this run
		// would store is not what the whole engine stores. The run is not
		// done; nor is its checkpoint stored.
		st.finish()
		return fmt.Errorf("ingest: the %s worker rejected %d items (not in the sequencer's order: the sequencer and this partition's state disagree)", name, r)
	}
	switch {
	case p.run.Detached:
		// A run the sequencer read on its own, from a fresh state: read
		// here from a fresh worker too (its items end with the
		// sequencer's flush), the stored state left as it was.
	case p.o.Flush:
		// The sequencer's flush came as items (every segment closed,
		// then ItemFlush): the stream ends here, as a whole run's flush.
		p.state = &store.StateBlob{Key: p.o.stateKey()}
	default:
		p.state = &store.StateBlob{Key: p.o.stateKey(), Data: w.Checkpoint()}
	}
	st.finish()
	if p.err != nil {
		return p.err
	}
	if publish != nil && !p.incomplete {
		// An area worker's contacts reach the pair workers before its
		// run is done: a run stopped between the two is read again and
		// publishes the same contacts, which the pair workers take once.
		if err := publish(ctx); err != nil {
			return fmt.Errorf("ingest: the area worker's contacts: %w", err)
		}
	}
	return p.commit(true)
}

// inputError names the input in its error once (readers' errors often
// name their file already).
func inputError(name string, err error) error {
	if strings.HasPrefix(err.Error(), name+": ") {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

// inputFailed says an input could not be opened or read to its end.
func (p *pass) inputFailed(name string) bool {
	for _, err := range p.failed {
		if strings.HasPrefix(err.Error(), name+": ") {
			return true
		}
	}
	return false
}

// minutes converts, saturating: a window of math.MaxInt32 minutes (a
// pass read sorted whole) is the longest duration, not an overflow.
func minutes(m float64) time.Duration {
	if d := m * float64(time.Minute); d < float64(math.MaxInt64) {
		return time.Duration(d)
	}
	return math.MaxInt64
}

// stage hands the detectors' output to the storing goroutine in batches.
type stage struct {
	pipe   *batch.Pipe[stageItem]
	done   chan struct{}
	failed atomic.Bool
	once   sync.Once
}

type stageItem struct {
	fix    track.Fix
	seg    int
	event  *detect.Event
	forget bool // the engine evicted fix.MMSI
	cut    bool // end the batch here (a stage's BatchFixes items)
}

// handOver is how many items go from one goroutine to the next at a
// time: n for files (throughput), few for a live feed, whose fixes would
// otherwise wait for a batch to fill before the detectors, and the
// events before the store, see them.
func (p *pass) handOver(n int) int {
	if p.live {
		return 128
	}
	return n
}

func newStage(p *pass) *stage {
	st := &stage{pipe: batch.New[stageItem](p.handOver(2048)), done: make(chan struct{})}
	go func() {
		defer close(st.done)
		st.pipe.Drain(func(items []stageItem) {
			for i := range items {
				if p.err != nil {
					st.failed.Store(true)
					return // the rest is drained unread
				}
				switch it := &items[i]; {
				case it.event != nil:
					p.event(*it.event)
				case it.forget:
					p.forget(it.fix.MMSI)
				case it.cut:
					p.endBatch()
				default:
					p.observe(it.fix, it.seg)
				}
			}
			if p.err != nil {
				st.failed.Store(true)
			}
		})
	}()
	return st
}

func (st *stage) observe(f track.Fix, segment int) { st.pipe.Put(stageItem{fix: f, seg: segment}) }

func (st *stage) event(ev detect.Event) { st.pipe.Put(stageItem{event: &ev}) }

func (st *stage) forget(mmsi uint32) {
	st.pipe.Put(stageItem{fix: track.Fix{MMSI: mmsi}, forget: true})
}

// cut ends the batch at this point of the detectors' output.
func (st *stage) cut() { st.pipe.Put(stageItem{cut: true}) }

// finish hands over what is left and waits for the storing goroutine.
func (st *stage) finish() {
	st.once.Do(func() {
		st.pipe.Close()
		<-st.done
	})
}

// ctxSource ends a source when the context is cancelled.
type ctxSource struct {
	ais.Source
	ctx context.Context
	n   int
}

func (s *ctxSource) Next(m *ais.Message) error {
	s.n++
	if s.n&1023 == 0 && s.ctx.Err() != nil {
		return s.ctx.Err()
	}
	return s.Source.Next(m)
}

func (p *pass) event(ev detect.Event) {
	p.events = append(p.events, store.StoredEvent{Seq: p.seq, Event: ev})
	p.seq++
	p.nEvents++
	p.maybeEndBatch()
}

func (p *pass) observe(f track.Fix, segment int) {
	if p.err != nil {
		return
	}
	v := p.vessels[f.MMSI]
	if v == nil {
		v = &vesselState{}
		p.vessels[f.MMSI] = v
	}
	if r := detect.StaticIn(&f); r != nil {
		p.static(v, *r)
		p.maybeEndBatch()
		return
	}
	t := f.Time
	if !v.flagSeen {
		v.flagSeen = true
		if fl, ok := identity.MMSI(f.MMSI).Flag(); ok {
			v.flag = p.ident(v, f.MMSI, v.imo, fFlag, string(fl), t, f.Source())
		}
	} else if r := v.flag; r != nil {
		// The flag stays the same for every position of an MMSI: one
		// record per MMSI, extended in place.
		r.see(t, 0)
	}
	p.fixes++
	pt := tpoint{Time: t, Lat: f.Lat, Lon: f.Lon, SOG: f.SOG, COG: f.COG, Segment: int32(segment)}
	day := f.Time.Unix() / 86400
	keep, keepPrev := p.o.Thin.decide(&v.thin, pt)
	if v.enc.Len() > 0 && day != v.day {
		keep = true // each UTC day starts a chunk with a point
	}
	if keepPrev {
		p.keep(f.MMSI, v, v.thin.prev)
	}
	v.fixes++
	if keep {
		p.keep(f.MMSI, v, pt)
	}
	v.thin.prev, v.thin.prevKept, v.thin.any = pt, keep, true
	if p.fixes%p.o.BatchFixes == 0 || (p.live && p.fixes%256 == 0 && time.Since(p.lastCommit) >= p.o.CommitEvery) {
		p.endBatch()
		return
	}
	p.maybeEndBatch()
}

// maybeEndBatch ends a batch that holds finalPiece chunks or events, or
// identities seen for the first time: a flood of MMSIs (each evicted
// seals a chunk, each may bring an event and records) would otherwise
// pile a batch up until its fixes are counted. The cut points depend on
// the input alone, so a resumed run cuts at the same places.
func (p *pass) maybeEndBatch() {
	if len(p.chunks) >= finalPiece || len(p.events) >= finalPiece || len(p.newIdents)+len(p.written) >= finalPiece {
		p.endBatch()
	}
}

func (p *pass) endBatch() {
	if err := p.commit(false); err != nil {
		p.err = err
	}
}

// forget drops an MMSI the engine evicted: its open chunk is sealed into
// the batch and its state freed; its identity records stay (their totals
// go on counting if it is heard again). Memory then follows the engine's
// vessels, not every MMSI of the run.
func (p *pass) forget(mmsi uint32) {
	p.forgotten++
	if v := p.vessels[mmsi]; v != nil {
		p.seal(mmsi, v)
		for r := v.recs; r != nil; r = r.next {
			if r.count > 0 {
				p.written = append(p.written, r.take())
			}
			delete(p.idents, r.key)
		}
		delete(p.vessels, mmsi)
	}
}

func (p *pass) keep(mmsi uint32, v *vesselState, pt tpoint) {
	day := pt.Time.Unix() / 86400
	if v.enc.Len() > 0 && (day != v.day || v.enc.Len() >= p.o.ChunkPoints) {
		p.seal(mmsi, v)
	}
	if v.enc.Len() == 0 {
		v.enc.Reset()
		v.start, v.day = pt.Time, day
	}
	if err := v.enc.Append(pt.point()); err != nil {
		p.err = fmt.Errorf("ingest %d: %w", mmsi, err)
		return
	}
	v.end = pt.Time
	v.thin.kept = keptPoint{pt.Time, pt.SOG, pt.COG}
	p.kept++
}

func (p *pass) seal(mmsi uint32, v *vesselState) {
	if v.enc.Len() == 0 {
		return
	}
	p.chunks = append(p.chunks, store.Chunk{MMSI: mmsi, Start: v.start.Std(), End: v.end.Std(), N: v.enc.Len(), Fixes: v.fixes,
		Data: append([]byte(nil), v.enc.Bytes()...)})
	v.enc.Reset()
	v.fixes = 0
}

func (p *pass) static(v *vesselState, r detect.StaticReport) {
	if v.last == nil {
		v.last = new([nStaticFields]lastValue)
	}
	if r.IMO != 0 {
		v.imo = r.IMO
		p.staticField(v, r, fImo, strconv.FormatUint(uint64(r.IMO), 10))
	}
	if r.Name != "" {
		p.staticField(v, r, fName, r.Name)
	}
	if r.CallSign != "" {
		p.staticField(v, r, fCallSign, r.CallSign)
	}
	if r.ShipType != 0 {
		p.staticField(v, r, fShipType, strconv.Itoa(int(r.ShipType)))
	}
	if r.Destination != "" {
		p.staticField(v, r, fDestination, r.Destination)
	}
	if r.LengthM != 0 {
		p.staticField(v, r, fLength, strconv.Itoa(r.LengthM))
	}
	if r.Draught != 0 {
		p.staticField(v, r, fDraught, strconv.FormatFloat(r.Draught, 'f', 1, 64))
	}
}

func (p *pass) staticField(v *vesselState, r detect.StaticReport, i uint8, value string) {
	l := &v.last[i]
	if l.rec != nil && l.value == value {
		l.rec.see(r.Time, r.IMO)
		return
	}
	l.value, l.rec = value, p.ident(v, r.MMSI, v.imo, i, value, r.Time, r.Source)
}

func (p *pass) ident(v *vesselState, mmsi, imo uint32, field uint8, value string, t track.Time, source string) *identRec {
	k := identKey{mmsi, field, value}
	r := p.idents[k]
	if r == nil {
		if source == "" {
			source = "ais"
		}
		r = &identRec{key: k, imo: imo, source: source, next: v.recs}
		v.recs = r
		p.idents[k] = r
		p.newIdents = append(p.newIdents, r)
	}
	r.see(t, imo)
	return r
}

// finalPiece bounds the rows of one batch at the end of a run, when every
// vessel's open chunk and every identity's totals are written: with a
// million vessels in play, one batch of all of them held hundreds of MB
// at once.
const finalPiece = 1 << 16

// commit ends the current batch. Identity records are written in parts
// (see identRec): when first seen, when their vessel is evicted, and at
// the end of the run; the store adds the parts up. A resumed run cuts
// its batches at the same places and counts the parts it skips as
// written, so each part is stored once. The end of a run seals every
// open chunk and writes every record's last part in batches of at most
// finalPiece rows, the last one marking the run done.
func (p *pass) commit(final bool) error {
	if !final {
		return p.commitBatch(false, p.newIdents)
	}
	keys := make([]uint32, 0, len(p.vessels))
	for m := range p.vessels {
		keys = append(keys, m)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, m := range keys {
		p.seal(m, p.vessels[m])
		delete(p.vessels, m) // the run is over: free as it goes
		if len(p.chunks) >= finalPiece {
			if err := p.commitBatch(false, p.newIdents); err != nil {
				return err
			}
		}
	}
	// Every record's last part (those created in this batch are in
	// newIdents already).
	inBatch := make(map[*identRec]bool, len(p.newIdents))
	for _, r := range p.newIdents {
		inBatch[r] = true
	}
	var all []*identRec
	for _, r := range p.idents {
		if r.count > 0 && !inBatch[r] {
			all = append(all, r)
		}
	}
	sortRecs(all)
	for len(all)+len(p.newIdents) > finalPiece {
		n := max(0, finalPiece-len(p.newIdents))
		if err := p.commitBatch(false, append(p.newIdents, all[:n]...)); err != nil {
			return err
		}
		all = all[n:]
	}
	return p.commitBatch(true, append(p.newIdents, all...))
}

func sortRecs(rs []*identRec) {
	sort.Slice(rs, func(i, j int) bool {
		a, b := rs[i].key, rs[j].key
		if a.mmsi != b.mmsi {
			return a.mmsi < b.mmsi
		}
		if a.field != b.field {
			return fieldNames[a.field] < fieldNames[b.field]
		}
		return a.value < b.value
	})
}

// commitBatch stores the batch built so far with the parts of the
// records recs (what each counted since last written) and those of
// evicted vessels, done marking the run complete. A batch an earlier
// attempt committed is not written again, but its parts count as written.
func (p *pass) commitBatch(done bool, recs []*identRec) error {
	idx := p.batch
	p.batch++
	p.lastCommit = time.Now()
	skipped := idx < p.committed
	ids := p.written
	sortRecs(recs)
	for _, r := range recs {
		if r.count > 0 {
			ids = append(ids, r.take())
		}
	}
	if !skipped {
		b := &store.Batch{Run: p.run, Chunks: p.chunks, Events: p.events, Identities: ids}
		if done && !p.incomplete {
			// The state follows a run read to its end only: a run that
			// will be resumed must start from the state it started from.
			b.State = p.state
		}
		b.Run.Batches = idx + 1
		b.Run.Fixes, b.Run.Kept, b.Run.Events, b.Run.Done = p.fixes, p.kept, p.nEvents, done && !p.incomplete
		if done {
			b.Run.Read, b.Run.Held, b.Run.Untimed, b.Run.NoAIS, b.Run.Messages = p.read, p.held, p.untimed, p.noAIS, p.messages
		}
		sort.SliceStable(b.Identities, func(i, j int) bool {
			a, c := b.Identities[i], b.Identities[j]
			if a.MMSI != c.MMSI {
				return a.MMSI < c.MMSI
			}
			if a.Field != c.Field {
				return a.Field < c.Field
			}
			return a.Value < c.Value
		})
		if err := p.st.CommitBatch(context.Background(), b); err != nil {
			return err
		}
		p.run = b.Run
	}
	clear(p.chunks)
	clear(p.newIdents)
	p.chunks, p.events, p.newIdents, p.written = p.chunks[:0], p.events[:0], p.newIdents[:0], ids[:0]
	if p.o.Progress != nil {
		p.o.Progress(Progress{Batch: idx, Fixes: p.fixes, Kept: p.kept, Events: p.nEvents, Skipped: skipped})
	}
	return nil
}
