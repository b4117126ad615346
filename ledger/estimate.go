package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/detect"
)

// Vessel is what the estimate needs to know of a ship.
type Vessel struct {
	MMSI uint32 `json:"mmsi"`
	IMO  uint32 `json:"imo,omitempty"`
	Name string `json:"name,omitempty"`
	// Tanker says the ship carries oil, and TankerWhy why Tidewatch
	// thinks so ("AIS ship type 80", "listed as Oil Tanker").
	Tanker    bool   `json:"tanker"`
	TankerWhy string `json:"tanker_why,omitempty"`
	// Capacity is nil when nothing gives one.
	Capacity *Capacity `json:"capacity,omitempty"`
	// Simulated: the ship's AIS comes from the simulator (the demo).
	Simulated bool `json:"simulated,omitempty"`
}

// key names the ship across its MMSIs.
func (v Vessel) key() string {
	if v.IMO != 0 {
		return fmt.Sprintf("imo:%d", v.IMO)
	}
	return fmt.Sprintf("mmsi:%d", v.MMSI)
}

// Rules configure the estimate.
type Rules struct {
	// LookbackDays is how long before a DPRK port call a loading still
	// counts (default 30 days).
	LookbackDays int `json:"lookback_days"`
	// Product is the cargo's conversion factor (default unspecified
	// refined products).
	Product string `json:"product"`
	// VoyageZones are the supply areas a voyage from which counts (zone
	// ids): the STS areas away from the DPRK's own coast. The Korea Bay
	// area is left out: every ship sailing from Nampo leaves it.
	VoyageZones []string `json:"voyage_zones"`
}

// DefaultRules are the rules docs/ledger.md describes.
var DefaultRules = Rules{LookbackDays: 30, Product: Unspecified,
	VoyageZones: []string{"sts-east-china-sea", "sts-hangzhou-bay", "sts-lianyungang", "sts-gulf-of-tonkin", "sts-vostochny-nakhodka"}}

// Lookback is the rules' lookback (30 days when unset).
func (r Rules) Lookback() time.Duration {
	if r.LookbackDays <= 0 {
		return time.Duration(DefaultRules.LookbackDays) * 24 * time.Hour
	}
	return time.Duration(r.LookbackDays) * 24 * time.Hour
}

// Trigger is an event that makes a DPRK port call a delivery.
type Trigger struct {
	EventID string    `json:"event_id"`
	Kind    string    `json:"kind"`
	Time    time.Time `json:"time"`
	// Why in words: "encounter in Korea Bay... with 667000202 SIM OCEAN
	// STAR (tanker)".
	Why string `json:"why"`
	// MMSIs are the event's ships.
	MMSIs []uint32 `json:"mmsis"`
}

// Estimate is one estimated delivery: a tanker's DPRK port call after a
// loading, with its capacity and the barrels under each scenario.
type Estimate struct {
	ID         string    `json:"id"`
	Vessel     Vessel    `json:"vessel"`
	PortCallID string    `json:"port_call_event"`
	Port       string    `json:"port"`
	Arrival    time.Time `json:"arrival"`
	Year       int       `json:"year"`
	Triggers   []Trigger `json:"triggers"`
	// EventIDs are every event the estimate rests on: the triggers and
	// the port call.
	EventIDs []string `json:"event_ids"`
	// Cargo is the factor the capacity is converted with.
	Cargo Factor `json:"cargo_factor"`
	// FullyLaden is the capacity in barrels (zero range when unknown);
	// Barrels is per scenario, in Scenarios order.
	FullyLaden Range            `json:"fully_laden_bbl"`
	Barrels    []ScenarioAmount `json:"barrels"`
	// NoCapacity: counted as a delivery with no barrels, as no capacity
	// is known (enter one).
	NoCapacity bool `json:"no_capacity,omitempty"`
}

// ScenarioAmount is a figure under one scenario.
type ScenarioAmount struct {
	Scenario string `json:"scenario"`
	Barrels  Range  `json:"barrels"`
}

// Skipped is a tanker's DPRK port call not counted, with the reason.
type Skipped struct {
	PortCallID string    `json:"port_call_event"`
	Vessel     Vessel    `json:"vessel"`
	Port       string    `json:"port"`
	Arrival    time.Time `json:"arrival"`
	Reason     string    `json:"reason"`
}

