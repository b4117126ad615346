package sanctions

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
)

// File is one input file of a list. Open is called once per load, so a
// file can be parsed straight from disk, an embedded snapshot or a download.
type File struct {
	Name    string // the path or name shown in messages
	ModTime time.Time
	Open    func() (io.ReadCloser, error)
}

// Bundle is the set of files that make one version of one list: a single
// XML or CSV file for most lists, a main table and side tables for OFAC's
// legacy CSV, four tables for the derived UK layout.
type Bundle struct {
	List  string          `json:"list"`
	Files map[Format]File `json:"-"`
	// DateHint is a YYYY-MM-DD date found in the main file's name, used as
	// the publication date when the content carries none.
	DateHint string `json:"date_hint,omitempty"`
}

// MainFile is the file that names the bundle.
func (b Bundle) MainFile() File {
	for _, f := range []Format{FormatUNXML, FormatOFACXML, FormatOFACMain, FormatUKSubjects, FormatEUJournal, FormatFtM} {
		if file, ok := b.Files[f]; ok {
			return file
		}
	}
	return File{}
}

// SourceFile records one file of a version.
type SourceFile struct {
	Role   Format `json:"role"`
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// Version describes one import of one list: what was read, from where,
// when, and what it held.
type Version struct {
	ID   string `json:"id"`
	List string `json:"list"`
	// SHA256 is the file's hash, or for a multi-file set the hash of the
	// role-ordered "role sha256" lines of its files.
	SHA256    string       `json:"sha256"`
	Files     []SourceFile `json:"files"`
	Retrieved time.Time    `json:"retrieved"`
	// Published is the list's own date (UN dateGenerated, OFAC
	// Publish_Date) or, failing that, the date in the file name, as
	// PublishedFrom says. Empty when neither exists.
	Published     string             `json:"published,omitempty"`
	PublishedFrom string             `json:"published_from,omitempty"`
	Counts        map[EntityType]int `json:"counts"`
	Total         int                `json:"total"`
	Problems      Problems           `json:"problems"`
}

// Dataset is a version and the entities it holds, in source order.
type Dataset struct {
	Version  Version
	Entities []*Entity
}

// ListNames gives each list's display name.
var ListNames = map[string]string{
	"un":            "UN Security Council Consolidated List",
	"ofac-sdn":      "OFAC Specially Designated Nationals (SDN) List",
	"ofac-cons":     "OFAC Consolidated (non-SDN) List",
	"uk":            "UK Sanctions List (derived layout)",
	"eu":            "EU Regulation 2017/1509 annexes (DPRK)",
	"opensanctions": "FollowTheMoney entities (OpenSanctions export)",
}

var dateInName = regexp.MustCompile(`(19|20)\d\d-[01]\d-[0-3]\d`)

// Group detects each file's format and groups files into bundles, one per
// list version. Files it cannot place are returned as problems, not errors:
// a directory may hold README files or unrelated data.
func Group(files []File) ([]Bundle, []Problem) {
	type detected struct {
		f      File
		format Format
		dir    string
		date   string
		list   string
	}
	var ds []detected
	var probs []Problem
	for _, f := range files {
		head, err := readHead(f)
		if err != nil {
			probs = append(probs, Problem{File: f.Name, Reason: err.Error()})
			continue
		}
		format := Detect(f.Name, head)
		if format == FormatUnknown {
			probs = append(probs, Problem{File: f.Name, Reason: "not a sanctions list format Tidewatch reads; skipped"})
			continue
		}
		ds = append(ds, detected{f: f, format: format, dir: path.Dir(filepathSlash(f.Name)), date: dateInPath(f.Name), list: ofacListFromName(f.Name)})
	}
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].f.Name < ds[j].f.Name })

	var bundles []Bundle
	used := make([]bool, len(ds))
	single := map[Format]string{FormatUNXML: "un", FormatEUJournal: "eu", FormatFtM: "opensanctions"}
	for i, d := range ds {
		switch {
		case single[d.format] != "":
			bundles = append(bundles, Bundle{List: single[d.format], Files: map[Format]File{d.format: d.f}, DateHint: d.date})
			used[i] = true
		case d.format == FormatOFACXML:
			bundles = append(bundles, Bundle{List: d.list, Files: map[Format]File{d.format: d.f}, DateHint: d.date})
			used[i] = true
		case d.format == FormatOFACMain:
			b := Bundle{List: d.list, Files: map[Format]File{d.format: d.f}, DateHint: d.date}
			used[i] = true
			for _, role := range []Format{FormatOFACAdd, FormatOFACAlt, FormatOFACComments} {
				// Side tables of the same list in the same directory: the
				// same date if there is one, else the oldest not older
				// than the main table (OFAC side tables only grow), else
				// the newest.
				best := -1
				for j, s := range ds {
					if s.format != role || s.dir != d.dir || s.list != d.list {
						continue
					}
					if best < 0 || sideTableBetter(d.date, s.date, ds[best].date) {
						best = j
					}
				}
				if best >= 0 {
					b.Files[role] = ds[best].f
					used[best] = true
				}
			}
			bundles = append(bundles, b)
		case d.format == FormatUKSubjects:
			b := Bundle{List: "uk", Files: map[Format]File{d.format: d.f}, DateHint: d.date}
			used[i] = true
			for j, s := range ds {
				if s.dir == d.dir && (s.format == FormatUKNames || s.format == FormatUKIdentifiers || s.format == FormatUKDOBs) {
					if _, dup := b.Files[s.format]; !dup {
						b.Files[s.format] = s.f
						used[j] = true
					}
				}
			}
			bundles = append(bundles, b)
		}
	}
	for i, d := range ds {
		if !used[i] {
			probs = append(probs, Problem{File: d.f.Name, Reason: fmt.Sprintf("%s table with no main table beside it; skipped", d.format)})
		}
	}
	return bundles, probs
}

