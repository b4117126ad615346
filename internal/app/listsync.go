package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/store"
)

// Several servers (API nodes) on one store share its list versions. These
// are what keeps them agreeing: imports one at a time across every node,
// the periodic update run by one node per interval, and each node
// following the versions other nodes store.

// The store-wide lock of list imports (Store.LockIngest: a PostgreSQL
// advisory lock, or a file lock beside a SQLite store) and the monitor
// state key of the periodic update's last claimed pass.
const (
	listsLockKey   = "lists"
	listUpdatedKey = "lists-updated"
)

// lockLists waits for the store-wide list import lock, so that of two
// nodes importing at once one stores a version and logs it "stored", and
// the other then finds it held ("unchanged"): every import is logged
// with what it did.
func (s *Service) lockLists(ctx context.Context) (func(), error) {
	wait := 20 * time.Millisecond
	for {
		u, err := s.st.LockIngest(ctx, listsLockKey)
		if err == nil {
			return func() { u() }, nil
		}
		if !errors.Is(err, store.ErrLocked) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// ListUpdatePass is what one periodic list update did on this node.
type ListUpdatePass struct {
	// Ran: this node fetched and imported. Not run: another node holds
	// the update now, or ran it within the interval (Last).
	Ran    bool         `json:"ran"`
	Last   time.Time    `json:"last,omitzero"`
	Next   time.Time    `json:"next"`
	Result ImportResult `json:"result"`
}

// UpdateListsDue runs the periodic list update when it is due: of
// several nodes on one store, the first to claim a pass runs it, and a
// pass is due only when no node has claimed one within every (the time
// of the last claim is in the store, written under the store-wide list
// lock). A node that finds the pass claimed skips it without error and
// says when the next is due. The claim holds no lock while the lists
// download: imports meanwhile (an upload) wait only for the import
// itself, and the pass holds one connection at most.
func (s *Service) UpdateListsDue(ctx context.Context, p Principal, sources func() []ListSource, every time.Duration) (ListUpdatePass, error) {
	now := s.now().UTC()
	pass := ListUpdatePass{Next: now.Add(every)}
	if err := p.needShared(RoleAnalyst, "updating lists"); err != nil {
		return pass, err
	}
	claimed, last, err := s.claimPass(ctx, "list update", listsLockKey, listUpdatedKey, now, every)
	pass.Last = last
	if err != nil {
		return pass, err
	}
	if !claimed {
		switch {
		case last.IsZero():
			// The list lock was held (an import, or another node
			// claiming): look again soon.
			pass.Next = now.Add(min(every, time.Minute))
		default:
			pass.Next = last.Add(every)
		}
		return pass, nil
	}
	pass.Ran = true
	pass.Result, err = s.UpdateLists(ctx, p, sources(), 0)
	if ctx.Err() != nil {
		// Stopped mid-pass (the server shuts down): the pass is due
		// again at once, on whichever node looks first.
		s.unclaimPass(ctx, "list update", listUpdatedKey, last)
	}
	// A pass that failed is not tried again before the interval is up on
	// any node, as on one (the failure raised an alert).
	return pass, err
}

// DefaultListPoll is how often a server reads the store's list versions
// (RunListPoll), so a version another node imported is screened against
// here within that time and one index build.
const DefaultListPoll = 30 * time.Second

// PollLists reads the store's list versions and, when the set in force
// now is not the one this node screens with (another node or a command
// imported a version), builds the new screening index and makes it
// current; screenings meanwhile answer from the previous one, naming its
// versions. It reports whether the index changed.
func (s *Service) PollLists(ctx context.Context) (bool, error) {
	vs, err := s.st.ListVersions(ctx)
	if err != nil {
		return false, err
	}
	if vs == nil {
		vs = []sanctions.Version{}
	}
	c := s.screens
	c.mu.Lock()
	pinned := c.pinned != nil
	if !pinned {
		c.versions = vs
		c.memo.Store(nil)
	}
	c.mu.Unlock()
	cur := c.current.Load()
	if pinned || cur == nil {
		return false, nil // no index yet: the first screening builds it
	}
	if versionsKey(risk.VersionsAt(vs, s.now())) == cur.key {
		return false, nil
	}
	if err := c.refresh(ctx); err != nil {
		return false, err
	}
	s.log.Info("list versions from the store: screening index replaced", "versions", c.current.Load().key)
	return true, nil
}

// RunListPoll calls PollLists every interval until ctx ends.
func (s *Service) RunListPoll(ctx context.Context, every time.Duration) {
	s.repeat(ctx, every, "list poll", func(ctx context.Context) error {
		_, err := s.PollLists(ctx)
		return err
	})
}

// repeat calls fn every interval until ctx ends, logging its errors as
// what.
func (s *Service) repeat(ctx context.Context, every time.Duration, what string, fn func(context.Context) error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn(what, "err", err.Error())
		}
	}
}

func versionsKey(vs []sanctions.Version) string {
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	return strings.Join(ids, " ")
}
