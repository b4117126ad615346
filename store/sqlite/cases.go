package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tidewatch/tidewatch/store"
)

// PutSigningKey creates a signing key (ErrConflict when its id is taken in
// the tenant) or, with update, replaces one. The sealed private key is
// kept beside the JSON record, never inside it.
func (s *DB) PutSigningKey(ctx context.Context, k store.SigningKey, update bool) error {
	j, err := json.Marshal(k)
	if err != nil {
		return err
	}
	if update {
		return s.execOne(ctx, "signing key "+k.ID, `UPDATE signing_keys SET sealed = ?, json = ? WHERE tenant = ? AND id = ?`, k.Sealed, string(j), k.Tenant, k.ID)
	}
	_, err = s.exec(ctx, `INSERT INTO signing_keys(tenant, id, created_ms, sealed, json) VALUES(?,?,?,?,?) ON CONFLICT DO NOTHING`, k.Tenant, k.ID, k.Created.UnixMilli(), k.Sealed, string(j))
	if err != nil {
		return err
	}
	var got []byte
	if err := s.w.QueryRowContext(ctx, `SELECT json FROM signing_keys WHERE tenant = ? AND id = ?`, k.Tenant, k.ID).Scan(&got); err != nil {
		return err
	}
	if string(got) != string(j) {
		return fmt.Errorf("signing key %s: %w", k.ID, store.ErrConflict)
	}
	return nil
}

// deleteRowUpdate runs an update of one row, ErrNotFound when none.
func (s *DB) deleteRowUpdate(ctx context.Context, what, q string, args ...any) error {
	return s.execOne(ctx, what, q, args...)
}

func (s *DB) signingKeys(ctx context.Context, q string, args ...any) ([]store.SigningKey, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SigningKey
	for rows.Next() {
		var j, sealed []byte
		if err := rows.Scan(&j, &sealed); err != nil {
			return nil, err
		}
		var k store.SigningKey
		if err := json.Unmarshal(j, &k); err != nil {
			return nil, fmt.Errorf("signing key: %w", err)
		}
		k.Sealed = sealed
		out = append(out, k)
	}
	return out, rows.Err()
}

// SigningKeys returns a tenant's signing keys, oldest first.
func (s *DB) SigningKeys(ctx context.Context, tenant string) ([]store.SigningKey, error) {
	return s.signingKeys(ctx, `SELECT json, sealed FROM signing_keys WHERE tenant = ? ORDER BY created_ms, id`, tenant)
}

// SigningKey returns one of a tenant's signing keys.
func (s *DB) SigningKey(ctx context.Context, tenant, id string) (store.SigningKey, error) {
	ks, err := s.signingKeys(ctx, `SELECT json, sealed FROM signing_keys WHERE tenant = ? AND id = ?`, tenant, id)
	if err != nil {
		return store.SigningKey{}, err
	}
	if len(ks) == 0 {
		return store.SigningKey{}, fmt.Errorf("signing key %s: %w", id, store.ErrNotFound)
	}
	return ks[0], nil
}

// PutInputRecords records an ingest run's inputs, all or none.
func (s *DB) PutInputRecords(ctx context.Context, rs []store.InputRecord) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, r := range rs {
		j, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO input_records(run, name, json) VALUES(?,?,?) ON CONFLICT(run, name) DO UPDATE SET json = excluded.json`,
			r.Run, r.Name, string(j)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// InputRecords returns every recorded input by run and name.
func (s *DB) InputRecords(ctx context.Context) ([]store.InputRecord, error) {
	return jsonRows[store.InputRecord](ctx, s.r, "input record", `SELECT json FROM input_records ORDER BY run, name`)
}

// PutImportedCase creates or replaces a tenant's imported case.
func (s *DB) PutImportedCase(ctx context.Context, c store.ImportedCase) error {
	j, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO imported_cases(tenant, id, imo, mmsi, imported_ms, json) VALUES(?,?,?,?,?,?)
		ON CONFLICT(tenant, id) DO UPDATE SET imo = excluded.imo, mmsi = excluded.mmsi, imported_ms = excluded.imported_ms, json = excluded.json`,
		c.Tenant, c.ID, c.IMO, c.MMSI, ms(c.Imported), string(j))
	return err
}

// ImportedCases returns a tenant's imported cases about a vessel (every
// one when q is zero), newest first.
func (s *DB) ImportedCases(ctx context.Context, tenant string, q store.VesselQuery) ([]store.ImportedCase, error) {
	query := `SELECT json FROM imported_cases WHERE tenant = ?`
	args := []any{tenant}
	switch {
	case q.IMO != 0 && q.MMSI != 0:
		query += ` AND (imo = ? OR mmsi = ?)`
		args = append(args, q.IMO, q.MMSI)
	case q.IMO != 0:
		query += ` AND imo = ?`
		args = append(args, q.IMO)
	case q.MMSI != 0:
		query += ` AND mmsi = ?`
		args = append(args, q.MMSI)
	}
	return jsonRows[store.ImportedCase](ctx, s.r, "imported case", query+` ORDER BY imported_ms DESC, id`, args...)
}
