package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/ledger"
	"github.com/tidewatch/tidewatch/screen"
	"github.com/tidewatch/tidewatch/store"
)

// The refined-petroleum cap ledger (package ledger, docs/ledger.md). Its
// reference data (notified records, capacities, factors) is shared by
// every tenant, like the lists: the operator's analysts change it, every
// tenant reads the ledger, which is computed afresh from the current
// records, factors, capacities and stored events on every call.

// LedgerStore is what the ledger needs of storage (store.LedgerStore).
type LedgerStore interface {
	store.LedgerStore
}

// ActionLedger is the audit action of changes to the ledger's data.
const ActionLedger = "ledger"

// NotifiedRecords lists the notified records.
func (s *Service) NotifiedRecords(ctx context.Context, p Principal) ([]ledger.Notified, error) {
	if err := p.need(RoleViewer, "reading the cap ledger"); err != nil {
		return nil, err
	}
	rs, err := s.st.NotifiedRecords(ctx)
	if rs == nil {
		rs = []ledger.Notified{}
	}
	return redactNotified(p, rs), err
}

// redactNotified blanks who entered and changed the records for a
// principal of another tenant than the operator: the operator's user
// names and key ids are not another tenant's to read (the audit log,
// the operator's own, keeps them).
func redactNotified(p Principal, rs []ledger.Notified) []ledger.Notified {
	if p.Operator || len(rs) == 0 {
		return rs
	}
	out := make([]ledger.Notified, len(rs))
	for i, n := range rs {
		n.CreatedBy, n.UpdatedBy = "", ""
		out[i] = n
	}
	return out
}

