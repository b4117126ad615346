package pipeline_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/postgres"
	"github.com/tidewatch/tidewatch/store/postgres/pgtest"
)

// TestTwoNodesAlertOnce: two API nodes on one PostgreSQL store (each its
// own connection pool, as two processes), the events written by the
// pipeline's workers; both nodes' monitors screen the new events at the
// same time, again and again, and every event on a portfolio vessel is
// alerted exactly once (the monitor's lease is a PostgreSQL advisory lock
// and its cursor is in the store).
func TestTwoNodesAlertOnce(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	open := func() *postgres.DB {
		db, err := postgres.Open(ctx, url+"&pool_max_conns=8", postgres.Options{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	now := func() time.Time { return time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC) }
	nodeA := app.New(app.Config{Store: a, Now: now})
	nodeB := app.New(app.Config{Store: b, Now: now})
	defer nodeA.Close()
	defer nodeB.Close()
	local := app.LocalPrincipal("test")
	if _, err := nodeA.EnsureLists(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := nodeA.CreatePortfolio(ctx, local, "fleet", ""); err != nil {
		t.Fatal(err)
	}
	// The planted DPRK tanker and the STS tanker it meets.
	if _, err := nodeA.AddVessels(ctx, local, "fleet", []app.VesselEntry{{ID: "dprk", MMSI: "445000101"}, {ID: "sts", IMO: "9300207"}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*app.Service{nodeA, nodeB} {
		if _, err := n.ScreenNewEvents(ctx); err != nil { // the cursor starts here
			t.Fatal(err)
		}
	}
	c := newCluster(t, a, 2)
	c.publish()
	ws := []*running{c.worker(0, c.opts), c.worker(1, c.opts)}
	for _, w := range ws {
		w.waitFlushed(t)
		w.stop(t)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	raised := 0
	for _, n := range []*app.Service{nodeA, nodeB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				m, err := n.ScreenNewEvents(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				raised += m.Alerts
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	all, err := nodeB.Alerts(ctx, local, store.AlertFilter{})
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := nodeB.Alerts(ctx, local, store.AlertFilter{Kinds: []string{app.AlertEvent}})
	if err != nil {
		t.Fatal(err)
	}
	// An occurrence stored again in a longer version (the workers store
	// open versions at each run's checkpoint) updates its alert: each
	// raise or update is one version, made by one node once. The events
	// also move the vessels' bands (band_changed alerts), counted alike.
	versions := 0
	for _, al := range all {
		versions += al.Version
	}
	if len(alerts) == 0 || raised != versions {
		t.Fatalf("the nodes raised or updated %d times; the store's %d alerts (%d about events) have %d versions", raised, len(all), len(alerts), versions)
	}
	per := map[string]int{}
	for _, al := range alerts {
		per[al.Evidence[0].Ref+" "+al.VesselRef]++
	}
	for k, n := range per {
		if n != 1 {
			t.Errorf("%d alerts for one occurrence %s", n, k)
		}
	}
	t.Logf("%d event alerts, each once; %d alerts in all with %d versions, each made once, from two nodes screening at once", len(alerts), len(all), versions)
}
