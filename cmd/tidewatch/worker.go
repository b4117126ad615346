package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/pipeline"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/postgres"
)

// natsFlags are --nats (a server URL, or "embedded") and the embedded
// server's directory and address, and the stream's name.
type natsFlags struct {
	url, dir, listen, stream string
	maxBytes                 int64
	maxAge                   time.Duration
}

func (n *natsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.url, "nats", "", `the AIS pipeline's NATS server (nats://host:4222), or "embedded" to run one in this process`)
	fs.StringVar(&n.dir, "nats-dir", "tidewatch-nats", "with --nats embedded: where JetStream stores the stream")
	fs.StringVar(&n.listen, "nats-listen", "127.0.0.1:4222", "with --nats embedded: the address it listens on (other processes connect there)")
	fs.StringVar(&n.stream, "stream", pipeline.DefaultStream, "the JetStream stream of raw AIS")
	fs.Int64Var(&n.maxBytes, "stream-max-bytes", 0, "keep at most this many bytes of AIS on the stream, the oldest going first (0: leave the stream's limit as it is, none for a new stream; -1: remove it)")
	fs.DurationVar(&n.maxAge, "stream-max-age", 0, "keep AIS on the stream this long, e.g. 720h (0: leave the stream's limit as it is, none for a new stream; -1s: remove it). A run whose messages were removed before it was stored stops its worker with an error")
}

