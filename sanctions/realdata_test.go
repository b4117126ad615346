package sanctions_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/snapshot"
)

// The embedded snapshot holds the real list files from shared/data/lists,
// so these tests run on real data in a fresh clone.
var (
	embeddedOnce sync.Once
	embedded     sanctions.LoadResult
)

func loadEmbedded(t testing.TB) sanctions.LoadResult {
	t.Helper()
	embeddedOnce.Do(func() { embedded = sanctions.LoadFiles(snapshot.Files()) })
	if len(embedded.Failed) > 0 {
		t.Fatalf("embedded snapshot failed to load: %v", embedded.Failed)
	}
	return embedded
}

func dataset(t testing.TB, id string) *sanctions.Dataset {
	t.Helper()
	for _, d := range loadEmbedded(t).Datasets {
		if d.Version.ID == id {
			return d
		}
	}
	t.Fatalf("no dataset %s", id)
	return nil
}

func find(es []*sanctions.Entity, pred func(*sanctions.Entity) bool) []*sanctions.Entity {
	var out []*sanctions.Entity
	for _, e := range es {
		if pred(e) {
			out = append(out, e)
		}
	}
	return out
}

func byID(t *testing.T, es []*sanctions.Entity, id string) *sanctions.Entity {
	t.Helper()
	for _, e := range es {
		if e.ID == id {
			return e
		}
	}
	t.Fatalf("entity %s not found", id)
	return nil
}

func TestEmbeddedVersions(t *testing.T) {
	res := loadEmbedded(t)
	if len(res.Skipped) > 0 {
		t.Errorf("skipped files: %v", res.Skipped)
	}
	want := map[string]struct {
		published                 string
		vessels, orgs, people, ac int
	}{
		"un@2026-02-27-66b392a4":        {"2026-02-27T00:00:09Z", 0, 273, 730, 0},
		"un@2025-04-19-929a40ec":        {"2025-04-19T23:00:04Z", 0, 193, 684, 0},
		"ofac-sdn@sha256-54e0823e":      {"2024-05-03", 851, 6884, 6854, 376},
		"ofac-cons@sha256-acfe53c5":     {"2025-12-19", 0, 363, 79, 0},
		"ofac-cons@2025-03-28-ce9a9a18": {"2025-03-28T00:00:00Z", 0, 363, 80, 0},
		"uk@sha256-5ed3f2bf":            {"2026-04-29", 632, 1531, 3883, 0},
		"eu@sha256-e615d3ab":            {"2025-12-17", 75, 94, 157, 0},
	}
	if len(res.Datasets) != len(want) {
		t.Errorf("got %d versions, want %d", len(res.Datasets), len(want))
	}
	for _, d := range res.Datasets {
		v := d.Version
		w, ok := want[v.ID]
		if !ok {
			t.Errorf("unexpected version %s", v.ID)
			continue
		}
		if v.Published != w.published {
			t.Errorf("%s published %q, want %q", v.ID, v.Published, w.published)
		}
		got := [4]int{v.Counts[sanctions.Vessel], v.Counts[sanctions.Organization], v.Counts[sanctions.Person], v.Counts[sanctions.Aircraft]}
		if got != [4]int{w.vessels, w.orgs, w.people, w.ac} {
			t.Errorf("%s counts %v, want %v", v.ID, got, [4]int{w.vessels, w.orgs, w.people, w.ac})
		}
		if len(v.SHA256) != 64 {
			t.Errorf("%s sha256 %q", v.ID, v.SHA256)
		}
	}
}

