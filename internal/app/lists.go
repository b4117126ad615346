package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/snapshot"
	"github.com/tidewatch/tidewatch/store"
)

// ListRepository is the one home of list versions: every command and
// endpoint reads the same one.
type ListRepository interface {
	PutListVersions(ctx context.Context, vs []store.ListVersion) (int, error)
	ListVersions(ctx context.Context) ([]sanctions.Version, error)
	ListEntities(ctx context.Context, versionID string) ([]*sanctions.Entity, error)
	ListFiles(ctx context.Context, versionID string) ([]store.ListFile, error)
	LogListImport(ctx context.Context, a store.ListImport) error
	ListImports(ctx context.Context, list string) ([]store.ListImport, error)
}

// Import outcomes.
const (
	// OutcomeStored: a new version, in force from its publication date.
	OutcomeStored = "stored"
	// OutcomeUnchanged: the same content as a stored version.
	OutcomeUnchanged = "unchanged"
	// OutcomeHistory: a new version older than the newest held, kept for
	// point-in-time profiles and diffs.
	OutcomeHistory = "history"
	// OutcomeFailed: refused; nothing changed.
	OutcomeFailed = "failed"
)

// DefaultMinRatio refuses a new version holding less than half the
// entities of the newest version of its list: a truncated file still
// parses, just shorter, and this is what catches it.
const DefaultMinRatio = 0.5

// ImportRequest is a set of list files to store as versions.
type ImportRequest struct {
	Files []sanctions.File
	// Source says where they came from (a path, URLs, "embedded").
	Source string
	// Retrieved is when they were fetched (zero: each file's time).
	Retrieved time.Time
	// MinRatio is the shrink guard (0: DefaultMinRatio; negative: off).
	MinRatio float64
	// KeepFiles stores the raw files with each version (for case files
	// and audits); the embedded snapshot's are in the binary already.
	KeepFiles bool
	// List, when set, refuses versions of any other list (a download that
	// turned out to hold something else).
	List string
}

// ImportResult is what an import did, per list version found.
type ImportResult struct {
	Versions []VersionImport     `json:"versions"`
	Skipped  []sanctions.Problem `json:"skipped,omitempty"`
	// Monitor is the reverse screening of the changes against every
	// portfolio (when versions in force changed).
	Monitor *MonitorResult `json:"monitor,omitempty"`
}

// VersionImport is one version's outcome.
type VersionImport struct {
	List     string             `json:"list"`
	Outcome  string             `json:"outcome"`
	Version  *sanctions.Version `json:"version,omitempty"`
	Previous string             `json:"previous,omitempty"` // the newest version before, when replaced
	Reason   string             `json:"reason,omitempty"`
}

// Failed counts the versions refused.
func (r ImportResult) Failed() int {
	n := 0
	for _, v := range r.Versions {
		if v.Outcome == OutcomeFailed {
			n++
		}
	}
	return n
}

// ImportLists reads files into list versions and stores those that read
// cleanly and pass the guards, all in one transaction; each attempt,
// good or bad, goes in the import log. Lists are shared by every tenant,
// so only the operator may import.
func (s *Service) ImportLists(ctx context.Context, p Principal, req ImportRequest) (ImportResult, error) {
	if err := p.needShared(RoleAnalyst, "importing lists"); err != nil {
		return ImportResult{}, err
	}
	res, err := s.importLists(ctx, p.Actor, req)
	if err != nil {
		return res, err
	}
	if _, err := s.record(ctx, p, audit.ActionLists, "lists", map[string]any{"source": req.Source, "versions": res.Versions}); err != nil {
		return res, err
	}
	return res, s.afterImport(ctx, &res)
}

