package sanctions_test

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/snapshot"
)

// embeddedFile returns the bytes of the embedded file whose name ends in
// suffix.
func embeddedFile(t *testing.T, suffix string) (string, []byte) {
	t.Helper()
	for _, f := range snapshot.Files() {
		if strings.HasSuffix(f.Name, suffix) {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return f.Name, b
		}
	}
	t.Fatalf("no embedded file *%s", suffix)
	return "", nil
}

func memFile(name string, b []byte, mod time.Time) sanctions.File {
	return sanctions.File{Name: name, ModTime: mod, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
}

const euFile = "eu_reg_2017-1509_dprk_consolidated_2025-12-17.csv"

func loadEU(t *testing.T, b []byte) *sanctions.Dataset {
	t.Helper()
	res := sanctions.LoadFiles([]sanctions.File{memFile("eu/"+euFile, b, time.Time{})})
	if len(res.Datasets) != 1 {
		t.Fatalf("EU load: %+v", res)
	}
	return res.Datasets[0]
}

// Every list's records have unique ids (the EU transcription's recordId is
// a position within an annex: eu:1 was a dozen entities).
func TestListIDsUnique(t *testing.T) {
	for _, d := range loadEmbedded(t).Datasets {
		seen := map[string]bool{}
		for _, e := range d.Entities {
			if seen[e.ID] {
				t.Errorf("%s: id %s twice", d.Version.ID, e.ID)
			}
			seen[e.ID] = true
			if len(e.Listings) != 1 || e.ID != e.Listings[0].List+":"+e.Listings[0].SourceID && !strings.HasPrefix(e.Listings[0].List, "ofac") {
				t.Errorf("%s: id %s, listing %+v", d.Version.ID, e.ID, e.Listings)
			}
		}
	}
	eu := dataset(t, "eu@sha256-e615d3ab")
	for _, id := range []string{"eu:XIII.B:8606173", "eu:XIII.A:YUN-HO-JIN", "eu:XIV.B:MIN-NING-DE-YOU-078", "eu:XIII.B:SHANGHAI-DONGFENG-SHIPPING-CO-LTD"} {
		byID(t, eu.Entities, id)
	}
}

// Diffing the EU list against itself reports nothing (224 changes before
// its ids were unique).
func TestEUDiffItself(t *testing.T) {
	eu := dataset(t, "eu@sha256-e615d3ab")
	d, err := sanctions.Diff(eu, eu)
	if err != nil || len(d.Added)+len(d.Removed)+len(d.Changed) != 0 {
		t.Errorf("EU vs itself: %v, %d added, %d removed, %d changed", err, len(d.Added), len(d.Removed), len(d.Changed))
	}
}

// EU ids come from content: renumbering an annex changes none of them.
func TestEUIDsSurviveRenumbering(t *testing.T) {
	_, b := embeddedFile(t, euFile)
	orig := loadEU(t, b)
	renum := regexp.MustCompile(`(?m)^(32017R1509,)(\d+),`).ReplaceAll(b, []byte("${1}9${2},"))
	if bytes.Equal(renum, b) {
		t.Fatal("renumbering changed nothing")
	}
	moved := loadEU(t, renum)
	d, _ := sanctions.Diff(orig, moved)
	if len(d.Added)+len(d.Removed)+len(d.Changed) != 0 || moved.Version.Total != orig.Version.Total {
		t.Errorf("renumbered annexes: %d added, %d removed, %d changed", len(d.Added), len(d.Removed), len(d.Changed))
	}
}

// Issue 18: one unclosed quote in the EU transcription costs its own row,
// reported with its line (it cost four entities and said "row 1").
func TestEUUnclosedQuoteCostsOneRow(t *testing.T) {
	_, b := embeddedFile(t, euFile)
	orig := loadEU(t, b)
	lines := strings.Split(string(b), "\n")
	target := -1
	for i, l := range lines {
		if strings.Contains(l, ",Person,Han Yu-ro,") {
			target = i
		}
	}
	if target < 0 {
		t.Fatal("row not found")
	}
	lines[target] = strings.Replace(lines[target], ",Person,Han Yu-ro,", `,Person,"Han Yu-ro,`, 1)
	broken := loadEU(t, []byte(strings.Join(lines, "\n")))
	if broken.Version.Total != orig.Version.Total-1 {
		t.Errorf("%d entities, want %d", broken.Version.Total, orig.Version.Total-1)
	}
	found := false
	for _, p := range broken.Version.Problems.Samples {
		if p.Line == target+1 && strings.Contains(p.Reason, "unclosed quote") {
			found = true
		}
	}
	if !found {
		t.Errorf("no problem on line %d: %+v", target+1, broken.Version.Problems)
	}
}

// A version id comes from the publication date in the file (or its name)
// or the content hash, never the file's modification time.
func TestVersionIDNotFromModTime(t *testing.T) {
	var ids []string
	for _, mod := range []time.Time{time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2031, 5, 6, 0, 0, 0, 0, time.UTC)} {
		var files []sanctions.File
		for _, n := range []string{"subjects.csv", "subject_names.csv", "subject_identifiers.csv", "subject_dobs.csv"} {
			_, b := embeddedFile(t, "/"+n)
			files = append(files, memFile("uk_derived/"+n, b, mod))
		}
		res := sanctions.LoadFiles(files)
		if len(res.Datasets) != 1 {
			t.Fatalf("%+v", res)
		}
		ids = append(ids, res.Datasets[0].Version.ID)
	}
	if ids[0] != ids[1] || ids[0] != "uk@sha256-5ed3f2bf" {
		t.Errorf("ids %v", ids)
	}
}

