package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// compatTestMaxBody is the fixture's body limit (small, to test it).
const compatTestMaxBody = 1 << 20

// compatFixture is a real server over a store holding the embedded lists,
// with keys of two tenants.
type compatFixture struct {
	url string
	svc *app.Service
	// keyA is a viewer of the local tenant, keyB a viewer of insurer-b;
	// adminA the local admin principal.
	keyA, keyB string
	adminA     app.Principal
	logs       *compatLog
}

// compatLog collects the server's log lines.
type compatLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *compatLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *compatLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newCompatFixture(t testing.TB) *compatFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.OpenWith(filepath.Join(t.TempDir(), "tw.db"), sqlite.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	svc := app.New(app.Config{Store: st})
	t.Cleanup(func() { svc.Close(); st.Close() })
	if _, err := svc.EnsureLists(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	admin := app.LocalPrincipal("compat-test")
	ka, err := svc.CreateAPIKey(ctx, admin, app.CreateKeyRequest{Name: "tenant A viewer", Role: "viewer", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateTenant(ctx, admin, "insurer-b", "Insurer B", store.TenantPolicy{}); err != nil {
		t.Fatal(err)
	}
	kb, err := svc.CreateAPIKey(ctx, admin, app.CreateKeyRequest{Tenant: "insurer-b", Name: "tenant B viewer", Role: "viewer", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	logs := &compatLog{}
	// The server is configured with its public URL, as a deployment that
	// serves OpenRefine is: the manifest's links are absolute.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	api := New(svc, Options{Logger: slog.New(slog.NewJSONHandler(logs, nil)), Rate: -1, MaxBody: compatTestMaxBody, PublicURL: "http://" + ln.Addr().String()})
	api.SetReady(true)
	ts := &httptest.Server{Listener: ln, Config: &http.Server{Handler: api}}
	ts.Start()
	t.Cleanup(ts.Close)
	return &compatFixture{url: ts.URL, svc: svc, keyA: ka.Secret, keyB: kb.Secret, adminA: admin, logs: logs}
}

// do sends a request; auth is a full Authorization header value ("" for
// none).
func (f *compatFixture) do(t testing.TB, method, path, auth, ctype string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// match posts a yente match request with tenant A's key.
func (f *compatFixture) match(t testing.TB, path, body string) YenteMatchResponse {
	t.Helper()
	code, _, b := f.do(t, "POST", path, "ApiKey "+f.keyA, "application/json", []byte(body))
	if code != http.StatusOK {
		t.Fatalf("POST %s: %d %s", path, code, b)
	}
	var r YenteMatchResponse
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("POST %s: %v in %s", path, err, b)
	}
	return r
}

func vesselQuery(props string) string {
	return `{"queries": {"q1": {"schema": "Vessel", "properties": ` + props + `}}}`
}

// chonMaSan is the merged entity of the ship CHON MA SAN (IMO 8660313).
const chonMaSanIMO = "IMO8660313"

func TestCompat(t *testing.T) {
	f := newCompatFixture(t)

	t.Run("ChonMaSanByNameAndByIMO", func(t *testing.T) {
		for _, props := range []string{`{"name": ["CHON MA SAN"]}`, `{"name": ["Chonmasan"]}`, `{"imoNumber": ["8660313"]}`, `{"imoNumber": "IMO 8660313"}`} {
			r := f.match(t, "/match/default", vesselQuery(props))
			res := r.Responses["q1"].Results
			if len(res) == 0 {
				t.Fatalf("%s: no results", props)
			}
			top := res[0]
			if top.Caption != "CHON MA SAN" || !top.Match || top.Score != 1 || top.Schema != "Vessel" {
				t.Errorf("%s: first result %s %q score %v match %v, want CHON MA SAN matched at 1", props, top.ID, top.Caption, top.Score, top.Match)
			}
			if !contains(top.Properties["imoNumber"], chonMaSanIMO) {
				t.Errorf("%s: imoNumber %v lacks %s", props, top.Properties["imoNumber"], chonMaSanIMO)
			}
			if strings.Contains(props, "imoNumber") && top.Features["imo_match"] != 1 {
				t.Errorf("%s: features %v, want imo_match 1", props, top.Features)
			}
			if !contains(top.Datasets, "us_ofac_sdn") || !top.Target || r.Responses["q1"].Total.Value < 1 || r.Responses["q1"].Total.Relation != "eq" {
				t.Errorf("%s: datasets %v target %v total %+v", props, top.Datasets, top.Target, r.Responses["q1"].Total)
			}
			if len(r.Lists) == 0 || r.AuditSeq == 0 || r.Limit != compatDefaultLimit {
				t.Errorf("%s: lists %v audit_seq %d limit %d: the answer must name its lists and audit record", props, r.Lists, r.AuditSeq, r.Limit)
			}
		}
	})

	t.Run("YenteClientBodiesVerbatim", func(t *testing.T) {
		// The bodies yente clients send, byte for byte: yente-client's
		// Client.match (json= of {"queries": {"q": payload}, "weights":
		// {}, "config": {}}), OpenSanctions' curl example and the request
		// of its API documentation, with their query strings.
		cases := []struct{ path, body, key string }{
			{"/match/default?threshold=0.7&algorithm=best&limit=5",
				`{"queries": {"q": {"schema": "Vessel", "properties": {"name": ["CHON MA SAN"], "imoNumber": ["IMO8660313"]}}}, "weights": {}, "config": {}}`, "q"},
			{"/match/default", "\n{\n    \"queries\": {\n        \"q1\": {\n            \"schema\": \"Person\",\n            \"properties\": {\n                \"name\": [\"Barack Obama\"]\n            }\n        }\n    }\n}", "q1"},
			{"/match/default?topics=sanction&topics=sanction.linked&topics=debarment&include_dataset=us_ofac_sdn&include_dataset=us_ofac_cons&algorithm=logic-v2&threshold=0.8",
				`{"queries": {"q": {"schema": "Person", "properties": {"firstName": ["Arkadii"], "fatherName": ["Romanovich"], "lastName": ["Rotenberg", "Ротенберг"], "birthDate": ["1951"]}}}}`, "q"},
			{"/match/sanctions", `{"queries":{"q":{"schema":"Company","properties":{"name":["Korea Achim Shipping Co"],"jurisdiction":["kp"]}}}}`, "q"},
		}
		for _, c := range cases {
			code, hdr, b := f.do(t, "POST", c.path, "ApiKey "+f.keyA, "application/json", []byte(c.body))
			if code != http.StatusOK {
				t.Fatalf("%s: %d %s", c.path, code, b)
			}
			if !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
				t.Errorf("%s: Content-Type %q", c.path, hdr.Get("Content-Type"))
			}
			// The fields yente clients read (yente-client's models: extra
			// fields are ignored, these are required).
			var raw struct {
				Responses map[string]struct {
					Results []map[string]json.RawMessage `json:"results"`
					Total   *struct {
						Value    *int    `json:"value"`
						Relation *string `json:"relation"`
					} `json:"total"`
					Query map[string]json.RawMessage `json:"query"`
				} `json:"responses"`
				Limit *int `json:"limit"`
			}
			if err := json.Unmarshal(b, &raw); err != nil {
				t.Fatal(err)
			}
			resp, ok := raw.Responses[c.key]
			if !ok || raw.Limit == nil || resp.Total == nil || resp.Total.Value == nil || resp.Total.Relation == nil || resp.Query == nil {
				t.Fatalf("%s: answer lacks responses.%s, limit, total or query: %s", c.path, c.key, b)
			}
			for _, r := range resp.Results {
				for _, k := range []string{"id", "caption", "schema", "properties", "datasets", "referents", "target", "score", "match", "features"} {
					if _, ok := r[k]; !ok {
						t.Errorf("%s: a result lacks %q", c.path, k)
					}
				}
			}
		}
		// The last case: the company, with jurisdiction ignored and said.
		r := f.match(t, "/match/sanctions", cases[3].body)
		q := r.Responses["q"]
		if len(q.Results) == 0 || !strings.Contains(q.Results[0].Caption, "ACHIM") || !q.Results[0].Match {
			t.Errorf("Korea Achim Shipping: %+v", q.Results)
		}
		if len(q.Warnings) != 1 || !strings.Contains(q.Warnings[0], "jurisdiction") {
			t.Errorf("warnings %v, want jurisdiction named as ignored", q.Warnings)
		}
		// A client's options that do nothing here are named.
		r = f.match(t, cases[0].path, cases[0].body)
		if r.Threshold != 0.7 || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "algorithm") {
			t.Errorf("threshold %v warnings %v", r.Threshold, r.Warnings)
		}
	})

	t.Run("JiSong6IsNotJiSong8", func(t *testing.T) {
		for _, c := range []struct{ q, other string }{{"JI SONG 6", "JI SONG 8"}, {"JI SONG 8", "JI SONG 6"}, {"M/V Ji Song 6", "JI SONG 8"}} {
			r := f.match(t, "/match/default?limit=20", vesselQuery(`{"name": ["`+c.q+`"]}`))
			res := r.Responses["q1"].Results
			if len(res) == 0 || !res[0].Match {
				t.Fatalf("%s: no match: %+v", c.q, res)
			}
			want := strings.TrimPrefix(strings.ToUpper(c.q), "M/V ")
			if res[0].Caption != want {
				t.Errorf("%s: first result %q, want %q", c.q, res[0].Caption, want)
			}
			for _, x := range res {
				if x.Caption == c.other && x.Match {
					t.Errorf("%s matched %s (score %v)", c.q, c.other, x.Score)
				}
			}
		}
	})

	t.Run("FeaturesAreTheScoresParts", func(t *testing.T) {
		// A listed name with another ship's IMO: the name counts at 0.85
		// and says why; an MMSI and a call sign alone; a name with its
		// IMO; a company by its IMO company number.
		bodies := []string{
			vesselQuery(`{"name": ["CHON MA SAN"], "imoNumber": ["9300207"]}`),
			vesselQuery(`{"name": ["JI SONG 6", "JI SONG 8"], "imoNumber": ["8503228", "IMO 8660313"]}`),
			// The better name first: the result keeps its score and match.
			vesselQuery(`{"name": ["CHON MA SAN", "CHON MAS"]}`),
			`{"queries": {"a": {"schema": "Vessel", "properties": {"name": ["Kum Un San 3"], "flag": ["Sierra Leone"]}},
			  "b": {"schema": "Organization", "properties": {"imoNumber": ["5936312"]}},
			  "c": {"schema": "Thing", "properties": {"name": ["Korea Achim"]}},
			  "d": {"schema": "Organization", "properties": {"name": ["Korea Shipping Company"]}}}}`,
		}
		checked := 0
		for _, body := range bodies {
			r := f.match(t, "/match/default?limit=20", body)
			for key, resp := range r.Responses {
				for _, x := range resp.Results {
					if got := scoreOf(x.Features); got != x.Score {
						t.Errorf("%s %s: features %v give %v, score is %v", key, x.Caption, x.Features, got, x.Score)
					}
					if x.Match != (x.Score >= r.Threshold) {
						t.Errorf("%s %s: match %v at score %v", key, x.Caption, x.Match, x.Score)
					}
					for k := range x.Features {
						if x.Explanations[k].Detail == "" {
							t.Errorf("%s %s: feature %s unexplained", key, x.Caption, k)
						}
					}
					checked++
				}
			}
		}
		if checked < 10 {
			t.Errorf("only %d results checked", checked)
		}
		r := f.match(t, "/match/default", bodies[0])
		var cms *YenteScoredEntity
		for i, x := range r.Responses["q1"].Results {
			if x.Caption == "CHON MA SAN" {
				cms = &r.Responses["q1"].Results[i]
			}
		}
		if cms == nil || cms.Features["imo_mismatch"] != 1 || cms.Score != 0.85 || cms.Match {
			t.Errorf("CHON MA SAN with another ship's IMO: %+v, want imo_mismatch, 0.85, no match", cms)
		}
		r = f.match(t, "/match/default", bodies[1])
		top := r.Responses["q1"].Results
		if len(top) < 2 || top[0].Score != 1 || top[1].Score != 1 {
			t.Fatalf("two names and two IMOs: %+v", top)
		}
	})

	t.Run("NamesFromPartsAndSeveralNames", func(t *testing.T) {
		r := f.match(t, "/match/default", `{"queries": {"p": {"schema": "Person", "properties": {"firstName": ["Su Nyo"], "lastName": ["Ryang"]}},
			"v": {"schema": "Vessel", "properties": {"name": ["NO SUCH SHIP AT ALL", "Chonmasan"]}}}}`)
		if p := r.Responses["p"].Results; len(p) == 0 || !strings.EqualFold(p[0].Caption, "RYANG Su Nyo") || !p[0].Match {
			t.Errorf("firstName + lastName: %+v", p)
		}
		if v := r.Responses["v"].Results; len(v) == 0 || v[0].Caption != "CHON MA SAN" || !v[0].Match {
			t.Errorf("second name: %+v", v)
		}
	})

	t.Run("DatasetsAndFilters", func(t *testing.T) {
		body := vesselQuery(`{"imoNumber": ["8660313"]}`)
		count := func(path string) int { return len(f.match(t, path, body).Responses["q1"].Results) }
		if n := count("/match/us_ofac_sdn"); n != 1 {
			t.Errorf("us_ofac_sdn: %d results", n)
		}
		// CHON MA SAN is on OFAC, UK and EU lists, not the UN's.
		for _, path := range []string{"/match/un_sc_sanctions", "/match/default?include_dataset=un_sc_sanctions", "/match/default?exclude_dataset=eu_fsf",
			"/match/default?exclude_schema=Vessel", "/match/default?topics=role.pep", "/match/default?exclude_entity_ids=uk:DPR0105"} {
			if n := count(path); n != 0 {
				t.Errorf("%s: %d results, want none", path, n)
			}
		}
		if n := count("/match/gb_hmt_sanctions?topics=sanction"); n != 1 {
			t.Errorf("gb_hmt_sanctions (an alias of the UK list): %d results", n)
		}
	})

	t.Run("BadRequestsAre4xxJSON", func(t *testing.T) {
		cases := []struct {
			path, body string
			code       int
		}{
			{"/match/default", vesselQuery(`{"name": ["X"]}`)[:30], 400},
			{"/match/default", `{"queries": {"q": {"schema": "Spaceship", "properties": {"name": ["X"]}}}}`, 400},
			{"/match/default", `{"queries": {"q": {"schema": "Document", "properties": {"name": ["X"]}}}}`, 400},
			{"/match/default", `{"queries": {"q": {"schema": "Vessel", "properties": {"name": [true]}}}}`, 400},
			{"/match/default", `{"queries": {"q": {"schema": "Vessel", "properties": {"name": [["X"]]}}}}`, 400},
			{"/match/default", `{"queries": {"q": {"schema": "Vessel", "properties": {"name": ["X"]}, "extra": 1}}}`, 400},
			{"/match/default", `{"queries": {"q": {"schema": "Vessel", "properties": {"flag": ["kp"]}}}}`, 400},
			{"/match/default", `{"queries": {"q": {"schema": "Vessel", "properties": {"imoNumber": ["1234568"]}}}}`, 400},
			{"/match/default", `{"queries": {}}`, 400},
			{"/match/default", `[]`, 400},
			{"/match/default", ``, 400},
			{"/match/default", `{"queries": {"q": {"schema": "Vessel", "properties": {"name": ["X"]}}}} {}`, 400},
			{"/match/default?limit=many", vesselQuery(`{"name": ["X"]}`), 400},
			{"/match/default?threshold=2", vesselQuery(`{"name": ["X"]}`), 400},
			{"/match/no_such_list", vesselQuery(`{"name": ["X"]}`), 404},
			{"/match/default", vesselQuery(`{"name": ["` + strings.Repeat("A", 1001) + `"]}`), 400},
			{"/match/default", vesselQuery(`{"name": ["` + strings.Repeat("A", compatTestMaxBody) + `"]}`), 413},
			{"/reconcile?api_key=" + url.QueryEscape(f.keyA), `{"q0": {"query": "` + strings.Repeat("A", compatTestMaxBody) + `"}}`, 413},
		}
		for _, c := range cases {
			code, hdr, b := f.do(t, "POST", c.path, "ApiKey "+f.keyA, "application/json", []byte(c.body))
			var e Error
			if code != c.code || json.Unmarshal(b, &e) != nil || e.Error.Code == "" || e.Error.Message == "" || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
				t.Errorf("%s %.60q: %d %s, want %d with a JSON error", c.path, c.body, code, b, c.code)
			}
		}
	})

	t.Run("ReconcileManifestHost", func(t *testing.T) {
		// The Host header is the client's to choose: the manifest's links
		// (which carry the api_key) never point at it. Configured: under
		// the public URL; not configured: relative to the host.
		noURL := New(f.svc, Options{Rate: -1})
		noURL.SetReady(true)
		for _, c := range []struct {
			h    http.Handler
			want string
		}{{nil, f.url + "/reconcile"}, {noURL, "/reconcile"}} {
			req := httptest.NewRequest("GET", "/reconcile?api_key="+url.QueryEscape(f.keyA), nil)
			req.Host = "evil.example"
			var b []byte
			if c.h == nil {
				r, err := http.NewRequest("GET", f.url+"/reconcile?api_key="+url.QueryEscape(f.keyA), nil)
				if err != nil {
					t.Fatal(err)
				}
				r.Host = "evil.example"
				resp, err := http.DefaultClient.Do(r)
				if err != nil {
					t.Fatal(err)
				}
				b, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			} else {
				rec := httptest.NewRecorder()
				c.h.ServeHTTP(rec, req)
				b = rec.Body.Bytes()
			}
			var m ReconcileManifest
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("%s", b)
			}
			if strings.Contains(string(b), "evil.example") {
				t.Errorf("the manifest reflects the Host header: %s", b)
			}
			for _, u := range []string{m.View.URL, m.Preview.URL, m.Suggest.Type.ServiceURL, m.Suggest.Property.ServiceURL} {
				if !strings.HasPrefix(u, c.want) || (c.want == "/reconcile" && strings.HasPrefix(u, "//")) {
					t.Errorf("manifest URL %q, want it under %q", u, c.want)
				}
			}
		}
		for in, want := range map[string]string{"https://tw.example.org/": "https://tw.example.org", "http://h:8080/base": "http://h:8080/base"} {
			if got, err := CheckPublicURL(in); err != nil || got != want {
				t.Errorf("CheckPublicURL(%q) = %q, %v", in, got, err)
			}
		}
		for _, bad := range []string{"tw.example.org", "/reconcile", "ftp://h", "https://h/?a=1", "https://u:p@h", "https://"} {
			if _, err := CheckPublicURL(bad); err == nil {
				t.Errorf("CheckPublicURL(%q) accepted", bad)
			}
		}
	})

	t.Run("ReconcileManifest", func(t *testing.T) {
		code, _, b := f.do(t, "GET", "/reconcile?api_key="+url.QueryEscape(f.keyA), "", "", nil)
		if code != http.StatusOK {
			t.Fatalf("%d %s", code, b)
		}
		checkManifest(t, b)
		var m ReconcileManifest
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		// The suggest and preview services answer at the URLs the
		// manifest gives, with the key it passed on.
		code, _, b = f.do(t, "GET", strings.TrimPrefix(m.Suggest.Property.ServiceURL, f.url)+m.Suggest.Property.ServicePath+"&prefix=im", "", "", nil)
		var sug ReconcileSuggestions
		if code != 200 || json.Unmarshal(b, &sug) != nil || len(sug.Result) != 1 || sug.Result[0].ID != "imo" {
			t.Errorf("property suggest: %d %s", code, b)
		}
		code, _, b = f.do(t, "GET", strings.TrimPrefix(m.Suggest.Type.ServiceURL, f.url)+m.Suggest.Type.ServicePath+"&prefix=ves", "", "", nil)
		if code != 200 || json.Unmarshal(b, &sug) != nil || len(sug.Result) != 1 || sug.Result[0].ID != "Vessel" {
			t.Errorf("type suggest: %d %s", code, b)
		}
		if code, hdr, _ := f.do(t, "GET", "/reconcile?api_key="+url.QueryEscape(f.keyA), "", "", nil); code != 200 || hdr.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("manifest: CORS header %q: OpenRefine reads the manifest from the browser", hdr.Get("Access-Control-Allow-Origin"))
		}
		code, hdr, b := f.do(t, "GET", strings.TrimPrefix(strings.ReplaceAll(m.Preview.URL, "{{id}}", "ofac-sdn:23729"), f.url), "", "", nil)
		if code != 200 || !strings.Contains(string(b), "CHON MA SAN") || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || hdr.Get("Content-Security-Policy") == "" {
			t.Errorf("preview: %d %s %s", code, hdr, b)
		}
		// With the key in a header, no key goes into the URLs.
		code, _, b = f.do(t, "GET", "/reconcile/gb_fcdo_sanctions", "Bearer "+f.keyA, "", nil)
		if code != 200 || strings.Contains(string(b), "api_key") {
			t.Errorf("manifest with a header key: %d %s", code, b)
		}
		checkManifest(t, b)
	})

	t.Run("ReconcileFormWithAPIKey", func(t *testing.T) {
		// What OpenRefine 3.x posts: form-encoded queries=JSON to the
		// service URL, which carries the key.
		queries := `{"q0":{"query":"CHONMASAN","type":"Vessel","type_strict":"should"},` +
			`"q1":{"query":"JI SONG 6","type":"Vessel","type_strict":"should","properties":[{"pid":"imo","v":8503228}]},` +
			`"q2":{"query":"Korea Achim Shipping Company","type":"Organization","type_strict":"should","limit":3},` +
			`"q3":{"query":"Pacific Dawn","type":"Vessel","type_strict":"should","properties":[{"pid":"flag","v":"Panama"},{"pid":"call_sign","v":"3EXX9"}]},` +
			// A column of IMO numbers, and a number read as a float.
			`"q4":{"query":"IMO 8660313","type":"Vessel","type_strict":"should"},` +
			`"q5":{"query":"Chon Ma San","type":"Vessel","type_strict":"should","properties":[{"pid":"imo","v":8660313.0}]}}`
		form := url.Values{"queries": {queries}}.Encode()
		code, _, b := f.do(t, "POST", "/reconcile?api_key="+url.QueryEscape(f.keyA), "", "application/x-www-form-urlencoded; charset=UTF-8", []byte(form))
		if code != http.StatusOK {
			t.Fatalf("%d %s", code, b)
		}
		checkResultBatch(t, b)
		var res map[string]ReconcileResult
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatal(err)
		}
		if c := res["q0"].Result; len(c) == 0 || c[0].Name != "CHON MA SAN" || c[0].Score != 100 || !c[0].Match || c[0].Type[0].ID != "Vessel" {
			t.Errorf("q0: %+v", c)
		}
		// JI SONG 6's name with JI SONG 8's IMO: the IMO wins, JI SONG 6
		// is named but weighed down by the differing IMO.
		if c := res["q1"].Result; len(c) < 2 || c[0].Name != "JI SONG 8" || !c[0].Match || c[1].Name != "JI SONG 6" || c[1].Match {
			t.Errorf("q1: %+v", c)
		}
		if c := res["q2"].Result; len(c) == 0 || len(c) > 3 || !strings.Contains(c[0].Name, "ACHIM") {
			t.Errorf("q2: %+v", c)
		}
		if c := res["q3"].Result; c == nil {
			t.Errorf("q3: result must be a list, even empty")
		}
		for _, k := range []string{"q4", "q5"} {
			if c := res[k].Result; len(c) == 0 || c[0].Name != "CHON MA SAN" || c[0].Features[0].ID != "imo_match" {
				t.Errorf("%s: %+v, want CHON MA SAN by its IMO", k, c)
			}
		}
		// The same batch as a JSON body, and on a dataset's URL.
		code, _, b2 := f.do(t, "POST", "/reconcile/default", "Bearer "+f.keyA, "application/json", []byte(queries))
		if code != http.StatusOK || !bytes.Equal(b, b2) {
			t.Errorf("JSON body: %d, answer differs from the form's:\n%s\n%s", code, b, b2)
		}
		for _, bad := range []string{`{"q0":{"query":"X","properties":[{"pid":"birthDate","v":"1960"}]}}`, `{"q0":{"query":"X","type":"Aircraft"}}`,
			`{"q0":{"query":"X","extra":1}}`, `{"q0":{"query":"X","limit":-1}}`, `{"q0":{"query":""}}`, `not json`, `{}`} {
			code, _, b := f.do(t, "POST", "/reconcile?api_key="+url.QueryEscape(f.keyA), "", "application/x-www-form-urlencoded", []byte(url.Values{"queries": {bad}}.Encode()))
			var e Error
			if code != 400 || json.Unmarshal(b, &e) != nil || e.Error.Code != string(app.CodeInvalid) {
				t.Errorf("%s: %d %s, want 400", bad, code, b)
			}
		}
		code, _, b = f.do(t, "GET", "/reconcile?api_key="+url.QueryEscape(f.keyA)+"&callback=steal", "", "", nil)
		if code != 400 || !strings.Contains(string(b), "JSONP") {
			t.Errorf("JSONP: %d %s", code, b)
		}
	})

	t.Run("KeysInURLsAreNotLogged", func(t *testing.T) {
		f.do(t, "GET", "/reconcile?api_key="+url.QueryEscape(f.keyA), "", "", nil)
		f.do(t, "GET", "/reconcile?api_key=tw_000000000000_00000000000000000000000000000000", "", "", nil)
		logs := f.logs.String()
		if !strings.Contains(logs, `"route":"GET /reconcile"`) {
			t.Fatalf("no request logged: %s", logs)
		}
		secret := f.keyA[strings.LastIndex(f.keyA, "_")+1:]
		if strings.Contains(logs, secret) || strings.Contains(logs, "api_key") || strings.Contains(logs, "00000000000000000000000000000000") {
			t.Errorf("a key reached the log:\n%s", logs)
		}
	})

	t.Run("EachTenantSeesItsOwnAuditRecords", func(t *testing.T) {
		// Each tenant screens through /match (one query, then several) and
		// /reconcile; each sees its own records and none of the other's.
		f.match(t, "/match/default", vesselQuery(`{"imoNumber": ["8660313"]}`))
		f.match(t, "/match/default", vesselQuery(`{"name": ["A ONE", "A TWO"]}`))
		formA := url.Values{"queries": {`{"a":{"query":"A ONE"},"b":{"query":"A TWO"}}`}}.Encode()
		if code, _, b := f.do(t, "POST", "/reconcile?api_key="+url.QueryEscape(f.keyA), "", "application/x-www-form-urlencoded", []byte(formA)); code != 200 {
			t.Fatalf("%d %s", code, b)
		}
		bName := "KOREA UNIQUE TENANT B SHIPPING"
		code, _, b := f.do(t, "POST", "/match/default", "ApiKey "+f.keyB, "application/json", []byte(`{"queries": {"q": {"schema": "Organization", "properties": {"name": ["`+bName+`"]}}}}`))
		if code != 200 {
			t.Fatalf("%d %s", code, b)
		}
		form := url.Values{"queries": {`{"a":{"query":"B ONE"},"b":{"query":"B TWO"}}`}}.Encode()
		if code, _, b := f.do(t, "POST", "/reconcile?api_key="+url.QueryEscape(f.keyB), "", "application/x-www-form-urlencoded", []byte(form)); code != 200 {
			t.Fatalf("%d %s", code, b)
		}
		records := func(key string) []store.AuditRecord {
			code, _, b := f.do(t, "GET", "/v1/audit/records?action=screen", "Bearer "+key, "", nil)
			var rs []store.AuditRecord
			if code != 200 || json.Unmarshal(b, &rs) != nil {
				t.Fatalf("audit records: %d %s", code, b)
			}
			return rs
		}
		subjects := func(rs []store.AuditRecord) map[string]int {
			m := map[string]int{}
			for _, r := range rs {
				m[r.Subject]++
			}
			return m
		}
		a, bRecs := subjects(records(f.keyA)), records(f.keyB)
		bs := subjects(bRecs)
		if bs["name:"+bName] != 1 || bs["batch:reconcile"] != 1 || len(bRecs) != 2 {
			t.Errorf("tenant B's records: %v", bs)
		}
		for _, r := range bRecs {
			if r.Tenant != "insurer-b" || !strings.Contains(r.Actor, "tenant B viewer") {
				t.Errorf("tenant B's record %d: tenant %q actor %q", r.Seq, r.Tenant, r.Actor)
			}
		}
		if a["name:"+bName] != 0 || a["imo:8660313"] == 0 || a["batch:match/default"] == 0 || a["batch:reconcile"] == 0 {
			t.Errorf("tenant A's records: %v", a)
		}
	})

	t.Run("MissingInvalidOrRevokedKeyIsRefused", func(t *testing.T) {
		ctx := context.Background()
		revoked, err := f.svc.CreateAPIKey(ctx, f.adminA, app.CreateKeyRequest{Name: "to revoke", Role: "viewer", TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.RevokeAPIKey(ctx, f.adminA, revoked.ID); err != nil {
			t.Fatal(err)
		}
		body := []byte(vesselQuery(`{"name": ["CHON MA SAN"]}`))
		form := []byte(url.Values{"queries": {`{"q0":{"query":"CHON MA SAN"}}`}}.Encode())
		bogus := "tw_000000000000_00000000000000000000000000000000"
		for _, c := range []struct{ method, path, auth string }{
			{"POST", "/match/default", ""}, {"POST", "/match/default", "ApiKey " + bogus}, {"POST", "/match/default", "ApiKey " + revoked.Secret},
			{"GET", "/search/default?q=CHON", ""}, {"GET", "/catalog", ""}, {"GET", "/algorithms", ""}, {"GET", "/entities/ofac-sdn:23729", ""},
			{"GET", "/reconcile", ""}, {"GET", "/reconcile?api_key=" + bogus, ""}, {"POST", "/reconcile?api_key=" + url.QueryEscape(revoked.Secret), ""},
			{"POST", "/reconcile", "Bearer " + bogus}, {"GET", "/reconcile/suggest/type", ""}, {"GET", "/reconcile/preview?id=ofac-sdn:23729", ""},
		} {
			b := body
			ctype := "application/json"
			if strings.HasPrefix(c.path, "/reconcile") {
				b, ctype = form, "application/x-www-form-urlencoded"
			}
			code, _, out := f.do(t, c.method, c.path, c.auth, ctype, b)
			var e Error
			if code != 401 || json.Unmarshal(out, &e) != nil || e.Error.Code != string(app.CodeUnauthenticated) {
				t.Errorf("%s %s (auth %.12q): %d %s, want 401", c.method, c.path, c.auth, code, out)
			}
		}
	})

	t.Run("SearchEntitiesCatalogAlgorithms", func(t *testing.T) {
		auth := "ApiKey " + f.keyA
		code, _, b := f.do(t, "GET", "/search/default?q=chonmasan&schema=Vessel&limit=3", auth, "", nil)
		var sr YenteSearchResponse
		if code != 200 || json.Unmarshal(b, &sr) != nil || len(sr.Results) == 0 || sr.Results[0].Caption != "CHON MA SAN" || sr.Limit != 3 {
			t.Errorf("search: %d %s", code, b)
		}
		for _, id := range []string{"ofac-sdn:23729", "uk:DPR0105"} {
			code, _, b = f.do(t, "GET", "/entities/"+id, auth, "", nil)
			var e YenteEntity
			if code != 200 || json.Unmarshal(b, &e) != nil || e.ID != "ofac-sdn:23729" || !contains(e.Referents, "uk:DPR0105") {
				t.Errorf("entity %s: %d %s", id, code, b)
			}
		}
		if code, _, b = f.do(t, "GET", "/entities/un:NOPE.1", auth, "", nil); code != 404 {
			t.Errorf("unknown entity: %d %s", code, b)
		}
		// An ID the lists give to several entities is refused, not
		// answered with one of them.
		ents, _, err := f.svc.Entities(context.Background(), f.adminA, nil)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		dup := ""
		for _, e := range ents {
			if seen[e.ID]++; seen[e.ID] == 2 && dup == "" {
				dup = e.ID
			}
		}
		if dup != "" {
			if code, _, b = f.do(t, "GET", "/entities/"+dup, auth, "", nil); code != 409 {
				t.Errorf("entity %s (%d entities have that ID): %d %s, want 409", dup, seen[dup], code, b)
			}
			// Two entities sharing the ID, both found by one query, are
			// two results.
			var names []string
			for _, e := range ents {
				if e.ID == dup && len(names) < 2 {
					names = append(names, e.Name)
				}
			}
			nb, _ := json.Marshal(names)
			r := f.match(t, "/match/default?limit=20", `{"queries": {"q": {"schema": "Thing", "properties": {"name": `+string(nb)+`}}}}`)
			found := 0
			for _, x := range r.Responses["q"].Results {
				if x.ID == dup && x.Match && (x.Caption == names[0] || x.Caption == names[1]) {
					found++
				}
			}
			if found != 2 {
				t.Errorf("names %q of two entities with the ID %s: %d matched, want 2", names, dup, found)
			}
		}
		code, _, b = f.do(t, "GET", "/catalog", auth, "", nil)
		var cat YenteCatalog
		if code != 200 || json.Unmarshal(b, &cat) != nil || !contains(cat.Current, "un_sc_sanctions") || !contains(cat.Current, "us_ofac_sdn") {
			t.Errorf("catalog: %d %s", code, b)
		}
		code, _, b = f.do(t, "GET", "/algorithms", auth, "", nil)
		var al YenteAlgorithms
		if code != 200 || json.Unmarshal(b, &al) != nil || al.Best != compatAlgorithm || len(al.Algorithms[0].Features) != len(compatFeatures) {
			t.Errorf("algorithms: %d %s", code, b)
		}
	})

	t.Run("RoutesAreInTheOpenAPIDocument", func(t *testing.T) {
		code, _, b := f.do(t, "GET", "/openapi.json", "", "", nil)
		var doc struct {
			Paths map[string]map[string]struct {
				Summary    string `json:"summary"`
				Parameters []struct {
					Name string `json:"name"`
				} `json:"parameters"`
				RequestBody map[string]any `json:"requestBody"`
			} `json:"paths"`
		}
		if code != 200 || json.Unmarshal(b, &doc) != nil {
			t.Fatalf("%d", code)
		}
		for _, want := range []struct{ method, path, param string }{
			{"post", "/match/{dataset}", "threshold"}, {"get", "/search/{dataset}", "q"}, {"get", "/entities/{id}", "id"},
			{"get", "/catalog", ""}, {"get", "/algorithms", ""}, {"get", "/reconcile", "api_key"}, {"post", "/reconcile", "api_key"},
			{"get", "/reconcile/{dataset}", "dataset"}, {"post", "/reconcile/{dataset}", "dataset"},
			{"get", "/reconcile/suggest/{kind}", "prefix"}, {"get", "/reconcile/preview", "id"},
		} {
			op, ok := doc.Paths[want.path][want.method]
			if !ok || op.Summary == "" {
				t.Errorf("%s %s missing from /openapi.json", want.method, want.path)
				continue
			}
			found := want.param == ""
			for _, p := range op.Parameters {
				found = found || p.Name == want.param
			}
			if !found {
				t.Errorf("%s %s: parameter %s not documented", want.method, want.path, want.param)
			}
			if want.method == "post" && op.RequestBody == nil {
				t.Errorf("%s %s: no request body documented", want.method, want.path)
			}
		}
	})
}

// BenchmarkCompat measures the compatible routes end to end over
// loopback: one yente query, a batch of 100, and an OpenRefine batch of
// 10 (its default batch size).
func BenchmarkCompat(b *testing.B) {
	f := newCompatFixture(b)
	one := vesselQuery(`{"name": ["CHON MA SAN"], "imoNumber": ["8660313"]}`)
	var batch, recon strings.Builder
	batch.WriteString(`{"queries": {`)
	recon.WriteString(`{`)
	names := []string{"CHON MA SAN", "JI SONG 6", "PACIFIC DAWN", "Korea Achim Shipping", "OCEAN STAR"}
	for i := 0; i < 100; i++ {
		if i > 0 {
			batch.WriteString(",")
		}
		fmt.Fprintf(&batch, `"q%d": {"schema": "Thing", "properties": {"name": ["%s %d"]}}`, i, names[i%len(names)], i%3)
		if i < 10 {
			if i > 0 {
				recon.WriteString(",")
			}
			fmt.Fprintf(&recon, `"q%d": {"query": "%s", "type": "Vessel", "type_strict": "should"}`, i, names[i%len(names)])
		}
	}
	batch.WriteString(`}}`)
	recon.WriteString(`}`)
	form := []byte(url.Values{"queries": {recon.String()}}.Encode())
	b.Run("match1", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			f.match(b, "/match/default", one)
		}
	})
	b.Run("match100", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			f.match(b, "/match/default", batch.String())
		}
	})
	b.Run("reconcile10", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if code, _, out := f.do(b, "POST", "/reconcile?api_key="+url.QueryEscape(f.keyA), "", "application/x-www-form-urlencoded", form); code != 200 {
				b.Fatalf("%d %s", code, out)
			}
		}
	})
}

