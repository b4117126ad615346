package web

import (
	"fmt"
	"testing"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
)

// decisionRows: the decision in force recorded last applies; pending and
// rejected ones neither apply nor supersede; each older one in force is
// superseded by the next in force.
func TestDecisionRows(t *testing.T) {
	in, pend, rej := app.DecisionInForce, app.DecisionPending, app.DecisionRejected
	for _, tc := range []struct {
		states []string
		want   string // per decision: C current, S<id> superseded by, - neither
	}{
		{nil, ""},
		{[]string{in}, "C"},
		{[]string{in, in, in}, "S2 S3 C"},
		{[]string{in, pend}, "C -"},
		{[]string{in, rej, in, pend}, "S3 - C -"},
		{[]string{pend, rej}, "- -"},
		{[]string{in, pend, in}, "S3 - C"},
	} {
		var ds []store.Decision
		// Given newest first, to show the order is the IDs'.
		for i := len(tc.states) - 1; i >= 0; i-- {
			ds = append(ds, store.Decision{ID: int64(i + 1), Status: tc.states[i]})
		}
		rows, cur := decisionRows(ds)
		got := ""
		for i, r := range rows {
			if i > 0 {
				got += " "
			}
			switch {
			case r.Current:
				got += "C"
			case r.SupersededBy != 0:
				got += fmt.Sprint("S", r.SupersededBy)
			default:
				got += "-"
			}
		}
		if got != tc.want {
			t.Errorf("%v: %q, want %q", tc.states, got, tc.want)
		}
		if (cur != nil) != (len(got) > 0 && containsC(got)) || (cur != nil && !cur.Current) {
			t.Errorf("%v: current %+v", tc.states, cur)
		}
	}
}

func containsC(s string) bool {
	for _, r := range s {
		if r == 'C' {
			return true
		}
	}
	return false
}

func TestHitVesselAndJobProgress(t *testing.T) {
	for _, tc := range []struct {
		m    app.Match
		want string
	}{
		{app.Match{Type: "vessel", IMO: "IMO8660313"}, "8660313"},
		{app.Match{Type: "vessel", IMO: "IMO8660314"}, ""}, // check digit
		{app.Match{Type: "organization", IMO: "IMO5812345"}, ""},
		{app.Match{Type: "vessel"}, ""},
	} {
		if got := hitVessel(tc.m); got != tc.want {
			t.Errorf("hitVessel(%+v) = %q, want %q", tc.m, got, tc.want)
		}
	}
	for _, tc := range []struct {
		j    app.Job
		want string
	}{
		{app.Job{Done: 360}, "360 read"},
		{app.Job{Done: 2, Total: 3}, "2 of 3"},
	} {
		if got := jobProgress(tc.j); got != tc.want {
			t.Errorf("jobProgress(%d, %d) = %q, want %q", tc.j.Done, tc.j.Total, got, tc.want)
		}
	}
}
