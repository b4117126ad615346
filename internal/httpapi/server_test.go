package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/sanctions/snapshot"
	"github.com/tidewatch/tidewatch/screen"
	"github.com/tidewatch/tidewatch/sim"
	"github.com/tidewatch/tidewatch/store"
)

// openAPIDoc fetches /openapi.json over HTTP and decodes it.
func (ts *testServer) openAPIDoc(t testing.TB) map[string]any {
	t.Helper()
	r := ts.call(t, "GET", "/openapi.json", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("/openapi.json: %s", r)
	}
	v, err := decodeJSONValue(r.body)
	if err != nil {
		t.Fatalf("/openapi.json is not JSON: %v", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		t.Fatal("/openapi.json is not an object")
	}
	return doc
}

// mediaType is a Content-Type without its parameters.
func mediaType(h http.Header) string {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt
}

// checkAgainstDoc checks an answer against what the OpenAPI document
// says the route answers with that status: the status is documented (or
// falls under "default"), the media type is one of the response's, and a
// JSON answer validates against its schema.
func checkAgainstDoc(t testing.TB, doc map[string]any, rt *route, r reply) {
	t.Helper()
	paths, _ := doc["paths"].(map[string]any)
	item, _ := paths[rt.path].(map[string]any)
	op, _ := item[strings.ToLower(rt.method)].(map[string]any)
	if op == nil {
		t.Errorf("%s: not in the OpenAPI document", rt.pattern)
		return
	}
	resps, _ := op["responses"].(map[string]any)
	resp, ok := resps[strconv.Itoa(r.status)].(map[string]any)
	if !ok {
		resp, ok = resps["default"].(map[string]any)
		if !ok {
			t.Errorf("%s: status %d is not documented (and no default)", rt.pattern, r.status)
			return
		}
		if r.status < 400 {
			t.Errorf("%s: success status %d is not documented: %s", rt.pattern, r.status, r)
			return
		}
	}
	content, _ := resp["content"].(map[string]any)
	if content == nil {
		if len(r.body) > 0 {
			t.Errorf("%s %d: the document says no content, the answer has %d bytes", rt.pattern, r.status, len(r.body))
		}
		return
	}
	mt := mediaType(r.header)
	media, ok := content[mt].(map[string]any)
	if !ok {
		var have []string
		for k := range content {
			have = append(have, k)
		}
		sort.Strings(have)
		t.Errorf("%s %d: answered %q, the document says %v", rt.pattern, r.status, mt, have)
		return
	}
	if mt != "application/json" {
		return
	}
	v, err := decodeJSONValue(r.body)
	if err != nil {
		t.Errorf("%s %d: not JSON: %v: %s", rt.pattern, r.status, err, r)
		return
	}
	sv := &schemaValidator{doc: doc}
	if errs := sv.validate(media["schema"], v); len(errs) > 0 {
		if len(errs) > 10 {
			errs = append(errs[:10], fmt.Sprintf("... and %d more", len(errs)-10))
		}
		t.Errorf("%s %d: the answer does not match the document's schema:\n  %s", rt.pattern, r.status, strings.Join(errs, "\n  "))
	}
}

// TestOpenAPIDocument checks the document's structure: OpenAPI 3.1,
// info, every route of the server and nothing else, path parameters
// declared for every {name} of a path and nothing more, unique
// operation ids, every $ref resolving, every operation with responses.
func TestOpenAPIDocument(t *testing.T) {
	ts := startServer(t, Options{})
	doc := ts.openAPIDoc(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi %q, want 3.1.x", v)
	}
	info, _ := doc["info"].(map[string]any)
	if s, _ := info["title"].(string); s == "" {
		t.Error("info.title is missing")
	}
	if s, _ := info["version"].(string); s == "" {
		t.Error("info.version is missing")
	}
	paths, _ := doc["paths"].(map[string]any)
	if len(paths) == 0 {
		t.Fatal("no paths")
	}
	documented := map[string]bool{}
	opIDs := map[string]string{}
	braces := regexp.MustCompile(`\{([^}]*)\}`)
	methods := map[string]bool{"get": true, "put": true, "post": true, "delete": true, "options": true, "head": true, "patch": true, "trace": true}
	for p, item := range paths {
		if !strings.HasPrefix(p, "/") {
			t.Errorf("path %q does not start with /", p)
		}
		want := map[string]bool{}
		for _, m := range braces.FindAllStringSubmatch(p, -1) {
			want[m[1]] = true
		}
		for m, o := range item.(map[string]any) {
			if !methods[m] {
				t.Errorf("%s: %q is not an HTTP method", p, m)
				continue
			}
			documented[strings.ToUpper(m)+" "+p] = true
			op := o.(map[string]any)
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s %s: no operationId", m, p)
			} else if other, dup := opIDs[id]; dup {
				t.Errorf("operationId %q used by %s and %s %s", id, other, m, p)
			}
			opIDs[id] = m + " " + p
			got := map[string]bool{}
			params, _ := op["parameters"].([]any)
			seen := map[string]bool{}
			for _, x := range params {
				pm := x.(map[string]any)
				name, _ := pm["name"].(string)
				in, _ := pm["in"].(string)
				if seen[in+" "+name] {
					t.Errorf("%s %s: parameter %s in %s twice", m, p, name, in)
				}
				seen[in+" "+name] = true
				switch in {
				case "path":
					got[name] = true
					if req, _ := pm["required"].(bool); !req {
						t.Errorf("%s %s: path parameter %s not required", m, p, name)
					}
				case "query", "header", "cookie":
				default:
					t.Errorf("%s %s: parameter %s in %q", m, p, name, in)
				}
				if _, ok := pm["schema"].(map[string]any); !ok {
					t.Errorf("%s %s: parameter %s has no schema", m, p, name)
				}
			}
			for n := range want {
				if !got[n] {
					t.Errorf("%s %s: {%s} is not declared as a path parameter", m, p, n)
				}
			}
			for n := range got {
				if !want[n] {
					t.Errorf("%s %s: path parameter %s is not in the path", m, p, n)
				}
			}
			resps, _ := op["responses"].(map[string]any)
			if len(resps) == 0 {
				t.Errorf("%s %s: no responses", m, p)
			}
			for code, r := range resps {
				if code != "default" {
					if n, err := strconv.Atoi(code); err != nil || n < 100 || n > 599 {
						t.Errorf("%s %s: response %q is not a status", m, p, code)
					}
				}
				if d, _ := r.(map[string]any)["description"].(string); d == "" {
					t.Errorf("%s %s %s: a response needs a description", m, p, code)
				}
			}
			if sec, ok := op["security"].([]any); ok {
				schemes, _ := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
				for _, s := range sec {
					for name := range s.(map[string]any) {
						if _, ok := schemes[name]; !ok {
							t.Errorf("%s %s: security scheme %q is not defined", m, p, name)
						}
					}
				}
			}
		}
	}
	for _, rt := range ts.routes {
		if !documented[rt.pattern] {
			t.Errorf("route %s is not in the document", rt.pattern)
		}
		delete(documented, rt.pattern)
	}
	for p := range documented {
		t.Errorf("the document has %s, which the server does not serve", p)
	}
	// Every $ref resolves.
	sv := &schemaValidator{doc: doc}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, err := sv.resolve(ref); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
			for k, x := range v {
				walk(x, at+"/"+k)
			}
		case []any:
			for i, x := range v {
				walk(x, fmt.Sprintf("%s/%d", at, i))
			}
		}
	}
	walk(doc, "#")
}

