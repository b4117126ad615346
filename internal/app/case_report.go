package app

import (
	"context"

	"github.com/tidewatch/tidewatch/report"
	"github.com/tidewatch/tidewatch/store"
)

// reportCases are the case files about a vessel the tenant imported, for
// its report.
func (s *Service) reportCases(ctx context.Context, p Principal, q store.VesselQuery, imo uint32) ([]report.CaseFile, error) {
	if q.IMO == 0 {
		q.IMO = imo
	}
	cs, err := s.st.ImportedCases(ctx, p.Tenant, q)
	if err != nil {
		return nil, err
	}
	var out []report.CaseFile
	for _, c := range cs {
		f := report.CaseFile{ID: c.ID, From: c.From, To: c.To, ExportedBy: c.ExportedBy, Exported: c.Exported, Program: c.Program, Verified: c.Verified,
			Problems: c.Problems, Recommendation: c.Recommendation, Score: c.Score, Events: len(c.Events), Gaps: c.Gaps, Imported: c.Imported, ImportedBy: c.ImportedBy}
		for _, sg := range c.Signers {
			f.Signers = append(f.Signers, report.CaseSigner{KeyID: sg.KeyID, Name: sg.Name, Organization: sg.Organization, SignedAt: sg.SignedAt, Valid: sg.Valid, Trusted: sg.Trusted})
		}
		out = append(out, f)
	}
	return out, nil
}
