package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/batchfile"
	"github.com/tidewatch/tidewatch/internal/termtext"
	"github.com/tidewatch/tidewatch/liststore"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/screen"
	"github.com/tidewatch/tidewatch/store"
)

// route is one endpoint: how it is dispatched and how it is documented.
// The OpenAPI document is generated from these, and a test checks every
// route's answers against it.
type route struct {
	method, path string
	pattern      string // method and path, as metrics and logs name it
	summary      string
	description  string
	tag          string
	// role is the least role that may call it (0: no key needed).
	role app.Role
	// shared: only the operator tenant (it changes shared data).
	shared bool
	// long: no request timeout (uploads that run as jobs).
	long   bool
	params []param
	// body: the JSON request type (nil: none), or bodyContent for a raw
	// upload.
	body        reflect.Type
	bodyContent string
	// resp: the JSON answer's type, or respContent for another media type.
	resp        reflect.Type
	respContent string
	// respOneOf: with respContent application/json, the types the answer
	// may be (documented as anyOf).
	respOneOf []reflect.Type
	// respAlso: other media types the route may answer with (a query
	// parameter chooses).
	respAlso []string
	status   int
	// other: statuses besides status answered with a JSON body of their
	// own, not an Error (an import some of whose versions were refused).
	other  []otherResp
	handle func(w http.ResponseWriter, r *http.Request, p app.Principal) error
}

// otherResp is one more documented answer of a route.
type otherResp struct {
	status int
	desc   string
	typ    reflect.Type
}

// param is a path or query parameter.
type param struct {
	name, in, typ, desc string
	required            bool
}

func pathParam(name, desc string) param {
	return param{name: name, in: "path", typ: "string", desc: desc, required: true}
}
func query(name, typ, desc string) param { return param{name: name, in: "query", typ: typ, desc: desc} }

// checkQuery refuses a query parameter the route does not take, on the
// API's own routes (/v1): a mistyped filter (mmsi= for vessel=) would
// otherwise be ignored and the answer hold everything. The routes that
// speak other services' protocols (yente, reconciliation) stay lenient,
// as their clients send parameters of their own.
func (rt *route) checkQuery(r *http.Request) error {
	if r.URL.RawQuery == "" || !strings.HasPrefix(rt.path, "/v1/") {
		return nil
	}
	for name := range r.URL.Query() {
		if !rt.takesQuery(name) {
			var takes []string
			for _, p := range rt.params {
				if p.in == "query" {
					takes = append(takes, p.name)
				}
			}
			if len(takes) == 0 {
				return app.Errorf(app.CodeInvalid, "unknown query parameter %q: %s takes none", app.ClipID(name), rt.pattern)
			}
			return app.Errorf(app.CodeInvalid, "unknown query parameter %q: %s takes %s", app.ClipID(name), rt.pattern, strings.Join(takes, ", "))
		}
	}
	return nil
}

func (rt *route) takesQuery(name string) bool {
	for _, p := range rt.params {
		if p.in == "query" && p.name == name {
			return true
		}
	}
	return false
}

// add registers a route on the mux with authentication, rate limits,
// timeouts, logging and metrics.
func (s *Server) add(rt *route) {
	rt.pattern = rt.method + " " + rt.path
	if rt.status == 0 {
		rt.status = http.StatusOK
	}
	s.routes = append(s.routes, rt)
	if root := pathRoot(rt.path); root != "" && !strings.HasPrefix(root, "{") {
		s.roots[root] = true
	}
	handle := func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		// One derived request carries the route and the time limit (two
		// copies of the request a call were a tenth of its allocations).
		ctx, cancel := s.requestContext(r, rt)
		defer cancel()
		r = r.WithContext(ctx)
		var p app.Principal
		var err error
		if rt.role != 0 {
			// A tenant's answers are its own: no shared cache keeps them.
			sw.Header().Set("Cache-Control", "no-store")
			p, err = s.principal(r)
			if err == nil {
				if wait, ok := s.allow(p.KeyID); !ok {
					sw.Header().Set("Retry-After", strconv.Itoa(wait))
					err = app.Errorf(app.CodeRateLimited, "too many requests for this key: slow down (retry in %d s)", wait)
				}
			}
		}
		if err == nil {
			err = rt.checkQuery(r)
		}
		if err == nil {
			if !rt.long {
				// The time limit covers reading the body too: a client
				// sending it a byte a minute is cut off, not waited for.
				http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.opt.RequestTimeout))
			}
			err = rt.handle(sw, r, p)
		}
		if err != nil {
			s.writeError(sw, r, err)
		}
		el := time.Since(start)
		s.metrics.observe(rt.pattern, sw.status, el)
		s.logRequest(r, start.Add(el), rt.pattern, sw.status, el, sw.bytes, p)
	}
	s.mux.HandleFunc(rt.pattern, handle)
	s.api.HandleFunc(rt.pattern, handle)
}

// logRequest writes a request's access log line (INFO "request"). It
// hands the handler a record made here, without the caller's program
// counter slog.Logger.Info looks up (runtime.Callers was a third of the
// line's cost, and the JSON handler does not print it), and with typed
// attributes, not values boxed in interfaces.
func (s *Server) logRequest(r *http.Request, at time.Time, route string, status int, el time.Duration, bytes int64, p app.Principal) {
	h := s.log.Handler()
	ctx := r.Context()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	if s.opt.AccessLog != nil {
		bp := lineBuffers.Get().(*[]byte)
		b := appendAccessLine((*bp)[:0], at, r.Method, route, status, el, bytes, p.Tenant, p.KeyID, s.clientAddr(r))
		s.opt.AccessLog.Write(b)
		*bp = b
		lineBuffers.Put(bp)
		return
	}
	rec := slog.NewRecord(at, slog.LevelInfo, "request", 0)
	rec.AddAttrs(slog.String("method", r.Method), slog.String("route", route), slog.Int("status", status),
		slog.Float64("ms", float64(el.Microseconds())/1000), slog.Int64("bytes", bytes),
		slog.String("tenant", p.Tenant), slog.String("key", p.KeyID), slog.String("client", s.clientAddr(r)))
	h.Handle(ctx, rec)
}

// MaxScreenFile caps a screening file (it is read whole, then screened
// as a job): 64 MiB holds about a million rows of names and identifiers.
const MaxScreenFile = 64 << 20

// noBody is the request type of a route without a body.
type noBody struct{}

