package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/screen"
	"github.com/tidewatch/tidewatch/store"
)

// leakMarks are what an error answer must never hold: stack traces,
// source positions, the server's paths.
var leakMarks = []string{"goroutine ", ".go:", "panic", "runtime.", "/tmp/", "/work/", "/home/", "sqlite", "SQL", "tidewatch-upload-"}

// checkBadAnswer checks an error answer: the status, a JSON error with
// the code, a message for people, nothing leaked, and (when want is
// given) the message saying what was wrong.
func checkBadAnswer(t *testing.T, what string, r reply, status int, code app.Code, want string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: %s, want %d", what, r, status)
		return
	}
	if mt := mediaType(r.header); mt != "application/json" {
		t.Errorf("%s: answered %s, want a JSON error", what, mt)
	}
	eb := r.errorBody()
	if eb.Code != string(code) {
		t.Errorf("%s: code %q, want %q: %s", what, eb.Code, code, r)
	}
	if eb.Message == "" {
		t.Errorf("%s: no message: %s", what, r)
	}
	if want != "" && !strings.Contains(strings.ToLower(eb.Message), strings.ToLower(want)) {
		t.Errorf("%s: message %q does not say %q", what, eb.Message, want)
	}
	for _, m := range leakMarks {
		if strings.Contains(string(r.body), m) {
			t.Errorf("%s: the answer holds %q: %s", what, m, r)
		}
	}
	for _, k := range env(t).allKeys() {
		if strings.Contains(string(r.body), secretOf(k)) {
			t.Errorf("%s: the answer holds a key's secret", what)
		}
	}
}

// unchanged runs fn and fails when the store changed meanwhile.
func unchanged(t *testing.T, what string, fn func()) {
	t.Helper()
	e := env(t)
	before := e.snapshot(t)
	fn()
	if after := e.snapshot(t); after != before {
		t.Errorf("%s: refused, yet the store changed: %s", what, snapshotDiff(before, after))
	}
}

// snapshotDiff shows where two snapshots part.
func snapshotDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-80)
	cut := func(s string) string { return s[from:min(len(s), i+80)] }
	return fmt.Sprintf("\n  before ...%s...\n  after  ...%s...", cut(a), cut(b))
}

// wrongValue is a JSON value of another type than t's.
func wrongValue(t reflect.Type) any {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return 12345
	case reflect.Bool:
		return "yes"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64, reflect.Float32:
		return "many"
	case reflect.Slice:
		return map[string]any{"a": 1}
	}
	return "x"
}

// TestBadJSONBodies sends every JSON route malformed JSON, unknown
// fields, wrong types, trailing data, an empty body, a body that is not
// an object, and a body over the limit: each gets a clear 400 (413 for
// the size) with a stable code, and nothing is stored.
func TestBadJSONBodies(t *testing.T) {
	const maxBody = 4096
	ts := startServer(t, Options{MaxBody: maxBody})
	cases, _ := ts.validCases(t, tenantA)
	n := 0
	for _, rt := range ts.routes {
		if rt.body == nil {
			continue
		}
		n++
		c, ok := cases[rt.pattern]
		if !ok {
			t.Errorf("route %s has no case in validCases (server_test.go): add one", rt.pattern)
			continue
		}
		valid, err := json.Marshal(c.body)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]any
		json.Unmarshal(valid, &fields)
		send := func(what string, body string, status int, code app.Code, want string) {
			t.Helper()
			unchanged(t, rt.pattern+" "+what, func() {
				c.body = body
				r := ts.send(t, rt, c, c.tenant, c.role)
				checkBadAnswer(t, rt.pattern+" "+what, r, status, code, want)
			})
		}
		send("malformed", `{"name": "x`, 400, app.CodeInvalid, "JSON")
		send("malformed, bad token", `{"name": nope}`, 400, app.CodeInvalid, "JSON")
		send("empty body", ``, 400, app.CodeInvalid, "empty")
		send("blank body", " \n\t ", 400, app.CodeInvalid, "empty")
		send("null", `null`, 400, app.CodeInvalid, "object")
		send("array", `[]`, 400, app.CodeInvalid, "object")
		send("string", `"x"`, 400, app.CodeInvalid, "object")
		send("number", `42`, 400, app.CodeInvalid, "object")
		send("trailing object", string(valid)+` {}`, 400, app.CodeInvalid, "trailing")
		send("trailing garbage", string(valid)+`x`, 400, app.CodeInvalid, "trailing")
		send("trailing bracket", string(valid)+`]`, 400, app.CodeInvalid, "trailing")
		unknown := map[string]any{"nonsense_field": 1}
		for k, v := range fields {
			unknown[k] = v
		}
		j, _ := json.Marshal(unknown)
		send("unknown field", string(j), 400, app.CodeInvalid, "nonsense_field")
		bt := rt.body
		for i := 0; i < bt.NumField(); i++ {
			f := bt.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			wrong := map[string]any{}
			for k, v := range fields {
				wrong[k] = v
			}
			wrong[name] = wrongValue(f.Type)
			j, _ := json.Marshal(wrong)
			send("wrong type of "+name, string(j), 400, app.CodeInvalid, name)
		}
		send("oversize", "{"+strings.Repeat(" ", maxBody)+"}", 413, app.CodeTooLarge, "larger")
		send("oversize string", `{"name":"`+strings.Repeat("A", 2*maxBody)+`"}`, 413, app.CodeTooLarge, "larger")
	}
	if n < 7 {
		t.Errorf("only %d routes take a JSON body", n)
	}
}

