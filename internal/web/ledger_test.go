package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tidewatch/tidewatch/casefile"
	"github.com/tidewatch/tidewatch/internal/app"
)

// bSigner signs the case file tenant B imported: A must never see it.
const bSigner = "B-SECRET-SIGNER"

var scenarioStart = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// importTestCase makes a small signed case file about the scenario's DPRK
// tanker, signed by signer, and imports it for the principal.
func importTestCase(ctx context.Context, s *app.Service, p app.Principal, signer string) error {
	ev, _ := json.Marshal(map[string]any{"id": "5b0f584a575cf1d9", "kind": "encounter", "severity": "high", "status": "closed",
		"vessels": []map[string]any{{"mmsi": 445000101}, {"mmsi": 667000202}}, "start": scenarioStart, "end": scenarioStart.Add(5 * time.Hour), "lat": 38.2, "lon": 124.0, "details": map[string]any{}})
	b, err := casefile.New(map[string][]byte{"data/events.jsonl": append(ev, '\n'), "data/profile.json": []byte("{}\n")}, nil)
	if err != nil {
		return err
	}
	if err := b.Seal(casefile.Predicate{Vessel: casefile.PredicateVessel{IMO: 8660313, MMSI: 445000101, MMSIs: []uint32{445000101}}, From: scenarioStart,
		To: scenarioStart.Add(72 * time.Hour), ExportedBy: signer, Organization: "Panel", Recommendation: "decline", Score: 450, Events: 1, Complete: true, Gaps: []string{}}); err != nil {
		return err
	}
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	if err := b.Sign(k, signer, "Panel", scenarioStart.Add(80*time.Hour)); err != nil {
		return err
	}
	_, err = s.ImportCase(ctx, p, app.CaseImportRequest{Bag: b})
	return err
}

