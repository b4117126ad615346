package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/sanctions/snapshot"
)

func tw(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(&env{stdout: &out, stderr: &errb, stdin: strings.NewReader("")}, args)
	return code, out.String(), errb.String()
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := tw(t, "demo", "--dir", dir)
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"ofac-sdn@sha256-54e0823e",
		"RYONG GUN BONG",
		"IMO8606173",
		"[eu:XIII.B:KOREA-ACHIM-SHIPPING-CO ofac:23707 uk:DPR0144 un:KPe.061]",
		"445123000: MMSI, ship, MID 445 -> North Korea (KP)",
		"added 130, removed 4, changed 16",
		"distinct MMSIs  121 (119 with a valid position)",
		"21 ships that sent static data screened by IMO, name and call sign: 0 matches",
		"SIM YU SAN (MMSI 445000101) + SIM OCEAN STAR (MMSI 667000202)",
		"14.0 h dark",
		"at Nampo (North Korea), DPRK port: true",
		`Screening "M/V Cheon Ma San", flag Sierra Leone (type vessel)`,
		"flag SL differs from the listed flag KP: flag changes never lower a vessel's score",
		`"VALE CHINA" IMO9522972`,
		"recommendation: DECLINE",
		"designated as CHON MA SAN",
		"recommendation: ACCEPT (score 0",
		"chain intact: true",
		"cap ledger: 11 published notified deliveries",
		// The profile names list versions by their ids, as every
		// other output does (it printed "eu@2025-12-17", no id).
		"lists consulted: eu@sha256-e615d3ab (2025-12-17) ofac-cons@sha256-acfe53c5 (2025-12-19) ofac-sdn@sha256-54e0823e (2024-05-03) un@2026-02-27-66b392a4",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	// The command the demo prints beside a profile gives that profile
	// (it printed the as-of date alone, which means the day's end: a
	// tester got REFER 70 for the DECLINE 175 shown).
	m := regexp.MustCompile(`--as-of (\S+) --window 3d --report \S*report-imo-9300207\.html`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("demo output lacks the STS tanker's command")
	}
	code, vout, verrs := tw(t, "vessel", "9300207", "--store", filepath.Join(dir, "tidewatch.db"), "--as-of", m[1], "--window", "3d")
	if code != 0 || !strings.Contains(vout, "recommendation: DECLINE (score 175") {
		t.Errorf("the printed command (--as-of %s) gives, exit %d:\n%s%s", m[1], code, vout, verrs)
	}
	// The report of the STS tanker, in a real browser.
	checkReportInChromium(t, filepath.Join(dir, "report-imo-9300207.html"), "decline",
		[]string{"encounter_dprk", "ais_gap", "flag_change"})
	checkReportInChromium(t, filepath.Join(dir, "report-mmsi-412000000.html"), "accept", nil)
}

