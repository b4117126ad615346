package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/ledger"
	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/store"
)

// profileRequest reads a vessel page's parameters.
func profileRequest(r *http.Request) (app.ProfileRequest, string, error) {
	var req app.ProfileRequest
	var err error
	if req.Vessel, err = app.ParseVessel(r.PathValue("vessel")); err != nil {
		return req, "", err
	}
	q := r.URL.Query()
	if v := q.Get("as_of"); v != "" {
		if req.AsOf, err = app.ParseAsOf(v); err != nil {
			return req, "", app.Errorf(app.CodeInvalid, "as of: %v", err)
		}
	}
	window := q.Get("window")
	if window != "" {
		if req.Window, err = app.ParseSpan(window); err != nil {
			return req, "", app.Errorf(app.CodeInvalid, "window %v", err)
		}
	}
	return req, window, nil
}

func (h *Handler) vesselSearch(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if q := strings.TrimSpace(r.URL.Query().Get("q")); q != "" {
		v, err := app.ParseVessel(q)
		if err != nil {
			return err
		}
		to := "/vessels/" + strings.TrimPrefix(strings.TrimPrefix(app.SubjectOf(v), "imo:"), "mmsi:")
		if as := r.URL.Query().Get("as_of"); as != "" {
			to += "?as_of=" + urlQuery(as) + "&window=" + urlQuery(r.URL.Query().Get("window"))
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
	h.render(w, r, http.StatusOK, "vessels", c, "Vessels", nil)
	return nil
}

type vesselView struct {
	Key string // the path parameter: IMO or MMSI
	// Links with the page's as-of date and window.
	ReportURL, PrintURL, DecideURL template.URL
	AsOfInput                      string
	Window                         string
	Res                            *app.ProfileResult
	P                              *risk.Profile
	Summary                        []string
	Simulated                      bool
	// Decisions are the tenant's decisions about the vessel, oldest
	// first, each with whether it applies now (decisionRows).
	Decisions []decisionRow
	// Current is the decision that applies now (nil: none in force).
	Current *decisionRow
	// DecideError is why the decision just sent was refused, and
	// DecideForm what was typed, shown again in the form.
	DecideError formError
	DecideForm  decideForm
	Timeline    []timelineItem
	MapConfig   string
	Badge       string
	// Override says which decisions go against the recommendation.
	Stricter map[string]bool
	FourEyes bool
	// Ledger: the cap ledger's estimates the vessel is part of in the
	// window; Cases: the case files about it the tenant imported, with
	// who signed them and when.
	Ledger []ledger.Estimate
	Cases  []store.ImportedCase
}

// decideForm is what a person typed in the decision form.
type decideForm struct {
	Decision, Reason, OverrideReason string
}

// decisionRow is a decision as the vessel page lists it: the one that
// applies now is marked Current; an older one in force is superseded by
// the next decision in force recorded after it.
type decisionRow struct {
	D            store.Decision
	Current      bool
	SupersededBy int64
}

// decisionRows marks which of a vessel's decisions applies now. The core
// keeps every decision with its state (in force, pending approval,
// rejected) and picks none; the page takes the one in force recorded last
// (the highest ID: the store numbers them in the order they are made), so
// an override waiting for its second pair of eyes, or rejected, leaves
// the decision before it in force, and an approved override applies from
// where it was recorded. Every older decision in force is superseded by
// the next one in force after it.
func decisionRows(ds []store.Decision) ([]decisionRow, *decisionRow) {
	rows := make([]decisionRow, len(ds))
	for i, d := range ds {
		rows[i] = decisionRow{D: d}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].D.ID < rows[j].D.ID })
	var next int64 // the ID of the next decision in force, walking back
	var cur *decisionRow
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].D.Status != app.DecisionInForce {
			continue
		}
		if next == 0 {
			rows[i].Current = true
			cur = &rows[i]
		} else {
			rows[i].SupersededBy = next
		}
		next = rows[i].D.ID
	}
	return rows, cur
}

type timelineItem struct {
	Ref, Kind, Text string
	Start, End      time.Time
	Lat, Lon        float64
	Severity        string
}

// mapConfig is what the vessel map script needs.
type mapConfig struct {
	Track  string     `json:"track"`
	MMSIs  []string   `json:"mmsis"`
	From   int64      `json:"from"`
	To     int64      `json:"to"`
	Events []mapEvent `json:"events"`
}

