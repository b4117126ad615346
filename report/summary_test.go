package report

import (
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/sanctions"
)

var st0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func sh(x float64) time.Time { return st0.Add(time.Duration(x * float64(time.Hour))) }

var allLists = []risk.ListVersion{{List: "eu", ID: "eu@2025-12-17", Published: "2025-12-17", Entities: 326},
	{List: "ofac-cons", ID: "ofac-cons@2025-12-19", Published: "2025-12-19", Entities: 442},
	{List: "ofac-sdn", ID: "ofac-sdn@2024-05-03", Published: "2024-05-03", Entities: 14965},
	{List: "un", ID: "un@2026-02-27", Published: "2026-02-27", Entities: 1003}}

// stsStory is the demo's story: an STS with a designated DPRK tanker in
// the Korea Bay area, a deliberate gap after it, a change of flag.
func stsStory(counterpartKP, designated bool) risk.Input {
	cp := detect.Vessel{MMSI: 445000101, Name: "SIM YU SAN", IMO: 8660313}
	if counterpartKP {
		cp.MIDFlag = "KP"
	} else {
		cp.MMSI, cp.MIDFlag = 477000101, "HK"
	}
	own := detect.Vessel{MMSI: 667000202, Name: "SIM OCEAN STAR", IMO: 9300207, MIDFlag: "SL"}
	in := risk.Input{IMO: 9300207, AsOf: sh(72), WindowStart: sh(72).AddDate(0, 0, -3), Lists: allLists,
		Coverage: risk.Coverage{Days: 3, Window: 3, First: sh(0), Last: sh(71.9), Points: 1000, Fixes: 3000, Sources: []string{"sim"}},
		Observations: []risk.Observation{
			{MMSI: 667000202, Field: "flag", Value: "SL", First: sh(0), Last: sh(46), Count: 100},
			{MMSI: 572000222, Field: "flag", Value: "TV", First: sh(47), Last: sh(72), Count: 100},
			{MMSI: 667000202, Field: "name", Value: "SIM OCEAN STAR", First: sh(0), Last: sh(46), Count: 50},
			{MMSI: 572000222, Field: "name", Value: "SIM OCEAN PEARL", First: sh(47), Last: sh(72), Count: 50},
			{MMSI: 667000202, Field: "draught", Value: "11", First: sh(0), Last: sh(12), Count: 50},
		},
		Events: []detect.Event{
			{Kind: detect.KindEncounter, Start: sh(7.1), End: sh(12.1), Lat: 38.2063, Lon: 124.0075, Vessels: []detect.Vessel{cp, own},
				Details: detailsOf(map[string]any{"hours": 4.98, "median_speed_kn": 0.2, "min_distance_m": 80.0})},
			{Kind: detect.KindGap, Start: sh(30.15), End: sh(44.17), Lat: 35.5, Lon: 123.8, Vessels: []detect.Vessel{own},
				Details: detailsOf(map[string]any{"hours": 14.02, "likely_deliberate": true, "start_shore_nm": 92.55})},
			{Kind: detect.KindIdentityChange, Start: sh(48.1), End: sh(48.7), Lat: 33.07, Lon: 124.34, Vessels: []detect.Vessel{own, {MMSI: 572000222}},
				Details: detailsOf(map[string]any{"field": "mmsi", "from": "667000202", "to": "572000222", "imo": 9300207.0, "flag_from": "SL", "flag_to": "TV", "flag_changed": true})},
		},
	}
	if designated {
		in.Hits = []risk.ListHit{{About: "counterpart 445000101", Query: "IMO 8660313, MMSI 445000101", EntityID: "x", Name: "CHON MA SAN", Type: "vessel", Score: 1, ByID: true,
			Listings: []sanctions.Listing{{List: "eu", SourceID: "XIV.A:8660313", ListedOn: "2018-03-30"}, {List: "ofac-sdn", SourceID: "23729", ListedOn: "2018-03-30"}}}}
	}
	return in
}

