package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/store"
)

// People sign in to the web interface with a name and a password. The
// password is kept as an argon2id hash (RFC 9106's second recommended
// setting: 3 passes over 64 MiB, 2 lanes); repeated failures lock the
// account for a while; a session is a random token in an HttpOnly
// cookie, kept in the store as its hash, with a CSRF token of its own.

// Password and session rules.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 1024
	// LockAfter failed sign-ins in a row lock the account for LockFor.
	LockAfter = 5
	LockFor   = 15 * time.Minute
	// SessionLife is how long a session lasts.
	SessionLife = 12 * time.Hour
)

var userPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._@+-]{0,99}$`)

// hashPassword makes an encoded argon2id hash.
func hashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	const t, m, p = 3, 64 * 1024, 2
	key := argon2.IDKey([]byte(pw), salt, t, m, p, 32)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// checkPassword compares a password with an encoded hash in constant time.
func checkPassword(pw, encoded string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return false
		}
		switch k {
		case "m":
			m = uint32(n)
		case "t":
			t = uint32(n)
		case "p":
			p = uint8(n)
		}
	}
	if m == 0 || t == 0 || p == 0 || m > 1<<20 || t > 10 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

func checkNewPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLength || len(pw) > MaxPasswordLength || !utf8.ValidString(pw) {
		return Errorf(CodeInvalid, "a password has %d to %d characters", MinPasswordLength, MaxPasswordLength)
	}
	return nil
}

// CreateUser adds a person to a tenant (the principal's; another's only
// for the operator's admins), with a role no higher than the maker's.
func (s *Service) CreateUser(ctx context.Context, p Principal, tenant, name, role, password string) (store.User, error) {
	if err := p.need(RoleAdmin, "adding a user"); err != nil {
		return store.User{}, err
	}
	if tenant == "" {
		tenant = p.Tenant
	}
	if tenant != p.Tenant && !p.Operator {
		return store.User{}, Errorf(CodeForbidden, "only the operator's admins add users to another tenant")
	}
	if _, err := s.tenantOf(ctx, tenant); err != nil {
		return store.User{}, err
	}
	if !userPattern.MatchString(name) {
		return store.User{}, Errorf(CodeInvalid, "user name %q: letters, digits and . _ @ + -, at most 100", name)
	}
	r, err := ParseRole(role)
	if err != nil {
		return store.User{}, err
	}
	if tenant == p.Tenant && r > p.Role {
		return store.User{}, Errorf(CodeForbidden, "a user cannot hold more rights (%s) than their maker (%s)", r, p.Role)
	}
	if err := checkNewPassword(password); err != nil {
		return store.User{}, err
	}
	if _, err := s.st.User(ctx, tenant, name); err == nil {
		return store.User{}, Errorf(CodeConflict, "user %s exists in %s", name, tenant)
	}
	// Two names that differ only in case (ADMIN beside admin) would be
	// taken for one person in every list, log and approval.
	us, err := s.st.Users(ctx, tenant)
	if err != nil {
		return store.User{}, err
	}
	for _, o := range us {
		if strings.EqualFold(o.Name, name) {
			return store.User{}, Errorf(CodeConflict, "user %s exists in %s (as %s): names that differ only in case are refused, as they would be taken for one person", name, tenant, o.Name)
		}
	}
	h, err := hashPassword(password)
	if err != nil {
		return store.User{}, err
	}
	u := store.User{Tenant: tenant, Name: name, Role: r.String(), PasswordHash: h, Created: s.now().UTC().Truncate(time.Second),
		CreatedBy: p.Actor, MadeBy: p.madeBy()}
	if err := s.st.PutUser(ctx, u); err != nil {
		return store.User{}, err
	}
	data := map[string]any{"created_user": name, "tenant": tenant, "role": u.Role}
	if _, err := s.record(ctx, p, audit.ActionAdmin, "user:"+tenant+"/"+name, data); err != nil {
		return store.User{}, err
	}
	if tenant != p.Tenant {
		// The tenant sees in its own log that the operator added a user.
		if _, err := s.record(ctx, Principal{Tenant: tenant, Actor: p.inTenantActor()}, audit.ActionAdmin, "user:"+tenant+"/"+name, data); err != nil {
			return store.User{}, err
		}
	}
	u.PasswordHash = ""
	return u, nil
}

// Users lists the tenant's users (no hashes).
func (s *Service) Users(ctx context.Context, p Principal) ([]store.User, error) {
	if err := p.need(RoleAdmin, "listing users"); err != nil {
		return nil, err
	}
	us, err := s.st.Users(ctx, p.Tenant)
	if us == nil {
		us = []store.User{}
	}
	return us, err
}

// SetUserDisabled disables (or enables) one of the tenant's users; a
// disabled user's sessions end.
func (s *Service) SetUserDisabled(ctx context.Context, p Principal, name string, disabled bool) (store.User, error) {
	if err := p.need(RoleAdmin, "disabling a user"); err != nil {
		return store.User{}, err
	}
	u, err := s.st.User(ctx, p.Tenant, name)
	if errors.Is(err, store.ErrNotFound) {
		return u, Errorf(CodeNotFound, "no user %q", name)
	}
	if err != nil {
		return u, err
	}
	u.Disabled = disabled
	if !disabled {
		u.FailedLogins, u.LockedUntil = 0, time.Time{}
	}
	if err := s.st.PutUser(ctx, u); err != nil {
		return u, err
	}
	if disabled {
		s.st.DeleteSessions(ctx, u.Tenant, u.Name)
		s.keys.forgetUser(u.Tenant, u.Name)
	}
	_, err = s.record(ctx, p, audit.ActionAdmin, "user:"+u.Tenant+"/"+u.Name, map[string]any{"disabled": disabled})
	u.PasswordHash = ""
	return u, err
}

// ChangePassword sets a user's own password (the old one must match);
// every session of the user ends. A wrong current password counts
// against the same lockout as a failed sign-in (LockAfter in a row lock
// the account for LockFor) and is in the audit log; while the account is
// locked no password is checked. When the failures lock the account,
// every session of the user ends too: someone holding a session who does
// not know the password is guessing it.
func (s *Service) ChangePassword(ctx context.Context, p Principal, old, new string) error {
	if err := p.need(RoleViewer, "changing a password"); err != nil {
		return err
	}
	u, err := s.st.User(ctx, p.Tenant, p.Actor)
	if err != nil {
		return Errorf(CodeForbidden, "only a signed-in user changes their password")
	}
	now := s.now().UTC()
	subject := "user:" + u.Tenant + "/" + u.Name
	if now.Before(u.LockedUntil) {
		if _, err := s.record(ctx, p, audit.ActionAdmin, subject, map[string]any{"password_change": "refused", "why": "locked"}); err != nil {
			return err
		}
		return Errorf(CodeForbidden, "the account is locked after %d wrong passwords in a row, until %s: wait, or ask your administrator to unlock it",
			LockAfter, u.LockedUntil.Format("15:04 UTC"))
	}
	if !checkPassword(old, u.PasswordHash) {
		u.FailedLogins++
		locked := u.FailedLogins >= LockAfter
		if locked {
			u.LockedUntil, u.FailedLogins = now.Add(LockFor), 0
		}
		if err := s.st.PutUser(ctx, u); err != nil {
			return err
		}
		if locked {
			s.st.DeleteSessions(ctx, u.Tenant, u.Name)
		}
		if _, err := s.record(ctx, p, audit.ActionAdmin, subject, map[string]any{"password_change": "failed", "locked": locked}); err != nil {
			return err
		}
		if locked {
			return Errorf(CodeForbidden, "the current password does not match: after %d wrong passwords in a row the account is locked for %s and its sessions ended",
				LockAfter, LockFor)
		}
		return Errorf(CodeForbidden, "the current password does not match")
	}
	if err := checkNewPassword(new); err != nil {
		return err
	}
	if u.PasswordHash, err = hashPassword(new); err != nil {
		return err
	}
	u.FailedLogins, u.LockedUntil = 0, time.Time{}
	if err := s.st.PutUser(ctx, u); err != nil {
		return err
	}
	s.st.DeleteSessions(ctx, u.Tenant, u.Name)
	_, err = s.record(ctx, p, audit.ActionAdmin, subject, map[string]any{"password_changed": true})
	return err
}

// NewSession is a session just opened: the tokens go to the browser
// (cookie and page), the store keeps their hashes.
type NewSession struct {
	Token   string
	CSRF    string
	Expires time.Time
	Principal
}

// ErrBadLogin is the one answer to a failed sign-in: unknown user, wrong
// password, disabled or locked account look the same.
var ErrBadLogin = Errorf(CodeUnauthenticated, "wrong user name or password, or the account is locked")

func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Login checks a user's password and opens a session; from is the
// client's address (as the server reads it; may be empty). LockAfter
// failures in a row lock the account for LockFor. Every attempt on a
// tenant that exists is in its audit log, attempts on unknown users too:
// a failed or refused one with an actor that says nobody was
// authenticated ("sign-in attempt as NAME from ADDR"), not as the user
// named. An attempt on a tenant that does not exist has no log to go to:
// it goes to the server's log, and every failure is counted
// (Counters.SignInFailures). Unknown users, unknown tenants, wrong
// passwords and locked accounts cost the same password check and look
// the same to the caller.
func (s *Service) Login(ctx context.Context, tenant, name, password, from string) (NewSession, error) {
	now := s.now().UTC()
	// Tenant ids are lower case (CreateTenant): "Alpha" typed at the
	// sign-in is tenant alpha.
	tenant = strings.ToLower(strings.TrimSpace(tenant))
	if from == "" {
		from = "an unknown address"
	}
	attempt := Principal{Tenant: tenant, Actor: fmt.Sprintf("sign-in attempt as %s from %s", ClipID(name), ClipID(from))}
	subject := "user:" + tenant + "/" + ClipID(name)
	fail := func(data map[string]any) (NewSession, error) {
		s.Metrics.add(func(m *Counters) { m.SignInFailures++ })
		data["from"] = from
		if _, err := s.record(ctx, attempt, audit.ActionAdmin, subject, data); err != nil {
			s.log.Warn("sign-in attempt not recorded", "tenant", tenant, "user", ClipID(name), "from", from, "err", err.Error())
		}
		return NewSession{}, ErrBadLogin
	}
	u, err := s.st.User(ctx, tenant, name)
	if err != nil {
		// Spend the same time as a real check, so timing does not tell
		// which names exist.
		checkPassword(password, dummyHash())
		if _, terr := s.st.Tenant(ctx, tenant); terr != nil {
			s.Metrics.add(func(m *Counters) { m.SignInFailures++ })
			s.log.Warn("sign-in attempt on a tenant that does not exist", "tenant", ClipID(tenant), "user", ClipID(name), "from", from)
			return NewSession{}, ErrBadLogin
		}
		return fail(map[string]any{"login": "failed", "why": "no such user"})
	}
	if u.Disabled || now.Before(u.LockedUntil) {
		checkPassword(password, dummyHash())
		return fail(map[string]any{"login": "refused", "why": "disabled or locked"})
	}
	if !checkPassword(password, u.PasswordHash) {
		u.FailedLogins++
		if u.FailedLogins >= LockAfter {
			u.LockedUntil, u.FailedLogins = now.Add(LockFor), 0
		}
		s.st.PutUser(ctx, u)
		return fail(map[string]any{"login": "failed", "locked": !u.LockedUntil.IsZero() && now.Before(u.LockedUntil)})
	}
	if u.FailedLogins > 0 || !u.LockedUntil.IsZero() {
		u.FailedLogins, u.LockedUntil = 0, time.Time{}
		s.st.PutUser(ctx, u)
	}
	role, err := ParseRole(u.Role)
	if err != nil {
		return NewSession{}, ErrBadLogin
	}
	t, err := s.tenantOf(ctx, tenant)
	if err != nil {
		return NewSession{}, ErrBadLogin
	}
	tok, err := randomToken()
	if err != nil {
		return NewSession{}, err
	}
	csrf, err := randomToken()
	if err != nil {
		return NewSession{}, err
	}
	se := store.Session{IDHash: tokenHash(tok), Tenant: tenant, User: name, CSRFHash: tokenHash(csrf), Created: now, Expires: now.Add(SessionLife)}
	if err := s.st.PutSession(ctx, se); err != nil {
		return NewSession{}, err
	}
	pr := Principal{Tenant: tenant, Actor: name, Role: role, Operator: t.Operator}
	if _, err := s.record(ctx, pr, audit.ActionAdmin, "user:"+tenant+"/"+name, map[string]any{"login": "ok", "from": from}); err != nil {
		return NewSession{}, err
	}
	return NewSession{Token: tok, CSRF: csrf, Expires: se.Expires, Principal: pr}, nil
}

// dummyHash is checked against when there is no user, so a failed
// sign-in takes the same time either way.
//
// It is made at the first sign-in, not when the program starts: hashing
// (argon2, 64 MiB) at package initialisation cost every command, even
// 'tidewatch version', a quarter of a second and 67 MB.
var dummyHash = sync.OnceValue(func() string {
	h, _ := hashPassword("not a password: a timing decoy")
	return h
})

// SessionPrincipal returns the principal of a session token; csrf, when
// given, must match the session's CSRF token (every state-changing
// request checks it).
func (s *Service) SessionPrincipal(ctx context.Context, token, csrf string, needCSRF bool) (Principal, error) {
	bad := Errorf(CodeUnauthenticated, "not signed in, or the session has ended")
	if token == "" || len(token) > 200 {
		return Principal{}, bad
	}
	se, err := s.st.Session(ctx, tokenHash(token))
	if err != nil || !s.now().Before(se.Expires) {
		return Principal{}, bad
	}
	if needCSRF && subtle.ConstantTimeCompare([]byte(tokenHash(csrf)), []byte(se.CSRFHash)) != 1 {
		return Principal{}, Errorf(CodeForbidden, "the form's CSRF token does not match the session: reload the page")
	}
	u, err := s.st.User(ctx, se.Tenant, se.User)
	if err != nil || u.Disabled {
		return Principal{}, bad
	}
	role, err := ParseRole(u.Role)
	if err != nil {
		return Principal{}, bad
	}
	t, err := s.tenantOf(ctx, se.Tenant)
	if err != nil {
		return Principal{}, bad
	}
	return Principal{Tenant: se.Tenant, Actor: se.User, Role: role, Operator: t.Operator, Person: se.User}, nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	se, err := s.st.Session(ctx, tokenHash(token))
	if err != nil {
		return nil
	}
	if err := s.st.DeleteSession(ctx, se.IDHash); err != nil {
		return err
	}
	_, err = s.record(ctx, Principal{Tenant: se.Tenant, Actor: se.User}, audit.ActionAdmin, "user:"+se.Tenant+"/"+se.User, map[string]any{"logout": true})
	return err
}
