package detect_test

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/sim"
	"github.com/tidewatch/tidewatch/track"
)

// The routes of evicted MMSIs (issue 16): an area sequencer with IMO
// workers keeps an evicted MMSI's IMO routes until no IMO worker can
// read it (identity_stage.go, pruneRoutes), not for good.

const day = 24 * time.Hour

// imoReturns is a set of 47 days whose MMSIs leave and come back, for a
// small vessel cap to evict them meanwhile (start is its first day):
//
//   - imoSharing(n) (IMOs shared at once, handed over, handed back) on
//     days 1-2, again 10 days later for two thirds of its MMSIs and 40
//     days later for another two thirds, some of them with their
//     positions only (no static report);
//   - boundary: 48 IMOs used by one MMSI for two hours, taken over by
//     another 29 to 31 days later (one an hour), the first coming back
//     half an hour, 5 or 47 hours after that, renamed by static reports
//     without an IMO every half hour: the hand-over, while its IMO is
//     remembered, names it as the engine last heard it;
//   - 8 IMOs whose third user (never heard at a position) is followed
//     five minutes later by a fourth who keeps the IMO for 40 days; the
//     third comes back at positions 10 days later (four of them: the
//     engine finds a conflict, reading its positions) or 37 days later
//     (the other four: it was forgotten as the IMO's user);
//   - 200 fillers, one heard every 10 minutes in turn: new vessels that
//     evict the idlest, and an hourly sweep throughout.
func imoReturns(n int, seed int64) (recs []rec, start time.Time) {
	r := rand.New(rand.NewSource(seed))
	t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	var out []rec
	at := func(d time.Duration) track.Time { return track.TimeOf(t0.Add(d)) }
	// Shifted copies of imoSharing: keep says what of an MMSI is kept.
	base := imoSharing(n, seed)
	shifted := func(by time.Duration, keep func(m uint32) (pos, static bool)) {
		for _, x := range base {
			if x.st != nil {
				if _, st := keep(x.st.MMSI); st {
					s := *x.st
					s.Time = s.Time.Add(by)
					out = append(out, rec{st: &s})
				}
			} else if pos, _ := keep(x.f.MMSI); pos {
				f := x.f
				f.Time = f.Time.Add(by)
				out = append(out, rec{f: f})
			}
		}
	}
	shifted(0, func(uint32) (bool, bool) { return true, true })
	shifted(10*day, func(m uint32) (bool, bool) { return m%3 != 2, m%3 == 0 })
	shifted(40*day, func(m uint32) (bool, bool) { return m%3 != 1, m%3 == 2 || m%4 == 0 })
	pos := func(m uint32, t time.Duration, lat, lon float64) {
		out = append(out, rec{f: track.Fix{MMSI: m, Time: at(t), Lat: lat + t.Hours()*0.001, Lon: lon, SOG: 4, COG: 0}})
	}
	stat := func(m uint32, t time.Duration, imo uint32, name string) {
		out = append(out, rec{st: &detect.StaticReport{MMSI: m, Time: at(t), IMO: imo, Name: name, Source: "test"}})
	}
	for j := range 48 {
		x := sim.ValidIMO(610000 + j)
		a, b := uint32(232000001+j), uint32(211000001+j) // (232000000 is a placeholder)
		lat, lon := -40+r.Float64()*20, 60+r.Float64()*40
		ta := 2*day + time.Duration(j)*37*time.Minute
		// z and a use x at once (an IMO with one user goes with it when
		// it is evicted: vesselEvicted), then 50 new vessels evict both
		// while their conflict is open; x then stays with a as its user.
		z := uint32(219000001 + j)
		for t := ta - 30*time.Minute; t < ta+time.Hour; t += 6 * time.Minute {
			pos(z, t, lat+0.5, lon)
			stat(z, t, x, fmt.Sprintf("ZULU %d", j))
		}
		for t := ta; t < ta+2*time.Hour; t += 3 * time.Minute {
			pos(a, t, lat, lon)
			if (t-ta)%(6*time.Minute) == 0 {
				stat(a, t, x, fmt.Sprintf("ALPHA %d", j))
			}
		}
		for q := range 50 {
			pos(uint32(370000000+100*j+q), ta+2*time.Hour+time.Duration(q)*time.Second, lat+2, lon+float64(q)*0.01)
		}
		tb := ta + 2*time.Hour + 29*day + time.Duration(j)*time.Hour
		for t := tb; t < tb+8*time.Hour; t += 3 * time.Minute {
			pos(b, t, lat+1, lon)
			if (t-tb)%(6*time.Minute) == 0 {
				stat(b, t, x, fmt.Sprintf("BRAVO %d", j))
			}
		}
		// a back half an hour, 5 or 47 hours after b began, until 60
		// hours after (the hand-over closes IdentityResumeHours after it
		// began), renamed every half hour.
		backAt := tb + []time.Duration{30 * time.Minute, 47 * time.Hour, 5 * time.Hour}[j%3]
		for t := backAt; t < tb+60*time.Hour; t += 10 * time.Minute {
			pos(a, t+time.Minute, lat-1, lon)
			if (t-tb)%(30*time.Minute) == 0 {
				stat(a, t+time.Minute, 0, fmt.Sprintf("ALPHA %d AGAIN %d", j, (t-tb)/(30*time.Minute)))
			}
		}
	}
	for i := range 8 {
		x := sim.ValidIMO(620000 + i)
		c, d, a, f := uint32(247000001+i), uint32(248000001+i), uint32(249000001+i), uint32(256000001+i)
		lat, lon := 10+float64(i), -170.0
		t := 5*day + time.Duration(i)*5*time.Hour
		// c and d heard from t-1h to t+3h, so that the cap evicts
		// neither before a hand-over from c to d (at t+1h) is open.
		for u := t - time.Hour; u < t+3*time.Hour; u += 10 * time.Minute {
			pos(c, u, lat, lon)
			pos(d, u+time.Minute, lat+0.5, lon)
		}
		stat(c, t, x, "CHARLIE")
		stat(d, t+time.Hour, x, "DELTA")
		stat(a, t+2*time.Hour, x, "ALPHA") // while the hand-over is open: no other
		for u := t + 2*time.Hour + 5*time.Minute; u < 44*day; u += time.Hour {
			pos(f, u, lat+1, lon)
			if (u-t-2*time.Hour-5*time.Minute)%(5*time.Hour) == 0 {
				stat(f, u, x, "FOXTROT")
			}
		}
		back := 10 * day
		if i%2 == 1 {
			back = 37 * day
		}
		for u := t + back; u < t+back+12*time.Hour; u += 10 * time.Minute {
			pos(a, u, lat-1, lon)
		}
	}
	for k := 0; k < int(47*day/(10*time.Minute)); k++ {
		i := k % 200
		pos(uint32(538000000+i), time.Duration(k)*10*time.Minute, -60+float64(i%20), -100+float64(i/20)*3)
	}
	sort.SliceStable(out, func(i, j int) bool { return recTime(out[i]).Before(recTime(out[j])) })
	return out, t0
}

