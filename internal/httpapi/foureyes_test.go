package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
)

// TestFourEyesNotAlone is h-try4's four_eyes_one_admin.sh and
// operator_impersonation.sh over the API: a tenant's admin binds no key
// to a colleague, the operator's admin binds no key to a tenant's user
// (its unbound key for the tenant is in the tenant's audit log), a
// person the maker added does not approve the maker's override, and an
// independent person does.
func TestFourEyesNotAlone(t *testing.T) {
	ts := startServer(t, Options{})
	ctx := context.Background()
	op := app.LocalPrincipal("test setup")
	tenant := fmt.Sprintf("solo-%d", tenantSeq.Add(1))
	if _, err := ts.e.svc.CreateTenant(ctx, op, tenant, "", store.TenantPolicy{FourEyes: true}); err != nil {
		t.Fatal(err)
	}
	// The console onboards the tenant: an admin and an underwriter, each
	// with a key bound to them.
	keys := map[string]string{}
	for _, u := range []string{"admin", "under"} {
		role := map[string]string{"admin": "admin", "under": "underwriter"}[u]
		if _, err := ts.e.svc.CreateUser(ctx, op, tenant, u, role, "a long test password for "+u); err != nil {
			t.Fatal(err)
		}
		k, err := ts.e.svc.CreateAPIKey(ctx, op, app.CreateKeyRequest{Tenant: tenant, Name: u, Role: role, User: u, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		keys[u] = k.Secret
		rememberSecret(k.Secret)
	}
	override := func(key string) int64 {
		t.Helper()
		r := ts.call(t, "POST", "/v1/vessels/9417115/decisions", key, map[string]string{"decision": "accept", "reason": "one-person override", "override_reason": "no second person"})
		var res app.DecideResult
		if r.status != http.StatusCreated || json.Unmarshal(r.body, &res) != nil || res.Decision.Status != app.DecisionPending {
			t.Fatalf("override: %v", r)
		}
		return res.Decision.ID
	}
	forbidden := func(what string, r reply, words ...string) {
		t.Helper()
		if r.status != http.StatusForbidden || r.errorBody().Code != "permission_denied" {
			t.Errorf("%s: %v, want 403 permission_denied", what, r)
		}
		for _, w := range words {
			if !strings.Contains(r.errorBody().Message, w) {
				t.Errorf("%s: the message %q does not say %q", what, r.errorBody().Message, w)
			}
		}
	}
	id := override(keys["admin"])
	// The admin binds a key to the underwriter: refused.
	r := ts.call(t, "POST", "/v1/keys", keys["admin"], map[string]string{"name": "helper", "role": "underwriter", "user": "under", "ttl": "1h"})
	forbidden("the admin binds a key to a colleague", r, "made by under themself")
	// The operator's admin binds a key to the tenant's admin: refused.
	opAdmin := ts.e.key(tenantOp, app.RoleAdmin)
	r = ts.call(t, "POST", "/v1/keys", opAdmin, map[string]string{"name": "support", "role": "admin", "tenant": tenant, "user": "admin"})
	forbidden("the operator binds a key to a tenant's user", r, "user admin of tenant "+tenant, "of tenant "+tenantOp)
	// An unbound key for the tenant (onboarding) is made, and the tenant's
	// log says the operator made it.
	r = ts.call(t, "POST", "/v1/keys", opAdmin, map[string]string{"name": "onboarding", "role": "admin", "tenant": tenant})
	var nk app.NewKey
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &nk) != nil {
		t.Fatalf("the operator's unbound key for the tenant: %v", r)
	}
	rememberSecret(nk.Secret)
	r = ts.call(t, "GET", "/v1/audit/records?subject=key:"+nk.ID, keys["admin"], nil)
	var recs []store.AuditRecord
	if r.status != http.StatusOK || json.Unmarshal(r.body, &recs) != nil || len(recs) != 1 || !strings.HasSuffix(recs[0].Actor, "of the operator tenant "+tenantOp) {
		t.Errorf("the tenant's log on the operator's key: %v", r)
	}
	// That key acts as no person: it approves nothing.
	r = ts.call(t, "POST", fmt.Sprintf("/v1/decisions/%d/approval", id), nk.Secret, map[string]any{"approve": true})
	forbidden("the operator's unbound key approves", r, "four eyes count people")
	// A user the admin adds approves the admin's override: refused.
	ap, err := ts.e.svc.Authenticate(ctx, keys["admin"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.e.svc.CreateUser(ctx, ap, "", "ghost", "underwriter", "a long test password for ghost"); err != nil {
		t.Fatal(err)
	}
	gk, err := ts.e.svc.CreateAPIKey(ctx, op, app.CreateKeyRequest{Tenant: tenant, Name: "ghost", Role: "underwriter", User: "ghost", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	rememberSecret(gk.Secret)
	r = ts.call(t, "POST", fmt.Sprintf("/v1/decisions/%d/approval", id), gk.Secret, map[string]any{"approve": true})
	forbidden("a user the admin added approves the admin's override", r, "ghost was added by admin")
	// The underwriter, whom the admin did not add, approves.
	r = ts.call(t, "POST", fmt.Sprintf("/v1/decisions/%d/approval", id), keys["under"], map[string]any{"approve": true, "note": "checked"})
	var d store.Decision
	if r.status != http.StatusOK || json.Unmarshal(r.body, &d) != nil || d.Status != app.DecisionInForce || d.ApprovedBy == "" || !strings.HasPrefix(d.ApprovedBy, "under ") {
		t.Errorf("an independent approval: %v", r)
	}
}
