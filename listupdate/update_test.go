package listupdate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/sanctions/snapshot"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// snapshotBytes returns an embedded snapshot file, decompressed.
func snapshotBytes(t *testing.T, suffix string) []byte {
	t.Helper()
	for _, f := range snapshot.Files() {
		if strings.HasSuffix(f.Name, suffix) {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("no snapshot file %s", suffix)
	return nil
}

// publisher is a local stand-in for the list publishers: it serves
// whatever bytes a test puts under a path, and can misbehave.
type publisher struct {
	files map[string][]byte
	// shortBy makes the server promise more bytes than it sends.
	shortBy map[string]int
}

func (p *publisher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, ok := p.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if n := p.shortBy[r.URL.Path]; n > 0 {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)+n))
		w.WriteHeader(http.StatusOK)
		w.Write(b)
		// Hijack and close so the client sees the body end early.
		if hj, ok := w.(http.Hijacker); ok {
			conn, _, _ := hj.Hijack()
			conn.Close()
		}
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// updater updates lists through the application, from a local publisher.
type updater struct {
	s *app.Service
	d *Downloader
}

func (u *updater) update(src Source) (app.VersionImport, error) {
	res, err := u.s.UpdateLists(context.Background(), app.LocalPrincipal("test"), []app.ListSource{u.d.Source(src)}, 0)
	if err != nil {
		return app.VersionImport{}, err
	}
	if len(res.Versions) != 1 {
		return app.VersionImport{}, fmt.Errorf("%d versions", len(res.Versions))
	}
	v := res.Versions[0]
	if v.Outcome == app.OutcomeFailed {
		return v, errors.New(v.Reason)
	}
	return v, nil
}

// inForce is the list's version in force now.
func (u *updater) inForce(list string) string {
	vs, _ := u.s.ListVersions(context.Background(), app.LocalPrincipal("test"))
	for _, v := range vs {
		if v.List == list && v.InForce {
			return v.ID
		}
	}
	return ""
}

func newUpdater(t *testing.T) (*updater, *publisher, *httptest.Server) {
	pub := &publisher{files: map[string][]byte{}, shortBy: map[string]int{}}
	srv := httptest.NewServer(pub)
	t.Cleanup(srv.Close)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	s := app.New(app.Config{Store: st})
	t.Cleanup(func() { s.Close(); st.Close() })
	return &updater{s: s, d: &Downloader{Client: srv.Client(), Timeout: time.Minute}}, pub, srv
}

func TestUpdateUN(t *testing.T) {
	u, pub, srv := newUpdater(t)
	src := Source{List: "un", URLs: []string{srv.URL + "/resources/xml/en/consolidated.xml"}}
	old := snapshotBytes(t, "un_consolidated_2025-04-19.xml")
	cur := snapshotBytes(t, "un_consolidated_2026-02-27.xml")

	pub.files["/resources/xml/en/consolidated.xml"] = old
	res, err := u.update(src)
	if err != nil || res.Outcome != app.OutcomeStored || res.Version.ID != "un@2025-04-19-929a40ec" {
		t.Fatalf("first update: %+v, %v", res, err)
	}
	// Same content again: unchanged.
	if res, err = u.update(src); err != nil || res.Outcome != app.OutcomeUnchanged {
		t.Fatalf("second update: %+v, %v", res, err)
	}
	// The publisher moves on.
	pub.files["/resources/xml/en/consolidated.xml"] = cur
	res, err = u.update(src)
	if err != nil || res.Outcome != app.OutcomeStored || res.Version.ID != "un@2026-02-27-66b392a4" || res.Previous != "un@2025-04-19-929a40ec" {
		t.Fatalf("third update: %+v, %v", res, err)
	}

	// Every kind of bad download keeps the current version.
	bad := []struct {
		name  string
		setup func()
		want  string
	}{
		{"404", func() { delete(pub.files, "/resources/xml/en/consolidated.xml") }, "404"},
		{"truncated transfer", func() {
			pub.files["/resources/xml/en/consolidated.xml"] = cur[:len(cur)/2]
			pub.shortBy["/resources/xml/en/consolidated.xml"] = len(cur) / 2
		}, "download"},
		{"truncated file", func() {
			delete(pub.shortBy, "/resources/xml/en/consolidated.xml")
			pub.files["/resources/xml/en/consolidated.xml"] = cur[:len(cur)/2]
		}, "malformed XML"},
		{"not a list", func() { pub.files["/resources/xml/en/consolidated.xml"] = []byte("<html>maintenance</html>") }, "not a un version"},
		{"binary junk", func() { pub.files["/resources/xml/en/consolidated.xml"] = bytes.Repeat([]byte{0, 0xff, 7}, 1000) }, "not a un version"},
	}
	for _, b := range bad {
		b.setup()
		_, err := u.update(src)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: error %v, want it to mention %q", b.name, err, b.want)
		}
		if id := u.inForce("un"); id != "un@2026-02-27-66b392a4" {
			t.Errorf("%s: version in force is now %s", b.name, id)
		}
	}
	attempts, _ := u.s.ListImports(context.Background(), app.LocalPrincipal("test"), "un")
	failed := 0
	for _, a := range attempts {
		if a.Outcome == "failed" {
			failed++
			if a.Reason == "" {
				t.Errorf("failed attempt without reason: %+v", a)
			}
		}
	}
	if failed != len(bad) {
		t.Errorf("%d failures logged, want %d", failed, len(bad))
	}
}

