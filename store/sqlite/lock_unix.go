//go:build unix

package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/tidewatch/tidewatch/store"
)

// LockIngest takes an exclusive advisory lock on a file beside the store
// (path + "-ingest.lock"): the kernel releases it when the process dies,
// kill -9 included, so a crash never leaves the store locked.
func (s *DB) LockIngest(ctx context.Context) (func() error, error) {
	if s.readOnly {
		return nil, ErrReadOnly
	}
	f, err := os.OpenFile(s.path+"-ingest.lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ingest lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", s.path, store.ErrLocked)
		}
		return nil, fmt.Errorf("ingest lock: %w", err)
	}
	return func() error {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return f.Close()
	}, nil
}
