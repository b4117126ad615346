package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/ledger"
)

// CaseFile is a signed case file about the vessel that the report's
// tenant received and imported (docs/cases.md): who made and signed it,
// when, and what it concluded.
type CaseFile struct {
	ID         string // hex SHA-256 of the package's statement
	From, To   time.Time
	ExportedBy string
	Exported   time.Time
	Program    string
	Signers    []CaseSigner
	// Verified: every hash and signature held when it was imported.
	Verified       bool
	Problems       []string
	Recommendation string
	Score          float64
	Events         int
	Gaps           []string
	Imported       time.Time
	ImportedBy     string
}

// CaseSigner is one signature on a case file.
type CaseSigner struct {
	KeyID, Name, Organization string
	SignedAt                  time.Time
	Valid, Trusted            bool
}

type ledgerRow struct {
	Arrival, Tanker, Role, Loading, Capacity, Events string
	Scenarios                                        []string
	Share                                            string
	Simulated                                        bool
}

type caseRow struct {
	ID, Period, Made, Signed, Verdict, Checked, Imported string
	OK                                                   bool
}

// ledgerRows writes the estimates the vessel is part of, with the
// profile's event references where the events are in the window.
func ledgerRows(in *Input) []ledgerRow {
	refs := map[string]string{}
	for _, e := range in.Profile.Events {
		refs[e.ID] = e.Ref
	}
	own := map[uint32]bool{}
	for _, m := range in.Profile.MMSIs {
		own[m] = true
	}
	var out []ledgerRow
	for _, e := range in.Ledger {
		r := ledgerRow{Arrival: fmtTime(e.Arrival, "2006-01-02 15:04 UTC") + " at " + e.Port, Simulated: e.Vessel.Simulated}
		r.Tanker = fmt.Sprintf("%s (MMSI %09d)", strings.TrimSpace(e.Vessel.Name), e.Vessel.MMSI)
		r.Role = "the tanker calling at the DPRK port"
		if !own[e.Vessel.MMSI] {
			r.Role = "a ship of the tanker's loading"
		}
		var why []string
		for _, t := range e.Triggers {
			why = append(why, t.Why)
		}
		r.Loading = strings.Join(why, "; ")
		var ev []string
		for _, id := range e.EventIDs {
			if ref := refs[id]; ref != "" {
				ev = append(ev, ref+" ("+id+")")
			} else {
				ev = append(ev, id)
			}
		}
		r.Events = strings.Join(ev, ", ")
		if c := e.Vessel.Capacity; c != nil {
			r.Capacity = fmt.Sprintf("%s t deadweight (%s)", c.DWT.Round(), c.Detail)
		} else {
			r.Capacity = "unknown: no barrels counted"
		}
		for _, s := range ledger.Scenarios {
			r.Scenarios = append(r.Scenarios, e.Amount(s.ID).Round().String())
		}
		full := e.Amount("full")
		r.Share = ledger.Percent(full.Central / ledger.CapBarrels)
		if !full.IsExact() {
			r.Share += fmt.Sprintf(" (%s-%s)", ledger.Percent(full.Low/ledger.CapBarrels), ledger.Percent(full.High/ledger.CapBarrels))
		}
		out = append(out, r)
	}
	return out
}

func caseRows(in *Input) []caseRow {
	var out []caseRow
	for _, c := range in.Cases {
		r := caseRow{ID: c.ID, Period: fmtTime(c.From, "2006-01-02") + " to " + fmtTime(c.To, "2006-01-02"),
			Made:     fmt.Sprintf("%s, %s (%s)", c.ExportedBy, fmtTime(c.Exported, "2006-01-02 15:04 UTC"), c.Program),
			Verdict:  fmt.Sprintf("%s (score %s), %d events", strings.ReplaceAll(c.Recommendation, "_", " "), numText(c.Score), c.Events),
			Imported: fmt.Sprintf("%s by %s", fmtTime(c.Imported, "2006-01-02 15:04 UTC"), c.ImportedBy), OK: c.Verified}
		var sig []string
		for _, s := range c.Signers {
			t := fmt.Sprintf("%s (%s), key %.16s, %s", s.Name, s.Organization, s.KeyID, fmtTime(s.SignedAt, "2006-01-02 15:04 UTC"))
			switch {
			case !s.Valid:
				t += ": SIGNATURE INVALID"
			case s.Trusted:
				t += ": valid, trusted key"
			default:
				t += ": valid, key not among the trusted ones"
			}
			sig = append(sig, t)
		}
		r.Signed = strings.Join(sig, "; ")
		if r.Signed == "" {
			r.Signed = "unsigned"
		}
		r.Checked = "every hash and signature checked"
		if !c.Verified {
			r.Checked = "FAILED: " + strings.Join(c.Problems, "; ")
		}
		if len(c.Gaps) > 0 {
			r.Checked += "; the package states gaps: " + strings.Join(c.Gaps, "; ")
		}
		out = append(out, r)
	}
	return out
}
