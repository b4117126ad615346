package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/report"
	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/store"
)

// VesselReader reads what the store knows of vessels.
type VesselReader interface {
	IdentityHistory(ctx context.Context, q store.VesselQuery) ([]store.Identity, error)
	Track(ctx context.Context, mmsi uint32, from, to time.Time) ([]store.Point, error)
	Events(ctx context.Context, mmsis []uint32, from, to time.Time) ([]detect.Event, error)
	Coverage(ctx context.Context, mmsis []uint32, from, to time.Time) (store.Coverage, error)
}

// DefaultWindow is the behaviour review window: twelve calendar months.
var DefaultWindow = Span{Months: 12}

// ProfileRequest asks for a vessel's risk profile.
type ProfileRequest struct {
	Vessel store.VesselQuery
	// AsOf is the date of the assessment (zero: now).
	AsOf time.Time
	// Window is the behaviour review window before AsOf (zero: 12 months).
	Window Span
	// Parties named by the user, screened with the list's own links.
	Owner, Manager, Operator string
	// Built is the build year when the lists do not give it.
	Built int
	// Config overrides the service's risk weights.
	Config *risk.Config
}

// ProfileResult is a profile with what it rests on.
type ProfileResult struct {
	Profile risk.Profile `json:"profile"`
	Hash    string       `json:"profile_hash"`
	Window  Span         `json:"window"`
	// Track is the vessel's stored track in the window, thinned for a map.
	Track []report.TrackPoint `json:"-"`
	Provenance
	AuditSeq  int64  `json:"audit_seq"`
	AuditHash string `json:"audit_hash"`
	// Claimants are MMSIs that broadcast the vessel's IMO while its own
	// transmitter was in use: kept apart from its identity (see Profile).
	Claimants []uint32 `json:"claimants,omitempty"`
}

// JSON is the profile as data (what the store keeps).
func (r *ProfileResult) JSON() []byte {
	b, _ := json.Marshal(r.Profile)
	return b
}

