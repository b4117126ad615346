package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tidewatch/tidewatch/store"
)

// PutAssessment stores a risk profile (once per tenant and content hash).
func (s *DB) PutAssessment(ctx context.Context, a store.Assessment) error {
	profile := []byte(a.Profile)
	if profile == nil {
		profile = []byte{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO assessments(tenant, id, imo, mmsi, as_of_ms, score, outcome, profile) VALUES($1,$2,$3,$4,$5,$6,$7,$8)
		ON CONFLICT (tenant, id) DO NOTHING`, a.Tenant, a.ID, int64(a.IMO), int64(a.MMSI), ms(a.AsOf), a.Score, a.Outcome, profile)
	if err != nil {
		return fmt.Errorf("store assessment %s: %w", a.ID, err)
	}
	return nil
}

// Assessment returns a stored profile.
func (s *DB) Assessment(ctx context.Context, tenant, id string) (store.Assessment, error) {
	a := store.Assessment{Tenant: tenant, ID: id}
	var imo, mmsi, asOf int64
	var profile []byte
	err := s.pool.QueryRow(ctx, `SELECT imo, mmsi, as_of_ms, score, outcome, profile FROM assessments WHERE tenant = $1 AND id = $2`, tenant, id).
		Scan(&imo, &mmsi, &asOf, &a.Score, &a.Outcome, &profile)
	if err != nil {
		return a, notFound(err, "assessment "+id)
	}
	a.IMO, a.MMSI, a.AsOf, a.Profile = uint32(imo), uint32(mmsi), fromMS(asOf), json.RawMessage(profile)
	return a, nil
}

// PutDecision creates a decision (ID 0: the next of the tenant, numbered
// under the tenant's lock so two nodes never give one number twice) or
// replaces one (its approval changed).
func (s *DB) PutDecision(ctx context.Context, d store.Decision) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if d.ID == 0 {
			if err := s.lock(ctx, tx, "decisions", d.Tenant); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) + 1 FROM decisions WHERE tenant = $1`, d.Tenant).Scan(&d.ID); err != nil {
				return err
			}
		}
		j, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO decisions(tenant, id, subject, imo, mmsi, json) VALUES($1,$2,$3,$4,$5,$6)
			ON CONFLICT (tenant, id) DO UPDATE SET json = excluded.json`, d.Tenant, d.ID, d.Subject, int64(d.IMO), int64(d.MMSI), j); err != nil {
			return fmt.Errorf("store decision: %w", err)
		}
		return nil
	})
}

// UpdateDecisionIf stores d over the decision of the same id only if
// that decision's status is still from (ErrConflict otherwise,
// ErrNotFound when there is none): the stored row is locked while it is
// compared, so two approvers on two nodes cannot both win.
func (s *DB) UpdateDecisionIf(ctx context.Context, d store.Decision, from string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var cur []byte
		if err := tx.QueryRow(ctx, `SELECT json FROM decisions WHERE tenant = $1 AND id = $2 FOR UPDATE`, d.Tenant, d.ID).Scan(&cur); err != nil {
			if errors.Is(err, pgx.ErrNoRows) || isBadText(err) {
				return store.ErrNotFound
			}
			return err
		}
		var old store.Decision
		if err := json.Unmarshal(cur, &old); err != nil {
			return fmt.Errorf("decision %d: %w", d.ID, err)
		}
		if old.Status != from {
			return store.ErrConflict
		}
		j, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE decisions SET json = $1 WHERE tenant = $2 AND id = $3`, j, d.Tenant, d.ID); err != nil {
			return fmt.Errorf("store decision: %w", err)
		}
		return nil
	})
}

// Decisions returns a tenant's decisions about a vessel (by IMO or MMSI;
// both zero: every decision), oldest first.
func (s *DB) Decisions(ctx context.Context, tenant string, q store.VesselQuery) ([]store.Decision, error) {
	imo, mmsi := int64(q.IMO), int64(q.MMSI)
	switch {
	case q.IMO != 0 && q.MMSI != 0:
		return jsonRows[store.Decision](ctx, s, "decision", `SELECT json FROM decisions WHERE tenant = $1 AND (imo = $2 OR mmsi = $3) ORDER BY id`, tenant, imo, mmsi)
	case q.IMO != 0:
		return jsonRows[store.Decision](ctx, s, "decision", `SELECT json FROM decisions WHERE tenant = $1 AND imo = $2 ORDER BY id`, tenant, imo)
	case q.MMSI != 0:
		return jsonRows[store.Decision](ctx, s, "decision", `SELECT json FROM decisions WHERE tenant = $1 AND mmsi = $2 ORDER BY id`, tenant, mmsi)
	}
	return jsonRows[store.Decision](ctx, s, "decision", `SELECT json FROM decisions WHERE tenant = $1 ORDER BY id`, tenant)
}

// Decision returns one decision.
func (s *DB) Decision(ctx context.Context, tenant string, id int64) (store.Decision, error) {
	return jsonRow[store.Decision](ctx, s, fmt.Sprintf("decision %d", id), `SELECT json FROM decisions WHERE tenant = $1 AND id = $2`, tenant, id)
}

