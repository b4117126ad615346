package app

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/ais/sample"
	"github.com/tidewatch/tidewatch/casefile"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/report"
	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/store"
)

// Case files (package casefile, docs/cases.md): the evidence about a
// vessel, packaged so another institution can check it offline and derive
// the same events and profile from it.
//
// The package's events and profile are what detection and the profile
// give on exactly the packaged raw AIS lines, lists and configuration:
// export derives them in a scratch store from the lines it just cut out,
// and replay derives them again the same way, so the two are equal byte
// for byte unless something differs. The store's own events and profile
// are compared with the package's at export, and the differences kept in
// data/crosscheck.json.

// ScratchStore is a store the service makes and throws away (a case's
// derivation).
type ScratchStore interface {
	Store
	Close() error
}

// Payload files of a case package.
const (
	caseSummaryFile = "data/case.json"
	caseEventsFile  = "data/events.jsonl"
	caseProfileFile = "data/profile.json"
	caseReportFile  = "data/report.html"
	caseCrossFile   = "data/crosscheck.json"
	caseDetectFile  = "data/config/detect.json"
	caseRiskFile    = "data/config/risk.json"
	caseAISDir      = "data/ais/"
	caseListsDir    = "data/lists/"
)

// DefaultCaseMargin is how much AIS before and after the period a case
// keeps: detection needs the state a ship was in when the period began.
const DefaultCaseMargin = 24 * time.Hour

// CaseExportRequest asks for a case file.
type CaseExportRequest struct {
	Vessel store.VesselQuery
	// From and To bound the period (zero To: now; zero From: 12 months
	// before To).
	From, To time.Time
	// Margin is the AIS kept before and after the period (zero: a day).
	Margin time.Duration
	// AIS names the raw input files to read (default: the inputs the
	// store's ingest runs recorded).
	AIS []string
	// KeyID chooses the tenant's signing key (default: its newest).
	KeyID string
}

// CaseInput is one raw AIS input as the export found it.
type CaseInput struct {
	// Name as recorded (or given); File the payload file of its lines.
	Name string `json:"name"`
	File string `json:"file,omitempty"`
	Run  string `json:"run,omitempty"`
	// SHA256 is of the whole source file as read at export; Check says
	// whether it is the content ingested.
	SHA256 string `json:"sha256,omitempty"`
	Check  string `json:"check"`
	// Used: its lines are in the package; otherwise Gap says why not.
	// Kept says the lines come from the copy the server kept of a file
	// received through the API (its SHA-256 checked); Format is "csv"
	// for a decoded CSV export's rows (header kept), else NMEA lines.
	Kept   bool                   `json:"kept_upload,omitempty"`
	Format string                 `json:"format,omitempty"`
	Used   bool                   `json:"used"`
	Gap    string                 `json:"gap,omitempty"`
	Stats  *casefile.ExcerptStats `json:"excerpt,omitempty"`
}

// CaseList is a list version in force packaged with its records.
type CaseList struct {
	ID       string `json:"id"`
	List     string `json:"list"`
	SHA256   string `json:"sha256"`
	Entities int    `json:"entities"`
	// RawFiles says the version's raw files are in the package too.
	RawFiles bool `json:"raw_files"`
}

// CaseCrossCheck compares the package's events and profile (derived from
// its own lines) with the store's for the vessel and period.
type CaseCrossCheck struct {
	// Events of the vessel in the period: in the store but not derived
	// from the package's lines, derived but not stored, or both but not
	// the same.
	StoreEvents   int      `json:"store_events"`
	PackageEvents int      `json:"package_events"`
	MissingIDs    []string `json:"missing_from_package"`
	ExtraIDs      []string `json:"not_in_store"`
	ChangedIDs    []string `json:"different"`
	// Changed says which fields differ in each different event.
	Changed []FieldDiff `json:"differences"`
	// The store's profile of the vessel for the same date and window.
	StoreProfileHash    string `json:"store_profile_hash"`
	StoreRecommendation string `json:"store_recommendation"`
	// ProfileFields are the profile's fields that differ.
	ProfileFields         []string `json:"profile_fields_different"`
	StoreScore            float64  `json:"store_score"`
	PackageRecommendation string   `json:"package_recommendation"`
	PackageScore          float64  `json:"package_score"`
	// Notes explain the usual reasons for a difference.
	Notes []string `json:"notes"`
}

// CaseSummary is data/case.json: what the package holds and where it
// came from, in one place a person can read.
type CaseSummary struct {
	Predicate  casefile.Predicate `json:"case"`
	MarginSecs int64              `json:"margin_seconds"`
	Inputs     []CaseInput        `json:"inputs"`
	Lists      []CaseList         `json:"lists"`
	// DetectConfigHash and RiskConfigHash name data/config/*.json.
	DetectConfigHash string   `json:"detect_config_hash"`
	RiskConfigHash   string   `json:"risk_config_hash"`
	Zones            []string `json:"zones"`
	CrossCheck       string   `json:"cross_check"`
}

