package app

import (
	"context"
	"slices"
	"sync"
)

// The detectors' state is one stream's: the ingest holding its lock
// (store.LockIngest(stateLockKey)) continues it, and an ingest that finds
// it locked is read on its own (ingest.Options.Detach). This process's
// ingests of files (uploads, flushes, watched files, 'tidewatch ingest')
// end, so they queue for the state rather than find it locked: each takes
// a turn (IngestTurn) when it is accepted and waits for the ingests taken
// before it to end, so that files sent at once continue each other as
// they do sent one after the other. A live feed's run does not end: it
// takes no turn (a queued ingest that finds the state held by one is read
// on its own, as one that finds it held by another process is, and says
// so: IngestResult.StateHeld).
type stateTurns struct {
	mu    sync.Mutex
	queue []*IngestTurn
	// moved is closed, and replaced, each time a turn leaves the queue.
	moved chan struct{}
	// holder names the run of this process holding the state's lock ("":
	// none does).
	holder string
}

// IngestTurn is a place in this process's queue for the detectors' state
// (Service.IngestTurn). Release gives it up; an ingest given it
// (IngestRequest.Turn) releases it when it ends.
type IngestTurn struct {
	q    *stateTurns
	left bool
}

// IngestTurn takes the next place in the queue for the detectors' state:
// an ingest given it (IngestRequest.Turn) runs after the ingests whose
// turns were taken before. A job takes it when the job is accepted, so
// that jobs run in the order they were accepted; the caller releases it
// if the ingest is not run.
func (s *Service) IngestTurn() *IngestTurn {
	q := &s.turns
	q.mu.Lock()
	defer q.mu.Unlock()
	t := &IngestTurn{q: q}
	q.queue = append(q.queue, t)
	return t
}

// Release leaves the queue (again: nothing): the next turn may go.
func (t *IngestTurn) Release() {
	if t == nil {
		return
	}
	q := t.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if t.left {
		return
	}
	t.left = true
	if i := slices.Index(q.queue, t); i >= 0 {
		q.queue = slices.Delete(q.queue, i, i+1)
	}
	if q.moved != nil {
		close(q.moved)
		q.moved = nil
	}
}

// wait returns once every turn taken before t has left the queue, or
// with ctx's error. waiting (if not nil) is told how many are ahead each
// time that changes while it waits. A nil turn (a live input's) waits
// for nothing.
func (t *IngestTurn) wait(ctx context.Context, waiting func(ahead int)) error {
	if t == nil {
		return nil
	}
	q := t.q
	told := -1
	for {
		q.mu.Lock()
		ahead := slices.Index(q.queue, t)
		if ahead <= 0 { // first, or left (released early: nothing to wait for)
			q.mu.Unlock()
			return nil
		}
		if q.moved == nil {
			q.moved = make(chan struct{})
		}
		moved := q.moved
		q.mu.Unlock()
		if waiting != nil && ahead != told {
			waiting(ahead)
			told = ahead
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// setHolder records which run of this process holds the state's lock
// ("" when it lets it go).
func (q *stateTurns) setHolder(name string) {
	q.mu.Lock()
	q.holder = name
	q.mu.Unlock()
}

// heldBy says who holds the state's lock when this process's ingest
// found it locked: a run of this process (a live feed), else another
// process.
func (q *stateTurns) heldBy() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.holder != "" {
		return q.holder + " (this server)"
	}
	return "another process on this store (a 'tidewatch ingest', another server's live feed or upload)"
}
