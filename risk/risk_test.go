package risk

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/sanctions"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func h(x float64) time.Time { return t0.Add(time.Duration(x * float64(time.Hour))) }

// stsTanker is the story: an STS with a DPRK tanker, a dark
// period, a flag change.
func stsTanker() Input {
	return Input{
		IMO: 9300206, AsOf: h(72), WindowStart: h(72).AddDate(-1, 0, 0),
		Observations: []Observation{
			{MMSI: 667000202, Field: "flag", Value: "SL", First: h(0), Last: h(46)},
			{MMSI: 572000222, Field: "flag", Value: "TV", First: h(47), Last: h(72)},
			{MMSI: 667000202, Field: "name", Value: "OCEAN STAR", First: h(0), Last: h(46)},
			{MMSI: 572000222, Field: "name", Value: "OCEAN PEARL", First: h(47), Last: h(72)},
			{MMSI: 667000202, Field: "imo", Value: "9300206", First: h(0), Last: h(46)},
			{MMSI: 667000202, Field: "ship_type", Value: "80", First: h(0), Last: h(46)},
		},
		Events: []detect.Event{
			{Kind: "encounter", Start: h(7), End: h(12), Lat: 38.2, Lon: 124, Vessels: []detect.Vessel{{MMSI: 445000101, MIDFlag: "KP"}, {MMSI: 667000202, MIDFlag: "SL"}}},
			{Kind: "gap", Start: h(29), End: h(43), Vessels: []detect.Vessel{{MMSI: 667000202}}, Details: detect.Details{LikelyDeliberate: true}},
			{Kind: "identity_change", Start: h(46), End: h(47), Vessels: []detect.Vessel{{MMSI: 667000202}, {MMSI: 572000222}}, Details: detect.Details{Field: "mmsi", FlagChanged: true}},
			// after the as-of date: not known yet
			{Kind: "port_call", Start: h(80), End: h(90), Vessels: []detect.Vessel{{MMSI: 572000222}}, Details: detect.Details{DPRKPort: true}},
		},
	}
}

func factor(p Profile, id string) *Factor {
	for i := range p.Factors {
		if p.Factors[i].ID == id {
			return &p.Factors[i]
		}
	}
	return nil
}

