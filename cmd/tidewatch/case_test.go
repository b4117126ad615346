package main

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/ais/sample"
)

// The case file workflow on the demo scenario: a signing key, an export
// (directory and zip), an offline verify with the public key, a replay
// identical byte for byte, tampering reported with its file, a second
// party's signature, an import into another store with its provenance
// shown in that store's report.
func TestCaseCommands(t *testing.T) {
	db, nmea := demoScenarioStore(t)
	dir := t.TempDir()
	code, out, errs := tw(t, "keys", "signing", "create", "--name", "panel desk", "--store", db, "--by", "A. Analyst")
	if code != 0 || !strings.Contains(out, "BEGIN PUBLIC KEY") {
		t.Fatalf("signing create: %d %s %s", code, out, errs)
	}
	keyID := regexp.MustCompile(`signing key ([0-9a-f]{64})`).FindStringSubmatch(out)[1]
	if _, err := os.Stat(db + ".key"); err != nil {
		t.Fatalf("the seal key file: %v", err)
	}
	if _, out, _ := tw(t, "keys", "signing", "list", "--store", db); !strings.Contains(out, keyID) || strings.Contains(out, "PRIVATE") {
		t.Errorf("signing list: %s", out)
	}
	pub := filepath.Join(dir, "panel.pub")
	if code, _, errs := tw(t, "keys", "signing", "export", keyID[:12], "--public", "--out", pub, "--store", db); code != 0 {
		t.Fatalf("export public: %s", errs)
	}
	priv := filepath.Join(dir, "panel.key")
	if code, out, errs := tw(t, "keys", "signing", "export", keyID[:12], "--out", priv, "--store", db); code != 0 || strings.Contains(out, "PRIVATE KEY-----") {
		t.Fatalf("export private: %s %s", out, errs)
	}
	if fi, err := os.Stat(priv); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private key file mode: %v %v", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(priv); !strings.Contains(string(b), "BEGIN PRIVATE KEY") {
		t.Error("the private key file is not PKCS #8 PEM")
	}
	if code, _, _ := tw(t, "keys", "signing", "export", keyID[:12], "--out", priv, "--store", db); code == 0 {
		t.Error("a key file was overwritten")
	}

	pkg := filepath.Join(dir, "case")
	code, out, errs = tw(t, "case", "export", "445000101", "--from", "2026-03-01", "--to", "2026-03-04", "--out", pkg, "--store", db, "--by", "A. Analyst")
	if code != 0 {
		t.Fatalf("export: %d %s %s", code, out, errs)
	}
	for _, want := range []string{"SIM YU SAN IMO 8660313 MMSI 445000101", "signed by A. Analyst", "the same content as ingested", "0 not derived from the package"} {
		if !strings.Contains(out, want) {
			t.Errorf("export output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(errs, "GAP") {
		t.Errorf("gaps: %s", errs)
	}
	code, out, _ = tw(t, "case", "verify", pkg, "--key", pub)
	if code != 0 || !strings.Contains(out, "valid, trusted key") || !strings.Contains(out, "verified: every hash and every signature checks") {
		t.Fatalf("verify: %d %s", code, out)
	}
	if _, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command("sha256sum", "--quiet", "-c", "manifest-sha256.txt")
		cmd.Dir = pkg
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v %s", err, b)
		}
	}
	code, out, _ = tw(t, "case", "replay", pkg)
	if code != 0 || strings.Count(out, "identical, byte for byte") != 2 {
		t.Fatalf("replay: %d %s", code, out)
	}
	// A flipped byte: verify names the file; replay refuses.
	ev := filepath.Join(pkg, "data", "events.jsonl")
	orig, _ := os.ReadFile(ev)
	bad := append([]byte(nil), orig...)
	bad[len(bad)/2] ^= 1
	os.WriteFile(ev, bad, 0o644)
	code, out, errs = tw(t, "case", "verify", pkg)
	if code != 1 || !strings.Contains(out, "PROBLEM in data/events.jsonl") {
		t.Errorf("verify of a changed package: %d %s %s", code, out, errs)
	}
	if code, _, errs := tw(t, "case", "replay", pkg); code != 1 || !strings.Contains(errs, "does not verify") {
		t.Errorf("replay of a changed package: %d %s", code, errs)
	}
	os.WriteFile(ev, orig, 0o644)

	// A zip; another tenant signs it too. Without --by, $TIDEWATCH_USER
	// or $USER (unset here, as in many containers) the signer is the
	// login name, not "unknown" (found by a tester).
	t.Setenv("TIDEWATCH_USER", "")
	t.Setenv("USER", "")
	login, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(dir, "case.zip")
	if code, out, errs := tw(t, "case", "export", "8660313", "--from", "2026-03-01", "--to", "2026-03-04", "--out", zipPath, "--store", db); code != 0 || !strings.Contains(out, "signed by "+login.Username) {
		t.Fatalf("export zip: %d %s %s", code, out, errs)
	}
	if code, _, errs := tw(t, "keys", "tenant", "create", "panel", "--name", "Panel of Experts", "--store", db); code != 0 {
		t.Fatal(errs)
	}
	if code, _, errs := tw(t, "keys", "signing", "create", "--name", "expert", "--tenant", "panel", "--store", db); code != 0 {
		t.Fatal(errs)
	}
	code, out, errs = tw(t, "case", "sign", zipPath, "--tenant", "panel", "--by", "B. Expert", "--store", db)
	if code != 0 || !strings.Contains(out, "2 signatures") {
		t.Fatalf("sign: %d %s %s", code, out, errs)
	}
	code, out, _ = tw(t, "case", "verify", zipPath, "--key", pub, "--json")
	if code != 0 || strings.Count(out, `"valid": true`) != 2 || !strings.Contains(out, `"organization": "Panel of Experts"`) {
		t.Errorf("verify of the zip signed twice: %d %s", code, out)
	}
	if code, out, _ := tw(t, "case", "replay", zipPath); code != 0 || strings.Count(out, "identical") != 2 {
		t.Errorf("replay of the zip: %s", out)
	}

	// Into another store, with its AIS: the report there shows who signed.
	other := filepath.Join(dir, "other.db")
	if code, _, errs := tw(t, "init", "--store", other); code != 0 {
		t.Fatal(errs)
	}
	code, out, errs = tw(t, "case", "import", zipPath, "--key", pub, "--ingest", "--store", other, "--by", "C. Receiver")
	if code != 0 || !strings.Contains(out, "signed by B. Expert (Panel of Experts)") || !strings.Contains(out, "trusted true") || !strings.Contains(out, "ingest run") {
		t.Fatalf("import: %d %s %s", code, out, errs)
	}
	if _, out, _ := tw(t, "case", "list", "--store", other); !strings.Contains(out, "1 case files") {
		t.Errorf("case list: %s", out)
	}
	rep := filepath.Join(dir, "r.html")
	if code, _, errs := tw(t, "vessel", "8660313", "--as-of", "2026-03-04", "--window", "4d", "--report", rep, "--store", other); code != 0 {
		t.Fatalf("report: %s", errs)
	}
	html, _ := os.ReadFile(rep)
	for _, want := range []string{"Case files received", "B. Expert (Panel of Experts)", "valid, trusted key", "445000101", "Encounter"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("the receiver's report lacks %q", want)
		}
	}
	// An input that is gone: the package is written stating the gap, and
	// the command exits 1 saying what is missing.
	os.Rename(nmea, nmea+".away")
	defer os.Rename(nmea+".away", nmea)
	code, _, errs = tw(t, "case", "export", "445000101", "--from", "2026-03-01", "--to", "2026-03-04", "--out", filepath.Join(dir, "gap"), "--store", db)
	if code != 1 || !strings.Contains(errs, "GAP: input") || !strings.Contains(errs, "INCOMPLETE") ||
		!strings.Contains(errs, "is incomplete: 1 part(s) missing (input "+nmea) {
		t.Errorf("export with a missing input: %d %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "gap", "data", "case.json")); err != nil {
		t.Errorf("the incomplete package was not written: %v", err)
	}
}

