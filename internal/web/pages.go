package web

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/store"
)

func (h *Handler) register() {
	h.mux.Handle("GET /static/", h.static())
	h.mux.HandleFunc("GET /login", h.loginPage)
	h.mux.HandleFunc("POST /login", h.login)
	h.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		http.Redirect(w, r, "/static/favicon.svg", http.StatusMovedPermanently)
	})
	v, a, u, ad := app.RoleViewer, app.RoleAnalyst, app.RoleUnderwriter, app.RoleAdmin
	h.add("POST", "/logout", false, v, h.logout)
	h.add("GET", "/account", true, v, h.accountPage)
	h.add("POST", "/account/password", false, v, h.changePassword)

	h.add("GET", "/{$}", true, v, h.dashboard)

	h.add("GET", "/alerts", true, v, h.alertsPage)
	h.add("GET", "/alerts/{id}", true, v, h.alertPage)
	h.add("POST", "/alerts/{id}/acknowledge", false, a, h.ackAlert)
	h.add("POST", "/alerts/{id}/close", false, a, h.closeAlert)
	h.add("GET", "/alerts/stream", false, v, h.alertStream)

	h.add("GET", "/vessels", true, v, h.vesselSearch)
	h.add("GET", "/vessels/{vessel}", true, v, h.vesselPage)
	h.add("GET", "/vessels/{vessel}/track.json", false, v, h.trackJSON)
	h.add("GET", "/vessels/{vessel}/report", false, v, h.reportHTML)
	h.add("GET", "/vessels/{vessel}/print", true, v, h.printPage)
	h.add("POST", "/vessels/{vessel}/decisions", false, u, h.decide)
	h.add("POST", "/decisions/{id}/approval", false, u, h.approve)

	h.add("GET", "/screen", true, v, h.screenPage)
	h.add("POST", "/screen", false, v, h.screenOne)
	h.add("POST", "/screen/jobs", false, v, h.screenUpload)
	h.add("GET", "/jobs/{id}", true, v, h.jobPage)
	h.add("GET", "/jobs/{id}/status.json", false, v, h.jobJSON)
	h.add("GET", "/jobs/{id}/result", false, v, h.jobResult)

	h.add("GET", "/events", true, v, h.eventsPage)
	h.add("GET", "/events/data.json", false, v, h.eventsJSON)

	h.add("GET", "/lists", true, v, h.listsPage)
	h.add("GET", "/lists/diff", true, v, h.diffPage)

	h.add("GET", "/audit", true, v, h.auditPage)

	h.add("GET", "/portfolios", true, v, h.portfoliosPage)
	h.add("POST", "/portfolios", false, a, h.createPortfolio)
	h.add("GET", "/portfolios/{id}", true, v, h.fleetPage)
	h.add("POST", "/portfolios/{id}/import", false, a, h.importPortfolio)
	h.add("POST", "/portfolios/{id}/seen", false, v, h.markSeen)
	h.add("GET", "/portfolios/{id}/export", false, v, h.exportPortfolio)

	h.add("GET", "/admin", true, ad, h.adminPage)
	h.add("POST", "/admin/users", false, ad, h.createUser)
	h.add("POST", "/admin/users/{name}/disabled", false, ad, h.setDisabled)
	h.add("POST", "/admin/keys", false, ad, h.createKey)
	h.add("POST", "/admin/keys/{id}/revoke", false, ad, h.revokeKey)
	h.add("POST", "/admin/webhooks", false, ad, h.createWebhook)
	h.add("POST", "/admin/webhooks/{id}/delete", false, ad, h.deleteWebhook)
	h.add("POST", "/admin/deliveries/{id}/redeliver", false, ad, h.redeliver)

	h.registerLedger()

	h.add("GET", "/geo/land.json", false, v, h.landJSON)
	h.add("GET", "/geo/zones.json", false, v, h.zonesJSON)
	h.add("GET", "/geo/ports.json", false, v, h.portsJSON)

	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/match/") || strings.HasPrefix(p, "/reconcile") {
			// An API path the API does not have: the API's error shape.
			writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"code": string(app.CodeNotFound), "message": "no route " + r.Method + " " + p}})
			return
		}
		c, _ := h.session(r, false)
		h.fail(w, r, c, app.Errorf(app.CodeNotFound, "no page at %s", r.URL.Path))
	})
}

