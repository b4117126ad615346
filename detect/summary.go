package detect

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/identity"
)

// Summary says what the event is in plain words for an analyst: the
// vessels by name, IMO, MMSI and the flag their MMSI implies, times in
// UTC, durations in hours, distances with their units and positions with
// their hemispheres. The CLI, the report, the UI and alerts show it.
func (e *Event) Summary() string {
	d := &e.Details
	var b strings.Builder
	if e.Status == StatusOpen {
		b.WriteString("Ongoing: ")
	}
	v0 := ""
	if len(e.Vessels) > 0 {
		v0 = vesselText(e.Vessels[0], e.Vessels)
	}
	v1 := ""
	if len(e.Vessels) > 1 {
		v1 = vesselText(e.Vessels[1], e.Vessels)
	}
	at := position(e.Lat, e.Lon)
	switch e.Kind {
	case KindGap:
		if e.Status == StatusOpen {
			fmt.Fprintf(&b, "%s has sent no position for %s, since %s; last heard at %s", v0, hoursText(d.Hours), when(e.Start), latLon(d.StartPosition))
		} else {
			fmt.Fprintf(&b, "%s sent no position for %s, %s; last heard at %s", v0, hoursText(d.Hours), span(e.Start, e.End), latLon(d.StartPosition))
		}
		if d.StartShoreNM > 0 {
			fmt.Fprintf(&b, ", %s offshore", nm(d.StartShoreNM))
		}
		if d.EndPosition != (LatLon{}) {
			fmt.Fprintf(&b, "; heard again at %s, %s away (%s kn implied)", latLon(d.EndPosition), km(d.DistanceKM), num(d.ImpliedSpeedKn, 1))
		}
		b.WriteString(".")
		if d.ReceptionContinued != nil {
			if *d.ReceptionContinued {
				b.WriteString(" Other ships were heard nearby meanwhile.")
			} else {
				b.WriteString(" No other ship was heard nearby meanwhile: the receivers may not have covered the area.")
			}
		}
		if d.LikelyDeliberate {
			b.WriteString(" Likely deliberate: long, and starting far offshore.")
		}
		zoneSentence(&b, d)
	case KindEncounter:
		fmt.Fprintf(&b, "%s and %s were within %s of each other for %s at %s, median speed %s kn", v0, v1, metres(d.MinDistanceM), hoursText(d.Hours), at, num(d.MedianSpeedKn, 1))
		if d.ShoreNM > 0 {
			fmt.Fprintf(&b, ", %s offshore", nm(d.ShoreNM))
		}
		fmt.Fprintf(&b, ", %s.", span(e.Start, e.End))
		if d.Windows > 1 {
			fmt.Fprintf(&b, " They parted and met again: %d meetings less than 4 hours apart.", d.Windows)
		}
		if d.Counterpart != "" {
			fmt.Fprintf(&b, " %s.", upperFirst(d.Counterpart))
		}
		zoneSentence(&b, d)
	case KindLoitering:
		fmt.Fprintf(&b, "%s loitered at a mean %s kn for %s around %s", v0, num(d.MeanSpeedKn, 1), hoursText(d.Hours), at)
		if d.ShoreNM > 0 {
			fmt.Fprintf(&b, ", %s offshore", nm(d.ShoreNM))
		}
		fmt.Fprintf(&b, ", %s.", span(e.Start, e.End))
		zoneSentence(&b, d)
	case KindPortCall:
		fmt.Fprintf(&b, "%s called at %s (%s) for %s, %s", v0, d.Port, portCountry(d.Country), hoursText(d.Hours), span(e.Start, e.End))
		if d.DPRKPort {
			b.WriteString("; a port of the DPRK")
		}
		b.WriteString(".")
	case KindZoneEntry:
		if d.FirstHeardInside {
			fmt.Fprintf(&b, "%s was first heard inside %s at %s, %s (its entry was not seen).", v0, zoneText(d), at, when(e.Start))
			break
		}
		fmt.Fprintf(&b, "%s entered %s at %s, %s.", v0, zoneText(d), at, when(e.Start))
	case KindZoneExit:
		fmt.Fprintf(&b, "%s left %s at %s, %s, after %s inside.", v0, zoneText(d), at, when(e.End), hoursText(d.HoursInside))
	case KindIdentityChange:
		if d.Field == "mmsi" {
			fmt.Fprintf(&b, "IMO %d moved from MMSI %s (%s) to MMSI %s (%s)", d.IMO, d.From, countryName(d.FlagFrom), d.To, countryName(d.FlagTo))
			if len(e.Vessels) > 1 && e.Vessels[1].Name != "" {
				fmt.Fprintf(&b, ", now named %s", e.Vessels[1].Name)
			}
			fmt.Fprintf(&b, ": last heard on the old MMSI %s, first on the new %s.", when(e.Start), when(e.End))
			if d.FlagChanged {
				b.WriteString(" The flag its radio licence implies changed with it.")
			}
			break
		}
		fmt.Fprintf(&b, "%s changed its %s from %q to %q, %s", v0, fieldName(d.Field), d.From, d.To, when(e.Start))
		if d.Changes > 1 {
			fmt.Fprintf(&b, ", then back and forth %d times until %s (two transmitters alternating, or a ship switching identities)", d.Changes, when(e.End))
		}
		b.WriteString(".")
		if d.ToFishing {
			b.WriteString(" Ship type 30 declares a fishing vessel, which explains slow speeds and close company at sea.")
		}
	case KindDraughtChange:
		fmt.Fprintf(&b, "%s reported its draught change from %s m to %s m at sea with no port call between (reported %s, the earlier draught since %s), near %s.",
			v0, num(d.FromM, 1), num(d.ToM, 1), when(e.End), when(e.Start), at)
		if d.Changes > 1 {
			fmt.Fprintf(&b, " It changed back and forth %d times.", d.Changes)
		}
	case KindIdentityConflict:
		switch d.Reason {
		case "one_imo_two_mmsi":
			fmt.Fprintf(&b, "IMO %d was broadcast at the same time by %s and %s, %s", d.IMO, v0, v1, span(e.Start, e.End))
			if len(d.Positions) == 2 {
				fmt.Fprintf(&b, ", at %s and %s (%s apart)", latLon(d.Positions[0]), latLon(d.Positions[1]), km(d.DistanceKM))
			}
			b.WriteString(": one hull's identity used by two transmitters.")
		case "one_mmsi_two_positions":
			fmt.Fprintf(&b, "Two ships report as %s at once, %s apart: at %s and at %s, %s (%d and %d positions).", v0, km(d.DistanceKM),
				latLon(posAt(d.Positions, 0)), latLon(posAt(d.Positions, 1)), span(e.Start, e.End), d.NearFixes, d.FarFixes)
		case "designated_identity":
			fmt.Fprintf(&b, "%s broadcasts the identity of a designated vessel: %s", v0, d.Listing)
			if d.ListedFlag != "" {
				fmt.Fprintf(&b, "; the lists record the flag of %s, its MMSI implies %s", countryName(d.ListedFlag), countryName(d.MIDFlag))
			}
			fmt.Fprintf(&b, " (%s).", when(e.Start))
		default:
			fmt.Fprintf(&b, "%s: identity conflict (%s), %s.", v0, d.Reason, span(e.Start, e.End))
		}
	case KindSpoofing:
		switch d.Reason {
		case "far_jump":
			fmt.Fprintf(&b, "The position of %s jumped %s, from %s to %s (%s kn implied), %s, and stayed there %s",
				v0, km(d.DistanceKM), latLon(posAt(d.Positions, 0)), latLon(posAt(d.Positions, 1)), num(d.ImpliedSpeedKn, 0), when(e.Start), hoursText(d.Hours))
			if d.Returned {
				b.WriteString(", then came back: a falsified position, not a voyage.")
			} else {
				b.WriteString(" while the track it left fell silent.")
			}
		case "position_on_land":
			fmt.Fprintf(&b, "%s reported %d position(s) %s inland, first at %s, %s; it was last at sea %s.", v0, d.Fixes, km(d.InlandKM), at, span(e.Start, e.End), when(d.LastAtSea))
		case "frozen_position_while_moving":
			fmt.Fprintf(&b, "%s reported the same position %s %d times while claiming %s kn, %s.", v0, at, d.Fixes, num(d.ReportedSpeedKn, 1), span(e.Start, e.End))
		default:
			fmt.Fprintf(&b, "%s: position spoofing (%s) at %s, %s.", v0, d.Reason, at, span(e.Start, e.End))
		}
	case KindInconsistency:
		switch d.Reason {
		case "imo_check_digit":
			fmt.Fprintf(&b, "%s broadcasts IMO %d, which fails the IMO check digit: a data-quality finding, usually a mistyped number.", v0, d.IMO)
		case "dprk_call_sign_on_foreign_mmsi":
			fmt.Fprintf(&b, "%s uses the DPRK call sign %s on an MMSI of %s.", v0, d.CallSign, countryName(d.MMSIFlag))
		case "call_sign_country_differs_from_mid":
			fmt.Fprintf(&b, "%s uses call sign %s, from the series of %s, on an MMSI of %s.", v0, d.CallSign, countryName(d.CSCountry), countryName(d.MMSIFlag))
		case "mid_not_allocated":
			fmt.Fprintf(&b, "%s uses MID %d, which the ITU has allocated to no country.", v0, d.MID)
		case "class_b_on_large_ship":
			fmt.Fprintf(&b, "%s transmits class B AIS, meant for small craft, while reporting a length of %d m.", v0, d.LengthM)
		case "placeholder_mmsi":
			fmt.Fprintf(&b, "%s is a default or placeholder MMSI many transponders share: identity findings on it are not reported.", v0)
		case "position_outlier":
			fmt.Fprintf(&b, "%s reported %d position(s) at %s, %s from its track at %s, faster than any ship and never followed up (%s): a data error more likely than spoofing.",
				v0, d.FarFixes, latLon(posAt(d.Positions, 1)), km(d.DistanceKM), latLon(posAt(d.Positions, 0)), when(e.Start))
		default:
			fmt.Fprintf(&b, "%s: %s.", v0, strings.ReplaceAll(d.Reason, "_", " "))
		}
	default:
		fmt.Fprintf(&b, "%s: %s at %s, %s.", v0, e.Kind, at, span(e.Start, e.End))
	}
	return b.String()
}