func newLedgerID(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func invalid(err error) error {
	if err == nil {
		return nil
	}
	return Errorf(CodeInvalid, "%s", err.Error())
}

// AddNotified enters a notified record (the operator's analysts: the
// ledger is shared). The record's ID is assigned.
func (s *Service) AddNotified(ctx context.Context, p Principal, n ledger.Notified) (ledger.Notified, error) {
	if err := p.needShared(RoleAnalyst, "entering a notified delivery"); err != nil {
		return n, err
	}
	now := s.Now()
	n.ID, n.Created, n.CreatedBy, n.Updated, n.UpdatedBy = newLedgerID("n-"), now, p.Actor, now, p.Actor
	if err := s.validNotified(ctx, n); err != nil {
		return n, err
	}
	if err := s.st.PutNotified(ctx, n); err != nil {
		return n, err
	}
	_, err := s.record(ctx, p, ActionLedger, "notified:"+n.ID, map[string]any{"added": n})
	return n, err
}

// UpdateNotified replaces a notified record's fields (its ID, creation and
// creator stay); the audit log keeps the record before and after.
func (s *Service) UpdateNotified(ctx context.Context, p Principal, id string, n ledger.Notified) (ledger.Notified, error) {
	if err := p.needShared(RoleAnalyst, "changing a notified delivery"); err != nil {
		return n, err
	}
	old, err := s.notified(ctx, id)
	if err != nil {
		return n, err
	}
	n.ID, n.Created, n.CreatedBy, n.Updated, n.UpdatedBy = old.ID, old.Created, old.CreatedBy, s.Now(), p.Actor
	if err := s.validNotified(ctx, n); err != nil {
		return n, err
	}
	if err := s.st.PutNotified(ctx, n); err != nil {
		return n, err
	}
	_, err = s.record(ctx, p, ActionLedger, "notified:"+n.ID, map[string]any{"before": old, "after": n})
	return n, err
}

// validNotified checks a record, its product among the factors in force.
func (s *Service) validNotified(ctx context.Context, n ledger.Notified) error {
	if err := invalid(n.Validate()); err != nil {
		return err
	}
	fs, err := s.factors(ctx)
	if err != nil {
		return err
	}
	return invalid(fs.CheckProduct(n.Product))
}

// DeleteNotified deletes a notified record (kept in the audit log).
func (s *Service) DeleteNotified(ctx context.Context, p Principal, id string) error {
	if err := p.needShared(RoleAnalyst, "deleting a notified delivery"); err != nil {
		return err
	}
	old, err := s.notified(ctx, id)
	if err != nil {
		return err
	}
	if err := s.st.DeleteNotified(ctx, id); err != nil {
		return err
	}
	_, err = s.record(ctx, p, ActionLedger, "notified:"+id, map[string]any{"deleted": old})
	return err
}

func (s *Service) notified(ctx context.Context, id string) (ledger.Notified, error) {
	rs, err := s.st.NotifiedRecords(ctx)
	if err != nil {
		return ledger.Notified{}, err
	}
	for _, r := range rs {
		if r.ID == id {
			return r, nil
		}
	}
	return ledger.Notified{}, Errorf(CodeNotFound, "no notified record %q", id)
}

// NotifiedImport is what a CSV import did.
type NotifiedImport struct {
	Added []ledger.Notified `json:"added"`
	// Held counts rows equal to a record already held (same period,
	// supplier, product, quantity, unit, barrels and source): skipped, so
	// importing a file twice adds nothing.
	Held int               `json:"already_held"`
	Bad  []ledger.RowError `json:"bad_rows"`
}

// figureKey is equal for two records stating the same figure (same
// period, supplier, product, quantity, unit, barrels and source).
func figureKey(n ledger.Notified) string {
	return fmt.Sprintf("%s|%s|%s|%s|%v|%s|%v|%s", n.PeriodStart, n.PeriodEnd, strings.ToLower(n.Supplier), n.Product, n.Quantity, n.Unit, n.BarrelsAsPublished, n.Source)
}

// MaxNotifiedCSV bounds an import's file (bytes).
const MaxNotifiedCSV = 64 << 20

// ImportNotified reads notified records from CSV (docs/ledger.md gives
// the columns); a bad row is reported with its line and costs itself
// only; rows already held are skipped. name labels the file in the audit
// log. embedded: import the transcription built into the binary instead.
func (s *Service) ImportNotified(ctx context.Context, p Principal, r io.Reader, name string) (NotifiedImport, error) {
	res := NotifiedImport{Added: []ledger.Notified{}, Bad: []ledger.RowError{}}
	if err := p.needShared(RoleAnalyst, "importing notified deliveries"); err != nil {
		return res, err
	}
	fs, err := s.factors(ctx)
	if err != nil {
		return res, err
	}
	// Read whole, not cut silently at the bound: a cut last row could read
	// as a smaller number.
	body, err := io.ReadAll(io.LimitReader(r, MaxNotifiedCSV+1))
	if err != nil {
		return res, err
	}
	if len(body) > MaxNotifiedCSV {
		return res, Errorf(CodeInvalid, "%s: larger than %d MiB: split it (at most %d rows a file)", name, MaxNotifiedCSV>>20, ledger.MaxCSVRows)
	}
	recs, bad, err := ledger.ParseNotifiedCSV(bytes.NewReader(body), fs)
	if err != nil {
		return res, Errorf(CodeInvalid, "%s: %v", name, err)
	}
	if bad != nil {
		res.Bad = bad
	}
	held, err := s.st.NotifiedRecords(ctx)
	if err != nil {
		return res, err
	}
	seen := make(map[string]bool, len(held)+len(recs))
	for _, h := range held {
		seen[figureKey(h)] = true
	}
	now := s.Now()
	for _, n := range recs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		k := figureKey(n)
		if seen[k] {
			res.Held++
			continue
		}
		seen[k] = true
		n.ID, n.Created, n.CreatedBy, n.Updated, n.UpdatedBy = newLedgerID("n-"), now, p.Actor, now, p.Actor
		if err := s.st.PutNotified(ctx, n); err != nil {
			return res, err
		}
		res.Added = append(res.Added, n)
	}
	var ids []string
	for _, n := range res.Added {
		ids = append(ids, n.ID)
	}
	_, err = s.record(ctx, p, ActionLedger, "notified:import", map[string]any{"file": name, "added": ids, "already_held": res.Held, "bad_rows": len(res.Bad)})
	return res, err
}

// ImportEmbeddedNotified imports the published notified figures built
// into the binary (ledger/data/notified_supplies.csv).
func (s *Service) ImportEmbeddedNotified(ctx context.Context, p Principal) (NotifiedImport, error) {
	return s.ImportNotified(ctx, p, bytes.NewReader(ledger.EmbeddedNotifiedCSV()), "embedded:ledger/data/notified_supplies.csv")
}

