package casefile

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ReadFile reads a package from a directory or a .zip file.
func ReadFile(name string) (*Bag, error) { return ReadFileWith(name, ReadOptions{}) }

// ReadFileWith reads a package from a directory or a .zip file within
// the options' limits.
func ReadFileWith(name string, opt ReadOptions) (*Bag, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return ReadDirWith(name, opt)
	}
	lim := opt.Limits.withDefaults()
	if fi.Size() > lim.BagBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than a package may hold", name, fi.Size())
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return ReadZipWith(data, opt)
}

// ReadDir reads a bag from a directory. Symbolic links and special files
// are refused (a package is plain files).
func ReadDir(dir string) (*Bag, error) { return ReadDirWith(dir, ReadOptions{}) }

// ReadDirWith reads a bag from a directory within the options' limits,
// counting the bytes read (a file growing while it is read is cut at
// the limit).
func ReadDirWith(dir string, opt ReadOptions) (*Bag, error) {
	b := &Bag{files: map[string][]byte{}}
	rd := newBagReader(b, opt, 0)
	root := os.DirFS(dir)
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 || (!d.IsDir() && !d.Type().IsRegular()) {
			return fmt.Errorf("%s: not a plain file (links and devices are refused)", p)
		}
		if d.IsDir() {
			return nil
		}
		if err := checkPath(p); err != nil {
			return err
		}
		if err := rd.admit(p); err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := rd.claim(p, uint64(info.Size())); err != nil {
			return err
		}
		f, err := root.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = rd.put(p, f, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read package %s: %w", dir, err)
	}
	if len(b.Paths()) == 0 {
		return nil, fmt.Errorf("read package %s: empty", dir)
	}
	return b, nil
}

// bagReader puts files into a bag, counting the bytes actually read
// against the limits.
type bagReader struct {
	b     *Bag
	opt   ReadOptions
	lim   Limits
	total int64 // bytes read so far
	max   int64 // the total allowed
	n     int
}

func newBagReader(b *Bag, opt ReadOptions, archiveSize int64) *bagReader {
	lim := opt.Limits.withDefaults()
	max := lim.BagBytes
	if lim.Ratio > 0 && archiveSize > 0 {
		max = min(max, max64(lim.RatioFloor, lim.Ratio*archiveSize))
	}
	return &bagReader{b: b, opt: opt, lim: lim, max: max}
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// LimitError is a package larger than a reader takes.
type LimitError struct {
	File  string // "" for the whole package
	Limit int64
}

func (e *LimitError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("the package expands past %d MiB, more than allowed here", e.Limit>>20)
	}
	return fmt.Sprintf("%s: larger than %d MiB, more than a package file may be here", e.File, e.Limit>>20)
}

// admit counts one more file.
func (r *bagReader) admit(name string) error {
	if r.b.has(name) {
		return fmt.Errorf("%s: twice in the package", name)
	}
	if r.n >= r.lim.Files {
		return fmt.Errorf("more than %d files", r.lim.Files)
	}
	r.n++
	return nil
}

// claim refuses a file whose claimed size is over the limits before it
// is read.
func (r *bagReader) claim(name string, size uint64) error {
	if size > uint64(r.lim.FileBytes) {
		return &LimitError{File: name, Limit: r.lim.FileBytes}
	}
	if size > uint64(r.max-r.total) {
		return &LimitError{Limit: r.max}
	}
	return nil
}

// put reads a file from src into the bag (bytes, or size and SHA-256 for
// a payload file when digesting), never more than the limits allow:
// past them it is an error whatever the file claimed. also, when set,
// sees every byte (a CRC).
func (r *bagReader) put(name string, src io.Reader, also io.Writer) (int64, error) {
	budget := min(r.lim.FileBytes, r.max-r.total)
	digestOnly := r.opt.DigestPayload && strings.HasPrefix(name, "data/")
	var buf bytes.Buffer
	h := sha256.New()
	var dst io.Writer = &buf
	if digestOnly {
		dst = h
	}
	if also != nil {
		dst = io.MultiWriter(dst, also)
	}
	n, err := io.Copy(dst, io.LimitReader(src, budget+1))
	if err != nil {
		return n, err
	}
	if n > budget {
		if budget == r.lim.FileBytes {
			return n, &LimitError{File: name, Limit: r.lim.FileBytes}
		}
		return n, &LimitError{Limit: r.max}
	}
	r.total += n
	if digestOnly {
		if r.b.digests == nil {
			r.b.digests = map[string]digest{}
		}
		d := digest{size: n}
		h.Sum(d.sum[:0])
		r.b.digests[name] = d
	} else {
		r.b.files[name] = buf.Bytes()
	}
	return n, nil
}

// ReadZip reads a bag from a zip archive: the bag's files at the root, or
// under one top-level directory (the usual way to zip a bag). Entries
// whose data fail the archive's own CRC are reported with their name.
func ReadZip(data []byte) (*Bag, error) { return ReadZipWith(data, ReadOptions{}) }

