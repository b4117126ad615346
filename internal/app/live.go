package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/store"
)

// Live operation inside a server: AIS from live feeds and from files
// dropped into a folder, list updates on a schedule, the monitor's passes
// and webhook deliveries, each a loop that runs until its context ends.

// FeedStatus is one live input's health, for the dashboard and the API.
type FeedStatus struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // feed, folder
	// State is LiveActive (this node reads the input) or LiveStandby
	// (another node on the store holds it; this one takes over when it
	// stops or dies).
	State   string         `json:"state,omitempty"`
	Health  ais.FeedHealth `json:"health,omitzero"`
	Run     string         `json:"run,omitempty"`
	Started time.Time      `json:"started"`
	// LastIngest is when the folder last ingested a file; Files counts
	// them, Failed those that could not be read.
	LastIngest time.Time `json:"last_ingest,omitzero"`
	Files      int       `json:"files,omitempty"`
	Failed     int       `json:"failed,omitempty"`
	LastError  string    `json:"last_error,omitempty"`
}

// Live input states (FeedStatus.State).
const (
	LiveActive  = "active"
	LiveStandby = "standby: held by another node"
)

// DefaultLiveStandby is how often a standby node tries to take a live
// input over (Config.LiveStandbyEvery).
const DefaultLiveStandby = 2 * time.Second

// DefaultLiveLeaseCheck is how often the node holding a live input checks
// it still holds its lease (Config.LiveLeaseCheckEvery).
const DefaultLiveLeaseCheck = 2 * time.Second

// LeaseStore gives the leases of live inputs (store.LeaseStore).
type LeaseStore interface {
	store.LeaseStore
}

// holdLive runs fn under the store-wide lease of one live input (key),
// so that of several servers on one store given the same --feed or
// --watch, one reads it: the others wait as standbys, trying every
// s.liveStandby, and the first to find it free takes it over when the
// holder stops or dies (the lease is an ingest lock: on PostgreSQL an
// advisory lock that goes with the holder's connection).
//
// The holder checks its lease every s.liveLeaseCheck (store.Lease.Held):
// the store can end a lease while its holder goes on (on PostgreSQL the
// lock's connection alone ends: a pg_terminate_backend of it, a proxy
// dropping it), and a standby then takes the input over. The lease's
// context given to fn ends then: fn stops reading and ends its run as at
// shutdown, and this node, warning once in its log, waits as a standby
// again. takeover tells fn this node waited as a standby first (the
// previous holder may still be ending its run). holdLive returns fn's
// error, or nil when ctx ends first.
func (s *Service) holdLive(ctx context.Context, name, key string, fn func(lease context.Context, takeover bool) error) error {
	// A lease that cannot be taken (not held elsewhere: the store
	// failing) is logged when its error changes, not at every try.
	var failed string
	takeover := false
	for {
		l, err := s.st.LockLease(ctx, key)
		if err == nil {
			s.live.set(name, func(st *FeedStatus) {
				if failed != "" && st.LastError == failed {
					st.LastError = ""
				}
				st.State = LiveActive
			})
			lost, err := s.whileHeld(ctx, name, l, func(lctx context.Context) error { return fn(lctx, takeover) })
			l.Release()
			if lost == nil || ctx.Err() != nil {
				return err
			}
			s.log.Warn("live input: lost its lease (another node may take it over); stopped reading it, now a standby", "input", name, "err", lost.Error())
			s.live.set(name, func(st *FeedStatus) {
				st.State = LiveStandby
				delete(s.live.feeds, name) // this node's feed connection has ended
			})
			takeover, failed = true, ""
		} else {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, store.ErrLocked) {
				s.live.set(name, func(st *FeedStatus) {
					if failed != "" && st.LastError == failed {
						st.LastError = ""
					}
					st.State = LiveStandby
				})
				takeover, failed = true, ""
			} else if msg := err.Error(); msg != failed {
				failed = msg
				s.live.set(name, func(st *FeedStatus) { st.LastError = msg })
				s.log.Warn("live input: taking its lease", "input", name, "err", msg)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.liveStandby):
		}
	}
}

