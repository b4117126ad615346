//go:build unix

package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidewatch/tidewatch/store"
)

// The flock of a lease is the kernel's for as long as the file is open,
// but the lock file can be removed (a cleanup of the .locks folder):
// another process then locks a new file at the path. The holder's check
// says its lease is lost.
func TestLeaseLostWithItsLockFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	l, err := a.LockLease(ctx, "live-x")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Held(ctx); err != nil {
		t.Fatalf("a lease just taken: %v", err)
	}
	if _, err := b.LockLease(ctx, "live-x"); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("a second lease: %v", err)
	}
	if err := os.RemoveAll(path + ".locks"); err != nil {
		t.Fatal(err)
	}
	if err := l.Held(ctx); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("a lease whose lock file was removed: %v, want ErrLeaseLost", err)
	}
	nl, err := b.LockLease(ctx, "live-x")
	if err != nil {
		t.Fatalf("the lock once its file was removed: %v", err)
	}
	if err := l.Held(ctx); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("the old lease while another holds the new file: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Error(err)
	}
	if err := nl.Held(ctx); err != nil {
		t.Errorf("the new lease: %v", err)
	}
	if _, err := a.LockLease(ctx, "live-x"); !errors.Is(err, store.ErrLocked) {
		t.Errorf("the old holder taking it again while the new one holds it: %v", err)
	}
	if err := nl.Release(); err != nil {
		t.Error(err)
	}
}
