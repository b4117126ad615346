package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/store"
)

// PutPortfolio creates or renames a portfolio.
func (s *DB) PutPortfolio(ctx context.Context, p store.Portfolio) error {
	j, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO portfolios(tenant, id, json) VALUES($1,$2,$3) ON CONFLICT (tenant, id) DO UPDATE SET json = excluded.json`, p.Tenant, p.ID, j)
	return err
}

// Portfolios returns a tenant's portfolios by id.
func (s *DB) Portfolios(ctx context.Context, tenant string) ([]store.Portfolio, error) {
	return jsonRows[store.Portfolio](ctx, s, "portfolio", `SELECT json FROM portfolios WHERE tenant = $1 ORDER BY id`, tenant)
}

// DeletePortfolio deletes a portfolio and its vessels.
func (s *DB) DeletePortfolio(ctx context.Context, tenant, id string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM portfolios WHERE tenant = $1 AND id = $2`, tenant, id)
		if err != nil {
			return notFound(err, "portfolio "+id)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("portfolio %s: %w", id, store.ErrNotFound)
		}
		_, err = tx.Exec(ctx, `DELETE FROM portfolio_vessels WHERE tenant = $1 AND portfolio = $2`, tenant, id)
		return err
	})
}

// PutPortfolioVessels creates or replaces vessels, all or none.
func (s *DB) PutPortfolioVessels(ctx context.Context, vs []store.PortfolioVessel) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var b pgx.Batch
		for _, v := range vs {
			j, err := json.Marshal(v)
			if err != nil {
				return err
			}
			b.Queue(`INSERT INTO portfolio_vessels(tenant, portfolio, id, imo, mmsi, json) VALUES($1,$2,$3,$4,$5,$6)
				ON CONFLICT (tenant, portfolio, id) DO UPDATE SET imo = excluded.imo, mmsi = excluded.mmsi, json = excluded.json`,
				v.Tenant, v.Portfolio, v.ID, int64(v.IMO), int64(v.MMSI), j)
		}
		if b.Len() == 0 {
			return nil
		}
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("store portfolio vessels: %w", err)
		}
		return nil
	})
}

// DeletePortfolioVessel removes a vessel from a portfolio.
func (s *DB) DeletePortfolioVessel(ctx context.Context, tenant, portfolio, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM portfolio_vessels WHERE tenant = $1 AND portfolio = $2 AND id = $3`, tenant, portfolio, id)
	if err != nil {
		return notFound(err, "portfolio vessel "+id)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("portfolio vessel %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// PortfolioVessels returns vessels by tenant, portfolio and id.
func (s *DB) PortfolioVessels(ctx context.Context, tenant, portfolio string) ([]store.PortfolioVessel, error) {
	switch {
	case tenant == "":
		return jsonRows[store.PortfolioVessel](ctx, s, "portfolio vessel", `SELECT json FROM portfolio_vessels ORDER BY tenant, portfolio, id`)
	case portfolio == "":
		return jsonRows[store.PortfolioVessel](ctx, s, "portfolio vessel", `SELECT json FROM portfolio_vessels WHERE tenant = $1 ORDER BY portfolio, id`, tenant)
	}
	return jsonRows[store.PortfolioVessel](ctx, s, "portfolio vessel", `SELECT json FROM portfolio_vessels WHERE tenant = $1 AND portfolio = $2 ORDER BY id`, tenant, portfolio)
}

// PutAlert creates or updates an alert and queues its deliveries in one
// transaction, under the tenant's alert lock: a new alert's id and every
// write's change number (the sequence alert_changes) are taken under it,
// so both grow in commit order, for readers that follow them. A new
// alert whose key another node created first is ErrConflict.
func (s *DB) PutAlert(ctx context.Context, a *store.Alert, deliveries []store.Delivery, payload func(*store.Alert) []byte) error {
	id, change := a.ID, a.Change
	err := s.tx(ctx, func(tx pgx.Tx) error {
		a.ID = id
		if err := s.lock(ctx, tx, "alerts", a.Tenant); err != nil {
			return err
		}
		if a.ID == 0 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM alerts WHERE tenant = $1 AND key = $2`, a.Tenant, a.Key).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("alert %s: %w", a.Key, store.ErrConflict)
			}
			if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) + 1 FROM alerts WHERE tenant = $1`, a.Tenant).Scan(&a.ID); err != nil {
				return err
			}
		}
		if err := tx.QueryRow(ctx, `SELECT nextval('alert_changes')`).Scan(&a.Change); err != nil {
			return err
		}
		j, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO alerts(tenant, id, key, state, kind, portfolio, vessel, change, json) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9)
			ON CONFLICT (tenant, id) DO UPDATE SET state = excluded.state, change = excluded.change, json = excluded.json`,
			a.Tenant, a.ID, a.Key, a.State, a.Kind, a.Portfolio, a.VesselRef, a.Change, j); err != nil {
			if isUnique(err) {
				return fmt.Errorf("alert %s: %w", a.Key, store.ErrConflict)
			}
			return fmt.Errorf("store alert: %w", err)
		}
		var body []byte
		if payload != nil && len(deliveries) > 0 {
			body = payload(a)
		}
		rows := make([][]any, 0, len(deliveries))
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
			rows = append(rows, []any{d.Tenant, d.Webhook, d.State, ms(d.NextAttempt), d.Payload, dj})
		}
		if len(rows) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"outbox"}, []string{"tenant", "webhook", "state", "next_ms", "payload", "json"}, pgx.CopyFromRows(rows)); err != nil {
				return fmt.Errorf("queue deliveries: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		a.ID, a.Change = id, change
	}
	return err
}

