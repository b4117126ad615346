package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
)

// The browser tests drive Debian's headless Chromium from Go (chromedp)
// through what an analyst does: sign in, screen a ship, open a vessel,
// acknowledge an alert, record a decision, upload a file and download its
// results, sign out. Every page is checked with axe-core (no serious or
// critical WCAG 2.1 A/AA violation), and the whole run must log no console
// error and no failed request. With TIDEWATCH_UI_SHOTS=DIR each page's
// screenshot is written there (docs/ui/ holds the committed ones).

// chromiumPath finds the browser. With CI set (as .ci/run does) a missing
// browser fails the test instead of skipping it.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium not installed (.ci/run installs Debian's chromium)")
	}
	t.Skip("chromium not installed")
	return ""
}

type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
	axe   string

	mu       sync.Mutex
	urls     map[network.RequestID]string
	problems []string
	// expect lists URL parts whose 4xx answers a step asked for.
	expect []string
}

func newBrowser(t *testing.T, base string) *browser {
	bin := chromiumPath(t)
	axe, err := os.ReadFile("testdata/axe/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	// TIDEWATCH_UI_WIDTH=390 runs the pages at a phone's width (default 1280).
	width := 1280
	if w, err := strconv.Atoi(os.Getenv("TIDEWATCH_UI_WIDTH")); err == nil && w >= 320 {
		width = w
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true), chromedp.Flag("lang", "en-GB")}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	b := &browser{t: t, ctx: ctx, base: base, shots: os.Getenv("TIDEWATCH_UI_SHOTS"), axe: string(axe), urls: map[network.RequestID]string{}}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatal(err)
	}
	if err := chromedp.Listen(ctx, b.event); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(int64(width), 900)); err != nil {
		t.Fatal(err)
	}
	return b
}