// TestIMOWorkersReturns: on imoReturns (47 days, more than imoForget)
// with a cap of 40 vessels that evicts them, a sequencer with 1, 2 or 4
// IMO workers emits the Engine's events, byte for byte; cut by
// checkpoints at five points (the second in the old form of the
// sequencer's routes, without their clocks), each occurrence's latest
// version is the Engine's; and the routes of MMSIs evicted on days 2
// and 3 and not heard again are kept on day 30 and dropped by day 37
// (39 with a resume of 48 hours).
// With IdentityResumeHours 6 (the default) and 48 (more than the day
// between two prunes: a route marked at one is dropped at the second
// after it).
func TestIMOWorkersReturns(t *testing.T) {
	n := 60
	if testing.Short() {
		n = 24
	}
	recs, t0 := imoReturns(n, 7)
	for _, resume := range []float64{6, 48} {
		cfg := detect.DefaultConfig
		cfg.MaxVessels = 40
		cfg.IdentityResumeHours = resume
		checkReturns(t, fmt.Sprintf("resume %g h", resume), cfg, recs, t0)
	}
}

func checkReturns(t *testing.T, name string, cfg detect.Config, recs []rec, t0 time.Time) {
	g := loadGeography()
	var want []detect.Event
	e := detect.NewEngine(cfg, g.land, g.ports, g.zones, func(ev detect.Event) { want = append(want, ev) })
	e.Designated = designated
	feedRecs(e, recs)
	e.Flush()
	kinds := map[string]int{}
	renamed, late, back := 0, 0, 0
	for _, ev := range want {
		if !imoEvent(&ev) {
			continue
		}
		kinds[ev.Kind]++
		switch x := ev.Vessels[0].IMO; {
		case x/10 >= 610000 && x/10 < 610048 && ev.Kind == detect.KindIdentityChange && ev.End.Sub(ev.Start) > 20*day:
			late++
			if strings.Contains(ev.Vessels[0].Name, "AGAIN") {
				renamed++
			}
		case x/10 >= 620000 && x/10 < 620008 && ev.Kind == detect.KindIdentityConflict:
			back++
		}
	}
	span := recTime(recs[len(recs)-1]).Sub(recTime(recs[0]))
	t.Logf("%s: the engine: %d records over %.1f days, %d events, of one IMO's MMSIs %v, %d evictions; %d hand-overs 29 to 31 days after, %d of them naming the MMSI renamed after it came back; %d conflicts with a user back at positions only",
		name, len(recs), span.Hours()/24, len(want), kinds, e.Evictions(), late, renamed, back)
	if span < 40*day || kinds[detect.KindIdentityConflict] < 20 || kinds[detect.KindIdentityChange] < 20 || renamed < 10 || back < 4 || e.Evictions() < 1000 {
		t.Fatalf("%s: too short, too few IMO events, renamed returns or evictions: the set tests little", name)
	}
	cuts := []time.Time{t0.Add(2 * day), t0.Add(12 * day), t0.Add(31*day + 13*time.Hour), t0.Add(32*day + 7*time.Hour), t0.Add(41 * day)}
	for _, k := range []int{1, 2, 4} {
		sub := fmt.Sprintf("%s, %d IMO workers", name, k)
		s := newAreaSplit(t, cfg, g, k, k, 2, k, k > 1)
		var routes []int
		// The 48 MMSIs that hand their IMO to the boundary group's first
		// users are evicted on days 2 and 3 and never heard again: on day
		// 30 (27 to 28 days after) their routes are kept; on day dropDay
		// dropped (marked at most 31 days and 2 hours after the eviction,
		// dropped at the first prune more than resume after that, at most
		// resume and 25 hours later).
		dropDay := 35 + int(math.Ceil((cfg.IdentityResumeHours+25)/24))
		zs := func() (n int) {
			for j := range 48 {
				if s.seq.HasEvictedRoute(uint32(219000001 + j)) {
					n++
				}
			}
			return n
		}
		var z30, zDrop int
		i := 0
		for d := day; ; d += day {
			for i < len(recs) && recTime(recs[i]).Before(track.TimeOf(t0.Add(d))) {
				feedRecs(s.seq, recs[i:i+1])
				i++
			}
			if d%(5*day) == 0 {
				routes = append(routes, s.seq.EvictedRoutes())
			}
			switch d {
			case 30 * day:
				z30 = zs()
			case time.Duration(dropDay) * day:
				zDrop = zs()
			}
			if i == len(recs) {
				break
			}
		}
		s.seq.Flush()
		sameEvents(t, sub, s.events(), want)
		if r := s.rejected(); r != 0 {
			t.Errorf("%s: %d items rejected", sub, r)
		}
		t.Logf("%s: %d items; IMO workers' events %v; routes kept every 5 days %v; of 48 MMSIs evicted on days 2 and 3, %d with routes on day 30, %d on day %d",
			sub, s.items, lens(s.iEvs), routes, z30, zDrop, dropDay)
		if z30 != 48 || zDrop != 0 {
			t.Errorf("%s: of 48 MMSIs evicted on days 2 and 3, %d with routes on day 30 (want 48), %d on day %d (want 0)", sub, z30, zDrop, dropDay)
		}

		c := newAreaSplit(t, cfg, g, k, k, 2, k, k > 1)
		i = 0
		for j, at := range append(cuts, time.Time{}) {
			if j > 0 {
				c.seqCheckpoint = nil
				if j == 2 {
					c.seqCheckpoint = (*detect.Engine).CheckpointWithoutRouteClocks
				}
				c.checkpoint()
			}
			for i < len(recs) && (at.IsZero() || recTime(recs[i]).Before(track.TimeOf(at))) {
				feedRecs(c.seq, recs[i:i+1])
				i++
			}
		}
		c.seq.Flush()
		got, w := latest(c.events()), latest(want)
		if strings.Join(got, "\n") != strings.Join(w, "\n") {
			t.Errorf("%s, cut: %d occurrences, the engine %d", sub, len(got), len(w))
			for i := range min(len(got), len(w)) {
				if got[i] != w[i] {
					t.Errorf("first difference:\n got %s\nwant %s", got[i], w[i])
					break
				}
			}
		}
		if r := c.rejected(); r != 0 {
			t.Errorf("%s, cut: %d items rejected", sub, r)
		}
	}
}

