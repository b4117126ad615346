package httpapi

// Compatibility with the tools analysts already use:
//
//   - yente, OpenSanctions' matching API: POST /match/{dataset} takes
//     FollowTheMoney-shaped queries and answers FtM entities with score,
//     match, features and explanations, so an existing yente client can be
//     pointed at Tidewatch; GET /search/{dataset}, GET /entities/{id},
//     GET /catalog and GET /algorithms answer what yente clients read
//     around it.
//   - the W3C Entity Reconciliation API (v0.2, what OpenRefine 3.x
//     speaks): GET /reconcile is the service manifest, POST /reconcile
//     answers a batch of queries with candidates, and the suggest and
//     preview services fill OpenRefine's dialogs.
//
// Every query is a screening through app.Service.Screen or ScreenBatch,
// recorded in the key's tenant's audit log. Nothing here scores: the
// features are the parts of Tidewatch's own score (docs/api.md).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tidewatch/tidewatch/identity"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/termtext"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/screen"
)

// Limits of the compatible APIs.
const (
	// compatMaxQueries bounds the queries of one /match or /reconcile
	// request (yente's own limit is 100).
	compatMaxQueries = 1000
	// compatMaxValues bounds the values of one property of one query.
	compatMaxValues = 10
	// compatMaxKey bounds a query's key.
	compatMaxKey = 200
	// compatDefaultLimit is the results per query when the client does
	// not say (yente's default).
	compatDefaultLimit = 5
	// compatMaxLimit is the most results per query (screening's own cap).
	compatMaxLimit = 100
	// compatDefaultCutoff is the lowest score returned at all: below it a
	// name is no candidate (the screening drops names under 0.5 too).
	compatDefaultCutoff = 0.5
)

// ---------------------------------------------------------------------
// Datasets: the lists by the names OpenSanctions gives them.

// compatDataset is a dataset name a client may use: one list, or every
// list (a collection).
type compatDataset struct {
	Name  string
	Title string
	// List is the Tidewatch list ("" for a collection of every list).
	List string
}

var compatDatasets = []compatDataset{
	{Name: "default", Title: "Every list Tidewatch holds (collection)"},
	{Name: "sanctions", Title: "Every sanctions list Tidewatch holds (collection)"},
	{Name: "un_sc_sanctions", Title: sanctions.ListNames["un"], List: "un"},
	{Name: "us_ofac_sdn", Title: sanctions.ListNames["ofac-sdn"], List: "ofac-sdn"},
	{Name: "us_ofac_cons", Title: sanctions.ListNames["ofac-cons"], List: "ofac-cons"},
	{Name: "gb_fcdo_sanctions", Title: sanctions.ListNames["uk"], List: "uk"},
	{Name: "eu_journal_sanctions", Title: sanctions.ListNames["eu"], List: "eu"},
	{Name: "opensanctions", Title: sanctions.ListNames["opensanctions"], List: "opensanctions"},
}

// compatDatasetAliases are names clients configured for other
// OpenSanctions datasets of the same publisher use; they select the list
// Tidewatch reads from that publisher.
var compatDatasetAliases = map[string]string{
	"gb_hmt_sanctions": "gb_fcdo_sanctions", // OFSI's list, replaced by the UK Sanctions List
	"eu_fsf":           "eu_journal_sanctions",
	"eu_sanctions":     "eu_journal_sanctions",
}

// datasetOfList names a Tidewatch list as a dataset.
func datasetOfList(list string) string {
	for _, d := range compatDatasets {
		if d.List == list && list != "" {
			return d.Name
		}
	}
	return list
}

// compatLists resolves a dataset name to its lists (nil: every list).
func compatLists(name string) (map[string]bool, error) {
	if a, ok := compatDatasetAliases[name]; ok {
		name = a
	}
	for _, d := range compatDatasets {
		if d.Name == name {
			if d.List == "" {
				return nil, nil
			}
			return map[string]bool{d.List: true}, nil
		}
	}
	names := make([]string, len(compatDatasets))
	for i, d := range compatDatasets {
		names[i] = d.Name
	}
	return nil, app.Errorf(app.CodeNotFound, "dataset %q: Tidewatch serves %s", termtext.Clip(name, 80), strings.Join(names, ", "))
}

// ---------------------------------------------------------------------
// yente's wire format.

// FtMValues are a FollowTheMoney property's values. FtM sends a list of
// strings; yente also takes one string, and numbers are read as their
// digits (an IMO number typed into a spreadsheet).
type FtMValues []string

// UnmarshalJSON reads a string, a number, null or a list of them.
func (v *FtMValues) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var raw []json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
		out := make(FtMValues, 0, len(raw))
		for _, r := range raw {
			s, ok, err := scalarString(r)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, s)
			}
		}
		*v = out
		return nil
	}
	s, ok, err := scalarString(b)
	if err != nil {
		return err
	}
	*v = nil
	if ok {
		*v = FtMValues{s}
	}
	return nil
}

// scalarString reads a JSON string or number as text; null is no value.
func scalarString(b []byte) (string, bool, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return "", false, fmt.Errorf("empty value")
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", false, err
		}
		return s, true, nil
	case string(b) == "null":
		return "", false, nil
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return "", false, err
		}
		if f, err := n.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1e15 {
			return strconv.FormatInt(int64(f), 10), true, nil
		}
		return n.String(), true, nil
	}
	return "", false, fmt.Errorf("a value must be a string or a number, not %s", termtext.Clip(string(b), 20))
}

// YenteEntityExample is one query: an entity as far as the client knows
// it (yente's EntityExample).
type YenteEntityExample struct {
	ID         string               `json:"id,omitempty"`
	Schema     string               `json:"schema"`
	Properties map[string]FtMValues `json:"properties"`
}

// YenteMatchRequest is the body of POST /match/{dataset}.
type YenteMatchRequest struct {
	// Queries by a key the client chooses; answers come back under it.
	Queries map[string]*YenteEntityExample `json:"queries"`
	// Weights and Config tune yente's algorithms; Tidewatch's scoring is
	// calibrated and fixed, so they are accepted and ignored (a warning
	// says so).
	Weights map[string]float64         `json:"weights,omitempty"`
	Config  map[string]json.RawMessage `json:"config,omitempty"`
}

// YenteEntity is an entity in FollowTheMoney form.
type YenteEntity struct {
	ID      string `json:"id"`
	Caption string `json:"caption"`
	Schema  string `json:"schema"`
	// Properties: name, alias, weakAlias, previousName, imoNumber, mmsi,
	// callSign, flag, pastFlags, type, tonnage, buildDate (vessels);
	// registrationNumber, address, country (organizations); birthDate,
	// nationality, passportNumber, idNumber (persons); notes, programId,
	// topics (every entity).
	Properties map[string][]string `json:"properties"`
	// Datasets are the lists that designate it, by OpenSanctions'
	// dataset names.
	Datasets []string `json:"datasets"`
	// Referents are the IDs of the listings merged into this entity.
	Referents []string `json:"referents"`
	// Target: a designated entity (every entity Tidewatch screens is).
	Target bool `json:"target"`
	// FirstSeen is the earliest designation date the lists give;
	// LastSeen the publication date of the newest list version it was
	// read from.
	FirstSeen string `json:"first_seen,omitempty"`
	LastSeen  string `json:"last_seen,omitempty"`
}

// YenteFeatureResult explains one feature of a score.
type YenteFeatureResult struct {
	Score     float64 `json:"score"`
	Weight    float64 `json:"weight"`
	Detail    string  `json:"detail,omitempty"`
	Query     string  `json:"query,omitempty"`
	Candidate string  `json:"candidate,omitempty"`
}

// YenteScoredEntity is a result: the entity, its score and its parts.
type YenteScoredEntity struct {
	YenteEntity
	Score float64 `json:"score"`
	Match bool    `json:"match"`
	// Features are the parts of the score (nonzero ones): the score is
	// the highest feature times its coefficient (GET /algorithms), the
	// name's part multiplied by 0.85 when imo_mismatch is 1.
	Features     map[string]float64            `json:"features"`
	Explanations map[string]YenteFeatureResult `json:"explanations"`
	// Explanation is Tidewatch's own account, as /v1/screen gives it.
	Explanation []string `json:"explanation"`
}

// YenteTotal counts the matches (results at or above the threshold).
type YenteTotal struct {
	Value    int    `json:"value"`
	Relation string `json:"relation"`
}

// YenteMatches answers one query.
type YenteMatches struct {
	Status  int                 `json:"status"`
	Results []YenteScoredEntity `json:"results"`
	Total   YenteTotal          `json:"total"`
	// Query echoes the properties Tidewatch screened.
	Query    YenteEntityExample `json:"query"`
	Warnings []string           `json:"warnings,omitempty"`
}

// YenteFeatureDoc documents a feature.
type YenteFeatureDoc struct {
	Description string  `json:"description"`
	Coefficient float64 `json:"coefficient"`
	URL         string  `json:"url"`
}

// YenteMatchResponse answers POST /match/{dataset}.
type YenteMatchResponse struct {
	Responses map[string]YenteMatches    `json:"responses"`
	Matcher   map[string]YenteFeatureDoc `json:"matcher"`
	Limit     int                        `json:"limit"`
	Threshold float64                    `json:"threshold"`
	Cutoff    float64                    `json:"cutoff"`
	// Warnings name the options accepted and ignored.
	Warnings []string `json:"warnings,omitempty"`
	app.Provenance
	AuditSeq int64 `json:"audit_seq,omitempty"`
}