// whileHeld runs fn with a context that ends when ctx ends or when the
// lease is found lost (checked every s.liveLeaseCheck), and returns why
// it was lost (nil: it was not) and fn's error. The checks have ended
// when it returns: the lease can be released.
func (s *Service) whileHeld(ctx context.Context, name string, l store.Lease, fn func(context.Context) error) (lost, err error) {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done, checked := make(chan struct{}), make(chan error, 1)
	go func() {
		defer close(checked)
		t := time.NewTicker(s.liveLeaseCheck)
		defer t.Stop()
		// A check that cannot tell (the store failing, the lease's lock
		// still there) is logged when its error changes.
		var unsure string
		for {
			select {
			case <-done:
				return
			case <-lctx.Done():
				return
			case <-t.C:
			}
			// ctx, not lctx: the check in progress when fn returns
			// finishes rather than being cut (on PostgreSQL a query cut
			// short closes its connection).
			err := l.Held(ctx)
			switch {
			case ctx.Err() != nil:
				return
			case errors.Is(err, store.ErrLeaseLost):
				checked <- err
				cancel()
				return
			case err != nil && err.Error() != unsure:
				unsure = err.Error()
				s.log.Warn("live input: checking its lease", "input", name, "err", unsure)
			case err == nil:
				unsure = ""
			}
		}
	}()
	err = fn(lctx)
	close(done)
	lost = <-checked // nil when closed without a loss
	return lost, err
}

// awaitState waits, up to limit, for the detectors' state to be free of
// another run. A node taking a live feed over from one that lost its
// lease waits so for that node to end its run, whose state its own run
// then continues (rather than reading on its own, Ingest's Detach). It
// returns early when ctx ends or the state cannot be asked.
func (s *Service) awaitState(ctx context.Context, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for {
		unlock, err := s.st.LockIngest(ctx, stateLockKey)
		if err == nil {
			unlock()
			return
		}
		if !errors.Is(err, store.ErrLocked) || time.Now().After(deadline) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(s.liveStandby, 100*time.Millisecond)):
		}
	}
}

// liveKey names a live input's lease: the input's kind and a hash of
// its name (an address, a folder's path), whole whatever its length.
func liveKey(kind, name string) string {
	h := sha256.Sum256([]byte(name))
	return "live-" + kind + "-" + hex.EncodeToString(h[:12])
}

// feedKey names a feed's lease. A feed this machine receives itself (a
// UDP listener, a TCP connection to a loopback address) is a different
// source on each machine, so its lease is this machine's: two servers on
// two machines each read their own receiver. A remote TCP source is one
// source, whoever connects to it: one node reads it.
func feedKey(addr string) string {
	if local, ok := localFeed(addr); ok && local {
		host, err := os.Hostname()
		if err != nil {
			host = "unknown-host"
		}
		return liveKey("feed", host+" "+addr)
	}
	return liveKey("feed", addr)
}

// localFeed reports whether a feed address is received on this machine
// (false, false when it is not a feed address).
func localFeed(addr string) (local, ok bool) {
	switch {
	case strings.HasPrefix(addr, "udp://"):
		return true, true
	case strings.HasPrefix(addr, "tcp://"):
		host, _, err := net.SplitHostPort(strings.TrimPrefix(addr, "tcp://"))
		if err != nil {
			return false, true
		}
		if strings.EqualFold(host, "localhost") {
			return true, true
		}
		ip := net.ParseIP(host)
		return ip != nil && (ip.IsLoopback() || ip.IsUnspecified()), true
	}
	return false, false
}

type liveInputs struct {
	mu     sync.Mutex
	feeds  map[string]*ais.Feed
	status map[string]*FeedStatus
}

func (l *liveInputs) set(name string, f func(st *FeedStatus)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status == nil {
		l.status, l.feeds = map[string]*FeedStatus{}, map[string]*ais.Feed{}
	}
	st, ok := l.status[name]
	if !ok {
		st = &FeedStatus{Name: name}
		l.status[name] = st
	}
	f(st)
}