// event records what must not happen: console errors, exceptions, error
// log entries (a CSP violation is one), failed requests and error answers.
func (b *browser) event(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.urls[ev.RequestID] = ev.Request.URL
	case *network.EventLoadingFailed:
		u := b.urls[ev.RequestID]
		if ev.Canceled && (strings.Contains(u, "/alerts/stream") || strings.Contains(u, ".json")) {
			return // a stream or a fetch ended by leaving the page
		}
		b.problems = append(b.problems, fmt.Sprintf("request failed: %s %s", u, ev.ErrorText))
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 && !b.expected(ev.Response.URL) {
			b.problems = append(b.problems, fmt.Sprintf("HTTP %d for %s", ev.Response.Status, ev.Response.URL))
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			b.problems = append(b.problems, "console error: "+strings.Join(parts, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails.Text
		if ex := ev.ExceptionDetails.Exception; ex != nil {
			d += " " + ex.Description
		}
		b.problems = append(b.problems, "exception: "+d)
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError && !b.expected(ev.Entry.URL) {
			b.problems = append(b.problems, fmt.Sprintf("log error (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	}
}

func (b *browser) expected(u string) bool {
	for _, e := range b.expect {
		if strings.Contains(u, e) {
			return true
		}
	}
	return false
}

func (b *browser) allow(part string) {
	b.mu.Lock()
	b.expect = append(b.expect, part)
	b.mu.Unlock()
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %.80s: %v", expr, err)
	}
	return v
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// open loads a page, waits for sel, checks it with axe and shoots it.
func (b *browser) open(name, path, sel string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS(sel)))
	b.check(name)
}

type axeResult struct {
	Violations []struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  []struct {
			Target []any  `json:"target"`
			HTML   string `json:"html"`
		} `json:"nodes"`
	} `json:"violations"`
}

// check runs axe-core on the page (WCAG 2.1 A and AA rules) and takes the
// page's screenshot.
func (b *browser) check(name string) {
	b.t.Helper()
	if !eval[bool](b, `typeof axe !== "undefined"`) {
		eval[chromedp.Void](b, b.axe+";undefined")
	}
	raw := eval[json.RawMessage](b, `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}).then(r => ({violations: r.violations}))`)
	var res axeResult
	if err := json.Unmarshal(raw, &res); err != nil {
		b.t.Fatal(err)
	}
	for _, v := range res.Violations {
		var where []string
		for _, n := range v.Nodes[:min(3, len(v.Nodes))] {
			where = append(where, fmt.Sprint(n.Target)+" "+truncate(n.HTML, 120))
		}
		msg := fmt.Sprintf("%s: axe %s (%s): %s at %s", name, v.ID, v.Impact, v.Help, strings.Join(where, "; "))
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Error(msg)
		} else {
			b.t.Log(msg)
		}
	}
	if b.shots != "" {
		ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			b.t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// problemsSince reports what went wrong in the browser.
func (b *browser) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Error(p)
	}
}

func (b *browser) signIn(tenant, user string) {
	b.t.Helper()
	b.do("sign in", chromedp.Navigate(b.base+"/login"), chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SetValue(chromedp.ID("tenant"), tenant), chromedp.SendKeys(chromedp.ID("user"), user),
		chromedp.SendKeys(chromedp.ID("password"), password), chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("h-pf")))
}

func TestBrowserAnalystJourney(t *testing.T) {
	f := getFixture(t)
	b := newBrowser(t, f.srv.URL)
	defer b.finish()
	if b.shots != "" {
		if err := os.MkdirAll(b.shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Sign in.
	b.open("login", "/login", "#user")
	b.signIn("local", "admin")
	b.check("dashboard")
	if got := b.text("#open-count"); got == "0" {
		t.Errorf("the dashboard shows no open alert")
	}

	// Screen a ship by name: the designated DPRK tanker, explained.
	b.do("screen", chromedp.Navigate(b.base+"/screen"), chromedp.WaitVisible(chromedp.ID("s-name")),
		chromedp.SendKeys(chromedp.ID("s-name"), "CHON MA SAN"), chromedp.Click(chromedp.ID("screen-submit")), chromedp.WaitVisible(chromedp.ID("results")))
	if res := b.text("#results"); !strings.Contains(res, "CHON MA SAN") || !strings.Contains(res, "match") {
		t.Errorf("screening CHON MA SAN: %.300s", res)
	}
	// The hit links to the listed vessel's page.
	if href := eval[string](b, `(document.querySelector("#results a.hit-vessel")||{}).getAttribute?.("href") || ""`); href != "/vessels/8660313" {
		t.Errorf("the CHON MA SAN hit links to %q, want /vessels/8660313", href)
	}
	b.check("screening")

	// Upload a CSV, watch the job, download the results.
	dir := t.TempDir()
	csv := filepath.Join(dir, "ships.csv")
	os.WriteFile(csv, []byte("id,name,imo\nr1,CHON MA SAN,8660313\nr2,EVER GIVEN,9811000\nr3,JI SONG 6,8898740\n"), 0o644)
	b.do("upload", chromedp.Navigate(b.base+"/screen"), chromedp.WaitVisible(chromedp.ID("s-file")),
		chromedp.SetUploadFiles(chromedp.ID("s-file"), []string{csv}), chromedp.Click(chromedp.ID("upload-submit")),
		chromedp.WaitVisible(chromedp.ID("job-summary")))
	if s := b.text("#job-summary"); !strings.Contains(s, "3 rows screened") {
		t.Errorf("job summary: %s", s)
	}
	b.check("screening-job")
	downloads := filepath.Join(dir, "downloads")
	os.MkdirAll(downloads, 0o755)
	if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: new(true)}); err != nil {
		t.Fatal(err)
	}
	for _, dl := range []struct{ sel, magic string }{{"#dl-csv", "row,"}, {"#dl-xlsx", "PK"}} {
		before := files(downloads)
		b.do("download "+dl.sel, chromedp.Click(chromedp.CSS(dl.sel)))
		got := waitDownload(t, downloads, before)
		if !strings.HasPrefix(got, dl.magic) {
			t.Errorf("download %s starts %q, want %q", dl.sel, truncate(got, 20), dl.magic)
		}
		if dl.magic == "row," && (!strings.Contains(got, "CHON MA SAN") || strings.Count(got, "\n") < 4) {
			t.Errorf("the CSV results lack rows: %s", truncate(got, 300))
		}
	}

	// Open a vessel: the STS tanker over the demo's three days.
	vessel := "/vessels/" + stsIMO + "?as_of=2026-03-04T00:00:00Z&window=3d"
	b.do("vessel", chromedp.Navigate(b.base+vessel), chromedp.WaitVisible(chromedp.ID("recommendation")))
	waitMap(b)
	if rec := b.text("#recommendation"); !strings.Contains(rec, "Decline") {
		t.Errorf("recommendation %q, want Decline", rec)
	}
	if st := b.text("#map-status"); !strings.Contains(st, "Map ready") {
		t.Errorf("map status %q", st)
	}
	// The map drew land, zones, the track and the events.
	if n := eval[int](b, `document.querySelectorAll("#map canvas").length`); n == 0 {
		t.Error("the map has no canvas")
	}
	b.check("vessel")
	// Move the time slider with the keyboard: the map redraws for the
	// period (its status then names the slider's period).
	b.do("slider", chromedp.Focus(chromedp.ID("t-from")), chromedp.KeyEvent(kb.PageUp+kb.PageUp+kb.PageUp+kb.PageUp+kb.PageUp),
		chromedp.Poll[chromedp.Void](`(() => { const s = document.getElementById("map-status").textContent; return s.startsWith("Showing ") && s.includes(document.getElementById("t-label").textContent); })()`,
			chromedp.WithPollingTimeout(20*time.Second)))
	if v := eval[string](b, `document.getElementById("t-from").value`); v != "500" {
		t.Errorf("five Page Up keys on the From slider: %s, want 500", v)
	}
	if lbl := b.text("#t-label"); !strings.Contains(lbl, "2026-03-0") {
		t.Errorf("time slider label %q", lbl)
	}

	// Record a decision: an override without its reason is refused, a
	// decline is recorded.
	// The refusal (422) is the vessel page again, at the form, with the
	// message beside it and the form as it was filled in.
	b.allow("/decisions")
	b.do("override refused", chromedp.Click(chromedp.ID("d-accept")), chromedp.SendKeys(chromedp.ID("d-reason"), "clean in our books"),
		chromedp.Click(chromedp.ID("decide")), chromedp.WaitVisible(chromedp.ID("decide-error")))
	if msg := b.text("#decide-error"); !strings.Contains(msg, "override reason") {
		t.Errorf("override without a reason: %q", msg)
	}
	if kept := eval[string](b, `document.getElementById("d-accept").checked + " " + document.getElementById("d-reason").value`); kept != "true clean in our books" {
		t.Errorf("the refused form as shown again: %q", kept)
	}
	if at := eval[bool](b, `location.hash === "#decide-form" && document.getElementById("decide-form").getBoundingClientRect().top < innerHeight`); !at {
		t.Error("the refused decision's page does not open at the form")
	}
	waitMap(b)
	b.check("decision-refused")
	b.do("decide", chromedp.Navigate(b.base+vessel), chromedp.WaitVisible(chromedp.ID("decide-form")),
		chromedp.Click(chromedp.ID("d-decline")), chromedp.SendKeys(chromedp.ID("d-reason"), "STS with a designated DPRK tanker off Nampo"),
		chromedp.Click(chromedp.ID("decide")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if fl := b.text(".flash"); !strings.Contains(fl, "recorded: decline") {
		t.Errorf("decision flash %q", fl)
	}
	if tbl := b.text("#decision-table"); !strings.Contains(tbl, "STS with a designated DPRK tanker off Nampo") {
		t.Error("the decision is not in the table")
	}
	if cur := b.text("tr.current"); !strings.Contains(cur, "STS with a designated DPRK tanker off Nampo") || !strings.Contains(b.text("#current-decision"), "decline") {
		t.Errorf("the decision just made is not the current one: %q", cur)
	}
	waitMap(b)
	// The print view frames the report, with its button.
	b.open("report-print", "/vessels/"+stsIMO+"/print?as_of=2026-03-04T00:00:00Z&window=3d", "#print-report")
	if !eval[bool](b, `new Promise(r => { const f = document.getElementById("report-frame"); const ok = () => r(!!f.contentDocument.getElementById("recommendation")); if (f.contentDocument && f.contentDocument.readyState === "complete") ok(); else f.addEventListener("load", ok); })`) {
		t.Error("the print view's frame has no report")
	}

	// Alerts: the inbox updates live; acknowledge one.
	b.open("alerts", "/alerts", "#alerts-table")
	// The inbox's stream is open (live.js says so on the EventSource's
	// open event, which comes once the server has subscribed it).
	b.do("stream open", chromedp.Poll[chromedp.Void](`document.getElementById("live-status").textContent.startsWith("Live:")`, chromedp.WithPollingTimeout(10*time.Second)))
	as, err := f.svc.Alerts(t.Context(), app.LocalPrincipal("fixture"), store.AlertFilter{States: []string{app.AlertOpen}})
	if err != nil || len(as) < 2 {
		t.Fatalf("open alerts: %d %v", len(as), err)
	}
	// Another analyst acknowledges one elsewhere: this page shows it.
	live := as[len(as)-1]
	if _, err := f.svc.AcknowledgeAlert(t.Context(), app.Principal{Tenant: "local", Actor: "analyst", Role: app.RoleAnalyst}, live.ID); err != nil {
		t.Fatal(err)
	}
	sel := fmt.Sprintf(`tr[data-alert="%d"] [data-field=state]`, live.ID)
	b.do("live update", chromedp.Poll[chromedp.Void](fmt.Sprintf(`(document.querySelector(%q)||{}).textContent === "acknowledged"`, sel), chromedp.WithPollingTimeout(10*time.Second)))
	first := as[0]
	b.do("open alert", chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/alerts/%d"]`, first.ID))), chromedp.WaitVisible(chromedp.ID("ack")))
	b.check("alert")
	b.do("acknowledge", chromedp.Click(chromedp.ID("ack")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if st := b.text("#alert-state"); !strings.Contains(st, "acknowledged") {
		t.Errorf("after acknowledging: %q", st)
	}
	b.do("close", chromedp.SendKeys(chromedp.ID("reason"), "handled: vessel declined"), chromedp.Click(chromedp.ID("close")),
		chromedp.WaitVisible(chromedp.ID("close-reason")))
	if st := b.text("#alert-state"); !strings.Contains(st, "closed") {
		t.Errorf("after closing: %q", st)
	}

	// Every other page, checked and shot.
	b.open("portfolios", "/portfolios", "#h-new")
	b.open("fleet", "/portfolios/"+aPortfolio, "#fleet")
	b.open("events", "/events?zone=sts-korea-bay-nampo-chodo", "#events-table")
	waitMap(b)
	b.check("events")
	b.open("vessels", "/vessels", "#q")
	b.open("lists", "/lists", "#h-imports")
	vs, _ := f.svc.ListVersions(t.Context(), app.LocalPrincipal("fixture"))
	var un []string
	for _, v := range vs {
		if v.List == "un" {
			un = append(un, v.ID)
		}
	}
	if len(un) >= 2 {
		b.open("lists-diff", "/lists/diff?from="+un[0]+"&to="+un[len(un)-1], "#diff-summary")
	}
	b.open("audit", "/audit", "#chain-state")
	if st := b.text("#chain-state"); !strings.HasPrefix(strings.TrimSpace(st), "Intact") {
		t.Errorf("audit chain: %q", st)
	}
	b.open("admin", "/admin", "#users-table")
	// Make a key: the answer is a redirect to the page showing its secret
	// once; reloading shows it no more and makes no other key.
	keys := func() int {
		ks, err := f.svc.APIKeys(t.Context(), app.LocalPrincipal("fixture"))
		if err != nil {
			t.Fatal(err)
		}
		return len(ks)
	}
	before := keys()
	b.do("make key", chromedp.SendKeys(chromedp.ID("k-name"), "browser-key"), chromedp.Click(chromedp.CSS(`#add-key button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("new-key-secret")))
	if secret := b.text("#new-key-secret"); !strings.HasPrefix(secret, "tw_") || strings.Contains(eval[string](b, `location.href`), secret) {
		t.Errorf("the new key's secret %q (page %s)", secret, eval[string](b, `location.href`))
	}
	b.check("admin-new-key")
	b.do("reload admin", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("users-table")))
	if eval[bool](b, `!!document.getElementById("new-key")`) || keys() != before+1 {
		t.Errorf("after reloading: secret shown %v, keys %d, want %d", eval[bool](b, `!!document.getElementById("new-key")`), keys(), before+1)
	}
	b.open("account", "/account", "#h-pw")
	// The checker is live: an image without a text alternative is caught.
	eval[chromedp.Void](b, `(() => { const i = document.createElement("img"); i.src = "/static/favicon.svg"; document.querySelector("main").append(i); })()`)
	raw := eval[json.RawMessage](b, `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a"]}}).then(r => r.violations.map(v => v.id))`)
	if !strings.Contains(string(raw), "image-alt") {
		t.Errorf("axe missed an image without alt: %s", raw)
	}
	b.allow("/nope")
	b.open("not-found", "/nope", "#error-message")

	// Sign out: the next page asks to sign in again.
	b.do("sign out", chromedp.Navigate(b.base+"/"), chromedp.WaitVisible(chromedp.ID("h-pf")),
		chromedp.Click(chromedp.CSS(`.who button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("user")))
	if fl := b.text(".flash"); !strings.Contains(fl, "signed out") {
		t.Errorf("after sign-out: %q", fl)
	}
	b.do("after sign-out", chromedp.Navigate(b.base+"/alerts"), chromedp.WaitVisible(chromedp.ID("user")))

	// Another tenant's session in the same browser cannot read this
	// tenant's portfolio.
	b.signIn(bTenant, bUser)
	b.allow("/portfolios/" + aPortfolio)
	b.do("cross-tenant", chromedp.Navigate(b.base+"/portfolios/"+aPortfolio), chromedp.WaitVisible(chromedp.ID("error-message")))
	if body := b.text("main"); strings.Contains(body, "STS TANKER") || !strings.Contains(body, "no portfolio") {
		t.Errorf("tenant B on tenant A's portfolio: %.200s", body)
	}
}

func waitMap(b *browser) {
	b.t.Helper()
	b.do("map ready", chromedp.Poll[chromedp.Void](`document.body.dataset.mapReady === "1" || !!document.body.dataset.mapError`, chromedp.WithPollingTimeout(30*time.Second)))
	if e := eval[string](b, `document.body.dataset.mapError || ""`); e != "" {
		b.t.Errorf("map: %s", e)
	}
}

func files(dir string) map[string]bool {
	out := map[string]bool{}
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		out[e.Name()] = true
	}
	return out
}

// waitDownload waits for a new finished file in dir and returns its text.
func waitDownload(t *testing.T, dir string, before map[string]bool) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for name := range files(dir) {
			if before[name] || strings.HasSuffix(name, ".crdownload") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err == nil && len(b) > 0 {
				return string(b)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no download arrived")
	return ""
}

// TestBrowserYearTrack measures the vessel page with a twelve-month track
// of 370,000 positions: from navigation start to the map drawn (land,
// zones, the track thinned for the zoom, events). A figure, not an
// assertion: docs/ui.md keeps the measurements.
func TestBrowserYearTrack(t *testing.T) {
	f := getFixture(t)
	b := newBrowser(t, f.srv.URL)
	defer b.finish()
	b.signIn("local", "viewer")
	for i := 0; i < 3; i++ {
		b.do("year track", chromedp.Navigate(b.base+fmt.Sprintf("/vessels/%09d", yearMMSI)), chromedp.WaitVisible(chromedp.ID("recommendation")))
		waitMap(b)
		ms := eval[float64](b, `performance.getEntriesByName("map-ready")[0].startTime`)
		status := b.text("#map-status")
		res := eval[string](b, `performance.getEntriesByType("resource").filter(e => e.name.includes(".json")).map(e => e.name.replace(location.origin, "").split("?")[0] + " " + Math.round(e.duration) + " ms " + e.encodedBodySize + " B").join("; ")`)
		nav := eval[string](b, `(() => { const n = performance.getEntriesByType("navigation")[0]; return "page " + Math.round(n.responseEnd) + " ms, DOM ready " + Math.round(n.domContentLoadedEventEnd) + " ms"; })()`)
		t.Logf("12-month track (370,000 positions): map interactive %.0f ms after navigation start (%s; %s); %s", ms, nav, res, status)
		if i == 0 && b.shots != "" {
			b.check("vessel-year-track")
		}
	}
}

// A job whose total is not known (an ingest) follows its count live as
// "N read", with an indeterminate bar, until it ends.
func TestBrowserJobWithoutTotal(t *testing.T) {
	f := getFixture(t)
	b := newBrowser(t, f.srv.URL)
	defer b.finish()
	b.signIn("local", "admin")
	p := app.Principal{Tenant: "local", Actor: "admin", Role: app.RoleAdmin, Person: "admin"}
	step, done := make(chan struct{}), make(chan struct{})
	j, err := f.svc.StartJob(p, "ingest", 0, func(ctx context.Context, pr app.JobProgress) (any, error) {
		pr.Set(360, 0, "")
		<-step
		pr.Set(720, 0, "")
		<-done
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b.open("job-ingest", "/jobs/"+j.ID, "#job-count")
	if got := b.text("#job-count"); got != "360 read" {
		t.Errorf("the count: %q, want 360 read", got)
	}
	if eval[bool](b, `document.getElementById("job-progress").hasAttribute("value")`) {
		t.Error("the bar of a job without a total is not indeterminate")
	}
	close(step)
	b.do("count followed", chromedp.Poll[chromedp.Void](`document.getElementById("job-count").textContent === "720 read"`, chromedp.WithPollingTimeout(10*time.Second)))
	close(done)
	// The page reloads itself once the job ends (evaluating during the
	// reload can fail: tried again).
	ended := false
	for deadline := time.Now().Add(10 * time.Second); !ended && time.Now().Before(deadline); {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		st, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("job") || {dataset: {}}).dataset.state || ""`))
		cancel()
		ended = err == nil && st == "done"
		if !ended {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !ended {
		t.Fatal("the page does not show the job ended")
	}
	b.do("ended page", chromedp.WaitVisible(chromedp.ID("job-status")))
	if got := b.text("#job-status"); !strings.Contains(got, "done: 720 read") {
		t.Errorf("the ended job: %q", got)
	}
	if eval[bool](b, `!!document.getElementById("dl-csv")`) {
		t.Error("an ingest job offers screening results to download")
	}
}