// ---- dashboard

type bandCount struct {
	Portfolio store.Portfolio
	Vessels   int
	Bands     map[string]int
	Changed   int
	Open      int
}

type listInForce struct {
	app.ListVersionInfo
	Changed time.Time // the last import that stored a new version of the list
}

type dashboardView struct {
	Portfolios []bandCount
	Alerts     []store.Alert
	OpenAlerts int
	Lists      []listInForce
	Feeds      []app.FeedStatus
	Stats      store.Stats
	Runs       []store.Run
	Now        time.Time
}

// Bands are the risk bands in the order the dashboard shows them.
var Bands = []string{risk.Decline, risk.Refer, risk.Insufficient, risk.Accept, "unscreened"}

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ctx := r.Context()
	var d dashboardView
	d.Now = h.svc.Now()
	pfs, err := h.svc.Portfolios(ctx, c.P)
	if err != nil {
		return err
	}
	for _, pf := range pfs {
		rows, err := h.svc.Fleet(ctx, c.P, pf.ID)
		if err != nil {
			return err
		}
		bc := bandCount{Portfolio: pf, Vessels: len(rows), Bands: map[string]int{}}
		for _, row := range rows {
			band := "unscreened"
			if row.Status != nil {
				band = row.Status.Recommendation
			}
			bc.Bands[band]++
			if len(row.Changes) > 0 {
				bc.Changed++
			}
			bc.Open += row.OpenAlerts
		}
		d.Portfolios = append(d.Portfolios, bc)
	}
	open, err := h.svc.Alerts(ctx, c.P, store.AlertFilter{States: []string{app.AlertOpen}, Limit: 10000})
	if err != nil {
		return err
	}
	d.OpenAlerts = len(open)
	d.Alerts = open[:min(len(open), 8)]
	vs, err := h.svc.ListVersions(ctx, c.P)
	if err != nil {
		return err
	}
	imports, err := h.svc.ListImports(ctx, c.P, "")
	if err != nil {
		return err
	}
	changed := map[string]time.Time{}
	for _, im := range imports {
		if im.Outcome == "stored" && im.Time.After(changed[im.List]) {
			changed[im.List] = im.Time
		}
	}
	for _, v := range vs {
		if v.InForce {
			d.Lists = append(d.Lists, listInForce{ListVersionInfo: v, Changed: changed[v.List]})
		}
	}
	if d.Feeds, err = h.svc.Feeds(c.P); err != nil {
		return err
	}
	if d.Stats, err = h.svc.StoreStats(ctx, c.P); err != nil {
		return err
	}
	runs, err := h.svc.Runs(ctx, c.P)
	if err != nil {
		return err
	}
	d.Runs = runs[max(0, len(runs)-5):]
	h.render(w, r, http.StatusOK, "dashboard", c, "Dashboard", d, "/static/live.js")
	return nil
}

// ---- alerts

type alertsView struct {
	Alerts                 []store.Alert
	State, Kind, Portfolio string
	Portfolios             []store.Portfolio
	Kinds                  []string
}

func (h *Handler) alertsPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query()
	v := alertsView{State: q.Get("state"), Kind: q.Get("kind"), Portfolio: q.Get("portfolio"),
		Kinds: app.AlertKinds}
	if v.State == "" {
		v.State = "active"
	}
	f := store.AlertFilter{Portfolio: v.Portfolio, Limit: 500}
	switch v.State {
	case "active":
		f.States = []string{app.AlertOpen, app.AlertAcknowledged}
	case app.AlertOpen, app.AlertAcknowledged, app.AlertClosed:
		f.States = []string{v.State}
	case "all":
	default:
		return app.Errorf(app.CodeInvalid, "state %q: active, open, acknowledged, closed or all", v.State)
	}
	if v.Kind != "" {
		f.Kinds = []string{v.Kind}
	}
	var err error
	if v.Alerts, err = h.svc.Alerts(r.Context(), c.P, f); err != nil {
		return err
	}
	if v.Portfolios, err = h.svc.Portfolios(r.Context(), c.P); err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "alerts", c, "Alerts", v, "/static/live.js")
	return nil
}

