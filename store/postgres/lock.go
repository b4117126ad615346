package postgres

import (
	"context"
	"fmt"
	"sync"

	"github.com/tidewatch/tidewatch/store"
)

// LockIngest takes the ingest lock of a run: a session-level advisory
// lock keyed by the run's key (and the store's schema), held on a
// connection of its own until unlock. PostgreSQL releases it when that
// connection ends, so a process that dies, kill -9 included, or loses
// the server never leaves a run locked. Another holder, in this process
// or on another node, is ErrLocked.
func (s *DB) LockIngest(ctx context.Context, key string) (func() error, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("ingest lock: %w", err)
	}
	k := s.lockKey("ingest", key)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, k).Scan(&ok); err != nil {
		conn.Release()
		return nil, fmt.Errorf("ingest lock: %w", err)
	}
	if !ok {
		conn.Release()
		return nil, fmt.Errorf("%s: run %s: %w", s.url, key, store.ErrLocked)
	}
	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() {
			var released bool
			err := conn.QueryRow(context.Background(), `SELECT pg_advisory_unlock($1)`, k).Scan(&released)
			if err != nil {
				// The lock cannot be said released: close the
				// connection, which releases it.
				conn.Hijack().Close(context.Background())
				uerr = fmt.Errorf("ingest unlock: %w", err)
				return
			}
			conn.Release()
		})
		return uerr
	}, nil
}
