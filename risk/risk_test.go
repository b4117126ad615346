package risk

import (
	"encoding/json"
	"os"
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
		IMO: 9300206, AsOf: h(72), Window: 365 * 24 * time.Hour,
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
	if p.Recommendation != Accept || len(p.Factors) != 0 || len(p.Events) != 0 {
		t.Errorf("as of before anything happened: %s %+v", p.Recommendation, p.Factors)
	}
	for _, o := range p.Identity {
		if o.Value == "TV" || o.Last.After(in.AsOf) {
			t.Errorf("identity from after the as-of date: %+v", o)
		}
	}
}

func TestCleanVesselAccepted(t *testing.T) {
	in := Input{IMO: 9100001, AsOf: h(72), Window: 365 * 24 * time.Hour, Observations: []Observation{
		{MMSI: 477123000, Field: "flag", Value: "HK", First: h(0), Last: h(72)},
		{MMSI: 477123000, Field: "name", Value: "PLAIN SAILING", First: h(0), Last: h(72)},
	}}
	p := Assess(in, DefaultConfig)
	if p.Recommendation != Accept || len(p.Factors) != 0 || p.Score != 0 {
		t.Errorf("clean vessel: %s %g %+v", p.Recommendation, p.Score, p.Factors)
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
	in := Input{IMO: 8606173, AsOf: h(72), Window: time.Hour * 24 * 365,
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