// Profile builds, stores and records a vessel's risk profile as of a date.
func (s *Service) Profile(ctx context.Context, p Principal, req ProfileRequest) (*ProfileResult, error) {
	if err := p.need(RoleViewer, "profiling a vessel"); err != nil {
		return nil, err
	}
	res, err := s.assess(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := s.keepProfile(ctx, p, req, res); err != nil {
		return nil, err
	}
	return res, nil
}

// keepProfile stores a profile as the tenant's assessment and records it
// in the tenant's audit log.
func (s *Service) keepProfile(ctx context.Context, p Principal, req ProfileRequest, res *ProfileResult) error {
	if err := s.st.PutAssessment(ctx, store.Assessment{Tenant: p.Tenant, ID: res.Hash, IMO: res.Profile.IMO, MMSI: req.Vessel.MMSI, AsOf: res.Profile.AsOf,
		Score: res.Profile.Score, Outcome: res.Profile.Recommendation, Profile: res.JSON()}); err != nil {
		return err
	}
	rec, err := s.record(ctx, p, audit.ActionProfile, SubjectOf(req.Vessel), map[string]any{"profile_hash": res.Hash, "as_of": res.Profile.AsOf,
		"window": res.Window.String(), "score": res.Profile.Score, "recommendation": res.Profile.Recommendation, "config_hash": res.Profile.ConfigHash,
		"lists": res.Provenance.Lists})
	if err != nil {
		return err
	}
	res.AuditSeq, res.AuditHash = rec.Seq, rec.Hash
	s.Metrics.add(func(m *Counters) { m.ProfilesBuilt++ })
	return nil
}

// ReportResult is a rendered report with its profile.
type ReportResult struct {
	*ProfileResult
	HTML []byte
}

// Report builds the profile and renders the underwriter's report (HTML,
// self-contained, printable to PDF). Both the profile and the report are
// recorded in the audit log; the caller writes the bytes where it wants
// (and should check it can before asking, so no record names a report
// that was never written).
func (s *Service) Report(ctx context.Context, p Principal, req ProfileRequest, file string) (*ReportResult, error) {
	res, err := s.Profile(ctx, p, req)
	if err != nil {
		return nil, err
	}
	decisions, err := s.st.Decisions(ctx, p.Tenant, store.VesselQuery{IMO: res.Profile.IMO, MMSI: req.Vessel.MMSI})
	if err != nil {
		return nil, err
	}
	g, err := s.Geography()
	if err != nil {
		return nil, err
	}
	rec, err := s.record(ctx, p, audit.ActionReport, SubjectOf(req.Vessel), map[string]any{"profile_hash": res.Hash, "file": file})
	if err != nil {
		return nil, err
	}
	in := report.Input{Profile: res.Profile, ProfileHash: res.Hash, Track: res.Track, Land: g.Land, Zones: g.Zones, Ports: g.Ports,
		Generated: s.now().UTC(), GeneratedBy: p.Actor, Version: s.version, AuditSeq: rec.Seq, AuditHash: rec.Hash, Window: res.Window.String()}
	if in.Counterparts, err = s.counterpartTracks(ctx, &res.Profile); err != nil {
		return nil, err
	}
	for _, d := range decisions {
		note := d.Reason
		if d.Override {
			note += " [override of " + d.Recommendation + "]"
		}
		if d.Status != "in_force" {
			note += " [" + strings.ReplaceAll(d.Status, "_", " ") + "]"
		}
		if d.ApprovedBy != "" {
			note += " [approved by " + d.ApprovedBy + "]"
		}
		in.Decisions = append(in.Decisions, report.Decision{Time: d.Time, Actor: d.By, Decision: d.Decision, Note: note, AuditSeq: d.AuditSeq})
	}
	if in.Ledger, err = s.vesselLedger(ctx, res.Profile.MMSIs, res.Profile.WindowStart, res.Profile.AsOf); err != nil {
		return nil, err
	}
	if in.Cases, err = s.reportCases(ctx, p, req.Vessel, res.Profile.IMO); err != nil {
		return nil, err
	}
	for _, src := range res.Profile.Coverage.Sources {
		if IsSimulatedSource(src) {
			in.Simulated = append(in.Simulated, "AIS source "+strconv.Quote(src))
		}
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, in); err != nil {
		return nil, err
	}
	return &ReportResult{ProfileResult: res, HTML: buf.Bytes()}, nil
}

// counterpartTracks are the other ships' tracks around each encounter
// (12 hours either side), thinned for the report's map.
func (s *Service) counterpartTracks(ctx context.Context, p *risk.Profile) ([]report.TrackPoint, error) {
	own := map[uint32]bool{}
	for _, m := range p.MMSIs {
		own[m] = true
	}
	var out []report.TrackPoint
	for _, e := range p.Events {
		if e.Kind != detect.KindEncounter {
			continue
		}
		for _, v := range e.Vessels {
			if own[v.MMSI] {
				continue
			}
			pts, err := s.st.Track(ctx, v.MMSI, e.Start.Add(-12*time.Hour), e.End.Add(12*time.Hour))
			if err != nil {
				return nil, err
			}
			step := max(1, len(pts)/1000)
			for i := 0; i < len(pts); i += step {
				out = append(out, report.TrackPoint{MMSI: v.MMSI, Time: pts[i].Time, Lat: pts[i].Lat, Lon: pts[i].Lon})
			}
		}
	}
	return out, nil
}

// SimulatedSource is the receiver name `tidewatch simulate` writes in
// every tag block: data from it is labelled simulated wherever shown.
const SimulatedSource = "sim"

// IsSimulatedSource says an AIS source is the simulator.
func IsSimulatedSource(src string) bool { return src == SimulatedSource }

// transmitter is one MMSI's use of an IMO.
type transmitter struct {
	mmsi        uint32
	count       int64
	first, last time.Time
}

// claimants splits the MMSIs that broadcast an IMO into the vessel's own
// (the established transmitter, and others that took over after it or
// were used before it, settled over an hour or more: a re-flagged ship
// takes a new MMSI) and claimants (others broadcasting it while the
// established one was in use, or only fleetingly: another ship using, or
// a forger planting, the identity). The established transmitter is the one with
// the most reports of the IMO, the earliest on a tie.
func claimants(ids []store.Identity, imo uint32) (own map[uint32]bool, claim []uint32) {
	var ts []transmitter
	for _, id := range ids {
		if id.Field != "imo" || id.Value != strconv.FormatUint(uint64(imo), 10) {
			continue
		}
		ts = append(ts, transmitter{id.MMSI, id.Count, id.First, id.Last})
	}
	own = map[uint32]bool{}
	if len(ts) == 0 {
		return own, nil
	}
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].count != ts[j].count {
			return ts[i].count > ts[j].count
		}
		if !ts[i].first.Equal(ts[j].first) {
			return ts[i].first.Before(ts[j].first)
		}
		return ts[i].mmsi < ts[j].mmsi
	})
	est := ts[0]
	own[est.mmsi] = true
	// Another MMSI is the ship's own only when it took over after the
	// established one stopped (or was used before it began), with a
	// day's slack (a re-flag's last report under the old MMSI and the
	// first under the new can share a day), and is settled: several
	// reports over an hour or more. A forger transmitting in the ship's
	// last day while the ship goes on, or once at the live edge, is a
	// claimant, never the ship.
	const slack = 24 * time.Hour
	for _, t := range ts[1:] {
		after := !t.first.Before(est.last.Add(-slack)) && t.last.After(est.last)
		before := !t.last.After(est.first.Add(slack)) && t.first.Before(est.first)
		settled := t.count >= 3 && t.last.Sub(t.first) >= time.Hour
		if (after || before) && settled {
			own[t.mmsi] = true
		} else {
			claim = append(claim, t.mmsi)
		}
	}
	sort.Slice(claim, func(i, j int) bool { return claim[i] < claim[j] })
	return own, claim
}

