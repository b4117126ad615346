package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/store"
)

// The tests of this file cover what the first suite left out (users'
// and sessions' fields, bytewise orders, strings that are not UTF-8,
// ties between events, area edges, the monitoring store) and writers
// working at once on one store.

func testUsersAndSessions(t *testing.T, st store.Store) {
	u := store.User{Tenant: "club", Name: "alice", Role: "admin", PasswordHash: "h1", Created: t0, FailedLogins: 4, LockedUntil: t0.Add(time.Hour)}
	must(t, st.PutUser(ctx, u))
	u.Disabled, u.PasswordHash = true, "h2"
	must(t, st.PutUser(ctx, u))
	got, err := st.User(ctx, "club", "alice")
	must(t, err)
	if !got.Disabled || got.PasswordHash != "h2" || got.FailedLogins != 4 || !got.LockedUntil.Equal(t0.Add(time.Hour)) {
		t.Errorf("user: %+v", got)
	}
	if _, err := st.Session(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing session: %v", err)
	}
	s1 := store.Session{IDHash: "s1", Tenant: "club", User: "alice", CSRFHash: "c1", Created: t0, Expires: t0.Add(time.Hour)}
	s2 := store.Session{IDHash: "s2", Tenant: "club", User: "alice", CSRFHash: "c2", Created: t0, Expires: t0.Add(time.Hour)}
	s3 := store.Session{IDHash: "s3", Tenant: "club", User: "bob", CSRFHash: "c3", Created: t0, Expires: t0.Add(time.Hour)}
	for _, s := range []store.Session{s1, s2, s3} {
		must(t, st.PutSession(ctx, s))
	}
	s1.Expires = t0.Add(2 * time.Hour)
	must(t, st.PutSession(ctx, s1))
	if got, err := st.Session(ctx, "s1"); err != nil || got != s1 {
		t.Errorf("session: %+v %v", got, err)
	}
	must(t, st.DeleteSession(ctx, "s2"))
	if _, err := st.Session(ctx, "s2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted session: %v", err)
	}
	must(t, st.DeleteSessions(ctx, "club", "alice"))
	if _, err := st.Session(ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a session of a user whose sessions ended: %v", err)
	}
	if _, err := st.Session(ctx, "s3"); err != nil {
		t.Errorf("another user's session ended too: %v", err)
	}
	// A session made two days after s3 expired sweeps it away.
	must(t, st.PutSession(ctx, store.Session{IDHash: "s4", Tenant: "club", User: "bob", Created: t0.Add(49 * time.Hour), Expires: t0.Add(50 * time.Hour)}))
	if _, err := st.Session(ctx, "s3"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a long-expired session kept: %v", err)
	}
}

// Lists come back in bytewise order of their keys, whatever the
// database's collation: "B" before "a", "Z" before "_".
func testBytewiseOrder(t *testing.T, st store.Store) {
	ids := []string{"a", "B", "_x", "Z", "é", "b"}
	for _, id := range ids {
		must(t, st.PutTenant(ctx, store.Tenant{ID: id, Created: t0}))
		must(t, st.PutUser(ctx, store.User{Tenant: "club", Name: id, Created: t0}))
		must(t, st.PutPortfolio(ctx, store.Portfolio{Tenant: "club", ID: id, Created: t0}))
	}
	want := append([]string(nil), ids...)
	sort.Strings(want)
	ts, err := st.Tenants(ctx)
	must(t, err)
	mine := map[string]bool{}
	for _, id := range ids {
		mine[id] = true
	}
	var got []string
	for _, x := range ts {
		if mine[x.ID] { // a store may come with tenants of its own
			got = append(got, x.ID)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tenants in order %q, want %q", got, want)
	}
	us, err := st.Users(ctx, "club")
	must(t, err)
	got = got[:0]
	for _, u := range us {
		got = append(got, u.Name)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("users in order %q, want %q", got, want)
	}
	ps, err := st.Portfolios(ctx, "club")
	must(t, err)
	got = got[:0]
	for _, p := range ps {
		got = append(got, p.ID)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("portfolios in order %q, want %q", got, want)
	}
}

// Identity values come from AIS files (names from a CSV in another
// encoding, padding bytes) and audit subjects from what people type:
// they are stored and returned byte for byte, and the audit chain over
// them verifies. A lookup by a key no record can have finds nothing.
func testOddBytes(t *testing.T, st store.Store) {
	odd := "K\xffANG\x00SAN \xc3\x28"
	must(t, st.PutRun(ctx, store.Run{ID: "a"}))
	must(t, st.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: "a", Batches: 1}, Identities: []store.Identity{
		{MMSI: 445000101, Field: "name", Value: odd, First: t0, Last: t0, Count: 1, Source: "f\xfe.csv"},
		{MMSI: 445000101, Field: "name", Value: "KANG SAN", First: t0, Last: t0, Count: 1, Source: "f.csv"},
	}}))
	ids, err := st.IdentityHistory(ctx, store.VesselQuery{MMSI: 445000101})
	must(t, err)
	found := false
	for _, id := range ids {
		if id.Value == odd {
			found = id.Source == "f\xfe.csv"
		}
	}
	if len(ids) != 2 || !found {
		t.Errorf("identity values with odd bytes: %+v", ids)
	}
	l := &audit.Log{St: st, Tenant: "club", Now: func() time.Time { return t0 }}
	if _, err := l.Append(ctx, "an\xffalyst", audit.ActionScreen, "name:"+odd, map[string]string{"q": odd}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, "x", audit.ActionScreen, "name:plain", nil); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(ctx, st, "club")
	must(t, err)
	if !rep.OK() || rep.Records != 2 {
		t.Errorf("audit chain over odd bytes: %+v", rep)
	}
	tail, _ := st.AuditTail(ctx, "club")
	n := 0
	must(t, st.AuditRecords(ctx, "club", func(r store.AuditRecord) error {
		if n++; n == 1 && (r.Actor != "an\xffalyst" || r.Subject != "name:"+odd) {
			t.Errorf("audit record: %q %q", r.Actor, r.Subject)
		}
		return nil
	}))
	if tail.Seq != 2 {
		t.Errorf("tail %d", tail.Seq)
	}
	bad := "x\xff\x00"
	if _, err := st.User(ctx, "club", bad); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("user by an odd name: %v", err)
	}
	if _, err := st.Session(ctx, bad); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session by an odd hash: %v", err)
	}
	if _, err := st.APIKey(ctx, bad); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("key by an odd id: %v", err)
	}
	if _, err := st.Tenant(ctx, bad); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tenant by an odd id: %v", err)
	}
	if _, err := st.Run(ctx, bad); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("run by an odd id: %v", err)
	}
}

