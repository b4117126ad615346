package app_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/casefile"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/uploadarchive"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// uploadSeal seals the signing keys of uploadService's services (two on
// one store read each other's keys).
var uploadSeal = func() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}()

// uploadService is a service over an empty store keeping uploads in
// archive (nil: none, for why), with a signing key.
func uploadService(t *testing.T, st *sqlite.DB, archive *uploadarchive.Dir, why string) *app.Service {
	t.Helper()
	cfg := app.Config{Store: st, Now: func() time.Time { return now }, SealKey: uploadSeal, Scratch: scratchStores(t), UploadsOff: why}
	if archive != nil {
		cfg.Uploads = archive
	}
	s := app.New(cfg)
	t.Cleanup(func() { s.Close() })
	if _, err := s.EnsureLists(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// ingestUpload ingests a file as the API does an upload: from a temporary
// copy (removed after) under the upload's input name, its bytes to keep.
func ingestUpload(t *testing.T, s *app.Service, p app.Principal, name string, data []byte) app.IngestResult {
	t.Helper()
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	tmp := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(tmp)
	in, err := ingest.FileInput(tmp, func(ctx context.Context) (ais.Source, io.Closer, error) {
		return ais.OpenInput(ctx, tmp, ais.FeedOptions{})
	})
	if err != nil {
		t.Fatal(err)
	}
	in.Name = app.UploadInputName(name, hexSum)
	up := app.Upload{Input: in.Name, SHA256: hexSum, Size: int64(len(data)), Open: func() (io.ReadCloser, error) { return os.Open(tmp) }}
	res, err := s.Ingest(ctx, p, app.IngestRequest{Inputs: []ingest.Input{in}, Uploads: []app.Upload{up}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// exportVerifyReplay exports the tanker's case as p, checks it verifies
// and that its own replay derives its events again, byte for byte.
func exportVerifyReplay(t *testing.T, s *app.Service, p app.Principal) *app.CaseExportResult {
	t.Helper()
	res, err := s.ExportCase(ctx, p, app.CaseExportRequest{Vessel: store.VesselQuery{MMSI: 445000101}, From: caseFrom, To: caseTo})
	if err != nil {
		t.Fatal(err)
	}
	if r := casefile.Verify(res.Bag, nil); !r.OK() {
		t.Fatalf("verify: %+v", r)
	}
	rp, err := s.ReplayCase(ctx, res.Bag)
	if err != nil {
		t.Fatal(err)
	}
	if !rp.Identical() || rp.Events != res.Summary.Predicate.Events {
		t.Fatalf("replay: %+v", rp)
	}
	return res
}

// gapsOf joins a package's gaps.
func gapsOf(res *app.CaseExportResult) string { return strings.Join(res.Summary.Predicate.Gaps, "\n") }

// An AIS file received through the API is kept as received (gzipped, by
// SHA-256) and a case package carries its lines: complete, verified, its
// own replay identical, its events those of the store. Another tenant's
// package says nothing of who uploaded it nor where the server keeps it.
// Without the archive (serve --keep-uploads=false) the gap says why; a
// kept copy deleted or damaged is a gap, never a crash.
func TestCaseCarriesUploads(t *testing.T) {
	data, err := os.ReadFile(demoScenarioFile(t))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	archive := uploadarchive.New(filepath.Join(t.TempDir(), "s.db.uploads"))
	s := uploadService(t, st, archive, "")
	uploader := app.LocalPrincipal("uploader-marked-7f3")
	res := ingestUpload(t, s, uploader, "dprk-day.nmea", data)
	if len(res.Uploads) != 1 || res.Uploads[0].NotKept != "" || res.Uploads[0].Stored == 0 || res.Uploads[0].Stored >= int64(len(data)) {
		t.Fatalf("kept: %+v", res.Uploads)
	}
	t.Logf("upload of %d bytes kept in %d", len(data), res.Uploads[0].Stored)
	files, _, _ := archive.Usage()
	if files != 1 {
		t.Fatalf("the archive holds %d files", files)
	}
	// Another tenant's analyst exports the case.
	if _, err := s.CreateTenant(ctx, local, "insurer", "Insurer", store.TenantPolicy{}); err != nil {
		t.Fatal(err)
	}
	admin := app.Principal{Tenant: "insurer", Actor: "insurer-admin", Role: app.RoleAdmin}
	if _, err := s.CreateSigningKey(ctx, admin, "desk"); err != nil {
		t.Fatal(err)
	}
	analyst := app.Principal{Tenant: "insurer", Actor: "insurer-analyst", Role: app.RoleAnalyst}
	pkg := exportVerifyReplay(t, s, analyst)
	sum := pkg.Summary
	if !sum.Predicate.Complete || sum.Predicate.Events == 0 || len(sum.Inputs) != 1 {
		t.Fatalf("package: %+v %+v", sum.Predicate, sum.Inputs)
	}
	in := sum.Inputs[0]
	if !in.Used || !in.Kept || !strings.Contains(in.Check, "the same content as ingested") || in.File != "data/ais/01-dprk-day.nmea" || in.Stats.Kept == 0 {
		t.Fatalf("input: %+v", in)
	}
	if len(pkg.CrossCheck.MissingIDs) != 0 {
		t.Errorf("the store's events %v are not derived from the package's lines", pkg.CrossCheck.MissingIDs)
	}
	for _, pth := range pkg.Bag.Paths() {
		b, _ := pkg.Bag.File(pth)
		for _, secret := range []string{"uploader-marked-7f3", archive.Path(), filepath.Dir(archive.Path())} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s names %q", pth, secret)
			}
		}
	}

	// The kept copy damaged, then deleted: gaps, worded.
	kept, _ := filepath.Glob(filepath.Join(archive.Path(), "*.gz"))
	if len(kept) != 1 {
		t.Fatalf("kept files: %v", kept)
	}
	var other bytes.Buffer
	other.WriteString("!AIVDM,1,1,,A,15MgK45P3@G?fl0E`JbR0OwT0@MS,0*4E\n")
	writeGzip(t, kept[0], other.Bytes())
	res2, err := s.ExportCase(ctx, analyst, app.CaseExportRequest{Vessel: store.VesselQuery{MMSI: 445000101}, From: caseFrom, To: caseTo})
	if err != nil || res2.Summary.Predicate.Complete || !strings.Contains(gapsOf(res2), "does not match its SHA-256") {
		t.Errorf("a damaged kept copy: %q %v", gapsOf(res2), err)
	}
	os.Remove(kept[0])
	res2, err = s.ExportCase(ctx, analyst, app.CaseExportRequest{Vessel: store.VesselQuery{MMSI: 445000101}, From: caseFrom, To: caseTo})
	if err != nil || res2.Summary.Predicate.Complete || !strings.Contains(gapsOf(res2), "missing from the upload archive") || res2.Summary.Predicate.Events != 0 {
		t.Errorf("a deleted kept copy: %q %v", gapsOf(res2), err)
	}

	// A server that keeps no uploads: its gap says why.
	st2, err := sqlite.Open(filepath.Join(t.TempDir(), "s2.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	off := uploadService(t, st2, nil, "serve --keep-uploads=false")
	if _, err := off.CreateSigningKey(ctx, local, "desk"); err != nil {
		t.Fatal(err)
	}
	if r := ingestUpload(t, off, local, "dprk-day.nmea", data); len(r.Uploads) != 1 || r.Uploads[0].NotKept != "serve --keep-uploads=false" {
		t.Fatalf("not kept: %+v", r.Uploads)
	}
	// Exported later by a command that reads an archive (the store's
	// default folder): the record says why the bytes are not there.
	exp := uploadService(t, st2, uploadarchive.New(filepath.Join(t.TempDir(), "s2.db.uploads")), "")
	for _, svc := range []*app.Service{off, exp} {
		res3, err := svc.ExportCase(ctx, local, app.CaseExportRequest{Vessel: store.VesselQuery{MMSI: 445000101}, From: caseFrom, To: caseTo})
		if err != nil {
			t.Fatal(err)
		}
		if res3.Summary.Predicate.Complete || !strings.Contains(gapsOf(res3), "did not keep (serve --keep-uploads=false)") {
			t.Errorf("an upload not kept: %q", gapsOf(res3))
		}
	}
}

func writeGzip(t *testing.T, path string, data []byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := newGzip(&buf)
	zw.Write(data)
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// scenarioCSV writes the demo scenario as a MarineCadastre export: a row
// per position report with the ship's last static fields.
func scenarioCSV(t *testing.T) []byte {
	t.Helper()
	f, err := os.Open(demoScenarioFile(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ais.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	type static struct {
		name, call string
		imo        uint32
		typ        uint8
		draught    float64
	}
	statics := map[uint32]static{}
	var out bytes.Buffer
	out.WriteString("MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass\n")
	var m ais.Message
	for r.Next(&m) == nil {
		if m.Type == 5 {
			d, _ := m.DraughtMetres()
			statics[m.MMSI] = static{strings.TrimSpace(m.ShipName), strings.TrimSpace(m.CallSign), m.IMO, m.ShipType, d}
			continue
		}
		lat, lon, ok := m.LatLon()
		if !m.IsPosition() || !ok || m.Time.IsZero() {
			continue
		}
		sog, _ := m.SpeedKnots()
		cog, _ := m.CourseDegrees()
		st := statics[m.MMSI]
		imo := ""
		if st.imo != 0 {
			imo = fmt.Sprintf("IMO%07d", st.imo)
		}
		fmt.Fprintf(&out, "%d,%s,%.5f,%.5f,%.1f,%.1f,%d,%s,%s,%s,%d,%d,100,20,%.1f,NA,A\n", m.MMSI, m.Time.UTC().Format("2006-01-02T15:04:05"),
			lat, lon, sog, cog, m.Heading, st.name, imo, st.call, st.typ, m.Status, st.draught)
	}
	return out.Bytes()
}

// A decoded CSV input (a file ingested, and the same rows uploaded): the
// package carries its header and the tanker's rows, and its own replay
// derives its events again from them.
func TestCaseCarriesCSVRows(t *testing.T) {
	data := scenarioCSV(t)
	path := filepath.Join(t.TempDir(), "scenario.csv")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := uploadService(t, st, uploadarchive.New(filepath.Join(t.TempDir(), "up")), "")
	if _, err := s.CreateSigningKey(ctx, local, "desk"); err != nil {
		t.Fatal(err)
	}
	if _, err := ingestFile(s, path); err != nil {
		t.Fatal(err)
	}
	pkg := exportVerifyReplay(t, s, local)
	sum := pkg.Summary
	if !sum.Predicate.Complete || sum.Predicate.Events == 0 || len(sum.Inputs) != 1 {
		t.Fatalf("package: %+v %+v", sum.Predicate, sum.Inputs)
	}
	in := sum.Inputs[0]
	if !in.Used || in.Format != "csv" || !strings.Contains(in.Check, "the same content as ingested") || in.Stats.Kept == 0 {
		t.Fatalf("input: %+v", in)
	}
	rows, _ := pkg.Bag.File(in.File)
	lines := strings.Split(strings.TrimSuffix(string(rows), "\n"), "\n")
	if !strings.HasPrefix(lines[0], "MMSI,BaseDateTime,") || int64(len(lines)) != in.Stats.KeptLines {
		t.Fatalf("rows: %d lines, header %q, stats %+v", len(lines), lines[0], in.Stats)
	}
	for _, l := range lines {
		if !bytes.Contains(data, []byte(l+"\n")) {
			t.Fatalf("a row not in the input: %q", l)
		}
	}
	if len(pkg.CrossCheck.MissingIDs) != 0 {
		t.Errorf("the store's events %v are not derived from the package's rows", pkg.CrossCheck.MissingIDs)
	}
	// The same rows uploaded, to a store of their own: carried too.
	st2, err := sqlite.Open(filepath.Join(t.TempDir(), "s2.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	s2 := uploadService(t, st2, uploadarchive.New(filepath.Join(t.TempDir(), "up2")), "")
	if _, err := s2.CreateSigningKey(ctx, local, "desk"); err != nil {
		t.Fatal(err)
	}
	ingestUpload(t, s2, local, "scenario.csv", data)
	pkg2 := exportVerifyReplay(t, s2, local)
	if in2 := pkg2.Summary.Inputs[0]; !pkg2.Summary.Predicate.Complete || !in2.Kept || in2.Format != "csv" || pkg2.Summary.Predicate.Events != sum.Predicate.Events {
		t.Errorf("the uploaded CSV: %+v %+v", pkg2.Summary.Predicate, in2)
	}
}

func newGzip(w io.Writer) *gzip.Writer { return gzip.NewWriter(w) }

// amoreMiaRows are the ten rows of MMSI 338415278 (AMORE MIA) in a real
// MarineCadastre day (US waters, 2022-01-03; public domain data, from
// ../shared/data/ais/marinecadastre_2022-01-03_first99999rows.csv.gz,
// SOURCES.md there): twenty minutes at a berth with two positions 79 and
// 125 km off, which the detectors report as data errors.
var amoreMiaRows = "" +
	"\"MMSI\",\"BaseDateTime\",\"LAT\",\"LON\",\"SOG\",\"COG\",\"Heading\",\"VesselName\",\"IMO\",\"CallSign\",\"VesselType\",\"Status\",\"Length\",\"Width\",\"Draft\",\"Cargo\",\"TransceiverClass\"\n" +
	"338415278,\"2022-01-03T00:05:07\",40.03998,-74.05952,3.7,307.8,511,\"AMORE MIA\",\"IMO0000000\",\"\",37,NA,15,5,NA,NA,\"B\"\n" +
	"338415278,\"2022-01-03T00:06:37\",40.04001,-74.0596,1.2,131,511,\"AMORE MIA\",\"IMO0000000\",\"\",37,NA,15,5,NA,NA,\"B\"\n" +
	"338415278,\"2022-01-03T00:08:07\",40.03994,-74.05951,0,206.5,511,\"AMORE MIA\",\"IMO0000000\",\"\",37,NA,15,5,NA,NA,\"B\"\n" +
	"338415278,\"2022-01-03T00:10:38\",40.03994,-74.05952,0,203.7,511,\"AMORE MIA\",\"IMO0000000\",\"\",37,NA,15,5,NA,NA,\"B\"\n" +
	"338415278,\"2022-01-03T00:13:37\",40.03996,-74.0595,0,217.5,511,\"AMORE MIA\",\"IMO0000000\",\"\",37,NA,15,5,NA,NA,\"B\"\n" +
	"338415278,\"2022-01-03T00:16:07\",40.03995,-74.05946,0,189.2,511,\"AMORE MIA\",\"IMO0000000\",\"\",37,NA,15,5,NA,NA,\"B\"\n" +
	"338415278,\"2022-01-03T00:09:08\",40.03993,-74.05951,0,199.4,511,\"AMORE MIA\",\"IMO0000000\",\"\",37,NA,15,5,NA,NA,\"B\"\n" +
	"338415278,\"2022-01-03T00:18:40\",40.47373,-74.79603,4.9,151,511,\"AMORE MIA\",\"IMO0000000\",\"\",37,NA,15,5,NA,NA,\"B\"\n" +
	"338415278,\"2022-01-03T00:20:38\",40.72318,-75.2331,9.2,143.5,511,\"AMORE MIA\",\"IMO0000000\",\"\",37,NA,15,5,NA,NA,\"B\"\n" +
	"338415278,\"2022-01-03T00:23:36\",40.03992,-74.05941,0,197.7,511,\"AMORE MIA\",\"IMO0000000\",\"\",37,NA,15,5,NA,NA,\"B\"\n"

// The package's lines are the whole stream: its derivation flushes at
// their end, so the last fixes (held in the detectors' reorder window
// until later data comes) and the occurrences still open count. A store
// flushed after the upload holds the two outliers; the package derived
// them too (it derived none before: all its fixes were in the window).
func TestCasePackageFlushed(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := uploadService(t, st, uploadarchive.New(filepath.Join(t.TempDir(), "up")), "")
	if _, err := s.CreateSigningKey(ctx, local, "desk"); err != nil {
		t.Fatal(err)
	}
	ingestUpload(t, s, local, "marinecadastre-day.csv", []byte(amoreMiaRows))
	if _, err := s.Ingest(ctx, local, app.IngestRequest{Flush: true}); err != nil {
		t.Fatal(err)
	}
	res, err := s.ExportCase(ctx, local, app.CaseExportRequest{Vessel: store.VesselQuery{MMSI: 338415278},
		From: time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC), To: time.Date(2022, 1, 4, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	cc := res.CrossCheck
	if !res.Summary.Predicate.Complete || cc.StoreEvents != 2 || cc.PackageEvents != 2 || len(cc.MissingIDs)+len(cc.ChangedIDs) != 0 {
		t.Fatalf("package %+v, cross-check %+v", res.Summary.Predicate, cc)
	}
	if rp, err := s.ReplayCase(ctx, res.Bag); err != nil || !rp.Identical() {
		t.Fatalf("replay: %+v %v", rp, err)
	}
}
