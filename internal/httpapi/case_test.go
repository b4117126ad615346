package httpapi

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/casefile"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
)

// testPackage is a small signed case file about the scenario's DPRK
// tanker, zipped (the routes take zips).
func testPackage(t testing.TB) []byte {
	t.Helper()
	ev, _ := json.Marshal(map[string]any{"id": "5b0f584a575cf1d9", "kind": "encounter", "severity": "high", "status": "closed",
		"vessels": []map[string]any{{"mmsi": dprkMMSI}, {"mmsi": foreignMMSI}}, "start": scenarioStart, "end": scenarioStart.Add(5 * time.Hour), "lat": 38.2, "lon": 124.0, "details": map[string]any{}})
	b, err := casefile.New(map[string][]byte{"data/events.jsonl": append(ev, '\n'), "data/profile.json": []byte(`{}` + "\n")},
		[]casefile.InfoField{{Label: "Source-Organization", Value: "Test panel"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Seal(casefile.Predicate{Vessel: casefile.PredicateVessel{IMO: dprkIMO, MMSIs: []uint32{dprkMMSI}}, From: scenarioStart, To: scenarioEnd,
		ExportedBy: "tester", Organization: "Test panel", Recommendation: "decline", Score: 450, Events: 1, Complete: true, Gaps: []string{}}); err != nil {
		t.Fatal(err)
	}
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	if err := b.Sign(k, "Test signer", "Test panel", scenarioEnd); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.WriteZip(&buf, "case", scenarioEnd); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// caseCases are valid calls of the case file routes.
func caseCases(t testing.TB) map[string]routeCase {
	pkg := testPackage(t)
	zipHeader := http.Header{"Content-Type": {"application/zip"}}
	return map[string]routeCase{
		"GET /v1/signing-keys":  {role: app.RoleViewer},
		"POST /v1/signing-keys": {role: app.RoleAdmin, body: SigningKeyRequest{Name: fmt.Sprintf("desk %d", tenantSeq.Add(1))}, status: http.StatusCreated},
		"POST /v1/cases/verify": {role: app.RoleViewer, body: pkg, header: zipHeader, check: func(t *testing.T, r reply) {
			var rep casefile.Report
			if err := json.Unmarshal(r.body, &rep); err != nil || !rep.Intact() || len(rep.Signatures) != 1 {
				t.Errorf("verify: %s", r)
			}
		}},
		"POST /v1/cases/import":          {role: app.RoleAnalyst, body: pkg, header: zipHeader, status: http.StatusCreated},
		"GET /v1/vessels/{vessel}/cases": {role: app.RoleViewer, path: "/v1/vessels/" + strconv.Itoa(dprkIMO) + "/cases"},
	}
}

// A tenant's imported case is its own; a changed package is refused with
// the file named; the tenant's public keys are listed, never a private one.
func TestCaseRoutes(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{})
	pkg := testPackage(t)
	zh := func(key string) http.Header {
		return http.Header{"Content-Type": {"application/zip"}, "Authorization": {"Bearer " + key}}
	}
	r := ts.callHeaders(t, "POST", "/v1/cases/import", pkg, zh(e.key(tenantB, app.RoleAnalyst)))
	var c store.ImportedCase
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &c) != nil || len(c.Signers) != 1 || c.Signers[0].Name != "Test signer" || !c.Signers[0].Valid || c.Signers[0].Trusted {
		t.Fatalf("import: %s", r)
	}
	for _, tn := range []string{tenantB, tenantOp} {
		r := ts.call(t, "GET", fmt.Sprintf("/v1/vessels/%d/cases", dprkMMSI), e.key(tn, app.RoleViewer), nil)
		var cs []store.ImportedCase
		json.Unmarshal(r.body, &cs)
		has := false
		for _, x := range cs {
			has = has || x.ID == c.ID && x.Tenant == tn
			if x.Tenant != tn {
				t.Errorf("%s sees %s's case", tn, x.Tenant)
			}
		}
		if tn == tenantB && !has {
			t.Errorf("%s does not see its case: %s", tn, r)
		}
	}
	// A changed package: refused, the file named.
	b, _ := casefile.ReadZip(pkg)
	b.Put("data/profile.json", []byte(`{"changed":true}`+"\n"))
	var buf bytes.Buffer
	b.WriteZip(&buf, "case", scenarioEnd)
	unchanged(t, "import of a changed package", func() {
		r := ts.callHeaders(t, "POST", "/v1/cases/import", buf.Bytes(), zh(e.key(tenantB, app.RoleAnalyst)))
		checkBadAnswer(t, "import of a changed package", r, 400, app.CodeInvalid, "data/profile.json")
	})
	unchanged(t, "not a zip", func() {
		r := ts.callHeaders(t, "POST", "/v1/cases/verify", []byte("hello"), zh(e.key(tenantB, app.RoleViewer)))
		checkBadAnswer(t, "not a zip", r, 400, app.CodeInvalid, "package")
	})
	r = ts.call(t, "GET", "/v1/signing-keys", e.key(tenantA, app.RoleViewer), nil)
	if bytes.Contains(r.body, []byte("PRIVATE")) || bytes.Contains(r.body, []byte("sealed")) {
		t.Errorf("signing keys answer holds a private key: %s", r)
	}
}

// TestCaseZipBombRefused: a package of about 100 KiB that expands to
// 100 MiB (a zip bomb: zeros) is refused by verify and import with 413
// and the limit named, before it is inflated (casefile.ServerLimits: 50
// times the upload, 64 MiB at least).
func TestCaseZipBombRefused(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{})
	src := testPackage(t)
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		zw.Copy(f)
	}
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "case/data/ais/zeros.nmea", Method: zip.Deflate})
	zeros := make([]byte, 1<<20)
	for range 100 {
		w.Write(zeros)
	}
	zw.Close()
	t.Logf("bomb: %d bytes", out.Len())
	for _, path := range []string{"/v1/cases/verify", "/v1/cases/import"} {
		unchanged(t, path, func() {
			r := ts.callHeaders(t, "POST", path, out.Bytes(), http.Header{"Content-Type": {"application/zip"}, "Authorization": {"Bearer " + e.key(tenantB, app.RoleAnalyst)}})
			checkBadAnswer(t, path, r, http.StatusRequestEntityTooLarge, app.CodeTooLarge, "64 MiB")
		})
	}
}
