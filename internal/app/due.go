package app

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/tidewatch/tidewatch/store"
)

// Periodic passes shared by the servers on a store (the list updates, the
// audit checks) are claimed in the store: the time of the last claim is
// kept under a monitor-state key, written under a store-wide lock, so one
// pass runs per interval whatever the nodes and their restarts.

// passState is a periodic pass's claim as kept in the store.
type passState struct {
	At time.Time `json:"at"`
}

// claimPass claims the pass due at now (what names it in the log): false,
// with the last claim's time, when one was claimed within every, here or
// on another node; false with a zero time when another node holds the
// lock (look again soon).
func (s *Service) claimPass(ctx context.Context, what, lockKey, stateKey string, now time.Time, every time.Duration) (bool, time.Time, error) {
	u, err := s.st.LockIngest(ctx, lockKey)
	if errors.Is(err, store.ErrLocked) {
		return false, time.Time{}, nil
	}
	if err != nil {
		return false, time.Time{}, err
	}
	defer u()
	var last passState
	if b, err := s.st.MonitorState(ctx, stateKey); err == nil {
		if err := json.Unmarshal(b, &last); err != nil {
			s.log.Warn(what+": unreadable time of the last pass", "err", err.Error())
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, time.Time{}, err
	}
	if !last.At.IsZero() && now.Before(last.At.Add(every)) {
		return false, last.At, nil
	}
	b, _ := json.Marshal(passState{At: now})
	if err := s.st.PutMonitorState(ctx, stateKey, b); err != nil {
		return false, time.Time{}, err
	}
	return true, last.At, nil
}

// unclaimPass puts back the claim before this pass (last), so that a pass
// cut short is due again at once; ctx may be done already.
func (s *Service) unclaimPass(ctx context.Context, what, stateKey string, last time.Time) {
	b, _ := json.Marshal(passState{At: last})
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.st.PutMonitorState(rctx, stateKey, b); err != nil {
		s.log.Warn(what+": could not undo the claim of a pass cut short", "err", err.Error())
	}
}