// ReadZipWith reads a bag from a zip archive within the options' limits,
// counted in bytes actually inflated: an entry is inflated as it is read
// (into the bag, or through SHA-256 when digesting), and reading stops
// at the limit whatever the archive claims.
func ReadZipWith(data []byte, opt ReadOptions) (*Bag, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("not a readable zip archive (its structure is damaged): %w", err)
	}
	b := &Bag{files: map[string][]byte{}}
	rd := newBagReader(b, opt, int64(len(data)))
	if len(zr.File) > rd.lim.Files {
		return nil, fmt.Errorf("%d entries: at most %d", len(zr.File), rd.lim.Files)
	}
	// One top-level directory holding bagit.txt: strip it.
	prefix := ""
	for _, f := range zr.File {
		if n := f.Name; strings.HasSuffix(n, "/"+BagItFile) && strings.Count(n, "/") == 1 {
			prefix = strings.TrimSuffix(n, BagItFile)
		}
	}
	for _, f := range zr.File {
		name := f.Name
		if strings.HasSuffix(name, "/") {
			continue // a directory entry
		}
		if prefix != "" {
			if !strings.HasPrefix(name, prefix) {
				return nil, fmt.Errorf("%s: outside the bag's directory %s", name, prefix)
			}
			name = strings.TrimPrefix(name, prefix)
		}
		if err := checkPath(name); err != nil {
			return nil, err
		}
		if !f.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: not a plain file", name)
		}
		if b.has(name) {
			return nil, fmt.Errorf("%s: twice in the archive", name)
		}
		if err := rd.admit(name); err != nil {
			return nil, err
		}
		if err := rd.claim(name, f.UncompressedSize64); err != nil {
			return nil, err
		}
		if err := readEntry(data, f, name, rd); err != nil {
			var le *LimitError
			if errors.As(err, &le) {
				return nil, err
			}
			return nil, &EntryError{Name: name, Err: err}
		}
	}
	if len(b.Paths()) == 0 {
		return nil, errors.New("the archive holds no file")
	}
	return b, nil
}

// readEntry inflates an entry into the bag, checking what a flipped byte
// could change: the compressed stream must end exactly at its end (a
// flipped end-of-stream bit would otherwise hide the rest), and the
// bytes must have the size and CRC-32 the archive's directory gives.
// The compressed bytes are read in place from data.
func readEntry(data []byte, f *zip.File, name string, rd *bagReader) error {
	off, err := f.DataOffset()
	if err != nil {
		return err
	}
	if off < 0 || off > int64(len(data)) || f.CompressedSize64 > uint64(int64(len(data))-off) {
		return fmt.Errorf("%d compressed bytes from offset %d: past the archive's end", f.CompressedSize64, off)
	}
	comp := data[off : off+int64(f.CompressedSize64)]
	crc := crc32.NewIEEE()
	var n int64
	switch f.Method {
	case zip.Store:
		n, err = rd.put(name, bytes.NewReader(comp), crc)
		if err != nil {
			return err
		}
	case zip.Deflate:
		br := bytes.NewReader(comp) // an io.ByteReader: flate reads no further than it needs
		fr := flate.NewReader(br)
		n, err = rd.put(name, io.LimitReader(fr, int64(min(f.UncompressedSize64, 1<<62))+1), crc)
		fr.Close()
		if err != nil {
			return err
		}
		if uint64(n) > f.UncompressedSize64 {
			rd.b.Remove(name)
			return fmt.Errorf("more than the %d bytes the archive says", f.UncompressedSize64)
		}
		if br.Len() != 0 {
			rd.b.Remove(name)
			return fmt.Errorf("the compressed stream ends %d bytes before the entry does", br.Len())
		}
	default:
		return fmt.Errorf("compression method %d: a package uses deflate or none", f.Method)
	}
	if uint64(n) != f.UncompressedSize64 {
		rd.b.Remove(name)
		return fmt.Errorf("%d bytes, the archive says %d", n, f.UncompressedSize64)
	}
	if crc.Sum32() != f.CRC32 {
		rd.b.Remove(name)
		return zip.ErrChecksum
	}
	return nil
}

// EntryError is a file of an archive that could not be read (its bytes
// changed: the archive's CRC or compressed stream says so).
type EntryError struct {
	Name string
	Err  error
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("%s: unreadable in the archive (%v): its bytes were changed", e.Name, e.Err)
}

func (e *EntryError) Unwrap() error { return e.Err }

// errDigested: a bag read as digests cannot be written.
var errDigested = errors.New("the package was read for verifying only (its payload as digests): it cannot be written")

// WriteDir writes the bag into dir (created; it must not hold anything).
func (b *Bag) WriteDir(dir string) error {
	if b.Digested() {
		return errDigested
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("%s exists and is not empty", dir)
	}
	for _, p := range b.Paths() {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, b.files[p], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// WriteZip writes the bag as a zip archive with its files under one
// top-level directory named root, every entry stamped with mod (the same
// bag and stamp give the same bytes).
func (b *Bag) WriteZip(w io.Writer, root string, mod time.Time) error {
	if err := checkPath(root); err != nil || strings.Contains(root, "/") {
		return fmt.Errorf("archive root %q: one plain name", root)
	}
	if b.Digested() {
		return errDigested
	}
	zw := zip.NewWriter(w)
	paths := b.Paths()
	sort.Strings(paths)
	for _, p := range paths {
		h := &zip.FileHeader{Name: path.Join(root, p), Method: zip.Deflate, Modified: mod.UTC()}
		h.SetMode(0o644)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := fw.Write(b.files[p]); err != nil {
			return err
		}
	}
	return zw.Close()
}

// WriteFile writes the bag as a zip archive when name ends in .zip, else
// as a directory; the archive's top-level directory is the file's name
// without .zip.
func (b *Bag) WriteFile(name string, mod time.Time) error {
	if !strings.EqualFold(filepath.Ext(name), ".zip") {
		return b.WriteDir(name)
	}
	var buf bytes.Buffer
	root := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	if root == "" || strings.HasPrefix(root, ".") {
		root = "case"
	}
	if err := b.WriteZip(&buf, root, mod); err != nil {
		return err
	}
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}
