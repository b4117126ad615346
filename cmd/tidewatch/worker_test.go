package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/sim"
)

// TestWorkerCLI: a simulated set published to an embedded NATS server
// (`publish --flush`), then ingested by `worker` running two partitions
// in one process until the flush mark, stores the events `detect` writes
// for the same file with the same lists, sorted, byte for byte.
func TestWorkerCLI(t *testing.T) {
	sc := sim.DefaultScenario
	sc.Background, sc.Duration = 30, 30*time.Hour
	file := writeScenario(t, sc)
	dir := t.TempDir()
	listen := ""
	for p := 18330; p < 18400 && listen == ""; p++ {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			l.Close()
			listen = l.Addr().String()
		}
	}
	nats := []string{"--nats", "embedded", "--nats-dir", filepath.Join(dir, "js"), "--nats-listen", listen}
	code, out, errs := tw(t, append(append([]string{"publish"}, nats...), "--block-bytes", "16384", "--flush", file)...)
	if code != 0 || !strings.Contains(out, "published the flush mark") {
		t.Fatalf("publish exit %d: %s %s", code, out, errs)
	}
	st := filepath.Join(dir, "tw.db")
	code, _, errs = tw(t, append(append([]string{"worker"}, nats...), "--store", st, "--create", "--partitions", "2",
		"--run-bytes", "262144", "--idle", "200ms", "--until-flush")...)
	if code != 0 || strings.Count(errs, "(flushed)") != 2 {
		t.Fatalf("worker exit %d: %s", code, errs)
	}
	evFile := filepath.Join(dir, "detect.jsonl")
	if code, _, errs := tw(t, "detect", "--lateness", "2h", "--sanctions", "--embedded", "--out", evFile, file); code != 0 {
		t.Fatalf("detect exit %d: %s", code, errs)
	}
	code, got, errs := tw(t, "events", "--store", st, "--json", "--limit", "10000")
	if code != 0 {
		t.Fatalf("events exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(evFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := func(s string) []string {
		l := strings.Split(strings.TrimSpace(s), "\n")
		sort.Strings(l)
		return l
	}
	g, w := lines(got), lines(string(b))
	if len(w) < 10 || strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("the workers stored %d events, detect wrote %d; they differ", len(g), len(w))
	}
}

// TestWorkerSplitCLI: the same set read by the split: `worker --stage
// sequencer --partitions 2` to the flush mark, then `worker --stage
// vessels --partitions 2` (both partitions in one process) to it: the
// store holds detect's events, sorted, byte for byte.
func TestWorkerSplitCLI(t *testing.T) {
	sc := sim.DefaultScenario
	sc.Background, sc.Duration = 30, 30*time.Hour
	file := writeScenario(t, sc)
	dir := t.TempDir()
	listen := ""
	for p := 18330; p < 18400 && listen == ""; p++ {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			l.Close()
			listen = l.Addr().String()
		}
	}
	nats := []string{"--nats", "embedded", "--nats-dir", filepath.Join(dir, "js"), "--nats-listen", listen}
	code, out, errs := tw(t, append(append([]string{"publish"}, nats...), "--block-bytes", "16384", "--flush", file)...)
	if code != 0 || !strings.Contains(out, "published the flush mark") {
		t.Fatalf("publish exit %d: %s %s", code, out, errs)
	}
	st := filepath.Join(dir, "tw.db")
	common := []string{"--store", st, "--create", "--partitions", "2", "--run-bytes", "262144", "--idle", "200ms", "--until-flush"}
	code, _, errs = tw(t, append(append(append([]string{"worker"}, nats...), common...), "--stage", "sequencer", "--partition", "1")...)
	if code != 2 || !strings.Contains(errs, "not --partition") {
		t.Errorf("a sequencer given --partition: exit %d: %s", code, errs)
	}
	code, _, errs = tw(t, append(append(append([]string{"worker"}, nats...), common...), "--stage", "sequencer")...)
	if code != 0 || strings.Count(errs, "(flushed)") != 1 || !strings.Contains(errs, "the sequencer for 2 vessel partitions") {
		t.Fatalf("sequencer exit %d: %s", code, errs)
	}
	code, _, errs = tw(t, append(append(append([]string{"worker"}, nats...), common...), "--stage", "vessels")...)
	if code != 0 || strings.Count(errs, "(flushed)") != 2 || !strings.Contains(errs, "vessel partitions [0 1] of 2") {
		t.Fatalf("vessel workers exit %d: %s", code, errs)
	}
	evFile := filepath.Join(dir, "detect.jsonl")
	if code, _, errs := tw(t, "detect", "--lateness", "2h", "--sanctions", "--embedded", "--out", evFile, file); code != 0 {
		t.Fatalf("detect exit %d: %s", code, errs)
	}
	code, got, errs := tw(t, "events", "--store", st, "--json", "--limit", "10000")
	if code != 0 {
		t.Fatalf("events exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(evFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := func(s string) []string {
		l := strings.Split(strings.TrimSpace(s), "\n")
		sort.Strings(l)
		return l
	}
	g, w := lines(got), lines(string(b))
	if len(w) < 10 || strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("the split stored %d events, detect wrote %d; they differ", len(g), len(w))
	}
	t.Logf("%d events", len(g))
}