// Estimates finds the deliveries in events: each DPRK port call of a
// tanker that follows, within the lookback and after the tanker's
// previous DPRK port call, a loading: a ship-to-ship encounter in a
// supply area (an STS area) or with another tanker, or a voyage from a
// supply area (leaving one of the rules' voyage zones). facts tells what
// is known of a ship by MMSI at an event's start: an MMSI can carry one
// ship's identity (IMO, name) one month and another's the next, and an
// event belongs to the ship that broadcast the MMSI then. Events may come
// in any order; the result is ordered by arrival.
func Estimates(events []detect.Event, facts func(mmsi uint32, at time.Time) Vessel, rules Rules, factors Factors) ([]Estimate, []Skipped) {
	lookback := rules.Lookback()
	cargo, _ := factors.Get(rules.Product)
	evs := append([]detect.Event(nil), events...)
	detect.SortEvents(evs)
	voyage := map[string]bool{}
	for _, z := range rules.VoyageZones {
		voyage[z] = true
	}
	type at struct {
		mmsi uint32
		t    int64
	}
	cache := map[at]Vessel{}
	fact := func(m uint32, t time.Time) Vessel {
		k := at{m, t.UnixNano()}
		v, ok := cache[k]
		if !ok {
			v = facts(m, t)
			v.MMSI = m
			cache[k] = v
		}
		return v
	}
	// Loadings per ship, and the DPRK port calls per ship, in time order.
	type load struct {
		ev  detect.Event
		why string
	}
	loads := map[string][]load{}
	type call struct {
		ev detect.Event
		v  Vessel
	}
	var calls []call
	for _, e := range evs {
		switch e.Kind {
		case detect.KindPortCall:
			if !e.Details.DPRKPort || len(e.Vessels) == 0 {
				continue
			}
			v := fact(e.Vessels[0].MMSI, e.Start)
			if v.Tanker {
				calls = append(calls, call{e, v})
			}
		case detect.KindEncounter:
			for _, me := range e.Vessels {
				v := fact(me.MMSI, e.Start)
				var others []string
				tankerOther := false
				for _, o := range e.Vessels {
					if o.MMSI == me.MMSI {
						continue
					}
					ov := fact(o.MMSI, e.Start)
					name := o.Name
					if name == "" {
						name = ov.Name
					}
					label := strings.TrimSpace(fmt.Sprintf("%09d %s", o.MMSI, name))
					if ov.Tanker {
						label += " (tanker)"
						tankerOther = true
					}
					others = append(others, label)
				}
				inArea := e.Details.ZoneKind == "sts_area"
				if !inArea && !tankerOther {
					continue
				}
				why := "ship-to-ship encounter"
				if inArea {
					why += " in " + zoneLabel(e)
				}
				if len(others) > 0 {
					why += " with " + strings.Join(others, ", ")
				}
				loads[v.key()] = append(loads[v.key()], load{e, why})
			}
		case detect.KindZoneExit:
			if !voyage[e.Details.Zone] || len(e.Vessels) == 0 {
				continue
			}
			v := fact(e.Vessels[0].MMSI, e.Start)
			loads[v.key()] = append(loads[v.key()], load{e, fmt.Sprintf("voyage from a supply area: left %s after %.1f h inside", zoneLabel(e), e.Details.HoursInside)})
		}
	}
	var out []Estimate
	var skipped []Skipped
	prevCall := map[string]time.Time{}
	for _, c := range calls {
		k := c.v.key()
		since := c.ev.Start.Add(-lookback)
		if p, ok := prevCall[k]; ok && p.After(since) {
			since = p
		}
		prevCall[k] = c.ev.End
		var trig []Trigger
		for _, l := range loads[k] {
			if l.ev.End.After(c.ev.Start) || !l.ev.End.After(since) {
				continue
			}
			var ms []uint32
			for _, v := range l.ev.Vessels {
				ms = append(ms, v.MMSI)
			}
			trig = append(trig, Trigger{EventID: l.ev.ID, Kind: l.ev.Kind, Time: l.ev.End, Why: l.why, MMSIs: ms})
		}
		if len(trig) == 0 {
			skipped = append(skipped, Skipped{PortCallID: c.ev.ID, Vessel: c.v, Port: c.ev.Details.Port, Arrival: c.ev.Start,
				Reason: fmt.Sprintf("no ship-to-ship encounter in a supply area or with a tanker, and no voyage from a supply area, in the %d days before (since the previous DPRK port call)", int(lookback.Hours()/24))})
			continue
		}
		sum := sha256.Sum256([]byte("ledger-estimate\x00" + c.ev.ID))
		est := Estimate{ID: hex.EncodeToString(sum[:8]), Vessel: c.v, PortCallID: c.ev.ID, Port: c.ev.Details.Port, Arrival: c.ev.Start.UTC(),
			Year: c.ev.Start.UTC().Year(), Triggers: trig, Cargo: cargo}
		for _, t := range trig {
			est.EventIDs = append(est.EventIDs, t.EventID)
		}
		est.EventIDs = append(est.EventIDs, c.ev.ID)
		if c.v.Capacity != nil {
			est.FullyLaden = c.v.Capacity.Barrels(cargo)
		} else {
			est.NoCapacity = true
		}
		for _, s := range Scenarios {
			est.Barrels = append(est.Barrels, ScenarioAmount{Scenario: s.ID, Barrels: est.FullyLaden.Scale(s.Fill)})
		}
		out = append(out, est)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Arrival.Equal(out[j].Arrival) {
			return out[i].Arrival.Before(out[j].Arrival)
		}
		return out[i].ID < out[j].ID
	})
	return out, skipped
}

func zoneLabel(e detect.Event) string {
	if e.Details.ZoneName != "" {
		return e.Details.ZoneName
	}
	if e.Details.Zone != "" {
		return e.Details.Zone
	}
	return "a supply area"
}

// Involves says the estimate concerns a ship: the delivering tanker, or
// a ship of one of its loadings (the supplier of an STS).
func (e Estimate) Involves(mmsi uint32) bool {
	if e.Vessel.MMSI == mmsi {
		return true
	}
	for _, t := range e.Triggers {
		for _, m := range t.MMSIs {
			if m == mmsi {
				return true
			}
		}
	}
	return false
}

// Amount is a scenario's figure of an estimate.
func (e Estimate) Amount(scenario string) Range {
	for _, a := range e.Barrels {
		if a.Scenario == scenario {
			return a.Barrels
		}
	}
	return Range{}
}