// checkManifest checks a manifest against the W3C Reconciliation API 0.2
// manifest schema's rules and what OpenRefine reads.
func checkManifest(t *testing.T, b []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "identifierSpace", "schemaSpace"} {
		if s, ok := m[k].(string); !ok || s == "" {
			t.Errorf("manifest %s: %v", k, m[k])
		}
	}
	vs, _ := m["versions"].([]any)
	if !containsAny(vs, "0.2") {
		t.Errorf("manifest versions %v lack 0.2", vs)
	}
	idTemplate := regexp.MustCompile(`\{\{id\}\}`)
	for _, k := range []string{"view", "preview"} {
		o, _ := m[k].(map[string]any)
		if u, _ := o["url"].(string); !idTemplate.MatchString(u) {
			t.Errorf("manifest %s.url %q lacks {{id}}", k, u)
		}
	}
	pv, _ := m["preview"].(map[string]any)
	for _, k := range []string{"width", "height"} {
		if n, ok := pv[k].(float64); !ok || n != float64(int(n)) || n <= 0 {
			t.Errorf("manifest preview.%s %v: want a positive integer", k, pv[k])
		}
	}
	types, _ := m["defaultTypes"].([]any)
	seen := map[string]bool{}
	for _, ty := range types {
		o, _ := ty.(map[string]any)
		id, _ := o["id"].(string)
		name, _ := o["name"].(string)
		if id == "" || name == "" || seen[id] {
			t.Errorf("manifest defaultTypes: %v (id and name required, ids unique)", ty)
		}
		seen[id] = true
	}
	for _, want := range []string{"Vessel", "Organization", "Person"} {
		if !seen[want] {
			t.Errorf("manifest defaultTypes lack %s", want)
		}
	}
	sug, _ := m["suggest"].(map[string]any)
	for _, k := range []string{"type", "property"} {
		o, _ := sug[k].(map[string]any)
		if u, _ := o["service_url"].(string); !strings.HasPrefix(u, "http") {
			t.Errorf("manifest suggest.%s.service_url %q", k, u)
		}
		if _, ok := o["service_path"].(string); !ok {
			t.Errorf("manifest suggest.%s.service_path missing", k)
		}
	}
}

