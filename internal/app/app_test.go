package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/snapshot"
	"github.com/tidewatch/tidewatch/screen"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

var ctx = context.Background()

// now is the tests' clock: after every list version in the snapshot.
var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func newService(t testing.TB) (*app.Service, *sqlite.DB) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	s := app.New(app.Config{Store: st, Now: func() time.Time { return now }})
	t.Cleanup(func() { s.Close(); st.Close() })
	return s, st
}

func seeded(t *testing.T) (*app.Service, *sqlite.DB) {
	t.Helper()
	s, st := newService(t)
	if n, err := s.EnsureLists(ctx); err != nil || n != 7 {
		t.Fatalf("EnsureLists: %d %v", n, err)
	}
	return s, st
}

var local = app.LocalPrincipal("tester")

func TestParseSpan(t *testing.T) {
	base := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"12m":   time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC), // twelve calendar months, not minutes or 360 days
		"1y":    time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC),
		"90d":   base.AddDate(0, 0, -90),
		"2w":    base.AddDate(0, 0, -14),
		"1y6m":  time.Date(2024, 9, 31, 0, 0, 0, 0, time.UTC),
		"720h":  base.Add(-720 * time.Hour),
		"1h30m": base.Add(-90 * time.Minute),
	} {
		sp, err := app.ParseSpan(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := sp.Before(base); !got.Equal(want) {
			t.Errorf("%s before %s = %s, want %s", in, base, got, want)
		}
	}
	for _, bad := range []string{"", "0d", "-3m", "1000y", "101y", "3x", "m", "1201m", "99999999999h", "5000000d"} {
		if sp, err := app.ParseSpan(bad); err == nil {
			t.Errorf("%q accepted as %v", bad, sp)
		}
	}
}

// A first ingest killed while storing the embedded lists used to leave 3
// or 4 of the 7 versions for good: the next call completes them.
func TestEnsureListsCompletesAPartialSeed(t *testing.T) {
	s, st := newService(t)
	res := sanctions.LoadFiles(snapshot.Files())
	if _, err := st.PutListVersions(ctx, []store.ListVersion{{Dataset: res.Datasets[0]}, {Dataset: res.Datasets[1]}, {Dataset: res.Datasets[2]}}); err != nil {
		t.Fatal(err)
	}
	// An older build stored them without an import log.
	n, err := s.EnsureLists(ctx)
	if err != nil || n != 4 {
		t.Fatalf("EnsureLists after a partial seed: added %d, %v; want the 4 missing", n, err)
	}
	vs, _ := st.ListVersions(ctx)
	if len(vs) != 7 {
		t.Errorf("%d versions", len(vs))
	}
	if n, _ := s.EnsureLists(ctx); n != 0 {
		t.Errorf("second call added %d", n)
	}
	// A store that holds lists the user imported (not the snapshot) is
	// left alone.
	s2, st2 := newService(t)
	st2.PutListVersions(ctx, []store.ListVersion{{Dataset: res.Datasets[5]}})
	st2.LogListImport(ctx, store.ListImport{Time: now, List: res.Datasets[5].Version.List, Source: "user files", Outcome: app.OutcomeStored})
	if n, _ := s2.EnsureLists(ctx); n != 0 {
		t.Errorf("user lists topped up with %d snapshot versions", n)
	}
}

func unBundle(t *testing.T, year string) sanctions.File {
	t.Helper()
	for _, f := range snapshot.Files() {
		if strings.Contains(f.Name, "un_consolidated_"+year) {
			return f
		}
	}
	t.Fatal("no UN file")
	return sanctions.File{}
}

