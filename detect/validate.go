package detect

import (
	"errors"
	"fmt"
	"math"
)

// Allowed ranges of the thresholds. A zero or negative duration, speed or
// distance makes some detectors divide by zero (a gap of 0 h reports
// every pair of fixes, with an infinite implied speed that JSON cannot
// encode); a huge one overflows a duration or silences a detector. The
// bounds are physical: a year of hours or minutes, half the Earth's
// circumference, the largest speed (102.2 kn), draught (25.5 m) and
// length (1022 m) AIS can carry.
const (
	maxHours   = 8760   // a year
	maxMinutes = 525600 // a year
	maxKM      = 20000  // about half the Earth's circumference
	maxNM      = 10800
	maxAISKn   = 102.2 // the largest speed over ground AIS carries
)

type floatRange struct {
	name   string
	v      float64
	lo, hi float64
	unit   string
}

type intRange struct {
	name   string
	v      int
	lo, hi int
}

// Validate checks every threshold against its allowed range; the error
// names each field out of range, its value and the range.
func (c Config) Validate() error {
	fs := []floatRange{
		{"gap_min_hours", c.GapMinHours, 0.1, maxHours, "hours"},
		{"gap_deliberate_hours", c.GapDeliberateHours, 0.1, maxHours, "hours"},
		{"gap_deliberate_shore_nm", c.GapDeliberateShoreNM, 0, maxNM, "nm"},
		{"gap_reception_radius_km", c.GapReceptionRadiusKM, 0, maxKM, "km"},
		{"encounter_max_metres", c.EncounterMaxMetres, 1, 100_000, "m"},
		{"encounter_min_hours", c.EncounterMinHours, 0.1, maxHours, "hours"},
		{"encounter_max_median_kn", c.EncounterMaxMedianKn, 0.01, maxAISKn, "kn"},
		{"encounter_min_port_km", c.EncounterMinPortKM, 0, maxKM, "km"},
		{"encounter_merge_hours", c.EncounterMergeHours, 0, maxHours, "hours"},
		{"encounter_break_minutes", c.EncounterBreakMinutes, 1, maxMinutes, "minutes"},
		{"loiter_max_kn", c.LoiterMaxKn, 0.01, maxAISKn, "kn"},
		{"loiter_min_hours", c.LoiterMinHours, 0.1, maxHours, "hours"},
		{"loiter_min_shore_nm", c.LoiterMinShoreNM, 0, maxNM, "nm"},
		{"run_break_minutes", c.RunBreakMinutes, 0, maxMinutes, "minutes"},
		{"port_call_max_kn", c.PortCallMaxKn, 0.01, maxAISKn, "kn"},
		{"port_call_max_km", c.PortCallMaxKM, 0.01, maxKM, "km"},
		{"port_call_min_hours", c.PortCallMinHours, 0.1, maxHours, "hours"},
		{"position_fresh_minutes", c.PositionFreshMinutes, 1, maxMinutes, "minutes"},
		{"zone_buffer_km", c.ZoneBufferKM, 0, maxKM, "km"},
		{"zone_dwell_minutes", c.ZoneDwellMinutes, 0, maxMinutes, "minutes"},
		{"draught_change_metres", c.DraughtChangeMetres, 0.1, 25.5, "m"},
		{"same_time_minutes", c.SameTimeMinutes, 0, maxMinutes, "minutes"},
		{"identity_resume_hours", c.IdentityResumeHours, 0, maxHours, "hours"},
		{"conflict_min_km", c.ConflictMinKM, 0.01, maxKM, "km"},
		{"spoof_inland_km", c.SpoofInlandKM, 0.01, maxKM, "km"},
		{"spoof_frozen_min_kn", c.SpoofFrozenMinKn, 0.01, maxAISKn, "kn"},
		{"max_track_speed_kn", c.MaxTrackSpeedKn, 1, 1000, "kn"},
		{"track_min_interval_min", c.TrackMinIntervalMin, 0, 1440, "minutes"},
		{"reorder_lateness_minutes", c.ReorderLatenessMinutes, 0, maxMinutes, "minutes"},
	}
	is := []intRange{
		{"jump_confirm_fixes", c.JumpConfirmFixes, 1, 1000},
		{"spoof_frozen_fixes", c.SpoofFrozenFixes, 2, 100_000},
		{"class_b_max_length_m", c.ClassBMaxLengthM, 1, 1022},
		{"max_vessels", c.MaxVessels, 1, 100_000_000},
	}
	var errs []error
	for _, f := range fs {
		// !(v >= lo) also refuses NaN.
		if !(f.v >= f.lo && f.v <= f.hi) || math.IsInf(f.v, 0) {
			errs = append(errs, fmt.Errorf("%s %g out of range: must be from %g to %g %s", f.name, f.v, f.lo, f.hi, f.unit))
		}
	}
	for _, f := range is {
		if f.v < f.lo || f.v > f.hi {
			errs = append(errs, fmt.Errorf("%s %d out of range: must be from %d to %d", f.name, f.v, f.lo, f.hi))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d threshold(s) out of range: %w", len(errs), errors.Join(errs...))
	}
	return nil
}
