// Package storetest is the conformance suite every store.Store
// implementation must pass: the embedded SQLite store and PostgreSQL. Each test gets a new, empty store from the adapter's open
// function, so the suite says what a store must do, not how.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/snapshot"
	"github.com/tidewatch/tidewatch/store"
)

// Open makes a new, empty store for one test (closed by the suite).
type Open func(t *testing.T) store.Store

var ctx = context.Background()

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// Run runs every conformance test.
func Run(t *testing.T, open Open) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"ListVersions", testListVersions},
		{"ListImports", testListImports},
		{"RunsAndBatches", testRunsAndBatches},
		{"IdentityAcrossRuns", testIdentityAcrossRuns},
		{"TrackAcrossRuns", testTrackAcrossRuns},
		{"EventsOnceAndQueries", testEvents},
		{"Coverage", testCoverage},
		{"Tenants", testTenants},
		{"APIKeys", testAPIKeys},
		{"AssessmentsAndDecisions", testAssessmentsAndDecisions},
		{"AuditPerTenant", testAudit},
		{"AuditGroups", testAuditGroups},
		{"Stats", testStats},
		{"IngestLock", testIngestLock},
		{"UsersAndSessions", testUsersAndSessions},
		{"BytewiseOrder", testBytewiseOrder},
		{"OddBytes", testOddBytes},
		{"EventTies", testEventTies},
		{"AreaEdges", testAreaEdges},
		{"IdentityTwiceInABatch", testIdentityTwiceInABatch},
		{"StatsCounts", testStatsCounts},
		{"ListVersionTwiceInACall", testListVersionTwiceInACall},
		{"Portfolios", testPortfolios},
		{"Alerts", testAlerts},
		{"AlertChanges", testAlertChanges},
		{"WebhooksAndDeliveries", testWebhooksAndDeliveries},
		{"WebhookUpdates", testWebhookUpdates},
		{"MonitorState", testMonitorState},
		{"EventsAfter", testEventsAfter},
		{"ClaimOnce", testClaimOnce},
		{"AlertOnce", testAlertOnce},
		{"AuditConcurrent", testAuditConcurrent},
		{"DecisionsConcurrent", testDecideConcurrent},
		{"ListVersionsOnce", testVersionsOnce},
		{"FollowEvents", testFollowEvents},
		{"DetectorState", testDetectorState},
		{"EventsLatestVersion", testEventsLatestVersion},
		{"Ledger", testLedger},
		{"Cases", testCases},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := open(t)
			defer st.Close()
			c.fn(t, st)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func snapshotDatasets(t *testing.T) []*sanctions.Dataset {
	t.Helper()
	res := sanctions.LoadFiles(snapshot.Files())
	if len(res.Failed) > 0 || len(res.Datasets) < 3 {
		t.Fatalf("snapshot: %v", res.Failed)
	}
	return res.Datasets
}

func testListVersions(t *testing.T, st store.Store) {
	ds := snapshotDatasets(t)
	files := []store.ListFile{{Role: "un_xml", Name: "un.xml", SHA256: "abc", Data: []byte("<xml/>")}}
	n, err := st.PutListVersions(ctx, []store.ListVersion{{Dataset: ds[0], Files: files}, {Dataset: ds[1]}})
	if err != nil || n != 2 {
		t.Fatalf("put: %d %v", n, err)
	}
	// Again, with one more: only the new one is added.
	if n, err := st.PutListVersions(ctx, []store.ListVersion{{Dataset: ds[0]}, {Dataset: ds[2]}}); err != nil || n != 1 {
		t.Fatalf("put again: %d %v", n, err)
	}
	vs, err := st.ListVersions(ctx)
	must(t, err)
	if len(vs) != 3 {
		t.Fatalf("%d versions", len(vs))
	}
	for i := 1; i < len(vs); i++ {
		if vs[i-1].List > vs[i].List || (vs[i-1].List == vs[i].List && vs[i-1].ID > vs[i].ID) {
			t.Errorf("versions not ordered by list then id: %s, %s", vs[i-1].ID, vs[i].ID)
		}
	}
	ents, err := st.ListEntities(ctx, ds[0].Version.ID)
	must(t, err)
	if len(ents) != len(ds[0].Entities) {
		t.Fatalf("%d entities, want %d", len(ents), len(ds[0].Entities))
	}
	a, _ := json.Marshal(ds[0].Entities)
	b, _ := json.Marshal(ents)
	if string(a) != string(b) {
		t.Error("entities do not round-trip in source order")
	}
	if _, err := st.ListEntities(ctx, "nope@2020-01-01-00000000"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing version: %v", err)
	}
	got, err := st.ListFiles(ctx, ds[0].Version.ID)
	must(t, err)
	if len(got) != 1 || string(got[0].Data) != "<xml/>" || got[0].SHA256 != "abc" {
		t.Errorf("files: %+v", got)
	}
	if got, _ := st.ListFiles(ctx, ds[1].Version.ID); len(got) != 0 {
		t.Errorf("files of a version stored without: %d", len(got))
	}
}

