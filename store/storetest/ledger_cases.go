package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/ledger"
	"github.com/tidewatch/tidewatch/store"
)

func testLedger(t *testing.T, st store.Store) {
	a := ledger.Notified{ID: "n2", PeriodStart: "2024-01-01", PeriodEnd: "2024-12-04", Supplier: "China+Russia", Quantity: 168679, Unit: ledger.Barrel,
		Source: "https://example.org/a", Created: t0, CreatedBy: "x", Updated: t0, UpdatedBy: "x"}
	b := ledger.Notified{ID: "n1", PeriodStart: "2019-01-01", PeriodEnd: "2019-12-31", Supplier: "China", Quantity: 22730, Unit: ledger.Tonne,
		Product: "gas_diesel_oil", Factor: 7.5, Source: "https://example.org/b", Note: "a note", Created: t0, CreatedBy: "y", Updated: t0, UpdatedBy: "y"}
	must(t, st.PutNotified(ctx, a))
	must(t, st.PutNotified(ctx, b))
	got, err := st.NotifiedRecords(ctx)
	must(t, err)
	if len(got) != 2 || !reflect.DeepEqual(got[0], b) || !reflect.DeepEqual(got[1], a) {
		t.Fatalf("records (by period): %+v", got)
	}
	// Replace by id.
	b.Quantity, b.UpdatedBy = 22000, "z"
	must(t, st.PutNotified(ctx, b))
	got, _ = st.NotifiedRecords(ctx)
	if len(got) != 2 || got[0].Quantity != 22000 || got[0].UpdatedBy != "z" {
		t.Errorf("after replace: %+v", got)
	}
	must(t, st.DeleteNotified(ctx, "n2"))
	if err := st.DeleteNotified(ctx, "n2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if got, _ := st.NotifiedRecords(ctx); len(got) != 1 {
		t.Errorf("after delete: %d records", len(got))
	}

	c1 := store.VesselCapacity{IMO: 8660313, DWT: 3000, Source: "Q88", Set: t0, SetBy: "a"}
	c2 := store.VesselCapacity{MMSI: 445000101, DWT: 2500, Source: "registry", Set: t0, SetBy: "b"}
	must(t, st.PutCapacity(ctx, c1))
	must(t, st.PutCapacity(ctx, c2))
	c1.DWT = 3100
	must(t, st.PutCapacity(ctx, c1))
	caps, err := st.Capacities(ctx)
	must(t, err)
	if len(caps) != 2 || caps[0] != c1 || caps[1] != c2 {
		t.Errorf("capacities: %+v", caps)
	}
	must(t, st.DeleteCapacity(ctx, c2.Key()))
	if err := st.DeleteCapacity(ctx, c2.Key()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete capacity twice: %v", err)
	}

	f := ledger.Factor{Product: "fuel_oil", BblPerTonne: 7, Low: 6.9, High: 7.1, Source: "analyst"}
	must(t, st.PutFactor(ctx, f))
	f.BblPerTonne = 7.05
	must(t, st.PutFactor(ctx, f))
	fs, err := st.Factors(ctx)
	must(t, err)
	if len(fs) != 1 || fs[0] != f {
		t.Errorf("factors: %+v", fs)
	}
	must(t, st.DeleteFactor(ctx, "fuel_oil"))
	if err := st.DeleteFactor(ctx, "fuel_oil"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete factor twice: %v", err)
	}
}