// connect connects (starting the embedded server first when asked) and
// makes sure the stream exists; close undoes both.
func (n *natsFlags) connect(ctx context.Context, name string) (js jetstream.JetStream, closeAll func(), err error) {
	if n.maxBytes < -1 {
		return nil, nil, usagef("--stream-max-bytes %d: give a number of bytes, 0 to leave the limit as it is, or -1 to remove it", n.maxBytes)
	}
	url := n.url
	var emb *pipeline.Embedded
	if url == "embedded" {
		host, port, err := net.SplitHostPort(n.listen)
		if err != nil {
			return nil, nil, usagef("--nats-listen %q: %v", n.listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, nil, usagef("--nats-listen %q: bad port", n.listen)
		}
		if emb, err = pipeline.StartEmbedded(n.dir, host, p); err != nil {
			return nil, nil, err
		}
		url = emb.URL()
	}
	var nc *nats.Conn
	nc, js, err = pipeline.Connect(url, name)
	if err == nil {
		_, err = pipeline.EnsureStream(ctx, js, n.stream, pipeline.Limits{MaxBytes: n.maxBytes, MaxAge: n.maxAge})
	}
	closeAll = func() {
		if nc != nil {
			nc.Drain()
		}
		if emb != nil {
			emb.Close()
		}
	}
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return js, closeAll, nil
}

func runWorker(e *env, args []string) error {
	var sf storeFlags
	var nf natsFlags
	var config, zonesFile string
	fs := newFlagSet(e, "worker", "tidewatch worker --nats URL|embedded [--store FILE|postgres://...] [--stage whole|sequencer|vessels|area|pairs|imo|reception] [--partitions N] [--partition I] [--area-partitions A --pair-partitions P [--imo-partitions M] [--reception-partitions R]]", `
Runs AIS pipeline workers (docs/scale.md): each reads the whole stream of raw
AIS from NATS JetStream and ingests its partition's share into the store:
the events it owns (vessels by MMSI, encounters by the pair of ships,
one-IMO-two-MMSIs and MMSI hand-overs by IMO) and the positions and
identity history of its MMSIs. Together the N partitions store what
'tidewatch ingest' of the same AIS stores. A range of the stream is acked
only after the run that read it committed; a worker stopped at any moment
and started again resumes where the store says, losing and doubling
nothing. Run partitions 0..N-1 on one or several machines against one
PostgreSQL store; --partition -1 (the default) runs all N in this process.

Publish AIS with 'tidewatch publish' or 'tidewatch serve --nats URL'
(uploads). A flush mark on the stream (publish --flush) closes everything
still open, as the end of a 'tidewatch detect' input does.

--stage splits the detectors instead (docs/scale.md, "Splitting the
work"); the default, whole, is the above. --stage sequencer runs the one
sequencer: it reads the whole stream, puts every fix through the reorder
buffer and the tracker, stores the events that need every vessel
(encounters, gaps, one IMO on two MMSIs, hand-overs) and publishes, for
each of the --partitions N vessel partitions, the items its vessel
workers need to the item stream (--item-stream; each run's before the run
is stored). --stage vessels runs vessel workers (--partition I, or -1 for
all N in this process, --partitions the sequencer's N): each applies its
partition's items and stores its vessels' events, positions and identity
history. One sequencer and the N vessel workers together store what one
whole-engine worker stores; each stage stopped at any moment and started
again resumes where the store says, losing and doubling nothing. The
item stream keeps what --stream-max-bytes and --stream-max-age set (as
for the AIS stream: items removed before their worker stored them stop
it with an error).

--area-partitions A and --pair-partitions P (both, on the sequencer and
on every stage's workers, the same everywhere) take the encounters out of
the sequencer: area workers (--stage area, A of them, each a share of the
sea's tiles with a one-cell halo) find the close pairs of fixes and
publish them to pair workers (--stage pairs, P of them, by the pair of
ships), which store the encounters. --imo-partitions M (at most 64) takes
one IMO on two MMSIs and hand-overs to IMO workers (--stage imo), and
--reception-partitions R the reception counts and gaps to reception
workers (--stage reception); both need area and pair partitions. The
sequencer and these workers together store what one whole-engine worker
stores. A changed split is a new state for the sequencer and its stages,
read from the start of the stream.`)
	sf.register(fs, true)
	nf.register(fs)
	n := fs.Int("partitions", 1, "how many partitions the stream's work is split into (the same on every worker)")
	idx := fs.Int("partition", -1, "this worker's partition (0..partitions-1); -1: all of them, in this process (not with --stage sequencer)")
	stage := fs.String("stage", "whole", "whole: each partition runs every detector on the whole stream; sequencer: the one sequencer of a split, for --partitions vessel partitions; vessels: a split's vessel workers; area, pairs, imo, reception: the workers of the split's stages behind the sequencer (--area-partitions ...)")
	var sp pipeline.Split
	fs.IntVar(&sp.Areas, "area-partitions", 0, "the split's area partitions (encounter grid by sea area); with --pair-partitions; 0: the sequencer keeps the encounters. The same on the sequencer and every stage's workers")
	fs.IntVar(&sp.Pairs, "pair-partitions", 0, "the split's pair partitions (encounter windows by pair of ships); with --area-partitions")
	fs.IntVar(&sp.IMOs, "imo-partitions", 0, "the split's IMO partitions (one IMO on two MMSIs, hand-overs; at most 64); 0: the sequencer keeps them. Needs --area-partitions")
	fs.IntVar(&sp.Reception, "reception-partitions", 0, "the split's reception partitions (reception counts and gaps); 0: the sequencer keeps them. Needs --area-partitions")
	itemStream := fs.String("item-stream", pipeline.DefaultItemStream, "with a --stage other than whole: the JetStream stream of the sequencer's items")
	fs.StringVar(&config, "thresholds", "", "JSON file of detector thresholds")
	fs.StringVar(&zonesFile, "zones", "", "GeoJSON file of extra zones")
	lateness := fs.Duration("lateness", 0, "reorder window (default 2h)")
	batch := fs.Int64("batch", 1<<20, "positions per committed batch")
	runBytes := fs.Int("run-bytes", 64<<20, "NMEA bytes a run reads at most (each run ends at a checkpoint of the detectors)")
	idle := fs.Duration("idle", time.Second, "start a run with what came once the stream is quiet this long")
	runEvery := fs.Duration("run-every", 5*time.Minute, "end a run once its first message has waited this long (a live stream is never quiet: this bounds how late its events are stored; each run ends at a checkpoint of the whole state, so shorter costs more; 0: never)")
	standby := fs.Bool("standby", false, "when another worker holds the partition, wait and take it over when that worker stops or dies (instead of stopping with an error); a worker whose partition lock is lost (its database connection ended) stands by again")
	untilFlush := fs.Bool("until-flush", false, "stop each partition once it has stored the run ending at a flush mark (a backfill, a measurement)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if nf.url == "" {
		return usagef("give --nats URL (or --nats embedded)")
	}
	if *runEvery < 0 {
		return usagef("--run-every %s: give a duration, or 0 for never", *runEvery)
	}
	if *n < 1 {
		return usagef("--partitions %d: give 1 or more", *n)
	}
	sp.Vessels = *n
	count := *n // the stage's partitions
	switch *stage {
	case "whole":
		if sp != (pipeline.Split{Vessels: *n}) {
			return usagef("--area-partitions, --pair-partitions, --imo-partitions and --reception-partitions split the detectors: give them with --stage sequencer, vessels, area, pairs, imo or reception")
		}
	case "sequencer", "vessels", "area", "pairs", "imo", "reception":
		if err := sp.Check(); err != nil {
			return usagef("%v", err)
		}
		if *stage != "sequencer" && *stage != "vessels" {
			if count = sp.Count(pipeline.Stage(*stage)); count == 0 {
				what := map[string]string{"area": "--area-partitions and --pair-partitions", "pairs": "--area-partitions and --pair-partitions",
					"imo": "--imo-partitions (and --area-partitions, --pair-partitions)", "reception": "--reception-partitions (and --area-partitions, --pair-partitions)"}[*stage]
				return usagef("--stage %s: give the split's %s, as the sequencer was given them", *stage, what)
			}
		}
		if *stage == "sequencer" && *idx != -1 {
			return usagef("--stage sequencer reads the whole stream: give --partitions N (the vessel partitions it feeds), not --partition")
		}
	default:
		return usagef("--stage %q: give whole, sequencer, vessels, area, pairs, imo or reception", *stage)
	}
	if *idx < -1 || *idx >= count {
		return usagef("--partition must be -1 or 0..%d", count-1)
	}
	cfg, err := detectorConfig(config, *lateness)
	if err != nil {
		return err
	}
	zones, err := userZones(nil, zonesFile)
	if err != nil {
		return err
	}
	if postgres.IsURL(sf.path) {
		// Each partition holds a connection for its lock: room for them
		// and for their commits.
		workers := len(partsOf(*idx, count))
		if *stage == "sequencer" {
			workers = 1
		}
		sf.path = withPoolSize(sf.path, 2*workers+4)
	}
	s, st, err := sf.service(app.Config{Detect: &cfg})
	if err != nil {
		return err
	}
	defer closeService(s, st)
	ctx, cancel := signalContext()
	defer cancel()
	g, err := s.Geography()
	if err != nil {
		return err
	}
	if _, err := s.EnsureLists(ctx); err != nil {
		return err
	}
	js, closeNATS, err := nf.connect(ctx, "tidewatch-worker")
	if err != nil {
		return err
	}
	defer closeNATS()
	if *stage != "whole" {
		// The item stream keeps what the AIS stream's limits say.
		if _, err := pipeline.EnsureItemStream(ctx, js, *itemStream, pipeline.Limits{MaxBytes: nf.maxBytes, MaxAge: nf.maxAge}); err != nil {
			return err
		}
	}
	opts := ingest.Options{Detect: cfg, Land: g.Land, Ports: g.Ports, Zones: append(append([]*geo.Zone(nil), g.Zones...), zones...),
		BatchFixes: *batch, Log: e.stderr}
	parts := partsOf(*idx, count)
	if *stage == "sequencer" {
		parts = []int{0}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(parts))
	for k, i := range parts {
		pctx, pcancel := context.WithCancel(ctx)
		if *stage != "whole" {
			w := splitWorker(e, *stage, js, nf.stream, *itemStream, i, sp, st, opts, *idle, *runBytes, *runEvery, *standby, s.Designated,
				func(r pipeline.RunInfo) {
					if r.Flush && *untilFlush {
						pcancel()
					}
				})
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer pcancel()
				if errs[k] = w(pctx); errs[k] != nil {
					cancel()
				}
			}()
			continue
		}
		w := &pipeline.Worker{JS: js, Stream: nf.stream, Part: detect.Partition{Index: i, Count: *n}, Store: st, Options: opts,
			RunBytes: *runBytes, Idle: *idle, RunEvery: *runEvery, Standby: *standby, Log: e.stderr, Designated: s.Designated,
			OnRun: func(r pipeline.RunInfo) {
				fmt.Fprintf(e.stderr, "partition %d/%d: stored messages %d-%d: %d fixes, %d points kept, %d events%s\n", i, *n, r.From, r.To,
					r.Result.Run.Fixes, r.Result.Run.Kept, r.Result.Run.Events, map[bool]string{true: " (flushed)"}[r.Flush])
				if r.Flush && *untilFlush {
					pcancel()
				}
			}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer pcancel()
			if errs[k] = w.Run(pctx); errs[k] != nil {
				cancel() // one partition failing stops the others: restart the whole
			}
		}()
	}
	switch *stage {
	case "sequencer":
		fmt.Fprintf(e.stderr, "worker: the sequencer for %d vessel partitions%s, stream %s, items to %s, store %s\n", *n, splitShown(sp), nf.stream, *itemStream, sf.shown())
	case "vessels":
		fmt.Fprintf(e.stderr, "worker: vessel partitions %v of %d, items from %s, store %s\n", parts, *n, *itemStream, sf.shown())
	case "area", "pairs", "imo", "reception":
		fmt.Fprintf(e.stderr, "worker: %s partitions %v of %d%s, items from %s, store %s\n", *stage, parts, count, splitShown(sp), *itemStream, sf.shown())
	default:
		fmt.Fprintf(e.stderr, "worker: partitions %v of %d, stream %s, store %s\n", parts, *n, nf.stream, sf.shown())
	}
	wg.Wait()
	return errors.Join(errs...)
}

