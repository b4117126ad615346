package app_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/screen"
)

// ScreenResult.WriteJSON writes what a json.Encoder writes for the
// answer, byte for byte: with matches and listings, none, warnings, near
// misses, characters JSON escapes for HTML, with and without an audit
// record.
func TestScreenResultWriteJSON(t *testing.T) {
	s, _ := seeded(t)
	queries := []screen.Query{
		{Type: "vessel", Name: "CHON MA SAN"},
		{Type: "vessel", Name: "EVER GIVEN"},
		{Type: "vessel", Name: "JI SONG 6", IMO: "8898818"},
		{Type: "vessel", Name: "CHON MA SAN", IMO: "9811000"}, // a near miss
		{Type: "vessel", Name: "YU SON", IMO: "1234567"},      // a failed check digit: a warning
		{Type: "", Name: "KOREA MINING DEVELOPMENT <TRADING> & CO"},
		{Type: "vessel", Name: "SEA\u2028STAR \"Q\" \\ \x7f"},
		{Name: "KIM JONG UN"},
	}
	seen := map[string]bool{}
	for _, q := range queries {
		for _, o := range []app.ScreenOptions{{}, {NoAudit: true}, {All: true, Threshold: 0.5}} {
			res, err := s.Screen(ctx, local, q, o)
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			var got, want bytes.Buffer
			if err := res.WriteJSON(&got); err != nil {
				t.Fatal(err)
			}
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(true)
			if err := enc.Encode(res); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("%+v %+v:\nWriteJSON %s\nEncoder   %s", q, o, got.Bytes(), want.Bytes())
			}
			seen["matches"] = seen["matches"] || len(res.Matches) > 0
			seen["none"] = seen["none"] || len(res.Matches) == 0
			seen["near misses"] = seen["near misses"] || len(res.NearMisses) > 0
			seen["warnings"] = seen["warnings"] || len(res.Warnings) > 0
			seen["audited"] = seen["audited"] || res.AuditSeq > 0
			seen["not audited"] = seen["not audited"] || res.AuditSeq == 0
		}
	}
	for _, k := range []string{"matches", "none", "near misses", "warnings", "audited", "not audited"} {
		if !seen[k] {
			t.Errorf("no answer had %s: the test checks too little", k)
		}
	}
	// An answer not made by Screen (no provenance encoded) is encoded
	// whole.
	var got, want bytes.Buffer
	r := app.ScreenResult{Query: screen.Query{Name: "X"}, Provenance: app.Provenance{Program: "p"}, AuditSeq: 3}
	if err := r.WriteJSON(&got); err != nil {
		t.Fatal(err)
	}
	json.NewEncoder(&want).Encode(r)
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("a ScreenResult of its own: %s, not %s", got.Bytes(), want.Bytes())
	}
}