// Two events detect.SortEvents ranks equal come back in one order, not
// in the order some run happened to store them.
func testEventTies(t *testing.T, st store.Store) {
	ev := func(mmsi uint32, lat float64) detect.Event {
		return detect.Event{Kind: detect.KindGap, Vessels: []detect.Vessel{{MMSI: mmsi}}, Start: t0, End: t0.Add(8 * time.Hour), Lat: lat, Lon: 2}
	}
	must(t, st.PutRun(ctx, store.Run{ID: "a"}))
	must(t, st.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: "a", Batches: 1}, Events: []store.StoredEvent{
		{Seq: 0, Event: ev(412000001, 8)}, {Seq: 1, Event: ev(412000001, 9)},
		{Seq: 2, Event: ev(412000002, 9)}, {Seq: 3, Event: ev(412000002, 8)},
	}}))
	first := func(evs []detect.Event) []any {
		var out []any
		for _, e := range evs {
			out = append(out, e.Lat)
		}
		return out
	}
	a, err := st.Events(ctx, []uint32{412000001}, t0, t0.Add(time.Hour))
	must(t, err)
	b, err := st.Events(ctx, []uint32{412000002}, t0, t0.Add(time.Hour))
	must(t, err)
	if len(a) != 2 || !reflect.DeepEqual(first(a), first(b)) {
		t.Errorf("tied events in store order: %v and %v", first(a), first(b))
	}
	qa, err := st.QueryEvents(ctx, store.EventQuery{MMSIs: []uint32{412000001}})
	must(t, err)
	qb, err := st.QueryEvents(ctx, store.EventQuery{MMSIs: []uint32{412000002}})
	must(t, err)
	if !reflect.DeepEqual(first(qa), first(a)) || !reflect.DeepEqual(first(qb), first(b)) {
		t.Errorf("QueryEvents and Events disagree: %v %v", first(qa), first(qb))
	}
}

// An area's edges are in it; a hair outside is not; a box across the
// antimeridian takes both sides, AIS's 181 ("not available") included,
// as Contains says.
func testAreaEdges(t *testing.T, st store.Store) {
	pts := [][2]float64{{35, 120}, {40, 130}, {35 - 1e-9, 125}, {37, 130 + 1e-9}, {10, 180}, {10, -180}, {10, 181}, {91, 181}, {0, 0}}
	var evs []store.StoredEvent
	for i, p := range pts {
		evs = append(evs, store.StoredEvent{Seq: int64(i), Event: detect.Event{Kind: detect.KindLoitering, Vessels: []detect.Vessel{{MMSI: uint32(412000000 + i)}},
			Start: t0.Add(time.Duration(i) * time.Hour), End: t0.Add(time.Duration(i)*time.Hour + time.Minute), Lat: p[0], Lon: p[1]}})
	}
	must(t, st.PutRun(ctx, store.Run{ID: "a"}))
	must(t, st.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: "a", Batches: 1}, Events: evs}))
	for _, b := range []store.BBox{{South: 35, West: 120, North: 40, East: 130}, {South: 0, West: 170, North: 20, East: -170}, {South: -90, West: 179, North: 90, East: -179.5},
		{South: -1, West: -1, North: 1, East: 1}, {South: 35, West: 125, North: 35, East: 125}} {
		got, err := st.QueryEvents(ctx, store.EventQuery{Area: &b})
		must(t, err)
		var want []int
		for i, p := range pts {
			if b.Contains(p[0], p[1]) {
				want = append(want, i)
			}
		}
		var have []int
		for _, e := range got {
			have = append(have, int(e.Vessels[0].MMSI-412000000))
		}
		sort.Ints(have)
		if fmt.Sprint(have) != fmt.Sprint(want) {
			t.Errorf("box %+v: events %v, want %v", b, have, want)
		}
	}
}

// A value given twice in one batch keeps its last row, as a run's
// totals do.
func testIdentityTwiceInABatch(t *testing.T, st store.Store) {
	must(t, st.PutRun(ctx, store.Run{ID: "a"}))
	must(t, st.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: "a", Batches: 1}, Identities: []store.Identity{
		{MMSI: 1, Field: "name", Value: "X", First: t0, Last: t0, Count: 1, Source: "s"},
		{MMSI: 1, Field: "name", Value: "X", First: t0, Last: t0.Add(time.Hour), Count: 7, Source: "s"},
	}}))
	// Two parts of one record in one batch add up, as in two batches.
	ids, err := st.IdentityHistory(ctx, store.VesselQuery{MMSI: 1})
	must(t, err)
	if len(ids) != 1 || ids[0].Count != 8 || !ids[0].First.Equal(t0) || !ids[0].Last.Equal(t0.Add(time.Hour)) {
		t.Errorf("%+v", ids)
	}
}

func testStatsCounts(t *testing.T, st store.Store) {
	must(t, st.PutRun(ctx, store.Run{ID: "a"}))
	pts := []store.Point{point(t0, 1, 1), point(t0.Add(time.Minute), 1, 1.1)}
	must(t, st.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: "a", Batches: 1},
		Chunks:     []store.Chunk{chunk(t, 412000001, pts), chunk(t, 412000002, pts), chunk(t, 412000002, []store.Point{point(t0.Add(time.Hour), 1, 1)})},
		Events:     []store.StoredEvent{{Seq: 0, Event: detect.Event{Kind: detect.KindGap, Vessels: []detect.Vessel{{MMSI: 412000001}}, Start: t0, End: t0}}},
		Identities: []store.Identity{{MMSI: 412000001, Field: "name", Value: "X", First: t0, Last: t0, Count: 1}}}))
	s, err := st.Stats(ctx)
	must(t, err)
	if s.Runs != 1 || s.Chunks != 3 || s.Points != 5 || s.MMSIs != 2 || s.Events != 1 || s.Identities != 1 || s.Bytes <= 0 {
		t.Errorf("stats: %+v", s)
	}
}

