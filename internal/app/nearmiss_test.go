package app_test

import (
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/screen"
)

// A near miss (a listed ship's name, another IMO) is in the answer and in
// the screening's audit record, which keeps what was shown; a screening
// without one records what it recorded before (no near_misses key).
func TestNearMissAudited(t *testing.T) {
	s, _ := seeded(t)
	const msg = "name of listed vessel CHON MA SAN (ofac-sdn:23729), IMO differs: query 9811000, listed 8660313"
	res, err := s.Screen(ctx, local, screen.Query{Type: "vessel", Name: "CHON MA SAN", IMO: "9811000"}, app.ScreenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matches) != 0 || len(res.NearMisses) != 1 || res.NearMisses[0].Message != msg {
		t.Fatalf("%+v %+v", res.Matches, res.NearMisses)
	}
	plain, err := s.Screen(ctx, local, screen.Query{Type: "vessel", Name: "CHON MA SAN"}, app.ScreenOptions{})
	if err != nil || len(plain.NearMisses) != 0 {
		t.Fatalf("%+v %v", plain.NearMisses, err)
	}
	recs, err := s.AuditRecords(ctx, local, app.AuditFilter{Action: "screen"})
	if err != nil {
		t.Fatal(err)
	}
	var withNM, without string
	for _, r := range recs {
		switch r.Seq {
		case res.AuditSeq:
			withNM = string(r.Data)
		case plain.AuditSeq:
			without = string(r.Data)
		}
	}
	if !strings.Contains(withNM, `"near_misses":["`+msg+`"]`) || strings.Contains(without, "near_misses") || without == "" {
		t.Errorf("audit records:\n%s\n%s", withNM, without)
	}
}