// TestBadUploads: uploads over the limit are refused (413) with nothing
// stored and nothing left in the upload directory; a missing or unsafe
// name, a file that is no list, a CSV without its header, a bad
// threshold are 400 before any work starts.
func TestBadUploads(t *testing.T) {
	e := env(t)
	uploads := t.TempDir()
	ts := startServer(t, Options{MaxUpload: 4096, UploadDir: uploads})
	op := e.key(tenantOp, app.RoleAnalyst)
	big := []byte(strings.Repeat("!AIVDM,1,1,,A,15MgK45P3@G?fl0E`JbR0OwT0@MS,0*4E\n", 200))
	for _, path := range []string{"/v1/ingest?name=big.nmea", "/v1/lists/import?name=un_consolidated_2026-02-27.xml", "/v1/screen/jobs?name=big.csv"} {
		unchanged(t, path+" oversize", func() {
			r := ts.call(t, "POST", path, op, big)
			checkBadAnswer(t, path+" oversize", r, 413, app.CodeTooLarge, "larger")
		})
	}
	if ents, _ := os.ReadDir(uploads); len(ents) != 0 {
		t.Errorf("refused uploads left %d entries in the upload directory", len(ents))
	}
	for _, c := range []struct {
		path, body string
		want       string
	}{
		{"/v1/ingest", "x", "name"},
		{"/v1/ingest?name=.hidden", "x", "name"},
		{"/v1/ingest?name=..", "x", "name"},
		{"/v1/ingest?name=" + strings.Repeat("a", 300), "x", "name"},
		{"/v1/lists/import", "x", "name"},
		{"/v1/lists/import?name=un_consolidated_2026-02-27.xml&min_ratio=2", "x", "min_ratio"},
		{"/v1/lists/import?name=notes.txt", "hello", "notes.txt"},
		{"/v1/lists/import?name=notes.bin", "hello", "notes.bin"},
		{"/v1/lists/import?name=un_consolidated_2026-02-27.xml&min_ratio=abc", "x", "min_ratio"},
		{"/v1/lists/import?name=un_consolidated_2026-02-27.xml&min_ratio=NaN", "x", "min_ratio"},
		{"/v1/lists/import?name=un_consolidated_2026-02-27.xml&min_ratio=-Inf", "x", "min_ratio"},
		{"/v1/screen/jobs?name=p.csv", "no,header,here\n1,2,3\n", "header"},
		{"/v1/screen/jobs?name=p.csv&threshold=abc", screenCSV, "threshold"},
		{"/v1/screen/jobs?name=p.csv&threshold=NaN", screenCSV, "threshold"},
		{"/v1/screen/jobs?name=p.csv&threshold=2", screenCSV, "threshold"},
		{"/v1/screen/jobs?name=p.csv&threshold=-1", screenCSV, "threshold"},
		{"/v1/screen/jobs?name=p.csv&threshold=Inf", screenCSV, "threshold"},
		{"/v1/screen/jobs?name=.p.csv", screenCSV, "name"},
	} {
		unchanged(t, c.path, func() {
			r := ts.call(t, "POST", c.path, op, c.body)
			checkBadAnswer(t, c.path, r, 400, app.CodeInvalid, c.want)
		})
	}
	if ents, _ := os.ReadDir(uploads); len(ents) != 0 {
		t.Errorf("refused uploads left %d entries in the upload directory", len(ents))
	}
}

