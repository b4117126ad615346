// Package uploadarchive keeps the AIS files received through the API in a
// folder, content-addressed by SHA-256, so that case files can carry the
// lines their events were detected on (app.UploadArchive, docs/cases.md).
//
// A file is kept as FOLDER/SHA256.gz (gzip of the bytes as received) or,
// when it arrived gzipped already, as FOLDER/SHA256 (the bytes as
// received). Either way `sha256sum` of the bytes as received (gunzip the
// .gz form first) is the file's name: the folder checks with standard
// tools. Files are written under a temporary name and renamed when whole,
// so a crash never leaves a partial file under a content name.
package uploadarchive

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Dir is a folder of kept uploads. It is safe for concurrent use, by this
// process and others sharing the folder (each write is a rename).
type Dir struct {
	path string
}

// New returns the archive in folder path (made, mode 0700, at the first
// file kept).
func New(path string) *Dir { return &Dir{path: path} }

// Path is the folder.
func (d *Dir) Path() string { return d.path }

var hexSum = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Keep stores the bytes r gives under sum (the hex SHA-256 of those
// bytes) unless they are kept already, and returns the bytes the kept
// file takes on disk. The bytes are checked against sum: a mismatch keeps
// nothing and is an error.
func (d *Dir) Keep(ctx context.Context, sum string, r io.Reader) (int64, error) {
	if !hexSum.MatchString(sum) {
		return 0, fmt.Errorf("upload archive: %q is not a hex SHA-256", sum)
	}
	if n, err := d.size(sum); err == nil {
		return n, nil
	}
	if err := os.MkdirAll(d.path, 0o700); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(d.path, ".keep-*")
	if err != nil {
		return 0, err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(2)
	gzipped := len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b
	h := sha256.New()
	bw := bufio.NewWriterSize(tmp, 256<<10)
	var w io.Writer = bw
	var zw *gzip.Writer
	if !gzipped {
		zw = gzip.NewWriter(bw)
		w = zw
	}
	if _, err := io.Copy(io.MultiWriter(w, h), ctxReader{ctx, br}); err != nil {
		return 0, err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return 0, err
		}
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return 0, fmt.Errorf("upload archive: the bytes' SHA-256 is %s, not %s", got, sum)
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	fi, err := tmp.Stat()
	if err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	name := filepath.Join(d.path, sum)
	if !gzipped {
		name += ".gz"
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return 0, err
	}
	done = true
	if dir, err := os.Open(d.path); err == nil {
		dir.Sync()
		dir.Close()
	}
	return fi.Size(), nil
}

// size is the bytes the file kept under sum takes (fs.ErrNotExist: none).
func (d *Dir) size(sum string) (int64, error) {
	for _, n := range []string{sum, sum + ".gz"} {
		if fi, err := os.Stat(filepath.Join(d.path, n)); err == nil && fi.Mode().IsRegular() {
			return fi.Size(), nil
		}
	}
	return 0, fs.ErrNotExist
}

// Open returns the bytes kept under sum, as received (an error wrapping
// fs.ErrNotExist when none are). The caller checks them against sum.
func (d *Dir) Open(ctx context.Context, sum string) (io.ReadCloser, error) {
	if !hexSum.MatchString(sum) {
		return nil, fmt.Errorf("upload archive: %q is not a hex SHA-256: %w", sum, fs.ErrNotExist)
	}
	if f, err := os.Open(filepath.Join(d.path, sum)); err == nil {
		return f, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	f, err := os.Open(filepath.Join(d.path, sum+".gz"))
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("upload archive: %s.gz: %w", sum, err)
	}
	return gzipFile{zr, f}, nil
}

// Find returns the sums kept that start with prefix (hex), sorted.
func (d *Dir) Find(ctx context.Context, prefix string) ([]string, error) {
	if prefix == "" || strings.Trim(prefix, "0123456789abcdef") != "" {
		return nil, nil
	}
	entries, err := os.ReadDir(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := strings.TrimSuffix(e.Name(), ".gz")
		if strings.HasPrefix(n, prefix) && hexSum.MatchString(n) && e.Type().IsRegular() {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Usage counts the files kept and the bytes they take.
func (d *Dir) Usage() (files int, bytes int64, err error) {
	entries, err := os.ReadDir(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		if !hexSum.MatchString(strings.TrimSuffix(e.Name(), ".gz")) {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			files++
			bytes += fi.Size()
		}
	}
	return files, bytes, nil
}

type gzipFile struct {
	*gzip.Reader
	f *os.File
}

func (g gzipFile) Close() error {
	g.Reader.Close()
	return g.f.Close()
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
