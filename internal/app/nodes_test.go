package app_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/snapshot"
	"github.com/tidewatch/tidewatch/screen"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/postgres"
	"github.com/tidewatch/tidewatch/store/postgres/pgtest"
)

// Several API nodes on one PostgreSQL store: each node is an app.Service
// on a connection pool of its own, as a server process is.

const (
	unOld = "un@2025-04-19-929a40ec"
	unNew = "un@2026-02-27-66b392a4"
	// unNewFile is the embedded UN list the publisher "publishes" in
	// these tests: the store starts with every other snapshot file.
	unNewFile = "un_consolidated_2026-02-27.xml"
)

// nodeClock is the nodes' clock, moved by the tests.
type nodeClock struct{ t atomic.Pointer[time.Time] }

func newNodeClock(t time.Time) *nodeClock { c := &nodeClock{}; c.set(t); return c }
func (c *nodeClock) now() time.Time       { return *c.t.Load() }
func (c *nodeClock) set(t time.Time)      { c.t.Store(&t) }
func (c *nodeClock) add(d time.Duration)  { c.set(c.now().Add(d)) }

// pgNodes opens n nodes on one new PostgreSQL store (skipped without a
// server, as every PostgreSQL test is) sharing clock.
func pgNodes(t *testing.T, n int, clock *nodeClock) []*app.Service {
	t.Helper()
	url := pgtest.URL(t)
	ctx := context.Background()
	var nodes []*app.Service
	for range n {
		db, err := postgres.Open(ctx, url+"&pool_max_conns=6", postgres.Options{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		s := app.New(app.Config{Store: db, Now: clock.now})
		t.Cleanup(func() { s.Close(); db.Close() })
		nodes = append(nodes, s)
	}
	return nodes
}

// snapshotExcept is the embedded snapshot without the files whose names
// end in one of skip.
func snapshotExcept(skip ...string) []sanctions.File {
	var out []sanctions.File
next:
	for _, f := range snapshot.Files() {
		for _, s := range skip {
			if strings.HasSuffix(f.Name, s) {
				continue next
			}
		}
		out = append(out, f)
	}
	return out
}

// publisher is a list source fed from an embedded file (no network); a
// fetch can be held until the test releases it.
type publisher struct {
	list     string
	files    []sanctions.File
	fetches  atomic.Int32
	fetching chan struct{} // receives a value when a fetch starts, if set
	release  chan struct{} // a fetch waits for it, if set
}

func (p *publisher) List() string     { return p.list }
func (p *publisher) Describe() string { return "test publisher of " + p.list }
func (p *publisher) Fetch(ctx context.Context) ([]sanctions.File, time.Time, func(), error) {
	p.fetches.Add(1)
	if p.fetching != nil {
		p.fetching <- struct{}{}
	}
	if p.release != nil {
		select {
		case <-p.release:
		case <-ctx.Done():
			return nil, time.Time{}, nil, ctx.Err()
		}
	}
	return p.files, snapshot.Taken, func() {}, nil
}

// seedWithoutNewUN stores every snapshot list but the newest UN version.
func seedWithoutNewUN(t *testing.T, s *app.Service) {
	t.Helper()
	res, err := s.ImportLists(context.Background(), app.LocalPrincipal("seed"), app.ImportRequest{Files: snapshotExcept(unNewFile), Source: "test seed", MinRatio: -1})
	if err != nil || res.Failed() > 0 {
		t.Fatalf("seed: %+v, %v", res, err)
	}
}

func screenedUN(t *testing.T, s *app.Service) app.VersionRef {
	t.Helper()
	res, err := s.Screen(context.Background(), app.LocalPrincipal("test"), screen.Query{Name: "SOUTH SHIPPING LINE IRAN"}, app.ScreenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Lists {
		if r.List == "un" {
			return r
		}
	}
	t.Fatalf("no UN version in the answer's provenance: %+v", res.Lists)
	return app.VersionRef{}
}

func listAudits(t *testing.T, s *app.Service) int {
	t.Helper()
	recs, err := s.AuditRecords(context.Background(), app.LocalPrincipal("test"), app.AuditFilter{Action: audit.ActionLists})
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

// TestListUpdateOnceAcrossNodes: two nodes run the periodic list update
// at the same moment and the publisher has a new UN version: it is
// imported once (one import log row, one audit record, one fetch), and
// the node that lost skips its pass without an error, while the winner
// holds the update and again after it (the last pass's time is in the
// store). A day later the next pass runs again; a pass cut short by a
// shutdown gives its claim back.
func TestListUpdateOnceAcrossNodes(t *testing.T) {
	ctx := context.Background()
	clock := newNodeClock(time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC))
	nodes := pgNodes(t, 2, clock)
	a, b := nodes[0], nodes[1]
	seedWithoutNewUN(t, a)
	op := app.LocalPrincipal("server")
	audits0 := listAudits(t, a)
	pub := &publisher{list: "un", files: snapshotExcept(), fetching: make(chan struct{}, 2), release: make(chan struct{})}
	for _, f := range snapshot.Files() {
		if strings.HasSuffix(f.Name, unNewFile) {
			pub.files = []sanctions.File{f}
		}
	}
	sources := func() []app.ListSource { return []app.ListSource{pub} }
	const every = 24 * time.Hour

	// Both nodes' timers fire together: A's pass is fetching when B's
	// starts.
	type outcome struct {
		pass app.ListUpdatePass
		err  error
	}
	var wg sync.WaitGroup
	out := make([]outcome, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		out[0].pass, out[0].err = a.UpdateListsDue(ctx, op, sources, every)
	}()
	<-pub.fetching
	bDone := make(chan struct{})
	go func() {
		defer close(bDone)
		out[1].pass, out[1].err = b.UpdateListsDue(ctx, op, sources, every)
	}()
	select {
	case <-bDone: // B skipped while A held the update
	case <-pub.fetching: // B fetches too (what must not happen)
	}
	close(pub.release)
	wg.Wait()
	<-bDone
	// And B's timer again, after A's pass.
	again, err := b.UpdateListsDue(ctx, op, sources, every)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range out {
		if o.err != nil {
			t.Fatalf("node %d: %v", i, o.err)
		}
	}
	if !out[0].pass.Ran || out[1].pass.Ran || again.Ran {
		t.Fatalf("passes run: A %v, B at the same moment %v, B after %v; want only A's", out[0].pass.Ran, out[1].pass.Ran, again.Ran)
	}
	if got := out[0].pass.Result.Versions; len(got) != 1 || got[0].Outcome != app.OutcomeStored || got[0].Version.ID != unNew {
		t.Fatalf("A's pass: %+v", got)
	}
	if !again.Next.Equal(clock.now().Add(every)) {
		t.Errorf("B's next pass is due %s, want a day after A's", again.Next)
	}
	if n := pub.fetches.Load(); n != 1 {
		t.Errorf("the publisher was asked %d times", n)
	}
	imports, err := b.ListImports(ctx, op, "un")
	if err != nil {
		t.Fatal(err)
	}
	var mine []store.ListImport
	for _, im := range imports {
		if im.Source == pub.Describe() {
			mine = append(mine, im)
		}
	}
	if len(mine) != 1 || mine[0].Outcome != app.OutcomeStored || mine[0].Version != unNew {
		t.Errorf("import log of the update: %+v, want one row storing %s", mine, unNew)
	}
	if n := listAudits(t, b) - audits0; n != 1 {
		t.Errorf("%d audit records of list updates, want 1", n)
	}

	// A day on, B's timer fires first: it runs the pass (the version is
	// held: unchanged).
	clock.add(every)
	pub.fetching, pub.release = nil, nil
	next, err := b.UpdateListsDue(ctx, op, sources, every)
	if err != nil || !next.Ran || len(next.Result.Versions) != 1 || next.Result.Versions[0].Outcome != app.OutcomeUnchanged {
		t.Fatalf("the next day's pass: %+v, %v", next, err)
	}
	if n := listAudits(t, a) - audits0; n != 2 {
		t.Errorf("%d audit records of list updates after two days, want 2", n)
	}

	// A day on again, A's pass is cut short (its server stops while it
	// downloads): it gives its claim back, and B's pass runs at once.
	clock.add(every)
	pub.fetching, pub.release = make(chan struct{}, 1), make(chan struct{})
	actx, stop := context.WithCancel(ctx)
	cut := make(chan passOrErr, 1)
	go func() {
		p, err := a.UpdateListsDue(actx, op, sources, every)
		cut <- passOrErr{p, err}
	}()
	<-pub.fetching
	stop()
	if r := <-cut; !r.pass.Ran {
		t.Fatalf("A's pass on the third day did not run: %+v, %v", r.pass, r.err)
	}
	pub.fetching, pub.release = nil, nil
	if p, err := b.UpdateListsDue(ctx, op, sources, every); err != nil || !p.Ran {
		t.Errorf("B's pass after A's was cut short: ran %v, %v (last %s)", p.Ran, err, p.Last)
	}
}

type passOrErr struct {
	pass app.ListUpdatePass
	err  error
}

// TestEnsureListsOnceAcrossNodes: servers starting together on a new
// store seed the embedded lists once: each version logged "stored" once.
func TestEnsureListsOnceAcrossNodes(t *testing.T) {
	ctx := context.Background()
	clock := newNodeClock(time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC))
	nodes := pgNodes(t, 3, clock)
	var wg sync.WaitGroup
	added := make([]int, len(nodes))
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Add(1)
		go func() { defer wg.Done(); added[i], errs[i] = n.EnsureLists(ctx) }()
	}
	wg.Wait()
	total := 0
	for i := range nodes {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		total += added[i]
	}
	vs, err := nodes[0].ListVersions(ctx, app.LocalPrincipal("test"))
	if err != nil {
		t.Fatal(err)
	}
	imports, err := nodes[0].ListImports(ctx, app.LocalPrincipal("test"), "")
	if err != nil {
		t.Fatal(err)
	}
	if total != len(vs) || len(imports) != len(vs) {
		t.Errorf("%d versions stored; the nodes say they added %d, and the import log has %d rows", len(vs), total, len(imports))
	}
	for _, im := range imports {
		if im.Outcome != app.OutcomeStored {
			t.Errorf("import log: %+v", im)
		}
	}
}

// TestNewVersionOnEveryNode: node A imports a new UN version; node B's
// monitor, screening list changes with a stale index, must not undo A's
// pass (screening the change backwards raised "removed" alerts and the
// same designations again on A's next pass); B answers with the new
// version once it has read the store, and node C, which only polls
// (serve --list-poll), rebuilds its index in the background and then
// names the new version's id and SHA-256.
func TestNewVersionOnEveryNode(t *testing.T) {
	ctx := context.Background()
	clock := newNodeClock(time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC))
	nodes := pgNodes(t, 3, clock)
	a, b, c := nodes[0], nodes[1], nodes[2]
	local := app.LocalPrincipal("test")
	seedWithoutNewUN(t, a)
	// A vessel whose owner the new UN version designates.
	if _, err := a.CreatePortfolio(ctx, local, "fleet", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddVessels(ctx, local, "fleet", []app.VesselEntry{{ID: "ssl", IMO: "9167253", Name: "SIM CARRIER",
		Parties: []store.Party{{Role: "owner", Name: "SOUTH SHIPPING LINE IRAN (SSL)"}}}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if _, err := n.ScreenListChanges(ctx); err != nil {
			t.Fatal(err)
		}
		if v := screenedUN(t, n); v.ID != unOld {
			t.Fatalf("before the import a node screens with %s", v.ID)
		}
	}

	// Alert streams on A (whose monitor raises the alerts) and on C.
	streams := map[string]<-chan store.Alert{}
	for name, n := range map[string]*app.Service{"A": a, "C": c} {
		ch, stop, err := n.SubscribeAlerts(local)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		streams[name] = ch
		if err := n.FollowAlerts(ctx); err != nil { // notes where the store is
			t.Fatal(err)
		}
	}

	// Another tenant's subscriber on C, and on A: it must get none of them.
	other := app.Principal{Tenant: "other-insurer", Actor: "test", Role: app.RoleViewer}
	otherStreams := map[string]<-chan store.Alert{}
	for name, n := range map[string]*app.Service{"A": a, "C": c} {
		ch, stop, err := n.SubscribeAlerts(other)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		otherStreams[name] = ch
		if err := n.FollowAlerts(ctx); err != nil {
			t.Fatal(err)
		}
	}

	var files []sanctions.File
	for _, f := range snapshot.Files() {
		if strings.HasSuffix(f.Name, unNewFile) {
			files = append(files, f)
		}
	}
	res, err := a.ImportLists(ctx, local, app.ImportRequest{Files: files, Source: "test"})
	if err != nil || len(res.Versions) != 1 || res.Versions[0].Outcome != app.OutcomeStored {
		t.Fatalf("import on A: %+v, %v", res, err)
	}
	if res.Monitor == nil || res.Monitor.Alerts == 0 {
		t.Fatalf("A's import screened the change against the portfolio and raised no alert: %+v", res.Monitor)
	}
	// Both streams carry the new alerts once: A's as it raised them, C's
	// from the store.
	for _, name := range []string{"A", "C"} {
		n := map[string]*app.Service{"A": a, "C": c}[name]
		if err := n.FollowAlerts(ctx); err != nil {
			t.Fatal(err)
		}
		seen := map[int64]int{}
	drain:
		for {
			select {
			case al := <-streams[name]:
				seen[al.ID]++
			default:
				break drain
			}
		}
		if len(seen) != res.Monitor.Alerts {
			t.Errorf("the alert stream on %s carried %d alerts; A raised %d", name, len(seen), res.Monitor.Alerts)
		}
		for id, k := range seen {
			if k != 1 {
				t.Errorf("the alert stream on %s carried alert %d %d times", name, id, k)
			}
		}
	}
	// A change of that alert made on A (acknowledged), then one made on B
	// (closed), which has no subscriber: each reaches the streams on A
	// and on C once, whichever node made it (without following the
	// changes, C's stream carried neither).
	raised, err := a.Alerts(ctx, local, store.AlertFilter{})
	if err != nil || len(raised) == 0 {
		t.Fatalf("alerts after the import: %d, %v", len(raised), err)
	}
	id := raised[0].ID
	for _, step := range []struct {
		state  string
		change func() error
	}{
		{app.AlertAcknowledged, func() error { _, err := a.AcknowledgeAlert(ctx, local, id); return err }},
		{app.AlertClosed, func() error { _, err := b.CloseAlert(ctx, local, id, "cover declined", false); return err }},
	} {
		if err := step.change(); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"A", "C"} {
			n := map[string]*app.Service{"A": a, "C": c}[name]
			for range 2 { // a second call finds nothing new
				if err := n.FollowAlerts(ctx); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
		drainChanges:
			for {
				select {
				case al := <-streams[name]:
					got = append(got, fmt.Sprintf("%d:%s", al.ID, al.State))
				default:
					break drainChanges
				}
			}
			if want := []string{fmt.Sprintf("%d:%s", id, step.state)}; !slices.Equal(got, want) {
				t.Errorf("the alert stream on %s carried %v after the alert was %s, want %v once", name, got, step.state, want)
			}
		}
	}
	for name, ch := range otherStreams {
		select {
		case al := <-ch:
			t.Errorf("another tenant's alert stream on %s carried alert %d of tenant %s", name, al.ID, al.Tenant)
		default:
		}
	}
	alertVersions := func() int {
		all, err := a.Alerts(ctx, local, store.AlertFilter{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, al := range all {
			n += al.Version
		}
		return n
	}
	before := alertVersions()

	// B has not read the store since: its monitor screens with what the
	// store holds, and finds the change screened.
	m, err := b.ScreenListChanges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Lists) != 0 || m.Alerts != 0 || alertVersions() != before {
		t.Errorf("B's monitor screened %v again and raised %d alerts (%d alert versions before, %d after)", m.Lists, m.Alerts, before, alertVersions())
	}
	if m, err := a.ScreenListChanges(ctx); err != nil || len(m.Lists) != 0 || m.Alerts != 0 {
		t.Errorf("A's next pass: %+v, %v", m, err)
	}
	if v := screenedUN(t, b); v.ID != unNew {
		t.Errorf("B screens with %s after its monitor read the store", v.ID)
	}

	// C only polls.
	if v := screenedUN(t, c); v.ID != unOld {
		t.Fatalf("C screens with %s before reading the store", v.ID)
	}
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); c.RunListPoll(pctx, 10*time.Millisecond) }()
	defer func() { stop(); <-done }()
	var got app.VersionRef
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = screenedUN(t, c); got.ID == unNew {
			break
		}
	}
	want := res.Versions[0].Version
	if got.ID != want.ID || got.SHA256 != want.SHA256 {
		t.Fatalf("C answers with %+v after polling, want %s (%s)", got, want.ID, want.SHA256)
	}
}
