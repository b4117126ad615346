package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/sanctions/snapshot"
	"github.com/tidewatch/tidewatch/store"
)

func runIngest(e *env, args []string) error {
	var sf storeFlags
	var config, zonesFile, lists, by string
	var embeddedLists bool
	fs := newFlagSet(e, "ingest", "tidewatch ingest [--store FILE] [--thresholds FILE] [--zones FILE.geojson] [--lists DIR] INPUT...", `
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
versions, and the last positions (the reorder window, 2 h: all of a
shorter file) are held and stored by the next run; ingest says how many
it read, stored and holds. --flush ends the stream instead: everything
still open is closed and the state cleared; with no input, it flushes
what earlier runs left. A silence is a gap only once the vessel is heard
again, so ingest then ingest --flush stores what 'tidewatch detect'
finds. Files reaching back before the stored state are read on their own.

Lists: --lists DIR stores the list versions found in DIR (as 'tidewatch
lists import' does, with its guards); --embedded-lists stores the snapshot
built into the binary. A store that lacks any of the snapshot's lists gets
them, all in one transaction. Versions already held are kept. Ships that
broadcast the IMO or MMSI of a vessel designated on a list in force are
flagged in the events.`)
	sf.register(fs, true)
	fs.StringVar(&config, "thresholds", "", "JSON file of detector thresholds (see 'tidewatch detect --help')")
	fs.StringVar(&zonesFile, "zones", "", "GeoJSON file of extra zones")
	fs.StringVar(&lists, "lists", "", "store the list versions in this directory too")
	fs.BoolVar(&embeddedLists, "embedded-lists", false, "store the embedded list snapshot too")
	batch := fs.Int64("batch", 1<<20, "positions per committed batch (part of the run's identity: resume with the same value)")
	fs.StringVar(&by, "by", currentUser(), "who ingests (audit log)")
	feedOpt := feedFlags(fs, e.stderr)
	lateness := fs.Duration("lateness", 0, "reorder window (default 2h; files found out of time order are read again, sorted whole)")
	flush := fs.Bool("flush", false, "close everything still open at the end and clear the detectors' state (alone: flush the stored state)")
	inputs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(inputs) == 0 && lists == "" && !embeddedLists && !*flush {
		return usagef("give one or more AIS inputs (or --lists / --embedded-lists / --flush)")
	}
	if err := noDirectories(inputs); err != nil {
		return err
	}
	cfg, err := detectorConfig(config, *lateness)
	if err != nil {
		return err
	}
	zones, err := userZones(nil, zonesFile)
	if err != nil {
		return err
	}
	if *batch < 1000 {
		return usagef("--batch must be at least 1000")
	}
	s, st, err := sf.service(app.Config{Detect: &cfg})
	if err != nil {
		return err
	}
	defer closeService(s, st)
	ctx, cancel := signalContext()
	defer cancel()
	p := localPrincipal(by)
	if err := storeLists(ctx, e, s, p, lists, embeddedLists); err != nil {
		return err
	}
	if len(inputs) == 0 && !*flush {
		return nil
	}
	var ins []ingest.Input
	for _, name := range inputs {
		name := name
		open := func(ctx context.Context) (ais.Source, io.Closer, error) {
			return ais.OpenInput(ctx, name, *feedOpt)
		}
		switch {
		case isLive(name):
			ins = append(ins, ingest.Input{Name: name, ID: name, Open: open, Live: true})
		case name == "-":
			return usagef("ingest reads its inputs twice when it resumes: give a file, not standard input")
		default:
			// The store records the input by its absolute path: a case
			// export (or a resumed run) made later from another directory
			// finds it again.
			abs, err := filepath.Abs(name)
			if err != nil {
				return err
			}
			name = abs
			in, err := ingest.FileInput(name, open)
			if err != nil {
				return err
			}
			ins = append(ins, in)
		}
	}
	start := time.Now()
	lastPrint := start
	stats := map[string]ais.Stats{} // each input's last reading, for what ingest says of inputs that are not AIS
	req := app.IngestRequest{Inputs: ins, Zones: zones, BatchFixes: *batch, Log: e.stderr, Flush: *flush,
		Summary: func(name string, s *ais.Stats) {
			summary(e.stderr, name, s)
			stats[name] = *s
		},
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
	// What the ingest waits for, and a read on its own because another
	// process (a server's live feed) holds the detectors' state.
	req.Status = func(note string) { fmt.Fprintf(e.stderr, "note: %s\n", note) }
	res, err := s.Ingest(ctx, p, req)
	if res.ListsAdded > 0 {
		fmt.Fprintf(e.stderr, "note: the store lacked list versions; stored %d from the embedded snapshot (--lists DIR for others)\n", res.ListsAdded)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("%w\n(rerun the same command to resume)", err)
		}
		return err
	}
	r := res.Run
	flushCmd := "tidewatch ingest --flush --store " + sf.shown()
	switch {
	case res.AlreadyDone && len(ins) == 0:
		fmt.Fprintln(e.stderr, "no detector state to flush")
		return nil
	case res.AlreadyDone:
		fmt.Fprintf(e.stderr, "already ingested (run %s: %s); nothing to do\n", r.ID, runCounts(r))
		if r.Held > 0 {
			fmt.Fprintf(e.stderr, "when it ended, %d position fixes were held in the detectors' reorder window waiting for later data: a later ingest stores them, or '%s' closes the stream\n",
				r.Held, flushCmd)
		}
		// The same inputs fail again as they failed the first time.
		return nothingUsable(e, res.Result, stats, len(ins))
	case res.Resumed:
		fmt.Fprintf(e.stderr, "resumed run %s: %d batches were already stored and were not written again\n", r.ID, res.ResumedBatches)
	}
	el := time.Since(start)
	if len(ins) == 0 {
		fmt.Fprintf(e.stderr, "flushed the detectors' state in %s (run %s): %d position fixes stored from the reorder window in %s; %d points kept, %d events (every occurrence still open closed)",
			sf.shown(), r.ID, r.Fixes, el.Round(time.Millisecond), r.Kept, r.Events)
	} else {
		fmt.Fprintf(e.stderr, "ingested into %s (run %s): %d position fixes read in %s (%.0f fixes/s); %d stored, %d points kept (%.1f%%), %d events",
			sf.shown(), r.ID, r.Read, el.Round(time.Millisecond), float64(r.Read)/el.Seconds(), r.Fixes, r.Kept, 100*float64(r.Kept)/float64(max(r.Fixes, 1)), r.Events)
	}
	if res.Untimed > 0 {
		fmt.Fprintf(e.stderr, "; %d positions without a time skipped", res.Untimed)
	}
	if res.Evicted > 0 {
		fmt.Fprintf(e.stderr, "; %d idle vessels evicted to stay under max_vessels (%d)", res.Evicted, cfg.MaxVessels)
	}
	fmt.Fprintln(e.stderr)
	switch {
	case r.Held > 0:
		fmt.Fprintf(e.stderr, "%d position fixes are held in the detectors' reorder window (the last %s of the data) waiting for later data: the next ingest stores them with their events, or '%s' stores them now and closes what is still open\n",
			r.Held, windowText(cfg.ReorderLatenessMinutes), flushCmd)
	case len(ins) > 0 && r.Read == 0 && len(res.Failed) == 0 && res.Untimed == 0 && len(res.NoAIS) == 0:
		fmt.Fprintf(e.stderr, "note: no AIS position was read from the inputs, only other messages (static and voyage data: the vessels' identities, held in the detectors' reorder window like positions until a later ingest, or '%s', stores them)\n", flushCmd)
	}
	if len(res.Failed) > 0 {
		for _, f := range res.Failed {
			fmt.Fprintln(e.stderr, f)
		}
		if len(res.NoAIS) > 0 {
			nothingUsable(e, res.Result, stats, len(ins))
		}
		return fmt.Errorf("%d of %d inputs could not be read to the end", len(res.Failed), len(ins))
	}
	return nothingUsable(e, res.Result, stats, len(ins))
}

