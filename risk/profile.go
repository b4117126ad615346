package risk

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/sanctions"
)

// Recommendations.
const (
	Decline = "decline"
	Refer   = "refer"
	Accept  = "accept"
	// Insufficient: the evidence does not allow an accept (no list in
	// force, too little AIS, an unknown ship): never read as a clean bill.
	Insufficient = "insufficient_evidence"
)

// Strictness orders recommendations and decisions: a decision less
// strict than the profile's recommendation overrides it.
func Strictness(rec string) int {
	switch rec {
	case Decline:
		return 3
	case Refer, Insufficient:
		return 2
	case Accept:
		return 1
	}
	return 0
}

// Observation is one identity value a vessel broadcast (see
// store.Identity): field name, imo, call_sign, ship_type, destination,
// flag (the MMSI's MID), length, draught.
type Observation struct {
	MMSI   uint32    `json:"mmsi"`
	Field  string    `json:"field"`
	Value  string    `json:"value"`
	First  time.Time `json:"first_seen"`
	Last   time.Time `json:"last_seen"`
	Count  int64     `json:"count"`
	Source string    `json:"source,omitempty"`
}

// Coverage is the AIS the review rests on.
type Coverage struct {
	Points  int64     `json:"points_kept"`
	Fixes   int64     `json:"positions_received"`
	First   time.Time `json:"first,omitempty"`
	Last    time.Time `json:"last,omitempty"`
	Days    int       `json:"days_with_positions"`
	Window  int       `json:"days_in_window"`
	Sources []string  `json:"sources,omitempty"`
}

// Input is everything known about a vessel, gathered by the caller. Assess
// keeps only what was known at AsOf.
type Input struct {
	IMO  uint32
	MMSI uint32
	AsOf time.Time
	// WindowStart begins the behaviour review window (the caller counts
	// calendar months back from AsOf).
	WindowStart time.Time
	// Observations of every MMSI linked to the vessel.
	Observations []Observation
	// Events of those MMSIs (any time; Assess keeps the window's).
	Events []detect.Event
	// Hits are list hits on the vessel, its counterparts and its parties
	// (ListHit.About says which), from Lists.
	Hits  []ListHit
	Lists []ListVersion
	// Parties named by the caller (owner, manager, operator).
	Parties   []Party
	Coverage  Coverage
	BuildYear int // 0 = unknown
	// Claims are other transmitters that broadcast the vessel's IMO while
	// its own was in use: identity conflicts about those claims, kept out
	// of the vessel's identity.
	Claims []Claim
	// RequiredLists must all have a version in force for an accept.
	RequiredLists []string
	// NearMisses are listed vessels whose name the vessel used but whose
	// IMO is not the vessel's (screen.NearMiss): shown, never scored.
	NearMisses []NearMiss
}

// NearMiss is a listed vessel whose name the vessel used (a match on the
// name alone) while its IMO differs from the vessel's: no list hit and no
// points (ships share names), shown for the reviewer because a ship
// taking a listed ship's name is how identities are stolen.
type NearMiss struct {
	About       string  `json:"about"` // "vessel"
	Query       string  `json:"query"` // the name the vessel used, quoted
	Kind        string  `json:"kind"`  // imo_differs
	EntityID    string  `json:"entity_id"`
	Name        string  `json:"name"`
	MatchedName string  `json:"matched_name"`
	Score       float64 `json:"score"`
	NameScore   float64 `json:"name_score"`
	QueryIMO    string  `json:"query_imo"`
	ListedIMO   string  `json:"listed_imo"`
	Message     string  `json:"message"`
}

// Claim is another MMSI's use of the vessel's IMO.
type Claim struct {
	MMSI   uint32    `json:"mmsi"`
	IMO    uint32    `json:"imo"`
	First  time.Time `json:"first_seen"`
	Last   time.Time `json:"last_seen"`
	Count  int64     `json:"count"`
	Source string    `json:"source,omitempty"`
}

// Party is a company linked to the vessel.
type Party struct {
	Role string `json:"role"` // owner, manager, operator, or a list link's relation
	Name string `json:"name"`
	From string `json:"from"` // "user" or the listing that names it
}