// TestCaseExportRelativePaths: inputs given by relative paths (to ingest,
// and to case export --ais) are recorded by absolute path: an export made
// from another directory finds the ingested file, and the package names
// the file it read wherever it is read.
func TestCaseExportRelativePaths(t *testing.T) {
	// The embedded real sample: small, so the test is quick.
	work := t.TempDir()
	b, err := io.ReadAll(sample.Open())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "rel.nmea"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(work, "s.db")
	t.Chdir(work)
	if code, _, errs := tw(t, "ingest", "--store", db, "--create", "rel.nmea"); code != 0 {
		t.Fatalf("ingest: %s", errs)
	}
	if code, _, errs := tw(t, "keys", "signing", "create", "--name", "desk", "--store", db); code != 0 {
		t.Fatalf("signing key: %s", errs)
	}
	export := []string{"case", "export", "212250000", "--from", "2012-04-13", "--to", "2012-04-14", "--store", db}
	t.Chdir(t.TempDir())
	out := filepath.Join(work, "case")
	code, stdout, errs := tw(t, append(export, "--out", out)...)
	if code != 0 || strings.Contains(errs, "GAP") {
		t.Fatalf("export from another directory: %d %s %s", code, stdout, errs)
	}
	abs := filepath.Join(work, "rel.nmea")
	for _, pkg := range []string{out, filepath.Join(work, "case-ais")} {
		if pkg != out {
			t.Chdir(work)
			if code, _, errs := tw(t, append(export, "--ais", "rel.nmea", "--out", pkg)...); code != 0 {
				t.Fatalf("export --ais rel.nmea: %s", errs)
			}
		}
		var doc struct {
			Inputs []struct {
				Name string `json:"name"`
			} `json:"inputs"`
		}
		b, err := os.ReadFile(filepath.Join(pkg, "data", "case.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Inputs) != 1 || doc.Inputs[0].Name != abs {
			t.Errorf("%s records inputs %+v, want %s", pkg, doc.Inputs, abs)
		}
	}
}
