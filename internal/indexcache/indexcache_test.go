package indexcache

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/store"
)

func key(c byte) string { return strings.Repeat(string(c), 64) }

func TestDir(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(key('a')); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing entry: %v, want ErrNotFound", err)
	}
	if err := d.Put(key('a'), []byte("index a")); err != nil {
		t.Fatal(err)
	}
	if b, err := d.Get(key('a')); err != nil || string(b) != "index a" {
		t.Fatalf("Get = %q, %v", b, err)
	}
	if err := d.Put(key('a'), []byte("index a again")); err != nil {
		t.Fatal(err)
	}
	if b, _ := d.Get(key('a')); string(b) != "index a again" {
		t.Fatalf("replaced entry reads %q", b)
	}
	if err := d.Remove(key('a')); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(key('a')); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removed entry: %v", err)
	}
	if err := d.Remove(key('a')); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
	for _, bad := range []string{"", "../../etc/passwd", "ABC", key('a') + "/x", strings.Repeat("a", 129)} {
		if err := d.Put(bad, []byte("x")); err == nil {
			t.Errorf("key %q accepted", bad)
		}
		if _, err := d.Get(bad); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get of key %q: %v", bad, err)
		}
	}
}

// TestDirKeepsRecent: beyond DefaultKeep entries the least recently used
// go, and a temporary file a killed writer left is removed once old.
func TestDirKeepsRecent(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, key('f')+".123.tmp")
	os.WriteFile(stale, []byte("half"), 0o600)
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stale, old, old)
	keys := []string{key('1'), key('2'), key('3'), key('4'), key('5')}
	for i, k := range keys { // saved by an earlier run, oldest first
		f := filepath.Join(dir, k+suffix)
		os.WriteFile(f, []byte(k), 0o600)
		at := time.Now().Add(time.Duration(i-10) * time.Minute)
		os.Chtimes(f, at, at)
	}
	d.Get(keys[0]) // used now: kept
	if err := d.Put(key('6'), []byte("6")); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]bool{keys[0]: true, keys[1]: false, keys[2]: false, keys[3]: true, keys[4]: true, key('6'): true} {
		_, err := d.Get(k)
		if got := err == nil; got != want {
			t.Errorf("entry %c kept %v, want %v (%v)", k[0], got, want, err)
		}
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file left: %v", err)
	}
}

// TestBuildID reads the test binary's build ID as the go command does.
func TestBuildID(t *testing.T) {
	id, err := BuildID()
	if err != nil {
		t.Fatal(err)
	}
	if len(id) < 20 || strings.ContainsAny(id, "\x00\n") {
		t.Fatalf("build ID %q", id)
	}
	exe, _ := os.Executable()
	out, err := exec.Command("go", "tool", "buildid", exe).Output()
	if err != nil {
		t.Skipf("go tool buildid: %v", err)
	}
	if want := string(bytes.TrimSpace(out)); id != want {
		t.Fatalf("build ID %q, go tool buildid says %q", id, want)
	}
	if _, err := buildIDOf(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Fatal("build ID of a missing file")
	}
	notGo := filepath.Join(t.TempDir(), "script")
	os.WriteFile(notGo, []byte("#!/bin/sh\necho hi\n"), 0o755)
	if _, err := buildIDOf(notGo); err == nil {
		t.Fatal("build ID of a shell script")
	}
}
