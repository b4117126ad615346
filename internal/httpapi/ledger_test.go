package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/ledger"
	"github.com/tidewatch/tidewatch/store"
)

// ledgerFixtures are what the ledger routes' cases refer to: records to
// edit and delete, a capacity and a factor to delete.
type ledgerFixtures struct {
	editRecord, deleteRecord string
	capacityMMSI             uint32
	factor                   string
}

func (ts *testServer) makeLedgerFixtures(t *testing.T) ledgerFixtures {
	t.Helper()
	ctx := context.Background()
	op := app.LocalPrincipal("test setup")
	n := tenantSeq.Add(1)
	var f ledgerFixtures
	for _, id := range []*string{&f.editRecord, &f.deleteRecord} {
		r, err := ts.e.svc.AddNotified(ctx, op, ledger.Notified{PeriodStart: "2025-02-01", PeriodEnd: "2025-02-28", Supplier: "China", Quantity: float64(n),
			Unit: ledger.Barrel, Source: "https://example.org/fixture"})
		if err != nil {
			t.Fatal(err)
		}
		*id = r.ID
	}
	f.capacityMMSI = 412000000 + uint32(n%1000)*7
	if _, err := ts.e.svc.SetCapacity(ctx, op, app.CapacityRequest{Vessel: store.VesselQuery{MMSI: f.capacityMMSI}, DWT: 1000, Source: "fixture"}); err != nil {
		t.Fatal(err)
	}
	f.factor = fmt.Sprintf("test_factor_%d", n)
	if _, err := ts.e.svc.SetFactor(ctx, op, ledger.Factor{Product: f.factor, BblPerTonne: 7, Source: "fixture"}); err != nil {
		t.Fatal(err)
	}
	return f
}

// ledgerCases are valid calls of the ledger's routes.
func ledgerCases(f ledgerFixtures) map[string]routeCase {
	rec := NotifiedRequest{PeriodStart: "2025-01-01", PeriodEnd: "2025-01-31", Supplier: "China", Quantity: 14385, Unit: ledger.Barrel,
		Source: "http://world.kbs.co.kr/service/news_view.htm?Seq_Code=91049&lang=f"}
	return map[string]routeCase{
		"GET /v1/ledger":                        {role: app.RoleViewer, path: "/v1/ledger?year=2026", check: wantDemoEstimate},
		"GET /v1/ledger/records":                {role: app.RoleViewer},
		"POST /v1/ledger/records":               {tenant: tenantOp, role: app.RoleAnalyst, body: rec, status: http.StatusCreated},
		"PUT /v1/ledger/records/{id}":           {tenant: tenantOp, role: app.RoleAnalyst, path: "/v1/ledger/records/" + f.editRecord, body: rec},
		"DELETE /v1/ledger/records/{id}":        {tenant: tenantOp, role: app.RoleAnalyst, path: "/v1/ledger/records/" + f.deleteRecord},
		"POST /v1/ledger/records/import":        {tenant: tenantOp, role: app.RoleAnalyst, path: "/v1/ledger/records/import?name=n.csv", body: "period_start,period_end,supplier,quantity,unit,source\n2025-05-01,2025-05-31,Russia,100,t,https://example.org/may\n", header: http.Header{"Content-Type": {"text/csv"}}},
		"GET /v1/ledger/capacities":             {role: app.RoleViewer, check: nonEmptyArray},
		"PUT /v1/ledger/capacities/{vessel}":    {tenant: tenantOp, role: app.RoleAnalyst, path: "/v1/ledger/capacities/" + strconv.Itoa(dprkIMO), body: app.CapacityRequest{DWT: 2500, Source: "test: Q88"}},
		"DELETE /v1/ledger/capacities/{vessel}": {tenant: tenantOp, role: app.RoleAnalyst, path: fmt.Sprintf("/v1/ledger/capacities/%09d", f.capacityMMSI)},
		"GET /v1/ledger/factors":                {role: app.RoleViewer, check: nonEmptyArray},
		"PUT /v1/ledger/factors/{product}":      {tenant: tenantOp, role: app.RoleAnalyst, path: "/v1/ledger/factors/fuel_oil", body: FactorRequest{BblPerTonne: 6.91, Source: "https://unstats.un.org/unsd/energy/yearbook/conversion.htm"}},
		"DELETE /v1/ledger/factors/{product}":   {tenant: tenantOp, role: app.RoleAnalyst, path: "/v1/ledger/factors/" + f.factor},
		"GET /v1/vessels/{vessel}/ledger":       {role: app.RoleViewer, path: fmt.Sprintf("/v1/vessels/%d/ledger?from=2026-03-01&to=2026-03-03", dprkIMO), check: nonEmptyArray},
	}
}