func testListImports(t *testing.T, st store.Store) {
	for i, o := range []string{"stored", "failed", "unchanged"} {
		must(t, st.LogListImport(ctx, store.ListImport{Time: t0.Add(time.Duration(i) * time.Hour), List: "un", Source: "s", Outcome: o, Reason: o}))
	}
	must(t, st.LogListImport(ctx, store.ListImport{Time: t0, List: "eu", Outcome: "stored"}))
	un, err := st.ListImports(ctx, "un")
	must(t, err)
	if len(un) != 3 || un[1].Outcome != "failed" || un[1].Reason != "failed" || !un[2].Time.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("un imports: %+v", un)
	}
	if all, _ := st.ListImports(ctx, ""); len(all) != 4 {
		t.Errorf("all imports: %d", len(all))
	}
}

func point(t time.Time, lat, lon float64) store.Point {
	return store.Point{Time: t, Lat: lat, Lon: lon, SOG: 10, COG: 90}
}

func chunk(t *testing.T, mmsi uint32, pts []store.Point) store.Chunk {
	t.Helper()
	var enc store.ChunkEncoder
	for _, p := range pts {
		must(t, enc.Append(p))
	}
	return store.Chunk{MMSI: mmsi, Start: pts[0].Time, End: pts[len(pts)-1].Time, N: len(pts), Fixes: int64(2 * len(pts)), Data: append([]byte(nil), enc.Bytes()...)}
}

func testRunsAndBatches(t *testing.T, st store.Store) {
	if _, err := st.Run(ctx, "r1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("new run: %v", err)
	}
	must(t, st.PutRun(ctx, store.Run{ID: "r1", Inputs: []string{"a.nmea"}}))
	b := &store.Batch{Run: store.Run{ID: "r1", Inputs: []string{"a.nmea"}, Batches: 1, Fixes: 4, Kept: 2, Events: 1},
		Chunks:     []store.Chunk{chunk(t, 445000101, []store.Point{point(t0, 38, 124), point(t0.Add(time.Minute), 38.01, 124.01)})},
		Events:     []store.StoredEvent{{Seq: 0, Event: detect.Event{Kind: detect.KindGap, Vessels: []detect.Vessel{{MMSI: 445000101}}, Start: t0, End: t0.Add(7 * time.Hour), Lat: 38, Lon: 124}}},
		Identities: []store.Identity{{MMSI: 445000101, Field: "name", Value: "X", First: t0, Last: t0, Count: 1, Source: "s"}}}
	must(t, st.CommitBatch(ctx, b))
	r, err := st.Run(ctx, "r1")
	must(t, err)
	if r.Batches != 1 || r.Fixes != 4 || r.Kept != 2 || r.Events != 1 || r.Done {
		t.Errorf("run after a batch: %+v", r)
	}
	// A batch refused before it is written (the same chunk key as an
	// earlier batch) leaves nothing of itself: not its events, not the
	// run's progress. (A failure part way through a SQLite batch leaves
	// its first steps' rows until the batch is written again: see
	// store.Store.)
	bad := &store.Batch{Run: store.Run{ID: "r1", Batches: 2, Fixes: 8}, Chunks: b.Chunks,
		Events: []store.StoredEvent{{Seq: 1, Event: detect.Event{Kind: detect.KindLoitering, Vessels: []detect.Vessel{{MMSI: 445000101}}, Start: t0, End: t0}}}}
	if err := st.CommitBatch(ctx, bad); err == nil {
		t.Fatal("a batch repeating a chunk was stored")
	}
	if r, _ := st.Run(ctx, "r1"); r.Batches != 1 || r.Fixes != 4 {
		t.Errorf("a failed batch moved the run: %+v", r)
	}
	if evs, _ := st.Events(ctx, []uint32{445000101}, t0.Add(-time.Hour), t0.Add(24*time.Hour)); len(evs) != 1 {
		t.Errorf("a failed batch left %d events", len(evs))
	}
	// A batch the run's progress counts already (a second writer of the
	// run) is refused, its identity values not added again.
	again := &store.Batch{Run: store.Run{ID: "r1", Inputs: []string{"a.nmea"}, Batches: 1, Fixes: 4, Kept: 2, Events: 1}, Identities: b.Identities}
	if err := st.CommitBatch(ctx, again); !errors.Is(err, store.ErrConflict) {
		t.Errorf("batch 1 written again: %v, want ErrConflict", err)
	}
	if ids, _ := st.IdentityHistory(ctx, store.VesselQuery{MMSI: 445000101}); len(ids) != 1 || ids[0].Count != 1 {
		t.Errorf("identities after batch 1 written again: %+v", ids)
	}
	runs, err := st.Runs(ctx)
	must(t, err)
	if len(runs) != 1 || runs[0].ID != "r1" {
		t.Errorf("runs: %+v", runs)
	}
	// Reset deletes what the run wrote.
	must(t, st.ResetRun(ctx, store.Run{ID: "r1", Sorted: true}))
	if pts, _ := st.Track(ctx, 445000101, t0.Add(-time.Hour), t0.Add(time.Hour)); len(pts) != 0 {
		t.Errorf("reset left %d points", len(pts))
	}
	if ids, _ := st.IdentityHistory(ctx, store.VesselQuery{MMSI: 445000101}); len(ids) != 0 {
		t.Errorf("reset left identities: %+v", ids)
	}
	if r, _ := st.Run(ctx, "r1"); !r.Sorted || r.Batches != 0 {
		t.Errorf("reset run: %+v", r)
	}
}

