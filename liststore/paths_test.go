package liststore_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/liststore"
)

func names(t *testing.T, root string, paths []string) []string {
	t.Helper()
	files, err := liststore.FromPaths(paths)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		r, _ := filepath.Rel(root, f.Name)
		out = append(out, filepath.ToSlash(r))
	}
	return out
}

func write(t *testing.T, root string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A directory gives its top-level list files and those of its list
// sub-folders, nothing deeper and no other sub-folder (issue 13: test data
// was merged into the real lists).
func TestFromPathsReadsTheListLayoutOnly(t *testing.T) {
	root := t.TempDir()
	write(t, root, "SOURCES.md", "extra.xml", "un/un.xml", "ofac/sdn.csv", "ofac/SOURCES.md",
		"uk_derived/subjects.csv", "uk_derived_2026-04-29/subjects.csv", "eu_derived/eu.csv",
		"testdata/ftm_dprk.jsonl", "sanctions/testdata/ftm_dprk.jsonl", "un/old/un.xml", ".hidden/x.xml")
	got := strings.Join(names(t, root, []string{root}), " ")
	want := "eu_derived/eu.csv extra.xml ofac/sdn.csv uk_derived/subjects.csv uk_derived_2026-04-29/subjects.csv un/un.xml"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	ex, _ := liststore.Expand([]string{root})
	ignored := strings.Join(ex.Ignored, "\n")
	for _, d := range []string{"testdata", "sanctions", filepath.Join("un", "old")} {
		if !strings.Contains(ignored, filepath.Join(root, d)+string(filepath.Separator)+": not a list folder") {
			t.Errorf("%s not reported as ignored: %s", d, ignored)
		}
	}
	// A file given by name is read whatever its folder.
	if got := names(t, root, []string{filepath.Join(root, "testdata", "ftm_dprk.jsonl")}); len(got) != 1 {
		t.Errorf("explicit file: %v", got)
	}
}

// The repository itself: its test data is not taken for lists.
func TestFromPathsSkipsRepositoryTestData(t *testing.T) {
	files, err := liststore.FromPaths([]string{".."})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.Contains(filepath.ToSlash(f.Name), "testdata") {
			t.Errorf("read %s", f.Name)
		}
	}
}

func TestFromPathsManifest(t *testing.T) {
	root := t.TempDir()
	write(t, root, "un/un.xml", "ofac/sdn.csv", "mine/list.csv")
	os.WriteFile(filepath.Join(root, liststore.ManifestName), []byte("# only these\nun/un.xml\n\nmine/list.csv\n"), 0o644)
	if got := strings.Join(names(t, root, []string{root}), " "); got != "mine/list.csv un/un.xml" {
		t.Errorf("manifest dir: %s", got)
	}
	if got := strings.Join(names(t, root, []string{filepath.Join(root, liststore.ManifestName)}), " "); got != "mine/list.csv un/un.xml" {
		t.Errorf("manifest file: %s", got)
	}
	os.WriteFile(filepath.Join(root, liststore.ManifestName), []byte("un/missing.xml\n"), 0o644)
	if _, err := liststore.FromPaths([]string{root}); err == nil || !strings.Contains(err.Error(), ":1:") {
		t.Errorf("missing manifest entry: %v", err)
	}
}

// The shared data layout reads whole: every list file, no notes.
func TestFromPathsSharedLayout(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "data", "lists")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("shared data absent")
	}
	files, err := liststore.FromPaths([]string{dir})
	if err != nil || len(files) != 20 {
		t.Errorf("%d files, %v", len(files), err)
	}
}