// checkResultBatch checks an answer against the 0.2 result batch schema.
func checkResultBatch(t *testing.T, b []byte) {
	t.Helper()
	var batch map[string]map[string]any
	if err := json.Unmarshal(b, &batch); err != nil {
		t.Fatal(err)
	}
	for key, r := range batch {
		res, ok := r["result"].([]any)
		if !ok {
			t.Errorf("%s: no result list", key)
		}
		for _, c := range res {
			o, _ := c.(map[string]any)
			id, _ := o["id"].(string)
			name, _ := o["name"].(string)
			score, ok := o["score"].(float64)
			if id == "" || name == "" || !ok || score < 0 || score > 100 {
				t.Errorf("%s: candidate %v: id, name and a score 0-100 required", key, o)
			}
			if _, ok := o["match"].(bool); !ok {
				t.Errorf("%s: candidate %v: match must be a boolean", key, o)
			}
			ts, _ := o["type"].([]any)
			for _, ty := range ts {
				if tm, _ := ty.(map[string]any); tm["id"] == nil {
					t.Errorf("%s: candidate type %v lacks id", key, ty)
				}
			}
			fs, _ := o["features"].([]any)
			for _, fe := range fs {
				fm, _ := fe.(map[string]any)
				if _, ok := fm["value"].(float64); !ok || fm["id"] == nil {
					t.Errorf("%s: feature %v", key, fe)
				}
			}
		}
	}
}

