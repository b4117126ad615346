package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/screen"
	"github.com/tidewatch/tidewatch/store"
)

// Alert states.
const (
	AlertOpen         = "open"
	AlertAcknowledged = "acknowledged"
	AlertClosed       = "closed"
)

// Alert kinds.
const (
	AlertListHitAdded   = "list_hit_added"
	AlertListHitRemoved = "list_hit_removed"
	AlertBandChanged    = "band_changed"
	AlertEvent          = "event"
	// AlertSystem is about the installation (a failed list update).
	AlertSystem = "system"
)

// AlertStates and AlertKinds are the values an alert filter may name.
var (
	AlertStates = []string{AlertOpen, AlertAcknowledged, AlertClosed}
	AlertKinds  = []string{AlertListHitAdded, AlertListHitRemoved, AlertBandChanged, AlertEvent, AlertSystem}
)

// monitorListsKey keeps the list versions the portfolios were last
// screened against.
const monitorListsKey = "lists-screened"

// MonitorResult says what a monitoring pass did.
type MonitorResult struct {
	// Lists names the list versions whose changes were screened.
	Lists   []string      `json:"lists,omitempty"`
	Changed int           `json:"changed_records"`
	Vessels int           `json:"vessels"`
	Parties int           `json:"parties"`
	Alerts  int           `json:"alerts"`
	Took    time.Duration `json:"took_ns"`
}

// monitorLease takes the store-wide monitor lock, so that of several
// processes on one store (API nodes, a CLI ingest) one screens at a time
// and an alert is raised once; ok is false when another holds it (its
// pass, or the next, sees the same changes: the cursors are in the
// store). The lock is a lease the pass checks before each thing it
// writes (monitorHold.check): on PostgreSQL the lock goes with its
// connection, and another node can take it while this one goes on.
func (s *Service) monitorLease(ctx context.Context) (h *monitorHold, ok bool, err error) {
	l, err := s.st.LockLease(ctx, monitorLockKey)
	if errors.Is(err, store.ErrLocked) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return &monitorHold{l}, true, nil
}

// monitorLockKey names the monitor's store-wide lock.
const monitorLockKey = "monitor"

// monitorHold is the monitor's lock while a pass holds it.
type monitorHold struct{ lease store.Lease }

func (h *monitorHold) release() { h.lease.Release() }

// check says whether the pass still holds the monitor's lock: nil while
// it does, an error wrapping store.ErrLeaseLost once another process can
// have taken it, another error when the store could not tell. The pass
// stops on either, writing nothing more; its cursor stays where it was,
// so the holder's next pass (this node's or another's) screens the same
// changes again, and their alerts are raised once by key.
func (h *monitorHold) check(ctx context.Context) error {
	if err := h.lease.Held(ctx); err != nil {
		return fmt.Errorf("monitor: stopped its pass: %w", err)
	}
	return nil
}

