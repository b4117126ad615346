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
	"sort"
	"strings"

	"github.com/tidewatch/tidewatch/sanctions"
)

// FromPaths expands files and directories (walked recursively, hidden
// entries skipped) into list files. Files ending in .gz are decompressed
// as they are read.
func FromPaths(paths []string) ([]sanctions.File, error) {
	var out []sanctions.File
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("list input: %w", err)
		}
		if !info.IsDir() {
			out = append(out, osFile(p, info))
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && path != p {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !looksLikeListFile(d.Name()) {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			out = append(out, osFile(path, fi))
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("walk %s: %w", p, err)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
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