func testIdentityAcrossRuns(t *testing.T, st store.Store) {
	for i, run := range []string{"a", "b"} {
		must(t, st.PutRun(ctx, store.Run{ID: run}))
		b := &store.Batch{Run: store.Run{ID: run, Batches: 1}, Identities: []store.Identity{
			{MMSI: 477000001, IMO: 9100009, Field: "imo", Value: "9100009", First: t0.Add(time.Duration(i) * time.Hour), Last: t0.Add(time.Duration(i+1) * time.Hour), Count: 10, Source: "s"},
			{MMSI: 477000001, Field: "name", Value: "PLAIN", First: t0.Add(time.Duration(i) * time.Hour), Last: t0.Add(time.Duration(i+1) * time.Hour), Count: 5, Source: "s"},
		}}
		must(t, st.CommitBatch(ctx, b))
	}
	// A later part of a run's record (what was counted since its last
	// part: ingest writes a record when first seen, when its vessel is
	// evicted and at the end) adds to it; an IMO of 0 keeps the one held.
	must(t, st.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: "b", Batches: 2}, Identities: []store.Identity{
		{MMSI: 477000001, Field: "name", Value: "PLAIN", First: t0.Add(2 * time.Hour), Last: t0.Add(3 * time.Hour), Count: 4, Source: "s"},
		{MMSI: 477000001, Field: "imo", Value: "9100009", First: t0.Add(2 * time.Hour), Last: t0.Add(2 * time.Hour), Count: 1, Source: "s"}}}))
	must(t, st.PutRun(ctx, store.Run{ID: "c"}))
	must(t, st.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: "c", Batches: 1}, Identities: []store.Identity{
		{MMSI: 572000002, IMO: 9100009, Field: "imo", Value: "9100009", First: t0.Add(48 * time.Hour), Last: t0.Add(50 * time.Hour), Count: 3, Source: "s"}}}))
	ids, err := st.IdentityHistory(ctx, store.VesselQuery{MMSI: 477000001})
	must(t, err)
	byField := map[string]store.Identity{}
	for _, id := range ids {
		byField[id.Field] = id
	}
	if n := byField["name"]; n.Count != 14 || !n.First.Equal(t0) || !n.Last.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("name summed over runs and parts: %+v", n)
	}
	if n := byField["imo"]; n.Count != 21 || n.IMO != 9100009 {
		t.Errorf("imo: %+v", n)
	}
	// By IMO: every MMSI that broadcast it.
	byIMO, err := st.IdentityHistory(ctx, store.VesselQuery{IMO: 9100009})
	must(t, err)
	mmsis := map[uint32]bool{}
	for _, id := range byIMO {
		mmsis[id.MMSI] = true
	}
	if !mmsis[477000001] || !mmsis[572000002] || len(mmsis) != 2 {
		t.Errorf("by IMO: %v", mmsis)
	}
}

