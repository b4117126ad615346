package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tidewatch/tidewatch/ledger"
	"github.com/tidewatch/tidewatch/store"
)

// PutNotified creates or replaces a notified record.
func (s *DB) PutNotified(ctx context.Context, n ledger.Notified) error {
	j, err := json.Marshal(n)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO ledger_notified(id, period_start, json) VALUES(?,?,?)
		ON CONFLICT(id) DO UPDATE SET period_start = excluded.period_start, json = excluded.json`, n.ID, n.PeriodStart, string(j))
	return err
}

// execOne runs a statement that must touch one row: ErrNotFound when
// it touched none.
func (s *DB) execOne(ctx context.Context, what, q string, args ...any) error {
	res, err := s.exec(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// DeleteNotified deletes a notified record.
func (s *DB) DeleteNotified(ctx context.Context, id string) error {
	return s.execOne(ctx, "notified record "+id, `DELETE FROM ledger_notified WHERE id = ?`, id)
}

// NotifiedRecords returns every notified record by period then id.
func (s *DB) NotifiedRecords(ctx context.Context) ([]ledger.Notified, error) {
	return jsonRows[ledger.Notified](ctx, s.r, "notified record", `SELECT json FROM ledger_notified ORDER BY period_start, id`)
}

// PutCapacity creates or replaces a vessel's capacity.
func (s *DB) PutCapacity(ctx context.Context, c store.VesselCapacity) error {
	j, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO ledger_capacities(key, json) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET json = excluded.json`, c.Key(), string(j))
	return err
}

// DeleteCapacity deletes a vessel's capacity.
func (s *DB) DeleteCapacity(ctx context.Context, key string) error {
	return s.execOne(ctx, "capacity "+key, `DELETE FROM ledger_capacities WHERE key = ?`, key)
}

// Capacities returns every capacity by key.
func (s *DB) Capacities(ctx context.Context) ([]store.VesselCapacity, error) {
	return jsonRows[store.VesselCapacity](ctx, s.r, "capacity", `SELECT json FROM ledger_capacities ORDER BY key`)
}

// PutFactor creates or replaces a conversion factor.
func (s *DB) PutFactor(ctx context.Context, f ledger.Factor) error {
	j, err := json.Marshal(f)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO ledger_factors(product, json) VALUES(?,?) ON CONFLICT(product) DO UPDATE SET json = excluded.json`, f.Product, string(j))
	return err
}

// DeleteFactor deletes a stored factor.
func (s *DB) DeleteFactor(ctx context.Context, product string) error {
	return s.execOne(ctx, "factor "+product, `DELETE FROM ledger_factors WHERE product = ?`, product)
}

// Factors returns the stored factors by product.
func (s *DB) Factors(ctx context.Context) ([]ledger.Factor, error) {
	return jsonRows[ledger.Factor](ctx, s.r, "factor", `SELECT json FROM ledger_factors ORDER BY product`)
}
