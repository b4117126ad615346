package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tidewatch/tidewatch/store"
)

// PutAssessment stores a risk profile (once per tenant and content hash).
func (s *DB) PutAssessment(ctx context.Context, a store.Assessment) error {
	_, err := s.exec(ctx, `INSERT OR IGNORE INTO assessments(tenant, id, imo, mmsi, as_of_ms, score, outcome, json) VALUES(?,?,?,?,?,?,?,?)`,
		a.Tenant, a.ID, a.IMO, a.MMSI, ms(a.AsOf), a.Score, a.Outcome, string(a.Profile))
	if err != nil {
		return fmt.Errorf("store assessment %s: %w", a.ID, err)
	}
	return nil
}

// Assessment returns a stored profile.
func (s *DB) Assessment(ctx context.Context, tenant, id string) (store.Assessment, error) {
	a := store.Assessment{Tenant: tenant, ID: id}
	var asOf int64
	var j string
	err := s.r.QueryRowContext(ctx, `SELECT imo, mmsi, as_of_ms, score, outcome, json FROM assessments WHERE tenant = ? AND id = ?`, tenant, id).
		Scan(&a.IMO, &a.MMSI, &asOf, &a.Score, &a.Outcome, &j)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("assessment %s: %w", id, store.ErrNotFound)
	}
	a.AsOf, a.Profile = fromMS(asOf), json.RawMessage(j)
	return a, err
}

// PutDecision creates a decision (ID 0: the next of the tenant) or
// replaces one (its approval changed).
func (s *DB) PutDecision(ctx context.Context, d store.Decision) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if d.ID == 0 {
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM decisions WHERE tenant = ?`, d.Tenant).Scan(&d.ID); err != nil {
			return err
		}
	}
	j, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO decisions(tenant, id, subject, imo, mmsi, json) VALUES(?,?,?,?,?,?)
		ON CONFLICT(tenant, id) DO UPDATE SET json = excluded.json`, d.Tenant, d.ID, d.Subject, d.IMO, d.MMSI, string(j)); err != nil {
		return fmt.Errorf("store decision: %w", err)
	}
	return tx.Commit()
}