// routeCase is a valid call of one route.
type routeCase struct {
	tenant string
	role   app.Role
	path   string
	body   any
	header http.Header
	status int
	// check looks at the answer beyond the document's schema.
	check func(t *testing.T, r reply)
}

var tenantSeq atomic.Int64

// smallNMEA is an hour of one simulated ship, as an upload.
func smallNMEA(t testing.TB, seed int64) []byte {
	t.Helper()
	sc := sim.Scenario{Start: scenarioStart.Add(-30 * 24 * time.Hour), Duration: time.Hour, Background: 1, Interval: 5 * time.Minute, Seed: seed}
	var buf bytes.Buffer
	if err := sim.Run(sc, &buf, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// euListFile is the embedded EU list file, as published.
func euListFile(t testing.TB) (name string, data []byte) {
	t.Helper()
	for _, f := range snapshot.Files() {
		if strings.Contains(f.Name, "eu_reg") {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			n := f.Name[strings.LastIndexByte(f.Name, '/')+1:]
			return n, b
		}
	}
	t.Fatal("no EU list in the snapshot")
	return "", nil
}

// unVersions returns the ids of the two stored UN list versions, oldest
// first.
func unVersions(t testing.TB) (string, string) {
	t.Helper()
	vs, err := env(t).svc.ListVersions(context.Background(), app.LocalPrincipal("test"))
	if err != nil {
		t.Fatal(err)
	}
	var un []string
	for _, v := range vs {
		if v.List == "un" {
			un = append(un, v.ID)
		}
	}
	if len(un) < 2 {
		t.Fatalf("want two UN versions, have %v", un)
	}
	return un[0], un[len(un)-1]
}

// screenCSV is a small screening file: a designated vessel by IMO, a
// name and a clean row.
const screenCSV = "id,type,name,imo,mmsi,call_sign,flag\n1,vessel,CHON MA SAN,8660313,,,\n2,vessel,SOME CLEAN SHIP,,,,\n3,organization,KOREA UNITED DEVELOPMENT BANK,,,,\n"

// startScreenJob uploads screenCSV as a job and waits for it.
func (ts *testServer) startScreenJob(t testing.TB, key string) app.Job {
	t.Helper()
	r := ts.callHeaders(t, "POST", "/v1/screen/jobs?name=portfolio.csv", screenCSV, withType(authHeader(key), "text/csv"))
	if r.status != http.StatusAccepted {
		t.Fatalf("screen job: %s", r)
	}
	var acc JobAccepted
	if err := json.Unmarshal(r.body, &acc); err != nil {
		t.Fatal(err)
	}
	return ts.waitJob(t, key, acc.Job.ID)
}

func withType(h http.Header, ct string) http.Header {
	h.Set("Content-Type", ct)
	return h
}

// decide records a decision through the API and returns it.
func (ts *testServer) decide(t testing.TB, key, vessel string, req DecisionRequest, asOf time.Time) app.DecideResult {
	t.Helper()
	r := ts.call(t, "POST", "/v1/vessels/"+vessel+"/decisions?as_of="+asOf.Format(time.RFC3339), key, req)
	if r.status != http.StatusCreated {
		t.Fatalf("decide: %s", r)
	}
	var res app.DecideResult
	if err := json.Unmarshal(r.body, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

var asOfQuery = "as_of=" + scenarioEnd.Format(time.RFC3339) + "&window=3d"

// fixtures are what the valid cases of a tenant refer to.
type fixtures struct {
	job     app.Job          // a finished screening job
	pending app.DecideResult // an override waiting for a second person
	doomed  app.NewKey       // a key to revoke
	monitor monitorFixtures
}

// monitorFixtures are a tenant's portfolios, alerts, webhooks and a dead
// delivery, each new (ids unique to the call).
type monitorFixtures struct {
	portfolio, doomedPortfolio string // portfolio ids
	vessel, doomedVessel       string // vessel references in portfolio
	ackAlert, closeAlert       int64
	webhook, doomedWebhook     string
	deadDelivery               int64
	entity                     string // an entity in force, for /entities
}

// makeMonitorFixtures makes a tenant's monitoring fixtures through the
// API, but for the alerts and the dead delivery: those are put in the
// store as the monitor would (the monitor's own raising is tested in
// internal/app).
func (ts *testServer) makeMonitorFixtures(t *testing.T, tenant string) monitorFixtures {
	t.Helper()
	ctx := context.Background()
	e := ts.e
	n := tenantSeq.Add(1)
	f := monitorFixtures{portfolio: fmt.Sprintf("book-%d", n), doomedPortfolio: fmt.Sprintf("old-book-%d", n), vessel: "tanker", doomedVessel: "sold"}
	analyst, admin := e.key(tenant, app.RoleAnalyst), e.key(tenant, app.RoleAdmin)
	for _, id := range []string{f.portfolio, f.doomedPortfolio} {
		if r := ts.call(t, "POST", "/v1/portfolios", analyst, PortfolioRequest{ID: id, Name: "Test book"}); r.status != http.StatusCreated {
			t.Fatalf("portfolio: %s", r)
		}
	}
	vs := VesselsRequest{Vessels: []app.VesselEntry{{ID: f.vessel, IMO: strconv.Itoa(dprkIMO)}, {ID: f.doomedVessel, MMSI: strconv.Itoa(foreignMMSI)}}}
	if r := ts.call(t, "POST", "/v1/portfolios/"+f.portfolio+"/vessels", analyst, vs); r.status != http.StatusOK {
		t.Fatalf("vessels: %s", r)
	}
	for _, id := range []*string{&f.webhook, &f.doomedWebhook} {
		r := ts.call(t, "POST", "/v1/webhooks", admin, app.WebhookRequest{URL: "https://hooks.example.invalid/tidewatch"})
		if r.status != http.StatusCreated {
			t.Fatalf("webhook: %s", r)
		}
		var w app.NewWebhook
		json.Unmarshal(r.body, &w)
		*id = w.ID
	}
	now := time.Now().UTC().Truncate(time.Second)
	for i, id := range []*int64{&f.ackAlert, &f.closeAlert} {
		a := store.Alert{Tenant: tenant, Key: fmt.Sprintf("event:test-%d-%d:%s", n, i, f.vessel), Version: 1, Kind: app.AlertEvent, Severity: "high", State: "open",
			Portfolio: f.portfolio, VesselRef: f.vessel, IMO: dprkIMO, Title: "Test encounter", Why: "a test alert", Evidence: []store.AlertEvidence{}, Created: now, Updated: now}
		var ds []store.Delivery
		if i == 0 {
			ds = []store.Delivery{{Tenant: tenant, Webhook: f.webhook, IdempotencyKey: fmt.Sprintf("test-%d", n), State: app.DeliveryPending,
				NextAttempt: now.Add(24 * time.Hour), Created: now}}
		}
		if err := e.st.PutAlert(ctx, &a, ds, func(a *store.Alert) []byte { b, _ := json.Marshal(a); return b }); err != nil {
			t.Fatal(err)
		}
		*id = a.ID
	}
	ds, err := e.st.Deliveries(ctx, tenant, store.DeliveryFilter{States: []string{app.DeliveryPending}})
	if err != nil || len(ds) == 0 {
		t.Fatalf("deliveries: %v %d", err, len(ds))
	}
	d := ds[0]
	d.State, d.Attempts, d.LastError = app.DeliveryDead, 12, "test: 503 Service Unavailable"
	if err := e.st.UpdateDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	f.deadDelivery = d.ID
	r := ts.call(t, "GET", "/search/default?q=CHON+MA+SAN&schema=Vessel", e.key(tenant, app.RoleViewer), nil)
	var sr YenteSearchResponse
	if err := json.Unmarshal(r.body, &sr); err != nil || len(sr.Results) == 0 {
		t.Fatalf("search: %s", r)
	}
	f.entity = sr.Results[0].ID
	return f
}

// validCases returns a valid call of every route for a tenant (the
// operator's for routes that change shared data), each at the least role
// the route takes, after making what they refer to.
func (ts *testServer) validCases(t *testing.T, tenant string) (map[string]routeCase, fixtures) {
	t.Helper()
	e := ts.e
	var fx fixtures
	fx.job = ts.startScreenJob(t, e.key(tenant, app.RoleViewer))
	if fx.job.State != app.JobDone {
		t.Fatalf("screening job %s: %s", fx.job.State, fx.job.Error)
	}
	maker := e.newPersonalKey(t, tenant, app.RoleUnderwriter, 2*time.Hour)
	fx.pending = ts.decide(t, maker.Secret, strconv.Itoa(dprkIMO), DecisionRequest{Decision: "accept", Reason: "test: charter is short",
		OverrideReason: "test: the owner's assurances"}, scenarioEnd)
	if fx.pending.Decision.Status != app.DecisionPending {
		t.Fatalf("override in a four-eyes tenant: status %q, want pending", fx.pending.Decision.Status)
	}
	fx.doomed = e.newKey(t, tenant, app.RoleViewer, 2*time.Hour)
	fx.monitor = ts.makeMonitorFixtures(t, tenant)
	mf := fx.monitor
	keyQ := "api_key=" + url.QueryEscape(e.key(tenant, app.RoleViewer))
	reconcileForm := url.Values{"queries": {`{"q0":{"query":"CHON MA SAN","type":"Vessel","properties":[{"pid":"imo","v":"8660313"}]}}`}}.Encode()
	formHeader := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	unOld, unNew := unVersions(t)
	euName, euData := euListFile(t)
	newTenant := fmt.Sprintf("tenant-new-%d-%d", time.Now().UnixNano()%1e6, tenantSeq.Add(1))
	cases := map[string]routeCase{
		"GET /healthz": {check: func(t *testing.T, r reply) {
			if !strings.Contains(string(r.body), `"ok"`) {
				t.Errorf("healthz: %s", r)
			}
		}},
		"GET /readyz": {},
		"GET /metrics": {header: authHeader(e.key(tenantOp, app.RoleViewer)), check: func(t *testing.T, r reply) {
			for _, m := range []string{"tidewatch_http_requests_total", "tidewatch_http_request_duration_seconds", "tidewatch_screen_queries_total", "tidewatch_store_bytes"} {
				if !strings.Contains(string(r.body), m) {
					t.Errorf("metrics lack %s", m)
				}
			}
		}},
		"GET /openapi.json":     {},
		"POST /v1/screen":       {role: app.RoleViewer, body: ScreenRequest{Type: "vessel", Name: "CHON MA SAN", IMO: "8660313"}, check: wantMatch},
		"POST /v1/screen/batch": {role: app.RoleViewer, body: BatchRequest{Queries: []screen.Query{{ID: "a", Type: "vessel", IMO: "8660313"}, {ID: "b", Name: "NOBODY AT ALL"}}}},
		"POST /v1/screen/jobs": {role: app.RoleViewer, path: "/v1/screen/jobs?name=p.csv&threshold=0.8", body: screenCSV,
			header: http.Header{"Content-Type": {"text/csv"}}, status: http.StatusAccepted},
		"GET /v1/jobs":             {role: app.RoleViewer},
		"GET /v1/jobs/{id}":        {role: app.RoleViewer, path: "/v1/jobs/" + fx.job.ID},
		"DELETE /v1/jobs/{id}":     {role: app.RoleViewer, path: "/v1/jobs/" + fx.job.ID},
		"GET /v1/jobs/{id}/result": {role: app.RoleViewer, path: "/v1/jobs/" + fx.job.ID + "/result"},
		"GET /v1/vessels/{vessel}/profile": {role: app.RoleViewer, path: "/v1/vessels/" + strconv.Itoa(dprkIMO) + "/profile?" + asOfQuery, check: func(t *testing.T, r reply) {
			var p app.ProfileResult
			json.Unmarshal(r.body, &p)
			if p.Profile.Recommendation != "decline" {
				t.Errorf("the designated tanker's profile recommends %q", p.Profile.Recommendation)
			}
			if len(p.Provenance.Lists) == 0 || p.Provenance.Lists[0].SHA256 == "" || p.Provenance.Program == "" || p.Provenance.ConfigHash == "" {
				t.Errorf("a profile names its list versions, program and configuration: %+v", p.Provenance)
			}
		}},
		"GET /v1/vessels/{vessel}/report": {role: app.RoleViewer, path: "/v1/vessels/" + strconv.Itoa(dprkIMO) + "/report?" + asOfQuery, check: func(t *testing.T, r reply) {
			if !bytes.Contains(r.body, []byte("<html")) || r.header.Get("Content-Security-Policy") == "" {
				t.Errorf("report: %d bytes, CSP %q", len(r.body), r.header.Get("Content-Security-Policy"))
			}
		}},
		"GET /v1/vessels/{vessel}/identity":  {role: app.RoleViewer, path: fmt.Sprintf("/v1/vessels/%d/identity", dprkIMO), check: nonEmptyArray},
		"GET /v1/vessels/{vessel}/track":     {role: app.RoleViewer, path: fmt.Sprintf("/v1/vessels/%d/track?from=2026-03-01&to=2026-03-03&max_points=100", foreignMMSI)},
		"GET /v1/vessels/{vessel}/decisions": {role: app.RoleViewer, path: fmt.Sprintf("/v1/vessels/%d/decisions", dprkIMO), check: nonEmptyArray},
		"POST /v1/vessels/{vessel}/decisions": {role: app.RoleUnderwriter, path: fmt.Sprintf("/v1/vessels/%d/decisions?as_of=%s", dprkIMO, scenarioEnd.Format(time.RFC3339)),
			body: DecisionRequest{Decision: "decline", Reason: "test: STS with a designated tanker"}, status: http.StatusCreated},
		"GET /v1/decisions": {role: app.RoleViewer, check: nonEmptyArray},
		"POST /v1/decisions/{id}/approval": {role: app.RoleUnderwriter, path: fmt.Sprintf("/v1/decisions/%d/approval", fx.pending.Decision.ID),
			body: map[string]any{"approve": false, "note": "test: not convinced"}, check: func(t *testing.T, r reply) {
				var d store.Decision
				json.Unmarshal(r.body, &d)
				if d.Status != app.DecisionRejected {
					t.Errorf("rejected approval: status %q", d.Status)
				}
			}},
		"GET /v1/events":         {role: app.RoleViewer, path: "/v1/events?kind=encounter&from=2026-03-01&to=2026-03-03&bbox=37,123,39,125&limit=50", check: wantEvents},
		"GET /v1/lists/versions": {role: app.RoleViewer, check: nonEmptyArray},
		"GET /v1/lists/imports":  {role: app.RoleViewer, path: "/v1/lists/imports?list=un", check: nonEmptyArray},
		"GET /v1/lists/diff":     {role: app.RoleViewer, path: "/v1/lists/diff?from=" + url.QueryEscape(unOld) + "&to=" + url.QueryEscape(unNew)},
		"POST /v1/lists/import": {tenant: tenantOp, role: app.RoleAnalyst, path: "/v1/lists/import?name=" + url.QueryEscape(euName), body: euData,
			header: http.Header{"Content-Type": {"application/octet-stream"}}},
		"POST /v1/ingest": {tenant: tenantOp, role: app.RoleAnalyst, path: "/v1/ingest?name=extra.nmea", body: smallNMEA(t, 7),
			header: http.Header{"Content-Type": {"application/octet-stream"}}, status: http.StatusAccepted},
		"GET /v1/store":         {role: app.RoleViewer},
		"GET /v1/audit/verify":  {role: app.RoleViewer},
		"GET /v1/audit/records": {role: app.RoleViewer, path: "/v1/audit/records?action=decision&limit=10", check: nonEmptyArray},
		"GET /v1/keys":          {role: app.RoleAdmin, check: nonEmptyArray},
		"POST /v1/keys": {role: app.RoleAdmin, body: KeyRequest{Name: "test made through the API", Role: "viewer", TTL: "30d"}, status: http.StatusCreated,
			check: func(t *testing.T, r reply) {
				var k app.NewKey
				json.Unmarshal(r.body, &k)
				rememberSecret(k.Secret)
				if !strings.HasPrefix(k.Secret, app.KeyPrefix) || k.Tenant != tenant {
					t.Errorf("new key: %s", r)
				}
			}},
		"DELETE /v1/keys/{id}":  {role: app.RoleAdmin, path: "/v1/keys/" + fx.doomed.ID},
		"GET /v1/tenants":       {role: app.RoleViewer},
		"POST /v1/tenants":      {tenant: tenantOp, role: app.RoleAdmin, body: TenantRequest{ID: newTenant, Name: "A new insurer"}, status: http.StatusCreated},
		"PUT /v1/tenant/policy": {role: app.RoleAdmin, body: map[string]any{"four_eyes": true}},
		"GET /v1/whoami":        {role: app.RoleViewer},

		// Monitoring.
		"GET /v1/portfolios":                             {role: app.RoleViewer, check: nonEmptyArray},
		"POST /v1/portfolios":                            {role: app.RoleAnalyst, body: PortfolioRequest{ID: mf.portfolio + "-new", Name: "New book"}, status: http.StatusCreated},
		"DELETE /v1/portfolios/{portfolio}":              {role: app.RoleAnalyst, path: "/v1/portfolios/" + mf.doomedPortfolio},
		"GET /v1/portfolios/{portfolio}/fleet":           {role: app.RoleViewer, path: "/v1/portfolios/" + mf.portfolio + "/fleet", check: nonEmptyArray},
		"POST /v1/portfolios/{portfolio}/seen":           {role: app.RoleViewer, path: "/v1/portfolios/" + mf.portfolio + "/seen"},
		"POST /v1/portfolios/{portfolio}/vessels":        {role: app.RoleAnalyst, path: "/v1/portfolios/" + mf.portfolio + "/vessels", body: VesselsRequest{Vessels: []app.VesselEntry{{ID: "third", IMO: strconv.Itoa(dprkIMO), CoverFrom: "2026-01-01", CoverTo: "2026-12-31"}}}},
		"DELETE /v1/portfolios/{portfolio}/vessels/{id}": {role: app.RoleAnalyst, path: "/v1/portfolios/" + mf.portfolio + "/vessels/" + mf.doomedVessel},
		"PUT /v1/portfolios/{portfolio}/file": {role: app.RoleAnalyst, path: "/v1/portfolios/" + mf.portfolio + "/file?name=book.csv", body: "id,imo,name\nfourth," + strconv.Itoa(dprkIMO) + ",A TANKER\n",
			header: http.Header{"Content-Type": {"text/csv"}}},
		"GET /v1/portfolios/{portfolio}/file": {role: app.RoleViewer, path: "/v1/portfolios/" + mf.portfolio + "/file", check: func(t *testing.T, r reply) {
			if !strings.Contains(string(r.body), "tanker") {
				t.Errorf("portfolio export lacks its vessel: %s", r)
			}
		}},
		"GET /v1/alerts":                              {role: app.RoleViewer, path: "/v1/alerts?state=open&portfolio=" + mf.portfolio, check: nonEmptyArray},
		"GET /v1/alerts/{id}":                         {role: app.RoleViewer, path: fmt.Sprintf("/v1/alerts/%d", mf.ackAlert)},
		"POST /v1/alerts/{id}/acknowledge":            {role: app.RoleAnalyst, path: fmt.Sprintf("/v1/alerts/%d/acknowledge", mf.ackAlert)},
		"POST /v1/alerts/{id}/close":                  {role: app.RoleAnalyst, path: fmt.Sprintf("/v1/alerts/%d/close", mf.closeAlert), body: CloseRequest{Reason: "test: charter ended"}},
		"GET /v1/alerts/stream":                       {role: app.RoleViewer},
		"GET /v1/feeds":                               {role: app.RoleViewer},
		"GET /v1/webhooks":                            {role: app.RoleAdmin, check: nonEmptyArray},
		"POST /v1/webhooks":                           {role: app.RoleAdmin, body: app.WebhookRequest{URL: "https://hooks.example.invalid/new", MinSeverity: "high"}, status: http.StatusCreated},
		"POST /v1/webhooks/{id}/rotate":               {role: app.RoleAdmin, path: "/v1/webhooks/" + mf.webhook + "/rotate"},
		"POST /v1/webhooks/{id}/retire":               {role: app.RoleAdmin, path: "/v1/webhooks/" + mf.webhook + "/retire"},
		"DELETE /v1/webhooks/{id}":                    {role: app.RoleAdmin, path: "/v1/webhooks/" + mf.doomedWebhook},
		"GET /v1/webhooks/deliveries":                 {role: app.RoleAdmin, path: "/v1/webhooks/deliveries?state=dead", check: nonEmptyArray},
		"POST /v1/webhooks/deliveries/{id}/redeliver": {role: app.RoleAdmin, path: fmt.Sprintf("/v1/webhooks/deliveries/%d/redeliver", mf.deadDelivery)},

		// yente-compatible and reconciliation.
		"POST /match/{dataset}": {role: app.RoleViewer, path: "/match/default", body: YenteMatchRequest{Queries: map[string]*YenteEntityExample{
			"q1": {Schema: "Vessel", Properties: map[string]FtMValues{"name": {"CHON MA SAN"}, "imoNumber": {"8660313"}}}}}},
		"GET /search/{dataset}":         {role: app.RoleViewer, path: "/search/default?q=CHON+MA+SAN"},
		"GET /entities/{id}":            {role: app.RoleViewer, path: "/entities/" + url.PathEscape(mf.entity)},
		"GET /catalog":                  {role: app.RoleViewer},
		"GET /algorithms":               {role: app.RoleViewer},
		"GET /reconcile":                {path: "/reconcile?" + keyQ},
		"POST /reconcile":               {path: "/reconcile?" + keyQ, body: reconcileForm, header: formHeader},
		"GET /reconcile/{dataset}":      {path: "/reconcile/default?" + keyQ},
		"POST /reconcile/{dataset}":     {path: "/reconcile/default?" + keyQ, body: reconcileForm, header: formHeader},
		"GET /reconcile/suggest/{kind}": {path: "/reconcile/suggest/type?prefix=ves&" + keyQ},
		"GET /reconcile/preview":        {path: "/reconcile/preview?id=" + url.QueryEscape(mf.entity) + "&" + keyQ},
	}
	for p, c := range ledgerCases(ts.makeLedgerFixtures(t)) {
		cases[p] = c
	}
	for p, c := range caseCases(t) {
		cases[p] = c
	}
	for p, c := range cases {
		if c.tenant == "" {
			c.tenant = tenant
		}
		if rt := ts.findRoute(p); rt != nil {
			if c.path == "" {
				c.path = rt.path
			}
			if c.status == 0 {
				c.status = rt.status
			}
		}
		cases[p] = c
	}
	return cases, fx
}

// send makes a case's request with the key of a tenant and role ("" and
// 0: none).
func (ts *testServer) send(t testing.TB, rt *route, c routeCase, tenant string, role app.Role) reply {
	t.Helper()
	h := http.Header{}
	for k, vs := range c.header {
		h[k] = vs
	}
	if role != 0 {
		h.Set("Authorization", "Bearer "+ts.e.key(tenant, role))
	}
	return ts.callHeaders(t, rt.method, c.path, c.body, h)
}

// TestEveryRoute calls every route of the server's table with a valid
// request at the least role it needs, and checks the status and the
// answer against /openapi.json. A route added without a case here fails
// the test.
func TestEveryRoute(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{})
	doc := ts.openAPIDoc(t)
	cases, _ := ts.validCases(t, tenantA)
	for _, rt := range ts.routes {
		c, ok := cases[rt.pattern]
		if !ok {
			t.Errorf("route %s has no case in validCases (server_test.go): add one", rt.pattern)
			continue
		}
		delete(cases, rt.pattern)
		t.Run(strings.ReplaceAll(rt.pattern, "/", "_"), func(t *testing.T) {
			if c.role != rt.role {
				t.Fatalf("the case calls %s as %s: call it at the least role the route takes, %s", rt.pattern, c.role, rt.role)
			}
			if rt.shared && c.tenant != tenantOp {
				t.Fatalf("%s changes shared data: call it as the operator", rt.pattern)
			}
			if !strings.HasPrefix(c.path, strings.SplitN(rt.path, "{", 2)[0]) {
				t.Fatalf("case path %s is not under %s", c.path, rt.path)
			}
			r := ts.send(t, rt, c, c.tenant, c.role)
			if r.status != c.status {
				t.Fatalf("%s %s: %s, want %d", rt.method, c.path, r, c.status)
			}
			checkAgainstDoc(t, doc, rt, r)
			if rt.role != 0 && r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: a tenant's answer with Cache-Control %q, want no-store", rt.pattern, r.header.Get("Cache-Control"))
			}
			if c.check != nil {
				c.check(t, r)
			}
			if rt.status == http.StatusAccepted {
				var acc JobAccepted
				json.Unmarshal(r.body, &acc)
				j := ts.waitJob(t, e.key(c.tenant, c.role), acc.Job.ID)
				if j.State != app.JobDone {
					t.Errorf("job %s %s: %s", j.Kind, j.State, j.Error)
				}
				res := ts.call(t, "GET", "/v1/jobs/"+j.ID+"/result", e.key(c.tenant, c.role), nil)
				if res.status != http.StatusOK {
					t.Errorf("job result: %s", res)
				}
				checkAgainstDoc(t, doc, ts.findRoute("GET /v1/jobs/{id}/result"), res)
			}
		})
	}
	for p := range cases {
		t.Errorf("case %s matches no route", p)
	}
}

func wantMatch(t *testing.T, r reply) {
	var res app.ScreenResult
	json.Unmarshal(r.body, &res)
	if len(res.Matches) == 0 || !res.Matches[0].Match {
		t.Errorf("CHON MA SAN with its IMO: no match: %s", r)
	}
	if len(res.Provenance.Lists) == 0 || res.Provenance.Program == "" {
		t.Errorf("a screening names its list versions and program: %+v", res.Provenance)
	}
}

func nonEmptyArray(t *testing.T, r reply) {
	var v []json.RawMessage
	if err := json.Unmarshal(r.body, &v); err != nil || len(v) == 0 {
		t.Errorf("want a non-empty array: %s", r)
	}
}

func wantEvents(t *testing.T, r reply) {
	var ev Events
	json.Unmarshal(r.body, &ev)
	if ev.Count == 0 || len(ev.Events) != ev.Count {
		t.Errorf("the planted STS: no encounter: %s", r)
	}
}

// TestRateLimit: a key over its rate gets 429 rate_limited with a
// Retry-After that says how long to wait, and nothing is done; another
// key, and the routes that need none, are unaffected.
func TestRateLimit(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{Rate: 0.01, Burst: 2}) // a request per 100 s, two at once
	k1 := e.newKey(t, tenantA, app.RoleViewer, 2*time.Hour)
	k2 := e.newKey(t, tenantA, app.RoleViewer, 2*time.Hour)
	rememberSecret(k1.Secret)
	rememberSecret(k2.Secret)
	for i := 0; i < 2; i++ {
		if r := ts.call(t, "GET", "/v1/whoami", k1.Secret, nil); r.status != http.StatusOK {
			t.Fatalf("request %d within the burst: %s", i+1, r)
		}
	}
	unchanged(t, "over the rate", func() {
		r := ts.call(t, "POST", "/v1/screen", k1.Secret, ScreenRequest{Name: "CHON MA SAN"})
		checkBadAnswer(t, "over the rate", r, http.StatusTooManyRequests, app.CodeRateLimited, "")
		ra, err := strconv.Atoi(r.header.Get("Retry-After"))
		// At 0.01 a second the next token is up to 100 s away: a
		// Retry-After of 1 would send the client back too early.
		if err != nil || ra < 2 || ra > 101 {
			t.Errorf("Retry-After %q, want the seconds until the next request is allowed (about 100)", r.header.Get("Retry-After"))
		}
	})
	if r := ts.call(t, "GET", "/v1/whoami", k2.Secret, nil); r.status != http.StatusOK {
		t.Errorf("another key after the first ran out: %s", r)
	}
	if r := ts.call(t, "GET", "/healthz", "", nil); r.status != http.StatusOK {
		t.Errorf("healthz after a key ran out: %s", r)
	}
}

// TestGracefulShutdown: a long batch in flight when the server is told
// to stop gets its whole answer (and its audit record); the server takes
// no new connection meanwhile.
func TestGracefulShutdown(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{})
	key := e.key(tenantB, app.RoleViewer)
	qs := make([]screen.Query, app.MaxBatch)
	for i := range qs {
		qs[i] = screen.Query{ID: strconv.Itoa(i), Type: "vessel", Name: fmt.Sprintf("OCEAN CARRIER %d", i)}
		if i%100 == 0 {
			qs[i].IMO = "8660313"
		}
	}
	entered, release := make(chan struct{}), make(chan struct{})
	gate := func(r *http.Request) {
		if r.URL.Path == "/v1/screen/batch" {
			close(entered)
			<-release
		}
	}
	ts.gate.Store(&gate)
	got := make(chan reply, 1)
	go func() { got <- ts.call(t, "POST", "/v1/screen/batch", key, BatchRequest{Queries: qs}) }()
	<-entered
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		stopped <- ts.shutdown(ctx)
	}()
	// Shutdown has begun once the listener refuses connections; only
	// then does the batch go on.
	for {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(ts.url, "http://"), time.Second)
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	r := <-got
	if err := <-stopped; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if r.status != http.StatusOK {
		t.Fatalf("the batch in flight at shutdown: %s", r)
	}
	var res app.BatchResult
	if err := json.Unmarshal(r.body, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != app.MaxBatch || res.Hits < app.MaxBatch/100 || res.AuditSeq == 0 {
		t.Errorf("the batch in flight at shutdown: %d rows, %d hits, audit seq %d", len(res.Rows), res.Hits, res.AuditSeq)
	}
}

