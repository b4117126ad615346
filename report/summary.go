package report

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/sanctions"
)

// Summary is the report's opening in plain language, built only from the
// profile: the recommendation, the strongest factors with their dates,
// what is missing, and what was checked. It says nothing the profile does
// not hold: no factor, no claim; no list in force, no "not listed".
type Summary struct {
	// Verdict is the recommendation as a heading: "Decline".
	Verdict string
	// Lead is the first sentence: the recommendation and its reasons.
	Lead string
	// Found are the factors in words, strongest first (all of them; Lead
	// names the first few).
	Found []string
	// Missing is what the evidence lacks.
	Missing []string
	// Checked says what the recommendation rests on: lists in force with
	// their dates, AIS coverage.
	Checked []string
}

// maxLead is how many factors the lead sentence names.
const maxLead = 4

type summariser struct {
	p      *risk.Profile
	zones  []*geo.Zone
	events map[string]risk.EventRef
	own    map[uint32]bool
	// prev is the event the previous phrase described: "afterwards".
	prev *risk.EventRef
}

func newSummariser(p *risk.Profile, zones []*geo.Zone) *summariser {
	s := &summariser{p: p, zones: zones, events: map[string]risk.EventRef{}, own: map[uint32]bool{}}
	for _, e := range p.Events {
		s.events[e.Ref] = e
	}
	for _, m := range p.MMSIs {
		s.own[m] = true
	}
	return s
}

// summarise writes the summary of a profile.
func summarise(p *risk.Profile, zones []*geo.Zone) Summary {
	s := newSummariser(p, zones)
	var out Summary
	for _, f := range p.Factors {
		out.Found = append(out.Found, s.factor(f))
	}
	out.Missing = append(out.Missing, p.Missing...)
	out.Checked = s.checked()
	lead := out.Found
	more := ""
	if len(lead) > maxLead {
		more = fmt.Sprintf("; and %s more (below)", plural(len(lead)-maxLead, "factor", "factors"))
		lead = lead[:maxLead]
	}
	score := fmt.Sprintf("score %s; refer at %s, decline at %s", numText(p.Score), numText(p.Bands[0]), numText(p.Bands[1]))
	switch p.Recommendation {
	case risk.Decline, risk.Refer:
		out.Verdict = map[string]string{risk.Decline: "Decline", risk.Refer: "Refer"}[p.Recommendation]
		out.Lead = out.Verdict + " (" + score + "): " + strings.Join(lead, "; ") + more + "."
	case risk.Insufficient:
		out.Verdict = "Insufficient evidence"
		var miss []string
		for _, m := range p.Missing {
			if i := strings.Index(m, ":"); i > 0 {
				m = m[:i]
			}
			miss = append(miss, m)
		}
		out.Lead = "Insufficient evidence to accept (" + score + "): " + strings.Join(miss, "; ") + " (below)."
		if len(out.Found) > 0 {
			out.Lead += " Found: " + strings.Join(lead, "; ") + more + "."
		} else {
			out.Lead += " No risk factor was found in what the store holds, which is not a clean bill."
		}
	case risk.Accept:
		out.Verdict = "Accept"
		if len(out.Found) > 0 {
			out.Lead = "Accept (" + score + "): only minor factors, under the refer band: " + strings.Join(lead, "; ") + more + "."
		} else {
			out.Lead = "Accept (" + score + "): no risk factor found in the checks below."
		}
	default:
		out.Verdict = p.Recommendation
		out.Lead = p.Recommendation + " (" + score + ")."
	}
	return out
}

