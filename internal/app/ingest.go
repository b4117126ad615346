package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/screen"
	"github.com/tidewatch/tidewatch/store"
)

// IngestStore is what ingest writes to (store.IngestStore).
type IngestStore interface {
	store.IngestStore
}

// EventReader selects events.
type EventReader interface {
	QueryEvents(ctx context.Context, q store.EventQuery) ([]detect.Event, error)
}

// IngestRequest loads AIS into the store.
type IngestRequest struct {
	Inputs []ingest.Input
	// Detect overrides the service's detector thresholds.
	Detect *detect.Config
	// Zones are added to the built-in ones.
	Zones []*geo.Zone
	// BatchFixes is the positions per committed batch (0: the default).
	BatchFixes int64
	// CommitEvery commits a live input on a clock (default 10 s).
	CommitEvery time.Duration
	Progress    func(ingest.Progress)
	Summary     func(name string, st *ais.Stats)
	Log         io.Writer
	// Flush ends the stream: what is still open is closed and the
	// detectors' state cleared (with no inputs: flush the stored state).
	Flush bool
	// Turn is the ingest's place in this process's queue for the
	// detectors' state (Service.IngestTurn), taken when a job was
	// accepted; nil: Ingest takes one when called. Ingest releases it.
	// Live inputs take none (their runs do not end).
	Turn *IngestTurn
	// Status is told what the ingest waits for ("waiting for the
	// detectors' state: 2 ingests ahead") and, when it reads its inputs
	// on their own because the state is held, why (IngestResult.StateHeld).
	Status func(note string)
	// Uploads are inputs received through the API: their bytes are kept
	// (Config.Uploads) before they are read, for case files.
	Uploads []Upload
}

// IngestResult is what an ingest did.
type IngestResult struct {
	ingest.Result
	// ListsAdded counts list versions stored first because the store had
	// none (the embedded snapshot), or lacked some of them.
	ListsAdded int `json:"lists_added,omitempty"`
	// Monitor is what the new events raised on portfolio vessels.
	Monitor *MonitorResult `json:"monitor,omitempty"`
	// Published names where the inputs went when the service publishes
	// AIS to the pipeline (Config.Publish): the workers store the events.
	Published string `json:"published,omitempty"`
	// StateHeld says, when the detectors' state was held by a run that
	// does not end (a live feed) or by another process, who held it: the
	// inputs were then read on their own (Result.Detached: a fresh state,
	// flushed at their end; the stored state left as it was).
	StateHeld string `json:"state_held,omitempty"`
	// Uploads says what became of the uploads' bytes (kept, and in how
	// many bytes on disk, or why not).
	Uploads []UploadKept `json:"uploads,omitempty"`
}