// The same content gets the same version id whatever its files are
// called: the UK tables in uk_derived/ (shared/data/lists) and in
// uk_derived_2026-04-29/ (the embedded snapshot), OFAC's sdn.csv and
// sdn_2024-05-03.csv, the EU file as downloaded and as dated. Before, a
// date in the file or folder name went into the id, so the command line
// on shared/data/lists said uk@sha256-5ed3f2bf and the server, on the
// snapshot, uk@2026-04-29-5ed3f2bf for the same tables. The date in the
// name is still the version's published date.
func TestVersionIDSameContentSameName(t *testing.T) {
	uk := []string{"subjects.csv", "subject_names.csv", "subject_identifiers.csv", "subject_dobs.csv"}
	for _, c := range []struct {
		files    []string // suffixes of embedded files
		names    [2]string
		id, pub1 string
	}{
		{uk, [2]string{"uk_derived/", "uk_derived_2026-04-29/"}, "uk@sha256-5ed3f2bf", ""},
		{[]string{"sdn_2024-05-03.csv"}, [2]string{"ofac/sdn.csv", "ofac/sdn_2024-05-03.csv"}, "ofac-sdn@sha256-210ca6b4", ""}, // the main table alone,
		{[]string{euFile}, [2]string{"eu_derived/32017R1509.csv", "eu_derived/" + euFile}, "eu@sha256-e615d3ab", ""},
		{[]string{"un_consolidated_2026-02-27.xml"}, [2]string{"un/consolidated.xml", "un/un_consolidated_1999-01-01.xml"}, "un@2026-02-27-66b392a4", "2026-02-27T00:00:09Z"},
	} {
		var ids, pubs []string
		for _, name := range c.names {
			var files []sanctions.File
			for _, suffix := range c.files {
				_, b := embeddedFile(t, suffix)
				n := name
				if strings.HasSuffix(name, "/") {
					n += suffix
				}
				files = append(files, memFile(n, b, time.Time{}))
			}
			res := sanctions.LoadFiles(files)
			if len(res.Datasets) != 1 {
				t.Fatalf("%v: %+v", c.names, res)
			}
			ids = append(ids, res.Datasets[0].Version.ID)
			pubs = append(pubs, res.Datasets[0].Version.Published)
		}
		if ids[0] != c.id || ids[1] != c.id {
			t.Errorf("%s and %s: ids %v, want %s for both", c.names[0], c.names[1], ids, c.id)
		}
		// The date in a name is still the published date when the
		// content has none; a date in the content wins over the name's.
		if want := c.pub1; want != "" {
			if pubs[0] != want || pubs[1] != want {
				t.Errorf("%v: published %v, want %s", c.names, pubs, want)
			}
		} else if pubs[0] != "" || pubs[1] == "" {
			t.Errorf("%v: published %q and %q", c.names, pubs[0], pubs[1])
		}
	}
}

// A publisher's id given twice loses neither entity and is counted.
func TestDuplicateIDsKeptApart(t *testing.T) {
	_, b := embeddedFile(t, "sdn_2024-05-03.csv")
	lines := strings.SplitAfter(string(b), "\n")
	dup := strings.Replace(lines[1], lines[1][:strings.Index(lines[1], ",")], lines[0][:strings.Index(lines[0], ",")], 1)
	in := lines[0] + dup + strings.Join(lines[2:], "")
	res := sanctions.LoadFiles([]sanctions.File{memFile("ofac/sdn_2024-05-03.csv", []byte(in), time.Time{})})
	if len(res.Datasets) != 1 {
		t.Fatalf("%+v", res.Failed)
	}
	d := res.Datasets[0]
	seen := map[string]bool{}
	for _, e := range d.Entities {
		if seen[e.ID] {
			t.Errorf("id %s twice", e.ID)
		}
		seen[e.ID] = true
	}
	if d.Version.Total != 14965 || d.Version.Problems.ByReason["duplicate id"] != 1 {
		t.Errorf("%d entities, problems %v", d.Version.Total, d.Version.Problems.ByReason)
	}
}
