package app_test

import (
	"bytes"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/casefile"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// benchCase is the demo scenario's case file service and one package.
func benchCase(b *testing.B) (*app.Service, *casefile.Bag) {
	b.Helper()
	dir := b.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "s.db"))
	if err != nil {
		b.Fatal(err)
	}
	seal := make([]byte, 32)
	rand.Read(seal)
	scratch := func() (app.ScratchStore, error) {
		return sqlite.Open(filepath.Join(b.TempDir(), "scratch.db"))
	}
	s := app.New(app.Config{Store: st, Now: func() time.Time { return now }, SealKey: seal, Scratch: scratch})
	b.Cleanup(func() { s.Close(); st.Close() })
	if _, err := s.EnsureLists(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := ingestFile(s, demoScenarioFile(b)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.CreateSigningKey(ctx, local, "bench"); err != nil {
		b.Fatal(err)
	}
	res, err := s.ExportCase(ctx, local, app.CaseExportRequest{Vessel: store.VesselQuery{MMSI: 445000101}, From: caseFrom, To: caseTo})
	if err != nil {
		b.Fatal(err)
	}
	return s, res.Bag
}

// BenchmarkCaseExport packages the demo's DPRK tanker (three days, the
// lists in force, derivation in a scratch store, the report, signing).
func BenchmarkCaseExport(b *testing.B) {
	s, _ := benchCase(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.ExportCase(ctx, local, app.CaseExportRequest{Vessel: store.VesselQuery{MMSI: 445000101}, From: caseFrom, To: caseTo}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCaseVerify reads the demo's package from its zip and checks
// every hash and signature.
func BenchmarkCaseVerify(b *testing.B) {
	_, bag := benchCase(b)
	var z bytes.Buffer
	bag.WriteZip(&z, "case", now)
	b.SetBytes(bag.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bg, err := casefile.ReadZip(z.Bytes())
		if err != nil {
			b.Fatal(err)
		}
		if r := casefile.Verify(bg, nil); !r.OK() {
			b.Fatal(r.Problems)
		}
	}
}

// BenchmarkCaseReplay derives the demo package's events and profile again.
func BenchmarkCaseReplay(b *testing.B) {
	s, bag := benchCase(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r, err := s.ReplayCase(ctx, bag); err != nil || !r.Identical() {
			b.Fatal(r, err)
		}
	}
}

// BenchmarkLedgerYear computes the demo scenario's 2026 ledger (the
// screening index already built).
func BenchmarkLedgerYear(b *testing.B) {
	s, _ := benchCase(b)
	if _, err := s.Ledger(ctx, local, app.LedgerRequest{Year: 2026}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Ledger(ctx, local, app.LedgerRequest{Year: 2026}); err != nil {
			b.Fatal(err)
		}
	}
}
