package app_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/internal/app"
)

// TestChangePasswordWrongCurrentLocks: a wrong current password on the
// password form counts against the sign-in lockout and is audited
// (without the passwords); LockAfter of them lock the account, end its
// sessions and refuse even the right password, on the form and at
// sign-in.
func TestChangePasswordWrongCurrentLocks(t *testing.T) {
	s, _ := newService(t)
	const pw = "correct horse battery"
	if _, err := s.CreateUser(ctx, local, "", "alice", "analyst", pw); err != nil {
		t.Fatal(err)
	}
	se, err := s.Login(ctx, app.LocalTenant, "alice", pw, "")
	if err != nil {
		t.Fatal(err)
	}
	p := se.Principal
	for i := 1; i <= app.LockAfter; i++ {
		err := s.ChangePassword(ctx, p, "wrong guess number "+string(rune('0'+i)), "a brand new password")
		if app.CodeOf(err) != app.CodeForbidden {
			t.Fatalf("wrong current password %d: %v", i, err)
		}
		if i == app.LockAfter && !strings.Contains(err.Error(), "locked") {
			t.Errorf("the failure that locks does not say so: %v", err)
		}
	}
	if _, err := s.SessionPrincipal(ctx, se.Token, se.CSRF, false); err == nil {
		t.Error("the session outlived the lock")
	}
	if err := s.ChangePassword(ctx, p, pw, "a brand new password"); app.CodeOf(err) != app.CodeForbidden || !strings.Contains(err.Error(), "locked") {
		t.Errorf("the right password while locked: %v", err)
	}
	if _, err := s.Login(ctx, app.LocalTenant, "alice", pw, ""); !errors.Is(err, app.ErrBadLogin) {
		t.Errorf("signed in while locked: %v", err)
	}
	recs, err := s.AuditRecords(ctx, local, app.AuditFilter{Subject: "user:local/alice"})
	if err != nil {
		t.Fatal(err)
	}
	failed, refused := 0, 0
	for _, r := range recs {
		d := string(r.Data)
		if strings.Contains(d, "wrong guess") || strings.Contains(d, "horse") || strings.Contains(d, "brand new") {
			t.Errorf("a password in the audit log: %s", d)
		}
		switch {
		case strings.Contains(d, `"password_change":"failed"`):
			failed++
			if r.Actor != "alice" {
				t.Errorf("actor %q", r.Actor)
			}
		case strings.Contains(d, `"password_change":"refused"`):
			refused++
		}
	}
	if failed != app.LockAfter || refused != 1 {
		t.Errorf("audited %d failures and %d refusals, want %d and 1 (records %d)", failed, refused, app.LockAfter, len(recs))
	}
}

// TestChangePasswordResetsFailures: failures short of the lock are
// cleared by a right password, as at sign-in.
func TestChangePasswordResetsFailures(t *testing.T) {
	s, st := newService(t)
	const pw = "correct horse battery"
	if _, err := s.CreateUser(ctx, local, "", "bob", "analyst", pw); err != nil {
		t.Fatal(err)
	}
	se, err := s.Login(ctx, app.LocalTenant, "bob", pw, "")
	if err != nil {
		t.Fatal(err)
	}
	for range app.LockAfter - 1 {
		s.ChangePassword(ctx, se.Principal, "not the password", "a brand new password")
	}
	if u, _ := st.User(ctx, app.LocalTenant, "bob"); u.FailedLogins != app.LockAfter-1 {
		t.Fatalf("failures counted %d, want %d", u.FailedLogins, app.LockAfter-1)
	}
	if err := s.ChangePassword(ctx, se.Principal, pw, "a brand new password"); err != nil {
		t.Fatal(err)
	}
	if u, _ := st.User(ctx, app.LocalTenant, "bob"); u.FailedLogins != 0 || !u.LockedUntil.IsZero() {
		t.Errorf("after the change: %d failures, locked until %v", u.FailedLogins, u.LockedUntil)
	}
}