func testTrackAcrossRuns(t *testing.T, st store.Store) {
	pts := []store.Point{point(t0, 30, 120), point(t0.Add(time.Minute), 30.001, 120.001), point(t0.Add(2*time.Minute), 30.002, 120.002)}
	for _, run := range []string{"a", "b"} {
		must(t, st.PutRun(ctx, store.Run{ID: run}))
		must(t, st.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: run, Batches: 1}, Chunks: []store.Chunk{chunk(t, 412000001, pts)}}))
	}
	got, err := st.Track(ctx, 412000001, t0, t0.Add(time.Hour))
	must(t, err)
	if len(got) != 3 {
		t.Fatalf("the same positions from two runs: %d points, want 3", len(got))
	}
	for i := range got {
		if !got[i].Time.Equal(pts[i].Time) || got[i].Lat != pts[i].Lat || got[i].Lon != pts[i].Lon {
			t.Errorf("point %d: %+v want %+v", i, got[i], pts[i])
		}
	}
	if w, _ := st.Track(ctx, 412000001, t0.Add(30*time.Second), t0.Add(90*time.Second)); len(w) != 1 {
		t.Errorf("window: %d points", len(w))
	}
	if math.IsNaN(got[0].SOG) || got[0].SOG != 10 {
		t.Errorf("speed: %v", got[0].SOG)
	}
}

func testEvents(t *testing.T, st store.Store) {
	enc := detect.Event{Kind: detect.KindEncounter, Vessels: []detect.Vessel{{MMSI: 445000101}, {MMSI: 667000202}}, Start: t0.Add(5 * time.Hour), End: t0.Add(9 * time.Hour), Lat: 38.5, Lon: 124.2}
	gap := detect.Event{Kind: detect.KindGap, Vessels: []detect.Vessel{{MMSI: 667000202}}, Start: t0.Add(20 * time.Hour), End: t0.Add(34 * time.Hour), Lat: 36, Lon: 170}
	far := detect.Event{Kind: detect.KindGap, Vessels: []detect.Vessel{{MMSI: 412000001}}, Start: t0.Add(40 * time.Hour), End: t0.Add(50 * time.Hour), Lat: -10, Lon: -175}
	for _, run := range []string{"a", "b"} {
		must(t, st.PutRun(ctx, store.Run{ID: run}))
		must(t, st.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: run, Batches: 1},
			Events: []store.StoredEvent{{Seq: 0, Event: enc}, {Seq: 1, Event: gap}, {Seq: 2, Event: far}}}))
	}
	evs, err := st.Events(ctx, []uint32{667000202}, t0, t0.Add(48*time.Hour))
	must(t, err)
	if len(evs) != 2 || evs[0].Kind != detect.KindEncounter || evs[1].Kind != detect.KindGap {
		t.Fatalf("events of one vessel stored by two runs: %d", len(evs))
	}
	if !reflect.DeepEqual(evs[0].Vessels, enc.Vessels) || !evs[0].Start.Equal(enc.Start) {
		t.Errorf("event round trip: %+v", evs[0])
	}
	if e, _ := st.Events(ctx, []uint32{667000202}, t0.Add(10*time.Hour), t0.Add(15*time.Hour)); len(e) != 0 {
		t.Errorf("window between events: %d", len(e))
	}
	q := func(name string, q store.EventQuery, want int) {
		t.Helper()
		got, err := st.QueryEvents(ctx, q)
		must(t, err)
		if len(got) != want {
			t.Errorf("%s: %d events, want %d", name, len(got), want)
		}
	}
	q("all", store.EventQuery{}, 3)
	q("kind", store.EventQuery{Kinds: []string{detect.KindGap}}, 2)
	q("vessel", store.EventQuery{MMSIs: []uint32{445000101}}, 1)
	q("time", store.EventQuery{From: t0.Add(30 * time.Hour), To: t0.Add(45 * time.Hour)}, 2)
	q("area", store.EventQuery{Area: &store.BBox{South: 35, West: 120, North: 40, East: 130}}, 1)
	q("antimeridian", store.EventQuery{Area: &store.BBox{South: -20, West: 160, North: 40, East: -170}}, 2)
	q("limit", store.EventQuery{Limit: 2}, 2)
}

