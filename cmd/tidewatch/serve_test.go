package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/indexcache"
	"github.com/tidewatch/tidewatch/store"
)

// TestServeDemo: the served demo has its people (one per role, and an
// underwriter in a second, four-eyes tenant), keys that act as them, and
// a watched portfolio whose vessels' scenario events raised alerts.
func TestServeDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo store")
	}
	key := make([]byte, 32)
	dir := t.TempDir()
	var uf uploadFlags
	uf.register(flag.NewFlagSet("serve", flag.ContinueOnError), true)
	s, st, keys, users, err := serveDemo(dir, slog.New(slog.NewTextHandler(io.Discard, nil)), key, &uf)
	if err != nil {
		t.Fatal(err)
	}
	defer closeService(s, st)
	if len(users) != 5 || len(keys) != 2 {
		t.Fatalf("%d users, %d keys", len(users), len(keys))
	}
	ctx := context.Background()
	for _, k := range keys {
		p, err := s.Authenticate(ctx, k.Secret)
		if err != nil || p.Person == "" {
			t.Errorf("demo key %s: %+v %v (want a person)", k.Name, p, err)
		}
	}
	for _, u := range users {
		if _, err := s.Login(ctx, u.tenant, u.name, u.password, ""); err != nil {
			t.Errorf("demo user %s/%s cannot sign in: %v", u.tenant, u.name, err)
		}
	}
	as, err := s.Alerts(ctx, localPrincipal("test"), store.AlertFilter{Portfolio: "demo-fleet"})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, a := range as {
		if a.Kind == app.AlertEvent && a.Severity == "high" {
			kinds[a.VesselRef]++
		}
	}
	for _, ref := range []string{"sts-tanker", "dprk-tanker", "night-owl"} {
		if kinds[ref] == 0 {
			t.Errorf("no high alert for the demo's %s: %+v", ref, as)
		}
	}
	// An upload to the demo is kept beside its store, as beside any
	// store's, so the demo's case files carry its lines.
	line := []byte("!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26\n")
	sum := fmt.Sprintf("%x", sha256.Sum256(line))
	path := filepath.Join(t.TempDir(), "up.nmea")
	os.WriteFile(path, line, 0o644)
	in, err := ingest.FileInput(path, func(ctx context.Context) (ais.Source, io.Closer, error) {
		return ais.OpenInput(ctx, path, ais.FeedOptions{})
	})
	if err != nil {
		t.Fatal(err)
	}
	in.Name = app.UploadInputName("up.nmea", sum)
	res, err := s.Ingest(ctx, localPrincipal("test"), app.IngestRequest{Inputs: []ingest.Input{in},
		Uploads: []app.Upload{{Input: in.Name, SHA256: sum, Size: int64(len(line)), Open: func() (io.ReadCloser, error) { return os.Open(path) }}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Uploads) != 1 || res.Uploads[0].NotKept != "" || res.Uploads[0].Stored == 0 {
		t.Fatalf("upload to the demo: %+v", res.Uploads)
	}
	if _, err := os.Stat(filepath.Join(dir, "tidewatch.db.uploads", sum+".gz")); err != nil {
		t.Errorf("the upload is not kept beside the demo store: %v", err)
	}
}

// TestOpenIndexCache: --index-cache defaults beside a SQLite store, to
// one directory per PostgreSQL database in the user cache directory (the
// password not part of its name), and "off" turns it off.
func TestOpenIndexCache(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	if c, program := openIndexCache("off", filepath.Join(dir, "tw.db"), log); c != nil || program != "" {
		t.Fatalf("off: %v %q", c, program)
	}
	c, program := openIndexCache("", filepath.Join(dir, "tw.db"), log)
	if d, ok := c.(*indexcache.Dir); !ok || d.Path() != filepath.Join(dir, "tw.db.index") || program == "" {
		t.Fatalf("beside SQLite: %v %q", c, program)
	}
	if st, err := os.Stat(filepath.Join(dir, "tw.db.index")); err != nil || !st.IsDir() {
		t.Fatalf("directory not made: %v", err)
	}
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "xdg"))
	a, _ := openIndexCache("", "postgres://u:secret@db.example/tw", log)
	b, _ := openIndexCache("", "postgres://u:other@db.example/tw", log)
	other, _ := openIndexCache("", "postgres://u:secret@db.example/tw2", log)
	da, ok := a.(*indexcache.Dir)
	if !ok || !strings.HasPrefix(da.Path(), filepath.Join(dir, "xdg", "tidewatch", "index-")) || strings.Contains(da.Path(), "secret") {
		t.Fatalf("PostgreSQL: %v", a)
	}
	if b.(*indexcache.Dir).Path() != da.Path() || other.(*indexcache.Dir).Path() == da.Path() {
		t.Errorf("one directory per database: %s %s %s", da.Path(), b.(*indexcache.Dir).Path(), other.(*indexcache.Dir).Path())
	}
	if c, _ := openIndexCache(filepath.Join(dir, "given"), "postgres://u@h/db", log); c.(*indexcache.Dir).Path() != filepath.Join(dir, "given") {
		t.Errorf("--index-cache DIR: %v", c)
	}
}