// jsonRoute registers a route whose answer is JSON: fn gets the decoded
// body (a *Req) and returns the answer.
func jsonRoute[Req, Resp any](s *Server, rt route, fn func(ctx context.Context, p app.Principal, r *http.Request, req *Req) (Resp, error)) {
	if reflect.TypeFor[Req]() != reflect.TypeFor[noBody]() {
		rt.body = reflect.TypeFor[Req]()
	}
	rt.resp = reflect.TypeFor[Resp]()
	status := rt.status
	if status == 0 {
		status = http.StatusOK
	}
	rt.handle = func(w http.ResponseWriter, r *http.Request, p app.Principal) error {
		req := new(Req)
		if rt.body != nil {
			if err := decodeJSON(http.MaxBytesReader(w, r.Body, s.opt.MaxBody), req); err != nil {
				return err
			}
		}
		resp, err := fn(r.Context(), p, r, req)
		if err != nil {
			return err
		}
		writeJSON(w, status, resp)
		return nil
	}
	s.add(&rt)
}

// vesselOf reads the {vessel} path parameter: an IMO number or an MMSI.
func vesselOf(r *http.Request) (store.VesselQuery, error) {
	return app.ParseVessel(r.PathValue("vessel"))
}

// timeParam reads a date or RFC 3339 time from the query (zero when
// absent).
func timeParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := app.ParseAsOf(v)
	if err != nil {
		return t, app.Errorf(app.CodeInvalid, "%s: %v", name, err)
	}
	if len(v) == 10 && name == "from" {
		t = t.Truncate(24 * time.Hour)
	}
	return t, nil
}

func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, app.Errorf(app.CodeInvalid, "%s %q: want a whole number from %d to %d", name, v, lo, hi)
	}
	return n, nil
}

// profileRequest reads a profile's parameters.
func profileRequest(r *http.Request) (app.ProfileRequest, error) {
	var req app.ProfileRequest
	var err error
	if req.Vessel, err = vesselOf(r); err != nil {
		return req, err
	}
	q := r.URL.Query()
	if req.AsOf, err = timeParam(r, "as_of"); err != nil {
		return req, err
	}
	if w := q.Get("window"); w != "" {
		if req.Window, err = app.ParseSpan(w); err != nil {
			return req, app.Errorf(app.CodeInvalid, "window %v", err)
		}
	}
	req.Owner, req.Manager, req.Operator = q.Get("owner"), q.Get("manager"), q.Get("operator")
	for _, v := range []string{req.Owner, req.Manager, req.Operator} {
		if len(v) > screen.MaxNameLength {
			return req, app.Errorf(app.CodeInvalid, "party names are limited to %d bytes", screen.MaxNameLength)
		}
	}
	if req.Built, err = intParam(r, "built", 0, 1850, 2200); err != nil {
		return req, err
	}
	return req, nil
}

var profileParams = []param{
	pathParam("vessel", "IMO number (7 digits, valid check digit) or MMSI (9 digits)"),
	query("as_of", "string", "date (YYYY-MM-DD, the end of that day) or RFC 3339 time of the assessment; default now"),
	query("window", "string", "review window before as_of: 12m (calendar months), 90d, 2y; default 12m"),
	query("owner", "string", "registered owner to screen"),
	query("manager", "string", "ship manager to screen"),
	query("operator", "string", "operator to screen"),
	query("built", "integer", "build year when the lists do not give it"),
}

// ScreenRequest is one query and its options.
type ScreenRequest struct {
	// Type is vessel, organization, person or any.
	Type      string  `json:"type,omitempty"`
	Name      string  `json:"name,omitempty"`
	IMO       string  `json:"imo,omitempty"`
	MMSI      string  `json:"mmsi,omitempty"`
	CallSign  string  `json:"call_sign,omitempty"`
	Flag      string  `json:"flag,omitempty"`
	Threshold float64 `json:"threshold,omitempty"`
	Limit     int     `json:"limit,omitempty"`
	All       bool    `json:"all,omitempty"`
}

// MaxBatchMatches bounds the matches one synchronous batch may answer:
// queries times the per-query limit (10,000 queries at the default limit
// of 10).
const MaxBatchMatches = 100000

// BatchRequest is up to 10,000 queries screened in one request.
type BatchRequest struct {
	Queries   []screen.Query `json:"queries"`
	Threshold float64        `json:"threshold,omitempty"`
	Limit     int            `json:"limit,omitempty"`
	All       bool           `json:"all,omitempty"`
}

// DecisionRequest records a decision.
type DecisionRequest struct {
	Decision       string `json:"decision"`
	Reason         string `json:"reason"`
	OverrideReason string `json:"override_reason,omitempty"`
}

// ApproveRequest approves or rejects a pending decision. Approve is
// required: a body without it is refused, never read as a rejection.
type ApproveRequest struct {
	Approve *bool  `json:"approve"`
	Note    string `json:"note,omitempty"`
}

