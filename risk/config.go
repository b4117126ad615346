// Package risk builds a point-in-time vessel risk profile: list hits on
// the vessel and the parties linked to it, identity signals, behaviour in
// a review window and vessel facts, each scored by a configurable weight
// and tied to its evidence, mapped to a recommendation (decline, refer,
// accept). It knows nothing of storage: the caller gathers the inputs.
package risk

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Config holds the weights (points per factor), caps and the bands. The
// defaults and their reasons are in docs/risk.md; a JSON file overrides
// any of them (LoadConfig).
type Config struct {
	ListedVessel       float64 `json:"listed_vessel"`         // its IMO or MMSI on a list
	ListedVesselByName float64 `json:"listed_vessel_by_name"` // a listed vessel's name, no identifier
	ListedParty        float64 `json:"listed_party"`          // owner, manager or operator listed (each)
	DPRKFlag           float64 `json:"dprk_flag"`             // DPRK MID or flag
	DPRKPortCall       float64 `json:"dprk_port_call"`        // each call at a DPRK port
	EncounterDPRK      float64 `json:"encounter_dprk"`        // each encounter with a DPRK or designated ship
	Encounter          float64 `json:"encounter"`             // each other encounter at sea
	EncounterCap       float64 `json:"encounter_cap"`
	Gap                float64 `json:"gap"`            // each AIS gap
	GapDeliberate      float64 `json:"gap_deliberate"` // each gap flagged likely deliberate
	GapCap             float64 `json:"gap_cap"`
	Loitering          float64 `json:"loitering"`
	LoiteringCap       float64 `json:"loitering_cap"`
	DPRKWaters         float64 `json:"dprk_waters"`    // a foreign ship entering DPRK territorial waters
	STSZoneEntry       float64 `json:"sts_zone_entry"` // each entry into a reported STS area
	STSZoneCap         float64 `json:"sts_zone_cap"`
	DraughtAtSea       float64 `json:"draught_change_at_sea"`
	DraughtCap         float64 `json:"draught_change_cap"`
	FlagChange         float64 `json:"flag_change"` // each change of the flag the MMSI implies
	FlagChangeCap      float64 `json:"flag_change_cap"`
	NameChange         float64 `json:"name_change"`
	NameChangeCap      float64 `json:"name_change_cap"`
	TypeToFishing      float64 `json:"type_to_fishing"` // declared fishing vessel mid-voyage
	IMOChange          float64 `json:"imo_change"`      // IMO changed under one MMSI
	IdentityConflict   float64 `json:"identity_conflict"`
	Spoofing           float64 `json:"position_spoofing"`
	Inconsistency      float64 `json:"inconsistency"` // MID vs call sign or flag, DPRK call sign
	AbusedRegistry     float64 `json:"abused_registry"`
	OldVessel          float64 `json:"old_vessel"`
	OldVesselYears     int     `json:"old_vessel_years"`
	// Registries named as fraudulent or abused by DPRK-linked ships (the
	// issue's list, from UN Panel reports and government advisories):
	// flag (ISO alpha-2) and the date from which a ship under it counts
	// (empty: always).
	AbusedRegistries []Registry `json:"abused_registries"`
	// Bands: a score at or over DeclineAt declines, at or over ReferAt
	// refers, below accepts when the evidence suffices.
	DeclineAt float64 `json:"decline_at"`
	ReferAt   float64 `json:"refer_at"`
	// MinCoverage is the share of the review window's days that must have
	// AIS positions before a vessel can be accepted (absence of evidence
	// is not a clean bill): below it, a profile under the refer band is
	// "insufficient evidence". 0.5 by default: satellite AIS sees an
	// active ship most days, so a ship seen on fewer than half of them is
	// dark, laid up or unknown, and none of those is an accept.
	MinCoverage float64 `json:"min_coverage"`
}

// Registry is one abused registry.
type Registry struct {
	Flag string `json:"flag"`
	From string `json:"from,omitempty"` // YYYY-MM-DD
	Name string `json:"name"`
}

// DefaultConfig is the documented default (docs/risk.md). The anchors:
// anything the UN prohibits outright (a designated vessel, a DPRK flag, a
// DPRK port call, a transfer with a DPRK ship) declines alone; the
// evasion tactics the advisories list (dark periods, flag hopping, renames,
// transfers at sea, abused registries) refer alone and decline together.
var DefaultConfig = Config{
	ListedVessel: 100, ListedVesselByName: 30, ListedParty: 60,
	DPRKFlag: 100, DPRKPortCall: 100, EncounterDPRK: 80,
	Encounter: 10, EncounterCap: 30,
	Gap: 10, GapDeliberate: 25, GapCap: 50,
	Loitering: 5, LoiteringCap: 15,
	DPRKWaters: 60, STSZoneEntry: 5, STSZoneCap: 10,
	DraughtAtSea: 15, DraughtCap: 30,
	FlagChange: 25, FlagChangeCap: 50,
	NameChange: 10, NameChangeCap: 20,
	TypeToFishing: 20, IMOChange: 40, IdentityConflict: 40, Spoofing: 30, Inconsistency: 20,
	AbusedRegistry: 25,
	OldVessel:      10, OldVesselYears: 25,
	AbusedRegistries: []Registry{
		{Flag: "FM", Name: "Micronesia"}, {Flag: "CD", Name: "DR Congo"}, {Flag: "FJ", Name: "Fiji"},
		{Flag: "WS", Name: "Samoa"}, {Flag: "NR", Name: "Nauru"}, {Flag: "VU", Name: "Vanuatu"},
		{Flag: "MV", Name: "Maldives"}, {Flag: "KH", From: "2017-01-01", Name: "Cambodia (after 2016)"},
	},
	DeclineAt: 100, ReferAt: 30, MinCoverage: 0.5,
}

