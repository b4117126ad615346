package audit

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

func newLog(t *testing.T, n int) (*Log, *sqlite.DB, *time.Time) {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &Log{St: db, Tenant: "local", Now: func() time.Time { return now }}
	for i := 0; i < n; i++ {
		now = now.Add(365 * 24 * time.Hour)
		if _, err := l.Append(context.Background(), "analyst@insurer", ActionProfile, "imo:9417115", map[string]any{"score": i, "recommendation": "refer"}); err != nil {
			t.Fatal(err)
		}
	}
	return l, db, &now
}

func verify(t *testing.T, db Store) Report {
	t.Helper()
	rep, err := Verify(context.Background(), db, "local")
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestIntactChainVerifies(t *testing.T) {
	_, db, _ := newLog(t, 6)
	rep := verify(t, db)
	if !rep.OK() || rep.Records != 6 || rep.Head != 6 || rep.HeadHash == "" {
		t.Fatalf("%+v", rep)
	}
}

func TestTamperingDetected(t *testing.T) {
	cases := map[string][]string{
		"edit data":       {`UPDATE audit SET data = '{"score":2,"recommendation":"accept"}' WHERE seq = 3`},
		"edit actor":      {`UPDATE audit SET actor = 'someone else' WHERE seq = 1`},
		"edit time":       {`UPDATE audit SET time_ms = time_ms + 1 WHERE seq = 4`},
		"delete":          {`DELETE FROM audit WHERE seq = 2`},
		"delete head":     {`DELETE FROM audit WHERE seq = 1`},
		"delete tail":     {`DELETE FROM audit WHERE seq = 5`},
		"delete last two": {`DELETE FROM audit WHERE seq >= 4`},
		"delete all":      {`DELETE FROM audit`},
		"reorder": {`UPDATE audit SET seq = 100 WHERE seq = 2`, `UPDATE audit SET seq = 2 WHERE seq = 3`,
			`UPDATE audit SET seq = 3 WHERE seq = 100`},
	}
	for name, stmts := range cases {
		_, db, _ := newLog(t, 5)
		for _, s := range stmts {
			if err := db.Exec(s); err != nil {
				t.Fatal(err)
			}
		}
		if rep := verify(t, db); rep.OK() {
			t.Errorf("%s: not detected", name)
		} else {
			t.Logf("%s: %v", name, rep.Problems)
		}
	}
	// An editor who recomputes the edited record's hash breaks the next
	// record's link.
	_, db, _ := newLog(t, 5)
	var r3 store.AuditRecord
	db.AuditRecords(context.Background(), "local", func(r store.AuditRecord) error {
		if r.Seq == 3 {
			r3 = r
		}
		return nil
	})
	r3.Actor = "forger"
	if err := db.Exec(`UPDATE audit SET actor = ?, hash = ? WHERE seq = 3`, r3.Actor, Hash(r3)); err != nil {
		t.Fatal(err)
	}
	if rep := verify(t, db); rep.OK() || rep.Problems[0].Seq != 4 {
		t.Errorf("rehashed edit: %+v", rep)
	}
}

func TestPruneKeepsAVerifiableChain(t *testing.T) {
	l, db, now := newLog(t, 14) // one every 365 days; "now" is the last one's time
	n, err := l.Prune(context.Background(), "retention", now.AddDate(-10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("pruned %d records, want the 3 older than 3,650 days", n)
	}
	rep := verify(t, db)
	if !rep.OK() || rep.First != 4 || rep.Records != 12 {
		t.Errorf("after prune: %+v", rep)
	}
	// Deleting more by hand is still caught.
	db.Exec(`DELETE FROM audit WHERE seq = 4`)
	if verify(t, db).OK() {
		t.Error("deletion after a prune not detected")
	}
}

// Records cut from the end of the log, or all of them, are caught without
// the user keeping a head anywhere: the store's anchor remembers it.
func TestTruncationDetectedByAnchor(t *testing.T) {
	_, db, _ := newLog(t, 5)
	if rep := verify(t, db); !rep.OK() || rep.Anchor.Seq != 5 || rep.Anchor.Records != 5 {
		t.Fatalf("intact log: %+v", rep)
	}
	db.Exec(`DELETE FROM audit`)
	rep := verify(t, db)
	if rep.OK() || rep.Records != 0 {
		t.Fatalf("emptied log verifies: %+v", rep)
	}
	if !strings.Contains(rep.Problems[0].Reason, "deleted from the end") {
		t.Errorf("reason: %v", rep.Problems)
	}
}

// Each tenant's chain stands alone: another tenant's records neither
// break it nor show in it.
func TestTenantsHaveSeparateChains(t *testing.T) {
	l, db, _ := newLog(t, 3)
	other := &Log{St: db, Tenant: "insurer-b", Now: l.Now}
	for i := 0; i < 2; i++ {
		if _, err := other.Append(context.Background(), "b@insurer", ActionScreen, "name:X", map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	a, b := verify(t, db), verifyTenant(t, db, "insurer-b")
	if !a.OK() || a.Records != 3 || !b.OK() || b.Records != 2 || b.First != 1 {
		t.Errorf("local %+v, insurer-b %+v", a, b)
	}
}

func verifyTenant(t *testing.T, db Store, tenant string) Report {
	t.Helper()
	rep, err := Verify(context.Background(), db, tenant)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
