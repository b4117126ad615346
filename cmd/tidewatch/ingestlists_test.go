package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/sanctions/snapshot"
)

// ingest --lists DIR applies the same guard as 'lists import': a UN file
// cut to 60 of its 1,003 entities (a truncated download a proxy closed
// properly) is refused, said so, and the version in force stays.
func TestIngestListsShrinkGuard(t *testing.T) {
	dir := t.TempDir()
	var b []byte
	for _, f := range snapshot.Files() { // the real UN file, embedded
		if strings.Contains(f.Name, "un_consolidated_2026-02-27") {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err = io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(b) == 0 {
		t.Fatal("no embedded UN 2026-02-27 file")
	}
	x := strings.Replace(string(b), `dateGenerated="2026-02-27`, `dateGenerated="2026-06-01`, 1)
	end := 0
	for i := 0; i < 60; i++ {
		end += strings.Index(x[end:], "</INDIVIDUAL>") + len("</INDIVIDUAL>")
	}
	lists := filepath.Join(dir, "lists", "un")
	os.MkdirAll(lists, 0o755)
	os.WriteFile(filepath.Join(lists, "un_consolidated_2026-06-01.xml"), []byte(x[:end]+"\n</INDIVIDUALS><ENTITIES></ENTITIES></CONSOLIDATED_LIST>\n"), 0o644)
	st := filepath.Join(dir, "tw.db")
	if code, _, errs := tw(t, "init", "--store", st); code != 0 {
		t.Fatalf("init: %s", errs)
	}
	code, _, errs := tw(t, "ingest", "--store", st, "--lists", filepath.Dir(lists), "../../ais/testdata/dma_aisabnormal_212123000_drift_1.nmea.gz")
	if code != 0 || !strings.Contains(errs, "un refused: holds 60 entities where un@2026-02-27") || !strings.Contains(errs, "1 refused") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	_, out, _ := tw(t, "lists", "versions", "--store", st)
	if !regexp.MustCompile(`\* un@2026-02-27-\w+ .* 1003 entities`).MatchString(out) || regexp.MustCompile(`un@2026-06-01-\w+ +published`).MatchString(out) {
		t.Errorf("the truncated version was stored or made current:\n%s", out)
	}
}