// vesselText names a vessel: "SIM OCEAN STAR (IMO 9300207, MMSI 667000202,
// Sierra Leone)", with its track when its MMSI appears twice in the event.
func vesselText(v Vessel, all []Vessel) string {
	var parts []string
	if v.IMO != 0 {
		parts = append(parts, "IMO "+strconv.Itoa(int(v.IMO)))
	}
	parts = append(parts, fmt.Sprintf("MMSI %09d", v.MMSI))
	if v.MIDFlag != "" {
		parts = append(parts, countryName(v.MIDFlag))
	}
	twice := 0
	for _, o := range all {
		if o.MMSI == v.MMSI {
			twice++
		}
	}
	if twice > 1 || v.Segment > 0 {
		parts = append(parts, fmt.Sprintf("track %d", v.Segment))
	}
	name := v.Name
	if name == "" {
		name = "an unnamed ship"
	}
	return name + " (" + strings.Join(parts, ", ") + ")"
}

func countryName(code string) string {
	if code == "" {
		return "an unknown country"
	}
	// The ITU names territories after their state: "United Kingdom of
	// Great Britain and Northern Ireland - Bermuda" is Bermuda.
	n := identity.Country(code).Name()
	if i := strings.LastIndex(n, " - "); i >= 0 {
		n = n[i+3:]
	}
	return n
}