// ScreenListChanges compares the list versions in force now with those
// the portfolios were last screened against and matches only the records
// that changed against every tenant's portfolio vessels and parties
// (reverse screening): a new designation of a vessel, its owner, manager
// or operator raises one alert; a removed one too. Vessels whose hits
// changed get a new status, and an alert when their band changes. The
// first pass only records the versions (statuses were computed when the
// vessels were added).
func (s *Service) ScreenListChanges(ctx context.Context) (MonitorResult, error) {
	start := time.Now()
	var res MonitorResult
	s.monitorMu.Lock()
	defer s.monitorMu.Unlock()
	hold, ok, err := s.monitorLease(ctx)
	if err != nil || !ok {
		return res, err
	}
	defer hold.release()
	// Another node may have imported a version this one has not seen:
	// screen with what the store holds now, or a stale index would undo
	// that node's pass (screen the new version's changes backwards).
	if _, err := s.PollLists(ctx); err != nil {
		return res, err
	}
	idx, err := s.screens.now(ctx)
	if err != nil {
		return res, err
	}
	var prev []string
	if b, err := s.st.MonitorState(ctx, monitorListsKey); err == nil {
		json.Unmarshal(b, &prev)
	} else if !errors.Is(err, store.ErrNotFound) {
		return res, err
	}
	cur := versionIDs(idx)
	save := func() error {
		if err := hold.check(ctx); err != nil {
			return err
		}
		b, _ := json.Marshal(cur)
		return s.st.PutMonitorState(ctx, monitorListsKey, b)
	}
	if prev == nil {
		return res, save()
	}
	was := map[string]string{} // list -> version id screened before
	for _, id := range prev {
		was[listOf(id)] = id
	}
	if behind, err := s.indexBehind(ctx, idx, was); err != nil || behind {
		// The index is older than what was screened (its successor is
		// being built): the next pass screens with that.
		return res, err
	}
	var changed []*sanctions.Entity
	var removed []*sanctions.Entity
	var changedLists []string
	for i, v := range idx.versions {
		old, ok := was[v.List]
		if ok && old == v.ID {
			continue
		}
		// A list changed: its entities are needed (an index read from
		// the cache reads them now).
		ds, err := idx.lists(ctx)
		if err != nil {
			return res, err
		}
		d := ds[i]
		changedLists = append(changedLists, d.Version.ID)
		if !ok {
			changed = append(changed, d.Entities...)
			continue
		}
		from, err := s.dataset(ctx, old)
		if err != nil {
			// The version screened before is gone from the store: screen
			// the whole new version.
			changed = append(changed, d.Entities...)
			continue
		}
		diff, err := sanctions.Diff(from, d)
		if err != nil {
			return res, err
		}
		changed = append(changed, diff.Added...)
		for _, c := range diff.Changed {
			changed = append(changed, c.New)
		}
		removed = append(removed, diff.Removed...)
	}
	res.Lists, res.Changed = changedLists, len(changed)+len(removed)
	if len(changedLists) == 0 {
		return res, nil
	}
	vessels, err := s.st.PortfolioVessels(ctx, "", "")
	if err != nil {
		return res, err
	}
	res.Vessels = len(vessels)
	// Vessels whose status cites a removed or changed record, or that a
	// changed record now matches, get a new status.
	touched := map[int]bool{}
	gone := map[string]bool{}
	for _, e := range append(append([]*sanctions.Entity(nil), removed...), changed...) {
		for _, l := range e.Listings {
			gone[l.Ref()] = true
		}
		gone[e.ID] = true
	}
	for i, v := range vessels {
		if v.Status == nil {
			continue
		}
		for _, h := range v.Status.Hits {
			if _, id, ok := strings.Cut(h, " "); ok && gone[id] {
				touched[i] = true
			}
		}
	}
	if len(changed) > 0 {
		// Screened on every core: 20,000 queries against a small index.
		small := screen.NewIndex(changed)
		hits := make([]bool, len(vessels))
		parallel(len(vessels), func(i int) { _, hits[i] = screenVessel(small, &vessels[i]) })
		for i := range vessels {
			res.Parties += len(vessels[i].Parties)
			if hits[i] {
				touched[i] = true
			}
		}
	}
	var order []int
	for i := range touched {
		order = append(order, i)
	}
	sort.Ints(order)
	var put []store.PortfolioVessel
	pass := &alertPass{}
	// The new statuses are computed on every core (reads), the alerts
	// raised in order.
	statuses := make([]*store.VesselStatus, len(order))
	errs := make([]error, len(order))
	parallel(len(order), func(j int) {
		v := vessels[order[j]]
		statuses[j], errs[j] = s.vesselStatus(ctx, idx, &v)
	})
	if err := hold.check(ctx); err != nil {
		return res, err
	}
	for j, i := range order {
		v := vessels[i]
		before := v.Status
		st, err := statuses[j], errs[j]
		if err != nil {
			pass.wait()
			return res, err
		}
		v.Status = st
		put = append(put, v)
		n, err := s.alertStatusChange(ctx, pass, v, before, st, changedLists)
		if err != nil {
			pass.wait()
			return res, err
		}
		res.Alerts += n
	}
	if err := pass.wait(); err != nil {
		return res, err
	}
	if len(put) > 0 {
		if err := hold.check(ctx); err != nil {
			return res, err
		}
		if err := s.st.PutPortfolioVessels(ctx, put); err != nil {
			return res, err
		}
	}
	res.Took = time.Since(start)
	s.log.Info("list changes screened against portfolios", "versions", strings.Join(changedLists, " "), "records", res.Changed,
		"vessels", res.Vessels, "alerts", res.Alerts, "seconds", res.Took.Seconds())
	return res, save()
}