// assess gathers the store's facts about a vessel and builds its profile.
func (s *Service) assess(ctx context.Context, req ProfileRequest) (*ProfileResult, error) {
	cfg := s.risk
	if req.Config != nil {
		cfg = *req.Config
	}
	asOf := req.AsOf
	if asOf.IsZero() {
		asOf = s.Now()
	}
	asOf = asOf.UTC()
	window := req.Window
	if window.IsZero() {
		window = DefaultWindow
	}
	from := window.Before(asOf)
	q := req.Vessel
	if q.IMO == 0 && q.MMSI == 0 {
		return nil, Errorf(CodeInvalid, "give an IMO number or an MMSI")
	}
	ids, err := s.st.IdentityHistory(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("identity history: %w", err)
	}
	known := ids[:0:0]
	for _, id := range ids {
		if !id.First.After(asOf) {
			known = append(known, id)
		}
	}
	ids = known
	imo := q.IMO
	if imo == 0 {
		// Asked by MMSI: the ship is its IMO, so take in the other MMSIs
		// that broadcast the IMO this MMSI did (a re-flagged ship's new
		// MMSI), when it broadcast exactly one.
		imos := map[uint32]bool{}
		for _, id := range ids {
			if id.Field == "imo" {
				n, _ := strconv.Atoi(id.Value)
				imos[uint32(n)] = true
			}
		}
		if len(imos) == 1 {
			for n := range imos {
				imo = n
			}
			more, err := s.st.IdentityHistory(ctx, store.VesselQuery{IMO: imo})
			if err != nil {
				return nil, fmt.Errorf("identity history: %w", err)
			}
			for _, id := range more {
				if id.MMSI != q.MMSI && !id.First.After(asOf) {
					ids = append(ids, id)
				}
			}
		}
	}
	// Identity evidence belongs to the transmitter that sent it: MMSIs
	// that claimed this IMO while its own transmitter was in use are kept
	// out of the vessel's identity, and reported as claims on it.
	own, claim := map[uint32]bool{}, []uint32(nil)
	if imo != 0 {
		own, claim = claimants(ids, imo)
		if q.MMSI != 0 && !own[q.MMSI] && len(own) > 0 {
			// Asked by a claimant's MMSI: that transmitter is the subject;
			// the IMO's established transmitters are the other party.
			own, claim = map[uint32]bool{q.MMSI: true}, nil
			for _, id := range ids {
				if id.MMSI != q.MMSI && id.Field == "imo" {
					claim = appendUniq(claim, id.MMSI)
				}
			}
		}
	}
	if q.MMSI != 0 {
		own[q.MMSI] = true
	}
	isClaimant := map[uint32]bool{}
	for _, m := range claim {
		isClaimant[m] = true
	}
	var obs []risk.Observation
	var names []string
	var claims []risk.Claim
	sources := map[string]bool{}
	mmsiSet := map[uint32]bool{}
	for m := range own {
		mmsiSet[m] = true
	}
	for _, id := range ids {
		if isClaimant[id.MMSI] {
			if id.Field == "imo" && id.Value == strconv.FormatUint(uint64(imo), 10) {
				claims = append(claims, risk.Claim{MMSI: id.MMSI, IMO: imo, First: id.First, Last: id.Last, Count: id.Count, Source: id.Source})
			}
			continue
		}
		mmsiSet[id.MMSI] = true
		obs = append(obs, risk.Observation{MMSI: id.MMSI, Field: id.Field, Value: id.Value, First: id.First, Last: id.Last, Count: id.Count, Source: id.Source})
		if id.Field == "name" {
			names = append(names, id.Value)
		}
		if id.Field == "imo" && imo == 0 {
			n, _ := strconv.Atoi(id.Value)
			imo = uint32(n)
		}
		sources[id.Source] = true
	}
	mmsis := make([]uint32, 0, len(mmsiSet))
	for m := range mmsiSet {
		mmsis = append(mmsis, m)
	}
	sort.Slice(mmsis, func(i, j int) bool { return mmsis[i] < mmsis[j] })
	events, err := s.st.Events(ctx, mmsis, from, asOf)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	idx, err := s.screens.at(ctx, asOf)
	if err != nil {
		return nil, err
	}
	sc := idx.risk
	sort.Strings(names)
	names = uniqStrings(names)
	hits, nearMisses := sc.VesselNearMisses("vessel", imo, 0, names)
	for _, m := range mmsis {
		hits = appendNewHits(hits, sc.Vessel("vessel", 0, m, nil))
	}
	// Counterparts of encounters, by identifier only.
	seenCP := map[uint32]bool{}
	for _, ev := range events {
		if ev.Kind != detect.KindEncounter || ev.End.After(asOf) {
			continue
		}
		for _, v := range ev.Vessels {
			if mmsiSet[v.MMSI] || seenCP[v.MMSI] {
				continue
			}
			seenCP[v.MMSI] = true
			hits = append(hits, sc.Vessel(fmt.Sprintf("counterpart %09d", v.MMSI), v.IMO, v.MMSI, nil)...)
		}
	}
	var parties []risk.Party
	for _, pt := range []risk.Party{{Role: "owner", Name: req.Owner, From: "user"}, {Role: "manager", Name: req.Manager, From: "user"}, {Role: "operator", Name: req.Operator, From: "user"}} {
		if strings.TrimSpace(pt.Name) != "" {
			parties = append(parties, pt)
		}
	}
	buildYear := req.Built
	for _, h := range hits {
		if h.About != "vessel" || !h.ByID {
			continue
		}
		if buildYear == 0 {
			buildYear, _ = strconv.Atoi(strings.TrimSpace(h.BuildYear))
		}
		for _, l := range h.Links {
			parties = append(parties, risk.Party{Role: string(l.Relation), Name: l.Name, From: "listed with " + h.Name})
		}
	}
	for _, pt := range parties {
		hits = append(hits, sc.Party(pt.Role, pt.Name)...)
	}
	cov, err := s.st.Coverage(ctx, mmsis, from, asOf)
	if err != nil {
		return nil, err
	}
	var srcs []string
	for src := range sources {
		srcs = append(srcs, src)
	}
	sort.Strings(srcs)
	days := int(asOf.Sub(from).Hours()/24 + 0.5)
	// A near miss the vessel's MMSI made a hit of is a hit.
	hitIDs := map[string]bool{}
	for _, h := range hits {
		hitIDs[h.EntityID] = true
	}
	nearMisses = slices.DeleteFunc(nearMisses, func(n risk.NearMiss) bool { return hitIDs[n.EntityID] })
	in := risk.Input{IMO: imo, MMSI: q.MMSI, AsOf: asOf, WindowStart: from, Observations: obs, Events: events, Hits: hits, NearMisses: nearMisses,
		Lists: risk.Consulted(idx.versions), Parties: parties, BuildYear: buildYear, Claims: claims,
		Coverage:      risk.Coverage{Points: cov.Points, Fixes: cov.Fixes, First: cov.First, Last: cov.Last, Days: cov.Days, Window: days, Sources: srcs},
		RequiredLists: RequiredLists}
	p := risk.Assess(in, cfg)
	res := &ProfileResult{Profile: p, Hash: p.Hash(), Window: window, Provenance: s.provenance(idx), Claimants: claim}
	res.Provenance.ConfigHash = p.ConfigHash
	// The track for the map: every stored point in the window, thinned
	// evenly to keep the page light.
	for _, m := range mmsis {
		pts, err := s.st.Track(ctx, m, from, asOf)
		if err != nil {
			return nil, err
		}
		step := max(1, len(pts)/4000)
		for i := 0; i < len(pts); i += step {
			res.Track = append(res.Track, report.TrackPoint{MMSI: m, Time: pts[i].Time, Lat: pts[i].Lat, Lon: pts[i].Lon})
		}
	}
	return res, nil
}