// alertRows reads alerts with their change numbers: query selects json
// and change.
func (s *DB) alertRows(ctx context.Context, query string, args ...any) ([]store.Alert, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		if isBadText(err) {
			return nil, nil
		}
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
	if err := rows.Err(); err != nil {
		if isBadText(err) {
			return nil, nil
		}
		return nil, err
	}
	return out, nil
}

// alertRow reads one alert with its change number.
func (s *DB) alertRow(ctx context.Context, what, query string, args ...any) (store.Alert, error) {
	as, err := s.alertRows(ctx, query, args...)
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
	return s.alertRow(ctx, fmt.Sprintf("alert %d", id), `SELECT json, change FROM alerts WHERE tenant = $1 AND id = $2`, tenant, id)
}

// AlertByKey returns the alert of a change of state.
func (s *DB) AlertByKey(ctx context.Context, tenant, key string) (store.Alert, error) {
	return s.alertRow(ctx, "alert "+key, `SELECT json, change FROM alerts WHERE tenant = $1 AND key = $2`, tenant, key)
}

// Alerts returns a tenant's alerts, newest first.
func (s *DB) Alerts(ctx context.Context, tenant string, f store.AlertFilter) ([]store.Alert, error) {
	args := []any{tenant}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	where := []string{"tenant = $1"}
	if len(f.States) > 0 {
		where = append(where, "state = ANY("+arg(f.States)+")")
	}
	if len(f.Kinds) > 0 {
		where = append(where, "kind = ANY("+arg(f.Kinds)+")")
	}
	if f.Portfolio != "" {
		where = append(where, "portfolio = "+arg(f.Portfolio))
	}
	if f.VesselRef != "" {
		where = append(where, "vessel = "+arg(f.VesselRef))
	}
	if f.AfterID > 0 {
		where = append(where, "id > "+arg(f.AfterID))
	}
	if f.AfterChange > 0 {
		where = append(where, "change > "+arg(f.AfterChange))
	}
	limit := f.Limit
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	order := "id DESC"
	switch f.Order {
	case store.AlertsByChange:
		order = "change"
	case store.AlertsLastChanged:
		order = "change DESC"
	}
	return s.alertRows(ctx, `SELECT json, change FROM alerts WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT `+arg(limit), args...)
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

// PutWebhook creates or replaces a webhook; its sealed secrets are kept
// in the record (they are ciphertext).
func (s *DB) PutWebhook(ctx context.Context, w store.Webhook) error {
	j, err := json.Marshal(webhookRecordOf(w))
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO webhooks(tenant, id, json) VALUES($1,$2,$3) ON CONFLICT (tenant, id) DO UPDATE SET json = excluded.json`, w.Tenant, w.ID, j)
	return err
}

// UpdateWebhook changes a webhook in one transaction holding its row
// (SELECT ... FOR UPDATE).
func (s *DB) UpdateWebhook(ctx context.Context, tenant, id string, fn func(*store.Webhook) error) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var j []byte
		if err := tx.QueryRow(ctx, `SELECT json FROM webhooks WHERE tenant = $1 AND id = $2 FOR UPDATE`, tenant, id).Scan(&j); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("webhook %s: %w", id, store.ErrNotFound)
			}
			return err
		}
		var r webhookRecord
		if err := json.Unmarshal(j, &r); err != nil {
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
		_, err = tx.Exec(ctx, `UPDATE webhooks SET json = $1 WHERE tenant = $2 AND id = $3`, b, tenant, id)
		return err
	})
}

// Webhooks returns a tenant's webhooks ("" : every tenant's) with their
// sealed secrets.
func (s *DB) Webhooks(ctx context.Context, tenant string) ([]store.Webhook, error) {
	var recs []webhookRecord
	var err error
	if tenant == "" {
		recs, err = jsonRows[webhookRecord](ctx, s, "webhook", `SELECT json FROM webhooks ORDER BY tenant, id`)
	} else {
		recs, err = jsonRows[webhookRecord](ctx, s, "webhook", `SELECT json FROM webhooks WHERE tenant = $1 ORDER BY id`, tenant)
	}
	out := make([]store.Webhook, len(recs))
	for i, r := range recs {
		out[i] = r.webhook()
	}
	return out, err
}

// DeleteWebhook deletes a webhook; its pending deliveries become dead.
func (s *DB) DeleteWebhook(ctx context.Context, tenant, id string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM webhooks WHERE tenant = $1 AND id = $2`, tenant, id)
		if err != nil {
			return notFound(err, "webhook "+id)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("webhook %s: %w", id, store.ErrNotFound)
		}
		rows, err := tx.Query(ctx, `SELECT id, payload, json FROM outbox WHERE tenant = $1 AND webhook = $2 AND state = 'pending' FOR UPDATE`, tenant, id)
		if err != nil {
			return err
		}
		ds, err := scanDeliveries(rows)
		if err != nil {
			return err
		}
		for _, d := range ds {
			d.State, d.LastError = "dead", "webhook deleted"
			j, err := json.Marshal(d)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE outbox SET state = 'dead', json = $1 WHERE id = $2`, j, d.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

func scanDeliveries(rows pgx.Rows) ([]store.Delivery, error) {
	defer rows.Close()
	var out []store.Delivery
	for rows.Next() {
		var d store.Delivery
		var id int64
		var j, payload []byte
		if err := rows.Scan(&id, &payload, &j); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(j, &d); err != nil {
			return nil, fmt.Errorf("delivery %d: %w", id, err)
		}
		d.ID, d.Payload = id, payload
		out = append(out, d)
	}
	if err := rows.Err(); err != nil && !isBadText(err) {
		return nil, err
	}
	return out, nil
}

// ClaimDeliveries takes deliveries due by now, holding them until
// leaseUntil. Several nodes claim at once without waiting on each other
// and without taking one delivery twice: rows another node is claiming
// are skipped (FOR UPDATE SKIP LOCKED), and once claimed a delivery is
// not due again until its lease ends.
func (s *DB) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]store.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	type claimed struct {
		d    store.Delivery
		next int64
	}
	var out []claimed
	err := s.tx(ctx, func(tx pgx.Tx) error {
		out = out[:0]
		rows, err := tx.Query(ctx, `WITH due AS (SELECT id, next_ms FROM outbox WHERE state = 'pending' AND next_ms <= $1 ORDER BY next_ms, id LIMIT $2 FOR UPDATE SKIP LOCKED)
			UPDATE outbox o SET next_ms = $3 FROM due WHERE o.id = due.id RETURNING o.id, o.payload, o.json, due.next_ms`, ms(now), limit, ms(leaseUntil))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c claimed
			var j []byte
			if err := rows.Scan(&c.d.ID, &c.d.Payload, &j, &c.next); err != nil {
				return err
			}
			id, payload := c.d.ID, c.d.Payload
			if err := json.Unmarshal(j, &c.d); err != nil {
				return fmt.Errorf("delivery %d: %w", id, err)
			}
			c.d.ID, c.d.Payload = id, payload
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].next != out[j].next {
			return out[i].next < out[j].next
		}
		return out[i].d.ID < out[j].d.ID
	})
	ds := make([]store.Delivery, len(out))
	for i, c := range out {
		ds[i] = c.d
	}
	return ds, nil
}

// UpdateDelivery stores a delivery's new state.
func (s *DB) UpdateDelivery(ctx context.Context, d store.Delivery) error {
	j, err := json.Marshal(d)
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE outbox SET state = $1, next_ms = $2, json = $3 WHERE id = $4 AND tenant = $5`, d.State, ms(d.NextAttempt), j, d.ID, d.Tenant)
	if err != nil {
		return notFound(err, fmt.Sprintf("delivery %d", d.ID))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delivery %d: %w", d.ID, store.ErrNotFound)
	}
	return nil
}

