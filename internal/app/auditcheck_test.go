package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// TestScheduledAuditCheck: the scheduled check reads every tenant's log,
// once per interval whatever the calls, and a log whose bytes were changed
// raises a high alert for its tenant only.
func TestScheduledAuditCheck(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	clock := now
	s := app.New(app.Config{Store: st, Now: func() time.Time { return clock }})
	t.Cleanup(func() { s.Close(); st.Close() })
	if _, err := s.CreateTenant(ctx, local, "club", "A club", store.TenantPolicy{}); err != nil {
		t.Fatal(err)
	}
	club := app.Principal{Tenant: "club", Actor: "admin", Role: app.RoleAdmin}
	for _, p := range []app.Principal{local, club} {
		for _, id := range []string{"fleet-a", "fleet-b", "fleet-c"} {
			if _, err := s.CreatePortfolio(ctx, p, id, "a portfolio"); err != nil {
				t.Fatal(err)
			}
		}
	}
	pass, err := s.CheckAuditLogsDue(ctx, 24*time.Hour)
	if err != nil || !pass.Ran || pass.Tenants < 2 || len(pass.Damaged) != 0 {
		t.Fatalf("first check: %+v %v", pass, err)
	}
	// Within the interval: not again (another node, or a restart, finds
	// the check done).
	clock = clock.Add(time.Hour)
	if pass, err := s.CheckAuditLogsDue(ctx, 24*time.Hour); err != nil || pass.Ran || !pass.Next.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("within the interval: %+v %v", pass, err)
	}
	// A byte of club's second record changed by hand.
	path := filepath.Join(dir, "s.db.audit", "club.log")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), "fleet-b")
	if i < 0 {
		t.Fatalf("no fleet-b in %s", path)
	}
	b[i] = 'F'
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(24 * time.Hour)
	pass, err = s.CheckAuditLogsDue(ctx, 24*time.Hour)
	if err != nil || !pass.Ran || len(pass.Damaged) != 1 || pass.Damaged["club"] == "" {
		t.Fatalf("after the edit: %+v %v", pass, err)
	}
	for _, c := range []struct {
		p    app.Principal
		want int
	}{{club, 1}, {local, 0}} {
		as, err := s.Alerts(ctx, c.p, store.AlertFilter{Kinds: []string{app.AlertSystem}})
		if err != nil || len(as) != c.want {
			t.Fatalf("%s: %d system alerts (%v), want %d: %+v", c.p.Tenant, len(as), err, c.want, as)
		}
		if c.want == 1 && (as[0].Severity != "high" || !strings.Contains(as[0].Why, "audit verify --tenant club")) {
			t.Errorf("the alert: %+v", as[0])
		}
	}
}
