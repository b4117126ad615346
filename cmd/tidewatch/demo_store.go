package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/ais/sample"
	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/ingest"
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
	storePath          string
	subject, clean     risk.Profile
	subjectRep, cleanR string
}

// demoStore builds a store in dir from the embedded lists, the embedded
// real AIS sample and a simulated DPRK scenario, and writes the reports
// of the STS tanker and of a clean ship.
func demoStore(e *env, w io.Writer, dir string) (*demoStoreResult, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	res := &demoStoreResult{storePath: filepath.Join(dir, "tidewatch.db")}
	// A fresh store each time: the demo's output should not depend on an
	// earlier run.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(res.storePath + suffix)
	}
	st, err := sqlite.Open(res.storePath)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	ctx := context.Background()
	quiet := &env{stdout: io.Discard, stderr: io.Discard}
	if err := storeLists(ctx, quiet, st, "", true); err != nil {
		return nil, err
	}
	vs, _ := st.ListVersions(ctx)
	fmt.Fprintf(w, "  store %s: %d list versions from the embedded snapshot\n", res.storePath, len(vs))

	sc := demoScenario()
	simPath := filepath.Join(dir, "simulated-dprk-scenario.nmea")
	var buf bytes.Buffer
	if err := sim.Run(sc, &buf, nil); err != nil {
		return nil, err
	}
	if err := os.WriteFile(simPath, buf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	land, ports, zones, err := loadGeo(true)
	if err != nil {
		return nil, err
	}
	opt := ingest.Options{Detect: detect.DefaultConfig, Land: land, Ports: ports, Zones: zones}
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
	for _, in := range []ingest.Input{real, simIn} {
		start := time.Now()
		r, err := ingest.Run(ctx, st, []ingest.Input{in}, opt)
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
	req := vesselRequest{asOf: asOf, window: 365 * 24 * time.Hour, cfg: risk.DefaultConfig}
	// The STS tanker: found by the MMSI it used during the transfer.
	ids, err := st.IdentityHistory(ctx, store.VesselQuery{MMSI: 667000202})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if id.Field == "imo" {
			req.query = store.VesselQuery{IMO: id.IMO}
		}
	}
	if req.query.IMO == 0 {
		return nil, fmt.Errorf("demo: the simulated STS tanker has no IMO in the store")
	}
	// A decision on file, so the report's decision block has an entry.
	if _, err := (&audit.Log{St: st}).Append(ctx, "demo underwriter", audit.ActionDecision, subjectOf(req.query),
		map[string]string{"decision": risk.Decline, "note": "demo: STS with a designated DPRK tanker, dark period, re-flagging"}); err != nil {
		return nil, err
	}
	res.subjectRep = filepath.Join(dir, fmt.Sprintf("report-imo-%d.html", req.query.IMO))
	if res.subject, _, err = profileAndReport(ctx, quiet, st, req, "demo", res.subjectRep, "12m"); err != nil {
		return nil, err
	}
	// A clean ship: the first simulated background ship with no event.
	for m := uint32(412000000); m < 412000000+uint32(sc.Background)*7; m += 7 {
		evs, err := st.Events(ctx, []uint32{m}, sc.Start, asOf)
		if err != nil {
			return nil, err
		}
		hist, err := st.IdentityHistory(ctx, store.VesselQuery{MMSI: m})
		if err != nil {
			return nil, err
		}
		if len(evs) > 0 || len(hist) == 0 {
			continue
		}
		req.query = store.VesselQuery{MMSI: m}
		res.cleanR = filepath.Join(dir, fmt.Sprintf("report-mmsi-%09d.html", m))
		if res.clean, _, err = profileAndReport(ctx, quiet, st, req, "demo", res.cleanR, "12m"); err != nil {
			return nil, err
		}
		break
	}
	return res, nil
}

func mustRead(r io.Reader) []byte {
	b, _ := io.ReadAll(r)
	return b
}