// Ingest loads AIS through the detectors into the store (see package
// ingest): resumable, with events flagged against the designated vessels
// in force. AIS is shared by every tenant: only the operator ingests.
func (s *Service) Ingest(ctx context.Context, p Principal, req IngestRequest) (IngestResult, error) {
	// This ingest's place in the queue for the detectors' state (see
	// stateTurns): live inputs take none, nor do inputs published to the
	// pipeline (its sequencer holds the state).
	turn, live := req.Turn, false
	for _, in := range req.Inputs {
		live = live || in.Live
	}
	if turn == nil && !live && s.publish == nil {
		turn = s.IngestTurn()
	}
	defer turn.Release()
	if live || s.publish != nil {
		turn.Release()
	}
	if err := p.needShared(RoleAnalyst, "ingesting AIS"); err != nil {
		return IngestResult{}, err
	}
	if len(req.Inputs) == 0 && !req.Flush {
		return IngestResult{}, Errorf(CodeInvalid, "no AIS input")
	}
	var res IngestResult
	res.Uploads = s.keepUploads(ctx, req.Uploads)
	if s.publish != nil {
		where, err := s.publish(ctx, req.Inputs, req.Flush)
		if err != nil {
			return res, err
		}
		res.Published = where
		for _, in := range req.Inputs {
			res.Run.Inputs = append(res.Run.Inputs, in.Name)
		}
		return res, nil
	}
	status := func(note string) {
		if req.Status != nil {
			req.Status(note)
		}
	}
	// Wait for the ingests of this process accepted before this one
	// (their runs end): this one then continues the state they leave.
	if err := turn.wait(ctx, func(ahead int) {
		what := "1 ingest"
		if ahead > 1 {
			what = fmt.Sprintf("%d ingests", ahead)
		}
		status("waiting for the detectors' state: " + what + " of this server ahead (files sent at once are read one after the other, in the order they were accepted, so that they continue each other)")
	}); err != nil {
		return res, err
	}
	added, err := s.EnsureLists(ctx)
	if err != nil {
		return res, err
	}
	res.ListsAdded = added
	g, err := s.Geography()
	if err != nil {
		return res, err
	}
	cfg := s.detect
	if req.Detect != nil {
		cfg = *req.Detect
	}
	designated, err := s.Designated(ctx)
	if err != nil {
		return res, err
	}
	zones := append(append([]*geo.Zone(nil), g.Zones...), req.Zones...)
	progress := func(pr ingest.Progress) {
		if req.Progress != nil {
			req.Progress(pr)
		}
		if pr.Events > 0 {
			s.wakeMonitor() // a live feed's events are screened at once
		}
	}
	opt := ingest.Options{Detect: cfg, BatchFixes: req.BatchFixes, CommitEvery: req.CommitEvery, Land: g.Land, Ports: g.Ports, Zones: zones, Log: req.Log,
		Progress: progress, Summary: req.Summary, Designated: designated, Flush: req.Flush}
	// The detectors' state is one stream's: the run that holds it
	// continues it. This process's ingests of files have waited their
	// turn above; what still holds the state is a run that does not end
	// (a live feed holds it while it runs) or another process's: a run
	// made meanwhile is read on its own rather than wait, leaves the
	// state as it was, and says so.
	stateUnlock, err := s.st.LockIngest(ctx, stateLockKey)
	switch {
	case errors.Is(err, store.ErrLocked):
		held := s.turns.heldBy()
		if req.Flush {
			return res, Errorf(CodeConflict, "another ingest holds the detectors' state (%s): flush when it has stopped", held)
		}
		opt.Detach = true
		res.StateHeld = held
		status(fmt.Sprintf("the detectors' state is held by %s: reading on its own (a fresh state, flushed at its end; the stored state left as it was)", held))
	case err != nil:
		return res, err
	default:
		s.turns.setHolder(holderName(req.Inputs))
		defer func() {
			s.turns.setHolder("")
			stateUnlock()
		}()
	}
	runKey := "flush"
	if len(req.Inputs) > 0 {
		runKey = ingest.RunID(req.Inputs, opt)
	}
	unlock, err := s.st.LockIngest(ctx, runKey)
	if errors.Is(err, store.ErrLocked) {
		return res, Errorf(CodeConflict, "another ingest of the same inputs is writing to this store: wait for it to finish (it can be resumed if stopped)")
	}
	if err != nil {
		return res, err
	}
	var r ingest.Result
	if len(req.Inputs) == 0 {
		r, err = ingest.Flush(ctx, s.st, opt)
	} else {
		r, err = ingest.Run(ctx, s.st, req.Inputs, opt)
	}
	unlock()
	res.Result = r
	if err != nil {
		return res, err
	}
	// What each input was, so a case file can tell it is the file ingested.
	if err := s.recordInputs(ctx, r.Run.ID, req.Inputs, res.Uploads); err != nil {
		return res, fmt.Errorf("record the inputs: %w", err)
	}
	if !r.AlreadyDone {
		s.Metrics.add(func(m *Counters) { m.IngestFixes += r.Run.Fixes; m.IngestEvents += r.Run.Events })
		var names []string
		for _, in := range req.Inputs {
			names = append(names, in.Name)
		}
		if _, err := s.record(ctx, p, audit.ActionIngest, "run:"+r.Run.ID, map[string]any{"inputs": names, "fixes": r.Run.Fixes,
			"events": r.Run.Events, "done": r.Run.Done, "failed": len(r.Failed)}); err != nil {
			return res, err
		}
		m, err := s.ScreenNewEvents(ctx)
		if errors.Is(err, store.ErrLeaseLost) {
			// Another process took the monitor over: its passes raise
			// the alerts on these events (they are behind its cursor).
			s.log.Warn("alerts on the new events", "err", err.Error())
		} else if err != nil {
			return res, fmt.Errorf("alerts on the new events: %w", err)
		} else {
			res.Monitor = &m
		}
	}
	return res, nil
}

