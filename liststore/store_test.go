package liststore_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/liststore"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/snapshot"
)

func embeddedBundles(t *testing.T, list string) []sanctions.Bundle {
	t.Helper()
	bs, _ := sanctions.Group(snapshot.Files())
	var out []sanctions.Bundle
	for _, b := range bs {
		if b.List == list {
			out = append(out, b)
		}
	}
	return out
}

func TestImportVersionsAndHistory(t *testing.T) {
	st, err := liststore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	un := embeddedBundles(t, "un") // 2025-04-19, 2026-02-27 by name
	if len(un) != 2 {
		t.Fatalf("%d UN bundles", len(un))
	}
	newer, older := un[1], un[0]
	if !strings.Contains(newer.MainFile().Name, "2026") {
		newer, older = older, newer
	}
	res, err := st.Import(newer, snapshot.Taken, "test", liststore.DefaultGuard)
	if err != nil || res.Outcome != liststore.Stored {
		t.Fatalf("import newer: %+v %v", res, err)
	}
	// An older version is kept as history and does not become current.
	res, err = st.Import(older, snapshot.Taken, "test", liststore.DefaultGuard)
	if err != nil || res.Outcome != liststore.History {
		t.Fatalf("import older: %+v %v", res, err)
	}
	if id, _ := st.CurrentID("un"); id != "un@2026-02-27-66b392a4" {
		t.Errorf("current %s", id)
	}
	vs, err := st.Versions("un")
	if err != nil || len(vs) != 2 || vs[0].ID != "un@2025-04-19-929a40ec" {
		t.Errorf("versions %+v %v", vs, err)
	}
	// Re-importing is a no-op.
	if res, _ := st.Import(newer, snapshot.Taken, "test", liststore.DefaultGuard); res.Outcome != liststore.Unchanged {
		t.Errorf("re-import %s", res.Outcome)
	}
	// A stored version reloads to the same content.
	ds, err := st.Load("un@2026-02-27-66b392a4")
	if err != nil || ds.Version.Total != 1003 || ds.Entities[0].Listings[0].Version != "un@2026-02-27-66b392a4" {
		t.Fatalf("load: %v", err)
	}
	cur, err := st.Current()
	if err != nil || len(cur) != 1 {
		t.Fatalf("current %v", err)
	}
	// Editing a stored file is detected on load.
	dir := filepath.Join(st.Root(), "lists", "un", "un@2026-02-27-66b392a4", string(sanctions.FormatUNXML))
	entries, _ := os.ReadDir(dir)
	p := filepath.Join(dir, entries[0].Name())
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), "KOREA ACHIM", "KOREA ACHIN", 1)), 0o644)
	if _, err := st.Load("un@2026-02-27-66b392a4"); err == nil || !strings.Contains(err.Error(), "modified") {
		t.Errorf("tampered store loaded: %v", err)
	}
}

func TestImportFailureKeepsCurrent(t *testing.T) {
	dir := t.TempDir()
	st, _ := liststore.Open(dir)
	eu := embeddedBundles(t, "eu")[0]
	if _, err := st.Import(eu, snapshot.Taken, "test", liststore.DefaultGuard); err != nil {
		t.Fatal(err)
	}
	// A newer EU file that is a truncated copy: header plus two rows.
	broken := filepath.Join(dir, "eu_2026-01-01.csv")
	rc, _ := eu.MainFile().Open()
	buf := make([]byte, 4000)
	n, _ := rc.Read(buf)
	rc.Close()
	lines := strings.SplitAfter(string(buf[:n]), "\n")
	os.WriteFile(broken, []byte(strings.Join(lines[:3], "")), 0o644)
	files, _ := liststore.FromPaths([]string{broken})
	bs, _ := sanctions.Group(files)
	_, err := st.Import(bs[0], time.Now(), broken, liststore.DefaultGuard)
	if err == nil || !strings.Contains(err.Error(), "looks truncated") {
		t.Fatalf("truncated import: %v", err)
	}
	if id, _ := st.CurrentID("eu"); id != "eu@2025-12-17-e615d3ab" {
		t.Errorf("current %s", id)
	}
	// With the guard off it is accepted as the newer version.
	if res, err := st.Import(bs[0], time.Now(), broken, liststore.Guard{}); err != nil || res.Outcome != liststore.Stored {
		t.Errorf("guard off: %+v %v", res, err)
	}
	attempts, _ := st.Attempts("eu")
	if len(attempts) != 3 || attempts[1].Outcome != "failed" {
		t.Errorf("attempts %+v", attempts)
	}
}

func TestFromPaths(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "SOURCES.md"), []byte("# notes"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.xml"), []byte("<x/>"), 0o644)
	os.MkdirAll(filepath.Join(dir, ".hidden"), 0o755)
	os.WriteFile(filepath.Join(dir, ".hidden", "b.xml"), []byte("<x/>"), 0o644)
	files, err := liststore.FromPaths([]string{dir})
	if err != nil || len(files) != 1 || !strings.HasSuffix(files[0].Name, "a.xml") {
		t.Errorf("FromPaths = %v, %v", files, err)
	}
	if _, err := liststore.FromPaths([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("missing path accepted")
	}
}