// checked says what was screened and how much AIS the review rests on.
func (s *summariser) checked() []string {
	p := s.p
	var out []string
	if len(p.Lists) == 0 {
		out = append(out, "Sanctions lists: none in force on "+dateText(p.AsOf)+": nothing was screened.")
	} else {
		var ls []string
		for _, l := range p.Lists {
			n := sanctions.ListNames[l.List]
			if n == "" {
				n = l.List
			}
			d := l.Published
			if t, err := time.Parse("2006-01-02", l.Published); err == nil {
				d = dateText(t)
			}
			ls = append(ls, n+" of "+d)
		}
		var what []string
		if p.IMO != 0 {
			what = append(what, "IMO "+strconv.FormatUint(uint64(p.IMO), 10))
		}
		if n := len(p.MMSIs); n > 0 {
			what = append(what, plural(n, "MMSI", "MMSIs"))
		}
		names := map[string]bool{}
		for _, o := range p.Identity {
			if o.Field == "name" {
				names[o.Value] = true
			}
		}
		if len(names) > 0 {
			what = append(what, plural(len(names), "name", "names"))
		}
		if len(p.Parties) > 0 {
			what = append(what, plural(len(p.Parties), "linked company", "linked companies"))
		}
		if n := len(s.counterparts()); n > 0 {
			what = append(what, plural(n, "encounter counterpart", "encounter counterparts"))
		}
		if len(what) == 0 {
			what = append(what, "nothing: no identifier is known")
		}
		hits := "no match"
		if len(p.Hits) > 0 {
			hits = plural(len(p.Hits), "match", "matches") + " (Sanctions lists, below)"
		}
		if n := len(p.NearMisses); n > 0 {
			hits += "; " + plural(n, "near miss", "near misses") + ", a listed vessel's name with another IMO, not a match (Sanctions lists, below)"
		}
		out = append(out, fmt.Sprintf("Screened %s against %s in force on %s (%s): %s.", andList(what), plural(len(p.Lists), "list", "lists"), dateText(p.AsOf), strings.Join(ls, "; "), hits))
	}
	c := p.Coverage
	window := dateText(p.WindowStart) + " to " + dateText(p.AsOf)
	switch {
	case c.Window > 0 && c.Days == 0:
		out = append(out, "AIS: no position in the review window ("+window+"): its behaviour could not be reviewed.")
	case c.Window > 0:
		src := ""
		if len(c.Sources) > 0 {
			src = ", from " + plural(len(c.Sources), "source", "sources") + " (" + strings.Join(c.Sources, ", ") + ")"
		}
		out = append(out, fmt.Sprintf("AIS: positions on %d of %d days (%.0f%%) of the review window %s%s; %s in the window.",
			c.Days, c.Window, 100*float64(c.Days)/float64(c.Window), window, src, plural(len(p.Events), "event", "events")))
	}
	return out
}

// counterparts are the other ships of the profile's encounters.
func (s *summariser) counterparts() []uint32 {
	seen := map[uint32]bool{}
	var out []uint32
	for _, e := range s.p.Events {
		if e.Kind != detect.KindEncounter {
			continue
		}
		for _, v := range e.Vessels {
			if !s.own[v.MMSI] && !seen[v.MMSI] {
				seen[v.MMSI] = true
				out = append(out, v.MMSI)
			}
		}
	}
	return out
}

