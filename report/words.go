package report

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/identity"
	"github.com/tidewatch/tidewatch/risk"
)

// This file turns data into the words the page shows: positions with
// hemispheres, quantities with units, flags by country name, counts with
// the right plural. eventWords is the only place that reads an event's
// details; everything on the page that describes an event goes through it
// (or through facts, its structured half, for the summary).

// eventWords is an event in plain words: what happened, to which ships,
// with its measurements in units. Position and time are the table's own
// columns. After detect.Event gains Summary(), this becomes e.Summary().
func eventWords(e detect.Event) string {
	f := facts(e)
	ships := vesselList(e.Vessels)
	var s string
	switch e.Kind {
	case detect.KindEncounter:
		s = "Encounter at sea between " + ships + " for " + hoursText(f.hours)
		var m []string
		if f.minDistM > 0 || f.has("min_distance_m") {
			m = append(m, "closest "+metresText(f.minDistM))
		}
		if f.has("median_speed_kn") {
			m = append(m, "median speed "+knotsText(f.speedKn))
		}
		if f.has("shore_nm") {
			m = append(m, nmText(f.shoreNM)+" from shore")
		}
		if f.count > 0 {
			m = append(m, plural(f.count, "close position report", "close position reports"))
		}
		if f.windows > 1 {
			m = append(m, "in "+plural(f.windows, "meeting", "meetings"))
		}
		s += joinParts(m)
	case detect.KindGap:
		s = "AIS silent for " + hoursText(f.hours) + " (" + ships + ")"
		var m []string
		if f.has("distance_km") {
			m = append(m, kmText(f.distKM)+" between the last and the next position")
		}
		if f.has("implied_speed_kn") {
			m = append(m, "implied speed "+knotsText(f.speedKn))
		}
		if f.has("start_shore_nm") {
			m = append(m, "last position "+nmText(f.shoreNM)+" from shore")
		}
		if f.receptionKnown {
			if f.reception {
				m = append(m, "other ships were heard nearby meanwhile ("+numText(f.otherHours)+" ship-hours)")
			} else {
				m = append(m, "no other ship was heard nearby meanwhile (a reception gap is possible)")
			}
		}
		if f.endPos != nil {
			m = append(m, "reappeared at "+posText(f.endPos[0], f.endPos[1]))
		}
		s += joinParts(m)
		if f.deliberate {
			s += ". Likely deliberate: long and far offshore"
		}
	case detect.KindLoitering:
		s = "Loitered for " + hoursText(f.hours) + " (" + ships + ")"
		var m []string
		if f.has("mean_speed_kn") {
			m = append(m, "mean speed "+knotsText(f.speedKn))
		}
		if f.has("shore_nm") {
			m = append(m, nmText(f.shoreNM)+" from shore")
		}
		if f.count > 0 {
			m = append(m, plural(f.count, "position report", "position reports"))
		}
		s += joinParts(m)
	case detect.KindPortCall:
		where := f.port
		if where == "" {
			where = "an unnamed port"
		}
		if f.country != "" {
			where += " (" + f.country + ")"
		}
		s = "Port call at " + where + " for " + hoursText(f.hours) + " (" + ships + ")"
		var m []string
		if f.dprkPort {
			m = append(m, "a DPRK port")
		}
		if f.has("distance_km") {
			m = append(m, kmText(f.distKM)+" from the port's charted position")
		}
		s += joinParts(m)
	case detect.KindZoneEntry, detect.KindZoneExit:
		verb := "Entered"
		if e.Kind == detect.KindZoneExit {
			verb = "Left"
		}
		s = verb + " " + zoneText(f.zoneKind, f.zoneName, f.zone) + " (" + ships + ")"
		if f.has("hours_inside") {
			s += " after " + hoursText(f.hours) + " inside"
		}
	case detect.KindIdentityChange:
		s = identityChangeWords(f, ships)
	case detect.KindDraughtChange:
		s = "Draught changed at sea (" + ships + ")"
		if f.has("from_m") && f.has("to_m") {
			s = fmt.Sprintf("Draught changed at sea from %s to %s (%s) (%s)", draughtText(f.fromM), draughtText(f.toM), signedDraught(f.toM-f.fromM), ships)
		}
		var m []string
		if f.fromPos != nil {
			m = append(m, "since "+posText(f.fromPos[0], f.fromPos[1]))
		}
		if f.noPortCall {
			m = append(m, "no port call between")
		}
		s += joinParts(m)
	case detect.KindIdentityConflict:
		s = conflictWords(f, ships)
	case detect.KindSpoofing:
		s = spoofWords(f, ships)
	case detect.KindInconsistency:
		s = inconsistencyWords(f, ships)
	default:
		s = kindTitle(e.Kind) + " (" + ships + ")" + joinParts(f.rest(nil))
	}
	return s + "."
}