func TestImportOutcomesAndGuards(t *testing.T) {
	s, _ := newService(t)
	imp := func(f sanctions.File, minRatio float64) app.VersionImport {
		t.Helper()
		res, err := s.ImportLists(ctx, local, app.ImportRequest{Files: []sanctions.File{f}, Source: "test", MinRatio: minRatio, KeepFiles: true})
		if err != nil || len(res.Versions) != 1 {
			t.Fatalf("import: %+v %v", res, err)
		}
		return res.Versions[0]
	}
	if v := imp(unBundle(t, "2026"), 0); v.Outcome != app.OutcomeStored {
		t.Errorf("first: %+v", v)
	}
	if v := imp(unBundle(t, "2025"), 0); v.Outcome != app.OutcomeHistory {
		t.Errorf("older: %+v", v)
	}
	if v := imp(unBundle(t, "2026"), 0); v.Outcome != app.OutcomeUnchanged {
		t.Errorf("again: %+v", v)
	}
	// The raw file is kept with the version, byte for byte.
	files, err := s.ListFilesOf(ctx, local, "un@2026-02-27-66b392a4")
	if err != nil || len(files) != 1 || len(files[0].Data) < 1000000 || files[0].SHA256 == "" {
		t.Errorf("raw files: %d %v", len(files), err)
	}
	// A later version holding a tenth of the entities is refused: the
	// versions held stay in force, and the attempt is logged.
	small := truncatedUN(t)
	if v := imp(small, 0); v.Outcome != app.OutcomeFailed || !strings.Contains(v.Reason, "looks truncated") {
		t.Errorf("shrunken list: %+v", v)
	}
	vs, _ := s.ListVersions(ctx, local)
	for _, v := range vs {
		if v.List == "un" && v.InForce && v.ID != "un@2026-02-27-66b392a4" {
			t.Errorf("in force: %s", v.ID)
		}
	}
	log, _ := s.ListImports(ctx, local, "un")
	if len(log) != 4 || log[3].Outcome != app.OutcomeFailed || log[3].Reason == "" {
		t.Errorf("import log: %+v", log)
	}
	// A tenant other than the operator may not change shared lists.
	other := app.Principal{Tenant: "insurer-b", Actor: "b", Role: app.RoleAdmin}
	if _, err := s.ImportLists(ctx, other, app.ImportRequest{Files: []sanctions.File{small}}); app.CodeOf(err) != app.CodeForbidden {
		t.Errorf("non-operator import: %v", err)
	}
	// An oversized list is refused whatever the guard.
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "big.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bs := app.New(app.Config{Store: st, MaxListEntities: 500, Now: func() time.Time { return now }})
	defer bs.Close()
	res, err := bs.ImportLists(ctx, local, app.ImportRequest{Files: []sanctions.File{unBundle(t, "2026")}, MinRatio: -1})
	if err != nil || res.Versions[0].Outcome != app.OutcomeFailed || !strings.Contains(res.Versions[0].Reason, "more than the 500 allowed") {
		t.Errorf("oversized: %+v %v", res, err)
	}
}

// truncatedUN is the 2026 UN file, dated later, cut after its first 60
// individuals and closed properly: it parses, just short, as a truncated
// download re-wrapped by a proxy would.
func truncatedUN(t *testing.T) sanctions.File {
	t.Helper()
	f := unBundle(t, "2026")
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	x := strings.Replace(string(b), `dateGenerated="2026-02-27`, `dateGenerated="2026-06-01`, 1)
	end := 0
	for i := 0; i < 60; i++ {
		end += strings.Index(x[end:], "</INDIVIDUAL>") + len("</INDIVIDUAL>")
	}
	cut := []byte(x[:end] + "\n</INDIVIDUALS><ENTITIES></ENTITIES></CONSOLIDATED_LIST>\n")
	return sanctions.File{Name: "un_consolidated_2026-06-01.xml", ModTime: now, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(cut)), nil }}
}