// YenteSearchResponse answers GET /search/{dataset}.
type YenteSearchResponse struct {
	Results  []YenteEntity         `json:"results"`
	Facets   map[string]YenteFacet `json:"facets"`
	Total    YenteTotal            `json:"total"`
	Limit    int                   `json:"limit"`
	Offset   int                   `json:"offset"`
	Warnings []string              `json:"warnings,omitempty"`
	app.Provenance
	AuditSeq int64 `json:"audit_seq,omitempty"`
}

// YenteFacet is a search facet (Tidewatch gives none).
type YenteFacet struct {
	Label  string `json:"label"`
	Values []struct {
		Name  string `json:"name"`
		Label string `json:"label"`
		Count int    `json:"count"`
	} `json:"values"`
}

// YenteCatalog answers GET /catalog.
type YenteCatalog struct {
	Datasets   []YenteDataset `json:"datasets"`
	Current    []string       `json:"current"`
	Outdated   []string       `json:"outdated"`
	IndexStale bool           `json:"index_stale"`
}

// YenteDataset is one dataset of the catalog.
type YenteDataset struct {
	Name         string   `json:"name"`
	Title        string   `json:"title"`
	Summary      string   `json:"summary,omitempty"`
	Load         bool     `json:"load"`
	Version      string   `json:"version"`
	IndexVersion string   `json:"index_version,omitempty"`
	IndexCurrent bool     `json:"index_current"`
	Children     []string `json:"children"`
	// SHA256 is the list version's hash (Tidewatch's addition).
	SHA256 string `json:"sha256,omitempty"`
}

// YenteAlgorithms answers GET /algorithms.
type YenteAlgorithms struct {
	Algorithms []YenteAlgorithm `json:"algorithms"`
	Default    string           `json:"default"`
	Best       string           `json:"best"`
}

// YenteAlgorithm describes a scoring algorithm.
type YenteAlgorithm struct {
	Name        string                     `json:"name"`
	Description string                     `json:"description"`
	Features    map[string]YenteFeatureDoc `json:"features"`
}

// compatAlgorithm is the one algorithm Tidewatch has.
const compatAlgorithm = "tidewatch"

const screeningDoc = "https://github.com/tidewatch/tidewatch/blob/main/docs/screening.md"

// Feature names and coefficients: the score is the highest of the
// features times their coefficients, as docs/screening.md describes.
var compatFeatures = map[string]YenteFeatureDoc{
	"name_match": {Coefficient: 1, URL: screeningDoc,
		Description: "The query's best name against the entity's names, aliases and former names: folded for case, spacing, prefixes and Korean romanisation, numbers in vessel names as identity, legal forms weighed low"},
	"imo_match": {Coefficient: 1, URL: screeningDoc,
		Description: "An IMO number of the query is the entity's listed IMO number (ship numbers for vessels, company numbers for organizations, never across)"},
	"mmsi_match": {Coefficient: 0.95, URL: screeningDoc,
		Description: "An MMSI of the query is listed for the vessel (MMSIs are reassigned: check the IMO)"},
	"call_sign_match": {Coefficient: 0.9, URL: screeningDoc,
		Description: "A call sign of the query is listed for the vessel"},
	"imo_mismatch": {Coefficient: 0.85, URL: screeningDoc,
		Description: "The query's IMO number differs from the vessel's listed one: the name's part is multiplied by the coefficient (the name may be another ship's)"},
}

// ---------------------------------------------------------------------
// Queries: one FtM example or reconciliation query, ready to screen.

// compatQuery is one client query as Tidewatch screens it.
type compatQuery struct {
	key    string
	schema string
	// typ is what the screening searches: vessel, organization, person
	// or any.
	typ string
	// keep are the result types returned (nil: every type typ finds).
	keep []sanctions.EntityType
	// names and the identifiers (IMO digits, MMSI digits, call signs as
	// given) of the query; flag is the first flag.
	names, imos, mmsis, callSigns []string
	flag                          string
	rows                          []screen.Query
	echo                          map[string]FtMValues
	warnings                      []string
}

// compatSchemas are the FollowTheMoney schemata a query may name and how
// each is screened.
var compatSchemas = map[string]struct {
	typ   string
	keep  []sanctions.EntityType
	props []string // the properties screened
}{
	"Vessel":       {typ: "vessel", props: []string{"imoNumber", "mmsi", "callSign", "flag"}},
	"Organization": {typ: "organization", props: []string{"imoNumber"}},
	"Company":      {typ: "organization", props: []string{"imoNumber"}},
	"PublicBody":   {typ: "organization", props: []string{"imoNumber"}},
	"Person":       {typ: "person"},
	"LegalEntity":  {typ: "any", keep: []sanctions.EntityType{sanctions.Organization, sanctions.Person}, props: []string{"imoNumber"}},
	"Thing":        {typ: "any", props: []string{"imoNumber", "mmsi", "callSign", "flag"}},
}

var compatNameProps = []string{"name", "alias", "previousName", "weakAlias"}
var compatNamePartProps = []string{"firstName", "secondName", "middleName", "fatherName", "lastName"}

