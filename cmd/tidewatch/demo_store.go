package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/ais/sample"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/sim"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// demoTankerIMO is the IMO the simulated DPRK tanker broadcasts: CHON MA
// SAN's, a DPRK tanker designated by OFAC, the EU and the UK. DPRK tankers
// broadcast their own designated IMOs; the ship's movements are simulated.
const demoTankerIMO = 8660313

// demoScenario is the due-diligence story: three simulated days in which a
// foreign tanker meets the DPRK tanker off Nampo, goes dark and re-flags.
func demoScenario() sim.Scenario {
	sc := sim.DefaultScenario
	sc.Duration, sc.Background, sc.DPRKTankerIMO = 72*time.Hour, 40, demoTankerIMO
	return sc
}

// demoStoreResult is what the due-diligence part of the demo produced.
type demoStoreResult struct {
	storePath               string
	subject, clean, unknown risk.Profile
	subjectRep, cleanR      string
}

// demoMarker is the file the demo writes into its directory. The demo
// replaces the store only in a directory that holds it (or that is new or
// empty): a --dir pointing at a real store must never lose it.
const demoMarker = ".tidewatch-demo"

// demoSealKey is the one file a directory may hold and still count as
// empty: 'serve --demo' makes the store's seal key beside it before the
// store (and the demo never removes it).
const demoSealKey = "tidewatch.db.key"

// prepareDemoDir makes dir ready for a fresh demo store: it creates it (or
// accepts it empty, or made by an earlier demo), writes the marker and
// removes the earlier demo's store. A non-empty directory without the
// marker is refused, and nothing in it is touched.
func prepareDemoDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("demo directory %s: %w", dir, err)
	case slices.ContainsFunc(entries, func(e fs.DirEntry) bool { return e.Name() != demoSealKey }):
		if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
			return fmt.Errorf("demo directory %s is not empty and was not made by the demo (no %s file in it): "+
				"the demo replaces the store in its directory, so it refuses to; choose a new or empty directory "+
				"(or, for an earlier demo's directory, remove it yourself)", dir, demoMarker)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, demoMarker), []byte("made by 'tidewatch demo': the demo replaces the store in this directory each run\n"), 0o644); err != nil {
		return err
	}
	// A fresh store each time: the demo's output should not depend on an
	// earlier run. The store is all its files: the database and its WAL,
	// the audit log (FILE.audit: records of a store that no longer exists
	// would head the new one's), the screening index cache (FILE.index),
	// the lock files (FILE.locks) and the uploads kept (FILE.uploads). Not the seal key (FILE.key): 'serve
	// --demo' has read it before it gets here and seals webhook secrets
	// with it; a fresh store holds no secret an earlier key sealed, so
	// keeping it changes nothing the demo shows. A store another process
	// has open (a 'serve --demo' still running on it) is not pulled from
	// under it.
	path := filepath.Join(dir, "tidewatch.db")
	pid, err := demoStoreUser(path)
	if err != nil {
		return fmt.Errorf("demo store %s: can it be replaced? %w", path, err)
	}
	if pid != 0 {
		return fmt.Errorf("the demo store %s is open in another process (pid %d: a 'tidewatch serve --demo' or another command running on it): "+
			"the demo replaces its store each run, so stop that process first, or give another directory (--dir, serve's --demo-dir)", path, pid)
	}
	for _, suffix := range []string{"", "-wal", "-shm", ".audit", ".index", ".locks", ".uploads"} {
		if err := os.RemoveAll(path + suffix); err != nil {
			return err
		}
	}
	return nil
}

// openDemoStore makes a fresh store in dir holding the embedded lists.
func openDemoStore(dir string) (*app.Service, *sqlite.DB, string, error) {
	if err := prepareDemoDir(dir); err != nil {
		return nil, nil, "", err
	}
	path := filepath.Join(dir, "tidewatch.db")
	st, err := sqlite.OpenWith(path, sqlite.Options{Create: true})
	if err != nil {
		return nil, nil, "", err
	}
	s := app.New(app.Config{Store: st})
	if _, err := s.EnsureLists(context.Background()); err != nil {
		s.Close()
		st.Close()
		return nil, nil, "", err
	}
	return s, st, path, nil
}

// demoWindow is the review window of the demo's profiles: the simulated
// data covers three days, and a twelve-month window over three days of AIS
// is, rightly, insufficient evidence to accept a ship.
var demoWindow = app.Span{Days: 3}

