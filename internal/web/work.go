package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/batchfile"
	"github.com/tidewatch/tidewatch/internal/termtext"
	"github.com/tidewatch/tidewatch/screen"
	"github.com/tidewatch/tidewatch/store"
)

func urlQuery(s string) string { return url.QueryEscape(s) }

// formFile reads an uploaded file, bounded by MaxUpload.
func (h *Handler) formFile(w http.ResponseWriter, r *http.Request, field string) (io.Reader, string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, h.opt.MaxUpload+1<<20)
	f, hdr, err := r.FormFile(field)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return nil, "", err
		case errors.Is(err, http.ErrMissingFile):
			return nil, "", app.Errorf(app.CodeInvalid, "choose a file to upload")
		}
		return nil, "", app.Errorf(app.CodeInvalid, "the upload did not arrive as a file form: %v", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, h.opt.MaxUpload+1))
	if err != nil {
		return nil, "", err
	}
	if int64(len(b)) > h.opt.MaxUpload {
		return nil, "", app.Errorf(app.CodeTooLarge, "the file is larger than %d MiB", h.opt.MaxUpload>>20)
	}
	n, err := safeName(hdr)
	if err != nil {
		return nil, "", err
	}
	return bytes.NewReader(b), n, nil
}

// safeName is an uploaded file's name without its folders ("upload.csv"
// when there is none or it is hidden or too long). A name holding a
// control character, a bidirectional override or another invisible
// character, or bytes that are not UTF-8, is refused as the API refuses
// it: it would be printed in the audit log, jobs and messages. (A C0
// control never gets here: the form's part header is not read.)
func safeName(hdr *multipart.FileHeader) (string, error) {
	n := filepath.Base(strings.ReplaceAll(hdr.Filename, `\`, "/"))
	if n == "" || n == "." || n == "/" || strings.HasPrefix(n, ".") || len(n) > 200 {
		return "upload.csv", nil
	}
	if !termtext.IsSafe(n) {
		return "", app.Errorf(app.CodeInvalid, "the file's name %q holds a control character, an invisible or bidirectional formatting character, or bytes that are not UTF-8: rename the file without them", termtext.Clip(n, 80))
	}
	return n, nil
}

// ---- screening

type screenView struct {
	Query  screen.Query
	Result *app.ScreenResult
	Jobs   []app.Job
	// Err is why the query was refused (Query holds what was typed).
	Err formError
}

func (h *Handler) screenPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	jobs, err := h.svc.Jobs(c.P)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "screen", c, "Screening", screenView{Query: screen.Query{Type: "vessel"}, Jobs: jobs[:min(len(jobs), 10)]})
	return nil
}

func (h *Handler) screenOne(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f := r.PostFormValue
	q := screen.Query{Type: f("type"), Name: strings.TrimSpace(f("name")), IMO: strings.TrimSpace(f("imo")), MMSI: strings.TrimSpace(f("mmsi")),
		CallSign: strings.TrimSpace(f("call_sign")), Flag: strings.TrimSpace(f("flag"))}
	var res app.ScreenResult
	var err error = app.Errorf(app.CodeInvalid, "give a name, an IMO number, an MMSI or a call sign")
	if q.Name != "" || q.IMO != "" || q.MMSI != "" || q.CallSign != "" {
		res, err = h.svc.Screen(r.Context(), c.P, q, app.ScreenOptions{All: f("all") == "on"})
	}
	status := http.StatusOK
	v := screenView{Query: q, Result: &res}
	if err != nil {
		var ok bool
		if status, ok = formRefusal(r, err); !ok {
			return err
		}
		v.Result, v.Err = nil, formError{Form: "screen", Message: err.Error()}
	}
	jobs, err := h.svc.Jobs(c.P)
	if err != nil {
		return err
	}
	v.Jobs = jobs[:min(len(jobs), 10)]
	h.render(w, r, status, "screen", c, "Screening", v)
	return nil
}

func (h *Handler) screenUpload(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, name, err := h.formFile(w, r, "file")
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(f)
	qs, err := batchfile.Read(bytes.NewReader(body), name)
	if err != nil {
		return app.Errorf(app.CodeInvalid, "%s: %v", name, err)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	p := c.P
	job, err := h.svc.StartJob(p, "screen", int64(len(qs)), func(ctx context.Context, pr app.JobProgress) (any, error) {
		res, err := h.svc.ScreenBatch(ctx, p, qs, app.ScreenOptions{}, name, hash, func(n int) { pr.Set(int64(n), int64(len(qs)), "") })
		return &res, err
	})
	if err != nil {
		return err
	}
	h.redirect(w, r, c, "/jobs/"+job.ID, "")
	return nil
}

type jobView struct {
	Job    app.Job
	Result *app.BatchResult
	Rows   []app.BatchRow
}

func (h *Handler) jobPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	j, res, err := h.svc.Job(c.P, r.PathValue("id"))
	if err != nil {
		return err
	}
	v := jobView{Job: j}
	if br, ok := res.(*app.BatchResult); ok && j.State == app.JobDone {
		v.Result = br
		for _, row := range br.Rows {
			if row.Hit || row.Error != "" || len(row.NearMisses) > 0 {
				v.Rows = append(v.Rows, row)
				if len(v.Rows) == 200 {
					break
				}
			}
		}
	}
	title := "Screening job "
	if j.Kind != "screen" {
		title = termtext.Clip(j.Kind, 40) + " job "
	}
	h.render(w, r, http.StatusOK, "job", c, title+j.ID, v, "/static/job.js")
	return nil
}

func (h *Handler) jobJSON(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	j, _, err := h.svc.Job(c.P, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": j.ID, "state": j.State, "done": j.Done, "total": j.Total, "error": j.Error})
	return nil
}

func (h *Handler) jobResult(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	j, res, err := h.svc.Job(c.P, r.PathValue("id"))
	if err != nil {
		return err
	}
	if j.State != app.JobDone {
		return app.Errorf(app.CodePrecondition, "job %s is %s: no result yet", j.ID, j.State)
	}
	br, ok := res.(*app.BatchResult)
	if !ok {
		return app.Errorf(app.CodeNotFound, "job %s has no screening result", j.ID)
	}
	f, err := batchfile.ParseFormat(r.URL.Query().Get("format"))
	if err != nil || (f != batchfile.CSV && f != batchfile.XLSX) {
		return app.Errorf(app.CodeInvalid, "format: csv or xlsx")
	}
	var buf bytes.Buffer
	if err := batchfile.Write(&buf, f, *br); err != nil {
		return err
	}
	w.Header().Set("Content-Type", f.ContentType())
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="screening-%s.%s"`, j.ID, f))
	w.Write(buf.Bytes())
	return nil
}