func zonesT(t *testing.T) []*geo.Zone {
	t.Helper()
	z, err := geo.BuiltinZones()
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func TestSummaryDecline(t *testing.T) {
	p := risk.Assess(stsStory(true, true), risk.DefaultConfig)
	if p.Recommendation != risk.Decline {
		t.Fatalf("fixture: %s", p.Recommendation)
	}
	s := summarise(&p, zonesT(t))
	for _, w := range []string{"Decline (score ", "met SIM YU SAN (DPRK MMSI 445000101; designated as CHON MA SAN on the EU and OFAC lists since 30 Mar 2018",
		"in the reported STS area “Korea Bay and the DPRK west coast off Nampo and Chodo” for 5.0 h on 1 Mar 2026 [E1]",
		"AIS dark for 14 h afterwards, from 2 Mar 2026 06:09 to 20:10 UTC [E2], likely deliberate",
		"changed flag from Sierra Leone to Tuvalu on 2 Mar 2026"} {
		if !strings.Contains(s.Lead, w) {
			t.Errorf("lead lacks %q:\n%s", w, s.Lead)
		}
	}
	if len(s.Checked) != 2 || !strings.Contains(s.Checked[0], "against 4 lists in force on 4 Mar 2026") || !strings.Contains(s.Checked[0], "UN Security Council Consolidated List of 27 Feb 2026") ||
		!strings.Contains(s.Checked[0], "1 encounter counterpart") || !strings.Contains(s.Checked[1], "positions on 3 of 3 days (100%)") {
		t.Errorf("checked: %q", s.Checked)
	}
}

// The summary claims only what the profile shows: an encounter with a
// ship that is neither DPRK nor designated is not called either, and a
// refer is not a decline.
func TestSummaryClaimsOnlyTheEvidence(t *testing.T) {
	in := stsStory(false, false)
	in.Events = in.Events[:1]
	p := risk.Assess(in, risk.DefaultConfig)
	s := summarise(&p, zonesT(t))
	if strings.Contains(s.Lead, "DPRK MMSI") || strings.Contains(s.Lead, "designated") || strings.Contains(s.Lead, "AIS dark") {
		t.Errorf("the lead claims more than the evidence: %s", s.Lead)
	}
	if !strings.Contains(s.Lead, "met SIM YU SAN (MMSI 477000101, Hong Kong) in the reported STS area") {
		t.Errorf("lead: %s", s.Lead)
	}
	if p.Recommendation == risk.Decline || strings.HasPrefix(s.Lead, "Decline") {
		t.Errorf("%s: %s", p.Recommendation, s.Lead)
	}
	// The whole story with that ship refers, and says so.
	p = risk.Assess(stsStory(false, false), risk.DefaultConfig)
	s = summarise(&p, zonesT(t))
	if p.Recommendation != risk.Refer || s.Verdict != "Refer" || !strings.HasPrefix(s.Lead, "Refer (score 70; refer at 30, decline at 100): AIS dark for 14 h") ||
		strings.Contains(s.Lead, "DPRK MMSI") || strings.Contains(s.Lead, "afterwards") {
		t.Errorf("%s: %s", p.Recommendation, s.Lead)
	}
}

func TestSummaryInsufficientSaysWhatIsMissing(t *testing.T) {
	// Nothing known, nothing screened.
	p := risk.Assess(risk.Input{IMO: 9123453, AsOf: st0, WindowStart: st0.AddDate(-1, 0, 0), Coverage: risk.Coverage{Window: 365}}, risk.DefaultConfig)
	s := summarise(&p, nil)
	if p.Recommendation != risk.Insufficient || s.Verdict != "Insufficient evidence" {
		t.Fatalf("%s / %s", p.Recommendation, s.Verdict)
	}
	for _, w := range []string{"Insufficient evidence to accept", "no sanctions list version in force on 2026-03-01", "unknown vessel", "AIS coverage", "not a clean bill"} {
		if !strings.Contains(s.Lead, w) {
			t.Errorf("lead lacks %q: %s", w, s.Lead)
		}
	}
	all := s.Lead + strings.Join(s.Checked, " ")
	for _, bad := range []string{"Accept", "no match", "MMSIs", "names"} {
		if strings.Contains(all, bad) {
			t.Errorf("claims %q for a ship nothing is known of: %s", bad, all)
		}
	}
	if !strings.Contains(all, "nothing was screened") || !strings.Contains(all, "no position in the review window") {
		t.Errorf("checked: %q", s.Checked)
	}
	// Lists in force but little AIS: screened by IMO only, insufficient.
	p = risk.Assess(risk.Input{IMO: 9123453, AsOf: st0, WindowStart: st0.AddDate(-1, 0, 0), Lists: allLists, Coverage: risk.Coverage{Window: 365, Days: 20}}, risk.DefaultConfig)
	s = summarise(&p, nil)
	if !strings.Contains(s.Checked[0], "Screened IMO 9123453 against 4 lists") || !strings.Contains(s.Checked[1], "positions on 20 of 365 days (5%)") {
		t.Errorf("checked: %q", s.Checked)
	}
}

func TestSummaryAcceptSaysWhatWasChecked(t *testing.T) {
	in := risk.Input{IMO: 9811000, AsOf: st0, WindowStart: st0.AddDate(-1, 0, 0), Lists: allLists,
		Observations: []risk.Observation{{MMSI: 412000000, Field: "name", Value: "CLEAN SHIP", First: st0.AddDate(-1, 0, 0), Last: st0}},
		Coverage:     risk.Coverage{Window: 365, Days: 300, First: st0.AddDate(-1, 0, 1), Last: st0, Sources: []string{"terrestrial", "satellite"}}}
	p := risk.Assess(in, risk.DefaultConfig)
	if p.Recommendation != risk.Accept {
		t.Fatalf("fixture: %s %v", p.Recommendation, p.Missing)
	}
	s := summarise(&p, nil)
	if s.Lead != "Accept (score 0; refer at 30, decline at 100): no risk factor found in the checks below." {
		t.Errorf("lead: %s", s.Lead)
	}
	for i, w := range []string{"Screened IMO 9811000, 1 MMSI and 1 name against 4 lists in force on 1 Mar 2026 (EU Regulation 2017/1509 annexes (DPRK) of 17 Dec 2025;",
		"positions on 300 of 365 days (82%) of the review window 1 Mar 2025 to 1 Mar 2026, from 2 sources (terrestrial, satellite); 0 events"} {
		if !strings.Contains(s.Checked[i], w) {
			t.Errorf("checked[%d] lacks %q: %s", i, w, s.Checked[i])
		}
	}
}

func TestSummaryListedVesselAndParty(t *testing.T) {
	in := risk.Input{IMO: 9417115, AsOf: st0, WindowStart: st0.AddDate(-1, 0, 0), Lists: allLists, Coverage: risk.Coverage{Window: 365},
		Parties: []risk.Party{{Role: "owner", Name: "KOTI CORP", From: "user"}},
		Hits: []risk.ListHit{{About: "vessel", Query: "IMO 9417115", Name: "KOTI", Type: "vessel", Score: 1, ByID: true,
			Listings: []sanctions.Listing{{List: "uk", SourceID: "DPR0115", ListedOn: "2018-03-30"}, {List: "ofac-sdn", SourceID: "23786", ListedOn: "2018-02-23"}}},
			{About: "owner", Query: `"KOTI CORP"`, Name: "KOTI CORP", Type: "organization", Score: 0.97, Listings: []sanctions.Listing{{List: "un", SourceID: "KPe.067"}}}}}
	p := risk.Assess(in, risk.DefaultConfig)
	s := summarise(&p, nil)
	for _, w := range []string{"Decline (score 160;", "designated: KOTI on the UK and OFAC lists since 23 Feb 2018 (by identifier) [L1]",
		"a linked company is designated: its owner KOTI CORP on the UN list (by name, score 0.97) [L2]"} {
		if !strings.Contains(s.Lead, w) {
			t.Errorf("lead lacks %q: %s", w, s.Lead)
		}
	}
	if !strings.Contains(s.Checked[1], "no position in the review window") {
		t.Errorf("checked: %q", s.Checked)
	}
}
