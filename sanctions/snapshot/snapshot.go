// Package snapshot embeds a snapshot of the official sanctions lists so the
// binary runs, demos and tests without a network or ../shared. SOURCES.md
// beside this file says where each file came from.
package snapshot

import (
	"compress/gzip"
	"embed"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/sanctions"
)

//go:embed data
var data embed.FS

// Taken is when the snapshot was assembled; it stands in for the retrieval
// time of every embedded version so that loads are reproducible.
var Taken = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)

// Prefix marks embedded file names in messages and version records.
const Prefix = "embedded:"

// Files returns every embedded list file, decompressed on open.
func Files() []sanctions.File {
	var out []sanctions.File
	fs.WalkDir(data, "data", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".gz") {
			return err
		}
		name := Prefix + strings.TrimSuffix(strings.TrimPrefix(p, "data/"), ".gz")
		out = append(out, sanctions.File{
			Name:    name,
			ModTime: Taken,
			Open: func() (io.ReadCloser, error) {
				f, err := data.Open(p)
				if err != nil {
					return nil, err
				}
				zr, err := gzip.NewReader(f)
				if err != nil {
					f.Close()
					return nil, err
				}
				return gzipFile{zr, f}, nil
			},
		})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

type gzipFile struct {
	*gzip.Reader
	f fs.File
}

func (g gzipFile) Close() error {
	g.Reader.Close()
	return g.f.Close()
}
