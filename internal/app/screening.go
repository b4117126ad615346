package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/screen"
)

// screenIndex is the screening index of one set of list versions.
type screenIndex struct {
	key      string
	versions []sanctions.Version
	// datasets are the versions' entities as listed (lists); an index
	// read from the cache loads them from the store when first asked.
	dsMu     sync.Mutex
	datasets []*sanctions.Dataset
	load     func(context.Context) ([]*sanctions.Dataset, error)
	ix       *screen.Index
	risk     *risk.Screener
	refs     []VersionRef
	built    time.Duration
	// ids are the refs' ids, made once (every screening records them).
	idsOnce sync.Once
	ids     []string
	// prov is the answers' provenance, and provJSON the same as JSON
	// object members (ScreenResult.WriteJSON), made once.
	provOnce sync.Once
	prov     Provenance
	provJSON []byte
}

// VersionRef names a list version an answer depends on.
type VersionRef struct {
	ID        string `json:"id"`
	List      string `json:"list"`
	SHA256    string `json:"sha256"`
	Published string `json:"published,omitempty"`
}

// screenCache keeps the screening index per set of list versions: the one
// in force now stays warm; a few others (point-in-time profiles) are kept
// while used. Building one takes a second or so; every screening after
// that is microseconds.
type screenCache struct {
	s  *Service
	mu sync.Mutex
	// versions caches the store's version list (nil: read it again).
	versions []sanctions.Version
	entries  map[string]*cacheEntry
	order    []string // least recently used first
	current  atomic.Pointer[screenIndex]
	// pinned replaces the store's versions (PinLists).
	pinned *screenIndex
	// memo keeps the key in force within one second: screening asks for
	// it on every query.
	memo atomic.Pointer[keyMemo]
	// saves are the index cache writes in flight.
	saves sync.WaitGroup
}

type keyMemo struct {
	second time.Time
	key    string
}

type cacheEntry struct {
	ready chan struct{}
	idx   *screenIndex
	err   error
}

// maxIndexes bounds the indexes kept (each is tens of MB).
const maxIndexes = 4

func newScreenCache(s *Service) *screenCache {
	return &screenCache{s: s, entries: map[string]*cacheEntry{}}
}

// invalidate forgets the version list: the next lookup reads it again.
func (c *screenCache) invalidate() {
	c.mu.Lock()
	c.versions = nil
	c.memo.Store(nil)
	c.mu.Unlock()
}

func (c *screenCache) allVersions(ctx context.Context) ([]sanctions.Version, error) {
	c.mu.Lock()
	vs := c.versions
	c.mu.Unlock()
	if vs != nil {
		return vs, nil
	}
	vs, err := c.s.st.ListVersions(ctx)
	if err != nil {
		return nil, err
	}
	if vs == nil {
		vs = []sanctions.Version{}
	}
	c.mu.Lock()
	c.versions = vs
	c.mu.Unlock()
	return vs, nil
}

