// Package httpapi is Tidewatch's HTTP adapter: a JSON API under /v1 over
// the application core (internal/app), described by an OpenAPI 3.1
// document at /openapi.json that is generated from the same route table
// the server dispatches with; yente-compatible matching (/match/{dataset})
// and the Reconciliation API (/reconcile) for the tools analysts already
// use; health, readiness and Prometheus metrics. It holds no use case of
// its own: it authenticates, decodes, calls the core and encodes.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/tidewatch/tidewatch/internal/app"
)

// Options configure the server.
type Options struct {
	// MaxBody caps a JSON request body (default 16 MiB).
	MaxBody int64
	// MaxUpload caps an uploaded file (AIS, lists, screening CSV; default
	// 1 GiB).
	MaxUpload int64
	// RequestTimeout bounds a request's work (default 60 s; uploads and
	// jobs run in the background and are not bound by it).
	RequestTimeout time.Duration
	// Rate and Burst limit requests per API key (default 2,000 a second,
	// burst 4,000; 0 keeps the default, negative disables).
	Rate  float64
	Burst int
	// Logger receives one structured line per request (never a secret).
	Logger *slog.Logger
	// AccessLog, when set, is where Logger's handler writes: the
	// request lines are then written there directly, the bytes a
	// slog.JSONHandler writes for them made by hand (at 20,000 requests
	// a second the handler's generic path was 2.7% of the CPU), when
	// Logger is enabled at INFO.
	AccessLog io.Writer
	// UploadDir holds uploads while they are processed (default the OS
	// temporary directory).
	UploadDir string
	// AuthFailures limits failed authentications per client address: a
	// burst of AuthFailureBurst, then AuthFailures a second (default 1 a
	// second, burst 20; negative disables). An address over it is
	// answered 429 before its key is even looked at.
	AuthFailures     float64
	AuthFailureBurst int
	// MetricsPublic serves /metrics without a key (for a Prometheus on a
	// trusted network); otherwise it needs a key of the operator tenant.
	MetricsPublic bool
	// Done, when closed, ends the long-lived answers (the alert stream):
	// http.Server.Shutdown waits for requests but does not cancel them.
	Done <-chan struct{}
	// TrustProxy takes the client's address from X-Forwarded-For's last
	// entry (set it only behind a proxy that sets the header).
	TrustProxy bool
	// PublicURL is the service's public base URL (CheckPublicURL), for
	// the absolute links an answer carries (the reconciliation
	// manifest); empty: links are relative to the host. Links are never
	// built from a request's Host header.
	PublicURL string
}

// Server serves the API.
type Server struct {
	svc *app.Service
	opt Options
	log *slog.Logger
	mux *http.ServeMux
	// api holds the API's routes alone, and roots the first segments of
	// their paths ("v1", "openapi.json", ...): under those, an unmatched
	// request is answered by the API (JSON 404, or 405 with Allow) even
	// when another handler (the web interface) is mounted at "/".
	api     *http.ServeMux
	roots   map[string]bool
	routes  []*route
	metrics *metrics
	ready   atomic.Bool
	limits  sync.Map // key id -> *rate.Limiter
	// failures limits failed authentications per client address.
	failures  sync.Map // address -> *rate.Limiter
	nFailures atomic.Int64
	handler   http.Handler

	openapiOnce sync.Once
	openapiDoc  []byte
}

