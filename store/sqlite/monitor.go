package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/store"
)

// PutPortfolio creates or renames a portfolio.
func (s *DB) PutPortfolio(ctx context.Context, p store.Portfolio) error {
	j, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO portfolios(tenant, id, json) VALUES(?,?,?) ON CONFLICT(tenant, id) DO UPDATE SET json = excluded.json`, p.Tenant, p.ID, string(j))
	return err
}

// Portfolios returns a tenant's portfolios by id.
func (s *DB) Portfolios(ctx context.Context, tenant string) ([]store.Portfolio, error) {
	return jsonRows[store.Portfolio](ctx, s.r, "portfolio", `SELECT json FROM portfolios WHERE tenant = ? ORDER BY id`, tenant)
}

// DeletePortfolio deletes a portfolio and its vessels.
func (s *DB) DeletePortfolio(ctx context.Context, tenant, id string) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM portfolios WHERE tenant = ? AND id = ?`, tenant, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("portfolio %s: %w", id, store.ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM portfolio_vessels WHERE tenant = ? AND portfolio = ?`, tenant, id); err != nil {
		return err
	}
	return tx.Commit()
}

// PutPortfolioVessels creates or replaces vessels, all or none.
func (s *DB) PutPortfolioVessels(ctx context.Context, vs []store.PortfolioVessel) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO portfolio_vessels(tenant, portfolio, id, imo, mmsi, json) VALUES(?,?,?,?,?,?)
		ON CONFLICT(tenant, portfolio, id) DO UPDATE SET imo = excluded.imo, mmsi = excluded.mmsi, json = excluded.json`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, v := range vs {
		j, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, v.Tenant, v.Portfolio, v.ID, v.IMO, v.MMSI, string(j)); err != nil {
			return fmt.Errorf("store portfolio vessel %s: %w", v.ID, err)
		}
	}
	return tx.Commit()
}

