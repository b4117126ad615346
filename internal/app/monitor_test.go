package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sim"
	"github.com/tidewatch/tidewatch/store"
)

// ftmList is a FollowTheMoney export of one list version, dated by its
// file name; with designate it also designates the vessel IMO 9417115
// (KOTI, clean on this list before).
func ftmList(date string, designate bool) sanctions.File {
	lines := []string{
		`{"id":"os-company-achim","schema":"Company","properties":{"name":["KOREA ACHIM SHIPPING CO"],"imoNumber":["5936312"],"country":["kp"],"topics":["sanction"]},"datasets":["os"],"target":true}`,
	}
	if designate {
		lines = append(lines, `{"id":"os-vessel-koti","schema":"Vessel","properties":{"name":["KOTI"],"imoNumber":["9417115"],"flag":["pa"],"topics":["sanction"],"programId":["UN-SC1718"]},"datasets":["os"],"target":true}`)
	}
	body := []byte(strings.Join(lines, "\n") + "\n")
	return sanctions.File{Name: "opensanctions_" + date + ".jsonl", ModTime: now, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }}
}

// The demonstration: a portfolio of ships; a list version that
// designates one of them gives exactly one alert, delivered to a local
// receiver whose signature verifies; a restart in between loses and
// duplicates nothing.
func TestListChangeRaisesOneAlertDelivered(t *testing.T) {
	st, err := sqliteOpen(t)
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{7}, 32)
	clock := now
	var mu sync.Mutex
	nowFn := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	s := app.New(app.Config{Store: st, Now: nowFn, SealKey: key, AllowPrivateWebhookTargets: true})
	if _, err := s.ImportLists(ctx, local, app.ImportRequest{Files: []sanctions.File{ftmList("2026-01-01", false)}, MinRatio: -1}); err != nil {
		t.Fatal(err)
	}
	club := app.Principal{Tenant: "club", Actor: "admin@club", Role: app.RoleAdmin}
	if _, err := s.CreateTenant(ctx, local, "club", "Club", store.TenantPolicy{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePortfolio(ctx, club, "entered", "Entered ships"); err != nil {
		t.Fatal(err)
	}
	res, err := s.AddVessels(ctx, club, "entered", []app.VesselEntry{
		{ID: "P-1", IMO: "9417115", Name: "KOTI"},
		{ID: "P-2", IMO: "9100009", Name: "PLAIN SAILING", Parties: []store.Party{{Role: "owner", Name: "Plain Shipping Ltd"}}},
		{ID: "P-3", IMO: "9417116"}, // a mistyped IMO: refused, the rest added
	}, nil)
	if err != nil || res.Added != 2 || len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error, "check digit") {
		t.Fatalf("add: %+v %v", res, err)
	}
	// A receiver that checks signatures.
	var got [][]byte
	var sigOK []bool
	var rmu sync.Mutex
	var secret string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rmu.Lock()
		defer rmu.Unlock()
		got = append(got, b)
		sigOK = append(sigOK, app.VerifySignature(r.Header.Get(app.SignatureHeader), b, secret, nowFn(), 5*time.Minute) == nil && r.Header.Get("Idempotency-Key") != "")
	}))
	defer recv.Close()
	wh, err := s.CreateWebhook(ctx, club, app.WebhookRequest{URL: recv.URL})
	if err != nil {
		t.Fatal(err)
	}
	secret = wh.Secret
	// The first pass records the versions screened; nothing changed yet.
	if m, err := s.ScreenListChanges(ctx); err != nil || m.Alerts != 0 {
		t.Fatalf("first pass: %+v %v", m, err)
	}
	// A new version designates KOTI.
	imp, err := s.ImportLists(ctx, local, app.ImportRequest{Files: []sanctions.File{ftmList("2026-06-01", true)}, MinRatio: -1})
	if err != nil || imp.Monitor == nil {
		t.Fatalf("import: %+v %v", imp, err)
	}
	if imp.Monitor.Alerts != 1 || imp.Monitor.Vessels != 2 {
		t.Errorf("monitor: %+v", imp.Monitor)
	}
	alerts, _ := s.Alerts(ctx, club, store.AlertFilter{})
	if len(alerts) != 1 || alerts[0].Kind != app.AlertListHitAdded || alerts[0].VesselRef != "P-1" || !strings.Contains(alerts[0].Why, "opensanctions") {
		t.Fatalf("alerts: %+v", alerts)
	}
	// Another tenant sees none of it.
	if as, _ := s.Alerts(ctx, local, store.AlertFilter{}); len(as) != 0 {
		t.Errorf("the operator sees the club's alerts: %+v", as)
	}
	// "Restart": a new service over the same store delivers what was
	// queued, once.
	s.Close()
	s2 := app.New(app.Config{Store: st, Now: nowFn, SealKey: key, AllowPrivateWebhookTargets: true})
	defer s2.Close()
	if n := s2.DeliverDue(ctx, recv.Client()); n != 1 {
		t.Errorf("%d deliveries after the restart, want 1", n)
	}
	if n := s2.DeliverDue(ctx, recv.Client()); n != 0 {
		t.Errorf("%d deliveries on the second pass", n)
	}
	if len(got) != 1 || !sigOK[0] {
		t.Fatalf("received %d, signatures %v", len(got), sigOK)
	}
	var p app.AlertPayload
	if err := json.Unmarshal(got[0], &p); err != nil || p.Alert.VesselRef != "P-1" || p.Alert.Version != 1 {
		t.Errorf("payload: %s", got[0])
	}
	// The same version screened again raises nothing new.
	if m, _ := s2.ScreenListChanges(ctx); m.Alerts != 0 {
		t.Errorf("a second pass raised %d", m.Alerts)
	}
	// The fleet table ranks KOTI first and says what changed.
	fleet, err := s2.Fleet(ctx, club, "entered")
	if err != nil || len(fleet) != 2 || fleet[0].ID != "P-1" || len(fleet[0].Changes) == 0 || fleet[0].OpenAlerts != 1 {
		t.Errorf("fleet: %+v %v", fleet, err)
	}
	// Close as a false positive with suppression: the same cause stays
	// quiet.
	if _, err := s2.CloseAlert(ctx, club, alerts[0].ID, "", false); app.CodeOf(err) != app.CodeInvalid {
		t.Errorf("close without a reason: %v", err)
	}
	if a, err := s2.CloseAlert(ctx, club, alerts[0].ID, "false positive: another KOTI", true); err != nil || a.State != app.AlertClosed || !a.Suppress {
		t.Errorf("close: %+v %v", a, err)
	}
}