// TestEvictedRoutesBounded: 60,000 MMSIs heard once each (a static
// report with a valid IMO and a position), one every 86.4 seconds over
// 60 days, under a cap of 200 vessels. The Engine's checkpoint holds
// the 200 vessels; an area sequencer with 4 IMO workers also holds the
// routes of MMSIs it evicted in the last 30 to 32 days (pruneRoutes:
// marked at the first daily prune more than imoForget after the
// eviction, dropped at the next; an hour of rounding and a sweep an hour
// on either side), so from day 32 on its checkpoint stops growing, at
// about 5 bytes a route.
func TestEvictedRoutesBounded(t *testing.T) {
	g := loadGeography()
	cfg := detect.DefaultConfig
	cfg.MaxVessels = 200
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := detect.NewEngine(cfg, g.land, g.ports, g.zones, func(detect.Event) {})
	seq := detect.NewAreaSequencer(cfg, g.land, g.ports, g.zones, func(detect.Event) {}, func(detect.Item) {}, detect.Split{IMOs: 4, Reception: 4})
	const every = 86400 * time.Millisecond
	heard := func(i int) time.Time { return t0.Add(time.Duration(i) * every) }
	done := 0
	type size struct{ days, engine, seq, routes int }
	var sizes []size
	for _, days := range []int{20, 32, 40, 50, 60} {
		n := days * 1000
		for i := done; i < n; i++ {
			m := uint32(200000001 + i) // (200000000 is a placeholder: no IMO use)
			at := track.TimeOf(heard(i))
			st := detect.StaticReport{MMSI: m, Time: at, IMO: sim.ValidIMO(100000 + i), Name: "ONCE"}
			f := track.Fix{MMSI: m, Time: at, Lat: -20 + float64(i%400)*0.1, Lon: -100 + float64(i%300)*0.1, SOG: 8, COG: 1}
			e.Static(st)
			e.Position(f)
			seq.Static(st)
			seq.Position(f)
		}
		done = n
		s := size{days, len(e.Checkpoint()), len(seq.Checkpoint()), seq.EvictedRoutes()}
		sizes = append(sizes, s)
		t.Logf("day %d: %d MMSIs heard, %d evicted; the engine's checkpoint %d bytes, the sequencer's %d (%.2f times) with %d routes",
			days, n, e.Evictions(), s.engine, s.seq, float64(s.seq)/float64(s.engine), s.routes)
		// The last fix is at heard(n-1), the sequencer's clock a reorder
		// window behind at most, and an MMSI is evicted within hours of
		// being heard (200 newer ones later). Heard within the last 29
		// days and evicted, its route is kept; heard more than 33 days
		// before, dropped.
		within := func(w time.Duration) int { return min(n, int(w/every)+1) }
		notEvicted := n - int(seq.Evictions())
		if lo, hi := within(29*day)-notEvicted, within(33*day); s.routes < lo || s.routes > hi {
			t.Errorf("day %d: %d routes, want from %d (the MMSIs heard in the last 29 days, less the %d not evicted) to %d (heard in the last 33)",
				days, s.routes, lo, notEvicted, hi)
		}
	}
	// Routes a steady 30 to 32 days' evictions: no growth after day 32
	// beyond a day's routes.
	last, at32 := sizes[len(sizes)-1], sizes[1]
	if last.seq > at32.seq+6*1000+1000 {
		t.Errorf("the sequencer's checkpoint grows after day 32: %d bytes, %d at day 32", last.seq, at32.seq)
	}
	// And it is the engine's and about 5 bytes (at most 8) a route.
	if last.seq > last.engine+8*last.routes+4096 {
		t.Errorf("the sequencer's checkpoint %d bytes for %d routes, the engine's %d", last.seq, last.routes, last.engine)
	}
}