func identityChangeWords(f eventFacts, ships string) string {
	switch f.field {
	case "name":
		return fmt.Sprintf("Name changed from %s to %s (%s)", quoted(f.from), quoted(f.to), ships)
	case "imo":
		return fmt.Sprintf("IMO number changed from %s to %s under one MMSI (%s)", f.from, f.to, ships)
	case "call_sign":
		return fmt.Sprintf("Call sign changed from %s to %s (%s)", f.from, f.to, ships)
	case "destination":
		return fmt.Sprintf("Destination changed from %s to %s (%s)", quoted(f.from), quoted(f.to), ships)
	case "ship_type":
		s := fmt.Sprintf("Ship type changed from %s to %s (%s)", shipType(f.from), shipType(f.to), ships)
		if f.toFishing {
			s += ": now declared a fishing vessel"
		}
		return s
	case "mmsi":
		s := "IMO " + f.imo + " moved from MMSI " + mmsiText(f.from) + " to MMSI " + mmsiText(f.to)
		if f.flagFrom != "" || f.flagTo != "" {
			s += " (flag implied by the MMSI: " + flagName(f.flagFrom) + " to " + flagName(f.flagTo) + ")"
		}
		if f.flagChanged {
			s += ": the flag changed"
		}
		return s
	}
	if f.field == "" {
		return "Identity changed (" + ships + ")" + joinParts(f.rest(nil))
	}
	return fmt.Sprintf("%s changed from %s to %s (%s)", kindTitle(f.field), f.from, f.to, ships)
}

func conflictWords(f eventFacts, ships string) string {
	switch f.reason {
	case "imo_check_digit":
		return "IMO " + f.imo + " fails the IMO check digit: not a real IMO number (" + ships + ")"
	case "designated_identity":
		s := "Broadcasts the identity (IMO or MMSI) of a designated vessel"
		if f.listing != "" {
			s += ", " + f.listing
		}
		s += " (" + ships + ")"
		if f.listedFlag != "" && f.midFlag != "" {
			s += "; listed flag " + flagName(f.listedFlag) + ", flag implied by its MMSI " + flagName(f.midFlag)
			if f.flagDiffers {
				s += ": re-flagged since the listing"
			}
		}
		return s
	case "one_imo_two_mmsi":
		return "IMO " + f.imo + " broadcast by two MMSIs at the same time (" + ships + ")"
	case "one_mmsi_two_positions":
		s := "One MMSI reported from two places at once, " + kmText(f.distKM) + " apart"
		if f.has("implied_speed_kn") {
			s += " (implied speed " + knotsText(f.speedKn) + ")"
		}
		if len(f.positions) == 2 {
			s += ": " + posText(f.positions[0][0], f.positions[0][1]) + " and " + posText(f.positions[1][0], f.positions[1][1])
		}
		return s + " (" + ships + ")"
	}
	return "Identity conflict" + reasonText(f.reason) + " (" + ships + ")" + joinParts(f.rest([]string{"reason"}))
}

func spoofWords(f eventFacts, ships string) string {
	switch f.reason {
	case "impossible_jump":
		s := "Position jumped " + kmText(f.distKM)
		if f.fromPos != nil {
			s += " from " + posText(f.fromPos[0], f.fromPos[1])
		}
		if f.has("implied_speed_kn") {
			s += ", an implied speed of " + knotsText(f.speedKn)
		}
		if f.count > 0 {
			s += ", then " + plural(f.count, "report", "reports") + " there"
		}
		return s + " (" + ships + ")"
	case "position_on_land":
		s := "Position " + kmText(f.inlandKM) + " inland, far from any port"
		if !f.lastAtSea.IsZero() {
			s += "; last at sea " + f.lastAtSea.UTC().Format("2006-01-02 15:04 UTC")
		}
		return s + " (" + ships + ")"
	case "frozen_position_while_moving":
		return fmt.Sprintf("The same position reported %s while reporting a speed of %s (%s)", plural(f.count, "time", "times"), knotsText(f.speedKn), ships)
	}
	return "Position spoofing" + reasonText(f.reason) + " (" + ships + ")" + joinParts(f.rest([]string{"reason"}))
}