// The acceptance check: all 105 DPRK-programme vessels of the
// 2024-05-03 SDN file are read with their IMO numbers.
func TestOFACDPRKVessels(t *testing.T) {
	d := dataset(t, "ofac-sdn@sha256-54e0823e")
	vessels := find(d.Entities, func(e *sanctions.Entity) bool { return e.Type == sanctions.Vessel && e.HasProgramme("DPRK") })
	if len(vessels) != 105 {
		t.Fatalf("%d DPRK vessels, want 105", len(vessels))
	}
	for _, v := range vessels {
		if v.ShipIMO() == "" {
			t.Errorf("%s %s has no IMO number", v.ID, v.Name)
		}
	}
	ryong := byID(t, d.Entities, "ofac-sdn:17104")
	if ryong.Name != "RYONG GUN BONG" || ryong.ShipIMO() != "8606173" || ryong.Flag != "KP" || ryong.VesselType != "General Cargo" {
		t.Errorf("RYONG GUN BONG read as %+v", ryong)
	}
	// No DPRK shipping company is typed as a vessel, on any list.
	for _, ds := range loadEmbedded(t).Datasets {
		for _, e := range ds.Entities {
			if e.Type != sanctions.Vessel {
				continue
			}
			up := strings.ToUpper(e.Name)
			for _, w := range []string{"SHIPPING", "COMPANY", " CO LTD", "CORPORATION", "TRADING", "MANAGEMENT"} {
				if strings.Contains(up, w) {
					t.Errorf("%s: %q typed as a vessel", e.ID, e.Name)
				}
			}
			if len(e.IDs(sanctions.SchemeCompanyIMO)) > 0 {
				t.Errorf("%s: vessel %q carries a company IMO number", e.ID, e.Name)
			}
		}
	}
	// OFAC labels some DPRK companies' company numbers "Vessel Registration
	// Identification"; they stay company numbers.
	chongbong := byID(t, d.Entities, "ofac-sdn:19569")
	if chongbong.Type != sanctions.Organization || chongbong.ShipIMO() != "" || strings.Join(chongbong.IDs(sanctions.SchemeCompanyIMO), ",") != "5878589" {
		t.Errorf("CHONGBONG SHIPPING CO LTD: %+v", chongbong)
	}
	// "Company Number 5146578." without "IMO", valid company check digit.
	yusong := byID(t, d.Entities, "ofac-sdn:23149")
	if got := yusong.IDs(sanctions.SchemeCompanyIMO); len(got) != 1 || got[0] != "5146578" {
		t.Errorf("YUSONG SHIPPING CO company IMO %v", got)
	}
	// A national company number stays a registration number.
	for _, e := range d.Entities {
		for _, id := range e.IDs(sanctions.SchemeCompanyIMO) {
			if strings.Contains(e.Remarks, "Company Number "+id+" (") {
				t.Errorf("%s: national company number %s read as IMO", e.ID, id)
			}
		}
	}
}

func TestOFACRemarksFields(t *testing.T) {
	d := dataset(t, "ofac-sdn@sha256-54e0823e")
	withMMSI := find(d.Entities, func(e *sanctions.Entity) bool { return len(e.IDs(sanctions.SchemeMMSI)) > 0 })
	if len(withMMSI) < 150 {
		t.Errorf("%d entities with MMSI, want >= 150 (154 remarks carry one)", len(withMMSI))
	}
	withPast := find(d.Entities, func(e *sanctions.Entity) bool { return len(e.PastFlags) > 0 })
	if len(withPast) < 40 {
		t.Errorf("%d vessels with past flags", len(withPast))
	}
	linked := find(d.Entities, func(e *sanctions.Entity) bool { return e.Type == sanctions.Vessel && len(e.Links) > 0 })
	if len(linked) < 800 {
		t.Errorf("%d vessels with Linked To, want >= 800", len(linked))
	}
	// ZA RYOK 2: Linked To YUSONG SHIPPING CO.
	za := byID(t, d.Entities, "ofac-sdn:23155")
	if len(za.Links) != 1 || za.Links[0].Name != "YUSONG SHIPPING CO" || za.Links[0].Relation != sanctions.LinkedTo {
		t.Errorf("ZA RYOK 2 links %+v", za.Links)
	}
	// Remarks continue in sdn_comments: the joined text must end the way the comments file does.
	for _, e := range d.Entities {
		if e.ID == "ofac-sdn:17016" && !strings.Contains(e.Remarks, "Legal Entity Number 253400WSS48YWMBUA688") {
			t.Errorf("17016 remarks not joined with sdn_comments: %q", e.Remarks[max(0, len(e.Remarks)-200):])
		}
	}
	// f.k.a. from alt.csv become former names.
	former := find(d.Entities, func(e *sanctions.Entity) bool {
		if e.Type != sanctions.Vessel {
			return false
		}
		for _, n := range e.Names {
			if n.Kind == sanctions.NameFormer {
				return true
			}
		}
		return false
	})
	if len(former) < 50 {
		t.Errorf("%d vessels with former names", len(former))
	}
}

