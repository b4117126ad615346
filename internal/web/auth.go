package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
)

type loginView struct {
	Tenant, User, Next string
	Error              string
	Token              string
}

// The sign-in form carries a token that must match a cookie set with it
// (double submit), so another site cannot sign a browser in to an
// account of its choosing.
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if c, err := h.session(r, false); err == nil {
		h.redirect(w, r, c, localPath(r.URL.Query().Get("next")), "")
		return
	}
	tok := randomToken()
	h.setCookie(w, r, loginCookie, tok, time.Time{})
	tenant := r.URL.Query().Get("tenant")
	if tenant == "" {
		tenant = app.LocalTenant
	}
	h.render(w, r, http.StatusOK, "login", nil, "Sign in", loginView{Tenant: tenant, Next: localPath(r.URL.Query().Get("next")), Token: tok})
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	tenant, user, pw := strings.TrimSpace(r.PostFormValue("tenant")), strings.TrimSpace(r.PostFormValue("user")), r.PostFormValue("password")
	next := localPath(r.PostFormValue("next"))
	lv := loginView{Tenant: tenant, User: user, Next: next}
	ck, err := r.Cookie(loginCookie)
	if err != nil || ck.Value == "" || ck.Value != r.PostFormValue("login_token") {
		lv.Token = randomToken()
		h.setCookie(w, r, loginCookie, lv.Token, time.Time{})
		lv.Error = "The sign-in form expired or cookies are blocked: please try again."
		h.render(w, r, http.StatusForbidden, "login", nil, "Sign in", lv)
		return
	}
	addr := h.opt.ClientAddr(r)
	wait, ok := h.gate.admit(addr)
	if !ok {
		h.log.Warn("web: sign-in refused: too many failures from the address", "client", addr)
		lv.Token = randomToken()
		h.setCookie(w, r, loginCookie, lv.Token, time.Time{})
		lv.Error = "Too many failed sign-ins from your address: try again in " + strconv.Itoa(wait) + " s."
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		h.render(w, r, http.StatusTooManyRequests, "login", nil, "Sign in", lv)
		return
	}
	failed := true
	defer func() { h.gate.done(addr, failed) }()
	select {
	case h.logins <- struct{}{}:
	case <-time.After(10 * time.Second):
		failed = false // no password checked
		lv.Token = randomToken()
		h.setCookie(w, r, loginCookie, lv.Token, time.Time{})
		lv.Error = "Too many sign-ins at once: please try again in a moment."
		w.Header().Set("Retry-After", "5")
		h.render(w, r, http.StatusServiceUnavailable, "login", nil, "Sign in", lv)
		return
	case <-r.Context().Done():
		failed = false
		return
	}
	ns, err := h.svc.Login(r.Context(), tenant, user, pw, addr)
	<-h.logins
	failed = err != nil && app.CodeOf(err) == app.CodeUnauthenticated
	if err != nil {
		lv.Token = randomToken()
		h.setCookie(w, r, loginCookie, lv.Token, time.Time{})
		status := http.StatusUnauthorized
		lv.Error = "Wrong tenant, user name or password — or the account is locked. After " +
			strconv.Itoa(app.LockAfter) + " failed attempts in a row an account is locked for " + app.LockFor.String() +
			": wait, or ask your administrator to unlock it."
		if app.CodeOf(err) != app.CodeUnauthenticated {
			status = http.StatusInternalServerError
			lv.Error = "Signing in failed on the server; please try again."
			h.log.Error("web: login", "err", err.Error())
		}
		h.render(w, r, status, "login", nil, "Sign in", lv)
		return
	}
	h.setCookie(w, r, loginCookie, "", time.Time{})
	h.setCookie(w, r, sessionCookie, ns.Token+"."+ns.CSRF, ns.Expires)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		tok, _, _ := strings.Cut(ck.Value, ".")
		if err := h.svc.Logout(r.Context(), tok); err != nil {
			return err
		}
	}
	h.setCookie(w, r, sessionCookie, "", time.Time{})
	h.redirectSignedOut(w, r, c.P.Tenant, "You are signed out.")
	return nil
}

// accountView is the account page's: why a password change was refused.
type accountView struct {
	Err formError
}

func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	h.render(w, r, http.StatusOK, "account", c, "Your account", accountView{})
	return nil
}

func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	var err error = app.Errorf(app.CodeInvalid, "the new password and its repetition differ")
	if r.PostFormValue("new") == r.PostFormValue("again") {
		err = h.svc.ChangePassword(r.Context(), c.P, r.PostFormValue("old"), r.PostFormValue("new"))
	}
	if err != nil {
		// A wrong current password is refused as forbidden, and is the
		// person's mistake as much as a short new one: the page again,
		// the message beside the form (no password is filled in again).
		status, ok := formRefusal(r, err)
		if code := app.CodeOf(err); !ok && code == app.CodeForbidden && !wantsJSON(r) {
			status, ok = statusOf[code], true
		}
		if !ok {
			return err
		}
		h.render(w, r, status, "account", c, "Your account", accountView{Err: formError{Form: "password", Message: err.Error()}})
		return nil
	}
	// Every session ended, this one too.
	h.setCookie(w, r, sessionCookie, "", time.Time{})
	h.redirectSignedOut(w, r, c.P.Tenant, "Password changed: sign in again.")
	return nil
}