func inconsistencyWords(f eventFacts, ships string) string {
	switch f.reason {
	case "dprk_call_sign_on_foreign_mmsi":
		return "DPRK call sign " + f.callSign + " on an MMSI of " + flagName(f.mmsiFlag) + " (" + ships + ")"
	case "call_sign_country_differs_from_mid":
		return "Call sign " + f.callSign + " belongs to " + flagName(f.callSignCountry) + ", the MMSI to " + flagName(f.mmsiFlag) + " (" + ships + ")"
	case "mid_not_allocated":
		return "MMSI country code (MID) " + f.mid + " is allocated to no country (" + ships + ")"
	case "class_b_on_large_ship":
		return "Class B transponder (for small craft) on a " + metresText(f.lengthM) + " ship (" + ships + ")"
	}
	return "Identity inconsistency" + reasonText(f.reason) + " (" + ships + ")" + joinParts(f.rest([]string{"reason"}))
}

// eventFacts are an event's details as typed values.
type eventFacts struct {
	d                                    map[string]any
	hours, speedKn, shoreNM, distKM      float64
	minDistM, fromM, toM, inlandKM       float64
	lengthM, otherHours                  float64
	count, windows                       int
	deliberate, reception                bool
	receptionKnown, dprkPort, toFishing  bool
	noPortCall, flagChanged, flagDiffers bool
	port, country, zone, zoneName        string
	zoneKind, field, from, to, reason    string
	imo, listing, listedFlag, midFlag    string
	flagFrom, flagTo, callSign           string
	callSignCountry, mmsiFlag, mid       string
	endPos, fromPos                      []float64
	positions                            [][]float64
	lastAtSea                            time.Time
}

func (f eventFacts) has(k string) bool { _, ok := f.d[k]; return ok }

// facts reads an event's details (the one reader of detect.Event.Details),
// through their JSON form: the keys docs/detection.md documents, the same
// whether the event came from the detectors or the store.
func facts(e detect.Event) eventFacts {
	d := detailsMap(e.Details)
	f := eventFacts{d: d}
	f.hours = firstNum(d, "hours", "hours_inside")
	if f.hours == 0 && !e.End.IsZero() && (e.Kind == detect.KindEncounter || e.Kind == detect.KindGap || e.Kind == detect.KindLoitering || e.Kind == detect.KindPortCall) {
		f.hours = e.End.Sub(e.Start).Hours()
	}
	f.speedKn = firstNum(d, "median_speed_kn", "mean_speed_kn", "implied_speed_kn", "reported_speed_kn")
	f.shoreNM = firstNum(d, "shore_nm", "start_shore_nm")
	f.distKM = firstNum(d, "distance_km")
	f.minDistM = firstNum(d, "min_distance_m")
	f.fromM, f.toM = firstNum(d, "from_m"), firstNum(d, "to_m")
	f.inlandKM = firstNum(d, "inland_km")
	f.lengthM = firstNum(d, "length_m")
	f.otherHours = firstNum(d, "other_ship_hours_nearby")
	f.count = int(firstNum(d, "close_fixes", "fixes"))
	f.windows = int(firstNum(d, "windows"))
	f.deliberate = boolean(d, "likely_deliberate")
	_, f.receptionKnown = d["reception_continued"]
	f.reception = boolean(d, "reception_continued")
	f.dprkPort = boolean(d, "dprk_port")
	f.toFishing = boolean(d, "to_fishing")
	f.noPortCall = boolean(d, "no_port_call_between")
	f.flagChanged = boolean(d, "flag_changed")
	f.flagDiffers = boolean(d, "flag_differs")
	f.port, f.country = text(d, "port"), text(d, "country")
	f.zone, f.zoneName, f.zoneKind = text(d, "zone"), text(d, "zone_name"), text(d, "zone_kind")
	f.field, f.from, f.to, f.reason = text(d, "field"), text(d, "from"), text(d, "to"), text(d, "reason")
	f.imo, f.listing = text(d, "imo"), text(d, "listing")
	f.listedFlag, f.midFlag = text(d, "listed_flag"), text(d, "mid_flag")
	f.flagFrom, f.flagTo, f.callSign = text(d, "flag_from"), text(d, "flag_to"), text(d, "call_sign")
	f.callSignCountry, f.mmsiFlag, f.mid = text(d, "call_sign_country"), text(d, "mmsi_flag"), text(d, "mid")
	f.endPos = position(d["end_position"])
	f.fromPos = position(d["from_position"])
	if ps, ok := d["positions"].([]any); ok {
		for _, p := range ps {
			if q := position(p); q != nil {
				f.positions = append(f.positions, q)
			}
		}
	} else if ps, ok := d["positions"].([][]float64); ok {
		f.positions = ps
	}
	switch t := d["last_at_sea"].(type) {
	case time.Time:
		f.lastAtSea = t
	case string:
		f.lastAtSea, _ = time.Parse(time.RFC3339Nano, t)
	}
	return f
}

