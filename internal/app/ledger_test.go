package app_test

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/ledger"
	"github.com/tidewatch/tidewatch/store"
)

func within(a, b float64) bool { return math.Abs(a-b) < 0.01 }

func wantRange(t *testing.T, what string, got, want ledger.Range) {
	t.Helper()
	if !within(got.Low, want.Low) || !within(got.Central, want.Central) || !within(got.High, want.High) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

// The demo's scenario yields one estimated delivery: the DPRK tanker
// (MMSI 445000101, CHON MA SAN's IMO 8660313) meets a foreign tanker in
// the Korea Bay STS area and then calls at Nampo. By hand: the tanker
// broadcasts a length of 110 m (90 m to the bow, 20 m to the stern) and
// no list gives its tonnage, so its deadweight is k x 110^3 with k
// 0.0049400 / 0.0058596 / 0.0074100 t/m^3: 6,575.16 / 7,799.15 / 9,862.74 t;
// as refined products of no stated type (7.50 bbl/t, 7.50-8.33) fully
// laden is 49,313.7 / 58,493.6 / 82,156.7 bbl; 90% laden 52,644.3
// central; 11.7% of the 500,000-barrel cap fully laden.
func TestLedgerDemoEstimateByHand(t *testing.T) {
	s, _ := seeded(t)
	if _, err := ingestFile(s, demoScenarioFile(t)); err != nil {
		t.Fatal(err)
	}
	res, err := s.Ledger(ctx, local, app.LedgerRequest{Year: 2026})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Years) != 1 {
		t.Fatalf("%d years", len(res.Years))
	}
	y := res.Years[0]
	if len(y.Estimates) != 1 {
		t.Fatalf("%d estimates: %+v (skipped %+v)", len(y.Estimates), y.Estimates, y.Skipped)
	}
	e := y.Estimates[0]
	if e.Vessel.MMSI != 445000101 || e.Vessel.IMO != 8660313 || e.Port != "Nampo" || !e.Vessel.Tanker || !e.Vessel.Simulated {
		t.Errorf("estimate: %+v", e)
	}
	if e.Vessel.Capacity == nil || e.Vessel.Capacity.Basis != ledger.BasisAISLength || !strings.Contains(e.Vessel.Capacity.Detail, "length 110 m") {
		t.Fatalf("capacity: %+v", e.Vessel.Capacity)
	}
	wantRange(t, "deadweight", e.Vessel.Capacity.DWT, ledger.Range{Low: 6575.16, Central: 7799.15, High: 9862.74})
	wantRange(t, "fully laden", e.FullyLaden, ledger.Range{Low: 49313.72, Central: 58493.64, High: 82156.65})
	wantRange(t, "90% laden", e.Amount("90"), ledger.Range{Low: 44382.35, Central: 52644.28, High: 73940.99})
	full := y.Totals[len(y.Totals)-1]
	if full.Scenario.ID != "full" || ledger.Percent(full.Share.Central) != "11.7%" {
		t.Errorf("fully laden share: %+v", full)
	}
	if len(res.Simulated) != 1 {
		t.Errorf("the estimate rests on simulated AIS and says so: %v", res.Simulated)
	}
	// Traced to events: the encounter in the STS area with the foreign
	// tanker, then the port call, both stored.
	if len(e.Triggers) != 1 || e.Triggers[0].Kind != detect.KindEncounter || !strings.Contains(e.Triggers[0].Why, "667000202") || len(e.EventIDs) != 2 {
		t.Fatalf("triggers: %+v", e.Triggers)
	}
	evs, err := s.Events(ctx, local, app.EventsRequest{Vessel: store.VesselQuery{MMSI: 445000101}})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, ev := range evs {
		found[ev.ID] = ev.Kind
	}
	if found[e.EventIDs[0]] != detect.KindEncounter || found[e.EventIDs[1]] != detect.KindPortCall || e.PortCallID != e.EventIDs[1] {
		t.Errorf("the estimate's events %v are not the stored encounter and port call: %v", e.EventIDs, found)
	}

	// A capacity an analyst sets replaces the length, and a factor change
	// applies at once: 3,000 t x 7.50 (7.50-8.33) = 22,500 (22,500-24,990);
	// then x 8.00 (7.60-8.40) = 24,000 (22,800-25,200).
	if _, err := s.SetCapacity(ctx, local, app.CapacityRequest{Vessel: store.VesselQuery{IMO: 8660313}, DWT: 3000, Source: "test: Q88"}); err != nil {
		t.Fatal(err)
	}
	res, _ = s.Ledger(ctx, local, app.LedgerRequest{Year: 2026})
	e = res.Years[0].Estimates[0]
	if e.Vessel.Capacity.Basis != ledger.BasisUser {
		t.Errorf("basis after a capacity was set: %+v", e.Vessel.Capacity)
	}
	wantRange(t, "fully laden at 3,000 t", e.FullyLaden, ledger.Range{Low: 22500, Central: 22500, High: 24990})
	if _, err := s.SetFactor(ctx, local, ledger.Factor{Product: ledger.Unspecified, BblPerTonne: 8, Low: 7.6, High: 8.4, Source: "test"}); err != nil {
		t.Fatal(err)
	}
	res, _ = s.Ledger(ctx, local, app.LedgerRequest{Year: 2026})
	wantRange(t, "fully laden after the factor changed", res.Years[0].Estimates[0].FullyLaden, ledger.Range{Low: 22800, Central: 24000, High: 25200})
	if err := s.DeleteFactor(ctx, local, ledger.Unspecified); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCapacity(ctx, local, store.VesselQuery{IMO: 8660313}); err != nil {
		t.Fatal(err)
	}
	res, _ = s.Ledger(ctx, local, app.LedgerRequest{Year: 2026})
	wantRange(t, "fully laden back on length", res.Years[0].Estimates[0].FullyLaden, ledger.Range{Low: 49313.72, Central: 58493.64, High: 82156.65})

	// The vessel's own ledger: the tanker and its supplier are in it; a
	// background ship is not.
	for m, want := range map[uint32]int{445000101: 1, 667000202: 1, 412000000: 0} {
		got, err := s.VesselLedger(ctx, local, []uint32{m}, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC))
		if err != nil || len(got) != want {
			t.Errorf("vessel ledger of %d: %d estimates (%v), want %d", m, len(got), err, want)
		}
	}
}