// indexBehind says the index holds, for some list, a version older than
// the one screened before (by a node that saw a newer version first).
func (s *Service) indexBehind(ctx context.Context, idx *screenIndex, was map[string]string) (bool, error) {
	all, err := s.screens.allVersions(ctx)
	if err != nil {
		return false, err
	}
	byID := make(map[string]sanctions.Version, len(all))
	for _, v := range all {
		byID[v.ID] = v
	}
	for _, v := range idx.versions {
		old, ok := byID[was[v.List]]
		if ok && old.ID != v.ID && v.Before(old) {
			s.log.Info("monitor: the screening index is older than the versions screened; waiting for the new one", "index", idx.key, "screened", old.ID)
			return true, nil
		}
	}
	return false, nil
}

// parallel calls f(0..n-1) on as many goroutines as there are cores.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		}()
	}
	wg.Wait()
}

func listOf(versionID string) string {
	l, _, _ := strings.Cut(versionID, "@")
	return l
}

// screenVessel screens a portfolio vessel and its parties against an
// index (the changed records); it returns the parties screened and
// whether anything matched.
func screenVessel(ix *screen.Index, v *store.PortfolioVessel) (int, bool) {
	hit := false
	opt := screen.Options{Limit: 3}
	q := screen.Query{Type: "vessel", Name: v.Name}
	if v.IMO != 0 {
		q.IMO = fmt.Sprintf("%07d", v.IMO)
	}
	if v.MMSI != 0 {
		q.MMSI = fmt.Sprintf("%09d", v.MMSI)
	}
	if ans, err := ix.Screen(q, opt); err == nil {
		for _, r := range ans.Results {
			hit = hit || r.Match
		}
	}
	for _, pt := range v.Parties {
		pq := screen.Query{Type: "organization", Name: pt.Name, IMO: pt.CompanyIMO}
		if ans, err := ix.Screen(pq, opt); err == nil {
			for _, r := range ans.Results {
				hit = hit || r.Match
			}
		}
	}
	return len(v.Parties), hit
}

// partyIDHits screens parties given by their IMO company number (the
// profile screens party names).
func (s *Service) partyIDHits(idx *screenIndex, v *store.PortfolioVessel) []string {
	var out []string
	for _, pt := range v.Parties {
		if pt.CompanyIMO == "" {
			continue
		}
		ans, err := idx.ix.Screen(screen.Query{Type: "organization", IMO: pt.CompanyIMO}, screen.Options{Limit: 3})
		if err != nil {
			continue
		}
		for _, r := range ans.Results {
			if r.Match {
				for _, l := range r.Entity.Listings {
					out = append(out, pt.Role+" "+l.Ref())
				}
			}
		}
	}
	return out
}

// alertStatusChange raises the alerts a status change calls for: one per
// list hit added or removed, and one when the band changed.
// The evidence is the list versions screened.
func (s *Service) alertStatusChange(ctx context.Context, pass *alertPass, v store.PortfolioVessel, before, after *store.VesselStatus, versions []string) (int, error) {
	return s.statusAlerts(ctx, pass, v, before, after, versions, true, nil)
}