// at returns the index of the versions in force at t, building it if
// needed (concurrent callers wait for one build).
func (c *screenCache) at(ctx context.Context, t time.Time) (*screenIndex, error) {
	c.mu.Lock()
	pinned := c.pinned
	c.mu.Unlock()
	if pinned != nil {
		return pinned, nil
	}
	all, err := c.allVersions(ctx)
	if err != nil {
		return nil, err
	}
	vs := risk.VersionsAt(all, t)
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	key := strings.Join(ids, " ")
	if cur := c.current.Load(); cur != nil && cur.key == key {
		return cur, nil
	}
	c.mu.Lock()
	e, ok := c.entries[key]
	if !ok {
		e = &cacheEntry{ready: make(chan struct{})}
		c.entries[key] = e
		go func() {
			e.idx, e.err = c.build(context.WithoutCancel(ctx), key, vs)
			close(e.ready)
		}()
	}
	c.touch(key)
	c.mu.Unlock()
	select {
	case <-e.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if e.err != nil {
		c.mu.Lock()
		if c.entries[key] == e {
			delete(c.entries, key)
		}
		c.mu.Unlock()
		return nil, e.err
	}
	return e.idx, nil
}

// touch marks key most recently used and evicts beyond maxIndexes
// (mu held).
func (c *screenCache) touch(key string) {
	for i, k := range c.order {
		if k == key {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
	c.order = append(c.order, key)
	for len(c.order) > maxIndexes {
		old := c.order[0]
		c.order = c.order[1:]
		delete(c.entries, old)
	}
}

func (c *screenCache) build(ctx context.Context, key string, vs []sanctions.Version) (*screenIndex, error) {
	start := time.Now()
	idx := &screenIndex{key: key, versions: vs}
	idx.load = func(ctx context.Context) ([]*sanctions.Dataset, error) { return c.datasets(ctx, vs) }
	ck := c.cacheKey(vs)
	source := "cache"
	if idx.ix = c.readCached(ck, key); idx.ix == nil {
		source = "lists"
		ds, err := idx.lists(ctx)
		if err != nil {
			return nil, err
		}
		idx.ix = screen.NewIndex(sanctions.Merge(ds...))
		c.saveCached(ck, key, idx.ix)
	}
	idx.risk = risk.ScreenerFor(idx.ix)
	for _, v := range vs {
		idx.refs = append(idx.refs, VersionRef{ID: v.ID, List: v.List, SHA256: v.SHA256, Published: v.Published})
	}
	idx.built = time.Since(start)
	c.s.Metrics.add(func(m *Counters) {
		m.IndexBuilds++
		m.IndexBuildSecs += idx.built.Seconds()
		if source == "cache" {
			m.IndexCacheReads++
		}
	})
	c.s.log.Info("screening index built", "versions", key, "from", source, "entities", idx.ix.Len(), "seconds", idx.built.Seconds())
	return idx, nil
}

// datasets reads the entities of versions from the store, each version
// on its own goroutine.
func (c *screenCache) datasets(ctx context.Context, vs []sanctions.Version) ([]*sanctions.Dataset, error) {
	out := make([]*sanctions.Dataset, len(vs))
	errs := make([]error, len(vs))
	var wg sync.WaitGroup
	for i, v := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ents, err := c.s.st.ListEntities(ctx, v.ID)
			out[i], errs[i] = &sanctions.Dataset{Version: v, Entities: ents}, err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("load list version %s: %w", vs[i].ID, err)
		}
	}
	return out, nil
}

// now returns the index in force now, and keeps it as the current one.
// When a new list version has changed what is in force, the new index is
// built in the background and, until it is ready, the previous one keeps
// answering (every answer names the versions it used): a list update
// never stalls screening.
func (c *screenCache) now(ctx context.Context) (*screenIndex, error) {
	cur := c.current.Load()
	if cur != nil {
		key, err := c.keyAt(ctx, c.s.now())
		if err != nil {
			return nil, err
		}
		if key == cur.key {
			return cur, nil
		}
		// Another set is in force: screen with the current index until
		// the new one is built.
		c.mu.Lock()
		e, ok := c.entries[key]
		c.mu.Unlock()
		ready := false
		if ok {
			select {
			case <-e.ready:
				ready = e.err == nil
			default:
			}
		}
		if !ready {
			go func() {
				if idx, err := c.at(context.WithoutCancel(ctx), c.s.now()); err == nil {
					c.current.CompareAndSwap(cur, idx)
				}
			}()
			return cur, nil
		}
	}
	idx, err := c.at(ctx, c.s.now())
	if err == nil {
		c.current.Store(idx)
	}
	return idx, err
}

// keyAt names the set of versions in force at t.
func (c *screenCache) keyAt(ctx context.Context, t time.Time) (string, error) {
	c.mu.Lock()
	pinned := c.pinned
	c.mu.Unlock()
	if pinned != nil {
		return pinned.key, nil
	}
	sec := t.Truncate(time.Second)
	if m := c.memo.Load(); m != nil && m.second.Equal(sec) {
		return m.key, nil
	}
	all, err := c.allVersions(ctx)
	if err != nil {
		return "", err
	}
	vs := risk.VersionsAt(all, t)
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	key := strings.Join(ids, " ")
	c.memo.Store(&keyMemo{second: sec, key: key})
	return key, nil
}

// refresh builds the index in force now and makes it current (after an
// import: the caller waits, screenings meanwhile use the previous one).
func (c *screenCache) refresh(ctx context.Context) error {
	idx, err := c.at(ctx, c.s.now())
	if err == nil {
		c.current.Store(idx)
	}
	return err
}

// Warm builds the screening index in force now (a server calls it at
// start, so the first query does not wait) and reports how long it took.
func (s *Service) Warm(ctx context.Context) (time.Duration, int, error) {
	start := time.Now()
	idx, err := s.screens.now(ctx)
	if err != nil {
		return 0, 0, err
	}
	return time.Since(start), idx.ix.Len(), nil
}

// ScreenOptions tune screening.
type ScreenOptions struct {
	// Threshold is the score from which a result is a match (default
	// screen.DefaultThreshold).
	Threshold float64 `json:"threshold,omitempty"`
	// Limit caps results per query (default 10, at most 100).
	Limit int `json:"limit,omitempty"`
	// All returns results below the threshold too.
	All bool `json:"all,omitempty"`
	// NoAudit skips the audit record (the local CLI only).
	NoAudit bool `json:"-"`
}

func (o *ScreenOptions) check() error {
	if o.Threshold == 0 {
		o.Threshold = screen.DefaultThreshold
	}
	// Written so that NaN fails too: a NaN threshold matches nothing,
	// and would clear every query.
	if !(o.Threshold > 0 && o.Threshold <= 1) {
		return Errorf(CodeInvalid, "threshold %v: want a score in (0, 1]", o.Threshold)
	}
	if o.Limit == 0 {
		o.Limit = 10
	}
	if o.Limit < 1 || o.Limit > 100 {
		return Errorf(CodeInvalid, "limit %d: want 1 to 100", o.Limit)
	}
	return nil
}

// Validate checks the options as a screening will (a job checks them
// before it starts).
func (o ScreenOptions) Validate() error { return o.check() }

// Match is one entity found for a query.
type Match struct {
	Entity      string   `json:"entity"`
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Score       float64  `json:"score"`
	Match       bool     `json:"match"`
	IMO         string   `json:"imo,omitempty"`
	MatchedName string   `json:"matched_name,omitempty"`
	Sources     []string `json:"sources"`
	Programmes  []string `json:"programmes,omitempty"`
	Explanation []string `json:"explanation"`
	// Listings are the designations behind Sources (lists, dates,
	// programmes, versions).
	Listings []sanctions.Listing `json:"listings,omitempty"`
	entity   *sanctions.Entity
}

// Entity returns the matched entity (for rendering).
func (m Match) EntityRecord() *sanctions.Entity { return m.entity }

func toMatch(r screen.Result) Match {
	m := Match{Entity: r.Entity.ID, Name: r.Entity.Name, Type: string(r.Entity.Type), Score: r.Score, Match: r.Match, MatchedName: r.MatchedName,
		Explanation: r.Explanation, Listings: r.Entity.Listings, entity: r.Entity}
	if imo := r.Entity.ShipIMO(); imo != "" {
		m.IMO = "IMO" + imo
	} else if ids := r.Entity.IDs(sanctions.SchemeCompanyIMO); len(ids) > 0 {
		m.IMO = "IMO" + ids[0]
	}
	seen := map[string]bool{}
	for _, l := range r.Entity.Listings {
		m.Sources = append(m.Sources, l.Ref())
		for _, p := range l.Programmes {
			if !seen[p] {
				seen[p] = true
				m.Programmes = append(m.Programmes, p)
			}
		}
	}
	if m.Explanation == nil {
		m.Explanation = []string{}
	}
	return m
}

// Provenance says what produced an answer: the list versions, the
// program and the configuration.
type Provenance struct {
	Lists      []VersionRef `json:"lists"`
	Program    string       `json:"program"`
	ConfigHash string       `json:"config_hash"`
}

func (s *Service) provenance(idx *screenIndex) Provenance {
	s.makeProvenance(idx)
	return idx.prov
}

// provenanceJSON is what encoding/json writes for the provenance's
// members of an answer: `"lists":[...],"program":...,"config_hash":...`.
// It is the same for every answer from one index: made once, it is most
// of a screening answer's bytes (the versions' ids and SHA-256s).
func (s *Service) provenanceJSON(idx *screenIndex) []byte {
	s.makeProvenance(idx)
	return idx.provJSON
}

// makeProvenance makes the index's provenance and its JSON, once.
func (s *Service) makeProvenance(idx *screenIndex) {
	idx.provOnce.Do(func() {
		refs := idx.refs
		if refs == nil {
			refs = []VersionRef{}
		}
		idx.prov = Provenance{Lists: refs, Program: "tidewatch " + s.version, ConfigHash: s.riskHash}
		if b, err := json.Marshal(idx.prov); err == nil && len(b) >= 2 {
			idx.provJSON = b[1 : len(b)-1]
		} // else WriteJSON encodes it with the rest
	})
}

// ScreenResult answers one query.
type ScreenResult struct {
	Query     screen.Query `json:"query"`
	Threshold float64      `json:"threshold"`
	// Warnings name identifiers that cannot be right (a failed check
	// digit): they were left out, never used to lower a score.
	Warnings []screen.Warning `json:"warnings,omitempty"`
	Matches  []Match          `json:"results"`
	// NearMisses are listed vessels the query's name matches but whose
	// IMO differs from the query's: no match, no score changed, shown for
	// review whatever the threshold and --all (a ship taking a listed
	// ship's name is how identities are stolen).
	NearMisses []NearMiss `json:"near_misses,omitempty"`
	Provenance
	AuditSeq int64 `json:"audit_seq,omitempty"`
	// provJSON is Provenance encoded (Service.provenanceJSON), when the
	// answer came from Screen.
	provJSON []byte
}

// screenResultHead is a ScreenResult's members before its provenance,
// for WriteJSON (TestScreenResultWriteJSON keeps the two in step).
type screenResultHead struct {
	Query      screen.Query     `json:"query"`
	Threshold  float64          `json:"threshold"`
	Warnings   []screen.Warning `json:"warnings,omitempty"`
	Matches    []Match          `json:"results"`
	NearMisses []NearMiss       `json:"near_misses,omitempty"`
}

// WriteJSON writes to buf what a json.Encoder with HTML escaping writes
// for r (a closing newline included), reusing the provenance's encoding
// made once for the index: encoding the list versions of every answer
// anew was more than half of the encoding of a screening answer, 8% of
// a screening request's CPU under load.
func (r ScreenResult) WriteJSON(buf *bytes.Buffer) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(true)
	if r.provJSON == nil {
		return enc.Encode(r)
	}
	start := buf.Len()
	if err := enc.Encode(screenResultHead{Query: r.Query, Threshold: r.Threshold, Warnings: r.Warnings, Matches: r.Matches, NearMisses: r.NearMisses}); err != nil {
		return err
	}
	// The head's closing "}\n" gives way to the provenance's members and
	// the audit number.
	if b := buf.Bytes()[start:]; len(b) < 3 || b[len(b)-2] != '}' || b[len(b)-1] != '\n' {
		buf.Truncate(start)
		return enc.Encode(r)
	}
	buf.Truncate(buf.Len() - 2)
	buf.WriteByte(',')
	buf.Write(r.provJSON)
	if r.AuditSeq != 0 {
		var n [24]byte
		buf.WriteString(`,"audit_seq":`)
		buf.Write(strconv.AppendInt(n[:0], r.AuditSeq, 10))
	}
	buf.WriteString("}\n")
	return nil
}