// wantDemoEstimate: the scenario's DPRK tanker calls at Nampo after its
// STS: one estimate, traced to its events.
func wantDemoEstimate(t *testing.T, r reply) {
	t.Helper()
	var res app.LedgerResult
	if err := json.Unmarshal(r.body, &res); err != nil || len(res.Years) != 1 {
		t.Fatalf("ledger: %v %s", err, r)
	}
	ests := res.Years[0].Estimates
	if len(ests) != 1 || ests[0].Vessel.MMSI != dprkMMSI || len(ests[0].EventIDs) < 2 || len(res.Years[0].Totals) != 5 {
		t.Errorf("the scenario's estimate: %+v", ests)
	}
}

// TestLedgerBadInput: bad years, vessels, records and factors are 400s
// that store nothing.
func TestLedgerBadInput(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{})
	an := e.key(tenantOp, app.RoleAnalyst)
	for _, c := range []struct {
		method, path string
		body         any
		want         string
	}{
		{"GET", "/v1/ledger?year=abc", nil, "year"},
		{"GET", "/v1/ledger?year=99999", nil, "year"},
		{"POST", "/v1/ledger/records", NotifiedRequest{PeriodStart: "2025-12-01", PeriodEnd: "2026-01-31", Supplier: "China", Quantity: 1, Unit: "t", Source: "x"}, "two years"},
		{"POST", "/v1/ledger/records", NotifiedRequest{PeriodStart: "2025-12-01", PeriodEnd: "2025-12-31", Supplier: "China", Quantity: 1, Unit: "furlong", Source: "x"}, "unit"},
		{"POST", "/v1/ledger/records", NotifiedRequest{PeriodStart: "2025-12-01", PeriodEnd: "2025-12-31", Supplier: "China", Quantity: 1, Unit: "t"}, "source"},
		{"PUT", "/v1/ledger/capacities/123", app.CapacityRequest{DWT: 100, Source: "x"}, "123"},
		{"PUT", "/v1/ledger/capacities/8660313", app.CapacityRequest{DWT: -5, Source: "x"}, "deadweight"},
		{"PUT", "/v1/ledger/factors/Bad%20Name", FactorRequest{BblPerTonne: 7, Source: "x"}, "product"},
		{"PUT", "/v1/ledger/factors/fuel_oil", FactorRequest{BblPerTonne: 7, Low: 8, High: 9, Source: "x"}, "range"},
		{"GET", "/v1/vessels/8660313/ledger?from=2026-03-03&to=2026-03-01", nil, "end"},
	} {
		unchanged(t, c.path, func() {
			r := ts.call(t, c.method, c.path, an, c.body)
			checkBadAnswer(t, c.method+" "+c.path, r, 400, app.CodeInvalid, c.want)
		})
	}
	// An import of bad rows stores no record (the attempt is audited).
	before, _ := e.st.NotifiedRecords(context.Background())
	r := ts.callHeaders(t, "POST", "/v1/ledger/records/import?name=x.csv", "period_start,period_end,supplier,quantity,unit,source\n2025-01-01,2025-01-31,China,lots,t,x\n",
		http.Header{"Content-Type": {"text/csv"}, "Authorization": {"Bearer " + an}})
	var res app.NotifiedImport
	if json.Unmarshal(r.body, &res) != nil || len(res.Bad) != 1 || res.Bad[0].Line != 2 || len(res.Added) != 0 {
		t.Errorf("import: %s", r)
	}
	if after, _ := e.st.NotifiedRecords(context.Background()); len(after) != len(before) {
		t.Errorf("an import of bad rows stored %d records", len(after)-len(before))
	}
	for _, path := range []string{"/v1/ledger/records/n-nobody", "/v1/ledger/capacities/9300207", "/v1/ledger/factors/no_such_factor"} {
		unchanged(t, path, func() {
			r := ts.call(t, "DELETE", path, an, nil)
			checkBadAnswer(t, "DELETE "+path, r, 404, app.CodeNotFound, "")
		})
	}
}

// TestLedgerWhoOnlyForOperator: the operator's user names and key ids
// (created_by, updated_by, set_by) are not shown to another tenant; the
// operator sees them.
func TestLedgerWhoOnlyForOperator(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{})
	op := app.LocalPrincipal("op-secret-actor")
	if _, err := e.svc.AddNotified(context.Background(), op, ledger.Notified{PeriodStart: "2024-07-01", PeriodEnd: "2024-07-31", Supplier: "Russia", Quantity: 77,
		Unit: ledger.Barrel, Source: "https://example.org/who"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetCapacity(context.Background(), op, app.CapacityRequest{Vessel: store.VesselQuery{IMO: 9377779}, DWT: 4000, Source: "who"}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v1/ledger?year=2024", "/v1/ledger/records", "/v1/ledger/capacities"} {
		if r := ts.call(t, "GET", path, e.key(tenantB, app.RoleAdmin), nil); r.status != 200 || strings.Contains(string(r.body), "op-secret-actor") {
			t.Errorf("%s as another tenant: %s", path, r)
		}
		if r := ts.call(t, "GET", path, e.key(tenantOp, app.RoleViewer), nil); r.status != 200 || !strings.Contains(string(r.body), "op-secret-actor") {
			t.Errorf("%s as the operator: %d, no actor", path, r.status)
		}
	}
}
