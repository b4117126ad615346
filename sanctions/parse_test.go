package sanctions

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func collect() (*[]*Entity, func(*Entity)) {
	var out []*Entity
	return &out, func(e *Entity) { out = append(out, e) }
}

func TestFtMFixture(t *testing.T) {
	f, err := os.Open("testdata/ftm_dprk.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, emit := collect()
	probs, err := ParseFtM(f, "ftm_dprk.jsonl", emit)
	if err != nil {
		t.Fatal(err)
	}
	if len(*got) != 4 {
		t.Fatalf("%d entities, want 4 (vessel, bad-IMO vessel, company, person)", len(*got))
	}
	if probs.Count != 3 || probs.ByReason["bad JSON"] != 1 || probs.ByReason["missing id or schema"] != 1 || probs.ByReason["invalid identifier"] != 1 {
		t.Errorf("problems %+v", probs)
	}
	var vessel, company *Entity
	for _, e := range *got {
		switch e.ID {
		case "opensanctions:tw-vessel-chonmasan":
			vessel = e
		case "opensanctions:tw-company-achim":
			company = e
		}
	}
	if vessel == nil || company == nil {
		t.Fatal("vessel or company missing")
	}
	if vessel.Type != Vessel || vessel.ShipIMO() != "8660313" || vessel.Flag != "KP" || strings.Join(vessel.PastFlags, ",") != "SL,TZ" {
		t.Errorf("vessel %+v", vessel)
	}
	if strings.Join(vessel.IDs(SchemeMMSI), ",") != "445123000" || strings.Join(vessel.IDs(SchemeCallSign), ",") != "HMYX" {
		t.Errorf("vessel ids %+v", vessel.Identifiers)
	}
	if vessel.BuildYear != "1985" || vessel.Tonnage != "2990" || vessel.VesselType != "Oil Tanker" {
		t.Errorf("vessel facts %q %q %q", vessel.BuildYear, vessel.Tonnage, vessel.VesselType)
	}
	if len(vessel.Links) != 1 || vessel.Links[0].Name != "KOREA ACHIM SHIPPING CO" || vessel.Links[0].Relation != OwnedBy {
		t.Errorf("vessel links %+v", vessel.Links)
	}
	if vessel.Listings[0].ListedOn != "2018-03-30" {
		t.Errorf("vessel listing %+v", vessel.Listings[0])
	}
	if company.Type != Organization || strings.Join(company.IDs(SchemeCompanyIMO), ",") != "5936312" || strings.Join(company.IDs(SchemeUNReference), ",") != "KPe.061" {
		t.Errorf("company %+v", company)
	}
	// The FtM company merges with the UN listing through the UN reference.
	un := &Entity{ID: "un:KPe.061", Type: Organization, Name: "KOREA ACHIM SHIPPING CO", Listings: []Listing{{List: "un", SourceID: "KPe.061"}},
		Identifiers: []Identifier{{Scheme: SchemeUNReference, Value: "KPe.061"}}}
	m := Merge(&Dataset{Entities: *got}, &Dataset{Entities: []*Entity{un}})
	if len(m) != 4 {
		t.Errorf("merge gave %d entities, want 4", len(m))
	}
}

const unSample = `<?xml version="1.0" encoding="UTF-8"?>
<CONSOLIDATED_LIST dateGenerated="2026-02-27T00:00:09.554Z">
  <ENTITIES>
    <ENTITY>
      <DATAID>1</DATAID>
      <FIRST_NAME>KOREA ACHIM SHIPPING CO</FIRST_NAME>
      <UN_LIST_TYPE>DPRK</UN_LIST_TYPE>
      <REFERENCE_NUMBER>KPe.061</REFERENCE_NUMBER>
      <LISTED_ON>2018-03-30</LISTED_ON>
      <COMMENTS1>Registered owner of DPRK tanker CHON MA SAN. IMO number: 5936312.</COMMENTS1>
    </ENTITY>
    <ENTITY>
      <DATAID>2</DATAID>
      <FIRST_NAME>NO REFERENCE</FIRST_NAME>
    </ENTITY>
    <ENTITY>
      <DATAID>3</DATAID>
      <FIRST_NAME>BAD NUMBER CO</FIRST_NAME>
      <REFERENCE_NUMBER>KPe.999</REFERENCE_NUMBER>
      <COMMENTS1>IMO number: 5936313.</COMMENTS1>
    </ENTITY>
  </ENTITIES>
</CONSOLIDATED_LIST>
`

func TestUNMalformed(t *testing.T) {
	got, emit := collect()
	pub, probs, err := ParseUNXML(strings.NewReader(unSample), "un.xml", emit)
	if err != nil {
		t.Fatal(err)
	}
	if pub.Format(time.DateOnly) != "2026-02-27" || len(*got) != 2 {
		t.Fatalf("published %v, %d entities", pub, len(*got))
	}
	if probs.Count != 2 || probs.ByReason["missing REFERENCE_NUMBER"] != 1 || probs.ByReason["invalid identifier"] != 1 {
		t.Errorf("problems %+v", probs)
	}
	if probs.Samples[0].Line == 0 || probs.Samples[0].Element != "ENTITY" {
		t.Errorf("problem lacks line/element: %+v", probs.Samples[0])
	}
	// Truncated: the import stops with the line where the XML broke.
	cut := unSample[:strings.Index(unSample, "<DATAID>3")+4]
	_, _, err = ParseUNXML(strings.NewReader(cut), "cut.xml", func(*Entity) {})
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line < 15 || !strings.Contains(pe.Error(), "cut.xml:") {
		t.Errorf("truncated XML: %v", err)
	}
	// Not the UN schema.
	_, _, err = ParseUNXML(strings.NewReader(`<?xml version="1.0"?><other><ENTITY/></other>`), "x.xml", func(*Entity) {})
	if err == nil {
		t.Error("foreign XML accepted")
	}
	// Binary junk.
	_, _, err = ParseUNXML(bytes.NewReader([]byte{0, 1, 2, 0xff, '<', 0xfe}), "junk", func(*Entity) {})
	if err == nil {
		t.Error("junk accepted")
	}
}

const sdnSample = `17104,"RYONG GUN BONG","vessel","DPRK",-0- ,-0- ,"General Cargo",-0- ,-0- ,"Democratic People's Republic of Korea",-0- ,"Vessel Registration Identification 8606173."
17105,"SHORT ROW","vessel"
17106,"BAD IMO","vessel","DPRK",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"Vessel Registration Identification IMO 8606174; MMSI 445123000."
X1,"NOT A NUMBER",-0- ,"DPRK",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0-
23510,"GOORYONG SHIPPING CO LTD",-0- ,"DPRK4",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"Company Number IMO 5055293; a.k.a. 'GOORYONG'; Linked To: KOREA ACHIM SHIPPING CO."
` + "\x1a"

func TestOFACCSVMalformed(t *testing.T) {
	got, emit := collect()
	alt := "23510,1,\"fka\",\"OLD GOORYONG\",-0- \n"
	probs, err := ParseOFACCSV(OFACCSVFiles{List: "ofac-sdn", Main: NamedReader{"sdn.csv", strings.NewReader(sdnSample)}, Alt: &NamedReader{"alt.csv", strings.NewReader(alt)}}, emit)
	if err != nil {
		t.Fatal(err)
	}
	if len(*got) != 3 {
		t.Fatalf("%d entities, want 3", len(*got))
	}
	if probs.ByReason["wrong column count"] != 1 || probs.ByReason["bad ent_num"] != 1 || probs.ByReason["invalid identifier"] != 1 {
		t.Errorf("problems %+v", probs)
	}
	for _, p := range probs.Samples {
		if p.Line == 0 || p.File != "sdn.csv" {
			t.Errorf("problem without file/line: %+v", p)
		}
	}
	bad := (*got)[1]
	if bad.ShipIMO() != "" || strings.Join(bad.IDs(SchemeMMSI), "") != "445123000" {
		t.Errorf("bad-IMO row kept the invalid IMO or lost the MMSI: %+v", bad.Identifiers)
	}
	g := (*got)[2]
	if g.Type != Organization || strings.Join(g.IDs(SchemeCompanyIMO), "") != "5055293" || len(g.Links) != 1 {
		t.Errorf("GOORYONG %+v", g)
	}
	kinds := map[string]NameKind{}
	for _, n := range g.Names {
		kinds[n.Value] = n.Kind
	}
	if kinds["GOORYONG"] != NameAlias || kinds["OLD GOORYONG"] != NameFormer {
		t.Errorf("names %+v", g.Names)
	}
	// A main file of nothing but junk fails cleanly.
	_, err = ParseOFACCSV(OFACCSVFiles{List: "ofac-sdn", Main: NamedReader{"junk.csv", strings.NewReader("\x00\x01\x02\n\"unterminated")}}, func(*Entity) {})
	if err == nil {
		t.Error("junk accepted")
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name, head string
		want       Format
	}{
		{"x.xml", unSample, FormatUNXML},
		{"sdn.xml", `<?xml version="1.0"?><sdnList xmlns="x"><publshInformation/>`, FormatOFACXML},
		{"sdn.csv", sdnSample, FormatOFACMain},
		{"add.csv", `36,25,-0- ,"Havana","Cuba",-0- `, FormatOFACAdd},
		{"alt.csv", `36,12,"aka","AERO-CARIBBEAN",-0- `, FormatOFACAlt},
		{"sdn_comments.csv", `17016,"tive Date"`, FormatOFACComments},
		{"subjects.csv", "unique_id,subject_type,un_reference_number\n", FormatUKSubjects},
		{"n.csv", "name_id,unique_id,name_type,alias_strength\n", FormatUKNames},
		{"e.csv", "celex,recordId,programKey,annex\n", FormatEUJournal},
		{"e.json", `{"id":"x","schema":"Vessel"}`, FormatFtM},
		{"junk", "\x00\x01\x02", FormatUnknown},
		{"readme.md", "# Sources\n", FormatUnknown},
		{"empty", "", FormatUnknown},
	}
	for _, tt := range tests {
		if got := Detect(tt.name, []byte(tt.head)); got != tt.want {
			t.Errorf("Detect(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func memFile(name, content string, mod time.Time) File {
	return File{Name: name, ModTime: mod, Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil }}
}

// Side tables pair with the main table of their date, or the oldest newer
// set (OFAC side tables only grow), never with the other list's tables.
func TestGroupPairsSideTables(t *testing.T) {
	main := `1,"A",-0- ,"P",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ` + "\n"
	add := `1,2,-0- ,-0- ,-0- ,-0- ` + "\n"
	files := []File{
		memFile("d/sdn_2021-07-07.csv", main, time.Time{}),
		memFile("d/sdn_2024-05-03.csv", main, time.Time{}),
		memFile("d/add_2021-07-07.csv", add, time.Time{}),
		memFile("d/add_2025-02-27.csv", add, time.Time{}),
		memFile("d/add_2026-01-01.csv", add, time.Time{}),
		memFile("d/cons_prim_2025-12-19.csv", main, time.Time{}),
		memFile("d/cons_add_2025-12-19.csv", add, time.Time{}),
		memFile("d/notes.txt", "hello", time.Time{}),
	}
	bs, probs := Group(files)
	pairs := map[string]string{}
	for _, b := range bs {
		pairs[b.MainFile().Name] = b.Files[FormatOFACAdd].Name
	}
	want := map[string]string{
		"d/sdn_2021-07-07.csv":       "d/add_2021-07-07.csv",
		"d/sdn_2024-05-03.csv":       "d/add_2025-02-27.csv",
		"d/cons_prim_2025-12-19.csv": "d/cons_add_2025-12-19.csv",
	}
	for k, v := range want {
		if pairs[k] != v {
			t.Errorf("%s paired with %q, want %q", k, pairs[k], v)
		}
	}
	// notes.txt is not a list; add_2026 is unused.
	if len(probs) != 2 {
		t.Errorf("problems %v", probs)
	}
	for _, b := range bs {
		if b.List == "ofac-cons" && !strings.Contains(b.MainFile().Name, "cons") {
			t.Errorf("list %s for %s", b.List, b.MainFile().Name)
		}
	}
}

func TestLoadRecordsVersion(t *testing.T) {
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	bs, _ := Group([]File{memFile("lists/un_2026-02-27.xml", unSample, mod)})
	ds, err := Load(bs[0], mod)
	if err != nil {
		t.Fatal(err)
	}
	v := ds.Version
	if v.List != "un" || v.Published != "2026-02-27T00:00:09Z" || v.PublishedFrom != "file content" || !v.Retrieved.Equal(mod) {
		t.Errorf("version %+v", v)
	}
	if v.Files[0].Bytes != int64(len(unSample)) || v.SHA256 != v.Files[0].SHA256 || !strings.HasPrefix(v.ID, "un@2026-02-27-"+v.SHA256[:8]) {
		t.Errorf("hash/size %+v", v)
	}
	if ds.Entities[0].Listings[0].Version != v.ID {
		t.Errorf("listing not stamped with version")
	}
	// A UK subjects table without names cannot be loaded.
	bs, _ = Group([]File{memFile("uk/subjects.csv", "unique_id,subject_type,un_reference_number,ofsi_group_id,date_designated,last_updated\nDPR0001,ship,,,03/10/2017,\n", mod)})
	if _, err := Load(bs[0], mod); err == nil {
		t.Error("UK subjects without names loaded")
	}
}

func vessel(id, name, imo, mmsi string) *Entity {
	list, sid, _ := strings.Cut(id, ":")
	e := &Entity{ID: id, Type: Vessel, Name: name, Listings: []Listing{{List: list, SourceID: sid}}}
	e.AddName(name, NamePrimary)
	if imo != "" {
		e.AddIdentifier(SchemeShipIMO, imo, "")
	}
	if mmsi != "" {
		e.AddIdentifier(SchemeMMSI, mmsi, "")
	}
	return e
}

func TestMergeRules(t *testing.T) {
	a := vessel("ofac-sdn:1", "JI SONG 6", "8898738", "")
	b := vessel("eu:9", "Ji Song 6", "8898738", "445000001")
	c := vessel("uk:DPR1", "JI SONG 6", "9096791", "")  // same name, other hull
	d := vessel("uk:DPR2", "X", "", "445000001")        // MMSI only: joins a/b
	e := vessel("uk:DPR3", "Y", "8400854", "445000001") // MMSI but a different IMO: stays apart
	org := &Entity{ID: "un:KPe.1", Type: Organization, Name: "JI SONG 6", Listings: []Listing{{List: "un", SourceID: "KPe.1"}}}
	org.AddIdentifier(SchemeShipIMO, "8898738", "") // a ship number on an organization never joins the ship
	in := []*Entity{e, d, c, b, a, org}
	m := Merge(&Dataset{Entities: in})
	if len(m) != 4 {
		for _, x := range m {
			t.Logf("%s %v", x.ID, x.Listings)
		}
		t.Fatalf("%d merged entities, want 4", len(m))
	}
	joined := m[0]
	if joined.ID != "ofac-sdn:1" || len(joined.Listings) != 3 || joined.Name != "JI SONG 6" {
		t.Errorf("joined %s %q %v", joined.ID, joined.Name, joined.Listings)
	}
	// Order of input does not matter.
	m2 := Merge(&Dataset{Entities: []*Entity{a, b, c, d, e, org}})
	for i := range m {
		if m[i].ID != m2[i].ID || len(m[i].Listings) != len(m2[i].Listings) {
			t.Errorf("merge depends on input order at %d: %s vs %s", i, m[i].ID, m2[i].ID)
		}
	}
}

func TestRemarkSplitting(t *testing.T) {
	e := &Entity{Type: Vessel}
	applyRemarks(e, "a.k.a. 'KOREA; SHIP'; Former Vessel Flag Malta; alt. Former Vessel Flag Tanzania; Other Vessel Call Sign UBMQ; Vessel Year of Build 1985; (Linked To: OCEAN MARITIME MANAGEMENT COMPANY, LIMITED)")
	if len(e.Names) != 1 || e.Names[0].Value != "KOREA; SHIP" {
		t.Errorf("names %+v", e.Names)
	}
	if strings.Join(e.PastFlags, ",") != "MT,TZ" || e.BuildYear != "1985" || strings.Join(e.IDs(SchemeCallSign), "") != "UBMQ" {
		t.Errorf("%+v", e)
	}
	if len(e.Links) != 1 || e.Links[0].Name != "OCEAN MARITIME MANAGEMENT COMPANY, LIMITED" {
		t.Errorf("links %+v", e.Links)
	}
}

var timeZero time.Time
