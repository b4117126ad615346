package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
)

// guessedID is how a route's answer to an id of another tenant is
// checked: the same as to an id nobody has.
var idRoutes = map[string]bool{
	"GET /v1/jobs/{id}": true, "DELETE /v1/jobs/{id}": true, "GET /v1/jobs/{id}/result": true,
	"POST /v1/decisions/{id}/approval": true, "DELETE /v1/keys/{id}": true,
	"POST /v1/webhooks/{id}/rotate": true, "POST /v1/webhooks/{id}/retire": true, "DELETE /v1/webhooks/{id}": true,
}

// withID puts an id in a route's {id}.
func withID(rt *route, id string) string {
	return strings.Replace(rt.path, "{id}", id, 1)
}

// TestTenantIsolation makes things in tenant A (decisions, a pending
// override, profiles and a report, screenings, a screening job, a key,
// its policy, audit records), each carrying a marker, then calls every
// route as tenant B and as the operator: no answer holds a marker or one
// of A's key ids, A's ids are answered exactly as ids nobody has (404,
// the same message), and A's things are unchanged. Shared data (lists,
// events, identity, tracks, ingest runs) is the same for both.
func TestTenantIsolation(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{})
	var rb [6]byte
	rand.Read(rb[:])
	marker := "isolation-marker-" + hex.EncodeToString(rb[:])
	markers := []string{marker}
	for _, id := range e.keyIDs[tenantA] {
		markers = append(markers, id)
	}
	ka := func(r app.Role) string { return e.key(tenantA, r) }
	cases := map[string]map[string]routeCase{}

	// Decision ids are per tenant: A's pending override gets an id no
	// other tenant has yet, so "A's id" is not also one of theirs.
	for _, other := range []string{tenantB, tenantOp} {
		cases[other], _ = ts.validCases(t, other)
	}
	for maxDecisionID(t, tenantA) <= max(maxDecisionID(t, tenantB), maxDecisionID(t, tenantOp))+2 {
		ts.decide(t, ka(app.RoleUnderwriter), strconv.Itoa(dprkIMO), DecisionRequest{Decision: "decline", Reason: "test: filler"}, scenarioEnd)
	}

	// Tenant A's things.
	ts.decide(t, ka(app.RoleUnderwriter), strconv.Itoa(dprkIMO), DecisionRequest{Decision: "decline", Reason: marker + " decline"}, scenarioEnd)
	maker := e.newPersonalKey(t, tenantA, app.RoleUnderwriter, 2*time.Hour)
	markers = append(markers, maker.ID)
	pending := ts.decide(t, maker.Secret, strconv.Itoa(dprkIMO), DecisionRequest{Decision: "accept", Reason: marker + " accept",
		OverrideReason: marker + " override"}, scenarioEnd)
	if pending.Decision.Status != app.DecisionPending {
		t.Fatalf("pending: %+v", pending.Decision)
	}
	for _, path := range []string{"/v1/vessels/" + strconv.Itoa(dprkIMO) + "/profile?" + asOfQuery + "&owner=" + marker,
		"/v1/vessels/" + strconv.Itoa(dprkIMO) + "/report?" + asOfQuery + "&manager=" + marker} {
		if r := ts.call(t, "GET", path, ka(app.RoleViewer), nil); r.status != http.StatusOK {
			t.Fatalf("%s: %s", path, r)
		}
	}
	if r := ts.call(t, "POST", "/v1/screen", ka(app.RoleViewer), ScreenRequest{Name: marker}); r.status != http.StatusOK {
		t.Fatalf("screen: %s", r)
	}
	jr := ts.callHeaders(t, "POST", "/v1/screen/jobs?name="+marker+".csv", screenCSV, withType(authHeader(ka(app.RoleViewer)), "text/csv"))
	if jr.status != http.StatusAccepted {
		t.Fatalf("job: %s", jr)
	}
	var acc JobAccepted
	json.Unmarshal(jr.body, &acc)
	jobA := ts.waitJob(t, ka(app.RoleViewer), acc.Job.ID)
	markers = append(markers, jobA.ID)
	kr := ts.call(t, "POST", "/v1/keys", ka(app.RoleAdmin), KeyRequest{Name: marker + " key", Role: "viewer"})
	if kr.status != http.StatusCreated {
		t.Fatalf("key: %s", kr)
	}
	var keyA app.NewKey
	json.Unmarshal(kr.body, &keyA)
	rememberSecret(keyA.Secret)
	markers = append(markers, keyA.ID)
	if r := ts.call(t, "PUT", "/v1/tenant/policy", ka(app.RoleAdmin), map[string]any{"four_eyes": true}); r.status != http.StatusOK {
		t.Fatalf("policy: %s", r)
	}
	// A's monitoring: a portfolio, a vessel, a webhook, an alert and its
	// delivery, each carrying the marker.
	ts.makeMonitorFixtures(t, tenantA)
	if r := ts.call(t, "POST", "/v1/portfolios", ka(app.RoleAnalyst), PortfolioRequest{ID: marker, Name: marker + " book"}); r.status != http.StatusCreated {
		t.Fatalf("portfolio: %s", r)
	}
	if r := ts.call(t, "POST", "/v1/portfolios/"+marker+"/vessels", ka(app.RoleAnalyst), VesselsRequest{Vessels: []app.VesselEntry{{ID: marker + "-ship", IMO: strconv.Itoa(dprkIMO),
		Parties: []store.Party{{Role: "owner", Name: marker + " SHIPPING"}}}}}); r.status != http.StatusOK {
		t.Fatalf("vessels: %s", r)
	}
	whr := ts.call(t, "POST", "/v1/webhooks", ka(app.RoleAdmin), app.WebhookRequest{URL: "https://hooks.example.invalid/" + marker})
	if whr.status != http.StatusCreated {
		t.Fatalf("webhook: %s", whr)
	}
	var whA app.NewWebhook
	json.Unmarshal(whr.body, &whA)
	markers = append(markers, whA.ID, whA.SecretID)
	now := time.Now().UTC().Truncate(time.Second)
	alertA := store.Alert{Tenant: tenantA, Key: "event:" + marker, Version: 1, Kind: app.AlertEvent, Severity: "high", State: "open", Portfolio: marker,
		VesselRef: marker + "-ship", IMO: dprkIMO, Title: marker + " encounter", Why: marker, Evidence: []store.AlertEvidence{}, Created: now, Updated: now}
	if err := e.st.PutAlert(context.Background(), &alertA, []store.Delivery{{Tenant: tenantA, Webhook: whA.ID, IdempotencyKey: marker, State: app.DeliveryPending,
		NextAttempt: now.Add(24 * time.Hour), Created: now}}, func(a *store.Alert) []byte { b, _ := json.Marshal(a); return b }); err != nil {
		t.Fatal(err)
	}
	beforeA := tenantView(t, ts, tenantA)

	for _, other := range []string{tenantB, tenantOp} {
		t.Run(other, func(t *testing.T) {
			for _, rt := range ts.routes {
				c, ok := cases[other][rt.pattern]
				if !ok {
					t.Errorf("route %s has no case in validCases (server_test.go): add one", rt.pattern)
					continue
				}
				if rt.shared && other != tenantOp {
					continue // refused: TestRoles
				}
				if idRoutes[rt.pattern] {
					idA := jobA.ID
					switch {
					case strings.Contains(rt.path, "/decisions/"):
						idA = strconv.FormatInt(pending.Decision.ID, 10)
					case strings.Contains(rt.path, "/keys/"):
						idA = keyA.ID
					}
					if strings.Contains(rt.path, "/webhooks/") {
						idA = whA.ID
					}
					nobody := "0123456789ab"
					if strings.Contains(rt.path, "/decisions/") {
						nobody = "999999999"
					}
					for _, role := range roles {
						if role < rt.role {
							continue
						}
						c.path = withID(rt, idA)
						got := ts.send(t, rt, c, other, role)
						c.path = withID(rt, nobody)
						none := ts.send(t, rt, c, other, role)
						if got.status != http.StatusNotFound || got.errorBody().Code != string(app.CodeNotFound) {
							t.Errorf("%s as %s %s with A's id: %s, want 404 not_found", rt.pattern, other, role, got)
						}
						if strings.ReplaceAll(string(got.body), idA, "ID") != strings.ReplaceAll(string(none.body), nobody, "ID") || got.status != none.status {
							t.Errorf("%s as %s: A's id is answered unlike an id nobody has:\n  %s\n  %s", rt.pattern, other, got, none)
						}
						// The id sent is echoed in the message; nothing else of A's.
						var others []string
						for _, m := range markers {
							if m != idA {
								others = append(others, m)
							}
						}
						noMarkers(t, rt, got, others)
					}
					continue
				}
				r := ts.send(t, rt, c, c.tenant, c.role)
				if r.status != c.status {
					t.Errorf("%s as %s: %s, want %d", rt.pattern, c.tenant, r, c.status)
				}
				noMarkers(t, rt, r, markers)
				if other != tenantOp {
					noPaths(t, rt, r)
				}
			}
			// The lists of tenant-owned things hold only the caller's.
			for path, tenantOf := range map[string]func([]byte) []string{
				"/v1/decisions":                  tenantsOf[store.Decision](func(d store.Decision) string { return d.Tenant }),
				"/v1/audit/records?limit=100000": tenantsOf[store.AuditRecord](func(r store.AuditRecord) string { return r.Tenant }),
				"/v1/keys":                       tenantsOf[store.APIKey](func(k store.APIKey) string { return k.Tenant }),
				"/v1/tenants":                    tenantsOf[store.Tenant](func(x store.Tenant) string { return x.ID }),
				"/v1/portfolios":                 tenantsOf[store.Portfolio](func(x store.Portfolio) string { return x.Tenant }),
				"/v1/alerts?limit=10000":         tenantsOf[store.Alert](func(x store.Alert) string { return x.Tenant }),
				"/v1/webhooks":                   tenantsOf[store.Webhook](func(x store.Webhook) string { return x.Tenant }),
				"/v1/webhooks/deliveries":        tenantsOf[store.Delivery](func(x store.Delivery) string { return x.Tenant }),
			} {
				r := ts.call(t, "GET", path, e.key(other, app.RoleAdmin), nil)
				if r.status != http.StatusOK {
					t.Fatalf("%s: %s", path, r)
				}
				for _, tn := range tenantOf(r.body) {
					if tn != other && !(path == "/v1/tenants" && other == tenantOp) {
						t.Errorf("%s as %s admin lists %s's", path, other, tn)
					}
				}
			}
			// A's portfolio, alert and dead delivery by their ids are
			// answered as ids nobody has.
			for _, pair := range [][2]string{
				{"GET", "/v1/portfolios/%s/fleet"}, {"GET", "/v1/portfolios/%s/file"}, {"POST", "/v1/portfolios/%s/seen"},
				{"DELETE", "/v1/portfolios/%s/vessels/" + marker + "-ship"}, {"DELETE", "/v1/portfolios/%s"},
			} {
				k := e.key(other, app.RoleAdmin)
				got := ts.call(t, pair[0], fmt.Sprintf(pair[1], marker), k, nil)
				none := ts.call(t, pair[0], fmt.Sprintf(pair[1], "no-such-book"), k, nil)
				if got.status != http.StatusNotFound || strings.ReplaceAll(string(got.body), marker, "X") != strings.ReplaceAll(strings.ReplaceAll(string(none.body), "no-such-book", "X"), marker, "X") {
					t.Errorf("%s %s as %s: A's portfolio answered %s; nobody's %s", pair[0], pair[1], other, got, none)
				}
			}
			// A's audit head does not verify in another's log.
			head := fmt.Sprintf("%d:%s", beforeA.audit.Head, beforeA.audit.HeadHash)
			r := ts.call(t, "GET", "/v1/audit/verify?head="+head, e.key(other, app.RoleViewer), nil)
			var rep struct {
				Tenant   string `json:"tenant"`
				Problems []any  `json:"problems"`
			}
			json.Unmarshal(r.body, &rep)
			if r.status == http.StatusOK && (rep.Tenant != other || len(rep.Problems) == 0) {
				t.Errorf("A's audit head checked against %s's log: %s", other, r)
			}
			// A key for A made by B's admin is refused the same way
			// whether A exists or not.
			if other != tenantOp {
				x := ts.call(t, "POST", "/v1/keys", e.key(other, app.RoleAdmin), KeyRequest{Tenant: tenantA, Name: "x", Role: "viewer"})
				y := ts.call(t, "POST", "/v1/keys", e.key(other, app.RoleAdmin), KeyRequest{Tenant: "no-such-tenant", Name: "x", Role: "viewer"})
				if x.status != http.StatusForbidden || string(x.body) != string(y.body) {
					t.Errorf("a key for another tenant: %s; for no tenant: %s", x, y)
				}
			}
		})
	}
	// A's things are as they were: the pending override still pending,
	// the key still valid, the policy unchanged, the audit log intact.
	afterA := tenantView(t, ts, tenantA)
	if afterA.decisions != beforeA.decisions || afterA.monitoring != beforeA.monitoring || afterA.keys != beforeA.keys || afterA.policy != beforeA.policy {
		t.Errorf("tenant A changed while others called:\nbefore %+v\nafter  %+v", beforeA, afterA)
	}
	if afterA.audit.Head != beforeA.audit.Head || afterA.audit.HeadHash != beforeA.audit.HeadHash {
		t.Errorf("tenant A's audit log grew while others called: %d -> %d", beforeA.audit.Head, afterA.audit.Head)
	}
	if r := ts.call(t, "GET", "/v1/whoami", keyA.Secret, nil); r.status != http.StatusOK {
		t.Errorf("A's key after others tried to revoke it: %s", r)
	}
	if r := ts.call(t, "GET", "/v1/jobs/"+jobA.ID+"/result", ka(app.RoleViewer), nil); r.status != http.StatusOK {
		t.Errorf("A's job after others tried to cancel it: %s", r)
	}
}