// KeyRequest asks for an API key.
type KeyRequest struct {
	Tenant string `json:"tenant,omitempty"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	// User binds the key to a user of the tenant: it acts as that person
	// (four eyes count people) and holds no more than the user's role.
	// Only that person binds a key to themself (403 otherwise; the
	// command line on the server's store binds for anyone).
	User string `json:"user,omitempty"`
	// TTL is the key's life: 90d, 12m, 1y (default 90d, at most 2y).
	TTL string `json:"ttl,omitempty"`
}

// TenantRequest creates a tenant.
type TenantRequest struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	FourEyes bool   `json:"four_eyes,omitempty"`
}

// PolicyRequest sets the tenant's governance policy. FourEyes is
// required: a body without it is refused, never read as "off".
type PolicyRequest struct {
	FourEyes *bool `json:"four_eyes"`
}

// Health is the answer of /healthz and /readyz.
type Health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
}

// Diff is what changed between two list versions.
type Diff struct {
	From    sanctions.Version   `json:"from"`
	To      sanctions.Version   `json:"to"`
	Added   []*sanctions.Entity `json:"added"`
	Removed []*sanctions.Entity `json:"removed"`
	Changed []DiffChange        `json:"changed"`
}

// DiffChange is one changed entity.
type DiffChange struct {
	ID     string            `json:"id"`
	Fields []string          `json:"fields"`
	Old    *sanctions.Entity `json:"old"`
	New    *sanctions.Entity `json:"new"`
}

// Events is a page of events.
type Events struct {
	Events []detect.Event `json:"events"`
	Count  int            `json:"count"`
}

// Track is a vessel's positions.
type Track struct {
	MMSI   uint32       `json:"mmsi"`
	Points []TrackPoint `json:"points"`
}

// TrackPoint is a stored position. Speed and course are null when the
// transmitter did not give them (the store keeps NaN, which JSON cannot
// carry: such a track was answered 500).
type TrackPoint struct {
	Time    time.Time `json:"t"`
	Lat     float64   `json:"lat"`
	Lon     float64   `json:"lon"`
	SOG     *float64  `json:"sog"`
	COG     *float64  `json:"cog"`
	Segment int       `json:"seg,omitempty"`
}

func trackPoints(pts []store.Point) []TrackPoint {
	num := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	out := make([]TrackPoint, len(pts))
	for i, p := range pts {
		out[i] = TrackPoint{Time: p.Time, Lat: p.Lat, Lon: p.Lon, SOG: num(p.SOG), COG: num(p.COG), Segment: p.Segment}
	}
	return out
}

// JobAccepted is the answer to work started in the background.
type JobAccepted struct {
	Job app.Job `json:"job"`
	// Status is where to follow it.
	Status string `json:"status_url"`
}

// StoreInfo is what the store holds.
type StoreInfo struct {
	Stats store.Stats `json:"stats"`
	Runs  []store.Run `json:"runs"`
}

func (s *Server) registerRoutes() {
	s.add(&route{method: "GET", path: "/healthz", summary: "Liveness: the process answers", tag: "operations", resp: reflect.TypeFor[Health](),
		handle: func(w http.ResponseWriter, r *http.Request, _ app.Principal) error {
			writeJSON(w, http.StatusOK, Health{Status: "ok", Version: s.svc.Version()})
			return nil
		}})
	s.add(&route{method: "GET", path: "/readyz", summary: "Readiness: the store answers and the screening index is built", tag: "operations", resp: reflect.TypeFor[Health](),
		handle: func(w http.ResponseWriter, r *http.Request, _ app.Principal) error {
			if !s.ready.Load() {
				return app.Errorf(app.CodeUnavailable, "starting: the screening index is being built")
			}
			if err := s.svc.Ready(r.Context()); err != nil {
				return app.Errorf(app.CodeUnavailable, "store: %v", err)
			}
			writeJSON(w, http.StatusOK, Health{Status: "ready", Version: s.svc.Version()})
			return nil
		}})
	s.add(&route{method: "GET", path: "/metrics", summary: "Prometheus metrics", tag: "operations", respContent: "text/plain",
		description: "Needs a key of the operator tenant (any role): the counts cover every tenant. `serve --metrics-public` serves it without one, for a Prometheus on a trusted network.",
		handle: func(w http.ResponseWriter, r *http.Request, _ app.Principal) error {
			if !s.opt.MetricsPublic {
				p, err := s.principal(r)
				if err != nil {
					return err
				}
				if !p.Operator {
					return app.Errorf(app.CodeForbidden, "metrics cover every tenant: they need a key of the operator tenant")
				}
			}
			s.metrics.serve(w, r)
			return nil
		}})
	s.add(&route{method: "GET", path: "/openapi.json", summary: "This API's OpenAPI 3.1 description", tag: "operations", respContent: "application/json",
		handle: func(w http.ResponseWriter, r *http.Request, _ app.Principal) error {
			w.Header().Set("Content-Type", "application/json")
			w.Write(s.OpenAPI())
			return nil
		}})

	// Screening.
	jsonRoute(s, route{method: "POST", path: "/v1/screen", tag: "screening", role: app.RoleViewer, summary: "Screen one vessel, organization or person",
		description: "Identifiers first (IMO, MMSI, call sign), then names with numbers as identity, romanisation and spacing folded. An IMO or MMSI that cannot be right is a warning, never used to lower a score. Recorded in the tenant's audit log."},
		func(ctx context.Context, p app.Principal, r *http.Request, req *ScreenRequest) (app.ScreenResult, error) {
			q := screen.Query{Type: req.Type, Name: req.Name, IMO: req.IMO, MMSI: req.MMSI, CallSign: req.CallSign, Flag: req.Flag}
			return s.svc.Screen(ctx, p, q, app.ScreenOptions{Threshold: req.Threshold, Limit: req.Limit, All: req.All})
		})
	jsonRoute(s, route{method: "POST", path: "/v1/screen/batch", tag: "screening", role: app.RoleViewer, summary: "Screen up to 10,000 queries in one request",
		description: "The same fields as the batch CLI; rows come back in order, each with its matches, warnings or error. Queries times limit is at most 100,000 (10,000 queries at the default limit of 10). Larger files: POST /v1/screen/jobs."},
		func(ctx context.Context, p app.Principal, r *http.Request, req *BatchRequest) (app.BatchResult, error) {
			if len(req.Queries) == 0 || len(req.Queries) > app.MaxBatch {
				return app.BatchResult{}, app.Errorf(app.CodeInvalid, "send 1 to %d queries (larger files: POST /v1/screen/jobs)", app.MaxBatch)
			}
			// The answer is built in memory: bound the matches it may hold
			// (10,000 queries at all=true, limit=100 answered 420,000
			// matches, 200 MB, for one viewer's request).
			limit := req.Limit
			if limit <= 0 {
				limit = 10
			}
			if len(req.Queries)*limit > MaxBatchMatches {
				return app.BatchResult{}, app.Errorf(app.CodeInvalid, "%d queries with a limit of %d matches each could answer %d matches; at most %d in one request: lower the limit or split the batch",
					len(req.Queries), limit, len(req.Queries)*limit, MaxBatchMatches)
			}
			qs := make([]app.BatchQuery, len(req.Queries))
			for i, q := range req.Queries {
				qs[i] = app.BatchQuery{Row: i + 1, Query: q}
			}
			return s.svc.ScreenBatch(ctx, p, qs, app.ScreenOptions{Threshold: req.Threshold, Limit: req.Limit, All: req.All}, "api", "", nil)
		})
	s.add(&route{method: "POST", path: "/v1/screen/jobs", tag: "screening", role: app.RoleViewer, long: true, status: http.StatusAccepted,
		summary:     "Screen a CSV or XLSX file of any size as a background job",
		description: "Body: a CSV (comma or semicolon) or XLSX file whose header names any of id, type, name, imo, mmsi, call_sign, flag (common spellings such as \"IMO number\" or \"Vessel name\" are understood). Answers 202 with the job; follow GET /v1/jobs/{id} and fetch GET /v1/jobs/{id}/result.",
		params:      []param{query("threshold", "number", "score from which a result is a match"), query("name", "string", "the file's name, for the audit log")},
		bodyContent: "text/csv", resp: reflect.TypeFor[JobAccepted](), handle: s.screenJob})
	jsonRoute(s, route{method: "GET", path: "/v1/jobs", tag: "jobs", role: app.RoleViewer, summary: "The tenant's background jobs, newest first"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]app.Job, error) {
			return s.svc.Jobs(p)
		})
	jsonRoute(s, route{method: "GET", path: "/v1/jobs/{id}", tag: "jobs", role: app.RoleViewer, summary: "A job's state and progress", params: []param{pathParam("id", "job id")}},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (app.Job, error) {
			j, _, err := s.svc.Job(p, r.PathValue("id"))
			return j, err
		})
	jsonRoute(s, route{method: "DELETE", path: "/v1/jobs/{id}", tag: "jobs", role: app.RoleViewer, summary: "Cancel a running job", params: []param{pathParam("id", "job id")},
		description: "An ingest job needs the analyst role (it changes data every tenant shares)."},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (app.Job, error) {
			return s.svc.CancelJob(p, r.PathValue("id"))
		})
	s.add(&route{method: "GET", path: "/v1/jobs/{id}/result", tag: "jobs", role: app.RoleViewer, summary: "A finished job's result",
		description: "A screening job's rows as JSON (default), JSON lines (format=jsonl), CSV (format=csv) or Excel (format=xlsx) with the input echoed, hit or no hit, best match, score, lists and reason per row; an ingest job's result as JSON.",
		params:      []param{pathParam("id", "job id"), query("format", "string", "json, jsonl, csv or xlsx")}, respContent: "application/json",
		respOneOf: []reflect.Type{reflect.TypeFor[app.BatchResult](), reflect.TypeFor[app.IngestResult]()},
		respAlso:  []string{"application/x-ndjson", "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
		handle:    s.jobResult})

	// Vessels.
	jsonRoute(s, route{method: "GET", path: "/v1/vessels/{vessel}/profile", tag: "vessels", role: app.RoleViewer, params: profileParams,
		summary:     "A vessel's risk profile as of a date",
		description: "List hits, identity, behaviour and facts, each factor with its evidence; decline, refer, accept or insufficient_evidence (with what is missing). Stored and recorded in the tenant's audit log."},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (*app.ProfileResult, error) {
			req, err := profileRequest(r)
			if err != nil {
				return nil, err
			}
			return s.svc.Profile(ctx, p, req)
		})
	s.add(&route{method: "GET", path: "/v1/vessels/{vessel}/report", tag: "vessels", role: app.RoleViewer, params: profileParams, respContent: "text/html",
		summary: "The underwriter's report (self-contained HTML, prints to PDF)",
		handle: func(w http.ResponseWriter, r *http.Request, p app.Principal) error {
			req, err := profileRequest(r)
			if err != nil {
				return err
			}
			res, err := s.svc.Report(r.Context(), p, req, "http "+r.URL.Path)
			if err != nil {
				return err
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="tidewatch-%s.html"`, strings.ReplaceAll(app.SubjectOf(req.Vessel), ":", "-")))
			w.Write(res.HTML)
			return nil
		}})
	jsonRoute(s, route{method: "GET", path: "/v1/vessels/{vessel}/identity", tag: "vessels", role: app.RoleViewer, params: []param{profileParams[0]},
		summary: "Every identity value the vessel broadcast, with first and last seen"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]store.Identity, error) {
			q, err := vesselOf(r)
			if err != nil {
				return nil, err
			}
			ids, err := s.svc.Identity(ctx, p, q)
			if ids == nil {
				ids = []store.Identity{}
			}
			return ids, err
		})
	jsonRoute(s, route{method: "GET", path: "/v1/vessels/{vessel}/track", tag: "vessels", role: app.RoleViewer,
		params: []param{pathParam("vessel", "MMSI (9 digits)"), query("from", "string", "start (date or RFC 3339; default 12 months before to)"),
			query("to", "string", "end (default now)"), query("max_points", "integer", "thin the track to at most this many points (default 5000)")},
		summary: "A transmitter's stored track"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (Track, error) {
			q, err := vesselOf(r)
			if err != nil {
				return Track{}, err
			}
			if q.MMSI == 0 {
				return Track{}, app.Errorf(app.CodeInvalid, "a track is per transmitter: give an MMSI")
			}
			to, err := timeParam(r, "to")
			if err != nil {
				return Track{}, err
			}
			if to.IsZero() {
				to = s.svc.Now()
			}
			from, err := timeParam(r, "from")
			if err != nil {
				return Track{}, err
			}
			if from.IsZero() {
				from = app.DefaultWindow.Before(to)
			}
			maxPts, err := intParam(r, "max_points", 5000, 2, 1000000)
			if err != nil {
				return Track{}, err
			}
			pts, err := s.svc.Track(ctx, p, q.MMSI, from, to, maxPts)
			return Track{MMSI: q.MMSI, Points: trackPoints(pts)}, err
		})
	jsonRoute(s, route{method: "GET", path: "/v1/vessels/{vessel}/decisions", tag: "decisions", role: app.RoleViewer, params: []param{profileParams[0]},
		summary: "The tenant's decisions about a vessel"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]store.Decision, error) {
			q, err := vesselOf(r)
			if err != nil {
				return nil, err
			}
			ds, err := s.svc.Decisions(ctx, p, q)
			if ds == nil {
				ds = []store.Decision{}
			}
			return ds, err
		})
	jsonRoute(s, route{method: "POST", path: "/v1/vessels/{vessel}/decisions", tag: "decisions", role: app.RoleUnderwriter, status: http.StatusCreated,
		params:  []param{profileParams[0], query("as_of", "string", "weigh against the profile as of this date (default now)")},
		summary: "Record a decision (reason required; an override of the profile needs its own reason, and four eyes when the tenant's policy says so)"},
		func(ctx context.Context, p app.Principal, r *http.Request, req *DecisionRequest) (app.DecideResult, error) {
			q, err := vesselOf(r)
			if err != nil {
				return app.DecideResult{}, err
			}
			asOf, err := timeParam(r, "as_of")
			if err != nil {
				return app.DecideResult{}, err
			}
			return s.svc.Decide(ctx, p, app.DecideRequest{Vessel: q, Decision: req.Decision, Reason: req.Reason, OverrideReason: req.OverrideReason, AsOf: asOf})
		})
	jsonRoute(s, route{method: "GET", path: "/v1/decisions", tag: "decisions", role: app.RoleViewer, summary: "Every decision of the tenant"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]store.Decision, error) {
			ds, err := s.svc.Decisions(ctx, p, store.VesselQuery{})
			if ds == nil {
				ds = []store.Decision{}
			}
			return ds, err
		})
	jsonRoute(s, route{method: "POST", path: "/v1/decisions/{id}/approval", tag: "decisions", role: app.RoleUnderwriter, params: []param{pathParam("id", "decision id")},
		summary: "Approve or reject a pending override (by another underwriter)"},
		func(ctx context.Context, p app.Principal, r *http.Request, req *ApproveRequest) (store.Decision, error) {
			id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
			if err != nil || id < 1 {
				return store.Decision{}, app.Errorf(app.CodeInvalid, "decision id %q", r.PathValue("id"))
			}
			if req.Approve == nil {
				return store.Decision{}, app.Errorf(app.CodeInvalid, "give approve: true or false")
			}
			return s.svc.ApproveDecision(ctx, p, id, *req.Approve, req.Note)
		})

	// Events.
	jsonRoute(s, route{method: "GET", path: "/v1/events", tag: "events", role: app.RoleViewer, summary: "Events by vessel, kind, area and time",
		params: []param{query("vessel", "string", "IMO number (every MMSI that broadcast it) or MMSI"), query("kind", "string", "kinds, comma-separated"),
			query("from", "string", "events ending on or after (date or RFC 3339)"), query("to", "string", "events starting on or before"),
			query("bbox", "string", "south,west,north,east in degrees"), query("zone", "string", "a built-in zone by id or name"),
			query("limit", "integer", "at most this many (default 1000, at most 10000)")}},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (Events, error) {
			var req app.EventsRequest
			var err error
			q := r.URL.Query()
			if v := q.Get("vessel"); v != "" {
				if req.Vessel, err = app.ParseVessel(v); err != nil {
					return Events{}, err
				}
			}
			if k := q.Get("kind"); k != "" {
				req.Kinds = strings.Split(k, ",")
			}
			if req.From, err = timeParam(r, "from"); err != nil {
				return Events{}, err
			}
			if req.To, err = timeParam(r, "to"); err != nil {
				return Events{}, err
			}
			if b := q.Get("bbox"); b != "" {
				if req.Area, err = parseBBox(b); err != nil {
					return Events{}, err
				}
			}
			req.Zone = q.Get("zone")
			if req.Limit, err = intParam(r, "limit", 1000, 1, app.MaxEvents); err != nil {
				return Events{}, err
			}
			evs, err := s.svc.Events(ctx, p, req)
			return Events{Events: evs, Count: len(evs)}, err
		})

	// Lists.
	jsonRoute(s, route{method: "GET", path: "/v1/lists/versions", tag: "lists", role: app.RoleViewer, summary: "Every stored list version, the ones in force marked"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]app.ListVersionInfo, error) {
			vs, err := s.svc.ListVersions(ctx, p)
			if vs == nil {
				vs = []app.ListVersionInfo{}
			}
			return vs, err
		})
	jsonRoute(s, route{method: "GET", path: "/v1/lists/imports", tag: "lists", role: app.RoleViewer, summary: "The list import log (every attempt, with the reason for failures)",
		params: []param{query("list", "string", "one list (un, ofac-sdn, ofac-cons, uk, eu)")}},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]store.ListImport, error) {
			is, err := s.svc.ListImports(ctx, p, r.URL.Query().Get("list"))
			if is == nil {
				is = []store.ListImport{}
			}
			return is, err
		})
	jsonRoute(s, route{method: "GET", path: "/v1/lists/diff", tag: "lists", role: app.RoleViewer, summary: "What changed between two versions of a list",
		params: []param{{name: "from", in: "query", typ: "string", desc: "version id", required: true}, {name: "to", in: "query", typ: "string", desc: "version id", required: true}}},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (Diff, error) {
			from, to := r.URL.Query().Get("from"), r.URL.Query().Get("to")
			if from == "" || to == "" {
				return Diff{}, app.Errorf(app.CodeInvalid, "give from and to version ids")
			}
			d, err := s.svc.DiffVersions(ctx, p, from, to)
			if err != nil {
				return Diff{}, err
			}
			out := Diff{From: d.From, To: d.To, Added: d.Added, Removed: d.Removed, Changed: []DiffChange{}}
			if out.Added == nil {
				out.Added = []*sanctions.Entity{}
			}
			if out.Removed == nil {
				out.Removed = []*sanctions.Entity{}
			}
			for _, c := range d.Changed {
				out.Changed = append(out.Changed, DiffChange{ID: c.New.ID, Fields: c.Fields, Old: c.Old, New: c.New})
			}
			return out, nil
		})
	s.add(&route{method: "POST", path: "/v1/lists/import", tag: "lists", role: app.RoleAnalyst, shared: true, long: true,
		summary:     "Import a list file (UN XML, OFAC XML or CSV, EU or UK CSV, FollowTheMoney JSON)",
		description: "Body: the file as published; ?name= its file name (format and date hints). Guards as in the CLI: a file that does not parse or shrinks the list by half is refused. Operator tenant only.",
		params:      []param{{name: "name", in: "query", typ: "string", desc: "the file's name, e.g. un_consolidated_2026-02-27.xml", required: true}, query("min_ratio", "number", "shrink guard (default 0.5; 0 disables)")},
		bodyContent: "application/octet-stream", resp: reflect.TypeFor[app.ImportResult](), handle: s.importList,
		other: []otherResp{{http.StatusUnprocessableEntity, "a version was refused (each version's outcome and reason); the versions held are kept", reflect.TypeFor[app.ImportResult]()}}})

	// AIS.
	s.add(&route{method: "POST", path: "/v1/ingest", tag: "ais", role: app.RoleAnalyst, shared: true, long: true, status: http.StatusAccepted,
		summary: "Upload an AIS file (NMEA, optionally gzipped, or a MarineCadastre/DMA CSV) to ingest as a background job, or flush the detectors' state",
		description: "Answers 202 with the job; its progress counts fixes stored, and its note says at the end how many position fixes were read, stored and held. " +
			"A run continues the detectors' state and ends at a checkpoint: the fixes of the reorder window's last 2 h (all of a shorter file) are held, " +
			"and stored by the next upload or by a flush (flush=true: with a file, after it; with no name and no body, the state left by earlier runs). " +
			"The job fails when no AIS position could be read. The file's bytes are kept as received, by SHA-256, so case files carry its lines " +
			"(the job's result lists them under uploads; serve --keep-uploads=false keeps nothing). Operator tenant only (AIS is shared by every tenant).",
		params: []param{{name: "name", in: "query", typ: "string", desc: "the file's name (its extension tells the format); required unless flush=true with no body"},
			query("flush", "boolean", "end the stream: store the fixes held in the detectors' reorder window and close every occurrence still open (as 'tidewatch ingest --flush'); default false")},
		bodyContent: "application/octet-stream", resp: reflect.TypeFor[JobAccepted](), handle: s.ingestUpload})
	jsonRoute(s, route{method: "GET", path: "/v1/store", tag: "ais", role: app.RoleViewer, summary: "What the store holds: counts and ingest runs"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (StoreInfo, error) {
			st, err := s.svc.StoreStats(ctx, p)
			if err != nil {
				return StoreInfo{}, err
			}
			runs, err := s.svc.Runs(ctx, p)
			if runs == nil {
				runs = []store.Run{}
			}
			return StoreInfo{Stats: st, Runs: runs}, err
		})

	// Audit.
	jsonRoute(s, route{method: "GET", path: "/v1/audit/verify", tag: "audit", role: app.RoleViewer, summary: "Verify the tenant's audit chain (and a head kept elsewhere)",
		params: []param{query("head", "string", "SEQ:HASH printed on a report, to check it is still in the log")}},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (audit.Report, error) {
			return s.svc.VerifyAudit(ctx, p, r.URL.Query().Get("head"))
		})
	jsonRoute(s, route{method: "GET", path: "/v1/audit/records", tag: "audit", role: app.RoleViewer, summary: "The tenant's audit records",
		params: []param{query("subject", "string", "imo:N, mmsi:N, or a bare IMO number or MMSI"), query("action", "string", "screen, profile, report, decision, ..."),
			query("after", "integer", "records after this sequence number"), query("limit", "integer", "at most this many (default 1000)")}},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]store.AuditRecord, error) {
			after, err := intParam(r, "after", 0, 0, 1<<62)
			if err != nil {
				return nil, err
			}
			limit, err := intParam(r, "limit", 1000, 1, 100000)
			if err != nil {
				return nil, err
			}
			recs, err := s.svc.AuditRecords(ctx, p, app.AuditFilter{Subject: r.URL.Query().Get("subject"), Action: r.URL.Query().Get("action"), After: int64(after), Limit: limit})
			if recs == nil {
				recs = []store.AuditRecord{}
			}
			return recs, err
		})

	// Tenants and keys.
	jsonRoute(s, route{method: "GET", path: "/v1/keys", tag: "admin", role: app.RoleAdmin, summary: "The tenant's API keys (no secrets)"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]store.APIKey, error) {
			ks, err := s.svc.APIKeys(ctx, p)
			if ks == nil {
				ks = []store.APIKey{}
			}
			return ks, err
		})
	jsonRoute(s, route{method: "POST", path: "/v1/keys", tag: "admin", role: app.RoleAdmin, status: http.StatusCreated,
		summary: "Make an API key (the key is in this answer only; stored hashed)"},
		func(ctx context.Context, p app.Principal, r *http.Request, req *KeyRequest) (app.NewKey, error) {
			var ttl time.Duration
			if req.TTL != "" {
				sp, err := app.ParseSpan(req.TTL)
				if err != nil {
					return app.NewKey{}, app.Errorf(app.CodeInvalid, "ttl %v", err)
				}
				now := s.svc.Now()
				ttl = sp.After(now).Sub(now)
			}
			return s.svc.CreateAPIKey(ctx, p, app.CreateKeyRequest{Tenant: req.Tenant, Name: req.Name, Role: req.Role, User: req.User, TTL: ttl})
		})
	jsonRoute(s, route{method: "DELETE", path: "/v1/keys/{id}", tag: "admin", role: app.RoleAdmin, params: []param{pathParam("id", "key id")},
		summary: "Revoke an API key"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (store.APIKey, error) {
			return s.svc.RevokeAPIKey(ctx, p, r.PathValue("id"))
		})
	jsonRoute(s, route{method: "GET", path: "/v1/tenants", tag: "admin", role: app.RoleViewer, summary: "Tenants: every one for the operator's admins, one's own otherwise"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]store.Tenant, error) {
			return s.svc.Tenants(ctx, p)
		})
	jsonRoute(s, route{method: "POST", path: "/v1/tenants", tag: "admin", role: app.RoleAdmin, shared: true, status: http.StatusCreated, summary: "Create a tenant (operator admins)"},
		func(ctx context.Context, p app.Principal, r *http.Request, req *TenantRequest) (store.Tenant, error) {
			return s.svc.CreateTenant(ctx, p, req.ID, req.Name, store.TenantPolicy{FourEyes: req.FourEyes})
		})
	jsonRoute(s, route{method: "PUT", path: "/v1/tenant/policy", tag: "admin", role: app.RoleAdmin, summary: "Set the tenant's governance policy"},
		func(ctx context.Context, p app.Principal, r *http.Request, req *PolicyRequest) (store.Tenant, error) {
			if req.FourEyes == nil {
				return store.Tenant{}, app.Errorf(app.CodeInvalid, "give four_eyes: true or false")
			}
			return s.svc.SetPolicy(ctx, p, store.TenantPolicy{FourEyes: *req.FourEyes})
		})
	jsonRoute(s, route{method: "GET", path: "/v1/whoami", tag: "admin", role: app.RoleViewer, summary: "The key's tenant, actor and role"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) (Whoami, error) {
			return Whoami{Tenant: p.Tenant, Actor: p.Actor, Role: p.Role.String(), Operator: p.Operator}, nil
		})
	s.registerMonitor()
	s.registerCompat()
	s.registerLedger()
	s.registerCases()
}