func TestListsShowEmbedded(t *testing.T) {
	code, out, _ := tw(t, "lists", "show", "--embedded")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	// The SDN row: 851 vessels, 6884 orgs, 6854 persons, 376 aircraft.
	if !regexp.MustCompile(`ofac-sdn\s+ofac-sdn@sha256-54e0823e\s+2024-05-03\s+54e0823efa5e\s+851\s+6884\s+6854\s+376\s+14965\s+0`).MatchString(out) {
		t.Errorf("SDN counts missing:\n%s", out)
	}
	// DPRK table: 105 vessels, all with IMO.
	if !regexp.MustCompile(`ofac-sdn\s+ofac-sdn@sha256-54e0823e\s+105\s+105\s+`).MatchString(out) {
		t.Errorf("DPRK vessel counts missing:\n%s", out)
	}
	code, out, _ = tw(t, "lists", "show", "--embedded", "--json")
	var doc struct {
		Versions []struct {
			ID     string         `json:"id"`
			SHA256 string         `json:"sha256"`
			Counts map[string]int `json:"counts"`
		} `json:"versions"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Versions) != 7 {
		t.Fatalf("json: exit %d, %d versions", code, len(doc.Versions))
	}
}

// The shared data folder sits beside the repository on developer machines
// and in CI; this checks the command the issue names on it.
func TestListsShowSharedData(t *testing.T) {
	const dir = "../../../shared/data/lists"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("shared/data/lists not beside the repository")
	}
	code, out, errs := tw(t, "lists", "show", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"un@2026-02-27-66b392a4", "un@2025-04-19-929a40ec", "ofac-sdn@sha256-d495b9a9", "uk@", "eu@sha256-e615d3ab"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s", want)
		}
	}
	if !regexp.MustCompile(`ofac-sdn\s+ofac-sdn@sha256-54e0823e\s+105\s+105\s+`).MatchString(out) {
		t.Errorf("DPRK vessel counts missing:\n%s", out)
	}
}

func TestListsImportVersionsDiffEntities(t *testing.T) {
	data := filepath.Join(t.TempDir(), "s.db")
	code, out, errs := tw(t, "lists", "import", "--embedded", "--store", data, "--create")
	if code != 0 {
		t.Fatalf("import exit %d: %s %s", code, out, errs)
	}
	if strings.Count(out, "stored") != 7 || strings.Count(out, "replaces") != 2 {
		t.Errorf("import output:\n%s", out)
	}
	code, out, _ = tw(t, "lists", "versions", "--store", data, "un")
	if code != 0 || !strings.Contains(out, "* un@2026-02-27-66b392a4") || !strings.Contains(out, "  un@2025-04-19-929a40ec") {
		t.Errorf("versions:\n%s", out)
	}
	code, out, errs = tw(t, "lists", "show", "--store", data)
	if code != 0 || strings.Contains(errs, "embedded snapshot") || !strings.Contains(out, "store "+data) {
		t.Errorf("show from store: %d %s %s", code, out, errs)
	}
	code, out, _ = tw(t, "lists", "diff", "--store", data, "--summary", "un@2025-04-19-929a40ec", "un@2026-02-27-66b392a4")
	if code != 0 || !strings.Contains(out, "added 130, removed 4, changed 16") {
		t.Errorf("diff: %d %s", code, out)
	}
	code, out, _ = tw(t, "lists", "entities", "--store", data, "--imo", "IMO 8606173")
	if code != 0 || !strings.Contains(out, "RYONG GUN BONG") || strings.Count(out, "\n") != 1 {
		t.Errorf("entities --imo: %s", out)
	}
	code, out, errs = tw(t, "lists", "entities", "--store", data, "--type", "vessel", "--programme", "DPRK", "--list", "ofac-sdn", "--unmerged")
	if code != 0 || strings.Count(out, "\n") != 105 || !strings.Contains(errs, "105 entities") {
		t.Errorf("DPRK SDN vessels: %d lines, %s", strings.Count(out, "\n"), errs)
	}
}

func TestListsUpdateAgainstLocalServer(t *testing.T) {
	var body []byte
	for _, f := range snapshot.Files() {
		if strings.HasSuffix(f.Name, "un_consolidated_2026-02-27.xml") {
			rc, _ := f.Open()
			body, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/consolidated.xml" {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	data := filepath.Join(t.TempDir(), "s.db")
	code, out, errs := tw(t, "lists", "update", "--store", data, "--create", "--only", "un", "--source", "un="+srv.URL+"/consolidated.xml")
	if code != 0 || !strings.Contains(out, "stored") || !strings.Contains(out, "un@2026-02-27-66b392a4") {
		t.Fatalf("update: %d %s %s", code, out, errs)
	}
	code, out, _ = tw(t, "lists", "update", "--store", data, "--only", "un", "--source", "un="+srv.URL+"/missing.xml")
	if code != 1 || !strings.Contains(out, "FAILED") || !strings.Contains(out, "404") {
		t.Errorf("failed update: %d %s", code, out)
	}
	_, out, _ = tw(t, "lists", "versions", "--store", data)
	if !strings.Contains(out, "* un@2026-02-27-66b392a4") || !strings.Contains(out, "failed") {
		t.Errorf("versions after failure:\n%s", out)
	}
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{}, 2, "Commands:"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"lists"}, 2, `give a command after "lists"`},
		{[]string{"lists", "nope"}, 2, "unknown lists command"},
		{[]string{"lists", "entities", "--embedded", "--type", "boat"}, 2, "--type"},
		{[]string{"lists", "diff", "one"}, 2, "two versions"},
		{[]string{"lists", "diff", "nope@x", "nope@y", "--store", "/nonexistent-tw"}, 1, "not in the store"},
		{[]string{"lists", "show", "/nonexistent-tw-path"}, 1, "no such file"},
		{[]string{"lists", "import"}, 2, "give files"},
		{[]string{"lists", "update", "--only", "mars"}, 2, "unknown list"},
		{[]string{"lists", "update", "--source", "bad"}, 2, "LIST=URL"},
		{[]string{"identify"}, 2, "give one or more"},
		{[]string{"lists", "show", "--bogus"}, 2, "unknown flag --bogus (see 'tidewatch lists show --help')"},
		{[]string{"vessel", "9417115", "--window", "1000y"}, 2, "longer than 100 years"},
		{[]string{"vessel", "9417116"}, 2, "fails its check digit"},
		// A query whose only identifier is unusable says which and why.
		{[]string{"screen", "--imo", "8606174"}, 2, "IMO 8606174 fails its check digit (expected 3 for a ship, 6 for a company"},
		{[]string{"screen", "--mmsi", "12345"}, 2, `MMSI "12345" is not nine digits, so the query has nothing left to screen`},
		{[]string{"audit", "prune", "--retention", "1s"}, 1, "shorter than the minimum"},
		{[]string{"decide", "9417115", "--decision", "accept", "--by", "x"}, 2, "--reason TEXT is required"},
		{[]string{"vessel", "9417115", "--store", "/nonexistent-tw/s.db"}, 1, "no store at /nonexistent-tw/s.db"},
		{[]string{"decide", "9417115", "--decision", "accept", "--by", "x", "--reason", "r", "--store", "/tmp/nonexistent-tw.db"}, 1, "add --create"},
		{[]string{"worker", "--nats", "nats://127.0.0.1:1", "--run-every", "-1m"}, 2, "--run-every -1m0s"},
		{[]string{"publish", "--nats", "nats://127.0.0.1:1", "--stream-max-bytes", "-5", "x.nmea"}, 2, "--stream-max-bytes -5"},
	}
	// An unknown flag is one line, not the whole usage.
	if _, _, errs := tw(t, "screen", "--bogus", "X"); strings.Count(errs, "\n") != 1 {
		t.Errorf("unknown flag prints %d lines: %s", strings.Count(errs, "\n"), errs)
	}
	for _, c := range cases {
		code, out, errs := tw(t, c.args...)
		if code != c.code || !strings.Contains(out+errs, c.want) {
			t.Errorf("%v: exit %d, output %q%q; want exit %d and %q", c.args, code, out, errs, c.code, c.want)
		}
	}
	if code, _, errs := tw(t, "lists", "show", "-h"); code != 0 || !strings.Contains(errs, "Usage: tidewatch lists show") {
		t.Errorf("help: %d %s", code, errs)
	}
}

func TestIdentify(t *testing.T) {
	code, out, _ := tw(t, "identify", "8606173", "IMO 5936312", "1790183", "8606174", "445123000", "002190049", "970123456", "HMYX", "Q1")
	if code != 0 {
		t.Fatal(code)
	}
	for _, want := range []string{
		"8606173: IMO ship number",
		"IMO 5936312: IMO company",
		"1790183: valid as both",
		"8606174: neither",
		"445123000: MMSI, ship, MID 445 -> North Korea",
		"002190049: MMSI, coast, MID 219 -> Denmark",
		"970123456: MMSI, ais_sart (no MID)",
		"HMYX: call sign in the ITU series of North Korea (KP) - a DPRK call sign",
		"Q1: not an IMO number",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("identify output lacks %q:\n%s", want, out)
		}
	}
}

// TestProfiledWritesCPUProfile checks TIDEWATCH_CPUPROFILE: the command's
// status comes back unchanged and a non-empty pprof file (gzip) is written.
func TestProfiledWritesCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.prof")
	t.Setenv("TIDEWATCH_CPUPROFILE", path)
	if got := profiled(func() int { return 3 }); got != 3 {
		t.Fatalf("status %d, want 3", got)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("profile is not a gzip pprof file: %d bytes", len(b))
	}
	// Unset, nothing is written and the status still comes back.
	t.Setenv("TIDEWATCH_CPUPROFILE", "")
	if got := profiled(func() int { return 0 }); got != 0 {
		t.Fatalf("status %d", got)
	}
}

// A store the process cannot write still answers the commands that only
// read, and a write says plainly why it cannot (it used to fail every
// command with "(14)"). Tests run as root, where permissions do not bind:
// a directory in the place of the store's shared-memory file makes the
// store unwritable the same way.
func TestReadOnlyStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	if code, _, errs := tw(t, "init", "--store", path); code != 0 {
		t.Fatal(errs)
	}
	if err := os.Mkdir(path+"-shm", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"store"}, {"lists", "versions"}, {"audit", "verify"}, {"events"}} {
		if code, out, errs := tw(t, append(args, "--store", path)...); code != 0 {
			t.Errorf("%v on a read-only store: %d %s %s", args, code, out, errs)
		}
	}
	code, _, errs := tw(t, "decide", "9417115", "--decision", "decline", "--reason", "x", "--by", "me", "--store", path)
	if code != 1 || !strings.Contains(errs, "the store is read-only") {
		t.Errorf("a write to a read-only store: %d %s", code, errs)
	}
}

// The monitoring story on the command line: a portfolio from an analyst's
// file; a list version that designates one of its vessels raises one
// alert; closing it needs a reason.
func TestPortfolioAndAlertsCLI(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "s.db")
	if code, _, errs := tw(t, "init", "--store", st); code != 0 {
		t.Fatal(errs)
	}
	if code, _, errs := tw(t, "portfolio", "create", "club", "--store", st); code != 0 {
		t.Fatal(errs)
	}
	pf := filepath.Join(dir, "fleet.csv")
	os.WriteFile(pf, []byte("Reference;IMO Number;Vessel Name\nP1;9100009;PLAIN SAILING\nP2;9300207;SIM OCEAN STAR\n"), 0o644)
	if code, out, errs := tw(t, "portfolio", "import", "club", pf, "--store", st); code != 0 || !strings.Contains(out, "2 vessels added") {
		t.Fatalf("import: %s %s", out, errs)
	}
	list := filepath.Join(dir, "opensanctions_2026-11-01.jsonl")
	os.WriteFile(list, []byte(`{"id":"x","schema":"Vessel","properties":{"name":["PLAIN SAILING"],"imoNumber":["9100009"],"topics":["sanction"]},"datasets":["os"],"target":true}`+"\n"), 0o644)
	code, out, errs := tw(t, "lists", "import", list, "--store", st)
	if code != 0 {
		t.Fatalf("lists import: %s %s", out, errs)
	}
	code, out, _ = tw(t, "alerts", "list", "--store", st)
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "list_hit_added") || !strings.Contains(out, "PLAIN SAILING (IMO 9100009)") {
		t.Fatalf("alerts: %s", out)
	}
	if code, _, errs := tw(t, "alerts", "close", "1", "--store", st); code != 2 || !strings.Contains(errs, "--reason") {
		t.Errorf("close without a reason: %d %s", code, errs)
	}
	if code, out, _ := tw(t, "alerts", "close", "1", "--reason", "known, declined already", "--store", st); code != 0 || !strings.Contains(out, "closed") {
		t.Errorf("close: %s", out)
	}
	if _, out, _ := tw(t, "portfolio", "fleet", "club", "--store", st); !strings.Contains(out, "new list hit") {
		t.Errorf("fleet: %s", out)
	}
}

// TestVersionHelp: 'version --help' is help, not the version; 'version'
// prints it; an argument is a usage error.
func TestVersionHelp(t *testing.T) {
	code, out, errs := tw(t, "version", "--help")
	if code != 0 || out != "" || !strings.Contains(errs, "Usage: tidewatch version") {
		t.Errorf("version --help: %d %q %q", code, out, errs)
	}
	if code, out, _ := tw(t, "version"); code != 0 || !strings.HasPrefix(out, "tidewatch ") {
		t.Errorf("version: %d %q", code, out)
	}
	if code, _, errs := tw(t, "version", "x"); code != 2 || !strings.Contains(errs, "no arguments") {
		t.Errorf("version x: %d %q", code, errs)
	}
}

// TestVesselOnANewStore: a profile on a store that holds no lists yet
// screens against the embedded snapshot, as screen does (it created the
// store and screened against nothing: KOTI came out INSUFFICIENT EVIDENCE).
func TestVesselOnANewStore(t *testing.T) {
	t.Setenv("TIDEWATCH_DATA", t.TempDir())
	code, out, errs := tw(t, "vessel", "9417115")
	if code != 0 || !strings.Contains(out, "recommendation: DECLINE") || !strings.Contains(errs, "from the embedded snapshot") {
		t.Errorf("exit %d:\n%s%s", code, out, errs)
	}
}

// TestPortfolioImportNotXLSX: a CSV named .xlsx is refused saying what it
// is, and adds nothing; the same file named .csv adds its vessel.
func TestPortfolioImportNotXLSX(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "s.db")
	if code, _, errs := tw(t, "portfolio", "create", "club", "--create", "--store", st); code != 0 {
		t.Fatal(errs)
	}
	book := []byte("id,imo\nP1,9417115\n")
	fake := filepath.Join(dir, "book.xlsx")
	os.WriteFile(fake, book, 0o644)
	if code, out, errs := tw(t, "portfolio", "import", "club", fake, "--store", st); code != 2 || !strings.Contains(errs, "not an XLSX file: it is text (CSV?)") {
		t.Fatalf("CSV named .xlsx: exit %d, %s %s", code, out, errs)
	}
	if _, out, _ := tw(t, "portfolio", "fleet", "club", "--store", st); strings.Contains(out, "9417115") {
		t.Fatalf("a refused file added vessels: %s", out)
	}
	csv := filepath.Join(dir, "book.csv")
	os.WriteFile(csv, book, 0o644)
	if code, out, errs := tw(t, "portfolio", "import", "club", csv, "--store", st); code != 0 || !strings.Contains(out, "1 vessel added, 0 updated, 0 rows refused") {
		t.Fatalf("as CSV: exit %d, %s %s", code, out, errs)
	}
	if _, out, _ := tw(t, "portfolio", "fleet", "club", "--store", st); !strings.Contains(out, "9417115") {
		t.Fatalf("the fleet does not show the vessel added: %s", out)
	}
}

// The command line reading list files (--lists DIR) and the service
// (a store seeded from the embedded snapshot, as the server is) name the
// same list content the same way, whatever the files are called: the
// embedded UK tables sit in uk_derived_2026-04-29/, those beside the
// repository in uk_derived/, and a download has its own name. Before, the
// date in a file or folder name went into the version id: uk@sha256-5ed3f2bf
// on the command line, uk@2026-04-29-5ed3f2bf from the server.
func TestVersionNamesSameInCLIAndService(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lists")
	dated := regexp.MustCompile(`_(19|20)\d\d-\d\d-\d\d`)
	for _, f := range snapshot.Files() {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(f.Name, "embedded:"), ".gz")
		// Two UN files, dated inside; OFAC's consolidated CSV keeps its
		// dated name, without which its XML, dated inside, would be the
		// newer version.
		if !strings.Contains(name, "un_consolidated") && !strings.Contains(name, "cons_") {
			name = dated.ReplaceAllString(name, "")
		}
		p := filepath.Join(dir, filepath.Base(filepath.Dir(name)), filepath.Base(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(args ...string) map[string]string {
		t.Helper()
		code, out, errs := tw(t, append([]string{"screen", "--json", "--no-audit", "--type", "vessel", "CHON MA SAN"}, args...)...)
		if code != 0 {
			t.Fatalf("screen %v: exit %d: %s", args, code, errs)
		}
		var res struct {
			Lists []struct{ ID, List string }
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, l := range res.Lists {
			m[l.List] = l.ID
		}
		return m
	}
	cli := ids("--lists", dir)
	service := ids("--store", filepath.Join(t.TempDir(), "s.db"), "--create")
	imported := filepath.Join(t.TempDir(), "i.db")
	if code, _, errs := tw(t, "lists", "import", "--store", imported, "--create", dir); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	fromImport := ids("--store", imported)
	if len(cli) != 5 || cli["uk"] != "uk@sha256-5ed3f2bf" {
		t.Errorf("command line: %v", cli)
	}
	for list, id := range cli {
		if service[list] != id || fromImport[list] != id {
			t.Errorf("%s: %s on the command line, %s from the service on the embedded snapshot, %s from the service on the same files", list, id, service[list], fromImport[list])
		}
	}
}