// TestBadParameters: bad path ids and query parameters on every route
// that takes them get a 400 (404 for ids nobody has) saying what was
// wrong, and store nothing.
func TestBadParameters(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{})
	va := e.key(tenantA, app.RoleViewer)
	uw := e.key(tenantA, app.RoleUnderwriter)
	adm := e.key(tenantA, app.RoleAdmin)
	okDecision := DecisionRequest{Decision: "decline", Reason: "test"}
	long := strings.Repeat("x", 1001)
	type bad struct {
		method, path, key string
		body              any
		status            int
		code              app.Code
		want              string
	}
	inv := func(method, path, key string, body any, want string) bad {
		return bad{method, path, key, body, 400, app.CodeInvalid, want}
	}
	nf := func(method, path, key string, body any) bad {
		return bad{method, path, key, body, 404, app.CodeNotFound, ""}
	}
	var cases []bad
	for _, sub := range []string{"profile", "report", "identity", "track", "decisions"} {
		for _, v := range []string{"123", "abc", "1234568", "IMO1234568", "12345678901", "mmsi:0", "mmsi:1234567890", "0000000", "000000000", "-9300207", "%20", "9300207x"} {
			cases = append(cases, inv("GET", "/v1/vessels/"+v+"/"+sub, va, nil, ""))
		}
	}
	prof := fmt.Sprintf("/v1/vessels/%d/profile?", dprkIMO)
	for _, q := range []string{"as_of=yesterday", "as_of=3000-01-01", "as_of=1900-01-01", "as_of=2026-02-30", "window=1000y", "window=0d",
		"window=-5d", "window=12x", "window=9999999999y", "window=1000000h", "built=abc", "built=1700", "built=99999999999999999999",
		"owner=" + long, "manager=" + long, "operator=" + long} {
		want := strings.SplitN(q, "=", 2)[0]
		if len(q) > 1000 {
			want = "party names"
		}
		cases = append(cases, inv("GET", prof+q, va, nil, want))
		cases = append(cases, inv("GET", strings.Replace(prof, "profile", "report", 1)+q, va, nil, want))
	}
	track := fmt.Sprintf("/v1/vessels/%d/track?", foreignMMSI)
	cases = append(cases,
		inv("GET", fmt.Sprintf("/v1/vessels/%d/track", dprkIMO), va, nil, "MMSI"),
		inv("GET", track+"from=2026-03-03&to=2026-03-01", va, nil, "after"),
		inv("GET", track+"from=garbage", va, nil, "from"),
		inv("GET", track+"to=2999-01-01", va, nil, "to"),
		inv("GET", track+"max_points=1", va, nil, "max_points"),
		inv("GET", track+"max_points=abc", va, nil, "max_points"),
		inv("GET", track+"max_points=99999999", va, nil, "max_points"),
	)
	for _, q := range []string{"vessel=abc", "vessel=1234568", "kind=nonsense", "kind=gap,", "from=bad", "to=2026-13-01", "from=2026-03-03&to=2026-03-01",
		"bbox=1,2,3", "bbox=a,b,c,d", "bbox=91,0,92,1", "bbox=10,0,5,1", "bbox=0,0,1,181", "bbox=NaN,0,1,1", "bbox=0,0,1,Inf", "bbox=-Inf,0,1,1", "bbox=0,nan,1,1",
		"bbox=0,0,1,1,2", "limit=0", "limit=10001", "limit=-1", "limit=1e3", "zone=nowhere"} {
		cases = append(cases, inv("GET", "/v1/events?"+q, va, nil, ""))
	}
	for _, q := range []string{"state=OPEN", "state=opened", "state=open,", "state=open,%20closed", "kind=evnt", "kind=Event", "kind=event,gap"} {
		want := "open, acknowledged, closed"
		if strings.HasPrefix(q, "kind") {
			want = "list_hit_added, list_hit_removed, band_changed, event, system"
		}
		cases = append(cases, inv("GET", "/v1/alerts?"+q, va, nil, want))
	}
	cases = append(cases, nf("GET", "/v1/alerts?portfolio=nope", va, nil), nf("GET", "/v1/alerts?state=open&portfolio=nope", va, nil))
	un1, un2 := unVersions(t)
	vs, _ := e.svc.ListVersions(context.Background(), app.LocalPrincipal("test"))
	var otherList string
	for _, v := range vs {
		if v.List != "un" {
			otherList = v.ID
		}
	}
	cases = append(cases,
		inv("GET", "/v1/lists/diff", va, nil, "from"),
		inv("GET", "/v1/lists/diff?from="+un1, va, nil, "to"),
		nf("GET", "/v1/lists/diff?from=nope&to="+un2, va, nil),
		nf("GET", "/v1/lists/diff?from="+un1+"&to=nope", va, nil),
		inv("GET", "/v1/lists/diff?from="+un1+"&to="+otherList, va, nil, ""),
		inv("GET", "/v1/audit/records?after=-1", va, nil, "after"),
		inv("GET", "/v1/audit/records?after=abc", va, nil, "after"),
		inv("GET", "/v1/audit/records?limit=0", va, nil, "limit"),
		inv("GET", "/v1/audit/records?limit=100001", va, nil, "limit"),
		inv("GET", "/v1/audit/verify?head=garbage", va, nil, "head"),
		inv("GET", "/v1/audit/verify?head=1:ab", va, nil, "head"),
		nf("GET", "/v1/jobs/nope", va, nil),
		nf("DELETE", "/v1/jobs/nope", va, nil),
		nf("GET", "/v1/jobs/nope/result", va, nil),
		nf("DELETE", "/v1/keys/nope", adm, nil),
		nf("POST", "/v1/decisions/999999999/approval", uw, map[string]any{"approve": true}),
		inv("POST", "/v1/decisions/abc/approval", uw, map[string]any{"approve": true}, "decision id"),
		inv("POST", "/v1/decisions/0/approval", uw, map[string]any{"approve": true}, "decision id"),
		inv("POST", "/v1/decisions/-3/approval", uw, map[string]any{"approve": true}, "decision id"),
		inv("POST", "/v1/decisions/99999999999999999999/approval", uw, map[string]any{"approve": true}, "decision id"),
		inv("POST", "/v1/decisions/1/approval", uw, map[string]any{}, "approve"),
		inv("POST", "/v1/decisions/1/approval", uw, map[string]any{"approve": nil}, "approve"),
		inv("POST", "/v1/decisions/1/approval", uw, map[string]any{"note": "fine"}, "approve"),
		inv("POST", "/v1/decisions/1/approval", uw, map[string]any{"approve": true, "note": strings.Repeat("n", 5000)}, "note"),
		inv("POST", fmt.Sprintf("/v1/vessels/%d/decisions", dprkIMO), uw, DecisionRequest{Decision: "maybe", Reason: "x"}, "decision"),
		inv("POST", fmt.Sprintf("/v1/vessels/%d/decisions", dprkIMO), uw, DecisionRequest{Decision: "decline"}, "reason"),
		inv("POST", fmt.Sprintf("/v1/vessels/%d/decisions", dprkIMO), uw, DecisionRequest{Decision: "decline", Reason: "   "}, "reason"),
		inv("POST", fmt.Sprintf("/v1/vessels/%d/decisions", dprkIMO), uw, DecisionRequest{Decision: "decline", Reason: strings.Repeat("r", 4001)}, "4,000"),
		inv("POST", fmt.Sprintf("/v1/vessels/%d/decisions?as_of=never", dprkIMO), uw, okDecision, "as_of"),
		inv("POST", "/v1/vessels/123/decisions", uw, okDecision, ""),
		bad{"POST", fmt.Sprintf("/v1/vessels/%d/decisions?as_of=%s", dprkIMO, scenarioEnd.Format(time.RFC3339)), uw,
			DecisionRequest{Decision: "accept", Reason: "test: no override reason"}, 422, app.CodePrecondition, "override"},
		bad{"POST", fmt.Sprintf("/v1/vessels/%d/decisions?as_of=%s", dprkIMO, scenarioEnd.Format(time.RFC3339)), uw,
			DecisionRequest{Decision: "refer", Reason: "test: no override reason", OverrideReason: "  "}, 422, app.CodePrecondition, "override"},
		inv("POST", "/v1/screen", va, ScreenRequest{}, "query"),
		inv("POST", "/v1/screen", va, ScreenRequest{Name: long}, "name"),
		inv("POST", "/v1/screen", va, ScreenRequest{Name: "X", Type: "boat"}, "type"),
		inv("POST", "/v1/screen", va, ScreenRequest{Name: "X", Threshold: 2}, "threshold"),
		inv("POST", "/v1/screen", va, ScreenRequest{Name: "X", Threshold: -0.5}, "threshold"),
		inv("POST", "/v1/screen", va, ScreenRequest{Name: "X", Limit: 1000}, "limit"),
		inv("POST", "/v1/screen", va, ScreenRequest{IMO: "12"}, "IMO"),
		inv("POST", "/v1/screen", va, ScreenRequest{MMSI: "12x"}, ""),
		inv("POST", "/v1/screen", va, `{"name":"\xff\xfe"}`, ""),
		inv("POST", "/v1/screen", va, ScreenRequest{CallSign: strings.Repeat("C", 5000)}, "call sign"),
		inv("POST", "/v1/screen", va, ScreenRequest{Name: "X", Flag: strings.Repeat("F", 5000)}, "flag"),
		inv("POST", "/v1/screen", va, ScreenRequest{IMO: strings.Repeat("1", 5000)}, "IMO"),
		inv("POST", "/v1/screen/batch", va, BatchRequest{}, "queries"),
		inv("POST", "/v1/screen/batch", va, BatchRequest{Queries: make([]screen.Query, app.MaxBatch+1)}, "queries"),
		inv("POST", "/v1/screen/batch", va, BatchRequest{Queries: manyQueries(1001), All: true, Limit: 100}, "100000"),
		inv("POST", "/v1/screen/batch", va, BatchRequest{Queries: manyQueries(app.MaxBatch), Limit: 11}, "100000"),
		inv("POST", "/v1/screen/batch", va, map[string]any{"queries": []any{map[string]any{"nme": "x"}}}, "nme"),
		inv("POST", "/v1/screen/batch", va, map[string]any{"queries": []any{"x"}}, ""),
		inv("POST", "/v1/screen/batch", va, map[string]any{"queries": []any{map[string]any{"name": "x"}}, "threshold": 7}, "threshold"),
		inv("POST", "/v1/keys", adm, KeyRequest{Name: "k", Role: "god"}, "role"),
		inv("POST", "/v1/keys", adm, KeyRequest{Name: "", Role: "viewer"}, "name"),
		inv("POST", "/v1/keys", adm, KeyRequest{Name: strings.Repeat("k", 101), Role: "viewer"}, "name"),
		inv("POST", "/v1/keys", adm, KeyRequest{Name: "k", Role: "viewer", TTL: "1000y"}, "ttl"),
		inv("POST", "/v1/keys", adm, KeyRequest{Name: "k", Role: "viewer", TTL: "3y"}, "2 years"),
		inv("POST", "/v1/keys", adm, KeyRequest{Name: "k", Role: "viewer", TTL: "5m0s"}, ""),
		inv("POST", "/v1/keys", adm, KeyRequest{Name: "k", Role: "viewer", TTL: "-1d"}, "ttl"),
		inv("PUT", "/v1/tenant/policy", adm, map[string]any{}, "four_eyes"),
		inv("PUT", "/v1/tenant/policy", adm, map[string]any{"four_eyes": nil}, "four_eyes"),
		inv("POST", "/v1/tenants", e.key(tenantOp, app.RoleAdmin), TenantRequest{ID: "Bad ID"}, "tenant id"),
		inv("POST", "/v1/tenants", e.key(tenantOp, app.RoleAdmin), TenantRequest{ID: strings.Repeat("a", 64)}, "tenant id"),
		inv("POST", "/v1/tenants", e.key(tenantOp, app.RoleAdmin), TenantRequest{ID: "ok-id", Name: strings.Repeat("n", 1000)}, "name"),
		bad{"POST", "/v1/tenants", e.key(tenantOp, app.RoleAdmin), TenantRequest{ID: tenantA}, 409, app.CodeConflict, "exists"},
	)
	for _, c := range cases {
		what := c.method + " " + c.path
		if len(what) > 120 {
			what = what[:120] + "..."
		}
		unchanged(t, what, func() {
			r := ts.call(t, c.method, c.path, c.key, c.body)
			checkBadAnswer(t, what, r, c.status, c.code, c.want)
		})
	}
}

