package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/store"
)

// The audit writer appends records in groups: every use case that is
// audited waits until its record is committed (nothing is answered that
// is not on file), but records that arrive together share one
// transaction, so a server screening thousands of queries a second does
// not make a write transaction per query.
type auditWriter struct {
	s    *Service
	once sync.Once
	reqs chan *auditReq
	// tails caches each tenant's last record; a conflict (another
	// process appended) drops it.
	tails map[string]*store.AuditRecord
}

type auditReq struct {
	rec  store.AuditRecord
	done chan auditRes
}

type auditRes struct {
	rec store.AuditRecord
	err error
}

// maxAuditGroup caps the records one transaction appends.
const maxAuditGroup = 512

func (w *auditWriter) start() {
	w.once.Do(func() {
		w.reqs = make(chan *auditReq, 4096)
		w.tails = map[string]*store.AuditRecord{}
		go w.loop()
	})
}

func (w *auditWriter) loop() {
	group := make([]*auditReq, 0, maxAuditGroup)
	var lastCommit time.Time
	for r := range w.reqs {
		group = append(group[:0], r)
		// Under load (the last commit was moments ago) more records are
		// on their way: let the goroutines that are ready run, and take
		// what they add, so that one transaction carries many (measured:
		// 1.5 records a commit without waiting at 5,000 screenings a
		// second). Stop when a turn of the others adds nothing (every
		// caller then waits for this commit or for the network: waiting
		// on a timer instead left the CPU idle, measured 12% of it at 32
		// clients) or after auditLinger. Idle, commit at once.
		group = w.drain(group)
		if time.Since(lastCommit) < 5*auditLinger {
			deadline := time.Now().Add(auditLinger)
			for len(group) < maxAuditGroup {
				if time.Now().After(deadline) {
					w.s.Metrics.add(func(m *Counters) { m.AuditLingerExpired++ })
					break
				}
				n := len(group)
				runtime.Gosched()
				if group = w.drain(group); len(group) == n {
					break
				}
			}
		}
		w.commit(group)
		lastCommit = time.Now()
	}
}

// drain appends to group the records already queued, up to maxAuditGroup.
func (w *auditWriter) drain(group []*auditReq) []*auditReq {
	for len(group) < maxAuditGroup {
		select {
		case r, ok := <-w.reqs:
			if !ok {
				return group
			}
			group = append(group, r)
		default:
			return group
		}
	}
	return group
}

// auditLinger is how long the writer waits for more records when busy.
const auditLinger = time.Millisecond

// commit chains and appends a group, retrying from fresh tails when
// another process appended to one of its tenants' logs meanwhile.
func (w *auditWriter) commit(group []*auditReq) {
	ctx := context.Background()
	var err error
	recs := make([]store.AuditRecord, len(group))
	for attempt := 0; attempt < 8; attempt++ {
		tails := map[string]*store.AuditRecord{}
		for i, r := range group {
			t := r.rec.Tenant
			tail, ok := tails[t]
			if !ok {
				tail, err = w.tail(ctx, t)
				if err != nil {
					break
				}
			}
			recs[i] = audit.ChainMarshalled(tail, r.rec) // record() marshalled its data
			tails[t] = &recs[i]
		}
		if err == nil {
			err = w.s.st.AppendAudit(ctx, recs)
		}
		if err == nil {
			for t, r := range tails {
				w.tails[t] = r
			}
			w.s.Metrics.add(func(m *Counters) { m.AuditCommits++; m.AuditRecords += int64(len(group)) })
			break
		}
		clear(w.tails)
		if !errors.Is(err, store.ErrConflict) {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	for i, r := range group {
		r.done <- auditRes{recs[i], err}
	}
}

func (w *auditWriter) tail(ctx context.Context, tenant string) (*store.AuditRecord, error) {
	if t, ok := w.tails[tenant]; ok {
		return t, nil
	}
	t, err := w.s.st.AuditTail(ctx, tenant)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// record appends an audit record for the principal and waits until it is
// committed.
func (s *Service) record(ctx context.Context, p Principal, action, subject string, data any) (store.AuditRecord, error) {
	// Marshal writes compact JSON (raw values inside compacted too).
	raw, err := json.Marshal(data)
	if err != nil {
		return store.AuditRecord{}, fmt.Errorf("audit: encode data: %w", err)
	}
	if p.Tenant == "" {
		return store.AuditRecord{}, errors.New("audit: no tenant")
	}
	s.audit.start()
	req := &auditReq{rec: store.AuditRecord{Tenant: p.Tenant, Time: s.now().UTC().Truncate(time.Millisecond), Actor: p.Actor, Action: action, Subject: subject, Data: raw},
		done: make(chan auditRes, 1)}
	select {
	case s.audit.reqs <- req:
	case <-ctx.Done():
		return store.AuditRecord{}, ctx.Err()
	}
	// Once queued the record will be written: wait for it whatever the
	// caller's context says, so an answer is never given without its
	// record and a record never written for an answer not given goes
	// unnoticed.
	res := <-req.done
	if res.err != nil {
		return res.rec, fmt.Errorf("audit log: %w", res.err)
	}
	return res.rec, nil
}

// Close stops the service's background work, writing what is queued.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.keyUse.close()
		if s.audit.reqs != nil {
			close(s.audit.reqs)
		}
	})
	return nil
}