func TestUNEntities(t *testing.T) {
	d := dataset(t, "un@2026-02-27-66b392a4")
	achim := byID(t, d.Entities, "un:KPe.061")
	if achim.Name != "KOREA ACHIM SHIPPING CO" || strings.Join(achim.IDs(sanctions.SchemeCompanyIMO), ",") != "5936312" {
		t.Errorf("KPe.061: %+v", achim)
	}
	if achim.Listings[0].ListedOn != "2018-03-30" || achim.Listings[0].Programmes[0] != "DPRK" {
		t.Errorf("KPe.061 listing %+v", achim.Listings[0])
	}
	omm := byID(t, d.Entities, "un:KPe.020")
	if strings.Join(omm.IDs(sanctions.SchemeCompanyIMO), ",") != "1790183" {
		t.Errorf("OMM company IMO %v", omm.IDs(sanctions.SchemeCompanyIMO))
	}
	dprk := find(d.Entities, (*sanctions.Entity).IsDPRK)
	if len(dprk) != 155 {
		t.Errorf("%d DPRK entries, want 155 (KP reference numbers in the file)", len(dprk))
	}
	// The pretty-printed 2025 file reads to the same values: whitespace is folded.
	old := dataset(t, "un@2025-04-19-929a40ec")
	if e := byID(t, old.Entities, "un:KPe.061"); e.Name != achim.Name || e.Remarks != achim.Remarks {
		t.Errorf("2025 KPe.061 differs: %q", e.Remarks)
	}
}

func TestUKAndEU(t *testing.T) {
	uk := dataset(t, "uk@sha256-5ed3f2bf")
	dprk := countTypes(find(uk.Entities, (*sanctions.Entity).IsDPRK))
	if dprk != [3]int{37, 86, 138} {
		t.Errorf("UK DPRK vessels/orgs/persons %v, want [37 86 138]", dprk)
	}
	petrel := byID(t, uk.Entities, "uk:DPR0075")
	if petrel.Name != "Petrel 8" || petrel.ShipIMO() != "9562233" {
		t.Errorf("DPR0075: %+v", petrel)
	}
	eu := dataset(t, "eu@sha256-e615d3ab")
	chol := byID(t, eu.Entities, "eu:XIII.B:8606173")
	if chol.Name != "Chol Ryong" {
		t.Errorf("EU name %q", chol.Name)
	}
	var former []string
	for _, n := range chol.Names {
		if n.Kind == sanctions.NameFormer {
			former = append(former, n.Value)
		}
	}
	if strings.Join(former, ",") != "Ryong Gun Bong" {
		t.Errorf("EU former names %v", former)
	}
	omm := find(eu.Entities, func(e *sanctions.Entity) bool { return strings.HasPrefix(e.Name, "Ocean Maritime Management") })
	if len(omm) != 1 || strings.Join(omm[0].IDs(sanctions.SchemeCompanyIMO), ",") != "1790183" {
		t.Errorf("EU OMM %+v", omm)
	}
	if eu.Version.Problems.Count != 1 || eu.Version.Problems.Samples[0].Element != "imoNumber" || eu.Version.Problems.Samples[0].Line == 0 {
		t.Errorf("EU problems %+v: want the one 'Does not exist' IMO, with its line", eu.Version.Problems)
	}
}