func testListVersionTwiceInACall(t *testing.T, st store.Store) {
	ds := snapshotDatasets(t)
	n, err := st.PutListVersions(ctx, []store.ListVersion{{Dataset: ds[0]}, {Dataset: ds[0]}})
	if err != nil || n != 1 {
		t.Errorf("one version twice in a call: %d %v", n, err)
	}
	if n, err := st.PutListVersions(ctx, nil); err != nil || n != 0 {
		t.Errorf("no versions: %d %v", n, err)
	}
}

func testPortfolios(t *testing.T, st store.Store) {
	must(t, st.PutPortfolio(ctx, store.Portfolio{Tenant: "club", ID: "p1", Name: "One", Created: t0}))
	must(t, st.PutPortfolio(ctx, store.Portfolio{Tenant: "club", ID: "p1", Name: "First", Created: t0}))
	must(t, st.PutPortfolio(ctx, store.Portfolio{Tenant: "club", ID: "p2", Name: "Two", Created: t0}))
	must(t, st.PutPortfolio(ctx, store.Portfolio{Tenant: "other", ID: "p1", Name: "Theirs", Created: t0}))
	ps, err := st.Portfolios(ctx, "club")
	must(t, err)
	if len(ps) != 2 || ps[0].Name != "First" || ps[1].ID != "p2" {
		t.Errorf("portfolios: %+v", ps)
	}
	v := func(tenant, p, id string, imo uint32) store.PortfolioVessel {
		return store.PortfolioVessel{Tenant: tenant, Portfolio: p, ID: id, IMO: imo, Name: "N " + id, Added: t0,
			Parties: []store.Party{{Role: "owner", Name: "Co", CompanyIMO: "1234567"}}, CoverFrom: t0, Status: &store.VesselStatus{Recommendation: "refer", Score: 40, AsOf: t0, Hits: []string{"vessel un:1"}}}
	}
	must(t, st.PutPortfolioVessels(ctx, []store.PortfolioVessel{v("club", "p1", "v2", 9100009), v("club", "p1", "v1", 9100010), v("club", "p2", "v1", 0), v("other", "p1", "v1", 0)}))
	upd := v("club", "p1", "v1", 9100011)
	upd.Seen = upd.Status
	must(t, st.PutPortfolioVessels(ctx, []store.PortfolioVessel{upd}))
	must(t, st.PutPortfolioVessels(ctx, nil))
	key := func(vs []store.PortfolioVessel) string {
		var s string
		for _, x := range vs {
			s += x.Tenant + "/" + x.Portfolio + "/" + x.ID + " "
		}
		return s
	}
	all, err := st.PortfolioVessels(ctx, "", "")
	must(t, err)
	if key(all) != "club/p1/v1 club/p1/v2 club/p2/v1 other/p1/v1 " {
		t.Errorf("every vessel: %s", key(all))
	}
	if all[0].IMO != 9100011 || all[0].Seen == nil || !reflect.DeepEqual(all[0].Parties, upd.Parties) || all[0].Status.Hits[0] != "vessel un:1" {
		t.Errorf("vessel round trip: %+v", all[0])
	}
	if c, _ := st.PortfolioVessels(ctx, "club", ""); key(c) != "club/p1/v1 club/p1/v2 club/p2/v1 " {
		t.Errorf("a tenant's vessels: %s", key(c))
	}
	if c, _ := st.PortfolioVessels(ctx, "club", "p2"); key(c) != "club/p2/v1 " {
		t.Errorf("a portfolio's vessels: %s", key(c))
	}
	must(t, st.DeletePortfolioVessel(ctx, "club", "p1", "v2"))
	if err := st.DeletePortfolioVessel(ctx, "club", "p1", "v2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting a vessel twice: %v", err)
	}
	must(t, st.DeletePortfolio(ctx, "club", "p1"))
	if err := st.DeletePortfolio(ctx, "club", "p1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting a portfolio twice: %v", err)
	}
	if c, _ := st.PortfolioVessels(ctx, "", ""); key(c) != "club/p2/v1 other/p1/v1 " {
		t.Errorf("after deleting p1: %s", key(c))
	}
}

func alert(tenant, key string) *store.Alert {
	return &store.Alert{Tenant: tenant, Key: key, Version: 1, Kind: "event", Severity: "high", State: "open", Portfolio: "p1", VesselRef: "v1",
		IMO: 9100009, Title: "t", Why: "w", Evidence: []store.AlertEvidence{{Kind: "event", Ref: "e1", Text: "x"}}, Created: t0, Updated: t0}
}

func testAlerts(t *testing.T, st store.Store) {
	var seen []int64
	payload := func(a *store.Alert) []byte {
		seen = append(seen, a.ID)
		b, _ := json.Marshal(a)
		return b
	}
	a1 := alert("club", "k1")
	must(t, st.PutAlert(ctx, a1, []store.Delivery{{Tenant: "club", Webhook: "w1", State: "pending", NextAttempt: t0, Created: t0}}, payload))
	a2 := alert("club", "k2")
	a2.Kind, a2.VesselRef = "band_changed", "v2"
	must(t, st.PutAlert(ctx, a2, nil, payload))
	b1 := alert("other", "k1")
	must(t, st.PutAlert(ctx, b1, nil, nil))
	if a1.ID != 1 || a2.ID != 2 || b1.ID != 1 || !reflect.DeepEqual(seen, []int64{1}) {
		t.Errorf("ids %d %d %d; payload saw %v", a1.ID, a2.ID, b1.ID, seen)
	}
	dup := alert("club", "k1")
	if err := st.PutAlert(ctx, dup, nil, nil); !errors.Is(err, store.ErrConflict) || dup.ID != 0 {
		t.Errorf("a second alert with a key: %v (id %d)", err, dup.ID)
	}
	a1.Version, a1.State, a1.By = 2, "acknowledged", "bob"
	must(t, st.PutAlert(ctx, a1, []store.Delivery{{Tenant: "club", Webhook: "w1", State: "pending", NextAttempt: t0, Created: t0}}, payload))
	got, err := st.Alert(ctx, "club", 1)
	must(t, err)
	if got.Version != 2 || got.State != "acknowledged" || got.By != "bob" || !reflect.DeepEqual(got.Evidence, a1.Evidence) {
		t.Errorf("alert: %+v", got)
	}
	if k, err := st.AlertByKey(ctx, "club", "k2"); err != nil || k.ID != 2 {
		t.Errorf("by key: %+v %v", k, err)
	}
	if _, err := st.Alert(ctx, "club", 9); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing alert: %v", err)
	}
	if _, err := st.AlertByKey(ctx, "club", "k9"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
	ids := func(f store.AlertFilter) string {
		as, err := st.Alerts(ctx, "club", f)
		must(t, err)
		s := ""
		for _, a := range as {
			s += fmt.Sprint(a.ID, " ")
		}
		return s
	}
	for _, c := range []struct {
		f    store.AlertFilter
		want string
	}{{store.AlertFilter{}, "2 1 "}, {store.AlertFilter{States: []string{"open"}}, "2 "}, {store.AlertFilter{Kinds: []string{"event"}}, "1 "},
		{store.AlertFilter{VesselRef: "v2"}, "2 "}, {store.AlertFilter{Portfolio: "p9"}, ""}, {store.AlertFilter{AfterID: 1}, "2 "}, {store.AlertFilter{Limit: 1}, "2 "}} {
		if got := ids(c.f); got != c.want {
			t.Errorf("alerts %+v: %q, want %q", c.f, got, c.want)
		}
	}
	ds, err := st.Deliveries(ctx, "club", store.DeliveryFilter{})
	must(t, err)
	if len(ds) != 2 || ds[0].AlertVersion != 2 || ds[1].AlertVersion != 1 || ds[0].IdempotencyKey != "club-1-2" || ds[0].AlertID != 1 {
		t.Fatalf("deliveries: %+v", ds)
	}
	var p store.Alert
	if err := json.Unmarshal(ds[1].Payload, &p); err != nil || p.ID != 1 || p.Version != 1 {
		t.Errorf("payload of the first version: %s", ds[1].Payload)
	}
}

