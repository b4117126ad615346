package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/internal/app"
)

// TestUnknownQueryParameter: a /v1 route refuses a query parameter it
// does not take, naming the ones it does (a mistyped filter would
// otherwise be ignored and the answer hold everything).
func TestUnknownQueryParameter(t *testing.T) {
	e := env(t)
	h := New(e.svc, Options{})
	key := e.key("tenant-a", app.RoleAdmin)
	for _, c := range []struct{ url, want string }{
		{"/v1/events?mmsi=667000202", `unknown query parameter \"mmsi\": GET /v1/events takes vessel, kind`},
		{"/v1/vessels/9300207/profile?asof=2026-03-04", `unknown query parameter \"asof\"`},
		{"/v1/keys?tenant=club-b", `unknown query parameter \"tenant\": GET /v1/keys takes none`},
	} {
		r := httptest.NewRequest("GET", c.url, nil)
		r.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), c.want) || !strings.Contains(w.Body.String(), `"invalid_argument"`) {
			t.Errorf("GET %s: %d %s, want 400 with %s", c.url, w.Code, w.Body, c.want)
		}
	}
	// The compatible routes keep taking what their clients send.
	r := httptest.NewRequest("GET", "/search/default?q=KOTI&unknown_extra=1", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Errorf("yente search with an extra parameter: %d %s", w.Code, w.Body)
	}
}

// TestDocumentedQueryParameters: every query parameter docs/api.md uses
// on a /v1 route is one the route takes.
func TestDocumentedQueryParameters(t *testing.T) {
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	e := env(t)
	s := New(e.svc, Options{})
	n := 0
	for _, m := range regexp.MustCompile(`\$U(/v1/[^"' ?]*)\?([^"' ]*)`).FindAllStringSubmatch(string(doc), -1) {
		path, q := m[1], m[2]
		var routes []*route
		for _, rt := range s.routes {
			if pathMatches(rt.path, path) {
				routes = append(routes, rt)
			}
		}
		if len(routes) == 0 {
			t.Errorf("docs/api.md: no route for %s", path)
			continue
		}
		vals, err := url.ParseQuery(q)
		if err != nil {
			t.Errorf("docs/api.md: %s?%s: %v", path, q, err)
			continue
		}
		for name := range vals {
			ok := false
			for _, rt := range routes {
				ok = ok || rt.takesQuery(name)
			}
			if !ok {
				t.Errorf("docs/api.md: %s?%s: no route %s takes %q", path, q, path, name)
			}
			n++
		}
	}
	if n < 20 {
		t.Fatalf("only %d documented query parameters found: has docs/api.md changed its shape?", n)
	}
}

// pathMatches says whether a concrete path fits a route's pattern.
func pathMatches(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if !strings.HasPrefix(ps[i], "{") && ps[i] != xs[i] {
			return false
		}
	}
	return true
}