// The XML and CSV publications of OFAC's consolidated list read to the same
// entities (the XML is 2025-03-28, the CSV 2025-12-19: one person was
// delisted between them).
func TestOFACXMLMatchesCSV(t *testing.T) {
	x := dataset(t, "ofac-cons@2025-03-28-ce9a9a18")
	c := dataset(t, "ofac-cons@sha256-acfe53c5")
	d, err := sanctions.Diff(x, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Added) != 0 || len(d.Removed) != 1 {
		t.Errorf("XML->CSV added %d removed %d", len(d.Added), len(d.Removed))
	}
	// Names and identifiers agree for at least 95% of entities.
	bad := 0
	for _, ch := range d.Changed {
		for _, f := range ch.Fields {
			if f == "name" || f == "identifiers" {
				bad++
				break
			}
		}
	}
	if bad > len(c.Entities)/20 {
		t.Errorf("%d of %d entities differ in name or identifiers between XML and CSV", bad, len(c.Entities))
	}
}

func countTypes(es []*sanctions.Entity) [3]int {
	var c [3]int
	for _, e := range es {
		switch e.Type {
		case sanctions.Vessel:
			c[0]++
		case sanctions.Organization:
			c[1]++
		case sanctions.Person:
			c[2]++
		}
	}
	return c
}

func TestMergeRealLists(t *testing.T) {
	merged := sanctions.Merge(sanctions.Latest(loadEmbedded(t).Datasets)...)
	achim := find(merged, func(e *sanctions.Entity) bool { return e.Name == "KOREA ACHIM SHIPPING CO" })
	if len(achim) != 1 {
		t.Fatalf("KOREA ACHIM SHIPPING CO: %d entities, want 1", len(achim))
	}
	var refs []string
	for _, l := range achim[0].Listings {
		refs = append(refs, l.Ref())
	}
	if strings.Join(refs, " ") != "eu:XIII.B:KOREA-ACHIM-SHIPPING-CO ofac:23707 uk:DPR0144 un:KPe.061" {
		t.Errorf("listings %v", refs)
	}
	if achim[0].ID != "un:KPe.061" {
		t.Errorf("merged id %s, want the UN reference", achim[0].ID)
	}
	ryong := find(merged, func(e *sanctions.Entity) bool { return e.ShipIMO() == "8606173" })
	if len(ryong) != 1 || len(ryong[0].Listings) != 2 {
		t.Errorf("IMO 8606173: %d entities", len(ryong))
	}
	// Every vessel IMO appears on exactly one merged entity.
	seen := map[string]string{}
	for _, e := range merged {
		for _, imo := range e.IDs(sanctions.SchemeShipIMO) {
			if prev, dup := seen[imo]; dup {
				t.Errorf("IMO %s on %s and %s", imo, prev, e.ID)
			}
			seen[imo] = e.ID
		}
	}
}

func TestUNDiff(t *testing.T) {
	d, err := sanctions.Diff(dataset(t, "un@2025-04-19-929a40ec"), dataset(t, "un@2026-02-27-66b392a4"))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Added) != 130 || len(d.Removed) != 4 || len(d.Changed) != 16 {
		t.Errorf("added %d removed %d changed %d, want 130 4 16", len(d.Added), len(d.Removed), len(d.Changed))
	}
	// A version compared with itself has no differences.
	same, _ := sanctions.Diff(dataset(t, "un@2026-02-27-66b392a4"), dataset(t, "un@2026-02-27-66b392a4"))
	if len(same.Added)+len(same.Removed)+len(same.Changed) != 0 {
		t.Errorf("self-diff not empty")
	}
	if _, err := sanctions.Diff(dataset(t, "un@2026-02-27-66b392a4"), dataset(t, "eu@sha256-e615d3ab")); err == nil {
		t.Error("diff across lists accepted")
	}
}
