package app

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// The scheduled check's paced reading gives every record, in order, and
// rests between stretches of work; a check stopped (the server shutting
// down) ends during a rest.
func TestPacedAuditReading(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	var tail *store.AuditRecord
	for i := range 300 {
		r := audit.Chain(tail, store.AuditRecord{Tenant: "club", Time: time.Date(2026, 12, 3, 10, 0, i, 0, time.UTC), Actor: "a", Action: "screen", Subject: "s", Data: []byte(`{}`)})
		if err := st.AppendAudit(ctx, []store.AuditRecord{r}); err != nil {
			t.Fatal(err)
		}
		tail = &r
	}
	// No work allowed between rests: a rest after every 64 records.
	p := pacedAudit{Store: st, work: 0, rest: time.Millisecond}
	var seqs []int64
	if err := p.AuditRecords(ctx, "club", func(r store.AuditRecord) error { seqs = append(seqs, r.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 300 || seqs[0] != 1 || seqs[299] != 300 {
		t.Fatalf("%d records, %v...", len(seqs), seqs[:min(3, len(seqs))])
	}
	rep, err := audit.Verify(ctx, p, "club")
	if err != nil || !rep.OK() || rep.Records != 300 {
		t.Fatalf("verify through the paced view: %+v %v", rep, err)
	}
	// Stopped while resting: the reading ends with the context's error.
	cctx, cancel := context.WithCancel(ctx)
	p.rest = time.Hour
	n := 0
	err = p.AuditRecords(cctx, "club", func(store.AuditRecord) error {
		if n++; n == 64 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 64 {
		t.Errorf("stopped during a rest: %v after %d records", err, n)
	}
}
