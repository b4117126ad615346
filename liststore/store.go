package liststore

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/sanctions"
)

// Store keeps list versions under a root directory:
//
//	<root>/lists/<list>/<version id>/version.json   metadata
//	<root>/lists/<list>/<version id>/<role>/<name>  the raw files
//	<root>/lists/<list>/CURRENT                     the current version id
//	<root>/lists/<list>/imports.jsonl               every attempt, good or bad
//
// A version directory is written under a temporary name and renamed into
// place, and CURRENT is replaced by rename, so a crash or a failed import
// leaves the previous state intact.
type Store struct {
	root string
}

// ErrNoVersion reports a list with nothing stored yet.
var ErrNoVersion = errors.New("no stored version")

// Open opens (creating if needed) a store rooted at dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, "lists"), 0o755); err != nil {
		return nil, fmt.Errorf("open list store: %w", err)
	}
	return &Store{root: dir}, nil
}

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

func (s *Store) listDir(list string) string { return filepath.Join(s.root, "lists", list) }

// Attempt is one line of a list's import log.
type Attempt struct {
	Time    time.Time `json:"time"`
	List    string    `json:"list"`
	Source  string    `json:"source"`
	Outcome string    `json:"outcome"` // "stored", "unchanged", "failed"
	Version string    `json:"version,omitempty"`
	Reason  string    `json:"reason,omitempty"`
}

// Log appends an attempt to the list's import log.
func (s *Store) Log(a Attempt) error {
	dir := s.listDir(a.List)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("import log: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "imports.jsonl"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("import log: %w", err)
	}
	defer f.Close()
	b, _ := json.Marshal(a)
	_, err = f.Write(append(b, '\n'))
	return err
}

// Attempts reads a list's import log, oldest first.
func (s *Store) Attempts(list string) ([]Attempt, error) {
	f, err := os.Open(filepath.Join(s.listDir(list), "imports.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Attempt
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var a Attempt
		if json.Unmarshal(sc.Bytes(), &a) == nil {
			out = append(out, a)
		}
	}
	return out, sc.Err()
}

// Put stores the bundle's files as the dataset's version. It does not
// change which version is current; see Promote. Storing a version that is
// already there is a no-op and reports stored=false.
func (s *Store) Put(b sanctions.Bundle, ds *sanctions.Dataset) (stored bool, err error) {
	v := ds.Version
	final := filepath.Join(s.listDir(v.List), v.ID)
	if _, err := os.Stat(filepath.Join(final, "version.json")); err == nil {
		return false, nil
	}
	if err := os.MkdirAll(s.listDir(v.List), 0o755); err != nil {
		return false, fmt.Errorf("store %s: %w", v.ID, err)
	}
	tmp, err := os.MkdirTemp(s.listDir(v.List), ".incoming-")
	if err != nil {
		return false, fmt.Errorf("store %s: %w", v.ID, err)
	}
	defer os.RemoveAll(tmp)
	for role, f := range b.Files {
		dir := filepath.Join(tmp, string(role))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return false, err
		}
		if err := copyFile(f, filepath.Join(dir, baseName(f.Name))); err != nil {
			return false, fmt.Errorf("store %s: %w", v.ID, err)
		}
	}
	meta, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return false, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "version.json"), meta, 0o644); err != nil {
		return false, fmt.Errorf("store %s: %w", v.ID, err)
	}
	os.RemoveAll(final) // a half-written directory from a crash without version.json
	if err := os.Rename(tmp, final); err != nil {
		return false, fmt.Errorf("store %s: %w", v.ID, err)
	}
	return true, nil
}

// Promote makes id the current version of list.
func (s *Store) Promote(list, id string) error {
	dir := s.listDir(list)
	tmp := filepath.Join(dir, ".CURRENT.tmp")
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o644); err != nil {
		return fmt.Errorf("promote %s: %w", id, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "CURRENT")); err != nil {
		return fmt.Errorf("promote %s: %w", id, err)
	}
	return nil
}

// CurrentID is the id of list's current version.
func (s *Store) CurrentID(list string) (string, error) {
	b, err := os.ReadFile(filepath.Join(s.listDir(list), "CURRENT"))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s: %w", list, ErrNoVersion)
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// Lists names the lists with a current version, sorted.
func (s *Store) Lists() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(s.root, "lists"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			if _, err := s.CurrentID(e.Name()); err == nil {
				out = append(out, e.Name())
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// Versions lists a list's stored versions, oldest first.
func (s *Store) Versions(list string) ([]sanctions.Version, error) {
	entries, err := os.ReadDir(s.listDir(list))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []sanctions.Version
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		v, err := s.readVersion(list, e.Name())
		if err != nil {
			continue // an incomplete directory from an interrupted write
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out, nil
}

func (s *Store) readVersion(list, id string) (sanctions.Version, error) {
	var v sanctions.Version
	b, err := os.ReadFile(filepath.Join(s.listDir(list), id, "version.json"))
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("version %s: %w", id, err)
	}
	return v, nil
}

// Load re-reads a stored version from its raw files.
func (s *Store) Load(id string) (*sanctions.Dataset, error) {
	list, _, ok := strings.Cut(id, "@")
	if !ok {
		return nil, fmt.Errorf("version id %q: want LIST@DATE-HASH", id)
	}
	v, err := s.readVersion(list, id)
	if err != nil {
		return nil, fmt.Errorf("version %s: %w", id, err)
	}
	b := sanctions.Bundle{List: list, Files: map[sanctions.Format]sanctions.File{}}
	for _, f := range v.Files {
		p := filepath.Join(s.listDir(list), id, string(f.Role), f.Name)
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("version %s: %w", id, err)
		}
		b.Files[f.Role] = osFile(p, info)
	}
	b.DateHint = dateHintOf(v)
	ds, err := sanctions.Load(b, v.Retrieved)
	if err != nil {
		return nil, fmt.Errorf("version %s: %w", id, err)
	}
	if ds.Version.SHA256 != v.SHA256 {
		return nil, fmt.Errorf("version %s: stored files hash to %s, recorded %s: the store was modified", id, ds.Version.SHA256, v.SHA256)
	}
	// Keep the recorded identity (the ID embeds the date it was stored under).
	ds.Version.ID = v.ID
	for _, e := range ds.Entities {
		for i := range e.Listings {
			e.Listings[i].Version = v.ID
		}
	}
	return ds, nil
}

// Current loads the current version of every stored list.
func (s *Store) Current() ([]*sanctions.Dataset, error) {
	lists, err := s.Lists()
	if err != nil {
		return nil, err
	}
	var out []*sanctions.Dataset
	for _, l := range lists {
		id, err := s.CurrentID(l)
		if err != nil {
			return nil, err
		}
		ds, err := s.Load(id)
		if err != nil {
			return nil, err
		}
		out = append(out, ds)
	}
	return out, nil
}

// dateHintOf gives back the file-name date a version was made with: the
// stored copy may sit under another name (the UK tables' folder).
func dateHintOf(v sanctions.Version) string {
	if v.PublishedFrom == "file name" {
		return v.Published
	}
	return ""
}

func baseName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimPrefix(name, "embedded:")
	return strings.TrimSuffix(name, ".gz")
}

func copyFile(f sanctions.File, dst string) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
