package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"
)

// A secret made on the Admin page (an API key's, a webhook's signing
// secret) is shown once, after a redirect (POST-redirect-GET), so reloading
// the page makes nothing again. Between the form's answer and the page it
// travels in a cookie, never in a URL: sealed (AES-256-GCM) with a key
// derived from the installation's key and the session's token, so only
// this session, on any server of the installation, can read it; for the
// Admin page's path only, HttpOnly, SameSite=Strict, for ten minutes; and
// deleted by the page that shows it. Nothing logs cookies.

const (
	onceCookie  = "tw_once"
	oncePath    = "/admin"
	oncePurpose = "web one-time secret"
)

// onceSecret is a secret to show once.
type onceSecret struct {
	Kind     string `json:"k"` // "key" or "webhook"
	ID       string `json:"i"`
	SecretID string `json:"s,omitempty"`
	Secret   string `json:"x"`
	Issued   int64  `json:"t"` // Unix seconds
}

// onceAEAD is the cipher of a session's one-time secrets.
func (h *Handler) onceAEAD(session string) (cipher.AEAD, error) {
	b, err := aes.NewCipher(h.svc.MAC(oncePurpose, session)) // 32 bytes: AES-256
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func (h *Handler) onceCookieFor(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: onceCookie, Value: value, Path: oncePath, MaxAge: maxAge, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: h.secure(r)}
}

// keepOnce sets the cookie that carries s to the session's next Admin page.
func (h *Handler) keepOnce(w http.ResponseWriter, r *http.Request, c *reqCtx, s onceSecret) error {
	g, err := h.onceAEAD(c.session)
	if err != nil {
		return err
	}
	s.Issued = h.svc.Now().Unix()
	plain, err := json.Marshal(s)
	if err != nil {
		return err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	sealed := g.Seal(nonce, nonce, plain, []byte(oncePath))
	http.SetCookie(w, h.onceCookieFor(r, base64.RawURLEncoding.EncodeToString(sealed), int(FlashTTL/time.Second)))
	return nil
}

// takeOnce reads the session's one-time secret and deletes the cookie,
// whatever it holds: false when there is none, it is another session's or
// changed, or older than FlashTTL.
func (h *Handler) takeOnce(w http.ResponseWriter, r *http.Request, c *reqCtx) (onceSecret, bool) {
	var s onceSecret
	ck, err := r.Cookie(onceCookie)
	if err != nil {
		return s, false
	}
	http.SetCookie(w, h.onceCookieFor(r, "", -1))
	raw, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return s, false
	}
	g, err := h.onceAEAD(c.session)
	if err != nil || len(raw) < g.NonceSize() {
		return s, false
	}
	plain, err := g.Open(nil, raw[:g.NonceSize()], raw[g.NonceSize():], []byte(oncePath))
	if err != nil || json.Unmarshal(plain, &s) != nil {
		return onceSecret{}, false
	}
	now := h.svc.Now()
	if t := time.Unix(s.Issued, 0); now.Sub(t) > FlashTTL || t.After(now.Add(time.Minute)) {
		return onceSecret{}, false
	}
	return s, true
}
