package detect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadConfigRanges: thresholds out of range (zero, negative, huge)
// are refused on load with the field, its value and the range; the
// defaults and ordinary overrides load.
func TestLoadConfigRanges(t *testing.T) {
	if err := DefaultConfig.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	dir := t.TempDir()
	load := func(body string) (Config, error) {
		p := filepath.Join(dir, "t.json")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return LoadConfig(p)
	}
	if c, err := load(`{"gap_min_hours": 3, "encounter_min_port_km": 0, "max_vessels": 1000}`); err != nil || c.GapMinHours != 3 {
		t.Fatalf("ordinary overrides: %+v %v", c, err)
	}
	for body, want := range map[string]string{
		`{"gap_min_hours": 0}`:               "gap_min_hours 0 out of range: must be from 0.1 to 8760 hours",
		`{"encounter_max_metres": -5}`:       "encounter_max_metres -5 out of range",
		`{"gap_reception_radius_km": 1e308}`: "gap_reception_radius_km 1e+308 out of range: must be from 0 to 20000 km",
		`{"draught_change_metres": 1e308}`:   "draught_change_metres",
		`{"max_track_speed_kn": 0}`:          "max_track_speed_kn 0",
		`{"jump_confirm_fixes": 0}`:          "jump_confirm_fixes 0 out of range: must be from 1 to 1000",
		`{"max_vessels": -1}`:                "max_vessels -1",
	} {
		_, err := load(body)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
	// Several at once are all named, and counted.
	_, err := load(`{"gap_min_hours": 0, "loiter_max_kn": -1}`)
	if err == nil || !strings.Contains(err.Error(), "2 threshold(s) out of range") || !strings.Contains(err.Error(), "loiter_max_kn") {
		t.Errorf("two out of range: %v", err)
	}
}