// CaseExportResult is a signed package and what went into it.
type CaseExportResult struct {
	Bag        *casefile.Bag
	Root       string // a name for the package (directory or zip root)
	Summary    CaseSummary
	CrossCheck CaseCrossCheck
	Statement  string // hex SHA-256 of the statement
	KeyID      string
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// ExportCase packages the evidence about a vessel over a period: the raw
// AIS lines of the vessel and its counterparts (as received, from the
// recorded inputs, checked against what was ingested), the list records in
// force, the configuration, the events and profile derived from exactly
// those lines, the report, and a cross-check with the store; sealed in a
// signed in-toto statement (the tenant's signing key). Inputs that cannot
// be read are stated in the package, never left out silently.
func (s *Service) ExportCase(ctx context.Context, p Principal, req CaseExportRequest) (*CaseExportResult, error) {
	if err := p.need(RoleAnalyst, "exporting a case file"); err != nil {
		return nil, err
	}
	q := req.Vessel
	if q.IMO == 0 && q.MMSI == 0 {
		return nil, Errorf(CodeInvalid, "give the vessel's IMO number or MMSI")
	}
	to := req.To
	if to.IsZero() {
		to = s.Now()
	}
	from := req.From
	if from.IsZero() {
		from = DefaultWindow.Before(to)
	}
	to, from = to.UTC(), from.UTC()
	if !to.After(from) {
		return nil, Errorf(CodeInvalid, "the period's end must be after its start")
	}
	margin := req.Margin
	if margin <= 0 {
		margin = DefaultCaseMargin
	}
	if margin > 30*24*time.Hour {
		return nil, Errorf(CodeInvalid, "margin %s: at most 30 days", margin)
	}
	priv, key, err := s.signingKey(ctx, p, req.KeyID)
	if err != nil {
		return nil, err
	}
	mmsis, err := s.mmsisOf(ctx, q)
	if err != nil {
		return nil, err
	}
	if len(mmsis) == 0 {
		return nil, Errorf(CodeNotFound, "the store holds no AIS of %s: nothing to package", SubjectOf(q))
	}
	sort.Slice(mmsis, func(i, j int) bool { return mmsis[i] < mmsis[j] })
	stored, err := s.st.Events(ctx, mmsis, from, to)
	if err != nil {
		return nil, err
	}
	own := map[uint32]bool{}
	for _, m := range mmsis {
		own[m] = true
	}
	var counterparts []uint32
	keepSet := map[uint32]bool{}
	for _, m := range mmsis {
		keepSet[m] = true
	}
	for _, e := range stored {
		for _, v := range e.Vessels {
			if !own[v.MMSI] && !keepSet[v.MMSI] {
				counterparts = append(counterparts, v.MMSI)
			}
			keepSet[v.MMSI] = true
		}
	}
	sort.Slice(counterparts, func(i, j int) bool { return counterparts[i] < counterparts[j] })
	lo, hi := from.Add(-margin), to.Add(margin)
	keep := func(m uint32, t time.Time) bool { return keepSet[m] && !t.Before(lo) && !t.After(hi) }

	payload := map[string][]byte{}
	inputs, gaps, err := s.caseInputs(ctx, req.AIS, keep, payload)
	if err != nil {
		return nil, err
	}
	// The lists in force at the period's end, as records.
	idx, err := s.screens.at(ctx, to)
	if err != nil {
		return nil, err
	}
	var lists []CaseList
	inForce, err := idx.lists(ctx)
	if err != nil {
		return nil, err
	}
	datasets := append([]*sanctions.Dataset(nil), inForce...)
	sort.Slice(datasets, func(i, j int) bool { return datasets[i].Version.ID < datasets[j].Version.ID })
	for _, d := range datasets {
		dir := caseListsDir + unsafeName.ReplaceAllString(d.Version.ID, "_") + "/"
		vj, _ := json.MarshalIndent(d.Version, "", "  ")
		payload[dir+"version.json"] = append(vj, '\n')
		var ents bytes.Buffer
		for _, e := range d.Entities {
			j, err := json.Marshal(e)
			if err != nil {
				return nil, err
			}
			ents.Write(j)
			ents.WriteByte('\n')
		}
		payload[dir+"entities.jsonl"] = ents.Bytes()
		cl := CaseList{ID: d.Version.ID, List: d.Version.List, SHA256: d.Version.SHA256, Entities: len(d.Entities)}
		files, err := s.st.ListFiles(ctx, d.Version.ID)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			payload[dir+"files/"+unsafeName.ReplaceAllString(f.Name, "_")] = f.Data
			cl.RawFiles = true
		}
		lists = append(lists, cl)
	}
	dj, _ := json.MarshalIndent(s.detect, "", "  ")
	rj, _ := json.MarshalIndent(s.risk, "", "  ")
	payload[caseDetectFile] = append(dj, '\n')
	payload[caseRiskFile] = append(rj, '\n')

	in, err := caseDeriveInput(payload, q, from, to)
	if err != nil {
		return nil, err
	}
	der, err := s.derive(ctx, in)
	if err != nil {
		return nil, err
	}
	payload[caseEventsFile] = der.events
	payload[caseProfileFile] = der.profile
	g, err := s.Geography()
	if err != nil {
		return nil, err
	}
	now := s.Now()
	var rep bytes.Buffer
	if err := report.Write(&rep, report.Input{Profile: der.prof, ProfileHash: der.hash, Track: der.track, Counterparts: der.counterparts, Land: g.Land, Zones: g.Zones,
		Ports: g.Ports, Generated: now, GeneratedBy: p.Actor, Version: s.version, Window: fmt.Sprintf("%s to %s", from.Format(time.DateOnly), to.Format(time.DateOnly)),
		Simulated: der.simulated}); err != nil {
		return nil, err
	}
	payload[caseReportFile] = rep.Bytes()

	cc, err := s.crossCheck(ctx, q, mmsis, from, to, stored, der)
	if err != nil {
		return nil, err
	}
	ccj, _ := json.MarshalIndent(cc, "", "  ")
	payload[caseCrossFile] = append(ccj, '\n')

	t, err := s.tenantOf(ctx, p.Tenant)
	if err != nil {
		return nil, err
	}
	pred := casefile.Predicate{Vessel: casefile.PredicateVessel{IMO: der.prof.IMO, MMSI: q.MMSI, Name: der.prof.Name, MMSIs: mmsis, Counterparts: counterparts},
		From: from, To: to, Exported: now, ExportedBy: p.Actor, Organization: t.Name, Program: "tidewatch " + s.version,
		ProfileHash: der.hash, Recommendation: der.prof.Recommendation, Score: der.prof.Score, Events: der.count, Complete: len(gaps) == 0, Gaps: gaps}
	if pred.Gaps == nil {
		pred.Gaps = []string{}
	}
	if pred.Vessel.Counterparts == nil {
		pred.Vessel.Counterparts = []uint32{}
	}
	sum := CaseSummary{Predicate: pred, MarginSecs: int64(margin / time.Second), Inputs: inputs, Lists: lists, DetectConfigHash: hashOf(payload[caseDetectFile]),
		RiskConfigHash: hashOf(payload[caseRiskFile]), CrossCheck: caseCrossFile}
	for _, z := range g.Zones {
		sum.Zones = append(sum.Zones, z.ID)
	}
	sj, _ := json.MarshalIndent(sum, "", "  ")
	payload[caseSummaryFile] = append(sj, '\n')

	subject := strings.ReplaceAll(SubjectOf(q), ":", "-")
	root := fmt.Sprintf("case-%s-%s-%s", subject, from.Format("20060102"), to.Format("20060102"))
	bag, err := casefile.New(payload, []casefile.InfoField{
		{Label: "Source-Organization", Value: t.Name},
		{Label: "Contact-Name", Value: p.Actor},
		{Label: "External-Description", Value: fmt.Sprintf("Tidewatch case file: %s (%s), AIS, list records, events, profile and report from %s to %s", SubjectOf(q), der.prof.Name, from.Format(time.RFC3339), to.Format(time.RFC3339))},
		{Label: "External-Identifier", Value: root},
		{Label: "Bagging-Date", Value: now.Format(time.DateOnly)},
		{Label: "Bag-Software-Agent", Value: "tidewatch " + s.version},
	})
	if err != nil {
		return nil, err
	}
	if err := bag.Seal(pred); err != nil {
		return nil, err
	}
	if err := bag.Sign(priv, p.Actor, t.Name, now); err != nil {
		return nil, err
	}
	_, stSum, err := bag.Statement()
	if err != nil {
		return nil, err
	}
	if _, err := s.record(ctx, p, ActionCase, SubjectOf(q), map[string]any{"exported_case": stSum, "from": from, "to": to, "key": key.ID,
		"profile_hash": der.hash, "events": der.count, "gaps": gaps}); err != nil {
		return nil, err
	}
	return &CaseExportResult{Bag: bag, Root: root, Summary: sum, CrossCheck: cc, Statement: stSum, KeyID: key.ID}, nil
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// caseInputs cuts the lines keep selects out of the raw inputs into the
// payload, and says what it could not read.
func (s *Service) caseInputs(ctx context.Context, given []string, keep casefile.Keep, payload map[string][]byte) ([]CaseInput, []string, error) {
	recs, err := s.st.InputRecords(ctx)
	if err != nil {
		return nil, nil, err
	}
	recorded := map[string][]store.InputRecord{}
	for _, r := range recs {
		recorded[r.Name] = append(recorded[r.Name], r)
	}
	type cand struct{ name, run string }
	var cands []cand
	if len(given) > 0 {
		for _, g := range given {
			cands = append(cands, cand{name: g})
		}
	} else {
		runs, err := s.st.Runs(ctx)
		if err != nil {
			return nil, nil, err
		}
		seen := map[string]bool{}
		for _, r := range runs {
			for _, n := range r.Inputs {
				if !seen[n] {
					seen[n] = true
					cands = append(cands, cand{name: n, run: r.ID})
				}
			}
		}
	}
	var out []CaseInput
	var gaps []string
	used := map[string]bool{}
	for i, c := range cands {
		ci := CaseInput{Name: c.name, Run: c.run}
		gap := func(why string) {
			ci.Gap = why
			gaps = append(gaps, fmt.Sprintf("input %s: %s", c.name, why))
		}
		var raw []byte
		upName, upPrefix, upload := parseUploadInput(c.name)
		if upload && len(given) == 0 {
			var why string
			raw, ci.Kept, why = s.readUpload(ctx, upPrefix, recorded[c.name])
			if why != "" {
				gap(why)
			}
		} else {
			var err error
			raw, err = readRawInput(c.name)
			switch {
			case ais.IsLive(c.name):
				gap("a live feed: its lines were not kept, so they are not in this package")
			case errors.Is(err, os.ErrNotExist):
				gap("not found at its recorded path at export: its lines are not in this package (give the file with --ais)")
			case err != nil:
				gap(fmt.Sprintf("unreadable at export (%v): its lines are not in this package", err))
			}
		}
		if ci.Gap != "" {
			out = append(out, ci)
			continue
		}
		ci.SHA256 = hashOf(raw)
		ids := contentIDs(c.name, raw)
		var rs []store.InputRecord
		for name, r := range recorded {
			if name == c.name || len(given) > 0 {
				rs = append(rs, r...)
			}
		}
		ci.Check = "no content id recorded for this input (ingested before Tidewatch recorded them, or given with --ais): used as found"
		matched, named := false, false
		for _, r := range rs {
			if ids[r.ContentID] {
				matched = true
				ci.Run = r.Run
			}
			named = named || r.Name == c.name
		}
		switch {
		case matched:
			ci.Check = "the same content as ingested (size and SHA-256 of its first and last MiB, as ingest identifies inputs)"
		case named && len(given) == 0:
			gap("changed since it was ingested (its content id differs from the one recorded): not used")
			out = append(out, ci)
			continue
		}
		if ci.Kept {
			ci.Check = "received through the API and kept by the server as received (its SHA-256 checked); " + ci.Check
		}
		text := raw
		if len(raw) > 2 && raw[0] == 0x1f && raw[1] == 0x8b {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err == nil {
				text, err = io.ReadAll(io.LimitReader(zr, 8<<30))
			}
			if err != nil {
				gap(fmt.Sprintf("a damaged gzip file (%v): its lines are not in this package", err))
				out = append(out, ci)
				continue
			}
		}
		var buf bytes.Buffer
		var st casefile.ExcerptStats
		var err error
		if ais.LooksCSV(text[:min(len(text), 256)]) {
			// A decoded CSV export (ingest tells it so, by its first
			// bytes): its header and the rows kept.
			if st, err = casefile.ExcerptCSV(text, keep, &buf); err != nil {
				gap(fmt.Sprintf("a CSV file Tidewatch cannot cut (%v): its rows are not in this package", err))
				out = append(out, ci)
				continue
			}
			ci.Format = "csv"
		} else if st, err = casefile.Excerpt(bytes.NewReader(text), keep, &buf); err != nil {
			return nil, nil, err
		}
		ci.Stats = &st
		if buf.Len() == 0 {
			ci.Check += "; none of its lines are about the ships of this case"
			out = append(out, ci)
			continue
		}
		base := strings.TrimSuffix(path.Base(filepath.ToSlash(strings.TrimPrefix(c.name, "embedded:"))), ".gz")
		if upload {
			base = strings.TrimSuffix(upName, ".gz")
		}
		file := fmt.Sprintf("%s%02d-%s", caseAISDir, i+1, unsafeName.ReplaceAllString(base, "_"))
		if used[file] {
			file += fmt.Sprintf("-%d", i+1)
		}
		used[file] = true
		payload[file] = buf.Bytes()
		ci.File, ci.Used = file, true
		out = append(out, ci)
	}
	return out, gaps, nil
}

// readRawInput reads an input's bytes as stored on disk (the embedded
// sample by its name).
func readRawInput(name string) ([]byte, error) {
	if name == sample.Name {
		return io.ReadAll(sample.Open())
	}
	if ais.IsLive(name) || name == "-" {
		return nil, errors.New("not a file")
	}
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a plain file")
	}
	if fi.Size() > 8<<30 {
		return nil, errors.New("larger than 8 GiB")
	}
	return os.ReadFile(name)
}