func TestLedgerRecordsAudited(t *testing.T) {
	s, _ := seeded(t)
	imp, err := s.ImportEmbeddedNotified(ctx, local)
	if err != nil || len(imp.Added) != 11 || len(imp.Bad) != 0 {
		t.Fatalf("import: %+v %v", imp, err)
	}
	again, err := s.ImportEmbeddedNotified(ctx, local)
	if err != nil || len(again.Added) != 0 || again.Held != 11 {
		t.Errorf("import again: %+v %v", again, err)
	}
	res, err := s.Ledger(ctx, local, app.LedgerRequest{Year: 2018})
	if err != nil {
		t.Fatal(err)
	}
	// 48,430 t of no stated product x 7.50-8.33 (Russia's barrels are
	// within the combined figure).
	wantRange(t, "2018 notified", res.Years[0].NotifiedTotal, ledger.Range{Low: 363225, Central: 363225, High: 403421.9})
	if len(res.Years[0].Published) != 4 {
		t.Errorf("2018: %d published estimates beside", len(res.Years[0].Published))
	}
	all, _ := s.Ledger(ctx, local, app.LedgerRequest{})
	if len(all.Years) < 7 {
		t.Errorf("every year: %d", len(all.Years))
	}

	n, err := s.AddNotified(ctx, local, ledger.Notified{PeriodStart: "2025-07-01", PeriodEnd: "2025-07-31", Supplier: "China", Quantity: 100, Unit: ledger.Tonne,
		Product: "gas_diesel_oil", Source: "https://example.org/july"})
	if err != nil || n.ID == "" || n.CreatedBy != "tester" {
		t.Fatalf("add: %+v %v", n, err)
	}
	n.Quantity = 200
	up, err := s.UpdateNotified(ctx, local, n.ID, n)
	if err != nil || up.Quantity != 200 || !up.Created.Equal(n.Created) {
		t.Fatalf("update: %+v %v", up, err)
	}
	if _, err := s.UpdateNotified(ctx, local, "n-nobody", n); app.CodeOf(err) != app.CodeNotFound {
		t.Errorf("update of no record: %v", err)
	}
	bad := n
	bad.PeriodEnd = "2026-01-31"
	if _, err := s.AddNotified(ctx, local, bad); app.CodeOf(err) != app.CodeInvalid {
		t.Errorf("a record across two years: %v", err)
	}
	if err := s.DeleteNotified(ctx, local, n.ID); err != nil {
		t.Fatal(err)
	}
	// Every change is in the operator's audit log.
	var actions []string
	recs, _ := s.AuditRecords(ctx, local, app.AuditFilter{Action: app.ActionLedger})
	for _, r := range recs {
		actions = append(actions, r.Subject)
	}
	if len(recs) != 5 || !strings.Contains(strings.Join(actions, " "), "notified:"+n.ID) {
		t.Errorf("ledger audit records: %v", actions)
	}
	// Viewers read; other tenants' analysts may not write (shared data).
	viewer := app.Principal{Tenant: app.LocalTenant, Actor: "v", Role: app.RoleViewer, Operator: true}
	if _, err := s.AddNotified(ctx, viewer, n); app.CodeOf(err) != app.CodeForbidden {
		t.Errorf("viewer adds: %v", err)
	}
	other := app.Principal{Tenant: "insurer", Actor: "a", Role: app.RoleAdmin}
	if _, err := s.SetCapacity(ctx, other, app.CapacityRequest{Vessel: store.VesselQuery{IMO: 8660313}, DWT: 3000, Source: "x"}); app.CodeOf(err) != app.CodeForbidden {
		t.Errorf("another tenant sets a capacity: %v", err)
	}
	if _, err := s.Ledger(ctx, app.Principal{Tenant: "insurer", Actor: "b", Role: app.RoleViewer}, app.LedgerRequest{Year: 2018}); err != nil {
		t.Errorf("another tenant's viewer reads the ledger: %v", err)
	}
	if _, err := s.SetCapacity(ctx, local, app.CapacityRequest{Vessel: store.VesselQuery{IMO: 8660313}, DWT: 1e9, Source: "x"}); app.CodeOf(err) != app.CodeInvalid {
		t.Errorf("an absurd deadweight: %v", err)
	}
}

