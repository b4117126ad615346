package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/store"
)

// DecisionStore keeps profiles and decisions.
type DecisionStore interface {
	PutAssessment(ctx context.Context, a store.Assessment) error
	Assessment(ctx context.Context, tenant, id string) (store.Assessment, error)
	PutDecision(ctx context.Context, d store.Decision) error
	UpdateDecisionIf(ctx context.Context, d store.Decision, from string) error
	Decisions(ctx context.Context, tenant string, q store.VesselQuery) ([]store.Decision, error)
	Decision(ctx context.Context, tenant string, id int64) (store.Decision, error)
}

// Decision states.
const (
	DecisionInForce  = "in_force"
	DecisionPending  = "pending_approval"
	DecisionRejected = "rejected"
)

// DecideRequest records an underwriting decision.
type DecideRequest struct {
	Vessel   store.VesselQuery `json:"-"`
	Decision string            `json:"decision"` // decline, refer, accept
	// Reason is required: what the decision rests on, as it should be filed.
	Reason string `json:"reason"`
	// OverrideReason is required when the decision is less strict than
	// the vessel's current profile recommends (accepting or referring a
	// decline, accepting a refer or an insufficient-evidence profile).
	OverrideReason string `json:"override_reason,omitempty"`
	// AsOf and Window say which profile the decision is taken on (zero:
	// now, 12 months).
	AsOf   time.Time `json:"-"`
	Window Span      `json:"-"`
}

// DecideResult is the decision recorded and the profile it was taken on.
type DecideResult struct {
	Decision store.Decision `json:"decision"`
	// Profile summary: what the decision was weighed against.
	Recommendation string   `json:"recommendation"`
	Score          float64  `json:"score"`
	Warnings       []string `json:"warnings,omitempty"`
}

// Decide records an underwriting decision. Governance: a reason is
// required; a decision less strict than the profile's recommendation is
// an override, which needs its own reason and, when the tenant's policy
// asks for four eyes, a second person's approval before it is in force.
// Every step is in the audit log.
func (s *Service) Decide(ctx context.Context, p Principal, req DecideRequest) (DecideResult, error) {
	if err := p.need(RoleUnderwriter, "recording a decision"); err != nil {
		return DecideResult{}, err
	}
	switch req.Decision {
	case risk.Decline, risk.Refer, risk.Accept:
	default:
		return DecideResult{}, Errorf(CodeInvalid, "decision %q: give decline, refer or accept", req.Decision)
	}
	req.Reason = strings.TrimSpace(req.Reason)
	req.OverrideReason = strings.TrimSpace(req.OverrideReason)
	if req.Reason == "" {
		return DecideResult{}, Errorf(CodeInvalid, "a decision needs a reason, as it should be filed")
	}
	if len(req.Reason) > 4000 || len(req.OverrideReason) > 4000 {
		return DecideResult{}, Errorf(CodeInvalid, "reasons are limited to 4,000 characters")
	}
	t, err := s.tenantOf(ctx, p.Tenant)
	if err != nil {
		return DecideResult{}, err
	}
	// The profile is built first and kept only once the decision is
	// accepted: a refused decision leaves nothing in the store.
	preq := ProfileRequest{Vessel: req.Vessel, AsOf: req.AsOf, Window: req.Window}
	prof, err := s.assess(ctx, preq)
	if err != nil {
		return DecideResult{}, err
	}
	rec := prof.Profile.Recommendation
	res := DecideResult{Recommendation: rec, Score: prof.Profile.Score}
	override := risk.Strictness(req.Decision) < risk.Strictness(rec)
	if override && req.OverrideReason == "" {
		return res, Errorf(CodePrecondition, "the profile recommends %s (score %g): %s goes against it and needs an override reason", rec, prof.Profile.Score, req.Decision)
	}
	if override && t.Policy.FourEyes && p.Person == "" {
		return res, Errorf(CodeForbidden, "the tenant asks for four eyes, which count people: an override is made by a signed-in user or with a key bound to a user (made by that user, or at the console: keys create --user), not by %s", p.Actor)
	}
	if err := s.keepProfile(ctx, p, preq, prof); err != nil {
		return res, err
	}
	d := store.Decision{ByPerson: p.Person, Tenant: p.Tenant, Subject: SubjectOf(req.Vessel), IMO: prof.Profile.IMO, MMSI: req.Vessel.MMSI, Decision: req.Decision,
		Reason: req.Reason, Recommendation: rec, ProfileHash: prof.Hash, Override: override, By: p.Actor, Time: s.now().UTC().Truncate(time.Second),
		Status: DecisionInForce}
	if override {
		d.Reason = req.Reason + " | override: " + req.OverrideReason
		if t.Policy.FourEyes {
			d.Status = DecisionPending
			res.Warnings = append(res.Warnings, "the tenant's policy asks for four eyes: this override is pending until another underwriter approves it")
		}
	}
	ar, err := s.record(ctx, p, audit.ActionDecision, d.Subject, map[string]any{"decision": d.Decision, "note": d.Reason, "recommendation": rec,
		"profile_hash": prof.Hash, "override": override, "status": d.Status})
	if err != nil {
		return res, err
	}
	d.AuditSeq = ar.Seq
	if err := s.st.PutDecision(ctx, d); err != nil {
		return res, err
	}
	// PutDecision assigned the ID: read it back for the answer.
	ds, err := s.st.Decisions(ctx, p.Tenant, store.VesselQuery{IMO: d.IMO, MMSI: d.MMSI})
	if err == nil {
		for _, x := range ds {
			if x.AuditSeq == d.AuditSeq {
				d = x
			}
		}
	}
	res.Decision = d
	return res, nil
}

