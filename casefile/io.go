package casefile

import (
	"archive/zip"
	"bytes"
	"compress/flate"
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
func ReadFile(name string) (*Bag, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return ReadDir(name)
	}
	if fi.Size() > MaxBagBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than a package may hold", name, fi.Size())
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return ReadZip(data)
}

// ReadDir reads a bag from a directory. Symbolic links and special files
// are refused (a package is plain files).
func ReadDir(dir string) (*Bag, error) {
	b := &Bag{files: map[string][]byte{}}
	var total int64
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
		if len(b.files) >= MaxFiles {
			return fmt.Errorf("more than %d files", MaxFiles)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > MaxFileBytes || total+info.Size() > MaxBagBytes {
			return fmt.Errorf("%s: too large for a package", p)
		}
		data, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		total += int64(len(data))
		b.files[p] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read package %s: %w", dir, err)
	}
	if len(b.files) == 0 {
		return nil, fmt.Errorf("read package %s: empty", dir)
	}
	return b, nil
}

// ReadZip reads a bag from a zip archive: the bag's files at the root, or
// under one top-level directory (the usual way to zip a bag). Entries
// whose data fail the archive's own CRC are reported with their name.
func ReadZip(data []byte) (*Bag, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("not a readable zip archive (its structure is damaged): %w", err)
	}
	if len(zr.File) > MaxFiles {
		return nil, fmt.Errorf("%d entries: at most %d", len(zr.File), MaxFiles)
	}
	// One top-level directory holding bagit.txt: strip it.
	prefix := ""
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	for _, n := range names {
		if strings.HasSuffix(n, "/"+BagItFile) && strings.Count(n, "/") == 1 {
			prefix = strings.TrimSuffix(n, BagItFile)
		}
	}
	b := &Bag{files: map[string][]byte{}}
	var total int64
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
		if _, dup := b.files[name]; dup {
			return nil, fmt.Errorf("%s: twice in the archive", name)
		}
		if f.UncompressedSize64 > MaxFileBytes || total+int64(f.UncompressedSize64) > MaxBagBytes {
			return nil, fmt.Errorf("%s: too large for a package", name)
		}
		d, err := readEntry(f)
		if err != nil {
			return nil, &EntryError{Name: name, Err: err}
		}
		total += int64(len(d))
		b.files[name] = d
	}
	if len(b.files) == 0 {
		return nil, errors.New("the archive holds no file")
	}
	return b, nil
}

// readEntry reads an entry's bytes, checking what a flipped byte could
// change: the compressed stream must end exactly at its end (a flipped
// end-of-stream bit would otherwise hide the rest), and the bytes must
// have the size and CRC-32 the archive's directory gives.
func readEntry(f *zip.File) ([]byte, error) {
	raw, err := f.OpenRaw()
	if err != nil {
		return nil, err
	}
	comp, err := io.ReadAll(io.LimitReader(raw, int64(f.CompressedSize64)+1))
	if err != nil {
		return nil, err
	}
	if uint64(len(comp)) != f.CompressedSize64 {
		return nil, fmt.Errorf("%d compressed bytes, the archive says %d", len(comp), f.CompressedSize64)
	}
	var d []byte
	switch f.Method {
	case zip.Store:
		d = comp
	case zip.Deflate:
		br := bytes.NewReader(comp) // an io.ByteReader: flate reads no further than it needs
		fr := flate.NewReader(br)
		d, err = io.ReadAll(io.LimitReader(fr, int64(f.UncompressedSize64)+1))
		fr.Close()
		if err != nil {
			return nil, err
		}
		if br.Len() != 0 {
			return nil, fmt.Errorf("the compressed stream ends %d bytes before the entry does", br.Len())
		}
	default:
		return nil, fmt.Errorf("compression method %d: a package uses deflate or none", f.Method)
	}
	if uint64(len(d)) != f.UncompressedSize64 {
		return nil, fmt.Errorf("%d bytes, the archive says %d", len(d), f.UncompressedSize64)
	}
	if crc32.ChecksumIEEE(d) != f.CRC32 {
		return nil, zip.ErrChecksum
	}
	return d, nil
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

// WriteDir writes the bag into dir (created; it must not hold anything).
func (b *Bag) WriteDir(dir string) error {
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
