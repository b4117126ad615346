package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"

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

// The audit log is kept in files beside the database (auditfile.go).

// AuditTail returns the tenant's last audit record.
func (s *DB) AuditTail(ctx context.Context, tenant string) (store.AuditRecord, error) {
	return s.audit.tailOf(tenant)
}

// AppendAudit appends records whose Seqs follow their tenants' tails and
// moves each tenant's anchor to its new head: all or none.
func (s *DB) AppendAudit(ctx context.Context, rs []store.AuditRecord) error {
	if len(rs) == 0 {
		return nil
	}
	if s.readOnly {
		return ErrReadOnly
	}
	return s.audit.appendRecords(rs)
}

// AuditRecords calls fn for every record of the tenant, by seq.
func (s *DB) AuditRecords(ctx context.Context, tenant string, fn func(store.AuditRecord) error) error {
	return s.audit.records(ctx, tenant, fn)
}

// AuditAnchor returns the tenant's recorded head (a zero anchor when the
// tenant has never written a record).
func (s *DB) AuditAnchor(ctx context.Context, tenant string) (store.AuditAnchor, error) {
	return s.audit.anchor(tenant)
}

// PruneAudit deletes the tenant's records through seq and lowers the
// anchor's count to match.
func (s *DB) PruneAudit(ctx context.Context, tenant string, throughSeq int64) error {
	return s.audit.prune(tenant, throughSeq)
}

// TamperAudit rewrites a tenant's log and anchor through edit, which may
// change, drop or reorder records without their hashes being computed
// again: tests use it to show that verify catches what an editor with
// access to the files could do.
func (s *DB) TamperAudit(tenant string, edit func(rs []store.AuditRecord, a *store.AuditAnchor) []store.AuditRecord) error {
	var rs []store.AuditRecord
	if err := s.AuditRecords(context.Background(), tenant, func(r store.AuditRecord) error {
		rs = append(rs, r)
		return nil
	}); err != nil {
		return err
	}
	a, err := s.AuditAnchor(context.Background(), tenant)
	if err != nil {
		return err
	}
	rs = edit(rs, &a)
	var b []byte
	for _, r := range rs {
		b = appendAuditRecord(b, r)
	}
	stem := stemOf(s.audit.dir, tenant)
	if err := os.WriteFile(stem+".log.tmp", b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(stem+".log.tmp", stem+".log"); err != nil {
		return err
	}
	return s.audit.locked(tenant, true, true, func(l *tenantLog) error { return l.writeAnchor(a) })
}
