package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/postgres/pgtest"
)

// A lease whose connection alone is terminated (the process goes on)
// says so when checked, and another node can take the lock: the holder
// learns it no longer holds what another now does.
func TestLeaseLostWithItsConnection(t *testing.T) {
	url := pgtest.URL(t)
	a, b := open(t, url), open(t, url)
	defer a.Close()
	defer b.Close()
	l, err := a.LockLease(ctx, "live-x")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Held(ctx); err != nil {
		t.Fatalf("a lease just taken: %v", err)
	}
	if _, err := b.LockLease(ctx, "live-x"); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("the second lease: %v", err)
	}
	pid, err := b.LockHolder(ctx, "live-x")
	if err != nil || pid == 0 {
		t.Fatalf("the lease's holder: %d %v", pid, err)
	}
	if other, err := b.LockHolder(ctx, "live-y"); err != nil || other != 0 {
		t.Errorf("the holder of a lock nobody holds: %d %v", other, err)
	}
	// Another of a's connections is busy meanwhile: only the lease's ends.
	unlock, err := a.LockIngest(ctx, "run-z")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	var done bool
	if err := b.Pool().QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&done); err != nil || !done {
		t.Fatalf("terminate the lease's connection: %v %v", done, err)
	}
	// The backend ends as soon as it sees the signal: a check may come
	// just before.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		err = l.Held(ctx)
		if err != nil || time.Now().After(deadline) {
			break
		}
	}
	if !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("a lease whose connection was terminated: %v, want ErrLeaseLost", err)
	}
	if err := l.Held(ctx); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("checked again: %v", err)
	}
	var nl store.Lease
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if nl, err = b.LockLease(ctx, "live-x"); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("the lock of a terminated connection is still held: %v", err)
	}
	if err := nl.Held(ctx); err != nil {
		t.Errorf("the new holder's lease: %v", err)
	}
	l.Release() // the lost lease's connection is closed, not returned
	if err := nl.Held(ctx); err != nil {
		t.Errorf("the new holder's lease after the old one was released: %v", err)
	}
	if err := nl.Release(); err != nil {
		t.Error(err)
	}
	if err := nl.Held(ctx); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("a released lease: %v", err)
	}
	if again, err := a.LockLease(ctx, "live-x"); err != nil {
		t.Errorf("after release: %v", err)
	} else {
		again.Release()
	}
	// a's pool still works: the lost lease's connection was not returned to it.
	if err := a.Pool().Ping(ctx); err != nil {
		t.Error(err)
	}
}