// UpdateDecisionIf stores d only if the stored decision's status is from.
func (s *DB) UpdateDecisionIf(ctx context.Context, d store.Decision, from string) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var cur string
	if err := tx.QueryRowContext(ctx, `SELECT json FROM decisions WHERE tenant = ? AND id = ?`, d.Tenant, d.ID).Scan(&cur); err == sql.ErrNoRows {
		return store.ErrNotFound
	} else if err != nil {
		return err
	}
	var old store.Decision
	if err := json.Unmarshal([]byte(cur), &old); err != nil {
		return fmt.Errorf("decision %d: %w", d.ID, err)
	}
	if old.Status != from {
		return store.ErrConflict
	}
	j, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE decisions SET json = ? WHERE tenant = ? AND id = ?`, string(j), d.Tenant, d.ID); err != nil {
		return fmt.Errorf("store decision: %w", err)
	}
	return tx.Commit()
}

// Decisions returns a tenant's decisions about a vessel (by IMO or MMSI;
// both zero: every decision), oldest first.
func (s *DB) Decisions(ctx context.Context, tenant string, q store.VesselQuery) ([]store.Decision, error) {
	switch {
	case q.IMO != 0 && q.MMSI != 0:
		return jsonRows[store.Decision](ctx, s.r, "decision", `SELECT json FROM decisions WHERE tenant = ? AND (imo = ? OR mmsi = ?) ORDER BY id`, tenant, q.IMO, q.MMSI)
	case q.IMO != 0:
		return jsonRows[store.Decision](ctx, s.r, "decision", `SELECT json FROM decisions WHERE tenant = ? AND imo = ? ORDER BY id`, tenant, q.IMO)
	case q.MMSI != 0:
		return jsonRows[store.Decision](ctx, s.r, "decision", `SELECT json FROM decisions WHERE tenant = ? AND mmsi = ? ORDER BY id`, tenant, q.MMSI)
	}
	return jsonRows[store.Decision](ctx, s.r, "decision", `SELECT json FROM decisions WHERE tenant = ? ORDER BY id`, tenant)
}

// Decision returns one decision.
func (s *DB) Decision(ctx context.Context, tenant string, id int64) (store.Decision, error) {
	return jsonRow[store.Decision](ctx, s.r, fmt.Sprintf("decision %d", id), `SELECT json FROM decisions WHERE tenant = ? AND id = ?`, tenant, id)
}

const auditCols = `tenant, seq, time_ms, actor, action, subject, data, prev, hash`

// AuditTail returns the tenant's last audit record.
func (s *DB) AuditTail(ctx context.Context, tenant string) (store.AuditRecord, error) {
	row := s.w.QueryRowContext(ctx, `SELECT `+auditCols+` FROM audit WHERE tenant = ? ORDER BY seq DESC LIMIT 1`, tenant)
	r, err := scanAudit(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.ErrNotFound
	}
	return r, err
}

func scanAudit(scan func(...any) error) (store.AuditRecord, error) {
	var r store.AuditRecord
	var t int64
	var data string
	err := scan(&r.Tenant, &r.Seq, &t, &r.Actor, &r.Action, &r.Subject, &data, &r.Prev, &r.Hash)
	r.Time, r.Data = fromMS(t), json.RawMessage(data)
	return r, err
}

// AppendAudit appends records whose Seqs follow their tenants' tails,
// and moves each tenant's anchor to its new head, in one transaction (a
// group of records: one statement for the rows, one anchor update per
// tenant).
func (s *DB) AppendAudit(ctx context.Context, rs []store.AuditRecord) error {
	if len(rs) == 0 {
		return nil
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	tails := map[string]int64{}
	counts := map[string]int64{}
	heads := map[string]store.AuditRecord{}
	var order []string
	for _, r := range rs {
		tail, ok := tails[r.Tenant]
		if !ok {
			var t sql.NullInt64
			st, err := s.prepared(ctx, tx, auditTail)
			if err != nil {
				return err
			}
			if err := st.QueryRowContext(ctx, r.Tenant).Scan(&t); err != nil {
				return err
			}
			tail = t.Int64
			order = append(order, r.Tenant)
		}
		if r.Seq != tail+1 {
			return fmt.Errorf("append audit record %d of %s: the log's tail is %d: %w", r.Seq, r.Tenant, tail, store.ErrConflict)
		}
		tails[r.Tenant] = r.Seq
		counts[r.Tenant]++
		heads[r.Tenant] = r
	}
	// Rows in statements of 64, 16, 4 and 1 rows, each prepared once
	// (SQLite allows 32,766 parameters; parsing a statement of new length
	// every time cost more than the insert).
	for i := 0; i < len(rs); {
		n := 1
		for _, k := range []int{64, 16, 4} {
			if len(rs)-i >= k {
				n = k
				break
			}
		}
		part := rs[i : i+n]
		i += n
		st, err := s.prepared(ctx, tx, auditInsert(n))
		if err != nil {
			return err
		}
		args := make([]any, 0, 9*len(part))
		for _, r := range part {
			args = append(args, r.Tenant, r.Seq, ms(r.Time), r.Actor, r.Action, r.Subject, string(r.Data), r.Prev, r.Hash)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("append audit records %d to %d: %w", part[0].Seq, part[len(part)-1].Seq, err)
		}
	}
	anchor, err := s.prepared(ctx, tx, auditAnchor)
	if err != nil {
		return err
	}
	for _, t := range order {
		h := heads[t]
		if _, err := anchor.ExecContext(ctx, t, h.Seq, h.Hash, counts[t]); err != nil {
			return fmt.Errorf("append audit record %d: anchor: %w", h.Seq, err)
		}
	}
	return tx.Commit()
}

const (
	auditTail   = `SELECT max(seq) FROM audit WHERE tenant = ?`
	auditAnchor = `INSERT INTO audit_anchor(tenant, seq, hash, records) VALUES(?,?,?,?)
			ON CONFLICT(tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, records = audit_anchor.records + excluded.records`
)

// hotWrites are the statements prepared once when the store opens: an
// audit append runs them for every screening a server answers.
func hotWrites() []string {
	return []string{auditTail, auditAnchor, auditInsert(64), auditInsert(16), auditInsert(4), auditInsert(1)}
}

// auditInsert is the statement inserting n audit rows.
func auditInsert(n int) string {
	return `INSERT INTO audit(` + auditCols + `) VALUES` + strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?,?),", n), ",")
}

// AuditRecords calls fn for every record of the tenant, by seq.
func (s *DB) AuditRecords(ctx context.Context, tenant string, fn func(store.AuditRecord) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT `+auditCols+` FROM audit WHERE tenant = ? ORDER BY seq`, tenant)
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
	return rows.Err()
}

// AuditAnchor returns the tenant's recorded head (a zero anchor when the
// tenant has never written a record).
func (s *DB) AuditAnchor(ctx context.Context, tenant string) (store.AuditAnchor, error) {
	var a store.AuditAnchor
	err := s.r.QueryRowContext(ctx, `SELECT seq, hash, records FROM audit_anchor WHERE tenant = ?`, tenant).Scan(&a.Seq, &a.Hash, &a.Records)
	if errors.Is(err, sql.ErrNoRows) {
		return a, nil
	}
	return a, err
}

// PruneAudit deletes the tenant's records through seq and lowers the
// anchor's count to match, in one transaction.
func (s *DB) PruneAudit(ctx context.Context, tenant string, throughSeq int64) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM audit WHERE tenant = ? AND seq <= ?`, tenant, throughSeq)
	if err != nil {
		return err
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `UPDATE audit_anchor SET records = records - ? WHERE tenant = ?`, n, tenant); err != nil {
		return err
	}
	return tx.Commit()
}
