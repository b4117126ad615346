package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/store"
)

// Role is what a principal may do. Roles are ordered: each may do what
// the ones below it may.
type Role int

// Roles.
const (
	// RoleViewer reads: screening, profiles, reports, events, lists, the
	// audit log.
	RoleViewer Role = iota + 1
	// RoleAnalyst also ingests AIS and imports lists (in the operator
	// tenant: they are shared by every tenant) and runs batch jobs.
	RoleAnalyst
	// RoleUnderwriter also records and approves decisions.
	RoleUnderwriter
	// RoleAdmin also manages the tenant's users and keys and prunes its
	// audit log; in the operator tenant, manages tenants too.
	RoleAdmin
)

var roleNames = map[Role]string{RoleViewer: "viewer", RoleAnalyst: "analyst", RoleUnderwriter: "underwriter", RoleAdmin: "admin"}

func (r Role) String() string {
	if n, ok := roleNames[r]; ok {
		return n
	}
	return fmt.Sprintf("role(%d)", int(r))
}

// ParseRole reads a role's name.
func ParseRole(s string) (Role, error) {
	for r, n := range roleNames {
		if strings.EqualFold(s, n) {
			return r, nil
		}
	}
	return 0, Errorf(CodeInvalid, "role %q: give viewer, analyst, underwriter or admin", ClipID(s))
}

// Principal is who a use case acts for.
type Principal struct {
	Tenant string `json:"tenant"`
	// Actor names the person or key in the audit log.
	Actor string `json:"actor"`
	Role  Role   `json:"-"`
	// Operator: the tenant runs the installation (shared data writes).
	Operator bool `json:"operator,omitempty"`
	// KeyID is the API key used, when any.
	KeyID string `json:"key_id,omitempty"`
	// Person is the person acting: a signed-in user, the user a key is
	// bound to, or the CLI's operator; empty for a key bound to no user.
	// Four eyes count persons.
	Person string `json:"person,omitempty"`
	// Console: the principal is the command line on the machine that
	// holds the store (LocalPrincipal), which could write the store
	// directly: it may bind a key to any tenant's user (onboarding).
	Console bool `json:"-"`
}

// RoleName is the principal's role by name.
func (p Principal) RoleName() string { return p.Role.String() }

// LocalPrincipal is the CLI's principal: the local operator tenant, with
// every right, named after the person running it.
func LocalPrincipal(actor string) Principal {
	return Principal{Tenant: LocalTenant, Actor: actor, Role: RoleAdmin, Operator: true, Person: actor, Console: true}
}

// madeBy is the credential behind a principal as a user's or key's
// MadeBy records it: "TENANT/NAME" for a person, "key:ID" for a key
// bound to no one, "" for the console acting for a tenant without a
// person.
func (p Principal) madeBy() string {
	switch {
	case p.Person != "":
		return p.Tenant + "/" + p.Person
	case p.KeyID != "":
		return "key:" + p.KeyID
	}
	return ""
}

// inTenantActor is how a principal of another tenant (the operator's)
// is named in the audit log of the tenant it acted on.
func (p Principal) inTenantActor() string {
	return fmt.Sprintf("%s of the operator tenant %s", p.Actor, p.Tenant)
}

// LocalTenant is the tenant of a one-machine installation (every store
// has it; the CLI acts for it).
const LocalTenant = "local"

// need checks the principal holds at least role r.
func (p Principal) need(r Role, what string) error {
	if p.Tenant == "" || p.Role == 0 {
		return Errorf(CodeUnauthenticated, "%s: no credentials", what)
	}
	if p.Role < r {
		return Errorf(CodeForbidden, "%s needs the %s role; %s has %s", what, r, p.Actor, p.Role)
	}
	return nil
}

// needShared checks the principal may change data every tenant shares.
func (p Principal) needShared(r Role, what string) error {
	if err := p.need(r, what); err != nil {
		return err
	}
	if !p.Operator {
		return Errorf(CodeForbidden, "%s changes data shared by every tenant: only the operator tenant may", what)
	}
	return nil
}