func alertID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, app.Errorf(app.CodeNotFound, "no alert %q", r.PathValue("id"))
	}
	return id, nil
}

func (h *Handler) alertPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := alertID(r)
	if err != nil {
		return err
	}
	a, err := h.svc.GetAlert(r.Context(), c.P, id)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "alert", c, "Alert "+strconv.FormatInt(a.ID, 10), a)
	return nil
}

func (h *Handler) ackAlert(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := alertID(r)
	if err != nil {
		return err
	}
	a, err := h.svc.AcknowledgeAlert(r.Context(), c.P, id)
	if err != nil {
		return err
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, alertJSON(a))
		return nil
	}
	h.redirect(w, r, c, "/alerts/"+strconv.FormatInt(id, 10), "Alert acknowledged.")
	return nil
}

func (h *Handler) closeAlert(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := alertID(r)
	if err != nil {
		return err
	}
	if _, err := h.svc.CloseAlert(r.Context(), c.P, id, r.PostFormValue("reason"), r.PostFormValue("suppress") == "on"); err != nil {
		return err
	}
	h.redirect(w, r, c, "/alerts/"+strconv.FormatInt(id, 10), "Alert closed.")
	return nil
}

// liveAlert is an alert as the inbox script shows it.
type liveAlert struct {
	ID        int64  `json:"id"`
	Severity  string `json:"severity"`
	State     string `json:"state"`
	Kind      string `json:"kind"`
	Title     string `json:"title"`
	Portfolio string `json:"portfolio"`
	Vessel    string `json:"vessel"`
	Updated   string `json:"updated"`
}

func alertJSON(a store.Alert) liveAlert {
	return liveAlert{ID: a.ID, Severity: a.Severity, State: a.State, Kind: a.Kind, Title: a.Title, Portfolio: a.Portfolio,
		Vessel: a.VesselRef, Updated: a.Updated.UTC().Format("2006-01-02 15:04")}
}

// alertStream sends the tenant's alerts as server-sent events.
func (h *Handler) alertStream(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	fl, ok := w.(http.Flusher)
	if !ok {
		return app.Errorf(app.CodeInternal, "streaming unsupported")
	}
	ch, stop, err := h.svc.SubscribeAlerts(c.P)
	if err != nil {
		return err
	}
	defer stop()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(": tidewatch alerts\nretry: 3000\n\n"))
	fl.Flush()
	tick := time.NewTicker(20 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-h.opt.Done:
			return nil
		case <-tick.C:
			w.Write([]byte(": keep-alive\n\n"))
		case a := <-ch:
			var b strings.Builder
			if err := jsonTo(&b, alertJSON(a)); err != nil {
				continue
			}
			w.Write([]byte("event: alert\ndata: " + b.String() + "\n\n"))
		}
		fl.Flush()
	}
}

// ---- portfolios

type portfoliosView struct {
	Portfolios []bandCount
	// Err is why the new portfolio was refused, Form what was typed.
	Err  formError
	Form struct{ ID, Name string }
}

func (h *Handler) portfoliosPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	v, err := h.portfolios(r, c)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "portfolios", c, "Portfolios", v)
	return nil
}

func (h *Handler) portfolios(r *http.Request, c *reqCtx) (portfoliosView, error) {
	var v portfoliosView
	pfs, err := h.svc.Portfolios(r.Context(), c.P)
	if err != nil {
		return v, err
	}
	for _, pf := range pfs {
		rows, err := h.svc.Fleet(r.Context(), c.P, pf.ID)
		if err != nil {
			return v, err
		}
		bc := bandCount{Portfolio: pf, Vessels: len(rows), Bands: map[string]int{}}
		for _, row := range rows {
			if row.Status != nil {
				bc.Bands[row.Status.Recommendation]++
			}
			if len(row.Changes) > 0 {
				bc.Changed++
			}
			bc.Open += row.OpenAlerts
		}
		v.Portfolios = append(v.Portfolios, bc)
	}
	return v, nil
}