// maxDecisionID is the highest decision id of a tenant.
func maxDecisionID(t *testing.T, tenant string) int64 {
	t.Helper()
	ds, err := env(t).st.Decisions(context.Background(), tenant, store.VesselQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var m int64
	for _, d := range ds {
		m = max(m, d.ID)
	}
	return m
}

// tenantState is what a tenant holds, as its admin sees it.
type tenantState struct {
	decisions, keys, policy string
	monitoring              string // portfolios, alerts, webhooks, deliveries
	audit                   struct {
		Head     int64  `json:"head_seq"`
		HeadHash string `json:"head_hash"`
	}
}

func tenantView(t *testing.T, ts *testServer, tenant string) tenantState {
	t.Helper()
	k := ts.e.key(tenant, app.RoleAdmin)
	var s tenantState
	s.decisions = string(ts.call(t, "GET", "/v1/decisions", k, nil).body)
	for _, p := range []string{"/v1/portfolios", "/v1/alerts?limit=10000", "/v1/webhooks", "/v1/webhooks/deliveries"} {
		s.monitoring += string(ts.call(t, "GET", p, k, nil).body)
	}
	s.keys = string(ts.call(t, "GET", "/v1/keys", k, nil).body)
	s.policy = string(ts.call(t, "GET", "/v1/tenants", ts.e.key(tenant, app.RoleViewer), nil).body)
	json.Unmarshal(ts.call(t, "GET", "/v1/audit/verify", k, nil).body, &s.audit)
	return s
}

func tenantsOf[T any](f func(T) string) func([]byte) []string {
	return func(b []byte) []string {
		var xs []T
		json.Unmarshal(b, &xs)
		var out []string
		for _, x := range xs {
			out = append(out, f(x))
		}
		return out
	}
}

func noMarkers(t *testing.T, rt *route, r reply, markers []string) {
	t.Helper()
	for _, m := range markers {
		if strings.Contains(string(r.body), m) {
			t.Errorf("%s: the answer holds %q, another tenant's", rt.pattern, m)
		}
	}
}

// noPaths fails when an answer holds a path of the server's file system.
func noPaths(t *testing.T, rt *route, r reply) {
	t.Helper()
	for _, p := range []string{env(t).dir, "/tmp/", "tidewatch-upload-"} {
		if strings.Contains(string(r.body), p) {
			t.Errorf("%s: the answer holds the server's path %q", rt.pattern, p)
		}
	}
}

// TestSharedData: lists, events, identity, tracks and the ingest runs are
// the same for every tenant.
func TestSharedData(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{})
	for _, path := range []string{
		"/v1/lists/versions",
		"/v1/lists/diff?from=" + firstUN(t) + "&to=" + lastUN(t),
		"/v1/events?from=2026-03-01&to=2026-03-03",
		fmt.Sprintf("/v1/vessels/%d/identity", dprkIMO),
		fmt.Sprintf("/v1/vessels/%d/track?from=2026-03-01&to=2026-03-03", foreignMMSI),
		fmt.Sprintf("/v1/events?vessel=%d", dprkIMO),
	} {
		var first string
		for _, tn := range tenantIDs {
			r := ts.call(t, "GET", path, e.key(tn, app.RoleViewer), nil)
			if r.status != http.StatusOK {
				t.Fatalf("%s as %s: %s", path, tn, r)
			}
			if len(r.body) < 10 {
				t.Errorf("%s as %s: %s (want data)", path, tn, r)
			}
			if first == "" {
				first = string(r.body)
			} else if string(r.body) != first {
				t.Errorf("%s: %s sees other shared data than %s", path, tn, tenantIDs[0])
			}
		}
	}
	// Ingest runs are shared too (the operator's file paths are not).
	var runs [2][]string
	for i, tn := range []string{tenantA, tenantB} {
		var si StoreInfo
		json.Unmarshal(ts.call(t, "GET", "/v1/store", e.key(tn, app.RoleViewer), nil).body, &si)
		for _, r := range si.Runs {
			runs[i] = append(runs[i], r.ID)
		}
	}
	if len(runs[0]) == 0 || strings.Join(runs[0], " ") != strings.Join(runs[1], " ") {
		t.Errorf("ingest runs: A sees %v, B %v", runs[0], runs[1])
	}
}