// A CSV cut at a row boundary still parses; the shrink guard refuses it.
func TestUpdateRefusesShrunkenCSV(t *testing.T) {
	u, pub, srv := newUpdater(t)
	names := []string{"SDN.CSV", "ADD.CSV", "ALT.CSV", "SDN_COMMENTS.CSV"}
	local := []string{"sdn_2024-05-03.csv", "add_2025-02-27.csv", "alt_2025-02-27.csv", "sdn_comments_2025-02-27.csv"}
	var urls []string
	for i, n := range names {
		pub.files["/exports/"+n] = snapshotBytes(t, local[i])
		urls = append(urls, srv.URL+"/exports/"+n)
	}
	src := Source{List: "ofac-sdn", URLs: urls}
	res, err := u.update(src)
	if err != nil || res.Outcome != app.OutcomeStored || res.Version.Total != 14965 {
		t.Fatalf("update: %+v, %v", res, err)
	}
	full := pub.files["/exports/SDN.CSV"]
	cut := full[:bytes.Index(full, []byte("\n17104,"))+1] // keeps whole rows up to RYONG GUN BONG
	pub.files["/exports/SDN.CSV"] = cut
	if _, err := u.update(src); err == nil || !strings.Contains(err.Error(), "looks truncated") {
		t.Fatalf("shrunken list accepted: %v", err)
	}
	if id := u.inForce("ofac-sdn"); id != res.Version.ID {
		t.Errorf("in force: %s", id)
	}
	// The size limit refuses oversized files.
	pub.files["/exports/SDN.CSV"] = full
	u.d.MaxBytes = 1000
	if _, err := u.update(src); err == nil || !strings.Contains(err.Error(), "size limit") {
		t.Errorf("oversized download: %v", err)
	}
}

func TestReadConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"sources":[{"list":"un","urls":["http://127.0.0.1/x.xml"]}],"timeout":"1m"}`), 0o644)
	c, err := ReadConfig(good)
	if err != nil || len(c.Sources) != 1 || c.Timeout != "1m" {
		t.Errorf("ReadConfig = %+v, %v", c, err)
	}
	for _, bad := range []string{`{"sources":[{"list":"nope","urls":["x"]}]}`, `{"sources":[{"list":"un"}]}`, `not json`} {
		p := filepath.Join(dir, "bad.json")
		os.WriteFile(p, []byte(bad), 0o644)
		if _, err := ReadConfig(p); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	if n := fileNameFor("https://example.org/a/CONS_PRIM.CSV?x=1", 3); n != "03-CONS_PRIM.CSV" {
		t.Errorf("fileNameFor = %q", n)
	}
	if n := fileNameFor("https://example.org/", 0); n != "00-list-0" {
		t.Errorf("fileNameFor = %q", n)
	}
}