func schemaNames() string {
	names := make([]string, 0, len(compatSchemas))
	for n := range compatSchemas {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// compileExample turns a yente query into a screening.
func compileExample(key string, ex *YenteEntityExample) (*compatQuery, error) {
	if len(key) > compatMaxKey || !utf8.ValidString(key) {
		return nil, app.Errorf(app.CodeInvalid, "query key %q: at most %d bytes of UTF-8", termtext.Clip(key, 40), compatMaxKey)
	}
	sc, ok := compatSchemas[ex.Schema]
	if !ok {
		return nil, app.Errorf(app.CodeInvalid, "query %q: schema %q cannot be screened: give one of %s", termtext.Clip(key, 40), termtext.Clip(ex.Schema, 40), schemaNames())
	}
	q := &compatQuery{key: key, schema: ex.Schema, typ: sc.typ, keep: sc.keep, echo: map[string]FtMValues{}}
	props := make([]string, 0, len(ex.Properties))
	for p, vs := range ex.Properties {
		if len(vs) > compatMaxValues {
			return nil, app.Errorf(app.CodeInvalid, "query %q: property %q has %d values; at most %d", termtext.Clip(key, 40), termtext.Clip(p, 40), len(vs), compatMaxValues)
		}
		for _, v := range vs {
			if len(v) > screen.MaxNameLength || !utf8.ValidString(v) {
				return nil, app.Errorf(app.CodeInvalid, "query %q: property %q: values are UTF-8 text of at most %d bytes", termtext.Clip(key, 40), termtext.Clip(p, 40), screen.MaxNameLength)
			}
		}
		props = append(props, p)
	}
	sort.Strings(props)
	used := map[string]bool{}
	for _, p := range compatNameProps {
		used[p] = true
		q.addNames(p, ex.Properties[p])
	}
	if sc.typ == "person" || ex.Schema == "LegalEntity" || ex.Schema == "Thing" {
		// One name per last name, the first of each other part before it.
		var parts []string
		for _, p := range compatNamePartProps {
			used[p] = true
			if vs := ex.Properties[p]; p != "lastName" && len(vs) > 0 && strings.TrimSpace(vs[0]) != "" {
				parts = append(parts, strings.TrimSpace(vs[0]))
				q.echo[p] = vs[:1]
			}
		}
		lasts := []string{""}
		if vs := ex.Properties["lastName"]; len(vs) > 0 {
			lasts = vs
			q.echo["lastName"] = vs
		}
		for _, l := range lasts {
			if n := strings.TrimSpace(strings.Join(append(append([]string{}, parts...), strings.TrimSpace(l)), " ")); n != "" {
				q.names = appendFold(q.names, n)
			}
		}
	}
	for _, p := range sc.props {
		used[p] = true
		for _, v := range ex.Properties[p] {
			if strings.TrimSpace(v) == "" {
				continue
			}
			q.addIdentifier(p, v)
		}
	}
	for _, p := range props {
		if !used[p] && len(ex.Properties[p]) > 0 {
			q.warnings = append(q.warnings, fmt.Sprintf("property %s is not screened for %s: ignored", termtext.Clip(p, 40), ex.Schema))
		}
	}
	return q, q.build()
}

func (q *compatQuery) addNames(prop string, vs []string) {
	var kept FtMValues
	for _, v := range vs {
		if strings.TrimSpace(v) == "" {
			continue
		}
		kept = append(kept, v)
		q.names = appendFold(q.names, v)
	}
	if len(kept) > 0 {
		q.echo[prop] = kept
	}
}

// addIdentifier keeps a usable identifier and warns about one that
// cannot be right (never used to lower a score).
func (q *compatQuery) addIdentifier(prop, v string) {
	// A spreadsheet's number may come as 8660313.0.
	if prop == "imoNumber" || prop == "mmsi" {
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f == math.Trunc(f) && f > 0 && f < 1e10 {
			v = strconv.FormatInt(int64(f), 10)
		}
	}
	var sq screen.Query
	switch prop {
	case "imoNumber":
		sq.IMO = v
	case "mmsi":
		sq.MMSI = v
	case "callSign":
		sq.CallSign = v
	case "flag":
		if q.flag == "" {
			q.flag = strings.TrimSpace(v)
			q.echo[prop] = FtMValues{q.flag}
		}
		return
	}
	s, warns := sq.Sanitised()
	q.warnings = append(q.warnings, warns...)
	switch {
	case s.IMO != "":
		// A number that fails the check digit of every kind the query
		// searches cannot be right: a typo must not weigh on the name.
		d := digits(s.IMO)
		n, _ := strconv.Atoi(d)
		if !(q.wants(sanctions.Vessel) && identity.ValidShipIMO(n)) && !(q.wants(sanctions.Organization) && identity.ValidCompanyIMO(n)) {
			q.warnings = append(q.warnings, fmt.Sprintf("IMO %s fails the check digit of an IMO number: ignored", d))
			return
		}
		q.imos = appendFold(q.imos, d)
	case s.MMSI != "":
		m, _ := identity.ParseMMSI(s.MMSI)
		q.mmsis = appendFold(q.mmsis, m.String())
	case identity.NormaliseCallSign(s.CallSign) != "":
		q.callSigns = appendFold(q.callSigns, strings.TrimSpace(s.CallSign))
	default:
		return
	}
	q.echo[prop] = append(q.echo[prop], v)
}

// build makes the screening rows: each name with the first of each
// identifier (so that a differing IMO weighs on every name alike), then
// each further identifier alone.
func (q *compatQuery) build() error {
	base := screen.Query{Type: q.typ, Flag: q.flag}
	if len(q.imos) > 0 {
		base.IMO = q.imos[0]
	}
	if len(q.mmsis) > 0 {
		base.MMSI = q.mmsis[0]
	}
	if len(q.callSigns) > 0 {
		base.CallSign = q.callSigns[0]
	}
	if len(q.names) == 0 && base.IMO == "" && base.MMSI == "" && base.CallSign == "" {
		return app.Errorf(app.CodeInvalid, "query %q: nothing to screen: give a name, or an IMO number, MMSI or call sign that can be right", termtext.Clip(q.key, 40))
	}
	if len(q.names) == 0 {
		q.rows = append(q.rows, base)
	}
	for _, n := range q.names {
		r := base
		r.Name = n
		q.rows = append(q.rows, r)
	}
	for i := 1; i < len(q.imos); i++ {
		q.rows = append(q.rows, screen.Query{Type: q.typ, IMO: q.imos[i], Flag: q.flag})
	}
	for i := 1; i < len(q.mmsis); i++ {
		q.rows = append(q.rows, screen.Query{Type: q.typ, MMSI: q.mmsis[i], Flag: q.flag})
	}
	for i := 1; i < len(q.callSigns); i++ {
		q.rows = append(q.rows, screen.Query{Type: q.typ, CallSign: q.callSigns[i], Flag: q.flag})
	}
	for i := range q.rows {
		q.rows[i].ID = q.key
		if err := q.rows[i].Validate(); err != nil {
			return app.Errorf(app.CodeInvalid, "query %q: %v", termtext.Clip(q.key, 40), err)
		}
	}
	return nil
}

// wants reports whether the screening searches type t.
func (q *compatQuery) wants(t sanctions.EntityType) bool {
	return q.typ == "any" || q.typ == string(t)
}

// keeps reports whether results of type t are returned.
func (q *compatQuery) keeps(t sanctions.EntityType) bool {
	if q.keep == nil {
		return true
	}
	for _, k := range q.keep {
		if k == t {
			return true
		}
	}
	return false
}

// decodeYenteMatch reads and compiles a /match body.
func decodeYenteMatch(body []byte) ([]*compatQuery, []string, error) {
	var req YenteMatchRequest
	if err := decodeJSON(bytes.NewReader(body), &req); err != nil {
		return nil, nil, err
	}
	if len(req.Queries) == 0 {
		return nil, nil, app.Errorf(app.CodeInvalid, `no queries: send {"queries": {"q1": {"schema": "Vessel", "properties": {"name": ["..."]}}}}`)
	}
	if len(req.Queries) > compatMaxQueries {
		return nil, nil, app.Errorf(app.CodeInvalid, "%d queries in one request: at most %d", len(req.Queries), compatMaxQueries)
	}
	var warns []string
	if len(req.Weights) > 0 {
		warns = append(warns, "weights are ignored: Tidewatch's scoring is calibrated and fixed (GET /algorithms)")
	}
	if len(req.Config) > 0 {
		warns = append(warns, "config is ignored: Tidewatch's scoring is calibrated and fixed (GET /algorithms)")
	}
	keys := make([]string, 0, len(req.Queries))
	for k, ex := range req.Queries {
		if ex != nil {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, nil, app.Errorf(app.CodeInvalid, "no queries: every query is null")
	}
	sort.Strings(keys)
	qs := make([]*compatQuery, 0, len(keys))
	rows := 0
	for _, k := range keys {
		q, err := compileExample(k, req.Queries[k])
		if err != nil {
			return nil, nil, err
		}
		rows += len(q.rows)
		qs = append(qs, q)
	}
	if rows > app.MaxBatch {
		return nil, nil, app.Errorf(app.CodeInvalid, "%d screenings (one per name and further identifier) in one request: at most %d", rows, app.MaxBatch)
	}
	return qs, warns, nil
}

// ---------------------------------------------------------------------
// Screening the queries and breaking the scores down.

// compatFilter selects results.
type compatFilter struct {
	lists     map[string]bool // keep entities on one of these lists (nil: any)
	exclLists map[string]bool // drop entities on any of these lists
	exclTypes map[string]bool // drop entities of these FtM schemata
	exclIDs   map[string]bool // drop these entities (IDs or referents)
	noTopic   bool            // topics asked, "sanction" not among them
}

func (f *compatFilter) keep(e *sanctions.Entity) bool {
	if f.noTopic || f.exclTypes[ftmSchema(e.Type)] || f.exclIDs[e.ID] {
		return false
	}
	in := f.lists == nil
	for _, l := range e.Listings {
		if f.lists[l.List] {
			in = true
		}
		if f.exclLists[l.List] || f.exclIDs[l.List+":"+l.SourceID] {
			return false
		}
	}
	return in
}

// compatOptions tune a run.
type compatOptions struct {
	threshold, cutoff float64
	limit             int
	filter            compatFilter
	// input names the request in the audit log; hash is its body's
	// SHA-256.
	input, hash string
}

// compatHit is one result of one query.
type compatHit struct {
	e        *sanctions.Entity
	m        app.Match // the best row's
	score    float64
	match    bool
	features map[string]float64
	explain  map[string]YenteFeatureResult
}

// compatRun is the answer to a set of queries.
type compatRun struct {
	hits    [][]compatHit
	totals  []int // matches per query before the limit
	prov    app.Provenance
	seq     int64
	partial bool // the lists changed between screening and breakdown
}

// compatScreen screens the queries (one audit record) and merges each
// query's rows into results with their features.
func (s *Server) compatScreen(ctx context.Context, p app.Principal, qs []*compatQuery, o compatOptions) (*compatRun, error) {
	var rows []app.BatchQuery
	owner := []int{}
	for i, q := range qs {
		for _, r := range q.rows {
			rows = append(rows, app.BatchQuery{Row: len(rows) + 1, Query: r})
			owner = append(owner, i)
		}
	}
	sopt := app.ScreenOptions{Threshold: o.threshold, Limit: compatMaxLimit, All: true}
	run := &compatRun{hits: make([][]compatHit, len(qs)), totals: make([]int, len(qs))}
	matches := make([][]app.Match, len(rows))
	if len(rows) == 1 {
		res, err := s.svc.Screen(ctx, p, rows[0].Query, sopt)
		if err != nil {
			return nil, err
		}
		matches[0], run.prov, run.seq = res.Matches, res.Provenance, res.AuditSeq
	} else {
		res, err := s.svc.ScreenBatch(ctx, p, rows, sopt, o.input, o.hash, nil)
		if err != nil {
			return nil, err
		}
		for i, r := range res.Rows {
			if r.Error != "" {
				return nil, app.Errorf(app.CodeInvalid, "query %q: %s", termtext.Clip(qs[owner[i]].key, 40), r.Error)
			}
			matches[i] = r.Matches
		}
		run.prov, run.seq = res.Provenance, res.AuditSeq
	}
	published := map[string]string{}
	for _, v := range run.prov.Lists {
		published[v.ID] = v.Published
	}
	// Results are keyed by the entity, not its ID: list IDs are not
	// always unique (the EU transcription reuses record numbers).
	byQuery := make([]map[*sanctions.Entity]*compatHit, len(qs))
	for i := range qs {
		byQuery[i] = map[*sanctions.Entity]*compatHit{}
	}
	for i, ms := range matches {
		hq := byQuery[owner[i]]
		for _, m := range ms {
			e := m.EntityRecord()
			if e == nil {
				continue
			}
			h := hq[e]
			if h == nil {
				h = &compatHit{e: e, m: m, score: m.Score}
				hq[e] = h
			} else if m.Score > h.score {
				h.m, h.score = m, m.Score
			}
			h.match = h.match || m.Match
		}
	}
	for i, q := range qs {
		var parts map[*sanctions.Entity]app.NamePart
		switch {
		case len(q.imos)+len(q.mmsis)+len(q.callSigns) == 0:
			// Names alone: each score is its name's part (the first
			// sentence says so), no second search needed.
			parts = map[*sanctions.Entity]app.NamePart{}
			for e, h := range byQuery[i] {
				np := app.NamePart{Score: h.score, MatchedName: h.m.MatchedName}
				if len(h.m.Explanation) > 0 {
					np.Explanation = h.m.Explanation[0]
				}
				parts[e] = np
			}
		case len(q.names) > 0:
			var ok bool
			var err error
			parts, ok, err = s.svc.NameParts(ctx, p, q.typ, q.names, run.prov.Lists)
			if err != nil {
				return nil, err
			}
			run.partial = run.partial || !ok
		}
		var out []compatHit
		for _, h := range byQuery[i] {
			if !q.keeps(h.e.Type) || !o.filter.keep(h.e) || h.score <= o.cutoff {
				continue
			}
			q.breakdown(h, parts)
			out = append(out, *h)
			if h.match {
				run.totals[i]++
			}
		}
		sort.Slice(out, func(a, b int) bool {
			x, y := out[a], out[b]
			if x.score != y.score {
				return x.score > y.score
			}
			if x.e.ID != y.e.ID {
				return x.e.ID < y.e.ID
			}
			if x.e.Name != y.e.Name {
				return x.e.Name < y.e.Name
			}
			return x.e.Type < y.e.Type
		})
		if len(out) > o.limit {
			out = out[:o.limit]
		}
		run.hits[i] = out
	}
	return run, nil
}

// breakdown gives a result its features: the parts of its score.
func (q *compatQuery) breakdown(h *compatHit, parts map[*sanctions.Entity]app.NamePart) {
	h.features = map[string]float64{}
	h.explain = map[string]YenteFeatureResult{}
	e := h.e
	put := func(name string, v float64, r YenteFeatureResult) {
		r.Score, r.Weight = v, compatFeatures[name].Coefficient
		h.features[name] = v
		h.explain[name] = r
	}
	if np, ok := parts[e]; ok && np.Score > 0 {
		put("name_match", np.Score, YenteFeatureResult{Detail: np.Explanation, Candidate: np.MatchedName})
	}
	imoHit := false
	for _, imo := range q.imos {
		scheme, word := sanctions.Scheme(""), ""
		switch {
		case q.wants(sanctions.Vessel) && contains(e.IDs(sanctions.SchemeShipIMO), imo):
			scheme, word = sanctions.SchemeShipIMO, "ship"
		case q.wants(sanctions.Organization) && contains(e.IDs(sanctions.SchemeCompanyIMO), imo):
			scheme, word = sanctions.SchemeCompanyIMO, "company"
		}
		if scheme != "" {
			imoHit = true
			put("imo_match", 1, YenteFeatureResult{Query: "IMO" + imo, Candidate: "IMO" + imo,
				Detail: fmt.Sprintf("IMO %s is the listed %s IMO number: an exact identifier match, whatever the name says", imo, word)})
			break
		}
	}
	if q.wants(sanctions.Vessel) {
		for _, m := range q.mmsis {
			if listedMMSI(e, m) {
				put("mmsi_match", 1, YenteFeatureResult{Query: m, Candidate: m,
					Detail: fmt.Sprintf("MMSI %s is listed for this vessel: an exact identifier match (MMSIs are reassigned, so check the IMO)", m)})
				break
			}
		}
		for _, cs := range q.callSigns {
			n := identity.NormaliseCallSign(cs)
			for _, v := range e.IDs(sanctions.SchemeCallSign) {
				if identity.NormaliseCallSign(v) == n {
					put("call_sign_match", 1, YenteFeatureResult{Query: cs, Candidate: v,
						Detail: fmt.Sprintf("call sign %s is listed for this vessel: an exact identifier match", n)})
					break
				}
			}
			if _, ok := h.features["call_sign_match"]; ok {
				break
			}
		}
	}
	// The screening weighs a differing IMO on the names screened with the
	// query's first IMO (every name row carries it).
	if len(q.imos) > 0 && len(q.names) > 0 && e.Type == sanctions.Vessel && !imoHit {
		if listed := e.ShipIMO(); listed != "" && listed != q.imos[0] {
			put("imo_mismatch", 1, YenteFeatureResult{Query: "IMO" + q.imos[0], Candidate: "IMO" + listed,
				Detail: fmt.Sprintf("query IMO %s differs from the listed IMO %s: the name match may be another ship of that name", q.imos[0], listed)})
		}
	}
}

// scoreOf recomputes a score from its features (the tests check it
// equals the screening's).
func scoreOf(f map[string]float64) float64 {
	name := f["name_match"]
	if f["imo_mismatch"] > 0 {
		name *= compatFeatures["imo_mismatch"].Coefficient
	}
	s := name
	for _, k := range []string{"imo_match", "mmsi_match", "call_sign_match"} {
		s = math.Max(s, f[k]*compatFeatures[k].Coefficient)
	}
	return math.Round(s*1000) / 1000
}

func listedMMSI(e *sanctions.Entity, m string) bool {
	want, err := strconv.ParseUint(m, 10, 32)
	if err != nil {
		return false
	}
	for _, v := range e.IDs(sanctions.SchemeMMSI) {
		if n, err := strconv.ParseUint(v, 10, 32); err == nil && n == want {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------
// Entities in FollowTheMoney form.

func ftmSchema(t sanctions.EntityType) string {
	switch t {
	case sanctions.Vessel:
		return "Vessel"
	case sanctions.Person:
		return "Person"
	case sanctions.Aircraft:
		return "Airplane"
	}
	return "Organization"
}

// ftmCountry writes a country as FtM does (ISO alpha-2, lower case) when
// the list gives a code, and as listed otherwise.
func ftmCountry(c string) string {
	if len(c) == 2 {
		return strings.ToLower(c)
	}
	if cc, ok := identity.CountryByName(c); ok {
		return strings.ToLower(string(cc))
	}
	return c
}

// toFtM describes an entity in FollowTheMoney terms. published maps list
// version IDs to their publication dates.
func toFtM(e *sanctions.Entity, published map[string]string) YenteEntity {
	props := map[string][]string{}
	add := func(k, v string) {
		if v = strings.TrimSpace(v); v == "" {
			return
		}
		for _, x := range props[k] {
			if x == v {
				return
			}
		}
		props[k] = append(props[k], v)
	}
	for _, n := range e.Names {
		switch n.Kind {
		case sanctions.NamePrimary:
			add("name", n.Value)
		case sanctions.NameAlias:
			add("alias", n.Value)
		case sanctions.NameWeak:
			add("weakAlias", n.Value)
		case sanctions.NameFormer:
			add("previousName", n.Value)
		}
	}
	for _, id := range e.Identifiers {
		switch id.Scheme {
		case sanctions.SchemeShipIMO, sanctions.SchemeCompanyIMO:
			add("imoNumber", "IMO"+id.Value)
		case sanctions.SchemeMMSI:
			add("mmsi", id.Value)
		case sanctions.SchemeCallSign:
			add("callSign", id.Value)
		case sanctions.SchemeRegistration:
			add("registrationNumber", id.Value)
		case sanctions.SchemePassport:
			add("passportNumber", id.Value)
		case sanctions.SchemeNationalID:
			add("idNumber", id.Value)
		}
	}
	if e.Flag != "" {
		add("flag", ftmCountry(e.Flag))
	}
	for _, f := range e.PastFlags {
		add("pastFlags", ftmCountry(f))
	}
	add("type", e.VesselType)
	add("tonnage", e.Tonnage)
	add("buildDate", e.BuildYear)
	for _, n := range e.Nationalities {
		add("nationality", ftmCountry(n))
	}
	for _, d := range e.BirthDates {
		add("birthDate", d)
	}
	for _, a := range e.Addresses {
		full := a.Full
		if full == "" {
			full = strings.Join(nonEmpty(a.Street, a.City, a.Region, a.Country), ", ")
		}
		add("address", full)
		if a.Country != "" && e.Type != sanctions.Vessel {
			add("country", ftmCountry(a.Country))
		}
	}
	add("notes", e.Remarks)
	add("topics", "sanction")
	ent := YenteEntity{ID: e.ID, Caption: e.Name, Schema: ftmSchema(e.Type), Properties: props, Target: true,
		Datasets: []string{}, Referents: []string{}}
	var first, last string
	for _, l := range e.Listings {
		for _, pr := range l.Programmes {
			add("programId", pr)
		}
		ent.Datasets = appendFold(ent.Datasets, datasetOfList(l.List))
		if ref := l.List + ":" + l.SourceID; ref != e.ID {
			ent.Referents = appendFold(ent.Referents, ref)
		}
		if l.ListedOn != "" && (first == "" || l.ListedOn < first) {
			first = l.ListedOn
		}
		if p := published[l.Version]; len(p) >= 10 && p[:10] > last {
			last = p[:10] // a date, or the date of a time
		}
	}
	sort.Strings(ent.Datasets)
	sort.Strings(ent.Referents)
	if len(first) == 10 {
		ent.FirstSeen = first + "T00:00:00"
	}
	if len(last) == 10 {
		ent.LastSeen = last + "T00:00:00"
	}
	return ent
}

func (h *compatHit) yente(published map[string]string) YenteScoredEntity {
	expl := h.m.Explanation
	if expl == nil {
		expl = []string{}
	}
	return YenteScoredEntity{YenteEntity: toFtM(h.e, published), Score: h.score, Match: h.match,
		Features: h.features, Explanations: h.explain, Explanation: expl}
}

// ---------------------------------------------------------------------
// Routes.

func (s *Server) registerCompat() {
	datasetParam := pathParam("dataset", "default or sanctions (every list), or one list: un_sc_sanctions, us_ofac_sdn, us_ofac_cons, gb_fcdo_sanctions, eu_journal_sanctions, opensanctions")
	s.add(&route{method: "POST", path: "/match/{dataset}", tag: "compatible", role: app.RoleViewer,
		summary: "yente-compatible matching: FollowTheMoney queries, FtM results with score, match and features",
		description: "The request and answer of yente's POST /match/{dataset} (OpenSanctions), so existing yente clients can point at Tidewatch. " +
			"Schemata: Vessel (name, alias, previousName, weakAlias, imoNumber, mmsi, callSign, flag), Organization, Company, PublicBody (names, imoNumber as the company number), " +
			"Person (names, firstName/middleName/lastName), LegalEntity (organizations and persons), Thing (everything). Other properties are accepted, ignored and named in the query's warnings. " +
			"Each name is screened with the first of each identifier; further identifiers alone; the best score per entity is kept. Recorded in the tenant's audit log (one record per request).",
		params: []param{datasetParam,
			query("limit", "integer", "results per query (default 5; above 100 means 100)"),
			query("threshold", "number", "score from which a result is a match (default 0.86, Tidewatch's calibrated threshold)"),
			query("cutoff", "number", "results scoring at or below this are left out (default 0.5; never above the threshold)"),
			query("algorithm", "string", "accepted and ignored: Tidewatch has one algorithm (GET /algorithms)"),
			query("include_dataset", "string", "only entities on these datasets (repeatable)"),
			query("exclude_dataset", "string", "leave out entities on these datasets (repeatable)"),
			query("exclude_schema", "string", "leave out results of these schemata (repeatable)"),
			query("exclude_entity_ids", "string", "leave out these entities, by ID or referent (repeatable)"),
			query("topics", "string", "only entities with one of these topics (every Tidewatch entity is a sanction)"),
			query("changed_since", "string", "accepted and ignored: every entity in force is screened")},
		body: reflect.TypeFor[YenteMatchRequest](), resp: reflect.TypeFor[YenteMatchResponse](), handle: s.yenteMatch})
	s.add(&route{method: "GET", path: "/search/{dataset}", tag: "compatible", role: app.RoleViewer,
		summary:     "yente-compatible search: entities by name",
		description: "A name screened as in /v1/screen with every candidate returned (below the threshold too), in yente's search answer. Recorded in the tenant's audit log.",
		params: []param{datasetParam, {name: "q", in: "query", typ: "string", desc: "the name", required: true},
			query("schema", "string", "Vessel, Organization, Company, Person, LegalEntity or Thing (default Thing)"),
			query("limit", "integer", "results (default 10, at most 100)"), query("offset", "integer", "results to skip (limit + offset at most 100)")},
		resp: reflect.TypeFor[YenteSearchResponse](), handle: s.yenteSearch})
	s.add(&route{method: "GET", path: "/entities/{id}", tag: "compatible", role: app.RoleViewer,
		summary: "yente-compatible entity: one entity in force, by ID or referent, in FollowTheMoney form",
		params:  []param{pathParam("id", "an entity ID (un:KPe.061) or the ID of a listing merged into it")},
		resp:    reflect.TypeFor[YenteEntity](), handle: s.yenteEntity})
	s.add(&route{method: "GET", path: "/catalog", tag: "compatible", role: app.RoleViewer,
		summary: "yente-compatible catalog: the datasets (lists) and the versions in force",
		resp:    reflect.TypeFor[YenteCatalog](), handle: s.yenteCatalog})
	s.add(&route{method: "GET", path: "/algorithms", tag: "compatible", role: app.RoleViewer,
		summary: "yente-compatible algorithms: Tidewatch's one, with its features and coefficients",
		resp:    reflect.TypeFor[YenteAlgorithms](), handle: func(w http.ResponseWriter, r *http.Request, _ app.Principal) error {
			writeJSON(w, http.StatusOK, YenteAlgorithms{Default: compatAlgorithm, Best: compatAlgorithm, Algorithms: []YenteAlgorithm{{
				Name: compatAlgorithm, Features: compatFeatures,
				Description: "Identifiers first (IMO 1.0, MMSI 0.95, call sign 0.9), then names; the score is the highest part. Threshold 0.86, set on the evaluation in docs/screening.md."}}})
			return nil
		}})

	// Reconciliation: the key may come in the query string (OpenRefine
	// sends no headers), so these routes authenticate themselves.
	keyParam := query("api_key", "string", "the API key, for clients that cannot send headers (OpenRefine); the Authorization header works too. URLs are kept in browser histories and proxy logs: prefer a viewer key with a short expiry")
	reconcileDesc := "Needs an API key with the viewer role or above, as ?api_key=KEY or in the Authorization header. JSONP (callback=) is refused."
	for _, base := range []string{"/reconcile", "/reconcile/{dataset}"} {
		params := []param{keyParam}
		if base != "/reconcile" {
			params = append([]param{datasetParam}, params...)
		}
		s.add(&route{method: "GET", path: base, tag: "reconciliation", summary: "Reconciliation service manifest (W3C Entity Reconciliation API 0.2, OpenRefine)",
			description: reconcileDesc, params: params, resp: reflect.TypeFor[ReconcileManifest](), handle: s.reconcileManifest})
		s.add(&route{method: "POST", path: base, tag: "reconciliation", summary: "Reconcile a batch of queries: candidates with score 0-100 and match",
			description: reconcileDesc + " Body: form-encoded queries=JSON (as OpenRefine sends) or the JSON batch itself. Properties: imo, mmsi, call_sign, flag. Recorded in the tenant's audit log.",
			params:      params, bodyContent: "application/x-www-form-urlencoded", resp: reflect.TypeFor[map[string]ReconcileResult](), handle: s.reconcileQueries})
	}
	s.add(&route{method: "GET", path: "/reconcile/suggest/{kind}", tag: "reconciliation", summary: "Reconciliation suggest service for types and properties",
		description: reconcileDesc, params: []param{pathParam("kind", "type or property"), query("prefix", "string", "what the user typed"), keyParam},
		resp: reflect.TypeFor[ReconcileSuggestions](), handle: s.reconcileSuggest})
	s.add(&route{method: "GET", path: "/reconcile/preview", tag: "reconciliation", summary: "Reconciliation preview: an entity as a small HTML page",
		description: reconcileDesc, params: []param{{name: "id", in: "query", typ: "string", desc: "the entity ID", required: true}, keyParam},
		respContent: "text/html", handle: s.reconcilePreview})
}

// readBody reads a request body within the JSON limit and hashes it.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, string, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opt.MaxBody))
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:]), nil
}

// floatParam reads a score from the query string.
func floatParam(r *http.Request, name string, def, lo, hi float64) (float64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f < lo || f > hi {
		return 0, app.Errorf(app.CodeInvalid, "%s %q: want a number from %g to %g", name, termtext.Clip(v, 20), lo, hi)
	}
	return f, nil
}

// limitParam reads a result limit: above the most means the most.
func limitParam(r *http.Request, def int) (int, error) {
	n, err := intParam(r, "limit", def, 1, math.MaxInt32)
	return min(n, compatMaxLimit), err
}

// matchFilter reads the dataset and the filters yente clients send.
func matchFilter(r *http.Request) (compatFilter, []string, error) {
	var f compatFilter
	var warns []string
	lists, err := compatLists(r.PathValue("dataset"))
	if err != nil {
		return f, nil, err
	}
	f.lists = lists
	q := r.URL.Query()
	if inc := q["include_dataset"]; len(inc) > 0 {
		keep := map[string]bool{}
		for _, d := range inc {
			ls, err := compatLists(d)
			if err != nil {
				return f, nil, err
			}
			for _, d := range compatDatasets {
				if d.List != "" && (ls == nil || ls[d.List]) && (f.lists == nil || f.lists[d.List]) {
					keep[d.List] = true
				}
			}
		}
		f.lists = keep
	}
	for _, d := range q["exclude_dataset"] {
		ls, err := compatLists(d)
		if err != nil {
			return f, nil, err
		}
		if ls == nil {
			f.noTopic = true // excluding every list leaves nothing
		}
		if f.exclLists == nil {
			f.exclLists = map[string]bool{}
		}
		for l := range ls {
			f.exclLists[l] = true
		}
	}
	for _, sc := range q["exclude_schema"] {
		if f.exclTypes == nil {
			f.exclTypes = map[string]bool{}
		}
		f.exclTypes[sc] = true
		switch sc { // FtM parents exclude their children
		case "LegalEntity":
			f.exclTypes["Organization"], f.exclTypes["Person"] = true, true
		case "Company":
			f.exclTypes["Organization"] = true
		case "Thing":
			f.noTopic = true
		}
	}
	for _, id := range q["exclude_entity_ids"] {
		if f.exclIDs == nil {
			f.exclIDs = map[string]bool{}
		}
		f.exclIDs[id] = true
	}
	if ts := q["topics"]; len(ts) > 0 {
		f.noTopic = true
		for _, t := range ts {
			if t == "sanction" {
				f.noTopic = false
			}
		}
	}
	if a := q.Get("algorithm"); a != "" && a != compatAlgorithm {
		warns = append(warns, fmt.Sprintf("algorithm %q is ignored: Tidewatch scores with its own (GET /algorithms)", termtext.Clip(a, 40)))
	}
	if q.Get("changed_since") != "" {
		warns = append(warns, "changed_since is ignored: every entity in force is screened")
	}
	return f, warns, nil
}

func (s *Server) yenteMatch(w http.ResponseWriter, r *http.Request, p app.Principal) error {
	filter, warns, err := matchFilter(r)
	if err != nil {
		return err
	}
	limit, err := limitParam(r, compatDefaultLimit)
	if err != nil {
		return err
	}
	threshold, err := floatParam(r, "threshold", screen.DefaultThreshold, 0.001, 1)
	if err != nil {
		return err
	}
	cutoff, err := floatParam(r, "cutoff", compatDefaultCutoff, 0, 1)
	if err != nil {
		return err
	}
	cutoff = math.Min(cutoff, threshold)
	body, hash, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	qs, bodyWarns, err := decodeYenteMatch(body)
	if err != nil {
		return err
	}
	warns = append(warns, bodyWarns...)
	run, err := s.compatScreen(r.Context(), p, qs, compatOptions{threshold: threshold, cutoff: cutoff, limit: limit, filter: filter,
		input: "match/" + r.PathValue("dataset"), hash: hash})
	if err != nil {
		return err
	}
	if run.partial {
		warns = append(warns, "the lists changed during this request: name_match features are left out")
	}
	published := publishedOf(run.prov)
	resp := YenteMatchResponse{Responses: map[string]YenteMatches{}, Matcher: compatFeatures, Limit: limit, Threshold: threshold, Cutoff: cutoff,
		Warnings: warns, Provenance: run.prov, AuditSeq: run.seq}
	for i, q := range qs {
		res := make([]YenteScoredEntity, 0, len(run.hits[i]))
		for j := range run.hits[i] {
			res = append(res, run.hits[i][j].yente(published))
		}
		resp.Responses[q.key] = YenteMatches{Status: http.StatusOK, Results: res, Total: YenteTotal{Value: run.totals[i], Relation: "eq"},
			Query: YenteEntityExample{Schema: q.schema, Properties: q.echo}, Warnings: q.warnings}
	}
	w.Header().Set("X-Batch-Size", strconv.Itoa(len(qs)))
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func publishedOf(prov app.Provenance) map[string]string {
	m := map[string]string{}
	for _, v := range prov.Lists {
		m[v.ID] = v.Published
	}
	return m
}

func (s *Server) yenteSearch(w http.ResponseWriter, r *http.Request, p app.Principal) error {
	filter, warns, err := matchFilter(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	name := q.Get("q")
	if strings.TrimSpace(name) == "" {
		return app.Errorf(app.CodeInvalid, "give q, the name to search")
	}
	schema := q.Get("schema")
	if schema == "" {
		schema = "Thing"
	}
	limit, err := limitParam(r, 10)
	if err != nil {
		return err
	}
	offset, err := intParam(r, "offset", 0, 0, compatMaxLimit)
	if err != nil {
		return err
	}
	if limit+offset > compatMaxLimit {
		return app.Errorf(app.CodeInvalid, "limit + offset is at most %d", compatMaxLimit)
	}
	cq, err := compileExample("q", &YenteEntityExample{Schema: schema, Properties: map[string]FtMValues{"name": {name}}})
	if err != nil {
		return err
	}
	run, err := s.compatScreen(r.Context(), p, []*compatQuery{cq}, compatOptions{threshold: screen.DefaultThreshold, cutoff: 0,
		limit: limit + offset, filter: filter, input: "search/" + r.PathValue("dataset")})
	if err != nil {
		return err
	}
	published := publishedOf(run.prov)
	hits := run.hits[0]
	resp := YenteSearchResponse{Results: []YenteEntity{}, Facets: map[string]YenteFacet{}, Limit: limit, Offset: offset,
		Total: YenteTotal{Value: len(hits), Relation: "eq"}, Warnings: warns, Provenance: run.prov, AuditSeq: run.seq}
	for i := offset; i < len(hits); i++ {
		resp.Results = append(resp.Results, toFtM(hits[i].e, published))
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// entityByID finds an entity in force by its ID or, failing that, a
// referent's. An ID that names several entities is refused rather than
// answered with one of them.
func (s *Server) entityByID(ctx context.Context, p app.Principal, id string) (*sanctions.Entity, app.Provenance, error) {
	ents, prov, err := s.svc.Entities(ctx, p, func(e *sanctions.Entity) bool {
		if e.ID == id {
			return true
		}
		for _, l := range e.Listings {
			if l.List+":"+l.SourceID == id {
				return true
			}
		}
		return false
	})
	if err != nil {
		return nil, prov, err
	}
	var exact []*sanctions.Entity
	for _, e := range ents {
		if e.ID == id {
			exact = append(exact, e)
		}
	}
	if len(exact) > 0 {
		ents = exact
	}
	switch len(ents) {
	case 0:
		return nil, prov, app.Errorf(app.CodeNotFound, "no entity %q in the lists in force", termtext.Clip(id, 80))
	case 1:
		return ents[0], prov, nil
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name)
	}
	return nil, prov, app.Errorf(app.CodeConflict, "%q names %d entities in the lists in force (%s): the list reuses the record number; screen by name or identifier instead",
		termtext.Clip(id, 80), len(ents), termtext.Clip(strings.Join(names, "; "), 200))
}

func (s *Server) yenteEntity(w http.ResponseWriter, r *http.Request, p app.Principal) error {
	e, prov, err := s.entityByID(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toFtM(e, publishedOf(prov)))
	return nil
}

func (s *Server) yenteCatalog(w http.ResponseWriter, r *http.Request, p app.Principal) error {
	vs, err := s.svc.ListVersions(r.Context(), p)
	if err != nil {
		return err
	}
	cat := YenteCatalog{Datasets: []YenteDataset{}, Current: []string{}, Outdated: []string{}}
	var children []string
	for _, v := range vs {
		if !v.InForce {
			continue
		}
		name := datasetOfList(v.List)
		children = append(children, name)
		cat.Current = append(cat.Current, name)
		cat.Datasets = append(cat.Datasets, YenteDataset{Name: name, Title: sanctions.ListNames[v.List], Load: true, Version: v.ID,
			IndexVersion: v.ID, IndexCurrent: true, Children: []string{}, SHA256: v.SHA256, Summary: "published " + v.Published})
	}
	sort.Strings(children)
	for _, d := range compatDatasets[:2] {
		cat.Datasets = append(cat.Datasets, YenteDataset{Name: d.Name, Title: d.Title, Load: true, Version: "in force", IndexCurrent: true,
			Children: append([]string{}, children...)})
	}
	writeJSON(w, http.StatusOK, cat)
	return nil
}

// ---------------------------------------------------------------------
// The Reconciliation API.

// ReconcileType is an entity type as the reconciliation API names it.
type ReconcileType struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// ReconcileService points at a suggest service.
type ReconcileService struct {
	ServiceURL  string `json:"service_url"`
	ServicePath string `json:"service_path"`
}

// ReconcileSuggest lists the suggest services.
type ReconcileSuggest struct {
	Type     ReconcileService `json:"type"`
	Property ReconcileService `json:"property"`
}

// ReconcileView is the URL template of an entity's page.
type ReconcileView struct {
	URL string `json:"url"`
}

// ReconcilePreview is the URL template of an entity's preview.
type ReconcilePreview struct {
	URL    string `json:"url"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// ReconcileManifest describes the service (GET /reconcile).
type ReconcileManifest struct {
	Versions        []string         `json:"versions"`
	Name            string           `json:"name"`
	IdentifierSpace string           `json:"identifierSpace"`
	SchemaSpace     string           `json:"schemaSpace"`
	Documentation   string           `json:"documentation"`
	ServiceVersion  string           `json:"serviceVersion"`
	DefaultTypes    []ReconcileType  `json:"defaultTypes"`
	View            ReconcileView    `json:"view"`
	Preview         ReconcilePreview `json:"preview"`
	Suggest         ReconcileSuggest `json:"suggest"`
}

// ReconcileQuery is one query of a batch.
type ReconcileQuery struct {
	Query      string              `json:"query,omitempty"`
	Type       ReconcileTypes      `json:"type,omitempty"`
	Limit      float64             `json:"limit,omitempty"`
	Properties []ReconcileProperty `json:"properties,omitempty"`
	// TypeStrict is accepted and ignored (every type given is searched).
	TypeStrict string `json:"type_strict,omitempty"`
}

// ReconcileTypes is one type ID or a list of them.
type ReconcileTypes []string

// UnmarshalJSON reads a string or a list of strings.
func (t *ReconcileTypes) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var l []string
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		*t = l
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("type: a type ID or a list of them")
	}
	*t = ReconcileTypes{s}
	return nil
}

// ReconcileProperty is a property value a query gives.
type ReconcileProperty struct {
	PID string          `json:"pid"`
	V   ReconcileValues `json:"v"`
}

// ReconcileValues are a property's values: strings, numbers, entities
// ({"id","name"}: the ID is used) or a list of them.
type ReconcileValues []string

// UnmarshalJSON reads one value or a list.
func (v *ReconcileValues) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var raw []json.RawMessage
	if len(b) > 0 && b[0] == '[' {
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
	} else {
		raw = []json.RawMessage{b}
	}
	out := ReconcileValues{}
	for _, r := range raw {
		r = bytes.TrimSpace(r)
		if len(r) > 0 && r[0] == '{' {
			var ent struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			}
			if err := json.Unmarshal(r, &ent); err != nil {
				return fmt.Errorf("v: an entity value is {\"id\", \"name\"}")
			}
			if ent.ID != "" {
				out = append(out, ent.ID)
			} else if ent.Name != "" {
				out = append(out, ent.Name)
			}
			continue
		}
		s, ok, err := scalarString(r)
		if err != nil {
			return fmt.Errorf("v: %v", err)
		}
		if ok {
			out = append(out, s)
		}
	}
	*v = out
	return nil
}

// ReconcileFeature is one part of a candidate's score.
type ReconcileFeature struct {
	ID    string  `json:"id"`
	Value float64 `json:"value"`
}

// ReconcileCandidate is one candidate for a query.
type ReconcileCandidate struct {
	ID          string             `json:"id"`
	Name        string             `json:"name"`
	Type        []ReconcileType    `json:"type"`
	Score       float64            `json:"score"`
	Match       bool               `json:"match"`
	Description string             `json:"description,omitempty"`
	Features    []ReconcileFeature `json:"features,omitempty"`
}

// ReconcileResult answers one query.
type ReconcileResult struct {
	Result []ReconcileCandidate `json:"result"`
}

// ReconcileSuggestions answers the suggest services.
type ReconcileSuggestions struct {
	Result []ReconcileType `json:"result"`
}

var reconcileTypes = []ReconcileType{
	{ID: "Vessel", Name: "Vessel", Description: "A ship: screened by IMO number, MMSI, call sign and name (former names too)"},
	{ID: "Organization", Name: "Organization", Description: "A company or other organization: screened by name and IMO company number"},
	{ID: "Person", Name: "Person", Description: "A person: screened by name"},
}

// reconcileProps are the properties a query may give, by ID, with the
// FtM names accepted for them.
var reconcileProps = []struct {
	ReconcileType
	ftm     string
	aliases []string
}{
	{ReconcileType{ID: "imo", Name: "IMO number", Description: "a ship's IMO number, or an organization's IMO company number (any written form: IMO 8660313, 8660313)"}, "imoNumber", []string{"imoNumber", "Vessel:imoNumber", "Organization:imoNumber"}},
	{ReconcileType{ID: "mmsi", Name: "MMSI", Description: "the vessel's 9-digit Maritime Mobile Service Identity"}, "mmsi", []string{"Vessel:mmsi"}},
	{ReconcileType{ID: "call_sign", Name: "Call sign", Description: "the vessel's radio call sign"}, "callSign", []string{"callSign", "Vessel:callSign"}},
	{ReconcileType{ID: "flag", Name: "Flag", Description: "the vessel's flag (a country name or ISO code); a different flag never lowers a score"}, "flag", []string{"Vessel:flag"}},
}

// reconcileSchema maps a query's types to the FtM schema it is screened
// as and the result types kept (nil: every type).
func reconcileSchema(types []string) (string, []sanctions.EntityType, error) {
	fam := map[sanctions.EntityType]bool{}
	for _, t := range types {
		switch strings.ToLower(t) {
		case "vessel", "ship":
			fam[sanctions.Vessel] = true
		case "organization", "organisation", "company", "publicbody":
			fam[sanctions.Organization] = true
		case "person":
			fam[sanctions.Person] = true
		case "legalentity":
			fam[sanctions.Organization], fam[sanctions.Person] = true, true
		case "thing", "":
			return "Thing", nil, nil
		default:
			return "", nil, fmt.Errorf("type %q: give Vessel, Organization or Person", termtext.Clip(t, 40))
		}
	}
	switch {
	case len(fam) == 0 || len(fam) == 3:
		return "Thing", nil, nil
	case len(fam) == 1 && fam[sanctions.Vessel]:
		return "Vessel", nil, nil
	case len(fam) == 1 && fam[sanctions.Person]:
		return "Person", nil, nil
	case len(fam) == 1:
		return "Organization", nil, nil
	case !fam[sanctions.Vessel]:
		return "LegalEntity", nil, nil
	}
	// A vessel and one other type: screen everything, keep those two.
	var keep []sanctions.EntityType
	for _, t := range sanctions.EntityTypes {
		if fam[t] {
			keep = append(keep, t)
		}
	}
	return "Thing", keep, nil
}

var (
	imoQuery  = regexp.MustCompile(`^(?i:IMO)?[\s:.]*[1-9][0-9]{6}$`)
	mmsiQuery = regexp.MustCompile(`^[0-9]{9}$`)
)

// compileReconcile turns a reconciliation query into a screening.
func compileReconcile(key string, rq ReconcileQuery) (*compatQuery, int, error) {
	schema, keep, err := reconcileSchema(rq.Type)
	if err != nil {
		return nil, 0, app.Errorf(app.CodeInvalid, "query %q: %v", termtext.Clip(key, 40), err)
	}
	ex := &YenteEntityExample{Schema: schema, Properties: map[string]FtMValues{}}
	// A column of IMO numbers or MMSIs is reconciled by the number.
	switch query := strings.TrimSpace(rq.Query); {
	case imoQuery.MatchString(query):
		ex.Properties["imoNumber"] = FtMValues{query}
	case mmsiQuery.MatchString(query):
		ex.Properties["mmsi"] = FtMValues{query}
	case query != "":
		ex.Properties["name"] = FtMValues{query}
	}
	for _, pr := range rq.Properties {
		ftm := ""
		for _, rp := range reconcileProps {
			if strings.EqualFold(pr.PID, rp.ID) || containsFold(rp.aliases, pr.PID) {
				ftm = rp.ftm
			}
		}
		if ftm == "" {
			ids := make([]string, len(reconcileProps))
			for i, rp := range reconcileProps {
				ids[i] = rp.ID
			}
			return nil, 0, app.Errorf(app.CodeInvalid, "query %q: property %q: give %s", termtext.Clip(key, 40), termtext.Clip(pr.PID, 40), strings.Join(ids, ", "))
		}
		ex.Properties[ftm] = append(ex.Properties[ftm], pr.V...)
	}
	limit := compatDefaultLimit
	if rq.Limit != 0 {
		if rq.Limit < 1 || rq.Limit != math.Trunc(rq.Limit) {
			return nil, 0, app.Errorf(app.CodeInvalid, "query %q: limit %v: a whole number of candidates", termtext.Clip(key, 40), rq.Limit)
		}
		limit = int(math.Min(rq.Limit, compatMaxLimit))
	}
	switch rq.TypeStrict {
	case "", "any", "should", "all":
	default:
		return nil, 0, app.Errorf(app.CodeInvalid, "query %q: type_strict %q: any, should or all", termtext.Clip(key, 40), termtext.Clip(rq.TypeStrict, 20))
	}
	q, err := compileExample(key, ex)
	if err != nil {
		return nil, 0, err
	}
	if keep != nil {
		q.keep = keep
	}
	return q, limit, nil
}

// decodeReconcile reads a batch of reconciliation queries.
func decodeReconcile(data []byte) ([]*compatQuery, []int, error) {
	var batch map[string]ReconcileQuery
	if err := decodeJSON(bytes.NewReader(data), &batch); err != nil {
		return nil, nil, err
	}
	if len(batch) == 0 {
		return nil, nil, app.Errorf(app.CodeInvalid, `no queries: send queries={"q0": {"query": "CHON MA SAN", "type": "Vessel"}}`)
	}
	if len(batch) > compatMaxQueries {
		return nil, nil, app.Errorf(app.CodeInvalid, "%d queries in one batch: at most %d", len(batch), compatMaxQueries)
	}
	keys := make([]string, 0, len(batch))
	for k := range batch {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	qs := make([]*compatQuery, 0, len(keys))
	limits := make([]int, 0, len(keys))
	rows := 0
	for _, k := range keys {
		q, limit, err := compileReconcile(k, batch[k])
		if err != nil {
			return nil, nil, err
		}
		rows += len(q.rows)
		qs, limits = append(qs, q), append(limits, limit)
	}
	if rows > app.MaxBatch {
		return nil, nil, app.Errorf(app.CodeInvalid, "%d screenings in one batch: at most %d", rows, app.MaxBatch)
	}
	return qs, limits, nil
}

// reconcilePrincipal authenticates a reconciliation request: the
// Authorization or X-API-Key header, or ?api_key= (OpenRefine cannot send
// headers); given in more than one, the same key. Logs name the route, never the URL, so the key stays out of
// them.
//
// OpenRefine fetches the manifest and the suggestions from the browser:
// CORS lets it read them. Any origin may: these routes take no cookies,
// so a page can only do what the key it already holds allows.
func (s *Server) reconcilePrincipal(w http.ResponseWriter, r *http.Request) (app.Principal, error) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	q := r.URL.Query()
	if q.Has("callback") {
		return app.Principal{}, app.Errorf(app.CodeInvalid, "JSONP (callback=) is not served: the answer would run as script in the calling page; OpenRefine reads this service with CORS")
	}
	if r.Header.Get("Authorization") == "" && r.Header.Get("X-API-Key") == "" && q.Get("api_key") == "" {
		return app.Principal{}, app.Errorf(app.CodeUnauthenticated, "no API key: add ?api_key=KEY to the service URL (OpenRefine cannot send headers) or send Authorization: Bearer KEY")
	}
	// A key in the URL and one in a header must be the same key.
	key, err := requestKey(r, q.Get("api_key"))
	if err != nil {
		return app.Principal{}, err
	}
	p, err := s.authenticate(r, key)
	if err != nil {
		return p, err
	}
	if wait, ok := s.allow(p.KeyID); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		return p, app.Errorf(app.CodeRateLimited, "too many requests for this key: slow down")
	}
	return p, nil
}

// reconcileBase is the reconciliation service's URL: under the
// configured public URL (Options.PublicURL), else relative to the host
// ("/reconcile"). It is never built from the request's Host header: a
// client (or a proxy's cache) could be given links, carrying the api_key,
// to a host an attacker chose.
func (s *Server) reconcileBase() string {
	return strings.TrimRight(s.opt.PublicURL, "/") + "/reconcile"
}

// CheckPublicURL checks a public base URL for Options.PublicURL: absolute
// http or https, a host, no query, fragment or user; it returns it
// without a trailing slash.
func CheckPublicURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("public URL %q: %v", termtext.Clip(raw, 100), err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("public URL %q: give an absolute http(s) URL with a host and no query, such as https://tidewatch.example.org", termtext.Clip(raw, 100))
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func (s *Server) reconcileManifest(w http.ResponseWriter, r *http.Request, _ app.Principal) error {
	if _, err := s.reconcilePrincipal(w, r); err != nil {
		return err
	}
	if r.URL.Query().Has("queries") {
		return app.Errorf(app.CodeInvalid, "send queries with POST (form field queries=), not in the URL")
	}
	dataset := r.PathValue("dataset")
	title := "every list"
	if dataset != "" {
		if _, err := compatLists(dataset); err != nil {
			return err
		}
		title = dataset
	}
	base := s.reconcileBase()
	// The key, when it came in the URL, goes on to the preview and
	// suggest URLs: OpenRefine opens them without headers too.
	keyQuery := ""
	if k := r.URL.Query().Get("api_key"); k != "" && r.Header.Get("Authorization") == "" && r.Header.Get("X-API-Key") == "" {
		keyQuery = "api_key=" + url.QueryEscape(k)
	}
	withKey := func(path string) string {
		if keyQuery == "" {
			return path
		}
		if strings.Contains(path, "?") {
			return path + "&" + keyQuery
		}
		return path + "?" + keyQuery
	}
	writeJSON(w, http.StatusOK, ReconcileManifest{
		Versions:        []string{"0.1", "0.2"},
		Name:            "Tidewatch sanctions screening (" + title + ")",
		IdentifierSpace: "https://github.com/tidewatch/tidewatch/blob/main/docs/api.md#entity-ids",
		SchemaSpace:     "https://github.com/tidewatch/tidewatch/blob/main/docs/api.md#entity-types",
		Documentation:   "https://github.com/tidewatch/tidewatch/blob/main/docs/api.md",
		ServiceVersion:  s.svc.Version(),
		DefaultTypes:    reconcileTypes,
		View:            ReconcileView{URL: withKey(base + "/preview?id={{id}}")},
		Preview:         ReconcilePreview{URL: withKey(base + "/preview?id={{id}}"), Width: 430, Height: 300},
		Suggest: ReconcileSuggest{
			Type:     ReconcileService{ServiceURL: base, ServicePath: withKey("/suggest/type")},
			Property: ReconcileService{ServiceURL: base, ServicePath: withKey("/suggest/property")},
		},
	})
	return nil
}

// reconcileBody reads the queries of a POST: form-encoded queries=JSON,
// or the JSON batch as the body.
func (s *Server) reconcileBody(w http.ResponseWriter, r *http.Request) ([]byte, string, error) {
	body, hash, err := s.readBody(w, r)
	if err != nil {
		return nil, "", err
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		return body, hash, nil
	}
	if ct != "application/x-www-form-urlencoded" && ct != "" {
		return nil, "", app.Errorf(app.CodeInvalid, "Content-Type %q: send a form (queries=JSON) or JSON", termtext.Clip(ct, 60))
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, "", app.Errorf(app.CodeInvalid, "malformed form body: %v", err)
	}
	qs := form["queries"]
	if len(qs) != 1 {
		return nil, "", app.Errorf(app.CodeInvalid, "send one form field queries= holding the JSON batch")
	}
	sum := sha256.Sum256([]byte(qs[0]))
	return []byte(qs[0]), hex.EncodeToString(sum[:]), nil
}

func (s *Server) reconcileQueries(w http.ResponseWriter, r *http.Request, _ app.Principal) error {
	p, err := s.reconcilePrincipal(w, r)
	if err != nil {
		return err
	}
	filter := compatFilter{}
	if d := r.PathValue("dataset"); d != "" {
		if filter.lists, err = compatLists(d); err != nil {
			return err
		}
	}
	data, hash, err := s.reconcileBody(w, r)
	if err != nil {
		return err
	}
	qs, limits, err := decodeReconcile(data)
	if err != nil {
		return err
	}
	maxLimit := 0
	for _, l := range limits {
		maxLimit = max(maxLimit, l)
	}
	run, err := s.compatScreen(r.Context(), p, qs, compatOptions{threshold: screen.DefaultThreshold, cutoff: compatDefaultCutoff, limit: maxLimit,
		filter: filter, input: "reconcile", hash: hash})
	if err != nil {
		return err
	}
	out := map[string]ReconcileResult{}
	for i, q := range qs {
		res := ReconcileResult{Result: []ReconcileCandidate{}}
		for j, h := range run.hits[i] {
			if j >= limits[i] {
				break
			}
			res.Result = append(res.Result, h.candidate())
		}
		out[q.key] = res
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// candidate renders a result for the reconciliation API: score 0-100.
func (h *compatHit) candidate() ReconcileCandidate {
	t := ftmSchema(h.e.Type)
	c := ReconcileCandidate{ID: h.e.ID, Name: h.e.Name, Type: []ReconcileType{{ID: t, Name: t}},
		Score: math.Round(h.score*1000) / 10, Match: h.match, Description: describe(h.e)}
	names := make([]string, 0, len(h.features))
	for k := range h.features {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		c.Features = append(c.Features, ReconcileFeature{ID: k, Value: h.features[k]})
	}
	return c
}

// describe says in a line what an entity is and who lists it.
func describe(e *sanctions.Entity) string {
	var parts []string
	parts = append(parts, string(e.Type))
	if imo := e.ShipIMO(); imo != "" {
		parts = append(parts, "IMO"+imo)
	} else if ids := e.IDs(sanctions.SchemeCompanyIMO); len(ids) > 0 {
		parts = append(parts, "company IMO"+ids[0])
	}
	if e.Flag != "" {
		parts = append(parts, "flag "+e.Flag)
	}
	var lists []string
	for _, l := range e.Listings {
		lists = appendFold(lists, datasetOfList(l.List))
	}
	parts = append(parts, "listed: "+strings.Join(lists, ", "))
	if e.IsDPRK() {
		parts = append(parts, "DPRK programme")
	}
	return strings.Join(parts, "; ")
}

func (s *Server) reconcileSuggest(w http.ResponseWriter, r *http.Request, _ app.Principal) error {
	if _, err := s.reconcilePrincipal(w, r); err != nil {
		return err
	}
	prefix := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("prefix")))
	var all []ReconcileType
	switch r.PathValue("kind") {
	case "type":
		all = reconcileTypes
	case "property":
		for _, p := range reconcileProps {
			all = append(all, p.ReconcileType)
		}
	default:
		return app.Errorf(app.CodeNotFound, "suggest %q: Tidewatch suggests type and property", termtext.Clip(r.PathValue("kind"), 40))
	}
	out := ReconcileSuggestions{Result: []ReconcileType{}}
	for _, t := range all {
		if prefix == "" || strings.HasPrefix(strings.ToLower(t.ID), prefix) || strings.HasPrefix(strings.ToLower(t.Name), prefix) {
			out.Result = append(out.Result, t)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

var previewPage = template.Must(template.New("preview").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Name}}</title>
<style>body{font:13px/1.4 sans-serif;margin:8px}h1{font-size:15px;margin:0 0 4px}dt{font-weight:bold;margin-top:4px}dd{margin:0 0 0 8px}</style>
</head><body><h1>{{.Name}}</h1><div>{{.Description}}</div><dl>
{{range .Rows}}<dt>{{.K}}</dt><dd>{{.V}}</dd>
{{end}}</dl><div>Tidewatch entity {{.ID}}</div></body></html>
`))

func (s *Server) reconcilePreview(w http.ResponseWriter, r *http.Request, _ app.Principal) error {
	p, err := s.reconcilePrincipal(w, r)
	if err != nil {
		return err
	}
	id := r.URL.Query().Get("id")
	if id == "" {
		return app.Errorf(app.CodeInvalid, "give id, the entity's ID")
	}
	e, _, err := s.entityByID(r.Context(), p, id)
	if err != nil {
		return err
	}
	type kv struct{ K, V string }
	var rows []kv
	ftm := toFtM(e, nil)
	for _, k := range []string{"alias", "previousName", "imoNumber", "mmsi", "callSign", "flag", "pastFlags", "type", "buildDate", "birthDate", "nationality", "programId"} {
		if vs := ftm.Properties[k]; len(vs) > 0 {
			rows = append(rows, kv{k, strings.Join(vs, "; ")})
		}
	}
	for _, l := range e.Listings {
		v := l.List + " " + l.SourceID
		if l.ListedOn != "" {
			v += ", listed " + l.ListedOn
		}
		rows = append(rows, kv{"listing", v})
	}
	var buf bytes.Buffer
	if err := previewPage.Execute(&buf, map[string]any{"Name": e.Name, "ID": e.ID, "Description": describe(e), "Rows": rows}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(buf.Bytes())
	return nil
}

// ---------------------------------------------------------------------
// Small helpers.

// appendFold appends s unless present (case-insensitive).
func appendFold(list []string, s string) []string {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return list
		}
	}
	return append(list, s)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func nonEmpty(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	return out
}
