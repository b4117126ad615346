package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/screen"
)

func runDetect(e *env, args []string) error {
	var config, zonesFile, out string
	var noBuiltinZones bool
	fs := newFlagSet(e, "detect", "tidewatch detect [--config FILE] [--zones FILE.geojson] [--out events.jsonl] INPUT...", `
Reads AIS (the inputs of 'tidewatch ais', see 'tidewatch ais -h') and
reports behaviour as one JSON object per event, one event per occurrence:
  {"id":"...","kind":"encounter","severity":"high","status":"closed",
   "vessels":[{"mmsi":445123000,"imo":8660313,"name":"..."},...],
   "start":"RFC3339","end":"RFC3339","lat":..,"lon":..,"details":{...}}

Kinds: gap (no position for 6 h or more; shore distance, whether other
ships were heard nearby meanwhile, "likely deliberate" for 12 h starting
over 50 nm offshore), encounter (two ships within 500 m for 2 h or more at a
median speed under 2 kn, 10 km or more from any port or anchorage - close
fixes nearer one do not count -, every ship type, windows under 4 h apart
merged), loitering (under 2 kn for 4 h or more, 20 nm or more from shore,
not at an anchorage), port_call (under 0.5 kn within 3 km of a port or
anchorage for 2 h or more; DPRK ports flagged), zone_entry and zone_exit (DPRK waters, the six STS areas of the
UN Panel's reports, and --zones), identity_change (name, IMO, call sign,
type - "to fishing" flagged -, destination, MMSI), identity_conflict (two
ships on one MMSI, one IMO on two MMSIs at once, with --sanctions a
designated vessel's IMO or MMSI), draught_change (1 m or more with no port
call between), position_spoofing (a far jump that stays, a track going far
inland, a frozen position while reporting speed) and inconsistency
(data quality: a bad IMO check digit, a DPRK call sign on a foreign MMSI,
call sign vs MID country, an unallocated MID, class B on a large ship, a
placeholder MMSI, a one-off far position). Severities, occurrences and
thresholds: docs/detection.md.

Detectors work in event time. Fixes are put in time order within a window
(default 2 h: reorder_lateness_minutes, or --lateness), so memory follows
the ships active in the window, not the input. Files that are not in time
order at all (a MarineCadastre day is sorted by MMSI) are detected as such
and read a second time, sorted whole, so the same files give the same
events whatever their order on the command line. With a live feed, fixes
later than the window are counted and dropped.
Positions without a time (a log with no tag blocks, $PGHP lines or epoch
fields) cannot be placed in event time and are counted and skipped.
On a terminal, a line on standard error shows how much of the input files
has been read.

--config is a JSON file overriding any threshold, e.g.
  {"gap_min_hours": 8, "encounter_max_metres": 300}
(every key: see docs/detection.md; unknown keys are refused).`)
	fs.StringVar(&config, "config", "", "JSON file of detector thresholds")
	fs.StringVar(&zonesFile, "zones", "", "GeoJSON file of extra zones (Polygon/MultiPolygon features)")
	fs.BoolVar(&noBuiltinZones, "no-builtin-zones", false, "only the --zones zones")
	fs.StringVar(&out, "out", "", "write events here (default stdout)")
	var src listSource
	src.register(fs)
	withLists := fs.Bool("sanctions", false, "flag ships broadcasting the IMO or MMSI of a designated vessel (lists from --data, else the embedded snapshot; or --lists)")
	lists := fs.String("lists", "", "with --sanctions: read list files from this directory")
	lateness := fs.Duration("lateness", 0, "reorder window for out-of-order fixes (default: whole input for files, 2h with live feeds)")
	inputs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(inputs) == 0 {
		return usagef("give one or more AIS inputs")
	}
	cfg := detect.DefaultConfig
	if config != "" {
		if cfg, err = detect.LoadConfig(config); err != nil {
			return usagef("%v", err)
		}
	}
	land, ports, zones, err := loadGeo(!noBuiltinZones)
	if err != nil {
		return err
	}
	if zones, err = userZones(zones, zonesFile); err != nil {
		return err
	}
	live, stdin := false, false
	for _, in := range inputs {
		live = live || isLive(in)
		stdin = stdin || in == "-"
	}
	// Files are read with a bounded reorder window first (memory follows
	// the active ships). If any fix came later than the window, the files
	// are not in time order (a MarineCadastre day is sorted by MMSI) and
	// are read again, sorted whole. A first pass with no late fix emits
	// exactly the sorted order, so both paths give the same events.
	twoPass := false
	switch {
	case *lateness > 0:
		cfg.ReorderLatenessMinutes = lateness.Minutes()
	case stdin:
		cfg.ReorderLatenessMinutes = math.MaxInt32 // standard input cannot be read twice
	case !live:
		twoPass = true
	}
	var designated func(imo, mmsi uint32) (string, string, bool)
	if *withLists || *lists != "" {
		var paths []string
		if *lists != "" {
			paths = []string{*lists}
		}
		l, err := src.load(e, paths)
		if err != nil {
			return err
		}
		ix := screen.NewIndex(sanctions.Merge(sanctions.Latest(l.datasets)...))
		designated = func(imo, mmsi uint32) (string, string, bool) {
			q := screen.Query{Type: "vessel"}
			if imo != 0 {
				q.IMO = strconv.Itoa(int(imo))
			}
			if mmsi != 0 {
				q.MMSI = fmt.Sprintf("%09d", mmsi)
			}
			if q.IMO == "" && q.MMSI == "" {
				return "", "", false
			}
			q, _ = q.Sanitised()
			res, err := ix.Search(q, screen.Options{Limit: 1})
			if err != nil || len(res) == 0 || res[0].MatchedName != "" {
				return "", "", false // identifiers only: a name alone does not make an identity
			}
			var refs []string
			for _, li := range res[0].Entity.Listings {
				refs = append(refs, li.Ref())
			}
			flag := res[0].Entity.Flag
			if len(flag) != 2 {
				flag = "" // a flag the lists spell but no country code
			}
			return fmt.Sprintf("%s [%s]", res[0].Entity.Name, strings.Join(refs, " ")), flag, true
		}
	}
	ctx, cancel := signalContext()
	defer cancel()
	start := time.Now()
	var events []detect.Event
	var fixes, untimed int64
	var eng *detect.Engine
	failed := 0
	// Summaries are printed once, for the pass that read the inputs in
	// full: a first pass stops at the first sign of an unordered input.
	var summaries []func()
	pass := func(c detect.Config, stopWhenLate bool, label string) (outOfOrder bool) {
		events, fixes, untimed, failed, summaries = nil, 0, 0, 0, nil
		eng = detect.NewEngine(c, land, ports, zones, func(ev detect.Event) { events = append(events, ev) })
		eng.Designated = designated
		eng.StopWhenLate = stopWhenLate
		prog := startReadProgress(e.stderr, inputs, label)
		defer prog.finish()
		for _, in := range inputs {
			src, closer, err := ais.OpenInput(ctx, in, ais.FeedOptions{Log: e.stderr, Read: prog.counter()})
			if err != nil {
				fmt.Fprintf(e.stderr, "%s: %v\n", in, err)
				failed++
				continue
			}
			n, u, err := detect.FeedAISConcurrent(eng, src)
			closer.Close()
			if err == detect.ErrOutOfOrder {
				return true
			}
			fixes += n
			untimed += u
			if err != io.EOF {
				fmt.Fprintf(e.stderr, "%s: %v\n", in, err)
				failed++
			}
			stats := src.Stats()
			summaries = append(summaries, func() { summary(e.stderr, in, stats) })
		}
		eng.Flush()
		return false
	}
	if pass(cfg, twoPass, "detecting") {
		fmt.Fprintf(e.stderr, "note: the input is not in time order (a fix came more than %s late); reading it again, sorted whole\n",
			time.Duration(cfg.ReorderLatenessMinutes*float64(time.Minute)))
		c := cfg
		c.ReorderLatenessMinutes = math.MaxInt32
		pass(c, false, "detecting, sorted")
	}
	for _, s := range summaries {
		s()
	}
	detect.SortEvents(events)
	bw, done, err := createOutput(e, out)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(bw)
	counts := map[string]int{}
	for _, ev := range events {
		if err := enc.Encode(ev); err != nil {
			return err
		}
		counts[ev.Kind]++
	}
	if err := done(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "%d position fixes in %s; %d events: %s", fixes, time.Since(start).Round(time.Millisecond), len(events), joinCounts(counts, " "))
	if untimed > 0 {
		fmt.Fprintf(e.stderr, "; %d positions without a time skipped", untimed)
	}
	if late := eng.Late(); late > 0 {
		fmt.Fprintf(e.stderr, "; %d fixes arrived later than the reorder window and were dropped", late)
	}
	if n := eng.Evictions(); n > 0 {
		fmt.Fprintf(e.stderr, "; %d idle vessels evicted to stay under max_vessels (%d)", n, cfg.MaxVessels)
	}
	fmt.Fprintln(e.stderr)
	if failed > 0 {
		return fmt.Errorf("%d of %d inputs could not be read to the end", failed, len(inputs))
	}
	return nil
}