// portCountry names a port's country, which sources write as a name or
// an ISO alpha-3 code.
func portCountry(c string) string {
	if len(c) == 3 && strings.ToUpper(c) == c {
		if cc, ok := identity.CountryByName(c); ok {
			return cc.Name()
		}
	}
	return c
}

// position writes "38.123°N 124.456°E".
func position(lat, lon float64) string {
	if lat == 0 && lon == 0 {
		return "an unknown position"
	}
	ns, ew := "N", "E"
	if lat < 0 {
		ns, lat = "S", -lat
	}
	if lon < 0 {
		ew, lon = "W", -lon
	}
	return fmt.Sprintf("%.3f°%s %.3f°%s", lat, ns, lon, ew)
}

func latLon(p LatLon) string { return position(p[0], p[1]) }

func posAt(ps []LatLon, i int) LatLon {
	if i < len(ps) {
		return ps[i]
	}
	return LatLon{}
}

func when(t time.Time) string {
	if t.IsZero() {
		return "at an unknown time"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// span writes "from 2026-03-01 07:06 to 12:06 UTC", with the end's date
// when it is another day.
func span(a, b time.Time) string {
	a, b = a.UTC(), b.UTC()
	if a.Equal(b) {
		return when(a)
	}
	if a.Format("2006-01-02") == b.Format("2006-01-02") {
		return "from " + a.Format("2006-01-02 15:04") + " to " + b.Format("15:04") + " UTC"
	}
	return "from " + a.Format("2006-01-02 15:04") + " to " + b.Format("2006-01-02 15:04") + " UTC"
}

func num(f float64, prec int) string { return strconv.FormatFloat(f, 'f', prec, 64) }

func hoursText(h float64) string {
	if h == 1 {
		return "1 hour"
	}
	return num(h, 1) + " hours"
}

func km(k float64) string {
	if k < 10 {
		return num(k, 1) + " km"
	}
	return num(math.Round(k), 0) + " km"
}

func nm(n float64) string { return num(math.Round(n), 0) + " nm" }

func metres(m float64) string { return num(math.Round(m), 0) + " m" }

func zoneText(d *Details) string {
	name := d.ZoneName
	if name == "" {
		name = d.Zone
	}
	switch d.ZoneKind {
	case "sts_area":
		return name + " (an area of reported ship-to-ship transfers)"
	case "dprk_waters":
		return name + " (DPRK waters)"
	}
	return name
}

func zoneSentence(b *strings.Builder, d *Details) {
	if d.Zone != "" {
		fmt.Fprintf(b, " In %s.", zoneText(d))
	}
}

func fieldName(f string) string {
	switch f {
	case "call_sign":
		return "call sign"
	case "ship_type":
		return "ship type"
	case "imo":
		return "IMO number"
	}
	return f
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