// NearMiss is a listed entity a query comes close to without matching
// (screen.NearMiss). Kind "imo_differs": the query's name is (or is near)
// a listed vessel's name and the query's valid ship IMO is not the
// listed one. It is no match and changes no score: ships share names
// legitimately; a reviewer decides.
type NearMiss struct {
	Kind        string   `json:"kind" doc:"why it is a near miss: imo_differs (the query's name matches a listed vessel's, its IMO is another)"`
	Entity      string   `json:"entity" doc:"the listed entity's id"`
	Name        string   `json:"name" doc:"the listed entity's primary name"`
	MatchedName string   `json:"matched_name" doc:"the listed name, alias or former name the query's name matched"`
	Score       float64  `json:"score" doc:"the entity's score for the query, below the threshold (the IMO that differs counts against it)"`
	NameScore   float64  `json:"name_score" doc:"the score of the name alone, at or above the threshold"`
	QueryIMO    string   `json:"query_imo" doc:"the query's ship IMO, as IMO1234567"`
	ListedIMO   string   `json:"listed_imo" doc:"the listed ship IMO, as IMO1234567"`
	Sources     []string `json:"sources" doc:"the listings behind the entity (list:id)"`
	Programmes  []string `json:"programmes,omitempty"`
	Message     string   `json:"message" doc:"one line for people: name of listed vessel X (id), IMO differs: query N, listed M"`
}