// ---- events explorer

type eventsView struct {
	Zone, BBox, From, To, Kind, Severity string
	Zones                                []zoneOption
	Kinds                                []string
	Events                               []eventRow
	Count                                int
	Limited                              bool
	MapConfig                            string
}

type zoneOption struct{ ID, Name, Kind string }

type eventRow struct {
	detect.Event
	Severity string
	// Summary is the event in plain words (detect.Event.Summary).
	Summary string
}

// eventsRequest reads the explorer's filters.
func (h *Handler) eventsRequest(r *http.Request) (eventsView, app.EventsRequest, error) {
	q := r.URL.Query()
	v := eventsView{Zone: q.Get("zone"), BBox: q.Get("bbox"), From: q.Get("from"), To: q.Get("to"), Kind: q.Get("kind"), Severity: q.Get("severity"), Kinds: app.EventKinds}
	req := app.EventsRequest{Zone: v.Zone, Limit: app.MaxEvents}
	var err error
	if v.From != "" {
		if req.From, err = app.ParseAsOf(v.From); err != nil {
			return v, req, app.Errorf(app.CodeInvalid, "from: %v", err)
		}
		if len(v.From) == 10 {
			req.From = req.From.Truncate(24 * time.Hour)
		}
	}
	if v.To != "" {
		if req.To, err = app.ParseAsOf(v.To); err != nil {
			return v, req, app.Errorf(app.CodeInvalid, "to: %v", err)
		}
	}
	if v.BBox != "" {
		if req.Area, err = parseBBox(v.BBox); err != nil {
			return v, req, err
		}
	}
	if v.Kind != "" {
		req.Kinds = []string{v.Kind}
	}
	switch v.Severity {
	case "", "low", "medium", "high":
	default:
		return v, req, app.Errorf(app.CodeInvalid, "severity %q: low, medium or high", v.Severity)
	}
	return v, req, nil
}

var sevRank = map[string]int{"info": 0, "low": 1, "medium": 2, "high": 3}

func (h *Handler) events(r *http.Request, c *reqCtx) (eventsView, error) {
	v, req, err := h.eventsRequest(r)
	if err != nil {
		return v, err
	}
	g, err := h.svc.Geography()
	if err != nil {
		return v, err
	}
	for _, z := range g.Zones {
		v.Zones = append(v.Zones, zoneOption{z.ID, z.Name, z.Kind})
	}
	evs, err := h.svc.Events(r.Context(), c.P, req)
	if err != nil {
		return v, err
	}
	v.Limited = len(evs) >= app.MaxEvents
	for _, e := range evs {
		sev := string(e.Severity)
		if v.Severity != "" && sevRank[sev] < sevRank[v.Severity] {
			continue
		}
		v.Events = append(v.Events, eventRow{Event: e, Severity: sev, Summary: e.Summary()})
	}
	v.Count = len(v.Events)
	return v, nil
}

