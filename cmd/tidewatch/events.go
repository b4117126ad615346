package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/termtext"
	"github.com/tidewatch/tidewatch/store"
)

func runEvents(e *env, args []string) error {
	var sf storeFlags
	var vessel, kinds, from, to, area, zone string
	var limit int
	var asJSON bool
	fs := newFlagSet(e, "events", "tidewatch events [--vessel IMO|MMSI] [--kind K,...] [--from DATE] [--to DATE] [--area S,W,N,E | --zone ZONE] [--json]", `
Lists the events stored by ingest, oldest first, filtered by vessel (an
IMO number takes in every MMSI that broadcast it), kind, period (events
overlapping it) and area: a box (south,west,north,east in degrees; west
greater than east crosses the antimeridian) or a built-in zone by id or
name (dprk-territorial-sea, sts-east-china-sea, sts-korea-bay-nampo-chodo, ...).
Each line: start, kind, period, open or closed, the vessels, the position
and what matters of the kind (the zone, the port, how many hours).

Example: every encounter in the STS area off Nampo and Chodo in March 2026
(the demo store, 'tidewatch serve --demo', holds one)
  tidewatch events --kind encounter --zone sts-korea-bay-nampo-chodo --from 2026-03-01 --to 2026-03-31`)
	sf.register(fs, false)
	fs.StringVar(&vessel, "vessel", "", "only this vessel's events (IMO number or MMSI)")
	fs.StringVar(&kinds, "kind", "", "only these kinds, comma-separated ("+strings.Join(app.EventKinds, ", ")+")")
	fs.StringVar(&from, "from", "", "events ending on or after this date (YYYY-MM-DD or RFC 3339)")
	fs.StringVar(&to, "to", "", "events starting on or before this date (a bare date: the end of that day)")
	fs.StringVar(&area, "area", "", "a box: south,west,north,east in degrees")
	fs.StringVar(&zone, "zone", "", "a built-in zone, by id or name")
	fs.IntVar(&limit, "limit", 1000, "at most this many events (1 to 10000)")
	fs.BoolVar(&asJSON, "json", false, "one JSON object per event")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	var req app.EventsRequest
	var err error
	if limit < 1 || limit > app.MaxEvents {
		return usagef("--limit %d: give a number of events from 1 to %d", limit, app.MaxEvents)
	}
	req.Limit = limit
	if vessel != "" {
		if req.Vessel, err = app.ParseVessel(vessel); err != nil {
			return usagef("--vessel: %v", err)
		}
	}
	if kinds != "" {
		req.Kinds = strings.Split(kinds, ",")
	}
	if from != "" {
		if req.From, err = app.ParseAsOf(from); err != nil {
			return usagef("--from: %v", err)
		}
		if len(from) == 10 {
			req.From = req.From.Truncate(24 * time.Hour)
		}
	}
	if to != "" {
		if req.To, err = app.ParseAsOf(to); err != nil {
			return usagef("--to: %v", err)
		}
	}
	if area != "" {
		if req.Area, err = parseBBox(area); err != nil {
			return usagef("--area: %v", err)
		}
	}
	req.Zone = zone
	s, st, err := sf.service(app.Config{})
	if err != nil {
		return err
	}
	defer closeService(s, st)
	evs, err := s.Events(context.Background(), localPrincipal(currentUser()), req)
	if err != nil {
		if app.CodeOf(err) == app.CodeInvalid {
			return usagef("%v", err)
		}
		return err
	}
	enc := json.NewEncoder(e.stdout)
	for _, ev := range evs {
		if asJSON {
			if err := enc.Encode(ev); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(e.stdout, eventLine(ev))
	}
	fmt.Fprintf(e.stderr, "%d events\n", len(evs))
	return nil
}

// eventLine is one event as 'tidewatch events' prints it.
func eventLine(ev detect.Event) string {
	var names []string
	for _, v := range ev.Vessels {
		n := fmt.Sprintf("%09d", v.MMSI)
		if v.Name != "" {
			n += " " + termtext.Safe(v.Name)
		}
		names = append(names, n)
	}
	line := fmt.Sprintf("%s  %-18s %s to %s  %-6s  %s  at %.3f, %.3f", ev.Start.Format("2006-01-02 15:04"), ev.Kind, ev.Start.Format("15:04"),
		ev.End.Format("2006-01-02 15:04"), ev.Status, strings.Join(names, " & "), ev.Lat, ev.Lon)
	if sum := eventSummary(ev); sum != "" {
		line += "  " + sum
	}
	return line
}

// eventSummary is what matters of an event's details, in a few words:
// the zone of a zone entry or exit, the port of a port call, how long a
// gap, an encounter or loitering lasted.
func eventSummary(ev detect.Event) string {
	d := ev.Details
	var parts []string
	hours := func(h float64) string { return strconv.FormatFloat(h, 'f', 1, 64) + " h" }
	switch ev.Kind {
	case detect.KindZoneEntry, detect.KindZoneExit:
		if d.HoursInside > 0 {
			parts = append(parts, hours(d.HoursInside)+" inside")
		}
	case detect.KindPortCall:
		if d.Port != "" {
			p := "port " + termtext.Safe(d.Port)
			var in []string
			if d.LOCODE != "" {
				in = append(in, termtext.Safe(d.LOCODE))
			}
			if d.DPRKPort {
				in = append(in, "DPRK")
			} else if d.Country != "" {
				in = append(in, termtext.Safe(d.Country))
			}
			if len(in) > 0 {
				p += " (" + strings.Join(in, ", ") + ")"
			}
			parts = append(parts, p)
		}
		if d.Hours > 0 {
			parts = append(parts, hours(d.Hours))
		}
	case detect.KindGap:
		if d.Hours > 0 {
			parts = append(parts, hours(d.Hours)+" dark")
		}
		if d.DistanceKM > 0 {
			parts = append(parts, strconv.FormatFloat(d.DistanceKM, 'f', 0, 64)+" km")
		}
		if d.LikelyDeliberate {
			parts = append(parts, "likely deliberate")
		}
	case detect.KindEncounter, detect.KindLoitering:
		if d.Hours > 0 {
			parts = append(parts, hours(d.Hours))
		}
	case detect.KindIdentityChange:
		if d.Field != "" {
			parts = append(parts, fmt.Sprintf("%s %q to %q", termtext.Safe(d.Field), termtext.Safe(d.From), termtext.Safe(d.To)))
		}
	case detect.KindDraughtChange:
		if d.ChangeM != 0 {
			parts = append(parts, fmt.Sprintf("draught %.1f to %.1f m", d.FromM, d.ToM))
		}
	default:
		if d.Reason != "" {
			parts = append(parts, termtext.Safe(d.Reason))
		}
	}
	if d.Zone != "" {
		z := "zone " + termtext.Safe(d.Zone)
		if d.ZoneName != "" && d.ZoneName != d.Zone {
			z += " (" + termtext.Safe(d.ZoneName) + ")"
		}
		parts = append(parts, z)
	}
	return strings.Join(parts, ", ")
}

// parseBBox reads "south,west,north,east".
func parseBBox(s string) (*store.BBox, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return nil, fmt.Errorf("%q: give south,west,north,east", s)
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, fmt.Errorf("%q: %q is not a number", s, p)
		}
		v[i] = f
	}
	return &store.BBox{South: v[0], West: v[1], North: v[2], East: v[3]}, nil
}