// detailsMap is the details as their JSON keys and values.
func detailsMap(dd detect.Details) map[string]any {
	d := map[string]any{}
	if b, err := json.Marshal(dd); err == nil {
		json.Unmarshal(b, &d)
	}
	return d
}

// rest is the details not named in skip, as "key value" in words, for
// kinds and reasons this file does not know yet.
func (f eventFacts) rest(skip []string) []string {
	keys := make([]string, 0, len(f.d))
	for k := range f.d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		if contains(skip, k) {
			continue
		}
		out = append(out, strings.ReplaceAll(k, "_", " ")+" "+valueText(f.d[k]))
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func firstNum(d map[string]any, keys ...string) float64 {
	for _, k := range keys {
		if v, ok := num(d[k]); ok {
			return v
		}
	}
	return 0
}

func boolean(d map[string]any, k string) bool { b, _ := d[k].(bool); return b }

// text is a detail as text: numbers as integers when whole (an IMO number
// decoded from JSON is a float64, and %v would print 9.300207e+06).
func text(d map[string]any, k string) string {
	v, ok := d[k]
	if !ok || v == nil {
		return ""
	}
	return valueText(v)
}

func valueText(v any) string {
	if f, ok := num(v); ok {
		return numText(f)
	}
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04 UTC")
	}
	if p := position(v); p != nil {
		return posText(p[0], p[1])
	}
	if xs, ok := v.([]any); ok {
		var out []string
		for _, x := range xs {
			out = append(out, valueText(x))
		}
		return strings.Join(out, ", ")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func position(v any) []float64 {
	switch p := v.(type) {
	case []float64:
		if len(p) == 2 {
			return p
		}
	case []any:
		if len(p) == 2 {
			a, ok1 := num(p[0])
			b, ok2 := num(p[1])
			if ok1 && ok2 {
				return []float64{a, b}
			}
		}
	}
	return nil
}

// numText prints a number without scientific notation: whole numbers as
// integers, others with at most two decimals.
func numText(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "-"
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	s := strconv.FormatFloat(f, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// posText is a position with hemispheres: 38.123°N 124.456°E, 36.880°S.
func posText(lat, lon float64) string {
	ns, ew := "N", "E"
	if lat < 0 {
		ns, lat = "S", -lat
	}
	for lon > 180 {
		lon -= 360
	}
	for lon < -180 {
		lon += 360
	}
	if lon < 0 {
		ew, lon = "W", -lon
	}
	return fmt.Sprintf("%.3f°%s %.3f°%s", lat, ns, lon, ew)
}

// latLabel and lonLabel are graticule labels: 38°N, 1.5°W.
func latLabel(lat float64) string {
	h := "N"
	if lat < 0 {
		h, lat = "S", -lat
	}
	if lat == 0 {
		h = ""
	}
	return numText(lat) + "°" + h
}

func lonLabel(lon float64) string {
	h := "E"
	if lon < 0 {
		h, lon = "W", -lon
	}
	if lon == 0 || lon == 180 {
		h = ""
	}
	return numText(lon) + "°" + h
}

// hoursText: "4.98 h" is false precision for an underwriter; one decimal
// under ten hours, whole hours above, days past three days.
func hoursText(h float64) string {
	switch {
	case h < 0.05:
		return fmt.Sprintf("%.0f min", h*60)
	case h < 10:
		return fmt.Sprintf("%.1f h", h)
	case h < 72:
		return fmt.Sprintf("%.0f h", h)
	}
	return fmt.Sprintf("%.1f days (%.0f h)", h/24, h)
}

func knotsText(kn float64) string { return fmt.Sprintf("%.1f kn", kn) }
func metresText(m float64) string {
	if m != math.Trunc(m) {
		return fmt.Sprintf("%.1f m", m)
	}
	return fmt.Sprintf("%.0f m", m)
}

// draughtText is a draught to the decimetre AIS gives: "6.0 m".
func draughtText(m float64) string { return fmt.Sprintf("%.1f m", m) }

func signedDraught(m float64) string {
	switch {
	case math.Abs(m) < 0.05:
		return "no change"
	case m > 0:
		return "+" + draughtText(m)
	}
	return "−" + draughtText(-m)
}
func kmText(km float64) string {
	if km < 10 {
		return fmt.Sprintf("%.1f km", km)
	}
	return fmt.Sprintf("%.0f km", km)
}
func nmText(nm float64) string {
	if nm < 10 {
		return fmt.Sprintf("%.1f nm", nm)
	}
	return fmt.Sprintf("%.0f nm", nm)
}

// plural counts: "1 gap", "2 gaps".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func joinParts(m []string) string {
	if len(m) == 0 {
		return ""
	}
	return ": " + strings.Join(m, ", ")
}

func quoted(s string) string { return "“" + s + "”" }

func reasonText(r string) string {
	if r == "" {
		return ""
	}
	return ": " + strings.ReplaceAll(r, "_", " ")
}

// flagName is a flag by its country name, the code after it: "Panama (PA)".
func flagName(code string) string {
	if code == "" {
		return "unknown"
	}
	n := countryName(code)
	if n == code {
		return code
	}
	return n + " (" + code + ")"
}

// countryName is a country's short name: the ITU's names for territories
// ("United Kingdom of Great Britain and Northern Ireland - Bermuda") keep
// the territory.
func countryName(code string) string {
	n := identity.Country(code).Name()
	if i := strings.LastIndex(n, " - "); i > 0 {
		n = n[i+3:]
	}
	return n
}

// flagShort is the country name alone (for the summary): DPRK for KP.
func flagShort(code string) string {
	if code == "KP" {
		return "DPRK"
	}
	return countryName(code)
}

func mmsiText(s string) string {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return s
	}
	return fmt.Sprintf("%09d", n)
}

func shipType(s string) string {
	n, err := strconv.Atoi(s)
	if err != nil {
		return s
	}
	return risk.ShipTypeName(n)
}

func zoneText(kind, name, id string) string {
	if name == "" {
		name = id
	}
	if name == "" && kind == "" {
		return "a zone"
	}
	switch kind {
	case "sts_area":
		return "the reported ship-to-ship transfer area " + quoted(name)
	case "dprk_waters":
		return "DPRK territorial waters"
	}
	return "zone " + quoted(name)
}

// vesselText names a ship in an event: MMSI, name, IMO, flag its MMSI
// implies.
func vesselText(v detect.Vessel) string {
	s := "MMSI " + fmt.Sprintf("%09d", v.MMSI)
	if v.Name != "" {
		s += " " + v.Name
	}
	var extra []string
	if v.IMO != 0 {
		extra = append(extra, "IMO "+strconv.FormatUint(uint64(v.IMO), 10))
	}
	if v.MIDFlag != "" {
		extra = append(extra, countryName(v.MIDFlag)+" MMSI")
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

func vesselList(vs []detect.Vessel) string {
	var out []string
	for _, v := range vs {
		out = append(out, vesselText(v))
	}
	switch len(out) {
	case 0:
		return "no vessel named"
	case 1:
		return out[0]
	}
	return strings.Join(out[:len(out)-1], ", ") + " and " + out[len(out)-1]
}

// kindTitle is an event kind as a heading: "AIS gap", "Port call".
func kindTitle(k string) string {
	switch k {
	case detect.KindGap:
		return "AIS gap"
	case detect.KindSpoofing:
		return "Position spoofing"
	}
	s := strings.ReplaceAll(k, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// identityValue is an identity observation's value in words, with units.
func identityValue(field, v string) string {
	switch field {
	case "flag":
		return flagName(v)
	case "draught":
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return fmt.Sprintf("%.1f m", f)
		}
	case "length":
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return metresText(f)
		}
	case "ship_type":
		if t := shipType(v); t != "" {
			return t
		}
	}
	return v
}

// dateText is a date as an underwriter reads it: "3 Mar 2026".
func dateText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2 Jan 2006")
}

// spanText is a period: "1 Mar 2026 07:06 to 12:05 UTC", or across days.
func spanText(a, b time.Time) string {
	a, b = a.UTC(), b.UTC()
	if a.Equal(b) {
		return a.Format("2 Jan 2006 15:04 UTC")
	}
	if a.Format("2006-01-02") == b.Format("2006-01-02") {
		return a.Format("2 Jan 2006 15:04") + " to " + b.Format("15:04 UTC")
	}
	return a.Format("2 Jan 2006 15:04") + " to " + b.Format("2 Jan 2006 15:04 UTC")
}
