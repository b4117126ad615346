package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/sim"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// buildBinary compiles tidewatch for tests that need a real process.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tidewatch")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func writeScenario(t *testing.T, sc sim.Scenario) string {
	t.Helper()
	var buf bytes.Buffer
	if err := sim.Run(sc, &buf, nil); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "scenario.nmea")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func dumpStore(t *testing.T, path string) string {
	t.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	err = db.Dump(context.Background(), func(table string, row []any) error {
		fmt.Fprintln(&b, table, row)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestIngestKilledAndRerun kills a real ingest process with SIGKILL in
// the middle of a file, reruns it, and compares the store with one clean
// run: the same rows, nothing lost, nothing twice.
func TestIngestKilledAndRerun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and ingests a simulated day three times")
	}
	bin := buildBinary(t)
	sc := sim.DefaultScenario
	sc.Background = 400
	input := writeScenario(t, sc)
	dir := t.TempDir()
	ingestArgs := func(storePath string) []string {
		return []string{"ingest", "--store", storePath, "--create", "--embedded-lists", "--batch", "5000", input}
	}
	clean := filepath.Join(dir, "clean.db")
	if out, err := exec.Command(bin, ingestArgs(clean)...).CombinedOutput(); err != nil {
		t.Fatalf("clean ingest: %v\n%s", err, out)
	}
	want := dumpStore(t, clean)

	killed := filepath.Join(dir, "killed.db")
	cmd := exec.Command(bin, ingestArgs(killed)...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until some batches are committed, then kill -9.
	deadline := time.Now().Add(60 * time.Second)
	batches := int64(0)
	for time.Now().Before(deadline) && batches < 3 {
		time.Sleep(5 * time.Millisecond)
		batches = committedBatches(killed)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if batches < 3 {
		t.Fatalf("no batch committed before the deadline: %s", errb.String())
	}
	afterKill := committedBatches(killed)
	out, err := exec.Command(bin, ingestArgs(killed)...).CombinedOutput()
	if err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	if afterKill == 0 || !strings.Contains(string(out), "resumed run") {
		t.Errorf("the rerun did not resume (killed after %d batches): %s", afterKill, out)
	}
	t.Logf("killed after %d committed batches; rerun: %s", afterKill, strings.TrimSpace(string(out)))
	if got := dumpStore(t, killed); got != want {
		t.Errorf("the store after kill -9 and rerun differs from a clean run's (%d vs %d bytes of dump)", len(got), len(want))
	}
	// A third run has nothing to do.
	out, err = exec.Command(bin, ingestArgs(killed)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "already ingested") {
		t.Errorf("third run: %v %s", err, out)
	}
}

// committedBatches reads the run's progress from another process's store.
func committedBatches(path string) int64 {
	if _, err := os.Stat(path); err != nil {
		return 0
	}
	db, err := sqlite.Open(path)
	if err != nil {
		return 0
	}
	defer db.Close()
	runs, _ := db.Runs(context.Background())
	var n int64
	for _, r := range runs {
		n = max(n, r.Batches)
	}
	return n
}

// TestVesselAuditCLI runs the underwriter's commands on a store: the
// profile is the same bytes twice, a decision shows in the report, and a
// tampered audit record fails 'audit verify'.
func TestVesselAuditCLI(t *testing.T) {
	dir := t.TempDir()
	storePath := filepath.Join(dir, "s.db")
	sc := demoScenario()
	sc.Background = 5
	input := writeScenario(t, sc)
	if code, _, errs := tw(t, "ingest", "--store", storePath, "--create", "--embedded-lists", input); code != 0 {
		t.Fatalf("ingest: %s", errs)
	}
	args := []string{"vessel", "9300207", "--store", storePath, "--as-of", "2026-03-03", "--json"}
	code, a, errs := tw(t, args...)
	if code != 0 {
		t.Fatalf("vessel: %s", errs)
	}
	_, b, _ := tw(t, args...)
	if a != b {
		t.Error("the same profile request gave different bytes")
	}
	var p struct {
		Recommendation string
		Factors        []struct{ ID string }
	}
	if err := json.Unmarshal([]byte(a), &p); err != nil || p.Recommendation != "decline" {
		t.Errorf("profile: %v %s", err, a)
	}
	// As of before the transfer, nothing was known yet: not an accept.
	_, early, _ := tw(t, "vessel", "9300207", "--store", storePath, "--as-of", "2026-02-28T12:00:00Z", "--json")
	if !strings.Contains(early, `"recommendation":"insufficient_evidence"`) || !strings.Contains(early, "unknown vessel") {
		t.Errorf("as of before the scenario: %s", early)
	}
	// A report that cannot be written leaves no audit record behind.
	_, before, _ := tw(t, "audit", "show", "--store", storePath)
	if code, _, errs := tw(t, "vessel", "9300207", "--store", storePath, "--report", filepath.Join(dir, "missing", "r.html")); code != 1 || !strings.Contains(errs, "missing") {
		t.Errorf("report into a missing directory: %d %s", code, errs)
	}
	if _, after, _ := tw(t, "audit", "show", "--store", storePath); after != before {
		t.Errorf("a failed report was audited:\n%s", strings.TrimPrefix(after, before))
	}
	if code, out, errs := tw(t, "decide", "9300207", "--store", storePath, "--as-of", "2026-03-03", "--decision", "decline", "--by", "J. Underwriter", "--reason", "STS with CHON MA SAN"); code != 0 || !strings.Contains(out, "decision 1 recorded") {
		t.Fatalf("decide: %s %s", out, errs)
	}
	rep := filepath.Join(dir, "r.html")
	if code, _, errs := tw(t, "vessel", "9300207", "--store", storePath, "--as-of", "2026-03-03", "--report", rep); code != 0 {
		t.Fatalf("report: %s", errs)
	}
	html, _ := os.ReadFile(rep)
	if !strings.Contains(string(html), "J. Underwriter") || !strings.Contains(string(html), "STS with CHON MA SAN") {
		t.Error("the decision is not in the report")
	}
	// Bad requests.
	for _, bad := range [][]string{{"vessel", "9300208", "--store", storePath}, {"vessel", "12345", "--store", storePath},
		{"vessel", "9300207", "--store", storePath, "--window", "soon"}, {"decide", "9300207", "--store", storePath, "--decision", "maybe", "--by", "x"},
		{"decide", "9300207", "--store", storePath, "--decision", "accept"}} {
		if code, _, _ := tw(t, bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
	// Before any stored list version was published, nothing can be
	// screened, and both the CLI and the report say so.
	earlyReport := filepath.Join(dir, "early.html")
	if code, _, errs := tw(t, "vessel", "9300207", "--store", storePath, "--as-of", "2020-01-01", "--report", earlyReport); code != 0 || !strings.Contains(errs, "nothing was screened") {
		t.Errorf("as of 2020: exit %d, %s", code, errs)
	}
	if b, _ := os.ReadFile(earlyReport); !strings.Contains(string(b), "Not screened") {
		t.Error("the report does not say the vessel was not screened")
	}
	if code, out, _ := tw(t, "store", "--store", storePath); code != 0 || !strings.Contains(out, "finished") || !strings.Contains(out, "un@2026-02-27-66b392a4") {
		t.Errorf("store status: %s", out)
	}
	if code, out, _ := tw(t, "audit", "verify", "--store", storePath); code != 0 || !strings.Contains(out, "chain intact") {
		t.Fatalf("verify: %s", out)
	}
	db, err := sqlite.Open(storePath)
	if err != nil {
		t.Fatal(err)
	}
	err = db.TamperAudit("local", func(rs []store.AuditRecord, _ *store.AuditAnchor) []store.AuditRecord {
		for i, r := range rs {
			if r.Action == "decision" {
				rs[i].Data = bytes.ReplaceAll(r.Data, []byte("decline"), []byte("accept"))
			}
		}
		return rs
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if code, out, _ := tw(t, "audit", "verify", "--store", storePath); code != 1 || !strings.Contains(out, "altered") {
		t.Errorf("tampered log: exit %d %s", code, out)
	}
}

// A .gz cut short is an error, and its run is not marked finished (it
// used to be): a rerun with the whole file completes it.
func TestIngestTruncatedGzip(t *testing.T) {
	src := "../../../shared/data/ais/dma_aisabnormal_2013-11-12_ais-sample.nmea.gz"
	b, err := os.ReadFile(src)
	if err != nil {
		t.Skip("shared/data/ais not beside the repository")
	}
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.nmea.gz")
	os.WriteFile(cut, b[:len(b)/2], 0o644)
	storePath := filepath.Join(dir, "s.db")
	code, _, errs := tw(t, "ingest", "--store", storePath, "--create", cut)
	if code != 1 || !strings.Contains(errs, "truncated") || strings.Contains(errs, cut+": "+cut) {
		t.Errorf("truncated input: %d %s", code, errs)
	}
	_, out, _ := tw(t, "store", "--store", storePath)
	if !strings.Contains(out, "INCOMPLETE") || strings.Contains(out, "finished") {
		t.Errorf("the run of a truncated input: %s", out)
	}
}

// TestIngestShortFileSaysHeld: a file shorter than the 2-hour reorder
// window is read whole and held in the detectors' window at the run's
// checkpoint. ingest says how many fixes it read, stored and holds, and
// how to store them (it said "0 position fixes ... 0 events", and a
// rerun "already ingested ... nothing to do"); 'store' shows them;
// ingest --flush stores them.
func TestIngestShortFileSaysHeld(t *testing.T) {
	sc := sim.DefaultScenario
	sc.Duration, sc.Background = time.Hour, 2
	input := writeScenario(t, sc)
	st := filepath.Join(t.TempDir(), "tw.db")
	code, _, errs := tw(t, "ingest", "--store", st, "--create", "--embedded-lists", input)
	if code != 0 {
		t.Fatalf("ingest exit %d: %s", code, errs)
	}
	var read int64
	for _, l := range strings.Split(errs, "\n") {
		if i := strings.Index(l, "): "); strings.HasPrefix(l, "ingested into ") && i > 0 {
			fmt.Sscanf(l[i+3:], "%d position fixes read", &read)
		}
	}
	held := fmt.Sprintf("%d position fixes are held in the detectors' reorder window (the last 2h of the data) waiting for later data", read)
	if read == 0 || !strings.Contains(errs, "; 0 stored, 0 points kept") || !strings.Contains(errs, held) ||
		!strings.Contains(errs, "'tidewatch ingest --flush --store "+st+"'") {
		t.Errorf("ingest of a short file (%d read):\n%s", read, errs)
	}
	code, _, errs = tw(t, "ingest", "--store", st, input)
	if code != 0 || !strings.Contains(errs, "already ingested (run ") ||
		!strings.Contains(errs, fmt.Sprintf("%d fixes read, 0 stored", read)) || !strings.Contains(errs, fmt.Sprintf("%d position fixes were held", read)) {
		t.Errorf("rerun: exit %d:\n%s", code, errs)
	}
	code, out, errs := tw(t, "store", "--store", st)
	if code != 0 || !strings.Contains(out+errs, fmt.Sprintf("%d held in the detectors' window", read)) {
		t.Errorf("store: exit %d:\n%s%s", code, out, errs)
	}
	code, _, errs = tw(t, "ingest", "--store", st, "--flush")
	if code != 0 || !strings.Contains(errs, " position fixes stored from the reorder window") {
		t.Errorf("flush: exit %d:\n%s", code, errs)
	}
}

// TestIngestNotAISFails: ingest of a file that holds no AIS message (an
// empty file, text, a header-only CSV, a CSV of other columns) exits 1
// naming the file, as 'ais stats' calls it NOT AIS and the API fails the
// upload, and so does a rerun of it; so does NMEA whose positions all
// lack a time. A file of static data only is no failure.
func TestIngestNotAISFails(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "s.db")
	files := map[string]string{
		"empty.nmea": "", "junk.nmea": "hello\nworld\n", "header.csv": "a,b,c\n", "other.csv": "x,y\n1,2\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		for try := range 2 {
			code, _, errs := tw(t, "ingest", "--store", st, "--create", p)
			if code != 1 || !strings.Contains(errs, p+": no AIS message found") || !strings.Contains(errs, "1 of 1 inputs held no AIS message") {
				t.Errorf("%s (run %d): exit %d:\n%s", name, try+1, code, errs)
			}
		}
	}
	untimed := filepath.Join(dir, "notime.nmea")
	os.WriteFile(untimed, []byte(strings.Repeat("!AIVDM,1,1,,A,15MgK45P3@G?fl0E`JbR0OwT0@MS,0*4E\n", 4)), 0o644)
	for try := range 2 {
		if code, _, errs := tw(t, "ingest", "--store", st, untimed); code != 1 || !strings.Contains(errs, "4 positions without a time skipped") {
			t.Errorf("no times (run %d): exit %d:\n%s", try+1, code, errs)
		}
	}
	static := filepath.Join(dir, "static.nmea")
	os.WriteFile(static, []byte(`\g:1-2-3985,s:rEV02,c:1334337317*2D\!AIVDM,2,1,9,B,58KvN<42ACikUKW77F1H4hF0<PTp622222222216`+"`0`"+`cF5BF0RT13H0T,0*70`+"\n"+`\g:2-2-3985*5A\!AIVDM,2,2,9,B,PFRC88888888880,2*29`+"\n"), 0o644)
	if code, _, errs := tw(t, "ingest", "--store", st, static); code != 0 || !strings.Contains(errs, "only other messages") {
		t.Errorf("static data only: exit %d:\n%s", code, errs)
	}
}

// TestIngestSaysStateHeld: an ingest that finds the detectors' state held
// by another process (a server's live feed) reads its input on its own,
// and says so and why (it said nothing: the events then did not continue
// the stream, with no word of it).
func TestIngestSaysStateHeld(t *testing.T) {
	sc := sim.DefaultScenario
	sc.Duration, sc.Background = time.Hour, 2
	input := writeScenario(t, sc)
	path := filepath.Join(t.TempDir(), "tw.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	unlock, err := db.LockIngest(context.Background(), "detector-state")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	code, _, errs := tw(t, "ingest", "--store", path, "--embedded-lists", input)
	if code != 0 || !strings.Contains(errs, "note: the detectors' state is held by") || !strings.Contains(errs, "reading on its own") {
		t.Errorf("ingest beside a holder of the state: exit %d:\n%s", code, errs)
	}
}