// statusAlerts raises a status change's alerts. listAlerts false (a
// change that new events caused, whose list hits are the vessel's AIS
// identity learnt, not a new list version) says new hits in the band
// change's alert instead of one alert per listing; extra is more
// evidence (the events).
func (s *Service) statusAlerts(ctx context.Context, pass *alertPass, v store.PortfolioVessel, before, after *store.VesselStatus, versions []string, listAlerts bool, extra []store.AlertEvidence) (int, error) {
	if before == nil || after == nil {
		return 0, nil
	}
	n := 0
	was := map[string]bool{}
	for _, h := range before.Hits {
		was[h] = true
	}
	is := map[string]bool{}
	for _, h := range after.Hits {
		is[h] = true
	}
	ev := []store.AlertEvidence{}
	for _, id := range versions {
		ev = append(ev, store.AlertEvidence{Kind: "list_version", Ref: id, Text: "list version " + id})
	}
	ev = append(ev, extra...)
	ev = append(ev, store.AlertEvidence{Kind: "profile", Ref: after.ProfileHash, Text: fmt.Sprintf("profile as of %s: %s, score %g", after.AsOf.Format("2006-01-02"), strings.ReplaceAll(after.Recommendation, "_", " "), after.Score)})
	var newHits []string
	for _, h := range after.Hits {
		if was[h] {
			continue
		}
		newHits = append(newHits, h)
		if !listAlerts {
			ev = append(ev, store.AlertEvidence{Kind: "list_record", Ref: h[strings.IndexByte(h, ' ')+1:], Text: h})
			continue
		}
		about, id, _ := strings.Cut(h, " ")
		a := alertFor(v, AlertListHitAdded, "high", "list:"+v.Portfolio+":"+v.ID+":"+h,
			fmt.Sprintf("%s now matches a sanctions list record: %s", subjectWords(about, v), id),
			fmt.Sprintf("A list version in force since the last screening designates %s (%s). The vessel's recommendation is %s (score %g).", subjectWords(about, v), id,
				strings.ReplaceAll(after.Recommendation, "_", " "), after.Score),
			append([]store.AlertEvidence{{Kind: "list_record", Ref: id, Text: about + " matched " + id}}, ev...))
		if ok, err := s.raiseIn(ctx, pass, a); err != nil {
			return n, err
		} else if ok {
			n++
		}
	}
	for _, h := range before.Hits {
		if is[h] || !listAlerts {
			continue
		}
		about, id, _ := strings.Cut(h, " ")
		a := alertFor(v, AlertListHitRemoved, "medium", "unlist:"+v.Portfolio+":"+v.ID+":"+h,
			fmt.Sprintf("%s no longer matches %s", subjectWords(about, v), id),
			fmt.Sprintf("The list record %s that matched %s is gone or changed in the versions now in force. The vessel's recommendation is %s (score %g).", id, subjectWords(about, v),
				strings.ReplaceAll(after.Recommendation, "_", " "), after.Score),
			append([]store.AlertEvidence{{Kind: "list_record", Ref: id, Text: "no longer matched"}}, ev...))
		if ok, err := s.raiseIn(ctx, pass, a); err != nil {
			return n, err
		} else if ok {
			n++
		}
	}
	// A band change that a list hit explains is said in that hit's alert:
	// one change of state, one alert.
	if before.Recommendation != after.Recommendation && n == 0 {
		sev := "medium"
		if after.Recommendation == "decline" {
			sev = "high"
		}
		a := alertFor(v, AlertBandChanged, sev, "band:"+v.Portfolio+":"+v.ID+":"+before.Recommendation+">"+after.Recommendation+":"+after.ProfileHash[:min(12, len(after.ProfileHash))],
			fmt.Sprintf("%s: %s -> %s", vesselWords(v), strings.ReplaceAll(before.Recommendation, "_", " "), strings.ReplaceAll(after.Recommendation, "_", " ")),
			fmt.Sprintf("The risk recommendation for %s changed from %s (score %g) to %s (score %g)%s.", vesselWords(v), strings.ReplaceAll(before.Recommendation, "_", " "), before.Score, strings.ReplaceAll(after.Recommendation, "_", " "), after.Score, hitWords(extra, newHits)), ev)
		if ok, err := s.raiseIn(ctx, pass, a); err != nil {
			return n, err
		} else if ok {
			n++
		}
	}
	return n, nil
}

// hitWords says why a band moved after new events: the events, and list
// records the vessel's identity in AIS now matches.
func hitWords(events []store.AlertEvidence, hits []string) string {
	var b strings.Builder
	if len(events) > 0 {
		b.WriteString(" after new events: ")
		for i, e := range events {
			if i > 0 {
				b.WriteString("; ")
			}
			// The summaries are sentences: their full stops would stand
			// before the semicolons and the closing one.
			b.WriteString(strings.TrimSuffix(e.Text, "."))
		}
	}
	if len(hits) > 0 {
		fmt.Fprintf(&b, "; its identity now matches %d list record(s): %s", len(hits), strings.Join(hits[:min(5, len(hits))], ", "))
		if len(hits) > 5 {
			fmt.Fprintf(&b, " and %d more", len(hits)-5)
		}
	}
	return b.String()
}