func manyQueries(n int) []screen.Query {
	qs := make([]screen.Query, n)
	for i := range qs {
		qs[i] = screen.Query{Name: "KOREA TRADING CORPORATION"}
	}
	return qs
}

// TestBadKeys: a missing, malformed, unknown, wrong, revoked or expired
// key gets 401 on every route that needs a key; every key that does not
// authenticate gets the very same answer, whatever the reason, and
// nothing is stored. A key never appears in an answer or a log.
func TestBadKeys(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{})
	ctx := context.Background()
	good := e.key(tenantA, app.RoleAdmin)
	id := e.keyIDs[tenantA][app.RoleAdmin]
	revoked := e.newKey(t, tenantA, app.RoleAdmin, 2*time.Hour)
	rememberSecret(revoked.Secret)
	if _, err := e.svc.RevokeAPIKey(ctx, app.LocalPrincipal("test"), revoked.ID); err == nil {
		t.Fatal("the operator revoked another tenant's key")
	}
	if r := ts.call(t, "GET", "/v1/whoami", revoked.Secret, nil); r.status != http.StatusOK {
		t.Fatalf("the key before it is revoked: %s", r)
	}
	if r := ts.call(t, "DELETE", "/v1/keys/"+revoked.ID, e.key(tenantA, app.RoleAdmin), nil); r.status != http.StatusOK {
		t.Fatalf("revoke: %s", r)
	}
	// An expired key: stored as the service stores keys, with an expiry
	// in the past.
	expSecret := strings.Repeat("a", 32)
	expID := "0e0e0e0e0e0e"
	h := sha256.Sum256([]byte(expSecret))
	now := time.Now().UTC().Truncate(time.Second)
	if err := e.st.PutAPIKey(ctx, store.APIKey{ID: expID, Tenant: tenantA, Name: "expired", Role: "admin", Hash: hex.EncodeToString(h[:]),
		CreatedBy: "test", Created: now.Add(-48 * time.Hour), Expires: now.Add(-time.Hour)}); err != nil && !strings.Contains(err.Error(), "conflict") {
		t.Fatal(err)
	}
	expired := app.KeyPrefix + expID + "_" + expSecret
	rememberSecret(expired)
	// The same key but for its expiry does authenticate: what the
	// expired one is refused for is its expiry.
	liveID := "0f0f0f0f0f0f"
	if err := e.st.PutAPIKey(ctx, store.APIKey{ID: liveID, Tenant: tenantA, Name: "live", Role: "admin", Hash: hex.EncodeToString(h[:]),
		CreatedBy: "test", Created: now.Add(-48 * time.Hour), Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	live := app.KeyPrefix + liveID + "_" + expSecret
	rememberSecret(live)
	if r := ts.call(t, "GET", "/v1/whoami", live, nil); r.status != http.StatusOK {
		t.Fatalf("the control key, stored as the expired one but live: %s", r)
	}
	wrongSecret := app.KeyPrefix + id + "_" + strings.Repeat("b", 32)
	bads := map[string]http.Header{
		"malformed":          authHeader("tw_x"),
		"no prefix":          authHeader(strings.TrimPrefix(good, app.KeyPrefix)),
		"unknown id":         authHeader(app.KeyPrefix + "ffffffffffff_" + secretOf(good)),
		"wrong secret":       authHeader(wrongSecret),
		"truncated secret":   authHeader(good[:len(good)-1]),
		"longer secret":      authHeader(good + "a"),
		"revoked":            authHeader(revoked.Secret),
		"expired":            authHeader(expired),
		"X-API-Key wrong":    {"X-Api-Key": {wrongSecret}},
		"X-API-Key revoked":  {"X-Api-Key": {revoked.Secret}},
		"bearer, no key":     {"Authorization": {"Bearer "}},
		"basic scheme":       {"Authorization": {"Basic " + good}},
		"key with a space":   authHeader(good[:10] + " " + good[11:]),
		"upper-cased secret": authHeader(app.KeyPrefix + id + "_" + strings.ToUpper(secretOf(good))),
	}
	var first string
	for _, rt := range ts.routes {
		if rt.role == 0 {
			continue
		}
		path := strings.NewReplacer("{id}", "1", "{vessel}", strconv.Itoa(dprkIMO)).Replace(rt.path)
		for what, hd := range bads {
			unchanged(t, rt.pattern+" "+what, func() {
				r := ts.callHeaders(t, rt.method, path, "{}", hd)
				checkBadAnswer(t, rt.pattern+" "+what, r, 401, app.CodeUnauthenticated, "")
				if r.header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s %s: a 401 without WWW-Authenticate", rt.pattern, what)
				}
				if what == "bearer, no key" || what == "basic scheme" {
					return // no key was read: the answer says how to send one
				}
				if first == "" {
					first = string(r.body)
				} else if string(r.body) != first {
					t.Errorf("%s %s: answered\n  %s\nwhere another bad key got\n  %s", rt.pattern, what, r.body, first)
				}
			})
		}
		unchanged(t, rt.pattern+" no key", func() {
			r := ts.callHeaders(t, rt.method, path, "{}", http.Header{})
			checkBadAnswer(t, rt.pattern+" no key", r, 401, app.CodeUnauthenticated, "")
		})
	}
	// The good key still works (the failures did not lock it).
	if r := ts.call(t, "GET", "/v1/whoami", good, nil); r.status != http.StatusOK {
		t.Errorf("the good key after the bad ones: %s", r)
	}
}

