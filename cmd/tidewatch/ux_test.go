package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Small command-line messages, each once wrong (a review's findings).
func TestCLIMessages(t *testing.T) {
	// A help text stating its default gets no second one.
	_, out, errs := tw(t, "ais", "decode", "--help")
	help := out + errs
	if strings.Count(help, "(default 2m") != 1 {
		t.Errorf("--idle-timeout default printed %d times:\n%s", strings.Count(help, "(default 2m"), help)
	}

	// --limit out of range says the range, before any store is opened.
	if code, _, errs := tw(t, "events", "--limit", "-1"); code != 2 || !strings.Contains(errs, "--limit -1: give a number of events from 1 to 10000") {
		t.Errorf("events --limit -1: %d %q", code, errs)
	}

	// lists show on an empty folder, or a folder of non-list files.
	empty := t.TempDir()
	if code, _, errs := tw(t, "lists", "show", empty); code != 1 || !strings.Contains(errs, "no list files in "+empty) {
		t.Errorf("lists show on an empty folder: %d %q", code, errs)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "readme.txt"), []byte("hello"), 0o644)
	if code, _, errs := tw(t, "lists", "show", other); code != 1 || !strings.Contains(errs, "1 file(s) skipped, none is a list file") {
		t.Errorf("lists show on a folder of other files: %d %q", code, errs)
	}

	// An error that names its subcommand is not prefixed with it again.
	g := group{name: "lists", commands: []command{{name: "diff", run: func(*env, []string) error { return errors.New("diff: versions of different lists (un, eu)") }}}}
	if err := g.run(&env{stdout: &strings.Builder{}, stderr: &strings.Builder{}}, []string{"diff"}); err == nil || strings.Contains(err.Error(), "diff: diff:") {
		t.Errorf("group error: %v", err)
	}

	// AIS inputs that are directories are refused up front, saying so.
	for _, args := range [][]string{{"ais", "decode", empty}, {"ais", "stats", empty}, {"detect", empty}} {
		if code, _, errs := tw(t, args...); code != 2 || !strings.Contains(errs, empty+" is a directory: give AIS files") {
			t.Errorf("%v: %d %q", args, code, errs)
		}
	}

	// screen --out with an extension it does not write: refused, nothing
	// written (it wrote CSV under the name x.pdf).
	in := filepath.Join(empty, "p.csv")
	os.WriteFile(in, []byte("name,imo\nCHON MA SAN,8660313\n"), 0o644)
	pdf := filepath.Join(empty, "x.pdf")
	if code, _, errs := tw(t, "screen", "--embedded", "--in", in, "--out", pdf); code != 2 || !strings.Contains(errs, "does not write .pdf files") {
		t.Errorf("screen --out x.pdf: %d %q", code, errs)
	}
	if _, err := os.Stat(pdf); err == nil {
		t.Error("x.pdf written")
	}

	// A very long argument is not echoed in full.
	if code, _, errs := tw(t, "alerts", "ack", strings.Repeat("x", 5000)); code != 2 || len(errs) > 300 {
		t.Errorf("alerts ack LONG: %d, %d bytes of error", code, len(errs))
	}
}

// TestAISStatsLegend: the by-type line explains its numbers, and marks
// raw types only when there are some.
func TestAISStatsLegend(t *testing.T) {
	f := filepath.Join(t.TempDir(), "t.nmea")
	// Two position reports (type 1).
	os.WriteFile(f, []byte("!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23\n!AIVDM,1,1,,A,133sVfPP00PD>hRMDH@jNOvN20S8,0*7F\n"), 0o644)
	code, out, errs := tw(t, "ais", "stats", f)
	if code != 0 {
		t.Fatalf("%d %s", code, errs)
	}
	if !strings.Contains(out, "(message type:count)") || strings.Contains(out, "kept raw") {
		t.Errorf("legend without raw types:\n%s", out)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		if !strings.HasPrefix(l, "  ") || len(l) < 19 || l[17] != ' ' || l[18] == ' ' {
			t.Errorf("label column not aligned: %q", l)
		}
	}
}
