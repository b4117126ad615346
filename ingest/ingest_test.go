package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
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
		kinds[e.Kind+"/"+e.Status]++
	}
	// The Sierra Leone MMSI has been silent since the re-flag: that is no
	// gap (the ship changed MMSI), open or closed, as in detect.
	if kinds["encounter/closed"] != 1 || kinds["gap/closed"] != 1 || kinds["gap/open"] != 0 || kinds["identity_change/closed"] < 1 || kinds["draught_change/closed"] != 1 {
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
	opt.Flush = true // the flood's two hours are one reorder window
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

// cutNMEA splits tag-blocked NMEA at the first single-sentence line
// stamped at or after each time.
func cutNMEA(nmea []byte, at ...time.Time) [][]byte {
	var parts [][]byte
	lines := bytes.SplitAfter(nmea, []byte("\n"))
	start, k := 0, 0
	for i, l := range lines {
		if k == len(at) {
			break
		}
		c := bytes.Index(l, []byte("c:"))
		if c < 0 || !bytes.Contains(l, []byte("!AIVDM,1,1,")) {
			continue
		}
		end := c + 2
		for end < len(l) && l[end] >= '0' && l[end] <= '9' {
			end++
		}
		sec, _ := strconv.ParseInt(string(l[c+2:end]), 10, 64)
		if sec >= at[k].Unix() {
			parts = append(parts, bytes.Join(lines[start:i], nil))
			start, k = i, k+1
		}
	}
	return append(parts, bytes.Join(lines[start:], nil))
}

// storedEvents is every event a store holds, the latest version of each
// occurrence, as sorted JSON.
func storedEvents(t *testing.T, db *sqlite.DB) []string {
	ctx := context.Background()
	mmsis := map[uint32]bool{}
	db.Dump(ctx, func(table string, row []any) error {
		if table == "event_vessels" {
			mmsis[uint32(row[0].(int64))] = true
		}
		return nil
	})
	var list []uint32
	for m := range mmsis {
		list = append(list, m)
	}
	evs, err := db.Events(ctx, list, time.Time{}, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		b, _ := json.Marshal(e)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

// TestIngestInParts (issue 14's continuity): a 72-hour simulated set
// ingested at once, or cut at four points (inside the STS encounter,
// inside both planted dark periods, and at an arbitrary second) and
// ingested part by part into one store, closing and reopening the store
// between parts (a restart) and killing one part in the middle of a
// batch and resuming it, stores the same events, each occurrence in its
// latest version: identical sorted JSON. Without continuity (each part
// starting afresh and flushing) the same cuts lose and split
// occurrences.
func TestIngestInParts(t *testing.T) {
	sc := sim.DefaultScenario
	sc.Duration, sc.Background = 72*time.Hour, 20
	var nmea bytes.Buffer
	if err := sim.Run(sc, &nmea, nil); err != nil {
		t.Fatal(err)
	}
	h := func(x float64) time.Time { return sc.Start.Add(time.Duration(x * float64(time.Hour))) }
	parts := cutNMEA(nmea.Bytes(), h(9), h(14), h(36.5), h(50.25))
	dir := t.TempDir()
	write := func(name string, b []byte) Input {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return fileInput(t, p)
	}
	whole := write("whole.nmea", nmea.Bytes())
	var inputs []Input
	for i, p := range parts {
		inputs = append(inputs, write(fmt.Sprintf("part%d.nmea", i), p))
	}
	opt := options(t)
	ctx := context.Background()

	atOnce := open(t)
	if _, err := Run(ctx, atOnce, []Input{whole}, opt); err != nil {
		t.Fatal(err)
	}
	want := storedEvents(t, atOnce)

	path := filepath.Join(dir, "parts.db")
	for i, in := range inputs {
		db, err := sqlite.Open(path) // a restart before every part
		if err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			// Killed in its second batch, then resumed.
			if _, err := Run(ctx, &failingStore{Store: db, n: 2}, []Input{in}, opt); !errors.Is(err, errKilled) {
				t.Fatalf("part %d: %v", i, err)
			}
		}
		res, err := Run(ctx, db, []Input{in}, opt)
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if i > 0 && !res.Continued || res.Detached {
			t.Errorf("part %d: continued %v, detached %v", i, res.Continued, res.Detached)
		}
		if i == 2 && !res.Resumed {
			t.Errorf("part %d was not resumed", i)
		}
		db.Close()
	}
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := storedEvents(t, db)
	if len(got) != len(want) {
		t.Fatalf("%d events at once, %d in parts", len(want), len(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("event %d differs:\n at once  %s\n in parts %s", i, want[i], got[i])
		}
	}
	// Re-ingesting an earlier part changes nothing (already done), and a
	// file reaching back before the state is read on its own.
	if res, err := Run(ctx, db, []Input{inputs[1]}, opt); err != nil || !res.AlreadyDone {
		t.Errorf("re-ingest: %+v %v", res, err)
	}
	old := write("old.nmea", parts[0][:len(parts[0])/2])
	res, err := Run(ctx, db, []Input{old}, opt)
	if err != nil || !res.Detached {
		t.Errorf("an older file: %+v %v", res, err)
	}
	// The flush closes the stream: the open occurrences close, and the
	// state is gone.
	if _, err := Flush(ctx, db, opt); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DetectorState(ctx, StateKey); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("state after a flush: %v", err)
	}
	for _, e := range storedEvents(t, db) {
		if strings.Contains(e, `"status":"open"`) {
			t.Errorf("open after the flush: %s", e)
		}
	}

	// Without continuity the cuts show.
	fresh := open(t)
	noState := opt
	noState.Flush = true
	for _, in := range inputs {
		if _, err := Run(ctx, fresh, []Input{in}, noState); err != nil {
			t.Fatal(err)
		}
		fresh.PutDetectorState(ctx, StateKey, nil)
	}
	if f := storedEvents(t, fresh); fmt.Sprint(f) == fmt.Sprint(want) {
		t.Error("parts without continuity gave the same events: the test cuts nothing")
	}
}

// liveSource plays a part of a feed, then waits as a quiet connection
// does until its session is stopped.
type liveSource struct {
	ais.Source
	ctx  context.Context
	done chan struct{} // closed when the part has been read
	once sync.Once
}

func (s *liveSource) Next(m *ais.Message) error {
	err := s.Source.Next(m)
	if err == io.EOF {
		s.once.Do(func() { close(s.done) })
		<-s.ctx.Done()
		return s.ctx.Err()
	}
	return err
}

// TestLiveSessionsContinue: a live feed stopped (a server restart) and
// started again continues the detectors' state: the sessions, then a
// flush, store the same events as the stream ingested at once, even when
// the stop falls inside an encounter and a dark period.
func TestLiveSessionsContinue(t *testing.T) {
	sc := sim.DefaultScenario
	sc.Duration, sc.Background = 72*time.Hour, 20
	var nmea bytes.Buffer
	if err := sim.Run(sc, &nmea, nil); err != nil {
		t.Fatal(err)
	}
	h := func(x float64) time.Time { return sc.Start.Add(time.Duration(x * float64(time.Hour))) }
	parts := cutNMEA(nmea.Bytes(), h(9), h(36.5))
	opt := options(t)
	opt.CommitEvery = time.Millisecond
	whole := opt
	whole.Flush = true
	atOnce := open(t)
	if _, err := Run(context.Background(), atOnce, []Input{{Name: "feed", ID: "feed", Open: func(context.Context) (ais.Source, io.Closer, error) {
		r, err := ais.NewReader(bytes.NewReader(nmea.Bytes()))
		return r, io.NopCloser(nil), err
	}}}, whole); err != nil {
		t.Fatal(err)
	}
	want := storedEvents(t, atOnce)

	path := filepath.Join(t.TempDir(), "live.db")
	for i, part := range parts {
		db, err := sqlite.Open(path) // the server restarts between sessions
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		src := &liveSource{ctx: ctx, done: make(chan struct{})}
		in := Input{Name: "tcp://feed:1", ID: "tcp://feed:1", Live: true, Open: func(context.Context) (ais.Source, io.Closer, error) {
			r, err := ais.NewReader(bytes.NewReader(part))
			src.Source = r
			return src, io.NopCloser(nil), err
		}}
		o := opt
		o.Flush = i == len(parts)-1 // the stream ends after the last session
		go func() { <-src.done; cancel() }()
		res, err := Run(ctx, db, []Input{in}, o)
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		if i > 0 && !res.Continued {
			t.Errorf("session %d did not continue the state", i)
		}
		db.Close()
		cancel()
	}
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := storedEvents(t, db)
	if len(got) != len(want) {
		t.Fatalf("%d events at once, %d in live sessions", len(want), len(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("event %d differs:\n at once  %s\n sessions %s", i, want[i], got[i])
		}
	}
	if len(want) < 20 {
		t.Fatalf("only %d events: the scenario plants more", len(want))
	}
	t.Logf("%d events, the same at once and in %d live sessions", len(want), len(parts))
}

// TestIngestThenFlushIsDetect: a slice of a MarineCadastre day
// (testdata/README.md) ingested, then flushed by a run of its own (how
// the flush is used after runs that continue each other), stores the
// same events as one ingest --flush and as the detectors fed it at once:
// identical sorted JSON. Ships silent at the checkpoint and never heard
// again are no gap (before the fix: 31 gaps instead of 15, the others
// "open" at the checkpoint and closed by the flush as "the data ended").
func TestIngestThenFlushIsDetect(t *testing.T) {
	in := fileInput(t, filepath.Join("testdata", "marinecadastre_2022-01-03_cut.csv"))
	opt := options(t)
	ctx := context.Background()

	// detect: the file is not in time order, so it is read sorted whole
	// (an unbounded window), and flushed at the end.
	whole := opt.Detect
	whole.ReorderLatenessMinutes = math.MaxInt32
	var detected []string
	eng := detect.NewEngine(whole, opt.Land, opt.Ports, opt.Zones, func(ev detect.Event) {
		b, _ := json.Marshal(ev)
		detected = append(detected, string(b))
	})
	src, closer, err := in.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := detect.FeedAIS(eng, src); err != io.EOF {
		t.Fatal(err)
	}
	closer.Close()
	eng.Flush()
	sort.Strings(detected)
	gaps := 0
	for _, e := range detected {
		if strings.Contains(e, `"kind":"gap"`) {
			gaps++
		}
	}
	if gaps == 0 {
		t.Fatal("no gap in the slice: the test checks nothing")
	}

	same := func(label string, got []string) {
		t.Helper()
		if len(got) != len(detected) {
			t.Fatalf("%s: %d events, detect %d", label, len(got), len(detected))
		}
		for i := range got {
			if got[i] != detected[i] {
				t.Fatalf("%s: event %d differs:\n detect %s\n stored %s", label, i, detected[i], got[i])
			}
		}
	}
	once := open(t)
	flush := opt
	flush.Flush = true
	if _, err := Run(ctx, once, []Input{in}, flush); err != nil {
		t.Fatal(err)
	}
	same("ingest --flush", storedEvents(t, once))

	twice := open(t)
	res, err := Run(ctx, twice, []Input{in}, opt)
	if err != nil || !res.Resorted {
		t.Fatalf("ingest: %+v %v", res, err)
	}
	for _, e := range storedEvents(t, twice) {
		if strings.Contains(e, `"kind":"gap"`) && strings.Contains(e, `"status":"open"`) {
			t.Errorf("an open gap at the checkpoint: %s", e)
			break
		}
	}
	if _, err := Flush(ctx, twice, opt); err != nil {
		t.Fatal(err)
	}
	same("ingest, then ingest --flush", storedEvents(t, twice))
	t.Logf("%d events, %d gaps", len(detected), gaps)
}