func toNearMiss(n screen.NearMiss) NearMiss {
	m := toMatch(screen.Result{Entity: n.Entity})
	return NearMiss{Kind: n.Kind, Entity: n.Entity.ID, Name: n.Entity.Name, MatchedName: n.MatchedName, Score: n.Score, NameScore: n.NameScore,
		QueryIMO: "IMO" + n.QueryIMO, ListedIMO: "IMO" + n.ListedIMO, Sources: m.Sources, Programmes: m.Programmes, Message: n.Message}
}

// Screen screens one query against the lists in force now.
func (s *Service) Screen(ctx context.Context, p Principal, q screen.Query, o ScreenOptions) (ScreenResult, error) {
	if err := p.need(RoleViewer, "screening"); err != nil {
		return ScreenResult{}, err
	}
	if err := o.check(); err != nil {
		return ScreenResult{}, err
	}
	idx, err := s.screens.now(ctx)
	if err != nil {
		return ScreenResult{}, err
	}
	res := ScreenResult{Query: q, Threshold: o.Threshold, Provenance: s.provenance(idx), provJSON: s.provenanceJSON(idx)}
	var one oneAnswer
	one, err = s.screenOne(idx, q, o)
	res.Matches, res.Warnings, res.NearMisses = one.matches, one.warnings, one.nearMisses
	if err != nil {
		return res, err
	}
	s.Metrics.add(func(m *Counters) { m.ScreenQueries++ })
	if o.NoAudit && p.Tenant == LocalTenant {
		return res, nil
	}
	var matches []string
	for _, m := range res.Matches {
		if m.Match {
			matches = append(matches, m.Entity+" "+strconv.FormatFloat(m.Score, 'f', 3, 64)) // "%s %.3f"
		}
	}
	var near []string
	for _, n := range res.NearMisses {
		near = append(near, n.Message)
	}
	rec, err := s.record(ctx, p, audit.ActionScreen, querySubject(q), screenRecord{Query: q, Lists: versionIDs(idx), Threshold: o.Threshold, Matches: matches, NearMisses: near, Warnings: res.Warnings})
	res.AuditSeq = rec.Seq
	return res, err
}

