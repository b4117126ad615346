//go:build !unix

package sqlite

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/tidewatch/tidewatch/store"
)

var ingestLocks sync.Map // path -> *sync.Mutex

// LockIngest holds a per-path lock within this process (no advisory file
// locks here: one process per store on such systems).
func (s *DB) LockIngest(ctx context.Context, key string) (func() error, error) {
	m, _ := ingestLocks.LoadOrStore(s.path+"\x00"+key, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	if !mu.TryLock() {
		return nil, fmt.Errorf("%s: %w", s.path, store.ErrLocked)
	}
	return func() error { mu.Unlock(); return nil }, nil
}

// LockLease takes the lock LockIngest takes, as a lease: an in-process
// lock is held while the process lives, so Held fails only once released.
func (s *DB) LockLease(ctx context.Context, key string) (store.Lease, error) {
	unlock, err := s.LockIngest(ctx, key)
	if err != nil {
		return nil, err
	}
	return &memLease{unlock: unlock}, nil
}

type memLease struct {
	once   sync.Once
	done   atomic.Bool
	unlock func() error
}

func (l *memLease) Held(context.Context) error {
	if l.done.Load() {
		return fmt.Errorf("lease released: %w", store.ErrLeaseLost)
	}
	return nil
}

func (l *memLease) Release() error {
	l.once.Do(func() { l.done.Store(true); l.unlock() })
	return nil
}

// flock does nothing here: one process per store on such systems, and
// the audit log's in-process mutex serialises its writers.
func flock(f *os.File, exclusive bool) error { return nil }

// funlock releases flock's lock.
func funlock(f *os.File) error { return nil }
