package app

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/store"
)

// Webhook delivery: every alert version is POSTed to each of the
// tenant's matching webhooks, at least once. The deliveries are queued in
// the store's outbox in the same transaction as the alert, so a restart
// loses none; a worker claims due ones (a lease keeps two workers off
// one), POSTs them signed, and on failure retries with exponential
// backoff for at least 24 hours, then marks them dead (listed in the
// API). Receivers de-duplicate with the Idempotency-Key, the same for
// every attempt of one alert version.

// SignatureHeader carries the signatures: "t=<unix seconds>,v1=<hex>
// [,v1=<hex>]", one v1 per signing key in force (two while rotating).
// Each is HMAC-SHA256 over "<t>.<body>" (docs/webhooks.md).
const SignatureHeader = "Tidewatch-Signature"

// Delivery schedule.
const (
	firstRetry    = 10 * time.Second
	maxRetryDelay = time.Hour
	// RetryWindow is how long a delivery is retried before it is dead.
	RetryWindow   = 25 * time.Hour
	deliveryLease = 2 * time.Minute
)

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryDead      = "dead"
)

// WebhookRequest adds a webhook.
type WebhookRequest struct {
	URL         string   `json:"url"`
	Kinds       []string `json:"kinds,omitempty"`
	MinSeverity string   `json:"min_severity,omitempty"`
	// Portfolios limits the webhook to alerts about these portfolios'
	// vessels (empty: every portfolio).
	Portfolios []string `json:"portfolios,omitempty"`
}

// NewWebhook is a webhook just made or rotated, with its signing secret
// shown once.
type NewWebhook struct {
	store.Webhook
	Secret   string `json:"secret"`
	SecretID string `json:"secret_id"`
}

// sealer encrypts secrets with the installation's key (AES-256-GCM).
func (s *Service) sealer() (cipher.AEAD, error) {
	if len(s.sealKey) != 32 {
		return nil, Errorf(CodePrecondition, "no sealing key configured: webhooks need one to keep their secrets (tidewatch serve makes one beside the store)")
	}
	b, err := aes.NewCipher(s.sealKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// MAC authenticates text the server issues and later reads back from a
// client (the web interface's status messages, which travel in a
// redirect's URL): HMAC-SHA256 with a key derived from the
// installation's seal key for the purpose, so every server of an
// installation accepts another's, or, without a seal key, a key of this
// process.
func (s *Service) MAC(purpose, text string) []byte {
	key := s.sealKey
	if len(key) == 0 {
		key = s.processKey()
	}
	d := hmac.New(sha256.New, key)
	d.Write([]byte("tidewatch mac key: " + purpose))
	m := hmac.New(sha256.New, d.Sum(nil))
	m.Write([]byte(text))
	return m.Sum(nil)
}

func (s *Service) seal(secret []byte) ([]byte, error) {
	g, err := s.sealer()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return g.Seal(nonce, nonce, secret, nil), nil
}

func (s *Service) unseal(sealed []byte) ([]byte, error) {
	g, err := s.sealer()
	if err != nil {
		return nil, err
	}
	if len(sealed) < g.NonceSize() {
		return nil, errors.New("sealed secret too short")
	}
	return g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], nil)
}

func (s *Service) newSecret() (store.SealedSecret, string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return store.SealedSecret{}, "", err
	}
	secret := "whsec_" + base64.RawURLEncoding.EncodeToString(b[:])
	sealed, err := s.seal([]byte(secret))
	if err != nil {
		return store.SealedSecret{}, "", err
	}
	var id [4]byte
	rand.Read(id[:])
	return store.SealedSecret{ID: hex.EncodeToString(id[:]), Sealed: sealed, Created: s.now().UTC().Truncate(time.Second)}, secret, nil
}