// Whoami describes the caller.
type Whoami struct {
	Tenant   string `json:"tenant"`
	Actor    string `json:"actor"`
	Role     string `json:"role"`
	Operator bool   `json:"operator"`
}

func parseBBox(s string) (*store.BBox, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return nil, app.Errorf(app.CodeInvalid, "bbox %q: give south,west,north,east", s)
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, app.Errorf(app.CodeInvalid, "bbox %q: %q is not a number", s, p)
		}
		v[i] = f
	}
	return &store.BBox{South: v[0], West: v[1], North: v[2], East: v[3]}, nil
}

// upload copies a request body to a temporary file, bounded by MaxUpload,
// and returns its path and SHA-256.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, name string) (path, sum string, err error) {
	dir, err := os.MkdirTemp(s.opt.UploadDir, "tidewatch-upload-")
	if err != nil {
		return "", "", err
	}
	path = filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		os.RemoveAll(dir)
		return "", "", err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), http.MaxBytesReader(w, r.Body, s.opt.MaxUpload))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", "", err
	}
	return path, hex.EncodeToString(h.Sum(nil)), nil
}

// hideUploadPath names an uploaded file in an error by the name its
// sender gave, never by where the server keeps it (its temporary path:
// found in a truncated upload's job error). The error's code is kept.
func hideUploadPath(err error, path, name string) error {
	if err == nil || path == "" || !strings.Contains(err.Error(), filepath.Dir(path)) {
		return err
	}
	msg := strings.ReplaceAll(err.Error(), path, name)
	msg = strings.ReplaceAll(msg, filepath.Dir(path), "(upload)")
	var ae *app.Error
	if errors.As(err, &ae) {
		return app.Errorf(ae.Code, "%s", msg)
	}
	return errors.New(msg)
}