// splitShown says what the sequencer's split takes out of it.
func splitShown(sp pipeline.Split) string {
	if sp.Areas == 0 {
		return ""
	}
	return fmt.Sprintf(" and %d area, %d pair, %d IMO, %d reception partitions", sp.Areas, sp.Pairs, sp.IMOs, sp.Reception)
}

// splitWorker is the run of a split's stage: the sequencer (of the split
// sp), vessel worker i, or worker i of the area, pairs, imo or reception
// stage.
func splitWorker(e *env, stage string, js jetstream.JetStream, stream, itemStream string, i int, sp pipeline.Split, st store.IngestStore, opts ingest.Options,
	idle time.Duration, runBytes int, runEvery time.Duration, standby bool,
	designated func(context.Context) (func(imo, mmsi uint32) (string, string, bool), error), onRun func(pipeline.RunInfo)) func(context.Context) error {
	n := sp.Vessels
	flushed := func(r pipeline.RunInfo) string { return map[bool]string{true: " (flushed)"}[r.Flush] }
	switch stage {
	case "sequencer":
		w := &pipeline.Worker{JS: js, Stream: stream, ItemStream: itemStream, Vessels: n, Split: sp, Part: detect.Partition{Index: 0, Count: 1}, Store: st,
			Options: opts, RunBytes: runBytes, Idle: idle, RunEvery: runEvery, Standby: standby, Log: e.stderr, Designated: designated,
			OnRun: func(r pipeline.RunInfo) {
				fmt.Fprintf(e.stderr, "sequencer: stored messages %d-%d: %d events, items published for %d vessel partitions%s%s\n", r.From, r.To,
					r.Result.Run.Events, n, splitShown(sp), flushed(r))
				onRun(r)
			}}
		return w.Run
	case "vessels":
		w := &pipeline.VesselWorker{JS: js, Stream: stream, ItemStream: itemStream, Part: detect.Partition{Index: i, Count: n}, Split: sp, Store: st,
			Options: opts, Idle: idle, Standby: standby, Log: e.stderr, Designated: designated,
			OnRun: func(r pipeline.RunInfo) {
				fmt.Fprintf(e.stderr, "vessel partition %d/%d: stored the sequencer's run %d-%d: %d fixes, %d points kept, %d events%s\n", i, n, r.From, r.To,
					r.Result.Run.Fixes, r.Result.Run.Kept, r.Result.Run.Events, flushed(r))
				onRun(r)
			}}
		return w.Run
	}
	s := pipeline.Stage(stage)
	w := &pipeline.StageWorker{JS: js, Stream: stream, ItemStream: itemStream, Split: sp, Stage: s, Index: i, Store: st,
		Options: opts, Idle: idle, Standby: standby, Log: e.stderr, Designated: designated,
		OnRun: func(r pipeline.RunInfo) {
			fmt.Fprintf(e.stderr, "%s partition %d/%d: stored the sequencer's run %d-%d: %d items, %d events%s\n", s, i, sp.Count(s), r.From, r.To,
				r.Result.Run.Messages, r.Result.Run.Events, flushed(r))
			onRun(r)
		}}
	return w.Run
}