// checkURL allows http(s) URLs only and, unless the service allows
// private targets, refuses a host that is an internal address (loopback,
// private, link-local, unspecified, multicast: docs/webhooks.md). Names
// are checked again when a delivery dials, against the addresses they
// resolve to then (a name that resolves to an internal address, or is
// re-pointed to one later, fails there). Error messages never repeat the
// URL's credentials.
func (s *Service) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(raw) > 2000 {
		return Errorf(CodeInvalid, "webhook URL %q: give an http or https URL", redactURL(raw))
	}
	// url.Parse takes any digits as a port: 0 and 99999 would fail only
	// at each delivery, as a dial error.
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return Errorf(CodeInvalid, "webhook URL %q: the port must be from 1 to 65535 (or left out: 443 for https, 80 for http)", redactURL(raw))
		}
	}
	if s.allowPrivate {
		return nil
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return Errorf(CodeInvalid, "webhook URL %q: a loopback host is refused (the server does not call into its own network)", redactURL(raw))
	}
	if a, err := netip.ParseAddr(host); err == nil && internalAddr(a) {
		return Errorf(CodeInvalid, "webhook URL %q: %s is an internal address (loopback, private, link-local, reserved, or this server's own): refused", redactURL(raw), a.WithZone(""))
	}
	return nil
}

// redactURL is a URL without its credentials (user and password become
// "***"), for answers and logs; text that is no URL is shown cut.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.LastIndexByte(raw, '@'); i >= 0 {
			return "***@" + raw[i+1:]
		}
		if len(raw) > 200 {
			return raw[:200] + "..."
		}
		return raw
	}
	if u.User != nil {
		u.User = nil
		if scheme, rest, ok := strings.Cut(u.String(), "://"); ok {
			return scheme + "://***@" + rest
		}
	}
	return u.String()
}

// urlInText matches a URL inside free text (an error naming the URL it
// fetched).
var urlInText = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^\s"'<>]+`)

// redactURLsIn is text with what may be secret in each URL in it, the
// user and password before the host and the query (a token or key),
// replaced by "***", for logs: "https://***@host/x.xml?***".
func redactURLsIn(text string) string {
	return urlInText.ReplaceAllStringFunc(text, func(m string) string {
		rest, _, _ := strings.Cut(m, "#") // a fragment is left out too
		scheme, after, _ := strings.Cut(rest, "://")
		hostPath, query, hasQuery := strings.Cut(after, "?")
		host, path, hasPath := strings.Cut(hostPath, "/")
		if i := strings.LastIndexByte(host, '@'); i >= 0 {
			host = "***@" + host[i+1:]
		}
		out := scheme + "://" + host
		if hasPath {
			out += "/" + path
		}
		if hasQuery && query != "" {
			out += "?***"
		}
		return out
	})
}

// internalRanges are address blocks a webhook may not reach besides those
// netip classifies (loopback, private, link-local, multicast,
// unspecified): "this network", shared address space (CGNAT), IETF
// protocol assignments, documentation (TEST-NET-1 to 3 and 2001:db8::/32:
// never a receiver on the internet, yet used inside some networks, as the
// very address of a host's own interface on some virtual machines), the
// deprecated 6to4 relay anycast, benchmarking, reserved and broadcast.
var internalRanges = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("192.88.99.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("100::/64"), // discard-only
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("fec0::/10"), // site-local, deprecated
}

// hostAddrs lists the addresses of this machine's own interfaces: a
// webhook may not reach the server's host by one of them either (a public
// address on an interface reaches every service listening on all
// addresses). Read at most every 30 s; a variable so tests can set it.
var hostAddrs = func() func() []netip.Addr {
	var mu sync.Mutex
	var at time.Time
	var addrs []netip.Addr
	return func() []netip.Addr {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(at) < 30*time.Second {
			return addrs
		}
		at, addrs = time.Now(), nil
		ifs, err := net.InterfaceAddrs()
		if err != nil {
			return nil
		}
		for _, ia := range ifs {
			if p, err := netip.ParsePrefix(ia.String()); err == nil {
				addrs = append(addrs, p.Addr().WithZone("").Unmap())
			}
		}
		return addrs
	}
}()