type mapEvent struct {
	Ref          string   `json:"ref"`
	Kind         string   `json:"kind"`
	Lat          float64  `json:"lat"`
	Lon          float64  `json:"lon"`
	Start        int64    `json:"start"`
	End          int64    `json:"end"`
	Label        string   `json:"label"`
	Counterparts []string `json:"counterparts,omitempty"`
	Severity     string   `json:"severity,omitempty"`
}

// vesselScripts are the vessel page's scripts.
var vesselScripts = []string{"/static/vendor/leaflet/leaflet.js", "/static/map.js"}

func (h *Handler) vesselPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	v, title, err := h.vessel(r, c)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "vessel", c, title, v, vesselScripts...)
	return nil
}

// vessel builds the vessel page of the request (its path's vessel, its
// query's as-of date and window) and its title.
func (h *Handler) vessel(r *http.Request, c *reqCtx) (vesselView, string, error) {
	req, window, err := profileRequest(r)
	if err != nil {
		return vesselView{}, "", err
	}
	ctx, cancel := ctxTimeout(r, 60*time.Second)
	defer cancel()
	res, err := h.svc.Profile(ctx, c.P, req)
	if err != nil {
		return vesselView{}, "", err
	}
	p := &res.Profile
	v := vesselView{Key: r.PathValue("vessel"), Res: res, P: p, Window: window, AsOfInput: r.URL.Query().Get("as_of")}
	qs := pageQuery(r)
	base := "/vessels/" + url.PathEscape(v.Key)
	v.ReportURL = template.URL(base + "/report?" + qs + "&download=1")
	v.PrintURL = template.URL(base + "/print?" + qs)
	// The answer to a refused decision is this page again, at the form.
	v.DecideURL = template.URL(base + "/decisions?" + qs + "#decide-form")
	v.Badge = strings.ReplaceAll(p.Recommendation, "_", "-")
	for _, src := range p.Coverage.Sources {
		v.Simulated = v.Simulated || app.IsSimulatedSource(src)
	}
	v.Summary = PlainSummary(p)
	ds, err := h.svc.Decisions(ctx, c.P, store.VesselQuery{IMO: p.IMO, MMSI: req.Vessel.MMSI})
	if err != nil {
		return v, "", err
	}
	v.Decisions, v.Current = decisionRows(ds)
	if ts, err := h.svc.Tenants(ctx, c.P); err == nil {
		for _, t := range ts {
			if t.ID == c.P.Tenant {
				v.FourEyes = t.Policy.FourEyes
			}
		}
	}
	if v.Ledger, err = h.svc.VesselLedger(ctx, c.P, p.MMSIs, p.WindowStart, p.AsOf); err != nil {
		return v, "", err
	}
	if v.Cases, err = h.svc.ImportedCases(ctx, c.P, store.VesselQuery{IMO: p.IMO, MMSI: req.Vessel.MMSI}); err != nil {
		return v, "", err
	}
	v.Stricter = map[string]bool{}
	for _, d := range []string{risk.Decline, risk.Refer, risk.Accept} {
		v.Stricter[d] = risk.Strictness(d) >= risk.Strictness(p.Recommendation)
	}
	mc := mapConfig{Track: "/vessels/" + v.Key + "/track.json", From: p.WindowStart.Unix(), To: p.AsOf.Unix(), Events: []mapEvent{}}
	own := map[uint32]bool{}
	for _, m := range p.MMSIs {
		mc.MMSIs = append(mc.MMSIs, fmt.Sprintf("%09d", m))
		own[m] = true
	}
	for _, e := range p.Events {
		sev, text := string(e.Severity), e.Summary()
		v.Timeline = append(v.Timeline, timelineItem{Ref: e.Ref, Kind: e.Kind, Text: text, Start: e.Start, End: e.End, Lat: e.Lat, Lon: e.Lon, Severity: sev})
		if e.Lat == 0 && e.Lon == 0 {
			continue // no position (an identity event)
		}
		me := mapEvent{Ref: e.Ref, Kind: e.Kind, Lat: e.Lat, Lon: e.Lon, Start: e.Start.Unix(), End: e.End.Unix(), Label: e.Ref + " " + kindLabel(e.Kind) + ": " + text, Severity: sev}
		if e.Kind == detect.KindEncounter {
			for _, x := range e.Vessels {
				if !own[x.MMSI] {
					me.Counterparts = append(me.Counterparts, fmt.Sprintf("%09d", x.MMSI))
				}
			}
		}
		mc.Events = append(mc.Events, me)
	}
	sort.SliceStable(v.Timeline, func(i, j int) bool { return v.Timeline[i].Start.Before(v.Timeline[j].Start) })
	b, _ := json.Marshal(mc)
	v.MapConfig = string(b)
	title := p.Name
	if title == "" {
		title = "Vessel " + v.Key
	}
	return v, title, nil
}

