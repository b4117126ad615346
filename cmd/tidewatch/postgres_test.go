package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/store/postgres/pgtest"
)

// --store postgres://... opens the PostgreSQL store: init makes one in a
// database (once), a command that writes refuses a database without one
// unless --create, and the same ingest answers the same as into a file.
func TestPostgresStoreCLI(t *testing.T) {
	url := pgtest.URL(t)
	dir := t.TempDir()
	day := filepath.Join(dir, "day.nmea")
	if code, _, errs := tw(t, "simulate", "--ships", "20", "--hours", "30", "--out", day); code != 0 {
		t.Fatal(errs)
	}
	if code, _, errs := tw(t, "ingest", "--store", url, day); code == 0 || !strings.Contains(errs, "--create") {
		t.Fatalf("ingest into a database without a store: %d %s", code, errs)
	}
	if code, out, errs := tw(t, "init", "--store", url); code != 0 || !strings.Contains(out, "list versions") {
		t.Fatalf("init: %d %s %s", code, out, errs)
	}
	if code, _, errs := tw(t, "init", "--store", url); code == 0 || !strings.Contains(errs, "holds a store already") {
		t.Errorf("init twice: %d %s", code, errs)
	}
	file := filepath.Join(dir, "s.db")
	for _, st := range []string{url, file} {
		if code, out, errs := tw(t, "ingest", "--store", st, "--create", day); code != 0 {
			t.Fatalf("ingest into %s: %s %s", st, out, errs)
		}
	}
	for _, args := range [][]string{{"events", "--json"}, {"events", "--area", "30,120,45,135"}, {"vessel", "445000101", "--json", "--as-of", "2026-03-02"}, {"audit", "verify"}} {
		_, fromFile, errs := tw(t, append(args, "--store", file)...)
		code, fromPG, errs2 := tw(t, append(args, "--store", url)...)
		if code != 0 {
			t.Fatalf("%v on PostgreSQL: %s", args, errs2)
		}
		if args[0] == "audit" {
			// Each store has its own log (records made at other times):
			// both intact, as long.
			fromFile, fromPG = hexHash.ReplaceAllString(fromFile, "H"), hexHash.ReplaceAllString(fromPG, "H")
		}
		if fromPG != fromFile || len(fromPG) < 50 {
			t.Errorf("%v: PostgreSQL answers\n%.600s\nSQLite answers\n%.600s\n(%s)", args, fromPG, fromFile, errs)
		}
	}
	if code, out, errs := tw(t, "store", "--store", url); code != 0 || !strings.Contains(out, "positions:") {
		t.Errorf("store: %d %s %s", code, out, errs)
	}
	if code, _, errs := tw(t, "serve", "--store", url, "--addr", "127.0.0.1:0"); code != 2 || !strings.Contains(errs, "--seal-key-file") {
		t.Errorf("serve on PostgreSQL without a shared seal key: %d %s", code, errs)
	}
}

var hexHash = regexp.MustCompile(`[0-9a-f]{64}`)