func firstUN(t *testing.T) string { a, _ := unVersions(t); return a }
func lastUN(t *testing.T) string  { _, b := unVersions(t); return b }

// TestStoreCountsIsolated: what one tenant does does not show in the
// store counts another sees.
func TestStoreCountsIsolated(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{})
	view := func() string {
		r := ts.call(t, "GET", "/v1/store", e.key(tenantB, app.RoleViewer), nil)
		var si StoreInfo
		if err := json.Unmarshal(r.body, &si); err != nil {
			t.Fatalf("%s", r)
		}
		si.Stats.Bytes = 0
		b, _ := json.Marshal(si)
		return string(b)
	}
	before := view()
	ts.decide(t, e.key(tenantA, app.RoleUnderwriter), strconv.Itoa(dprkIMO), DecisionRequest{Decision: "decline", Reason: "test: counts"}, scenarioEnd)
	if after := view(); after != before {
		t.Errorf("tenant B's view of the store changed when tenant A decided:\n  %s\n  %s", before, after)
	}
}

// TestRoles: every route refuses a key below its role (403
// permission_denied) and changes nothing; routes that change shared data
// refuse every role of a tenant other than the operator; every route
// with a role refuses a request without a key (401).
func TestRoles(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{})
	cases, _ := ts.validCases(t, tenantA)
	for _, rt := range ts.routes {
		c, ok := cases[rt.pattern]
		if !ok {
			t.Errorf("route %s has no case in validCases (server_test.go): add one", rt.pattern)
			continue
		}
		if rt.role == 0 {
			continue
		}
		tn := c.tenant
		for _, role := range roles {
			if role >= rt.role {
				continue
			}
			before := e.snapshot(t)
			r := ts.send(t, rt, c, tn, role)
			if r.status != http.StatusForbidden || r.errorBody().Code != string(app.CodeForbidden) {
				t.Errorf("%s as %s %s: %s, want 403 permission_denied", rt.pattern, tn, role, r)
			}
			if after := e.snapshot(t); after != before {
				t.Errorf("%s as %s %s: refused, yet the store changed", rt.pattern, tn, role)
			}
		}
		if rt.shared {
			for _, other := range []string{tenantA, tenantB} {
				for _, role := range roles {
					before := e.snapshot(t)
					r := ts.send(t, rt, c, other, role)
					if r.status != http.StatusForbidden || r.errorBody().Code != string(app.CodeForbidden) {
						t.Errorf("%s (shared data) as %s %s: %s, want 403 permission_denied", rt.pattern, other, role, r)
					}
					if after := e.snapshot(t); after != before {
						t.Errorf("%s (shared data) as %s %s: refused, yet the store changed", rt.pattern, other, role)
					}
				}
			}
		}
		before := e.snapshot(t)
		r := ts.send(t, rt, c, "", 0)
		if r.status != http.StatusUnauthorized || r.errorBody().Code != string(app.CodeUnauthenticated) {
			t.Errorf("%s without a key: %s, want 401 unauthenticated", rt.pattern, r)
		}
		if after := e.snapshot(t); after != before {
			t.Errorf("%s without a key: the store changed", rt.pattern)
		}
	}
}