func (h *Handler) eventsPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	v, err := h.events(r, c)
	if err != nil {
		return err
	}
	v.MapConfig = "/events/data.json?" + r.URL.RawQuery
	if len(v.Events) > 500 {
		v.Events = v.Events[:500] // the table; the map shows all
	}
	h.render(w, r, http.StatusOK, "events", c, "Events", v, "/static/vendor/leaflet/leaflet.js", "/static/map.js")
	return nil
}

// eventsJSON is the explorer's map layer: the events as points.
func (h *Handler) eventsJSON(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	v, err := h.events(r, c)
	if err != nil {
		return err
	}
	out := make([]mapEvent, 0, len(v.Events))
	for i, e := range v.Events {
		if e.Lat == 0 && e.Lon == 0 {
			continue
		}
		me := mapEvent{Ref: "E" + strconv.Itoa(i+1), Kind: e.Kind, Lat: e.Lat, Lon: e.Lon, Start: e.Start.Unix(), End: e.End.Unix(), Severity: e.Severity}
		me.Label = me.Ref + " " + kindLabel(e.Kind) + ": " + e.Summary
		for _, x := range e.Vessels {
			me.Counterparts = append(me.Counterparts, fmt.Sprintf("%09d", x.MMSI))
		}
		out = append(out, me)
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out, "count": len(out)})
	return nil
}

// ---- admin

type adminView struct {
	Users      []store.User
	Keys       []store.APIKey
	Webhooks   []store.Webhook
	Deliveries []store.Delivery
	NewKey     *app.NewKey
	NewHook    *app.NewWebhook
	Now        time.Time
	Roles      []string
	// Err is why a form was refused; UserForm, KeyForm and HookForm what
	// was typed in them (never a password), shown again.
	Err      formError
	UserForm struct{ Name, Role string }
	KeyForm  struct{ Name, Role, TTL string }
	HookForm struct {
		URL, MinSeverity string
		Kinds            map[string]bool
	}
}

// adminRefused shows the Admin page again after a refused form, the
// message beside the form and what was typed in it (set by fill); false
// when the error is not a form's refusal (the error page answers).
func (h *Handler) adminRefused(w http.ResponseWriter, r *http.Request, c *reqCtx, form string, err error, fill func(*adminView)) bool {
	status, ok := formRefusal(r, err)
	if !ok {
		return false
	}
	v, verr := h.admin(r, c)
	if verr != nil {
		return false
	}
	v.Err = formError{Form: form, Message: err.Error()}
	fill(&v)
	h.render(w, r, status, "admin", c, "Administration", v)
	return true
}

func (h *Handler) admin(r *http.Request, c *reqCtx) (adminView, error) {
	v := adminView{Now: h.svc.Now(), Roles: []string{"viewer", "analyst", "underwriter", "admin"}}
	var err error
	ctx := r.Context()
	if v.Users, err = h.svc.Users(ctx, c.P); err != nil {
		return v, err
	}
	if v.Keys, err = h.svc.APIKeys(ctx, c.P); err != nil {
		return v, err
	}
	if v.Webhooks, err = h.svc.Webhooks(ctx, c.P); err != nil {
		return v, err
	}
	if v.Deliveries, err = h.svc.Deliveries(ctx, c.P, nil, 100); err != nil {
		return v, err
	}
	return v, nil
}

func (h *Handler) adminPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	v, err := h.admin(r, c)
	if err != nil {
		return err
	}
	// A key or webhook just made (createKey, createWebhook): its secret,
	// this once.
	if s, ok := h.takeOnce(w, r, c); ok {
		switch s.Kind {
		case "key":
			k := app.NewKey{Secret: s.Secret}
			k.ID = s.ID
			for _, x := range v.Keys {
				if x.ID == s.ID {
					k.APIKey = x
				}
			}
			v.NewKey = &k
		case "webhook":
			nw := app.NewWebhook{Secret: s.Secret, SecretID: s.SecretID}
			nw.ID = s.ID
			for _, x := range v.Webhooks {
				if x.ID == s.ID {
					nw.Webhook = x
				}
			}
			v.NewHook = &nw
		}
	}
	h.render(w, r, http.StatusOK, "admin", c, "Administration", v)
	return nil
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f := r.PostFormValue
	fill := func(v *adminView) { v.UserForm.Name, v.UserForm.Role = f("name"), f("role") }
	if f("password") != f("again") {
		err := app.Errorf(app.CodeInvalid, "the password and its repetition differ")
		if h.adminRefused(w, r, c, "user", err, fill) {
			return nil
		}
		return err
	}
	u, err := h.svc.CreateUser(r.Context(), c.P, "", strings.TrimSpace(f("name")), f("role"), f("password"))
	if err != nil {
		if h.adminRefused(w, r, c, "user", err, fill) {
			return nil
		}
		return err
	}
	h.redirect(w, r, c, "/admin#users", "User "+u.Name+" added with the "+u.Role+" role.")
	return nil
}