func (h *Handler) createPortfolio(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	pf, err := h.svc.CreatePortfolio(r.Context(), c.P, strings.TrimSpace(r.PostFormValue("id")), r.PostFormValue("name"))
	if err != nil {
		status, ok := formRefusal(r, err)
		if !ok {
			return err
		}
		v, verr := h.portfolios(r, c)
		if verr != nil {
			return err
		}
		v.Err = formError{Form: "portfolio", Message: err.Error()}
		v.Form.ID, v.Form.Name = r.PostFormValue("id"), r.PostFormValue("name")
		h.render(w, r, status, "portfolios", c, "Portfolios", v)
		return nil
	}
	h.redirect(w, r, c, "/portfolios/"+pf.ID, "Portfolio created: import its vessels below.")
	return nil
}

type fleetView struct {
	Portfolio store.Portfolio
	Rows      []app.FleetRow
	Result    *app.AddResult
	// Err is why an import was refused (the file is chosen again).
	Err formError
}

func (h *Handler) portfolioOf(r *http.Request, c *reqCtx) (store.Portfolio, error) {
	pfs, err := h.svc.Portfolios(r.Context(), c.P)
	if err != nil {
		return store.Portfolio{}, err
	}
	for _, pf := range pfs {
		if pf.ID == r.PathValue("id") {
			return pf, nil
		}
	}
	return store.Portfolio{}, app.Errorf(app.CodeNotFound, "no portfolio %q", r.PathValue("id"))
}

func (h *Handler) fleetPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return h.renderFleet(w, r, c, http.StatusOK, fleetView{})
}

// renderFleet shows a portfolio's page (the import's result or refusal
// in v) with status.
func (h *Handler) renderFleet(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, v fleetView) error {
	pf, err := h.portfolioOf(r, c)
	if err != nil {
		return err
	}
	rows, err := h.svc.Fleet(r.Context(), c.P, pf.ID)
	if err != nil {
		return err
	}
	v.Portfolio, v.Rows = pf, rows
	h.render(w, r, status, "fleet", c, "Portfolio "+pf.Name, v)
	return nil
}

func (h *Handler) importPortfolio(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if _, err := h.portfolioOf(r, c); err != nil {
		return err
	}
	res, err := h.importFile(w, r, c)
	if err != nil {
		status, ok := formRefusal(r, err)
		if !ok {
			return err
		}
		return h.renderFleet(w, r, c, status, fleetView{Err: formError{Form: "import", Message: err.Error()}})
	}
	return h.renderFleet(w, r, c, http.StatusOK, fleetView{Result: &res})
}

func (h *Handler) importFile(w http.ResponseWriter, r *http.Request, c *reqCtx) (app.AddResult, error) {
	f, name, err := h.formFile(w, r, "file")
	if err != nil {
		return app.AddResult{}, err
	}
	es, rows, errs, err := app.ReadPortfolio(f, name, false)
	if err != nil {
		return app.AddResult{}, err
	}
	res, err := h.svc.AddVessels(r.Context(), c.P, r.PathValue("id"), es, rows)
	if err != nil {
		return res, err
	}
	res.Errors = append(errs, res.Errors...)
	return res, nil
}

func (h *Handler) markSeen(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := h.svc.MarkSeen(r.Context(), c.P, r.PathValue("id")); err != nil {
		return err
	}
	h.redirect(w, r, c, "/portfolios/"+r.PathValue("id"), "Marked seen: changes count from now.")
	return nil
}

// ---- lists

type listsView struct {
	Versions []app.ListVersionInfo
	Imports  []store.ListImport
	ByList   map[string][]app.ListVersionInfo
	Lists    []string
}

func (h *Handler) listsPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	vs, err := h.svc.ListVersions(r.Context(), c.P)
	if err != nil {
		return err
	}
	im, err := h.svc.ListImports(r.Context(), c.P, "")
	if err != nil {
		return err
	}
	sort.SliceStable(im, func(i, j int) bool { return im[i].Time.After(im[j].Time) })
	v := listsView{Versions: vs, Imports: im[:min(len(im), 50)], ByList: map[string][]app.ListVersionInfo{}}
	for _, x := range vs {
		if len(v.ByList[x.List]) == 0 {
			v.Lists = append(v.Lists, x.List)
		}
		v.ByList[x.List] = append(v.ByList[x.List], x)
	}
	h.render(w, r, http.StatusOK, "lists", c, "Sanctions lists", v)
	return nil
}