// internalAddr says an address is one a webhook may not reach. IPv4
// embedded in IPv6 (mapped, NAT64 64:ff9b::/96, 6to4 2002::/16) is
// judged by the IPv4 address.
func internalAddr(a netip.Addr) bool {
	if !a.IsValid() {
		return true
	}
	a = a.WithZone("").Unmap()
	if a.Is6() {
		b := a.As16()
		switch {
		case netip.MustParsePrefix("64:ff9b::/96").Contains(a):
			return internalAddr(netip.AddrFrom4([4]byte(b[12:16])))
		case netip.MustParsePrefix("2002::/16").Contains(a):
			return internalAddr(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() || a.IsLinkLocalUnicast() || a.IsMulticast() ||
		a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
		return true
	}
	for _, p := range internalRanges {
		if p.Contains(a) {
			return true
		}
	}
	return slices.Contains(hostAddrs(), a)
}

// errInternalTarget is a delivery refused at dial time.
var errInternalTarget = errors.New("the webhook's host resolves to an internal address (loopback, private, link-local, reserved, or this server's own): refused")

// defaultDeliveryTimeout bounds one delivery attempt.
const defaultDeliveryTimeout = 10 * time.Second

// newWebhookClient is the delivery client: no proxy from the environment
// (the dial-time check must see the receiver's own address), redirects
// not followed (a 3xx is a failed attempt: a receiver cannot send the
// server elsewhere), and, unless private targets are allowed, every
// connection refused whose resolved address is internal: checked on the
// address actually dialled, so a name re-pointed after the check (DNS
// rebinding) fails too.
func (s *Service) newWebhookClient(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !s.allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return errInternalTarget
			}
			a, err := netip.ParseAddr(host)
			if err != nil || internalAddr(a) {
				return errInternalTarget
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: noRedirects}
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// deliveryError says why an attempt failed without the URL's
// credentials.
func deliveryError(rawURL string, err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	if errors.Is(err, errInternalTarget) {
		msg = errInternalTarget.Error()
	}
	// A name that did not resolve: said without the resolver the server
	// asked (its address is the server's network's, not the tenant's).
	var de *net.DNSError
	if errors.As(err, &de) {
		msg = "lookup " + de.Name + ": " + de.Err
	}
	if u, perr := url.Parse(rawURL); perr == nil && u.User != nil {
		// An error from below may still quote the URL.
		msg = strings.ReplaceAll(msg, u.User.String(), "***")
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "***")
		}
	}
	return "POST " + redactURL(rawURL) + ": " + msg
}

// redacted is a webhook as answered and logged: no secrets, no URL
// credentials ("***@" where it has some, sealed or not).
func redacted(w store.Webhook) store.Webhook {
	w.Secrets = nil
	w.URL = redactURL(w.URL)
	if len(w.SealedUserinfo) > 0 {
		if scheme, rest, ok := strings.Cut(w.URL, "://"); ok {
			w.URL = scheme + "://***@" + rest
		}
	}
	w.SealedUserinfo = nil
	return w
}

// sealUserinfo moves the credentials of a webhook's URL (user and
// password) out of the URL into SealedUserinfo, sealed like the signing
// secrets, so that no store holds them in clear; it reports whether the
// URL had any. deliveryURL puts them back for a delivery.
func (s *Service) sealUserinfo(w *store.Webhook) (bool, error) {
	u, err := url.Parse(w.URL)
	if err != nil || u.User == nil {
		return false, nil
	}
	sealed, err := s.seal([]byte(u.User.String()))
	if err != nil {
		return false, err
	}
	u.User = nil
	w.URL, w.SealedUserinfo = u.String(), sealed
	return true, nil
}

// deliveryURL is the URL a delivery POSTs to: the stored URL with its
// sealed credentials unsealed into it (a URL stored before credentials
// were sealed holds them itself).
func (s *Service) deliveryURL(w store.Webhook) (string, error) {
	if len(w.SealedUserinfo) == 0 {
		return w.URL, nil
	}
	ui, err := s.unseal(w.SealedUserinfo)
	if err != nil {
		return "", err
	}
	scheme, rest, ok := strings.Cut(w.URL, "://")
	if !ok {
		return "", errors.New("webhook URL without a scheme")
	}
	return scheme + "://" + string(ui) + "@" + rest, nil
}

