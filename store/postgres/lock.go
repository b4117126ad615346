package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tidewatch/tidewatch/store"
)

// LockIngest takes the ingest lock of a run: a session-level advisory
// lock keyed by the run's key (and the store's schema), held on a
// connection of its own until unlock. PostgreSQL releases it when that
// connection ends, so a process that dies, kill -9 included, or loses
// the server never leaves a run locked. Another holder, in this process
// or on another node, is ErrLocked.
func (s *DB) LockIngest(ctx context.Context, key string) (func() error, error) {
	l, err := s.lockLease(ctx, key)
	if err != nil {
		return nil, err
	}
	return l.Release, nil
}

// LockLease takes the lock LockIngest takes, as a lease its holder can
// check (Held): the connection holding it can end while the process goes
// on, and another node can then take the lock.
func (s *DB) LockLease(ctx context.Context, key string) (store.Lease, error) {
	return s.lockLease(ctx, key)
}

func (s *DB) lockLease(ctx context.Context, key string) (*lease, error) {
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
	return &lease{conn: conn, key: k}, nil
}

// LockHolder is the server process (pg_backend_pid) holding the ingest
// lock of key (LockIngest, LockLease), 0 when none holds it: the session
// an operator would look at, or terminate, to move a live input.
func (s *DB) LockHolder(ctx context.Context, key string) (int, error) {
	hi, lo := advisoryIDs(s.lockKey("ingest", key))
	var pid int
	err := s.pool.QueryRow(ctx, `SELECT coalesce(min(pid), 0) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND granted AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1`, hi, lo).Scan(&pid)
	if err != nil {
		return 0, fmt.Errorf("ingest lock holder: %w", err)
	}
	return pid, nil
}

// advisoryIDs is how pg_locks shows a bigint advisory key: its high half
// in classid, its low half in objid (objsubid 1).
func advisoryIDs(k int64) (hi, lo int64) {
	return int64(uint64(k) >> 32), int64(uint64(k) & 0xffffffff)
}

// leaseCheckTimeout bounds a lease check: a connection that does not
// answer within it is taken as lost (the server, or the path to it, may
// have ended the session and given the lock to another node meanwhile).
const leaseCheckTimeout = 5 * time.Second

// lease is an advisory lock held on a connection of its own. Held and
// Release are called by one goroutine at a time (a connection is not
// safe for concurrent use).
type lease struct {
	conn *pgxpool.Conn
	key  int64

	mu   sync.Mutex
	lost bool
	done bool
	err  error
}

// Held asks, on the lease's own connection, whether that session holds
// the advisory lock (pg_locks of pg_backend_pid()). Asking on the same
// connection is what makes the answer this holder's: a connection that
// has ended (terminated, dropped by a proxy, the server restarted) fails
// the query, and no other session's lock, nor a backend a pooler handed
// to another client, can answer for it. A connection that failed, or did
// not answer within leaseCheckTimeout, is a lost lease: it cannot be used
// again, and its lock is, or will be, released by the server.
func (l *lease) Held(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return fmt.Errorf("lease released: %w", store.ErrLeaseLost)
	}
	if l.lost {
		return fmt.Errorf("lease: %w", store.ErrLeaseLost)
	}
	cctx, cancel := context.WithTimeout(ctx, leaseCheckTimeout)
	defer cancel()
	hi, lo := advisoryIDs(l.key)
	var held bool
	err := l.conn.QueryRow(cctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND pid = pg_backend_pid() AND granted AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1)`, hi, lo).Scan(&held)
	switch {
	case err == nil && held:
		return nil
	case err == nil:
		l.lost = true
		return fmt.Errorf("the connection no longer holds its advisory lock: %w", store.ErrLeaseLost)
	case l.conn.Conn().IsClosed():
		l.lost = true
		return fmt.Errorf("the lease's connection ended: %v: %w", err, store.ErrLeaseLost)
	case ctx.Err() != nil:
		return ctx.Err() // the caller gave up, not the connection
	case errors.Is(err, context.DeadlineExceeded):
		l.lost = true
		return fmt.Errorf("the lease's connection did not answer within %v: %w", leaseCheckTimeout, store.ErrLeaseLost)
	default:
		return fmt.Errorf("check the lease: %w", err)
	}
}

// Release unlocks the lock and returns the connection to the pool; a
// lock that cannot be said released (the unlock failed, the lease was
// lost) has its connection closed, which releases it.
func (l *lease) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return l.err
	}
	l.done = true
	if !l.lost {
		// Bounded: on a half-open connection the unlock would wait for TCP
		// to give up (minutes), and a worker could not stand by meanwhile.
		uctx, ucancel := context.WithTimeout(context.Background(), leaseCheckTimeout)
		var released bool
		err := l.conn.QueryRow(uctx, `SELECT pg_advisory_unlock($1)`, l.key).Scan(&released)
		ucancel()
		if err == nil {
			l.conn.Release()
			return nil
		}
		l.err = fmt.Errorf("ingest unlock: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), leaseCheckTimeout)
	defer cancel()
	l.conn.Hijack().Close(ctx)
	return l.err
}