// The report of a tanker in the ledger has the ledger section, with the
// estimate's events by their references in the report.
func TestReportLedgerSection(t *testing.T) {
	s, _ := seeded(t)
	if _, err := ingestFile(s, demoScenarioFile(t)); err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	rep, err := s.Report(ctx, local, app.ProfileRequest{Vessel: store.VesselQuery{MMSI: 445000101}, AsOf: asOf, Window: app.Span{Days: 3}}, "r.html")
	if err != nil {
		t.Fatal(err)
	}
	html := string(rep.HTML)
	for _, want := range []string{`id="ledger-estimates"`, "the tanker calling at the DPRK port", "at Nampo", "58,494 (49,314-82,157)", "11.7% (9.9%-16.4%)", "(simulated)"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Its events are named by the report's own references (E1, E2...).
	if !regexp.MustCompile(`<code>E\d+ \([0-9a-f]{16}\), E\d+ \([0-9a-f]{16}\)</code>`).MatchString(html) {
		t.Error("the estimate's events are not referenced as the report's events")
	}
	// The supplier's report shows it too; a clean ship's has no section.
	rep, _ = s.Report(ctx, local, app.ProfileRequest{Vessel: store.VesselQuery{MMSI: 667000202}, AsOf: asOf, Window: app.Span{Days: 3}}, "r.html")
	if !strings.Contains(string(rep.HTML), "a ship of the tanker&#39;s loading") {
		t.Error("the supplier's report lacks the ledger section")
	}
	rep, _ = s.Report(ctx, local, app.ProfileRequest{Vessel: store.VesselQuery{MMSI: 412000000}, AsOf: asOf, Window: app.Span{Days: 3}}, "r.html")
	if strings.Contains(string(rep.HTML), `id="ledger-estimates"`) {
		t.Error("a clean ship's report has a ledger section")
	}
}

// TestLedgerIdentityAtEventTime: an MMSI that broadcast one IMO for
// months, then another (a reused or taken-over identity), has each DPRK
// delivery put on the ship it carried then, not on the IMO it broadcast
// most over all time.
func TestLedgerIdentityAtEventTime(t *testing.T) {
	s, st := newService(t)
	const m, supplier = 445000777, 667000888
	const oldIMO, newIMO = 9100001, 9200002
	day := func(d int) time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d) }
	ids := []store.Identity{
		// The old identity, broadcast far more (days 0-59), then the new
		// one from day 60 on.
		{MMSI: m, Field: "imo", Value: strconv.Itoa(oldIMO), First: day(0), Last: day(59), Count: 5000, Source: "t"},
		{MMSI: m, Field: "name", Value: "OLD SHIP", First: day(0), Last: day(59), Count: 5000, Source: "t"},
		{MMSI: m, Field: "imo", Value: strconv.Itoa(newIMO), First: day(60), Last: day(90), Count: 40, Source: "t"},
		{MMSI: m, Field: "name", Value: "NEW SHIP", First: day(60), Last: day(90), Count: 40, Source: "t"},
		{MMSI: m, Field: "ship_type", Value: "80", First: day(0), Last: day(90), Count: 5040, Source: "t"},
		{MMSI: m, Field: "length", Value: "110", First: day(0), Last: day(90), Count: 5040, Source: "t"},
		{MMSI: supplier, Field: "ship_type", Value: "80", First: day(0), Last: day(90), Count: 100, Source: "t"},
	}
	var evs []store.StoredEvent
	delivery := func(id string, d int) {
		enc := detect.Event{ID: id + "-enc", Kind: detect.KindEncounter, Start: day(d - 3), End: day(d - 3).Add(5 * time.Hour), Lat: 38.9, Lon: 124.5,
			Vessels: []detect.Vessel{{MMSI: m}, {MMSI: supplier}}}
		enc.Details.Zone, enc.Details.ZoneKind, enc.Details.ZoneName = "sts-korea-bay-nampo-chodo", "sts_area", "Korea Bay"
		call := detect.Event{ID: id + "-call", Kind: detect.KindPortCall, Start: day(d), End: day(d).Add(30 * time.Hour), Lat: 38.73, Lon: 125.4,
			Vessels: []detect.Vessel{{MMSI: m}}}
		call.Details.DPRKPort, call.Details.Port = true, "Nampo"
		evs = append(evs, store.StoredEvent{Seq: int64(len(evs)), Event: enc}, store.StoredEvent{Seq: int64(len(evs) + 1), Event: call})
	}
	delivery("a", 20) // under the old identity
	delivery("b", 75) // under the new one
	if err := st.PutRun(ctx, store.Run{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: "r", Batches: 1}, Identities: ids, Events: evs}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Ledger(ctx, local, app.LedgerRequest{Year: 2026})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Years) != 1 || len(res.Years[0].Estimates) != 2 {
		t.Fatalf("ledger: %+v", res.Years)
	}
	got := map[string]ledger.Vessel{}
	for _, e := range res.Years[0].Estimates {
		got[e.PortCallID] = e.Vessel
	}
	if v := got["a-call"]; v.IMO != oldIMO || v.Name != "OLD SHIP" {
		t.Errorf("day-20 delivery on %d %q, want %d OLD SHIP", v.IMO, v.Name, oldIMO)
	}
	if v := got["b-call"]; v.IMO != newIMO || v.Name != "NEW SHIP" {
		t.Errorf("day-75 delivery on %d %q, want %d NEW SHIP (the IMO broadcast then, not the most broadcast)", v.IMO, v.Name, newIMO)
	}
}