// CapacityRequest sets a vessel's capacity.
type CapacityRequest struct {
	Vessel store.VesselQuery `json:"-"`
	DWT    float64           `json:"dwt_tonnes"`
	Source string            `json:"source"`
	Note   string            `json:"note,omitempty"`
}

// CapacitySet is a capacity as set, with what else applies to the ship.
type CapacitySet struct {
	store.VesselCapacity
	// Warnings name another capacity of the same ship: an IMO's comes
	// before an MMSI's for the port calls made while the MMSI broadcast
	// that IMO, so a capacity set by MMSI may not be the one used.
	Warnings []string `json:"warnings,omitempty"`
}

// SetCapacity sets a tanker's deadweight (by IMO when given, else MMSI):
// it comes before list tonnage and AIS length in every estimate. An IMO's
// capacity comes before an MMSI's: the answer warns when the other exists.
func (s *Service) SetCapacity(ctx context.Context, p Principal, req CapacityRequest) (CapacitySet, error) {
	if err := p.needShared(RoleAnalyst, "setting a vessel's capacity"); err != nil {
		return CapacitySet{}, err
	}
	if req.Vessel.IMO == 0 && req.Vessel.MMSI == 0 {
		return CapacitySet{}, Errorf(CodeInvalid, "give the vessel's IMO number or MMSI")
	}
	if !(req.DWT >= 50 && req.DWT <= 600000) {
		return CapacitySet{}, Errorf(CodeInvalid, "deadweight %v t: give tonnes between 50 and 600,000", req.DWT)
	}
	if strings.TrimSpace(req.Source) == "" || len(req.Source) > 2000 || len(req.Note) > 4000 {
		return CapacitySet{}, Errorf(CodeInvalid, "give the capacity's source (at most 2,000 bytes; a note at most 4,000)")
	}
	c := store.VesselCapacity{IMO: req.Vessel.IMO, MMSI: req.Vessel.MMSI, DWT: req.DWT, Source: req.Source, Note: req.Note, Set: s.Now(), SetBy: p.Actor}
	if c.IMO != 0 {
		c.MMSI = 0 // the ship, whatever MMSI it uses
	}
	warnings, err := s.capacityOverlaps(ctx, c)
	if err != nil {
		return CapacitySet{}, err
	}
	if err := s.st.PutCapacity(ctx, c); err != nil {
		return CapacitySet{VesselCapacity: c}, err
	}
	_, err = s.record(ctx, p, ActionLedger, c.Key(), map[string]any{"capacity": c, "warnings": warnings})
	return CapacitySet{VesselCapacity: c, Warnings: warnings}, err
}

// capacityOverlaps says which capacities set for the same ship under its
// other identifier take precedence over c (an IMO's over an MMSI's) or
// are overridden by it.
func (s *Service) capacityOverlaps(ctx context.Context, c store.VesselCapacity) ([]string, error) {
	caps, err := s.st.Capacities(ctx)
	if err != nil {
		return nil, err
	}
	byKey := map[string]store.VesselCapacity{}
	for _, x := range caps {
		byKey[x.Key()] = x
	}
	var out []string
	if c.IMO == 0 {
		ids, err := s.st.IdentityHistory(ctx, store.VesselQuery{MMSI: c.MMSI})
		if err != nil {
			return nil, err
		}
		seen := map[uint32]bool{}
		for _, id := range ids {
			n, err := strconv.Atoi(id.Value)
			if id.Field != "imo" || err != nil || n <= 0 || seen[uint32(n)] {
				continue
			}
			seen[uint32(n)] = true
			if o, ok := byKey[store.VesselCapacity{IMO: uint32(n)}.Key()]; ok {
				out = append(out, fmt.Sprintf("MMSI %09d broadcast IMO %d (%s to %s), which has its own capacity (%s t, set by IMO): that one is used for the port calls made while it broadcast that IMO, not this one",
					c.MMSI, n, id.First.UTC().Format("2006-01-02"), id.Last.UTC().Format("2006-01-02"), ledger.Thousands(o.DWT)))
			}
		}
		return out, nil
	}
	ids, err := s.st.IdentityHistory(ctx, store.VesselQuery{IMO: c.IMO})
	if err != nil {
		return nil, err
	}
	seen := map[uint32]bool{}
	for _, id := range ids {
		if seen[id.MMSI] {
			continue
		}
		seen[id.MMSI] = true
		if o, ok := byKey[store.VesselCapacity{MMSI: id.MMSI}.Key()]; ok {
			out = append(out, fmt.Sprintf("MMSI %09d, which broadcast IMO %d, has a capacity set by MMSI (%s t): this one (by IMO) is used instead for the port calls made while it broadcast IMO %d",
				id.MMSI, c.IMO, ledger.Thousands(o.DWT), c.IMO))
		}
	}
	return out, nil
}