func runPublish(e *env, args []string) error {
	var nf natsFlags
	fs := newFlagSet(e, "publish", "tidewatch publish --nats URL|embedded [--flush] FILE|tcp://host:port|udp://host:port...", `
Publishes raw AIS (NMEA files, gzipped or not) to the AIS pipeline's
stream as it is, in blocks of whole sentence groups; the workers
('tidewatch worker') detect and store. Each block is named by the file's
content, so a publish retried within two minutes stores each block once.
Decoded CSV exports (MarineCadastre, DMA; told by their header) are
published in blocks of whole rows, each carrying the file's header line
and what one reader of the file knows of its vessels' static data at
that point, so the workers store what 'tidewatch ingest' of the file
stores.
--flush then publishes the flush mark: every worker closes what is still
open at that point of the stream (the end of the data).

Live feeds (tcp://host:port, udp://host:port) are read until interrupted
and published every second; each line without a tag block gets one with
its receive time and the feed as source, so every worker decodes it alike.`)
	nf.register(fs)
	flush := fs.Bool("flush", false, "after the files, mark the end of the data (workers close everything open)")
	block := fs.Int("block-bytes", pipeline.DefaultBlockBytes, "bytes per published message")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if nf.url == "" {
		return usagef("give --nats URL")
	}
	if len(files) == 0 && !*flush {
		return usagef("give one or more NMEA or CSV files (or --flush)")
	}
	ctx, cancel := signalContext()
	defer cancel()
	js, closeNATS, err := nf.connect(ctx, "tidewatch-publish")
	if err != nil {
		return err
	}
	defer closeNATS()
	p := &pipeline.Publisher{JS: js, BlockBytes: *block}
	start := time.Now()
	var feeds []string
	for _, f := range files {
		if ais.IsLive(f) {
			feeds = append(feeds, f)
			continue
		}
		in, err := ingest.FileInput(f, nil)
		if err != nil {
			return err
		}
		st, err := p.PublishFile(ctx, f, in.ID)
		if err != nil {
			return err
		}
		el := time.Since(start).Seconds()
		fmt.Fprintf(e.stdout, "%s: %d lines, %d bytes in %d messages (stream %d-%d), %.1f s, %.0f lines/s\n", filepath.Base(f), st.Lines, st.Bytes, st.Messages,
			st.First, st.Last, el, float64(st.Lines)/el)
		if st.TooLong > 0 {
			fmt.Fprintf(e.stderr, "%s: %d lines too long for a sentence were dropped\n", f, st.TooLong)
		}
	}
	if *flush {
		if err := p.PublishFlush(ctx, strconv.FormatInt(time.Now().UnixNano(), 10)); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "published the flush mark")
	}
	// Live feeds, until interrupted.
	var wg sync.WaitGroup
	for _, f := range feeds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var total int64
			last := time.Now()
			// Said at once, at the first lines and every minute, so that a
			// feed that works is seen to (it printed nothing for a minute).
			fmt.Fprintf(e.stderr, "%s: reading the feed, publishing every second; a count every minute (Ctrl-C stops)\n", f)
			err := p.PublishFeed(ctx, f, func(lines int) {
				first := total == 0 && lines > 0
				total += int64(lines)
				if first || time.Since(last) >= time.Minute {
					last = time.Now()
					fmt.Fprintf(e.stderr, "%s: %d lines published\n", f, total)
				}
			})
			if err != nil {
				fmt.Fprintf(e.stderr, "%s: %v\n", f, err)
			}
			fmt.Fprintf(e.stderr, "%s: %d lines published in all\n", f, total)
		}()
	}
	wg.Wait()
	if nf.url == "embedded" {
		fmt.Fprintf(e.stderr, "note: the embedded server stops now; its stream is kept in %s\n", nf.dir)
	}
	return nil
}

// publishHook is what 'serve --nats' gives the application: uploads and
// other AIS inputs are published to the stream for the workers instead
// of being detected in the server (nil when --nats is not set).
func (n *natsFlags) publishHook() (func(context.Context, []ingest.Input, bool) (string, error), func(), error) {
	if n.url == "" {
		return nil, func() {}, nil
	}
	js, closeNATS, err := n.connect(context.Background(), "tidewatch-serve")
	if err != nil {
		return nil, nil, err
	}
	return (&pipeline.Publisher{JS: js}).PublishInputs, closeNATS, nil
}

// partsOf lists the partitions a worker process runs: idx, or all n.
func partsOf(idx, n int) []int {
	if idx >= 0 {
		return []int{idx}
	}
	parts := make([]int, n)
	for i := range parts {
		parts[i] = i
	}
	return parts
}

// withPoolSize sizes a PostgreSQL URL's connection pool to n, unless it
// says its own pool_max_conns.
func withPoolSize(url string, n int) string {
	if strings.Contains(url, "pool_max_conns") {
		return url
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "pool_max_conns=" + strconv.Itoa(n)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