// testAlertChanges: every write of an alert (new, a new version, a state
// change) gets a higher change number than any before it in its tenant,
// and readers follow the changes by it.
func testAlertChanges(t *testing.T, st store.Store) {
	a1, a2, b1 := alert("club", "k1"), alert("club", "k2"), alert("other", "k1")
	must(t, st.PutAlert(ctx, a1, nil, nil))
	must(t, st.PutAlert(ctx, a2, nil, nil))
	must(t, st.PutAlert(ctx, b1, nil, nil))
	if a1.Change <= 0 || a2.Change <= a1.Change {
		t.Fatalf("changes of two new alerts: %d, %d", a1.Change, a2.Change)
	}
	mark := a2.Change
	a1.State, a1.By = "acknowledged", "bob"
	must(t, st.PutAlert(ctx, a1, nil, nil))
	if a1.Change <= mark {
		t.Errorf("a state change is change %d, not after %d", a1.Change, mark)
	}
	dup := alert("club", "k2")
	if err := st.PutAlert(ctx, dup, nil, nil); !errors.Is(err, store.ErrConflict) || dup.Change != 0 || dup.ID != 0 {
		t.Errorf("a refused alert: %v, id %d, change %d", err, dup.ID, dup.Change)
	}
	if got, err := st.Alert(ctx, "club", a1.ID); err != nil || got.Change != a1.Change {
		t.Errorf("read back: change %d (%v), want %d", got.Change, err, a1.Change)
	}
	if got, err := st.AlertByKey(ctx, "club", "k2"); err != nil || got.Change != a2.Change {
		t.Errorf("read back by key: change %d (%v), want %d", got.Change, err, a2.Change)
	}
	if b, _ := json.Marshal(a1); strings.Contains(string(b), "change") {
		t.Errorf("the change number is in the alert's JSON: %s", b)
	}
	changes := func(f store.AlertFilter) string {
		as, err := st.Alerts(ctx, "club", f)
		must(t, err)
		s := ""
		for _, a := range as {
			s += fmt.Sprintf("%d@%d ", a.ID, a.Change)
		}
		return s
	}
	// Another writer's change after the mark: only a1, once, with its
	// new state.
	if got, want := changes(store.AlertFilter{AfterChange: mark, Order: store.AlertsByChange}), fmt.Sprintf("1@%d ", a1.Change); got != want {
		t.Errorf("changed after %d: %q, want %q", mark, got, want)
	}
	if got, want := changes(store.AlertFilter{Order: store.AlertsByChange}), fmt.Sprintf("2@%d 1@%d ", a2.Change, a1.Change); got != want {
		t.Errorf("by change: %q, want %q", got, want)
	}
	if got, want := changes(store.AlertFilter{Order: store.AlertsLastChanged, Limit: 1}), fmt.Sprintf("1@%d ", a1.Change); got != want {
		t.Errorf("last changed: %q, want %q", got, want)
	}
	if got, want := changes(store.AlertFilter{}), fmt.Sprintf("2@%d 1@%d ", a2.Change, a1.Change); got != want {
		t.Errorf("newest first: %q, want %q", got, want)
	}
	if as, _ := st.Alerts(ctx, "other", store.AlertFilter{AfterChange: a2.Change + 1000, Order: store.AlertsByChange}); len(as) != 0 {
		t.Errorf("another tenant's changes far ahead: %d", len(as))
	}
}

