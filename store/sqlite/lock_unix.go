//go:build unix

package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/tidewatch/tidewatch/store"
)

// LockIngest takes an exclusive advisory lock on a file beside the store
// (path + ".locks/ingest-" + key): the kernel releases it when the
// process dies, kill -9 included, so a crash never leaves a run locked.
func (s *DB) LockIngest(ctx context.Context, key string) (func() error, error) {
	l, err := s.lockLease(key)
	if err != nil {
		return nil, err
	}
	return l.Release, nil
}

// LockLease takes the lock LockIngest takes, as a lease its holder can
// check (Held). The kernel keeps a lock on an open file for as long as
// the process keeps the file open, so the lock itself is never lost; but
// the lock file can be removed or replaced (a cleanup of the .locks
// folder), and another process then creates a new file at the path and
// locks that one. Held says the lease is lost when the path no longer
// names the file this lease holds locked.
func (s *DB) LockLease(ctx context.Context, key string) (store.Lease, error) {
	return s.lockLease(key)
}

func (s *DB) lockLease(key string) (*fileLease, error) {
	if s.readOnly {
		return nil, ErrReadOnly
	}
	dir := s.path + ".locks"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ingest lock: %w", err)
	}
	path := filepath.Join(dir, "ingest-"+lockName(key))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
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
	// The file locked may have been removed or replaced between the open
	// and the lock (by a holder of the path's previous file, or a
	// cleanup): then it locks nothing anyone else sees.
	if err := sameFile(f, path); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: the lock file changed while being locked: %w", s.path, store.ErrLocked)
	}
	return &fileLease{f: f, path: path}, nil
}

// fileLease is a flock held on an open lock file.
type fileLease struct {
	f    *os.File
	path string

	mu   sync.Mutex
	done bool
	err  error
}

// Held checks the lease's path still names the file it holds locked.
func (l *fileLease) Held(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return fmt.Errorf("lease released: %w", store.ErrLeaseLost)
	}
	return sameFile(l.f, l.path)
}

// Release unlocks the file and closes it.
func (l *fileLease) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.done = true
		syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
		l.err = l.f.Close()
	}
	return l.err
}

// sameFile says whether path names the open file f: an error wrapping
// store.ErrLeaseLost when it names another file or none.
func sameFile(f *os.File, path string) error {
	held, err := f.Stat()
	if err != nil {
		return fmt.Errorf("the lock file: %w", err)
	}
	now, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("the lock file %s was removed: %w", path, store.ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("the lock file: %w", err)
	}
	if !os.SameFile(held, now) {
		return fmt.Errorf("the lock file %s was replaced: %w", path, store.ErrLeaseLost)
	}
	return nil
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

// flock takes an advisory lock on f, shared or exclusive, waiting for it.
func flock(f *os.File, exclusive bool) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// funlock releases flock's lock.
func funlock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
