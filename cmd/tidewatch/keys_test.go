package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestKeysAndUsers: tenants, users (a generated password and one from a
// file), a key bound to a user (never above the user's role), the key
// list naming the user, and a disabled user's key refused.
func TestKeysAndUsers(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "tw.db")
	if code, _, errs := tw(t, "init", "--store", st); code != 0 {
		t.Fatalf("init: %s", errs)
	}
	mustRun := func(args ...string) string {
		t.Helper()
		code, out, errs := tw(t, append(args, "--store", st)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		return out
	}
	mustRun("keys", "tenant", "create", "club", "--four-eyes", "--name", "A P&I club")
	// A tenant's policy is set from the CLI too, the CLI's own "local"
	// tenant's among them; a policy must be said, not implied.
	if out := mustRun("keys", "tenant", "policy", "local", "--four-eyes=true"); !strings.Contains(out, "tenant local: four eyes true") {
		t.Errorf("policy: %q", out)
	}
	if out := mustRun("keys", "tenant", "list"); !regexp.MustCompile(`local .*four eyes: true`).MatchString(out) {
		t.Errorf("policy not kept: %q", out)
	}
	mustRun("keys", "tenant", "policy", "local", "--four-eyes=false")
	// --json prints the tenant made or changed, as JSON.
	var made, changed struct {
		ID     string `json:"id"`
		Policy struct {
			FourEyes bool `json:"four_eyes"`
		} `json:"policy"`
	}
	if err := json.Unmarshal([]byte(mustRun("keys", "tenant", "create", "broker", "--json")), &made); err != nil || made.ID != "broker" {
		t.Errorf("create --json: %+v %v", made, err)
	}
	if err := json.Unmarshal([]byte(mustRun("keys", "tenant", "policy", "broker", "--four-eyes", "--json")), &changed); err != nil || changed.ID != "broker" || !changed.Policy.FourEyes {
		t.Errorf("policy --json: %+v %v", changed, err)
	}
	if code, _, errs := tw(t, "keys", "tenant", "policy", "local", "--store", st); code != 2 || !strings.Contains(errs, "say the policy") {
		t.Errorf("policy without --four-eyes: exit %d: %s", code, errs)
	}
	if code, _, errs := tw(t, "keys", "tenant", "policy", "nosuch", "--four-eyes", "--store", st); code == 0 || !strings.Contains(errs, "not found") {
		t.Errorf("policy of a missing tenant: exit %d: %s", code, errs)
	}
	out := mustRun("keys", "user", "create", "alice", "--tenant", "club", "--role", "underwriter")
	if !regexp.MustCompile(`password \(shown once\): [a-z2-7]{24}\n`).MatchString(out) {
		t.Errorf("a generated password is printed once: %q", out)
	}
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("a long enough password\n"), 0o600)
	if out := mustRun("keys", "user", "create", "bob", "--tenant", "club", "--role", "viewer", "--password-file", pw); strings.Contains(out, "password") {
		t.Errorf("a given password is not printed: %q", out)
	}
	if code, _, errs := tw(t, "keys", "user", "create", "carol", "--tenant", "club", "--store", st, "--password-file", pw+"-missing"); code == 0 || !strings.Contains(errs, "no such file") {
		t.Errorf("a missing password file: exit %d: %s", code, errs)
	}
	if code, _, errs := tw(t, "keys", "create", "--tenant", "club", "--user", "bob", "--role", "underwriter", "--name", "x", "--store", st); code == 0 || !strings.Contains(errs, "more rights") {
		t.Errorf("a key above its user's role: exit %d: %s", code, errs)
	}
	key := strings.TrimSpace(mustRun("keys", "create", "--tenant", "club", "--user", "alice", "--role", "underwriter", "--name", "desk"))
	if !strings.HasPrefix(key, "tw_") {
		t.Fatalf("key: %q", key)
	}
	if out := mustRun("keys", "list", "--tenant", "club"); !regexp.MustCompile(`desk\s+alice\s+underwriter\s+active`).MatchString(out) {
		t.Errorf("key list: %s", out)
	}
	out = mustRun("keys", "user", "list", "--tenant", "club")
	if !regexp.MustCompile(`alice\s+underwriter\s+active`).MatchString(out) || !regexp.MustCompile(`bob\s+viewer\s+active`).MatchString(out) {
		t.Errorf("user list: %s", out)
	}
	mustRun("keys", "user", "disable", "alice", "--tenant", "club")
	if out := mustRun("keys", "user", "list", "--tenant", "club"); !regexp.MustCompile(`alice\s+underwriter\s+disabled`).MatchString(out) {
		t.Errorf("user list after disabling: %s", out)
	}
	if code, _, errs := tw(t, "keys", "user", "frob", "--store", st); code != 2 || !strings.Contains(errs, "unknown action") {
		t.Errorf("an unknown action: exit %d: %s", code, errs)
	}
}

// TestAuditPerTenant: audit verify, show and prune take --tenant (each
// tenant has its own log; local by default): another tenant's damaged log
// is found by verify --tenant, not by the default, and a tenant nobody
// created is an error naming it.
func TestAuditPerTenant(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "tw.db")
	if code, _, errs := tw(t, "init", "--store", st); code != 0 {
		t.Fatalf("init: %s", errs)
	}
	for _, args := range [][]string{{"keys", "tenant", "create", "club"}, {"keys", "user", "create", "alice", "--tenant", "club", "--role", "viewer"}} {
		if code, _, errs := tw(t, append(args, "--store", st)...); code != 0 {
			t.Fatalf("%v: %s", args, errs)
		}
	}
	_, local, _ := tw(t, "audit", "show", "--store", st)
	code, club, errs := tw(t, "audit", "show", "--tenant", "club", "--store", st)
	if code != 0 || !strings.Contains(club, "alice") || strings.Contains(local, "alice") {
		t.Fatalf("show --tenant club: %d %s %s\nlocal: %s", code, club, errs, local)
	}
	if code, out, errs := tw(t, "audit", "verify", "--tenant", "club", "--store", st); code != 0 || !strings.Contains(out, "chain intact") {
		t.Fatalf("verify --tenant club: %d %s %s", code, out, errs)
	}
	if code, _, errs := tw(t, "audit", "prune", "--tenant", "club", "--store", st); code != 0 {
		t.Errorf("prune --tenant club: %d %s", code, errs)
	}
	// A byte of the club's log changed: its verify fails, the local
	// tenant's passes.
	logPath := filepath.Join(st+".audit", "club.log")
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x20
	if err := os.WriteFile(logPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := tw(t, "audit", "verify", "--tenant", "club", "--store", st); code != 1 || strings.Contains(out, "chain intact") {
		t.Errorf("verify of a damaged log: %d %s %s", code, out, errs)
	}
	if code, out, errs := tw(t, "audit", "verify", "--store", st); code != 0 || !strings.Contains(out, "chain intact") {
		t.Errorf("verify of the local tenant's log: %d %s %s", code, out, errs)
	}
	if code, _, errs := tw(t, "audit", "verify", "--tenant", "nosuch", "--store", st); code == 0 || !strings.Contains(errs, `no tenant "nosuch"`) {
		t.Errorf("verify --tenant nosuch: %d %s", code, errs)
	}
	if _, _, errs := tw(t, "audit", "--help"); !strings.Contains(errs, "--tenant T (default local)") {
		t.Errorf("help: %s", errs)
	}
}