// stateLockKey names the lock of the detectors' state: the run holding it
// continues the state.
const stateLockKey = "detector-state"

// holderName names the run holding the detectors' state, for the runs
// that find it held.
func holderName(inputs []ingest.Input) string {
	switch {
	case len(inputs) == 0:
		return "a flush"
	case inputs[0].Live:
		return "the live input " + inputs[0].Name
	case len(inputs) == 1:
		return "the ingest of " + inputs[0].Name
	}
	return fmt.Sprintf("the ingest of %s and %d other inputs", inputs[0].Name, len(inputs)-1)
}

// Runs lists the ingest runs. Runs are shared data, but their inputs name
// files on the operator's machines: other tenants see the files' base
// names only.
func (s *Service) Runs(ctx context.Context, p Principal) ([]store.Run, error) {
	if err := p.need(RoleViewer, "reading ingest runs"); err != nil {
		return nil, err
	}
	runs, err := s.st.Runs(ctx)
	if err != nil || p.Operator {
		return runs, err
	}
	for i := range runs {
		in := make([]string, len(runs[i].Inputs))
		for j, name := range runs[i].Inputs {
			in[j] = filepath.Base(name)
		}
		runs[i].Inputs = in
	}
	return runs, nil
}

// StoreStats counts what the store holds. The counts of what tenants own
// (assessments, decisions, audit records, tenants) are the whole
// installation's: only the operator sees them, other tenants get zeros
// (their own decisions and audit log are theirs to read).
func (s *Service) StoreStats(ctx context.Context, p Principal) (store.Stats, error) {
	if err := p.need(RoleViewer, "reading store statistics"); err != nil {
		return store.Stats{}, err
	}
	st, err := s.st.Stats(ctx)
	if err == nil && !p.Operator {
		st.Assessments, st.Decisions, st.Audit, st.Tenants = 0, 0, 0, 0
	}
	return st, err
}

// Ready checks the store answers, with one small read (not Stats, which
// counts every row: on years of data that is a scan per probe).
func (s *Service) Ready(ctx context.Context) error {
	_, err := s.st.Tenant(ctx, LocalTenant)
	if errors.Is(err, store.ErrNotFound) {
		return nil // a store without tenants yet answers all the same
	}
	return err
}

// Designated returns the matcher the detectors use to flag designated
// vessels: a ship broadcasting the IMO or MMSI of a vessel on a list in
// force now (identifiers only: a name alone does not make an identity).
// ingest and detect share it, so both flag the same ships.
func (s *Service) Designated(ctx context.Context) (func(imo, mmsi uint32) (string, string, bool), error) {
	idx, err := s.screens.now(ctx)
	if err != nil {
		return nil, err
	}
	return designatedMatcher(idx.ix), nil
}

func designatedMatcher(ix *screen.Index) func(imo, mmsi uint32) (string, string, bool) {
	return func(imo, mmsi uint32) (string, string, bool) {
		q := screen.Query{Type: "vessel"}
		if imo != 0 {
			q.IMO = strconv.Itoa(int(imo))
		}
		if mmsi != 0 {
			q.MMSI = fmt.Sprintf("%09d", mmsi)
		}
		if q.IMO == "" && q.MMSI == "" {
			return "", "", false
		}
		q, _ = q.Sanitised()
		if q.IMO == "" && q.MMSI == "" {
			return "", "", false
		}
		res, err := ix.Search(q, screen.Options{Limit: 1})
		if err != nil || len(res) == 0 || !res[0].Match || res[0].MatchedName != "" {
			return "", "", false
		}
		var refs []string
		for _, li := range res[0].Entity.Listings {
			refs = append(refs, li.Ref())
		}
		flag := res[0].Entity.Flag
		if len(flag) != 2 {
			flag = "" // a flag the lists spell but no country code
		}
		return fmt.Sprintf("%s [%s]", res[0].Entity.Name, strings.Join(refs, " ")), flag, true
	}
}