// versionIDs are the ids of the index's list versions (shared: not to be
// changed).
func versionIDs(idx *screenIndex) []string {
	idx.idsOnce.Do(func() {
		idx.ids = make([]string, 0, len(idx.refs))
		for _, r := range idx.refs {
			idx.ids = append(idx.ids, r.ID)
		}
	})
	return idx.ids
}

// screenRecord is what the audit log keeps of a screening (fields in
// the order a map of them was written before, so records read the same).
type screenRecord struct {
	Lists   []string `json:"lists"`
	Matches []string `json:"matches"`
	// NearMisses are the near misses shown (their messages); absent
	// when none, so other records read as before.
	NearMisses []string         `json:"near_misses,omitempty"`
	Query      screen.Query     `json:"query"`
	Threshold  float64          `json:"threshold"`
	Warnings   []screen.Warning `json:"warnings"`
}

// querySubject names a screening in the audit log by its strongest
// identifier.
func querySubject(q screen.Query) string {
	switch {
	case q.IMO != "":
		if v, err := ParseVessel(q.IMO); err == nil && v.IMO != 0 {
			return SubjectOf(v)
		}
		return "imo:" + q.IMO
	case q.MMSI != "":
		return "mmsi:" + q.MMSI
	case q.CallSign != "":
		return "call_sign:" + q.CallSign
	}
	return "name:" + q.Name
}