func vesselWords(v store.PortfolioVessel) string {
	name := v.Name
	if name == "" {
		name = "vessel " + v.ID
	}
	if v.IMO != 0 {
		return fmt.Sprintf("%s (IMO %d)", name, v.IMO)
	}
	return fmt.Sprintf("%s (MMSI %09d)", name, v.MMSI)
}

func subjectWords(about string, v store.PortfolioVessel) string {
	if about == "vessel" {
		return vesselWords(v)
	}
	for _, pt := range v.Parties {
		if pt.Role == about {
			return fmt.Sprintf("the %s of %s, %s", about, vesselWords(v), pt.Name)
		}
	}
	return fmt.Sprintf("the %s of %s", strings.ReplaceAll(about, "_", " "), vesselWords(v))
}

func alertFor(v store.PortfolioVessel, kind, severity, key, title, why string, ev []store.AlertEvidence) store.Alert {
	return store.Alert{Tenant: v.Tenant, Key: key, Kind: kind, Severity: severity, Portfolio: v.Portfolio, VesselRef: v.ID, IMO: v.IMO, MMSI: v.MMSI,
		VesselName: v.Name, Title: title, Why: why, Evidence: ev}
}

// raise stores an alert (one per change of state: a key seen before
// updates that alert if what it says changed, or does nothing) with its
// webhook deliveries in the same transaction, and tells the tenant's live
// subscribers. An alert closed as a false positive with suppression is
// never raised again for that key.
func (s *Service) raise(ctx context.Context, a store.Alert) (bool, error) {
	pass := &alertPass{}
	ok, err := s.raiseIn(ctx, pass, a)
	if werr := pass.wait(); err == nil {
		err = werr
	}
	return ok, err
}

// alertPass is what a monitor pass shares between its alerts: the
// tenants' suppressions, read once, and the alerts' audit records,
// queued as they are raised and waited for together (the audit writer
// commits them in a few transactions, not one per alert).
type alertPass struct {
	closed map[string][]store.Alert // tenant -> its alerts closed with suppression
	many   map[string]bool          // tenants with too many closed alerts to hold: asked per alert
	audits []*auditReq
	hooks  map[string][]store.Webhook // tenant -> its webhooks, read once
}

// wait waits for the pass's audit records.
func (p *alertPass) wait() error {
	var err error
	for _, r := range p.audits {
		if res := <-r.done; res.err != nil && err == nil {
			err = fmt.Errorf("audit log: %w", res.err)
		}
	}
	p.audits = nil
	return err
}

// raiseIn is raise within a pass: the alert's audit record is queued on
// the pass (pass.wait says it is written).
func (s *Service) raiseIn(ctx context.Context, pass *alertPass, a store.Alert) (bool, error) {
	now := s.now().UTC().Truncate(time.Millisecond)
	old, err := s.st.AlertByKey(ctx, a.Tenant, a.Key)
	switch {
	case err == nil:
		if old.Suppress || (old.Title == a.Title && old.Why == a.Why && old.Severity == a.Severity) {
			return false, nil
		}
		a.ID, a.Version, a.Created, a.State = old.ID, old.Version+1, old.Created, old.State
		if old.State == AlertClosed {
			a.State = AlertOpen
		}
		a.By, a.At, a.CloseReason = old.By, old.At, old.CloseReason
	case errors.Is(err, store.ErrNotFound):
		a.Version, a.Created, a.State = 1, now, AlertOpen
	default:
		return false, err
	}
	if s.suppressedIn(ctx, pass, a) {
		return false, nil
	}
	a.Updated = now
	ws, ok := pass.hooks[a.Tenant]
	if !ok {
		if ws, err = s.st.Webhooks(ctx, a.Tenant); err != nil {
			return false, err
		}
		if pass.hooks == nil {
			pass.hooks = map[string][]store.Webhook{}
		}
		pass.hooks[a.Tenant] = ws
	}
	deliveries := s.deliveriesTo(ws, a)
	if err := s.st.PutAlert(ctx, &a, deliveries, alertPayload); err != nil {
		return false, err
	}
	req, err := s.queueRecord(ctx, Principal{Tenant: a.Tenant, Actor: "monitor"}, audit.ActionAlert, "alert:"+fmt.Sprint(a.ID),
		map[string]any{"raised": a.Kind, "version": a.Version, "key": a.Key, "title": a.Title})
	if err != nil {
		return true, err
	}
	pass.audits = append(pass.audits, req)
	s.hub.publish(a)
	s.wakeDeliveries()
	return true, nil
}