func testCoverage(t *testing.T, st store.Store) {
	must(t, st.PutRun(ctx, store.Run{ID: "a"}))
	day := 24 * time.Hour
	must(t, st.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: "a", Batches: 1}, Chunks: []store.Chunk{
		chunk(t, 412000001, []store.Point{point(t0, 1, 1), point(t0.Add(time.Hour), 1, 1.1)}),
		chunk(t, 412000001, []store.Point{point(t0.Add(2*day), 1, 2), point(t0.Add(2*day+time.Hour), 1, 2.1)}),
		chunk(t, 412000002, []store.Point{point(t0.Add(3*day), 1, 2)}),
	}}))
	c, err := st.Coverage(ctx, []uint32{412000001}, t0.Add(-day), t0.Add(10*day))
	must(t, err)
	if c.Points != 4 || c.Fixes != 8 || c.Days != 2 || !c.First.Equal(t0) || !c.Last.Equal(t0.Add(2*day+time.Hour)) {
		t.Errorf("coverage: %+v", c)
	}
	if c, _ := st.Coverage(ctx, []uint32{412000001, 412000002}, t0.Add(-day), t0.Add(10*day)); c.Days != 3 {
		t.Errorf("two MMSIs: %+v", c)
	}
}

func testTenants(t *testing.T, st store.Store) {
	// A new store holds the operator's tenant, "local": the CLI's and
	// the first admin's (no user or key can be made without it).
	if l, err := st.Tenant(ctx, "local"); err != nil || !l.Operator || l.Created.IsZero() {
		t.Errorf("the local tenant of a new store: %+v, %v", l, err)
	}
	if _, err := st.Tenant(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing tenant: %v", err)
	}
	must(t, st.PutTenant(ctx, store.Tenant{ID: "club", Name: "Club", Created: t0, Policy: store.TenantPolicy{FourEyes: true}}))
	must(t, st.PutTenant(ctx, store.Tenant{ID: "club", Name: "The Club", Created: t0, Policy: store.TenantPolicy{FourEyes: true}}))
	c, err := st.Tenant(ctx, "club")
	must(t, err)
	if c.Name != "The Club" || !c.Policy.FourEyes || !c.Created.Equal(t0) {
		t.Errorf("tenant: %+v", c)
	}
	ts, _ := st.Tenants(ctx)
	found := false
	for _, x := range ts {
		found = found || x.ID == "club"
	}
	if !found {
		t.Errorf("tenants: %+v", ts)
	}
	must(t, st.PutUser(ctx, store.User{Tenant: "club", Name: "alice", Role: "underwriter", PasswordHash: "$argon2id$secret", Created: t0}))
	u, err := st.User(ctx, "club", "alice")
	must(t, err)
	if u.PasswordHash != "$argon2id$secret" || u.Role != "underwriter" {
		t.Errorf("user: %+v", u)
	}
	us, _ := st.Users(ctx, "club")
	if len(us) != 1 || us[0].PasswordHash != "" {
		t.Errorf("users list carries the hash: %+v", us)
	}
	if _, err := st.User(ctx, "other", "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("user of another tenant: %v", err)
	}
}

