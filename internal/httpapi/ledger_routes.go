package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"reflect"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/ledger"
	"github.com/tidewatch/tidewatch/store"
)

// The cap ledger is shared by every tenant: everyone reads it, the
// operator's analysts change its records, capacities and factors
// (docs/ledger.md).

// NotifiedRequest enters or replaces a notified delivery.
type NotifiedRequest struct {
	PeriodStart        string      `json:"period_start"`
	PeriodEnd          string      `json:"period_end"`
	Supplier           string      `json:"supplier"`
	Product            string      `json:"product,omitempty"`
	Quantity           float64     `json:"quantity,omitempty"`
	Unit               ledger.Unit `json:"unit"`
	BarrelsAsPublished float64     `json:"barrels_as_published,omitempty"`
	Factor             float64     `json:"factor,omitempty"`
	Source             string      `json:"source"`
	Note               string      `json:"note,omitempty"`
}

func (r NotifiedRequest) record() ledger.Notified {
	return ledger.Notified{PeriodStart: r.PeriodStart, PeriodEnd: r.PeriodEnd, Supplier: r.Supplier, Product: r.Product, Quantity: r.Quantity, Unit: r.Unit,
		BarrelsAsPublished: r.BarrelsAsPublished, Factor: r.Factor, Source: r.Source, Note: r.Note}
}

// FactorRequest sets a conversion factor.
type FactorRequest struct {
	BblPerTonne float64 `json:"bbl_per_tonne"`
	// Low and High bound it (either not given: the factor itself).
	Low    float64 `json:"low,omitempty"`
	High   float64 `json:"high,omitempty"`
	Source string  `json:"source"`
	Note   string  `json:"note,omitempty"`
}