// ApproveDecision approves (or rejects) a pending override. The approver
// must be another person with the underwriter role, independent of the
// maker (checkIndependent: neither added the other, nor made the key the
// other uses).
func (s *Service) ApproveDecision(ctx context.Context, p Principal, id int64, approve bool, note string) (store.Decision, error) {
	if err := p.need(RoleUnderwriter, "approving a decision"); err != nil {
		return store.Decision{}, err
	}
	if len(note) > 4000 {
		return store.Decision{}, Errorf(CodeInvalid, "an approval's note is limited to 4,000 characters")
	}
	d, err := s.st.Decision(ctx, p.Tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		return d, Errorf(CodeNotFound, "no decision %d", id)
	}
	if err != nil {
		return d, err
	}
	if d.Status != DecisionPending {
		return d, Errorf(CodePrecondition, "decision %d is %s, not pending approval", id, strings.ReplaceAll(d.Status, "_", " "))
	}
	if p.Person == "" {
		return d, Errorf(CodeForbidden, "four eyes count people: approve as a signed-in user or with a key bound to a user (made by that user, or at the console: keys create --user), not with %s", p.Actor)
	}
	maker := d.ByPerson
	if maker == "" {
		maker = d.By
	}
	if samePerson(maker, p.Person) || samePerson(d.By, p.Actor) {
		return d, Errorf(CodeForbidden, "four eyes: %s made decision %d and cannot approve it", p.Person, id)
	}
	if err := s.checkIndependent(ctx, p, d, maker); err != nil {
		return d, err
	}
	prev := d
	d.Status, d.ApprovedBy, d.ApprovedAt = DecisionInForce, p.Actor, s.now().UTC().Truncate(time.Second)
	if !approve {
		d.Status = DecisionRejected
	}
	// The change is made only if the decision is still pending, so two
	// approvers at once cannot both win; then it is recorded (and undone
	// if the record cannot be written).
	if err := s.st.UpdateDecisionIf(ctx, d, DecisionPending); errors.Is(err, store.ErrConflict) {
		return d, Errorf(CodePrecondition, "decision %d was approved or rejected by someone else just now", id)
	} else if err != nil {
		return d, err
	}
	if _, err := s.record(ctx, p, audit.ActionApprove, d.Subject, map[string]any{"decision_id": id, "approved": approve, "note": note}); err != nil {
		if uerr := s.st.UpdateDecisionIf(ctx, prev, d.Status); uerr != nil {
			s.log.Error("approval not recorded and not undone", "tenant", p.Tenant, "decision", id, "err", uerr)
		}
		return prev, err
	}
	return d, nil
}

// samePerson compares actors, ignoring case and surrounding space.
func samePerson(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// Decisions returns the tenant's decisions about a vessel (zero query:
// all).
func (s *Service) Decisions(ctx context.Context, p Principal, q store.VesselQuery) ([]store.Decision, error) {
	if err := p.need(RoleViewer, "reading decisions"); err != nil {
		return nil, err
	}
	return s.st.Decisions(ctx, p.Tenant, q)
}