// contentIDs are the ids ingest may have given an input: FileInput's
// (size and the first and last MiB) and the whole content's hash prefix
// (inputs read from memory, such as the embedded sample).
func contentIDs(name string, raw []byte) map[string]bool {
	out := map[string]bool{}
	sum := sha256.Sum256(raw)
	out[hex.EncodeToString(sum[:12])] = true
	h := sha256.New()
	fmt.Fprintf(h, "size %d\n", len(raw))
	const span = 1 << 20
	if len(raw) <= 2*span {
		h.Write(raw)
	} else {
		h.Write(raw[:span])
		h.Write(raw[len(raw)-span:])
	}
	out[hex.EncodeToString(h.Sum(nil))[:24]] = true
	return out
}

// deriveInput is what a derivation reads: everything comes from the
// package's files.
type deriveInput struct {
	vessel   store.VesselQuery
	from, to time.Time
	ais      []namedFile
	lists    []*sanctions.Dataset
	detect   detect.Config
	risk     risk.Config
}

type namedFile struct {
	name string
	data []byte
}

// caseDeriveInput reads a derivation's inputs from a package's payload.
func caseDeriveInput(payload map[string][]byte, q store.VesselQuery, from, to time.Time) (deriveInput, error) {
	in := deriveInput{vessel: q, from: from, to: to}
	if err := json.Unmarshal(payload[caseDetectFile], &in.detect); err != nil {
		return in, fmt.Errorf("%s: %v", caseDetectFile, err)
	}
	if err := json.Unmarshal(payload[caseRiskFile], &in.risk); err != nil {
		return in, fmt.Errorf("%s: %v", caseRiskFile, err)
	}
	var names []string
	for p := range payload {
		names = append(names, p)
	}
	sort.Strings(names)
	versions := map[string]*sanctions.Dataset{}
	for _, p := range names {
		switch {
		case strings.HasPrefix(p, caseAISDir):
			in.ais = append(in.ais, namedFile{p, payload[p]})
		case strings.HasPrefix(p, caseListsDir) && strings.HasSuffix(p, "/version.json"):
			dir := strings.TrimSuffix(p, "version.json")
			var d sanctions.Dataset
			if err := json.Unmarshal(payload[p], &d.Version); err != nil {
				return in, fmt.Errorf("%s: %v", p, err)
			}
			sc := bufio.NewScanner(bytes.NewReader(payload[dir+"entities.jsonl"]))
			sc.Buffer(make([]byte, 1<<20), 64<<20)
			for sc.Scan() {
				var e sanctions.Entity
				if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
					return in, fmt.Errorf("%sentities.jsonl: %v", dir, err)
				}
				d.Entities = append(d.Entities, &e)
			}
			if err := sc.Err(); err != nil {
				return in, fmt.Errorf("%sentities.jsonl: %v", dir, err)
			}
			versions[d.Version.ID] = &d
		}
	}
	var ids []string
	for id := range versions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		in.lists = append(in.lists, versions[id])
	}
	return in, nil
}