// New makes a server over the service.
func New(svc *app.Service, opt Options) *Server {
	if opt.MaxBody <= 0 {
		opt.MaxBody = 16 << 20
	}
	if opt.MaxUpload <= 0 {
		opt.MaxUpload = 1 << 30
	}
	if opt.RequestTimeout <= 0 {
		opt.RequestTimeout = 60 * time.Second
	}
	if opt.Rate == 0 {
		opt.Rate = 2000
	}
	if opt.Burst <= 0 {
		opt.Burst = int(max(opt.Rate*2, 1))
	}
	if opt.AuthFailures == 0 {
		opt.AuthFailures = 1
	}
	if opt.AuthFailureBurst <= 0 {
		opt.AuthFailureBurst = 20
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	s := &Server{svc: svc, opt: opt, log: opt.Logger, mux: http.NewServeMux(), api: http.NewServeMux(), roots: map[string]bool{}}
	s.metrics = newMetrics(svc)
	s.registerRoutes()
	s.handler = s.recoverer(s.unmatched(s.mux))
	return s
}

// SetReady marks the server ready (the screening index is warm).
func (s *Server) SetReady(v bool) { s.ready.Store(v) }

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Handle mounts another handler (the web interface) on the server's mux.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Error is the body of every error answer.
type Error struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody is an error's code and message. Codes are stable (see
// app.Code); messages are for people.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

var statusOf = map[app.Code]int{
	app.CodeInvalid: http.StatusBadRequest, app.CodeNotFound: http.StatusNotFound, app.CodeUnauthenticated: http.StatusUnauthorized,
	app.CodeForbidden: http.StatusForbidden, app.CodeConflict: http.StatusConflict, app.CodePrecondition: http.StatusUnprocessableEntity,
	app.CodeTooLarge: http.StatusRequestEntityTooLarge, app.CodeRateLimited: http.StatusTooManyRequests, app.CodeUnavailable: http.StatusServiceUnavailable,
	app.CodeInternal: http.StatusInternalServerError,
}

// writeError answers with the error's code. Internal errors are logged
// and answered without their detail.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := app.CodeOf(err)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		code, err = app.CodeTooLarge, app.Errorf(app.CodeTooLarge, "request body larger than %d bytes", mbe.Limit)
	}
	status := statusOf[code]
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tidewatch"`)
	}
	if code == app.CodeRateLimited && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	msg := err.Error()
	if code == app.CodeInternal {
		s.log.Error("internal error", "route", routeName(r), "err", err.Error())
		msg = "internal error (logged on the server)"
	}
	// The request's own time limit is on the handler's context, not r's:
	// look at the error.
	if code == app.CodeUnavailable && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || r.Context().Err() != nil) {
		msg = "the request ran out of time or was canceled"
	}
	writeJSON(w, status, Error{ErrorBody{Code: string(code), Message: msg}})
}

// jsonWriter is an answer that writes its own JSON: what a json.Encoder
// with HTML escaping writes for it, made faster (app.ScreenResult).
type jsonWriter interface {
	WriteJSON(buf *bytes.Buffer) error
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			bodyBuffers.Put(buf)
		}
	}()
	var err error
	if w, ok := v.(jsonWriter); ok {
		err = w.WriteJSON(buf)
	} else {
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(true)
		err = enc.Encode(v)
	}
	if err != nil {
		// An answer that cannot be encoded (a NaN) is the server's bug:
		// the recoverer logs it and answers a JSON 500 (http.Error said
		// text/plain and logged nothing).
		panic(fmt.Errorf("encoding the answer: %w", err))
	}
	// Assigned, not Set: the values are shared and the keys already in
	// canonical form (Set allocated both on every answer).
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["X-Content-Type-Options"] = noSniff
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

var (
	jsonContentType = []string{"application/json; charset=utf-8"}
	noSniff         = []string{"nosniff"}
)

// decodeJSON reads one JSON object into v: unknown fields, trailing data,
// wrong types and oversize bodies are errors a client can act on.
// bodyBuffers hold request bodies while they are decoded (a body read
// through a fresh bufio.Reader was a fifth of a screening's allocations).
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// fastDecoder is a request that decodes the common, plain form of its
// body itself (ScreenRequest): decodeFast reports whether it did, with
// exactly what encoding/json would decode; when it did not, it changed
// nothing and decodeJSON decodes (and explains errors) as for any body.
type fastDecoder interface {
	decodeFast(body []byte) bool
}

