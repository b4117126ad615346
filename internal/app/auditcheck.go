package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/store"
)

// The audit log is tamper-evident only when someone looks: verification
// reads every record and holds the chain to its anchor and to the
// decisions that cite it (VerifyAudit). A server checks every tenant's log
// on a schedule (RunAuditChecks, 'serve --audit-check-every'), so damage
// or an edit is reported within a day without anyone running 'tidewatch
// audit verify': each tenant whose log does not verify gets a high alert
// (its admins see it on the dashboard, its webhooks are told), and the
// server logs it. The schedule is the store's, as the list updates' is:
// one pass per interval over all the nodes on a store, whatever their
// number and restarts.

const (
	auditCheckLockKey = "audit-check"
	auditCheckedKey   = "audit-checked"
)

// The scheduled check reads at a fifth of one processor: 1 ms of reading
// and hashing, then 4 ms of rest. Unpaced, a check of a large log held a
// server's screenings (on one core Go looks at the network only when
// nothing else is ready to run, and the check always was): 680
// screenings a second instead of 20,000 while it read 23 million
// records. Paced, it takes about five times as long.
const (
	auditCheckWork = time.Millisecond
	auditCheckRest = 4 * time.Millisecond
)

// pacedAudit is an audit store whose AuditRecords rests for rest after
// each stretch of work (reading and the caller's handling of records).
type pacedAudit struct {
	audit.Store
	work, rest time.Duration
}

func (p pacedAudit) AuditRecords(ctx context.Context, tenant string, fn func(store.AuditRecord) error) error {
	start, n := time.Now(), 0
	return p.Store.AuditRecords(ctx, tenant, func(r store.AuditRecord) error {
		if err := fn(r); err != nil {
			return err
		}
		if n++; n%64 == 0 && time.Since(start) >= p.work {
			t := time.NewTimer(p.rest)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			start = time.Now()
		}
		return nil
	})
}

// AuditCheckPass is one scheduled check's outcome.
type AuditCheckPass struct {
	// Ran says this call checked the logs (else another node or an
	// earlier call did within the interval, or holds the claim now).
	Ran bool `json:"ran"`
	// Next is when a check is due again.
	Next time.Time `json:"next"`
	// Tenants are the logs checked, Damaged those that did not verify
	// (tenant: the first problems).
	Tenants int               `json:"tenants"`
	Damaged map[string]string `json:"damaged,omitempty"`
	Took    time.Duration     `json:"took"`
}

// CheckAuditLogsDue verifies every tenant's audit log when a check is
// due (none within every, on any node of the store), raising a high alert
// for each tenant whose log does not verify.
func (s *Service) CheckAuditLogsDue(ctx context.Context, every time.Duration) (AuditCheckPass, error) {
	now := s.now().UTC()
	pass := AuditCheckPass{Next: now.Add(every)}
	claimed, last, err := s.claimPass(ctx, "audit check", auditCheckLockKey, auditCheckedKey, now, every)
	if err != nil {
		return pass, err
	}
	if !claimed {
		if last.IsZero() {
			pass.Next = now.Add(min(every, time.Minute)) // held: look again soon
		} else {
			pass.Next = last.Add(every)
		}
		return pass, nil
	}
	pass.Ran = true
	ts, err := s.st.Tenants(ctx)
	if err != nil {
		return pass, err
	}
	start := time.Now()
	for _, t := range ts {
		p := Principal{Tenant: t.ID, Actor: "scheduled audit check", Role: RoleViewer}
		rep, err := s.verifyAudit(ctx, p, "", pacedAudit{Store: s.st, work: auditCheckWork, rest: auditCheckRest})
		if ctx.Err() != nil {
			// Stopped mid-check (the server shuts down): due again at
			// once, on whichever node looks first.
			s.unclaimPass(ctx, "audit check", auditCheckedKey, last)
			return pass, ctx.Err()
		}
		pass.Tenants++
		var why string
		switch {
		case err != nil:
			why = "the log could not be read to its end: " + err.Error()
		case !rep.OK():
			var ps []string
			for _, pr := range rep.Problems[:min(3, len(rep.Problems))] {
				ps = append(ps, fmt.Sprintf("record %d: %s", pr.Seq, pr.Reason))
			}
			why = strings.Join(ps, "; ")
			if len(rep.Problems) > 3 {
				why += fmt.Sprintf("; and %d more", len(rep.Problems)-3)
			}
		default:
			continue
		}
		if pass.Damaged == nil {
			pass.Damaged = map[string]string{}
		}
		pass.Damaged[t.ID] = why
		s.log.Error("audit check: the tenant's audit log does not verify", "tenant", t.ID, "problems", why)
		a := store.Alert{Tenant: t.ID, Key: "system:audit-check:" + now.Format("2006-01-02"), Kind: AlertSystem, Severity: "high",
			Title: "The audit log does not verify: records damaged, changed or missing",
			Why: "The scheduled check of this tenant's audit log found: " + why + ". Run 'tidewatch audit verify --tenant " + t.ID +
				"' for the whole report, and restore the log from a backup (docs/store.md, \"Damage\").",
			Evidence: []store.AlertEvidence{{Kind: "system", Ref: "audit-check", Text: why}}}
		if _, err := s.raise(ctx, a); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Warn("audit check: alert", "tenant", t.ID, "err", err.Error())
		}
	}
	pass.Took = time.Since(start)
	s.log.Info("audit check: every tenant's audit log read", "tenants", pass.Tenants, "damaged", len(pass.Damaged), "seconds", pass.Took.Seconds())
	return pass, nil
}

// RunAuditChecks checks the audit logs whenever a check is due, until ctx
// ends.
func (s *Service) RunAuditChecks(ctx context.Context, every time.Duration) {
	for {
		pass, err := s.CheckAuditLogsDue(ctx, every)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Warn("audit check failed", "err", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(max(pass.Next.Sub(s.now()), time.Second), every)):
		}
	}
}
