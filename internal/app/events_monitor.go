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
	hold, ok, err := s.monitorLease(ctx)
	if err != nil || !ok {
		return res, err
	}
	defer hold.release()
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
		if err := hold.check(ctx); err != nil {
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
	// The portfolio vessels the new events are about: their statuses
	// (the fleet table's bands) are computed again after the events.
	touched := map[string]int{} // tenant, portfolio, id -> index in vessels
	evidence := map[int][]store.AlertEvidence{}
	key := func(v store.PortfolioVessel) string { return v.Tenant + "\x00" + v.Portfolio + "\x00" + v.ID }
	for i, v := range vessels {
		touched[key(v)] = -1 - i
	}
	pass := &alertPass{}
	for {
		evs, err := s.st.EventsAfter(ctx, cursor, 5000)
		if err != nil {
			return res, err
		}
		if len(evs) == 0 {
			break
		}
		if err := hold.check(ctx); err != nil {
			return res, err
		}
		for _, ce := range evs {
			cursor = ce.Cursor
			e := ce.Event
			for _, v := range e.Vessels {
				for _, pv := range byMMSI[v.MMSI] {
					i := touched[key(pv)]
					if i < 0 {
						i = -1 - i
						touched[key(pv)] = i
					}
					if len(evidence[i]) < 5 {
						evidence[i] = append(evidence[i], store.AlertEvidence{Kind: "event", Ref: eventKey(e), Text: e.Summary()})
					}
					if e.Severity != detect.SeverityHigh {
						continue
					}
					res.Changed++
					ok, err := s.raiseIn(ctx, pass, eventAlert(pv, e, e.Summary()))
					if err != nil {
						pass.wait()
						return res, err
					}
					if ok {
						res.Alerts++
					}
				}
			}
		}
		// Statuses first, then the cursor: a crash between them screens
		// these events again (their alerts are raised once by key) rather
		// than leaving a band stale.
		n, err := s.restatus(ctx, pass, vessels, touched, evidence)
		if werr := pass.wait(); err == nil {
			err = werr
		}
		if err != nil {
			return res, err
		}
		res.Alerts += n
		if err := hold.check(ctx); err != nil {
			return res, err
		}
		b, _ := json.Marshal(cursor)
		if err := s.st.PutMonitorState(ctx, monitorEventsKey, b); err != nil {
			return res, err
		}
	}
	return res, nil
}

// restatus computes again the status of the portfolio vessels new events
// touched (marked by a non-negative index in touched, reset after), stores
// them and raises the alerts a change calls for (a band change, once per
// change), as a list change does.
func (s *Service) restatus(ctx context.Context, pass *alertPass, vessels []store.PortfolioVessel, touched map[string]int, evidence map[int][]store.AlertEvidence) (int, error) {
	var order []int
	for k, i := range touched {
		if i >= 0 {
			order = append(order, i)
			touched[k] = -1 - i
		}
	}
	if len(order) == 0 {
		return 0, nil
	}
	sort.Ints(order)
	idx, err := s.screens.now(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var put []store.PortfolioVessel
	for _, i := range order {
		v := vessels[i]
		before := v.Status
		st, err := s.vesselStatus(ctx, idx, &v)
		if err != nil {
			return n, err
		}
		v.Status = st
		vessels[i] = v
		put = append(put, v)
		k, err := s.statusAlerts(ctx, pass, v, before, st, nil, false, evidence[i])
		delete(evidence, i)
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, s.st.PutPortfolioVessels(ctx, put)
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

// eventKey names an occurrence: its id (stable while the occurrence
// grows: a later, longer version updates the same alert), else its kind,
// vessels and start.
func eventKey(e detect.Event) string {
	if e.ID != "" {
		return e.ID
	}
	var ms []string
	for _, v := range e.Vessels {
		ms = append(ms, fmt.Sprintf("%09d", v.MMSI))
	}
	sort.Strings(ms)
	return fmt.Sprintf("%s:%s:%s", e.Kind, strings.Join(ms, "+"), e.Start.UTC().Format("20060102T150405"))
}

func eventAlert(v store.PortfolioVessel, e detect.Event, why string) store.Alert {
	key := "event:" + v.Portfolio + ":" + v.ID + ":" + eventKey(e)
	title := fmt.Sprintf("%s: %s", vesselWords(v), kindTitle(e))
	status := ""
	if e.Status == detect.StatusOpen {
		status = " (still going on when last seen)"
	}
	a := alertFor(v, AlertEvent, string(e.Severity), key, title,
		strings.TrimSuffix(why, ".")+status+". Detected in the AIS stored for the vessel's transmitters.",
		[]store.AlertEvidence{{Kind: "event", Ref: eventKey(e), Text: why}, {Kind: "event_kind", Ref: e.Kind, Text: e.Kind}})
	return a
}

// kindTitle names an event's kind for an alert's title.
func kindTitle(e detect.Event) string {
	switch e.Kind {
	case detect.KindPortCall:
		if e.Details.DPRKPort {
			return "DPRK port call at " + e.Details.Port
		}
	case detect.KindEncounter:
		if e.Details.Counterpart != "" {
			return "ship-to-ship encounter (" + e.Details.Counterpart + ")"
		}
		return "ship-to-ship encounter"
	case detect.KindGap:
		if e.Details.ZoneName != "" {
			return "AIS dark in " + e.Details.ZoneName
		}
		return "AIS dark period"
	case detect.KindZoneEntry:
		return "entered " + e.Details.ZoneName
	}
	return strings.ReplaceAll(e.Kind, "_", " ")
}
