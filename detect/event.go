// Package detect finds behaviour in tracks: AIS gaps, ship-to-ship
// encounters, loitering, port calls, zone entries and exits, identity
// changes and conflicts, draught changes at sea, position spoofing and
// identity inconsistencies. Detectors work in event time on fixes in time
// order (track.Reorder) and emit events with the evidence that triggered
// them; the same fixes give the same events.
//
// Each event is one occurrence of a behaviour: it opens, is updated while
// it lasts and closes when it ends, and a resumption within a documented
// time is the same occurrence (docs/detection.md defines each kind's).
// The detectors emit an occurrence once, when it closes. An engine that
// checkpoints (Engine.Checkpoint) also reports the occurrences still open
// at that moment, with Status "open" and the ID their closed version will
// carry, so that a store or an alert replaces the earlier version.
package detect

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
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

// Severity says how much an event matters to an analyst screening for
// DPRK sanctions evasion; the rules are in docs/detection.md.
type Severity string

// Severities, lowest first.
const (
	SeverityInfo   Severity = "info"
	SeverityLow    Severity = "low"
	SeverityMedium Severity = "medium"
	SeverityHigh   Severity = "high"
)

// Rank orders severities: info 0, low 1, medium 2, high 3 (-1 unknown).
func (s Severity) Rank() int {
	switch s {
	case SeverityInfo:
		return 0
	case SeverityLow:
		return 1
	case SeverityMedium:
		return 2
	case SeverityHigh:
		return 3
	}
	return -1
}

