package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	s, st, keys, users, err := serveDemo(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)), key)
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
		if _, err := s.Login(ctx, u.tenant, u.name, u.password); err != nil {
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