// TestCancelIngestNeedsAnalyst: a viewer of the operator may follow an
// ingest job but not stop it (an ingest changes shared data).
func TestCancelIngestNeedsAnalyst(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{})
	an := e.key(tenantOp, app.RoleAnalyst)
	r := ts.call(t, "POST", "/v1/ingest?name=cancel.nmea", an, smallNMEA(t, 11))
	if r.status != http.StatusAccepted {
		t.Fatalf("ingest: %s", r)
	}
	var acc JobAccepted
	json.Unmarshal(r.body, &acc)
	ts.waitJob(t, an, acc.Job.ID)
	vw := e.key(tenantOp, app.RoleViewer)
	if r := ts.call(t, "GET", "/v1/jobs/"+acc.Job.ID, vw, nil); r.status != http.StatusOK {
		t.Errorf("a viewer following an ingest: %s", r)
	}
	r = ts.call(t, "DELETE", "/v1/jobs/"+acc.Job.ID, vw, nil)
	if r.status != http.StatusForbidden || r.errorBody().Code != string(app.CodeForbidden) {
		t.Errorf("a viewer canceling an ingest: %s, want 403", r)
	}
	if r := ts.call(t, "DELETE", "/v1/jobs/"+acc.Job.ID, an, nil); r.status != http.StatusOK {
		t.Errorf("an analyst canceling an ingest: %s", r)
	}
}