// DeletePortfolioVessel removes a vessel from a portfolio.
func (s *DB) DeletePortfolioVessel(ctx context.Context, tenant, portfolio, id string) error {
	res, err := s.exec(ctx, `DELETE FROM portfolio_vessels WHERE tenant = ? AND portfolio = ? AND id = ?`, tenant, portfolio, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("portfolio vessel %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// PortfolioVessels returns vessels by tenant, portfolio and id.
func (s *DB) PortfolioVessels(ctx context.Context, tenant, portfolio string) ([]store.PortfolioVessel, error) {
	switch {
	case tenant == "":
		return jsonRows[store.PortfolioVessel](ctx, s.r, "portfolio vessel", `SELECT json FROM portfolio_vessels ORDER BY tenant, portfolio, id`)
	case portfolio == "":
		return jsonRows[store.PortfolioVessel](ctx, s.r, "portfolio vessel", `SELECT json FROM portfolio_vessels WHERE tenant = ? ORDER BY portfolio, id`, tenant)
	}
	return jsonRows[store.PortfolioVessel](ctx, s.r, "portfolio vessel", `SELECT json FROM portfolio_vessels WHERE tenant = ? AND portfolio = ? ORDER BY id`, tenant, portfolio)
}

// PutAlert creates or updates an alert and queues its deliveries in one
// transaction; each write's change number is the tenant's highest plus
// one, taken in the transaction (writers are serialised).
func (s *DB) PutAlert(ctx context.Context, a *store.Alert, deliveries []store.Delivery, payload func(*store.Alert) []byte) (err error) {
	id, change := a.ID, a.Change
	defer func() {
		if err != nil {
			a.ID, a.Change = id, change
		}
	}()
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if a.ID == 0 {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM alerts WHERE tenant = ? AND key = ?`, a.Tenant, a.Key).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("alert %s: %w", a.Key, store.ErrConflict)
		}
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM alerts WHERE tenant = ?`, a.Tenant).Scan(&a.ID); err != nil {
			return err
		}
	}
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(change), 0) + 1 FROM alerts WHERE tenant = ?`, a.Tenant).Scan(&a.Change); err != nil {
		return err
	}
	j, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO alerts(tenant, id, key, state, kind, portfolio, vessel, change, json) VALUES(?,?,?,?,?,?,?,?,?)
		ON CONFLICT(tenant, id) DO UPDATE SET state = excluded.state, change = excluded.change, json = excluded.json`,
		a.Tenant, a.ID, a.Key, a.State, a.Kind, a.Portfolio, a.VesselRef, a.Change, string(j)); err != nil {
		return fmt.Errorf("store alert: %w", err)
	}
	var body []byte
	if payload != nil && len(deliveries) > 0 {
		body = payload(a)
	}
	for _, d := range deliveries {
		d.AlertID = a.ID
		d.AlertVersion = a.Version
		if d.IdempotencyKey == "" {
			d.IdempotencyKey = fmt.Sprintf("%s-%d-%d", a.Tenant, a.ID, a.Version)
		}
		if d.Payload == nil {
			d.Payload = body
		}
		dj, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if d.Payload == nil {
			d.Payload = []byte{}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox(tenant, webhook, state, next_ms, payload, json) VALUES(?,?,?,?,?,?)`,
			d.Tenant, d.Webhook, d.State, ms(d.NextAttempt), d.Payload, string(dj)); err != nil {
			return fmt.Errorf("queue delivery: %w", err)
		}
	}
	return tx.Commit()
}

// alertRows reads alerts with their change numbers: query selects json
// and change.
func alertRows(ctx context.Context, db *sql.DB, query string, args ...any) ([]store.Alert, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Alert
	for rows.Next() {
		var j []byte
		var change int64
		if err := rows.Scan(&j, &change); err != nil {
			return nil, err
		}
		var a store.Alert
		if err := json.Unmarshal(j, &a); err != nil {
			return nil, fmt.Errorf("alert: %w", err)
		}
		a.Change = change
		out = append(out, a)
	}
	return out, rows.Err()
}

// alertRow reads one alert with its change number.
func alertRow(ctx context.Context, db *sql.DB, what, query string, args ...any) (store.Alert, error) {
	as, err := alertRows(ctx, db, query, args...)
	if err != nil {
		return store.Alert{}, err
	}
	if len(as) == 0 {
		return store.Alert{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return as[0], nil
}

// Alert returns one alert.
func (s *DB) Alert(ctx context.Context, tenant string, id int64) (store.Alert, error) {
	return alertRow(ctx, s.r, fmt.Sprintf("alert %d", id), `SELECT json, change FROM alerts WHERE tenant = ? AND id = ?`, tenant, id)
}

// AlertByKey returns the alert of a change of state.
func (s *DB) AlertByKey(ctx context.Context, tenant, key string) (store.Alert, error) {
	return alertRow(ctx, s.w, "alert "+key, `SELECT json, change FROM alerts WHERE tenant = ? AND key = ?`, tenant, key)
}

// Alerts returns a tenant's alerts, newest first.
func (s *DB) Alerts(ctx context.Context, tenant string, f store.AlertFilter) ([]store.Alert, error) {
	where := []string{"tenant = ?"}
	args := []any{tenant}
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where = append(where, col+" IN ("+placeholders(len(vals))+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("state", f.States)
	in("kind", f.Kinds)
	if f.Portfolio != "" {
		where = append(where, "portfolio = ?")
		args = append(args, f.Portfolio)
	}
	if f.VesselRef != "" {
		where = append(where, "vessel = ?")
		args = append(args, f.VesselRef)
	}
	if f.AfterID > 0 {
		where = append(where, "id > ?")
		args = append(args, f.AfterID)
	}
	if f.AfterChange > 0 {
		where = append(where, "change > ?")
		args = append(args, f.AfterChange)
	}
	limit := f.Limit
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	args = append(args, limit)
	order := "id DESC"
	switch f.Order {
	case store.AlertsByChange:
		order = "change"
	case store.AlertsLastChanged:
		order = "change DESC"
	}
	return alertRows(ctx, s.r, `SELECT json, change FROM alerts WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT ?`, args...)
}

// PutWebhook creates or replaces a webhook; its sealed secrets are kept
// in the record (they are ciphertext).
func (s *DB) PutWebhook(ctx context.Context, w store.Webhook) error {
	j, err := json.Marshal(webhookRecordOf(w))
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO webhooks(tenant, id, json) VALUES(?,?,?) ON CONFLICT(tenant, id) DO UPDATE SET json = excluded.json`, w.Tenant, w.ID, string(j))
	return err
}

// UpdateWebhook changes a webhook in one write transaction (the writer's
// transactions take SQLite's write lock when they begin).
func (s *DB) UpdateWebhook(ctx context.Context, tenant, id string, fn func(*store.Webhook) error) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var j string
	if err := tx.QueryRowContext(ctx, `SELECT json FROM webhooks WHERE tenant = ? AND id = ?`, tenant, id).Scan(&j); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("webhook %s: %w", id, store.ErrNotFound)
		}
		return err
	}
	var r webhookRecord
	if err := json.Unmarshal([]byte(j), &r); err != nil {
		return fmt.Errorf("webhook %s: %w", id, err)
	}
	w := r.webhook()
	if err := fn(&w); err != nil {
		return err
	}
	w.Tenant, w.ID = tenant, id
	b, err := json.Marshal(webhookRecordOf(w))
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET json = ? WHERE tenant = ? AND id = ?`, string(b), tenant, id); err != nil {
		return err
	}
	return tx.Commit()
}

// webhookRecord stores a webhook with its sealed secrets and URL
// credentials (which its JSON form leaves out).
type webhookRecord struct {
	store.Webhook
	Secrets  []store.SealedSecret `json:"sealed_secrets"`
	Userinfo []byte               `json:"sealed_userinfo,omitempty"`
}

func webhookRecordOf(w store.Webhook) webhookRecord {
	return webhookRecord{Webhook: w, Secrets: w.Secrets, Userinfo: w.SealedUserinfo}
}

// webhook is the stored webhook with its sealed secrets and credentials.
func (r webhookRecord) webhook() store.Webhook {
	w := r.Webhook
	w.Secrets, w.SealedUserinfo = r.Secrets, r.Userinfo
	return w
}

// Webhooks returns a tenant's webhooks ("" : every tenant's) with their
// sealed secrets.
func (s *DB) Webhooks(ctx context.Context, tenant string) ([]store.Webhook, error) {
	var recs []webhookRecord
	var err error
	if tenant == "" {
		recs, err = jsonRows[webhookRecord](ctx, s.r, "webhook", `SELECT json FROM webhooks ORDER BY tenant, id`)
	} else {
		recs, err = jsonRows[webhookRecord](ctx, s.r, "webhook", `SELECT json FROM webhooks WHERE tenant = ? ORDER BY id`, tenant)
	}
	out := make([]store.Webhook, len(recs))
	for i, r := range recs {
		out[i] = r.webhook()
	}
	return out, err
}

// DeleteWebhook deletes a webhook; its pending deliveries become dead.
func (s *DB) DeleteWebhook(ctx context.Context, tenant, id string) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE tenant = ? AND id = ?`, tenant, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("webhook %s: %w", id, store.ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'dead', json = json_set(json, '$.state', 'dead', '$.last_error', 'webhook deleted') WHERE tenant = ? AND webhook = ? AND state = 'pending'`, tenant, id); err != nil {
		return err
	}
	return tx.Commit()
}

func scanDelivery(rows *sql.Rows) (store.Delivery, error) {
	var d store.Delivery
	var id int64
	var j string
	var payload []byte
	if err := rows.Scan(&id, &payload, &j); err != nil {
		return d, err
	}
	if err := json.Unmarshal([]byte(j), &d); err != nil {
		return d, err
	}
	d.ID, d.Payload = id, payload
	return d, nil
}

// ClaimDeliveries takes deliveries due by now, holding them until
// leaseUntil (another worker does not take them meanwhile).
func (s *DB) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]store.Delivery, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT id, payload, json FROM outbox WHERE state = 'pending' AND next_ms <= ? ORDER BY next_ms, id LIMIT ?`, ms(now), limit)
	if err != nil {
		return nil, err
	}
	var out []store.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, d := range out {
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET next_ms = ? WHERE id = ?`, ms(leaseUntil), d.ID); err != nil {
			return nil, err
		}
	}
	return out, tx.Commit()
}

// UpdateDelivery stores a delivery's new state.
func (s *DB) UpdateDelivery(ctx context.Context, d store.Delivery) error {
	j, err := json.Marshal(d)
	if err != nil {
		return err
	}
	res, err := s.exec(ctx, `UPDATE outbox SET state = ?, next_ms = ?, json = ? WHERE id = ? AND tenant = ?`, d.State, ms(d.NextAttempt), string(j), d.ID, d.Tenant)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delivery %d: %w", d.ID, store.ErrNotFound)
	}
	return nil
}

// Deliveries returns a tenant's deliveries, newest first.
func (s *DB) Deliveries(ctx context.Context, tenant string, f store.DeliveryFilter) ([]store.Delivery, error) {
	q := `SELECT id, payload, json FROM outbox WHERE tenant = ?`
	args := []any{tenant}
	if len(f.States) > 0 {
		q += ` AND state IN (` + placeholders(len(f.States)) + `)`
		for _, st := range f.States {
			args = append(args, st)
		}
	}
	limit := f.Limit
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// MonitorState reads a cursor.
func (s *DB) MonitorState(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.w.QueryRowContext(ctx, `SELECT value FROM monitor_state WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("monitor state %s: %w", key, store.ErrNotFound)
	}
	return v, err
}