// MaxFieldLength bounds a query's short fields (id, call sign, flag,
// IMO, MMSI): the name has screen.MaxNameLength; without a bound a
// megabyte call sign went into the audit log as the record's subject.
const MaxFieldLength = 100

func checkQueryLengths(q screen.Query) error {
	for _, f := range []struct{ name, v string }{{"id", q.ID}, {"call sign", q.CallSign}, {"flag", q.Flag}, {"IMO", q.IMO}, {"MMSI", q.MMSI}} {
		if len(f.v) > MaxFieldLength {
			return Errorf(CodeInvalid, "%s is %d bytes, more than %d", f.name, len(f.v), MaxFieldLength)
		}
	}
	return nil
}

// screenOne runs a query: identifiers that cannot be right are set aside
// with a warning (never used to lower a score), then the index searched.
// screenRow screens one row of a batch. A panic while screening (a bug)
// is that row's error, logged with its stack, not the end of the process:
// a batch's rows are screened on goroutines of their own, outside the
// HTTP server's recovery.
func (s *Service) screenRow(idx *screenIndex, q screen.Query, o ScreenOptions) (a oneAnswer, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("screening a batch row failed", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			a, err = oneAnswer{}, Errorf(CodeInternal, "internal error while screening this row (logged)")
		}
	}()
	return s.screenOne(idx, q, o)
}

// oneAnswer is what screening one query gives the service's callers.
type oneAnswer struct {
	matches    []Match
	warnings   []screen.Warning
	nearMisses []NearMiss
}

func (s *Service) screenOne(idx *screenIndex, q screen.Query, o ScreenOptions) (oneAnswer, error) {
	if err := checkQueryLengths(q); err != nil {
		return oneAnswer{}, err
	}
	ans, err := idx.ix.Screen(q, screen.Options{Threshold: o.Threshold, Limit: o.Limit, All: o.All})
	if err != nil {
		return oneAnswer{warnings: ans.Warnings}, Errorf(CodeInvalid, "%v", err)
	}
	out := oneAnswer{matches: make([]Match, 0, len(ans.Results)), warnings: ans.Warnings}
	for _, r := range ans.Results {
		out.matches = append(out.matches, toMatch(r))
	}
	for _, n := range ans.NearMisses {
		out.nearMisses = append(out.nearMisses, toNearMiss(n))
	}
	return out, nil
}

// BatchQuery is one row of a batch.
type BatchQuery struct {
	// Row is the row's number in its file (0 when not from a file).
	Row   int          `json:"row,omitempty"`
	Query screen.Query `json:"query"`
	// Error is a row that could not be read; it is passed through.
	Error string `json:"error,omitempty"`
}

// BatchRow is one row's answer.
type BatchRow struct {
	Row      int              `json:"row,omitempty"`
	ID       string           `json:"id"`
	Query    screen.Query     `json:"query"`
	Hit      bool             `json:"hit"`
	Matches  []Match          `json:"matches"`
	Warnings []screen.Warning `json:"warnings,omitempty"`
	// NearMisses: as ScreenResult's (a row with one is still no hit).
	NearMisses []NearMiss `json:"near_misses,omitempty"`
	Error      string     `json:"error,omitempty"`
}

// BatchResult answers a batch.
type BatchResult struct {
	Rows      []BatchRow `json:"rows"`
	Threshold float64    `json:"threshold"`
	Hits      int        `json:"hits"`
	Errors    int        `json:"errors"`
	// NearMissRows counts the rows with a near miss (and no hit).
	NearMissRows int `json:"near_miss_rows,omitempty"`
	Provenance
	AuditSeq int64 `json:"audit_seq,omitempty"`
}

// MaxBatch is the most queries one synchronous batch may hold.
const MaxBatch = 10000

