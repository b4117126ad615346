// Package web is Tidewatch's web interface for analysts, underwriters and
// admins: server-rendered pages (html/template) over the application core
// (internal/app), with a little script for what a page cannot do alone
// (the map, live alerts, a job's progress). Everything it serves is
// embedded in the binary: templates, styles, scripts, the map library
// (Leaflet, vendored with its licence) and the geography (drawn from
// package geo), so it works on a network with no internet.
//
// People sign in with a tenant, a name and a password (app.Login); the
// session lives in an HttpOnly, SameSite=Lax cookie together with its CSRF
// token, which every state-changing form and fetch sends back
// (app.SessionPrincipal checks it). Every page acts as the session's
// principal, so the core's tenant and role rules apply unchanged; pages
// hide what the role cannot do, and the core refuses it anyway.
package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/termtext"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the interface.
type Options struct {
	// SecureCookies marks cookies Secure even on plain HTTP (behind a
	// proxy that terminates TLS). Requests over TLS always get Secure
	// cookies.
	SecureCookies bool
	// MaxUpload caps an uploaded file (screening, portfolio; default 64 MiB).
	MaxUpload int64
	// Logger receives errors the pages hide from users (default: discard).
	Logger *slog.Logger
	// Done, when closed, ends the live alert streams (a server shutting
	// down would otherwise wait for every open inbox).
	Done <-chan struct{}
	// MaxLogins bounds the sign-ins checked at once (default 4): each
	// spends 64 MiB and a few hundred milliseconds on argon2id, so a flood
	// of attempts waits in line instead of exhausting memory.
	MaxLogins int
	// LoginFailures limits failed sign-ins per client address: a burst of
	// LoginFailureBurst (default 10), then LoginFailures a second
	// (default 0.1: one every 10 s; negative: no limit). Past it the
	// sign-in answers 429 with Retry-After without checking the password.
	// The per-user lockout (app.LockAfter) applies as well.
	LoginFailures     float64
	LoginFailureBurst int
	// ClientAddr gives a request's client address (default: the peer's
	// address; the API server's, which honours its proxy setting, when
	// mounted on it).
	ClientAddr func(*http.Request) string
}

// Handler serves the interface.
type Handler struct {
	svc   *app.Service
	opt   Options
	log   *slog.Logger
	mux   *http.ServeMux
	pages map[string]*template.Template
	// Pages lists the GET routes that render a page for a signed-in user
	// (the tenant-isolation test walks every one).
	routes []Route
	geo    *geoCache
	logins chan struct{}
	gate   *loginGate // nil: no limit
}

// Route is one of the interface's routes.
type Route struct {
	Method, Path string
	// Page: renders HTML for a signed-in user.
	Page bool
	// Role is the least role that sees it.
	Role app.Role
}

// New makes the interface over the service.
func New(svc *app.Service, opt Options) *Handler {
	if opt.MaxUpload <= 0 {
		opt.MaxUpload = 64 << 20
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opt.MaxLogins <= 0 {
		opt.MaxLogins = 4
	}
	if opt.LoginFailures == 0 {
		opt.LoginFailures = 0.1
	}
	if opt.LoginFailureBurst <= 0 {
		opt.LoginFailureBurst = 10
	}
	if opt.ClientAddr == nil {
		opt.ClientAddr = remoteHost
	}
	h := &Handler{svc: svc, opt: opt, log: opt.Logger, mux: http.NewServeMux(), geo: newGeoCache(svc), logins: make(chan struct{}, opt.MaxLogins)}
	if opt.LoginFailures > 0 {
		h.gate = newLoginGate(opt.LoginFailures, opt.LoginFailureBurst)
	}
	h.parseTemplates()
	h.register()
	return h
}

// Routes lists the interface's routes.
func (h *Handler) Routes() []Route { return h.routes }

// ServeHTTP serves a request with the interface's security headers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		// Tenant pages are never kept by a browser or a proxy.
		hd.Set("Cache-Control", "no-store")
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.Error("web panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
			http.Error(w, "internal error (logged on the server)", http.StatusInternalServerError)
		}
	}()
	h.mux.ServeHTTP(w, r)
}

// csp allows the interface's own scripts, styles, images and requests,
// and nothing else: no inline script, no framing.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
	"form-action 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'"

// handler kinds.
type (
	pageFunc func(w http.ResponseWriter, r *http.Request, c *reqCtx) error
)

// reqCtx is a signed-in request.
type reqCtx struct {
	P    app.Principal
	CSRF string
	// session is the session's token (the cookie's), which the store
	// checked: status messages are bound to it (h.flash).
	session string
}