// TestRequestTimeout: a request that runs out of time is answered 503
// unavailable, and what it did not finish is not recorded.
func TestRequestTimeout(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{RequestTimeout: time.Nanosecond})
	unchanged(t, "timed out batch", func() {
		r := ts.call(t, "POST", "/v1/screen/batch", e.key(tenantA, app.RoleViewer), BatchRequest{Queries: []screen.Query{{Name: "X"}, {Name: "Y"}}})
		checkBadAnswer(t, "timed out batch", r, http.StatusServiceUnavailable, app.CodeUnavailable, "time")
	})
}

// TestSlowBody: a client that sends a request's headers and then its
// body too slowly is cut off at the request time limit, not held forever.
func TestSlowBody(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{RequestTimeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /v1/screen HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":", e.key(tenantA, app.RoleViewer))
	// The body's other 92 bytes never come. A minute is far beyond the
	// server's limit: reaching it means the server waits forever.
	c.SetReadDeadline(time.Now().Add(time.Minute))
	b, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server still waits for the body after a minute")
	}
	if !bytes.HasPrefix(b, []byte("HTTP/1.1 400")) || !bytes.Contains(b, []byte(`"code":"invalid_argument"`)) || !bytes.Contains(b, []byte("time limit")) {
		t.Errorf("answer to a slow body: %q", b)
	}
	if bytes.Contains(b, []byte("127.0.0.1")) {
		t.Errorf("the answer names addresses: %q", b)
	}
}