// An unknown product is refused with the known ones listed, by hand and
// in a CSV (the row's line); a product added as a factor is then known.
func TestLedgerUnknownProduct(t *testing.T) {
	s, _ := newService(t)
	n := ledger.Notified{PeriodStart: "2026-02-01", PeriodEnd: "2026-02-28", Supplier: "Russia", Quantity: 300, Unit: ledger.Tonne, Product: "diesel", Source: "http://x"}
	_, err := s.AddNotified(ctx, local, n)
	if app.CodeOf(err) != app.CodeInvalid || !strings.Contains(err.Error(), "gas_diesel_oil") || !strings.Contains(err.Error(), `"diesel"`) {
		t.Errorf("product diesel: %v", err)
	}
	res, err := s.ImportNotified(ctx, local, strings.NewReader("period_start,period_end,supplier,quantity,unit,source,product\n2026-02-01,2026-02-28,Russia,300,t,http://x,nosuch\n2026-03-01,2026-03-31,Russia,300,t,http://x,fuel_oil\n"), "p.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 1 || len(res.Bad) != 1 || res.Bad[0].Line != 2 || !strings.Contains(res.Bad[0].Reason, "nosuch") {
		t.Errorf("import: %+v", res)
	}
	if _, err := s.SetFactor(ctx, local, ledger.Factor{Product: "diesel", BblPerTonne: 7.46, Source: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddNotified(ctx, local, n); err != nil {
		t.Errorf("after its factor is set: %v", err)
	}
}

// A capacity set by MMSI when the IMO the MMSI broadcast has one (which
// comes first) is set with a warning, and the other way round.
func TestLedgerCapacityMMSIBesideIMO(t *testing.T) {
	s, _ := seeded(t)
	if _, err := ingestFile(s, demoScenarioFile(t)); err != nil {
		t.Fatal(err)
	}
	c, err := s.SetCapacity(ctx, local, app.CapacityRequest{Vessel: store.VesselQuery{IMO: 8660313}, DWT: 3000, Source: "test: Q88"})
	if err != nil || len(c.Warnings) != 0 {
		t.Fatalf("by IMO: %+v %v", c, err)
	}
	c, err = s.SetCapacity(ctx, local, app.CapacityRequest{Vessel: store.VesselQuery{MMSI: 445000101}, DWT: 5000, Source: "test: registry"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "IMO 8660313") || !strings.Contains(c.Warnings[0], "3,000 t") {
		t.Errorf("by MMSI beside the IMO's: %q", c.Warnings)
	}
	// The IMO's is the one used, as the warning says.
	res, err := s.Ledger(ctx, local, app.LedgerRequest{Year: 2026})
	if err != nil || len(res.Years) != 1 || len(res.Years[0].Estimates) != 1 {
		t.Fatalf("ledger: %v", err)
	}
	if cp := res.Years[0].Estimates[0].Vessel.Capacity; cp == nil || cp.DWT.Central != 3000 {
		t.Errorf("capacity used: %+v", cp)
	}
	// Setting the IMO's again names the MMSI's it overrides.
	c, err = s.SetCapacity(ctx, local, app.CapacityRequest{Vessel: store.VesselQuery{IMO: 8660313}, DWT: 3100, Source: "test: Q88 2"})
	if err != nil || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "MMSI 445000101") {
		t.Errorf("by IMO beside an MMSI's: %q %v", c.Warnings, err)
	}
}

// A file over the bound is refused whole, not cut at it (a cut last row
// could read as a smaller number).
func TestLedgerImportTooLarge(t *testing.T) {
	s, _ := newService(t)
	head := "period_start,period_end,supplier,quantity,unit,source\n"
	big := head + strings.Repeat("#", app.MaxNotifiedCSV-len(head)) + "\n"
	if _, err := s.ImportNotified(ctx, local, strings.NewReader(big), "big.csv"); app.CodeOf(err) != app.CodeInvalid || !strings.Contains(err.Error(), "larger than 64 MiB") {
		t.Errorf("a file over the bound: %v", err)
	}
}
