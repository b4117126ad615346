package app

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// BenchmarkReverseScreening is the target: a new list version
// screened against a 5,000-vessel portfolio with 15,000 parties, alerts
// written, in under 1 s. The store holds the embedded lists; the monitor
// last screened the UN list's 2025-04-19 version, so the pass screens the
// records that changed in the real diff to the 2026-02-27 version. The
// portfolio is synthetic (ship and company names built from common
// words) with real designated ships and companies among it: some from
// the diff (hits: alerts written), some from unchanged records. Each
// iteration screens a fresh copy of the portfolio (another id: its
// alerts are new) from the same starting point.
func BenchmarkReverseScreening(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "s.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := New(Config{Store: st, Now: func() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) }})
	defer s.Close()
	if _, err := s.EnsureLists(ctx); err != nil {
		b.Fatal(err)
	}
	idx, err := s.screens.now(ctx)
	if err != nil {
		b.Fatal(err)
	}
	// The UN versions: the one in force and the one before.
	all, err := st.ListVersions(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var newUN, oldUN *sanctions.Dataset
	inForce, err := idx.lists(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range inForce {
		if d.Version.List == "un" {
			newUN = d
		}
	}
	for _, v := range all {
		if v.List == "un" && newUN != nil && v.ID != newUN.Version.ID {
			if oldUN, err = s.dataset(ctx, v.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
	if newUN == nil || oldUN == nil {
		b.Fatal("the embedded lists lack two UN versions")
	}
	diff, err := sanctions.Diff(oldUN, newUN)
	if err != nil {
		b.Fatal(err)
	}
	changed := append([]*sanctions.Entity(nil), diff.Added...)
	for _, c := range diff.Changed {
		changed = append(changed, c.New)
	}
	prev := []string{}
	for _, id := range versionIDs(idx) {
		if listOf(id) == "un" {
			id = oldUN.Version.ID
		}
		prev = append(prev, id)
	}
	prevJSON, _ := json.Marshal(prev)
	vessels := syntheticPortfolio(changed, newUN.Entities, 5000)
	parties := 0
	for _, v := range vessels {
		parties += len(v.Parties)
	}
	b.Logf("UN diff %s -> %s: %d added, %d changed, %d removed; portfolio %d vessels, %d parties",
		oldUN.Version.ID, newUN.Version.ID, len(diff.Added), len(diff.Changed), len(diff.Removed), len(vessels), parties)
	p := LocalPrincipal("bench")
	var last MonitorResult
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		pf := fmt.Sprintf("fleet-%d", i)
		if i > 0 {
			if err := st.DeletePortfolio(ctx, LocalTenant, fmt.Sprintf("fleet-%d", i-1)); err != nil {
				b.Fatal(err)
			}
		}
		if err := st.PutPortfolio(ctx, store.Portfolio{Tenant: LocalTenant, ID: pf, Name: pf, Created: s.now()}); err != nil {
			b.Fatal(err)
		}
		for j := range vessels {
			vessels[j].Portfolio = pf
		}
		if err := st.PutPortfolioVessels(ctx, vessels); err != nil {
			b.Fatal(err)
		}
		if err := st.PutMonitorState(ctx, monitorListsKey, prevJSON); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c0 := cpuTime()
		res, err := s.ScreenListChanges(ctx)
		if err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - c0
		last = res
	}
	b.StopTimer()
	alerts, _ := st.Alerts(ctx, LocalTenant, store.AlertFilter{Portfolio: fmt.Sprintf("fleet-%d", b.N-1)})
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(last.Alerts), "alerts/op")
	b.ReportMetric(float64(last.Changed), "records/op")
	b.Logf("last pass: %d changed records, %d vessels, %d parties, %d alerts (%d stored), took %s; p=%v",
		last.Changed, last.Vessels, last.Parties, last.Alerts, len(alerts), last.Took, p.Tenant)
	if last.Alerts == 0 || last.Vessels != len(vessels) {
		b.Fatalf("the pass raised no alert or missed vessels: %+v", last)
	}
}

// syntheticPortfolio makes n vessels with three parties each: names from
// common shipping words, valid IMO numbers; among them real designated
// ships and companies, from the changed records (hits) and from the rest
// of the list (not news).
func syntheticPortfolio(changed, rest []*sanctions.Entity, n int) []store.PortfolioVessel {
	rng := rand.New(rand.NewPCG(1, 2))
	first := []string{"OCEAN", "PACIFIC", "GOLDEN", "SEA", "GRAND", "BRIGHT", "NORTHERN", "EASTERN", "ROYAL", "SILVER", "BLUE", "JADE", "LUCKY", "ORIENT", "STAR", "GLORY", "WISDOM", "HARMONY", "CRYSTAL", "PEARL"}
	second := []string{"SPIRIT", "VOYAGER", "PIONEER", "DREAM", "FORTUNE", "HORIZON", "WAVE", "TRADER", "CARRIER", "EXPRESS", "UNITY", "VENTURE", "BRIDGE", "PHOENIX", "EAGLE", "LION", "DRAGON", "BREEZE", "MARINER", "NAVIGATOR"}
	places := []string{"Hong Kong", "Singapore", "Piraeus", "Monrovia", "Majuro", "Limassol", "Valletta", "Panama", "Dubai", "Shanghai", "Busan", "Tokyo", "London", "Oslo", "Hamburg", "Rotterdam"}
	suffix := []string{"Shipping Ltd", "Maritime SA", "Navigation Co", "Marine Inc", "Shipholding Corp", "Tankers Ltd", "Bulk Carriers SA", "Ship Management Co Ltd", "Logistics Pte Ltd", "Ocean Lines Ltd"}
	usedIMO := map[uint32]bool{}
	imo := func() uint32 {
		for {
			base := 9000000 + rng.IntN(999999)
			d := strconv.Itoa(base)[:6]
			sum := 0
			for i, c := range d {
				sum += int(c-'0') * (7 - i)
			}
			n, _ := strconv.Atoi(d + strconv.Itoa(sum%10))
			if !usedIMO[uint32(n)] {
				usedIMO[uint32(n)] = true
				return uint32(n)
			}
		}
	}
	company := func() string {
		return fmt.Sprintf("%s %s %s", places[rng.IntN(len(places))], first[rng.IntN(len(first))], suffix[rng.IntN(len(suffix))])
	}
	var realShips, realOrgs []*sanctions.Entity
	pick := func(es []*sanctions.Entity, ships, orgs int) {
		for _, e := range es {
			switch {
			case e.Type == sanctions.Vessel && ships > 0:
				realShips = append(realShips, e)
				ships--
			case e.Type == sanctions.Organization && orgs > 0:
				realOrgs = append(realOrgs, e)
				orgs--
			}
		}
	}
	pick(changed, 10, 20)
	pick(rest, 40, 80)
	out := make([]store.PortfolioVessel, 0, n)
	added := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	status := &store.VesselStatus{Recommendation: "accept", Score: 10, ProfileHash: "synthetic", AsOf: added}
	for i := 0; i < n; i++ {
		v := store.PortfolioVessel{Tenant: LocalTenant, ID: fmt.Sprintf("V%05d", i), IMO: imo(), MMSI: uint32(200000000 + rng.IntN(599999999)),
			Name: first[rng.IntN(len(first))] + " " + second[rng.IntN(len(second))], Flag: "LR", Added: added, Status: status, Seen: status}
		if i%3 == 0 {
			v.Name += " " + strconv.Itoa(1+rng.IntN(9))
		}
		v.Parties = []store.Party{{Role: "owner", Name: company()}, {Role: "manager", Name: company()}, {Role: "operator", Name: company()}}
		// Every 50th vessel is a real designated ship; every 25th has a
		// real designated company among its parties.
		if i%50 == 7 && len(realShips) > 0 {
			e := realShips[(i/50)%len(realShips)]
			v.Name = e.Name
			for _, id := range e.Identifiers {
				if id.Scheme == sanctions.SchemeShipIMO {
					if n, err := strconv.Atoi(strings.TrimSpace(id.Value)); err == nil {
						v.IMO = uint32(n)
					}
				}
			}
		}
		if i%25 == 3 && len(realOrgs) > 0 {
			v.Parties[i%3].Name = realOrgs[(i/25)%len(realOrgs)].Name
		}
		out = append(out, v)
	}
	return out
}

// cpuTime is the process's user and system CPU time so far: on a shared
// machine the wall time of a pass depends on the neighbours, its CPU
// time much less.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