func testAPIKeys(t *testing.T, st store.Store) {
	k := store.APIKey{ID: "abcdef012345", Tenant: "club", Name: "n", Role: "viewer", Hash: "h1", Created: t0, Expires: t0.Add(time.Hour)}
	must(t, st.PutAPIKey(ctx, k))
	if err := st.PutAPIKey(ctx, store.APIKey{ID: k.ID, Tenant: "other", Hash: "h2"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a key id taken by another tenant: %v", err)
	}
	k.Revoked = t0.Add(time.Minute)
	k.Hash = ""
	must(t, st.PutAPIKey(ctx, k))
	got, err := st.APIKey(ctx, k.ID)
	must(t, err)
	if got.Hash != "h1" || !got.Revoked.Equal(t0.Add(time.Minute)) {
		t.Errorf("key after update: %+v", got)
	}
	ks, _ := st.APIKeys(ctx, "club")
	if len(ks) != 1 || ks[0].Hash != "" {
		t.Errorf("keys list carries the hash: %+v", ks)
	}
	if ks, _ := st.APIKeys(ctx, "other"); len(ks) != 0 {
		t.Errorf("another tenant's keys: %+v", ks)
	}
	// Last use: raised, never lowered, the revocation and hash kept; an
	// unknown key ignored.
	must(t, st.TouchAPIKeys(ctx, []store.KeyUse{{ID: k.ID, At: t0.Add(2 * time.Minute)}, {ID: "nosuchkey000", At: t0}}))
	must(t, st.TouchAPIKeys(ctx, []store.KeyUse{{ID: k.ID, At: t0.Add(time.Minute)}}))
	got, err = st.APIKey(ctx, k.ID)
	must(t, err)
	if !got.LastUsed.Equal(t0.Add(2*time.Minute)) || got.Hash != "h1" || !got.Revoked.Equal(t0.Add(time.Minute)) || got.Name != "n" {
		t.Errorf("key after TouchAPIKeys: %+v", got)
	}
	if ks, _ := st.APIKeys(ctx, "club"); len(ks) != 1 || !ks[0].LastUsed.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("keys list after TouchAPIKeys: %+v", ks)
	}
}

func testAssessmentsAndDecisions(t *testing.T, st store.Store) {
	for _, tn := range []string{"a", "b"} {
		must(t, st.PutAssessment(ctx, store.Assessment{Tenant: tn, ID: "h1", IMO: 9100009, AsOf: t0, Score: 40, Outcome: "refer", Profile: json.RawMessage(`{"x":1}`)}))
	}
	got, err := st.Assessment(ctx, "b", "h1")
	must(t, err)
	if got.Score != 40 || string(got.Profile) != `{"x":1}` {
		t.Errorf("assessment: %+v", got)
	}
	if _, err := st.Assessment(ctx, "c", "h1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another tenant's assessment: %v", err)
	}
	for i := 0; i < 2; i++ {
		must(t, st.PutDecision(ctx, store.Decision{Tenant: "a", Subject: "imo:9100009", IMO: 9100009, Decision: "refer", Reason: fmt.Sprint(i), Status: "in_force", Time: t0}))
	}
	must(t, st.PutDecision(ctx, store.Decision{Tenant: "b", Subject: "mmsi:477000001", MMSI: 477000001, Decision: "accept", Status: "pending_approval", Time: t0}))
	da, err := st.Decisions(ctx, "a", store.VesselQuery{IMO: 9100009})
	must(t, err)
	if len(da) != 2 || da[0].ID != 1 || da[1].ID != 2 || da[1].Reason != "1" {
		t.Errorf("tenant a: %+v", da)
	}
	db, _ := st.Decisions(ctx, "b", store.VesselQuery{})
	if len(db) != 1 || db[0].ID != 1 {
		t.Errorf("tenant b numbers its own decisions: %+v", db)
	}
	d := db[0]
	d.Status, d.ApprovedBy = "in_force", "bob"
	must(t, st.PutDecision(ctx, d))
	if got, _ := st.Decision(ctx, "b", 1); got.Status != "in_force" || got.ApprovedBy != "bob" {
		t.Errorf("updated decision: %+v", got)
	}
	if _, err := st.Decision(ctx, "a", 3); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing decision: %v", err)
	}
	// A conditional update wins only from the status it expects.
	p := store.Decision{Tenant: "b", Subject: "imo:9100009", IMO: 9100009, Decision: "accept", Status: "pending_approval", Time: t0}
	must(t, st.PutDecision(ctx, p))
	p.ID = 2
	won := p
	won.Status, won.ApprovedBy = "in_force", "carol"
	must(t, st.UpdateDecisionIf(ctx, won, "pending_approval"))
	lost := p
	lost.Status, lost.ApprovedBy = "rejected", "dave"
	if err := st.UpdateDecisionIf(ctx, lost, "pending_approval"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second approval of one decision: %v, want ErrConflict", err)
	}
	if got, _ := st.Decision(ctx, "b", 2); got.Status != "in_force" || got.ApprovedBy != "carol" {
		t.Errorf("after a lost approval: %+v", got)
	}
	if err := st.UpdateDecisionIf(ctx, store.Decision{Tenant: "a", ID: 99, Status: "in_force"}, "pending_approval"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("conditional update of no decision: %v", err)
	}
}