// TenantStore is what tenants, users and keys need of storage.
type TenantStore interface {
	PutTenant(ctx context.Context, t store.Tenant) error
	Tenant(ctx context.Context, id string) (store.Tenant, error)
	Tenants(ctx context.Context) ([]store.Tenant, error)
	PutUser(ctx context.Context, u store.User) error
	User(ctx context.Context, tenant, name string) (store.User, error)
	Users(ctx context.Context, tenant string) ([]store.User, error)
	PutAPIKey(ctx context.Context, k store.APIKey) error
	APIKey(ctx context.Context, id string) (store.APIKey, error)
	APIKeys(ctx context.Context, tenant string) ([]store.APIKey, error)
	TouchAPIKeys(ctx context.Context, used []store.KeyUse) error
	PutSession(ctx context.Context, s store.Session) error
	Session(ctx context.Context, idHash string) (store.Session, error)
	DeleteSession(ctx context.Context, idHash string) error
	DeleteSessions(ctx context.Context, tenant, user string) error
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ClipID is a client-given id or name as an error message shows it: at
// most 80 bytes (cut on a rune boundary, "..." after), so a megabyte id
// is not echoed back in full.
func ClipID(s string) string {
	const n = 80
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

// CreateTenant makes a tenant (operator admins only).
func (s *Service) CreateTenant(ctx context.Context, p Principal, id, name string, policy store.TenantPolicy) (store.Tenant, error) {
	if err := p.needShared(RoleAdmin, "creating a tenant"); err != nil {
		return store.Tenant{}, err
	}
	if !idPattern.MatchString(id) {
		return store.Tenant{}, Errorf(CodeInvalid, "tenant id %q: lower-case letters, digits and hyphens, at most 63", ClipID(id))
	}
	if strings.TrimSpace(name) == "" {
		name = id
	}
	if len(name) > 200 {
		return store.Tenant{}, Errorf(CodeInvalid, "tenant name: at most 200 bytes")
	}
	if _, err := s.st.Tenant(ctx, id); err == nil {
		return store.Tenant{}, Errorf(CodeConflict, "tenant %s exists", id)
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Tenant{}, err
	}
	t := store.Tenant{ID: id, Name: name, Created: s.now().UTC().Truncate(time.Millisecond), Policy: policy}
	if err := s.st.PutTenant(ctx, t); err != nil {
		return t, err
	}
	_, err := s.record(ctx, p, audit.ActionAdmin, "tenant:"+id, map[string]any{"created_tenant": id, "name": name, "policy": policy})
	return t, err
}

// Tenants lists tenants: every tenant for the operator's admins, the
// principal's own otherwise.
func (s *Service) Tenants(ctx context.Context, p Principal) ([]store.Tenant, error) {
	if err := p.need(RoleViewer, "listing tenants"); err != nil {
		return nil, err
	}
	if p.Operator && p.Role >= RoleAdmin {
		return s.st.Tenants(ctx)
	}
	t, err := s.st.Tenant(ctx, p.Tenant)
	if err != nil {
		return nil, err
	}
	return []store.Tenant{t}, nil
}

// SetPolicy changes the principal's tenant's governance policy.
func (s *Service) SetPolicy(ctx context.Context, p Principal, policy store.TenantPolicy) (store.Tenant, error) {
	if err := p.need(RoleAdmin, "changing the tenant's policy"); err != nil {
		return store.Tenant{}, err
	}
	t, err := s.st.Tenant(ctx, p.Tenant)
	if err != nil {
		return t, err
	}
	t.Policy = policy
	if err := s.st.PutTenant(ctx, t); err != nil {
		return t, err
	}
	_, err = s.record(ctx, p, audit.ActionAdmin, "tenant:"+t.ID, map[string]any{"policy": policy})
	return t, err
}

// tenantOf checks a tenant exists and returns it.
func (s *Service) tenantOf(ctx context.Context, id string) (store.Tenant, error) {
	t, err := s.st.Tenant(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return t, Errorf(CodeNotFound, "no tenant %q", ClipID(id))
	}
	return t, err
}

// KeyPrefix starts every API key's text.
const KeyPrefix = "tw_"

// NewKey is a key just made: Secret is the only time the full key text is
// shown.
type NewKey struct {
	store.APIKey
	Secret string `json:"key"`
}

// CreateKeyRequest asks for an API key.
type CreateKeyRequest struct {
	// Tenant is the key's tenant (default the principal's; another
	// tenant's only for the operator's admins).
	Tenant string `json:"tenant,omitempty"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	// User binds the key to a user of the tenant: it acts as that person
	// (needed for overrides and approvals in a four-eyes tenant) and
	// holds no more than the user's role.
	User string `json:"user,omitempty"`
	// TTL is how long the key lives (default 90 days, at most 2 years).
	TTL time.Duration `json:"-"`
}

// DefaultKeyTTL and MaxKeyTTL bound an API key's life.
const (
	DefaultKeyTTL = 90 * 24 * time.Hour
	MaxKeyTTL     = 2 * 366 * 24 * time.Hour
)

// lifeWords writes a key's life as people give it: minutes or hours
// under two days, else days, with years beside from a year on ("3653 days,
// about 10 years"), not Go's "87672h0m0s".
func lifeWords(d time.Duration) string {
	switch {
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return strconv.FormatFloat(math.Round(d.Hours()*10)/10, 'f', -1, 64) + " hours"
	}
	days := int(math.Round(d.Hours() / 24))
	if days < 365 {
		return fmt.Sprintf("%d days", days)
	}
	return fmt.Sprintf("%d days, about %s years", days, strconv.FormatFloat(math.Round(float64(days)/365.25*10)/10, 'f', -1, 64))
}

// CreateAPIKey makes a key. The secret is returned once and stored only
// as its SHA-256 (a key is 160 random bits: a slow password hash adds
// nothing against guessing and would slow every request).
func (s *Service) CreateAPIKey(ctx context.Context, p Principal, req CreateKeyRequest) (NewKey, error) {
	if err := p.need(RoleAdmin, "creating an API key"); err != nil {
		return NewKey{}, err
	}
	tenant := req.Tenant
	if tenant == "" {
		tenant = p.Tenant
	}
	if tenant != p.Tenant && !p.Operator {
		return NewKey{}, Errorf(CodeForbidden, "only the operator's admins make keys for another tenant")
	}
	t, err := s.tenantOf(ctx, tenant)
	if err != nil {
		return NewKey{}, err
	}
	role, err := ParseRole(req.Role)
	if err != nil {
		return NewKey{}, err
	}
	if tenant == p.Tenant && role > p.Role {
		return NewKey{}, Errorf(CodeForbidden, "a key cannot hold more rights (%s) than its maker (%s)", role, p.Role)
	}
	user := strings.TrimSpace(req.User)
	if user != "" && !p.Console {
		// A key bound to a person acts as them: four eyes count people,
		// so only the person makes it (an admin who could bind a key to
		// a colleague could approve their own override as the
		// colleague). Admins make keys bound to no one, or to themselves;
		// the console, which holds the store, binds keys for onboarding.
		switch {
		case tenant != p.Tenant:
			return NewKey{}, Errorf(CodeForbidden, "a key bound to user %s of tenant %s is made by that person, not by %s of tenant %s: make a key bound to no one for the tenant (it acts as no person), or ask the console ('tidewatch keys create --tenant %s --user %s')",
				ClipID(user), t.ID, p.Actor, p.Tenant, t.ID, ClipID(user))
		case p.Person == "":
			return NewKey{}, Errorf(CodeForbidden, "a key bound to user %s is made by that person, signed in or with a key bound to them; %s acts as no person", ClipID(user), p.Actor)
		case !samePerson(p.Person, user):
			return NewKey{}, Errorf(CodeForbidden, "a key bound to user %s is made by %s themself, not by %s: a key bound to someone lets its holder act as them (and approve overrides as them); make a key bound to no one, or to yourself",
				ClipID(user), ClipID(user), p.Person)
		}
	}
	if user != "" {
		u, err := s.st.User(ctx, t.ID, user)
		if errors.Is(err, store.ErrNotFound) {
			return NewKey{}, Errorf(CodeNotFound, "no user %q in tenant %s", ClipID(user), t.ID)
		}
		if err != nil {
			return NewKey{}, err
		}
		if ur, err := ParseRole(u.Role); err != nil || role > ur {
			return NewKey{}, Errorf(CodeForbidden, "a key bound to %s cannot hold more rights (%s) than the user (%s)", user, role, u.Role)
		}
		if u.Disabled {
			return NewKey{}, Errorf(CodePrecondition, "user %s is disabled", user)
		}
	}
	name := strings.TrimSpace(req.Name)
	if name == "" || len(name) > 100 {
		return NewKey{}, Errorf(CodeInvalid, "a key needs a name of 1 to 100 characters (what it is for)")
	}
	ttl := req.TTL
	if ttl == 0 {
		ttl = DefaultKeyTTL
	}
	if ttl < time.Hour || ttl > MaxKeyTTL {
		return NewKey{}, Errorf(CodeInvalid, "key lifetime %s: between 1 hour and 2 years", lifeWords(ttl))
	}
	var idb [6]byte
	var secret [20]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return NewKey{}, err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return NewKey{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	k := store.APIKey{ID: hex.EncodeToString(idb[:]), Tenant: t.ID, Name: name, Role: role.String(), CreatedBy: p.Actor, Created: now, Expires: now.Add(ttl), User: user, MadeBy: p.madeBy()}
	sec := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret[:]))
	k.Hash = hashSecret(sec)
	if err := s.st.PutAPIKey(ctx, k); err != nil {
		return NewKey{}, err
	}
	data := map[string]any{"created_key": k.ID, "tenant": k.Tenant, "name": k.Name, "role": k.Role, "expires": k.Expires, "user": k.User}
	if _, err := s.record(ctx, p, audit.ActionAdmin, "key:"+k.ID, data); err != nil {
		return NewKey{}, err
	}
	if k.Tenant != p.Tenant {
		// The tenant sees in its own log that the operator made it a key.
		if _, err := s.record(ctx, Principal{Tenant: k.Tenant, Actor: p.inTenantActor()}, audit.ActionAdmin, "key:"+k.ID, data); err != nil {
			return NewKey{}, err
		}
	}
	k.Hash = ""
	return NewKey{APIKey: k, Secret: KeyPrefix + k.ID + "_" + sec}, nil
}

func hashSecret(sec string) string {
	h := sha256.Sum256([]byte(sec))
	return hex.EncodeToString(h[:])
}

// APIKeys lists the principal's tenant's keys (no secrets, no hashes).
func (s *Service) APIKeys(ctx context.Context, p Principal) ([]store.APIKey, error) {
	if err := p.need(RoleAdmin, "listing API keys"); err != nil {
		return nil, err
	}
	ks, err := s.st.APIKeys(ctx, p.Tenant)
	for i := range ks {
		ks[i].Hash = ""
	}
	return ks, err
}

// RevokeAPIKey revokes one of the tenant's keys at once.
func (s *Service) RevokeAPIKey(ctx context.Context, p Principal, id string) (store.APIKey, error) {
	if err := p.need(RoleAdmin, "revoking an API key"); err != nil {
		return store.APIKey{}, err
	}
	k, err := s.st.APIKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && k.Tenant != p.Tenant) {
		// Another tenant's key is not found, not forbidden: its existence
		// is not ours to reveal.
		return store.APIKey{}, Errorf(CodeNotFound, "no API key %q", ClipID(id))
	}
	if err != nil {
		return k, err
	}
	if k.Revoked.IsZero() {
		k.Revoked = s.now().UTC().Truncate(time.Second)
		if err := s.st.PutAPIKey(ctx, k); err != nil {
			return k, err
		}
		if _, err := s.record(ctx, p, audit.ActionAdmin, "key:"+k.ID, map[string]any{"revoked_key": k.ID}); err != nil {
			return k, err
		}
	}
	s.keys.forget(id)
	k.Hash = ""
	return k, nil
}

// keyCache holds recently authenticated keys for a few seconds, so a
// busy client does not cost a store read per request; revocation through
// the service takes effect at once, through another process within the
// cache's lifetime.
type keyCache struct {
	mu sync.Mutex
	m  map[string]cachedKey
}

type cachedKey struct {
	key     store.APIKey
	tenant  store.Tenant
	user    store.User // the user the key is bound to, when any
	expires time.Time
	// hash is key.Hash decoded (hashOK: it decoded to a SHA-256), and
	// actor the principal's Actor: made once a cache fill, not for
	// every request.
	hash   [sha256.Size]byte
	hashOK bool
	actor  string
}

// newCachedKey is the cache's entry for a key read from the store.
func newCachedKey(k store.APIKey, t store.Tenant, expires time.Time) cachedKey {
	c := cachedKey{key: k, tenant: t, expires: expires}
	if b, err := hex.DecodeString(k.Hash); err == nil && len(b) == sha256.Size {
		copy(c.hash[:], b)
		c.hashOK = true
	}
	if k.User != "" {
		c.actor = fmt.Sprintf("%s (key %s)", k.User, k.ID)
	} else {
		c.actor = fmt.Sprintf("key %s (%s)", k.ID, k.Name)
	}
	return c
}

// keyCacheTTL bounds how long a node goes on accepting a key revoked
// (or its user disabled) through another node, on the service's clock
// (docs/api.md states it: 5 seconds).
const keyCacheTTL = 5 * time.Second

func newKeyCache() *keyCache { return &keyCache{m: map[string]cachedKey{}} }

func (c *keyCache) get(id string, now time.Time) (cachedKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.m[id]
	if !ok || now.After(k.expires) {
		return k, false
	}
	return k, true
}

func (c *keyCache) put(id string, k cachedKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 10000 {
		clear(c.m)
	}
	c.m[id] = k
}

func (c *keyCache) forget(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

// forgetUser drops the keys bound to a user (disabled: they stop at once
// on this node; other nodes within keyCacheTTL).
func (c *keyCache) forgetUser(tenant, user string) {
	c.mu.Lock()
	for id, k := range c.m {
		if k.key.Tenant == tenant && k.key.User == user {
			delete(c.m, id)
		}
	}
	c.mu.Unlock()
}

// ErrBadKey is the one answer to any key that does not authenticate:
// unknown, malformed, wrong secret, revoked or expired look the same to
// the caller (the reason goes to the server's log).
var ErrBadKey = Errorf(CodeUnauthenticated, "invalid, revoked or expired API key")

// Authenticate turns an API key's text into a principal.
func (s *Service) Authenticate(ctx context.Context, text string) (Principal, error) {
	id, sec, ok := parseKey(text)
	if !ok {
		return Principal{}, ErrBadKey
	}
	now := s.now()
	c, hit := s.keys.get(id, now)
	if !hit {
		k, err := s.st.APIKey(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return Principal{}, ErrBadKey
		}
		if err != nil {
			return Principal{}, err
		}
		t, err := s.st.Tenant(ctx, k.Tenant)
		if err != nil {
			return Principal{}, err
		}
		c = newCachedKey(k, t, now.Add(keyCacheTTL))
		if k.User != "" {
			if c.user, err = s.st.User(ctx, k.Tenant, k.User); errors.Is(err, store.ErrNotFound) {
				c.user.Disabled = true // the user is gone: so is the key
			} else if err != nil {
				return Principal{}, err
			}
		}
		s.keys.put(id, c)
	}
	k := c.key
	if h := sha256.Sum256([]byte(sec)); !c.hashOK || subtle.ConstantTimeCompare(h[:], c.hash[:]) != 1 {
		return Principal{}, ErrBadKey
	}
	if !k.Revoked.IsZero() || !now.Before(k.Expires) {
		return Principal{}, ErrBadKey
	}
	role, err := ParseRole(k.Role)
	if err != nil {
		return Principal{}, ErrBadKey
	}
	if k.User != "" {
		if c.user.Disabled {
			return Principal{}, ErrBadKey
		}
		s.keyUse.note(s, k, now)
		return Principal{Tenant: k.Tenant, Actor: c.actor, Role: role, Operator: c.tenant.Operator, KeyID: k.ID, Person: k.User}, nil
	}
	s.keyUse.note(s, k, now)
	return Principal{Tenant: k.Tenant, Actor: c.actor, Role: role, Operator: c.tenant.Operator, KeyID: k.ID}, nil
}

// keyUseEvery is how stale a key's stored last use may be: a key used
// all day costs one store write a minute, not one a request.
const keyUseEvery = time.Minute

// keyUses records when API keys were last used, off the request path: a
// request notes its key's use in memory (a map lookup under a mutex);
// when a key's stored time is a minute old, the use is queued and one
// goroutine writes the queue in a batch (Store.TouchAPIKeys). Close
// writes what is queued.
type keyUses struct {
	mu      sync.Mutex
	written map[string]time.Time // the last use written (or queued) per key
	pending map[string]time.Time
	running bool
	closed  bool
	wg      sync.WaitGroup
}

// note records key k's use at now.
func (u *keyUses) note(s *Service, k store.APIKey, now time.Time) {
	now = now.UTC().Truncate(time.Second)
	u.mu.Lock()
	defer u.mu.Unlock()
	last, ok := u.written[k.ID]
	if !ok {
		last = k.LastUsed
	}
	if now.Sub(last) < keyUseEvery || u.closed {
		return
	}
	if u.written == nil {
		u.written, u.pending = map[string]time.Time{}, map[string]time.Time{}
	}
	if len(u.written) > 100000 {
		clear(u.written) // at worst one write more per key
	}
	u.written[k.ID], u.pending[k.ID] = now, now
	if !u.running {
		u.running = true
		u.wg.Add(1)
		go u.write(s)
	}
}

// write stores the queued uses until the queue is empty.
func (u *keyUses) write(s *Service) {
	defer u.wg.Done()
	for {
		u.mu.Lock()
		if len(u.pending) == 0 {
			u.running = false
			u.mu.Unlock()
			return
		}
		batch := make([]store.KeyUse, 0, len(u.pending))
		for id, at := range u.pending {
			batch = append(batch, store.KeyUse{ID: id, At: at})
		}
		clear(u.pending)
		u.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := s.st.TouchAPIKeys(ctx, batch)
		cancel()
		if err != nil {
			// The time is informational: a failed write is logged and
			// tried again at the key's next use a minute on.
			s.log.Warn("api keys: recording last use", "keys", len(batch), "err", err.Error())
		}
	}
}

// close stops queueing and waits for the queued uses to be written.
func (u *keyUses) close() {
	u.mu.Lock()
	u.closed = true
	u.mu.Unlock()
	u.wg.Wait()
}

// parseKey splits "tw_<id>_<secret>".
func parseKey(text string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(text), KeyPrefix)
	if !ok {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || len(id) != 12 || len(secret) != 32 {
		return "", "", false
	}
	return id, secret, true
}
