package app_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/casefile"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// scratchStores makes throw-away SQLite stores in a test's directory.
func scratchStores(t *testing.T) func() (app.ScratchStore, error) {
	return func() (app.ScratchStore, error) {
		dir, err := os.MkdirTemp(t.TempDir(), "scratch")
		if err != nil {
			return nil, err
		}
		return sqlite.Open(filepath.Join(dir, "s.db"))
	}
}

// caseService is a service over the demo scenario with a seal key and
// scratch stores.
func caseService(t *testing.T) (*app.Service, *sqlite.DB, string) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	seal := make([]byte, 32)
	rand.Read(seal)
	s := app.New(app.Config{Store: st, Now: func() time.Time { return now }, SealKey: seal, Scratch: scratchStores(t)})
	t.Cleanup(func() { s.Close(); st.Close() })
	if _, err := s.EnsureLists(ctx); err != nil {
		t.Fatal(err)
	}
	path := demoScenarioFile(t)
	if _, err := ingestFile(s, path); err != nil {
		t.Fatal(err)
	}
	return s, st, path
}

var (
	caseFrom = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	caseTo   = time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
)

// The demo's case: exported, verified, replayed identical byte for byte,
// signed by a second party, imported by another tenant with its
// provenance, shown in that tenant's report.
func TestCaseExportVerifyReplayImport(t *testing.T) {
	s, _, _ := caseService(t)
	if _, err := s.ExportCase(ctx, local, app.CaseExportRequest{Vessel: store.VesselQuery{MMSI: 445000101}, From: caseFrom, To: caseTo}); app.CodeOf(err) != app.CodePrecondition {
		t.Errorf("export without a signing key: %v", err)
	}
	key, err := s.CreateSigningKey(ctx, local, "Panel desk")
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.ExportCase(ctx, local, app.CaseExportRequest{Vessel: store.VesselQuery{MMSI: 445000101}, From: caseFrom, To: caseTo})
	if err != nil {
		t.Fatal(err)
	}
	bag := res.Bag
	pub, err := app.ParsePublicKey([]byte(key.PublicKeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	if r := casefile.Verify(bag, []ed25519.PublicKey{pub}); !r.OK() || !r.Trusted {
		t.Fatalf("verify: %+v", r)
	}
	sum := res.Summary
	if !sum.Predicate.Complete || len(sum.Predicate.Gaps) != 0 || sum.Predicate.Events == 0 || sum.Predicate.Recommendation != "decline" {
		t.Errorf("predicate: %+v", sum.Predicate)
	}
	// The sim file's lines of the tanker and its counterpart are in it;
	// the checked content is the one ingested.
	var used []app.CaseInput
	for _, in := range sum.Inputs {
		if in.Used {
			used = append(used, in)
		}
	}
	if len(used) != 1 || !strings.Contains(used[0].Check, "the same content as ingested") || used[0].Stats.Kept == 0 {
		t.Fatalf("inputs: %+v", sum.Inputs)
	}
	if len(sum.Predicate.Vessel.Counterparts) == 0 || sum.Predicate.Vessel.Counterparts[0] != 667000202 {
		t.Errorf("counterparts: %v", sum.Predicate.Vessel.Counterparts)
	}
	lines, _ := bag.File(used[0].File)
	for _, l := range strings.Split(strings.TrimSpace(string(lines)), "\n") {
		if !strings.HasPrefix(l, "\\") {
			t.Fatalf("a line without its tag block: %q", l)
		}
	}
	// The package's events include the encounter and the port call the
	// ledger rests on, and the store's events of the vessel in the period
	// are all derived again from the lines.
	if len(res.CrossCheck.MissingIDs) != 0 {
		t.Errorf("cross-check: the store's events %v are not derived from the package's lines (%+v)", res.CrossCheck.MissingIDs, res.CrossCheck)
	}
	// Replay: identical, byte for byte.
	rp, err := s.ReplayCase(ctx, bag)
	if err != nil {
		t.Fatal(err)
	}
	if !rp.Identical() || rp.Events != sum.Predicate.Events || rp.Statement != res.Statement {
		t.Fatalf("replay: %+v", rp)
	}
	// Replay through a zip and another service (a receiver's machine,
	// another store).
	dir := t.TempDir()
	if err := bag.WriteFile(filepath.Join(dir, "case.zip"), now); err != nil {
		t.Fatal(err)
	}
	zb, err := casefile.ReadFile(filepath.Join(dir, "case.zip"))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := sqlite.Open(filepath.Join(t.TempDir(), "other.db"))
	defer other.Close()
	seal := make([]byte, 32)
	rand.Read(seal)
	recv := app.New(app.Config{Store: other, Now: func() time.Time { return now.Add(time.Hour) }, SealKey: seal, Scratch: scratchStores(t)})
	defer recv.Close()
	if rp, err := recv.ReplayCase(ctx, zb); err != nil || !rp.Identical() {
		t.Fatalf("replay elsewhere: %+v %v", rp, err)
	}

	// A replay of a package whose events were changed and re-signed (a
	// forger with a key) shows the difference.
	forged := bag.Clone()
	evs, _ := forged.File("data/events.jsonl")
	first := strings.SplitN(string(evs), "\n", 2)
	var ev map[string]any
	json.Unmarshal([]byte(first[0]), &ev)
	forgedBag := rebuild(t, forged, map[string][]byte{"data/events.jsonl": []byte(first[1])})
	if rp, err := s.ReplayCase(ctx, forgedBag); err != nil || rp.Identical() || len(rp.ExtraIDs) != 1 || rp.ExtraIDs[0] != ev["id"] {
		t.Errorf("replay of a package with an event removed: %+v %v", rp, err)
	}

	// Another tenant signs it too, and imports it: who signed and when is
	// kept and shown in its report of the vessel.
	if _, err := s.CreateTenant(ctx, local, "panel", "Panel of Experts", store.TenantPolicy{}); err != nil {
		t.Fatal(err)
	}
	panel := app.Principal{Tenant: "panel", Actor: "expert", Role: app.RoleAdmin}
	if _, err := s.CreateSigningKey(ctx, panel, "expert desk"); err != nil {
		t.Fatal(err)
	}
	signed := bag.Clone()
	if _, err := s.SignCase(ctx, panel, signed, ""); err != nil {
		t.Fatal(err)
	}
	if r := casefile.Verify(signed, nil); !r.OK() || len(r.Signatures) != 2 {
		t.Fatalf("two signatures: %+v", r)
	}
	imp, err := s.ImportCase(ctx, panel, app.CaseImportRequest{Bag: signed, Trusted: []ed25519.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	if len(imp.Signers) != 2 || imp.Signers[0].Name != "tester" || imp.Signers[0].Organization != "Local installation" || !imp.Signers[0].Trusted ||
		!imp.Signers[1].Trusted || imp.Signers[1].Organization != "Panel of Experts" || len(imp.Events) == 0 || imp.Recommendation != "decline" {
		t.Errorf("imported: %+v", imp.Signers)
	}
	got, err := s.ImportedCases(ctx, panel, store.VesselQuery{MMSI: 445000101})
	if err != nil || len(got) != 1 {
		t.Fatalf("imported cases of the vessel: %d %v", len(got), err)
	}
	if got, _ := s.ImportedCases(ctx, local, store.VesselQuery{}); len(got) != 0 {
		t.Errorf("the exporter's tenant sees the panel's import: %d", len(got))
	}
	rep, err := s.Report(ctx, panel, app.ProfileRequest{Vessel: store.VesselQuery{MMSI: 445000101}, AsOf: caseTo, Window: app.Span{Days: 3}}, "r.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="case-files"`, "tester (Local installation)", "valid, trusted key", "every hash and signature checked"} {
		if !strings.Contains(string(rep.HTML), want) {
			t.Errorf("the panel's report lacks %q", want)
		}
	}
	// A changed package is refused.
	bad := signed.Clone()
	d, _ := bad.File(used[0].File)
	d = append([]byte(nil), d...)
	d[10] ^= 1
	bad.Put(used[0].File, d)
	if _, err := s.ImportCase(ctx, panel, app.CaseImportRequest{Bag: bad}); app.CodeOf(err) != app.CodeInvalid || !strings.Contains(err.Error(), used[0].File) {
		t.Errorf("a changed package imported: %v", err)
	}
	if _, err := s.ReplayCase(ctx, bad); app.CodeOf(err) != app.CodeInvalid {
		t.Errorf("a changed package replayed: %v", err)
	}
	// Loading its AIS is the operator's.
	if _, err := s.ImportCase(ctx, panel, app.CaseImportRequest{Bag: signed, Ingest: true}); app.CodeOf(err) != app.CodeForbidden {
		t.Errorf("another tenant loads a case's AIS: %v", err)
	}
}

// rebuild makes a new signed package from a package's payload with some
// files replaced (a forger holding a key of their own).
func rebuild(t *testing.T, b *casefile.Bag, replace map[string][]byte) *casefile.Bag {
	t.Helper()
	payload := map[string][]byte{}
	for _, p := range b.Paths() {
		if strings.HasPrefix(p, "data/") {
			payload[p], _ = b.File(p)
		}
	}
	for p, d := range replace {
		payload[p] = d
	}
	st, _, _ := b.Statement()
	var pred casefile.Predicate
	json.Unmarshal(st.Predicate, &pred)
	nb, err := casefile.New(payload, b.Info()[:len(b.Info())-1])
	if err != nil {
		t.Fatal(err)
	}
	if err := nb.Seal(pred); err != nil {
		t.Fatal(err)
	}
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	if err := nb.Sign(k, "forger", "x", now); err != nil {
		t.Fatal(err)
	}
	return nb
}

// An input that cannot be found is stated in the package, never left out
// silently; signing keys are the tenant's and sealed.
func TestCaseGapsAndKeys(t *testing.T) {
	s, _, path := caseService(t)
	if _, err := s.CreateSigningKey(ctx, local, "desk"); err != nil {
		t.Fatal(err)
	}
	os.Rename(path, path+".moved")
	res, err := s.ExportCase(ctx, local, app.CaseExportRequest{Vessel: store.VesselQuery{MMSI: 445000101}, From: caseFrom, To: caseTo})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Summary.Predicate
	if p.Complete || len(p.Gaps) != 1 || !strings.Contains(p.Gaps[0], "not found at its recorded path") || p.Events != 0 {
		t.Errorf("a missing input: %+v", p)
	}
	if len(res.CrossCheck.MissingIDs) == 0 {
		t.Error("the cross-check does not say the store's events are missing")
	}
	// Given with --ais (another path), the file is matched to what was
	// ingested.
	res, err = s.ExportCase(ctx, local, app.CaseExportRequest{Vessel: store.VesselQuery{MMSI: 445000101}, From: caseFrom, To: caseTo, AIS: []string{path + ".moved"}})
	if err != nil || !res.Summary.Predicate.Complete || !strings.Contains(res.Summary.Inputs[0].Check, "the same content as ingested") {
		t.Fatalf("given with --ais: %+v %v", res.Summary.Inputs, err)
	}
	// A changed file is not used.
	data, _ := os.ReadFile(path + ".moved")
	os.WriteFile(path, append(data, []byte("!AIVDM,1,1,,A,15MgK45P3@G?fl0E`JbR0OwT0@MS,0*4E\n")...), 0o644)
	res, err = s.ExportCase(ctx, local, app.CaseExportRequest{Vessel: store.VesselQuery{MMSI: 445000101}, From: caseFrom, To: caseTo})
	if err != nil || res.Summary.Predicate.Complete || !strings.Contains(strings.Join(res.Summary.Predicate.Gaps, " "), "changed since it was ingested") {
		t.Errorf("a changed input: %+v %v", res.Summary.Predicate.Gaps, err)
	}

	// Keys: listed without their private half; exported by admins only.
	ks, _ := s.SigningKeys(ctx, local)
	if len(ks) != 1 || !strings.Contains(ks[0].PublicKeyPEM, "BEGIN PUBLIC KEY") {
		t.Fatalf("keys: %+v", ks)
	}
	analyst := app.Principal{Tenant: app.LocalTenant, Actor: "a", Role: app.RoleAnalyst, Operator: true}
	if _, _, err := s.ExportSigningKey(ctx, analyst, ks[0].ID); app.CodeOf(err) != app.CodeForbidden {
		t.Errorf("an analyst exports a key: %v", err)
	}
	priv, _, err := s.ExportSigningKey(ctx, local, ks[0].ID[:12])
	if err != nil || casefile.KeyID(priv.Public().(ed25519.PublicKey)) != ks[0].ID {
		t.Fatalf("export: %v", err)
	}
	pem := app.PrivateKeyPEM(priv)
	if back, err := app.ParsePublicKey(pem); err != nil || casefile.KeyID(back) != ks[0].ID {
		t.Errorf("the private key file's public half: %v", err)
	}
	// Another tenant neither sees nor uses it.
	other := app.Principal{Tenant: "insurer", Actor: "b", Role: app.RoleAdmin}
	if got, _ := s.SigningKeys(ctx, other); len(got) != 0 {
		t.Errorf("another tenant lists %d keys", len(got))
	}
	if _, _, err := s.ExportSigningKey(ctx, other, ks[0].ID); app.CodeOf(err) != app.CodeNotFound {
		t.Errorf("another tenant exports the key: %v", err)
	}
	// Without the seal key no key is made.
	st2, _ := sqlite.Open(filepath.Join(t.TempDir(), "x.db"))
	defer st2.Close()
	s2 := app.New(app.Config{Store: st2})
	defer s2.Close()
	if _, err := s2.CreateSigningKey(ctx, local, "x"); app.CodeOf(err) != app.CodePrecondition {
		t.Errorf("a key without a seal key: %v", err)
	}
}