// derivation is what detection and the profile give on a package's files.
type derivation struct {
	events       []byte // JSON lines, detect.SortEvents order
	count        int
	byID         map[string][]byte
	profile      []byte // indented JSON
	prof         risk.Profile
	hash         string
	track        []report.TrackPoint
	counterparts []report.TrackPoint
	simulated    []string
}

// derive runs ingest (every detector) over the files' lines into a
// scratch store, with the lists and configuration given, and builds the
// vessel's profile as of the period's end over the period: the same
// inputs give the same bytes.
func (s *Service) derive(ctx context.Context, in deriveInput) (*derivation, error) {
	if s.scratch == nil {
		return nil, Errorf(CodePrecondition, "case files need a scratch store to derive their events in (the CLI and the server configure one)")
	}
	sc, err := s.scratch()
	if err != nil {
		return nil, fmt.Errorf("scratch store: %w", err)
	}
	defer sc.Close()
	riskCfg, detectCfg := in.risk, in.detect
	ss := New(Config{Store: sc, Risk: &riskCfg, Detect: &detectCfg, Now: func() time.Time { return in.to }, Version: s.version, Logger: s.log})
	defer ss.Close()
	ss.PinLists(in.lists)
	g, err := s.Geography()
	if err != nil {
		return nil, err
	}
	ss.geoOnce.Do(func() { ss.geo = g })
	der := &derivation{byID: map[string][]byte{}}
	if len(in.ais) > 0 {
		designated, err := ss.Designated(ctx)
		if err != nil {
			return nil, err
		}
		var inputs []ingest.Input
		for _, f := range in.ais {
			data := f.data
			inputs = append(inputs, ingest.Input{Name: f.name, ID: hashOf(data)[:24], Open: func(context.Context) (ais.Source, io.Closer, error) {
				r, err := ais.NewSource(bytes.NewReader(data))
				return r, io.NopCloser(nil), err
			}})
		}
		// The package's lines are the whole stream: flushed at their end
		// (the fixes in the reorder window stored, every occurrence still
		// open closed), as a store is when its stream ends.
		opt := ingest.Options{Detect: detectCfg, Land: g.Land, Ports: g.Ports, Zones: g.Zones, Designated: designated, Flush: true}
		if _, err := ingest.Run(ctx, sc, inputs, opt); err != nil {
			return nil, fmt.Errorf("detection on the package's lines: %w", err)
		}
		evs, err := ss.allEvents(ctx, store.EventQuery{})
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		for _, e := range evs {
			j, err := json.Marshal(e)
			if err != nil {
				return nil, err
			}
			der.byID[e.ID] = j
			buf.Write(j)
			buf.WriteByte('\n')
		}
		der.events, der.count = buf.Bytes(), len(evs)
	}
	if der.events == nil {
		der.events = []byte{}
	}
	res, err := ss.assess(ctx, ProfileRequest{Vessel: in.vessel, AsOf: in.to, Window: Span{Dur: in.to.Sub(in.from)}})
	if err != nil {
		return nil, err
	}
	pj, err := json.MarshalIndent(res.Profile, "", "  ")
	if err != nil {
		return nil, err
	}
	der.profile, der.prof, der.hash, der.track = append(pj, '\n'), res.Profile, res.Hash, res.Track
	if der.counterparts, err = ss.counterpartTracks(ctx, &res.Profile); err != nil {
		return nil, err
	}
	for _, src := range res.Profile.Coverage.Sources {
		if IsSimulatedSource(src) {
			der.simulated = append(der.simulated, "AIS source \""+src+"\"")
		}
	}
	return der, nil
}

