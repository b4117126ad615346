//go:build !unix

package sqlite

import (
	"context"
	"fmt"
	"sync"

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
