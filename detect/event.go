// Package detect finds behaviour in tracks: AIS gaps, ship-to-ship
// encounters, loitering, port calls, zone entries and exits, identity
// changes and conflicts, draught changes at sea, position spoofing and
// identity inconsistencies. Detectors work in event time on fixes in time
// order (track.Reorder) and emit events with the evidence that triggered
// them; the same fixes give the same events.
package detect

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"
)

// Event kinds.
const (
	KindGap       = "gap"
	KindEncounter = "encounter"
	KindLoitering = "loitering"
	KindPortCall  = "port_call"
	KindZoneEntry = "zone_entry"
	KindZoneExit  = "zone_exit"
)

// Vessel names a ship in an event.
type Vessel struct {
	MMSI    uint32 `json:"mmsi"`
	Segment int    `json:"segment,omitempty"` // which ship under a shared MMSI
	IMO     uint32 `json:"imo,omitempty"`
	Name    string `json:"name,omitempty"`
	// MIDFlag is the flag the MMSI's MID implies (ISO alpha-2): "KP" marks
	// a DPRK-registered radio, whatever flag the ship claims.
	MIDFlag string `json:"mid_flag,omitempty"`
}

// Event is one detected behaviour.
type Event struct {
	Kind    string         `json:"kind"`
	Vessels []Vessel       `json:"vessels"`
	Start   time.Time      `json:"start"`
	End     time.Time      `json:"end"`
	Lat     float64        `json:"lat"`
	Lon     float64        `json:"lon"`
	Details map[string]any `json:"details"`
}

// Config holds every detector threshold. Defaults follow the published
// methods the issue names (Global Fishing Watch's gap and encounter
// definitions, the UN Panel's STS descriptions); a JSON file overrides any
// of them (LoadConfig).
type Config struct {
	GapMinHours            float64 `json:"gap_min_hours"`            // 6
	GapDeliberateHours     float64 `json:"gap_deliberate_hours"`     // 12
	GapDeliberateShoreNM   float64 `json:"gap_deliberate_shore_nm"`  // 50
	GapReceptionRadiusKM   float64 `json:"gap_reception_radius_km"`  // 100: "reception continued" looks this far
	EncounterMaxMetres     float64 `json:"encounter_max_metres"`     // 500
	EncounterMinHours      float64 `json:"encounter_min_hours"`      // 2
	EncounterMaxMedianKn   float64 `json:"encounter_max_median_kn"`  // 2
	EncounterMinPortKM     float64 `json:"encounter_min_port_km"`    // 10
	EncounterMergeHours    float64 `json:"encounter_merge_hours"`    // 4
	EncounterBreakMinutes  float64 `json:"encounter_break_minutes"`  // 60: no close fix this long ends a window
	LoiterMaxKn            float64 `json:"loiter_max_kn"`            // 2
	LoiterMinHours         float64 `json:"loiter_min_hours"`         // 4
	LoiterMinShoreNM       float64 `json:"loiter_min_shore_nm"`      // 20
	PortCallMaxKn          float64 `json:"port_call_max_kn"`         // 0.5
	PortCallMaxKM          float64 `json:"port_call_max_km"`         // 3
	PortCallMinHours       float64 `json:"port_call_min_hours"`      // 2
	PositionFreshMinutes   float64 `json:"position_fresh_minutes"`   // 30: how old a neighbour's fix may be to compare positions
	DraughtChangeMetres    float64 `json:"draught_change_metres"`    // 1
	SameTimeMinutes        float64 `json:"same_time_minutes"`        // 10: two reports this close are "at once"
	ConflictMinKM          float64 `json:"conflict_min_km"`          // 50: two positions of one MMSI at once must be this far apart
	SpoofInlandKM          float64 `json:"spoof_inland_km"`          // 30: a fix this far inland (and this far from a port) is not a coastline, river or canal
	SpoofFrozenFixes       int     `json:"spoof_frozen_fixes"`       // 10 identical positions...
	SpoofFrozenMinKn       float64 `json:"spoof_frozen_min_kn"`      // ...while reporting at least 3 kn
	ClassBMaxLengthM       int     `json:"class_b_max_length_m"`     // 100: class B on a ship this long is wrong
	MaxTrackSpeedKn        float64 `json:"max_track_speed_kn"`       // 30 (track segmentation)
	ReorderLatenessMinutes float64 `json:"reorder_lateness_minutes"` // 120
}

// DefaultConfig is the set of defaults documented above.
var DefaultConfig = Config{
	GapMinHours: 6, GapDeliberateHours: 12, GapDeliberateShoreNM: 50, GapReceptionRadiusKM: 100,
	EncounterMaxMetres: 500, EncounterMinHours: 2, EncounterMaxMedianKn: 2, EncounterMinPortKM: 10,
	EncounterMergeHours: 4, EncounterBreakMinutes: 60,
	LoiterMaxKn: 2, LoiterMinHours: 4, LoiterMinShoreNM: 20,
	PortCallMaxKn: 0.5, PortCallMaxKM: 3, PortCallMinHours: 2,
	PositionFreshMinutes: 30, MaxTrackSpeedKn: 30, ReorderLatenessMinutes: 120,
	DraughtChangeMetres: 1, SameTimeMinutes: 10, ConflictMinKM: 50, SpoofInlandKM: 30, SpoofFrozenFixes: 10, SpoofFrozenMinKn: 3, ClassBMaxLengthM: 100,
}

// LoadConfig reads a JSON file of overrides onto the defaults. Unknown
// keys are errors, so a misspelt threshold cannot be silently ignored.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig
	f, err := os.Open(path)
	if err != nil {
		return c, fmt.Errorf("detector config: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("detector config %s: %w", path, err)
	}
	return c, nil
}

// SortEvents orders events by start, kind, vessels and end: output order
// does not depend on when each detector happened to emit.
func SortEvents(es []Event) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		for k := 0; k < len(a.Vessels) && k < len(b.Vessels); k++ {
			if a.Vessels[k].MMSI != b.Vessels[k].MMSI {
				return a.Vessels[k].MMSI < b.Vessels[k].MMSI
			}
			if a.Vessels[k].Segment != b.Vessels[k].Segment {
				return a.Vessels[k].Segment < b.Vessels[k].Segment
			}
		}
		return a.End.Before(b.End)
	})
}