// TestConflictingCredentials: a request whose credentials disagree (a
// bogus Bearer with a good X-API-Key, two good keys of different roles,
// a header key and a different ?api_key=) gets a 401 whichever of them
// is good, as does an Authorization header holding no API key beside a
// good X-API-Key; the same key given twice authenticates.
func TestConflictingCredentials(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{})
	good := e.key(tenantA, app.RoleViewer)
	admin := e.key(tenantA, app.RoleAdmin)
	bogus := app.KeyPrefix + "ffffffffffff_" + strings.Repeat("b", 32)
	hd := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	for what, c := range map[string]struct {
		path string
		h    http.Header
	}{
		"bogus bearer, good X-API-Key":            {"/v1/whoami", hd("Authorization", "Bearer bogus", "X-API-Key", good)},
		"bogus tw_ bearer, good X-API-Key":        {"/v1/whoami", hd("Authorization", "Bearer "+bogus, "X-API-Key", good)},
		"good bearer, bogus X-API-Key":            {"/v1/whoami", hd("Authorization", "Bearer "+good, "X-API-Key", bogus)},
		"two good keys":                           {"/v1/whoami", hd("Authorization", "Bearer "+admin, "X-API-Key", good)},
		"basic scheme, good X-API-Key":            {"/v1/whoami", hd("Authorization", "Basic dXNlcjpwYXNz", "X-API-Key", good)},
		"bearer without key, good X-API-Key":      {"/v1/whoami", hd("Authorization", "Bearer ", "X-API-Key", good)},
		"good then bogus Authorization":           {"/v1/whoami", hd("Authorization", "Bearer "+good, "Authorization", "Bearer bogus")},
		"good then bogus X-API-Key":               {"/v1/whoami", hd("X-API-Key", good, "X-API-Key", bogus)},
		"good header, bogus api_key":              {"/reconcile?api_key=" + url.QueryEscape(bogus), hd("Authorization", "Bearer "+good)},
		"bogus header, good api_key":              {"/reconcile?api_key=" + url.QueryEscape(good), hd("X-API-Key", bogus)},
		"bogus bearer, good X-API-Key, reconcile": {"/reconcile", hd("Authorization", "Bearer bogus", "X-API-Key", good)},
	} {
		r := ts.callHeaders(t, "GET", c.path, nil, c.h)
		checkBadAnswer(t, what, r, 401, app.CodeUnauthenticated, "")
	}
	for what, c := range map[string]struct {
		path string
		h    http.Header
	}{
		"bearer alone":                   {"/v1/whoami", hd("Authorization", "Bearer "+good)},
		"X-API-Key alone":                {"/v1/whoami", hd("X-API-Key", good)},
		"the same key in both headers":   {"/v1/whoami", hd("Authorization", "Bearer "+good, "X-API-Key", good)},
		"the same key in header and URL": {"/reconcile?api_key=" + url.QueryEscape(good), hd("Authorization", "Bearer "+good)},
		"api_key alone":                  {"/reconcile?api_key=" + url.QueryEscape(good), hd()},
	} {
		if r := ts.callHeaders(t, "GET", c.path, nil, c.h); r.status != http.StatusOK {
			t.Errorf("%s: %s, want 200", what, r)
		}
	}
}

// TestUnknownRoutes: paths and methods the server does not serve get
// JSON errors with a stable code, like every other error.
func TestUnknownRoutes(t *testing.T) {
	ts := startServer(t, Options{})
	k := env(t).key(tenantA, app.RoleViewer)
	checkBadAnswer(t, "unknown path", ts.call(t, "GET", "/v1/nothing-here", k, nil), 404, app.CodeNotFound, "")
	checkBadAnswer(t, "unknown path outside /v1", ts.call(t, "GET", "/wp-admin/setup.php", "", nil), 404, app.CodeNotFound, "")
	r := ts.call(t, "DELETE", "/v1/whoami", k, nil)
	checkBadAnswer(t, "wrong method", r, 405, CodeMethodNotAllowed, "method")
	if r.header.Get("Allow") == "" {
		t.Error("405 without Allow")
	}
}

// TestBatchRowTooLong: a batch row with an over-long field is that row's
// error; the other rows are screened.
func TestBatchRowTooLong(t *testing.T) {
	ts := startServer(t, Options{})
	r := ts.call(t, "POST", "/v1/screen/batch", env(t).key(tenantA, app.RoleViewer),
		BatchRequest{Queries: []screen.Query{{Name: "X", CallSign: strings.Repeat("C", 5000)}, {IMO: "8660313"}}})
	var res app.BatchResult
	if err := json.Unmarshal(r.body, &res); err != nil || r.status != http.StatusOK {
		t.Fatalf("%s", r)
	}
	if res.Errors != 1 || !strings.Contains(res.Rows[0].Error, "call sign") || !res.Rows[1].Hit {
		t.Errorf("rows: %+v", res.Rows)
	}
}