// Feeds reports every live input's health (operator tenant: AIS is
// shared).
func (s *Service) Feeds(p Principal) ([]FeedStatus, error) {
	if err := p.need(RoleViewer, "reading feed health"); err != nil {
		return nil, err
	}
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	out := []FeedStatus{}
	for name, st := range s.live.status {
		c := *st
		if f := s.live.feeds[name]; f != nil {
			c.Health = f.Health()
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// RunFeed ingests a live feed (tcp:// or udp://) until ctx ends: each
// connection session is an ingest run committing every commitEvery; the
// feed reconnects by itself (package ais), and a run that stops on an
// error is started again after a pause. lateness is the reorder window
// (0: the detectors' default, 2 h): a fix reaches the detectors, and an
// alert can be raised, only once the feed has brought fixes that much
// newer, so a live feed watched for alerts within seconds needs a window
// of seconds (fixes arriving later than it are counted late and not
// detected on). Of several servers on one store given the same feed, one
// reads it and the others wait as standbys (holdLive).
func (s *Service) RunFeed(ctx context.Context, p Principal, addr string, opt ais.FeedOptions, commitEvery, lateness time.Duration) error {
	if err := p.needShared(RoleAnalyst, "ingesting a live feed"); err != nil {
		return err
	}
	if !ais.IsLive(addr) {
		return Errorf(CodeInvalid, "%q is not a live feed (tcp://host:port or udp://host:port)", addr)
	}
	s.live.set(addr, func(st *FeedStatus) { st.Kind, st.Started = "feed", s.now().UTC() })
	return s.holdLive(ctx, addr, feedKey(addr), func(lease context.Context, takeover bool) error {
		return s.runFeed(ctx, lease, p, addr, opt, commitEvery, lateness, takeover)
	})
}

// runFeed is RunFeed on the node holding the feed's lease. The feed
// ends, as at shutdown, when lease ends (ctx's end or the lease lost);
// ctx is the ingest's, so a run ended by a lost lease is committed and
// recorded whole. A node taking the feed over first waits for the
// detectors' state, which the previous holder holds until its run ends
// when it lost its lease rather than stopped (awaitState): up to one
// lease check and half a minute for that run to end.
func (s *Service) runFeed(ctx, lease context.Context, p Principal, addr string, opt ais.FeedOptions, commitEvery, lateness time.Duration, takeover bool) error {
	if takeover {
		s.awaitState(lease, s.liveLeaseCheck+30*time.Second)
	}
	for lease.Err() == nil {
		in := ingest.Input{Name: addr, ID: addr, Live: true, Open: func(context.Context) (ais.Source, io.Closer, error) {
			f, err := ais.OpenFeed(lease, addr, opt)
			if err != nil {
				return nil, nil, err
			}
			s.live.set(addr, func(st *FeedStatus) { s.live.feeds[addr] = f })
			return f, f, nil
		}}
		req := IngestRequest{Inputs: []ingest.Input{in}, CommitEvery: commitEvery}
		if lateness > 0 {
			cfg := s.detect
			cfg.ReorderLatenessMinutes = lateness.Minutes()
			req.Detect = &cfg
		}
		res, err := s.Ingest(ctx, p, req)
		s.live.set(addr, func(st *FeedStatus) {
			st.Run = res.Run.ID
			if err != nil {
				st.LastError = err.Error()
			}
		})
		if lease.Err() != nil {
			return nil
		}
		if err != nil {
			s.log.Warn("live feed ingest stopped; starting again", "feed", addr, "err", err.Error())
		}
		select {
		case <-lease.Done():
		case <-time.After(5 * time.Second):
		}
	}
	return nil
}

// WatchFolder ingests AIS files dropped into dir: a file is taken once
// its size has not changed between two looks (a copy in progress is not
// read), ingested (resumable, named by content, so a file dropped twice is
// ingested once), and moved to dir/ingested or, when it could not be
// read whole, dir/failed. Of several servers on one store watching the
// same folder (the same path, a shared mount), one reads it and the
// others wait as standbys (holdLive).
func (s *Service) WatchFolder(ctx context.Context, p Principal, dir string, every time.Duration) error {
	if err := p.needShared(RoleAnalyst, "ingesting a folder"); err != nil {
		return err
	}
	// The folder's absolute path names its lease: the same relative
	// name given to servers in other working directories is another
	// folder.
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for _, sub := range []string{"ingested", "failed"} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o755); err != nil {
			return err
		}
	}
	name := "folder " + dir
	s.live.set(name, func(st *FeedStatus) { st.Kind, st.Started = "folder", s.now().UTC() })
	return s.holdLive(ctx, name, liveKey("folder", abs), func(lease context.Context, _ bool) error { return s.watchFolder(lease, p, abs, name, every) })
}

// watchFolder is WatchFolder on the node holding the folder's lease,
// until ctx ends (the lease's context: a lease lost interrupts the file
// being read as a shutdown does, and the next holder resumes it).
func (s *Service) watchFolder(ctx context.Context, p Principal, dir, name string, every time.Duration) error {
	sizes := map[string]int64{}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		entries, err := os.ReadDir(dir)
		if err != nil {
			s.live.set(name, func(st *FeedStatus) { st.LastError = err.Error() })
		}
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() || strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".part") || strings.HasSuffix(n, ".tmp") {
				continue
			}
			path := filepath.Join(dir, n)
			fi, err := e.Info()
			if err != nil {
				continue
			}
			if prev, ok := sizes[path]; !ok || prev != fi.Size() {
				sizes[path] = fi.Size()
				continue
			}
			delete(sizes, path)
			dest := "ingested"
			in, err := ingest.FileInput(path, func(ctx context.Context) (ais.Source, io.Closer, error) {
				return ais.OpenInput(ctx, path, ais.FeedOptions{})
			})
			var res IngestResult
			if err == nil {
				res, err = s.Ingest(ctx, p, IngestRequest{Inputs: []ingest.Input{in}})
			}
			if err == nil && len(res.Failed) > 0 {
				err = res.Failed[0]
			}
			if ctx.Err() != nil {
				return nil
			}
			if ae := (*Error)(nil); errors.As(err, &ae) && ae.Code == CodeConflict {
				// Another ingest of this file is writing it (a node
				// that held the folder before and lost its lease,
				// ending its run): not a failed file. Look again.
				s.log.Info("watched file being ingested by another ingest; looking again later", "file", path)
				continue
			}
			if err != nil {
				dest = "failed"
				s.log.Warn("watched file not ingested", "file", path, "err", err.Error())
			}
			if rerr := os.Rename(path, filepath.Join(dir, dest, n)); rerr != nil {
				s.log.Warn("move watched file", "file", path, "err", rerr.Error())
			}
			s.live.set(name, func(st *FeedStatus) {
				st.LastIngest = s.now().UTC()
				st.Files++
				if err != nil {
					st.Failed++
					st.LastError = fmt.Sprintf("%s: %v", n, err)
				}
			})
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunListUpdates updates the lists from their publishers every interval
// (the first time at once, unless a pass ran within the interval: of
// several servers on one store, one runs each pass, UpdateListsDue).
// Offline or failing, the versions held stay in force, and the operator's
// admins get an alert saying why.
func (s *Service) RunListUpdates(ctx context.Context, p Principal, sources func() []ListSource, every time.Duration) {
	for {
		pass, err := s.UpdateListsDue(ctx, p, sources, every)
		if ctx.Err() != nil {
			return
		}
		var failed []string
		for _, v := range pass.Result.Versions {
			if v.Outcome == OutcomeFailed {
				failed = append(failed, v.List+": "+v.Reason)
				s.log.Warn("list update failed: the versions held stay in force", "list", v.List, "error", redactURLsIn(v.Reason))
			}
		}
		if err != nil {
			failed = append(failed, err.Error())
			s.log.Warn("list update failed: the versions held stay in force", "error", redactURLsIn(err.Error()))
		}
		if len(failed) > 0 {
			s.systemAlert(ctx, p.Tenant, "list-update:"+s.now().UTC().Format("2006-01-02"), "List update failed: the versions held stay in force",
				strings.Join(failed, "; "))
		}
		wait := min(max(pass.Next.Sub(s.now()), time.Second), every)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// RunMonitor runs the monitor's passes every interval: the events stored
// since (live feeds commit as they go) and list changes.
func (s *Service) RunMonitor(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.ScreenNewEvents(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("monitor: events", "err", err.Error())
		}
		if _, err := s.ScreenListChanges(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("monitor: lists", "err", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.monitorWake:
		}
	}
}

// wakeMonitor tells RunMonitor new events may be stored.
func (s *Service) wakeMonitor() {
	select {
	case s.monitorWake <- struct{}{}:
	default:
	}
}

// systemAlert raises an alert about the installation for a tenant's
// admins (a failed list update).
func (s *Service) systemAlert(ctx context.Context, tenant, key, title, why string) {
	a := store.Alert{Tenant: tenant, Key: "system:" + key, Kind: AlertSystem, Severity: "medium", Title: title, Why: why,
		Evidence: []store.AlertEvidence{{Kind: "system", Ref: key, Text: why}}}
	if _, err := s.raise(ctx, a); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Warn("system alert", "err", err.Error())
	}
}