type diffView struct {
	From, To string
	Versions []app.ListVersionInfo
	Added    []entityRow
	Removed  []entityRow
	Changed  []changedRow
	FromV    app.ListVersionInfo
	ToV      app.ListVersionInfo
}

type entityRow struct {
	ID, Name, Type, IMO string
}

type changedRow struct {
	entityRow
	Fields []string
}

func (h *Handler) diffPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query()
	v := diffView{From: q.Get("from"), To: q.Get("to")}
	var err error
	if v.Versions, err = h.svc.ListVersions(r.Context(), c.P); err != nil {
		return err
	}
	if v.From != "" && v.To != "" {
		d, err := h.svc.DiffVersions(r.Context(), c.P, v.From, v.To)
		if err != nil {
			return err
		}
		for _, e := range d.Added {
			v.Added = append(v.Added, entityRow{e.ID, e.Name, string(e.Type), e.ShipIMO()})
		}
		for _, e := range d.Removed {
			v.Removed = append(v.Removed, entityRow{e.ID, e.Name, string(e.Type), e.ShipIMO()})
		}
		for _, ch := range d.Changed {
			v.Changed = append(v.Changed, changedRow{entityRow{ch.New.ID, ch.New.Name, string(ch.New.Type), ch.New.ShipIMO()}, ch.Fields})
		}
		for _, x := range v.Versions {
			if x.ID == v.From {
				v.FromV = x
			}
			if x.ID == v.To {
				v.ToV = x
			}
		}
	}
	h.render(w, r, http.StatusOK, "diff", c, "What changed between two list versions", v)
	return nil
}

// ---- audit

type auditView struct {
	Report  audit.Report
	OK      bool
	Problem string
	Records []store.AuditRecord
	After   int64
	Next    int64
	Subject string
	Action  string
	// Newest: the records newest first (the unfiltered log, unless
	// ?order=oldest), paged back with ?before=SEQ: Before is this page's,
	// Older the next page's (0: none).
	Newest        bool
	Before, Older int64
}

func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query()
	v := auditView{Subject: q.Get("subject"), Action: q.Get("action")}
	if a := q.Get("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 0 {
			return app.Errorf(app.CodeInvalid, "after %q: a record number", a)
		}
		v.After = n
	}
	rep, err := h.svc.VerifyAudit(r.Context(), c.P, "")
	if err != nil {
		return err
	}
	v.Report = rep
	v.OK = rep.OK()
	const page = 100
	v.Newest = v.Subject == "" && v.Action == "" && q.Get("order") != "oldest" && q.Get("after") == ""
	if v.Newest {
		// A tenant's records are numbered without gaps from the first
		// kept (rep.First) to the head: the page before a number is the
		// window of numbers below it, read oldest first and turned round.
		// (The core reads records forward only; with a filter the
		// matches are not a window of numbers, so filtered lists stay
		// oldest first.)
		v.Before = rep.Head + 1
		if b := q.Get("before"); b != "" {
			n, err := strconv.ParseInt(b, 10, 64)
			if err != nil || n < 1 {
				return app.Errorf(app.CodeInvalid, "before %q: a record number", b)
			}
			v.Before = min(n, rep.Head+1)
		}
		from := max(v.Before-1-page, rep.First-1, 0)
		if n := v.Before - 1 - from; n > 0 {
			if v.Records, err = h.svc.AuditRecords(r.Context(), c.P, app.AuditFilter{After: from, Limit: int(n)}); err != nil {
				return err
			}
		}
		slices.Reverse(v.Records)
		if from > rep.First-1 && from > 0 {
			v.Older = from + 1
		}
		h.render(w, r, http.StatusOK, "audit", c, "Audit log", v)
		return nil
	}
	if v.Records, err = h.svc.AuditRecords(r.Context(), c.P, app.AuditFilter{Subject: v.Subject, Action: v.Action, After: v.After, Limit: page}); err != nil {
		return err
	}
	if len(v.Records) == page {
		v.Next = v.Records[len(v.Records)-1].Seq
	}
	h.render(w, r, http.StatusOK, "audit", c, "Audit log", v)
	return nil
}
