package detect

// severity applies the rules of docs/detection.md ("Severity"). They
// read the event alone (its kind, details and vessels' MID flags) and the
// engine's designated-vessel lookup, so the same event always gets the
// same severity.
func (e *Engine) severity(ev *Event) Severity {
	d := &ev.Details
	dprkShip := false
	for _, v := range ev.Vessels {
		dprkShip = dprkShip || v.MIDFlag == "KP"
	}
	inWatch := d.ZoneKind == "dprk_waters" || d.ZoneKind == "sts_area"
	switch ev.Kind {
	case KindPortCall:
		if d.DPRKPort {
			return SeverityHigh
		}
		return SeverityInfo
	case KindEncounter:
		if d.Counterpart != "" {
			return SeverityHigh
		}
		return SeverityMedium
	case KindGap:
		switch {
		case inWatch:
			return SeverityHigh
		case d.LikelyDeliberate:
			return SeverityMedium
		}
		return SeverityLow
	case KindLoitering:
		if inWatch {
			return SeverityMedium
		}
		return SeverityLow
	case KindZoneEntry:
		switch d.ZoneKind {
		case "dprk_waters":
			// Presence in DPRK waters is the finding, seen crossing or not.
			if dprkShip {
				return SeverityInfo
			}
			return SeverityHigh
		}
		if d.FirstHeardInside {
			return SeverityInfo // where a feed began, not a move
		}
		return SeverityLow
	case KindZoneExit:
		return SeverityInfo
	case KindIdentityChange:
		switch d.Field {
		case "mmsi":
			if d.FlagChanged {
				return SeverityMedium
			}
			return SeverityLow
		case "imo":
			return SeverityMedium
		case "ship_type":
			if d.ToFishing {
				return SeverityMedium
			}
			return SeverityInfo
		case "name", "call_sign":
			return SeverityLow
		}
		return SeverityInfo
	case KindDraughtChange:
		if dprkShip {
			return SeverityMedium
		}
		return SeverityLow
	case KindIdentityConflict:
		switch d.Reason {
		case "designated_identity":
			return SeverityHigh
		case "one_imo_two_mmsi":
			if dprkShip || e.designated(ev.Vessels) {
				return SeverityHigh
			}
		}
		return SeverityMedium
	case KindSpoofing:
		switch d.Reason {
		case "frozen_position_while_moving":
			return SeverityLow
		case "far_jump":
			if !d.Returned {
				return SeverityLow
			}
		}
		return SeverityMedium
	case KindInconsistency:
		switch d.Reason {
		case "dprk_call_sign_on_foreign_mmsi":
			return SeverityHigh
		case "placeholder_mmsi", "position_outlier":
			return SeverityInfo
		}
		return SeverityLow
	}
	return SeverityInfo
}

// designated says whether any of the vessels is a designated one (IMO or
// MMSI), when the engine can tell.
func (e *Engine) designated(vs []Vessel) bool {
	if e.Designated == nil {
		return false
	}
	for _, v := range vs {
		if _, _, ok := e.Designated(v.IMO, v.MMSI); ok {
			return true
		}
	}
	return false
}
