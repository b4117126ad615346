package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tidewatch/tidewatch/store"
)

// PutTenant creates or replaces a tenant.
func (s *DB) PutTenant(ctx context.Context, t store.Tenant) error {
	j, err := json.Marshal(t)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO tenants(id, json) VALUES(?,?) ON CONFLICT(id) DO UPDATE SET json = excluded.json`, t.ID, string(j))
	return err
}

// Tenant returns a tenant.
func (s *DB) Tenant(ctx context.Context, id string) (store.Tenant, error) {
	return jsonRow[store.Tenant](ctx, s.r, "tenant "+id, `SELECT json FROM tenants WHERE id = ?`, id)
}

// Tenants returns every tenant by id.
func (s *DB) Tenants(ctx context.Context) ([]store.Tenant, error) {
	return jsonRows[store.Tenant](ctx, s.r, "tenant", `SELECT json FROM tenants ORDER BY id`)
}

// PutUser creates or replaces a user. The password hash is stored beside
// the JSON record, never inside it.
func (s *DB) PutUser(ctx context.Context, u store.User) error {
	j, err := json.Marshal(u)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO users(tenant, name, password_hash, json) VALUES(?,?,?,?)
		ON CONFLICT(tenant, name) DO UPDATE SET password_hash = excluded.password_hash, json = excluded.json`, u.Tenant, u.Name, u.PasswordHash, string(j))
	return err
}

// User returns a user with its password hash.
func (s *DB) User(ctx context.Context, tenant, name string) (store.User, error) {
	var j, hash string
	err := s.r.QueryRowContext(ctx, `SELECT json, password_hash FROM users WHERE tenant = ? AND name = ?`, tenant, name).Scan(&j, &hash)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return store.User{}, fmt.Errorf("user %s/%s: %w", tenant, name, store.ErrNotFound)
		}
		return store.User{}, err
	}
	var u store.User
	if err := json.Unmarshal([]byte(j), &u); err != nil {
		return u, err
	}
	u.PasswordHash = hash
	return u, nil
}

// Users returns a tenant's users (without password hashes).
func (s *DB) Users(ctx context.Context, tenant string) ([]store.User, error) {
	return jsonRows[store.User](ctx, s.r, "user", `SELECT json FROM users WHERE tenant = ? ORDER BY name`, tenant)
}

// PutAPIKey creates a key, or updates one already held (same ID and
// tenant). A new key whose ID is taken is ErrConflict.
func (s *DB) PutAPIKey(ctx context.Context, k store.APIKey) error {
	j, err := json.Marshal(k)
	if err != nil {
		return err
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var tenant, hash string
	err = tx.QueryRowContext(ctx, `SELECT tenant, hash FROM api_keys WHERE id = ?`, k.ID).Scan(&tenant, &hash)
	switch {
	case err == nil:
		if tenant != k.Tenant || (k.Hash != "" && k.Hash != hash) {
			return fmt.Errorf("api key %s: %w", k.ID, store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET json = ? WHERE id = ?`, string(j), k.ID); err != nil {
			return err
		}
	case errors.Is(err, sql.ErrNoRows):
		if k.Hash == "" {
			return errors.New("api key without a hash")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_keys(id, tenant, hash, json) VALUES(?,?,?,?)`, k.ID, k.Tenant, k.Hash, string(j)); err != nil {
			return err
		}
	default:
		return err
	}
	return tx.Commit()
}

// APIKey returns a key with its hash.
func (s *DB) APIKey(ctx context.Context, id string) (store.APIKey, error) {
	var j, hash string
	err := s.r.QueryRowContext(ctx, `SELECT json, hash FROM api_keys WHERE id = ?`, id).Scan(&j, &hash)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return store.APIKey{}, fmt.Errorf("api key %s: %w", id, store.ErrNotFound)
		}
		return store.APIKey{}, err
	}
	var k store.APIKey
	if err := json.Unmarshal([]byte(j), &k); err != nil {
		return k, err
	}
	k.Hash = hash
	return k, nil
}

// APIKeys returns a tenant's keys (without hashes).
func (s *DB) APIKeys(ctx context.Context, tenant string) ([]store.APIKey, error) {
	return jsonRows[store.APIKey](ctx, s.r, "api key", `SELECT json FROM api_keys WHERE tenant = ? ORDER BY id`, tenant)
}

// TouchAPIKeys raises the keys' LastUsed, in one transaction.
func (s *DB) TouchAPIKeys(ctx context.Context, used []store.KeyUse) error {
	if len(used) == 0 {
		return nil
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, u := range used {
		var j string
		err := tx.QueryRowContext(ctx, `SELECT json FROM api_keys WHERE id = ?`, u.ID).Scan(&j)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		nj, ok, err := store.TouchedKeyJSON([]byte(j), u.At)
		if err != nil {
			return fmt.Errorf("api key %s: %w", u.ID, err)
		}
		if !ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET json = ? WHERE id = ?`, string(nj), u.ID); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// PutSession stores a session.
func (s *DB) PutSession(ctx context.Context, se store.Session) error {
	j, err := json.Marshal(se)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO sessions(id_hash, tenant, user, expires_ms, json) VALUES(?,?,?,?,?)
		ON CONFLICT(id_hash) DO UPDATE SET expires_ms = excluded.expires_ms, json = excluded.json`, se.IDHash, se.Tenant, se.User, ms(se.Expires), string(j))
	if err == nil {
		// Expired sessions go as new ones come.
		_, err = s.exec(ctx, `DELETE FROM sessions WHERE expires_ms < ?`, ms(se.Created.Add(-24*time.Hour)))
	}
	return err
}

// Session returns a session by its token's hash.
func (s *DB) Session(ctx context.Context, idHash string) (store.Session, error) {
	return jsonRow[store.Session](ctx, s.r, "session", `SELECT json FROM sessions WHERE id_hash = ?`, idHash)
}

// DeleteSession ends a session.
func (s *DB) DeleteSession(ctx context.Context, idHash string) error {
	_, err := s.exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
	return err
}

// DeleteSessions ends every session of a user.
func (s *DB) DeleteSessions(ctx context.Context, tenant, user string) error {
	_, err := s.exec(ctx, `DELETE FROM sessions WHERE tenant = ? AND user = ?`, tenant, user)
	return err
}