// crossCheck compares the package's derivation with the store.
func (s *Service) crossCheck(ctx context.Context, q store.VesselQuery, mmsis []uint32, from, to time.Time, stored []detect.Event, der *derivation) (CaseCrossCheck, error) {
	cc := CaseCrossCheck{MissingIDs: []string{}, ExtraIDs: []string{}, ChangedIDs: []string{}, Changed: []FieldDiff{}, ProfileFields: []string{}, Notes: []string{}, StoreEvents: len(stored),
		PackageRecommendation: der.prof.Recommendation, PackageScore: der.prof.Score}
	own := map[uint32]bool{}
	for _, m := range mmsis {
		own[m] = true
	}
	pkg := map[string][]byte{}
	for id, j := range der.byID {
		var e detect.Event
		json.Unmarshal(j, &e)
		involved := false
		for _, v := range e.Vessels {
			involved = involved || own[v.MMSI]
		}
		if involved && !e.End.Before(from) && !e.Start.After(to) {
			pkg[id] = j
		}
	}
	cc.PackageEvents = len(pkg)
	seen := map[string]bool{}
	for _, e := range stored {
		seen[e.ID] = true
		j, _ := json.Marshal(e)
		pj, ok := pkg[e.ID]
		switch {
		case !ok:
			cc.MissingIDs = append(cc.MissingIDs, e.ID)
		case !bytes.Equal(j, pj):
			cc.ChangedIDs = append(cc.ChangedIDs, e.ID)
			cc.Changed = append(cc.Changed, FieldDiff{ID: e.ID, Fields: jsonDiff(j, pj)})
		}
	}
	for id := range pkg {
		if !seen[id] {
			cc.ExtraIDs = append(cc.ExtraIDs, id)
		}
	}
	sort.Strings(cc.ExtraIDs)
	res, err := s.assess(ctx, ProfileRequest{Vessel: q, AsOf: to, Window: Span{Dur: to.Sub(from)}})
	if err != nil {
		return cc, err
	}
	cc.StoreProfileHash, cc.StoreRecommendation, cc.StoreScore = res.Hash, res.Profile.Recommendation, res.Profile.Score
	if cc.StoreProfileHash != der.hash {
		cc.ProfileFields = jsonDiff(res.JSON(), der.profile)
	}
	if len(cc.MissingIDs)+len(cc.ExtraIDs)+len(cc.ChangedIDs) > 0 {
		cc.Notes = append(cc.Notes, "the package's events are detected on its own lines only (the vessel, its counterparts, the period and its margin): an event that needs other ships' lines or earlier history differs; inputs the export could not read are listed as gaps in data/case.json")
	}
	if cc.StoreProfileHash != der.hash {
		cc.Notes = append(cc.Notes, "the store's profile of the vessel for the same date and window differs from the package's: the store holds all the AIS it ingested (more positions and days of coverage, other inputs) and flagged designated ships against the lists in force when it ingested them")
	}
	return cc, nil
}