// ListVersion is a list version consulted: the latest of its list
// published by the as-of date.
type ListVersion struct {
	List      string `json:"list"`
	ID        string `json:"id"`
	Published string `json:"published,omitempty"`
	Entities  int    `json:"entities"`
}

// ListHit is one screening match.
type ListHit struct {
	Ref string `json:"ref"` // L1, L2... in the profile
	// About is what was screened: "vessel", "counterpart 445000101",
	// "owner", ...
	About       string              `json:"about"`
	Query       string              `json:"query"`
	EntityID    string              `json:"entity_id"`
	Name        string              `json:"name"`
	Type        string              `json:"type"`
	Score       float64             `json:"score"`
	ByID        bool                `json:"by_identifier"` // IMO, MMSI or call sign; else by name
	Listings    []sanctions.Listing `json:"listings"`
	Explanation []string            `json:"explanation,omitempty"`
	Flag        string              `json:"flag,omitempty"`
	BuildYear   string              `json:"build_year,omitempty"`
	Links       []sanctions.Link    `json:"links,omitempty"`
}

// Evidence points at what supports a factor.
type Evidence struct {
	Ref  string `json:"ref"` // E3 (an event), L1 (a list hit), I2 (an identity value)
	Text string `json:"text"`
}

// Factor is one scored signal.
type Factor struct {
	ID       string     `json:"id"`
	Title    string     `json:"title"`
	Points   float64    `json:"points"`
	Detail   string     `json:"detail"`
	Evidence []Evidence `json:"evidence"`
}

// Profile is the assessment. The same Input and Config give the same
// Profile, byte for byte once encoded (TestProfileDeterministic).
type Profile struct {
	IMO            uint32    `json:"imo,omitempty"`
	MMSIs          []uint32  `json:"mmsis"`
	Name           string    `json:"name,omitempty"`
	Flag           string    `json:"flag,omitempty"`
	ShipType       string    `json:"ship_type,omitempty"`
	LengthM        int       `json:"length_m,omitempty"`
	BuildYear      int       `json:"build_year,omitempty"`
	AsOf           time.Time `json:"as_of"`
	WindowStart    time.Time `json:"window_start"`
	Score          float64   `json:"score"`
	Recommendation string    `json:"recommendation"`
	// Missing says what the evidence lacks: why a profile is
	// insufficient_evidence, or what a refer or decline was decided
	// without.
	Missing  []string      `json:"missing,omitempty"`
	Bands    [2]float64    `json:"bands"` // refer_at, decline_at
	Factors  []Factor      `json:"factors"`
	Identity []Observation `json:"identity"`
	Events   []EventRef    `json:"events"`
	Hits     []ListHit     `json:"list_hits"`
	Lists    []ListVersion `json:"lists_consulted"`
	Parties  []Party       `json:"parties,omitempty"`
	Coverage Coverage      `json:"coverage"`
	Claims   []Claim       `json:"claims,omitempty"`
	// NearMisses: no hit, no points; absent when none (so the hash of a
	// profile without one is what it was).
	NearMisses []NearMiss `json:"near_misses,omitempty"`
	ConfigHash string     `json:"config_hash"`
}

// EventRef is an event in the window with its reference.
type EventRef struct {
	Ref string `json:"ref"`
	detect.Event
}

