package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/web"
)

// addrTransport sends each request as from a client address (a header
// the test's ClientAddr reads).
type addrTransport struct{ addr string }

func (a addrTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Test-Client", a.addr)
	return http.DefaultTransport.RoundTrip(r)
}

// TestLoginThrottledPerAddress: after the burst of failed sign-ins from
// an address (across user names, none locked), the next answers 429 with
// Retry-After before any password is checked, even the right one; another
// address signs in. The failures lock no account.
func TestLoginThrottledPerAddress(t *testing.T) {
	f := getFixture(t)
	h := web.New(f.svc, web.Options{LoginFailures: 0.001, LoginFailureBurst: 3, ClientAddr: func(r *http.Request) string { return r.Header.Get("X-Test-Client") }})
	srv := httptest.NewServer(h)
	defer srv.Close()
	from := func(addr string) *client {
		jar, _ := cookiejar.New(nil)
		return &client{t: t, base: srv.URL, hc: &http.Client{Jar: jar, Transport: addrTransport{addr}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	}
	a := from("203.0.113.7")
	for i, u := range []string{"nobody-1", "nobody-2", "viewer"} {
		pw := "wrong password " + strconv.Itoa(i)
		if r := a.login(app.LocalTenant, u, pw); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, r.StatusCode)
		}
	}
	r := a.login(app.LocalTenant, "viewer", password)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("after the burst: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if w, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || w < 1 {
		t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	for _, c := range r.Cookies() {
		if c.Name == "tw_session" && c.Value != "" {
			t.Error("a throttled sign-in got a session")
		}
	}
	if r := from("198.51.100.9").login(app.LocalTenant, "viewer", password); r.StatusCode != http.StatusSeeOther {
		t.Errorf("another address: %d", r.StatusCode)
	}
	if u, err := f.st.User(t.Context(), app.LocalTenant, "viewer"); err != nil || u.FailedLogins != 0 {
		t.Errorf("viewer after: %d failures (%v)", u.FailedLogins, err)
	}
}

// TestAPIAnswersItsPathsUnderTheWeb: with the interface mounted at /, a
// wrong method on an API path is the API's 405 with Allow, an unknown
// /v1 path the API's JSON 404, and web paths still the web's.
func TestAPIAnswersItsPathsUnderTheWeb(t *testing.T) {
	f := getFixture(t)
	for _, c := range []struct{ method, path, allow string }{{"DELETE", "/v1/screen", "POST"}, {"PUT", "/openapi.json", "GET"}} {
		req, _ := http.NewRequest(c.method, f.srv.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error struct{ Code string } }
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(resp.Header.Get("Allow"), c.allow) || body.Error.Code != "method_not_allowed" {
			t.Errorf("%s %s: %d, Allow %q, code %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), body.Error.Code)
		}
	}
	resp, err := http.Get(f.srv.URL + "/v1/no-such-thing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("GET /v1/no-such-thing: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	c := newClient(t, f)
	if r, _ := c.get("/login"); r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET /login: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
}

// TestNextRedirectStaysOnSite: a "next" that a browser would read as
// another site (a tab or newline dropped, a backslash read as a slash)
// sends the signed-in browser home instead.
func TestNextRedirectStaysOnSite(t *testing.T) {
	f := getFixture(t)
	c := newClient(t, f)
	_, body := c.get("/login")
	m := tokenRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no login token")
	}
	for _, next := range []string{"/\t/evil.example", "/\n/evil.example", "/\\evil.example", "//evil.example", "javascript:alert(1)"} {
		_, body := c.get("/login")
		m = tokenRE.FindStringSubmatch(body)
		resp, _ := c.post("/login", url.Values{"login_token": {m[1]}, "tenant": {app.LocalTenant}, "user": {"viewer"}, "password": {password}, "next": {next}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			t.Errorf("next %q: %d to %q", next, resp.StatusCode, resp.Header.Get("Location"))
		}
		// Signed in: the sign-in page sends on at once.
		resp, _ = c.get("/login?next=" + url.QueryEscape(next))
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/" {
			t.Errorf("signed in, next %q: %d to %q", next, resp.StatusCode, loc)
		}
		c.hc.Jar, _ = cookiejar.New(nil)
	}
}

// TestFooterSaysWhatIsAudited: the footer's claim holds: browsing a list
// page adds no audit record, opening a vessel's profile does.
func TestFooterSaysWhatIsAudited(t *testing.T) {
	f := getFixture(t)
	c := newClient(t, f)
	if r := c.login(app.LocalTenant, "viewer", password); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", r.StatusCode)
	}
	local := app.LocalPrincipal("test")
	count := func() int {
		recs, err := f.svc.AuditRecords(t.Context(), local, app.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range recs {
			if r.Actor == "viewer" {
				n++
			}
		}
		return n
	}
	before := count()
	_, body := c.get("/alerts")
	if !strings.Contains(body, "the vessel profiles and reports you open, are in your tenant's audit log") || strings.Contains(body, "every page you open") {
		t.Errorf("footer: %q", body[max(0, strings.Index(body, "<footer")):])
	}
	c.get("/events")
	c.get("/lists")
	if n := count(); n != before {
		t.Errorf("browsing list pages added %d audit records; the footer says it does not", n-before)
	}
	if r, _ := c.get("/vessels/9300207"); r.StatusCode != http.StatusOK {
		t.Fatalf("vessel page: %d", r.StatusCode)
	}
	if n := count(); n != before+1 {
		t.Errorf("opening a vessel profile added %d audit records, want 1", n-before)
	}
}
