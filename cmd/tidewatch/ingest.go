package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// defaultStore is the embedded store's file.
func defaultStore() string { return filepath.Join(defaultDataDir(), "tidewatch.db") }

func openStore(path string) (*sqlite.DB, error) {
	return sqlite.Open(path)
}

func runIngest(e *env, args []string) error {
	var storePath, config, zonesFile, lists string
	var embeddedLists bool
	fs := newFlagSet(e, "ingest", "tidewatch ingest [--store FILE] [--config FILE] [--zones FILE.geojson] [--lists DIR] INPUT...", `
Loads AIS into the store through the detectors (see 'tidewatch detect -h'
for the inputs and the detectors): events, each vessel's identity history
(every name, IMO, call sign, type, destination, length, draught and the
flag its MMSI implies, with first/last seen and counts) and its track, kept
as compressed per-vessel chunks: every point where behaviour happens (slow
movement, both ends of every silence and jump, turns) and one point per
10 minutes elsewhere (docs/store.md).

Ingest is resumable: stop it at any moment (Ctrl-C, kill -9, a crash) and
run the same command again; it reads the inputs again to rebuild the
detectors' state, does not write again what was committed, and ends with
the store a single clean run would have written. A run already complete
is not repeated. A run is named by its inputs' contents and the settings,
so the same files under other names are the same run.

Runs continue each other: the detectors' state is kept in the store, so
data ingested later continues what came before (a gap or an encounter
across two files is one event). A run ends at a checkpoint: occurrences
still going on are stored with status "open" and replaced by their later
versions, and the last positions (the reorder window) are stored by the
next run. --flush ends the stream instead: everything still open is
closed and the state cleared; with no input, it flushes what earlier runs
left. Files reaching back before the stored state are read on their own.

Lists: --lists DIR stores the list versions found in DIR; --embedded-lists
stores the snapshot built into the binary. A store that holds no list
version gets the snapshot, with a note. Versions already held are kept.`)
	fs.StringVar(&storePath, "store", defaultStore(), "the store file (created if missing)")
	fs.StringVar(&config, "config", "", "JSON file of detector thresholds (see 'tidewatch detect -h')")
	fs.StringVar(&zonesFile, "zones", "", "GeoJSON file of extra zones")
	fs.StringVar(&lists, "lists", "", "store the list versions in this directory too")
	fs.BoolVar(&embeddedLists, "embedded-lists", false, "store the embedded list snapshot too")
	batch := fs.Int64("batch", 1<<20, "positions per committed batch (part of the run's identity: resume with the same value)")
	lateness := fs.Duration("lateness", 0, "reorder window (default 2h; files found out of time order are read again, sorted whole)")
	flush := fs.Bool("flush", false, "close everything still open at the end and clear the detectors' state (alone: flush the stored state)")
	inputs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(inputs) == 0 && lists == "" && !embeddedLists && !*flush {
		return usagef("give one or more AIS inputs (or --lists / --embedded-lists / --flush)")
	}
	cfg := detect.DefaultConfig
	if config != "" {
		if cfg, err = detect.LoadConfig(config); err != nil {
			return usagef("%v", err)
		}
	}
	if *lateness > 0 {
		cfg.ReorderLatenessMinutes = lateness.Minutes()
	}
	land, ports, zones, err := loadGeo(true)
	if err != nil {
		return err
	}
	if zones, err = userZones(zones, zonesFile); err != nil {
		return err
	}
	st, err := openStore(storePath)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := signalContext()
	defer cancel()
	if err := storeLists(ctx, e, st, lists, embeddedLists); err != nil {
		return err
	}
	if len(inputs) == 0 && !*flush {
		return nil
	}
	var ins []ingest.Input
	for _, name := range inputs {
		name := name
		open := func(ctx context.Context) (ais.Source, io.Closer, error) {
			return ais.OpenInput(ctx, name, ais.FeedOptions{Log: e.stderr})
		}
		switch {
		case isLive(name):
			ins = append(ins, ingest.Input{Name: name, ID: name, Open: open, Live: true})
		case name == "-":
			return usagef("ingest reads its inputs twice when it resumes: give a file, not standard input")
		default:
			in, err := ingest.FileInput(name, open)
			if err != nil {
				return err
			}
			ins = append(ins, in)
		}
	}
	start := time.Now()
	lastPrint := start
	if *batch < 1000 {
		return usagef("--batch must be at least 1000")
	}
	opt := ingest.Options{Detect: cfg, BatchFixes: *batch, Land: land, Ports: ports, Zones: zones, Log: e.stderr,
		Summary: func(name string, s *ais.Stats) { summary(e.stderr, name, s) },
		Progress: func(p ingest.Progress) {
			if time.Since(lastPrint) < 2*time.Second {
				return
			}
			lastPrint = time.Now()
			state := "stored"
			if p.Skipped {
				state = "already stored, skipped"
			}
			fmt.Fprintf(e.stderr, "batch %d %s: %d fixes, %d points kept, %d events (%.0f fixes/s)\n", p.Batch+1, state, p.Fixes, p.Kept, p.Events,
				float64(p.Fixes)/time.Since(start).Seconds())
		}}
	opt.Flush = *flush
	var res ingest.Result
	if len(ins) == 0 {
		res, err = ingest.Flush(ctx, st, opt)
	} else {
		res, err = ingest.Run(ctx, st, ins, opt)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("%w\n(rerun the same command to resume)", err)
		}
		return err
	}
	r := res.Run
	switch {
	case res.AlreadyDone && len(ins) == 0:
		fmt.Fprintln(e.stderr, "no detector state to flush")
		return nil
	case res.AlreadyDone:
		fmt.Fprintf(e.stderr, "already ingested (run %s: %d fixes, %d points kept, %d events); nothing to do\n", r.ID, r.Fixes, r.Kept, r.Events)
		return nil
	case res.Resumed:
		fmt.Fprintf(e.stderr, "resumed run %s: %d batches were already stored and were not written again\n", r.ID, res.ResumedBatches)
	}
	el := time.Since(start)
	fmt.Fprintf(e.stderr, "ingested into %s (run %s): %d position fixes in %s (%.0f fixes/s); %d points kept (%.1f%%), %d events",
		storePath, r.ID, r.Fixes, el.Round(time.Millisecond), float64(r.Fixes)/el.Seconds(), r.Kept, 100*float64(r.Kept)/float64(max(r.Fixes, 1)), r.Events)
	if res.Untimed > 0 {
		fmt.Fprintf(e.stderr, "; %d positions without a time skipped", res.Untimed)
	}
	if res.Evicted > 0 {
		fmt.Fprintf(e.stderr, "; %d idle vessels evicted to stay under max_vessels (%d)", res.Evicted, cfg.MaxVessels)
	}
	fmt.Fprintln(e.stderr)
	if len(res.Failed) > 0 {
		for _, f := range res.Failed {
			fmt.Fprintln(e.stderr, f)
		}
		return fmt.Errorf("%d of %d inputs could not be read to the end", len(res.Failed), len(ins))
	}
	return nil
}

// storeLists puts list versions into the store: from dir, from the
// embedded snapshot, or the snapshot when the store holds none.
func storeLists(ctx context.Context, e *env, st *sqlite.DB, dir string, embedded bool) error {
	have, err := st.ListVersions(ctx)
	if err != nil {
		return err
	}
	var sets []*sanctions.Dataset
	if dir != "" {
		var src listSource
		l, err := src.load(e, []string{dir})
		if err != nil {
			return err
		}
		for _, f := range l.failed {
			fmt.Fprintf(e.stderr, "lists: %v\n", f)
		}
		sets = append(sets, l.datasets...)
	}
	if embedded || (len(have) == 0 && dir == "") {
		if !embedded {
			fmt.Fprintln(e.stderr, "note: the store holds no list version; storing the embedded snapshot (--lists DIR for others)")
		}
		sets = append(sets, loadEmbedded().datasets...)
	}
	added := 0
	for _, ds := range sets {
		ok, err := st.PutListVersion(ctx, ds)
		if err != nil {
			return err
		}
		if ok {
			added++
		}
	}
	if len(sets) > 0 {
		fmt.Fprintf(e.stderr, "lists: %d versions stored, %d already held\n", added, len(sets)-added)
	}
	return nil
}