// SealWebhookCredentials seals the URL credentials of every webhook
// stored before they were sealed (RunDeliveries does it when it starts;
// rotating or retiring a webhook's secrets does it too) and returns how
// many it sealed.
func (s *Service) SealWebhookCredentials(ctx context.Context) (int, error) {
	ws, err := s.st.Webhooks(ctx, "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, w := range ws {
		if len(w.SealedUserinfo) > 0 {
			continue
		}
		// Sealed on the stored row as it is now, in one transaction: a
		// rotation or deletion another node makes meanwhile is kept
		// (a read-then-put wrote back the webhook as read).
		sealed := false
		err := s.st.UpdateWebhook(ctx, w.Tenant, w.ID, func(cur *store.Webhook) error {
			if len(cur.SealedUserinfo) > 0 {
				return nil
			}
			var err error
			sealed, err = s.sealUserinfo(cur)
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return n, err
		}
		if sealed {
			n++
		}
	}
	return n, nil
}

// CreateWebhook adds a webhook for the tenant and returns its signing
// secret, shown once (stored sealed).
func (s *Service) CreateWebhook(ctx context.Context, p Principal, req WebhookRequest) (NewWebhook, error) {
	if err := p.need(RoleAdmin, "adding a webhook"); err != nil {
		return NewWebhook{}, err
	}
	if err := s.checkURL(req.URL); err != nil {
		return NewWebhook{}, err
	}
	if req.MinSeverity != "" && severityRank(req.MinSeverity) == 0 {
		return NewWebhook{}, Errorf(CodeInvalid, "min_severity %q: low, medium or high", req.MinSeverity)
	}
	for _, k := range req.Kinds {
		switch k {
		case AlertListHitAdded, AlertListHitRemoved, AlertBandChanged, AlertEvent, AlertSystem:
		default:
			return NewWebhook{}, Errorf(CodeInvalid, "alert kind %q: one of %s", k, strings.Join(AlertKinds, ", "))
		}
	}
	for _, pf := range req.Portfolios {
		if _, err := s.portfolio(ctx, p, pf); err != nil {
			return NewWebhook{}, err
		}
	}
	sec, secret, err := s.newSecret()
	if err != nil {
		return NewWebhook{}, err
	}
	var id [6]byte
	rand.Read(id[:])
	w := store.Webhook{Tenant: p.Tenant, ID: hex.EncodeToString(id[:]), URL: req.URL, Secrets: []store.SealedSecret{sec}, Kinds: req.Kinds,
		MinSeverity: req.MinSeverity, Portfolios: req.Portfolios, Active: true, Created: s.now().UTC().Truncate(time.Second)}
	if _, err := s.sealUserinfo(&w); err != nil {
		return NewWebhook{}, err
	}
	if err := s.st.PutWebhook(ctx, w); err != nil {
		return NewWebhook{}, err
	}
	if _, err := s.record(ctx, p, audit.ActionWebhook, "webhook:"+w.ID, map[string]any{"created": w.ID, "url": redacted(w).URL}); err != nil {
		return NewWebhook{}, err
	}
	return NewWebhook{Webhook: redacted(w), Secret: secret, SecretID: sec.ID}, nil
}

// Webhooks lists the tenant's webhooks (never their secrets).
func (s *Service) Webhooks(ctx context.Context, p Principal) ([]store.Webhook, error) {
	if err := p.need(RoleAdmin, "listing webhooks"); err != nil {
		return nil, err
	}
	ws, err := s.st.Webhooks(ctx, p.Tenant)
	for i := range ws {
		ws[i] = redacted(ws[i])
	}
	if ws == nil {
		ws = []store.Webhook{}
	}
	return ws, err
}

// changeWebhook applies change to the principal's webhook id as stored,
// sealing its URL credentials if they are still in clear, in one
// transaction (store.UpdateWebhook): a change made on another node at
// the same moment is kept, not overwritten. It returns the webhook as
// stored.
func (s *Service) changeWebhook(ctx context.Context, p Principal, id string, change func(*store.Webhook)) (store.Webhook, error) {
	var w store.Webhook
	err := s.st.UpdateWebhook(ctx, p.Tenant, id, func(cur *store.Webhook) error {
		change(cur)
		if len(cur.SealedUserinfo) == 0 {
			if _, err := s.sealUserinfo(cur); err != nil {
				return err
			}
		}
		w = *cur
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return w, Errorf(CodeNotFound, "no webhook %q", id)
	}
	return w, err
}

// RotateWebhookSecret adds a new signing secret; the newest two sign
// every delivery until the older is retired (retire: true drops every
// secret but the new one).
func (s *Service) RotateWebhookSecret(ctx context.Context, p Principal, id string, retire bool) (NewWebhook, error) {
	if err := p.need(RoleAdmin, "rotating a webhook secret"); err != nil {
		return NewWebhook{}, err
	}
	sec, secret, err := s.newSecret()
	if err != nil {
		return NewWebhook{}, err
	}
	w, err := s.changeWebhook(ctx, p, id, func(cur *store.Webhook) {
		cur.Secrets = append([]store.SealedSecret{sec}, cur.Secrets...)
		if retire || len(cur.Secrets) > 2 {
			keep := 2
			if retire {
				keep = 1
			}
			cur.Secrets = cur.Secrets[:keep]
		}
	})
	if err != nil {
		return NewWebhook{}, err
	}
	if _, err := s.record(ctx, p, audit.ActionWebhook, "webhook:"+w.ID, map[string]any{"rotated": w.ID, "secret_id": sec.ID, "retired_old": retire}); err != nil {
		return NewWebhook{}, err
	}
	return NewWebhook{Webhook: redacted(w), Secret: secret, SecretID: sec.ID}, nil
}

// RetireOldSecrets keeps only a webhook's newest secret.
func (s *Service) RetireOldSecrets(ctx context.Context, p Principal, id string) (store.Webhook, error) {
	if err := p.need(RoleAdmin, "retiring webhook secrets"); err != nil {
		return store.Webhook{}, err
	}
	w, err := s.changeWebhook(ctx, p, id, func(cur *store.Webhook) {
		cur.Secrets = cur.Secrets[:min(1, len(cur.Secrets))]
	})
	if err != nil {
		return store.Webhook{}, err
	}
	_, err = s.record(ctx, p, audit.ActionWebhook, "webhook:"+w.ID, map[string]any{"retired_old_secrets": w.ID})
	return redacted(w), err
}

// DeleteWebhook removes a webhook; its pending deliveries become dead.
func (s *Service) DeleteWebhook(ctx context.Context, p Principal, id string) error {
	if err := p.need(RoleAdmin, "removing a webhook"); err != nil {
		return err
	}
	if err := s.st.DeleteWebhook(ctx, p.Tenant, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Errorf(CodeNotFound, "no webhook %q", id)
		}
		return err
	}
	_, err := s.record(ctx, p, audit.ActionWebhook, "webhook:"+id, map[string]any{"deleted": id})
	return err
}

// Deliveries lists the tenant's deliveries (state "dead": the dead
// letters).
func (s *Service) Deliveries(ctx context.Context, p Principal, states []string, limit int) ([]store.Delivery, error) {
	if err := p.need(RoleAdmin, "reading webhook deliveries"); err != nil {
		return nil, err
	}
	ds, err := s.st.Deliveries(ctx, p.Tenant, store.DeliveryFilter{States: states, Limit: limit})
	if ds == nil {
		ds = []store.Delivery{}
	}
	return ds, err
}

// RedeliverDead queues a dead delivery again.
func (s *Service) RedeliverDead(ctx context.Context, p Principal, id int64) (store.Delivery, error) {
	if err := p.need(RoleAdmin, "redelivering"); err != nil {
		return store.Delivery{}, err
	}
	ds, err := s.st.Deliveries(ctx, p.Tenant, store.DeliveryFilter{States: []string{DeliveryDead}})
	if err != nil {
		return store.Delivery{}, err
	}
	for _, d := range ds {
		if d.ID == id {
			d.State, d.NextAttempt, d.Attempts, d.Created = DeliveryPending, s.now().UTC(), 0, s.now().UTC()
			if err := s.st.UpdateDelivery(ctx, d); err != nil {
				return d, err
			}
			s.wakeDeliveries()
			return d, nil
		}
	}
	return store.Delivery{}, Errorf(CodeNotFound, "no dead delivery %d", id)
}

func severityRank(s string) int {
	switch s {
	case "low":
		return 1
	case "medium":
		return 2
	case "high":
		return 3
	}
	return 0
}

// AlertPayload is the body of a webhook delivery.
type AlertPayload struct {
	// Type is "alert".
	Type string `json:"type"`
	// ID names this alert version: the idempotency key.
	ID    string      `json:"id"`
	Alert store.Alert `json:"alert"`
	Sent  time.Time   `json:"created"`
}

// deliveriesTo are the deliveries of an alert version to those of the
// tenant's webhooks that match it.
func (s *Service) deliveriesTo(ws []store.Webhook, a store.Alert) []store.Delivery {
	var out []store.Delivery
	now := s.now().UTC()
	for _, w := range ws {
		if !w.Active || (w.MinSeverity != "" && severityRank(a.Severity) < severityRank(w.MinSeverity)) {
			continue
		}
		if len(w.Kinds) > 0 && !slices.Contains(w.Kinds, a.Kind) {
			continue
		}
		if len(w.Portfolios) > 0 && a.Kind != AlertSystem && !slices.Contains(w.Portfolios, a.Portfolio) {
			continue
		}
		// The alert's id is assigned when it is stored: the payload is
		// built at delivery from the stored alert version.
		out = append(out, store.Delivery{Tenant: a.Tenant, Webhook: w.ID, State: DeliveryPending, NextAttempt: now, Created: now})
	}
	return out
}

// alertPayload is the body of every delivery of an alert version.
func alertPayload(a *store.Alert) []byte {
	b, _ := json.Marshal(AlertPayload{Type: "alert", ID: fmt.Sprintf("%s-%d-%d", a.Tenant, a.ID, a.Version), Alert: *a, Sent: a.Updated})
	return b
}

// Sign computes the signature header value for a body with secrets.
func Sign(t time.Time, body []byte, secrets ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	parts := []string{"t=" + ts}
	for _, sec := range secrets {
		m := hmac.New(sha256.New, []byte(sec))
		m.Write([]byte(ts))
		m.Write([]byte("."))
		m.Write(body)
		parts = append(parts, "v1="+hex.EncodeToString(m.Sum(nil)))
	}
	return strings.Join(parts, ",")
}

// VerifySignature checks a signature header against a body and a secret,
// refusing timestamps more than tolerance away from now (replays).
func VerifySignature(header string, body []byte, secret string, now time.Time, tolerance time.Duration) error {
	var ts int64 = -1
	var sigs []string
	for _, p := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch k {
		case "t":
			ts, _ = strconv.ParseInt(v, 10, 64)
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if ts < 0 || len(sigs) == 0 {
		return errors.New("malformed signature header")
	}
	if d := now.Sub(time.Unix(ts, 0)); math.Abs(float64(d)) > float64(tolerance) {
		return errors.New("signature timestamp outside the tolerance")
	}
	want := Sign(time.Unix(ts, 0), body, secret)
	_, w, _ := strings.Cut(want, ",v1=")
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(w)) {
			return nil
		}
	}
	return errors.New("no signature matches")
}