// DetectRequest runs the detectors over AIS inputs without a store.
type DetectRequest struct {
	Inputs []string
	// Open opens an input (default ais.OpenInput); the CLI wraps it to
	// count bytes read.
	Open   func(ctx context.Context, name string) (ais.Source, io.Closer, error)
	Detect *detect.Config
	Zones  []*geo.Zone
	// NoBuiltinZones leaves out DPRK waters and the STS areas.
	NoBuiltinZones bool
	// Designated flags ships using a designated vessel's identifiers.
	Designated bool
	// Lateness overrides the reorder window; zero reads files that are
	// found out of time order twice (the second time sorted whole).
	Lateness time.Duration
	// Live: an input is a feed (no second read).
	Live bool
	// Summary gets each input's reading statistics (the full read's).
	Summary func(name string, st *ais.Stats)
	// OnPass is told when a pass starts ("detecting", "detecting, sorted").
	OnPass func(label string)
	// OnInputError is told of an input that could not be read to its end.
	OnInputError func(name string, err error)
}

// DetectResult is the events of a detection run, sorted.
type DetectResult struct {
	Events  []detect.Event
	Fixes   int64
	Untimed int64
	Late    int64
	Failed  int
	// Evicted counts idle vessels dropped to stay under max_vessels.
	Evicted int64
	// Resorted: the input was read again, sorted whole.
	Resorted bool
}

// Detect runs every detector over the inputs and returns the events
// (event time; the same input gives the same events whatever the order of
// the files). A file not in time order (a MarineCadastre day is sorted by
// MMSI) is read again, sorted whole; a first pass with no late fix emits
// exactly the sorted order, so both paths give the same events.
func (s *Service) Detect(ctx context.Context, req DetectRequest) (DetectResult, error) {
	g, err := s.Geography()
	if err != nil {
		return DetectResult{}, err
	}
	zones := req.Zones
	if !req.NoBuiltinZones {
		zones = append(append([]*geo.Zone(nil), g.Zones...), req.Zones...)
	}
	cfg := s.detect
	if req.Detect != nil {
		cfg = *req.Detect
	}
	stdin := false
	for _, in := range req.Inputs {
		stdin = stdin || in == "-"
	}
	twoPass := false
	switch {
	case req.Lateness > 0:
		cfg.ReorderLatenessMinutes = req.Lateness.Minutes()
	case stdin:
		cfg.ReorderLatenessMinutes = math.MaxInt32 // standard input cannot be read twice
	case !req.Live:
		twoPass = true
	}
	var designated func(imo, mmsi uint32) (string, string, bool)
	if req.Designated {
		if designated, err = s.Designated(ctx); err != nil {
			return DetectResult{}, err
		}
	}
	open := req.Open
	if open == nil {
		open = func(ctx context.Context, name string) (ais.Source, io.Closer, error) {
			return ais.OpenInput(ctx, name, ais.FeedOptions{})
		}
	}
	var res DetectResult
	var summaries []func()
	pass := func(c detect.Config, stopWhenLate bool, label string) (outOfOrder bool) {
		res = DetectResult{Resorted: res.Resorted}
		summaries = nil
		eng := detect.NewEngine(c, g.Land, g.Ports, zones, func(ev detect.Event) { res.Events = append(res.Events, ev) })
		eng.Designated = designated
		eng.StopWhenLate = stopWhenLate
		if req.OnPass != nil {
			req.OnPass(label)
		}
		for _, in := range req.Inputs {
			src, closer, err := open(ctx, in)
			if err != nil {
				if req.OnInputError != nil {
					req.OnInputError(in, err)
				}
				res.Failed++
				continue
			}
			n, u, err := detect.FeedAISConcurrent(eng, src)
			closer.Close()
			if err == detect.ErrOutOfOrder {
				return true
			}
			res.Fixes += n
			res.Untimed += u
			if err != io.EOF {
				if req.OnInputError != nil {
					req.OnInputError(in, err)
				}
				res.Failed++
			}
			stats := src.Stats()
			name := in
			summaries = append(summaries, func() {
				if req.Summary != nil {
					req.Summary(name, stats)
				}
			})
		}
		eng.Flush()
		res.Late, res.Evicted = eng.Late(), int64(eng.Evictions())
		return false
	}
	if pass(cfg, twoPass, "detecting") {
		res.Resorted = true
		c := cfg
		c.ReorderLatenessMinutes = math.MaxInt32
		pass(c, false, "detecting, sorted")
	}
	for _, f := range summaries {
		f()
	}
	detect.SortEvents(res.Events)
	return res, ctx.Err()
}