func (s *Server) registerLedger() {
	jsonRoute(s, route{method: "GET", path: "/v1/ledger", tag: "ledger", role: app.RoleViewer,
		summary: "The refined-petroleum cap ledger of a year (or every year): notified deliveries, estimates from DPRK port calls traced to their events, totals per fill scenario with ranges and share of the cap, published estimates beside ours",
		params:  []param{query("year", "integer", "the year (default: every year with a record, an estimate or a published figure)")}},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (app.LedgerResult, error) {
			year, err := intParam(r, "year", 0, 2000, 2200)
			if err != nil {
				return app.LedgerResult{}, err
			}
			return s.svc.Ledger(ctx, p, app.LedgerRequest{Year: year})
		})
	jsonRoute(s, route{method: "GET", path: "/v1/ledger/records", tag: "ledger", role: app.RoleViewer, summary: "The notified deliveries, as entered"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]ledger.Notified, error) {
			return s.svc.NotifiedRecords(ctx, p)
		})
	jsonRoute(s, route{method: "POST", path: "/v1/ledger/records", tag: "ledger", role: app.RoleAnalyst, shared: true, status: http.StatusCreated,
		summary: "Enter a notified delivery (as published: original unit, product, source); its id is assigned"},
		func(ctx context.Context, p app.Principal, r *http.Request, req *NotifiedRequest) (ledger.Notified, error) {
			return s.svc.AddNotified(ctx, p, req.record())
		})
	rid := pathParam("id", "record id")
	jsonRoute(s, route{method: "PUT", path: "/v1/ledger/records/{id}", tag: "ledger", role: app.RoleAnalyst, shared: true, params: []param{rid},
		summary: "Replace a notified delivery's fields (the audit log keeps it before and after)"},
		func(ctx context.Context, p app.Principal, r *http.Request, req *NotifiedRequest) (ledger.Notified, error) {
			return s.svc.UpdateNotified(ctx, p, r.PathValue("id"), req.record())
		})
	jsonRoute(s, route{method: "DELETE", path: "/v1/ledger/records/{id}", tag: "ledger", role: app.RoleAnalyst, shared: true, params: []param{rid},
		summary: "Delete a notified delivery (kept in the audit log)"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (Done, error) {
			return Done{true}, s.svc.DeleteNotified(ctx, p, r.PathValue("id"))
		})
	s.add(&route{method: "POST", path: "/v1/ledger/records/import", tag: "ledger", role: app.RoleAnalyst, shared: true, long: true,
		params:      []param{query("name", "string", "the file's name, for the audit log")},
		summary:     "Import notified deliveries from CSV: period_start, period_end, supplier, quantity, unit, source[, barrels_as_published, product, factor, note]; bad rows are reported, rows already held skipped",
		bodyContent: "text/csv", resp: reflect.TypeFor[app.NotifiedImport](), handle: func(w http.ResponseWriter, r *http.Request, p app.Principal) error {
			name := r.URL.Query().Get("name")
			if name == "" || len(name) > 200 {
				name = "upload.csv"
			}
			if err := checkNameText(name, "notified.csv"); err != nil {
				return err
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opt.MaxBody))
			if err != nil {
				return err
			}
			res, err := s.svc.ImportNotified(r.Context(), p, bytes.NewReader(body), name)
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, res)
			return nil
		}})
	jsonRoute(s, route{method: "GET", path: "/v1/ledger/capacities", tag: "ledger", role: app.RoleViewer, summary: "The tankers' capacities analysts set"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]store.VesselCapacity, error) {
			return s.svc.Capacities(ctx, p)
		})
	vp := pathParam("vessel", "IMO number or MMSI")
	jsonRoute(s, route{method: "PUT", path: "/v1/ledger/capacities/{vessel}", tag: "ledger", role: app.RoleAnalyst, shared: true, params: []param{vp},
		summary: "Set a tanker's deadweight (tonnes) with its source: it comes before list tonnage and AIS length at once; an IMO's capacity comes before an MMSI's for the same ship, and the answer's warnings say when the other exists"},
		func(ctx context.Context, p app.Principal, r *http.Request, req *app.CapacityRequest) (app.CapacitySet, error) {
			q, err := vesselOf(r)
			if err != nil {
				return app.CapacitySet{}, err
			}
			req.Vessel = q
			return s.svc.SetCapacity(ctx, p, *req)
		})
	jsonRoute(s, route{method: "DELETE", path: "/v1/ledger/capacities/{vessel}", tag: "ledger", role: app.RoleAnalyst, shared: true, params: []param{vp},
		summary: "Remove a capacity an analyst set"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (Done, error) {
			q, err := vesselOf(r)
			if err != nil {
				return Done{}, err
			}
			return Done{true}, s.svc.DeleteCapacity(ctx, p, q)
		})
	jsonRoute(s, route{method: "GET", path: "/v1/ledger/factors", tag: "ledger", role: app.RoleViewer, summary: "The barrels-per-tonne factors in force, with their sources"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]ledger.Factor, error) {
			return s.svc.Factors(ctx, p)
		})
	pp := pathParam("product", "the product, e.g. gas_diesel_oil")
	jsonRoute(s, route{method: "PUT", path: "/v1/ledger/factors/{product}", tag: "ledger", role: app.RoleAnalyst, shared: true, params: []param{pp},
		summary: "Set a product's factor (bbl/t, with its range and source): every figure uses it at once"},
		func(ctx context.Context, p app.Principal, r *http.Request, req *FactorRequest) (ledger.Factor, error) {
			return s.svc.SetFactor(ctx, p, ledger.Factor{Product: r.PathValue("product"), BblPerTonne: req.BblPerTonne, Low: req.Low, High: req.High, Source: req.Source, Note: req.Note})
		})
	jsonRoute(s, route{method: "DELETE", path: "/v1/ledger/factors/{product}", tag: "ledger", role: app.RoleAnalyst, shared: true, params: []param{pp},
		summary: "Remove a stored factor: the built-in one applies again"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (Done, error) {
			return Done{true}, s.svc.DeleteFactor(ctx, p, r.PathValue("product"))
		})
	jsonRoute(s, route{method: "GET", path: "/v1/vessels/{vessel}/ledger", tag: "ledger", role: app.RoleViewer,
		params:  []param{vp, query("from", "string", "start (default: 12 months before to)"), query("to", "string", "end (default: now)")},
		summary: "The estimated deliveries a vessel is part of: as the tanker calling at a DPRK port, or a ship of its loading"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]ledger.Estimate, error) {
			q, err := vesselOf(r)
			if err != nil {
				return nil, err
			}
			from, err := timeParam(r, "from")
			if err != nil {
				return nil, err
			}
			to, err := timeParam(r, "to")
			if err != nil {
				return nil, err
			}
			return s.svc.VesselLedgerOf(ctx, p, q, from, to)
		})
}