func decodeJSON(r io.Reader, v any) error {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			bodyBuffers.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(r); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return readError(err)
	}
	// The body must be an object: null would decode into the zero
	// request (a policy with four eyes off, an approval that rejects),
	// and an array or a scalar would be answered in Go's type names.
	body := bytes.TrimLeft(buf.Bytes(), " \t\n\r")
	if len(body) == 0 {
		return app.Errorf(app.CodeInvalid, "empty body: send a JSON object")
	}
	if body[0] != '{' {
		return app.Errorf(app.CodeInvalid, "the body must be a JSON object ({...})")
	}
	if f, ok := v.(fastDecoder); ok && f.decodeFast(body) {
		return nil
	}
	br := bytes.NewReader(body)
	dec := json.NewDecoder(br)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.Is(err, io.EOF):
			return app.Errorf(app.CodeInvalid, "empty body: send a JSON object")
		case errors.As(err, &se):
			return app.Errorf(app.CodeInvalid, "malformed JSON at byte %d: %v", se.Offset, err)
		case errors.As(err, &te):
			return app.Errorf(app.CodeInvalid, "field %q: want %s, got %s", te.Field, te.Type, te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return app.Errorf(app.CodeInvalid, "%s", strings.TrimPrefix(err.Error(), "json: "))
		case isNetError(err):
			return readError(err)
		}
		return app.Errorf(app.CodeInvalid, "bad JSON: %v", err)
	}
	if dec.More() {
		return app.Errorf(app.CodeInvalid, "trailing data after the JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return app.Errorf(app.CodeInvalid, "trailing data after the JSON object")
	}
	return nil
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

// readError describes a body that could not be read, without the
// addresses and system messages of the network error.
func readError(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return app.Errorf(app.CodeInvalid, "the request body did not arrive within the request's time limit")
	}
	return app.Errorf(app.CodeInvalid, "the request body could not be read")
}

// principal authenticates a request: "Authorization: Bearer KEY" (or
// "ApiKey KEY", as yente clients send), or "X-API-Key: KEY".
func (s *Server) principal(r *http.Request) (app.Principal, error) {
	key, err := requestKey(r, "")
	if err != nil {
		return app.Principal{}, err
	}
	return s.authenticate(r, key)
}

// requestKey is the API key a request carries: in its Authorization
// header (schemes Bearer, ApiKey, Token), its X-API-Key header, or
// query (?api_key=, where a route takes it; "" if not). Credentials
// given in more than one place must all name the same key: a request
// whose credentials disagree (a bogus Bearer with a good X-API-Key) is
// refused whichever is good, as is an Authorization header that holds no
// API key, whatever else the request carries.
func requestKey(r *http.Request, query string) (string, error) {
	// The first key found, and whether another differs (no slice: this
	// runs for every request).
	first, differ := "", false
	add := func(key string) {
		if first == "" {
			first = key
		} else if key != first {
			differ = true
		}
	}
	for _, auth := range r.Header.Values("Authorization") {
		if auth == "" {
			continue
		}
		key := ""
		for _, scheme := range []string{"Bearer ", "ApiKey ", "Token "} {
			if len(auth) > len(scheme) && strings.EqualFold(auth[:len(scheme)], scheme) {
				key = auth[len(scheme):]
			}
		}
		if key == "" {
			return "", app.Errorf(app.CodeUnauthenticated, "the Authorization header holds no API key: send Authorization: Bearer KEY")
		}
		add(key)
	}
	for _, key := range r.Header.Values("X-API-Key") {
		if key != "" {
			add(key)
		}
	}
	if query != "" {
		add(query)
	}
	switch {
	case first == "":
		return "", app.Errorf(app.CodeUnauthenticated, "no API key: send Authorization: Bearer KEY")
	case differ:
		return "", app.Errorf(app.CodeUnauthenticated, "the request carries different API keys (Authorization, X-API-Key or api_key): send one")
	}
	return first, nil
}

// authenticate checks a key, counting failures per client address: an
// address that failed too often is refused before its key is looked at,
// so guessing keys costs the server nothing.
func (s *Server) authenticate(r *http.Request, key string) (app.Principal, error) {
	client := s.clientAddr(r)
	var lim *rate.Limiter
	if s.opt.AuthFailures > 0 {
		if l, ok := s.failures.Load(client); ok {
			lim = l.(*rate.Limiter)
			if lim.Tokens() < 1 {
				wait := int(math.Ceil(1 / s.opt.AuthFailures))
				return app.Principal{}, app.Errorf(app.CodeRateLimited, "too many failed authentications from this address: retry in %d s", wait)
			}
		}
	}
	p, err := s.svc.Authenticate(r.Context(), key)
	if err != nil && app.CodeOf(err) == app.CodeUnauthenticated {
		s.log.Warn("authentication failed", "client", client, "path", r.URL.Path)
		if s.opt.AuthFailures > 0 {
			if lim == nil {
				if s.nFailures.Add(1) > 100000 {
					// Bounded memory: forget every address (they start
					// again with a full burst).
					s.failures.Clear()
					s.nFailures.Store(1)
				}
				l, _ := s.failures.LoadOrStore(client, rate.NewLimiter(rate.Limit(s.opt.AuthFailures), s.opt.AuthFailureBurst))
				lim = l.(*rate.Limiter)
			}
			lim.Allow()
		}
	}
	return p, err
}

