package web_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/web"
)

func TestSignInSessionAndHeaders(t *testing.T) {
	f := getFixture(t)
	c := newClient(t, f)
	// Signed out: a page sends the browser to sign in.
	resp, _ := c.get("/alerts")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
		t.Fatalf("signed out /alerts: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = c.login("local", "analyst", password)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "tw_session" {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" || sess.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/ (and not Secure on plain HTTP)", sess)
	}
	if c.csrf == "" {
		t.Fatal("no CSRF token on the page")
	}
	resp, body := c.get("/")
	if resp.StatusCode != 200 || !strings.Contains(body, "Dashboard") {
		t.Fatalf("dashboard: %d", resp.StatusCode)
	}
	h := resp.Header
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline script or style: %q", csp)
	}
	if h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers: cache %q frame %q nosniff %q", h.Get("Cache-Control"), h.Get("X-Frame-Options"), h.Get("X-Content-Type-Options"))
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, " onclick=") || strings.Contains(body, " style=") {
		t.Error("a page carries inline script or style")
	}
	// A state-changing form without the CSRF token is refused, with it
	// accepted.
	resp, _ = c.post("/alerts/1/acknowledge", url.Values{})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("acknowledge without CSRF: %d, want 403", resp.StatusCode)
	}
	resp, _ = c.post("/alerts/1/acknowledge", url.Values{"csrf": {"wrong"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("acknowledge with a wrong CSRF token: %d, want 403", resp.StatusCode)
	}
	// Sign out ends the session in the store: the old cookie is dead.
	resp, _ = c.post("/logout", url.Values{"csrf": {c.csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	replay := newClient(t, f)
	u, _ := url.Parse(f.srv.URL)
	replay.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "tw_session", Value: sess.Value, Path: "/"}})
	if resp, _ := replay.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the cookie of a signed-out session still reads the dashboard: %d", resp.StatusCode)
	}
}

func TestLoginRefusalsAndLockout(t *testing.T) {
	f := getFixture(t)
	c := newClient(t, f)
	// A sign-in without the form's token (another site posting) is refused.
	resp, _ := c.post("/login", url.Values{"tenant": {"local"}, "user": {"viewer"}, "password": {password}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("login without the form token: %d", resp.StatusCode)
	}
	if _, err := f.svc.CreateUser(t.Context(), app.LocalPrincipal("fixture"), "", "lockme", "viewer", password); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		resp := c.login("local", "lockme", "not the password")
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, resp.StatusCode)
		}
	}
	resp = c.login("local", "lockme", password)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the right password on a locked account: %d", resp.StatusCode)
	}
	// The message says the account may be locked and what to do.
	c2 := newClient(t, f)
	_, page := c2.get("/login")
	m := tokenRE.FindStringSubmatch(page)
	_, page = c2.post("/login", url.Values{"login_token": {m[1]}, "tenant": {"local"}, "user": {"lockme"}, "password": {password}})
	if !strings.Contains(page, "locked") || !strings.Contains(page, "administrator") {
		t.Errorf("the refusal does not explain the lock-out: %s", page)
	}
}

func TestRolesHideAndRefuse(t *testing.T) {
	f := getFixture(t)
	c := newClient(t, f)
	c.login("local", "viewer", password)
	_, body := c.get("/vessels/" + stsIMO)
	if strings.Contains(body, `id="decide-form"`) {
		t.Error("a viewer is offered the decision form")
	}
	if _, body := c.get("/"); strings.Contains(body, `href="/admin"`) {
		t.Error("a viewer sees the admin link")
	}
	if resp, _ := c.get("/admin"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a viewer reads /admin: %d", resp.StatusCode)
	}
	resp, _ := c.post("/vessels/"+stsIMO+"/decisions", url.Values{"csrf": {c.csrf}, "decision": {"accept"}, "reason": {"r"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a viewer records a decision: %d", resp.StatusCode)
	}
	resp, _ = c.post("/alerts/1/acknowledge", url.Values{"csrf": {c.csrf}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a viewer acknowledges an alert: %d", resp.StatusCode)
	}
}

// The interface is mounted at / beside the API: an API path it does not
// know still answers as the API does, in JSON.
func TestUnknownAPIPathIsJSON(t *testing.T) {
	f := getFixture(t)
	c := newClient(t, f)
	resp, body := c.get("/v1/no-such-route")
	if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !strings.Contains(body, `"not_found"`) {
		t.Errorf("/v1/no-such-route: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp, _ := c.get("/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz through the mount: %d", resp.StatusCode)
	}
}

// The session cookie is Secure over TLS, and on plain HTTP when the
// server says a TLS proxy is in front (serve --secure-cookies).
func TestSecureCookie(t *testing.T) {
	f := getFixture(t)
	for _, tc := range []struct {
		name   string
		srv    *httptest.Server
		secure bool
	}{
		{"tls", httptest.NewTLSServer(web.New(f.svc, web.Options{})), true},
		{"proxy", httptest.NewServer(web.New(f.svc, web.Options{SecureCookies: true})), true},
	} {
		defer tc.srv.Close()
		hc := tc.srv.Client()
		jar, _ := cookiejar.New(nil)
		hc.Jar = jar
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		c := &client{t: t, base: tc.srv.URL, hc: hc}
		resp := c.login("local", "viewer", password)
		found := false
		for _, ck := range resp.Cookies() {
			if ck.Name == "tw_session" {
				found = true
				if ck.Secure != tc.secure || !ck.HttpOnly {
					t.Errorf("%s: session cookie Secure=%v HttpOnly=%v", tc.name, ck.Secure, ck.HttpOnly)
				}
			}
		}
		if !found {
			t.Errorf("%s: no session cookie (status %d)", tc.name, resp.StatusCode)
		}
	}
}