// sideTableBetter reports whether a side table dated cand suits a main
// table dated main better than one dated cur.
func sideTableBetter(main, cand, cur string) bool {
	score := func(s string) (int, string) {
		switch {
		case s == main:
			return 0, ""
		case main != "" && s > main:
			return 1, s // older is closer
		default:
			return 2, invert(s) // newer is better
		}
	}
	ca, cb := score(cand)
	ua, ub := score(cur)
	if ca != ua {
		return ca < ua
	}
	return cb < ub
}

// invert makes a date sort descending under string comparison.
func invert(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= '0' && c <= '9' {
			b[i] = '9' - (c - '0')
		}
	}
	return string(b)
}

func filepathSlash(p string) string { return strings.ReplaceAll(p, "\\", "/") }

func readHead(f File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer rc.Close()
	buf := make([]byte, sniffBytes)
	n, err := io.ReadFull(rc, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("read: %w", err)
	}
	return buf[:n], nil
}

// hashingReader hashes and counts what passes through it.
type hashingReader struct {
	r io.Reader
	h hashState
	n int64
}

type hashState interface {
	io.Writer
	Sum([]byte) []byte
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	hr.n += int64(n)
	hr.h.Write(p[:n])
	return n, err
}

// Load parses a bundle into a dataset. retrieved is when the files were
// fetched (for local files, their modification time). A structural failure
// of any file fails the whole load, so a half-read list never replaces a
// good one.
func Load(b Bundle, retrieved time.Time) (*Dataset, error) {
	ds := &Dataset{Version: Version{List: b.List, Retrieved: retrieved.UTC(), Counts: map[EntityType]int{}}}
	v := &ds.Version
	var opened []*hashingReader
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	roles := make([]Format, 0, len(b.Files))
	for role := range b.Files {
		roles = append(roles, role)
	}
	sort.Slice(roles, func(i, j int) bool { return roles[i] < roles[j] })
	readers := map[Format]*NamedReader{}
	for _, role := range roles {
		f := b.Files[role]
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", f.Name, err)
		}
		closers = append(closers, rc)
		hr := &hashingReader{r: rc, h: sha256.New()}
		opened = append(opened, hr)
		readers[role] = &NamedReader{Name: f.Name, R: hr}
		// The recorded name is of the content as read: a .gz file is
		// hashed and stored decompressed.
		v.Files = append(v.Files, SourceFile{Role: role, Name: strings.TrimSuffix(path.Base(filepathSlash(f.Name)), ".gz")})
	}
	emit := func(e *Entity) { ds.Entities = append(ds.Entities, e) }
	var published time.Time
	var probs Problems
	var err error
	switch {
	case readers[FormatUNXML] != nil:
		r := readers[FormatUNXML]
		published, probs, err = ParseUNXML(r.R, r.Name, emit)
	case readers[FormatOFACXML] != nil:
		r := readers[FormatOFACXML]
		published, probs, err = ParseOFACXML(r.R, r.Name, b.List, emit)
	case readers[FormatOFACMain] != nil:
		probs, err = ParseOFACCSV(OFACCSVFiles{List: b.List, Main: *readers[FormatOFACMain], Add: readers[FormatOFACAdd], Alt: readers[FormatOFACAlt], Comments: readers[FormatOFACComments]}, emit)
	case readers[FormatUKSubjects] != nil:
		if readers[FormatUKNames] == nil {
			return nil, &ParseError{Problem: Problem{File: readers[FormatUKSubjects].Name, Reason: "UK subjects table without subject_names.csv beside it: entities would have no names"}}
		}
		probs, err = ParseUKDerived(UKDerivedFiles{Subjects: *readers[FormatUKSubjects], Names: *readers[FormatUKNames], Identifiers: readers[FormatUKIdentifiers], DOBs: readers[FormatUKDOBs]}, emit)
	case readers[FormatEUJournal] != nil:
		r := readers[FormatEUJournal]
		probs, err = ParseEUJournalCSV(r.R, r.Name, emit)
	case readers[FormatFtM] != nil:
		r := readers[FormatFtM]
		probs, err = ParseFtM(r.R, r.Name, emit)
	default:
		return nil, fmt.Errorf("bundle for %s has no main file", b.List)
	}
	if err != nil {
		return nil, err
	}
	v.Problems = probs
	// Hash whole files even where a parser stopped reading early.
	for i, hr := range opened {
		if _, err := io.Copy(io.Discard, hr); err != nil {
			return nil, fmt.Errorf("read %s: %w", v.Files[i].Name, err)
		}
		v.Files[i].SHA256 = hex.EncodeToString(hr.h.Sum(nil))
		v.Files[i].Bytes = hr.n
	}
	if len(v.Files) == 1 {
		v.SHA256 = v.Files[0].SHA256
	} else {
		h := sha256.New()
		for _, f := range v.Files {
			fmt.Fprintf(h, "%s %s\n", f.Role, f.SHA256)
		}
		v.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	switch {
	case !published.IsZero():
		v.Published = published.UTC().Format(time.RFC3339)
		v.PublishedFrom = "file content"
	case b.DateHint != "":
		v.Published = b.DateHint
		v.PublishedFrom = "file name"
	}
	v.ID = VersionID(b.List, published, v.SHA256)
	uniqueIDs(ds.Entities, b.MainFile().Name, &v.Problems)
	for _, e := range ds.Entities {
		v.Counts[e.Type]++
		for i := range e.Listings {
			e.Listings[i].Version = v.ID
		}
	}
	v.Total = len(ds.Entities)
	return ds, nil
}