// LoadConfig reads a JSON file over the defaults; unknown keys are
// refused so a misspelt weight is not silently ignored.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	cfg := DefaultConfig
	cfg.AbusedRegistries = append([]Registry(nil), DefaultConfig.AbusedRegistries...)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("risk config %s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("risk config %s: %w", path, err)
	}
	return cfg, nil
}

// Allowed ranges. A weight of 0 (or less) would drop its factor, and the
// evidence with it, from every profile: a designated vessel could read as
// clean. A huge one (1e308) overflows the score to +Inf, which JSON cannot
// encode. To lessen a factor, give it a small weight.
const (
	maxWeight = 1000    // points per occurrence
	maxCap    = 100_000 // points; 0 is no cap
	maxBand   = 100_000
)

// Validate checks every weight, cap and band against its range; the error
// names each field out of range, its value and the range.
func (c Config) Validate() error {
	weights := []struct {
		name string
		v    float64
	}{
		{"listed_vessel", c.ListedVessel}, {"listed_vessel_by_name", c.ListedVesselByName}, {"listed_party", c.ListedParty},
		{"dprk_flag", c.DPRKFlag}, {"dprk_port_call", c.DPRKPortCall}, {"encounter_dprk", c.EncounterDPRK},
		{"encounter", c.Encounter}, {"gap", c.Gap}, {"gap_deliberate", c.GapDeliberate}, {"loitering", c.Loitering},
		{"dprk_waters", c.DPRKWaters}, {"sts_zone_entry", c.STSZoneEntry}, {"draught_change_at_sea", c.DraughtAtSea},
		{"flag_change", c.FlagChange}, {"name_change", c.NameChange}, {"type_to_fishing", c.TypeToFishing},
		{"imo_change", c.IMOChange}, {"identity_conflict", c.IdentityConflict}, {"position_spoofing", c.Spoofing},
		{"inconsistency", c.Inconsistency}, {"abused_registry", c.AbusedRegistry}, {"old_vessel", c.OldVessel},
	}
	caps := []struct {
		name string
		v    float64
	}{
		{"encounter_cap", c.EncounterCap}, {"gap_cap", c.GapCap}, {"loitering_cap", c.LoiteringCap},
		{"sts_zone_cap", c.STSZoneCap}, {"draught_change_cap", c.DraughtCap}, {"flag_change_cap", c.FlagChangeCap},
		{"name_change_cap", c.NameChangeCap},
	}
	var errs []error
	// !(v > lo && v <= hi) also refuses NaN.
	for _, w := range weights {
		if !(w.v > 0 && w.v <= maxWeight) {
			errs = append(errs, fmt.Errorf("%s %g out of range: a weight must be above 0 and at most %d points (0 would hide the factor and its evidence)", w.name, w.v, maxWeight))
		}
	}
	for _, w := range caps {
		if !(w.v >= 0 && w.v <= maxCap) {
			errs = append(errs, fmt.Errorf("%s %g out of range: a cap must be from 0 (no cap) to %d points", w.name, w.v, maxCap))
		}
	}
	if c.OldVesselYears < 1 || c.OldVesselYears > 200 {
		errs = append(errs, fmt.Errorf("old_vessel_years %d out of range: must be from 1 to 200", c.OldVesselYears))
	}
	for _, b := range []struct {
		name string
		v    float64
	}{{"refer_at", c.ReferAt}, {"decline_at", c.DeclineAt}} {
		if !(b.v > 0 && b.v <= maxBand) {
			errs = append(errs, fmt.Errorf("%s %g out of range: must be above 0 and at most %d points", b.name, b.v, maxBand))
		}
	}
	if c.DeclineAt <= c.ReferAt {
		errs = append(errs, fmt.Errorf("decline_at (%g) must be above refer_at (%g)", c.DeclineAt, c.ReferAt))
	}
	if !(c.MinCoverage >= 0 && c.MinCoverage <= 1) {
		errs = append(errs, fmt.Errorf("min_coverage %g out of range: must be a share from 0 to 1", c.MinCoverage))
	}
	for i, r := range c.AbusedRegistries {
		if len(r.Flag) != 2 || strings.ToUpper(r.Flag) != r.Flag {
			errs = append(errs, fmt.Errorf("abused_registries[%d].flag %q: must be an ISO 3166 alpha-2 code in capitals", i, r.Flag))
		}
		if r.From != "" {
			if _, err := time.Parse("2006-01-02", r.From); err != nil {
				errs = append(errs, fmt.Errorf("abused_registries[%d].from %q: must be a date YYYY-MM-DD", i, r.From))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d setting(s) out of range: %w", len(errs), errors.Join(errs...))
	}
	return nil
}

// Hash identifies a configuration: the report prints it, so two reports
// can be seen to use the same weights.
func (c Config) Hash() string {
	b, _ := json.Marshal(c)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])[:16]
}
