package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/web"
	"github.com/tidewatch/tidewatch/store/postgres"
	"github.com/tidewatch/tidewatch/store/postgres/pgtest"
)

// webNode is one API node: a service on a connection pool of its own and
// the web interface over it.
type webNode struct {
	svc *app.Service
	srv *httptest.Server
}

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// signIn signs a user in on a node and returns the session cookie's
// value ("TOKEN.CSRF").
func (n webNode) signIn(t *testing.T, user, pw string) string {
	t.Helper()
	resp, err := noRedirects.Get(n.srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var tok string
	for _, c := range resp.Cookies() {
		if c.Name == "tw_login" {
			tok = c.Value
		}
	}
	form := url.Values{"tenant": {app.LocalTenant}, "user": {user}, "password": {pw}, "login_token": {tok}, "next": {"/"}}
	req, _ := http.NewRequest("POST", n.srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "tw_login", Value: tok})
	resp, err = noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "tw_session" && c.Value != "" {
			return c.Value
		}
	}
	t.Fatalf("sign-in on %s: %s, no session cookie", n.srv.URL, resp.Status)
	return ""
}

// do sends a request with a session cookie; form, when not nil, is posted
// with the session's CSRF token unless csrf is false.
func (n webNode) do(t *testing.T, session, path string, form url.Values, csrf bool) *http.Response {
	t.Helper()
	method, body := "GET", ""
	if form != nil {
		method = "POST"
		if csrf {
			_, tok, _ := strings.Cut(session, ".")
			form.Set("csrf", tok)
		}
		body = form.Encode()
	}
	req, _ := http.NewRequest(method, n.srv.URL+path, strings.NewReader(body))
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.AddCookie(&http.Cookie{Name: "tw_session", Value: session})
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// signedIn says a session opens the account page on a node (a page
// redirects to the sign-in form otherwise).
func (n webNode) signedIn(t *testing.T, session string) bool {
	t.Helper()
	resp := n.do(t, session, "/account", nil, false)
	switch {
	case resp.StatusCode == http.StatusOK:
		return true
	case resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/login"):
		return false
	}
	t.Fatalf("GET /account: %s", resp.Status)
	return false
}

// TestSessionsOnEveryNode: two API nodes on one PostgreSQL store. A
// session opened on A works on B, its CSRF token too (a form posted on B
// with it is done, one without it refused); signing out on A ends it on
// B; a password changed on A ends the user's sessions on B; an API key
// revoked on A is refused on B once B's key cache (app.KeyCacheTTL, on
// the service's clock) has lapsed.
func TestSessionsOnEveryNode(t *testing.T) {
	base := pgtest.URL(t)
	ctx := context.Background()
	var clock atomic.Pointer[time.Time]
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	clock.Store(&t0)
	now := func() time.Time { return *clock.Load() }
	var nodes []webNode
	for range 2 {
		db, err := postgres.Open(ctx, base+"&pool_max_conns=4", postgres.Options{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		svc := app.New(app.Config{Store: db, Now: now})
		srv := httptest.NewServer(web.New(svc, web.Options{}))
		t.Cleanup(func() { srv.Close(); svc.Close(); db.Close() })
		nodes = append(nodes, webNode{svc: svc, srv: srv})
	}
	a, b := nodes[0], nodes[1]
	op := app.LocalPrincipal("test")
	const pw, pw2 = "correct horse battery", "another horse battery"
	if _, err := a.svc.CreateUser(ctx, op, app.LocalTenant, "alice", "admin", pw); err != nil {
		t.Fatal(err)
	}

	s1 := a.signIn(t, "alice", pw)
	if !b.signedIn(t, s1) {
		t.Fatal("a session opened on A is not signed in on B")
	}
	if resp := b.do(t, s1, "/portfolios", url.Values{"id": {"from-b"}, "name": {"made on B"}}, false); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a form without the CSRF token on B: %s", resp.Status)
	}
	if resp := b.do(t, s1, "/portfolios", url.Values{"id": {"from-b"}, "name": {"made on B"}}, true); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a form with the CSRF token of A's session on B: %s", resp.Status)
	}
	if pfs, err := a.svc.Portfolios(ctx, op); err != nil || len(pfs) != 1 || pfs[0].ID != "from-b" {
		t.Errorf("the portfolios after a form posted on B: %+v, %v", pfs, err)
	}
	if resp := a.do(t, s1, "/logout", url.Values{}, true); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out on A: %s", resp.Status)
	}
	if b.signedIn(t, s1) {
		t.Error("a session signed out on A goes on on B")
	}

	s2, s3 := a.signIn(t, "alice", pw), b.signIn(t, "alice", pw)
	if !a.signedIn(t, s3) || !b.signedIn(t, s2) {
		t.Fatal("sessions opened on either node are not signed in on the other")
	}
	form := url.Values{"old": {pw}, "new": {pw2}, "again": {pw2}}
	if resp := a.do(t, s2, "/account/password", form, true); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("change the password on A: %s", resp.Status)
	}
	if b.signedIn(t, s3) || a.signedIn(t, s3) {
		t.Error("a session opened on B goes on after the password changed on A")
	}
	if b.signedIn(t, b.signIn(t, "alice", pw2)) != true {
		t.Error("the new password does not sign in on B")
	}

	k, err := a.svc.CreateAPIKey(ctx, op, app.CreateKeyRequest{Name: "nodes", Role: "viewer"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Authenticate(ctx, k.Secret); err != nil {
		t.Fatalf("a key made on A, on B: %v", err)
	}
	if _, err := a.svc.RevokeAPIKey(ctx, op, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.Authenticate(ctx, k.Secret); err == nil {
		t.Error("a key revoked on A is accepted on A")
	}
	// B authenticated the key just before: it may accept it until the
	// bound docs/api.md states (5 s) has passed, never after.
	const bound = 5 * time.Second
	later := now().Add(bound + time.Millisecond)
	clock.Store(&later)
	if _, err := b.svc.Authenticate(ctx, k.Secret); err == nil {
		t.Errorf("a key revoked on A is accepted on B %s later", bound+time.Millisecond)
	}
}