// TestTrackWithoutSpeed: a real transmitter that did not give its speed
// or course (the store keeps NaN) has a track: null where it gave none.
func TestTrackWithoutSpeed(t *testing.T) {
	const mmsi = 636091539 // in the embedded exactEarth sample
	ts := startServer(t, Options{})
	doc := ts.openAPIDoc(t)
	r := ts.call(t, "GET", fmt.Sprintf("/v1/vessels/%d/track?from=2000-01-01&to=2100-01-01", mmsi), env(t).key(tenantA, app.RoleViewer), nil)
	if r.status != http.StatusOK {
		t.Fatalf("track: %s", r)
	}
	checkAgainstDoc(t, doc, ts.findRoute("GET /v1/vessels/{vessel}/track"), r)
	var tr struct {
		Points []map[string]any `json:"points"`
	}
	json.Unmarshal(r.body, &tr)
	nulls := 0
	for _, p := range tr.Points {
		if p["sog"] == nil || p["cog"] == nil {
			nulls++
		}
	}
	if len(tr.Points) == 0 || nulls == 0 {
		t.Errorf("%d points, %d without speed or course: %s", len(tr.Points), nulls, r)
	}
}

// TestUnencodableAnswer: an answer JSON cannot carry is a logged
// internal error, answered as a JSON error like any other.
func TestUnencodableAnswer(t *testing.T) {
	logs := &syncBuffer{}
	s := New(env(t).svc, Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	h := s.recoverer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, math.NaN()) }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	r := reply{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	checkBadAnswer(t, "NaN answer", r, http.StatusInternalServerError, app.CodeInternal, "internal error")
	if !strings.Contains(logs.String(), "encoding the answer") {
		t.Errorf("not logged: %s", logs)
	}
}