// A receiver that is down is retried with backoff, never twice for one
// version once delivered, and marked dead after the retry window.
func TestWebhookRetriesThenDead(t *testing.T) {
	st, err := sqliteOpen(t)
	if err != nil {
		t.Fatal(err)
	}
	clock := now
	var mu sync.Mutex
	nowFn := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	s := app.New(app.Config{Store: st, Now: nowFn, SealKey: bytes.Repeat([]byte{9}, 32), AllowPrivateWebhookTargets: true})
	defer s.Close()
	s.ImportLists(ctx, local, app.ImportRequest{Files: []sanctions.File{ftmList("2026-01-01", false)}, MinRatio: -1})
	s.CreatePortfolio(ctx, local, "p", "")
	s.AddVessels(ctx, local, "p", []app.VesselEntry{{IMO: "9417115"}}, nil)
	var hits int
	down := true
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		if down {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer recv.Close()
	if _, err := s.CreateWebhook(ctx, local, app.WebhookRequest{URL: recv.URL}); err != nil {
		t.Fatal(err)
	}
	s.ScreenListChanges(ctx)
	s.ImportLists(ctx, local, app.ImportRequest{Files: []sanctions.File{ftmList("2026-06-01", true)}, MinRatio: -1})
	if n := s.DeliverDue(ctx, recv.Client()); n != 1 || hits != 1 {
		t.Fatalf("first attempt: %d %d", n, hits)
	}
	if n := s.DeliverDue(ctx, recv.Client()); n != 0 {
		t.Errorf("retried at once: %d", n)
	}
	// Hours of failures: attempts back off, the delivery stays pending.
	for i := 0; i < 12; i++ {
		advance(time.Hour)
		s.DeliverDue(ctx, recv.Client())
	}
	ds, _ := s.Deliveries(ctx, local, []string{app.DeliveryPending}, 0)
	if len(ds) != 1 || ds[0].Attempts < 5 || ds[0].Attempts > 14 {
		t.Fatalf("after 12 h down: %+v", ds)
	}
	// Past the retry window: dead, listed.
	for i := 0; i < 16; i++ {
		advance(time.Hour)
		s.DeliverDue(ctx, recv.Client())
	}
	dead, _ := s.Deliveries(ctx, local, []string{app.DeliveryDead}, 0)
	if len(dead) != 1 || dead[0].LastError != "HTTP 500" {
		t.Fatalf("dead letters: %+v", dead)
	}
	// Redelivered by hand once the receiver is back: delivered once.
	down = false
	if _, err := s.RedeliverDead(ctx, local, dead[0].ID); err != nil {
		t.Fatal(err)
	}
	before := hits
	s.DeliverDue(ctx, recv.Client())
	s.DeliverDue(ctx, recv.Client())
	if hits != before+1 {
		t.Errorf("redelivery: %d posts", hits-before)
	}
}

// New events on a portfolio vessel raise one alert per occurrence; a
// second pass (a restart) raises nothing again; events stored before
// monitoring began are the baseline, not news.
func TestEventAlerts(t *testing.T) {
	st, err := sqliteOpen(t)
	if err != nil {
		t.Fatal(err)
	}
	s := app.New(app.Config{Store: st, Now: func() time.Time { return now }})
	defer s.Close()
	if _, err := s.EnsureLists(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePortfolio(ctx, local, "fleet", ""); err != nil {
		t.Fatal(err)
	}
	// The simulated STS tanker (IMO 9300207) and the DPRK tanker (by MMSI).
	if res, err := s.AddVessels(ctx, local, "fleet", []app.VesselEntry{{ID: "sts", IMO: "9300207"}, {ID: "dprk", MMSI: "445000101"}}, nil); err != nil || res.Added != 2 {
		t.Fatalf("add: %+v %v", res, err)
	}
	path := demoScenarioFile(t)
	res, err := ingestFile(s, path)
	if err != nil || res.Monitor == nil {
		t.Fatalf("ingest: %+v %v", res, err)
	}
	alerts, _ := s.Alerts(ctx, local, store.AlertFilter{Kinds: []string{app.AlertEvent}})
	// The events move bands too: one band_changed alert a vessel at most
	// here (TestEventsMoveTheFleetBand).
	bands, _ := s.Alerts(ctx, local, store.AlertFilter{Kinds: []string{app.AlertBandChanged}})
	if all, _ := s.Alerts(ctx, local, store.AlertFilter{}); len(alerts) == 0 || res.Monitor.Alerts != len(all) || len(all) != len(alerts)+len(bands) || len(bands) > 2 {
		t.Fatalf("%d event alerts, %d band alerts, %d in all, monitor says %+v", len(alerts), len(bands), len(all), res.Monitor)
	}
	perEvent := map[string]int{}
	var portCall, metDPRK bool
	for _, a := range alerts {
		if strings.Contains(a.Why, "..") {
			t.Errorf("alert text with a doubled full stop: %q", a.Why)
		}
		perEvent[a.Evidence[0].Ref+" "+a.VesselRef]++
		portCall = portCall || (a.VesselRef == "dprk" && strings.Contains(a.Title, "DPRK port"))
		metDPRK = metDPRK || (a.VesselRef == "sts" && strings.Contains(a.Title, "ship-to-ship encounter") && strings.Contains(a.Title, "445000101"))
	}
	for k, n := range perEvent {
		if n != 1 {
			t.Errorf("%d alerts for one occurrence %s", n, k)
		}
	}
	if !portCall || !metDPRK {
		for _, a := range alerts {
			t.Logf("%s: %s", a.VesselRef, a.Title)
		}
		t.Errorf("port call alerted: %v; encounter with the DPRK tanker alerted: %v", portCall, metDPRK)
	}
	if m, err := s.ScreenNewEvents(ctx); err != nil || m.Alerts != 0 {
		t.Errorf("second pass: %+v %v", m, err)
	}
}

func demoScenarioFile(t testing.TB) string {
	t.Helper()
	sc := sim.DefaultScenario
	sc.Duration, sc.Background, sc.DPRKTankerIMO = 72*time.Hour, 5, 8660313
	var buf bytes.Buffer
	if err := sim.Run(sc, &buf, nil); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "scenario.nmea")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMonitorOneProcessAtATime: the monitor's passes take a store-wide
// lease, so of several processes on one store (API nodes, a CLI ingest)
// one screens at a time and raises each alert once. While another holds
// the lease a pass does nothing (the events wait in the store, behind
// the cursor); the next pass raises them.
func TestMonitorOneProcessAtATime(t *testing.T) {
	st, err := sqliteOpen(t)
	if err != nil {
		t.Fatal(err)
	}
	s := app.New(app.Config{Store: st, Now: func() time.Time { return now }})
	defer s.Close()
	if _, err := s.EnsureLists(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePortfolio(ctx, local, "fleet", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddVessels(ctx, local, "fleet", []app.VesselEntry{{ID: "dprk", MMSI: "445000101"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ScreenNewEvents(ctx); err != nil { // the cursor starts here
		t.Fatal(err)
	}
	// Another process holds the lease through the ingest and a pass.
	other, err := st.LockIngest(ctx, "monitor")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingestFile(s, demoScenarioFile(t)); err != nil {
		t.Fatal(err)
	}
	if m, err := s.ScreenNewEvents(ctx); err != nil || m.Alerts != 0 {
		t.Errorf("a pass while another process screens: %+v %v", m, err)
	}
	if as, _ := s.Alerts(ctx, local, store.AlertFilter{}); len(as) != 0 {
		t.Fatalf("%d alerts raised while another process held the monitor", len(as))
	}
	other()
	m, err := s.ScreenNewEvents(ctx)
	if err != nil || m.Alerts == 0 {
		t.Errorf("the pass after: %+v %v", m, err)
	}
}

// TestPortfolioRefusesNonUTF8: a portfolio row in another encoding is
// refused with its row (never stored garbled, nor stored by one store
// and refused by another); the rows around it are added.
func TestPortfolioRefusesNonUTF8(t *testing.T) {
	s, _ := seeded(t)
	if _, err := s.CreatePortfolio(ctx, local, "fleet", ""); err != nil {
		t.Fatal(err)
	}
	res, err := s.AddVessels(ctx, local, "fleet", []app.VesselEntry{
		{ID: "a", IMO: "9300207"},
		{ID: "b", IMO: "8660313", Parties: []store.Party{{Role: "owner", Name: "SOCI\xc9T\xc9 MARITIME"}}}, // Latin-1
		{ID: "c\x00", MMSI: "445000101"},
		{ID: "d", MMSI: "445000101"},
	}, []int{2, 3, 4, 5})
	if err != nil || res.Added != 2 || len(res.Errors) != 2 || res.Errors[0].Row != 3 || res.Errors[1].Row != 4 || !strings.Contains(res.Errors[0].Error, "UTF-8") {
		t.Errorf("%+v %v", res, err)
	}
}

// TestPortfolioDuplicateRow: a reference given twice is refused on its
// second row, naming the first, with the row numbers every other entry
// error has: from 1, the file's lines for a file, the entries' places
// for a list.
func TestPortfolioDuplicateRow(t *testing.T) {
	s, _ := seeded(t)
	if _, err := s.CreatePortfolio(ctx, local, "fleet", ""); err != nil {
		t.Fatal(err)
	}
	// A list (the API's JSON body): D first and third.
	res, err := s.AddVessels(ctx, local, "fleet", []app.VesselEntry{
		{ID: "D", IMO: "9300207"}, {ID: "E", IMO: "8660313"}, {ID: "D", MMSI: "445000101"}, {ID: "F", IMO: "1234568"},
	}, nil)
	if err != nil || res.Added != 2 || len(res.Errors) != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	if e := res.Errors[0]; e.Row != 3 || e.ID != "D" || e.Error != "reference D given twice (also row 1)" {
		t.Errorf("the duplicate: %+v", e)
	}
	if e := res.Errors[1]; e.Row != 4 || !strings.Contains(e.Error, "check digit") {
		t.Errorf("the bad IMO: %+v", e)
	}
	// A file: the header is line 1, D on lines 2 and 4.
	es, rows, errs, err := app.ReadPortfolio(strings.NewReader("id,imo,mmsi\nD,9300207,\nE,8660313,\nD,,445000101\n"), "fleet.csv", false)
	if err != nil || len(errs) != 0 {
		t.Fatal(errs, err)
	}
	res, err = s.AddVessels(ctx, local, "fleet", es, rows)
	if err != nil || len(res.Errors) != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if e := res.Errors[0]; e.Row != 4 || e.Error != "reference D given twice (also row 2)" {
		t.Errorf("the duplicate in a file: %+v", e)
	}
}

// TestWebhookPortfolioRule: a webhook limited to one portfolio is sent
// that portfolio's alerts and no other's.
func TestWebhookPortfolioRule(t *testing.T) {
	st, err := sqliteOpen(t)
	if err != nil {
		t.Fatal(err)
	}
	s := app.New(app.Config{Store: st, Now: func() time.Time { return now }, SealKey: make([]byte, 32)})
	defer s.Close()
	if _, err := s.EnsureLists(ctx); err != nil {
		t.Fatal(err)
	}
	for _, pf := range []string{"tankers", "bulkers"} {
		if _, err := s.CreatePortfolio(ctx, local, pf, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddVessels(ctx, local, "tankers", []app.VesselEntry{{ID: "dprk", MMSI: "445000101"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddVessels(ctx, local, "bulkers", []app.VesselEntry{{ID: "sts", IMO: "9300207"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateWebhook(ctx, local, app.WebhookRequest{URL: "https://example.invalid/x", Portfolios: []string{"nope"}}); app.CodeOf(err) != app.CodeNotFound {
		t.Errorf("a webhook for no portfolio: %v", err)
	}
	only, err := s.CreateWebhook(ctx, local, app.WebhookRequest{URL: "https://example.invalid/tankers", Portfolios: []string{"tankers"}})
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.CreateWebhook(ctx, local, app.WebhookRequest{URL: "https://example.invalid/all"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingestFile(s, demoScenarioFile(t)); err != nil {
		t.Fatal(err)
	}
	alerts, _ := s.Alerts(ctx, local, store.AlertFilter{})
	byID := map[int64]store.Alert{}
	perPortfolio := map[string]int{}
	for _, a := range alerts {
		byID[a.ID] = a
		perPortfolio[a.Portfolio]++
	}
	if perPortfolio["tankers"] == 0 || perPortfolio["bulkers"] == 0 {
		t.Fatalf("alerts per portfolio: %v", perPortfolio)
	}
	ds, err := s.Deliveries(ctx, local, nil, 1000)
	if err != nil {
		t.Fatal(err)
	}
	sent := map[string]map[string]int{}
	for _, d := range ds {
		if sent[d.Webhook] == nil {
			sent[d.Webhook] = map[string]int{}
		}
		sent[d.Webhook][byID[d.AlertID].Portfolio]++
	}
	if sent[only.ID]["bulkers"] != 0 || sent[only.ID]["tankers"] == 0 {
		t.Errorf("the tankers' webhook was sent %v", sent[only.ID])
	}
	if sent[all.ID]["bulkers"] == 0 || sent[all.ID]["tankers"] == 0 {
		t.Errorf("the webhook for all was sent %v", sent[all.ID])
	}
}

// Adding vessels of which none is added answers "vessels": [], not null.
func TestAddVesselsNoneAddedIsAnEmptyList(t *testing.T) {
	st, err := sqliteOpen(t)
	if err != nil {
		t.Fatal(err)
	}
	s := app.New(app.Config{Store: st, Now: func() time.Time { return now }})
	if _, err := s.ImportLists(ctx, local, app.ImportRequest{Files: []sanctions.File{ftmList("2026-01-01", false)}, MinRatio: -1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePortfolio(ctx, local, "book", "Book"); err != nil {
		t.Fatal(err)
	}
	res, err := s.AddVessels(ctx, local, "book", []app.VesselEntry{{ID: "P-3", IMO: "9417116"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	if !strings.Contains(string(b), `"vessels":[]`) || res.Added != 0 || len(res.Errors) != 1 {
		t.Errorf("%s", b)
	}
}

// An alert filter naming a state or kind alerts cannot have, or a
// portfolio the tenant does not have, is refused rather than matching
// nothing; the values alerts have still filter.
func TestAlertFilterRefusesUnknownValues(t *testing.T) {
	st, err := sqliteOpen(t)
	if err != nil {
		t.Fatal(err)
	}
	s := app.New(app.Config{Store: st, Now: func() time.Time { return now }})
	defer s.Close()
	club := app.Principal{Tenant: "club", Actor: "admin@club", Role: app.RoleAdmin}
	other := app.Principal{Tenant: "other", Actor: "admin@other", Role: app.RoleAdmin}
	for _, p := range []app.Principal{club, other} {
		if _, err := s.CreateTenant(ctx, local, p.Tenant, p.Tenant, store.TenantPolicy{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreatePortfolio(ctx, club, "entered", "Entered ships"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePortfolio(ctx, other, "theirs", "Another tenant's"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []store.AlertFilter{
		{States: []string{"OPEN"}}, {States: []string{"opened"}}, {States: []string{"open", ""}}, {States: []string{"open", " closed"}},
		{Kinds: []string{"evnt"}}, {Kinds: []string{"Event"}}, {Kinds: []string{"event", "gap"}},
	} {
		_, err := s.Alerts(ctx, club, f)
		if app.CodeOf(err) != app.CodeInvalid {
			t.Errorf("%+v: %v, want %s", f, err, app.CodeInvalid)
			continue
		}
		want := "open, acknowledged, closed"
		if len(f.Kinds) > 0 {
			want = "list_hit_added, list_hit_removed, band_changed, event, system"
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %q does not name the allowed values %q", f, err, want)
		}
	}
	for _, pf := range []string{"nope", "theirs"} {
		if _, err := s.Alerts(ctx, club, store.AlertFilter{Portfolio: pf}); app.CodeOf(err) != app.CodeNotFound {
			t.Errorf("portfolio %q: %v, want %s", pf, err, app.CodeNotFound)
		}
	}
	for _, f := range []store.AlertFilter{
		{}, {States: app.AlertStates}, {Kinds: app.AlertKinds}, {States: []string{app.AlertOpen}, Kinds: []string{app.AlertEvent}, Portfolio: "entered"},
	} {
		if as, err := s.Alerts(ctx, club, f); err != nil || as == nil {
			t.Errorf("%+v: %v %v", f, as, err)
		}
	}
}
