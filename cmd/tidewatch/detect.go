package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/tidewatch/tidewatch/store/postgres"
	"io"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/snapshot"
)

func runDetect(e *env, args []string) error {
	var config, zonesFile, out string
	var noBuiltinZones bool
	fs := newFlagSet(e, "detect", "tidewatch detect [--thresholds FILE] [--zones FILE.geojson] [--out events.jsonl] INPUT...", `
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
(default 2 h: reorder_lateness_minutes in --thresholds, or --lateness), so
memory follows the ships active in the window, not the input. Without
--lateness, files with a fix later than the window (a MarineCadastre day is
sorted by MMSI) are detected as such and read a second time, sorted whole,
so the same files give the same events whatever their order on the command
line; standard input, which cannot be read twice, is sorted whole at once.
With --lateness, and with a live feed, fixes later than the window are
counted and dropped.
Positions without a time (a log with no tag blocks, $PGHP lines or epoch
fields) cannot be placed in event time and are counted and skipped.
On a terminal, a line on standard error shows how much of the input files
has been read.

--thresholds is a JSON file overriding any threshold, e.g.
  {"gap_min_hours": 8, "encounter_max_metres": 300}
(every key: see docs/detection.md; unknown keys are refused).`)
	fs.StringVar(&config, "thresholds", "", "JSON file of detector thresholds (docs/detection.md)")
	fs.StringVar(&zonesFile, "zones", "", "GeoJSON file of extra zones (Polygon/MultiPolygon features)")
	fs.BoolVar(&noBuiltinZones, "no-builtin-zones", false, "only the --zones zones")
	fs.StringVar(&out, "out", "", "write events here (default stdout)")
	var sf storeFlags
	sf.register(fs, false)
	withLists := fs.Bool("sanctions", false, "flag ships broadcasting the IMO or MMSI of a designated vessel (lists in force in --store if it exists, else the embedded snapshot; or --lists / --embedded)")
	lists := fs.String("lists", "", "with --sanctions: read list files from this directory")
	embedded := fs.Bool("embedded", false, "with --sanctions: the list snapshot built into the binary")
	feedOpt := feedFlags(fs, e.stderr)
	lateness := fs.Duration("lateness", 0, "reorder window for out-of-order fixes, later ones dropped (default 2h, reorder_lateness_minutes; then a file with a later fix is read again sorted whole, and standard input is sorted whole)")
	inputs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(inputs) == 0 {
		return usagef("give one or more AIS inputs")
	}
	if err := noDirectories(inputs); err != nil {
		return err
	}
	cfg, err := detectorConfig(config, 0)
	if err != nil {
		return err
	}
	zones, err := userZones(nil, zonesFile)
	if err != nil {
		return err
	}
	live := false
	for _, in := range inputs {
		live = live || isLive(in)
	}
	req := app.DetectRequest{Inputs: inputs, Detect: &cfg, Zones: zones, NoBuiltinZones: noBuiltinZones, Lateness: *lateness, Live: live,
		Designated: *withLists || *lists != "" || *embedded,
		Summary:    func(name string, st *ais.Stats) { summary(e.stderr, name, st) },
		OnInputError: func(name string, err error) {
			fmt.Fprintf(e.stderr, "%s: %v\n", name, err)
		}}
	// The service: the store's lists when --sanctions reads them, else
	// none (detection itself needs no store).
	var s *app.Service
	switch {
	case *lists != "":
		s = app.New(app.Config{})
		if err := pinFiles(e, s, *lists); err != nil {
			return err
		}
	case req.Designated && !*embedded && (postgres.IsURL(sf.path) || fileExists(sf.path)):
		svc, st, err := sf.service(app.Config{})
		if err != nil {
			return err
		}
		defer closeService(svc, st)
		s = svc
	case req.Designated:
		if !*embedded {
			fmt.Fprintf(e.stderr, "note: no store at %s; flagging against the embedded list snapshot\n", sf.shown())
		}
		s = app.New(app.Config{})
		if err := pinDatasets(e, s, sanctions.LoadFiles(snapshot.Files())); err != nil {
			return err
		}
	default:
		s = app.New(app.Config{})
	}
	ctx, cancel := signalContext()
	defer cancel()
	start := time.Now()
	var prog *readProgress
	req.OnPass = func(label string) {
		if prog != nil {
			prog.finish()
		} else if label != "detecting" {
			// Worded as ingest words it ("more than 120 min late").
			fmt.Fprintf(e.stderr, "note: the input is not in time order (a fix came more than %.0f min late); reading it again, sorted whole\n",
				cfg.ReorderLatenessMinutes)
		}
		prog = startReadProgress(e.stderr, inputs, label)
	}
	req.Open = func(ctx context.Context, name string) (ais.Source, io.Closer, error) {
		o := *feedOpt
		o.Read = prog.counter()
		return ais.OpenInput(ctx, name, o)
	}
	res, err := s.Detect(ctx, req)
	if prog != nil {
		prog.finish()
	}
	if err != nil {
		return err
	}
	events, fixes, untimed, failed := res.Events, res.Fixes, res.Untimed, res.Failed
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
	if late := res.Late; late > 0 {
		fmt.Fprintf(e.stderr, "; %d fixes arrived later than the reorder window and were dropped", late)
	}
	if n := res.Evicted; n > 0 {
		fmt.Fprintf(e.stderr, "; %d idle vessels evicted to stay under max_vessels (%d)", n, cfg.MaxVessels)
	}
	fmt.Fprintln(e.stderr)
	if failed > 0 {
		return fmt.Errorf("%d of %d inputs could not be read to the end", failed, len(inputs))
	}
	return nil
}

// detectorConfig is the detectors' thresholds: the defaults, or the JSON
// file given (--thresholds), with the reorder window set when lateness is.
func detectorConfig(path string, lateness time.Duration) (detect.Config, error) {
	cfg := detect.DefaultConfig
	if path != "" {
		var err error
		if cfg, err = detect.LoadConfig(path); err != nil {
			return cfg, usagef("%v", err)
		}
	}
	if lateness > 0 {
		cfg.ReorderLatenessMinutes = lateness.Minutes()
	}
	return cfg, nil
}