// TestJobResultJSONL: a screening job's result as JSON lines is
// documented and one JSON object per row.
func TestJobResultJSONL(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{})
	doc := ts.openAPIDoc(t)
	key := e.key(tenantA, app.RoleViewer)
	j := ts.startScreenJob(t, key)
	r := ts.call(t, "GET", "/v1/jobs/"+j.ID+"/result?format=jsonl", key, nil)
	if r.status != http.StatusOK {
		t.Fatalf("jsonl: %s", r)
	}
	checkAgainstDoc(t, doc, ts.findRoute("GET /v1/jobs/{id}/result"), r)
	lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
	if len(lines) != 3 {
		t.Errorf("%d lines for 3 rows: %s", len(lines), r)
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("not JSON: %q", l)
		}
	}
}

// TestAccessLogLine: every request is logged once at INFO with its
// route, status, time, size, tenant, key id and client, and never the
// key itself.
func TestAccessLogLine(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{})
	key := e.key(tenantA, app.RoleViewer)
	if r := ts.call(t, "POST", "/v1/screen", key, ScreenRequest{Name: "CHON MA SAN", Type: "vessel"}); r.status != http.StatusOK {
		t.Fatalf("screen: %s", r)
	}
	var found []map[string]any
	for _, l := range strings.Split(ts.logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && m["route"] == "POST /v1/screen" {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d access lines for one screening: %s", len(found), ts.logs)
	}
	m := found[0]
	if m["level"] != "INFO" || m["method"] != "POST" || m["status"] != float64(200) || m["tenant"] != tenantA ||
		m["key"] == "" || m["key"] == nil || m["client"] == "" || m["bytes"].(float64) <= 0 || m["ms"] == nil || m["time"] == nil {
		t.Errorf("access line: %v", m)
	}
	if strings.Contains(ts.logs.String(), key) {
		t.Errorf("the key's secret is in the log")
	}
}