func containsAny(list []any, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The request decoders never crash, and what they accept can be screened.

func FuzzCompatMatchDecode(f *testing.F) {
	for _, s := range []string{
		`{"queries": {"q": {"schema": "Vessel", "properties": {"name": ["CHON MA SAN"], "imoNumber": ["IMO8660313"]}}}, "weights": {}, "config": {}}`,
		`{"queries":{"q1":{"schema":"Person","properties":{"firstName":["Su Nyo"],"lastName":["Ryang","량"],"birthDate":["1959"]}}}}`,
		`{"queries":{"a":{"schema":"Thing","properties":{"name":"x","mmsi":[445012000,"bad"],"callSign":["HMYZ"],"flag":["kp"]}},"b":null}}`,
		`{"queries":{"q":{"schema":"LegalEntity","properties":{"imoNumber":["5936312"],"name":[null]}}}}`,
		`{"queries":{"q":{"schema":"Vessel","properties":{"imoNumber":[1e400]}}}}`,
		`{"queries":{"q":{"schema":"Vessel","properties":{}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		qs, _, err := decodeYenteMatch(data)
		checkDecoded(t, qs, err)
	})
}

func FuzzCompatReconcileDecode(f *testing.F) {
	for _, s := range []string{
		`{"q0":{"query":"CHONMASAN","type":"Vessel","type_strict":"should"}}`,
		`{"q0":{"query":"JI SONG 6","type":["Vessel","Organization"],"properties":[{"pid":"imo","v":[8503228,{"id":"x"}]},{"pid":"flag","v":"Panama"}],"limit":3}}`,
		`{"q0":{"properties":[{"pid":"mmsi","v":"445012000"}]},"q1":{"query":"Korea Achim","type":"Organization"}}`,
		`{"q0":{"query":"X","type":"LegalEntity","properties":[{"pid":"Vessel:callSign","v":null}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		qs, limits, err := decodeReconcile(data)
		checkDecoded(t, qs, err)
		if err == nil && len(limits) != len(qs) {
			t.Fatalf("%d limits for %d queries", len(limits), len(qs))
		}
		for _, l := range limits {
			if l < 1 || l > compatMaxLimit {
				t.Fatalf("limit %d", l)
			}
		}
	})
}

// checkDecoded: a refusal is a client error; an acceptance is a bounded
// set of queries, each screenable.
func checkDecoded(t *testing.T, qs []*compatQuery, err error) {
	t.Helper()
	if err != nil {
		if c := app.CodeOf(err); c != app.CodeInvalid {
			t.Fatalf("error code %s (%v), want invalid_argument", c, err)
		}
		return
	}
	if len(qs) == 0 || len(qs) > compatMaxQueries {
		t.Fatalf("%d queries accepted", len(qs))
	}
	rows := 0
	for _, q := range qs {
		if len(q.rows) == 0 {
			t.Fatalf("query %q accepted with nothing to screen", q.key)
		}
		for _, r := range q.rows {
			if err := r.Validate(); err != nil {
				t.Fatalf("query %q row %+v: %v", q.key, r, err)
			}
			if s, warns := r.Sanitised(); s != r || len(warns) > 0 {
				t.Fatalf("query %q row %+v not sanitised: %v", q.key, r, warns)
			}
		}
		rows += len(q.rows)
	}
	if rows > 10000 {
		t.Fatalf("%d rows", rows)
	}
}