func (h *Handler) add(method, path string, page bool, role app.Role, fn pageFunc) {
	h.routes = append(h.routes, Route{Method: method, Path: path, Page: page, Role: role})
	h.mux.HandleFunc(method+" "+path, func(w http.ResponseWriter, r *http.Request) {
		if method != http.MethodGet && method != http.MethodHead {
			// The CSRF check reads a form whole (its file parts too)
			// before the handler runs: bounded here, as formFile bounds
			// an upload, or it is all read (to temporary files) first.
			r.Body = http.MaxBytesReader(w, r.Body, h.opt.MaxUpload+1<<20)
		}
		c, err := h.session(r, method != http.MethodGet && method != http.MethodHead)
		if err != nil {
			if app.CodeOf(err) == app.CodeUnauthenticated {
				if method == http.MethodGet && page {
					http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				h.fail(w, r, nil, err)
				return
			}
			// c is set only when the form could not be read (readForm).
			h.fail(w, r, c, err)
			return
		}
		if c.P.Role < role {
			h.fail(w, r, c, app.Errorf(app.CodeForbidden, "this page needs the %s role; you have %s", role, c.P.Role))
			return
		}
		if err := fn(w, r, c); err != nil {
			h.fail(w, r, c, err)
		}
	})
}

const (
	sessionCookie = "tw_session"
	loginCookie   = "tw_login"
)

// session reads the session cookie: "TOKEN.CSRF". State-changing
// requests must also carry the CSRF token in a form field or header.
func (h *Handler) session(r *http.Request, needCSRF bool) (*reqCtx, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, app.Errorf(app.CodeUnauthenticated, "not signed in")
	}
	tok, csrf, ok := strings.Cut(ck.Value, ".")
	if !ok {
		return nil, app.Errorf(app.CodeUnauthenticated, "not signed in")
	}
	sent := ""
	if needCSRF {
		sent = r.Header.Get("X-CSRF-Token")
		if sent == "" {
			head := &headTee{r: r.Body, max: 64 << 10}
			r.Body = struct {
				io.Reader
				io.Closer
			}{head, r.Body}
			formErr := readForm(r)
			sent = r.PostFormValue("csrf")
			if sent == "" && formErr != nil {
				// The form could not be read (a part header holding ESC),
				// so neither could its token. A token sent before the bad
				// part (the page's forms send it first) is looked for in
				// the form's head: with the session's token, the user is
				// told why (400), not that the token is missing (403);
				// the handler is not run either way.
				sent = csrfBefore(r, head.buf)
				if sent == "" {
					return nil, app.Errorf(app.CodeForbidden, "the form carries no CSRF token: reload the page")
				}
				p, err := h.svc.SessionPrincipal(r.Context(), tok, sent, true)
				if err != nil {
					return nil, err
				}
				return &reqCtx{P: p, CSRF: csrf, session: tok}, formErr
			}
		}
		if sent == "" {
			return nil, app.Errorf(app.CodeForbidden, "the form carries no CSRF token: reload the page")
		}
	}
	p, err := h.svc.SessionPrincipal(r.Context(), tok, sent, needCSRF)
	if err != nil {
		return nil, err
	}
	return &reqCtx{P: p, CSRF: csrf, session: tok}, nil
}

// readForm parses a request's form (URL-encoded or multipart, as
// PostFormValue would) and says, as CodeInvalid, why it could not: a
// multipart part header holding a control character (ESC in a file's
// name: net/textproto refuses it) leaves the whole form, its CSRF token
// too, unread.
func readForm(r *http.Request) error {
	err := r.ParseMultipartForm(32 << 20)
	var mbe *http.MaxBytesError
	if err == nil || errors.Is(err, http.ErrNotMultipart) {
		return nil
	} else if errors.As(err, &mbe) {
		return err // fail answers 413
	}
	var pe textproto.ProtocolError
	if errors.As(err, &pe) && strings.Contains(err.Error(), "malformed MIME header") {
		return app.Errorf(app.CodeInvalid, "the file's name (or another header of the form's parts) holds a control character, which the form cannot carry: rename the file without them (%s)", termtext.Clip(err.Error(), 200))
	}
	return app.Errorf(app.CodeInvalid, "the form could not be read: %s", termtext.Clip(strconv.Quote(err.Error()), 200))
}

// headTee keeps the first max bytes read through it.
type headTee struct {
	r   io.Reader
	buf []byte
	max int
}

func (t *headTee) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if k := min(n, t.max-len(t.buf)); k > 0 {
		t.buf = append(t.buf, p[:k]...)
	}
	return n, err
}