func (h *Handler) setDisabled(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	dis := r.PostFormValue("disabled") == "yes"
	if dis && strings.EqualFold(r.PathValue("name"), c.P.Actor) {
		return app.Errorf(app.CodePrecondition, "you cannot disable yourself")
	}
	u, err := h.svc.SetUserDisabled(r.Context(), c.P, r.PathValue("name"), dis)
	if err != nil {
		return err
	}
	state := "enabled (and unlocked)"
	if u.Disabled {
		state = "disabled: their sessions ended"
	}
	h.redirect(w, r, c, "/admin#users", "User "+u.Name+" "+state+".")
	return nil
}

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f := r.PostFormValue
	fill := func(v *adminView) { v.KeyForm.Name, v.KeyForm.Role, v.KeyForm.TTL = f("name"), f("role"), f("ttl") }
	k, err := h.makeKey(r, c)
	if err != nil {
		if h.adminRefused(w, r, c, "key", err, fill) {
			return nil
		}
		return err
	}
	// The secret is shown once on the Admin page the browser is sent to
	// (keepOnce), never in a URL; reloading that page makes no other key.
	if err := h.keepOnce(w, r, c, onceSecret{Kind: "key", ID: k.ID, Secret: k.Secret}); err != nil {
		return err
	}
	h.redirect(w, r, c, "/admin#new-key", "")
	return nil
}

func (h *Handler) makeKey(r *http.Request, c *reqCtx) (app.NewKey, error) {
	var ttl time.Duration
	if t := r.PostFormValue("ttl"); t != "" {
		sp, err := app.ParseSpan(t)
		if err != nil {
			return app.NewKey{}, app.Errorf(app.CodeInvalid, "lifetime %v", err)
		}
		now := h.svc.Now()
		ttl = sp.After(now).Sub(now)
	}
	req := app.CreateKeyRequest{Name: r.PostFormValue("name"), Role: r.PostFormValue("role"), TTL: ttl}
	if r.PostFormValue("bound") == "me" {
		// A key is bound only to the person making it (app.CreateAPIKey).
		req.User = c.P.Person
	}
	return h.svc.CreateAPIKey(r.Context(), c.P, req)
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	k, err := h.svc.RevokeAPIKey(r.Context(), c.P, r.PathValue("id"))
	if err != nil {
		return err
	}
	h.redirect(w, r, c, "/admin#keys", "API key "+k.ID+" revoked.")
	return nil
}

func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	req := app.WebhookRequest{URL: strings.TrimSpace(r.PostFormValue("url")), MinSeverity: r.PostFormValue("min_severity")}
	if err := r.ParseForm(); err == nil {
		req.Kinds = r.PostForm["kinds"]
	}
	nw, err := h.svc.CreateWebhook(r.Context(), c.P, req)
	if err != nil {
		if h.adminRefused(w, r, c, "webhook", err, func(v *adminView) {
			v.HookForm.URL, v.HookForm.MinSeverity, v.HookForm.Kinds = r.PostFormValue("url"), req.MinSeverity, map[string]bool{}
			for _, k := range req.Kinds {
				v.HookForm.Kinds[k] = true
			}
		}) {
			return nil
		}
		return err
	}
	// As a key's: the signing secret once, after a redirect.
	if err := h.keepOnce(w, r, c, onceSecret{Kind: "webhook", ID: nw.ID, SecretID: nw.SecretID, Secret: nw.Secret}); err != nil {
		return err
	}
	h.redirect(w, r, c, "/admin#new-hook", "")
	return nil
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := h.svc.DeleteWebhook(r.Context(), c.P, r.PathValue("id")); err != nil {
		return err
	}
	h.redirect(w, r, c, "/admin#webhooks", "Webhook removed.")
	return nil
}

func (h *Handler) redeliver(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return app.Errorf(app.CodeNotFound, "no delivery %q", r.PathValue("id"))
	}
	if _, err := h.svc.RedeliverDead(r.Context(), c.P, id); err != nil {
		return err
	}
	h.redirect(w, r, c, "/admin#deliveries", "Delivery queued again.")
	return nil
}

// ---- portfolio export

func (h *Handler) exportPortfolio(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := h.svc.ExportPortfolio(r.Context(), c.P, r.PathValue("id"), r.URL.Query().Get("format"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", f.ContentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, f.Name))
	w.Write(f.Data)
	return nil
}
