package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/store/sqlite"
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

// TestDemoStoreReplacedWhole (C1): a demo rerun replaces all of the
// store's files, its audit log (which grew across runs: 12 records, 24,
// 36), index cache and locks included, keeping the seal key; and refuses
// to replace a store another process has open (a 'serve --demo' running
// on it), leaving it as it was.
func TestDemoStoreReplacedWhole(t *testing.T) {
	if os.Getenv("TIDEWATCH_TEST_HOLD_STORE") != "" {
		return // the helper process: TestDemoStoreHeldOpen
	}
	dir := t.TempDir()
	key := filepath.Join(dir, demoSealKey)
	if err := os.WriteFile(key, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	audit := func() int64 {
		t.Helper()
		s, st, path, err := openDemoStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		defer s.Close()
		if _, err := s.ImportEmbeddedNotified(context.Background(), localPrincipal("demo")); err != nil { // audited
			t.Fatal(err)
		}
		stats, err := st.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		old := filepath.Join(path+".index", "old-index")
		if _, err := os.Stat(old); err == nil {
			t.Error("the earlier store's index cache was kept")
		}
		if err := os.MkdirAll(path+".index", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(old, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		return stats.Audit
	}
	first := audit()
	if first == 0 {
		t.Fatal("the demo store's audit log holds nothing")
	}
	if again := audit(); again != first {
		t.Errorf("the rerun's store holds %d audit records, the first run's %d: the old log was kept", again, first)
	}
	if b, err := os.ReadFile(key); err != nil || string(b) != "k" {
		t.Errorf("the seal key: %q %v", b, err)
	}

	// Another process with the store open.
	cmd := exec.Command(os.Args[0], "-test.run=^TestDemoStoreHeldOpen$")
	cmd.Env = append(os.Environ(), "TIDEWATCH_TEST_HOLD_STORE="+filepath.Join(dir, "tidewatch.db"))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "open\n" {
		t.Fatalf("helper: %q %v", line, err)
	}
	err = prepareDemoDir(dir)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("is open in another process (pid %d", cmd.Process.Pid)) {
		t.Errorf("replacing a store another process has open: %v", err)
	}
	for _, f := range []string{"tidewatch.db", "tidewatch.db.audit"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s of the store held open: %v", f, err)
		}
	}
	stdin.Close()
	cmd.Wait()
	if err := prepareDemoDir(dir); err != nil {
		t.Errorf("once the other process has ended: %v", err)
	}
}

// TestDemoStoreHeldOpen is TestDemoStoreReplacedWhole's other process: it
// opens the store, says "open" and holds it until its input ends.
func TestDemoStoreHeldOpen(t *testing.T) {
	path := os.Getenv("TIDEWATCH_TEST_HOLD_STORE")
	if path == "" {
		t.Skip("run by TestDemoStoreReplacedWhole")
	}
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Stats(context.Background()); err != nil {
		t.Fatal(err)
	}
	fmt.Println("open")
	io.Copy(io.Discard, os.Stdin)
}
