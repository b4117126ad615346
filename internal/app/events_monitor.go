package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/store"
)

// monitorEventsKey keeps the last stored event the monitor looked at.
const monitorEventsKey = "events-seen"

// ScreenNewEvents looks at the events stored since the last call and
// raises an alert for each high-severity one on a portfolio vessel (a
// DPRK port call, an encounter with a DPRK-flagged or designated ship, a
// dark period in an STS area or by DPRK waters, a foreign ship in DPRK
// waters, identity laundering). An occurrence stored again in a longer
// version updates its alert rather than raising another.
func (s *Service) ScreenNewEvents(ctx context.Context) (MonitorResult, error) {
	var res MonitorResult
	s.monitorMu.Lock()
	defer s.monitorMu.Unlock()
	var cursor int64
	if b, err := s.st.MonitorState(ctx, monitorEventsKey); err == nil {
		json.Unmarshal(b, &cursor)
	} else if errors.Is(err, store.ErrNotFound) {
		// The first pass starts from what is stored now: events stored
		// before monitoring began are in the vessels' statuses, not news.
		c, err := s.st.EventCursor(ctx)
		if err != nil {
			return res, err
		}
		b, _ := json.Marshal(c)
		return res, s.st.PutMonitorState(ctx, monitorEventsKey, b)
	} else {
		return res, err
	}
	last, err := s.st.EventCursor(ctx)
	if err != nil || last <= cursor {
		return res, err
	}
	vessels, err := s.st.PortfolioVessels(ctx, "", "")
	if err != nil {
		return res, err
	}
	res.Vessels = len(vessels)
	byMMSI, err := s.mmsiIndex(ctx, vessels)
	if err != nil {
		return res, err
	}
	g, err := s.Geography()
	if err != nil {
		return res, err
	}
	for {
		evs, err := s.st.EventsAfter(ctx, cursor, 5000)
		if err != nil {
			return res, err
		}
		if len(evs) == 0 {
			break
		}
		for _, ce := range evs {
			cursor = ce.Cursor
			e := ce.Event
			for _, v := range e.Vessels {
				for _, pv := range byMMSI[v.MMSI] {
					sev, why := eventSeverity(e, g, v.MMSI)
					if sev != "high" {
						continue
					}
					res.Changed++
					ok, err := s.raise(ctx, eventAlert(pv, e, why))
					if err != nil {
						return res, err
					}
					if ok {
						res.Alerts++
					}
				}
			}
		}
		b, _ := json.Marshal(cursor)
		if err := s.st.PutMonitorState(ctx, monitorEventsKey, b); err != nil {
			return res, err
		}
	}
	return res, nil
}

// mmsiIndex maps the MMSIs each portfolio vessel used (its own
// transmitters: not those that merely claimed its IMO) to the vessel.
func (s *Service) mmsiIndex(ctx context.Context, vessels []store.PortfolioVessel) (map[uint32][]store.PortfolioVessel, error) {
	out := map[uint32][]store.PortfolioVessel{}
	for _, v := range vessels {
		ms := map[uint32]bool{}
		if v.MMSI != 0 {
			ms[v.MMSI] = true
		}
		if v.IMO != 0 {
			ids, err := s.st.IdentityHistory(ctx, store.VesselQuery{IMO: v.IMO})
			if err != nil {
				return nil, err
			}
			own, _ := claimants(ids, v.IMO)
			for m := range own {
				ms[m] = true
			}
		}
		for m := range ms {
			out[m] = append(out[m], v)
		}
	}
	return out, nil
}

// eventSeverity rates an event for alerting, as seen from one of its
// vessels (own), and says why in words.
func eventSeverity(e detect.Event, g *Geography, own uint32) (string, string) {
	d := e.Details
	switch e.Kind {
	case detect.KindPortCall:
		if d["dprk_port"] == true {
			return "high", fmt.Sprintf("called at the DPRK port %v", d["port"])
		}
	case detect.KindEncounter:
		for _, v := range e.Vessels {
			if v.MMSI != own && v.MIDFlag == "KP" {
				return "high", fmt.Sprintf("met the DPRK-flagged ship MMSI %09d %s", v.MMSI, v.Name)
			}
		}
		if why := designatedIn(d); why != "" {
			return "high", "met a designated ship: " + why
		}
	case detect.KindIdentityConflict:
		return "high", fmt.Sprintf("identity conflict (%v)", d["reason"])
	case detect.KindGap:
		if z := zoneAt(g, e.Lat, e.Lon); z != "" {
			return "high", fmt.Sprintf("went dark for %v h in %s", d["hours"], z)
		}
	case detect.KindZoneEntry:
		if d["zone_kind"] == "dprk_waters" {
			for _, v := range e.Vessels {
				if v.MMSI == own && v.MIDFlag != "KP" {
					return "high", "entered DPRK waters"
				}
			}
		}
	case detect.KindSpoofing:
		return "medium", "position spoofing"
	}
	return "low", ""
}

// designatedIn reads a designated counterpart from an event's details.
func designatedIn(d map[string]any) string {
	for _, k := range []string{"designated", "counterpart_designated", "listing"} {
		if v, ok := d[k].(string); ok && v != "" {
			return v
		}
	}
	return ""
}

// zoneAt names the STS area or DPRK waters holding a point ("" if none).
func zoneAt(g *Geography, lat, lon float64) string {
	for _, z := range g.Zones {
		if (z.Kind == "sts_area" || z.Kind == "dprk_waters") && z.Contains(lat, lon) {
			return z.Name
		}
	}
	return ""
}

// eventKey names an occurrence: its id when the detectors give one, else
// its kind, vessels and start.
func eventKey(e detect.Event) string {
	var ms []string
	for _, v := range e.Vessels {
		ms = append(ms, fmt.Sprintf("%09d", v.MMSI))
	}
	sort.Strings(ms)
	return fmt.Sprintf("%s:%s:%s", e.Kind, strings.Join(ms, "+"), e.Start.UTC().Format("20060102T150405"))
}

func eventAlert(v store.PortfolioVessel, e detect.Event, why string) store.Alert {
	key := "event:" + v.Portfolio + ":" + v.ID + ":" + eventKey(e)
	title := fmt.Sprintf("%s %s", vesselWords(v), why)
	text := fmt.Sprintf("%s from %s to %s at %.3f, %.3f", strings.ReplaceAll(e.Kind, "_", " "), e.Start.UTC().Format("2006-01-02 15:04"), e.End.UTC().Format("2006-01-02 15:04"), e.Lat, e.Lon)
	a := alertFor(v, AlertEvent, "high", key, title,
		fmt.Sprintf("%s: %s. Detected in the AIS stored for the vessel's transmitters.", vesselWords(v), text),
		[]store.AlertEvidence{{Kind: "event", Ref: eventKey(e), Text: text}, {Kind: "event_kind", Ref: e.Kind, Text: e.Kind}})
	return a
}