// nothingUsable fails an ingest whose inputs, or some of them, held no
// AIS message at all (an empty file, a CSV of other columns, text that
// is not NMEA: what 'tidewatch ais stats' calls NOT AIS), or whose
// positions all lacked a time, as the API fails such an upload. Inputs
// that hold AIS messages but no position (static and voyage data only)
// are no failure: their identities are stored.
func nothingUsable(e *env, res ingest.Result, stats map[string]ais.Stats, inputs int) error {
	for _, name := range res.NoAIS {
		if s, ok := stats[name]; ok {
			fmt.Fprintln(e.stderr, noAIS(name, &s))
		} else {
			fmt.Fprintf(e.stderr, "%s: no AIS message found\n", name)
		}
	}
	switch {
	case len(res.NoAIS) > 0:
		return fmt.Errorf("%d of %d inputs held no AIS message: expected NMEA sentences (!AIVDM/!AIVDO, optionally gzipped) or a MarineCadastre or DMA CSV export", len(res.NoAIS), inputs)
	case res.Run.Read == 0 && res.Untimed > 0:
		return fmt.Errorf("no AIS position with a time was read: %d positions without a time skipped (NMEA needs a time per sentence: tag blocks \\c:, $PGHP lines or an epoch field)", res.Untimed)
	}
	return nil
}

// runCounts describes what a run read and stored.
func runCounts(r store.Run) string {
	read := ""
	if r.Read > 0 {
		read = fmt.Sprintf("%d fixes read, ", r.Read)
	}
	return fmt.Sprintf("%s%d stored, %d points kept, %d events", read, r.Fixes, r.Kept, r.Events)
}

// windowText is a reorder window in minutes as "2h" or "10m".
func windowText(minutes float64) string {
	d := time.Duration(minutes * float64(time.Minute))
	t := d.String()
	t = strings.TrimSuffix(t, "0s")
	if strings.HasSuffix(t, "h0m") {
		t = strings.TrimSuffix(t, "0m")
	}
	return t
}

// storeLists imports list versions from dir and/or the embedded snapshot
// (with the same guards as 'tidewatch lists import').
func storeLists(ctx context.Context, e *env, s *app.Service, p app.Principal, dir string, embedded bool) error {
	var reqs []app.ImportRequest
	if dir != "" {
		files, err := listFiles(e, []string{dir})
		if err != nil {
			return err
		}
		reqs = append(reqs, app.ImportRequest{Files: files, Source: dir, KeepFiles: true})
	}
	if embedded {
		reqs = append(reqs, app.ImportRequest{Files: snapshot.Files(), Source: "embedded snapshot " + snapshot.Taken.Format("2006-01-02"), MinRatio: -1})
	}
	for _, req := range reqs {
		res, err := s.ImportLists(ctx, p, req)
		if err != nil {
			return fmt.Errorf("lists: %w", err)
		}
		stored, failed := 0, 0
		for _, v := range res.Versions {
			switch v.Outcome {
			case app.OutcomeStored, app.OutcomeHistory:
				stored++
			case app.OutcomeFailed:
				failed++
				fmt.Fprintf(e.stderr, "lists: %s refused: %s\n", v.List, v.Reason)
			}
		}
		fmt.Fprintf(e.stderr, "lists from %s: %d versions stored, %d already held, %d refused\n", req.Source, stored, len(res.Versions)-stored-failed, failed)
	}
	return nil
}