// followAlertChanges: writers on every node change alerts while a reader
// on one of them follows the changes in batches (AfterChange, by
// change): change numbers grow in commit order, so the reader, after a
// last read, holds every alert's last state; a change numbered before
// one already read but committed after it would be lost.
func followAlertChanges(t *testing.T, sts []store.Store) {
	t.Helper()
	const writers, alerts, rounds = 4, 5, 6
	seen := map[int64]store.Alert{}
	stop := make(chan struct{})
	readerDone := make(chan error, 1)
	reader := sts[len(sts)-1]
	var cursor int64
	read := func() error {
		for {
			as, err := reader.Alerts(ctx, "club", store.AlertFilter{AfterChange: cursor, Order: store.AlertsByChange, Limit: 3})
			if err != nil {
				return err
			}
			if len(as) == 0 {
				return nil
			}
			for _, a := range as {
				if a.Change <= cursor {
					return fmt.Errorf("change %d read after %d", a.Change, cursor)
				}
				seen[a.ID] = a
				cursor = a.Change
			}
		}
	}
	go readUntil(stop, readerDone, read)
	concurrently(writers, func(w int) {
		st := sts[w%len(sts)]
		var mine []*store.Alert
		for i := 0; i < alerts; i++ {
			a := alert("club", fmt.Sprintf("w%d-%d", w, i))
			if err := st.PutAlert(ctx, a, nil, nil); err != nil {
				t.Errorf("raise: %v", err)
				return
			}
			mine = append(mine, a)
		}
		for r := 1; r <= rounds; r++ {
			for _, a := range mine {
				a.Version, a.By = r+1, fmt.Sprint("r", r)
				if err := st.PutAlert(ctx, a, nil, nil); err != nil {
					t.Errorf("change: %v", err)
					return
				}
			}
		}
	})
	close(stop)
	if err := <-readerDone; err != nil {
		t.Fatal(err)
	}
	all, err := sts[0].Alerts(ctx, "club", store.AlertFilter{})
	must(t, err)
	if len(all) != writers*alerts || len(seen) != len(all) {
		t.Fatalf("%d alerts stored, %d followed, want %d", len(all), len(seen), writers*alerts)
	}
	changes := map[int64]bool{}
	for _, a := range all {
		if changes[a.Change] {
			t.Errorf("change %d given twice", a.Change)
		}
		changes[a.Change] = true
		if got := seen[a.ID]; got.Change != a.Change || got.Version != rounds+1 || got.By != a.By {
			t.Errorf("alert %d: followed change %d version %d, stored %d version %d", a.ID, got.Change, got.Version, a.Change, a.Version)
		}
	}
}