// DeleteCapacity removes a capacity set by an analyst.
func (s *Service) DeleteCapacity(ctx context.Context, p Principal, q store.VesselQuery) error {
	if err := p.needShared(RoleAnalyst, "removing a vessel's capacity"); err != nil {
		return err
	}
	key := store.VesselCapacity{IMO: q.IMO, MMSI: q.MMSI}.Key()
	if q.IMO == 0 && q.MMSI == 0 {
		return Errorf(CodeInvalid, "give the vessel's IMO number or MMSI")
	}
	if err := s.st.DeleteCapacity(ctx, key); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Errorf(CodeNotFound, "no capacity set for %s", key)
		}
		return err
	}
	_, err := s.record(ctx, p, ActionLedger, key, map[string]any{"capacity_removed": key})
	return err
}

// Capacities lists the capacities analysts set.
func (s *Service) Capacities(ctx context.Context, p Principal) ([]store.VesselCapacity, error) {
	if err := p.need(RoleViewer, "reading the cap ledger"); err != nil {
		return nil, err
	}
	cs, err := s.st.Capacities(ctx)
	if cs == nil {
		cs = []store.VesselCapacity{}
	}
	if !p.Operator {
		for i := range cs {
			cs[i].SetBy = "" // the operator's user: not another tenant's to read
		}
	}
	return cs, err
}

// SetFactor changes (or adds) a product's conversion factor; every
// ledger after it uses the new one.
func (s *Service) SetFactor(ctx context.Context, p Principal, f ledger.Factor) (ledger.Factor, error) {
	if err := p.needShared(RoleAnalyst, "changing a conversion factor"); err != nil {
		return f, err
	}
	// A bound not given is the factor itself (a range to one side only).
	if f.Low == 0 {
		f.Low = f.BblPerTonne
	}
	if f.High == 0 {
		f.High = f.BblPerTonne
	}
	if err := invalid(f.Validate()); err != nil {
		return f, err
	}
	cur, err := s.factors(ctx)
	if err != nil {
		return f, err
	}
	old, _ := cur.Get(f.Product)
	if err := s.st.PutFactor(ctx, f); err != nil {
		return f, err
	}
	_, err = s.record(ctx, p, ActionLedger, "factor:"+f.Product, map[string]any{"before": old, "after": f})
	return f, err
}

// DeleteFactor removes a stored factor: the embedded one applies again.
func (s *Service) DeleteFactor(ctx context.Context, p Principal, product string) error {
	if err := p.needShared(RoleAnalyst, "removing a conversion factor"); err != nil {
		return err
	}
	if err := s.st.DeleteFactor(ctx, product); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Errorf(CodeNotFound, "no stored factor for %q (embedded factors cannot be removed, only changed)", product)
		}
		return err
	}
	_, err := s.record(ctx, p, ActionLedger, "factor:"+product, map[string]any{"factor_removed": product})
	return err
}

// Factors are the conversion factors in force: the embedded ones with
// the stored changes.
func (s *Service) Factors(ctx context.Context, p Principal) ([]ledger.Factor, error) {
	if err := p.need(RoleViewer, "reading the cap ledger"); err != nil {
		return nil, err
	}
	fs, err := s.factors(ctx)
	if err != nil {
		return nil, err
	}
	return fs.Sorted(), nil
}

func (s *Service) factors(ctx context.Context) (ledger.Factors, error) {
	over, err := s.st.Factors(ctx)
	if err != nil {
		return nil, err
	}
	return ledger.DefaultFactors().With(over), nil
}

// LedgerRequest asks for the ledger.
type LedgerRequest struct {
	// Year is the year (0: every year with a record, an estimate or a
	// published figure).
	Year int
}