// csrfBefore is the "csrf" field of a multipart form whose head is
// given, if it comes before the first part that cannot be read; "" if not.
func csrfBefore(r *http.Request, head []byte) string {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return ""
	}
	mr := multipart.NewReader(bytes.NewReader(head), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return ""
		}
		if p.FormName() == "csrf" {
			b, err := io.ReadAll(io.LimitReader(p, 256))
			if err != nil {
				return ""
			}
			return string(b)
		}
	}
}

func (h *Handler) secure(r *http.Request) bool { return r.TLS != nil || h.opt.SecureCookies }

// setCookie sets (or, with no value, deletes) a cookie; a session's lasts
// until the session expires, counted on the service's clock.
func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.secure(r)}
	if value == "" {
		c.MaxAge = -1
	} else if !expires.IsZero() {
		c.MaxAge = max(1, int(expires.Sub(h.svc.Now()).Seconds()))
	}
	http.SetCookie(w, c)
}

var statusOf = map[app.Code]int{
	app.CodeInvalid: http.StatusBadRequest, app.CodeNotFound: http.StatusNotFound, app.CodeUnauthenticated: http.StatusUnauthorized,
	app.CodeForbidden: http.StatusForbidden, app.CodeConflict: http.StatusConflict, app.CodePrecondition: http.StatusUnprocessableEntity,
	app.CodeTooLarge: http.StatusRequestEntityTooLarge, app.CodeRateLimited: http.StatusTooManyRequests, app.CodeUnavailable: http.StatusServiceUnavailable,
	app.CodeInternal: http.StatusInternalServerError,
}

// fail answers an error: JSON to scripts, a page to people.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, c *reqCtx, err error) {
	code := app.CodeOf(err)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		code, err = app.CodeTooLarge, app.Errorf(app.CodeTooLarge, "the file is larger than %d MiB", mbe.Limit>>20)
	}
	status := statusOf[code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	msg := err.Error()
	if code == app.CodeInternal {
		h.log.Error("web: internal error", "path", r.URL.Path, "err", err.Error())
		msg = "internal error (logged on the server)"
	}
	if wantsJSON(r) {
		writeJSON(w, status, map[string]any{"error": map[string]string{"code": string(code), "message": msg}})
		return
	}
	h.render(w, r, status, "error", c, "Something went wrong", errorView{Status: status, Code: string(code), Message: msg})
}

// formRefusal says whether err refuses what a person typed in a form (a
// missing reason, a bad value, a name taken), and the status to answer:
// the form's page is then shown again with the message beside the form
// and the fields as typed, instead of the error page. Scripts (wantsJSON)
// get the JSON error as before; faults, refused roles and missing things
// go to the error page.
func formRefusal(r *http.Request, err error) (int, bool) {
	if wantsJSON(r) {
		return 0, false
	}
	switch code := app.CodeOf(err); code {
	case app.CodeInvalid, app.CodePrecondition, app.CodeConflict:
		return statusOf[code], true
	}
	return 0, false
}

// formError is a refused form's message, shown beside the form named.
type formError struct {
	Form    string
	Message string
}

// For says whether the message is for the form named.
func (e formError) For(form string) bool { return e.Message != "" && e.Form == form }

type errorView struct {
	Status  int
	Code    string
	Message string
}

