package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/tabular"
)

func TestScreenCLI(t *testing.T) {
	code, out, errs := tw(t, "screen", "--embedded", "--imo", "8606173")
	if code != 0 || !strings.Contains(out, `MATCH  1.000  ofac-sdn:17104  vessel "RYONG GUN BONG"`) {
		t.Errorf("--imo: %d %s %s", code, out, errs)
	}
	code, out, _ = tw(t, "screen", "--embedded", "CHONMASAN")
	if code != 0 || !strings.Contains(out, `1. MATCH  1.000  ofac-sdn:23729  vessel "CHON MA SAN"`) {
		t.Errorf("CHONMASAN: %s", out)
	}
	code, out, _ = tw(t, "screen", "--embedded", "JI SONG 8")
	if code != 0 || strings.Contains(out, `"JI SONG 6"`) {
		t.Errorf("JI SONG 8: %s", out)
	}
	code, out, _ = tw(t, "screen", "--embedded", "--type", "organization", "--json", "Korea Achim Shipping Co")
	var doc struct {
		Results []app.Match `json:"results"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Results) != 1 {
		t.Fatalf("org JSON: %d %s", code, out)
	}
	if got := strings.Join(doc.Results[0].Sources, " "); got != "eu:XIII.B:KOREA-ACHIM-SHIPPING-CO ofac:23707 uk:DPR0144 un:KPe.061" || doc.Results[0].IMO != "IMO5936312" {
		t.Errorf("sources %q imo %q", got, doc.Results[0].IMO)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"screen", "--embedded"}, 2, "give a NAME"},
		{[]string{"screen", "--embedded", "  "}, 2, "no name, IMO"},
		{[]string{"screen", "--embedded", strings.Repeat("A", 10<<20)}, 2, "more than 1000"},
		{[]string{"screen", "--embedded", "CHON\xffMA"}, 2, "not valid UTF-8"},
		{[]string{"screen", "--embedded", "--type", "boat", "X"}, 2, "type \"boat\""},
		{[]string{"screen", "--embedded", "--threshold", "2", "X"}, 2, "--threshold"},
	} {
		code, out, errs := tw(t, c.args...)
		if code != c.code || !strings.Contains(out+errs, c.want) {
			t.Errorf("%.60q: exit %d %.200q %.200q", strings.Join(c.args, " "), code, out, errs)
		}
	}
}

func TestScreenBatch(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "q.csv")
	os.WriteFile(in, []byte("id,type,name,imo,mmsi,call_sign,flag\n"+
		"a,vessel,CHONMASAN,,,,\n"+
		"b,any,,IMO 8606173,,,\n"+
		"c,vessel,EVER GIVEN,,,,Panama\n"+
		"d,organization,Korea Achim Shipping Co,,,,\n"+
		"e,vessel,,,,,\n"+
		"f,martian,X,,,,\n"+
		"h,vessel,CHONMASAN,IMO0000001,123,,\n"+
		"i,vessel,CHONMASAN,IMO0000000,,,\n"+
		"g,vessel,\"unterminated,,,,\n"), 0o644)
	out := filepath.Join(dir, "r.jsonl")
	// Rows in error are reported on their line and make the exit status 1.
	code, _, errs := tw(t, "screen", "--embedded", "--in", in, "--out", out)
	if code != 1 {
		t.Fatalf("batch exit %d: %s", code, errs)
	}
	f, _ := os.Open(out)
	defer f.Close()
	sc := bufio.NewScanner(f)
	var lines []map[string]any
	for sc.Scan() {
		var o map[string]any
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("bad JSON line %q", sc.Text())
		}
		lines = append(lines, o)
	}
	if len(lines) != 9 {
		t.Fatalf("%d lines, want 9", len(lines))
	}
	first := lines[0]["matches"].([]any)[0].(map[string]any)
	if lines[0]["id"] != "a" || first["name"] != "CHON MA SAN" || first["imo"] != "IMO8660313" {
		t.Errorf("row a: %v", lines[0])
	}
	if m := lines[2]["matches"].([]any); len(m) != 0 {
		t.Errorf("EVER GIVEN matched: %v", m)
	}
	for _, i := range []int{4, 5, 8} { // e: empty, f: bad type, g: unreadable
		if lines[i]["error"] == nil {
			t.Errorf("row %d: %v", i, lines[i])
		}
	}
	// Bad identifiers are dropped with a warning; the name is still screened.
	h := lines[6]
	if h["id"] != "h" || len(h["warnings"].([]any)) != 2 || len(h["matches"].([]any)) != 1 {
		t.Errorf("row h: %v", h)
	}
	if lines[7]["warnings"] != nil || len(lines[7]["matches"].([]any)) != 1 {
		t.Errorf("row i (IMO zeros = not available): %v", lines[7])
	}
	if code != 1 || !strings.Contains(errs, "9 queries") || !strings.Contains(errs, "3 errors, 1 with ignored fields") || !strings.Contains(errs, "3 of 9 rows could not be screened") {
		t.Errorf("summary %q", errs)
	}
	// A file whose header has nothing to screen is refused, naming what
	// it has.
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("id,flag\n1,KP\n"), 0o644)
	code, _, errs = tw(t, "screen", "--embedded", "--in", bad)
	if code != 2 || !strings.Contains(errs, "none of name, imo, mmsi, call_sign") {
		t.Errorf("no screenable column: %d %s", code, errs)
	}
}

// Analysts' files: any subset of columns under their usual spellings,
// semicolons, and results as CSV or Excel with the input echoed.
func TestScreenBatchAnalystFiles(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "fleet.csv")
	os.WriteFile(in, []byte("IMO Number;Vessel Name\n8606173;RYONG GUN BONG\n9999998;NOT A SHIP\n;CHON MYONG ONE\n8606174;RYONG GUN BONG\n"), 0o644)
	out := filepath.Join(dir, "results.csv")
	code, _, errs := tw(t, "screen", "--embedded", "--no-audit", "--in", in, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, _ := os.ReadFile(out)
	rows := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(rows) != 5 || !strings.HasPrefix(rows[0], "row,id,type,name,imo,mmsi,call_sign,flag,hit,best_match") {
		t.Fatalf("results:\n%s", b)
	}
	for i, want := range []string{"yes,RYONG GUN BONG", "no,", "yes,CHON MYONG 1", "yes,RYONG GUN BONG"} {
		if !strings.Contains(rows[i+1], want) {
			t.Errorf("row %d: %s lacks %q", i+1, rows[i+1], want)
		}
	}
	// A mistyped IMO is a warning on its row, never a reason to miss.
	if !strings.Contains(rows[4], "8606174") || !strings.Contains(rows[4], "check digit") {
		t.Errorf("mistyped IMO row: %s", rows[4])
	}
	// Excel out, read back.
	xl := filepath.Join(dir, "results.xlsx")
	if code, _, errs := tw(t, "screen", "--embedded", "--no-audit", "--in", in, "--out", xl); code != 0 {
		t.Fatalf("xlsx: %s", errs)
	}
	f, err := os.Open(xl)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := tabular.NewReader(f, []tabular.Column{{Name: "name"}, {Name: "hit"}, {Name: "best_match"}}, tabular.Options{})
	if err != nil {
		t.Fatal(err)
	}
	row, err := rd.Read()
	if err != nil || row.Get("hit") != "yes" || row.Get("best_match") != "RYONG GUN BONG" {
		t.Errorf("xlsx first row: %+v %v", row.Values, err)
	}
}

// Every screening is recorded in the audit log of the store it names.
func TestScreeningIsAudited(t *testing.T) {
	storePath := filepath.Join(t.TempDir(), "s.db")
	if code, _, errs := tw(t, "screen", "--store", storePath, "--create", "--by", "analyst", "--imo", "8606173"); code != 0 {
		t.Fatalf("screen: %s", errs)
	}
	in := filepath.Join(t.TempDir(), "q.csv")
	os.WriteFile(in, []byte("id,type,name,imo,mmsi,call_sign,flag\n1,vessel,CHON MA SAN,,,,\n"), 0o644)
	if code, _, errs := tw(t, "screen", "--store", storePath, "--in", in, "--out", filepath.Join(t.TempDir(), "o.jsonl")); code != 0 {
		t.Fatalf("batch: %s", errs)
	}
	code, out, _ := tw(t, "audit", "show", "--store", storePath)
	if code != 0 || !strings.Contains(out, "screen    imo:8606173        analyst") || !strings.Contains(out, `"matches":["ofac-sdn:17104 1.000"]`) ||
		!strings.Contains(out, "batch:"+in) || !strings.Contains(out, "input_sha256") {
		t.Errorf("audit log:\n%s", out)
	}
	if code, out, _ := tw(t, "audit", "verify", "--store", storePath); code != 0 || !strings.Contains(out, "2 records") {
		t.Errorf("verify: %s", out)
	}
	// --no-audit leaves no record.
	tw(t, "screen", "--store", storePath, "--no-audit", "--imo", "8606173")
	if _, out, _ := tw(t, "audit", "verify", "--store", storePath); !strings.Contains(out, "2 records") {
		t.Errorf("--no-audit recorded: %s", out)
	}
}

// One unclosed quote in a portfolio costs its own row only: the rows after
// it, a listed vessel among them, are screened and the broken row is
// reported with its line (it used to swallow rows 10-20 silently).
func TestBatchUnclosedQuoteLosesOneRow(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,type,name,imo,mmsi,call_sign,flag\n")
	for i := 1; i <= 30; i++ {
		switch i {
		case 10:
			b.WriteString("10,vessel,\"KOTI,,,,\n")
		case 15:
			b.WriteString("15,vessel,KOTI,9417115,,,\n")
		default:
			fmt.Fprintf(&b, "%d,vessel,PLAIN SHIP %d,,,,\n", i, i)
		}
	}
	in := filepath.Join(dir, "portfolio.csv")
	os.WriteFile(in, []byte(b.String()), 0o644)
	out := filepath.Join(dir, "r.csv")
	code, _, errs := tw(t, "screen", "--embedded", "--no-audit", "--in", in, "--out", out)
	if code != 1 || !strings.Contains(errs, "30 queries") || !strings.Contains(errs, "1 errors") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	res, _ := os.ReadFile(out)
	rows := strings.Split(strings.TrimSpace(string(res)), "\n")
	if len(rows) != 31 {
		t.Fatalf("%d result rows, want 30 and the header", len(rows)-1)
	}
	if !strings.HasPrefix(rows[10], "11,,,,,,,,error") {
		t.Errorf("the broken row: %s", rows[10])
	}
	if !strings.Contains(rows[15], ",yes,KOTI,") {
		t.Errorf("the listed vessel after the broken row: %s", rows[15])
	}
}

// Text from outside (list records here) never reaches the terminal raw:
// a name carrying escape sequences is printed with them shown.
func TestTerminalEscapesShown(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "opensanctions_2026-01-01.jsonl")
	os.WriteFile(p, []byte(`{"id":"x1","schema":"Vessel","properties":{"name":["KOTI\u001b[2J\u001b]0;pwned\u0007 \u202eX"],"imoNumber":["9417115"],"topics":["sanction"]},"datasets":["os"],"target":true}`+"\n"), 0o644)
	for _, args := range [][]string{{"lists", "entities", p}, {"screen", "--lists", dir, "--no-audit", "--imo", "9417115"}} {
		code, out, errs := tw(t, args...)
		if code != 0 || strings.ContainsAny(out, "\x1b\x07\u202e") || !strings.Contains(out, `\x1b[2J`) {
			t.Errorf("%v: %d %q %s", args, code, out, errs)
		}
	}
}

// A command that screens saves the index it built beside the store before
// it exits, and the next one answers the same from it.
func TestScreenCLIIndexCache(t *testing.T) {
	storePath := filepath.Join(t.TempDir(), "s.db")
	code, first, errs := tw(t, "screen", "--store", storePath, "--create", "--no-audit", "CHON MA SAN")
	if code != 0 {
		t.Fatalf("screen: %s", errs)
	}
	saved, _ := filepath.Glob(filepath.Join(storePath+".index", "*.twix"))
	if len(saved) != 1 {
		t.Fatalf("index files beside the store after one command: %v", saved)
	}
	info, err := os.Stat(saved[0])
	if err != nil || info.Size() < 1<<20 {
		t.Fatalf("saved index: %v %v", info, err)
	}
	code, second, errs := tw(t, "screen", "--store", storePath, "--no-audit", "CHON MA SAN")
	if code != 0 || second != first {
		t.Errorf("from the cache: %d %s\n%s\nwant\n%s", code, errs, second, first)
	}
	if again, _ := filepath.Glob(filepath.Join(storePath+".index", "*.twix")); len(again) != 1 || again[0] != saved[0] {
		t.Errorf("after the second command: %v", again)
	}
}

// A listed ship's exact name with another valid IMO is no match, but the
// command line shows it as a near miss naming both IMO numbers, on one
// query (text and JSON) and in a batch (CSV and JSON lines); the score is
// unchanged (0.850 with --all). Before, the answer was "No match".
func TestScreenNearMissCLI(t *testing.T) {
	const msg = "name of listed vessel CHON MA SAN (ofac-sdn:23729), IMO differs: query 9811000, listed 8660313"
	code, out, errs := tw(t, "screen", "--embedded", "--no-audit", "--type", "vessel", "--imo", "9811000", "CHON MA SAN")
	if code != 0 || !strings.Contains(out, "No match at or above 0.86") || !strings.Contains(out, "NEAR MISS (not a match; review): "+msg) {
		t.Errorf("exit %d:\n%s%s", code, out, errs)
	}
	_, out, _ = tw(t, "screen", "--embedded", "--no-audit", "--all", "--type", "vessel", "--imo", "9811000", "CHON MA SAN")
	if !strings.Contains(out, "below threshold  0.850  ofac-sdn:23729") || !strings.Contains(out, "NEAR MISS") {
		t.Errorf("--all:\n%s", out)
	}
	_, out, _ = tw(t, "screen", "--embedded", "--no-audit", "--json", "--type", "vessel", "--imo", "9811000", "CHON MA SAN")
	var res struct {
		Results    []json.RawMessage
		NearMisses []struct{ Kind, Entity, QueryIMO, ListedIMO, Message string } `json:"near_misses"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Results) != 0 || len(res.NearMisses) != 1 || res.NearMisses[0].Message != msg || res.NearMisses[0].Kind != "imo_differs" {
		t.Errorf("json: %v %s", err, out)
	}
	// With the listed IMO: a match and no near miss.
	_, out, _ = tw(t, "screen", "--embedded", "--no-audit", "--type", "vessel", "--imo", "8660313", "CHON MA SAN")
	if strings.Contains(out, "NEAR MISS") || !strings.Contains(out, "MATCH") {
		t.Errorf("listed IMO:\n%s", out)
	}

	dir := t.TempDir()
	in := filepath.Join(dir, "fleet.csv")
	os.WriteFile(in, []byte("IMO,Name\n9811000,CHON MA SAN\n8660313,CHON MA SAN\n"), 0o644)
	csvOut := filepath.Join(dir, "r.csv")
	if code, _, errs := tw(t, "screen", "--embedded", "--no-audit", "--in", in, "--out", csvOut); code != 0 {
		t.Fatalf("batch: %s", errs)
	}
	b, _ := os.ReadFile(csvOut)
	rows := strings.Split(strings.TrimSpace(string(b)), "\r\n")
	if len(rows) != 3 || !strings.HasSuffix(rows[0], ",error,near_misses") || !strings.Contains(rows[1], ",no,") || !strings.HasSuffix(rows[1], `,"`+msg+`"`) ||
		!strings.Contains(rows[2], ",yes,") || !strings.HasSuffix(rows[2], ",") {
		t.Errorf("CSV:\n%s", b)
	}
	jl := filepath.Join(dir, "r.jsonl")
	tw(t, "screen", "--embedded", "--no-audit", "--in", in, "--out", jl)
	b, _ = os.ReadFile(jl)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"near_misses":[{"kind":"imo_differs"`) || !strings.Contains(lines[0], msg) || strings.Contains(lines[1], "near_misses") {
		t.Errorf("JSON lines:\n%s", b)
	}
}

// TestDefaultStoreMadeSaysSo: the first command that writes to the
// default store makes it and says where (a first 'screen' of README's
// "Try it" made ~/.local/share/tidewatch/tidewatch.db without a word);
// the next does not say it again.
func TestDefaultStoreMadeSaysSo(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TIDEWATCH_DATA", dir)
	code, _, errs := tw(t, "screen", "CHON MA SAN")
	if code != 0 || !strings.Contains(errs, "note: made the default store at "+filepath.Join(dir, "tidewatch.db")) {
		t.Errorf("first screen: exit %d:\n%s", code, errs)
	}
	code, _, errs = tw(t, "screen", "CHON MA SAN")
	if code != 0 || strings.Contains(errs, "made the default store") {
		t.Errorf("second screen: exit %d:\n%s", code, errs)
	}
}