func TestScreeningIndexBuiltOncePerVersionSet(t *testing.T) {
	s, _ := seeded(t)
	for i := 0; i < 3; i++ {
		res, err := s.Screen(ctx, local, screen.Query{Name: "CHONMASAN"}, app.ScreenOptions{})
		if err != nil || len(res.Matches) == 0 || res.Matches[0].Name != "CHON MA SAN" {
			t.Fatalf("screen: %+v %v", res, err)
		}
		if len(res.Lists) != 5 || res.Lists[0].SHA256 == "" || res.Program == "" {
			t.Errorf("provenance: %+v", res.Provenance)
		}
	}
	if n := s.Metrics.Snapshot().IndexBuilds; n != 1 {
		t.Errorf("%d index builds for three screenings", n)
	}
	// A profile as of 2025 needs the versions in force then: a second index.
	if _, err := s.Profile(ctx, local, app.ProfileRequest{Vessel: store.VesselQuery{IMO: 8660313}, AsOf: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	if n := s.Metrics.Snapshot().IndexBuilds; n != 2 {
		t.Errorf("%d index builds after a point-in-time profile", n)
	}
	// An invalid IMO is a warning and left out, never used against a name.
	res, _ := s.Screen(ctx, local, screen.Query{Type: "vessel", Name: "RYONG GUN BONG", IMO: "12"}, app.ScreenOptions{})
	if len(res.Warnings) != 1 || len(res.Matches) == 0 || !res.Matches[0].Match {
		t.Errorf("bad IMO: %+v", res)
	}
}

func TestDecisionGovernance(t *testing.T) {
	s, _ := seeded(t)
	if _, err := s.CreateTenant(ctx, local, "club", "A P&I club", store.TenantPolicy{FourEyes: true}); err != nil {
		t.Fatal(err)
	}
	alice := app.Principal{Tenant: "club", Actor: "alice", Role: app.RoleUnderwriter, Person: "alice"}
	bob := app.Principal{Tenant: "club", Actor: "bob", Role: app.RoleUnderwriter, Person: "bob"}
	viewer := app.Principal{Tenant: "club", Actor: "vera", Role: app.RoleViewer}
	koti := store.VesselQuery{IMO: 9417115} // on three lists: the profile declines
	if _, err := s.Decide(ctx, alice, app.DecideRequest{Vessel: koti, Decision: risk.Accept}); app.CodeOf(err) != app.CodeInvalid {
		t.Errorf("no reason: %v", err)
	}
	if _, err := s.Decide(ctx, viewer, app.DecideRequest{Vessel: koti, Decision: risk.Decline, Reason: "x"}); app.CodeOf(err) != app.CodeForbidden {
		t.Errorf("viewer decides: %v", err)
	}
	_, err := s.Decide(ctx, alice, app.DecideRequest{Vessel: koti, Decision: risk.Accept, Reason: "long-standing member"})
	if app.CodeOf(err) != app.CodePrecondition || !strings.Contains(err.Error(), "override reason") {
		t.Fatalf("accepting a decline without an override reason: %v", err)
	}
	res, err := s.Decide(ctx, alice, app.DecideRequest{Vessel: koti, Decision: risk.Accept, Reason: "long-standing member", OverrideReason: "sold, renamed and re-flagged; new owner checked"})
	if err != nil || !res.Decision.Override || res.Decision.Status != app.DecisionPending || res.Recommendation != risk.Decline {
		t.Fatalf("override: %+v %v", res, err)
	}
	if _, err := s.ApproveDecision(ctx, alice, res.Decision.ID, true, ""); app.CodeOf(err) != app.CodeForbidden {
		t.Errorf("self-approval: %v", err)
	}
	d, err := s.ApproveDecision(ctx, bob, res.Decision.ID, true, "checked the sale documents")
	if err != nil || d.Status != app.DecisionInForce || d.ApprovedBy != "bob" {
		t.Errorf("approval: %+v %v", d, err)
	}
	// The local tenant sees none of the club's decisions.
	if ds, _ := s.Decisions(ctx, local, koti); len(ds) != 0 {
		t.Errorf("another tenant's decisions visible: %+v", ds)
	}
	// Every step is in the club's audit log, which verifies; the refused
	// decision (no override reason) left no profile record.
	recs, _ := s.AuditRecords(ctx, alice, app.AuditFilter{Subject: "9417115"})
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action)
	}
	if got := strings.Join(actions, " "); got != "profile decision approve" {
		t.Errorf("audit: %s", got)
	}
	if rep, err := s.VerifyAudit(ctx, alice, ""); err != nil || !rep.OK() {
		t.Errorf("verify: %+v %v", rep, err)
	}
}