// LedgerResult is the ledger with what it rests on.
type LedgerResult struct {
	Years   []ledger.Year   `json:"years"`
	Rules   ledger.Rules    `json:"rules"`
	Factors []ledger.Factor `json:"factors"`
	Program string          `json:"program"`
	// Computed is when (the figures are recomputed on every call).
	Computed time.Time `json:"computed"`
	// Simulated names the estimates resting on simulated AIS (the demo).
	Simulated []string `json:"simulated,omitempty"`
}

// dprkBox bounds every DPRK port: port calls are read from it only.
var dprkBox = &store.BBox{South: 37.5, West: 124.0, North: 43.1, East: 131.0}

// Ledger computes the cap ledger for a year, or every year: notified
// records converted with the current factors, estimates from the stored
// events with the current capacities, published estimates beside ours.
func (s *Service) Ledger(ctx context.Context, p Principal, req LedgerRequest) (LedgerResult, error) {
	if err := p.need(RoleViewer, "reading the cap ledger"); err != nil {
		return LedgerResult{}, err
	}
	if req.Year != 0 && (req.Year < 2000 || req.Year > 2200) {
		return LedgerResult{}, Errorf(CodeInvalid, "year %d: give a year such as 2024", req.Year)
	}
	fs, err := s.factors(ctx)
	if err != nil {
		return LedgerResult{}, err
	}
	recs, err := s.st.NotifiedRecords(ctx)
	if err != nil {
		return LedgerResult{}, err
	}
	recs = redactNotified(p, recs)
	rules := ledger.DefaultRules
	var from, to time.Time
	if req.Year != 0 {
		from = time.Date(req.Year, 1, 1, 0, 0, 0, 0, time.UTC)
		to = from.AddDate(1, 0, 0).Add(-time.Millisecond)
		// Published periods that start in the year may run into the next.
		for _, pb := range ledger.EmbeddedPublished() {
			if strings.HasPrefix(pb.PeriodStart, strconv.Itoa(req.Year)) {
				if e, err := time.Parse("2006-01-02", pb.PeriodEnd); err == nil && e.AddDate(0, 0, 1).After(to) {
					to = e.AddDate(0, 0, 1)
				}
			}
		}
	}
	ests, skipped, err := s.estimates(ctx, from, to, nil, rules, fs)
	if err != nil {
		return LedgerResult{}, err
	}
	published := ledger.EmbeddedPublished()
	years := []int{req.Year}
	if req.Year == 0 {
		years = ledger.Years(recs, ests, published)
	}
	res := LedgerResult{Rules: rules, Factors: fs.Sorted(), Program: "tidewatch " + s.version, Computed: s.Now(), Years: []ledger.Year{}}
	for _, y := range years {
		b, err := ledger.Build(ctx, y, recs, ests, skipped, published, fs)
		if err != nil {
			return LedgerResult{}, err
		}
		res.Years = append(res.Years, b)
	}
	for _, e := range ests {
		if e.Vessel.Simulated {
			res.Simulated = append(res.Simulated, fmt.Sprintf("estimate %s (%09d %s): simulated AIS", e.ID, e.Vessel.MMSI, e.Vessel.Name))
		}
	}
	return res, nil
}

// LedgerYears lists the years with a record, an estimate or a published
// figure, oldest first, without building their ledgers (the web page's
// year list).
func (s *Service) LedgerYears(ctx context.Context, p Principal) ([]int, error) {
	if err := p.need(RoleViewer, "reading the cap ledger"); err != nil {
		return nil, err
	}
	fs, err := s.factors(ctx)
	if err != nil {
		return nil, err
	}
	recs, err := s.st.NotifiedRecords(ctx)
	if err != nil {
		return nil, err
	}
	ests, _, err := s.estimates(ctx, time.Time{}, time.Time{}, nil, ledger.DefaultRules, fs)
	if err != nil {
		return nil, err
	}
	return ledger.Years(recs, ests, ledger.EmbeddedPublished()), nil
}