const auditCols = `tenant, seq, time_ms, actor, action, subject, data, prev, hash`

func scanAudit(scan func(...any) error) (store.AuditRecord, error) {
	var r store.AuditRecord
	var t int64
	var actor, action, subject, data []byte
	err := scan(&r.Tenant, &r.Seq, &t, &actor, &action, &subject, &data, &r.Prev, &r.Hash)
	r.Time, r.Actor, r.Action, r.Subject, r.Data = fromMS(t), string(actor), string(action), string(subject), json.RawMessage(data)
	return r, err
}

// AuditTail returns the tenant's last audit record.
func (s *DB) AuditTail(ctx context.Context, tenant string) (store.AuditRecord, error) {
	r, err := scanAudit(s.pool.QueryRow(ctx, `SELECT `+auditCols+` FROM audit WHERE tenant = $1 ORDER BY seq DESC LIMIT 1`, tenant).Scan)
	if err != nil {
		return r, notFound(err, "audit tail of "+tenant)
	}
	return r, nil
}

// AppendAudit appends records whose Seqs follow their tenants' tails,
// and moves each tenant's anchor to its new head, in one transaction (the
// rows by COPY, one anchor update per tenant). Nodes appending to one
// tenant's log at once take turns on the tenant's lock: the second finds
// the tail moved and gets ErrConflict.
func (s *DB) AppendAudit(ctx context.Context, rs []store.AuditRecord) error {
	if len(rs) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tails := map[string]int64{}
		counts := map[string]int64{}
		heads := map[string]store.AuditRecord{}
		var order []string
		rows := make([][]any, 0, len(rs))
		for _, r := range rs {
			tail, ok := tails[r.Tenant]
			if !ok {
				if err := s.lock(ctx, tx, "audit", r.Tenant); err != nil {
					return err
				}
				var t *int64
				if err := tx.QueryRow(ctx, `SELECT max(seq) FROM audit WHERE tenant = $1`, r.Tenant).Scan(&t); err != nil {
					return err
				}
				if t != nil {
					tail = *t
				}
				order = append(order, r.Tenant)
			}
			if r.Seq != tail+1 {
				return fmt.Errorf("append audit record %d of %s: the log's tail is %d: %w", r.Seq, r.Tenant, tail, store.ErrConflict)
			}
			tails[r.Tenant] = r.Seq
			counts[r.Tenant]++
			heads[r.Tenant] = r
			data := []byte(r.Data)
			if data == nil {
				data = []byte{}
			}
			rows = append(rows, []any{r.Tenant, r.Seq, ms(r.Time), []byte(r.Actor), []byte(r.Action), []byte(r.Subject), data, r.Prev, r.Hash})
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audit"}, strings.Split(auditCols, ", "), pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("append audit records %d to %d: %w", rs[0].Seq, rs[len(rs)-1].Seq, err)
		}
		for _, t := range order {
			h := heads[t]
			if _, err := tx.Exec(ctx, `INSERT INTO audit_anchor(tenant, seq, hash, records) VALUES($1,$2,$3,$4)
				ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, records = audit_anchor.records + excluded.records`, t, h.Seq, h.Hash, counts[t]); err != nil {
				return fmt.Errorf("append audit record %d: anchor: %w", h.Seq, err)
			}
		}
		return nil
	})
	if isUnique(err) {
		return fmt.Errorf("append audit: %w: %w", store.ErrConflict, err)
	}
	return err
}

// AuditRecords calls fn for every record of the tenant, by seq.
func (s *DB) AuditRecords(ctx context.Context, tenant string, fn func(store.AuditRecord) error) error {
	rows, err := s.pool.Query(ctx, `SELECT `+auditCols+` FROM audit WHERE tenant = $1 ORDER BY seq`, tenant)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanAudit(rows.Scan)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil && !isBadText(err) {
		return err
	}
	return nil
}

// AuditAnchor returns the tenant's recorded head (a zero anchor when the
// tenant has never written a record).
func (s *DB) AuditAnchor(ctx context.Context, tenant string) (store.AuditAnchor, error) {
	var a store.AuditAnchor
	err := s.pool.QueryRow(ctx, `SELECT seq, hash, records FROM audit_anchor WHERE tenant = $1`, tenant).Scan(&a.Seq, &a.Hash, &a.Records)
	if errors.Is(err, pgx.ErrNoRows) || isBadText(err) {
		return store.AuditAnchor{}, nil
	}
	return a, err
}

// PruneAudit deletes the tenant's records through seq and lowers the
// anchor's count to match, in one transaction.
func (s *DB) PruneAudit(ctx context.Context, tenant string, throughSeq int64) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := s.lock(ctx, tx, "audit", tenant); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM audit WHERE tenant = $1 AND seq <= $2`, tenant, throughSeq)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE audit_anchor SET records = records - $1 WHERE tenant = $2`, tag.RowsAffected(), tenant)
		return err
	})
}
