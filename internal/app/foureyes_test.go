package app_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/store"
)

// fourEyesClub is a four-eyes tenant "club" whose admin ann and
// underwriter bob were added by the console (the operator onboarding
// it), with sign-in as any of its users.
func fourEyesClub(t *testing.T) (*app.Service, func(name string) app.Principal) {
	t.Helper()
	s, _ := seeded(t)
	if _, err := s.CreateTenant(ctx, local, "club", "A P&I club", store.TenantPolicy{FourEyes: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, local, "club", "ann", "admin", "correct horse battery ann"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, local, "club", "bob", "underwriter", "correct horse battery bob"); err != nil {
		t.Fatal(err)
	}
	signIn := func(name string) app.Principal {
		t.Helper()
		se, err := s.Login(ctx, "club", name, "correct horse battery "+name, "192.0.2.7")
		if err != nil {
			t.Fatalf("sign-in as %s: %v", name, err)
		}
		p, err := s.SessionPrincipal(ctx, se.Token, "", false)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	return s, signIn
}

var overrideKoti = app.DecideRequest{Vessel: store.VesselQuery{IMO: 9417115}, Decision: risk.Accept, Reason: "member", OverrideReason: "sold and renamed"}

func pendingOverride(t *testing.T, s *app.Service, p app.Principal) int64 {
	t.Helper()
	res, err := s.Decide(ctx, p, overrideKoti)
	if err != nil || res.Decision.Status != app.DecisionPending {
		t.Fatalf("override by %s: %+v %v", p.Actor, res.Decision, err)
	}
	return res.Decision.ID
}

func refused(t *testing.T, what string, err error, words ...string) {
	t.Helper()
	if app.CodeOf(err) != app.CodeForbidden {
		t.Errorf("%s: %v, want forbidden", what, err)
		return
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: %q does not say %q", what, err, w)
		}
	}
}

// authenticate(t, s)(s.CreateAPIKey(...)) is the new key's principal.
func authenticate(t *testing.T, s *app.Service) func(app.NewKey, error) app.Principal {
	return func(k app.NewKey, err error) app.Principal {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Authenticate(ctx, k.Secret)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// TestKeyBoundOnlyByItsPerson: a key bound to a person is made by that
// person (signed in, or with a key bound to them); an admin makes keys
// bound to no one or to themself; the operator binds no key to another
// tenant's user; the console, which holds the store, may.
func TestKeyBoundOnlyByItsPerson(t *testing.T) {
	s, signIn := fourEyesClub(t)
	ann := signIn("ann")
	_, err := s.CreateAPIKey(ctx, ann, app.CreateKeyRequest{Name: "helper", Role: "underwriter", User: "bob"})
	refused(t, "ann binds a key to bob", err, "made by bob themself")
	own := authenticate(t, s)(s.CreateAPIKey(ctx, ann, app.CreateKeyRequest{Name: "laptop", Role: "admin", User: "ann"}))
	if own.Person != "ann" {
		t.Errorf("ann's own key acts as %q", own.Person)
	}
	// With her bound key, ann binds another to herself, not to bob.
	if _, err := s.CreateAPIKey(ctx, own, app.CreateKeyRequest{Name: "script", Role: "viewer", User: "ann"}); err != nil {
		t.Errorf("ann's bound key makes another for her: %v", err)
	}
	_, err = s.CreateAPIKey(ctx, own, app.CreateKeyRequest{Name: "helper", Role: "underwriter", User: "bob"})
	refused(t, "ann's bound key binds a key to bob", err, "made by bob themself")
	// A key bound to no one binds none.
	unbound := authenticate(t, s)(s.CreateAPIKey(ctx, ann, app.CreateKeyRequest{Name: "ops", Role: "admin"}))
	_, err = s.CreateAPIKey(ctx, unbound, app.CreateKeyRequest{Name: "helper", Role: "underwriter", User: "ann"})
	refused(t, "an unbound key binds a key to ann", err, "acts as no person")
	// The operator's admin (signed in, not the console) makes the club an
	// unbound key, never one bound to its people.
	if _, err := s.CreateUser(ctx, local, "", "opal", "admin", "correct horse battery opal"); err != nil {
		t.Fatal(err)
	}
	se, err := s.Login(ctx, app.LocalTenant, "opal", "correct horse battery opal", "")
	if err != nil {
		t.Fatal(err)
	}
	opal, err := s.SessionPrincipal(ctx, se.Token, "", false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateAPIKey(ctx, opal, app.CreateKeyRequest{Tenant: "club", Name: "support", Role: "admin", User: "ann"})
	refused(t, "the operator binds a key to the club's admin", err, "tenant club", "not by opal of tenant local")
	nk, err := s.CreateAPIKey(ctx, opal, app.CreateKeyRequest{Tenant: "club", Name: "onboarding", Role: "admin"})
	if err != nil {
		t.Fatalf("the operator makes the club's first admin key: %v", err)
	}
	// The club sees in its own log that the operator made it a key.
	recs, err := s.AuditRecords(ctx, ann, app.AuditFilter{Subject: "key:" + nk.ID})
	if err != nil || len(recs) != 1 || recs[0].Actor != "opal of the operator tenant local" {
		t.Errorf("the club's log on the operator's key: %+v %v", recs, err)
	}
	// Users the operator adds to the club are in the club's log too.
	if _, err := s.CreateUser(ctx, opal, "club", "olga", "viewer", "correct horse battery olga"); err != nil {
		t.Fatal(err)
	}
	recs, err = s.AuditRecords(ctx, ann, app.AuditFilter{Subject: "user:club/olga"})
	if err != nil || len(recs) != 1 || recs[0].Actor != "opal of the operator tenant local" {
		t.Errorf("the club's log on the operator's user: %+v %v", recs, err)
	}
	// The console binds keys for onboarding.
	if _, err := s.CreateAPIKey(ctx, local, app.CreateKeyRequest{Tenant: "club", Name: "desk", Role: "underwriter", User: "bob"}); err != nil {
		t.Errorf("the console binds a key to bob: %v", err)
	}
}

// TestFourEyesOneAdmin: one admin does not pass four eyes alone, through
// a user they add (directly, through another admin they add, or with a
// key bound to no one), or by approving as themself an override made as
// a user they added; a person nobody of the two added approves.
func TestFourEyesOneAdmin(t *testing.T) {
	s, signIn := fourEyesClub(t)
	ann := signIn("ann")
	id := pendingOverride(t, s, ann)
	// A new underwriter ann adds (she chose the password).
	if _, err := s.CreateUser(ctx, ann, "", "ghost", "underwriter", "correct horse battery ghost"); err != nil {
		t.Fatal(err)
	}
	_, err := s.ApproveDecision(ctx, signIn("ghost"), id, true, "")
	refused(t, "ghost, added by ann, approves ann's override", err, "ghost was added by ann")
	// Through an admin she adds, who adds another.
	if _, err := s.CreateUser(ctx, ann, "", "ann2", "admin", "correct horse battery ann2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, signIn("ann2"), "", "ghost2", "underwriter", "correct horse battery ghost2"); err != nil {
		t.Fatal(err)
	}
	_, err = s.ApproveDecision(ctx, signIn("ghost2"), id, true, "")
	refused(t, "ghost2, added by ann2, added by ann", err, "ghost2 was added by ann2, who was added by ann")
	// Through a key bound to no one that she made.
	unbound := authenticate(t, s)(s.CreateAPIKey(ctx, ann, app.CreateKeyRequest{Name: "ops", Role: "admin"}))
	if _, err := s.CreateUser(ctx, unbound, "", "ghost3", "underwriter", "correct horse battery ghost3"); err != nil {
		t.Fatal(err)
	}
	_, err = s.ApproveDecision(ctx, signIn("ghost3"), id, true, "")
	refused(t, "ghost3, added by ann's unbound key", err, "ghost3 was added by key "+unbound.KeyID+", which was made by ann")
	// The other way: an override made as ghost, approved by ann.
	gid := pendingOverride(t, s, signIn("ghost"))
	_, err = s.ApproveDecision(ctx, ann, gid, true, "")
	refused(t, "ann approves the override of ghost, whom she added", err, "does not approve the overrides of someone they added")
	// Bob, added by the console, is independent of ann: his approval
	// counts, and is the decision's.
	d, err := s.ApproveDecision(ctx, signIn("bob"), id, true, "checked")
	if err != nil || d.Status != app.DecisionInForce || d.ApprovedBy != "bob" {
		t.Fatalf("bob approves ann's override: %+v %v", d, err)
	}
	// Two people ann added are independent of each other.
	d, err = s.ApproveDecision(ctx, signIn("ann2"), gid, false, "not convinced")
	if err != nil || d.Status != app.DecisionRejected {
		t.Errorf("ann2 rejects ghost's override (ann added both; neither added the other): %+v %v", d, err)
	}
}

// TestFourEyesLegacyKey: a key bound to a colleague made before keys
// recorded their maker (CreatedBy only) does not approve its maker's
// override.
func TestFourEyesLegacyKey(t *testing.T) {
	s, st := seeded(t)
	if _, err := s.CreateTenant(ctx, local, "club", "", store.TenantPolicy{FourEyes: true}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"ann", "bob"} {
		if _, err := s.CreateUser(ctx, local, "club", u, "underwriter", "correct horse battery "+u); err != nil {
			t.Fatal(err)
		}
	}
	k, err := s.CreateAPIKey(ctx, local, app.CreateKeyRequest{Tenant: "club", Name: "helper", Role: "underwriter", User: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	sk, err := st.APIKey(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	sk.MadeBy, sk.CreatedBy = "", "ann (key 0123456789ab)" // as an older version stored it
	if err := st.PutAPIKey(ctx, sk); err != nil {
		t.Fatal(err)
	}
	se, err := s.Login(ctx, "club", "ann", "correct horse battery ann", "")
	if err != nil {
		t.Fatal(err)
	}
	ann, _ := s.SessionPrincipal(ctx, se.Token, "", false)
	id := pendingOverride(t, s, ann)
	bobKey, err := s.Authenticate(ctx, k.Secret)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.ApproveDecision(ctx, bobKey, id, true, "")
	refused(t, "a key ann made for bob approves ann's override", err, "key "+k.ID+" was made by ann")
}

// TestSignInAttemptsRecorded: a failed sign-in is recorded as an attempt
// from the client's address, not as the user named, unknown users too;
// one on a tenant that does not exist is counted.
func TestSignInAttemptsRecorded(t *testing.T) {
	s, signIn := fourEyesClub(t)
	for _, name := range []string{"bob", "nobody"} {
		if _, err := s.Login(ctx, "club", name, "wrong password here", "198.51.100.9"); err != app.ErrBadLogin {
			t.Fatalf("%s: %v", name, err)
		}
	}
	before := s.Metrics.Snapshot().SignInFailures
	if _, err := s.Login(ctx, "no-such-tenant", "bob", "wrong password here", "198.51.100.9"); err != app.ErrBadLogin {
		t.Fatal(err)
	}
	if n := s.Metrics.Snapshot().SignInFailures; n != before+1 {
		t.Errorf("sign-in failures %d after an unknown tenant's, want %d", n, before+1)
	}
	recs, err := s.AuditRecords(ctx, signIn("ann"), app.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		if strings.Contains(string(r.Data), `"login"`) {
			got = append(got, r.Actor+" "+r.Subject+" "+string(r.Data))
		}
	}
	want := []string{
		`sign-in attempt as bob from 198.51.100.9 user:club/bob {"from":"198.51.100.9","locked":false,"login":"failed"}`,
		`sign-in attempt as nobody from 198.51.100.9 user:club/nobody {"from":"198.51.100.9","login":"failed","why":"no such user"}`,
		`ann user:club/ann {"from":"192.0.2.7","login":"ok"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sign-in records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// BenchmarkSignInFailure times failed sign-ins, one of each kind a round
// (so a changing load on the machine weighs on all alike): a wrong
// password, an unknown user and an unknown tenant should cost the same,
// the argon2 check (docs/ui.md). It reports each kind's median.
func BenchmarkSignInFailure(b *testing.B) {
	s, _ := newService(b)
	const users = 8 // cycled, so none reaches the lockout
	for i := range users {
		if _, err := s.CreateUser(ctx, local, "", fmt.Sprintf("alice%d", i), "viewer", "correct horse battery alice"); err != nil {
			b.Fatal(err)
		}
	}
	kinds := []struct{ name, tenant, user string }{
		{"wrong-password", app.LocalTenant, "alice"}, {"unknown-user", app.LocalTenant, "nobody"}, {"unknown-tenant", "no-such-tenant", "alice"},
	}
	took := make([][]time.Duration, len(kinds))
	round := 0
	for b.Loop() {
		for k, c := range kinds {
			user := c.user
			if user == "alice" {
				user = fmt.Sprintf("alice%d", round%users)
			}
			t0 := time.Now()
			if _, err := s.Login(ctx, c.tenant, user, "wrong password here", "192.0.2.1"); err != app.ErrBadLogin {
				b.Fatal(err)
			}
			took[k] = append(took[k], time.Since(t0))
		}
		if round++; round%users == 0 {
			for i := range users {
				if _, err := s.SetUserDisabled(ctx, local, fmt.Sprintf("alice%d", i), false); err != nil { // resets the failures
					b.Fatal(err)
				}
			}
		}
	}
	for k, c := range kinds {
		d := took[k]
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2])/1e6, "ms-median-"+c.name)
	}
}
