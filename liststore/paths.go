// Package liststore keeps sanctions-list versions on disk: every import's
// raw files, content-addressed, with its metadata, and which version of each
// list is current. A failed import never touches the current version. It
// also turns local paths into list files.
package liststore

import (
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/tidewatch/tidewatch/sanctions"
)

// ManifestName is the file that, in a list directory, says exactly which
// files to read.
const ManifestName = "lists.manifest"

// ListFolders are the sub-folders of a list directory that FromPaths reads
// (only their top level), after the layout of shared/data/lists; a name
// followed by "_YYYY-MM-DD" (uk_derived_2026-04-29) counts too.
var ListFolders = []string{"un", "ofac", "uk", "uk_derived", "eu", "eu_derived", "opensanctions"}

// Expanded is what FromPaths found: the list files, and what it left out
// of the directories it was given, with the reason.
type Expanded struct {
	Files   []sanctions.File
	Ignored []string
}

// FromPaths expands files and directories into list files, as Expand.
func FromPaths(paths []string) ([]sanctions.File, error) {
	ex, err := Expand(paths)
	return ex.Files, err
}

// Expand turns paths into list files. Files ending in .gz are
// decompressed as they are read.
//   - A file is read whatever its name; a file named *.manifest is a
//     manifest.
//   - A directory holding lists.manifest is read as that manifest says.
//   - Any other directory: the list files (.xml, .csv, .json, .jsonl, .ftm,
//     .txt, each maybe .gz) at its top level and at the top level of its
//     list sub-folders (ListFolders). Nothing deeper, no other sub-folder
//     (test data such as sanctions/testdata is never merged in by
//     accident), no hidden entry; what is left out is in Ignored.
//
// A manifest is a text file of paths, one per line, relative to the
// manifest's folder (or absolute); blank lines and lines starting with #
// are skipped. Every path it names must be a file that exists.
func Expand(paths []string) (Expanded, error) {
	var ex Expanded
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return ex, fmt.Errorf("list input: %w", err)
		}
		if !info.IsDir() {
			if strings.HasSuffix(p, ".manifest") {
				if err := ex.manifest(p); err != nil {
					return ex, err
				}
				continue
			}
			ex.Files = append(ex.Files, osFile(p, info))
			continue
		}
		if m := filepath.Join(p, ManifestName); fileExists(m) {
			if err := ex.manifest(m); err != nil {
				return ex, err
			}
			continue
		}
		if err := ex.dir(p, true); err != nil {
			return ex, err
		}
	}
	sort.Slice(ex.Files, func(i, j int) bool { return ex.Files[i].Name < ex.Files[j].Name })
	sort.Strings(ex.Ignored)
	return ex, nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// dir reads the list files at the top of dir and, when top, of its list
// sub-folders.
func (ex *Expanded) dir(dir string, top bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list input: %w", err)
	}
	for _, d := range entries {
		name := d.Name()
		path := filepath.Join(dir, name)
		if strings.HasPrefix(name, ".") {
			continue
		}
		if d.IsDir() {
			if top && isListFolder(name) {
				if err := ex.dir(path, false); err != nil {
					return err
				}
			} else {
				ex.Ignored = append(ex.Ignored, path+string(filepath.Separator)+": not a list folder ("+strings.Join(ListFolders, ", ")+"); not read")
			}
			continue
		}
		if !looksLikeListFile(name) {
			continue // README, SOURCES.md: documentation beside the lists
		}
		fi, err := d.Info()
		if err != nil {
			return fmt.Errorf("list input: %w", err)
		}
		if !fi.Mode().IsRegular() {
			ex.Ignored = append(ex.Ignored, path+": not a regular file; not read")
			continue
		}
		ex.Files = append(ex.Files, osFile(path, fi))
	}
	return nil
}

var datedFolder = regexp.MustCompile(`^(.+)_(19|20)\d\d-[01]\d-[0-3]\d$`)

func isListFolder(name string) bool {
	n := strings.ToLower(name)
	if m := datedFolder.FindStringSubmatch(n); m != nil {
		n = m[1]
	}
	for _, f := range ListFolders {
		if n == f {
			return true
		}
	}
	return false
}

// manifest reads the files a manifest names.
func (ex *Expanded) manifest(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("list manifest: %w", err)
	}
	base := filepath.Dir(path)
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := line
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("list manifest %s:%d: %w", path, i+1, err)
		}
		if fi.IsDir() {
			return fmt.Errorf("list manifest %s:%d: %s is a directory; a manifest names files", path, i+1, line)
		}
		ex.Files = append(ex.Files, osFile(p, fi))
	}
	return nil
}

// looksLikeListFile skips documentation beside the lists (SOURCES.md).
func looksLikeListFile(name string) bool {
	n := strings.ToLower(strings.TrimSuffix(name, ".gz"))
	for _, ext := range []string{".xml", ".csv", ".json", ".jsonl", ".ftm", ".txt"} {
		if strings.HasSuffix(n, ext) {
			return true
		}
	}
	return false
}

func osFile(path string, info fs.FileInfo) sanctions.File {
	return sanctions.File{
		Name:    path,
		ModTime: info.ModTime(),
		Open: func() (io.ReadCloser, error) {
			f, err := os.Open(path)
			if err != nil {
				return nil, err
			}
			if !strings.HasSuffix(path, ".gz") {
				return f, nil
			}
			return newGzipReadCloser(f)
		},
	}
}

type gzipReadCloser struct {
	*gzip.Reader
	under io.Closer
}

func newGzipReadCloser(rc io.ReadCloser) (io.ReadCloser, error) {
	zr, err := gzip.NewReader(rc)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	return gzipReadCloser{zr, rc}, nil
}

func (g gzipReadCloser) Close() error {
	g.Reader.Close()
	return g.under.Close()
}