// ScreenBatch screens many queries on every core; rows come back in
// input order. progress, when set, is called with the rows done so far.
// inputHash names the input file in the audit record.
func (s *Service) ScreenBatch(ctx context.Context, p Principal, qs []BatchQuery, o ScreenOptions, inputName, inputHash string, progress func(done int)) (BatchResult, error) {
	if err := p.need(RoleViewer, "screening"); err != nil {
		return BatchResult{}, err
	}
	if err := o.check(); err != nil {
		return BatchResult{}, err
	}
	idx, err := s.screens.now(ctx)
	if err != nil {
		return BatchResult{}, err
	}
	res := BatchResult{Rows: make([]BatchRow, len(qs)), Threshold: o.Threshold, Provenance: s.provenance(idx)}
	var next, done atomic.Int64
	workers := min(runtime.GOMAXPROCS(0), max(1, len(qs)/64+1))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(qs) || ctx.Err() != nil {
					return
				}
				in := qs[i]
				row := BatchRow{Row: in.Row, ID: in.Query.ID, Query: in.Query, Error: in.Error, Matches: []Match{}}
				if row.Error == "" {
					a, err := s.screenRow(idx, in.Query, o)
					row.Warnings, row.NearMisses = a.warnings, a.nearMisses
					if err != nil {
						row.Error = err.Error()
					}
					for _, x := range a.matches {
						if x.Match || o.All {
							row.Matches = append(row.Matches, x)
						}
						row.Hit = row.Hit || x.Match
					}
				}
				res.Rows[i] = row
				if n := done.Add(1); progress != nil && n%256 == 0 {
					progress(int(n))
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if progress != nil {
		progress(len(qs))
	}
	var hitRows, nearRows []int
	for _, r := range res.Rows {
		if r.Error != "" {
			res.Errors++
		}
		if len(r.NearMisses) > 0 && !r.Hit {
			res.NearMissRows++
			if len(nearRows) < 1000 {
				nearRows = append(nearRows, r.Row)
			}
		}
		if r.Hit {
			res.Hits++
			if len(hitRows) < 1000 {
				hitRows = append(hitRows, r.Row)
			}
		}
	}
	s.Metrics.add(func(m *Counters) { m.ScreenQueries += int64(len(qs)) })
	if o.NoAudit && p.Tenant == LocalTenant {
		return res, nil
	}
	sort.Ints(hitRows)
	detail := map[string]any{"batch": inputName, "input_sha256": inputHash, "rows": len(qs),
		"hits": res.Hits, "errors": res.Errors, "hit_rows": hitRows, "lists": versionIDs(idx), "threshold": o.Threshold}
	if len(nearRows) > 0 {
		// Rows shown a near miss (a listed vessel's name, another IMO);
		// absent when none, so other records read as before.
		sort.Ints(nearRows)
		detail["near_miss_rows"] = nearRows
	}
	rec, err := s.record(ctx, p, audit.ActionScreen, "batch:"+inputName, detail)
	res.AuditSeq = rec.Seq
	return res, err
}

// Entities returns merged entities in force now, filtered.
func (s *Service) Entities(ctx context.Context, p Principal, keep func(*sanctions.Entity) bool) ([]*sanctions.Entity, Provenance, error) {
	if err := p.need(RoleViewer, "reading lists"); err != nil {
		return nil, Provenance{}, err
	}
	idx, err := s.screens.now(ctx)
	if err != nil {
		return nil, Provenance{}, err
	}
	var out []*sanctions.Entity
	for i := 0; i < idx.ix.Len(); i++ {
		if e := idx.ix.Entity(i); keep == nil || keep(e) {
			out = append(out, e)
		}
	}
	return out, s.provenance(idx), nil
}

// PinLists makes the service screen against these datasets instead of
// the store's versions in force (the CLI's --lists DIR and --embedded):
// answers still name the versions they used, and are audited as usual.
func (s *Service) PinLists(ds []*sanctions.Dataset) {
	start := time.Now()
	idx := &screenIndex{datasets: ds}
	var ids []string
	for _, d := range ds {
		idx.versions = append(idx.versions, d.Version)
		idx.refs = append(idx.refs, VersionRef{ID: d.Version.ID, List: d.Version.List, SHA256: d.Version.SHA256, Published: d.Version.Published})
		ids = append(ids, d.Version.ID)
	}
	idx.key = "pinned " + strings.Join(ids, " ")
	idx.ix = screen.NewIndex(sanctions.Merge(ds...))
	idx.risk = risk.ScreenerFor(idx.ix)
	idx.built = time.Since(start)
	s.screens.mu.Lock()
	s.screens.pinned = idx
	s.screens.mu.Unlock()
}
