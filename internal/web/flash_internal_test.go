package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
)

// flashHandler is an interface over a service whose clock the test sets.
func flashHandler(t *testing.T) (*Handler, *time.Time) {
	t.Helper()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	svc := app.New(app.Config{Now: func() time.Time { return now }, SealKey: bytes.Repeat([]byte{9}, 32)})
	return New(svc, Options{}), &now
}

// issue runs redirect (c: the session, nil: signed out of tenant) and
// returns where it sends the browser.
func issue(t *testing.T, h *Handler, c *reqCtx, tenant, to, msg string) string {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/form", nil)
	if c != nil {
		h.redirect(w, r, c, to, msg)
	} else {
		h.redirectSignedOut(w, r, tenant, msg)
	}
	if w.Code != http.StatusSeeOther {
		t.Fatalf("redirect: %d", w.Code)
	}
	return w.Header().Get("Location")
}

// shown is the status message a page at loc shows to c (nil: signed
// out). A browser does not send the fragment.
func shown(h *Handler, loc string, c *reqCtx) string {
	loc, _, _ = strings.Cut(loc, "#")
	return h.flash(httptest.NewRequest("GET", loc, nil), c)
}

// TestFlashBoundToPageSessionAndTime: a status message the server issued
// is shown only on the page it was issued for, in the session it was
// issued to (signed out: on the sign-in page of the tenant), for
// FlashTTL; replayed anywhere else, to anyone else or later, with its
// time changed, or dated in the future, it is not shown.
func TestFlashBoundToPageSessionAndTime(t *testing.T) {
	h, now := flashHandler(t)
	a := &reqCtx{P: app.Principal{Tenant: "local", Actor: "ann"}, session: "session-a"}
	b := &reqCtx{P: app.Principal{Tenant: "local", Actor: "ann"}, session: "session-b"}
	other := &reqCtx{P: app.Principal{Tenant: "beta", Actor: "eve"}, session: "session-e"}
	const msg = "User eve added with the viewer role."
	loc := issue(t, h, a, "", "/admin#users", msg)
	if shown(h, loc, a) != msg {
		t.Fatalf("the message is not shown where it was issued: %s", loc)
	}
	u, _ := url.Parse(loc)
	q := u.Query()
	for what, c := range map[string]*reqCtx{"another session of the same user": b, "another tenant's session": other, "a signed-out page": nil} {
		if got := shown(h, loc, c); got != "" {
			t.Errorf("shown to %s: %q", what, got)
		}
	}
	for _, page := range []string{"/alerts", "/login", "/admin/", "/Admin"} {
		if got := shown(h, page+"?"+q.Encode(), a); got != "" {
			t.Errorf("shown on %s: %q", page, got)
		}
	}
	moved := url.Values{"flash": {msg}, "fs": {q.Get("fs")}, "ft": {strconv.FormatInt(now.Unix()+60, 10)}}
	if got := shown(h, "/admin?"+moved.Encode(), a); got != "" {
		t.Errorf("shown with its time changed: %q", got)
	}
	if got := shown(h, "/admin?"+url.Values{"flash": {msg}, "fs": {q.Get("fs")}}.Encode(), a); got != "" {
		t.Errorf("shown without its time: %q", got)
	}
	// Its age.
	*now = now.Add(FlashTTL)
	if shown(h, loc, a) != msg {
		t.Errorf("not shown %v after it was issued", FlashTTL)
	}
	*now = now.Add(time.Second)
	if got := shown(h, loc, a); got != "" {
		t.Errorf("shown %v after it was issued: %q", FlashTTL+time.Second, got)
	}
	// Tagged for a time to come (another server's clock a minute ahead
	// is allowed, more is not).
	for skew, want := range map[time.Duration]string{time.Minute: msg, 2 * time.Minute: ""} {
		at := now.Add(skew).Unix()
		v := url.Values{"flash": {msg}, "ft": {strconv.FormatInt(at, 10)}, "fs": {h.flashTag("/admin", flashBinding(nil, a), at, msg)}}
		if got := shown(h, "/admin?"+v.Encode(), a); got != want {
			t.Errorf("issued %v ahead: %q, want %q", skew, got, want)
		}
	}
	// Signed out: the sign-in page of the tenant signed out of.
	loc = issue(t, h, nil, "beta", "", "You are signed out.")
	if shown(h, loc, nil) != "You are signed out." {
		t.Fatalf("the sign-out message is not shown: %s", loc)
	}
	u, _ = url.Parse(loc)
	q = u.Query()
	q.Set("tenant", "local")
	if got := shown(h, "/login?"+q.Encode(), nil); got != "" {
		t.Errorf("shown on another tenant's sign-in page: %q", got)
	}
	q.Del("tenant")
	if got := shown(h, "/login?"+q.Encode(), nil); got != "" {
		t.Errorf("shown on the default tenant's sign-in page: %q", got)
	}
	if got := shown(h, loc, other); got != "" {
		t.Errorf("a signed-out message shown in a session: %q", got)
	}
}