// Deliveries returns a tenant's deliveries, newest first.
func (s *DB) Deliveries(ctx context.Context, tenant string, f store.DeliveryFilter) ([]store.Delivery, error) {
	limit := f.Limit
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	var rows pgx.Rows
	var err error
	if len(f.States) > 0 {
		rows, err = s.pool.Query(ctx, `SELECT id, payload, json FROM outbox WHERE tenant = $1 AND state = ANY($2) ORDER BY id DESC LIMIT $3`, tenant, f.States, limit)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT id, payload, json FROM outbox WHERE tenant = $1 ORDER BY id DESC LIMIT $2`, tenant, limit)
	}
	if err != nil {
		if isBadText(err) {
			return nil, nil
		}
		return nil, err
	}
	return scanDeliveries(rows)
}

// MonitorState reads a cursor.
func (s *DB) MonitorState(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM monitor_state WHERE key = $1`, key).Scan(&v)
	if err != nil {
		return nil, notFound(err, "monitor state "+key)
	}
	return v, nil
}

// PutMonitorState writes a cursor.
func (s *DB) PutMonitorState(ctx context.Context, key string, v []byte) error {
	if v == nil {
		v = []byte{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO monitor_state(key, value) VALUES($1,$2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, v)
	return err
}

// EventsAfter returns events in the order they were stored, after a
// cursor (the events' id, given in commit order: see CommitBatch).
func (s *DB) EventsAfter(ctx context.Context, cursor int64, limit int) ([]store.CursorEvent, error) {
	if limit <= 0 || limit > 100000 {
		limit = 100000
	}
	rows, err := s.pool.Query(ctx, `SELECT id, json FROM events WHERE id > $1 ORDER BY id LIMIT $2`, cursor, limit)
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

// EventCursor is the last event's cursor.
func (s *DB) EventCursor(ctx context.Context) (int64, error) {
	var n *int64
	if err := s.pool.QueryRow(ctx, `SELECT max(id) FROM events`).Scan(&n); err != nil {
		return 0, err
	}
	if n == nil {
		return 0, nil
	}
	return *n, nil
}
