package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/sim"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

func simFile(t testing.TB, sc sim.Scenario) string {
	t.Helper()
	var buf bytes.Buffer
	if err := sim.Run(sc, &buf, nil); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "sim.nmea")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func fileInput(t testing.TB, p string) Input {
	in, err := FileInput(p, func(ctx context.Context) (ais.Source, io.Closer, error) {
		return ais.OpenInput(ctx, p, ais.FeedOptions{})
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func options(t testing.TB) Options {
	land, _ := geo.LoadLand()
	ports, _ := geo.LoadPorts()
	zones, _ := geo.BuiltinZones()
	return Options{Detect: detect.DefaultConfig, Land: land, Ports: ports, Zones: zones, BatchFixes: 10000}
}

// failingStore fails its nth CommitBatch, as a process killed in the
// middle of that transaction would leave the store.
type failingStore struct {
	store.Store
	n, calls int
}

var errKilled = errors.New("killed")

func (f *failingStore) CommitBatch(ctx context.Context, b *store.Batch) error {
	f.calls++
	if f.calls == f.n {
		return errKilled
	}
	return f.Store.CommitBatch(ctx, b)
}

func dump(t testing.TB, db *sqlite.DB) string {
	var buf bytes.Buffer
	err := db.Dump(context.Background(), func(table string, row []any) error {
		fmt.Fprintln(&buf, table, row)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func open(t testing.TB) *sqlite.DB {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestResumeGivesCleanRunContents(t *testing.T) {
	sc := sim.DefaultScenario
	sc.Duration, sc.Background = 48*time.Hour, 20
	in := fileInput(t, simFile(t, sc))
	opt := options(t)
	ctx := context.Background()

	clean := open(t)
	res, err := Run(ctx, clean, []Input{in}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Run.Done || res.Run.Batches < 5 || res.Run.Events == 0 || res.Run.Kept == 0 || res.Run.Kept >= res.Run.Fixes {
		t.Fatalf("clean run: %+v", res.Run)
	}
	want := dump(t, clean)
	t.Logf("clean run: %d batches, %d fixes, %d kept, %d events", res.Run.Batches, res.Run.Fixes, res.Run.Kept, res.Run.Events)

	for _, killAt := range []int{1, 3, int(res.Run.Batches)} {
		db := open(t)
		_, err := Run(ctx, &failingStore{Store: db, n: killAt}, []Input{in}, opt)
		if !errors.Is(err, errKilled) {
			t.Fatalf("kill at batch %d: %v", killAt, err)
		}
		res2, err := Run(ctx, db, []Input{in}, opt)
		if err != nil {
			t.Fatal(err)
		}
		if !res2.Run.Done || (killAt > 1 && !res2.Resumed) || res2.ResumedBatches != int64(killAt-1) {
			t.Errorf("kill at batch %d: resumed %v after %d batches", killAt, res2.Resumed, res2.ResumedBatches)
		}
		if got := dump(t, db); got != want {
			t.Errorf("kill at batch %d: store differs from a clean run", killAt)
		}
		// A third run has nothing to do.
		res3, err := Run(ctx, db, []Input{in}, opt)
		if err != nil || !res3.AlreadyDone {
			t.Errorf("rerun of a finished run: %+v %v", res3, err)
		}
		if got := dump(t, db); got != want {
			t.Errorf("kill at batch %d: rerun changed the store", killAt)
		}
	}
}

func TestStoredVesselReads(t *testing.T) {
	sc := sim.DefaultScenario
	sc.Duration, sc.Background = 72*time.Hour, 10
	in := fileInput(t, simFile(t, sc))
	db := open(t)
	ctx := context.Background()
	if _, err := Run(ctx, db, []Input{in}, options(t)); err != nil {
		t.Fatal(err)
	}
	// The STS tanker: Sierra Leone MMSI, then Tuvalu, one IMO.
	var imo uint32
	all, _ := db.IdentityHistory(ctx, store.VesselQuery{MMSI: 667000202})
	for _, id := range all {
		if id.Field == "imo" {
			imo = id.IMO
		}
	}
	if imo == 0 {
		t.Fatalf("no IMO stored for 667000202: %+v", all)
	}
	hist, err := db.IdentityHistory(ctx, store.VesselQuery{IMO: imo})
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]bool{}
	names := map[string]bool{}
	for _, id := range hist {
		switch id.Field {
		case "flag":
			flags[id.Value] = true
		case "name":
			names[id.Value] = true
		}
	}
	if !flags["SL"] || !flags["TV"] || !names["SIM OCEAN STAR"] || !names["SIM OCEAN PEARL"] {
		t.Errorf("identity history by IMO %d: flags %v names %v", imo, flags, names)
	}
	from, to := sc.Start, sc.Start.Add(sc.Duration)
	pts, err := db.Track(ctx, 667000202, from, to)
	if err != nil || len(pts) < 100 {
		t.Fatalf("track: %d points, %v", len(pts), err)
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].Time.Before(pts[i-1].Time) {
			t.Fatal("track out of order")
		}
	}
	evs, err := db.Events(ctx, []uint32{667000202, 572000222}, from, to)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range evs {
		kinds[e.Kind]++
	}
	if kinds["encounter"] != 1 || kinds["gap"] != 1 || kinds["identity_change"] < 1 || kinds["draught_change"] != 1 {
		t.Errorf("events of the STS tanker: %v", kinds)
	}
	cov, err := db.Coverage(ctx, []uint32{667000202}, from, to)
	if err != nil || cov.Points != int64(len(pts)) || cov.Fixes <= cov.Points || cov.Days != 3 {
		t.Errorf("coverage %+v (%d points) %v", cov, len(pts), err)
	}
}

// TestLiveFeedIngest ingests a TCP feed: commits come on the clock while
// it runs, and stopping it (the context) commits the rest.
func TestLiveFeedIngest(t *testing.T) {
	sc := sim.DefaultScenario
	sc.Duration, sc.Background = 6*time.Hour, 10
	var nmea bytes.Buffer
	if err := sim.Run(sc, &nmea, nil); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write(nmea.Bytes())
		time.Sleep(5 * time.Second) // stay connected, as a feed does
	}()
	addr := "tcp://" + ln.Addr().String()
	in := Input{Name: addr, ID: addr, Live: true, Open: func(ctx context.Context) (ais.Source, io.Closer, error) {
		return ais.OpenInput(ctx, addr, ais.FeedOptions{MaxReconnects: 1})
	}}
	db := open(t)
	opt := options(t)
	opt.CommitEvery = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	res, err := Run(ctx, db, []Input{in}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Run.Done || res.Run.Fixes == 0 || res.Run.Kept == 0 {
		t.Fatalf("live run: %+v", res.Run)
	}
	pts, err := db.Track(context.Background(), 667000202, sc.Start, sc.Start.Add(sc.Duration))
	if err != nil || len(pts) == 0 {
		t.Errorf("no track stored from the feed: %d %v", len(pts), err)
	}
	t.Logf("live feed: %d fixes, %d kept, %d events in %d batches", res.Run.Fixes, res.Run.Kept, res.Run.Events, res.Run.Batches)
}

// With more MMSIs in play than detect.Config.MaxVessels, ingest follows
// the engine's evictions: it counts them, seals the evicted vessels'
// chunks, and still stores every position; killed and resumed, it stores
// the same as a clean run (the batches, cut by the flood's chunks too,
// are cut at the same places).
func TestIngestEvictsWithTheEngine(t *testing.T) {
	var buf bytes.Buffer
	if err := sim.Flood(&buf, 3000, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 1, true); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "flood.nmea")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	in := fileInput(t, p)
	opt := options(t)
	opt.Detect.MaxVessels = 500
	opt.BatchFixes = 1000
	ctx := context.Background()
	clean := open(t)
	res, err := Run(ctx, clean, []Input{in}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Evicted < 2500 || res.Run.Fixes != 6000 || !res.Run.Done {
		t.Fatalf("evicted %d, %+v", res.Evicted, res.Run)
	}
	cov, err := clean.Coverage(ctx, []uint32{res0MMSI(t, clean)}, time.Time{}, time.Now())
	if err != nil || cov.Fixes != 2 {
		t.Errorf("an evicted vessel's positions: %+v %v", cov, err)
	}
	want := dump(t, clean)
	db := open(t)
	if _, err := Run(ctx, &failingStore{Store: db, n: 3}, []Input{in}, opt); !errors.Is(err, errKilled) {
		t.Fatal(err)
	}
	if _, err := Run(ctx, db, []Input{in}, opt); err != nil {
		t.Fatal(err)
	}
	if dump(t, db) != want {
		t.Error("resumed run differs from a clean one")
	}
}

// res0MMSI is the first MMSI of the flood (evicted, then heard again).
func res0MMSI(t *testing.T, db *sqlite.DB) uint32 {
	var first uint32
	err := db.Dump(context.Background(), func(table string, row []any) error {
		if table == "chunks" && first == 0 {
			first = uint32(row[0].(int64))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return first
}