// safeName keeps a client-given file name's base, without path tricks;
// an AIS upload's (a refusal's example is an AIS log's name).
func safeName(given string) (string, error) { return safeNameFor(given, "day.nmea.gz") }

// safeNameFor is safeName for a route whose files look like example
// (un_consolidated_2026-02-27.xml, portfolio.csv).
func safeNameFor(given, example string) (string, error) {
	if strings.TrimSpace(given) == "" {
		return "", app.Errorf(app.CodeInvalid, "no file name: give the file's name (?name=%s)", example)
	}
	n := filepath.Base(strings.ReplaceAll(given, `\`, "/"))
	if n == "" || n == "." || n == "/" || strings.HasPrefix(n, ".") || len(n) > 200 {
		return "", app.Errorf(app.CodeInvalid, "name %q: give the file's name, e.g. %s", termtext.Clip(given, 80), example)
	}
	if err := checkNameText(n, example); err != nil {
		return "", err
	}
	return n, nil
}

// checkNameText refuses a client-given file name holding characters no
// file name needs: control characters (NUL, newline, ESC), bidirectional
// overrides and other invisible ones, bytes that are not UTF-8 (what
// termtext escapes). A NUL cannot reach the file system, and the others
// would be printed in the audit log, jobs and messages.
func checkNameText(n, example string) error {
	if termtext.IsSafe(n) {
		return nil
	}
	return app.Errorf(app.CodeInvalid, "name %q holds a control character, an invisible or bidirectional formatting character, or bytes that are not UTF-8: give the file's name without them, e.g. %s", termtext.Clip(n, 80), example)
}

func (s *Server) screenJob(w http.ResponseWriter, r *http.Request, p app.Principal) error {
	if err := s.svc.CanStartJob(p); err != nil {
		return err
	}
	threshold := 0.0
	if v := r.URL.Query().Get("threshold"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return app.Errorf(app.CodeInvalid, "threshold %q: want a score in (0, 1]", v)
		}
		threshold = f
	}
	// Checked now, not when the job runs: a bad threshold is the
	// request's error, not a failed job's.
	if err := (app.ScreenOptions{Threshold: threshold}).Validate(); err != nil {
		return err
	}
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "upload.csv"
	}
	name, err := safeNameFor(name, "portfolio.csv")
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, min(s.opt.MaxUpload, MaxScreenFile)))
	if err != nil {
		return err
	}
	qs, err := batchfile.ReadAs(bytes.NewReader(body), name, isXLSXType(r.Header.Get("Content-Type")))
	if err != nil {
		return app.Errorf(app.CodeInvalid, "%v", err)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	opt := app.ScreenOptions{Threshold: threshold}
	job, err := s.svc.StartJob(p, "screen", int64(len(qs)), func(ctx context.Context, pr app.JobProgress) (any, error) {
		res, err := s.svc.ScreenBatch(ctx, p, qs, opt, name, hash, func(n int) { pr.Set(int64(n), int64(len(qs)), "") })
		return &res, err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, JobAccepted{Job: job, Status: "/v1/jobs/" + job.ID})
	return nil
}

// isXLSXType: the media type says XLSX. (Not application/vnd.ms-excel:
// Windows gives CSV files that type.)
func isXLSXType(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
}

func (s *Server) jobResult(w http.ResponseWriter, r *http.Request, p app.Principal) error {
	j, res, err := s.svc.Job(p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if j.State == app.JobRunning {
		return app.Errorf(app.CodePrecondition, "job %s is still running (%d of %d done)", j.ID, j.Done, j.Total)
	}
	if j.State != app.JobDone {
		return app.Errorf(app.CodePrecondition, "job %s %s: %s", j.ID, j.State, j.Error)
	}
	if br, ok := res.(*app.BatchResult); ok {
		f := batchfile.JSON
		if v := r.URL.Query().Get("format"); v != "" {
			if f, err = batchfile.ParseFormat(v); err != nil {
				return app.Errorf(app.CodeInvalid, "%v", err)
			}
		}
		if f != batchfile.JSON {
			w.Header().Set("Content-Type", f.ContentType())
			w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="screening-%s.%s"`, j.ID, f))
			return batchfile.Write(w, f, *br)
		}
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) importList(w http.ResponseWriter, r *http.Request, p app.Principal) error {
	if err := checkShared(p, app.RoleAnalyst); err != nil {
		return err
	}
	name, err := safeNameFor(r.URL.Query().Get("name"), "un_consolidated_2026-02-27.xml")
	if err != nil {
		return err
	}
	minRatio := 0.0
	if v := r.URL.Query().Get("min_ratio"); v != "" {
		// Written so that NaN fails too: a NaN ratio turned the shrink
		// guard off.
		if minRatio, err = strconv.ParseFloat(v, 64); err != nil || !(minRatio >= 0 && minRatio <= 1) {
			return app.Errorf(app.CodeInvalid, "min_ratio %q: a share from 0 to 1", v)
		}
		if minRatio == 0 {
			minRatio = -1
		}
	}
	path, _, err := s.upload(w, r, name)
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(path))
	files, err := liststore.FromPaths([]string{path})
	if err != nil {
		return hideUploadPath(err, path, name)
	}
	// The file is known by the name its sender gave, not by where the
	// server keeps it while importing (messages and the stored version
	// name it).
	for i := range files {
		files[i].Name = name
	}
	res, err := s.svc.ImportLists(r.Context(), p, app.ImportRequest{Files: files, Source: "upload " + name, MinRatio: minRatio, KeepFiles: true})
	if err != nil {
		return hideUploadPath(err, path, name)
	}
	status := http.StatusOK
	if res.Failed() > 0 {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, res)
	return nil
}