// Event statuses.
const (
	// StatusClosed: the occurrence ended (or the input did); this is its
	// final version.
	StatusClosed = "closed"
	// StatusOpen: the occurrence was still going on at a checkpoint; a
	// later version with the same ID replaces this one.
	StatusOpen = "open"
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

// Event is one occurrence of a behaviour.
type Event struct {
	// ID identifies the occurrence: a hash of its kind, its vessels'
	// MMSIs and segments in order, its start time and, for the kinds
	// that have one, its zone (zone entries and exits), identity field
	// (identity changes) or reason (conflicts, spoofing,
	// inconsistencies). A later version of the same occurrence (open,
	// then longer, then closed) has the same ID.
	ID       string    `json:"id"`
	Kind     string    `json:"kind"`
	Severity Severity  `json:"severity"`
	Status   string    `json:"status"`
	Vessels  []Vessel  `json:"vessels"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	// Lat, Lon place the event; 0, 0 when no position of the vessel is
	// known at all (a static report heard before any position).
	Lat     float64 `json:"lat"`
	Lon     float64 `json:"lon"`
	Details Details `json:"details"`
}

// LatLon is a position as [lat, lon] in JSON.
type LatLon [2]float64

// Details is the evidence of an event. Which fields each kind sets is in
// docs/detection.md; unset fields are left out of the JSON.
type Details struct {
	// Why: conflicts, spoofing and inconsistencies name their rule.
	Reason      string `json:"reason,omitempty"`
	Explanation string `json:"explanation,omitempty"`

	// Durations and distances.
	Hours          float64 `json:"hours,omitempty"`
	DistanceKM     float64 `json:"distance_km,omitempty"`
	ImpliedSpeedKn float64 `json:"implied_speed_kn,omitempty"`
	ShoreNM        float64 `json:"shore_nm,omitempty"`
	Fixes          int     `json:"fixes,omitempty"`

	// Positions.
	StartPosition LatLon   `json:"start_position,omitzero"`
	EndPosition   LatLon   `json:"end_position,omitzero"`
	FromPosition  LatLon   `json:"from_position,omitzero"`
	Positions     []LatLon `json:"positions,omitempty"`

	// Gaps.
	StartShoreNM         float64 `json:"start_shore_nm,omitempty"`
	ReceptionContinued   *bool   `json:"reception_continued,omitempty"`
	OtherShipHoursNearby *int64  `json:"other_ship_hours_nearby,omitempty"`
	LikelyDeliberate     bool    `json:"likely_deliberate,omitempty"`

	// Encounters and loitering.
	MedianSpeedKn float64 `json:"median_speed_kn,omitempty"`
	MeanSpeedKn   float64 `json:"mean_speed_kn,omitempty"`
	MinDistanceM  float64 `json:"min_distance_m,omitempty"`
	CloseFixes    int     `json:"close_fixes,omitempty"`
	Windows       int     `json:"windows,omitempty"`
	// Counterpart says why an encounter's other ship matters ("DPRK MMSI",
	// "designated: NAME [refs]").
	Counterpart string `json:"counterpart,omitempty"`

	// Port calls.
	Port       string `json:"port,omitempty"`
	Country    string `json:"country,omitempty"`
	PortSource string `json:"port_source,omitempty"`
	LOCODE     string `json:"locode,omitempty"`
	DPRKPort   bool   `json:"dprk_port,omitempty"`

	// Zones (zone events; gaps and loitering in a zone).
	Zone        string  `json:"zone,omitempty"`
	ZoneName    string  `json:"zone_name,omitempty"`
	ZoneKind    string  `json:"zone_kind,omitempty"`
	HoursInside float64 `json:"hours_inside,omitempty"`
	// FirstHeardInside: a zone entry whose crossing was not seen, because
	// the ship's track (or a new segment of it) began inside the zone.
	FirstHeardInside bool `json:"first_heard_inside,omitempty"`

	// Identity changes.
	Field     string `json:"field,omitempty"`
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
	ToFishing bool   `json:"to_fishing,omitempty"`
	// Changes counts the changes between the two values the occurrence
	// covers (1 for a plain change; more when it flipped back and forth).
	Changes     int    `json:"changes,omitempty"`
	FlagFrom    string `json:"flag_from,omitempty"`
	FlagTo      string `json:"flag_to,omitempty"`
	FlagChanged bool   `json:"flag_changed,omitempty"`

	// Identities.
	IMO         uint32 `json:"imo,omitempty"`
	Listing     string `json:"listing,omitempty"`
	ListedFlag  string `json:"listed_flag,omitempty"`
	MIDFlag     string `json:"mid_flag,omitempty"`
	FlagDiffers bool   `json:"flag_differs,omitempty"`
	CallSign    string `json:"call_sign,omitempty"`
	CSCountry   string `json:"call_sign_country,omitempty"`
	MMSIFlag    string `json:"mmsi_flag,omitempty"`
	MID         int    `json:"mid,omitempty"`
	LengthM     int    `json:"length_m,omitempty"`

	// Draught changes.
	FromM             float64 `json:"from_m,omitempty"`
	ToM               float64 `json:"to_m,omitempty"`
	ChangeM           float64 `json:"change_m,omitempty"`
	NoPortCallBetween bool    `json:"no_port_call_between,omitempty"`

	// Spoofing and two ships on one MMSI.
	InlandKM        float64   `json:"inland_km,omitempty"`
	LastAtSea       time.Time `json:"last_at_sea,omitzero"`
	ReportedSpeedKn float64   `json:"reported_speed_kn,omitempty"`
	// NearFixes and FarFixes count the fixes of the track the MMSI came
	// from and of the far one during the episode; Returned says the
	// position came back to the first track.
	NearFixes int  `json:"near_fixes,omitempty"`
	FarFixes  int  `json:"far_fixes,omitempty"`
	Returned  bool `json:"returned,omitempty"`
}

// idKey is the part of an occurrence's identity its kind adds to the
// vessels and the start: the zone, the identity field or the reason.
func (e *Event) idKey() string {
	switch e.Kind {
	case KindZoneEntry, KindZoneExit:
		return e.Details.Zone
	case KindIdentityChange:
		return e.Details.Field
	case KindIdentityConflict, KindSpoofing, KindInconsistency:
		return e.Details.Reason
	}
	return ""
}

// OccurrenceID computes the event's ID (see Event.ID): 16 hex digits of
// FNV-1a over the kind, the key, each vessel's MMSI and segment, and the
// start in Unix nanoseconds.
func (e *Event) OccurrenceID() string {
	h := fnv.New64a()
	h.Write([]byte(e.Kind))
	h.Write([]byte{0})
	h.Write([]byte(e.idKey()))
	h.Write([]byte{0})
	var b [8]byte
	for _, v := range e.Vessels {
		binary.BigEndian.PutUint32(b[:4], v.MMSI)
		binary.BigEndian.PutUint32(b[4:], uint32(v.Segment))
		h.Write(b[:])
	}
	binary.BigEndian.PutUint64(b[:], uint64(e.Start.UnixNano()))
	h.Write(b[:])
	return hex.EncodeToString(h.Sum(nil))
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
	RunBreakMinutes        float64 `json:"run_break_minutes"`        // 30: a loitering or port-call run survives a faster spell this short
	PortCallMaxKn          float64 `json:"port_call_max_kn"`         // 0.5
	PortCallMaxKM          float64 `json:"port_call_max_km"`         // 3
	PortCallMinHours       float64 `json:"port_call_min_hours"`      // 2
	PositionFreshMinutes   float64 `json:"position_fresh_minutes"`   // 30: how old a neighbour's fix may be to compare positions
	ZoneBufferKM           float64 `json:"zone_buffer_km"`           // 1: an entry or exit this deep is confirmed at once...
	ZoneDwellMinutes       float64 `json:"zone_dwell_minutes"`       // 30: ...a shallower one after this long on the new side
	DraughtChangeMetres    float64 `json:"draught_change_metres"`    // 1
	SameTimeMinutes        float64 `json:"same_time_minutes"`        // 10: two reports this close are "at once"
	IdentityResumeHours    float64 `json:"identity_resume_hours"`    // 6: a change, conflict or jump resumed within this is the same occurrence
	ConflictMinKM          float64 `json:"conflict_min_km"`          // 50: two positions of one MMSI at once must be this far apart
	JumpConfirmFixes       int     `json:"jump_confirm_fixes"`       // 3: fixes that make a far position a track of its own
	SpoofInlandKM          float64 `json:"spoof_inland_km"`          // 30: a fix this far inland (and this far from a port) is not a coastline, river or canal
	SpoofFrozenFixes       int     `json:"spoof_frozen_fixes"`       // 10 identical positions...
	SpoofFrozenMinKn       float64 `json:"spoof_frozen_min_kn"`      // ...while reporting at least 3 kn
	ClassBMaxLengthM       int     `json:"class_b_max_length_m"`     // 100: class B on a ship this long is wrong
	MaxTrackSpeedKn        float64 `json:"max_track_speed_kn"`       // 30 (track segmentation)
	TrackMinIntervalMin    float64 `json:"track_min_interval_min"`   // 10: no interval counts as shorter (receive-time jitter)
	MaxVessels             int     `json:"max_vessels"`              // 250,000: MMSIs tracked at once; the idlest are evicted past it
	ReorderLatenessMinutes float64 `json:"reorder_lateness_minutes"` // 120
}

// DefaultConfig is the set of defaults documented above.
var DefaultConfig = Config{
	GapMinHours: 6, GapDeliberateHours: 12, GapDeliberateShoreNM: 50, GapReceptionRadiusKM: 100,
	EncounterMaxMetres: 500, EncounterMinHours: 2, EncounterMaxMedianKn: 2, EncounterMinPortKM: 10,
	EncounterMergeHours: 4, EncounterBreakMinutes: 60,
	LoiterMaxKn: 2, LoiterMinHours: 4, LoiterMinShoreNM: 20, RunBreakMinutes: 30,
	PortCallMaxKn: 0.5, PortCallMaxKM: 3, PortCallMinHours: 2,
	PositionFreshMinutes: 30, ZoneBufferKM: 1, ZoneDwellMinutes: 30,
	MaxTrackSpeedKn: 30, TrackMinIntervalMin: 10, MaxVessels: 250_000, ReorderLatenessMinutes: 120,
	DraughtChangeMetres: 1, SameTimeMinutes: 10, IdentityResumeHours: 6, ConflictMinKM: 50, JumpConfirmFixes: 3,
	SpoofInlandKM: 30, SpoofFrozenFixes: 10, SpoofFrozenMinKn: 3, ClassBMaxLengthM: 100,
}

// LoadConfig reads a JSON file of overrides onto the defaults. Unknown
// keys are errors, so a misspelt threshold cannot be silently ignored, and
// so is a threshold out of its range (Validate).
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
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("detector config %s: %w", path, err)
	}
	return c, nil
}

// SortEvents orders events by start, kind, vessels, end and ID: output
// order does not depend on when each detector happened to emit.
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
		if !a.End.Equal(b.End) {
			return a.End.Before(b.End)
		}
		return a.ID < b.ID
	})
}