// queueRecord queues an audit record without waiting for it (record
// waits); the answer comes on the request's done channel.
func (s *Service) queueRecord(ctx context.Context, p Principal, action, subject string, data any) (*auditReq, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("audit: encode data: %w", err)
	}
	if p.Tenant == "" {
		return nil, errors.New("audit: no tenant")
	}
	s.audit.start()
	req := &auditReq{rec: store.AuditRecord{Tenant: p.Tenant, Time: s.now().UTC().Truncate(time.Millisecond), Actor: p.Actor, Action: action, Subject: subject, Data: raw},
		done: make(chan auditRes, 1)}
	select {
	case s.audit.reqs <- req:
		return req, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// suppressedIn is suppressed with the tenant's suppressions read once a
// pass.
func (s *Service) suppressedIn(ctx context.Context, pass *alertPass, a store.Alert) bool {
	const most = 10000 // the store's largest page
	if pass.closed == nil {
		pass.closed, pass.many = map[string][]store.Alert{}, map[string]bool{}
	}
	cs, ok := pass.closed[a.Tenant]
	if !ok && !pass.many[a.Tenant] {
		all, err := s.st.Alerts(ctx, a.Tenant, store.AlertFilter{States: []string{AlertClosed}, Limit: most})
		if err != nil || len(all) >= most {
			pass.many[a.Tenant] = true
		} else {
			cs = []store.Alert{}
			for _, c := range all {
				if c.Suppress {
					cs = append(cs, c)
				}
			}
			pass.closed[a.Tenant] = cs
		}
	}
	if pass.many[a.Tenant] {
		return s.suppressed(ctx, a)
	}
	for _, c := range cs {
		if c.Kind == a.Kind && c.VesselRef == a.VesselRef && c.Portfolio == a.Portfolio && suppressionCause(c) == suppressionCause(a) {
			return true
		}
	}
	return false
}

// suppressed says an alert's cause was closed as a false positive for
// this vessel: the same kind on the same vessel (and, for list hits, the
// same record) stays quiet.
func (s *Service) suppressed(ctx context.Context, a store.Alert) bool {
	closed, err := s.st.Alerts(ctx, a.Tenant, store.AlertFilter{States: []string{AlertClosed}, Kinds: []string{a.Kind}, VesselRef: a.VesselRef, Portfolio: a.Portfolio})
	if err != nil {
		return false
	}
	for _, c := range closed {
		if c.Suppress && suppressionCause(c) == suppressionCause(a) {
			return true
		}
	}
	return false
}

// suppressionCause is what a suppression covers: for list hits, the
// record; for bands, the new band; for events, the event kind.
func suppressionCause(a store.Alert) string {
	switch a.Kind {
	case AlertListHitAdded, AlertListHitRemoved:
		for _, e := range a.Evidence {
			if e.Kind == "list_record" {
				return e.Ref
			}
		}
	case AlertEvent:
		for _, e := range a.Evidence {
			if e.Kind == "event_kind" {
				return e.Ref
			}
		}
	case AlertBandChanged:
		if _, band, ok := strings.Cut(a.Title, "-> "); ok {
			return band
		}
	}
	return a.Key
}

// Alerts lists the tenant's alerts, newest first. A state or kind the
// filter names that alerts cannot have is refused (CodeInvalid), and a
// portfolio the tenant does not have is not found, rather than matching
// nothing.
func (s *Service) Alerts(ctx context.Context, p Principal, f store.AlertFilter) ([]store.Alert, error) {
	if err := p.need(RoleViewer, "reading alerts"); err != nil {
		return nil, err
	}
	for _, v := range f.States {
		if !slices.Contains(AlertStates, v) {
			return nil, Errorf(CodeInvalid, "alert state %q: one of %s", ClipID(v), strings.Join(AlertStates, ", "))
		}
	}
	for _, v := range f.Kinds {
		if !slices.Contains(AlertKinds, v) {
			return nil, Errorf(CodeInvalid, "alert kind %q: one of %s", ClipID(v), strings.Join(AlertKinds, ", "))
		}
	}
	if f.Portfolio != "" {
		if _, err := s.portfolio(ctx, p, f.Portfolio); err != nil {
			return nil, err
		}
	}
	as, err := s.st.Alerts(ctx, p.Tenant, f)
	if as == nil {
		as = []store.Alert{}
	}
	return as, err
}

// GetAlert returns one of the tenant's alerts.
func (s *Service) GetAlert(ctx context.Context, p Principal, id int64) (store.Alert, error) {
	if err := p.need(RoleViewer, "reading an alert"); err != nil {
		return store.Alert{}, err
	}
	a, err := s.st.Alert(ctx, p.Tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		return a, Errorf(CodeNotFound, "no alert %d", id)
	}
	return a, err
}

// AcknowledgeAlert marks an alert seen and being handled.
func (s *Service) AcknowledgeAlert(ctx context.Context, p Principal, id int64) (store.Alert, error) {
	return s.alertLifecycle(ctx, p, id, AlertAcknowledged, "", false)
}

// CloseAlert closes an alert with a reason; suppress (for a false
// positive) keeps the same cause on the same vessel quiet from now on.
func (s *Service) CloseAlert(ctx context.Context, p Principal, id int64, reason string, suppress bool) (store.Alert, error) {
	if strings.TrimSpace(reason) == "" {
		return store.Alert{}, Errorf(CodeInvalid, "closing an alert needs a reason")
	}
	return s.alertLifecycle(ctx, p, id, AlertClosed, reason, suppress)
}

func (s *Service) alertLifecycle(ctx context.Context, p Principal, id int64, state, reason string, suppress bool) (store.Alert, error) {
	if err := p.need(RoleAnalyst, "handling an alert"); err != nil {
		return store.Alert{}, err
	}
	a, err := s.GetAlert(ctx, p, id)
	if err != nil {
		return a, err
	}
	if a.State == AlertClosed {
		return a, Errorf(CodePrecondition, "alert %d is closed", id)
	}
	if len(reason) > 4000 {
		return a, Errorf(CodeInvalid, "a reason is at most 4,000 characters")
	}
	a.State, a.By, a.At = state, p.Actor, s.now().UTC().Truncate(time.Second)
	if state == AlertClosed {
		a.CloseReason, a.Suppress = strings.TrimSpace(reason), suppress
	}
	if err := s.st.PutAlert(ctx, &a, nil, nil); err != nil {
		return a, err
	}
	if _, err := s.record(ctx, p, audit.ActionAlert, "alert:"+fmt.Sprint(id), map[string]any{"state": state, "reason": reason, "suppress": suppress}); err != nil {
		return a, err
	}
	s.hub.publish(a)
	return a, nil
}

// alertHub fans alerts out to live subscribers (server-sent events), per
// tenant. A slow subscriber loses alerts rather than slowing the monitor
// (it reads the inbox to catch up).
type alertHub struct {
	mu   sync.Mutex
	subs map[string]map[chan store.Alert]bool
	// Followed from the store (FollowAlerts), per tenant with
	// subscribers: the highest alert change read (store.Alert.Change),
	// and the changes made and sent here above it, not to be sent again
	// when they are read. start is the change the tenant's first call
	// found: the follower sent none at or below it.
	cursor map[string]int64
	start  map[string]int64
	local  map[string]map[int64]bool
}

// publish sends an alert this node changed (its Change set by the store)
// to the tenant's subscribers, once: a change the follower has already
// read from the store (above where it started, at or below its cursor)
// was sent by it; one at or below where it started was not (its first
// call only noted where the store was).
func (h *alertHub) publish(a store.Alert) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cur, ok := h.cursor[a.Tenant]; ok {
		if a.Change <= cur {
			if a.Change > h.start[a.Tenant] {
				return
			}
			h.send(a)
			return
		}
		if h.local[a.Tenant] == nil {
			h.local[a.Tenant] = map[int64]bool{}
		}
		h.local[a.Tenant][a.Change] = true
	}
	h.send(a)
}

