package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/httpapi"
	"github.com/tidewatch/tidewatch/internal/web"
	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/screen"
	"github.com/tidewatch/tidewatch/sim"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// The fixture is the demo's world, built once for every test of the
// package: the embedded lists, the simulated 72-hour DPRK scenario (an STS
// transfer off Nampo), a year-long track of 370,000 positions, and two
// tenants, each with users, a portfolio, alerts, a decision, a key, a
// webhook and a job.

var fixNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

const (
	stsIMO      = "9300207"   // the simulated STS tanker
	dprkMMSI    = "445000101" // the simulated DPRK tanker
	yearMMSI    = 412999001   // a year of positions, one every 85 s
	password    = "correct horse battery"
	bTenant     = "insurer-b"
	bPortfolio  = "fleet-b-secret"
	bShip       = "B-SECRET-SHIP"
	bReason     = "B-CONFIDENTIAL-REASON"
	bKey        = "b-secret-key"
	bHook       = "b-secret-hook"
	bUser       = "bsecretuser"
	aPortfolio  = "fleet-a"
	aReasonMark = "A-OWN-REASON"
)

type fixture struct {
	svc    *app.Service
	st     *sqlite.DB
	srv    *httptest.Server
	dir    string
	bJob   string
	bAlert int64
	aAlert int64
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fix != nil {
		fix.srv.Close()
		fix.svc.Close()
		fix.st.Close()
		os.RemoveAll(fix.dir)
	}
	os.Exit(code)
}

func getFixture(t testing.TB) *fixture {
	t.Helper()
	fixOnce.Do(func() { fix, fixErr = buildFixture() })
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

func buildFixture() (*fixture, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "tidewatch-web-test-")
	if err != nil {
		return nil, err
	}
	st, err := sqlite.OpenWith(filepath.Join(dir, "s.db"), sqlite.Options{Create: true})
	if err != nil {
		return nil, err
	}
	key := bytes.Repeat([]byte{7}, 32)
	s := app.New(app.Config{Store: st, Now: func() time.Time { return fixNow }, SealKey: key, AllowPrivateWebhookTargets: true})
	f := &fixture{svc: s, st: st, dir: dir}
	if _, err := s.EnsureLists(ctx); err != nil {
		return nil, err
	}
	local := app.LocalPrincipal("fixture")
	for _, u := range []string{"admin", "analyst", "underwriter", "viewer"} {
		if _, err := s.CreateUser(ctx, local, "", u, u, password); err != nil {
			return nil, err
		}
	}
	if _, err := s.CreateUser(ctx, local, "", "underwriter2", "underwriter", password); err != nil {
		return nil, err
	}
	if _, err := s.CreateTenant(ctx, local, bTenant, "Insurer B", store.TenantPolicy{FourEyes: true}); err != nil {
		return nil, err
	}
	if _, err := s.CreateUser(ctx, local, bTenant, bUser, "admin", password); err != nil {
		return nil, err
	}
	b := app.Principal{Tenant: bTenant, Actor: bUser, Role: app.RoleAdmin}
	// Portfolios first: monitoring starts from them, so the scenario's
	// events raise alerts.
	if _, err := s.CreatePortfolio(ctx, local, aPortfolio, "Fleet A"); err != nil {
		return nil, err
	}
	if _, err := s.AddVessels(ctx, local, aPortfolio, []app.VesselEntry{{ID: "A-1", IMO: stsIMO, Name: "STS TANKER"}, {ID: "A-2", MMSI: dprkMMSI, Name: "DPRK TANKER"},
		{ID: "A-3", IMO: "9321744", Name: "MET. HEATHER SALLY"}}, nil); err != nil {
		return nil, err
	}
	if _, err := s.CreatePortfolio(ctx, b, bPortfolio, "B secret fleet"); err != nil {
		return nil, err
	}
	if _, err := s.AddVessels(ctx, b, bPortfolio, []app.VesselEntry{{ID: "B-1", IMO: stsIMO, Name: bShip, Parties: []store.Party{{Role: "owner", Name: "B SECRET OWNER LTD"}}}}, nil); err != nil {
		return nil, err
	}
	// The simulated scenario, as the demo ingests it.
	sc := sim.DefaultScenario
	sc.Duration, sc.Background, sc.DPRKTankerIMO = 72*time.Hour, 40, 8660313
	var nmea bytes.Buffer
	if err := sim.Run(sc, &nmea, nil); err != nil {
		return nil, err
	}
	data := nmea.Bytes()
	in := ingest.Input{Name: "simulated-dprk-scenario.nmea", ID: "fixture-sim", Open: func(context.Context) (ais.Source, io.Closer, error) {
		r, err := ais.NewReader(bytes.NewReader(data))
		return r, io.NopCloser(nil), err
	}}
	if _, err := s.Ingest(ctx, local, app.IngestRequest{Inputs: []ingest.Input{in}}); err != nil {
		return nil, err
	}
	if err := yearTrack(st, yearMMSI, fixNow.AddDate(-1, 0, 1)); err != nil {
		return nil, err
	}
	if _, err := s.ScreenNewEvents(ctx); err != nil {
		return nil, err
	}
	as, err := s.Alerts(ctx, b, store.AlertFilter{})
	if err != nil || len(as) == 0 {
		return nil, fmt.Errorf("tenant B has no alert (%v)", err)
	}
	f.bAlert = as[0].ID
	aa, err := s.Alerts(ctx, local, store.AlertFilter{})
	if err != nil || len(aa) == 0 {
		return nil, fmt.Errorf("tenant A has no alert (%v)", err)
	}
	f.aAlert = aa[len(aa)-1].ID
	// Tenant B's own things, which tenant A must never see.
	if _, err := s.CreateUser(ctx, b, "", bUser+"2", "viewer", password); err != nil {
		return nil, err
	}
	if _, err := s.Decide(ctx, b, app.DecideRequest{Vessel: store.VesselQuery{IMO: 9300207}, Decision: risk.Decline, Reason: bReason}); err != nil {
		return nil, err
	}
	if _, err := s.CreateAPIKey(ctx, b, app.CreateKeyRequest{Name: bKey, Role: "viewer"}); err != nil {
		return nil, err
	}
	if _, err := s.CreateWebhook(ctx, b, app.WebhookRequest{URL: "http://127.0.0.1:9/" + bHook}); err != nil {
		return nil, err
	}
	job, err := s.StartJob(b, "screen", 1, func(ctx context.Context, pr app.JobProgress) (any, error) {
		res, err := s.ScreenBatch(ctx, b, []app.BatchQuery{{Row: 1, Query: screen.Query{Name: "CHON MA SAN", Type: "vessel"}}}, app.ScreenOptions{}, "b-secret.csv", "", nil)
		return &res, err
	})
	if err != nil {
		return nil, err
	}
	f.bJob = job.ID
	if err := importTestCase(ctx, s, b, bSigner); err != nil {
		return nil, err
	}
	if _, err := s.Decide(ctx, local, app.DecideRequest{Vessel: store.VesselQuery{IMO: 9300207}, Decision: risk.Decline, Reason: aReasonMark}); err != nil {
		return nil, err
	}
	api := httpapi.New(s, httpapi.Options{})
	api.Handle("/", web.New(s, web.Options{}))
	api.SetReady(true)
	f.srv = httptest.NewServer(api)
	return f, nil
}