// uniqueIDs keeps entity ids unique within a version: a publisher's id
// given twice (a broken file) is counted as a problem and the later
// entities get "~2", "~3" in file order, so that none is lost and no
// evidence cites an id that names two things.
func uniqueIDs(es []*Entity, file string, probs *Problems) {
	seen := make(map[string]int, len(es))
	for _, e := range es {
		n := seen[e.ID] + 1
		seen[e.ID] = n
		if n == 1 {
			continue
		}
		probs.Add(Problem{File: file, Reason: fmt.Sprintf("id %s given %d times; this one kept as %s~%d", e.ID, n, e.ID, n)}, "duplicate id")
		suffix := fmt.Sprintf("~%d", n)
		e.ID += suffix
		for i := range e.Listings {
			e.Listings[i].SourceID += suffix
		}
	}
}

// VersionID names a version of a list, and is the one place version names
// are made (the command line, the server, its API and the reports all show
// the ID it gives): "un@2026-02-27-66b392a4" when the content carries its
// publication date (UN dateGenerated, OFAC XML Publish_Date), else
// "uk@sha256-5ed3f2bf". Only the content counts: a date in the file or
// folder name is the version's Published date (shown beside the id, and
// what orders undated versions) but not part of its name, since the same
// file is found under many names (uk_derived/ beside the repository,
// uk_derived_2026-04-29/ in the embedded snapshot, a download's temporary
// name). Nor is a file's modification time. The same content always gets
// the same id, wherever it was read from.
func VersionID(list string, published time.Time, sha string) string {
	if published.IsZero() {
		return fmt.Sprintf("%s@sha256-%s", list, sha[:min(len(sha), 8)])
	}
	return fmt.Sprintf("%s@%s-%s", list, published.UTC().Format("2006-01-02"), sha[:min(len(sha), 8)])
}

// dateInPath finds a YYYY-MM-DD date in the file name, or failing that in
// its directory name (a folder of UK tables named for their report date).
func dateInPath(name string) string {
	p := filepathSlash(name)
	if d := dateInName.FindString(path.Base(p)); d != "" {
		return d
	}
	return dateInName.FindString(path.Base(path.Dir(p)))
}