// UpdateWebhook changes the row as stored: changes made at once all land
// (a read-then-put lost all but one of each round), a deleted webhook
// stays deleted, an error from the change stores nothing, and another
// tenant's webhook of the same id is untouched.
func testWebhookUpdates(t *testing.T, st store.Store) {
	must(t, st.PutWebhook(ctx, store.Webhook{Tenant: "club", ID: "w1", URL: "https://a:b@example.invalid/h", Created: t0}))
	must(t, st.PutWebhook(ctx, store.Webhook{Tenant: "other", ID: "w1", URL: "u", Created: t0}))
	var wg sync.WaitGroup
	errs := make(chan error, 80)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				errs <- st.UpdateWebhook(ctx, "club", "w1", func(w *store.Webhook) error {
					w.Secrets = append(w.Secrets, store.SealedSecret{ID: fmt.Sprintf("s%d-%d", g, i), Created: t0})
					return nil
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	ws, err := st.Webhooks(ctx, "club")
	must(t, err)
	if len(ws) != 1 || len(ws[0].Secrets) != 80 || ws[0].URL != "https://a:b@example.invalid/h" {
		kept := 0
		for _, w := range ws {
			kept += len(w.Secrets)
		}
		t.Fatalf("80 updates at once: %d webhooks, %d secrets kept", len(ws), kept)
	}
	if other, _ := st.Webhooks(ctx, "other"); len(other) != 1 || len(other[0].Secrets) != 0 {
		t.Errorf("another tenant's webhook of the same id changed: %+v", other)
	}
	boom := errors.New("boom")
	if err := st.UpdateWebhook(ctx, "club", "w1", func(w *store.Webhook) error { w.URL = "changed"; return boom }); !errors.Is(err, boom) {
		t.Errorf("the change's error: %v", err)
	}
	if ws, _ := st.Webhooks(ctx, "club"); ws[0].URL != "https://a:b@example.invalid/h" {
		t.Errorf("a change that failed was stored: %q", ws[0].URL)
	}
	if err := st.UpdateWebhook(ctx, "club", "nope", func(*store.Webhook) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("updating a missing webhook: %v", err)
	}
	must(t, st.DeleteWebhook(ctx, "club", "w1"))
	if err := st.UpdateWebhook(ctx, "club", "w1", func(w *store.Webhook) error { w.URL = "back"; return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("updating a deleted webhook: %v", err)
	}
	if ws, _ := st.Webhooks(ctx, "club"); len(ws) != 0 {
		t.Errorf("a deleted webhook came back: %+v", ws)
	}
}

func testWebhooksAndDeliveries(t *testing.T, st store.Store) {
	w := store.Webhook{Tenant: "club", ID: "w1", URL: "https://example.invalid/h", Secrets: []store.SealedSecret{{ID: "s1", Sealed: []byte{0, 1, 2, 255}, Created: t0}}, SealedUserinfo: []byte{9, 0, 200},
		Kinds: []string{"event"}, MinSeverity: "high", Active: true, Created: t0}
	must(t, st.PutWebhook(ctx, w))
	must(t, st.PutWebhook(ctx, store.Webhook{Tenant: "other", ID: "w1", URL: "u", Created: t0}))
	ws, err := st.Webhooks(ctx, "club")
	must(t, err)
	if len(ws) != 1 || !reflect.DeepEqual(ws[0], w) {
		t.Errorf("webhook round trip: %+v", ws)
	}
	if all, _ := st.Webhooks(ctx, ""); len(all) != 2 || all[0].Tenant != "club" {
		t.Errorf("every webhook: %+v", all)
	}
	// Five deliveries due at t0+i minutes.
	for i := 0; i < 5; i++ {
		a := alert("club", fmt.Sprint("k", i))
		must(t, st.PutAlert(ctx, a, []store.Delivery{{Tenant: "club", Webhook: "w1", State: "pending", NextAttempt: t0.Add(time.Duration(4-i) * time.Minute), Created: t0, Payload: []byte(fmt.Sprint(i))}}, nil))
	}
	now := t0.Add(2 * time.Minute)
	c, err := st.ClaimDeliveries(ctx, now, now.Add(time.Minute), 2)
	must(t, err)
	if len(c) != 2 || string(c[0].Payload) != "4" || string(c[1].Payload) != "3" || !c[0].NextAttempt.Equal(t0) {
		t.Fatalf("claim the two most overdue: %+v", c)
	}
	c2, err := st.ClaimDeliveries(ctx, now, now.Add(time.Minute), 10)
	must(t, err)
	if len(c2) != 1 || string(c2[0].Payload) != "2" {
		t.Errorf("claim what is left due: %+v", c2)
	}
	if c3, _ := st.ClaimDeliveries(ctx, now, now.Add(time.Minute), 10); len(c3) != 0 {
		t.Errorf("claimed deliveries claimed again within their lease: %+v", c3)
	}
	done := c[0]
	done.State, done.Attempts, done.Delivered = "delivered", 1, now
	must(t, st.UpdateDelivery(ctx, done))
	retry := c[1]
	retry.Attempts, retry.LastError, retry.NextAttempt = 1, "503", now.Add(10*time.Minute)
	must(t, st.UpdateDelivery(ctx, retry))
	// After the lease: the one not updated is due again, the delivered
	// one is not, the retried one waits for its time.
	later := now.Add(2 * time.Minute)
	c4, err := st.ClaimDeliveries(ctx, later, later.Add(time.Minute), 10)
	must(t, err)
	var got []string
	for _, d := range c4 {
		got = append(got, string(d.Payload))
	}
	if fmt.Sprint(got) != "[1 2 0]" { // by due time, then id: the lease of "2" ends with "1"'s due time
		t.Errorf("after the lease: %v", got)
	}
	if err := st.UpdateDelivery(ctx, store.Delivery{ID: 999, Tenant: "club", State: "dead"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("updating a missing delivery: %v", err)
	}
	if err := st.UpdateDelivery(ctx, store.Delivery{ID: done.ID, Tenant: "other", State: "dead"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("updating another tenant's delivery: %v", err)
	}
	if ds, _ := st.Deliveries(ctx, "club", store.DeliveryFilter{States: []string{"delivered"}}); len(ds) != 1 || ds[0].ID != done.ID || !ds[0].Delivered.Equal(now) {
		t.Errorf("delivered: %+v", ds)
	}
	if ds, _ := st.Deliveries(ctx, "club", store.DeliveryFilter{Limit: 2}); len(ds) != 2 || ds[0].ID < ds[1].ID {
		t.Errorf("newest first: %+v", ds)
	}
	// Deleting the webhook kills its pending deliveries, and only those.
	must(t, st.DeleteWebhook(ctx, "club", "w1"))
	if err := st.DeleteWebhook(ctx, "club", "w1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting a webhook twice: %v", err)
	}
	dead, _ := st.Deliveries(ctx, "club", store.DeliveryFilter{States: []string{"dead"}})
	if len(dead) != 4 || dead[0].LastError != "webhook deleted" || dead[0].State != "dead" {
		t.Errorf("dead deliveries: %+v", dead)
	}
	if pending, _ := st.Deliveries(ctx, "club", store.DeliveryFilter{States: []string{"pending"}}); len(pending) != 0 {
		t.Errorf("pending after delete: %+v", pending)
	}
	if c5, _ := st.ClaimDeliveries(ctx, later.Add(time.Hour), later.Add(2*time.Hour), 10); len(c5) != 0 {
		t.Errorf("dead deliveries claimed: %+v", c5)
	}
}

func testMonitorState(t *testing.T, st store.Store) {
	if _, err := st.MonitorState(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing state: %v", err)
	}
	must(t, st.PutMonitorState(ctx, "k", []byte("1")))
	must(t, st.PutMonitorState(ctx, "k", []byte{0, 2, 255}))
	if v, err := st.MonitorState(ctx, "k"); err != nil || string(v) != "\x00\x02\xff" {
		t.Errorf("state: %q %v", v, err)
	}
}

// EventsAfter gives events in the order they were stored, resumable at
// any cursor.
func testEventsAfter(t *testing.T, st store.Store) {
	if c, err := st.EventCursor(ctx); err != nil || c != 0 {
		t.Errorf("cursor of an empty store: %d %v", c, err)
	}
	if evs, err := st.EventsAfter(ctx, 0, 10); err != nil || len(evs) != 0 {
		t.Errorf("events of an empty store: %d %v", len(evs), err)
	}
	var order []string
	for b, run := range []string{"b", "a", "b"} {
		if b < 2 {
			must(t, st.PutRun(ctx, store.Run{ID: run}))
		}
		var evs []store.StoredEvent
		for i := 0; i < 3; i++ {
			name := fmt.Sprintf("%s%d-%d", run, b, i)
			order = append(order, name)
			evs = append(evs, store.StoredEvent{Seq: int64(b*10 + i), Event: detect.Event{Kind: detect.KindGap, Vessels: []detect.Vessel{{MMSI: 1, Name: name}},
				Start: t0.Add(-time.Duration(b*3+i) * time.Hour), End: t0}})
		}
		must(t, st.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: run, Batches: int64(b/2 + 1)}, Events: evs}))
	}
	all, err := st.EventsAfter(ctx, 0, 0)
	must(t, err)
	var got []string
	for i, c := range all {
		got = append(got, c.Event.Vessels[0].Name)
		if i > 0 && c.Cursor <= all[i-1].Cursor {
			t.Errorf("cursors do not grow: %d after %d", c.Cursor, all[i-1].Cursor)
		}
	}
	if !reflect.DeepEqual(got, order) {
		t.Fatalf("events after 0: %v, want %v", got, order)
	}
	cur, err := st.EventCursor(ctx)
	must(t, err)
	if cur != all[len(all)-1].Cursor {
		t.Errorf("event cursor %d, last event's %d", cur, all[len(all)-1].Cursor)
	}
	part, err := st.EventsAfter(ctx, all[3].Cursor, 2)
	must(t, err)
	if len(part) != 2 || part[0].Cursor != all[4].Cursor || part[1].Cursor != all[5].Cursor {
		t.Errorf("events after the fourth, two: %+v", part)
	}
	if rest, _ := st.EventsAfter(ctx, cur, 10); len(rest) != 0 {
		t.Errorf("events after the last: %d", len(rest))
	}
}

// A group of records for two tenants is appended whole, each tenant's
// anchor at its own head; a group refused leaves nothing of itself.
func testAuditGroups(t *testing.T, st store.Store) {
	var group []store.AuditRecord
	tails := map[string]*store.AuditRecord{}
	for i, tn := range []string{"a", "b", "a", "a", "b"} {
		r := audit.Chain(tails[tn], store.AuditRecord{Tenant: tn, Time: t0, Actor: "x", Action: "screen", Subject: fmt.Sprint(i), Data: json.RawMessage(`{"i":` + fmt.Sprint(i) + `}`)})
		tails[tn] = &r
		group = append(group, r)
	}
	must(t, st.AppendAudit(ctx, group))
	must(t, st.AppendAudit(ctx, nil))
	for tn, want := range map[string]int64{"a": 3, "b": 2} {
		rep, err := audit.Verify(ctx, st, tn)
		must(t, err)
		if !rep.OK() || rep.Records != want || rep.Anchor.Seq != want || rep.Anchor.Records != want || rep.Anchor.Hash != tails[tn].Hash {
			t.Errorf("%s after a group: %+v", tn, rep)
		}
	}
	// b's record follows b's tail, a's does not: neither is stored.
	nb := audit.Chain(tails["b"], store.AuditRecord{Tenant: "b", Time: t0, Actor: "x", Action: "screen", Subject: "s", Data: json.RawMessage(`{}`)})
	stale := audit.Chain(tails["a"], store.AuditRecord{Tenant: "a", Time: t0, Actor: "x", Action: "screen", Subject: "s", Data: json.RawMessage(`{}`)})
	stale.Seq = 2
	if err := st.AppendAudit(ctx, []store.AuditRecord{nb, stale}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a group with a stale record: %v", err)
	}
	if a, _ := st.AuditAnchor(ctx, "b"); a.Seq != 2 || a.Records != 2 {
		t.Errorf("b's anchor moved by a refused group: %+v", a)
	}
}

// Writers working at once on one store (goroutines of one process, or
// with RunNodes several processes) lose and double nothing.

// concurrently runs fn(i) for i in [0, n) at once and waits.
func concurrently(n int, fn func(i int)) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i)
		}()
	}
	wg.Wait()
}