// DeliveryOptions configure the delivery workers.
type DeliveryOptions struct {
	// Client POSTs the deliveries; default: 10 s timeout, refusing
	// internal targets unless the service allows them, no redirects.
	Client *http.Client
	// Poll is how often due deliveries are looked for (besides wake-ups
	// when an alert is raised); default 1 s.
	Poll time.Duration
	// Workers bounds the POSTs in flight at once (default 8); each
	// endpoint has at most one.
	Workers int
}

// Delivery fairness: each endpoint (webhook) gets one POST in flight at a
// time, in the order claimed, so a slow or hanging receiver holds one
// worker, never all; an endpoint that failed is left alone until its
// failed delivery's next attempt, at most endpointRest, its other
// claimed deliveries put back (no attempt counted) rather than each
// timing out in turn; an endpoint with endpointQueue deliveries waiting
// in memory gets the others put back for queueFullRest, so the claims go
// on to other endpoints' deliveries.
const (
	defaultWorkers = 8
	claimBatch     = 64
	endpointQueue  = claimBatch
	endpointRest   = 30 * time.Second
	queueFullRest  = 5 * time.Second
	// leaseMargin: a delivery waiting in memory this close to the end of
	// its lease is left for the next claim rather than sent late (another
	// node may have it by then).
	leaseMargin = 20 * time.Second
)