// estimates finds the deliveries arriving in [from, to] (zero: no bound),
// of every tanker (only: nil) or of the tankers given.
func (s *Service) estimates(ctx context.Context, from, to time.Time, only []uint32, rules ledger.Rules, fs ledger.Factors) ([]ledger.Estimate, []ledger.Skipped, error) {
	calls, err := s.allEvents(ctx, store.EventQuery{Kinds: []string{detect.KindPortCall}, From: from, To: to, Area: dprkBox, MMSIs: only})
	if err != nil {
		return nil, nil, err
	}
	facts, err := s.vesselFacts(ctx)
	if err != nil {
		return nil, nil, err
	}
	evs := []detect.Event{}
	seen := map[string]bool{}
	isTanker := map[uint32]bool{}
	var tankers []uint32
	first := to
	for _, e := range calls {
		if !e.Details.DPRKPort || len(e.Vessels) == 0 || (!from.IsZero() && e.Start.Before(from)) {
			continue
		}
		m := e.Vessels[0].MMSI
		if !facts(m, e.Start).Tanker {
			continue
		}
		evs = append(evs, e)
		seen[e.ID] = true
		if !isTanker[m] {
			isTanker[m] = true
			tankers = append(tankers, m)
		}
		if first.IsZero() || e.Start.Before(first) {
			first = e.Start
		}
	}
	if len(tankers) > 0 {
		// Their loadings and earlier DPRK calls, from the lookback before
		// the first call on.
		var lf time.Time
		if !first.IsZero() {
			lf = first.Add(-rules.Lookback())
		}
		lt := to
		if lt.IsZero() {
			lt = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		if lf.IsZero() {
			lf = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		more, err := s.st.Events(ctx, tankers, lf, lt)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range more {
			if seen[e.ID] {
				continue
			}
			switch e.Kind {
			case detect.KindEncounter, detect.KindZoneExit, detect.KindPortCall:
				seen[e.ID] = true
				evs = append(evs, e)
			}
		}
	}
	ests, skipped := ledger.Estimates(evs, facts, rules, fs)
	// Earlier calls were read for the chain of calls only.
	keep := ests[:0]
	for _, e := range ests {
		if (from.IsZero() || !e.Arrival.Before(from)) && (to.IsZero() || !e.Arrival.After(to)) {
			keep = append(keep, e)
		}
	}
	keptSkips := skipped[:0]
	for _, k := range skipped {
		if (from.IsZero() || !k.Arrival.Before(from)) && (to.IsZero() || !k.Arrival.After(to)) {
			keptSkips = append(keptSkips, k)
		}
	}
	if keep == nil {
		keep = []ledger.Estimate{}
	}
	return keep, keptSkips, nil
}

// allEvents reads every event a query selects, page by page past the
// store's cap on one answer.
func (s *Service) allEvents(ctx context.Context, q store.EventQuery) ([]detect.Event, error) {
	q.Limit = MaxEvents
	var out []detect.Event
	seen := map[string]int{}
	for page := 0; page < 10000; page++ {
		evs, err := s.st.QueryEvents(ctx, q)
		if err != nil {
			return nil, err
		}
		added := 0
		for _, e := range evs {
			if i, ok := seen[e.ID]; ok {
				if e.End.After(out[i].End) {
					out[i] = e
				}
				continue
			}
			seen[e.ID] = len(out)
			out = append(out, e)
			added++
		}
		if len(evs) < q.Limit || added == 0 {
			break
		}
		q.From = evs[len(evs)-1].Start
	}
	detect.SortEvents(out)
	return out, nil
}

// vesselFacts returns what the ledger knows of a ship by MMSI at a time:
// identity from AIS (the IMO and name the MMSI broadcast then, or last
// before: an MMSI reused by another ship is not that ship), type and
// tonnage from the lists in force, the capacity an analyst set (which
// comes first), else list tonnage, else AIS length.
func (s *Service) vesselFacts(ctx context.Context) (func(uint32, time.Time) ledger.Vessel, error) {
	caps, err := s.st.Capacities(ctx)
	if err != nil {
		return nil, err
	}
	byKey := map[string]store.VesselCapacity{}
	for _, c := range caps {
		byKey[c.Key()] = c
	}
	idx, err := s.screens.now(ctx)
	if err != nil {
		return nil, err
	}
	// One identity history read per MMSI, however many events it has.
	histories := map[uint32][]store.Identity{}
	var ferr error
	f := func(m uint32, at time.Time) ledger.Vessel {
		v := ledger.Vessel{MMSI: m}
		ids, ok := histories[m]
		if !ok {
			var err error
			if ids, err = s.st.IdentityHistory(ctx, store.VesselQuery{MMSI: m}); err != nil {
				ferr = err
				return v
			}
			histories[m] = ids
		}
		if id, ok := identityAt(ids, "imo", at); ok {
			if n, err := strconv.Atoi(id.Value); err == nil {
				v.IMO = uint32(n)
			}
		}
		if id, ok := identityAt(ids, "name", at); ok {
			v.Name = id.Value
		}
		var length float64
		for _, id := range ids {
			switch id.Field {
			case "ship_type":
				if t, err := strconv.Atoi(id.Value); err == nil && t >= 80 && t <= 89 && !v.Tanker {
					v.Tanker, v.TankerWhy = true, fmt.Sprintf("AIS ship type %d (tanker)", t)
				}
			case "length":
				if l, err := strconv.ParseFloat(id.Value, 64); err == nil && l > length {
					length = l
				}
			}
			if IsSimulatedSource(id.Source) {
				v.Simulated = true
			}
		}
		var ent *listVessel
		if idx != nil {
			ent = lookupListVessel(idx.ix, v.IMO, m)
		}
		if ent != nil && !v.Tanker && strings.Contains(strings.ToLower(ent.vesselType), "tanker") {
			v.Tanker, v.TankerWhy = true, "listed as "+ent.vesselType+" ("+ent.ref+")"
		}
		if c, ok := byKey[store.VesselCapacity{IMO: v.IMO}.Key()]; ok && v.IMO != 0 {
			cp := ledger.FromDeadweight(c.DWT, c.Source)
			v.Capacity = &cp
		} else if c, ok := byKey[store.VesselCapacity{MMSI: m}.Key()]; ok {
			cp := ledger.FromDeadweight(c.DWT, c.Source)
			v.Capacity = &cp
		}
		if v.Capacity != nil && !v.Tanker {
			v.Tanker, v.TankerWhy = true, "an analyst set its cargo capacity"
		}
		if v.Capacity == nil && ent != nil && ent.tonnage != "" {
			if cp, ok := ledger.FromListTonnage(ent.tonnage, ent.ref); ok {
				v.Capacity = &cp
			}
		}
		if v.Capacity == nil && length > 0 {
			if cp, ok := ledger.FromLength(length); ok {
				v.Capacity = &cp
			}
		}
		return v
	}
	return func(m uint32, at time.Time) ledger.Vessel {
		v := f(m, at)
		if ferr != nil {
			s.log.Warn("ledger: vessel facts", "mmsi", m, "err", ferr.Error())
			ferr = nil
		}
		return v
	}, nil
}

// identityAt picks the value of one identity field an MMSI broadcast at
// t: of the values first seen at or before t, one still broadcast at t
// (the latest begun, when spells overlap), else the one last seen
// nearest before t; when every value begins after t, the first one. An
// MMSI's most-broadcast value over all time is not the one of an event:
// MMSIs are reused, and DPRK ships take over other ships' identities.
func identityAt(ids []store.Identity, field string, t time.Time) (store.Identity, bool) {
	var during, before, after store.Identity
	var hasDuring, hasBefore, hasAfter bool
	// tie breaks equal times: the more broadcast, then the smaller value
	// (the store returns records in no promised order).
	tie := func(a, b store.Identity) bool {
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Value < b.Value
	}
	for _, id := range ids {
		if id.Field != field {
			continue
		}
		switch {
		case id.First.After(t):
			if !hasAfter || id.First.Before(after.First) || (id.First.Equal(after.First) && tie(id, after)) {
				after, hasAfter = id, true
			}
		case !id.Last.Before(t):
			if !hasDuring || id.First.After(during.First) || (id.First.Equal(during.First) && tie(id, during)) {
				during, hasDuring = id, true
			}
		default:
			if !hasBefore || id.Last.After(before.Last) || (id.Last.Equal(before.Last) && tie(id, before)) {
				before, hasBefore = id, true
			}
		}
	}
	switch {
	case hasDuring:
		return during, true
	case hasBefore:
		return before, true
	}
	return after, hasAfter
}

// listVessel is a designated vessel's facts the ledger uses.
type listVessel struct {
	vesselType, tonnage, ref string
}

// lookupListVessel finds the list record of a ship by its identifiers.
func lookupListVessel(ix *screen.Index, imo, mmsi uint32) *listVessel {
	if ix == nil {
		return nil
	}
	q := screen.Query{Type: "vessel"}
	if imo != 0 {
		q.IMO = strconv.Itoa(int(imo))
	}
	if mmsi != 0 {
		q.MMSI = fmt.Sprintf("%09d", mmsi)
	}
	q, _ = q.Sanitised()
	if q.IMO == "" && q.MMSI == "" {
		return nil
	}
	res, err := ix.Search(q, screen.Options{Limit: 1})
	if err != nil || len(res) == 0 || !res[0].Match || res[0].MatchedName != "" || res[0].Entity == nil {
		return nil
	}
	e := res[0].Entity
	var refs []string
	for _, li := range e.Listings {
		refs = append(refs, li.Ref())
	}
	return &listVessel{vesselType: e.VesselType, tonnage: e.Tonnage, ref: e.Name + " [" + strings.Join(refs, " ") + "]"}
}

// VesselLedger is the ledger's estimates a vessel is part of (as the
// delivering tanker or a ship of its loading) arriving in [from, to].
func (s *Service) VesselLedger(ctx context.Context, p Principal, mmsis []uint32, from, to time.Time) ([]ledger.Estimate, error) {
	if err := p.need(RoleViewer, "reading the cap ledger"); err != nil {
		return nil, err
	}
	return s.vesselLedger(ctx, mmsis, from, to)
}

func (s *Service) vesselLedger(ctx context.Context, mmsis []uint32, from, to time.Time) ([]ledger.Estimate, error) {
	if len(mmsis) == 0 {
		return nil, nil
	}
	fs, err := s.factors(ctx)
	if err != nil {
		return nil, err
	}
	rules := ledger.DefaultRules
	// The ship's own calls, and the calls of the ships it met.
	involved := append([]uint32(nil), mmsis...)
	evs, err := s.st.Events(ctx, mmsis, from.Add(-rules.Lookback()), to)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		if e.Kind == detect.KindEncounter {
			for _, v := range e.Vessels {
				involved = appendUniq(involved, v.MMSI)
			}
		}
	}
	ests, _, err := s.estimates(ctx, from, to, involved, rules, fs)
	if err != nil {
		return nil, err
	}
	var out []ledger.Estimate
	for _, e := range ests {
		for _, m := range mmsis {
			if e.Involves(m) {
				out = append(out, e)
				break
			}
		}
	}
	return out, nil
}

// CaseStore is what case files need of storage (store.CaseStore).
type CaseStore interface {
	store.CaseStore
}

// VesselLedgerOf is VesselLedger for a vessel by IMO (every MMSI that
// broadcast it) or MMSI, over [from, to] (zero: the last 12 months).
func (s *Service) VesselLedgerOf(ctx context.Context, p Principal, q store.VesselQuery, from, to time.Time) ([]ledger.Estimate, error) {
	if err := p.need(RoleViewer, "reading the cap ledger"); err != nil {
		return nil, err
	}
	if to.IsZero() {
		to = s.Now()
	}
	if from.IsZero() {
		from = DefaultWindow.Before(to)
	}
	if !to.After(from) {
		return nil, Errorf(CodeInvalid, "the period's end must be after its start")
	}
	mmsis, err := s.mmsisOf(ctx, q)
	if err != nil {
		return nil, err
	}
	out, err := s.vesselLedger(ctx, mmsis, from, to)
	if out == nil {
		out = []ledger.Estimate{}
	}
	return out, err
}

// mmsisOf is the MMSI asked for, or every MMSI that broadcast the IMO.
func (s *Service) mmsisOf(ctx context.Context, q store.VesselQuery) ([]uint32, error) {
	var out []uint32
	if q.MMSI != 0 {
		out = append(out, q.MMSI)
	}
	if q.IMO != 0 {
		ids, err := s.st.IdentityHistory(ctx, store.VesselQuery{IMO: q.IMO})
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			out = appendUniq(out, id.MMSI)
		}
	}
	return out, nil
}
