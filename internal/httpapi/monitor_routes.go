package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
)

// PortfolioRequest creates a portfolio.
type PortfolioRequest struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// VesselsRequest adds vessels to a portfolio.
type VesselsRequest struct {
	Vessels []app.VesselEntry `json:"vessels"`
}

// CloseRequest closes an alert.
type CloseRequest struct {
	Reason string `json:"reason"`
	// Suppress: a false positive; this cause stays quiet for this vessel.
	Suppress bool `json:"suppress,omitempty"`
}

// Done is an empty success.
type Done struct {
	OK bool `json:"ok"`
}

func alertID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, app.Errorf(app.CodeInvalid, "alert id %q", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) registerMonitor() {
	pf := pathParam("portfolio", "portfolio id")
	jsonRoute(s, route{method: "GET", path: "/v1/portfolios", tag: "monitoring", role: app.RoleViewer, summary: "The tenant's portfolios"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]store.Portfolio, error) {
			return s.svc.Portfolios(ctx, p)
		})
	jsonRoute(s, route{method: "POST", path: "/v1/portfolios", tag: "monitoring", role: app.RoleAnalyst, status: http.StatusCreated, summary: "Create a portfolio"},
		func(ctx context.Context, p app.Principal, r *http.Request, req *PortfolioRequest) (store.Portfolio, error) {
			return s.svc.CreatePortfolio(ctx, p, req.ID, req.Name)
		})
	jsonRoute(s, route{method: "DELETE", path: "/v1/portfolios/{portfolio}", tag: "monitoring", role: app.RoleAnalyst, params: []param{pf}, summary: "Delete a portfolio and its vessels"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (Done, error) {
			return Done{true}, s.svc.DeletePortfolio(ctx, p, r.PathValue("portfolio"))
		})
	jsonRoute(s, route{method: "GET", path: "/v1/portfolios/{portfolio}/fleet", tag: "monitoring", role: app.RoleViewer, params: []param{pf},
		summary: "The fleet table: vessels ranked by risk, each with what changed since the last look and its open alerts"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]app.FleetRow, error) {
			return s.svc.Fleet(ctx, p, r.PathValue("portfolio"))
		})
	jsonRoute(s, route{method: "POST", path: "/v1/portfolios/{portfolio}/seen", tag: "monitoring", role: app.RoleViewer, params: []param{pf},
		summary: "Mark the portfolio seen: \"what changed\" starts again from now"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (Done, error) {
			return Done{true}, s.svc.MarkSeen(ctx, p, r.PathValue("portfolio"))
		})
	jsonRoute(s, route{method: "POST", path: "/v1/portfolios/{portfolio}/vessels", tag: "monitoring", role: app.RoleAnalyst, params: []param{pf},
		summary: "Add or replace vessels (by reference) with their parties and cover; each gets its status at once"},
		func(ctx context.Context, p app.Principal, r *http.Request, req *VesselsRequest) (app.AddResult, error) {
			if len(req.Vessels) == 0 || len(req.Vessels) > 10000 {
				return app.AddResult{}, app.Errorf(app.CodeInvalid, "send 1 to 10,000 vessels (larger files: PUT the CSV)")
			}
			return s.svc.AddVessels(ctx, p, r.PathValue("portfolio"), req.Vessels, nil)
		})
	jsonRoute(s, route{method: "DELETE", path: "/v1/portfolios/{portfolio}/vessels/{id}", tag: "monitoring", role: app.RoleAnalyst,
		params: []param{pf, pathParam("id", "the vessel's reference")}, summary: "Remove a vessel from a portfolio"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (Done, error) {
			return Done{true}, s.svc.RemoveVessel(ctx, p, r.PathValue("portfolio"), r.PathValue("id"))
		})
	s.add(&route{method: "PUT", path: "/v1/portfolios/{portfolio}/file", tag: "monitoring", role: app.RoleAnalyst, long: true, params: []param{pf, query("name", "string", "the file's name (its extension tells CSV from XLSX)")},
		summary:     "Import a portfolio file (CSV or XLSX): id, imo, mmsi, name, flag, owner, owner_imo, manager, manager_imo, operator, operator_imo, charterer, charterer_imo, cover_from, cover_to",
		bodyContent: "text/csv", resp: reflect.TypeFor[app.AddResult](), handle: s.importPortfolio})
	s.add(&route{method: "GET", path: "/v1/portfolios/{portfolio}/file", tag: "monitoring", role: app.RoleViewer, params: []param{pf, query("format", "string", "csv (default) or xlsx")},
		summary: "Export a portfolio with each vessel's status", respContent: "text/csv", handle: s.exportPortfolio})

	// Alerts.
	jsonRoute(s, route{method: "GET", path: "/v1/alerts", tag: "monitoring", role: app.RoleViewer, summary: "The alerts inbox, newest first",
		params: []param{query("state", "string", "open, acknowledged, closed (comma-separated; another value: 400)"),
			query("kind", "string", "list_hit_added, list_hit_removed, band_changed, event, system (comma-separated; another value: 400)"),
			query("portfolio", "string", "one portfolio (one the tenant does not have: 404)"), query("vessel", "string", "one vessel's reference"), query("limit", "integer", "at most this many (default 500)")}},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]store.Alert, error) {
			q := r.URL.Query()
			f := store.AlertFilter{Portfolio: q.Get("portfolio"), VesselRef: q.Get("vessel")}
			if v := q.Get("state"); v != "" {
				f.States = strings.Split(v, ",")
			}
			if v := q.Get("kind"); v != "" {
				f.Kinds = strings.Split(v, ",")
			}
			var err error
			if f.Limit, err = intParam(r, "limit", 500, 1, 10000); err != nil {
				return nil, err
			}
			return s.svc.Alerts(ctx, p, f)
		})
	jsonRoute(s, route{method: "GET", path: "/v1/alerts/{id}", tag: "monitoring", role: app.RoleViewer, params: []param{pathParam("id", "alert id")}, summary: "One alert with its evidence"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (store.Alert, error) {
			id, err := alertID(r)
			if err != nil {
				return store.Alert{}, err
			}
			return s.svc.GetAlert(ctx, p, id)
		})
	jsonRoute(s, route{method: "POST", path: "/v1/alerts/{id}/acknowledge", tag: "monitoring", role: app.RoleAnalyst, params: []param{pathParam("id", "alert id")}, summary: "Acknowledge an alert"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (store.Alert, error) {
			id, err := alertID(r)
			if err != nil {
				return store.Alert{}, err
			}
			return s.svc.AcknowledgeAlert(ctx, p, id)
		})
	jsonRoute(s, route{method: "POST", path: "/v1/alerts/{id}/close", tag: "monitoring", role: app.RoleAnalyst, params: []param{pathParam("id", "alert id")},
		summary: "Close an alert with a reason (suppress: a false positive; the same cause stays quiet for this vessel)"},
		func(ctx context.Context, p app.Principal, r *http.Request, req *CloseRequest) (store.Alert, error) {
			id, err := alertID(r)
			if err != nil {
				return store.Alert{}, err
			}
			return s.svc.CloseAlert(ctx, p, id, req.Reason, req.Suppress)
		})
	s.add(&route{method: "GET", path: "/v1/alerts/stream", tag: "monitoring", role: app.RoleViewer, long: true, respContent: "text/event-stream",
		summary:     "Alerts as they are raised or change (server-sent events)",
		description: "Each event is `event: alert` with the alert as JSON in `data`, its id as the event id; a comment line every 20 s keeps connections open.",
		handle:      s.alertStream})

	jsonRoute(s, route{method: "GET", path: "/v1/feeds", tag: "ais", role: app.RoleViewer, summary: "Live AIS inputs: feeds and watched folders, with their health (state, last message, lag, errors)"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]app.FeedStatus, error) {
			return s.svc.Feeds(p)
		})

	// Webhooks.
	jsonRoute(s, route{method: "GET", path: "/v1/webhooks", tag: "monitoring", role: app.RoleAdmin, summary: "The tenant's webhooks (no secrets)"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]store.Webhook, error) {
			return s.svc.Webhooks(ctx, p)
		})
	jsonRoute(s, route{method: "POST", path: "/v1/webhooks", tag: "monitoring", role: app.RoleAdmin, status: http.StatusCreated,
		summary: "Add a webhook; the signing secret is in this answer only (docs/webhooks.md)"},
		func(ctx context.Context, p app.Principal, r *http.Request, req *app.WebhookRequest) (app.NewWebhook, error) {
			return s.svc.CreateWebhook(ctx, p, *req)
		})
	jsonRoute(s, route{method: "POST", path: "/v1/webhooks/{id}/rotate", tag: "monitoring", role: app.RoleAdmin, params: []param{pathParam("id", "webhook id")},
		summary: "Add a new signing secret: deliveries carry both signatures until the old one is retired"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (app.NewWebhook, error) {
			return s.svc.RotateWebhookSecret(ctx, p, r.PathValue("id"), false)
		})
	jsonRoute(s, route{method: "POST", path: "/v1/webhooks/{id}/retire", tag: "monitoring", role: app.RoleAdmin, params: []param{pathParam("id", "webhook id")},
		summary: "Retire every signing secret but the newest"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (store.Webhook, error) {
			return s.svc.RetireOldSecrets(ctx, p, r.PathValue("id"))
		})
	jsonRoute(s, route{method: "DELETE", path: "/v1/webhooks/{id}", tag: "monitoring", role: app.RoleAdmin, params: []param{pathParam("id", "webhook id")}, summary: "Remove a webhook"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (Done, error) {
			return Done{true}, s.svc.DeleteWebhook(ctx, p, r.PathValue("id"))
		})
	jsonRoute(s, route{method: "GET", path: "/v1/webhooks/deliveries", tag: "monitoring", role: app.RoleAdmin,
		params:  []param{query("state", "string", "pending, delivered, dead (the dead letters)"), query("limit", "integer", "at most this many (default 500)")},
		summary: "The delivery log and dead letters"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]store.Delivery, error) {
			var states []string
			if v := r.URL.Query().Get("state"); v != "" {
				states = strings.Split(v, ",")
			}
			limit, err := intParam(r, "limit", 500, 1, 10000)
			if err != nil {
				return nil, err
			}
			return s.svc.Deliveries(ctx, p, states, limit)
		})
	jsonRoute(s, route{method: "POST", path: "/v1/webhooks/deliveries/{id}/redeliver", tag: "monitoring", role: app.RoleAdmin, params: []param{pathParam("id", "delivery id")},
		summary: "Queue a dead delivery again"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (store.Delivery, error) {
			id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
			if err != nil || id < 1 {
				return store.Delivery{}, app.Errorf(app.CodeInvalid, "delivery id %q", r.PathValue("id"))
			}
			return s.svc.RedeliverDead(ctx, p, id)
		})
}

func (s *Server) importPortfolio(w http.ResponseWriter, r *http.Request, p app.Principal) error {
	name := r.URL.Query().Get("name")
	if err := checkNameText(name, "portfolio.csv"); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<20))
	if err != nil {
		return err
	}
	es, rows, errs, err := app.ReadPortfolio(bytes.NewReader(body), name, isXLSXType(r.Header.Get("Content-Type")))
	if err != nil {
		return err
	}
	res, err := s.svc.AddVessels(r.Context(), p, r.PathValue("portfolio"), es, rows)
	if err != nil {
		return err
	}
	res.Errors = append(errs, res.Errors...)
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) exportPortfolio(w http.ResponseWriter, r *http.Request, p app.Principal) error {
	f, err := s.svc.ExportPortfolio(r.Context(), p, r.PathValue("portfolio"), r.URL.Query().Get("format"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", f.ContentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, f.Name))
	w.Write(f.Data)
	return nil
}

// alertStream sends the tenant's alerts as server-sent events.
func (s *Server) alertStream(w http.ResponseWriter, r *http.Request, p app.Principal) error {
	fl, ok := w.(http.Flusher)
	if !ok {
		return app.Errorf(app.CodeInternal, "streaming unsupported")
	}
	ch, stop, err := s.svc.SubscribeAlerts(p)
	if err != nil {
		return err
	}
	defer stop()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": tidewatch alerts\n\n")
	fl.Flush()
	tick := time.NewTicker(20 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-s.opt.Done:
			return nil
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case a := <-ch:
			b, _ := json.Marshal(a)
			fmt.Fprintf(w, "id: %d-%d\nevent: alert\ndata: %s\n\n", a.ID, a.Version, b)
		}
		fl.Flush()
	}
}
