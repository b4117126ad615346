package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tidewatch/tidewatch/ledger"
	"github.com/tidewatch/tidewatch/store"
)

// execOne runs a statement that must touch one row: ErrNotFound when it
// touched none.
func (s *DB) execOne(ctx context.Context, what, q string, args ...any) error {
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil {
		if isBadText(err) {
			return fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// PutNotified creates or replaces a notified record.
func (s *DB) PutNotified(ctx context.Context, n ledger.Notified) error {
	j, err := json.Marshal(n)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO ledger_notified(id, period_start, json) VALUES($1,$2,$3)
		ON CONFLICT (id) DO UPDATE SET period_start = excluded.period_start, json = excluded.json`, n.ID, n.PeriodStart, j)
	return err
}

// DeleteNotified deletes a notified record.
func (s *DB) DeleteNotified(ctx context.Context, id string) error {
	return s.execOne(ctx, "notified record "+id, `DELETE FROM ledger_notified WHERE id = $1`, id)
}

// NotifiedRecords returns every notified record by period then id.
func (s *DB) NotifiedRecords(ctx context.Context) ([]ledger.Notified, error) {
	return jsonRows[ledger.Notified](ctx, s, "notified record", `SELECT json FROM ledger_notified ORDER BY period_start, id`)
}

// PutCapacity creates or replaces a vessel's capacity.
func (s *DB) PutCapacity(ctx context.Context, c store.VesselCapacity) error {
	j, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO ledger_capacities(key, json) VALUES($1,$2) ON CONFLICT (key) DO UPDATE SET json = excluded.json`, c.Key(), j)
	return err
}

// DeleteCapacity deletes a vessel's capacity.
func (s *DB) DeleteCapacity(ctx context.Context, key string) error {
	return s.execOne(ctx, "capacity "+key, `DELETE FROM ledger_capacities WHERE key = $1`, key)
}

// Capacities returns every capacity by key.
func (s *DB) Capacities(ctx context.Context) ([]store.VesselCapacity, error) {
	return jsonRows[store.VesselCapacity](ctx, s, "capacity", `SELECT json FROM ledger_capacities ORDER BY key`)
}

// PutFactor creates or replaces a conversion factor.
func (s *DB) PutFactor(ctx context.Context, f ledger.Factor) error {
	j, err := json.Marshal(f)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO ledger_factors(product, json) VALUES($1,$2) ON CONFLICT (product) DO UPDATE SET json = excluded.json`, f.Product, j)
	return err
}

// DeleteFactor deletes a stored factor.
func (s *DB) DeleteFactor(ctx context.Context, product string) error {
	return s.execOne(ctx, "factor "+product, `DELETE FROM ledger_factors WHERE product = $1`, product)
}

// Factors returns the stored factors by product.
func (s *DB) Factors(ctx context.Context) ([]ledger.Factor, error) {
	return jsonRows[ledger.Factor](ctx, s, "factor", `SELECT json FROM ledger_factors ORDER BY product`)
}

// PutSigningKey creates a signing key (ErrConflict when its id is taken in
// the tenant, by this node or another at the same moment) or, with
// update, replaces one. The sealed private key is kept beside the JSON
// record, never inside it.
func (s *DB) PutSigningKey(ctx context.Context, k store.SigningKey, update bool) error {
	j, err := json.Marshal(k)
	if err != nil {
		return err
	}
	if update {
		return s.execOne(ctx, "signing key "+k.ID, `UPDATE signing_keys SET sealed = $1, json = $2 WHERE tenant = $3 AND id = $4`, k.Sealed, j, k.Tenant, k.ID)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO signing_keys(tenant, id, created_ms, sealed, json) VALUES($1,$2,$3,$4,$5)`, k.Tenant, k.ID, k.Created.UnixMilli(), k.Sealed, j)
	if isUnique(err) {
		return fmt.Errorf("signing key %s: %w", k.ID, store.ErrConflict)
	}
	return err
}

func (s *DB) signingKeys(ctx context.Context, q string, args ...any) ([]store.SigningKey, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		if isBadText(err) {
			return nil, nil
		}
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
	return s.signingKeys(ctx, `SELECT json, sealed FROM signing_keys WHERE tenant = $1 ORDER BY created_ms, id`, tenant)
}

// SigningKey returns one of a tenant's signing keys.
func (s *DB) SigningKey(ctx context.Context, tenant, id string) (store.SigningKey, error) {
	ks, err := s.signingKeys(ctx, `SELECT json, sealed FROM signing_keys WHERE tenant = $1 AND id = $2`, tenant, id)
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
	return s.tx(ctx, func(tx pgx.Tx) error {
		for _, r := range rs {
			j, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO input_records(run, name, json) VALUES($1,$2,$3) ON CONFLICT (run, name) DO UPDATE SET json = excluded.json`,
				r.Run, r.Name, j); err != nil {
				return err
			}
		}
		return nil
	})
}

// InputRecords returns every recorded input by run and name.
func (s *DB) InputRecords(ctx context.Context) ([]store.InputRecord, error) {
	return jsonRows[store.InputRecord](ctx, s, "input record", `SELECT json FROM input_records ORDER BY run, name`)
}

// PutImportedCase creates or replaces a tenant's imported case.
func (s *DB) PutImportedCase(ctx context.Context, c store.ImportedCase) error {
	j, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO imported_cases(tenant, id, imo, mmsi, imported_ms, json) VALUES($1,$2,$3,$4,$5,$6)
		ON CONFLICT (tenant, id) DO UPDATE SET imo = excluded.imo, mmsi = excluded.mmsi, imported_ms = excluded.imported_ms, json = excluded.json`,
		c.Tenant, c.ID, int64(c.IMO), int64(c.MMSI), c.Imported.UnixMilli(), j)
	return err
}

// ImportedCases returns a tenant's imported cases about a vessel (every
// one when q is zero), newest first.
func (s *DB) ImportedCases(ctx context.Context, tenant string, q store.VesselQuery) ([]store.ImportedCase, error) {
	query := `SELECT json FROM imported_cases WHERE tenant = $1`
	args := []any{tenant}
	switch {
	case q.IMO != 0 && q.MMSI != 0:
		query += ` AND (imo = $2 OR mmsi = $3)`
		args = append(args, int64(q.IMO), int64(q.MMSI))
	case q.IMO != 0:
		query += ` AND imo = $2`
		args = append(args, int64(q.IMO))
	case q.MMSI != 0:
		query += ` AND mmsi = $2`
		args = append(args, int64(q.MMSI))
	}
	return jsonRows[store.ImportedCase](ctx, s, "imported case", query+` ORDER BY imported_ms DESC, id`, args...)
}
