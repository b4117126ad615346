package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tidewatch/tidewatch/store"
)

// PutTenant creates or replaces a tenant.
func (s *DB) PutTenant(ctx context.Context, t store.Tenant) error {
	j, err := json.Marshal(t)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO tenants(id, json) VALUES($1,$2) ON CONFLICT (id) DO UPDATE SET json = excluded.json`, t.ID, j)
	return err
}

// Tenant returns a tenant.
func (s *DB) Tenant(ctx context.Context, id string) (store.Tenant, error) {
	return jsonRow[store.Tenant](ctx, s, "tenant "+id, `SELECT json FROM tenants WHERE id = $1`, id)
}

// Tenants returns every tenant by id.
func (s *DB) Tenants(ctx context.Context) ([]store.Tenant, error) {
	return jsonRows[store.Tenant](ctx, s, "tenant", `SELECT json FROM tenants ORDER BY id`)
}

// PutUser creates or replaces a user. The password hash is stored beside
// the JSON record, never inside it.
func (s *DB) PutUser(ctx context.Context, u store.User) error {
	j, err := json.Marshal(u)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO users(tenant, name, password_hash, json) VALUES($1,$2,$3,$4)
		ON CONFLICT (tenant, name) DO UPDATE SET password_hash = excluded.password_hash, json = excluded.json`, u.Tenant, u.Name, u.PasswordHash, j)
	return err
}

// User returns a user with its password hash.
func (s *DB) User(ctx context.Context, tenant, name string) (store.User, error) {
	var j []byte
	var hash string
	err := s.pool.QueryRow(ctx, `SELECT json, password_hash FROM users WHERE tenant = $1 AND name = $2`, tenant, name).Scan(&j, &hash)
	if err != nil {
		return store.User{}, notFound(err, fmt.Sprintf("user %s/%s", tenant, name))
	}
	var u store.User
	if err := json.Unmarshal(j, &u); err != nil {
		return u, err
	}
	u.PasswordHash = hash
	return u, nil
}

// Users returns a tenant's users (without password hashes).
func (s *DB) Users(ctx context.Context, tenant string) ([]store.User, error) {
	return jsonRows[store.User](ctx, s, "user", `SELECT json FROM users WHERE tenant = $1 ORDER BY name`, tenant)
}

// PutAPIKey creates a key, or updates one already held (same ID and
// tenant). A new key whose ID is taken, by this node or another at the
// same moment, is ErrConflict.
func (s *DB) PutAPIKey(ctx context.Context, k store.APIKey) error {
	j, err := json.Marshal(k)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		var tenant, hash string
		err := tx.QueryRow(ctx, `SELECT tenant, hash FROM api_keys WHERE id = $1 FOR UPDATE`, k.ID).Scan(&tenant, &hash)
		switch {
		case err == nil:
			if tenant != k.Tenant || (k.Hash != "" && k.Hash != hash) {
				return fmt.Errorf("api key %s: %w", k.ID, store.ErrConflict)
			}
			_, err = tx.Exec(ctx, `UPDATE api_keys SET json = $1 WHERE id = $2`, j, k.ID)
			return err
		case errors.Is(err, pgx.ErrNoRows):
			if k.Hash == "" {
				return errors.New("api key without a hash")
			}
			_, err = tx.Exec(ctx, `INSERT INTO api_keys(id, tenant, hash, json) VALUES($1,$2,$3,$4)`, k.ID, k.Tenant, k.Hash, j)
			return err
		}
		return err
	})
	if isUnique(err) {
		return fmt.Errorf("api key %s: %w", k.ID, store.ErrConflict)
	}
	return err
}

// APIKey returns a key with its hash.
func (s *DB) APIKey(ctx context.Context, id string) (store.APIKey, error) {
	var j []byte
	var hash string
	err := s.pool.QueryRow(ctx, `SELECT json, hash FROM api_keys WHERE id = $1`, id).Scan(&j, &hash)
	if err != nil {
		return store.APIKey{}, notFound(err, "api key "+id)
	}
	var k store.APIKey
	if err := json.Unmarshal(j, &k); err != nil {
		return k, err
	}
	k.Hash = hash
	return k, nil
}

// APIKeys returns a tenant's keys (without hashes).
func (s *DB) APIKeys(ctx context.Context, tenant string) ([]store.APIKey, error) {
	return jsonRows[store.APIKey](ctx, s, "api key", `SELECT json FROM api_keys WHERE tenant = $1 ORDER BY id`, tenant)
}

// TouchAPIKeys raises the keys' LastUsed, in one transaction (the rows
// locked in ID order, so two nodes touching the same keys cannot
// deadlock).
func (s *DB) TouchAPIKeys(ctx context.Context, used []store.KeyUse) error {
	if len(used) == 0 {
		return nil
	}
	us := append([]store.KeyUse(nil), used...)
	sort.Slice(us, func(i, j int) bool { return us[i].ID < us[j].ID })
	return s.tx(ctx, func(tx pgx.Tx) error {
		for _, u := range us {
			var j []byte
			err := tx.QueryRow(ctx, `SELECT json FROM api_keys WHERE id = $1 FOR UPDATE`, u.ID).Scan(&j)
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			nj, ok, err := store.TouchedKeyJSON(j, u.At)
			if err != nil {
				return fmt.Errorf("api key %s: %w", u.ID, err)
			}
			if !ok {
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE api_keys SET json = $1 WHERE id = $2`, nj, u.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// PutSession stores a session; sessions expired a day before it was
// made go at the same time.
func (s *DB) PutSession(ctx context.Context, se store.Session) error {
	j, err := json.Marshal(se)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO sessions(id_hash, tenant, user_name, expires_ms, json) VALUES($1,$2,$3,$4,$5)
		ON CONFLICT (id_hash) DO UPDATE SET expires_ms = excluded.expires_ms, json = excluded.json`, se.IDHash, se.Tenant, se.User, ms(se.Expires), j)
	if err == nil {
		_, err = s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_ms < $1`, ms(se.Created.Add(-24*time.Hour)))
	}
	return err
}

// Session returns a session by its token's hash.
func (s *DB) Session(ctx context.Context, idHash string) (store.Session, error) {
	return jsonRow[store.Session](ctx, s, "session", `SELECT json FROM sessions WHERE id_hash = $1`, idHash)
}

// DeleteSession ends a session.
func (s *DB) DeleteSession(ctx context.Context, idHash string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash)
	if isBadText(err) {
		return nil
	}
	return err
}

// DeleteSessions ends every session of a user.
func (s *DB) DeleteSessions(ctx context.Context, tenant, user string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE tenant = $1 AND user_name = $2`, tenant, user)
	if isBadText(err) {
		return nil
	}
	return err
}