// VerifyAudit checks the principal's tenant's audit chain, and a head
// kept elsewhere when given ("SEQ:HASH").
func (s *Service) VerifyAudit(ctx context.Context, p Principal, head string) (audit.Report, error) {
	return s.verifyAudit(ctx, p, head, s.st)
}

// verifyAudit is VerifyAudit reading the log through log (the store, or
// the scheduled check's paced view of it).
func (s *Service) verifyAudit(ctx context.Context, p Principal, head string, log audit.Store) (audit.Report, error) {
	if err := p.need(RoleViewer, "verifying the audit log"); err != nil {
		return audit.Report{}, err
	}
	// Every decision was written with the number of its audit record:
	// the log is held to them, so a log emptied or cut together with its
	// anchor is caught while any decision it recorded remains.
	ds, err := s.st.Decisions(ctx, p.Tenant, store.VesselQuery{})
	if err != nil {
		return audit.Report{}, fmt.Errorf("audit: read decisions: %w", err)
	}
	var want []audit.Expected
	for _, d := range ds {
		if d.AuditSeq > 0 {
			want = append(want, audit.Expected{Seq: d.AuditSeq, Subject: d.Subject,
				What: fmt.Sprintf("decision %d (%s on %s, %s)", d.ID, d.Decision, d.Subject, d.Time.UTC().Format(time.RFC3339))})
		}
	}
	rep, err := audit.VerifyExpecting(ctx, log, p.Tenant, want)
	if err != nil {
		return rep, err
	}
	if head != "" {
		if err := audit.CheckHead(ctx, s.st, &rep, head); err != nil {
			return rep, Errorf(CodeInvalid, "%v", err)
		}
	}
	return rep, nil
}

// AuditFilter selects audit records.
type AuditFilter struct {
	// Subject keeps records about one subject ("imo:9417115"; a bare
	// IMO number or MMSI is read as one).
	Subject string
	Action  string
	// After keeps records with a higher sequence number; Limit caps them
	// (0: all).
	After int64
	Limit int
}

// AuditRecords returns the principal's tenant's records.
func (s *Service) AuditRecords(ctx context.Context, p Principal, f AuditFilter) ([]store.AuditRecord, error) {
	if err := p.need(RoleViewer, "reading the audit log"); err != nil {
		return nil, err
	}
	subject := f.Subject
	if subject != "" {
		if q, err := ParseVessel(subject); err == nil {
			subject = SubjectOf(q)
		}
	}
	var out []store.AuditRecord
	stop := errors.New("stop")
	err := s.st.AuditRecords(ctx, p.Tenant, func(r store.AuditRecord) error {
		if r.Seq <= f.After || (subject != "" && r.Subject != subject) || (f.Action != "" && r.Action != f.Action) {
			return nil
		}
		out = append(out, r)
		if f.Limit > 0 && len(out) >= f.Limit {
			return stop
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		return nil, err
	}
	return out, nil
}

// MinRetention is the shortest retention a prune accepts: the EU's five
// years for sanctions screening records (the US asks ten, the default).
var MinRetention = Span{Years: 5}

// DefaultRetention is the US record-keeping period for sanctions records:
// ten years.
var DefaultRetention = Span{Years: 10}

// PruneAudit deletes the tenant's records older than the retention
// period, keeping the chain verifiable (a prune record vouches for the
// cut). Retention below MinRetention is refused.
func (s *Service) PruneAudit(ctx context.Context, p Principal, retention Span) (int64, time.Time, error) {
	if err := p.need(RoleAdmin, "pruning the audit log"); err != nil {
		return 0, time.Time{}, err
	}
	now := s.now().UTC()
	if retention.Before(now).After(MinRetention.Before(now)) {
		return 0, time.Time{}, Errorf(CodeInvalid, "retention %s is shorter than the minimum of %s: sanctions records must be kept at least that long", retention, MinRetention)
	}
	cut := retention.Before(now)
	// The prune appends its own record outside the writer: the writer's
	// cached tail then conflicts once and is read again.
	n, err := (&audit.Log{St: s.st, Tenant: p.Tenant, Now: s.now}).Prune(ctx, p.Actor, cut)
	return n, cut, err
}