func TestAPIKeys(t *testing.T) {
	s, st := newService(t)
	k, err := s.CreateAPIKey(ctx, local, app.CreateKeyRequest{Name: "svc", Role: "analyst"})
	if err != nil || !strings.HasPrefix(k.Secret, "tw_") || k.Hash != "" {
		t.Fatalf("create: %+v %v", k, err)
	}
	p, err := s.Authenticate(ctx, k.Secret)
	if err != nil || p.Tenant != app.LocalTenant || p.Role != app.RoleAnalyst || !p.Operator || p.KeyID != k.ID {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	flipped := k.Secret[:len(k.Secret)-1] + "a"
	if flipped == k.Secret {
		flipped = k.Secret[:len(k.Secret)-1] + "b"
	}
	for _, bad := range []string{"", "tw_", k.Secret + "x", flipped, strings.Replace(k.Secret, k.ID, "000000000000", 1), "Bearer " + k.Secret} {
		if _, err := s.Authenticate(ctx, bad); !errors.Is(err, app.ErrBadKey) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// Only the hash is stored.
	stored, _ := s.APIKeys(ctx, local)
	if len(stored) != 1 || stored[0].Hash != "" {
		t.Errorf("listed: %+v", stored)
	}
	// A key cannot give more than its maker has.
	if _, err := s.CreateAPIKey(ctx, app.Principal{Tenant: app.LocalTenant, Actor: "x", Role: app.RoleAdmin - 1}, app.CreateKeyRequest{Name: "n", Role: "admin"}); app.CodeOf(err) != app.CodeForbidden {
		t.Errorf("escalation: %v", err)
	}
	if _, err := s.RevokeAPIKey(ctx, local, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, k.Secret); !errors.Is(err, app.ErrBadKey) {
		t.Errorf("revoked key accepted: %v", err)
	}
	// Expired: a service whose clock is past the key's expiry.
	k2, err := s.CreateAPIKey(ctx, local, app.CreateKeyRequest{Name: "short", Role: "viewer", TTL: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, k2.Secret); err != nil {
		t.Errorf("fresh key: %v", err)
	}
	later := app.New(app.Config{Store: st, Now: func() time.Time { return now.Add(3 * time.Hour) }})
	defer later.Close()
	if _, err := later.Authenticate(ctx, k2.Secret); !errors.Is(err, app.ErrBadKey) {
		t.Errorf("expired key accepted: %v", err)
	}
	// A life out of bounds is said in days and years (or minutes), not
	// as Go's "87672h0m0s".
	for ttl, want := range map[time.Duration]string{
		3653 * 24 * time.Hour: "key lifetime 3653 days, about 10 years: between 1 hour and 2 years",
		913 * 24 * time.Hour:  "key lifetime 913 days, about 2.5 years",
		30 * time.Minute:      "key lifetime 30m0s",
	} {
		_, err := s.CreateAPIKey(ctx, local, app.CreateKeyRequest{Name: "n", Role: "viewer", TTL: ttl})
		if app.CodeOf(err) != app.CodeInvalid || !strings.Contains(err.Error(), want) {
			t.Errorf("ttl %v: %v, want %q", ttl, err, want)
		}
	}
}

// A single static report from another transmitter carrying a clean
// ship's IMO must not rename the ship, take its flag or its score: it is
// an identity conflict about that claim (issue: a forged type 5 flipped
// ACCEPT 5 to DECLINE 140).
func TestForgedStaticIsAClaimNotTheShip(t *testing.T) {
	// A forgery mid-history, in the ship's last day while it goes on, and
	// once after its latest report (the live edge): a claim each time.
	for _, at := range []time.Duration{30 * time.Hour, 71 * time.Hour, 72*time.Hour - 30*time.Second} {
		t.Run(at.String(), func(t *testing.T) { forgedStatic(t, at) })
	}
}

func forgedStatic(t *testing.T, forgedAt time.Duration) {
	s, st := seeded(t)
	t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	const imo, own, forger = 9100009, 477123000, 445999001
	run := store.Run{ID: "forged", Batches: 1, Done: true}
	b := &store.Batch{Run: run}
	for day := 0; day < 3; day++ {
		var enc store.ChunkEncoder
		start := t0.Add(time.Duration(day) * 24 * time.Hour)
		n := 0
		for m := 0; m < 24*60; m += 10 {
			enc.Append(store.Point{Time: start.Add(time.Duration(m) * time.Minute), Lat: 30, Lon: 125 + float64(m)/5000, SOG: 12, COG: 90})
			n++
		}
		b.Chunks = append(b.Chunks, store.Chunk{MMSI: own, Start: start, End: start.Add(time.Duration(n-1) * 10 * time.Minute), N: n, Fixes: int64(n), Data: append([]byte(nil), enc.Bytes()...)})
	}
	end := t0.Add(72*time.Hour - time.Minute)
	for _, id := range []store.Identity{
		{MMSI: own, IMO: imo, Field: "imo", Value: "9100009", First: t0, Last: end, Count: 400, Source: "ais"},
		{MMSI: own, IMO: imo, Field: "name", Value: "PLAIN SAILING", First: t0, Last: end, Count: 400, Source: "ais"},
		{MMSI: own, Field: "flag", Value: "HK", First: t0, Last: end, Count: 2000, Source: "ais"},
		{MMSI: forger, IMO: imo, Field: "imo", Value: "9100009", First: t0.Add(forgedAt), Last: t0.Add(forgedAt), Count: 1, Source: "ais"},
		{MMSI: forger, IMO: imo, Field: "name", Value: "FORGED", First: t0.Add(forgedAt), Last: t0.Add(forgedAt), Count: 1, Source: "ais"},
		{MMSI: forger, Field: "flag", Value: "KP", First: t0.Add(forgedAt), Last: t0.Add(forgedAt), Count: 1, Source: "ais"},
	} {
		b.Identities = append(b.Identities, id)
	}
	if err := st.PutRun(ctx, store.Run{ID: "forged"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CommitBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	res, err := s.Profile(ctx, local, app.ProfileRequest{Vessel: store.VesselQuery{IMO: imo}, AsOf: t0.Add(72 * time.Hour), Window: app.Span{Days: 3}})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Profile
	if p.Name != "PLAIN SAILING" || p.Flag != "HK" || len(p.MMSIs) != 1 || p.MMSIs[0] != own {
		t.Errorf("the forger reframed the ship: name %q flag %q mmsis %v", p.Name, p.Flag, p.MMSIs)
	}
	if p.Recommendation == risk.Decline || len(p.Claims) != 1 || p.Claims[0].MMSI != forger {
		t.Errorf("recommendation %s score %g claims %+v factors %+v", p.Recommendation, p.Score, p.Claims, p.Factors)
	}
	var conflict bool
	for _, f := range p.Factors {
		conflict = conflict || f.ID == "identity_conflict"
		if f.ID == "dprk_flag" || f.ID == "name_change" || f.ID == "flag_change" {
			t.Errorf("the forger's identity scored against the ship: %+v", f)
		}
	}
	if !conflict {
		t.Errorf("the claim is not reported: %+v", p.Factors)
	}
	// Asked by the forger's MMSI, the forger is the subject, with its own
	// DPRK flag, and the ship's transmitter is not merged into it.
	fr, err := s.Profile(ctx, local, app.ProfileRequest{Vessel: store.VesselQuery{MMSI: forger}, AsOf: t0.Add(72 * time.Hour), Window: app.Span{Days: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if len(fr.Profile.MMSIs) != 1 || fr.Profile.MMSIs[0] != forger || fr.Profile.Recommendation != risk.Decline {
		t.Errorf("the forger's own profile: %v %s", fr.Profile.MMSIs, fr.Profile.Recommendation)
	}
}

// A list version that changes what is in force reaches screening: the
// import builds the new index before it returns, and screening never
// waits for a build while an index is current.
func TestImportRefreshesScreening(t *testing.T) {
	s, _ := newService(t)
	if _, err := s.ImportLists(ctx, local, app.ImportRequest{Files: []sanctions.File{unBundle(t, "2025")}, MinRatio: -1}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Screen(ctx, local, screen.Query{Name: "CHONMASAN"}, app.ScreenOptions{})
	if err != nil || len(res.Lists) != 1 || res.Lists[0].ID != "un@2025-04-19-929a40ec" {
		t.Fatalf("before: %+v %v", res.Lists, err)
	}
	if _, err := s.ImportLists(ctx, local, app.ImportRequest{Files: []sanctions.File{unBundle(t, "2026")}, MinRatio: -1}); err != nil {
		t.Fatal(err)
	}
	res, err = s.Screen(ctx, local, screen.Query{Name: "CHONMASAN"}, app.ScreenOptions{})
	if err != nil || len(res.Lists) != 1 || res.Lists[0].ID != "un@2026-02-27-66b392a4" {
		t.Errorf("after the import: %+v %v", res.Lists, err)
	}
}

// Only the simulator's own receiver name marks data simulated (a source
// merely containing "sim", such as a Simrad receiver, used to).
func TestSimulatedSource(t *testing.T) {
	for src, want := range map[string]bool{"sim": true, "Simrad-RX": false, "simferopol-station": false, "": false} {
		if got := app.IsSimulatedSource(src); got != want {
			t.Errorf("%q: %v", src, got)
		}
	}
}

func sqliteOpen(t *testing.T) (*sqlite.DB, error) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err == nil {
		t.Cleanup(func() { st.Close() })
	}
	return st, err
}

func TestUsersAndSessions(t *testing.T) {
	s, st := newService(t)
	if _, err := s.CreateUser(ctx, local, "", "alice", "underwriter", "short"); app.CodeOf(err) != app.CodeInvalid {
		t.Errorf("short password: %v", err)
	}
	u, err := s.CreateUser(ctx, local, "", "alice", "underwriter", "correct horse battery")
	if err != nil || u.PasswordHash != "" || u.Role != "underwriter" {
		t.Fatalf("create: %+v %v", u, err)
	}
	stored, _ := st.User(ctx, app.LocalTenant, "alice")
	if !strings.HasPrefix(stored.PasswordHash, "$argon2id$") || strings.Contains(stored.PasswordHash, "horse") {
		t.Errorf("stored hash: %q", stored.PasswordHash)
	}
	se, err := s.Login(ctx, app.LocalTenant, "alice", "correct horse battery", "")
	if err != nil || se.Role != app.RoleUnderwriter || se.Token == "" || se.CSRF == "" {
		t.Fatalf("login: %+v %v", se, err)
	}
	if p, err := s.SessionPrincipal(ctx, se.Token, se.CSRF, true); err != nil || p.Actor != "alice" {
		t.Errorf("session: %+v %v", p, err)
	}
	// The tenant as typed at the sign-in ("Local ") is the tenant; a user
	// name differing from another only in case is refused (h-try4).
	if _, err := s.Login(ctx, " "+strings.ToUpper(app.LocalTenant[:1])+app.LocalTenant[1:], "alice", "correct horse battery", ""); err != nil {
		t.Errorf("the tenant typed with a capital: %v", err)
	}
	if _, err := s.CreateUser(ctx, local, "", "ALICE", "viewer", "correct horse battery"); app.CodeOf(err) != app.CodeConflict || !strings.Contains(err.Error(), "differ only in case") {
		t.Errorf("ALICE beside alice: %v", err)
	}
	if _, err := s.SessionPrincipal(ctx, se.Token, "forged", true); app.CodeOf(err) != app.CodeForbidden {
		t.Errorf("a forged CSRF token: %v", err)
	}
	// Five failures lock the account, even for the right password.
	for i := 0; i < app.LockAfter; i++ {
		if _, err := s.Login(ctx, app.LocalTenant, "alice", "wrong password here", ""); !errors.Is(err, app.ErrBadLogin) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	if _, err := s.Login(ctx, app.LocalTenant, "alice", "correct horse battery", ""); !errors.Is(err, app.ErrBadLogin) {
		t.Errorf("a locked account signed in: %v", err)
	}
	if _, err := s.Login(ctx, app.LocalTenant, "nobody", "correct horse battery", ""); !errors.Is(err, app.ErrBadLogin) {
		t.Errorf("an unknown user: %v", err)
	}
	if err := s.Logout(ctx, se.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionPrincipal(ctx, se.Token, se.CSRF, false); err == nil {
		t.Error("a session outlived its logout")
	}
}

// TestFourEyesCountPeople: in a four-eyes tenant an override and its
// approval are made by people; two keys of one user are one person, a
// key bound to no user can do neither, and of two approvers at once one
// wins.
func TestFourEyesCountPeople(t *testing.T) {
	s, _ := seeded(t)
	if _, err := s.CreateTenant(ctx, local, "club", "A P&I club", store.TenantPolicy{FourEyes: true}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if _, err := s.CreateUser(ctx, local, "club", u, "underwriter", "correct horse battery "+u); err != nil {
			t.Fatal(err)
		}
	}
	key := func(user string) app.Principal {
		k, err := s.CreateAPIKey(ctx, local, app.CreateKeyRequest{Tenant: "club", Name: "desk " + user, Role: "underwriter", User: user})
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Authenticate(ctx, k.Secret)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	koti := store.VesselQuery{IMO: 9417115}
	override := app.DecideRequest{Vessel: koti, Decision: risk.Accept, Reason: "member", OverrideReason: "sold and renamed"}
	// A key bound to nobody makes no override in a four-eyes tenant.
	anon, err := s.CreateAPIKey(ctx, local, app.CreateKeyRequest{Tenant: "club", Name: "script", Role: "underwriter"})
	if err != nil {
		t.Fatal(err)
	}
	ap, _ := s.Authenticate(ctx, anon.Secret)
	if _, err := s.Decide(ctx, ap, override); app.CodeOf(err) != app.CodeForbidden {
		t.Errorf("override with an unbound key: %v", err)
	}
	// Alice's two keys are one person.
	a1, a2 := key("alice"), key("alice")
	if a1.Person != "alice" || a1.Actor == a2.Actor {
		t.Fatalf("bound keys: %+v %+v", a1, a2)
	}
	res, err := s.Decide(ctx, a1, override)
	if err != nil || res.Decision.Status != app.DecisionPending || res.Decision.ByPerson != "alice" {
		t.Fatalf("override: %+v %v", res.Decision, err)
	}
	if _, err := s.ApproveDecision(ctx, a2, res.Decision.ID, true, ""); app.CodeOf(err) != app.CodeForbidden {
		t.Errorf("alice approves her own override with her other key: %v", err)
	}
	if _, err := s.ApproveDecision(ctx, ap, res.Decision.ID, true, ""); app.CodeOf(err) != app.CodeForbidden {
		t.Errorf("an unbound key approves: %v", err)
	}
	// A key holds no more than its user.
	if _, err := s.CreateUser(ctx, local, "club", "vera", "viewer", "correct horse battery vera"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAPIKey(ctx, local, app.CreateKeyRequest{Tenant: "club", Name: "x", Role: "underwriter", User: "vera"}); app.CodeOf(err) != app.CodeForbidden {
		t.Errorf("a key above its user's role: %v", err)
	}
	if _, err := s.CreateAPIKey(ctx, local, app.CreateKeyRequest{Tenant: "club", Name: "x", Role: "viewer", User: "nobody"}); app.CodeOf(err) != app.CodeNotFound {
		t.Errorf("a key for no user: %v", err)
	}
	// Bob and Carol approve at once: one wins, the other is told.
	b, c := key("bob"), key("carol")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, p := range []app.Principal{b, c} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.ApproveDecision(ctx, p, res.Decision.ID, i == 0, "checked")
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else if app.CodeOf(err) != app.CodePrecondition {
			t.Errorf("the losing approver: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d approvals of one decision won: %v", won, errs)
	}
	recs, _ := s.AuditRecords(ctx, b, app.AuditFilter{Action: "approve"})
	if len(recs) != 1 {
		t.Errorf("%d approval records, want 1", len(recs))
	}
	// A disabled user's keys stop at once.
	k, err := s.CreateAPIKey(ctx, local, app.CreateKeyRequest{Tenant: "club", Name: "laptop", Role: "viewer", User: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, k.Secret); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetUserDisabled(ctx, app.Principal{Tenant: "club", Actor: "admin", Role: app.RoleAdmin, Person: "admin"}, "carol", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, k.Secret); err == nil {
		t.Error("a disabled user's key still authenticates")
	}
}

func TestParseVessel(t *testing.T) {
	for in, want := range map[string]store.VesselQuery{
		"9300207": {IMO: 9300207}, "IMO 9300207": {IMO: 9300207}, "imo:9300207": {IMO: 9300207},
		"445000101": {MMSI: 445000101}, "mmsi:445000101": {MMSI: 445000101},
		// Numbers no station has, as spoofers broadcast them.
		"mmsi:123456": {MMSI: 123456}, "MMSI: 0000001": {MMSI: 1},
	} {
		if got, err := app.ParseVessel(in); err != nil || got != want {
			t.Errorf("%q: %+v %v, want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"9300208", "123456", "000123456", "000000000", "mmsi:0", "mmsi:1234567890", "mmsi:", "x"} {
		_, err := app.ParseVessel(in)
		if app.CodeOf(err) != app.CodeInvalid {
			t.Errorf("%q: %v, want invalid", in, err)
			continue
		}
		// What a refusal suggests writing is accepted.
		if _, sug, ok := strings.Cut(err.Error(), "write "); ok {
			sug = strings.TrimRight(strings.Fields(sug)[0], ")")
			if _, err := app.ParseVessel(sug); err != nil {
				t.Errorf("%q suggests %q, which is refused: %v", in, sug, err)
			}
		}
	}
	if _, err := app.ParseVessel("000000000"); err == nil || !strings.Contains(err.Error(), "all zeros") {
		t.Errorf("000000000: %v", err)
	}
	if _, err := app.ParseVessel("9300208"); err == nil || !strings.Contains(err.Error(), "expected 7") {
		t.Errorf("9300208: %v", err)
	}
}

// TestJobsBounded: a tenant runs at most MaxRunningJobsPerTenant jobs at
// once; the next is refused (rate_limited) while another tenant's start;
// once one ends the tenant may start again.
func TestJobsBounded(t *testing.T) {
	s, _ := newService(t)
	release := make(chan struct{})
	block := func(ctx context.Context, _ app.JobProgress) (any, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, nil
	}
	a := app.Principal{Tenant: "a", Actor: "x", Role: app.RoleViewer}
	b := app.Principal{Tenant: "b", Actor: "y", Role: app.RoleViewer}
	var started []app.Job
	for i := 0; i < app.MaxRunningJobsPerTenant; i++ {
		j, err := s.StartJob(a, "screen", 1, block)
		if err != nil {
			t.Fatalf("job %d: %v", i+1, err)
		}
		started = append(started, j)
	}
	if err := s.CanStartJob(a); app.CodeOf(err) != app.CodeRateLimited {
		t.Errorf("CanStartJob over the bound: %v", err)
	}
	if _, err := s.StartJob(a, "screen", 1, block); app.CodeOf(err) != app.CodeRateLimited {
		t.Errorf("a job over the bound: %v", err)
	}
	if _, err := s.StartJob(b, "screen", 1, block); err != nil {
		t.Errorf("another tenant's job: %v", err)
	}
	close(release)
	for _, j := range started {
		for {
			got, _, err := s.Job(a, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != app.JobRunning {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	if _, err := s.StartJob(a, "screen", 1, block); err != nil {
		t.Errorf("after the jobs ended: %v", err)
	}
}

// A log emptied, or cut at its tail, together with its anchor verifies
// as a chain (nothing says records were ever written), but the decisions
// the store keeps were each written as a numbered record: verify holds
// the log to them.
func TestAuditEmptiedWithItsAnchorIsCaught(t *testing.T) {
	cuts := map[string]func(rs []store.AuditRecord, a *store.AuditAnchor) []store.AuditRecord{
		"emptied with its anchor": func(rs []store.AuditRecord, a *store.AuditAnchor) []store.AuditRecord {
			*a = store.AuditAnchor{}
			return nil
		},
		"cut from the first decision, the anchor moved to the cut": func(rs []store.AuditRecord, a *store.AuditAnchor) []store.AuditRecord {
			for i, r := range rs {
				if r.Action == "decision" {
					rs = rs[:i]
					break
				}
			}
			*a = store.AuditAnchor{}
			if len(rs) > 0 {
				*a = store.AuditAnchor{Seq: rs[len(rs)-1].Seq, Hash: rs[len(rs)-1].Hash, Records: int64(len(rs))}
			}
			return rs
		},
	}
	for name, cut := range cuts {
		s, st := seeded(t)
		koti := store.VesselQuery{IMO: 9417115}
		if _, err := s.Profile(ctx, local, app.ProfileRequest{Vessel: koti}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Decide(ctx, local, app.DecideRequest{Vessel: koti, Decision: risk.Decline, Reason: "on three lists"}); err != nil {
			t.Fatal(err)
		}
		if rep, err := s.VerifyAudit(ctx, local, ""); err != nil || !rep.OK() {
			t.Fatalf("intact: %+v %v", rep, err)
		}
		if err := st.TamperAudit(local.Tenant, cut); err != nil {
			t.Fatal(err)
		}
		rep, err := s.VerifyAudit(ctx, local, "")
		if err != nil || rep.OK() || !strings.Contains(fmt.Sprint(rep.Problems), "no longer holds") {
			t.Errorf("%s: verifies: %+v %v", name, rep, err)
		}
	}
}

// TestAuditGroupsWithoutIdleWaits: a caller who screens one query after
// another is never kept waiting for records nobody is about to add (the
// writer waited out a 1 ms timer for each: at 32 clients the CPU stood
// idle 12% of the time), and concurrent callers still share commits.
func TestAuditGroupsWithoutIdleWaits(t *testing.T) {
	s, _ := seeded(t)
	q := screen.Query{Type: "vessel", Name: "CHON MA SAN"}
	if _, err := s.Screen(ctx, local, q, app.ScreenOptions{}); err != nil {
		t.Fatal(err)
	}
	before := s.Metrics.Snapshot()
	const n = 200
	for range n {
		if _, err := s.Screen(ctx, local, q, app.ScreenOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	after := s.Metrics.Snapshot()
	if got := after.AuditRecords - before.AuditRecords; got != n {
		t.Fatalf("%d records for %d screenings", got, n)
	}
	// Each waits for its own commit; none should wait out the linger
	// (a few may, on a machine busy elsewhere).
	if exp := after.AuditLingerExpired - before.AuditLingerExpired; exp > n/10 {
		t.Errorf("%d of %d one-at-a-time screenings waited out the linger", exp, n)
	}
	t.Logf("one at a time: %d commits, %d waited out the linger", after.AuditCommits-before.AuditCommits, after.AuditLingerExpired-before.AuditLingerExpired)

	before = after
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for range 50 {
				if _, err := s.Screen(ctx, local, q, app.ScreenOptions{}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	after = s.Metrics.Snapshot()
	recs, commits := after.AuditRecords-before.AuditRecords, after.AuditCommits-before.AuditCommits
	if recs != 800 || commits >= recs {
		t.Errorf("16 callers: %d records in %d commits; want 800 in fewer commits", recs, commits)
	}
	t.Logf("16 callers: %d records in %d commits", recs, commits)
	if rep, err := s.VerifyAudit(ctx, local, ""); err != nil || !rep.OK() {
		t.Fatalf("audit log: %+v %v", rep, err)
	}
}