func appendUniq(s []uint32, v uint32) []uint32 {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func uniqStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func appendNewHits(hits, more []risk.ListHit) []risk.ListHit {
	for _, h := range more {
		dup := false
		for _, o := range hits {
			if o.About == h.About && o.EntityID == h.EntityID {
				dup = true
			}
		}
		if !dup {
			hits = append(hits, h)
		}
	}
	return hits
}

// Track returns a vessel's stored positions between two times, thinned to
// at most max points (0: all).
func (s *Service) Track(ctx context.Context, p Principal, mmsi uint32, from, to time.Time, maxPoints int) ([]store.Point, error) {
	if err := p.need(RoleViewer, "reading a track"); err != nil {
		return nil, err
	}
	if !to.After(from) {
		return nil, Errorf(CodeInvalid, "the track's end must be after its start")
	}
	pts, err := s.st.Track(ctx, mmsi, from, to)
	if err != nil || maxPoints <= 0 || len(pts) <= maxPoints {
		return pts, err
	}
	step := (len(pts) + maxPoints - 1) / maxPoints
	out := make([]store.Point, 0, maxPoints+1)
	for i := 0; i < len(pts); i += step {
		out = append(out, pts[i])
	}
	if last := pts[len(pts)-1]; out[len(out)-1].Time != last.Time {
		out = append(out, last)
	}
	return out, nil
}

// Identity returns what the store knows of a vessel's identity.
func (s *Service) Identity(ctx context.Context, p Principal, q store.VesselQuery) ([]store.Identity, error) {
	if err := p.need(RoleViewer, "reading a vessel's identity"); err != nil {
		return nil, err
	}
	return s.st.IdentityHistory(ctx, q)
}