// TestScreenTypeWrittenOtherWays: a query type written as clients write
// it ("ship", "Vessel", "company") is screened as its canonical type, on
// one query and in a batch; an unknown one is a 400 (one query) or that
// row's error (batch). Before, a batch row of type "ship" killed the
// server's process (a panic on a batch goroutine) and one query of type
// "Vessel" was a 500.
func TestScreenTypeWrittenOtherWays(t *testing.T) {
	ts := startServer(t, Options{})
	k := env(t).key(tenantA, app.RoleViewer)
	for _, typ := range []string{"ship", "Vessel", "VESSEL"} {
		r := ts.call(t, "POST", "/v1/screen", k, screen.Query{Type: typ, Name: "CHON MA SAN"})
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"type":"vessel"`) || !strings.Contains(string(r.body), "8660313") {
			t.Errorf("type %q: %s", typ, r)
		}
	}
	checkBadAnswer(t, "unknown type", ts.call(t, "POST", "/v1/screen", k, screen.Query{Type: "boat", Name: "KOTI"}), 400, app.CodeInvalid, "type")
	r := ts.call(t, "POST", "/v1/screen/batch", k, BatchRequest{Queries: []screen.Query{
		{Type: "ship", Name: "KOTI"}, {Type: "company", Name: "KOREA ACHIM SHIPPING"}, {Type: "boat", Name: "KOTI"}, {Type: "ship", IMO: "8660313"}}})
	var res app.BatchResult
	if err := json.Unmarshal(r.body, &res); err != nil || r.status != http.StatusOK {
		t.Fatalf("%s", r)
	}
	if !res.Rows[0].Hit || res.Rows[1].Error != "" || !strings.Contains(res.Rows[2].Error, "type") || !res.Rows[3].Hit || res.Errors != 1 {
		t.Errorf("rows: %+v", res.Rows)
	}
	if r := ts.call(t, "GET", "/healthz", "", nil); r.status != http.StatusOK {
		t.Errorf("the server after the batch: %s", r)
	}
}

// TestNaNAreaRefused: the core refuses a NaN area (an empty answer
// that looked like "no events here").
func TestNaNAreaRefused(t *testing.T) {
	e := env(t)
	for _, b := range []store.BBox{{South: math.NaN(), West: 0, North: 1, East: 1}, {South: 0, West: 0, North: 1, East: math.NaN()}} {
		_, err := e.svc.Events(context.Background(), app.LocalPrincipal("test"), app.EventsRequest{Area: &b})
		if app.CodeOf(err) != app.CodeInvalid {
			t.Errorf("Events in %+v: %v, want invalid_argument", b, err)
		}
	}
}

// TestNaNThresholdRefused: a NaN threshold matches nothing, so it would
// clear every query (the CLI skips the audit record that happened to
// refuse it over HTTP): the core refuses it.
func TestNaNThresholdRefused(t *testing.T) {
	e := env(t)
	ctx := context.Background()
	p := app.LocalPrincipal("test")
	q := screen.Query{Name: "CHON MA SAN"}
	for _, th := range []float64{math.NaN(), math.Inf(1), -0.1, 1.5} {
		_, err := e.svc.Screen(ctx, p, q, app.ScreenOptions{Threshold: th, NoAudit: true})
		if app.CodeOf(err) != app.CodeInvalid {
			t.Errorf("Screen with threshold %v: %v, want invalid_argument", th, err)
		}
		_, err = e.svc.ScreenBatch(ctx, p, []app.BatchQuery{{Query: q}}, app.ScreenOptions{Threshold: th, NoAudit: true}, "t", "", nil)
		if app.CodeOf(err) != app.CodeInvalid {
			t.Errorf("ScreenBatch with threshold %v: %v, want invalid_argument", th, err)
		}
	}
}

// TestRefusedListImport: a list file that reads but would shrink its
// list by more than half is refused with 422 and its reasons: the
// versions in force are kept; the attempt is in the import log and the
// operator's audit log (by design: every attempt is), and nothing else
// changed.
func TestRefusedListImport(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{})
	doc := ts.openAPIDoc(t)
	name, data := euListFile(t)
	lines := strings.SplitAfter(string(data), "\n")
	short := strings.Join(lines[:4], "")
	name = strings.Replace(name, "2025-12-17", "2026-12-01", 1)
	before := ts.call(t, "GET", "/v1/lists/versions", e.key(tenantA, app.RoleViewer), nil)
	st0, _ := e.st.Stats(context.Background())
	r := ts.call(t, "POST", "/v1/lists/import?name="+name, e.key(tenantOp, app.RoleAnalyst), short)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("a truncated list: %s, want 422", r)
	}
	checkAgainstDoc(t, doc, ts.findRoute("POST /v1/lists/import"), r)
	var res app.ImportResult
	if err := json.Unmarshal(r.body, &res); err != nil || res.Failed() != 1 || !strings.Contains(res.Versions[0].Reason, "truncated") {
		t.Errorf("a truncated list: %s", r)
	}
	for _, m := range leakMarks {
		if strings.Contains(string(r.body), m) {
			t.Errorf("the answer holds %q: %s", m, r)
		}
	}
	after := ts.call(t, "GET", "/v1/lists/versions", e.key(tenantA, app.RoleViewer), nil)
	if string(after.body) != string(before.body) {
		t.Error("a refused list version changed the versions held")
	}
	st1, _ := e.st.Stats(context.Background())
	if st1.ListVersions != st0.ListVersions || st1.ListEntities != st0.ListEntities || st1.Audit != st0.Audit+1 {
		t.Errorf("refused import: versions %d -> %d, entities %d -> %d, audit %d -> %d (want one audit record)", st0.ListVersions, st1.ListVersions,
			st0.ListEntities, st1.ListEntities, st0.Audit, st1.Audit)
	}
}

// TestScreenCSVBadRow: a screening file with a row that does not parse
// (a bare quote) is screened, that row reported as its error; reading it
// panicked (a 500 over HTTP, a crash in the CLI).
func TestScreenCSVBadRow(t *testing.T) {
	ts := startServer(t, Options{})
	key := env(t).key(tenantA, app.RoleViewer)
	csv := "id,type,name,imo,mmsi,call_sign,flag\n1,vessel,CHON MA SAN,8660313,,,\n0\"000000000000\n3,vessel,KOTI,,,,\n"
	r := ts.callHeaders(t, "POST", "/v1/screen/jobs?name=bad.csv", csv, withType(authHeader(key), "text/csv"))
	if r.status != http.StatusAccepted {
		t.Fatalf("a file with a bad row: %s", r)
	}
	var acc JobAccepted
	json.Unmarshal(r.body, &acc)
	if j := ts.waitJob(t, key, acc.Job.ID); j.State != app.JobDone {
		t.Fatalf("job %s: %s", j.State, j.Error)
	}
	var res app.BatchResult
	json.Unmarshal(ts.call(t, "GET", "/v1/jobs/"+acc.Job.ID+"/result", key, nil).body, &res)
	if len(res.Rows) != 3 || res.Errors != 1 || res.Rows[1].Error == "" || res.Rows[1].Row != 3 || !res.Rows[0].Hit {
		t.Errorf("rows: %+v", res.Rows)
	}
}

// TestIngestNotAIS: an uploaded file that holds no AIS position fails
// its job with a reason (it was "done", 0 fixes, and the client none the
// wiser); what it is called never names the server's paths.
func TestIngestNotAIS(t *testing.T) {
	ts := startServer(t, Options{})
	k := env(t).key(tenantOp, app.RoleAnalyst)
	for _, c := range []struct{ name, body string }{{"notes.nmea", "garbage\nmore garbage\n"}, {"notes.nmea.gz", "not gzip at all"}, {"table.csv", "a,b\n1,2\n"}} {
		r := ts.call(t, "POST", "/v1/ingest?name="+c.name, k, c.body)
		if r.status != http.StatusAccepted {
			t.Fatalf("%s: %s", c.name, r)
		}
		var acc JobAccepted
		json.Unmarshal(r.body, &acc)
		j := ts.waitJob(t, k, acc.Job.ID)
		if j.State != app.JobFailed || !strings.Contains(j.Error, "no AIS message in "+c.name) {
			t.Errorf("%s: job %s %q", c.name, j.State, j.Error)
		}
		for _, m := range leakMarks {
			if strings.Contains(j.Error, m) {
				t.Errorf("%s: the job's error holds %q: %s", c.name, m, j.Error)
			}
		}
	}
}

// TestAuthFailuresLimited: an address that fails to authenticate more
// than the burst is answered 429 with Retry-After before its key is
// looked at, even a good one; another address is not affected; /metrics
// needs an operator key; the failures are logged with the address and
// never the key.
func TestAuthFailuresLimited(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{AuthFailures: 0.001, AuthFailureBurst: 3})
	good := e.key(tenantA, app.RoleViewer)
	bad := app.KeyPrefix + "ffffffffffff_" + strings.Repeat("c", 32)
	for i := 0; i < 3; i++ {
		if r := ts.call(t, "GET", "/v1/whoami", bad, nil); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %s", i+1, r)
		}
	}
	for _, k := range []string{bad, good} {
		r := ts.call(t, "GET", "/v1/whoami", k, nil)
		if r.status != http.StatusTooManyRequests || r.errorBody().Code != string(app.CodeRateLimited) || r.header.Get("Retry-After") == "" {
			t.Errorf("after the burst: %s", r)
		}
	}
	// Another address is not affected (X-Forwarded-For is trusted only
	// behind a proxy: here it is ignored, so use the server directly).
	other := startServer(t, Options{AuthFailures: 0.001, AuthFailureBurst: 3})
	if r := other.call(t, "GET", "/v1/whoami", good, nil); r.status != http.StatusOK {
		t.Errorf("a fresh server: %s", r)
	}
	if n := strings.Count(ts.logs.String(), `"msg":"authentication failed"`); n != 3 {
		t.Errorf("%d failures logged, want 3", n)
	}
	if strings.Contains(ts.logs.String(), strings.Repeat("c", 32)) || !strings.Contains(ts.logs.String(), `"client":"127.0.0.1"`) {
		t.Errorf("the failure log holds the key or lacks the address")
	}
	// /metrics: an operator key, not a tenant's; or public by option.
	if r := other.call(t, "GET", "/metrics", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("metrics without a key: %s", r)
	}
	if r := other.call(t, "GET", "/metrics", e.key(tenantA, app.RoleAdmin), nil); r.status != http.StatusForbidden {
		t.Errorf("metrics with a tenant's key: %s", r)
	}
	if r := other.call(t, "GET", "/metrics", e.key(tenantOp, app.RoleViewer), nil); r.status != http.StatusOK {
		t.Errorf("metrics with the operator's key: %s", r)
	}
	open := startServer(t, Options{MetricsPublic: true})
	if r := open.call(t, "GET", "/metrics", "", nil); r.status != http.StatusOK {
		t.Errorf("public metrics: %s", r)
	}
}

// TestAlertStreamEndsOnDone: the alert stream ends when the server shuts
// down (Options.Done), so a graceful shutdown does not wait for clients.
func TestAlertStreamEndsOnDone(t *testing.T) {
	e := env(t)
	done := make(chan struct{})
	ts := startServer(t, Options{Done: done})
	req, _ := http.NewRequest("GET", ts.url+"/v1/alerts/stream", nil)
	req.Header.Set("Authorization", "Bearer "+e.key(tenantA, app.RoleViewer))
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := readFirstEvent(resp.Body); err != nil {
		t.Fatal(err)
	}
	close(done)
	ended := make(chan error, 1)
	go func() { _, err := io.ReadAll(resp.Body); ended <- err }()
	select {
	case err := <-ended:
		if err != nil {
			t.Errorf("the stream ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stream did not end when the server shut down")
	}
}

// TestUnknownRoutesWithWebMounted: with the web interface mounted at /
// (as `tidewatch serve` does), a wrong method or an unknown path under
// the API's own roots (/v1/..., /openapi.json, /healthz, ...) is still
// the API's JSON 404 or 405 with Allow, not the web's page; other paths
// are the web's.
func TestUnknownRoutesWithWebMounted(t *testing.T) {
	ts := startServer(t, Options{})
	ts.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Web", "1")
		http.NotFound(w, r)
	}))
	k := env(t).key(tenantA, app.RoleViewer)
	for _, c := range []struct{ method, path, allow string }{
		{"DELETE", "/v1/screen", "POST"}, {"GET", "/v1/screen", "POST"}, {"DELETE", "/v1/whoami", "GET"},
		{"POST", "/openapi.json", "GET"}, {"PUT", "/healthz", "GET"},
	} {
		r := ts.call(t, c.method, c.path, k, nil)
		checkBadAnswer(t, c.method+" "+c.path, r, 405, CodeMethodNotAllowed, "method")
		if !strings.Contains(r.header.Get("Allow"), c.allow) || r.header.Get("X-Web") != "" {
			t.Errorf("%s %s: Allow %q (want %s), X-Web %q", c.method, c.path, r.header.Get("Allow"), c.allow, r.header.Get("X-Web"))
		}
	}
	r := ts.call(t, "GET", "/v1/nothing-here", k, nil)
	checkBadAnswer(t, "unknown /v1 path", r, 404, app.CodeNotFound, "")
	if r.header.Get("X-Web") != "" {
		t.Error("an unknown /v1 path answered by the web")
	}
	if r := ts.call(t, "GET", "/alerts", "", nil); r.header.Get("X-Web") != "1" {
		t.Errorf("GET /alerts not the web's: %s", r)
	}
	if r := ts.call(t, "GET", "/v1/whoami", k, nil); r.status != http.StatusOK {
		t.Errorf("GET /v1/whoami: %s", r)
	}
}

// TestTruncatedUploadNamesNoPath: an upload cut short (a gzip file whose
// end is missing) fails its job with the file's own name in the error,
// never the server's temporary path (found by a tester: "/tmp/tidewatch-
// upload-846028322/second.nmea.gz: truncated").
func TestTruncatedUploadNamesNoPath(t *testing.T) {
	ts := startServer(t, Options{})
	k := env(t).key(tenantOp, app.RoleAnalyst)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for i := range 2000 {
		fmt.Fprintf(zw, "!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*%02X line %d\n", i%256, i)
	}
	zw.Close()
	cut := buf.Bytes()[:buf.Len()*2/3]
	r := ts.call(t, "POST", "/v1/ingest?name=second.nmea.gz", k, string(cut))
	if r.status != http.StatusAccepted {
		t.Fatalf("%s", r)
	}
	var acc JobAccepted
	json.Unmarshal(r.body, &acc)
	j := ts.waitJob(t, k, acc.Job.ID)
	if j.State != app.JobFailed || !strings.Contains(j.Error, "second.nmea.gz") {
		t.Errorf("job %s %q, want failed naming second.nmea.gz", j.State, j.Error)
	}
	for _, m := range append(leakMarks, "tidewatch-upload", os.TempDir()) {
		if strings.Contains(j.Error, m) {
			t.Errorf("the job's error holds %q: %s", m, j.Error)
		}
	}
}

// TestIngestJobsQueueForTheState: an upload and a flush sent back to
// back (the flush first, then a file to flush after, as docs/api.md
// shows) both succeed, the upload not read on its own (it waited for the
// flush; it failed, "another ingest (a live feed?) holds the detectors'
// state", when the flush held the state). When the state is held by
// what this server does not queue (another process), an upload is read
// on its own and its note says so; a flush fails naming the holder.
func TestIngestJobsQueueForTheState(t *testing.T) {
	e := freshEnv(t)
	ts := startServerEnv(t, e, Options{})
	k := e.key(tenantOp, app.RoleAnalyst)
	accept := func(path string, body any) string {
		t.Helper()
		r := ts.call(t, "POST", path, k, body)
		if r.status != http.StatusAccepted {
			t.Fatalf("%s: %s", path, r)
		}
		var acc JobAccepted
		json.Unmarshal(r.body, &acc)
		return acc.Job.ID
	}
	result := func(j app.Job) app.IngestResult {
		var res app.IngestResult
		json.Unmarshal(ts.call(t, "GET", "/v1/jobs/"+j.ID+"/result", k, nil).body, &res)
		return res
	}
	first := ts.waitJob(t, k, accept("/v1/ingest?name=hour.nmea", smallNMEA(t, 3)))
	if first.State != app.JobDone || result(first).Run.Held == 0 {
		t.Fatalf("first upload: %+v", first)
	}
	fl := accept("/v1/ingest?flush=true", nil)
	up := accept("/v1/ingest?name=more.nmea&flush=true", smallNMEA(t, 4))
	f, u := ts.waitJob(t, k, fl), ts.waitJob(t, k, up)
	if f.State != app.JobDone || !strings.HasPrefix(f.Note, "flushed: ") {
		t.Errorf("flush: %+v", f)
	}
	if res := result(u); u.State != app.JobDone || res.Detached || res.StateHeld != "" || strings.Contains(u.Note, "on its own") {
		t.Errorf("upload after the flush: %+v %+v", u, res.Result)
	}

	held, err := e.st.LockIngest(context.Background(), "detector-state") // another process's ingest
	if err != nil {
		t.Fatal(err)
	}
	defer held()
	j := ts.waitJob(t, k, accept("/v1/ingest?name=late.nmea", smallNMEA(t, 5)))
	if res := result(j); j.State != app.JobDone || !res.Detached || !strings.Contains(j.Note, "read on its own, not continuing the stream: the detectors' state was held by another process") {
		t.Errorf("upload while another process holds the state: %+v %+v", j, res.Result)
	}
	j = ts.waitJob(t, k, accept("/v1/ingest?flush=true", nil))
	if j.State != app.JobFailed || !strings.Contains(j.Error, "holds the detectors' state (another process") {
		t.Errorf("flush while another process holds the state: %+v", j)
	}
}

// TestIngestShortFileHeld: an upload shorter than the detectors' 2-hour
// reorder window is read whole and held in the window (the run ends at a
// checkpoint): the job is done, not failed as "no AIS position read", and
// its note says how many fixes were read and are held, and how to store
// them; POST /v1/ingest?flush=true with no body then stores them.
func TestIngestShortFileHeld(t *testing.T) {
	e := freshEnv(t) // it flushes the detectors' state
	ts := startServerEnv(t, e, Options{})
	k := e.key(tenantOp, app.RoleAnalyst)
	job := func(path string, body any) app.Job {
		t.Helper()
		r := ts.call(t, "POST", path, k, body)
		if r.status != http.StatusAccepted {
			t.Fatalf("%s: %s", path, r)
		}
		var acc JobAccepted
		json.Unmarshal(r.body, &acc)
		return ts.waitJob(t, k, acc.Job.ID)
	}
	result := func(j app.Job) app.IngestResult {
		var res app.IngestResult
		json.Unmarshal(ts.call(t, "GET", "/v1/jobs/"+j.ID+"/result", k, nil).body, &res)
		return res
	}
	j := job("/v1/ingest?name=hour.nmea", smallNMEA(t, 3)) // one simulated hour
	res := result(j)
	if j.State != app.JobDone || res.Run.Read == 0 || res.Run.Held != res.Run.Read || res.Run.Fixes != 0 {
		t.Fatalf("a short upload: job %s %q, run %+v", j.State, j.Error, res.Run)
	}
	want := fmt.Sprintf("%d position fixes read, 0 stored, 0 events; %d position fixes held in the detectors' reorder window", res.Run.Read, res.Run.Held)
	if !strings.Contains(j.Note, want) || !strings.Contains(j.Note, "POST /v1/ingest?flush=true") {
		t.Errorf("note %q", j.Note)
	}
	if r := ts.call(t, "POST", "/v1/ingest?flush=maybe", k, nil); r.status != http.StatusBadRequest {
		t.Errorf("flush=maybe: %s", r)
	}
	if r := ts.call(t, "POST", "/v1/ingest?flush=true", k, "a body with no name"); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "name") {
		t.Errorf("a body with no name: %s", r)
	}
	j = job("/v1/ingest?flush=true", nil)
	if fl := result(j); j.State != app.JobDone || fl.Run.Fixes != res.Run.Held || !strings.Contains(j.Note, fmt.Sprintf("flushed: %d position fixes stored", res.Run.Held)) {
		t.Errorf("flush: job %s %q %q, run %+v", j.State, j.Error, j.Note, fl.Run)
	}
	if j = job("/v1/ingest?flush=true", nil); j.State != app.JobDone || j.Note != "no detector state to flush" {
		t.Errorf("a second flush: job %s %q %q", j.State, j.Error, j.Note)
	}
}

// TestIngestNothingUsable: an upload that holds no AIS message (text,
// an empty file, a CSV of other columns) fails its job saying so, and so
// does NMEA whose positions carry no time (saying that, not "is it
// NMEA?"); the same bytes sent again fail again, not "already ingested".
// An upload of static and voyage data only is done, with a note.
func TestIngestNothingUsable(t *testing.T) {
	e := freshEnv(t)
	ts := startServerEnv(t, e, Options{})
	k := e.key(tenantOp, app.RoleAnalyst)
	job := func(path string, body any) app.Job {
		t.Helper()
		r := ts.call(t, "POST", path, k, body)
		if r.status != http.StatusAccepted {
			t.Fatalf("%s: %s", path, r)
		}
		var acc JobAccepted
		json.Unmarshal(r.body, &acc)
		return ts.waitJob(t, k, acc.Job.ID)
	}
	untimed := strings.Repeat("!AIVDM,1,1,,A,15MgK45P3@G?fl0E`JbR0OwT0@MS,0*4E\n", 4)
	static := `\g:1-2-3985,s:rEV02,c:1334337317*2D\!AIVDM,2,1,9,B,58KvN<42ACikUKW77F1H4hF0<PTp622222222216` + "`0`" + `cF5BF0RT13H0T,0*70` + "\n" + `\g:2-2-3985*5A\!AIVDM,2,2,9,B,PFRC88888888880,2*29` + "\n"
	for _, c := range []struct{ name, body, want string }{
		{"junk.txt", "hello\nnot AIS at all\n", "no AIS message in junk.txt"},
		{"cols.csv", "a,b,c\n1,2,3\n", "no AIS message in cols.csv"},
		{"notime.nmea", untimed, "no AIS position with a time in notime.nmea: 4 positions without a time skipped"},
	} {
		for try := range 2 {
			j := job("/v1/ingest?name="+c.name, c.body)
			if j.State != app.JobFailed || !strings.Contains(j.Error, c.want) {
				t.Errorf("%s (upload %d): job %s %q %q, want failed with %q", c.name, try+1, j.State, j.Error, j.Note, c.want)
			}
		}
	}
	if j := job("/v1/ingest?name=static.nmea", static); j.State != app.JobDone || !strings.Contains(j.Note, "only other messages") {
		t.Errorf("static data only: job %s %q %q", j.State, j.Error, j.Note)
	}
}