// demoStore ingests the embedded real AIS sample and a simulated DPRK
// scenario into the service's store, records a decision and writes the
// reports of the STS tanker and of a clean ship.
func demoStore(ctx context.Context, w io.Writer, s *app.Service, p app.Principal, dir string, beforeIngest func(context.Context) error) (*demoStoreResult, error) {
	res := &demoStoreResult{}
	vs, err := s.ListVersions(ctx, p)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "  store %s: %d list versions from the embedded snapshot\n", filepath.Join(dir, "tidewatch.db"), len(vs))
	// The cap ledger's notified deliveries, as published (1718 Committee
	// notifications; ledger/data/SOURCES): the ledger's years show them
	// beside the estimates, not "notified: 0".
	ni, err := s.ImportEmbeddedNotified(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("demo: notified deliveries: %w", err)
	}
	fmt.Fprintf(w, "  cap ledger: %d published notified deliveries (tidewatch ledger import --embedded)\n", len(ni.Added))

	sc := demoScenario()
	simPath := filepath.Join(dir, "simulated-dprk-scenario.nmea")
	var buf bytes.Buffer
	if err := sim.Run(sc, &buf, nil); err != nil {
		return nil, err
	}
	if err := os.WriteFile(simPath, buf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(mustRead(sample.Open()))
	real := ingest.Input{Name: sample.Name, ID: hex.EncodeToString(sum[:12]), Open: func(context.Context) (ais.Source, io.Closer, error) {
		r, err := ais.NewReader(sample.Open())
		return r, io.NopCloser(nil), err
	}}
	simIn, err := ingest.FileInput(simPath, func(ctx context.Context) (ais.Source, io.Closer, error) {
		return ais.OpenInput(ctx, simPath, ais.FeedOptions{})
	})
	if err != nil {
		return nil, err
	}
	if beforeIngest != nil {
		if err := beforeIngest(ctx); err != nil {
			return nil, err
		}
	}
	for _, in := range []ingest.Input{real, simIn} {
		start := time.Now()
		// The scenario is over when its file ends: the last input flushes
		// (what is still open is closed, as a finished stream's).
		r, err := s.Ingest(ctx, p, app.IngestRequest{Inputs: []ingest.Input{in}, Flush: in.ID == simIn.ID})
		if err != nil {
			return nil, err
		}
		label := "real exactEarth satellite AIS"
		if in.ID == simIn.ID {
			label = "SIMULATED: 40 background ships and the planted DPRK scenario, 72 h"
		}
		fmt.Fprintf(w, "  ingested %s (%s): %d positions, %d kept, %d events in %s\n", filepath.Base(in.Name), label, r.Run.Fixes, r.Run.Kept, r.Run.Events, time.Since(start).Round(time.Millisecond))
	}

	asOf := sc.Start.Add(sc.Duration)
	req := app.ProfileRequest{AsOf: asOf, Window: demoWindow}
	// The STS tanker: found by the MMSI it used during the transfer.
	ids, err := s.Identity(ctx, p, store.VesselQuery{MMSI: 667000202})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if id.Field == "imo" {
			req.Vessel = store.VesselQuery{IMO: id.IMO}
		}
	}
	if req.Vessel.IMO == 0 {
		return nil, fmt.Errorf("demo: the simulated STS tanker has no IMO in the store")
	}
	// A decision on file, so the report's decision block has an entry.
	if _, err := s.Decide(ctx, app.LocalPrincipal("demo underwriter"), app.DecideRequest{Vessel: req.Vessel, Decision: risk.Decline, AsOf: asOf, Window: demoWindow,
		Reason: "demo: STS with a designated DPRK tanker, dark period, re-flagging"}); err != nil {
		return nil, err
	}
	res.subjectRep = filepath.Join(dir, fmt.Sprintf("report-imo-%d.html", req.Vessel.IMO))
	if res.subject, err = demoReport(ctx, s, p, req, res.subjectRep); err != nil {
		return nil, err
	}
	// A clean ship: the first simulated background ship with no event.
	for m := uint32(412000000); m < 412000000+uint32(sc.Background)*7; m += 7 {
		evs, err := s.Events(ctx, p, app.EventsRequest{Vessel: store.VesselQuery{MMSI: m}, From: sc.Start, To: asOf})
		if err != nil {
			return nil, err
		}
		hist, err := s.Identity(ctx, p, store.VesselQuery{MMSI: m})
		if err != nil {
			return nil, err
		}
		if len(evs) > 0 || len(hist) == 0 {
			continue
		}
		req.Vessel = store.VesselQuery{MMSI: m}
		res.cleanR = filepath.Join(dir, fmt.Sprintf("report-mmsi-%09d.html", m))
		if res.clean, err = demoReport(ctx, s, p, req, res.cleanR); err != nil {
			return nil, err
		}
		break
	}
	// A ship nobody knows: no AIS, no list record.
	unknown, err := s.Profile(ctx, p, app.ProfileRequest{Vessel: store.VesselQuery{IMO: 9123453}, AsOf: asOf})
	if err != nil {
		return nil, err
	}
	res.unknown = unknown.Profile
	return res, nil
}

func demoReport(ctx context.Context, s *app.Service, p app.Principal, req app.ProfileRequest, path string) (risk.Profile, error) {
	rr, err := s.Report(ctx, p, req, path)
	if err != nil {
		return risk.Profile{}, err
	}
	return rr.Profile, os.WriteFile(path, rr.HTML, 0o644)
}

func mustRead(r io.Reader) []byte {
	b, _ := io.ReadAll(r)
	return b
}
