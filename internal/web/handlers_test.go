package web_test

import (
	"bufio"
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/web"
	"github.com/tidewatch/tidewatch/store"
)

// Four eyes through the interface: an override is pending until another
// underwriter approves it; its maker cannot.
func TestDecisionFourEyes(t *testing.T) {
	f := getFixture(t)
	op := app.LocalPrincipal("fixture")
	if _, err := f.svc.CreateTenant(t.Context(), op, "insurer-c", "Insurer C", store.TenantPolicy{FourEyes: true}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"uw1", "uw2"} {
		if _, err := f.svc.CreateUser(t.Context(), op, "insurer-c", u, "underwriter", password); err != nil {
			t.Fatal(err)
		}
	}
	one, two := newClient(t, f), newClient(t, f)
	one.login("insurer-c", "uw1", password)
	two.login("insurer-c", "uw2", password)
	q := "?as_of=2026-03-04T00:00:00Z&window=3d"
	_, page := one.get("/vessels/" + stsIMO + q)
	if !strings.Contains(page, "four eyes") {
		t.Error("the decision form does not say the tenant asks for four eyes")
	}
	resp, body := one.post("/vessels/"+stsIMO+"/decisions"+q, url.Values{"csrf": {one.csrf}, "decision": {"accept"}, "reason": {"long-standing member"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "override reason") {
		t.Fatalf("override without its reason: %d", resp.StatusCode)
	}
	resp, _ = one.post("/vessels/"+stsIMO+"/decisions"+q, url.Values{"csrf": {one.csrf}, "decision": {"accept"}, "reason": {"long-standing member"}, "override_reason": {"STS was a bunkering"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "pending+approval") {
		t.Fatalf("override: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	ds, err := f.svc.Decisions(t.Context(), app.Principal{Tenant: "insurer-c", Actor: "uw1", Role: app.RoleUnderwriter}, store.VesselQuery{})
	if err != nil || len(ds) != 1 || ds[0].Status != app.DecisionPending {
		t.Fatalf("decisions %+v %v", ds, err)
	}
	id := ds[0].ID
	// The maker is not offered, and is refused, the approval.
	if _, page := one.get("/vessels/" + stsIMO + q); strings.Contains(page, "/decisions/"+itoa(id)+"/approval") {
		t.Error("the maker is offered to approve their own override")
	}
	if resp, _ := one.post("/decisions/"+itoa(id)+"/approval", url.Values{"csrf": {one.csrf}, "approve": {"yes"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the maker approves: %d", resp.StatusCode)
	}
	if _, page := two.get("/vessels/" + stsIMO + q); !strings.Contains(page, "/decisions/"+itoa(id)+"/approval") {
		t.Error("another underwriter is not offered the approval")
	}
	resp, _ = two.post("/decisions/"+itoa(id)+"/approval", url.Values{"csrf": {two.csrf}, "approve": {"yes"}, "back": {"https://evil.example/"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/?flash=") {
		t.Errorf("approval: %d %s (an outside 'back' must not be followed)", resp.StatusCode, resp.Header.Get("Location"))
	}
	ds, _ = f.svc.Decisions(t.Context(), app.Principal{Tenant: "insurer-c", Actor: "uw2", Role: app.RoleUnderwriter}, store.VesselQuery{})
	if ds[0].Status != app.DecisionInForce || ds[0].ApprovedBy != "uw2" {
		t.Errorf("after approval: %+v", ds[0])
	}
}

// h-try4's web variant of one admin passing four eyes alone: the admin
// overrides, adds an underwriter with a password of their choosing,
// signs in as them and approves: refused, saying why; an underwriter the
// admin did not add approves. The admin's key form binds a key to the
// admin only.
func TestFourEyesOneAdminWeb(t *testing.T) {
	f := getFixture(t)
	op := app.LocalPrincipal("fixture")
	if _, err := f.svc.CreateTenant(t.Context(), op, "one-admin", "One admin", store.TenantPolicy{FourEyes: true}); err != nil {
		t.Fatal(err)
	}
	for u, role := range map[string]string{"boss": "admin", "uw": "underwriter"} {
		if _, err := f.svc.CreateUser(t.Context(), op, "one-admin", u, role, password); err != nil {
			t.Fatal(err)
		}
	}
	boss := newClient(t, f)
	boss.login("one-admin", "boss", password)
	q := "?as_of=2026-03-04T00:00:00Z&window=3d"
	resp, _ := boss.post("/vessels/"+stsIMO+"/decisions"+q, url.Values{"csrf": {boss.csrf}, "decision": {"accept"}, "reason": {"long-standing member"}, "override_reason": {"no second person"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "pending+approval") {
		t.Fatalf("override: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	viewer := app.Principal{Tenant: "one-admin", Actor: "boss", Role: app.RoleViewer}
	ds, err := f.svc.Decisions(t.Context(), viewer, store.VesselQuery{})
	if err != nil || len(ds) != 1 {
		t.Fatalf("decisions %+v %v", ds, err)
	}
	id := ds[0].ID
	if resp, _ := boss.post("/admin/users", url.Values{"csrf": {boss.csrf}, "name": {"ghost"}, "role": {"underwriter"}, "password": {password}, "again": {password}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the admin adds ghost: %d", resp.StatusCode)
	}
	if _, page := boss.get("/admin"); !strings.Contains(page, "added by boss") {
		t.Error("the users table does not say who added ghost")
	}
	ghost := newClient(t, f)
	ghost.login("one-admin", "ghost", password)
	resp, body := ghost.post("/decisions/"+itoa(id)+"/approval", url.Values{"csrf": {ghost.csrf}, "approve": {"yes"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "ghost was added by boss") {
		t.Errorf("ghost, added by boss, approves boss's override: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	uw := newClient(t, f)
	uw.login("one-admin", "uw", password)
	if resp, _ := uw.post("/decisions/"+itoa(id)+"/approval", url.Values{"csrf": {uw.csrf}, "approve": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("uw approves: %d", resp.StatusCode)
	}
	if ds, _ = f.svc.Decisions(t.Context(), viewer, store.VesselQuery{}); ds[0].Status != app.DecisionInForce || ds[0].ApprovedBy != "uw" {
		t.Errorf("after uw's approval: %+v", ds[0])
	}
	// The key form: "bound to me" binds the key to boss.
	// (Made with a redirect to the Admin page, which lists it.)
	resp, _ = boss.post("/admin/keys", url.Values{"csrf": {boss.csrf}, "name": {"laptop"}, "role": {"underwriter"}, "ttl": {"1d"}, "bound": {"me"}})
	if _, page := boss.get("/admin"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(page, "laptop (acts as boss)") {
		t.Errorf("a key bound to boss: %d", resp.StatusCode)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// The live stream carries the session's tenant's alerts only.
func TestAlertStreamIsPerTenant(t *testing.T) {
	f := getFixture(t)
	a := newClient(t, f)
	a.login("local", "analyst", password)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/alerts/stream", nil)
	resp, err := a.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// Tenant B's alert changes first, then one of A's.
	b := app.Principal{Tenant: bTenant, Actor: bUser, Role: app.RoleAdmin}
	if _, err := f.svc.CloseAlert(t.Context(), b, f.bAlert, "B's own business", false); err != nil && app.CodeOf(err) != app.CodePrecondition {
		t.Fatal(err)
	}
	as, _ := f.svc.Alerts(t.Context(), app.LocalPrincipal("x"), store.AlertFilter{States: []string{app.AlertOpen, app.AlertAcknowledged}})
	if len(as) == 0 {
		t.Skip("no open alert of A left to change")
	}
	if _, err := f.svc.CloseAlert(t.Context(), app.Principal{Tenant: "local", Actor: "analyst", Role: app.RoleAnalyst}, as[0].ID, "stream test", false); err != nil {
		t.Fatal(err)
	}
	var data []string
	for line := range lines {
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			data = append(data, d)
			if strings.Contains(d, `"state":"closed"`) {
				break
			}
		}
	}
	if len(data) == 0 {
		t.Fatal("no alert came down A's stream")
	}
	for _, d := range data {
		if strings.Contains(d, bShip) || strings.Contains(d, bPortfolio) {
			t.Errorf("A's stream carried B's alert: %s", d)
		}
	}
}

// Whatever a tenant's data holds is shown as text, never as markup.
func TestEverythingEscaped(t *testing.T) {
	f := getFixture(t)
	op := app.LocalPrincipal("fixture")
	evil := `<script>alert("x")</script><img src=x onerror=alert(1)>`
	if _, err := f.svc.CreatePortfolio(t.Context(), op, "xss", evil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AddVessels(t.Context(), op, "xss", []app.VesselEntry{{ID: "x1", IMO: "9321744", Name: evil, Parties: []store.Party{{Role: "owner", Name: evil}}}}, nil); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, f)
	c.login("local", "viewer", password)
	for _, p := range []string{"/portfolios/xss", "/portfolios", "/", "/audit?subject=" + url.QueryEscape(evil), "/vessels?q=" + url.QueryEscape(evil)} {
		_, body := c.get(p)
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Errorf("%s renders markup from data", p)
		}
	}
	if _, body := c.get("/portfolios/xss"); !strings.Contains(body, "&lt;script&gt;") {
		t.Error("the escaped name is not shown")
	}
	// Search and flash messages from the URL are text too.
	if _, body := c.get("/alerts?flash=" + url.QueryEscape(evil)); strings.Contains(body, "<script>alert") {
		t.Error("a flash message renders markup")
	}
}

// Bad input is a clear 4xx, never a crash.
func TestBadInputs(t *testing.T) {
	f := getFixture(t)
	c := newClient(t, f)
	c.login("local", "analyst", password)
	for path, want := range map[string]int{
		"/vessels/123":                                                           400,
		"/vessels/9300207?as_of=yesterday":                                       400,
		"/vessels/9300207?window=forever":                                        400,
		"/vessels/9300207/track.json?mmsi=abc":                                   400,
		"/vessels/9300207/track.json?mmsi=445000101&from=1&to=2&zoom=99":         400,
		"/vessels/9300207/track.json?mmsi=445000101&from=9&to=2&zoom=5":          400,
		"/vessels/9300207/track.json?mmsi=445000101&from=1&to=9&zoom=5&bbox=1,2": 400,
		"/geo/land.json?bbox=garbage&zoom=3":                                     400,
		"/geo/land.json?bbox=10,10,0,20&zoom=3":                                  400,
		"/geo/land.json?bbox=0,0,10,10&zoom=-1":                                  400,
		"/geo/ports.json?bbox=0,0,10,10":                                         400,
		"/events?bbox=1,2":                                                       400,
		"/events?kind=teleport":                                                  400,
		"/events?zone=atlantis":                                                  400,
		"/events?severity=apocalyptic":                                           400,
		"/events?from=2026-13-45":                                                400,
		"/alerts/abc":                                                            404,
		"/alerts/999999":                                                         404,
		"/alerts?state=weird":                                                    400,
		"/alerts?kind=evnt":                                                      400,
		"/alerts?state=all&portfolio=nope":                                       404,
		"/audit?after=-1":                                                        400,
		"/jobs/nope":                                                             404,
		"/jobs/nope/result?format=csv":                                           404,
		"/lists/diff?from=nope&to=nope":                                          404,
		"/portfolios/nope":                                                       404,
	} {
		resp, _ := c.get(path)
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	for path, v := range map[string]url.Values{
		"/screen":                 {"csrf": {c.csrf}},
		"/screen/jobs":            {"csrf": {c.csrf}},
		"/alerts/1/close":         {"csrf": {c.csrf}, "reason": {"  "}},
		"/portfolios":             {"csrf": {c.csrf}, "id": {"Not An Id!"}},
		"/portfolios/nope/import": {"csrf": {c.csrf}},
	} {
		resp, _ := c.post(path, v)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("POST %s: %d, want a 4xx", path, resp.StatusCode)
		}
	}
}

// Served from the binary: no page, style or script refers to another
// host (no CDN, no tile server), and the vendored Leaflet keeps its
// licence.
func TestNothingFromOutside(t *testing.T) {
	outside := regexp.MustCompile(`(?i)(src|href|url)\s*[=(]\s*["']?(https?:)?//`)
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasPrefix(path, "templates") || strings.HasPrefix(path, "static")) {
			return err
		}
		if strings.HasSuffix(path, ".png") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if m := outside.Find(b); m != nil && !strings.HasSuffix(path, "leaflet.js") {
			t.Errorf("%s refers to another host: %s", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile("static/vendor/leaflet/LICENSE"); err != nil || !strings.Contains(string(b), "Volodymyr Agafonkin") {
		t.Errorf("Leaflet's licence is missing: %v", err)
	}
	f := getFixture(t)
	c := newClient(t, f)
	resp, _ := c.get("/static/vendor/leaflet/leaflet.js")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age") {
		t.Errorf("leaflet.js: %d %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if resp, _ := c.get("/static/"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the static folder lists itself: %d", resp.StatusCode)
	}
}

// A server shutting down ends the open alert streams (Options.Done), so
// its graceful shutdown does not wait on every open inbox.
func TestAlertStreamEndsOnShutdown(t *testing.T) {
	f := getFixture(t)
	done := make(chan struct{})
	srv := httptest.NewServer(web.New(f.svc, web.Options{Done: done}))
	defer srv.Close()
	c := newClient(t, f)
	c.base = srv.URL
	c.login("local", "viewer", password)
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/alerts/stream", nil)
	resp, err := c.hc.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v", err)
	}
	ended := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, resp.Body); ended <- err }()
	close(done)
	select {
	case err := <-ended:
		if err != nil {
			t.Errorf("the stream ended with %v, want a clean end", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream outlived the shutdown")
	}
}

// A status message is shown only when the server issued it (a redirect
// after a form): a link that puts its own wording in ?flash= shows
// nothing, nor does one pairing another message's tag with other text.
func TestFlashOnlyFromTheServer(t *testing.T) {
	f := getFixture(t)
	c := newClient(t, f)
	c.login("local", "viewer", password)
	lie := "Your account is locked, call +1 555 0100"
	if _, body := c.get("/alerts?flash=" + url.QueryEscape(lie)); strings.Contains(body, "account is locked") {
		t.Error("a flash message from a link is shown")
	}
	resp, _ := c.post("/logout", url.Values{"csrf": {c.csrf}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "flash=") {
		t.Fatalf("sign out: %d %q", resp.StatusCode, loc)
	}
	if _, body := c.get(loc); !strings.Contains(body, "You are signed out.") {
		t.Errorf("the server's own message is not shown on %s", loc)
	}
	u, _ := url.Parse(loc)
	q := u.Query()
	// Replayed on another tenant's sign-in page (a link sent to its
	// users), or on another page: not shown (TestFlashBoundToPageSessionAndTime
	// has the session and the time).
	q.Set("tenant", bTenant)
	if _, body := c.get("/login?" + q.Encode()); strings.Contains(body, "You are signed out.") {
		t.Error("a sign-out message is shown on another tenant's sign-in page")
	}
	q.Del("tenant")
	c.login("local", "viewer", password)
	if _, body := c.get("/alerts?" + q.Encode()); strings.Contains(body, "You are signed out.") {
		t.Error("a sign-out message is shown on another page")
	}
	q.Set("flash", lie)
	if _, body := c.get("/login?" + q.Encode()); strings.Contains(body, "account is locked") {
		t.Error("another message's tag authenticates any text")
	}
}
