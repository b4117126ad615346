package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/casefile"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/uploadarchive"
	"github.com/tidewatch/tidewatch/sim"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// TestUploadCarriedByCase: a gzipped AIS file sent to POST /v1/ingest is
// kept as received (named by its SHA-256), the job's result says so, and
// a case file of the scenario's tanker exported afterwards carries its
// lines, verifies and derives its events again; the server's temporary
// copy is gone.
func TestUploadCarriedByCase(t *testing.T) {
	var archive *uploadarchive.Dir
	e := freshEnvWith(t, func(dir string, cfg *app.Config) {
		archive = uploadarchive.New(filepath.Join(dir, "tidewatch.db.uploads"))
		seal := make([]byte, 32)
		rand.Read(seal)
		cfg.SealKey, cfg.Uploads = seal, archive
		cfg.Scratch = func() (app.ScratchStore, error) {
			return sqlite.Open(filepath.Join(t.TempDir(), "scratch.db"))
		}
	})
	ctx := context.Background()
	uploadDir := t.TempDir()
	ts := startServerEnv(t, e, Options{UploadDir: uploadDir})

	sc := sim.DefaultScenario
	sc.Duration, sc.Background, sc.DPRKTankerIMO = 72*time.Hour, 5, 8660313
	var plain, gz bytes.Buffer
	if err := sim.Run(sc, &plain, nil); err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(&gz)
	zw.Write(plain.Bytes())
	zw.Close()
	sum := sha256.Sum256(gz.Bytes())
	hexSum := hex.EncodeToString(sum[:])

	r := ts.call(t, "POST", "/v1/ingest?name=dprk-day.nmea.gz", e.keys[tenantOp][app.RoleAnalyst], gz.Bytes())
	if r.status != http.StatusAccepted {
		t.Fatalf("upload: %s", r)
	}
	var acc JobAccepted
	json.Unmarshal(r.body, &acc)
	if j := ts.waitJob(t, e.keys[tenantOp][app.RoleAnalyst], acc.Job.ID); j.State != app.JobDone {
		t.Fatalf("job %s: %s", j.State, j.Error)
	}
	var res app.IngestResult
	json.Unmarshal(ts.call(t, "GET", "/v1/jobs/"+acc.Job.ID+"/result", e.keys[tenantOp][app.RoleAnalyst], nil).body, &res)
	if len(res.Uploads) != 1 || res.Uploads[0].SHA256 != hexSum || res.Uploads[0].NotKept != "" || res.Uploads[0].Stored != int64(gz.Len()) {
		t.Fatalf("the job's uploads: %+v", res.Uploads)
	}
	// Kept as received (it came gzipped), under its SHA-256.
	kept, err := os.ReadFile(filepath.Join(archive.Path(), hexSum))
	if err != nil || !bytes.Equal(kept, gz.Bytes()) {
		t.Fatalf("the kept copy: %d bytes, %v", len(kept), err)
	}
	if left, _ := os.ReadDir(uploadDir); len(left) != 0 {
		t.Errorf("the upload's temporary copy is left: %v", left)
	}

	local := app.LocalPrincipal("exporter")
	if _, err := e.svc.CreateSigningKey(ctx, local, "desk"); err != nil {
		t.Fatal(err)
	}
	pkg, err := e.svc.ExportCase(ctx, local, app.CaseExportRequest{Vessel: store.VesselQuery{MMSI: 445000101},
		From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	p := pkg.Summary.Predicate
	if !p.Complete || p.Events == 0 || len(pkg.Summary.Inputs) != 1 {
		t.Fatalf("package: %+v %+v", p, pkg.Summary.Inputs)
	}
	in := pkg.Summary.Inputs[0]
	if !in.Used || !in.Kept || in.Name != app.UploadInputName("dprk-day.nmea.gz", hexSum) || in.SHA256 != hexSum || in.File != "data/ais/01-dprk-day.nmea" {
		t.Fatalf("input: %+v", in)
	}
	lines, _ := pkg.Bag.File(in.File)
	for _, l := range strings.SplitAfter(string(lines), "\n") {
		if l != "" && !bytes.Contains(plain.Bytes(), []byte(l)) {
			t.Fatalf("a line not in the upload: %q", l)
		}
	}
	if v := casefile.Verify(pkg.Bag, nil); !v.OK() {
		t.Fatalf("verify: %+v", v)
	}
	if rp, err := e.svc.ReplayCase(ctx, pkg.Bag); err != nil || !rp.Identical() {
		t.Fatalf("replay: %+v %v", rp, err)
	}
}