// ClientAddr is the request's client address (without its port): the
// peer's, or X-Forwarded-For's last entry with Options.TrustProxy. The
// web interface mounted on the server limits its sign-ins by it.
func (s *Server) ClientAddr(r *http.Request) string { return s.clientAddr(r) }

// clientAddr is the request's client address (without its port).
func (s *Server) clientAddr(r *http.Request) string {
	if s.opt.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			return strings.TrimSpace(parts[len(parts)-1])
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// allow applies the per-key rate limit; when the key is over it, wait
// is the whole seconds until its next request is allowed (Retry-After).
func (s *Server) allow(keyID string) (wait int, ok bool) {
	if s.opt.Rate < 0 {
		return 0, true
	}
	l, found := s.limits.Load(keyID)
	if !found {
		l, _ = s.limits.LoadOrStore(keyID, rate.NewLimiter(rate.Limit(s.opt.Rate), s.opt.Burst))
	}
	lim := l.(*rate.Limiter)
	now := time.Now()
	res := lim.ReserveN(now, 1)
	if !res.OK() {
		return 1, false
	}
	d := res.DelayFrom(now)
	if d == 0 {
		return 0, true
	}
	// Over the limit: give the token back, and say when one will be there.
	res.CancelAt(now)
	return int(math.Ceil(d.Seconds())), false
}

type ctxKey int

const routeKey ctxKey = 0

func routeName(r *http.Request) string {
	if rt, ok := r.Context().Value(routeKey).(*route); ok {
		return rt.pattern
	}
	return "unmatched"
}

// recoverer turns a panic into a 500 and a log line, never a dead server.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "route", routeName(r), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeJSON(w, http.StatusInternalServerError, Error{ErrorBody{Code: string(app.CodeInternal), Message: "internal error (logged on the server)"}})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// CodeMethodNotAllowed is the code of a 405: the path is served, the
// method is not (the Allow header lists those that are).
const CodeMethodNotAllowed app.Code = "method_not_allowed"

// unmatched answers requests no route takes (an unknown path, a method a
// path does not serve) with JSON errors like every other, instead of the
// mux's plain text.
func (s *Server) unmatched(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := s.mux.Handler(r)
		if s.roots[pathRoot(r.URL.Path)] {
			// The API's own paths: the mounted handler at "/" must not
			// answer them with its 404.
			h, pattern = s.api.Handler(r)
		}
		if pattern != "" {
			next.ServeHTTP(w, r)
			return
		}
		// Learn what the mux would answer: 404, 405 with Allow, or a
		// redirect to the clean path (passed through).
		probe := &probeWriter{header: http.Header{}}
		h.ServeHTTP(probe, r)
		start := time.Now()
		switch probe.status {
		case http.StatusNotFound:
			writeJSON(w, http.StatusNotFound, Error{ErrorBody{Code: string(app.CodeNotFound), Message: "no such route: /openapi.json lists them"}})
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", probe.header.Get("Allow"))
			writeJSON(w, http.StatusMethodNotAllowed, Error{ErrorBody{Code: string(CodeMethodNotAllowed),
				Message: "method " + r.Method + " is not served on this path; allowed: " + probe.header.Get("Allow")}})
		default:
			next.ServeHTTP(w, r)
			return
		}
		s.metrics.observe("unmatched", probe.status, time.Since(start))
		s.log.Info("request", "method", r.Method, "route", "unmatched", "status", probe.status)
	})
}

// pathRoot is a path's first segment: "v1" of "/v1/screen".
func pathRoot(p string) string {
	p = strings.TrimPrefix(p, "/")
	if i := strings.IndexAny(p, "/?"); i >= 0 {
		p = p[:i]
	}
	return p
}

// probeWriter records a handler's status and headers, and drops its body.
type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header { return p.header }
func (p *probeWriter) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}
func (p *probeWriter) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}

// statusWriter records the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush lets streaming answers (server-sent events) through.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestContext is a request's context: it knows its route, and it
// bounds the work of every route but the long ones.
func (s *Server) requestContext(r *http.Request, rt *route) (context.Context, context.CancelFunc) {
	ctx := context.WithValue(r.Context(), routeKey, rt)
	if rt.long {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.opt.RequestTimeout)
}