// afterImport screens what changed against the portfolios when stored
// versions may have changed what is in force.
func (s *Service) afterImport(ctx context.Context, res *ImportResult) error {
	stored := false
	for _, v := range res.Versions {
		stored = stored || v.Outcome == OutcomeStored
	}
	if !stored {
		return nil
	}
	m, err := s.ScreenListChanges(ctx)
	if errors.Is(err, store.ErrLeaseLost) {
		// Another process took the monitor over: its next pass screens
		// these versions (the versions screened are in the store).
		s.log.Warn("screen list changes against portfolios", "err", err.Error())
		return nil
	}
	if err != nil {
		return fmt.Errorf("screen list changes against portfolios: %w", err)
	}
	res.Monitor = &m
	return nil
}

// importLists imports under the store-wide list lock: what is held is
// read, compared and added with no other node's import in between.
func (s *Service) importLists(ctx context.Context, actor string, req ImportRequest) (ImportResult, error) {
	unlock, err := s.lockLists(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	defer unlock()
	return s.importLocked(ctx, actor, req)
}

func (s *Service) importLocked(ctx context.Context, actor string, req ImportRequest) (ImportResult, error) {
	var res ImportResult
	bundles, skipped := sanctions.Group(req.Files)
	res.Skipped = skipped
	if len(bundles) == 0 {
		why := "no list file recognised"
		if len(skipped) > 0 {
			why = skipped[0].Reason
			if req.List == "" {
				why = skipped[0].File + ": " + why
			}
		}
		if req.List != "" {
			return res, Errorf(CodeInvalid, "the files are not a %s version (%s)", req.List, why)
		}
		return res, Errorf(CodeInvalid, "%s (%s)", why, req.Source)
	}
	sort.SliceStable(bundles, func(i, j int) bool {
		if bundles[i].List != bundles[j].List {
			return bundles[i].List < bundles[j].List
		}
		return bundles[i].DateHint < bundles[j].DateHint
	})
	held, err := s.st.ListVersions(ctx)
	if err != nil {
		return res, err
	}
	newest := map[string]sanctions.Version{}
	bySHA := map[string]sanctions.Version{}
	for _, v := range held {
		if cur, ok := newest[v.List]; !ok || cur.Before(v) {
			newest[v.List] = v
		}
		bySHA[v.List+" "+v.SHA256] = v
	}
	minRatio := req.MinRatio
	if minRatio == 0 {
		minRatio = DefaultMinRatio
	}
	var put []store.ListVersion
	now := s.now().UTC()
	for _, b := range bundles {
		vi := VersionImport{List: b.List}
		if req.List != "" && b.List != req.List {
			vi.Outcome, vi.Reason = OutcomeFailed, fmt.Sprintf("the files hold a %s version, not %s; nothing stored", b.List, req.List)
			res.Versions = append(res.Versions, vi)
			continue
		}
		retrieved := req.Retrieved
		if retrieved.IsZero() {
			retrieved = b.MainFile().ModTime
		}
		var files []store.ListFile
		if req.KeepFiles {
			files, b, err = captureFiles(b)
			if err != nil {
				vi.Outcome, vi.Reason = OutcomeFailed, err.Error()
				res.Versions = append(res.Versions, vi)
				continue
			}
		}
		ds, err := sanctions.Load(b, retrieved)
		switch {
		case err != nil:
			vi.Outcome, vi.Reason = OutcomeFailed, fmt.Sprintf("does not read: %v; the versions held are kept", err)
		case ds.Version.Total > s.maxEnts:
			vi.Outcome, vi.Reason = OutcomeFailed, fmt.Sprintf("holds %d entities, more than the %d allowed (MaxListEntities): not a sanctions list, or not one this installation is sized for", ds.Version.Total, s.maxEnts)
		default:
			v := ds.Version
			vi.Version = &v
			cur, hasCur := newest[b.List]
			if old, ok := bySHA[b.List+" "+v.SHA256]; ok {
				vi.Outcome, vi.Version = OutcomeUnchanged, &old
				break
			}
			newer := !hasCur || cur.Before(v)
			if newer && hasCur && minRatio > 0 && float64(v.Total) < minRatio*float64(cur.Total) {
				vi.Outcome = OutcomeFailed
				vi.Reason = fmt.Sprintf("holds %d entities where %s holds %d: looks truncated; the versions held are kept (a lower minimum ratio allows it)", v.Total, cur.ID, cur.Total)
				break
			}
			vi.Outcome = OutcomeHistory
			if newer {
				vi.Outcome = OutcomeStored
				if hasCur {
					vi.Previous = cur.ID
				}
				newest[b.List] = v
			}
			bySHA[b.List+" "+v.SHA256] = v
			put = append(put, store.ListVersion{Dataset: ds, Files: files})
		}
		res.Versions = append(res.Versions, vi)
	}
	if len(put) > 0 {
		if _, err := s.st.PutListVersions(ctx, put); err != nil {
			for i := range res.Versions {
				if o := res.Versions[i].Outcome; o == OutcomeStored || o == OutcomeHistory {
					res.Versions[i].Outcome, res.Versions[i].Reason = OutcomeFailed, "could not be stored: "+err.Error()
				}
			}
			s.logImports(ctx, actor, req.Source, now, res)
			return res, fmt.Errorf("store list versions: %w", err)
		}
		s.screens.invalidate()
		// Build the new index before answering: the import's caller then
		// screens against what it imported, and screenings meanwhile use
		// the previous index.
		if s.screens.current.Load() != nil {
			if err := s.screens.refresh(ctx); err != nil {
				s.log.Warn("screening index after import", "err", err)
			}
		}
	}
	s.logImports(ctx, actor, req.Source, now, res)
	s.Metrics.add(func(m *Counters) { m.ListImports += int64(len(put)); m.ListImportErrors += int64(res.Failed()) })
	return res, nil
}

func (s *Service) logImports(ctx context.Context, actor, source string, now time.Time, res ImportResult) {
	for _, v := range res.Versions {
		a := store.ListImport{Time: now, List: v.List, Source: source, Outcome: v.Outcome, Reason: v.Reason, Actor: actor}
		if v.Version != nil {
			a.Version = v.Version.ID
		}
		if err := s.st.LogListImport(ctx, a); err != nil {
			s.log.Warn("list import log", "err", err)
		}
	}
}

// captureFiles reads a bundle's files into memory, so they can be stored
// with the version, and returns a bundle that parses from those bytes
// (the file read once is the file stored and hashed).
func captureFiles(b sanctions.Bundle) ([]store.ListFile, sanctions.Bundle, error) {
	out := sanctions.Bundle{List: b.List, DateHint: b.DateHint, Files: map[sanctions.Format]sanctions.File{}}
	var files []store.ListFile
	roles := make([]sanctions.Format, 0, len(b.Files))
	for r := range b.Files {
		roles = append(roles, r)
	}
	sort.Slice(roles, func(i, j int) bool { return roles[i] < roles[j] })
	for _, role := range roles {
		f := b.Files[role]
		rc, err := f.Open()
		if err != nil {
			return nil, b, fmt.Errorf("open %s: %w", f.Name, err)
		}
		data, err := io.ReadAll(io.LimitReader(rc, maxListFileBytes+1))
		rc.Close()
		if err != nil {
			return nil, b, fmt.Errorf("read %s: %w", f.Name, err)
		}
		if len(data) > maxListFileBytes {
			return nil, b, fmt.Errorf("%s is larger than %d MiB", f.Name, maxListFileBytes>>20)
		}
		sum := sha256.Sum256(data)
		name := f.Name
		if i := strings.LastIndexAny(name, `/\`); i >= 0 {
			name = name[i+1:]
		}
		files = append(files, store.ListFile{Role: string(role), Name: strings.TrimSuffix(name, ".gz"), SHA256: hex.EncodeToString(sum[:]), Data: data})
		out.Files[role] = sanctions.File{Name: f.Name, ModTime: f.ModTime, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
	}
	return files, out, nil
}

// maxListFileBytes bounds one list file kept in the store.
const maxListFileBytes = 1 << 30

// EnsureLists stores the embedded list snapshot when the store lacks any
// of its versions: a first ingest killed half-way leaves some out, and
// the next call completes them (every version in one transaction, so
// there is no half-seeded state either). It returns how many it added.
func (s *Service) EnsureLists(ctx context.Context) (int, error) {
	held, err := s.st.ListVersions(ctx)
	if err != nil {
		return 0, err
	}
	if len(held) > 0 && !s.seededIncomplete(ctx, held) {
		return 0, nil
	}
	// Servers starting together on a new store seed it once: the check
	// again under the list lock.
	unlock, err := s.lockLists(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	if held, err = s.st.ListVersions(ctx); err != nil {
		return 0, err
	}
	if len(held) > 0 && !s.seededIncomplete(ctx, held) {
		return 0, nil
	}
	res, err := s.importLocked(ctx, "tidewatch", ImportRequest{Files: snapshot.Files(), Source: "embedded snapshot " + snapshot.Taken.Format("2006-01-02"), MinRatio: -1})
	if err != nil {
		return 0, err
	}
	added := 0
	for _, v := range res.Versions {
		if v.Outcome == OutcomeStored || v.Outcome == OutcomeHistory {
			added++
		}
	}
	return added, nil
}

// seededIncomplete says the store was seeded from the snapshot (its
// import log says so) but lacks some of the snapshot's lists.
func (s *Service) seededIncomplete(ctx context.Context, held []sanctions.Version) bool {
	imports, err := s.st.ListImports(ctx, "")
	if err != nil {
		return false
	}
	seeded := false
	for _, a := range imports {
		if strings.HasPrefix(a.Source, "embedded snapshot") {
			seeded = true
		}
	}
	if !seeded {
		return len(imports) == 0 // versions stored by an older build: check them
	}
	have := map[string]bool{}
	for _, v := range held {
		have[v.List] = true
	}
	for _, l := range SnapshotLists() {
		if !have[l] {
			return true
		}
	}
	return false
}

// SnapshotLists names the lists the embedded snapshot holds.
func SnapshotLists() []string {
	bundles, _ := sanctions.Group(snapshot.Files())
	seen := map[string]bool{}
	var out []string
	for _, b := range bundles {
		if !seen[b.List] {
			seen[b.List] = true
			out = append(out, b.List)
		}
	}
	sort.Strings(out)
	return out
}

// RequiredLists are the lists without which nothing can be cleared: the
// UN list (the DPRK designations themselves) and OFAC's SDN list (the
// widest DPRK vessel coverage). A profile whose lists in force lack one
// cannot accept.
var RequiredLists = []string{"un", "ofac-sdn"}

// ListVersionInfo is a stored version with whether it is in force now.
type ListVersionInfo struct {
	sanctions.Version
	InForce bool `json:"in_force"`
}

// ListVersions returns every stored version, by list and age, with the
// ones in force now marked.
func (s *Service) ListVersions(ctx context.Context, p Principal) ([]ListVersionInfo, error) {
	if err := p.need(RoleViewer, "reading list versions"); err != nil {
		return nil, err
	}
	all, err := s.st.ListVersions(ctx)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].List != all[j].List {
			return all[i].List < all[j].List
		}
		return all[i].Before(all[j])
	})
	cur := map[string]bool{}
	for _, v := range risk.VersionsAt(all, s.Now()) {
		cur[v.ID] = true
	}
	out := make([]ListVersionInfo, len(all))
	for i, v := range all {
		out[i] = ListVersionInfo{Version: v, InForce: cur[v.ID]}
	}
	return out, nil
}

// ListImports returns the import log ("" for every list).
func (s *Service) ListImports(ctx context.Context, p Principal, list string) ([]store.ListImport, error) {
	if err := p.need(RoleViewer, "reading the list import log"); err != nil {
		return nil, err
	}
	return s.st.ListImports(ctx, list)
}

// Dataset loads a stored version.
func (s *Service) Dataset(ctx context.Context, p Principal, id string) (*sanctions.Dataset, error) {
	if err := p.need(RoleViewer, "reading a list version"); err != nil {
		return nil, err
	}
	return s.dataset(ctx, id)
}

func (s *Service) dataset(ctx context.Context, id string) (*sanctions.Dataset, error) {
	all, err := s.st.ListVersions(ctx)
	if err != nil {
		return nil, err
	}
	for _, v := range all {
		if v.ID == id {
			ents, err := s.st.ListEntities(ctx, id)
			if err != nil {
				return nil, err
			}
			return &sanctions.Dataset{Version: v, Entities: ents}, nil
		}
	}
	return nil, Errorf(CodeNotFound, "no list version %q in the store", id)
}

// DiffVersions compares two stored versions of one list.
func (s *Service) DiffVersions(ctx context.Context, p Principal, from, to string) (*sanctions.DiffResult, error) {
	a, err := s.Dataset(ctx, p, from)
	if err != nil {
		return nil, err
	}
	b, err := s.dataset(ctx, to)
	if err != nil {
		return nil, err
	}
	d, err := sanctions.Diff(a, b)
	if err != nil {
		return nil, Errorf(CodeInvalid, "%v", err)
	}
	return d, nil
}

// InForce returns the list datasets in force at a time: for each list,
// the latest version published by then.
func (s *Service) InForce(ctx context.Context, p Principal, at time.Time) ([]*sanctions.Dataset, error) {
	if err := p.need(RoleViewer, "reading lists"); err != nil {
		return nil, err
	}
	ix, err := s.screens.at(ctx, at)
	if err != nil {
		return nil, err
	}
	return ix.lists(ctx)
}

// ListSource fetches one list's files from where it is published (the
// download adapter implements it).
type ListSource interface {
	List() string
	// Fetch downloads the files; done removes what Fetch left behind.
	Fetch(ctx context.Context) (files []sanctions.File, retrieved time.Time, done func(), err error)
	Describe() string
}

// UpdateLists fetches each source and imports what it got; a failed
// fetch or import keeps the versions held and is logged with its reason.
func (s *Service) UpdateLists(ctx context.Context, p Principal, sources []ListSource, minRatio float64) (ImportResult, error) {
	if err := p.needShared(RoleAnalyst, "updating lists"); err != nil {
		return ImportResult{}, err
	}
	var all ImportResult
	for _, src := range sources {
		files, retrieved, done, err := src.Fetch(ctx)
		if err != nil {
			vi := VersionImport{List: src.List(), Outcome: OutcomeFailed, Reason: err.Error() + "; the versions held are kept"}
			all.Versions = append(all.Versions, vi)
			s.logImports(ctx, p.Actor, src.Describe(), s.now().UTC(), ImportResult{Versions: []VersionImport{vi}})
			continue
		}
		res, err := s.importLists(ctx, p.Actor, ImportRequest{Files: files, Source: src.Describe(), Retrieved: retrieved, MinRatio: minRatio, KeepFiles: true, List: src.List()})
		done()
		if err != nil {
			if CodeOf(err) != CodeInvalid {
				return all, err
			}
			vi := VersionImport{List: src.List(), Outcome: OutcomeFailed, Reason: err.Error() + "; the versions held are kept"}
			all.Versions = append(all.Versions, vi)
			s.logImports(ctx, p.Actor, src.Describe(), s.now().UTC(), ImportResult{Versions: []VersionImport{vi}})
			continue
		}
		all.Versions = append(all.Versions, res.Versions...)
	}
	if _, err := s.record(ctx, p, audit.ActionLists, "lists", map[string]any{"update": true, "versions": all.Versions}); err != nil {
		return all, err
	}
	return all, s.afterImport(ctx, &all)
}

// ListFilesOf returns a stored version's raw files.
func (s *Service) ListFilesOf(ctx context.Context, p Principal, versionID string) ([]store.ListFile, error) {
	if err := p.need(RoleViewer, "reading list files"); err != nil {
		return nil, err
	}
	return s.st.ListFiles(ctx, versionID)
}