// claimAll claims deliveries from several workers until none is due and
// checks that each was taken exactly once.
func claimAll(t *testing.T, sts []store.Store, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		a := alert("club", fmt.Sprint("k", i))
		must(t, sts[i%len(sts)].PutAlert(ctx, a, []store.Delivery{{Tenant: "club", Webhook: "w", State: "pending", NextAttempt: t0, Created: t0}}, nil))
	}
	var mu sync.Mutex
	count := map[int64]int{}
	errs := make(chan error, 8)
	concurrently(8, func(w int) {
		st := sts[w%len(sts)]
		for {
			ds, err := st.ClaimDeliveries(ctx, t0.Add(time.Minute), t0.Add(time.Hour), 3)
			if err != nil {
				errs <- err
				return
			}
			if len(ds) == 0 {
				return
			}
			mu.Lock()
			for _, d := range ds {
				count[d.ID]++
			}
			mu.Unlock()
		}
	})
	close(errs)
	for err := range errs {
		t.Errorf("claim: %v", err)
	}
	if len(count) != n {
		t.Errorf("%d deliveries claimed, want %d", len(count), n)
	}
	for id, c := range count {
		if c != 1 {
			t.Errorf("delivery %d claimed %d times", id, c)
		}
	}
}

// raiseOnce raises the same alert from several writers: one is created,
// the others are told it exists; distinct alerts get distinct ids.
func raiseOnce(t *testing.T, sts []store.Store) {
	t.Helper()
	var mu sync.Mutex
	made, conflicts := 0, 0
	concurrently(8, func(w int) {
		err := sts[w%len(sts)].PutAlert(ctx, alert("club", "same"), nil, nil)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			made++
		case errors.Is(err, store.ErrConflict):
			conflicts++
		default:
			t.Errorf("raise: %v", err)
		}
	})
	if made != 1 || conflicts != 7 {
		t.Errorf("the same alert raised at once: %d made, %d conflicts", made, conflicts)
	}
	ids := make([]int64, 8)
	concurrently(8, func(w int) {
		a := alert("club", fmt.Sprint("distinct-", w))
		if err := sts[w%len(sts)].PutAlert(ctx, a, nil, nil); err != nil {
			t.Errorf("raise %d: %v", w, err)
		}
		ids[w] = a.ID
	})
	seen := map[int64]bool{1: true}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("alert id %d given twice: %v", id, ids)
		}
		seen[id] = true
	}
	got, err := sts[0].Alerts(ctx, "club", store.AlertFilter{})
	must(t, err)
	if len(got) != 9 {
		t.Errorf("%d alerts stored, want 9", len(got))
	}
}

// appendAll appends audit records from several writers, each retrying
// on ErrConflict as audit.Log does: the chain verifies and holds every
// record once.
func appendAll(t *testing.T, sts []store.Store) {
	t.Helper()
	const writers, each = 4, 8
	concurrently(writers, func(w int) {
		st := sts[w%len(sts)]
		for i := 0; i < each; i++ {
			for attempt := 0; ; attempt++ {
				var tail *store.AuditRecord
				if tl, err := st.AuditTail(ctx, "club"); err == nil {
					tail = &tl
				} else if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("tail: %v", err)
					return
				}
				r := audit.Chain(tail, store.AuditRecord{Tenant: "club", Time: t0, Actor: fmt.Sprint("w", w), Action: "screen", Subject: fmt.Sprint(i), Data: json.RawMessage(`{}`)})
				err := st.AppendAudit(ctx, []store.AuditRecord{r})
				if err == nil {
					break
				}
				if !errors.Is(err, store.ErrConflict) || attempt > 1000 {
					t.Errorf("append: %v", err)
					return
				}
			}
		}
	})
	rep, err := audit.Verify(ctx, sts[0], "club")
	must(t, err)
	if !rep.OK() || rep.Records != writers*each || rep.Anchor.Records != writers*each || rep.Anchor.Seq != writers*each {
		t.Errorf("audit after concurrent appends: %+v", rep)
	}
}

// decideAll numbers decisions made at once: no number twice.
func decideAll(t *testing.T, sts []store.Store) {
	t.Helper()
	concurrently(8, func(w int) {
		if err := sts[w%len(sts)].PutDecision(ctx, store.Decision{Tenant: "club", Subject: "imo:9100009", IMO: 9100009, Decision: "refer", Reason: fmt.Sprint(w), Status: "in_force", Time: t0}); err != nil {
			t.Errorf("decide: %v", err)
		}
	})
	ds, err := sts[0].Decisions(ctx, "club", store.VesselQuery{})
	must(t, err)
	if len(ds) != 8 {
		t.Fatalf("%d decisions", len(ds))
	}
	for i, d := range ds {
		if d.ID != int64(i+1) {
			t.Errorf("decision ids: %d at %d", d.ID, i)
		}
	}
}

