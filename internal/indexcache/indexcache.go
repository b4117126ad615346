// Package indexcache keeps saved screening indexes as files in a
// directory (app.IndexCache; docs/index-cache.md), and names the build of
// the running program (BuildID), which the cache key includes.
package indexcache

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/store"
)

// DefaultKeep is how many saved indexes a directory keeps: the one in
// force, those of recent point-in-time profiles, and the previous set's
// for a rollback.
const DefaultKeep = 4

const suffix = ".twix"

// Dir is a directory of saved indexes, one file per key. Files are
// written whole under a temporary name then renamed: a reader never sees
// half a file, and several processes may share the directory.
type Dir struct {
	path string
	keep int
}

// Open makes the directory if needed (mode 0700: the lists are public,
// but what a server holds is the operator's business).
func Open(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("index cache: %w", err)
	}
	return &Dir{path: path, keep: DefaultKeep}, nil
}

// Path is the directory.
func (d *Dir) Path() string { return d.path }

// file returns the file of a key; keys are hex digests, anything else is
// refused (a key never names a path).
func (d *Dir) file(key string) (string, error) {
	if key == "" || len(key) > 128 || strings.Trim(key, "0123456789abcdef") != "" {
		return "", fmt.Errorf("index cache: bad key %q", key)
	}
	return filepath.Join(d.path, key+suffix), nil
}

// Get reads the file of key (store.ErrNotFound when there is none) and
// marks it used.
func (d *Dir) Get(key string) ([]byte, error) {
	f, err := d.file(key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(f)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("index cache %s: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	now := time.Now()
	os.Chtimes(f, now, now) // least recently used goes first
	return b, nil
}

// Put writes data under key, then removes the least recently used files
// beyond the number kept, and temporary files a stopped writer left.
func (d *Dir) Put(key string, data []byte) error {
	f, err := d.file(key)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(d.path, key+".*.tmp")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return d.prune()
}

// Remove deletes the file of key, if any.
func (d *Dir) Remove(key string) error {
	f, err := d.file(key)
	if err != nil {
		return err
	}
	if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (d *Dir) prune() error {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return err
	}
	type file struct {
		name string
		mod  time.Time
	}
	var saved []file
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue
		}
		switch {
		case strings.HasSuffix(e.Name(), ".tmp") && time.Since(info.ModTime()) > time.Hour:
			os.Remove(filepath.Join(d.path, e.Name()))
		case strings.HasSuffix(e.Name(), suffix):
			saved = append(saved, file{e.Name(), info.ModTime()})
		}
	}
	sort.Slice(saved, func(i, j int) bool { return saved[i].mod.After(saved[j].mod) })
	for i := d.keep; i < len(saved); i++ {
		os.Remove(filepath.Join(d.path, saved[i].name))
	}
	return nil
}

// BuildID is the Go build ID of the running executable: it changes with
// any change to the program's code or how it was built, so an index saved
// by one build is never read by another.
func BuildID() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	return buildIDOf(exe)
}

// buildIDOf reads a Go executable's build ID: the ELF note Go writes
// (.note.go.buildid), or, in other formats, the marker Go puts at the
// start of the text ("\xff Go build ID: \"...\"\n \xff").
func buildIDOf(path string) (string, error) {
	if f, err := elf.Open(path); err == nil {
		defer f.Close()
		if s := f.Section(".note.go.buildid"); s != nil {
			b, err := s.Data()
			// The note: name size, description size, type (4 bytes
			// each), the name "Go\x00\x00", the description.
			if err == nil && len(b) > 16 && f.ByteOrder.Uint32(b) == 4 && string(b[12:16]) == "Go\x00\x00" {
				if n := f.ByteOrder.Uint32(b[4:]); n > 0 && uint64(n) <= uint64(len(b)-16) {
					return string(b[16 : 16+n]), nil
				}
			}
		}
		return "", fmt.Errorf("%s: no Go build ID note", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", err
	}
	const prefix = "\xff Go build ID: \""
	_, rest, ok := bytes.Cut(head[:n], []byte(prefix))
	if id, _, ok2 := bytes.Cut(rest, []byte("\"\n \xff")); ok && ok2 && len(id) > 0 {
		return string(id), nil
	}
	return "", fmt.Errorf("%s: no Go build ID", path)
}