// factor is one factor in words, with its date.
func (s *summariser) factor(f risk.Factor) string {
	evs := s.eventsOf(f)
	switch f.ID {
	case "listed_vessel", "listed_vessel_by_name", "listed_party":
		var hs []string
		for _, ev := range f.Evidence {
			if h, ok := s.hit(ev.Ref); ok {
				role := ""
				if f.ID == "listed_party" {
					// A company: its role when the user named it, else
					// the list's link.
					switch h.About {
					case "owner", "manager", "operator":
						role = "its " + h.About + " "
					}
					h.About = "vessel"
				}
				hs = append(hs, role+hitPhrase(h))
			}
		}
		if len(hs) == 0 {
			break
		}
		switch f.ID {
		case "listed_vessel":
			return "designated: " + strings.Join(hs, "; ")
		case "listed_vessel_by_name":
			return "its name matches a designated vessel, no identifier does: " + strings.Join(hs, "; ")
		default:
			return "a linked company is designated: " + strings.Join(hs, "; ")
		}
	case "dprk_flag":
		var ms []string
		for _, o := range s.p.Identity {
			if o.Field == "flag" && o.Value == "KP" {
				ms = append(ms, fmt.Sprintf("%09d", o.MMSI)+" from "+dateText(o.First))
			}
		}
		if len(ms) > 0 {
			return "transmits on a DPRK MMSI (" + strings.Join(ms, ", ") + ")"
		}
	case "encounter_dprk", "encounter":
		if len(evs) == 0 {
			break
		}
		e := evs[0]
		fa := facts(e.Event)
		t := "met " + s.counterpart(e) + s.inZone(e) + " for " + hoursText(fa.hours) + " on " + dateText(e.Start) + " [" + e.Ref + "]"
		s.prev = &e
		return t + moreOf(len(evs), "encounter", "encounters")
	case "ais_gap":
		if len(evs) == 0 {
			break
		}
		// The most telling gap: deliberate first, then the longest.
		best := evs[0]
		nDel := 0
		for _, e := range evs {
			fe, fb := facts(e.Event), facts(best.Event)
			if fe.deliberate {
				nDel++
			}
			if (fe.deliberate && !fb.deliberate) || (fe.deliberate == fb.deliberate && fe.hours > fb.hours) {
				best = e
			}
		}
		fb := facts(best.Event)
		t := "AIS dark for " + hoursText(fb.hours)
		if s.prev != nil && best.Start.After(s.prev.End) && best.Start.Sub(s.prev.End) <= 72*time.Hour {
			t += " afterwards"
		}
		t += ", from " + spanText(best.Start, best.End) + " [" + best.Ref + "]"
		if fb.deliberate {
			t += ", likely deliberate (long and far offshore)"
		}
		if len(evs) > 1 {
			t += fmt.Sprintf(" (%s in all, %d likely deliberate)", plural(len(evs), "gap", "gaps"), nDel)
		}
		return t
	case "flag_change":
		if t := s.sequence("flag", flagShort); t != "" {
			return "changed flag " + t
		}
	case "name_change":
		if t := s.sequence("name", quoted); t != "" {
			return "renamed " + t
		}
	case "draught_change_at_sea":
		if len(evs) == 0 {
			break
		}
		e := evs[0]
		fa := facts(e.Event)
		return fmt.Sprintf("draught changed at sea from %s to %s with no port call between, on %s [%s]%s", draughtText(fa.fromM), draughtText(fa.toM), dateText(e.End), e.Ref,
			moreOf(len(evs), "change", "changes"))
	case "loitering":
		if len(evs) == 0 {
			break
		}
		long := evs[0]
		for _, e := range evs {
			if facts(e.Event).hours > facts(long.Event).hours {
				long = e
			}
		}
		return "loitered for " + hoursText(facts(long.Event).hours) + " far from shore" + s.inZone(long) + " on " + dateText(long.Start) + " [" + long.Ref + "]" + moreOf(len(evs), "period", "periods")
	case "sts_zone_entry", "dprk_waters":
		if len(evs) == 0 {
			break
		}
		e := evs[0]
		fa := facts(e.Event)
		return "entered " + zoneText(fa.zoneKind, fa.zoneName, fa.zone) + " on " + dateText(e.Start) + " [" + e.Ref + "]" + moreOf(len(evs), "entry", "entries")
	case "dprk_port_call":
		if len(evs) == 0 {
			break
		}
		e := evs[0]
		fa := facts(e.Event)
		return "called at the DPRK port of " + fa.port + " for " + hoursText(fa.hours) + " on " + dateText(e.Start) + " [" + e.Ref + "]" + moreOf(len(evs), "call", "calls")
	case "abused_registry":
		var fs []string
		for _, ev := range f.Evidence {
			if o, ok := s.observation(ev.Ref); ok && !contains(fs, flagShort(o.Value)) {
				fs = append(fs, flagShort(o.Value))
			}
		}
		if len(fs) > 0 {
			return "flagged in " + strings.Join(fs, ", ") + ", a registry abused by DPRK-linked ships"
		}
	case "old_vessel":
		return "old: built " + strconv.Itoa(s.p.BuildYear)
	}
	// Any other factor: its title, and the first event's date.
	t := strings.ToLower(f.Title[:1]) + f.Title[1:]
	if len(evs) > 0 {
		t += " on " + dateText(evs[0].Start) + " [" + evs[0].Ref + "]" + moreOf(len(evs), "event", "events")
	}
	return t
}

func moreOf(n int, one, many string) string {
	if n <= 1 {
		return ""
	}
	return " (" + plural(n, one, many) + " in all)"
}