func wantsJSON(r *http.Request) bool {
	return strings.HasSuffix(r.URL.Path, ".json") || strings.Contains(r.Header.Get("Accept"), "application/json") || r.Header.Get("X-CSRF-Token") != ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// view is what every page template gets.
type view struct {
	Title string
	Nav   string
	P     app.Principal
	CSRF  string
	// Can: what the role may do (pages hide the rest).
	Analyst, Underwriter, Admin bool
	Flash                       string
	Data                        any
	Scripts                     []string
	Version                     string
}

// render executes a page template into a buffer, then writes it: a
// template error is a 500, never half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, c *reqCtx, title string, data any, scripts ...string) {
	t, ok := h.pages[name]
	if !ok {
		http.Error(w, "no page "+name, http.StatusInternalServerError)
		return
	}
	v := view{Title: title, Nav: name, Data: data, Scripts: scripts, Version: h.svc.Version(), Flash: h.flash(r, c)}
	if c != nil {
		v.P, v.CSRF = c.P, c.CSRF
		v.Analyst, v.Underwriter, v.Admin = c.P.Role >= app.RoleAnalyst, c.P.Role >= app.RoleUnderwriter, c.P.Role >= app.RoleAdmin
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		h.log.Error("web: template", "page", name, "err", err.Error())
		http.Error(w, "internal error (logged on the server)", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// flashPurpose names the key of the status messages' MAC.
const flashPurpose = "web flash"

// FlashTTL is how long after it was issued a status message is shown.
const FlashTTL = 10 * time.Minute

// flashBinding names whom a page is for: the session (its token, which
// the store checked) on a signed-in page, the tenant of a signed-out one
// (the sign-in page's ?tenant=, local by default).
func flashBinding(r *http.Request, c *reqCtx) string {
	if c != nil {
		return "session " + c.session
	}
	t := r.URL.Query().Get("tenant")
	if t == "" {
		t = app.LocalTenant
	}
	return "tenant " + t
}

// flashTag authenticates a status message for one page (its path), one
// session or signed-out tenant (binding) and the second it was issued;
// each field is length-prefixed, so no two differ and tag alike.
func (h *Handler) flashTag(path, binding string, issued int64, msg string) string {
	text := fmt.Sprintf("%d:%s%d:%s%d:%d%d:%s", len(path), path, len(binding), binding, len(strconv.FormatInt(issued, 10)), issued, len(msg), msg)
	return base64.RawURLEncoding.EncodeToString(h.svc.MAC(flashPurpose, text)[:16])
}

// flash is the status message of a redirect (h.redirect): the "flash"
// parameter when "fs" authenticates it as the server's, issued (at "ft",
// Unix seconds) for this page's path, for this session (signed out: this
// tenant), at most FlashTTL ago. Anything else is not shown: text a link
// puts in "flash", and a message the server issued replayed on another
// page, to another session or tenant, or later (a link sent to someone).
func (h *Handler) flash(r *http.Request, c *reqCtx) string {
	q := r.URL.Query()
	msg, tag := q.Get("flash"), q.Get("fs")
	if msg == "" || tag == "" {
		return ""
	}
	issued, err := strconv.ParseInt(q.Get("ft"), 10, 64)
	if err != nil {
		return ""
	}
	now := h.svc.Now()
	if t := time.Unix(issued, 0); t.After(now.Add(time.Minute)) || now.Sub(t) > FlashTTL {
		return "" // from the future (a minute's clock skew between servers allowed), or too old
	}
	if !hmac.Equal([]byte(tag), []byte(h.flashTag(r.URL.Path, flashBinding(r, c), issued, msg))) {
		return ""
	}
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}

// redirect sends the browser on after a form, to a page of the session c
// (a signed-in request's), with a message that page shows (h.flash).
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, c *reqCtx, to, flash string) {
	h.redirectBound(w, r, flashBinding(r, c), to, flash)
}

// redirectSignedOut sends the browser to the sign-in page of tenant,
// with a message that page shows (h.flash): after signing out, when the
// session is gone.
func (h *Handler) redirectSignedOut(w http.ResponseWriter, r *http.Request, tenant, flash string) {
	h.redirectBound(w, r, "tenant "+tenant, "/login?tenant="+url.QueryEscape(tenant), flash)
}

func (h *Handler) redirectBound(w http.ResponseWriter, r *http.Request, binding, to, flash string) {
	if flash != "" {
		path, frag, hasFrag := strings.Cut(to, "#")
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		if strings.HasSuffix(path, "?") {
			sep = ""
		}
		page := path
		if u, err := url.Parse(path); err == nil {
			page = u.Path
		}
		issued := h.svc.Now().Unix()
		to = path + sep + "flash=" + url.QueryEscape(flash) + "&ft=" + strconv.FormatInt(issued, 10) + "&fs=" + h.flashTag(page, binding, issued, flash)
		if hasFrag {
			to += "#" + frag
		}
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// localPath keeps a "next" URL on this site: a path from the root and
// nothing a browser could read as another site. Browsers drop tabs and
// newlines from a URL and read a backslash as a slash, so "/\t/evil" or
// "/\\evil" would become "//evil" (another host): any control character,
// white space or backslash is refused, and what is left must parse with no
// scheme, no host and a path starting with exactly one '/'. Anything else
// is "/".
func localPath(next string) string {
	const home = "/"
	if next == "" || len(next) > maxNext || next[0] != '/' || (len(next) > 1 && next[1] == '/') || !utf8.ValidString(next) {
		return home
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f || r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' {
			return home
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return home
	}
	return next
}

// maxNext bounds a "next" URL kept across the sign-in.
const maxNext = 2048

func randomToken() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// static serves the embedded assets, cached for an hour.
func (h *Handler) static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// ctxTimeout bounds a page's work.
func ctxTimeout(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d)
}
