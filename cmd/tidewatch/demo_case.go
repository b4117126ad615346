package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tidewatch/tidewatch/casefile"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/ledger"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// demoLedgerAndCase shows the cap ledger's estimate for the simulated
// scenario, traced to its events, and exports the DPRK tanker's case
// file (signed with a demo key), verified and replayed.
func demoLedgerAndCase(ctx context.Context, w io.Writer, st *sqlite.DB, p app.Principal, dir, storePath string) error {
	seal, err := loadSealKey(storePath + ".key")
	if err != nil {
		return err
	}
	s := app.New(app.Config{Store: st, SealKey: seal, Scratch: scratchStore})
	defer s.Close()
	sc := demoScenario()
	fmt.Fprintln(w, "\n== 10. The refined-petroleum cap ledger (tidewatch ledger --year 2026) and a signed case file (tidewatch case)")
	lr, err := s.Ledger(ctx, p, app.LedgerRequest{Year: sc.Start.Year()})
	if err != nil {
		return err
	}
	for _, y := range lr.Years {
		for _, e := range y.Estimates {
			fmt.Fprintf(w, "  estimated delivery %s: MMSI %09d %s (IMO %d) at %s %s, SIMULATED\n", e.ID, e.Vessel.MMSI, e.Vessel.Name, e.Vessel.IMO, e.Port, e.Arrival.Format("2006-01-02 15:04"))
			for _, t := range e.Triggers {
				fmt.Fprintf(w, "    after %s %s: %s\n", t.Kind, t.EventID, t.Why)
			}
			if c := e.Vessel.Capacity; c != nil {
				fmt.Fprintf(w, "    port call %s; capacity %s t (%s)\n", e.PortCallID, c.DWT.Round(), c.Detail)
			}
			fmt.Fprintf(w, "    fully laden %s bbl, 90%% laden %s bbl: %s of the 500,000-barrel cap fully laden\n", e.FullyLaden.Round(), e.Amount("90").Round(), ledger.Percent(e.FullyLaden.Central/ledger.CapBarrels))
		}
	}
	key, err := s.CreateSigningKey(ctx, p, "demo analyst")
	if err != nil {
		return err
	}
	pubPath := filepath.Join(dir, "demo-signing-key.pub")
	if err := os.WriteFile(pubPath, []byte(key.PublicKeyPEM), 0o644); err != nil {
		return err
	}
	res, err := s.ExportCase(ctx, p, app.CaseExportRequest{Vessel: store.VesselQuery{MMSI: demoTankerMMSI}, From: sc.Start, To: sc.Start.Add(sc.Duration)})
	if err != nil {
		return err
	}
	zipPath := filepath.Join(dir, "case-dprk-tanker.zip")
	os.Remove(zipPath)
	if err := res.Bag.WriteFile(zipPath, res.Summary.Predicate.Exported); err != nil {
		return err
	}
	pub, _ := app.ParsePublicKey([]byte(key.PublicKeyPEM))
	vr := casefile.Verify(res.Bag, []ed25519.PublicKey{pub})
	rp, err := s.ReplayCase(ctx, res.Bag)
	if err != nil {
		return err
	}
	fi, _ := os.Stat(zipPath)
	fmt.Fprintf(w, "  case file %s (%d bytes): %d events and the profile derived from its own AIS lines, signed with key %.16s\n", zipPath, fi.Size(), res.Summary.Predicate.Events, key.ID)
	fmt.Fprintf(w, "    verified with %s: %v; replayed: events identical %v, profile identical %v\n", pubPath, vr.OK(), rp.EventsIdentical, rp.ProfileIdentical)
	fmt.Fprintf(w, "    try: tidewatch case verify %s --key %s ; tidewatch case replay %s\n", zipPath, pubPath, zipPath)
	return nil
}

// demoTankerMMSI is the MMSI of the scenario's DPRK tanker.
const demoTankerMMSI = 445000101
