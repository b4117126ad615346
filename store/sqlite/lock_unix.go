//go:build unix

package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/tidewatch/tidewatch/store"
)

// LockIngest takes an exclusive advisory lock on a file beside the store
// (path + ".locks/ingest-" + key): the kernel releases it when the
// process dies, kill -9 included, so a crash never leaves a run locked.
func (s *DB) LockIngest(ctx context.Context, key string) (func() error, error) {
	if s.readOnly {
		return nil, ErrReadOnly
	}
	dir := s.path + ".locks"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ingest lock: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "ingest-"+lockName(key)), os.O_CREATE|os.O_RDWR, 0o644)
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

// lockName keeps a key safe as a file name.
func lockName(key string) string {
	b := []byte(key)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 100 {
		b = b[:100]
	}
	return string(b)
}