// TestWorkerStagesCLI: a set of meetings at sea and shared IMOs read by
// the split with every stage: `worker --stage sequencer --partitions 2
// --area-partitions 2 --pair-partitions 2 --imo-partitions 2
// --reception-partitions 2` to the flush mark, then each stage's workers
// (`--stage vessels`, `area`, `pairs`, `imo`, `reception`, all their
// partitions in one process) to it: the store holds detect's events,
// sorted, byte for byte. Wrong combinations of the split's flags are
// usage errors.
func TestWorkerStagesCLI(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "meetings.nmea")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.WriteNMEA(f, append(sim.Meetings(30, 1), sim.IMOSharing(30, 3)...)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	listen := ""
	for p := 18330; p < 18400 && listen == ""; p++ {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			l.Close()
			listen = l.Addr().String()
		}
	}
	nats := []string{"--nats", "embedded", "--nats-dir", filepath.Join(dir, "js"), "--nats-listen", listen}
	st := filepath.Join(dir, "tw.db")
	worker := func(args ...string) (int, string) {
		common := []string{"--store", st, "--create", "--partitions", "2", "--run-bytes", "262144", "--idle", "200ms", "--until-flush"}
		code, _, errs := tw(t, append(append(append([]string{"worker"}, nats...), common...), args...)...)
		return code, errs
	}
	split := []string{"--area-partitions", "2", "--pair-partitions", "2", "--imo-partitions", "2", "--reception-partitions", "2"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--stage", "pairs"}, "--stage pairs: give the split's --area-partitions and --pair-partitions"},
		{[]string{"--stage", "sequencer", "--area-partitions", "2"}, "area and pair partitions go together"},
		{[]string{"--stage", "sequencer", "--area-partitions", "2", "--pair-partitions", "1", "--imo-partitions", "65"}, "at most 64"},
		{[]string{"--stage", "sequencer", "--reception-partitions", "2"}, "need area and pair partitions"},
		{[]string{"--imo-partitions", "2"}, "give them with --stage sequencer"},
		{append([]string{"--stage", "area", "--partition", "2"}, split...), "--partition must be -1 or 0..1"},
	} {
		if code, errs := worker(c.args...); code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("worker %v: exit %d, want 2 saying %q: %s", c.args, code, c.want, errs)
		}
	}
	code, out, errs := tw(t, append(append([]string{"publish"}, nats...), "--block-bytes", "16384", "--flush", file)...)
	if code != 0 || !strings.Contains(out, "published the flush mark") {
		t.Fatalf("publish exit %d: %s %s", code, out, errs)
	}
	code, errs = worker(append([]string{"--stage", "sequencer"}, split...)...)
	if code != 0 || strings.Count(errs, "(flushed)") != 1 || !strings.Contains(errs, "the sequencer for 2 vessel partitions and 2 area, 2 pair, 2 IMO, 2 reception partitions") {
		t.Fatalf("sequencer exit %d: %s", code, errs)
	}
	// The pair workers read the area workers' contacts: area first.
	for _, stage := range []string{"vessels", "area", "pairs", "imo", "reception"} {
		code, errs = worker(append([]string{"--stage", stage}, split...)...)
		if code != 0 || strings.Count(errs, "(flushed)") != 2 {
			t.Fatalf("--stage %s: exit %d: %s", stage, code, errs)
		}
	}
	evFile := filepath.Join(dir, "detect.jsonl")
	if code, _, errs := tw(t, "detect", "--lateness", "2h", "--sanctions", "--embedded", "--out", evFile, file); code != 0 {
		t.Fatalf("detect exit %d: %s", code, errs)
	}
	code, got, errs := tw(t, "events", "--store", st, "--json", "--limit", "10000")
	if code != 0 {
		t.Fatalf("events exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(evFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := func(s string) []string {
		l := strings.Split(strings.TrimSpace(s), "\n")
		sort.Strings(l)
		return l
	}
	g, w := lines(got), lines(string(b))
	enc := strings.Count(string(b), `"kind":"encounter"`)
	if len(w) < 10 || enc < 10 || strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("the split stored %d events, detect wrote %d (%d encounters); they differ", len(g), len(w), enc)
	}
	t.Logf("%d events, %d of them encounters", len(g), enc)
}
