package liststore_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/liststore"
)

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