// checkShared refuses before reading a large body what the core would
// refuse after.
func checkShared(p app.Principal, r app.Role) error {
	if p.Role < r {
		return app.Errorf(app.CodeForbidden, "this needs the %s role; the key has %s", r, p.Role)
	}
	if !p.Operator {
		return app.Errorf(app.CodeForbidden, "this changes data shared by every tenant: only the operator tenant may")
	}
	return nil
}

func (s *Server) ingestUpload(w http.ResponseWriter, r *http.Request, p app.Principal) error {
	if err := checkShared(p, app.RoleAnalyst); err != nil {
		return err
	}
	flush := false
	if v := r.URL.Query().Get("flush"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return app.Errorf(app.CodeInvalid, "flush %q: want true or false", termtext.Clip(v, 20))
		}
		flush = b
	}
	if flush && r.URL.Query().Get("name") == "" {
		if r.ContentLength != 0 {
			return app.Errorf(app.CodeInvalid, "no file name: give the file's name (?name=day.nmea.gz&flush=true), or no body to flush the stored state")
		}
		return s.ingestJob(w, p, nil, nil, "", "", true, func() {})
	}
	name, err := safeName(r.URL.Query().Get("name"))
	if err != nil {
		return err
	}
	if err := s.svc.CanStartJob(p); err != nil {
		return err
	}
	path, sum, err := s.upload(w, r, name)
	if err != nil {
		return err
	}
	cleanup := func() { os.RemoveAll(filepath.Dir(path)) }
	in, err := ingest.FileInput(path, func(ctx context.Context) (ais.Source, io.Closer, error) {
		return ais.OpenInput(ctx, path, ais.FeedOptions{})
	})
	if err != nil {
		cleanup()
		return err
	}
	in.Name = app.UploadInputName(name, sum)
	var size int64
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	// The bytes as received are kept (serve --keep-uploads) for case
	// files, before the job reads them and removes the temporary copy.
	up := app.Upload{Input: in.Name, SHA256: sum, Size: size, Open: func() (io.ReadCloser, error) { return os.Open(path) }}
	return s.ingestJob(w, p, []ingest.Input{in}, []app.Upload{up}, name, path, flush, cleanup)
}

