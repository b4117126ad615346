//go:build unix

package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/tidewatch/tidewatch/store"
)

// withUmask runs fn under umask 022 (what most systems set), the mask
// with which SQLite's own 0644 left a store readable by every local user.
func withUmask(t *testing.T, fn func()) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	fn()
}

// modes of the database and its -wal and -shm files (all three exist
// while the store is open in WAL mode).
func checkPrivate(t *testing.T, what, path string) {
	t.Helper()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: %s is %04o, want 0600", what, filepath.Base(p), m)
		}
	}
}

// TestNewStoreIsPrivate: a new store's database, -wal and -shm files are
// the owner's alone (0600) under umask 022, as its audit folder (0700)
// and seal key (0600) are.
func TestNewStoreIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	withUmask(t, func() {
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.PutRun(context.Background(), store.Run{ID: "r1"}); err != nil {
			t.Fatal(err)
		}
		checkPrivate(t, "new store", path)
	})
}

// TestOldStoreMadePrivate: a store an earlier build left 0644 (database,
// -wal and -shm) is made 0600 when opened with write access; one opened
// without (ReadOnly) is not changed.
func TestOldStoreMadePrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	withUmask(t, func() {
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.PutRun(context.Background(), store.Run{ID: "r1"}); err != nil {
			t.Fatal(err)
		}
		// Widened while open, as an earlier build's files were: the -wal
		// and -shm exist now, and a closed store removes them.
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		db2, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		checkPrivate(t, "old store reopened", path)
		db2.Close()
		db.Close()
		// Closed (no -wal or -shm left): a read-only open changes
		// nothing; one with write access makes the file private, and
		// SQLite makes the -wal and -shm with its mode.
		os.Chmod(path, 0o644)
		ro, err := OpenWith(path, Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		ro.Close()
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
			t.Errorf("a read-only open changed the mode to %04o", fi.Mode().Perm())
		}
		db3, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer db3.Close()
		if err := db3.PutRun(context.Background(), store.Run{ID: "r2"}); err != nil {
			t.Fatal(err)
		}
		checkPrivate(t, "old closed store reopened", path)
	})
}