// FieldDiff names the fields of a record that differ.
type FieldDiff struct {
	ID     string   `json:"id"`
	Fields []string `json:"fields"`
}

// jsonDiff lists the fields two JSON objects differ in, one level into
// nested objects ("details.listing").
func jsonDiff(a, b []byte) []string {
	var ca, cb bytes.Buffer
	json.Compact(&ca, a)
	json.Compact(&cb, b)
	var x, y map[string]json.RawMessage
	json.Unmarshal(ca.Bytes(), &x)
	json.Unmarshal(cb.Bytes(), &y)
	keys := map[string]bool{}
	for k := range x {
		keys[k] = true
	}
	for k := range y {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		if bytes.Equal(x[k], y[k]) {
			continue
		}
		var xi, yi map[string]json.RawMessage
		if json.Unmarshal(x[k], &xi) == nil && json.Unmarshal(y[k], &yi) == nil && xi != nil && yi != nil {
			for kk := range xi {
				if !bytes.Equal(xi[kk], yi[kk]) {
					out = append(out, k+"."+kk)
				}
			}
			for kk := range yi {
				if _, ok := xi[kk]; !ok {
					out = append(out, k+"."+kk)
				}
			}
			continue
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CaseReplay is what replaying a package found.
type CaseReplay struct {
	Statement string `json:"statement_sha256"`
	Program   string `json:"program"`
	// PackageProgram made the package; a different program may derive
	// differently.
	PackageProgram   string   `json:"package_program"`
	EventsIdentical  bool     `json:"events_identical"`
	ProfileIdentical bool     `json:"profile_identical"`
	Events           int      `json:"events"`
	MissingIDs       []string `json:"missing"`   // in the package, not derived again
	ExtraIDs         []string `json:"extra"`     // derived again, not in the package
	ChangedIDs       []string `json:"different"` // both, not the same bytes
	// ProfileFields are the profile's top-level fields that differ.
	ProfileFields []string `json:"profile_fields"`
}

// Identical says the package's events and profile were derived again
// byte for byte.
func (r CaseReplay) Identical() bool { return r.EventsIdentical && r.ProfileIdentical }

// ReplayCase derives a package's events and profile again from its own
// raw AIS lines, list records and configuration, and compares them byte
// for byte with the package's. The package must be intact (Verify).
func (s *Service) ReplayCase(ctx context.Context, bag *casefile.Bag) (CaseReplay, error) {
	rep := casefile.Verify(bag, nil)
	if !rep.Intact() {
		return CaseReplay{}, Errorf(CodeInvalid, "the package does not verify (%d problems, first %s): replay needs it intact", len(rep.Problems), rep.Problems[0])
	}
	st, sum, err := bag.Statement()
	if err != nil {
		return CaseReplay{}, err
	}
	var pred casefile.Predicate
	if err := json.Unmarshal(st.Predicate, &pred); err != nil {
		return CaseReplay{}, Errorf(CodeInvalid, "the statement's predicate: %v", err)
	}
	payload := map[string][]byte{}
	for _, p := range bag.Paths() {
		if strings.HasPrefix(p, "data/") {
			payload[p], _ = bag.File(p)
		}
	}
	// The vessel as it was asked for: by MMSI when exported by MMSI (the
	// predicate then names the MMSI; its IMO is the profile's), else by IMO.
	q := store.VesselQuery{IMO: pred.Vessel.IMO}
	if pred.Vessel.MMSI != 0 {
		q = store.VesselQuery{MMSI: pred.Vessel.MMSI}
	}
	if q.MMSI == 0 && q.IMO == 0 && len(pred.Vessel.MMSIs) > 0 {
		q.MMSI = pred.Vessel.MMSIs[0]
	}
	in, err := caseDeriveInput(payload, q, pred.From, pred.To)
	if err != nil {
		return CaseReplay{}, Errorf(CodeInvalid, "%v", err)
	}
	der, err := s.derive(ctx, in)
	if err != nil {
		return CaseReplay{}, err
	}
	out := CaseReplay{Statement: sum, Program: "tidewatch " + s.version, PackageProgram: pred.Program, Events: der.count,
		MissingIDs: []string{}, ExtraIDs: []string{}, ChangedIDs: []string{}, ProfileFields: []string{}}
	out.EventsIdentical = bytes.Equal(der.events, payload[caseEventsFile])
	if !out.EventsIdentical {
		theirs := map[string][]byte{}
		sc := bufio.NewScanner(bytes.NewReader(payload[caseEventsFile]))
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var e struct {
				ID string `json:"id"`
			}
			json.Unmarshal(sc.Bytes(), &e)
			theirs[e.ID] = append([]byte(nil), sc.Bytes()...)
		}
		for id, j := range theirs {
			mine, ok := der.byID[id]
			switch {
			case !ok:
				out.MissingIDs = append(out.MissingIDs, id)
			case !bytes.Equal(mine, j):
				out.ChangedIDs = append(out.ChangedIDs, id)
			}
		}
		for id := range der.byID {
			if _, ok := theirs[id]; !ok {
				out.ExtraIDs = append(out.ExtraIDs, id)
			}
		}
		sort.Strings(out.MissingIDs)
		sort.Strings(out.ExtraIDs)
		sort.Strings(out.ChangedIDs)
	}
	out.ProfileIdentical = bytes.Equal(der.profile, payload[caseProfileFile])
	if !out.ProfileIdentical {
		var a, b map[string]json.RawMessage
		json.Unmarshal(der.profile, &a)
		json.Unmarshal(payload[caseProfileFile], &b)
		keys := map[string]bool{}
		for k := range a {
			keys[k] = true
		}
		for k := range b {
			keys[k] = true
		}
		for k := range keys {
			if !bytes.Equal(a[k], b[k]) {
				out.ProfileFields = append(out.ProfileFields, k)
			}
		}
		sort.Strings(out.ProfileFields)
	}
	return out, nil
}

// SignCase adds the tenant's signature (and its claim: the actor, the
// organisation, now) to a package that verifies.
func (s *Service) SignCase(ctx context.Context, p Principal, bag *casefile.Bag, keyID string) (SigningKeyInfo, error) {
	if err := p.need(RoleAnalyst, "signing a case file"); err != nil {
		return SigningKeyInfo{}, err
	}
	priv, k, err := s.signingKey(ctx, p, keyID)
	if err != nil {
		return SigningKeyInfo{}, err
	}
	t, err := s.tenantOf(ctx, p.Tenant)
	if err != nil {
		return SigningKeyInfo{}, err
	}
	if err := bag.Sign(priv, p.Actor, t.Name, s.Now()); err != nil {
		return SigningKeyInfo{}, Errorf(CodeInvalid, "%v", err)
	}
	_, sum, _ := bag.Statement()
	if _, err := s.record(ctx, p, ActionCase, "case:"+sum, map[string]any{"signed_case": sum, "key": k.ID}); err != nil {
		return SigningKeyInfo{}, err
	}
	return keyInfo(k), nil
}

// CaseImportRequest imports a package.
type CaseImportRequest struct {
	Bag *casefile.Bag
	// Trusted are public keys the importer trusts (its own are trusted
	// too).
	Trusted []ed25519.PublicKey
	// Ingest also loads the package's raw AIS into the store (the
	// operator only: AIS is shared).
	Ingest bool
}

// ImportCase records a package a tenant received: verified (every hash
// and signature), with who signed it and when, its profile and events;
// it shows in the tenant's reports of the vessel. A package that does not
// verify is refused.
func (s *Service) ImportCase(ctx context.Context, p Principal, req CaseImportRequest) (store.ImportedCase, error) {
	if err := p.need(RoleAnalyst, "importing a case file"); err != nil {
		return store.ImportedCase{}, err
	}
	if req.Ingest {
		if err := p.needShared(RoleAnalyst, "loading a case file's AIS into the store"); err != nil {
			return store.ImportedCase{}, err
		}
	}
	own, err := s.trustedKeys(ctx, p.Tenant)
	if err != nil {
		return store.ImportedCase{}, err
	}
	rep := casefile.Verify(req.Bag, append(append([]ed25519.PublicKey(nil), req.Trusted...), own...))
	if !rep.Intact() {
		var ps []string
		for _, pr := range rep.Problems {
			ps = append(ps, pr.String())
		}
		return store.ImportedCase{}, Errorf(CodeInvalid, "the package does not verify, so it is not imported: %s", strings.Join(ps, "; "))
	}
	st, sum, err := req.Bag.Statement()
	if err != nil {
		return store.ImportedCase{}, err
	}
	var pred casefile.Predicate
	if err := json.Unmarshal(st.Predicate, &pred); err != nil {
		return store.ImportedCase{}, Errorf(CodeInvalid, "the statement's predicate: %v", err)
	}
	c := store.ImportedCase{Tenant: p.Tenant, ID: sum, IMO: pred.Vessel.IMO, MMSI: pred.Vessel.MMSI, Name: pred.Vessel.Name, From: pred.From, To: pred.To,
		ExportedBy: fmt.Sprintf("%s (%s)", pred.ExportedBy, pred.Organization), Exported: pred.Exported, Program: pred.Program, Verified: true,
		Recommendation: pred.Recommendation, Score: pred.Score, ProfileHash: pred.ProfileHash, Gaps: pred.Gaps, Imported: s.Now(), ImportedBy: p.Actor, Events: []detect.Event{}}
	if c.IMO == 0 && c.MMSI == 0 && len(pred.Vessel.MMSIs) > 0 {
		c.MMSI = pred.Vessel.MMSIs[0]
	}
	signers, _ := req.Bag.Signers()
	at := map[string]casefile.Signer{}
	for _, sg := range signers {
		at[sg.KeyID] = sg
	}
	for _, sc := range rep.Signatures {
		sg := at[sc.KeyID]
		c.Signers = append(c.Signers, store.CaseSigner{KeyID: sc.KeyID, Name: sg.Name, Organization: sg.Organization, SignedAt: sg.SignedAt, Valid: sc.Valid, Trusted: sc.Trusted})
	}
	evs, _ := req.Bag.File(caseEventsFile)
	sc := bufio.NewScanner(bytes.NewReader(evs))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() && len(c.Events) < MaxEvents {
		var e detect.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return c, Errorf(CodeInvalid, "%s: %v", caseEventsFile, err)
		}
		c.Events = append(c.Events, e)
	}
	if req.Ingest {
		var inputs []ingest.Input
		for _, pth := range req.Bag.Paths() {
			if !strings.HasPrefix(pth, caseAISDir) {
				continue
			}
			data, _ := req.Bag.File(pth)
			inputs = append(inputs, ingest.Input{Name: "case:" + sum[:16] + "/" + pth, ID: hashOf(data)[:24], Open: func(context.Context) (ais.Source, io.Closer, error) {
				r, err := ais.NewSource(bytes.NewReader(data))
				return r, io.NopCloser(nil), err
			}})
		}
		if len(inputs) > 0 {
			res, err := s.Ingest(ctx, p, IngestRequest{Inputs: inputs})
			if err != nil {
				return c, err
			}
			c.Ingested = res.Run.ID
		}
	}
	if err := s.st.PutImportedCase(ctx, c); err != nil {
		return c, err
	}
	var who []string
	for _, sg := range c.Signers {
		who = append(who, fmt.Sprintf("%s (%s) key %.16s valid %v trusted %v", sg.Name, sg.Organization, sg.KeyID, sg.Valid, sg.Trusted))
	}
	if _, err := s.record(ctx, p, ActionCase, SubjectOf(store.VesselQuery{IMO: c.IMO, MMSI: c.MMSI}), map[string]any{"imported_case": sum, "signers": who,
		"exported_by": c.ExportedBy, "ingested": c.Ingested}); err != nil {
		return c, err
	}
	return c, nil
}

// ImportedCases lists the tenant's imported case files about a vessel
// (every vessel when q is zero).
func (s *Service) ImportedCases(ctx context.Context, p Principal, q store.VesselQuery) ([]store.ImportedCase, error) {
	if err := p.need(RoleViewer, "reading case files"); err != nil {
		return nil, err
	}
	if q.MMSI != 0 && q.IMO == 0 {
		// A case filed by IMO shows under the MMSIs that broadcast it.
		ids, err := s.st.IdentityHistory(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if id.Field == "imo" && q.IMO == 0 {
				q.IMO = id.IMO
			}
		}
	}
	cs, err := s.st.ImportedCases(ctx, p.Tenant, q)
	if cs == nil {
		cs = []store.ImportedCase{}
	}
	return cs, err
}

// recordInputs keeps the content ids of an ingest run's inputs, so a case
// export can tell a file is the one ingested.
func (s *Service) recordInputs(ctx context.Context, run string, inputs []ingest.Input, uploads []UploadKept) error {
	var rs []store.InputRecord
	now := s.Now()
	for _, in := range inputs {
		if in.Live || in.ID == "" {
			continue
		}
		rs = append(rs, store.InputRecord{Run: run, Name: in.Name, ContentID: in.ID, Recorded: now})
	}
	if len(rs) == 0 {
		return nil
	}
	uploadRecords(rs, uploads)
	return s.st.PutInputRecords(ctx, rs)
}

// VerifyCase checks a package, trusting the tenant's own signing keys and
// those given.
func (s *Service) VerifyCase(ctx context.Context, p Principal, bag *casefile.Bag, trusted ...ed25519.PublicKey) (casefile.Report, error) {
	if err := p.need(RoleViewer, "verifying a case file"); err != nil {
		return casefile.Report{}, err
	}
	own, err := s.trustedKeys(ctx, p.Tenant)
	if err != nil {
		return casefile.Report{}, err
	}
	return casefile.Verify(bag, append(append([]ed25519.PublicKey(nil), trusted...), own...)), nil
}