// yearTrack stores a year of one MMSI's positions, one every 85 s: a
// tanker sailing loops in the Yellow Sea, a track segment a month.
func yearTrack(st *sqlite.DB, mmsi uint32, start time.Time) error {
	const n = 370000
	var enc store.ChunkEncoder
	var chunks []store.Chunk
	var first, prev time.Time
	flush := func() {
		if enc.Len() > 0 {
			chunks = append(chunks, store.Chunk{MMSI: mmsi, Start: first, End: prev, N: enc.Len(), Fixes: int64(enc.Len()), Data: append([]byte(nil), enc.Bytes()...)})
			enc.Reset()
		}
	}
	for i := 0; i < n; i++ {
		tm := start.Add(time.Duration(i) * 85 * time.Second)
		a := float64(i) / n * 2 * math.Pi * 24
		p := store.Point{Time: tm, Lat: 36 + 2*math.Sin(a) + 0.3*math.Sin(7*a), Lon: 123 + 2*math.Cos(a), SOG: 10, COG: 90, Segment: int(tm.Month())}
		if enc.Len() == 0 {
			first = tm
		}
		if err := enc.Append(p); err != nil {
			return err
		}
		prev = tm
		if enc.Len() == 2000 {
			flush()
		}
	}
	flush()
	return st.CommitBatch(context.Background(), &store.Batch{Run: store.Run{ID: "year-track", Inputs: []string{"synthetic year"}, Batches: 1, Done: true, Fixes: n, Kept: n}, Chunks: chunks})
}

// client is a browser-like HTTP client: a cookie jar, no redirects
// followed unless asked.
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
	csrf string
}

func newClient(t testing.TB, f *fixture) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: f.srv.URL, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var tokenRE = regexp.MustCompile(`name="login_token" value="([^"]+)"`)
var csrfRE = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)"`)

// login signs in and reads the page's CSRF token.
func (c *client) login(tenant, user, pw string) *http.Response {
	c.t.Helper()
	_, body := c.get("/login")
	m := tokenRE.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("no login token in the sign-in page")
	}
	resp, _ := c.post("/login", url.Values{"login_token": {m[1]}, "tenant": {tenant}, "user": {user}, "password": {pw}, "next": {"/"}})
	if resp.StatusCode == http.StatusSeeOther {
		_, home := c.get("/")
		if m := csrfRE.FindStringSubmatch(home); m != nil {
			c.csrf = m[1]
		}
	}
	return resp
}

func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.hc.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// upload posts a file form, as a browser does: the CSRF token and one
// file, its name as given.
func (c *client) upload(path, name string, data []byte) (*http.Response, string) {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", c.csrf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", c.base+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c *client) post(path string, v url.Values) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.hc.PostForm(c.base+path, v)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
