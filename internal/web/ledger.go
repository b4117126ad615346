package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/ledger"
	"github.com/tidewatch/tidewatch/store"
)

// The cap ledger page (docs/ledger.md): a year's notified deliveries,
// estimates traced to their events, totals per scenario and the published
// estimates beside ours; forms for the operator's analysts.

func init() {
	funcs["rng"] = func(r ledger.Range) string { return r.Round().String() }
	funcs["share"] = func(r ledger.Range) string {
		if r.IsExact() {
			return ledger.Percent(r.Central)
		}
		return fmt.Sprintf("%s (%s-%s)", ledger.Percent(r.Central), ledger.Percent(r.Low), ledger.Percent(r.High))
	}
	funcs["thousands"] = ledger.Thousands
	funcs["figure"] = ledger.Figure
	funcs["barrels"] = ledger.BarrelsText
	funcs["amount"] = func(e ledger.Estimate, s string) string { return e.Amount(s).Round().String() }
}

func (h *Handler) registerLedger() {
	v, a := app.RoleViewer, app.RoleAnalyst
	h.add("GET", "/ledger", true, v, h.ledgerPage)
	h.add("POST", "/ledger/records", false, a, h.addRecord)
	h.add("POST", "/ledger/records/import", false, a, h.importRecords)
	h.add("POST", "/ledger/records/delete", false, a, h.deleteRecord)
	h.add("POST", "/ledger/capacities", false, a, h.setCapacity)
	h.add("POST", "/ledger/factors", false, a, h.setFactor)
}

type ledgerView struct {
	Year       int
	Years      []int
	Res        app.LedgerResult
	Y          *ledger.Year
	Scenarios  []ledger.Scenario
	Capacities []store.VesselCapacity
	// Editor: an analyst of the operator tenant (the ledger is shared).
	Editor bool
	Import *app.NotifiedImport
}

func (h *Handler) ledgerPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return h.renderLedger(w, r, c, nil)
}

func (h *Handler) renderLedger(w http.ResponseWriter, r *http.Request, c *reqCtx, imp *app.NotifiedImport) error {
	ctx := r.Context()
	years, err := h.svc.LedgerYears(ctx, c.P)
	if err != nil {
		return err
	}
	v := ledgerView{Scenarios: ledger.Scenarios, Editor: c.P.Operator && c.P.Role >= app.RoleAnalyst, Import: imp, Years: years}
	v.Year = h.svc.Now().Year()
	if len(v.Years) > 0 {
		v.Year = v.Years[len(v.Years)-1]
	}
	if s := r.URL.Query().Get("year"); s != "" {
		if v.Year, err = strconv.Atoi(s); err != nil || v.Year < 2000 || v.Year > 2200 {
			return app.Errorf(app.CodeInvalid, "year %q: give a year such as 2024", s)
		}
	}
	if v.Res, err = h.svc.Ledger(ctx, c.P, app.LedgerRequest{Year: v.Year}); err != nil {
		return err
	}
	if len(v.Res.Years) == 1 {
		v.Y = &v.Res.Years[0]
	}
	if v.Capacities, err = h.svc.Capacities(ctx, c.P); err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "ledger", c, fmt.Sprintf("Cap ledger %d", v.Year), v)
	return nil
}

// formFloat reads a number field as ledger.ParseNumber does a CSV cell:
// "1.000,5" is refused, not read as 1.0005. grouped: a quantity, where
// thousands separators are allowed.
func formFloat(r *http.Request, name string, grouped bool) (float64, error) {
	f, err := ledger.ParseNumber(strings.ReplaceAll(name, "_", " "), r.PostFormValue(name), grouped)
	if err != nil {
		return 0, app.Errorf(app.CodeInvalid, "%v", err)
	}
	return f, nil
}

func backToYear(r *http.Request) string {
	to := "/ledger"
	if y, err := strconv.Atoi(r.PostFormValue("year")); err == nil && y >= 2000 && y <= 2200 {
		to += "?year=" + strconv.Itoa(y)
	}
	return to
}

func (h *Handler) addRecord(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	n := ledger.Notified{PeriodStart: strings.TrimSpace(r.PostFormValue("period_start")), PeriodEnd: strings.TrimSpace(r.PostFormValue("period_end")),
		Supplier: strings.TrimSpace(r.PostFormValue("supplier")), Product: strings.TrimSpace(r.PostFormValue("product")), Source: strings.TrimSpace(r.PostFormValue("source")),
		Note: r.PostFormValue("note")}
	u, err := ledger.ParseUnit(r.PostFormValue("unit"))
	if err != nil {
		return app.Errorf(app.CodeInvalid, "%v", err)
	}
	n.Unit = u
	for name, dst := range map[string]*float64{"quantity": &n.Quantity, "barrels_as_published": &n.BarrelsAsPublished, "factor": &n.Factor} {
		if *dst, err = formFloat(r, name, name != "factor"); err != nil {
			return err
		}
	}
	if n, err = h.svc.AddNotified(r.Context(), c.P, n); err != nil {
		return err
	}
	h.redirect(w, r, c, "/ledger?year="+n.PeriodStart[:4], "Record "+n.ID+" added.")
	return nil
}

func (h *Handler) importRecords(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, name, err := h.formFile(w, r, "file")
	if err != nil {
		return err
	}
	res, err := h.svc.ImportNotified(r.Context(), c.P, f, name)
	if err != nil {
		return err
	}
	return h.renderLedger(w, r, c, &res)
}

func (h *Handler) deleteRecord(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id := r.PostFormValue("id")
	if err := h.svc.DeleteNotified(r.Context(), c.P, id); err != nil {
		return err
	}
	h.redirect(w, r, c, backToYear(r), "Record "+id+" deleted (kept in the audit log).")
	return nil
}

func (h *Handler) setCapacity(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q, err := app.ParseVessel(strings.TrimSpace(r.PostFormValue("vessel")))
	if err != nil {
		return err
	}
	dwt, err := formFloat(r, "dwt", true)
	if err != nil {
		return err
	}
	cp, err := h.svc.SetCapacity(r.Context(), c.P, app.CapacityRequest{Vessel: q, DWT: dwt, Source: r.PostFormValue("source"), Note: r.PostFormValue("note")})
	if err != nil {
		return err
	}
	msg := "Capacity of " + cp.Key() + " set: " + ledger.Thousands(cp.DWT) + " t."
	for _, w := range cp.Warnings {
		msg += " Warning: " + w + "."
	}
	h.redirect(w, r, c, backToYear(r), msg)
	return nil
}

func (h *Handler) setFactor(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f := ledger.Factor{Product: strings.TrimSpace(r.PostFormValue("product")), Source: r.PostFormValue("source"), Note: r.PostFormValue("note")}
	var err error
	for name, dst := range map[string]*float64{"bbl_per_tonne": &f.BblPerTonne, "low": &f.Low, "high": &f.High} {
		if *dst, err = formFloat(r, name, false); err != nil {
			return err
		}
	}
	if f, err = h.svc.SetFactor(r.Context(), c.P, f); err != nil {
		return err
	}
	h.redirect(w, r, c, backToYear(r), "Factor for "+f.Product+" set: "+strconv.FormatFloat(f.BblPerTonne, 'f', -1, 64)+" bbl/t.")
	return nil
}