// send gives an alert to the tenant's subscribers (mu held).
func (h *alertHub) send(a store.Alert) {
	for ch := range h.subs[a.Tenant] {
		select {
		case ch <- a:
		default:
		}
	}
}

// followBatch is how many alert changes FollowAlerts reads at a time.
const followBatch = 1000

// FollowAlerts gives this node's live subscribers (the alert stream) the
// alert changes other nodes on the store made since the last call: a new
// alert, a new version, a state change (acknowledged, closed). Of several
// servers one runs the monitor at a time, analysts act on any, and a
// client may be connected to any. It reads, per tenant with subscribers,
// the alerts whose last change is above the last it read, in the order
// of the changes (the store numbers them in commit order), each change
// once; a change made on this node was sent when it was made and is not
// sent again. A tenant's first call only notes where the store is. An
// alert changed twice between two calls is sent once, as it is now.
func (s *Service) FollowAlerts(ctx context.Context) error {
	h := &s.hub
	h.mu.Lock()
	var tenants []string
	for t, subs := range h.subs {
		if len(subs) > 0 {
			tenants = append(tenants, t)
		}
	}
	for t := range h.cursor {
		if len(h.subs[t]) == 0 {
			delete(h.cursor, t)
			delete(h.start, t)
			delete(h.local, t)
		}
	}
	h.mu.Unlock()
	sort.Strings(tenants)
	for _, t := range tenants {
		for {
			h.mu.Lock()
			cur, ok := h.cursor[t]
			h.mu.Unlock()
			f := store.AlertFilter{AfterChange: cur, Order: store.AlertsByChange, Limit: followBatch}
			if !ok {
				f = store.AlertFilter{Order: store.AlertsLastChanged, Limit: 1} // the latest: where to start
			}
			as, err := s.st.Alerts(ctx, t, f)
			if err != nil {
				return err
			}
			h.mu.Lock()
			if h.cursor == nil {
				h.cursor, h.start, h.local = map[string]int64{}, map[string]int64{}, map[string]map[int64]bool{}
			}
			if !ok {
				// (A change made here between the read and this is
				// sent again by the next call: once, at a tenant's
				// first subscription.)
				if _, set := h.cursor[t]; !set {
					h.cursor[t] = 0
					if len(as) > 0 {
						h.cursor[t] = as[0].Change
					}
					h.start[t] = h.cursor[t]
				}
				h.mu.Unlock()
				break
			}
			for _, a := range as {
				if a.Change <= h.cursor[t] {
					continue
				}
				h.cursor[t] = a.Change
				if h.local[t][a.Change] {
					continue
				}
				h.send(a)
			}
			for c := range h.local[t] {
				if c <= h.cursor[t] {
					delete(h.local[t], c)
				}
			}
			h.mu.Unlock()
			if len(as) < followBatch {
				break
			}
		}
	}
	return nil
}

// DefaultAlertFollow is how often a server reads the alert changes
// other servers made (RunFollowAlerts).
const DefaultAlertFollow = time.Second

// RunFollowAlerts calls FollowAlerts every interval until ctx ends.
func (s *Service) RunFollowAlerts(ctx context.Context, every time.Duration) {
	s.repeat(ctx, every, "alert stream: following the store", s.FollowAlerts)
}

// SubscribeAlerts returns a channel of the tenant's alerts as they are
// raised or change, and a function to stop.
func (s *Service) SubscribeAlerts(p Principal) (<-chan store.Alert, func(), error) {
	if err := p.need(RoleViewer, "following alerts"); err != nil {
		return nil, nil, err
	}
	ch := make(chan store.Alert, 256)
	h := &s.hub
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[string]map[chan store.Alert]bool{}
	}
	if h.subs[p.Tenant] == nil {
		h.subs[p.Tenant] = map[chan store.Alert]bool{}
	}
	h.subs[p.Tenant][ch] = true
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs[p.Tenant], ch)
			h.mu.Unlock()
		})
	}, nil
}