func testAudit(t *testing.T, st store.Store) {
	for _, tn := range []string{"a", "b"} {
		l := &audit.Log{St: st, Tenant: tn, Now: func() time.Time { return t0 }}
		for i := 0; i < 3; i++ {
			if _, err := l.Append(ctx, "x", audit.ActionScreen, "name:"+tn, map[string]int{"i": i}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tail, err := st.AuditTail(ctx, "a")
	must(t, err)
	if tail.Seq != 3 || tail.Tenant != "a" {
		t.Errorf("tail: %+v", tail)
	}
	if _, err := st.AuditTail(ctx, "c"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("empty log tail: %v", err)
	}
	// A record whose seq is taken is refused, and nothing of its group
	// is stored.
	next := audit.Chain(&tail, store.AuditRecord{Tenant: "a", Time: t0, Actor: "x", Action: "screen", Subject: "s", Data: json.RawMessage(`{}`)})
	stale := next
	stale.Seq = 2
	if err := st.AppendAudit(ctx, []store.AuditRecord{next, stale}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("seq taken: %v", err)
	}
	if tl, _ := st.AuditTail(ctx, "a"); tl.Seq != 3 {
		t.Errorf("a refused group was partly stored: tail %d", tl.Seq)
	}
	for _, tn := range []string{"a", "b"} {
		rep, err := audit.Verify(ctx, st, tn)
		must(t, err)
		if !rep.OK() || rep.Records != 3 || rep.Anchor.Seq != 3 || rep.Anchor.Records != 3 {
			t.Errorf("%s: %+v", tn, rep)
		}
	}
	n := 0
	must(t, st.AuditRecords(ctx, "b", func(r store.AuditRecord) error {
		n++
		if r.Tenant != "b" || r.Seq != int64(n) {
			t.Errorf("record of b: %+v", r)
		}
		return nil
	}))
	if n != 3 {
		t.Errorf("%d records of b", n)
	}
	// Prune keeps the anchor's count right.
	l := &audit.Log{St: st, Tenant: "a", Now: func() time.Time { return t0.Add(24 * time.Hour) }}
	if k, err := l.Prune(ctx, "x", t0.Add(time.Hour)); err != nil || k != 3 {
		t.Fatalf("prune: %d %v", k, err)
	}
	rep, _ := audit.Verify(ctx, st, "a")
	if !rep.OK() || rep.Records != 1 || rep.Anchor.Records != 1 || rep.Anchor.Seq != 4 {
		t.Errorf("after prune: %+v", rep)
	}
}

func testStats(t *testing.T, st store.Store) {
	must(t, st.PutTenant(ctx, store.Tenant{ID: "club", Created: t0}))
	s, err := st.Stats(ctx)
	must(t, err)
	if s.SchemaVersion < 1 || s.Tenants < 1 {
		t.Errorf("stats: %+v", s)
	}
}

func testIngestLock(t *testing.T, st store.Store) {
	unlock, err := st.LockIngest(ctx, "run-a")
	must(t, err)
	if _, err := st.LockIngest(ctx, "run-a"); !errors.Is(err, store.ErrLocked) {
		t.Errorf("a second ingest lock: %v", err)
	}
	other, err := st.LockIngest(ctx, "run-b")
	if err != nil {
		t.Errorf("another run's lock: %v", err)
	} else {
		must(t, other())
	}
	must(t, unlock())
	again, err := st.LockIngest(ctx, "run-a")
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	must(t, again())

	// A lease is the same lock, checked while held.
	l, err := st.LockLease(ctx, "run-a")
	must(t, err)
	if err := l.Held(ctx); err != nil {
		t.Errorf("a lease just taken: %v", err)
	}
	if _, err := st.LockIngest(ctx, "run-a"); !errors.Is(err, store.ErrLocked) {
		t.Errorf("an ingest lock while its lease is held: %v", err)
	}
	if _, err := st.LockLease(ctx, "run-a"); !errors.Is(err, store.ErrLocked) {
		t.Errorf("a second lease: %v", err)
	}
	must(t, l.Release())
	if err := l.Held(ctx); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("a released lease: %v, want ErrLeaseLost", err)
	}
	after, err := st.LockIngest(ctx, "run-a")
	if err != nil {
		t.Fatalf("lock after the lease's release: %v", err)
	}
	must(t, after())
}

// testDetectorState: the detectors' checkpoint is stored, replaced,
// deleted, written with a batch in the same transaction (a batch that
// fails stores none), and read back whole when larger than a row.
func testDetectorState(t *testing.T, st store.Store) {
	if _, err := st.DetectorState(ctx, "ingest"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty: %v", err)
	}
	must(t, st.PutDetectorState(ctx, "ingest", []byte("one")))
	must(t, st.PutRun(ctx, store.Run{ID: "r"}))
	must(t, st.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: "r", Batches: 1}, State: &store.StateBlob{Key: "ingest", Data: []byte("two")}}))
	if b, err := st.DetectorState(ctx, "ingest"); err != nil || string(b) != "two" {
		t.Fatalf("after the batch: %q %v", b, err)
	}
	pts := []store.Point{point(t0, 1, 1)}
	bad := &store.Batch{Run: store.Run{ID: "r", Batches: 2}, Chunks: []store.Chunk{chunk(t, 1, pts), chunk(t, 1, pts)}, State: &store.StateBlob{Key: "ingest", Data: []byte("three")}}
	if err := st.CommitBatch(ctx, bad); err == nil {
		t.Fatal("a duplicate chunk was stored")
	}
	if b, _ := st.DetectorState(ctx, "ingest"); string(b) != "two" {
		t.Errorf("a failed batch changed the state: %q", b)
	}
	big := make([]byte, 5<<19) // 2.5 MiB: more than one row in both stores
	for i := range big {
		big[i] = byte(i * 7)
	}
	must(t, st.PutDetectorState(ctx, "ingest", big))
	if b, err := st.DetectorState(ctx, "ingest"); err != nil || !bytes.Equal(b, big) {
		t.Fatalf("a state of %d bytes came back as %d: %v", len(big), len(b), err)
	}
	must(t, st.PutDetectorState(ctx, "ingest", []byte("small")))
	if b, err := st.DetectorState(ctx, "ingest"); err != nil || string(b) != "small" {
		t.Fatalf("after a smaller one: %d bytes %v", len(b), err)
	}
	must(t, st.PutDetectorState(ctx, "other", []byte("x")))
	must(t, st.PutDetectorState(ctx, "ingest", nil))
	if _, err := st.DetectorState(ctx, "ingest"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted: %v", err)
	}
	if b, _ := st.DetectorState(ctx, "other"); string(b) != "x" {
		t.Errorf("another key: %q", b)
	}
}