func TestDeclineWithEvidence(t *testing.T) {
	p := Assess(stsTanker(), DefaultConfig)
	if p.Recommendation != Decline {
		t.Errorf("recommendation %s (score %g), want decline", p.Recommendation, p.Score)
	}
	for _, id := range []string{"encounter_dprk", "ais_gap", "flag_change", "name_change"} {
		f := factor(p, id)
		if f == nil {
			t.Errorf("no %s factor: %+v", id, p.Factors)
			continue
		}
		if len(f.Evidence) == 0 || f.Points <= 0 {
			t.Errorf("%s: %+v", id, f)
		}
	}
	if f := factor(p, "ais_gap"); f != nil && f.Points != DefaultConfig.GapDeliberate {
		t.Errorf("deliberate gap scored %g", f.Points)
	}
	if f := factor(p, "dprk_port_call"); f != nil {
		t.Error("an event after the as-of date was scored")
	}
	if len(p.Events) != 3 || p.Events[0].Ref != "E1" {
		t.Errorf("events %+v", p.Events)
	}
	// Every event reference in the evidence exists.
	refs := map[string]bool{}
	for _, e := range p.Events {
		refs[e.Ref] = true
	}
	for i := range p.Identity {
		refs["I"+itoa(i+1)] = true
	}
	for _, f := range p.Factors {
		for _, ev := range f.Evidence {
			if !refs[ev.Ref] {
				t.Errorf("%s cites %s, which the profile does not hold", f.ID, ev.Ref)
			}
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestAsOfBeforeTheStory(t *testing.T) {
	in := stsTanker()
	in.AsOf = h(6) // before the encounter
	p := Assess(in, DefaultConfig)
	if p.Recommendation == Decline || p.Recommendation == Refer || len(p.Factors) != 0 || len(p.Events) != 0 {
		t.Errorf("as of before anything happened: %s %+v", p.Recommendation, p.Factors)
	}
	for _, o := range p.Identity {
		if o.Value == "TV" || o.Last.After(in.AsOf) {
			t.Errorf("identity from after the as-of date: %+v", o)
		}
	}
}

// cleanInput is a ship seen every day of a three-day window, screened
// against the required lists, with nothing against it.
func cleanInput() Input {
	return Input{IMO: 9100001, AsOf: h(72), WindowStart: h(0), Observations: []Observation{
		{MMSI: 477123000, Field: "flag", Value: "HK", First: h(0), Last: h(72)},
		{MMSI: 477123000, Field: "name", Value: "PLAIN SAILING", First: h(0), Last: h(72)},
	}, Lists: []ListVersion{{List: "un", ID: "un@1"}, {List: "ofac-sdn", ID: "ofac-sdn@1"}}, RequiredLists: []string{"un", "ofac-sdn"},
		Coverage: Coverage{Points: 400, Fixes: 4000, Days: 3, Window: 3}}
}

func TestCleanVesselAccepted(t *testing.T) {
	p := Assess(cleanInput(), DefaultConfig)
	if p.Recommendation != Accept || len(p.Factors) != 0 || p.Score != 0 || len(p.Missing) != 0 {
		t.Errorf("clean vessel: %s %g %+v %v", p.Recommendation, p.Score, p.Factors, p.Missing)
	}
}

// Absence of evidence is not a clean bill: each missing piece turns an
// accept into insufficient evidence, and says what is missing.
func TestInsufficientEvidenceNeverAccepts(t *testing.T) {
	cases := map[string]struct {
		change func(*Input)
		want   string
	}{
		"no list in force":     {func(in *Input) { in.Lists = nil }, "nothing was screened"},
		"required list absent": {func(in *Input) { in.Lists = in.Lists[:1] }, "no version in force of ofac-sdn"},
		"little AIS":           {func(in *Input) { in.WindowStart = h(72).AddDate(-1, 0, 0); in.Coverage.Window = 365 }, "positions on 3 of 365 days"},
		"unknown vessel": {func(in *Input) {
			in.Observations = nil
			in.Coverage = Coverage{Window: 3}
		}, "unknown vessel"},
	}
	for name, c := range cases {
		in := cleanInput()
		c.change(&in)
		p := Assess(in, DefaultConfig)
		if p.Recommendation != Insufficient {
			t.Errorf("%s: %s, want %s", name, p.Recommendation, Insufficient)
		}
		found := false
		for _, m := range p.Missing {
			found = found || strings.Contains(m, c.want)
		}
		if !found {
			t.Errorf("%s: missing %q does not say %q", name, p.Missing, c.want)
		}
	}
	// A refer-level score with nothing screened is insufficient too; a
	// decline-level one still declines.
	in := cleanInput()
	in.Lists = nil
	in.Events = []detect.Event{{Kind: detect.KindEncounter, Vessels: []detect.Vessel{{MMSI: 477123000}, {MMSI: 412000001}}, Start: h(10), End: h(14)}}
	in.Observations = append(in.Observations, Observation{MMSI: 477123000, Field: "flag", Value: "FM", First: h(20), Last: h(72)})
	if p := Assess(in, DefaultConfig); p.Recommendation != Insufficient || p.Score < DefaultConfig.ReferAt {
		t.Errorf("refer-level score, no lists: %s %g", p.Recommendation, p.Score)
	}
	in.Observations = append(in.Observations, Observation{MMSI: 445000001, Field: "flag", Value: "KP", First: h(20), Last: h(72)})
	if p := Assess(in, DefaultConfig); p.Recommendation != Decline {
		t.Errorf("DPRK flag, no lists: %s %g", p.Recommendation, p.Score)
	}
}

// Another transmitter's claim on the ship's IMO is an identity conflict
// about the claim, never part of the ship's identity.
func TestClaimScoredNotMerged(t *testing.T) {
	in := cleanInput()
	in.Claims = []Claim{{MMSI: 667001234, IMO: 9100001, First: h(30), Last: h(30), Count: 1}}
	p := Assess(in, DefaultConfig)
	f := factor(p, "identity_conflict")
	if f == nil || p.Name != "PLAIN SAILING" || p.Flag != "HK" || len(p.MMSIs) != 1 {
		t.Fatalf("claim: name %q flag %q mmsis %v factors %+v", p.Name, p.Flag, p.MMSIs, p.Factors)
	}
	if p.Recommendation != Refer {
		t.Errorf("a claim alone: %s %g, want refer", p.Recommendation, p.Score)
	}
}

func TestProfileDeterministic(t *testing.T) {
	a, _ := json.Marshal(Assess(stsTanker(), DefaultConfig))
	in := stsTanker()
	// Same facts in another order.
	in.Observations[0], in.Observations[3] = in.Observations[3], in.Observations[0]
	in.Events[0], in.Events[2] = in.Events[2], in.Events[0]
	b, _ := json.Marshal(Assess(in, DefaultConfig))
	if string(a) != string(b) {
		t.Errorf("profiles differ:\n%s\n%s", a, b)
	}
}

func TestListedVesselAndRegistry(t *testing.T) {
	in := Input{IMO: 8606173, AsOf: h(72), WindowStart: h(72).AddDate(-1, 0, 0),
		Observations: []Observation{{MMSI: 510000001, Field: "flag", Value: "FM", First: h(0), Last: h(1)}},
		Hits:         []ListHit{{About: "vessel", ByID: true, Name: "RYONG GUN BONG", Listings: []sanctions.Listing{{List: "un", SourceID: "KPe.X"}}}}}
	p := Assess(in, DefaultConfig)
	if p.Recommendation != Decline || factor(p, "listed_vessel") == nil || factor(p, "abused_registry") == nil {
		t.Errorf("%s %+v", p.Recommendation, p.Factors)
	}
	if p.Hits[0].Ref != "L1" {
		t.Errorf("hit ref %q", p.Hits[0].Ref)
	}
}

func TestVersionsAt(t *testing.T) {
	vs := []sanctions.Version{
		{ID: "un-1", List: "un", Published: "2025-04-19"},
		{ID: "un-2", List: "un", Published: "2026-02-27"},
		{ID: "ofac-1", List: "ofac-sdn", Published: "2024-05-03"},
		{ID: "eu-1", List: "eu", Retrieved: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)},
	}
	got := VersionsAt(vs, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ids := map[string]bool{}
	for _, v := range got {
		ids[v.ID] = true
	}
	if len(got) != 2 || !ids["un-1"] || !ids["ofac-1"] {
		t.Errorf("as of 2026-01-01: %v", ids)
	}
}

// Two versions of a list in force from the same day: the one retrieved
// later is in force, whatever their ids (content hashes) say, and in
// whatever order they are given (h-try4: a list imported twice on one day
// kept the first import in force).
func TestVersionsAtSameDay(t *testing.T) {
	first := sanctions.Version{ID: "opensanctions@sha256-fa7d152f", List: "opensanctions", Retrieved: time.Date(2026, 12, 3, 18, 52, 0, 0, time.UTC)}
	later := sanctions.Version{ID: "opensanctions@sha256-6dbe31df", List: "opensanctions", Retrieved: time.Date(2026, 12, 3, 18, 52, 3, 0, time.UTC)}
	corrected := sanctions.Version{ID: "un-0", List: "un", Published: "2026-12-03", Retrieved: time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)}
	original := sanctions.Version{ID: "un-9", List: "un", Published: "2026-12-03", Retrieved: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	for _, vs := range [][]sanctions.Version{{first, later, original, corrected}, {corrected, later, first, original}} {
		got := VersionsAt(vs, time.Date(2026, 12, 3, 23, 0, 0, 0, time.UTC))
		if len(got) != 2 || got[0].ID != later.ID || got[1].ID != corrected.ID {
			t.Errorf("in force: %+v, want %s and %s", got, later.ID, corrected.ID)
		}
	}
}

func TestLoadConfigRefusesUnknownKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := dir + "/c.json"
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := LoadConfig(write(`{"gap": 12, "encounter_dprk_typo": 1}`)); err == nil {
		t.Error("unknown key accepted")
	}
	c, err := LoadConfig(write(`{"gap": 12}`))
	if err != nil || c.Gap != 12 || c.ListedVessel != DefaultConfig.ListedVessel || c.Hash() == DefaultConfig.Hash() {
		t.Errorf("%+v %v", c, err)
	}
	if _, err := LoadConfig(write(`{"decline_at": 10, "refer_at": 20}`)); err == nil {
		t.Error("inverted bands accepted")
	}
}

func TestGapDetailSingular(t *testing.T) {
	p := Assess(stsTanker(), DefaultConfig)
	if f := factor(p, "ais_gap"); f == nil || !strings.HasPrefix(f.Detail, "1 gap, 1 likely deliberate") {
		t.Errorf("ais_gap detail: %+v", f)
	}
}

// TestLoadConfigRanges: a zero weight (which would drop its factor and
// hide a hit), a negative or huge one (an infinite score), bad bands and
// coverage are refused on load, each named with its range.
func TestLoadConfigRanges(t *testing.T) {
	if err := DefaultConfig.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	p := t.TempDir() + "/c.json"
	for body, want := range map[string]string{
		`{"listed_vessel": 0}`:                      "listed_vessel 0 out of range: a weight must be above 0 and at most 1000 points",
		`{"encounter_dprk": -5}`:                    "encounter_dprk -5 out of range",
		`{"encounter": 1e308}`:                      "encounter 1e+308 out of range",
		`{"gap_cap": -1}`:                           "gap_cap -1 out of range: a cap must be from 0 (no cap)",
		`{"decline_at": 1e308}`:                     "decline_at 1e+308 out of range",
		`{"old_vessel_years": 0}`:                   "old_vessel_years 0 out of range",
		`{"min_coverage": 2}`:                       "min_coverage 2 out of range",
		`{"abused_registries": [{"flag": "fiji"}]}`: `abused_registries[0].flag "fiji"`,
	} {
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadConfig(p)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
	// A profile under a validated config always encodes: no +Inf score.
	c := DefaultConfig
	c.Encounter, c.EncounterCap = maxWeight, 0
	if _, err := json.Marshal(Assess(stsTanker(), c)); err != nil {
		t.Errorf("profile at the largest weight: %v", err)
	}
}

// TestListedPartyOnce: one designated company linked to the vessel by the
// list itself and given as its owner and manager counts once (it counted
// for each: 160, 220, 280 points for KOTI as the roles were added), and
// its factor names every role; another company counts again.
func TestListedPartyOnce(t *testing.T) {
	koti := func(about, query string) ListHit {
		return ListHit{About: about, Query: query, EntityID: "ofac-sdn:1", Name: "KOTI CORP", Type: "organization", Score: 1}
	}
	in := Input{IMO: 9417115, AsOf: h(72), WindowStart: h(72).AddDate(-1, 0, 0),
		Hits: []ListHit{{About: "vessel", ByID: true, Name: "KOTI", Listings: []sanctions.Listing{{List: "ofac-sdn", SourceID: "X"}}},
			koti("owned by", `"KOTI CORP"`), koti("owner", `"KOTI CORP"`), koti("manager", `"Koti Corp."`)}}
	p := Assess(in, DefaultConfig)
	var party []Factor
	for _, f := range p.Factors {
		if f.ID == "listed_party" {
			party = append(party, f)
		}
	}
	if len(party) != 1 || party[0].Title != "Linked company on a sanctions list: KOTI CORP (owned by, owner, manager)" || len(party[0].Evidence) != 3 {
		t.Fatalf("listed_party factors: %+v", party)
	}
	if p.Score != DefaultConfig.ListedVessel+DefaultConfig.ListedParty {
		t.Errorf("score %g, want %g", p.Score, DefaultConfig.ListedVessel+DefaultConfig.ListedParty)
	}
	in.Hits = append(in.Hits, ListHit{About: "operator", Query: `"OTHER CO"`, EntityID: "un:2", Name: "OTHER CO", Score: 1})
	if p := Assess(in, DefaultConfig); p.Score != DefaultConfig.ListedVessel+2*DefaultConfig.ListedParty {
		t.Errorf("with a second company: score %g", p.Score)
	}
}

// A profile of a ship with no AIS lists its MMSIs and identity as [],
// not null.
func TestProfileEmptyListsAreNotNull(t *testing.T) {
	in := cleanInput()
	in.MMSI, in.Observations = 0, nil
	b, err := json.Marshal(Assess(in, DefaultConfig))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"mmsis":[]`, `"identity":[]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("no %s in %s", want, b)
		}
	}
}