// The ledger page: the scenario's estimate with its events and the
// totals; records entered by the operator's analysts (not by viewers, not
// by another tenant); bad input a 4xx.
func TestLedgerPage(t *testing.T) {
	f := getFixture(t)
	a := newClient(t, f)
	a.login("local", "analyst", password)
	resp, body := a.get("/ledger?year=2026")
	if resp.StatusCode != 200 {
		t.Fatalf("ledger: %d", resp.StatusCode)
	}
	for _, want := range []string{`id="scenario-totals"`, `id="estimates"`, "MMSI 445000101", "Korea Bay", "667000202 SIM OCEAN STAR (tanker)", "simulated",
		`id="record-form"`, "fully laden"} {
		if !strings.Contains(body, want) {
			t.Errorf("the ledger page lacks %q", want)
		}
	}
	resp, _ = a.post("/ledger/records", url.Values{"csrf": {a.csrf}, "period_start": {"2026-01-01"}, "period_end": {"2026-01-31"}, "supplier": {"China"},
		"quantity": {"1000"}, "unit": {"t"}, "product": {"gas_diesel_oil"}, "source": {"https://example.org/jan"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ledger?year=2026&flash=") {
		t.Fatalf("add a record: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = a.get("/ledger?year=2026")
	// 1,000 t x 7.23 bbl/t.
	if !strings.Contains(body, `<b id="notified-total">7,230</b>`) {
		t.Errorf("the record is not in the notified total")
	}
	// A CSV upload.
	up, ub := a.upload("/ledger/records/import", "n.csv", []byte("period_start,period_end,supplier,quantity,unit,source\n2026-02-01,2026-02-28,Russia,500,bbl,https://example.org/feb\n2026-03-01,2026-03-31,Russia,lots,bbl,x\n"))
	if up.StatusCode != 200 || !strings.Contains(ub, "1 records added, 0 already held, 1 bad rows") || !strings.Contains(ub, "line 3") {
		t.Errorf("CSV import: %d %.400s", up.StatusCode, ub)
	}
	if resp, _ := a.post("/ledger/capacities", url.Values{"csrf": {a.csrf}, "vessel": {"8660313"}, "dwt": {"many"}, "source": {"x"}}); resp.StatusCode != 400 {
		t.Errorf("a capacity of words: %d", resp.StatusCode)
	}
	// A European number is refused, not read as 1.0005.
	if resp, body := a.post("/ledger/records", url.Values{"csrf": {a.csrf}, "period_start": {"2026-04-01"}, "period_end": {"2026-04-30"}, "supplier": {"China"},
		"quantity": {"1.000,5"}, "unit": {"t"}, "source": {"https://example.org/apr"}}); resp.StatusCode != 400 || !strings.Contains(body, "European") {
		t.Errorf("quantity 1.000,5: %d %.300s", resp.StatusCode, body)
	}
	// No cap before 2018: no share of one.
	if _, body := a.get("/ledger?year=2017"); !strings.Contains(body, "no cap before 2018") || strings.Contains(body, "Share of the cap") {
		t.Errorf("2017's page speaks of a share of the cap")
	}
	if resp, _ := a.get("/ledger?year=abc"); resp.StatusCode != 400 {
		t.Errorf("year=abc: %d", resp.StatusCode)
	}
	// A viewer reads without forms; another tenant's admin reads but may
	// not write (the ledger is shared, the operator's to change).
	v := newClient(t, f)
	v.login("local", "viewer", password)
	if _, body := v.get("/ledger?year=2026"); strings.Contains(body, `id="record-form"`) || !strings.Contains(body, "MMSI 445000101") {
		t.Error("a viewer's ledger page")
	}
	b := newClient(t, f)
	b.login(bTenant, bUser, password)
	if _, body := b.get("/ledger?year=2026"); strings.Contains(body, `id="record-form"`) {
		t.Error("another tenant is offered the record form")
	}
	if resp, _ := b.post("/ledger/records", url.Values{"csrf": {b.csrf}, "period_start": {"2026-01-01"}, "period_end": {"2026-01-31"}, "supplier": {"X"},
		"quantity": {"1"}, "unit": {"bbl"}, "source": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another tenant adds a record: %d", resp.StatusCode)
	}
}

// The vessel page shows the ledger's estimate and the case files the
// tenant imported, with who signed them; another tenant's import is not
// shown.
func TestVesselPageLedgerAndCases(t *testing.T) {
	f := getFixture(t)
	if err := importTestCase(t.Context(), f.svc, app.LocalPrincipal("fixture"), "Panel Expert"); err != nil {
		t.Fatal(err)
	}
	a := newClient(t, f)
	a.login("local", "viewer", password)
	_, body := a.get("/vessels/" + dprkMMSI + "?as_of=2026-03-04&window=4d")
	for _, want := range []string{`id="vessel-estimates"`, "Nampo", `id="case-files"`, "Panel Expert (Panel)", "valid, key not among the trusted ones"} {
		if !strings.Contains(body, want) {
			t.Errorf("the vessel page lacks %q", want)
		}
	}
	if strings.Contains(body, bSigner) {
		t.Error("tenant B's case file shows on A's vessel page")
	}
}

// The ledger page and a vessel page with its ledger and case sections in
// a real browser: no console error, no accessibility violation.
func TestBrowserLedger(t *testing.T) {
	f := getFixture(t)
	b := newBrowser(t, f.srv.URL)
	defer b.finish()
	b.open("login", "/login", "#user")
	b.signIn("local", "analyst")
	b.open("ledger", "/ledger?year=2026", "#scenario-totals")
	if s := b.text("#estimates"); !strings.Contains(s, "445000101") {
		t.Errorf("estimates: %.300s", s)
	}
	// The page never scrolls sideways: at 1280 px the estimates fit their
	// column; at 390 px a wide table scrolls inside its own region.
	for _, w := range []int64{1280, 390} {
		b.do("resize", chromedp.EmulateViewport(w, 900), chromedp.Navigate(b.base+"/ledger?year=2026"), chromedp.WaitVisible(chromedp.ID("estimates")))
		if got := eval[string](b, overflowJS); got != "" {
			t.Errorf("ledger at %d px: %s", w, got)
		}
		if w == 1280 {
			if got := eval[string](b, `(() => { const t = document.getElementById("estimates"), s = t.closest("section").getBoundingClientRect(); const r = t.getBoundingClientRect(); return r.right > s.right + 0.5 ? "estimates end at " + Math.round(r.right) + ", their section at " + Math.round(s.right) : ""; })()`); got != "" {
				t.Errorf("ledger at 1280 px: %s", got)
			}
		} else {
			b.check("ledger-390")
		}
	}
	// The vessel page's ledger table neither: at 390 px it scrolls in its
	// own region, as the ledger page's do.
	for _, w := range []int64{390, 1280} {
		b.do("resize", chromedp.EmulateViewport(w, 900), chromedp.Navigate(b.base+"/vessels/"+dprkMMSI+"?as_of=2026-03-04&window=4d"), chromedp.WaitVisible(chromedp.ID("vessel-estimates")))
		if got := eval[string](b, overflowJS); got != "" {
			t.Errorf("vessel page at %d px: %s", w, got)
		}
		if w == 390 {
			b.check("vessel-390")
		}
	}
	b.check("vessel-ledger")
}

// overflowJS is "" when the page does not scroll sideways, else the
// widths and the elements (outside a scrolling region) that stick out.
const overflowJS = `(() => {
  const d = document.documentElement, w = d.clientWidth;
  if (d.scrollWidth <= w) return "";
  const out = [];
  for (const e of document.querySelectorAll("body *")) {
    const r = e.getBoundingClientRect();
    if (r.right > w + 0.5 && ![...e.children].some(c => c.getBoundingClientRect().right > w + 0.5)) out.push(e.tagName + (e.id ? "#" + e.id : "") + " to " + Math.round(r.right));
  }
  return "page " + d.scrollWidth + " px wide in " + w + ": " + out.slice(0, 5).join(", ");
})()`

// TestPortfolioUploadNotXLSX: a portfolio file uploaded with an .xlsx
// name that is a CSV is refused saying so, and adds nothing.
func TestPortfolioUploadNotXLSX(t *testing.T) {
	f := getFixture(t)
	a := newClient(t, f)
	a.login("local", "analyst", password)
	up, ub := a.upload("/portfolios/"+aPortfolio+"/import", "book.xlsx", []byte("id,imo\nX-1,9417115\n"))
	if up.StatusCode != 400 || !strings.Contains(ub, "not an XLSX file: it is text (CSV?)") {
		t.Errorf("a CSV named book.xlsx: %d %.600s", up.StatusCode, ub)
	}
	if _, body := a.get("/portfolios/" + aPortfolio); strings.Contains(body, "X-1") || strings.Contains(body, "9417115") {
		t.Errorf("the refused file added a vessel")
	}
}

// TestUploadNameControlCharacters: a file uploaded under a name holding
// a control character, a bidirectional override or bytes that are not
// UTF-8 is refused saying so (as the API does), and adds nothing. A C0
// control such as ESC makes the form's part header unreadable (the CSRF
// token with it): still 400 saying so, with the control escaped on the
// page, when the token came before the file (TestUploadNameESCNoToken).
func TestUploadNameControlCharacters(t *testing.T) {
	f := getFixture(t)
	a := newClient(t, f)
	a.login("local", "analyst", password)
	for _, name := range []string{"\u202evsc.csv", "a\u0085b.csv", "a\u2066b.csv", "a\xffb.csv", "a\x1bb.csv", "a\x00b.csv", "\x1b[31mred.csv"} {
		for path, data := range map[string]string{
			"/screen/jobs":                          "imo,name\n9811000,CHON MA SAN\n",
			"/ledger/records/import":                "period_start,period_end,supplier,quantity,unit,source\n2026-05-01,2026-05-31,Russia,900,bbl,https://example.org/names\n",
			"/portfolios/" + aPortfolio + "/import": "id,imo\nNAME-1,9417115\n",
		} {
			up, ub := a.upload(path, name, []byte(data))
			if up.StatusCode != 400 || !strings.Contains(ub, "control character") || strings.ContainsAny(ub, "\x1b\x00") {
				t.Errorf("%s as %q: %d %.300s", path, name, up.StatusCode, ub)
			}
		}
	}
	if _, body := a.get("/portfolios/" + aPortfolio); strings.Contains(body, "NAME-1") {
		t.Errorf("a refused file added a vessel")
	}
	if _, body := a.get("/ledger?year=2026"); strings.Contains(body, "example.org/names") {
		t.Errorf("a refused file added a record")
	}
}

// TestUploadNameESCNoToken: an upload whose file name holds ESC (its part
// header cannot be read) is still 403 when no CSRF token, or a wrong one,
// came before the file, and adds nothing.
func TestUploadNameESCNoToken(t *testing.T) {
	f := getFixture(t)
	a := newClient(t, f)
	a.login("local", "analyst", password)
	for _, token := range []string{"", "wrong", "after"} {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		if token == "wrong" {
			mw.WriteField("csrf", "0123456789abcdef")
		}
		fw, _ := mw.CreateFormFile("file", "a\x1bb.csv")
		fw.Write([]byte("id,imo\nESC-1,9417115\n"))
		if token == "after" {
			mw.WriteField("csrf", a.csrf)
		}
		mw.Close()
		req, _ := http.NewRequest("POST", a.base+"/portfolios/"+aPortfolio+"/import", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := a.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("token %q: %d %.300s", token, resp.StatusCode, b)
		}
	}
	if _, body := a.get("/portfolios/" + aPortfolio); strings.Contains(body, "ESC-1") {
		t.Errorf("a refused file added a vessel")
	}
}

// TestBrowserNarrow: no page of the interface scrolls sideways on a
// phone (390 px) or at 1280 px: wide tables scroll inside their own
// regions, forms and long codes wrap. Each page is checked with axe at
// both widths (and shot, with TIDEWATCH_UI_SHOTS=DIR, as narrow-NAME-WIDTH).
func TestBrowserNarrow(t *testing.T) {
	f := getFixture(t)
	b := newBrowser(t, f.srv.URL)
	defer b.finish()
	b.open("login", "/login", "#user")
	b.signIn("local", "admin")
	pages := [][2]string{{"dashboard", "/"}, {"alerts", "/alerts"}, {"portfolios", "/portfolios"}, {"fleet", "/portfolios/" + aPortfolio},
		{"screen", "/screen"}, {"vessels", "/vessels"}, {"vessel", "/vessels/" + stsIMO + "?as_of=2026-03-04&window=3d"}, {"events", "/events"},
		{"lists", "/lists"}, {"ledger", "/ledger"}, {"audit", "/audit"}, {"account", "/account"}, {"admin", "/admin"}}
	// An alert's page and a comparison of two list versions.
	b.do("alerts", chromedp.Navigate(b.base+"/alerts"), chromedp.WaitVisible(chromedp.ID("alerts-table")))
	if a := eval[string](b, `(document.querySelector("#alerts-table a[href^='/alerts/']") || {}).pathname || ""`); a != "" {
		pages = append(pages, [2]string{"alert", a})
	} else {
		t.Error("no alert on /alerts")
	}
	vs, err := f.svc.ListVersions(t.Context(), app.LocalPrincipal("fixture"))
	if err != nil {
		t.Fatal(err)
	}
	var un []string
	for _, v := range vs {
		if v.List == "un" {
			un = append(un, v.ID)
		}
	}
	if len(un) < 2 {
		t.Fatalf("%d versions of the UN list", len(un))
	}
	pages = append(pages, [2]string{"diff", "/lists/diff?from=" + url.QueryEscape(un[0]) + "&to=" + url.QueryEscape(un[len(un)-1])})
	// A screening job's page, with its rows.
	csv := filepath.Join(t.TempDir(), "ships.csv")
	if err := os.WriteFile(csv, []byte("id,name,imo\nr1,CHON MA SAN,8660313\nr2,EVER GIVEN,9811000\nr3,JI SONG 6,8898740\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.do("upload", chromedp.Navigate(b.base+"/screen"), chromedp.WaitVisible(chromedp.ID("s-file")),
		chromedp.SetUploadFiles(chromedp.ID("s-file"), []string{csv}), chromedp.Click(chromedp.ID("upload-submit")),
		chromedp.WaitVisible(chromedp.ID("job-summary")))
	pages = append(pages, [2]string{"job", eval[string](b, `location.pathname`)})
	measure := func(name, what string, w int64) {
		t.Helper()
		if got := eval[string](b, overflowJS); got != "" {
			t.Errorf("%s at %d px: %s", what, w, got)
		}
		b.check(fmt.Sprintf("narrow-%s-%d", name, w))
	}
	for _, w := range []int64{390, 1280} {
		b.do("resize", chromedp.EmulateViewport(w, 900))
		for _, p := range pages {
			b.do(p[1], chromedp.Navigate(b.base+p[1]), chromedp.WaitReady("body"))
			if p[0] == "events" || p[0] == "vessel" {
				waitMap(b)
			}
			measure(p[0], p[1], w)
		}
		// The screening form's answer.
		b.do("screen", chromedp.Navigate(b.base+"/screen"), chromedp.WaitVisible(chromedp.ID("s-name")),
			chromedp.SendKeys(chromedp.ID("s-name"), "CHON MA SAN"), chromedp.Click(chromedp.ID("screen-submit")), chromedp.WaitVisible(chromedp.ID("results")))
		measure("screening", "screening CHON MA SAN", w)
	}
}
