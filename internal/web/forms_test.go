package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/screen"
	"github.com/tidewatch/tidewatch/store"
)

// A form refused for what the person typed (a missing override reason, a
// bad lifetime, a name taken) shows its page again: the message beside
// the form, the fields as typed, the refusal's status; not the error page.
func TestRefusedFormsShowTheFormAgain(t *testing.T) {
	f := getFixture(t)
	errorPage := "Back to the dashboard"
	check := func(what string, resp *http.Response, body string, status int, want ...string) {
		t.Helper()
		if resp.StatusCode != status {
			t.Errorf("%s: HTTP %d, want %d", what, resp.StatusCode, status)
		}
		if strings.Contains(body, errorPage) {
			t.Errorf("%s: the error page answered, not the form's page", what)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: the page lacks %q", what, w)
			}
		}
	}

	// The decision form: an override without its reason.
	uw := newClient(t, f)
	uw.login("local", "underwriter", password)
	q := "?as_of=2026-03-04T00:00:00Z&window=3d"
	resp, body := uw.post("/vessels/"+stsIMO+"/decisions"+q, url.Values{"csrf": {uw.csrf}, "decision": {"accept"},
		"reason": {"known <owner> for years"}, "override_reason": {""}})
	check("decision", resp, body, http.StatusUnprocessableEntity, `id="decide-form"`, `id="decide-error"`, "needs an override reason",
		`value="accept" checked`, "known &lt;owner&gt; for years</textarea>", `id="recommendation"`)
	if strings.Contains(body, `value="decline" required checked`) {
		t.Error("decision: another choice is ticked")
	}
	// Scripts keep the JSON error.
	req, _ := http.NewRequest("POST", f.srv.URL+"/vessels/"+stsIMO+"/decisions"+q, strings.NewReader(url.Values{"decision": {"accept"}, "reason": {"x"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", uw.csrf)
	jr, err := uw.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	jr.Body.Close()
	if jr.StatusCode != http.StatusUnprocessableEntity || !strings.HasPrefix(jr.Header.Get("Content-Type"), "application/json") {
		t.Errorf("decision from a script: %d %s, want 422 JSON", jr.StatusCode, jr.Header.Get("Content-Type"))
	}

	// The screening form with nothing to screen.
	resp, body = uw.post("/screen", url.Values{"csrf": {uw.csrf}, "type": {"organization"}, "flag": {"KP"}})
	check("screen", resp, body, http.StatusBadRequest, `id="screen-error"`, "give a name", `value="organization" selected`, `id="s-flag" name="flag" value="KP"`)

	// The Admin page's forms.
	ad := newClient(t, f)
	ad.login("local", "admin", password)
	resp, body = ad.post("/admin/users", url.Values{"csrf": {ad.csrf}, "name": {"newbie"}, "role": {"analyst"}, "password": {"a long password 1"}, "again": {"a long password 2"}})
	check("user: passwords differ", resp, body, http.StatusBadRequest, `id="user-error"`, "repetition differ", `id="u-name" name="name" required autocomplete="off" value="newbie"`, `value="analyst" selected`)
	if strings.Contains(body, "a long password") {
		t.Error("user: a password is written back into the page")
	}
	resp, body = ad.post("/admin/users", url.Values{"csrf": {ad.csrf}, "name": {"analyst"}, "role": {"viewer"}, "password": {"a long password 1"}, "again": {"a long password 1"}})
	check("user: name taken", resp, body, http.StatusConflict, `id="user-error"`, "exists", `value="analyst"`)
	resp, body = ad.post("/admin/keys", url.Values{"csrf": {ad.csrf}, "name": {"my-integration"}, "role": {"analyst"}, "ttl": {"banana"}})
	check("key", resp, body, http.StatusBadRequest, `id="key-error"`, "lifetime", `value="my-integration"`, `value="banana"`)
	if strings.Contains(body, `id="new-key"`) {
		t.Error("key: a refused key shows a secret")
	}
	resp, body = ad.post("/admin/webhooks", url.Values{"csrf": {ad.csrf}, "url": {"ftp://example.org/hook"}, "kinds": {"band_changed"}, "min_severity": {"high"}})
	check("webhook", resp, body, http.StatusBadRequest, `id="hook-error"`, `value="ftp://example.org/hook"`, `value="band_changed" checked`, `value="high" selected`)

	// The portfolio forms.
	an := newClient(t, f)
	an.login("local", "analyst", password)
	resp, body = an.post("/portfolios", url.Values{"csrf": {an.csrf}, "id": {"Not An ID"}, "name": {"My fleet"}})
	check("portfolio", resp, body, http.StatusBadRequest, `id="portfolio-error"`, `value="Not An ID"`, `value="My fleet"`)
	resp, body = an.post("/portfolios", url.Values{"csrf": {an.csrf}, "id": {aPortfolio}, "name": {"again"}})
	check("portfolio taken", resp, body, http.StatusConflict, `id="portfolio-error"`, "exists")
	resp, body = an.upload("/portfolios/"+aPortfolio+"/import", "fleet.csv", []byte("colour,size\nred,big\n"))
	check("import", resp, body, http.StatusBadRequest, `id="import-error"`, `id="fleet"`)

	// The account's password: a wrong current password.
	if _, err := f.svc.CreateUser(t.Context(), app.LocalPrincipal("fixture"), "", "forms-tester", "viewer", password); err != nil {
		t.Fatal(err)
	}
	vw := newClient(t, f)
	vw.login("local", "forms-tester", password)
	resp, body = vw.post("/account/password", url.Values{"csrf": {vw.csrf}, "old": {"not my password"}, "new": {"a new long password"}, "again": {"a new long password"}})
	check("password", resp, body, http.StatusForbidden, `id="password-error"`, "does not match")
	resp, body = vw.post("/account/password", url.Values{"csrf": {vw.csrf}, "old": {password}, "new": {"a new long password"}, "again": {"another one"}})
	check("password again", resp, body, http.StatusBadRequest, `id="password-error"`, "repetition differ")
}

var newKeyRE = regexp.MustCompile(`<code id="new-key-secret">([^<]+)</code>`)

// Making a key or a webhook on the Admin page answers with a redirect
// (POST-redirect-GET): reloading the page makes nothing again. The secret
// is shown once, on the next Admin page of the same session, and never
// travels in a URL.
func TestKeyAndWebhookPostRedirectGet(t *testing.T) {
	f := getFixture(t)
	ad := newClient(t, f)
	ad.login("local", "admin", password)
	keysBefore, _ := f.svc.APIKeys(t.Context(), app.LocalPrincipal("fixture"))

	resp, _ := ad.post("/admin/keys", url.Values{"csrf": {ad.csrf}, "name": {"prg-key"}, "role": {"viewer"}, "ttl": {"30d"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("making a key: HTTP %d, want 303 to the Admin page", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/admin") {
		t.Errorf("making a key: sent to %q", loc)
	}
	var once *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "tw_once" {
			once = ck
		}
	}
	if once == nil || !once.HttpOnly || once.Path != "/admin" || once.SameSite != http.SameSiteStrictMode || once.MaxAge <= 0 {
		t.Fatalf("the one-time cookie: %+v", once)
	}
	_, page := ad.get("/admin")
	m := newKeyRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the Admin page after making a key does not show its secret")
	}
	secret := m[1]
	if strings.Contains(loc, secret) || strings.Contains(once.Value, secret) {
		t.Error("the secret travels in the clear in the redirect")
	}
	if !strings.Contains(page, "prg-key") || !strings.Contains(page, `id="new-key"`) {
		t.Error("the secret is shown without the key's name")
	}
	// The secret is the key's: it opens the API.
	req, _ := http.NewRequest("GET", f.srv.URL+"/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusOK {
		t.Errorf("the secret shown does not open the API: %v %v", r, err)
	} else {
		r.Body.Close()
	}
	// Reloading shows it no more, and makes no other key.
	if _, again := ad.get("/admin"); strings.Contains(again, secret) || strings.Contains(again, `id="new-key"`) {
		t.Error("reloading the Admin page shows the secret again")
	}
	keysAfter, _ := f.svc.APIKeys(t.Context(), app.LocalPrincipal("fixture"))
	if len(keysAfter) != len(keysBefore)+1 {
		t.Errorf("keys: %d before, %d after one form and two page loads", len(keysBefore), len(keysAfter))
	}

	// Another session handed the cookie cannot read it.
	resp, _ = ad.post("/admin/keys", url.Values{"csrf": {ad.csrf}, "name": {"prg-key-2"}, "role": {"viewer"}, "ttl": {"30d"}})
	var stolen *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "tw_once" {
			stolen = ck
		}
	}
	other := newClient(t, f)
	other.login("local", "admin", password)
	u, _ := url.Parse(f.srv.URL + "/admin")
	other.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "tw_once", Value: stolen.Value, Path: "/admin"}})
	if _, p := other.get("/admin"); strings.Contains(p, `id="new-key"`) {
		t.Error("another session reads the one-time secret")
	}
	if _, p := ad.get("/admin"); !strings.Contains(p, `id="new-key"`) {
		t.Error("the second key's secret is not shown to its maker")
	}

	// A webhook likewise.
	resp, _ = ad.post("/admin/webhooks", url.Values{"csrf": {ad.csrf}, "url": {"http://127.0.0.1:9/prg-hook"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("adding a webhook: HTTP %d, want 303", resp.StatusCode)
	}
	_, page = ad.get("/admin")
	if !strings.Contains(page, `id="new-hook"`) || !strings.Contains(page, "prg-hook") {
		t.Error("the Admin page after adding a webhook does not show its secret")
	}
	if _, again := ad.get("/admin"); strings.Contains(again, `id="new-hook"`) {
		t.Error("reloading the Admin page shows the webhook's secret again")
	}
}

// The vessel page marks the decision in force now (the one in force
// recorded last) and the older ones as superseded; an override pending
// its second pair of eyes is not in force until approved.
func TestVesselPageMarksTheCurrentDecision(t *testing.T) {
	f := getFixture(t)
	op := app.LocalPrincipal("fixture")
	if _, err := f.svc.CreateTenant(t.Context(), op, "insurer-d", "Insurer D", store.TenantPolicy{FourEyes: true}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"uw1", "uw2"} {
		if _, err := f.svc.CreateUser(t.Context(), op, "insurer-d", u, "underwriter", password); err != nil {
			t.Fatal(err)
		}
	}
	one, two := newClient(t, f), newClient(t, f)
	one.login("insurer-d", "uw1", password)
	two.login("insurer-d", "uw2", password)
	q := "?as_of=2026-03-04T00:00:00Z&window=3d"
	decide := func(c *client, v url.Values) {
		t.Helper()
		v.Set("csrf", c.csrf)
		if resp, _ := c.post("/vessels/"+stsIMO+"/decisions"+q, v); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("decision %v: HTTP %d", v, resp.StatusCode)
		}
	}
	decide(one, url.Values{"decision": {"decline"}, "reason": {"first look"}})
	decide(two, url.Values{"decision": {"decline"}, "reason": {"second look"}})
	decide(one, url.Values{"decision": {"accept"}, "reason": {"cleared"}, "override_reason": {"the STS was bunkering"}})
	ds, err := f.svc.Decisions(t.Context(), app.Principal{Tenant: "insurer-d", Actor: "uw1", Role: app.RoleUnderwriter}, store.VesselQuery{})
	if err != nil || len(ds) != 3 {
		t.Fatalf("decisions: %d %v", len(ds), err)
	}
	d1, d2, d3 := itoa(ds[0].ID), itoa(ds[1].ID), itoa(ds[2].ID)
	row := func(page, id string) string {
		t.Helper()
		i := strings.Index(page, `<tr id="decision-`+id+`"`)
		if i < 0 {
			t.Fatalf("no row for decision %s", id)
		}
		j := strings.Index(page[i:], "</tr>")
		return page[i : i+j]
	}
	_, page := two.get("/vessels/" + stsIMO + q)
	if r := row(page, d2); !strings.Contains(r, `class="current"`) || !strings.Contains(r, "In force: current") {
		t.Errorf("decision %s (the last in force) is not marked current: %s", d2, r)
	}
	if r := row(page, d1); !strings.Contains(r, "Superseded") || !strings.Contains(r, `href="#decision-`+d2+`"`) || strings.Contains(r, "current") {
		t.Errorf("decision %s is not shown superseded by %s: %s", d1, d2, r)
	}
	if r := row(page, d3); !strings.Contains(r, "Pending approval") || strings.Contains(r, "current") {
		t.Errorf("the pending override %s: %s", d3, r)
	}
	if !regexp.MustCompile(`id="current-decision">Decision in force: <b>decline</b> \(#` + d2 + `,`).MatchString(page) {
		t.Errorf("the page's head does not name decision %s as in force", d2)
	}
	// Approved, the override is in force and the declines superseded.
	if resp, _ := two.post("/decisions/"+d3+"/approval", url.Values{"csrf": {two.csrf}, "approve": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approval: HTTP %d", resp.StatusCode)
	}
	_, page = one.get("/vessels/" + stsIMO + q)
	if r := row(page, d3); !strings.Contains(r, "In force: current") || !strings.Contains(r, "approved by uw2") {
		t.Errorf("the approved override %s: %s", d3, r)
	}
	if r := row(page, d2); !strings.Contains(r, "Superseded") || !strings.Contains(r, `href="#decision-`+d3+`"`) {
		t.Errorf("decision %s after the approval: %s", d2, r)
	}
	if strings.Count(page, "In force: current") != 1 {
		t.Errorf("%d decisions marked current", strings.Count(page, "In force: current"))
	}
}

// A screening hit on a listed vessel links to the vessel's page.
func TestScreeningHitLinksToTheVessel(t *testing.T) {
	f := getFixture(t)
	c := newClient(t, f)
	c.login("local", "viewer", password)
	resp, body := c.post("/screen", url.Values{"csrf": {c.csrf}, "type": {"vessel"}, "name": {"CHON MA SAN"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<a href="/vessels/8660313" class="hit-vessel">CHON MA SAN</a>`) {
		t.Errorf("screening CHON MA SAN: HTTP %d, no link to /vessels/8660313", resp.StatusCode)
	}
	if resp, _ := c.get("/vessels/8660313"); resp.StatusCode != http.StatusOK {
		t.Errorf("the hit's link answers %d", resp.StatusCode)
	}
	// A file's job links its best matches too.
	_, _ = c.upload("/screen/jobs", "ships.csv", []byte("id,name,imo\nr1,CHON MA SAN,8660313\n"))
	jobs, _ := f.svc.Jobs(app.Principal{Tenant: "local", Actor: "viewer", Role: app.RoleViewer})
	var id string
	for _, j := range jobs {
		if j.Actor == "viewer" && j.Kind == "screen" {
			id = j.ID
		}
	}
	if id == "" {
		t.Fatal("no screening job")
	}
	waitJob(t, f, id)
	if _, page := c.get("/jobs/" + id); !strings.Contains(page, `<a href="/vessels/8660313">CHON MA SAN</a>`) {
		t.Error("the job's hit does not link to the vessel")
	}
}

func waitJob(t *testing.T, f *fixture, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		j, _, err := f.svc.Job(app.LocalPrincipal("fixture"), id)
		if err == nil && j.State != app.JobRunning {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("job %s still running", id)
}

// A job whose total is not known (an ingest reads until its input ends)
// says how much it read, not "360 of 0".
func TestJobWithoutTotal(t *testing.T) {
	f := getFixture(t)
	p := app.Principal{Tenant: "local", Actor: "admin", Role: app.RoleAdmin, Person: "admin"}
	read, release := make(chan struct{}), make(chan struct{})
	j, err := f.svc.StartJob(p, "ingest", 0, func(ctx context.Context, pr app.JobProgress) (any, error) {
		pr.Set(360, 0, "360 fixes, 2 events stored")
		close(read)
		<-release
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	<-read
	c := newClient(t, f)
	c.login("local", "admin", password)
	check := func(what string) {
		t.Helper()
		for _, path := range []string{"/screen", "/jobs/" + j.ID} {
			_, page := c.get(path)
			if strings.Contains(page, "360 of 0") || !strings.Contains(page, "360 read") {
				i := strings.Index(page, j.ID)
				t.Errorf("%s, %s: %.300s", what, path, page[max(0, i):])
			}
		}
	}
	check("running")
	close(release)
	waitJob(t, f, j.ID)
	check("done")
}

var auditSeqRE = regexp.MustCompile(`<tr><td>(\d+)</td><td>`)

// The audit page lists the newest records first, paged back by record
// number; ?order=oldest lists them from the first.
func TestAuditNewestFirst(t *testing.T) {
	f := getFixture(t)
	op := app.LocalPrincipal("fixture")
	if _, err := f.svc.CreateTenant(t.Context(), op, "insurer-e", "Insurer E", store.TenantPolicy{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateUser(t.Context(), op, "insurer-e", "auditor", "viewer", password); err != nil {
		t.Fatal(err)
	}
	p := app.Principal{Tenant: "insurer-e", Actor: "auditor", Role: app.RoleViewer, Person: "auditor"}
	for i := 0; i < 130; i++ {
		if _, err := f.svc.Screen(t.Context(), p, screen.Query{Type: "vessel", Name: "CHON MA SAN"}, app.ScreenOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t, f)
	c.login("insurer-e", "auditor", password)
	rep, err := f.svc.VerifyAudit(t.Context(), p, "")
	if err != nil {
		t.Fatal(err)
	}
	seqs := func(page string) []int64 {
		var out []int64
		for _, m := range auditSeqRE.FindAllStringSubmatch(page, -1) {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			out = append(out, n)
		}
		return out
	}
	_, page := c.get("/audit")
	got := seqs(page)
	// Signing in and this page's verification may add records after
	// rep was read: the page starts at the head it read.
	if len(got) != 100 || got[0] < rep.Head {
		t.Fatalf("first page: %d records from #%v, want 100 from #%d down", len(got), got[:min(1, len(got))], rep.Head)
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]-1 {
			t.Fatalf("first page not newest first without gaps: %v", got)
		}
	}
	m := regexp.MustCompile(`href="/audit\?before=(\d+)" rel="next" id="older"`).FindStringSubmatch(page)
	if m == nil || m[1] != strconv.FormatInt(got[99], 10) {
		t.Fatalf("the link to older records: %v, want before=%d", m, got[99])
	}
	_, page = c.get("/audit?before=" + m[1])
	older := seqs(page)
	if len(older) == 0 || older[0] != got[99]-1 || older[len(older)-1] != 1 || strings.Contains(page, `id="older"`) {
		t.Errorf("older page: %v", older)
	}
	_, page = c.get("/audit?order=oldest")
	if first := seqs(page); len(first) == 0 || first[0] != 1 || first[1] != 2 {
		t.Errorf("oldest first: %v", first[:min(3, len(first))])
	}
	if resp, _ := c.get("/audit?before=x"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("before=x: HTTP %d", resp.StatusCode)
	}
}