// PlainSummary says a profile's outcome in a few plain sentences: what it
// recommends, the heaviest reasons, and what the evidence lacks.
func PlainSummary(p *risk.Profile) []string {
	// The vessel's name to start a sentence, and within one.
	name, within := p.Name, p.Name
	if name == "" {
		name, within = "This vessel", "this vessel"
	}
	if p.IMO != 0 {
		name += fmt.Sprintf(" (IMO %d)", p.IMO)
		within += fmt.Sprintf(" (IMO %d)", p.IMO)
	}
	var out []string
	switch p.Recommendation {
	case risk.Decline:
		out = append(out, fmt.Sprintf("%s should be declined: its risk score is %g, at or above the decline threshold of %g.", name, p.Score, p.Bands[1]))
	case risk.Refer:
		out = append(out, fmt.Sprintf("%s should be referred for a closer look: its risk score is %g, between the refer threshold of %g and the decline threshold of %g.", name, p.Score, p.Bands[0], p.Bands[1]))
	case risk.Accept:
		out = append(out, fmt.Sprintf("%s can be accepted: its risk score is %g, below the refer threshold of %g.", name, p.Score, p.Bands[0]))
	case risk.Insufficient:
		out = append(out, fmt.Sprintf("There is not enough evidence to clear %s: the score so far is %g.", within, p.Score))
	default:
		out = append(out, fmt.Sprintf("%s: %s, score %g.", name, p.Recommendation, p.Score))
	}
	fs := append([]risk.Factor(nil), p.Factors...)
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Points > fs[j].Points })
	if len(fs) > 0 {
		var why []string
		for _, f := range fs[:min(3, len(fs))] {
			why = append(why, fmt.Sprintf("%s (%g points)", strings.ToLower(f.Title[:1])+f.Title[1:], f.Points))
		}
		more := ""
		if len(fs) > 3 {
			more = fmt.Sprintf(", and %d more factor(s) below", len(fs)-3)
		}
		out = append(out, "The heaviest reasons: "+strings.Join(why, "; ")+more+".")
	} else {
		out = append(out, "No risk factor was found in the review window: nothing on the lists, no identity signal, no behaviour of concern.")
	}
	listed := 0
	for _, hit := range p.Hits {
		if hit.About == "vessel" && hit.ByID {
			listed++
		}
	}
	if listed > 0 {
		out = append(out, fmt.Sprintf("Its own identifiers are on %d sanctions list record(s).", listed))
	}
	if len(p.Missing) > 0 {
		out = append(out, "Missing evidence: "+strings.Join(p.Missing, "; ")+".")
	}
	if p.Coverage.Window > 0 {
		out = append(out, fmt.Sprintf("AIS was held for %d of the %d days reviewed.", p.Coverage.Days, p.Coverage.Window))
	}
	return out
}

// trackJSON serves a transmitter's track thinned for the map's zoom and
// view: [[unix seconds, lat, lon, break], ...].
func (h *Handler) trackJSON(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query()
	m, err := strconv.ParseUint(q.Get("mmsi"), 10, 32)
	if err != nil || m == 0 || m > 999999999 {
		return app.Errorf(app.CodeInvalid, "mmsi %q: 9 digits", q.Get("mmsi"))
	}
	from, err := unixParam(q.Get("from"))
	if err != nil {
		return err
	}
	to, err := unixParam(q.Get("to"))
	if err != nil {
		return err
	}
	zoom, err := strconv.Atoi(q.Get("zoom"))
	if err != nil || zoom < 0 || zoom > 20 {
		return app.Errorf(app.CodeInvalid, "zoom %q: 0 to 20", q.Get("zoom"))
	}
	req := app.TrackViewRequest{MMSI: uint32(m), From: from, To: to.Add(time.Second), MaxPoints: 8000,
		// One point per two screen pixels at this zoom.
		Tolerance: 2 * 360 / (256 * math.Pow(2, float64(zoom)))}
	if b := q.Get("bbox"); b != "" {
		if req.Area, err = parseBBox(b); err != nil {
			return err
		}
	}
	tv, err := h.svc.TrackView(r.Context(), c.P, req)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString(`{"stored":` + strconv.Itoa(tv.Stored) + `,"in_area":` + strconv.Itoa(tv.InArea) + `,"points":[`)
	for i, p := range tv.Points {
		if i > 0 {
			buf.WriteByte(',')
		}
		b := 0
		if p.Break {
			b = 1
		}
		fmt.Fprintf(&buf, "[%d,%.5f,%.5f,%d]", p.Time.Unix(), p.Lat, p.Lon, b)
	}
	buf.WriteString("]}\n")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(buf.Bytes())
	return nil
}