// eventsOf are the events a factor cites, in time order.
func (s *summariser) eventsOf(f risk.Factor) []risk.EventRef {
	var out []risk.EventRef
	for _, ev := range f.Evidence {
		if e, ok := s.events[ev.Ref]; ok {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

func (s *summariser) hit(ref string) (risk.ListHit, bool) {
	for _, h := range s.p.Hits {
		if h.Ref == ref {
			return h, true
		}
	}
	return risk.ListHit{}, false
}

func (s *summariser) observation(ref string) (risk.Observation, bool) {
	if !strings.HasPrefix(ref, "I") {
		return risk.Observation{}, false
	}
	i, err := strconv.Atoi(ref[1:])
	if err != nil || i < 1 || i > len(s.p.Identity) {
		return risk.Observation{}, false
	}
	return s.p.Identity[i-1], true
}

// hitPhrase is a list hit in words: "KOTI on the EU, OFAC and UK lists
// (listed 2017-12-22) [L1]".
func hitPhrase(h risk.ListHit) string {
	var lists []string
	first := ""
	for _, l := range h.Listings {
		n := shortList(l.List)
		if !contains(lists, n) {
			lists = append(lists, n)
		}
		if l.ListedOn != "" && (first == "" || l.ListedOn < first) {
			first = l.ListedOn
		}
	}
	t := h.Name
	if h.About != "vessel" {
		t = strings.ReplaceAll(h.About, "_", " ") + " " + t
	}
	t += " on the " + andList(lists) + " " + map[bool]string{true: "list", false: "lists"}[len(lists) == 1]
	if first != "" {
		if d, err := time.Parse("2006-01-02", first); err == nil {
			t += " since " + dateText(d)
		}
	}
	if h.ByID {
		t += " (by identifier)"
	} else {
		t += fmt.Sprintf(" (by name, score %.2f)", h.Score)
	}
	return t + " [" + h.Ref + "]"
}

func shortList(l string) string {
	switch l {
	case "un":
		return "UN"
	case "ofac-sdn", "ofac-cons":
		return "OFAC"
	case "eu":
		return "EU"
	case "uk":
		return "UK"
	case "opensanctions":
		return "OpenSanctions"
	}
	return l
}

func andList(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// counterpart describes the other ship of an encounter and what makes it
// matter: a DPRK MMSI, a designation.
func (s *summariser) counterpart(e risk.EventRef) string {
	var out []string
	for _, v := range e.Vessels {
		if s.own[v.MMSI] {
			continue
		}
		var what []string
		for _, h := range s.p.Hits {
			if h.About == fmt.Sprintf("counterpart %09d", v.MMSI) && h.ByID {
				what = append(what, "designated as "+hitPhrase(risk.ListHit{About: "vessel", Name: h.Name, Listings: h.Listings, ByID: true, Ref: h.Ref}))
			}
		}
		id := "MMSI " + fmt.Sprintf("%09d", v.MMSI)
		switch {
		case v.MIDFlag == "KP":
			id = "DPRK " + id
		case v.MIDFlag != "":
			id += ", " + flagShort(v.MIDFlag)
		}
		name := "a ship"
		if v.Name != "" {
			name = v.Name
		}
		name += " (" + strings.Join(append([]string{id}, what...), "; ") + ")"
		out = append(out, name)
	}
	if len(out) == 0 {
		return "another ship"
	}
	return strings.Join(out, " and ")
}

// inZone names the reported STS area (or DPRK waters) an event lies in,
// else its position.
func (s *summariser) inZone(e risk.EventRef) string {
	if e.Lat == 0 && e.Lon == 0 {
		return ""
	}
	if z := s.zoneOf(e); z != "" {
		return " in " + z
	}
	return " at " + posText(e.Lat, e.Lon)
}

// zoneOf names the reported STS area or DPRK waters an event lies in.
func (s *summariser) zoneOf(e risk.EventRef) string {
	for _, z := range s.zones {
		if z.Kind == "sts_area" && z.Contains(e.Lat, e.Lon) {
			return "the reported STS area " + quoted(z.Name)
		}
	}
	for _, z := range s.zones {
		if z.Kind == "dprk_waters" && z.Contains(e.Lat, e.Lon) {
			return "DPRK waters"
		}
	}
	return ""
}

// evidence is a factor's evidence in words: an event as eventWords says
// it (with a designated counterpart's listing), an identity observation
// from the record; other evidence as the profile words it.
func (s *summariser) evidence(ev risk.Evidence) string {
	if e, ok := s.events[ev.Ref]; ok {
		t := spanText(e.Start, e.End)
		if e.Lat != 0 || e.Lon != 0 {
			t += " at " + posText(e.Lat, e.Lon)
		}
		t += ": " + eventWords(e.Event)
		if e.Kind == detect.KindEncounter {
			for _, v := range e.Vessels {
				if s.own[v.MMSI] {
					continue
				}
				for _, h := range s.p.Hits {
					if h.About == fmt.Sprintf("counterpart %09d", v.MMSI) && h.ByID {
						t += " The counterpart is designated: " + hitPhrase(risk.ListHit{About: "vessel", Name: h.Name, Listings: h.Listings, ByID: true, Ref: h.Ref}) + "."
					}
				}
			}
		}
		return t
	}
	if o, ok := s.observation(ev.Ref); ok {
		field := kindTitle(o.Field)
		if o.Field == "flag" {
			field = "Flag implied by the MMSI"
		}
		return fmt.Sprintf("%s: %s, broadcast by MMSI %09d from %s to %s (%s)", field, identityValue(o.Field, o.Value), o.MMSI, dateText(o.First), dateText(o.Last),
			plural(int(o.Count), "report", "reports"))
	}
	return ev.Text
}

// sequence is an identity field's values in the order they were first
// seen: "from Sierra Leone to Tuvalu on 3 Mar 2026".
func (s *summariser) sequence(field string, show func(string) string) string {
	var obs []risk.Observation
	seen := map[string]bool{}
	for _, o := range s.p.Identity {
		if o.Field == field && !seen[o.Value] {
			seen[o.Value] = true
			obs = append(obs, o)
		}
	}
	if len(obs) < 2 {
		return ""
	}
	sort.SliceStable(obs, func(i, j int) bool { return obs[i].First.Before(obs[j].First) })
	t := "from " + show(obs[0].Value)
	for i, o := range obs[1:] {
		if i > 0 {
			t += ", then"
		}
		t += " to " + show(o.Value) + " on " + dateText(o.First)
	}
	return t
}