// Hash is the profile's content hash (its ID in the store and the audit
// log).
func (p *Profile) Hash() string {
	b, _ := json.Marshal(p)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Assess builds the profile.
func Assess(in Input, cfg Config) Profile {
	start := in.WindowStart
	p := Profile{IMO: in.IMO, AsOf: in.AsOf.UTC(), WindowStart: start.UTC(), Bands: [2]float64{cfg.ReferAt, cfg.DeclineAt},
		Hits: append([]ListHit(nil), in.Hits...), Lists: in.Lists, Parties: in.Parties, Coverage: in.Coverage, ConfigHash: cfg.Hash(), BuildYear: in.BuildYear,
		Claims: in.Claims, NearMisses: in.NearMisses}
	if p.Hits == nil {
		p.Hits = []ListHit{}
	}
	// Empty lists are [] in JSON, not null.
	p.MMSIs, p.Identity = []uint32{}, []Observation{}
	// Identity known at the as-of date.
	mmsis := map[uint32]bool{}
	if in.MMSI != 0 {
		mmsis[in.MMSI] = true
	}
	for _, o := range in.Observations {
		if o.First.After(in.AsOf) {
			continue
		}
		if o.Last.After(in.AsOf) {
			o.Last = in.AsOf
		}
		mmsis[o.MMSI] = true
		p.Identity = append(p.Identity, o)
	}
	sort.SliceStable(p.Identity, func(i, j int) bool {
		a, b := p.Identity[i], p.Identity[j]
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		if !a.First.Equal(b.First) {
			return a.First.Before(b.First)
		}
		if a.MMSI != b.MMSI {
			return a.MMSI < b.MMSI
		}
		return a.Value < b.Value
	})
	for m := range mmsis {
		p.MMSIs = append(p.MMSIs, m)
	}
	sort.Slice(p.MMSIs, func(i, j int) bool { return p.MMSIs[i] < p.MMSIs[j] })
	latest := func(field string) (Observation, bool) {
		var best Observation
		ok := false
		for _, o := range p.Identity {
			if o.Field == field && (!ok || o.Last.After(best.Last)) {
				best, ok = o, true
			}
		}
		return best, ok
	}
	if o, ok := latest("name"); ok {
		p.Name = o.Value
	}
	if o, ok := latest("flag"); ok {
		p.Flag = o.Value
	}
	if o, ok := latest("ship_type"); ok {
		n, _ := strconv.Atoi(o.Value)
		p.ShipType = ShipTypeName(n)
	}
	if o, ok := latest("length"); ok {
		p.LengthM, _ = strconv.Atoi(o.Value)
	}
	// A ship AIS has not named takes the name and flag its listing gives.
	for _, h := range p.Hits {
		if h.About == "vessel" && h.ByID {
			if p.Name == "" {
				p.Name = h.Name
			}
			if p.Flag == "" && len(h.Flag) == 2 {
				p.Flag = h.Flag
			}
		}
	}
	// Events known at the as-of date (ended by then) within the window.
	evs := append([]detect.Event(nil), in.Events...)
	detect.SortEvents(evs)
	p.Events = []EventRef{}
	for _, e := range evs {
		if e.End.After(in.AsOf) || e.End.Before(start) {
			continue
		}
		p.Events = append(p.Events, EventRef{Ref: fmt.Sprintf("E%d", len(p.Events)+1), Event: e})
	}
	for i := range p.Hits {
		p.Hits[i].Ref = fmt.Sprintf("L%d", i+1)
	}
	f := scorer{cfg: cfg, p: &p, mmsis: mmsis}
	f.lists()
	f.identity()
	f.behaviour()
	f.facts()
	sort.SliceStable(p.Factors, func(i, j int) bool {
		if p.Factors[i].Points != p.Factors[j].Points {
			return p.Factors[i].Points > p.Factors[j].Points
		}
		return p.Factors[i].ID < p.Factors[j].ID
	})
	if p.Factors == nil {
		p.Factors = []Factor{}
	}
	for _, fa := range p.Factors {
		p.Score += fa.Points
	}
	p.Score = math.Round(p.Score*10) / 10
	p.Missing = missing(&p, in, cfg)
	switch {
	case p.Score >= cfg.DeclineAt:
		// What was found is enough to decline, whatever is missing.
		p.Recommendation = Decline
	case len(p.Lists) == 0 || listsMissing(&p, in) != "":
		// Nothing (or not enough) was screened: a refer-level score says
		// no more than an accept-level one.
		p.Recommendation = Insufficient
	case p.Score >= cfg.ReferAt:
		p.Recommendation = Refer
	case len(p.Missing) > 0:
		p.Recommendation = Insufficient
	default:
		p.Recommendation = Accept
	}
	return p
}

// missing lists what the evidence lacks for an accept: lists in force,
// AIS coverage, a known identity.
func missing(p *Profile, in Input, cfg Config) []string {
	var out []string
	if len(p.Lists) == 0 {
		out = append(out, fmt.Sprintf("no sanctions list version in force on %s: nothing was screened", day(p.AsOf)))
	} else if l := listsMissing(p, in); l != "" {
		out = append(out, "no version in force of "+l+": the screening is incomplete")
	}
	known := len(p.Identity) > 0
	for _, h := range p.Hits {
		if h.About == "vessel" && h.ByID {
			known = true
		}
	}
	if !known {
		out = append(out, "unknown vessel: no AIS identity and no list record for it")
	}
	if w := p.Coverage.Window; w > 0 {
		need := int(math.Ceil(cfg.MinCoverage * float64(w)))
		if p.Coverage.Days < need {
			out = append(out, fmt.Sprintf("AIS coverage: positions on %d of %d days in the review window, fewer than the %d (%.0f%%) an accept needs",
				p.Coverage.Days, w, need, 100*cfg.MinCoverage))
		}
	}
	return out
}

// listsMissing names the required lists with no version in force.
func listsMissing(p *Profile, in Input) string {
	have := map[string]bool{}
	for _, l := range p.Lists {
		have[l.List] = true
	}
	var out []string
	for _, l := range in.RequiredLists {
		if !have[l] {
			out = append(out, l)
		}
	}
	return strings.Join(out, ", ")
}

type scorer struct {
	cfg   Config
	p     *Profile
	mmsis map[uint32]bool
}

func (s *scorer) add(id, title string, points float64, detail string, ev []Evidence) {
	if points <= 0 {
		return
	}
	s.p.Factors = append(s.p.Factors, Factor{ID: id, Title: title, Points: points, Detail: detail, Evidence: ev})
}

// capped scores n occurrences at each points up to limit.
func capped(n int, each, limit float64) float64 {
	v := float64(n) * each
	if limit > 0 && v > limit {
		v = limit
	}
	return v
}

func (s *scorer) lists() {
	var byID, byName []Evidence
	// A designated company counts once however many ways it is linked
	// (the owner given and the list's own link to the same entity: it
	// counted twice, 120 points for one company); its factor names every
	// role it was found in.
	parties := map[string][]Evidence{}
	partyName := map[string]string{}
	partyRoles := map[string][]string{}
	var partyKeys []string
	for _, h := range s.p.Hits {
		ev := Evidence{Ref: h.Ref, Text: fmt.Sprintf("%s: %s (%s), score %.2f, %s", h.About, h.Name, listingRefs(h.Listings), h.Score, h.Query)}
		switch {
		case h.About == "vessel" && h.ByID:
			byID = append(byID, ev)
		case h.About == "vessel":
			byName = append(byName, ev)
		case strings.HasPrefix(h.About, "counterpart"):
			// scored with the encounter
		default:
			role := strings.ReplaceAll(h.About, "_", " ")
			k := h.EntityID
			if k == "" {
				k = role + " " + h.Query
			}
			if _, ok := parties[k]; !ok {
				partyKeys = append(partyKeys, k)
				partyName[k] = h.Name
			}
			if !slices.Contains(partyRoles[k], role) {
				partyRoles[k] = append(partyRoles[k], role)
			}
			parties[k] = append(parties[k], ev)
		}
	}
	if len(byID) > 0 {
		s.add("listed_vessel", "Vessel designated on a sanctions list", s.cfg.ListedVessel, "its IMO number or MMSI is on a list in force at the as-of date", byID)
	} else if len(byName) > 0 {
		s.add("listed_vessel_by_name", "Vessel name matches a designated vessel", s.cfg.ListedVesselByName, "a name match without a matching identifier: check the IMO history", byName)
	}
	for _, k := range partyKeys {
		s.add("listed_party", "Linked company on a sanctions list: "+partyName[k]+" ("+strings.Join(partyRoles[k], ", ")+")", s.cfg.ListedParty,
			"an owner, manager or operator linked to the vessel is designated (each company once, whatever its roles)", parties[k])
	}
}

func (s *scorer) identity() {
	var flags, names []Evidence
	seenFlag, seenName := map[string]bool{}, map[string]bool{}
	var abused []Evidence
	dprk := false
	var dprkEv []Evidence
	for i, o := range s.p.Identity {
		ref := fmt.Sprintf("I%d", i+1)
		switch o.Field {
		case "flag":
			if !seenFlag[o.Value] {
				seenFlag[o.Value] = true
				flags = append(flags, Evidence{Ref: ref, Text: fmt.Sprintf("MMSI %09d implies flag %s, seen %s to %s", o.MMSI, o.Value, day(o.First), day(o.Last))})
			}
			if o.Value == "KP" {
				dprk = true
				dprkEv = append(dprkEv, Evidence{Ref: ref, Text: fmt.Sprintf("MMSI %09d has the DPRK MID 445", o.MMSI)})
			}
			for _, r := range s.cfg.AbusedRegistries {
				if r.Flag != o.Value {
					continue
				}
				if r.From != "" {
					from, err := time.Parse("2006-01-02", r.From)
					if err == nil && o.Last.Before(from) {
						continue
					}
				}
				abused = append(abused, Evidence{Ref: ref, Text: fmt.Sprintf("flag %s (%s) via MMSI %09d, seen %s to %s", o.Value, r.Name, o.MMSI, day(o.First), day(o.Last))})
			}
		case "name":
			if !seenName[o.Value] {
				seenName[o.Value] = true
				names = append(names, Evidence{Ref: ref, Text: fmt.Sprintf("%q from %s to %s (MMSI %09d)", o.Value, day(o.First), day(o.Last), o.MMSI)})
			}
		}
	}
	if dprk {
		s.add("dprk_flag", "DPRK-registered radio (MID 445)", s.cfg.DPRKFlag, "the vessel transmits on a DPRK MMSI", dprkEv)
	}
	// Identity events add the moments of change.
	var imoChange, fishing, conflict, incons []Evidence
	for _, e := range s.p.Events {
		field := e.Details.Field
		txt := eventText(e)
		switch {
		case e.Kind == detect.KindIdentityChange && field == "mmsi":
			flags = append(flags, Evidence{Ref: e.Ref, Text: txt})
		case e.Kind == detect.KindIdentityChange && field == "name":
			names = append(names, Evidence{Ref: e.Ref, Text: txt})
		case e.Kind == detect.KindIdentityChange && field == "imo":
			imoChange = append(imoChange, Evidence{Ref: e.Ref, Text: txt})
		case e.Kind == detect.KindIdentityChange && field == "ship_type" && e.Details.ToFishing:
			fishing = append(fishing, Evidence{Ref: e.Ref, Text: txt})
		case e.Kind == detect.KindIdentityConflict:
			conflict = append(conflict, Evidence{Ref: e.Ref, Text: txt})
		case e.Kind == detect.KindInconsistency:
			incons = append(incons, Evidence{Ref: e.Ref, Text: txt})
		}
	}
	if n := len(seenFlag) - 1; n > 0 {
		s.add("flag_change", "Flag changed", capped(n, s.cfg.FlagChange, s.cfg.FlagChangeCap), fmt.Sprintf("%d flags implied by its MMSIs in the record", len(seenFlag)), flags)
	}
	if n := len(seenName) - 1; n > 0 {
		s.add("name_change", "Name changed", capped(n, s.cfg.NameChange, s.cfg.NameChangeCap), fmt.Sprintf("%d names broadcast", len(seenName)), names)
	}
	if len(imoChange) > 0 {
		s.add("imo_change", "IMO number changed under one MMSI", s.cfg.IMOChange, "an IMO number is permanent: a change means a false identity", imoChange)
	}
	if len(fishing) > 0 {
		s.add("type_to_fishing", "Declared itself a fishing vessel", s.cfg.TypeToFishing, "a known trick during transfers at sea", fishing)
	}
	for _, c := range s.p.Claims {
		conflict = append(conflict, Evidence{Ref: fmt.Sprintf("C%09d", c.MMSI), Text: fmt.Sprintf("MMSI %09d broadcast this ship's IMO %d %d times from %s to %s while the ship's own transmitter was in use: a claim on its identity, kept out of it",
			c.MMSI, c.IMO, c.Count, day(c.First), day(c.Last))})
	}
	if len(conflict) > 0 {
		s.add("identity_conflict", "Identity conflict", s.cfg.IdentityConflict, "its MMSI or IMO was broadcast by another ship, or fails its check digit, or belongs to a designated ship", conflict)
	}
	if len(incons) > 0 {
		s.add("inconsistency", "Identity inconsistency", s.cfg.Inconsistency, "MID, call sign and flag disagree", incons)
	}
	if len(abused) > 0 {
		s.add("abused_registry", "Flag of a registry abused by DPRK-linked ships", s.cfg.AbusedRegistry, "registries UN Panel reports and government advisories name for fraudulent or abused registration", abused)
	}
}

func (s *scorer) behaviour() {
	var dprkEnc, enc, gaps, loiter, zones, waters, draught, ports, spoof []Evidence
	nGap, nDeliberate := 0, 0
	for _, e := range s.p.Events {
		txt := eventText(e)
		ev := Evidence{Ref: e.Ref, Text: txt}
		switch e.Kind {
		case detect.KindEncounter:
			if cp, why := s.dprkCounterpart(e); why != "" {
				ev.Text = txt + "; counterpart " + cp + ": " + why
				dprkEnc = append(dprkEnc, ev)
			} else {
				enc = append(enc, ev)
			}
		case detect.KindGap:
			nGap++
			if e.Details.LikelyDeliberate {
				nDeliberate++
			}
			gaps = append(gaps, ev)
		case detect.KindLoitering:
			loiter = append(loiter, ev)
		case detect.KindZoneEntry:
			switch e.Details.ZoneKind {
			case "sts_area":
				zones = append(zones, ev)
			case "dprk_waters":
				if !s.p.dprkShip() {
					waters = append(waters, ev)
				}
			}
		case detect.KindDraughtChange:
			draught = append(draught, ev)
		case detect.KindPortCall:
			if e.Details.DPRKPort {
				ports = append(ports, ev)
			}
		case detect.KindSpoofing:
			spoof = append(spoof, ev)
		}
	}
	if len(ports) > 0 {
		s.add("dprk_port_call", "Called at a DPRK port", float64(len(ports))*s.cfg.DPRKPortCall, "port calls in the DPRK are prohibited trade", ports)
	}
	if len(dprkEnc) > 0 {
		s.add("encounter_dprk", "Ship-to-ship encounter with a DPRK or designated vessel", float64(len(dprkEnc))*s.cfg.EncounterDPRK, "the UN Panel's main petroleum and coal evasion pattern", dprkEnc)
	}
	if len(enc) > 0 {
		s.add("encounter", "Ship-to-ship encounter at sea", capped(len(enc), s.cfg.Encounter, s.cfg.EncounterCap), "two ships together for hours at low speed away from port", enc)
	}
	if nGap > 0 {
		pts := float64(nGap-nDeliberate)*s.cfg.Gap + float64(nDeliberate)*s.cfg.GapDeliberate
		if s.cfg.GapCap > 0 && pts > s.cfg.GapCap {
			pts = s.cfg.GapCap
		}
		s.add("ais_gap", "AIS dark periods", pts, fmt.Sprintf("%d %s, %d likely deliberate (long and far offshore)", nGap, map[bool]string{true: "gap", false: "gaps"}[nGap == 1], nDeliberate), gaps)
	}
	if len(draught) > 0 {
		s.add("draught_change_at_sea", "Draught changed at sea", capped(len(draught), s.cfg.DraughtAtSea, s.cfg.DraughtCap), "cargo loaded or discharged with no port call between", draught)
	}
	if len(loiter) > 0 {
		s.add("loitering", "Loitering at sea", capped(len(loiter), s.cfg.Loitering, s.cfg.LoiteringCap), "slow for hours far from shore", loiter)
	}
	if len(zones) > 0 {
		s.add("sts_zone_entry", "Entered an area of reported illicit transfers", capped(len(zones), s.cfg.STSZoneEntry, s.cfg.STSZoneCap), "areas named in UN Panel reports and government advisories", zones)
	}
	if len(waters) > 0 {
		s.add("dprk_waters", "Entered DPRK territorial waters", s.cfg.DPRKWaters, "a foreign ship in DPRK waters is trading with the DPRK or transiting where no route needs to", waters)
	}
	if len(spoof) > 0 {
		s.add("position_spoofing", "Position spoofing", s.cfg.Spoofing, "positions that cannot be true", spoof)
	}
}

// dprkCounterpart names the other ship of an encounter and why it makes
// the encounter a DPRK one: a DPRK MID, or a list hit.
func (s *scorer) dprkCounterpart(e EventRef) (string, string) {
	for _, v := range e.Vessels {
		if s.mmsis[v.MMSI] {
			continue
		}
		name := fmt.Sprintf("MMSI %09d", v.MMSI)
		if v.Name != "" {
			name += " " + v.Name
		}
		var why []string
		if v.MIDFlag == "KP" {
			why = append(why, "DPRK MMSI")
		}
		for _, h := range s.p.Hits {
			if h.About == fmt.Sprintf("counterpart %09d", v.MMSI) && h.ByID {
				why = append(why, fmt.Sprintf("designated as %s (%s) [%s]", h.Name, listingRefs(h.Listings), h.Ref))
			}
		}
		if len(why) > 0 {
			return name, strings.Join(why, "; ")
		}
	}
	return "", ""
}

// dprkShip says the vessel itself is DPRK-flagged (its entries into DPRK
// waters are coming home, scored by dprk_flag instead).
func (p *Profile) dprkShip() bool {
	for _, o := range p.Identity {
		if o.Field == "flag" && o.Value == "KP" {
			return true
		}
	}
	return false
}

func (s *scorer) facts() {
	if s.p.BuildYear > 0 && s.cfg.OldVesselYears > 0 {
		if age := s.p.AsOf.Year() - s.p.BuildYear; age >= s.cfg.OldVesselYears {
			s.add("old_vessel", "Old vessel", s.cfg.OldVessel, fmt.Sprintf("built %d, %d years old: the ships DPRK networks buy", s.p.BuildYear, age), nil)
		}
	}
}

func listingRefs(ls []sanctions.Listing) string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Ref())
	}
	return strings.Join(out, " ")
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// eventText is an event in one line.
func eventText(e EventRef) string {
	var names []string
	for _, v := range e.Vessels {
		n := fmt.Sprintf("%09d", v.MMSI)
		if v.Name != "" {
			n += " " + v.Name
		}
		names = append(names, n)
	}
	return fmt.Sprintf("%s %s to %s, %s at %.3f, %.3f", strings.ReplaceAll(e.Kind, "_", " "), e.Start.UTC().Format("2006-01-02 15:04"),
		e.End.UTC().Format("2006-01-02 15:04"), strings.Join(names, " & "), e.Lat, e.Lon)
}

// ShipTypeName is the ITU ship-and-cargo type in words.
func ShipTypeName(t int) string {
	switch {
	case t == 0:
		return ""
	case t == 30:
		return "fishing (30)"
	case t >= 20 && t < 30:
		return fmt.Sprintf("wing in ground (%d)", t)
	case t >= 31 && t < 40:
		return fmt.Sprintf("special craft (%d)", t)
	case t >= 40 && t < 50:
		return fmt.Sprintf("high-speed craft (%d)", t)
	case t >= 50 && t < 60:
		return fmt.Sprintf("special craft (%d)", t)
	case t >= 60 && t < 70:
		return fmt.Sprintf("passenger (%d)", t)
	case t >= 70 && t < 80:
		return fmt.Sprintf("cargo (%d)", t)
	case t >= 80 && t < 90:
		return fmt.Sprintf("tanker (%d)", t)
	}
	return fmt.Sprintf("other (%d)", t)
}