// putVersionsOnce stores the same list version from several writers:
// it is added once.
func putVersionsOnce(t *testing.T, sts []store.Store) {
	t.Helper()
	ds := snapshotDatasets(t)
	var mu sync.Mutex
	added := 0
	concurrently(4, func(w int) {
		n, err := sts[w%len(sts)].PutListVersions(ctx, []store.ListVersion{{Dataset: ds[0]}})
		if err != nil {
			t.Errorf("put: %v", err)
		}
		mu.Lock()
		added += n
		mu.Unlock()
	})
	if added != 1 {
		t.Errorf("the same version stored at once by 4 writers was added %d times", added)
	}
	ents, err := sts[0].ListEntities(ctx, ds[0].Version.ID)
	must(t, err)
	if len(ents) != len(ds[0].Entities) {
		t.Errorf("%d entities, want %d", len(ents), len(ds[0].Entities))
	}
}

// followEvents commits batches of events from several writers while a
// reader follows EventsAfter: the reader sees every event exactly once
// (a cursor never passes an event committed later with a lower one).
func followEvents(t *testing.T, sts []store.Store) {
	t.Helper()
	const writers, batches, per = 4, 12, 3
	for w := 0; w < writers; w++ {
		must(t, sts[0].PutRun(ctx, store.Run{ID: fmt.Sprint("run", w)}))
	}
	seen := map[string]int{}
	stop := make(chan struct{})
	readerDone := make(chan error, 1)
	reader := sts[len(sts)-1]
	var cursor int64
	read := func() error {
		for {
			evs, err := reader.EventsAfter(ctx, cursor, 5)
			if err != nil {
				return err
			}
			if len(evs) == 0 {
				return nil
			}
			for _, e := range evs {
				seen[e.Event.Vessels[0].Name]++
				cursor = e.Cursor
			}
		}
	}
	go readUntil(stop, readerDone, read)
	concurrently(writers, func(w int) {
		st := sts[w%len(sts)]
		run := fmt.Sprint("run", w)
		for b := 0; b < batches; b++ {
			var evs []store.StoredEvent
			for i := 0; i < per; i++ {
				evs = append(evs, store.StoredEvent{Seq: int64(b*per + i), Event: detect.Event{Kind: detect.KindGap,
					Vessels: []detect.Vessel{{MMSI: uint32(w + 1), Name: fmt.Sprintf("%d/%d/%d", w, b, i)}}, Start: t0, End: t0}})
			}
			if err := st.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: run, Batches: int64(b + 1)}, Events: evs}); err != nil {
				t.Errorf("commit: %v", err)
				return
			}
		}
	})
	close(stop)
	if err := <-readerDone; err != nil {
		t.Fatal(err)
	}
	if len(seen) != writers*batches*per {
		t.Errorf("the reader saw %d of %d events", len(seen), writers*batches*per)
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("event %s seen %d times", name, n)
		}
	}
}

func testClaimOnce(t *testing.T, st store.Store)       { claimAll(t, []store.Store{st}, 60) }
func testAlertOnce(t *testing.T, st store.Store)       { raiseOnce(t, []store.Store{st}) }
func testAuditConcurrent(t *testing.T, st store.Store) { appendAll(t, []store.Store{st}) }
func testDecideConcurrent(t *testing.T, st store.Store) {
	decideAll(t, []store.Store{st})
}
func testVersionsOnce(t *testing.T, st store.Store) { putVersionsOnce(t, []store.Store{st}) }
func testFollowEvents(t *testing.T, st store.Store) { followEvents(t, []store.Store{st}) }

// OpenNodes makes a new, empty store and returns two handles on it, as
// two server processes would have (closed by the suite).
type OpenNodes func(t *testing.T) (a, b store.Store)

// RunNodes runs the tests of several server nodes on one store: what one
// node writes the other reads (sessions, alerts, list versions), ingest
// locks hold across nodes, and work the nodes share (deliveries, audit
// appends, numbering, the event cursor) is done once.
func RunNodes(t *testing.T, open OpenNodes) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, []store.Store)
	}{
		{"SessionsOnEveryNode", nodeSessions},
		{"IngestLockAcrossNodes", nodeIngestLock},
		{"DeliveriesClaimedOnce", func(t *testing.T, sts []store.Store) { claimAll(t, sts, 80) }},
		{"AlertsRaisedOnce", raiseOnce},
		{"AlertChangesFollowed", followAlertChanges},
		{"AuditAppends", appendAll},
		{"DecisionNumbers", decideAll},
		{"ListVersionsOnce", putVersionsOnce},
		{"EventCursor", followEvents},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := open(t)
			defer a.Close()
			defer b.Close()
			c.fn(t, []store.Store{a, b})
		})
	}
}

func nodeSessions(t *testing.T, sts []store.Store) {
	a, b := sts[0], sts[1]
	must(t, a.PutUser(ctx, store.User{Tenant: "club", Name: "alice", Role: "admin", PasswordHash: "h", Created: t0}))
	s := store.Session{IDHash: "s1", Tenant: "club", User: "alice", CSRFHash: "c", Created: t0, Expires: t0.Add(time.Hour)}
	must(t, a.PutSession(ctx, s))
	if got, err := b.Session(ctx, "s1"); err != nil || got != s {
		t.Errorf("a session made on one node, read on another: %+v %v", got, err)
	}
	if u, err := b.User(ctx, "club", "alice"); err != nil || u.PasswordHash != "h" {
		t.Errorf("user on the other node: %+v %v", u, err)
	}
	must(t, b.DeleteSessions(ctx, "club", "alice"))
	if _, err := a.Session(ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a session ended on one node lives on another: %v", err)
	}
}

func nodeIngestLock(t *testing.T, sts []store.Store) {
	a, b := sts[0], sts[1]
	unlock, err := a.LockIngest(ctx, "run-a")
	must(t, err)
	if _, err := b.LockIngest(ctx, "run-a"); !errors.Is(err, store.ErrLocked) {
		t.Errorf("a run locked on one node, locked again on another: %v", err)
	}
	other, err := b.LockIngest(ctx, "run-b")
	must(t, err)
	must(t, other())
	must(t, unlock())
	again, err := b.LockIngest(ctx, "run-a")
	must(t, err)
	must(t, again())
}

// readUntil calls read over and over until stop is closed, then once
// more (what was written last is read too), and sends the first error,
// or the last call's result, to done.
func readUntil(stop <-chan struct{}, done chan<- error, read func() error) {
	for {
		select {
		case <-stop:
			done <- read()
			return
		default:
		}
		if err := read(); err != nil {
			done <- err
			return
		}
	}
}