func unixParam(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 1<<40 {
		return time.Time{}, app.Errorf(app.CodeInvalid, "time %q: seconds since 1970", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

func parseBBox(s string) (*store.BBox, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return nil, app.Errorf(app.CodeInvalid, "bbox %q: south,west,north,east", s)
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, app.Errorf(app.CodeInvalid, "bbox %q: %q is not a number", s, p)
		}
		v[i] = f
	}
	b := &store.BBox{South: math.Max(v[0], -90), West: v[1], North: math.Min(v[2], 90), East: v[3]}
	if b.West < -180 || b.East > 180 || b.East-b.West >= 360 {
		b.West, b.East = -180, 180
	}
	if b.South > b.North {
		return nil, app.Errorf(app.CodeInvalid, "bbox %q: south above north", s)
	}
	return b, nil
}

// reportHTML serves the underwriter's report, as the API does, to keep
// or print.
func (h *Handler) reportHTML(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	req, _, err := profileRequest(r)
	if err != nil {
		return err
	}
	res, err := h.svc.Report(r.Context(), c.P, req, "web "+r.URL.Path)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// The report is self-contained: inline styles, no script. It may be
	// framed by the print page of this site only.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'")
	w.Header().Set("X-Frame-Options", "SAMEORIGIN")
	disp := "inline"
	if r.URL.Query().Get("download") == "1" {
		disp = "attachment"
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`%s; filename="tidewatch-%s.html"`, disp, strings.ReplaceAll(app.SubjectOf(req.Vessel), ":", "-")))
	w.Write(res.HTML)
	return nil
}

type printView struct {
	ReportURL template.URL
}

// pageQuery keeps a vessel page's as-of date and window for its links.
func pageQuery(r *http.Request) string {
	q := url.Values{}
	for _, k := range []string{"as_of", "window"} {
		if v := r.URL.Query().Get(k); v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

// printPage frames the report with a button that prints it: the browser's
// "Save as PDF" makes the PDF (no PDF engine runs on the server).
func (h *Handler) printPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if _, _, err := profileRequest(r); err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "print", c, "Report: print or save as PDF", printView{ReportURL: template.URL("/vessels/" + url.PathEscape(r.PathValue("vessel")) + "/report?" + pageQuery(r))}, "/static/print.js")
	return nil
}

func (h *Handler) decide(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	req, _, err := profileRequest(r)
	if err != nil {
		return err
	}
	form := decideForm{Decision: r.PostFormValue("decision"), Reason: r.PostFormValue("reason"), OverrideReason: r.PostFormValue("override_reason")}
	res, err := h.svc.Decide(r.Context(), c.P, app.DecideRequest{Vessel: req.Vessel, AsOf: req.AsOf, Window: req.Window, Decision: form.Decision,
		Reason: form.Reason, OverrideReason: form.OverrideReason})
	if err != nil {
		status, ok := formRefusal(r, err)
		if !ok {
			return err
		}
		// The vessel page again, the refusal beside the form and the
		// form as it was filled in.
		v, title, verr := h.vessel(r, c)
		if verr != nil {
			return err
		}
		v.DecideError, v.DecideForm = formError{Form: "decide", Message: err.Error()}, form
		h.render(w, r, status, "vessel", c, title, v, vesselScripts...)
		return nil
	}
	msg := fmt.Sprintf("Decision %d recorded: %s (%s).", res.Decision.ID, res.Decision.Decision, strings.ReplaceAll(res.Decision.Status, "_", " "))
	for _, w := range res.Warnings {
		msg += " " + w
	}
	h.redirect(w, r, c, "/vessels/"+url.PathEscape(r.PathValue("vessel"))+"?"+pageQuery(r)+"#decisions", msg)
	return nil
}

func (h *Handler) approve(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return app.Errorf(app.CodeNotFound, "no decision %q", r.PathValue("id"))
	}
	d, err := h.svc.ApproveDecision(r.Context(), c.P, id, r.PostFormValue("approve") == "yes", r.PostFormValue("note"))
	if err != nil {
		return err
	}
	back := localPath(r.PostFormValue("back"))
	h.redirect(w, r, c, back, fmt.Sprintf("Decision %d is now %s.", d.ID, strings.ReplaceAll(d.Status, "_", " ")))
	return nil
}

func jsonTo(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