// endpointState is what this process's delivery workers know of each
// endpoint (tenant and webhook id).
type endpointState struct {
	mu sync.Mutex
	// busy holds the deliveries waiting for an endpoint whose worker
	// runs; held, the ids claimed and not yet done (a delivery claimed
	// again after its lease is not sent twice at once).
	busy map[string][]claimedDelivery
	held map[int64]bool
	// down: endpoints that failed, left alone until then.
	down map[string]time.Time
}

type claimedDelivery struct {
	store.Delivery
	claimed time.Time
}

func endpointKey(d store.Delivery) string { return d.Tenant + "\x00" + d.Webhook }

// deliveryClient is the client given (nil: the service's own, which
// refuses internal targets), never following redirects.
func deliveryClient(s *Service, c *http.Client) *http.Client {
	if c == nil {
		return s.hookClient()
	}
	if c.CheckRedirect == nil {
		cc := *c
		cc.CheckRedirect = noRedirects
		return &cc
	}
	return c
}

// wakeDeliveries tells the delivery workers something is due.
func (s *Service) wakeDeliveries() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// RunDeliveries delivers webhooks until ctx ends: claims due deliveries
// and hands them to the endpoints' workers without waiting for them.
func (s *Service) RunDeliveries(ctx context.Context, o DeliveryOptions) {
	if n, err := s.SealWebhookCredentials(ctx); err != nil {
		s.log.Warn("seal webhook URL credentials", "err", err.Error())
	} else if n > 0 {
		s.log.Info("sealed webhook URL credentials stored in clear", "webhooks", n)
	}
	client := deliveryClient(s, o.Client)
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Workers <= 0 {
		o.Workers = defaultWorkers
	}
	sem := make(chan struct{}, o.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(o.Poll)
	defer t.Stop()
	for {
		// Claim while whole batches come back (a backlog), each handed
		// out at once.
		for ctx.Err() == nil && s.dispatchDue(ctx, client, sem, &wg) == claimBatch {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// DeliverDue attempts the deliveries due now, with the workers' fairness,
// waits for them and returns how many it claimed.
func (s *Service) DeliverDue(ctx context.Context, client *http.Client) int {
	var wg sync.WaitGroup
	n := s.dispatchDue(ctx, deliveryClient(s, client), make(chan struct{}, defaultWorkers), &wg)
	wg.Wait()
	return n
}

// dispatchDue claims due deliveries and queues each on its endpoint,
// starting the endpoint's worker when it has none; it returns how many it
// claimed.
func (s *Service) dispatchDue(ctx context.Context, client *http.Client, sem chan struct{}, wg *sync.WaitGroup) int {
	now := s.now().UTC()
	ds, err := s.st.ClaimDeliveries(ctx, now, now.Add(deliveryLease), claimBatch)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("claim deliveries", "err", err.Error())
		}
		return 0
	}
	e := &s.endpoints
	for _, d := range ds {
		k := endpointKey(d)
		e.mu.Lock()
		if e.busy == nil {
			e.busy, e.held, e.down = map[string][]claimedDelivery{}, map[int64]bool{}, map[string]time.Time{}
		}
		if e.held[d.ID] {
			// Still queued here from a claim whose lease ran out: it is
			// sent (or left) by that worker.
			e.mu.Unlock()
			continue
		}
		if until, ok := e.down[k]; ok {
			if now.Before(until) {
				e.mu.Unlock()
				s.putBack(ctx, d, until)
				continue
			}
			delete(e.down, k)
		}
		q, running := e.busy[k]
		if running && len(q) >= endpointQueue {
			e.mu.Unlock()
			s.putBack(ctx, d, now.Add(queueFullRest))
			continue
		}
		e.busy[k] = append(q, claimedDelivery{d, now})
		e.held[d.ID] = true
		e.mu.Unlock()
		if !running {
			wg.Add(1)
			go s.endpointWorker(ctx, client, k, sem, wg)
		}
	}
	return len(ds)
}

// endpointWorker sends an endpoint's queued deliveries one at a time,
// each holding one of the workers' slots, until the queue is empty or the
// endpoint fails.
func (s *Service) endpointWorker(ctx context.Context, client *http.Client, k string, sem chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	e := &s.endpoints
	for {
		e.mu.Lock()
		q := e.busy[k]
		if len(q) == 0 || ctx.Err() != nil {
			// Stopping: what is left stays claimed until its lease ends,
			// then any worker takes it.
			for _, c := range q {
				delete(e.held, c.ID)
			}
			delete(e.busy, k)
			e.mu.Unlock()
			return
		}
		c := q[0]
		e.busy[k] = q[1:]
		e.mu.Unlock()
		var ok bool
		var next time.Time
		if s.now().UTC().Sub(c.claimed) < deliveryLease-leaseMargin {
			select {
			case sem <- struct{}{}:
				ok, next = s.deliver(ctx, client, c.Delivery)
				<-sem
			case <-ctx.Done():
				ok = true
			}
		} else {
			ok = true // too late in its lease: the next claim takes it
		}
		e.mu.Lock()
		delete(e.held, c.ID)
		if ok {
			e.mu.Unlock()
			continue
		}
		// The endpoint failed: leave it alone until the failed delivery's
		// next attempt (at most endpointRest), its queue put back.
		now := s.now().UTC()
		until := now.Add(endpointRest)
		if !next.IsZero() && next.Before(until) {
			until = next
		}
		e.down[k] = until
		rest := e.busy[k]
		delete(e.busy, k)
		for _, r := range rest {
			delete(e.held, r.ID)
		}
		e.mu.Unlock()
		for _, r := range rest {
			s.putBack(ctx, r.Delivery, until)
		}
		return
	}
}

// putBack returns a claimed delivery to the outbox, due at t, without
// counting an attempt.
func (s *Service) putBack(ctx context.Context, d store.Delivery, t time.Time) {
	d.NextAttempt = t
	if err := s.st.UpdateDelivery(ctx, d); err != nil && ctx.Err() == nil {
		s.log.Warn("put back delivery", "err", err.Error())
	}
}

// deliver makes one attempt; ok is false when the endpoint failed
// (next: when the delivery is tried again; zero when it is dead).
func (s *Service) deliver(ctx context.Context, client *http.Client, d store.Delivery) (ok bool, next time.Time) {
	// What happened is stored even when the server is stopping: a POST
	// answered 2xx and then cancelled would be sent again.
	sctx := context.WithoutCancel(ctx)
	fail := func(msg string) (bool, time.Time) {
		d.Attempts++
		d.LastError = msg
		now := s.now().UTC()
		if now.Sub(d.Created) >= RetryWindow {
			d.State = DeliveryDead
			s.log.Warn("webhook delivery dead", "tenant", d.Tenant, "webhook", d.Webhook, "alert", d.AlertID, "attempts", d.Attempts, "err", msg)
		} else {
			delay := firstRetry << min(d.Attempts-1, 20)
			if delay > maxRetryDelay || delay <= 0 {
				delay = maxRetryDelay
			}
			delay += time.Duration(mrand.Int64N(int64(delay/5) + 1)) // jitter
			d.NextAttempt = now.Add(delay)
			next = d.NextAttempt
		}
		if err := s.st.UpdateDelivery(sctx, d); err != nil {
			s.log.Warn("update delivery", "err", err.Error())
		}
		return false, next
	}
	ws, err := s.st.Webhooks(ctx, d.Tenant)
	if err != nil {
		return fail(err.Error())
	}
	var w *store.Webhook
	for i := range ws {
		if ws[i].ID == d.Webhook {
			w = &ws[i]
		}
	}
	if w == nil {
		d.State, d.LastError = DeliveryDead, "webhook deleted"
		s.st.UpdateDelivery(sctx, d)
		return true, time.Time{}
	}
	var a store.Alert
	if len(d.Payload) == 0 {
		if a, err = s.st.Alert(ctx, d.Tenant, d.AlertID); err != nil {
			return fail("alert: " + err.Error())
		}
	}
	// The body is the alert version as it was raised (queued with it):
	// a later version has its own delivery.
	body := d.Payload
	if len(body) == 0 {
		a.Version = d.AlertVersion
		body, _ = json.Marshal(AlertPayload{Type: "alert", ID: d.IdempotencyKey, Alert: a, Sent: d.Created})
	}
	var secrets []string
	for _, sec := range w.Secrets {
		plain, err := s.unseal(sec.Sealed)
		if err != nil {
			return fail("unseal secret: " + err.Error())
		}
		secrets = append(secrets, string(plain))
	}
	target, err := s.deliveryURL(*w)
	if err != nil {
		return fail("unseal URL credentials: " + err.Error())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fail(deliveryError(target, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tidewatch-webhooks")
	req.Header.Set("Idempotency-Key", d.IdempotencyKey)
	req.Header.Set(SignatureHeader, Sign(s.now(), body, secrets...))
	resp, err := client.Do(req)
	if err != nil {
		return fail(deliveryError(target, err))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fail(fmt.Sprintf("HTTP %d", resp.StatusCode))
	}
	d.Attempts++
	d.State, d.Delivered, d.LastError = DeliveryDelivered, s.now().UTC(), ""
	if err := s.st.UpdateDelivery(sctx, d); err != nil {
		s.log.Warn("update delivery", "err", err.Error())
	}
	return true, time.Time{}
}
