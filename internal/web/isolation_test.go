package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/internal/web"
)

// One tenant's session cannot read another's pages or data: every route
// of the interface is requested with tenant A's cookie (the operator's
// admin, who may do the most) aimed at tenant B's objects, and nothing of
// B's shows; B's own admin, aimed at A's objects, sees nothing of A's.
func TestTenantIsolationEveryRoute(t *testing.T) {
	f := getFixture(t)
	a := newClient(t, f)
	if resp := a.login("local", "admin", password); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login A: %d", resp.StatusCode)
	}
	b := newClient(t, f)
	if resp := b.login(bTenant, bUser, password); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login B: %d", resp.StatusCode)
	}
	// B sees its own things: the markers are real.
	for path, want := range map[string]string{"/portfolios/" + bPortfolio: bShip, "/vessels/" + stsIMO: bReason, "/admin": bKey, "/jobs/" + f.bJob: f.bJob,
		"/vessels/" + dprkMMSI + "?as_of=2026-03-04&window=4d": bSigner} {
		if resp, body := b.get(path); resp.StatusCode != 200 || !strings.Contains(body, want) {
			t.Fatalf("B's own %s: %d, lacks %q", path, resp.StatusCode, want)
		}
	}
	if _, body := b.get("/admin"); !strings.Contains(body, bHook) {
		t.Fatal("B's admin page lacks its webhook")
	}
	// (The operator's own audit log records that it made tenant B and its
	// first user: B's second user, made by B, is B's secret.)
	bSecrets := []string{bPortfolio, bShip, bReason, bKey, bHook, bUser + "2", f.bJob, "B SECRET OWNER", bSigner}
	aSecrets := []string{aPortfolio, aReasonMark, "underwriter2", "STS TANKER"}

	// Path parameters aimed at the other tenant's objects.
	fill := func(path, portfolio, job string, alert int64) string {
		r := strings.NewReplacer("{$}", "", "{vessel}", stsIMO, "{name}", "admin", "{key}", "x")
		switch {
		case strings.HasPrefix(path, "/alerts/"):
			path = strings.Replace(path, "{id}", fmt.Sprint(alert), 1)
		case strings.HasPrefix(path, "/portfolios/"):
			path = strings.Replace(path, "{id}", portfolio, 1)
		case strings.HasPrefix(path, "/jobs/"):
			path = strings.Replace(path, "{id}", job, 1)
		case strings.HasPrefix(path, "/decisions/"), strings.HasPrefix(path, "/admin/"):
			path = strings.Replace(path, "{id}", "1", 1)
		}
		path = r.Replace(path)
		if strings.Contains(path, "{") {
			t.Fatalf("route %s: a path parameter this test does not fill: add it", path)
		}
		return path
	}
	query := map[string]string{
		"/vessels/{vessel}/track.json": "?mmsi=445000101&from=1772323200&to=1772582400&zoom=6",
		"/geo/land.json":               "?bbox=30,120,40,130&zoom=5",
		"/geo/ports.json":              "?bbox=30,120,40,130&zoom=6",
		"/jobs/{id}/result":            "?format=csv",
		"/events":                      "?zone=sts-korea-bay-nampo-chodo",
		"/lists/diff":                  "",
	}
	h := web.New(f.svc, web.Options{})
	gets, posts := 0, 0
	for _, rt := range h.Routes() {
		for _, side := range []struct {
			who     string
			c       *client
			pf, job string
			alert   int64
			secrets []string
		}{{"A", a, bPortfolio, f.bJob, f.bAlert, bSecrets}, {"B", b, aPortfolio, "0000000000000000", f.aAlert, aSecrets}} {
			path := fill(rt.Path, side.pf, side.job, side.alert)
			if rt.Method == "GET" {
				if rt.Path == "/alerts/stream" {
					continue // a stream that never ends; TestAlertStreamIsPerTenant
				}
				gets++
				resp, body := side.c.get(path + query[rt.Path])
				for _, s := range side.secrets {
					if strings.Contains(body, s) && !strings.Contains(path, s) { // an id asked for is echoed in "no such"
						t.Errorf("%s's session reads %q on GET %s (%d)", side.who, s, path, resp.StatusCode)
					}
				}
				if strings.Contains(rt.Path, "/portfolios/{id}") || strings.Contains(rt.Path, "/jobs/{id}") {
					if resp.StatusCode != http.StatusNotFound {
						t.Errorf("%s's session on the other tenant's %s: %d, want 404", side.who, path, resp.StatusCode)
					}
				}
				continue
			}
			// State changes aimed at the other tenant's objects change
			// nothing of theirs (not found), and say nothing of them.
			if !strings.Contains(rt.Path, "{") || rt.Path == "/admin/users/{name}/disabled" || strings.HasPrefix(rt.Path, "/vessels/") {
				continue
			}
			posts++
			resp, body := side.c.post(path, url.Values{"csrf": {side.c.csrf}, "reason": {"x"}, "approve": {"yes"}})
			for _, s := range side.secrets {
				if strings.Contains(body, s) && !strings.Contains(path, s) {
					t.Errorf("%s's session reads %q on POST %s", side.who, s, path)
				}
			}
			if strings.HasPrefix(rt.Path, "/portfolios/") && resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s's POST %s: %d, want 404", side.who, path, resp.StatusCode)
			}
		}
	}
	// B's alert, decision, webhook and portfolio are as they were.
	if _, body := b.get("/portfolios/" + bPortfolio); !strings.Contains(body, bShip) {
		t.Error("B's portfolio changed")
	}
	if _, body := b.get("/admin"); !strings.Contains(body, bHook) {
		t.Error("B's webhook was removed by another tenant")
	}
	t.Logf("%d GET and %d POST requests across %d routes", gets, posts, len(h.Routes()))
}