// EventsRequest selects stored events.
type EventsRequest struct {
	// Vessel keeps events of one vessel (by IMO: every MMSI that
	// broadcast it).
	Vessel store.VesselQuery
	Kinds  []string
	From   time.Time
	To     time.Time
	// Area keeps events inside a box; Zone inside a built-in zone (its
	// id or name, e.g. "sts-east-china-sea").
	Area  *store.BBox
	Zone  string
	Limit int
}

// EventQuery is the store's event query.
type EventQuery = store.EventQuery

// MaxEvents caps one answer.
const MaxEvents = 10000

// Events selects stored events (shared data: every tenant sees them).
func (s *Service) Events(ctx context.Context, p Principal, r EventsRequest) ([]detect.Event, error) {
	if err := p.need(RoleViewer, "reading events"); err != nil {
		return nil, err
	}
	if !r.From.IsZero() && !r.To.IsZero() && r.To.Before(r.From) {
		return nil, Errorf(CodeInvalid, "the end of the period is before its start")
	}
	if r.Limit < 0 || r.Limit > MaxEvents {
		return nil, Errorf(CodeInvalid, "limit %d: at most %d", r.Limit, MaxEvents)
	}
	q := store.EventQuery{Kinds: r.Kinds, From: r.From, To: r.To, Area: r.Area, Limit: r.Limit}
	if b := q.Area; b != nil {
		// Written so that NaN fails too (it passed every comparison).
		if !(b.South >= -90 && b.North <= 90 && b.South <= b.North && b.West >= -180 && b.West <= 180 && b.East >= -180 && b.East <= 180) {
			return nil, Errorf(CodeInvalid, "area: south,west,north,east in degrees, south <= north")
		}
	}
	for _, k := range r.Kinds {
		if !knownKind(k) {
			return nil, Errorf(CodeInvalid, "event kind %q: one of %s", k, strings.Join(EventKinds, ", "))
		}
	}
	var zone *geo.Zone
	if r.Zone != "" {
		g, err := s.Geography()
		if err != nil {
			return nil, err
		}
		for _, z := range g.Zones {
			if strings.EqualFold(z.ID, r.Zone) || strings.EqualFold(z.Name, r.Zone) {
				zone = z
			}
		}
		if zone == nil {
			var names []string
			for _, z := range g.Zones {
				names = append(names, z.ID)
			}
			return nil, Errorf(CodeInvalid, "zone %q: one of %s", r.Zone, strings.Join(names, ", "))
		}
		minLat, minLon, maxLat, maxLon := zone.Bounds()
		if q.Area == nil {
			q.Area = &store.BBox{South: minLat, West: minLon, North: maxLat, East: maxLon}
		}
		q.Limit = 0 // filtered below
	}
	if r.Vessel.IMO != 0 || r.Vessel.MMSI != 0 {
		q.MMSIs = []uint32{}
		if r.Vessel.MMSI != 0 {
			q.MMSIs = append(q.MMSIs, r.Vessel.MMSI)
		}
		if r.Vessel.IMO != 0 {
			ids, err := s.st.IdentityHistory(ctx, store.VesselQuery{IMO: r.Vessel.IMO})
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				q.MMSIs = appendUniq(q.MMSIs, id.MMSI)
			}
		}
		if len(q.MMSIs) == 0 {
			return []detect.Event{}, nil
		}
	}
	evs, err := s.st.QueryEvents(ctx, q)
	if err != nil {
		return nil, err
	}
	if zone != nil {
		kept := evs[:0]
		for _, e := range evs {
			if zone.Contains(e.Lat, e.Lon) {
				kept = append(kept, e)
			}
		}
		evs = kept
		if r.Limit > 0 && len(evs) > r.Limit {
			evs = evs[:r.Limit]
		}
	}
	if evs == nil {
		evs = []detect.Event{}
	}
	return evs, nil
}

// EventKinds are the kinds of event the detectors emit.
var EventKinds = []string{detect.KindGap, detect.KindEncounter, detect.KindLoitering, detect.KindPortCall, detect.KindZoneEntry, detect.KindZoneExit,
	detect.KindIdentityChange, detect.KindIdentityConflict, detect.KindSpoofing, detect.KindDraughtChange, detect.KindInconsistency}

func knownKind(k string) bool {
	for _, x := range EventKinds {
		if x == k {
			return true
		}
	}
	return false
}