func testCases(t *testing.T, st store.Store) {
	k := store.SigningKey{Tenant: "a", ID: "k1", Name: "panel", PublicKey: []byte{1, 2, 3}, Sealed: []byte("sealed"), Created: t0, CreatedBy: "x"}
	must(t, st.PutSigningKey(ctx, k, false))
	other := k
	other.Name = "someone else"
	if err := st.PutSigningKey(ctx, other, false); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second key with the same id: %v", err)
	}
	// Same id, other tenant: its own.
	kb := k
	kb.Tenant = "b"
	must(t, st.PutSigningKey(ctx, kb, false))
	k2 := store.SigningKey{Tenant: "a", ID: "k2", Name: "later", PublicKey: []byte{4}, Sealed: []byte("s2"), Created: t0.Add(time.Hour), CreatedBy: "x"}
	must(t, st.PutSigningKey(ctx, k2, false))
	ks, err := st.SigningKeys(ctx, "a")
	must(t, err)
	if len(ks) != 2 || !reflect.DeepEqual(ks[0], k) || !reflect.DeepEqual(ks[1], k2) {
		t.Errorf("keys: %+v", ks)
	}
	k.Retired = t0.Add(2 * time.Hour)
	must(t, st.PutSigningKey(ctx, k, true))
	got, err := st.SigningKey(ctx, "a", "k1")
	must(t, err)
	if !got.Retired.Equal(k.Retired) || string(got.Sealed) != "sealed" {
		t.Errorf("retired key: %+v", got)
	}
	if _, err := st.SigningKey(ctx, "c", "k1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another tenant's key: %v", err)
	}
	if err := st.PutSigningKey(ctx, store.SigningKey{Tenant: "a", ID: "nope"}, true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of no key: %v", err)
	}

	rs := []store.InputRecord{{Run: "r1", Name: "a.nmea", ContentID: "c1", Recorded: t0}, {Run: "r1", Name: "b.nmea", ContentID: "c2", Recorded: t0}}
	must(t, st.PutInputRecords(ctx, rs))
	rs[1].ContentID = "c3"
	must(t, st.PutInputRecords(ctx, rs[1:]))
	in, err := st.InputRecords(ctx)
	must(t, err)
	if len(in) != 2 || in[1].ContentID != "c3" {
		t.Errorf("input records: %+v", in)
	}

	ev := detect.Event{ID: "e1", Kind: detect.KindEncounter, Start: t0, End: t0.Add(time.Hour), Vessels: []detect.Vessel{{MMSI: 445000101}}}
	c := store.ImportedCase{Tenant: "a", ID: "s1", IMO: 8660313, From: t0, To: t0.Add(72 * time.Hour), ExportedBy: "panel", Exported: t0, Program: "tidewatch test",
		Signers:  []store.CaseSigner{{KeyID: "k1", Name: "panel", Organization: "p", SignedAt: t0, Valid: true}},
		Verified: true, Recommendation: "decline", Score: 450, ProfileHash: "h", Events: []detect.Event{ev}, Imported: t0.Add(time.Hour), ImportedBy: "x"}
	must(t, st.PutImportedCase(ctx, c))
	c2 := c
	c2.ID, c2.IMO, c2.MMSI, c2.Imported = "s2", 0, 667000202, t0.Add(2*time.Hour)
	must(t, st.PutImportedCase(ctx, c2))
	cb := c
	cb.Tenant = "b"
	must(t, st.PutImportedCase(ctx, cb))
	all, err := st.ImportedCases(ctx, "a", store.VesselQuery{})
	must(t, err)
	if len(all) != 2 || all[0].ID != "s2" || all[1].ID != "s1" {
		t.Fatalf("imported cases (newest first): %+v", all)
	}
	if !reflect.DeepEqual(all[1].Events, c.Events) || all[1].Signers[0] != c.Signers[0] {
		t.Errorf("case round trip: %+v", all[1])
	}
	if got, _ := st.ImportedCases(ctx, "a", store.VesselQuery{IMO: 8660313}); len(got) != 1 || got[0].ID != "s1" {
		t.Errorf("by IMO: %+v", got)
	}
	if got, _ := st.ImportedCases(ctx, "a", store.VesselQuery{MMSI: 667000202}); len(got) != 1 || got[0].ID != "s2" {
		t.Errorf("by MMSI: %+v", got)
	}
	if got, _ := st.ImportedCases(ctx, "c", store.VesselQuery{}); len(got) != 0 {
		t.Errorf("a tenant with none: %+v", got)
	}
}