// PutMonitorState writes a cursor.
func (s *DB) PutMonitorState(ctx context.Context, key string, v []byte) error {
	_, err := s.exec(ctx, `INSERT INTO monitor_state(key, value) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, v)
	return err
}

// EventsAfter returns events in the order they were stored, after a
// cursor (the events table's row id).
func (s *DB) EventsAfter(ctx context.Context, cursor int64, limit int) ([]store.CursorEvent, error) {
	if limit <= 0 || limit > 100000 {
		limit = 100000
	}
	rows, err := s.r.QueryContext(ctx, `SELECT rowid, json FROM events WHERE rowid > ? ORDER BY rowid LIMIT ?`, cursor, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.CursorEvent
	for rows.Next() {
		var c store.CursorEvent
		var j []byte
		if err := rows.Scan(&c.Cursor, &j); err != nil {
			return nil, err
		}
		var ev detect.Event
		if err := json.Unmarshal(j, &ev); err != nil {
			return nil, fmt.Errorf("event %d: %w", c.Cursor, err)
		}
		c.Event = ev
		out = append(out, c)
	}
	return out, rows.Err()
}

// EventCursor is the last event's row id.
func (s *DB) EventCursor(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT max(rowid) FROM events`).Scan(&n)
	return n.Int64, err
}