// ingestJob runs an ingest (of inputs; none: a flush of the stored state)
// as a job, answering 202. The job's note says at the end what was read,
// stored and held; it fails when an input named name gave no position.
// Errors name the upload (at path on the server) by name.
func (s *Server) ingestJob(w http.ResponseWriter, p app.Principal, inputs []ingest.Input, uploads []app.Upload, name, path string, flush bool, cleanup func()) error {
	// The job's place in the queue for the detectors' state, taken as it
	// is accepted: jobs sent at once run in the order they were accepted
	// and continue each other.
	turn := s.svc.IngestTurn()
	job, err := s.svc.StartJob(p, "ingest", 0, func(ctx context.Context, pr app.JobProgress) (any, error) {
		defer cleanup()
		held := "" // why the job reads on its own, for its notes
		res, err := s.svc.Ingest(ctx, p, app.IngestRequest{Inputs: inputs, Uploads: uploads, Flush: flush, Turn: turn,
			Status: func(note string) {
				if strings.HasPrefix(note, "the detectors' state is held") {
					held = note + "; "
				}
				pr.Set(0, 0, note)
			},
			Progress: func(g ingest.Progress) {
				pr.Set(g.Fixes, 0, fmt.Sprintf("%s%d fixes, %d events stored", held, g.Fixes, g.Events))
			}})
		if err != nil {
			return nil, hideUploadPath(err, path, name)
		}
		if len(res.Failed) > 0 {
			return &res, hideUploadPath(errors.New(res.Failed[0].Error()), path, name)
		}
		if res.Published != "" {
			return &res, nil
		}
		run := res.Run
		if len(inputs) == 0 {
			if res.AlreadyDone {
				pr.Set(0, 0, "no detector state to flush")
			} else {
				pr.Set(run.Fixes, 0, fmt.Sprintf("flushed: %d position fixes stored from the detectors' reorder window, %d events (every occurrence still open closed)", run.Fixes, run.Events))
			}
			return &res, nil
		}
		// A file that is not AIS (or not one Tidewatch reads) reads to its
		// end without an error: say so rather than "done", and the same
		// again when the same bytes come back (the run is complete: it
		// kept what it found).
		if len(res.NoAIS) > 0 {
			return &res, fmt.Errorf("no AIS message in %s: expected NMEA sentences (!AIVDM/!AIVDO, optionally gzipped) or a MarineCadastre or DMA CSV export", name)
		}
		if run.Read == 0 && run.Fixes == 0 && res.Untimed > 0 {
			return &res, fmt.Errorf("no AIS position with a time in %s: %d positions without a time skipped (NMEA needs a time per sentence: tag blocks \\c:, $PGHP lines or an epoch field)", name, res.Untimed)
		}
		pr.Set(run.Fixes, 0, ingestNote(res))
		return &res, nil
	})
	if err != nil {
		turn.Release()
		cleanup()
		return err
	}
	writeJSON(w, http.StatusAccepted, JobAccepted{Job: job, Status: "/v1/jobs/" + job.ID})
	return nil
}

// ingestNote is an ingest job's last note: what was read, stored and
// held, and how to store what is held.
func ingestNote(res app.IngestResult) string {
	r := res.Run
	prefix := ""
	if res.AlreadyDone {
		prefix = "already ingested: "
	}
	note := fmt.Sprintf("%s%d position fixes read, %d stored, %d events", prefix, r.Read, r.Fixes, r.Events)
	if res.StateHeld != "" {
		note += fmt.Sprintf("; read on its own, not continuing the stream: the detectors' state was held by %s, so this file started from a fresh state, what it left open was closed at its end, and the stored state was left as it was", res.StateHeld)
	}
	if r.Held > 0 {
		note += fmt.Sprintf("; %d position fixes held in the detectors' reorder window waiting for later data: the next upload stores them, or POST /v1/ingest?flush=true stores them now and closes what is still open", r.Held)
	}
	if r.Read == 0 && len(res.NoAIS) == 0 && res.Untimed == 0 {
		note += "; no position, only other messages (static and voyage data: the vessels' identities, held in the detectors' reorder window like positions until the next upload, or POST /v1/ingest?flush=true, stores them)"
	}
	return note
}