// testEventsLatestVersion: an occurrence stored in several versions (the
// same ID: open at a checkpoint, then closed) is read once, as its latest
// version: closed before open, then the one that ends last, whatever the
// order they were stored in (an earlier part ingested again stores an
// old version last).
func testEventsLatestVersion(t *testing.T, st store.Store) {
	ev := detect.Event{ID: "abc", Kind: detect.KindGap, Status: detect.StatusOpen, Vessels: []detect.Vessel{{MMSI: 7}}, Start: t0, End: t0.Add(7 * time.Hour)}
	longer := ev
	longer.End = t0.Add(8 * time.Hour)
	closed := ev
	closed.Status, closed.End = detect.StatusClosed, t0.Add(9*time.Hour)
	other := ev
	other.ID, other.Start = "def", t0.Add(time.Hour)
	for i, evs := range [][]detect.Event{{ev, other}, {longer}, {closed}, {ev}} {
		run := fmt.Sprintf("r%d", i)
		must(t, st.PutRun(ctx, store.Run{ID: run}))
		var se []store.StoredEvent
		for j, e := range evs {
			se = append(se, store.StoredEvent{Seq: int64(j), Event: e})
		}
		must(t, st.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: run, Batches: 1}, Events: se}))
	}
	got, err := st.Events(ctx, []uint32{7}, t0, t0.Add(24*time.Hour))
	must(t, err)
	if len(got) != 2 || got[0].ID != "abc" || got[0].Status != detect.StatusClosed || !got[0].End.Equal(closed.End) || got[1].ID != "def" {
		t.Errorf("Events: %+v", got)
	}
	q, err := st.QueryEvents(ctx, store.EventQuery{Kinds: []string{detect.KindGap}})
	must(t, err)
	if len(q) != 2 || q[0].Status != detect.StatusClosed {
		t.Errorf("QueryEvents: %+v", q)
	}
}
