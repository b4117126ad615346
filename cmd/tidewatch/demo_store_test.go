package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoRefusesForeignDir: the demo replaces the store in its directory,
// so a non-empty directory it did not make (a real store) is refused and
// left as it was; a new, an empty or an earlier demo's directory is used.
func TestDemoRefusesForeignDir(t *testing.T) {
	real := t.TempDir()
	db := filepath.Join(real, "tidewatch.db")
	if err := os.WriteFile(db, []byte("a real store"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := tw(t, "demo", "--dir", real)
	if code == 0 || !strings.Contains(errs, "not made by the demo") {
		t.Fatalf("demo over a real store: exit %d, %q", code, errs)
	}
	if b, err := os.ReadFile(db); err != nil || string(b) != "a real store" {
		t.Fatalf("the real store was touched: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(real, demoMarker)); err == nil {
		t.Fatal("marker written into a refused directory")
	}

	// New, empty, and an earlier demo's directory (its store replaced).
	fresh := filepath.Join(t.TempDir(), "new")
	if err := prepareDemoDir(fresh); err != nil {
		t.Fatalf("new dir: %v", err)
	}
	if err := prepareDemoDir(t.TempDir()); err != nil {
		t.Fatalf("empty dir: %v", err)
	}
	// 'serve --demo' makes the seal key first: a directory holding only
	// it is new, and the key stays.
	keyOnly := t.TempDir()
	if err := os.WriteFile(filepath.Join(keyOnly, demoSealKey), []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := prepareDemoDir(keyOnly); err != nil {
		t.Fatalf("a directory with only the seal key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(keyOnly, demoSealKey)); err != nil {
		t.Fatal("the seal key was removed")
	}
	if err := os.WriteFile(filepath.Join(fresh, "tidewatch.db"), []byte("old demo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := prepareDemoDir(fresh); err != nil {
		t.Fatalf("earlier demo's dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(fresh, "tidewatch.db")); err == nil {
		t.Fatal("earlier demo's store not replaced")
	}
}
