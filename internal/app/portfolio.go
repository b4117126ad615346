package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/identity"
	"github.com/tidewatch/tidewatch/internal/tabular"
	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/store"
)

// MonitorStore is what monitoring keeps (store.MonitorStore).
type MonitorStore interface {
	store.MonitorStore
}

// CreatePortfolio makes a portfolio for the principal's tenant.
func (s *Service) CreatePortfolio(ctx context.Context, p Principal, id, name string) (store.Portfolio, error) {
	if err := p.need(RoleAnalyst, "creating a portfolio"); err != nil {
		return store.Portfolio{}, err
	}
	if !idPattern.MatchString(id) {
		return store.Portfolio{}, Errorf(CodeInvalid, "portfolio id %q: lower-case letters, digits and hyphens, at most 63", ClipID(id))
	}
	ps, err := s.st.Portfolios(ctx, p.Tenant)
	if err != nil {
		return store.Portfolio{}, err
	}
	for _, x := range ps {
		if x.ID == id {
			return x, Errorf(CodeConflict, "portfolio %s exists", id)
		}
	}
	if strings.TrimSpace(name) == "" {
		name = id
	}
	pf := store.Portfolio{Tenant: p.Tenant, ID: id, Name: name, Created: s.now().UTC().Truncate(time.Second)}
	if err := s.st.PutPortfolio(ctx, pf); err != nil {
		return pf, err
	}
	// Monitoring starts from here: the list versions and events held now
	// are the baseline, not news.
	if _, err := s.ScreenListChanges(ctx); err != nil {
		return pf, err
	}
	if _, err := s.ScreenNewEvents(ctx); err != nil {
		return pf, err
	}
	_, err = s.record(ctx, p, audit.ActionPortfolio, "portfolio:"+id, map[string]any{"created": id, "name": name})
	return pf, err
}

// Portfolios lists the tenant's portfolios.
func (s *Service) Portfolios(ctx context.Context, p Principal) ([]store.Portfolio, error) {
	if err := p.need(RoleViewer, "listing portfolios"); err != nil {
		return nil, err
	}
	ps, err := s.st.Portfolios(ctx, p.Tenant)
	if ps == nil {
		ps = []store.Portfolio{}
	}
	return ps, err
}

// DeletePortfolio deletes one of the tenant's portfolios.
func (s *Service) DeletePortfolio(ctx context.Context, p Principal, id string) error {
	if err := p.need(RoleAnalyst, "deleting a portfolio"); err != nil {
		return err
	}
	if err := s.st.DeletePortfolio(ctx, p.Tenant, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Errorf(CodeNotFound, "no portfolio %q", ClipID(id))
		}
		return err
	}
	_, err := s.record(ctx, p, audit.ActionPortfolio, "portfolio:"+id, map[string]any{"deleted": id})
	return err
}

func (s *Service) portfolio(ctx context.Context, p Principal, id string) (store.Portfolio, error) {
	ps, err := s.st.Portfolios(ctx, p.Tenant)
	if err != nil {
		return store.Portfolio{}, err
	}
	for _, x := range ps {
		if x.ID == id {
			return x, nil
		}
	}
	return store.Portfolio{}, Errorf(CodeNotFound, "no portfolio %q", ClipID(id))
}

// VesselEntry is a vessel as a user gives it.
type VesselEntry struct {
	// ID is the tenant's own reference (default the IMO, else the MMSI).
	ID        string        `json:"id,omitempty"`
	IMO       string        `json:"imo,omitempty"`
	MMSI      string        `json:"mmsi,omitempty"`
	Name      string        `json:"name,omitempty"`
	Flag      string        `json:"flag,omitempty"`
	Parties   []store.Party `json:"parties,omitempty"`
	CoverFrom string        `json:"cover_from,omitempty"` // YYYY-MM-DD
	CoverTo   string        `json:"cover_to,omitempty"`
}

// EntryError is one entry that could not be added. Row is the file's
// line or sheet row (from 1), or for entries sent as a list the entry's
// place in it (from 1).
type EntryError struct {
	Row   int    `json:"row,omitempty"`
	ID    string `json:"id,omitempty"`
	Error string `json:"error"`
}

// AddResult says what adding vessels did.
type AddResult struct {
	Added   int                     `json:"added"`
	Updated int                     `json:"updated"`
	Errors  []EntryError            `json:"errors,omitempty"`
	Vessels []store.PortfolioVessel `json:"vessels"`
}

// MaxPortfolioVessels bounds one portfolio.
const MaxPortfolioVessels = 50000

// toVessel checks an entry: identifiers that fail their check digits are
// refused (a portfolio entry is an identity, not a search).
func (s *Service) toVessel(tenant, portfolio string, e VesselEntry) (store.PortfolioVessel, error) {
	v := store.PortfolioVessel{Tenant: tenant, Portfolio: portfolio, ID: strings.TrimSpace(e.ID), Name: strings.TrimSpace(e.Name), Flag: strings.TrimSpace(e.Flag)}
	// Text is kept as given and must be text: a file in another encoding
	// (Latin-1, UTF-16) is refused here, with the row, rather than stored
	// garbled (or refused by a PostgreSQL store but kept by SQLite).
	texts := []string{e.ID, e.Name, e.Flag, e.IMO, e.MMSI, e.CoverFrom, e.CoverTo}
	for _, pt := range e.Parties {
		texts = append(texts, pt.Role, pt.Name, pt.CompanyIMO)
	}
	for _, t := range texts {
		if !utf8.ValidString(t) || strings.ContainsRune(t, 0) {
			return v, fmt.Errorf("%q is not UTF-8 text (save the file as UTF-8)", strings.ToValidUTF8(strings.ReplaceAll(t, "\x00", ""), "?"))
		}
	}
	if imo := strings.TrimSpace(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(e.IMO)), "IMO")); imo != "" {
		n, err := strconv.Atoi(imo)
		if err != nil || len(imo) != 7 || !identity.ValidShipIMO(n) {
			return v, fmt.Errorf("IMO %q is not a valid ship IMO number (7 digits, check digit)", e.IMO)
		}
		v.IMO = uint32(n)
	}
	if mmsi := strings.TrimSpace(e.MMSI); mmsi != "" {
		m, err := identity.ParseMMSI(mmsi)
		if err != nil {
			return v, fmt.Errorf("MMSI %q: %v", e.MMSI, err)
		}
		v.MMSI = uint32(m)
	}
	if v.IMO == 0 && v.MMSI == 0 {
		return v, errors.New("a vessel needs an IMO number or an MMSI")
	}
	if v.ID == "" {
		if v.IMO != 0 {
			v.ID = strconv.FormatUint(uint64(v.IMO), 10)
		} else {
			v.ID = fmt.Sprintf("%09d", v.MMSI)
		}
	}
	if len(v.ID) > 100 || len(v.Name) > 300 || len(v.Flag) > 60 {
		return v, errors.New("a reference, name or flag is too long")
	}
	for _, pt := range e.Parties {
		pt.Role, pt.Name, pt.CompanyIMO = strings.ToLower(strings.TrimSpace(pt.Role)), strings.TrimSpace(pt.Name), strings.TrimSpace(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(pt.CompanyIMO)), "IMO"))
		if pt.Name == "" && pt.CompanyIMO == "" {
			continue
		}
		switch pt.Role {
		case "owner", "manager", "operator", "charterer", "beneficial_owner", "technical_manager":
		default:
			return v, fmt.Errorf("party role %q: owner, manager, operator, charterer, beneficial_owner or technical_manager", pt.Role)
		}
		if pt.CompanyIMO != "" {
			n, err := strconv.Atoi(pt.CompanyIMO)
			if err != nil || len(pt.CompanyIMO) != 7 || !identity.ValidCompanyIMO(n) {
				return v, fmt.Errorf("%s's company IMO %q is not a valid IMO company number", pt.Role, pt.CompanyIMO)
			}
		}
		if len(pt.Name) > 300 {
			return v, errors.New("a party name is too long")
		}
		v.Parties = append(v.Parties, pt)
	}
	var err error
	if v.CoverFrom, err = optDate(e.CoverFrom); err != nil {
		return v, fmt.Errorf("cover_from: %v", err)
	}
	if v.CoverTo, err = optDate(e.CoverTo); err != nil {
		return v, fmt.Errorf("cover_to: %v", err)
	}
	if !v.CoverFrom.IsZero() && !v.CoverTo.IsZero() && v.CoverTo.Before(v.CoverFrom) {
		return v, errors.New("the cover ends before it starts")
	}
	return v, nil
}

func optDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return t, fmt.Errorf("%q: give YYYY-MM-DD", s)
	}
	return t, nil
}

// AddVessels adds (or replaces, by reference) vessels in a portfolio and
// computes their status. Entries that cannot be right are reported, the
// others added. rows are the entries' rows in the file they came from
// (ReadPortfolio's); without them an entry's row is its place in
// entries, from 1.
func (s *Service) AddVessels(ctx context.Context, p Principal, portfolio string, entries []VesselEntry, rows []int) (AddResult, error) {
	res := AddResult{Vessels: []store.PortfolioVessel{}}
	if err := p.need(RoleAnalyst, "changing a portfolio"); err != nil {
		return res, err
	}
	if _, err := s.portfolio(ctx, p, portfolio); err != nil {
		return res, err
	}
	existing, err := s.st.PortfolioVessels(ctx, p.Tenant, portfolio)
	if err != nil {
		return res, err
	}
	have := map[string]store.PortfolioVessel{}
	for _, v := range existing {
		have[v.ID] = v
	}
	if len(existing)+len(entries) > MaxPortfolioVessels {
		return res, Errorf(CodeTooLarge, "a portfolio holds at most %d vessels", MaxPortfolioVessels)
	}
	now := s.now().UTC().Truncate(time.Second)
	put := []store.PortfolioVessel{} // [] in JSON when none is added
	seen := map[string]int{}
	for i, e := range entries {
		row := i + 1 // entries sent as a list: their place in it, from 1
		if i < len(rows) {
			row = rows[i]
		}
		v, err := s.toVessel(p.Tenant, portfolio, e)
		if err != nil {
			res.Errors = append(res.Errors, EntryError{Row: row, ID: e.ID, Error: err.Error()})
			continue
		}
		if j, dup := seen[v.ID]; dup {
			res.Errors = append(res.Errors, EntryError{Row: row, ID: v.ID, Error: fmt.Sprintf("reference %s given twice (also row %d)", v.ID, j)})
			continue
		}
		seen[v.ID] = row
		v.Added = now
		if old, ok := have[v.ID]; ok {
			v.Added, v.Seen = old.Added, old.Seen
			res.Updated++
		} else {
			res.Added++
		}
		put = append(put, v)
	}
	idx, err := s.screens.now(ctx)
	if err != nil {
		return res, err
	}
	for i := range put {
		st, err := s.vesselStatus(ctx, idx, &put[i])
		if err != nil {
			return res, err
		}
		put[i].Status = st
		if put[i].Seen == nil {
			put[i].Seen = st
		}
	}
	if len(put) > 0 {
		if err := s.st.PutPortfolioVessels(ctx, put); err != nil {
			return res, err
		}
	}
	res.Vessels = put
	if _, err := s.record(ctx, p, audit.ActionPortfolio, "portfolio:"+portfolio, map[string]any{"added": res.Added, "updated": res.Updated, "errors": len(res.Errors)}); err != nil {
		return res, err
	}
	return res, nil
}

// vesselStatus is a vessel's profile as of now, in brief, with its list
// hits (the vessel's and its parties').
func (s *Service) vesselStatus(ctx context.Context, idx *screenIndex, v *store.PortfolioVessel) (*store.VesselStatus, error) {
	req := ProfileRequest{Vessel: store.VesselQuery{IMO: v.IMO, MMSI: v.MMSI}}
	if req.Vessel.IMO != 0 {
		req.Vessel.MMSI = 0
	}
	for _, pt := range v.Parties {
		switch pt.Role {
		case "owner", "beneficial_owner":
			if req.Owner == "" {
				req.Owner = pt.Name
			}
		case "manager", "technical_manager":
			if req.Manager == "" {
				req.Manager = pt.Name
			}
		case "operator", "charterer":
			if req.Operator == "" {
				req.Operator = pt.Name
			}
		}
	}
	res, err := s.assess(ctx, req)
	if err != nil {
		return nil, err
	}
	st := &store.VesselStatus{Recommendation: res.Profile.Recommendation, Score: res.Profile.Score, ProfileHash: res.Hash, AsOf: res.Profile.AsOf}
	// Hits are kept per listing (a list's own record), not per merged
	// entity: a new listing of a ship already on another list is one new
	// hit, and merged ids that move when lists join do not look like
	// changes.
	for _, h := range res.Profile.Hits {
		for _, l := range h.Listings {
			st.Hits = appendStr(st.Hits, h.About+" "+l.Ref())
		}
	}
	// Parties given by company IMO number are screened by it too.
	for _, h := range s.partyIDHits(idx, v) {
		st.Hits = appendStr(st.Hits, h)
	}
	sort.Strings(st.Hits)
	return st, nil
}

func appendStr(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// RemoveVessel removes a vessel from a portfolio.
func (s *Service) RemoveVessel(ctx context.Context, p Principal, portfolio, id string) error {
	if err := p.need(RoleAnalyst, "changing a portfolio"); err != nil {
		return err
	}
	if err := s.st.DeletePortfolioVessel(ctx, p.Tenant, portfolio, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Errorf(CodeNotFound, "no vessel %q in portfolio %q", ClipID(id), ClipID(portfolio))
		}
		return err
	}
	_, err := s.record(ctx, p, audit.ActionPortfolio, "portfolio:"+portfolio, map[string]any{"removed": id})
	return err
}

// PortfolioColumns are the columns a portfolio file may have.
var PortfolioColumns = []tabular.Column{
	{Name: "id", Aliases: []string{"reference", "ref", "your reference", "policy", "entry"}},
	{Name: "imo", Aliases: []string{"imo number", "imo no", "lr imo"}},
	{Name: "mmsi"},
	{Name: "name", Aliases: []string{"vessel name", "ship name", "vessel"}},
	{Name: "flag", Aliases: []string{"flag state"}},
	{Name: "owner", Aliases: []string{"registered owner"}},
	{Name: "owner_imo", Aliases: []string{"owner imo", "registered owner imo"}},
	{Name: "manager", Aliases: []string{"ship manager", "technical manager"}},
	{Name: "manager_imo", Aliases: []string{"manager imo", "ship manager imo"}},
	{Name: "operator"},
	{Name: "operator_imo", Aliases: []string{"operator imo"}},
	{Name: "charterer"},
	{Name: "charterer_imo", Aliases: []string{"charterer imo"}},
	{Name: "cover_from", Aliases: []string{"inception", "cover start", "from"}},
	{Name: "cover_to", Aliases: []string{"expiry", "cover end", "to"}},
}

// ReadPortfolio reads a portfolio file (CSV with commas or semicolons, or
// XLSX): one vessel a row; a row that cannot be read is an error on its
// row, never a silent loss. A file that came as XLSX (its name, or xlsx:
// its media type said so) but is not one is refused, saying what it looks
// like, rather than read as CSV.
func ReadPortfolio(r io.Reader, name string, xlsx bool) ([]VesselEntry, []int, []EntryError, error) {
	xlsx = xlsx || tabular.NamedXLSX(name)
	rd, err := tabular.NewReader(r, PortfolioColumns, tabular.Options{Limits: tabular.Limits{MaxRows: MaxPortfolioVessels}, XLSX: xlsx})
	if err != nil {
		return nil, nil, nil, Errorf(CodeInvalid, "%v", err)
	}
	defer rd.Close()
	h := rd.Header()
	if !h.Has(1) && !h.Has(2) {
		return nil, nil, nil, Errorf(CodeInvalid, "a portfolio file needs an imo or mmsi column (it has %s)", h.NamesText())
	}
	var es []VesselEntry
	var rows []int
	var errs []EntryError
	for {
		row, err := rd.Read()
		if err == io.EOF {
			return es, rows, errs, nil
		}
		var re *tabular.RowError
		if errors.As(err, &re) {
			errs = append(errs, EntryError{Row: re.Line, Error: re.Reason})
			continue
		}
		if err != nil {
			return es, rows, errs, Errorf(CodeInvalid, "%v", err)
		}
		e := VesselEntry{ID: row.Get("id"), IMO: row.Get("imo"), MMSI: row.Get("mmsi"), Name: row.Get("name"), Flag: row.Get("flag"),
			CoverFrom: row.Get("cover_from"), CoverTo: row.Get("cover_to")}
		for _, role := range []string{"owner", "manager", "operator", "charterer"} {
			if n, co := row.Get(role), row.Get(role+"_imo"); n != "" || co != "" {
				e.Parties = append(e.Parties, store.Party{Role: role, Name: n, CompanyIMO: co})
			}
		}
		es = append(es, e)
		rows = append(rows, row.Line)
	}
}

// WritePortfolio writes a portfolio's vessels in the columns ReadPortfolio
// reads, with their status.
// PortfolioFile is a portfolio exported as a file.
type PortfolioFile struct {
	Name        string // portfolio-<id>.csv or .xlsx
	ContentType string
	Data        []byte
}

// ExportPortfolio writes a portfolio with each vessel's status as CSV
// (format "" or "csv") or Excel ("xlsx"), ranked as the fleet table is.
func (s *Service) ExportPortfolio(ctx context.Context, p Principal, portfolio, format string) (PortfolioFile, error) {
	f := tabular.CSV
	switch format {
	case "", "csv":
	case "xlsx":
		f = tabular.XLSX
	default:
		return PortfolioFile{}, Errorf(CodeInvalid, "format %q: csv or xlsx", format)
	}
	rows, err := s.Fleet(ctx, p, portfolio)
	if err != nil {
		return PortfolioFile{}, err
	}
	vs := make([]store.PortfolioVessel, len(rows))
	for i, row := range rows {
		vs[i] = row.PortfolioVessel
	}
	var buf bytes.Buffer
	if err := WritePortfolio(&buf, f, vs); err != nil {
		return PortfolioFile{}, err
	}
	out := PortfolioFile{Name: fmt.Sprintf("portfolio-%s.%s", portfolio, f), ContentType: "text/csv; charset=utf-8", Data: buf.Bytes()}
	if f == tabular.XLSX {
		out.ContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return out, nil
}

func WritePortfolio(w io.Writer, f tabular.Format, vs []store.PortfolioVessel) error {
	head := []string{"id", "imo", "mmsi", "name", "flag", "owner", "owner_imo", "manager", "manager_imo", "operator", "operator_imo", "charterer", "charterer_imo",
		"cover_from", "cover_to", "recommendation", "score", "hits"}
	tw, err := tabular.NewWriter(w, f, head)
	if err != nil {
		return err
	}
	for _, v := range vs {
		party := map[string]store.Party{}
		for _, pt := range v.Parties {
			party[pt.Role] = pt
		}
		row := []string{v.ID, num(v.IMO, 7), num(v.MMSI, 9), v.Name, v.Flag}
		for _, r := range []string{"owner", "manager", "operator", "charterer"} {
			row = append(row, party[r].Name, party[r].CompanyIMO)
		}
		row = append(row, day(v.CoverFrom), day(v.CoverTo))
		if v.Status != nil {
			row = append(row, v.Status.Recommendation, strconv.FormatFloat(v.Status.Score, 'f', -1, 64), strings.Join(v.Status.Hits, "; "))
		} else {
			row = append(row, "", "", "")
		}
		if err := tw.Write(row); err != nil {
			return err
		}
	}
	return tw.Close()
}

func num(n uint32, width int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%0*d", width, n)
}

func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02")
}

// FleetRow is one vessel of the fleet table.
type FleetRow struct {
	store.PortfolioVessel
	// Changes since the last look, in words.
	Changes []string `json:"changes"`
	// OpenAlerts counts the vessel's open alerts.
	OpenAlerts int `json:"open_alerts"`
}

// Fleet is a portfolio's vessels ranked by risk, each with what changed
// since the last look.
func (s *Service) Fleet(ctx context.Context, p Principal, portfolio string) ([]FleetRow, error) {
	if err := p.need(RoleViewer, "reading a portfolio"); err != nil {
		return nil, err
	}
	if _, err := s.portfolio(ctx, p, portfolio); err != nil {
		return nil, err
	}
	vs, err := s.st.PortfolioVessels(ctx, p.Tenant, portfolio)
	if err != nil {
		return nil, err
	}
	alerts, err := s.st.Alerts(ctx, p.Tenant, store.AlertFilter{States: []string{AlertOpen, AlertAcknowledged}, Portfolio: portfolio})
	if err != nil {
		return nil, err
	}
	open := map[string]int{}
	for _, a := range alerts {
		open[a.VesselRef]++
	}
	rows := make([]FleetRow, 0, len(vs))
	for _, v := range vs {
		rows = append(rows, FleetRow{PortfolioVessel: v, Changes: changes(v.Seen, v.Status), OpenAlerts: open[v.ID]})
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i].Status, rows[j].Status
		ra, rb := rankOf(a), rankOf(b)
		if ra != rb {
			return ra > rb
		}
		if a != nil && b != nil && a.Score != b.Score {
			return a.Score > b.Score
		}
		return rows[i].ID < rows[j].ID
	})
	return rows, nil
}

func rankOf(st *store.VesselStatus) int {
	if st == nil {
		return 0
	}
	return risk.Strictness(st.Recommendation)*2 + map[bool]int{true: 1}[st.Recommendation == risk.Insufficient]
}

// changes says in words what differs between two statuses.
func changes(seen, now *store.VesselStatus) []string {
	out := []string{}
	if now == nil {
		return out
	}
	if seen == nil {
		return append(out, "new in the portfolio")
	}
	if seen.Recommendation != now.Recommendation {
		out = append(out, fmt.Sprintf("recommendation %s -> %s", strings.ReplaceAll(seen.Recommendation, "_", " "), strings.ReplaceAll(now.Recommendation, "_", " ")))
	}
	if seen.Score != now.Score {
		out = append(out, fmt.Sprintf("score %g -> %g", seen.Score, now.Score))
	}
	was := map[string]bool{}
	for _, h := range seen.Hits {
		was[h] = true
	}
	is := map[string]bool{}
	for _, h := range now.Hits {
		is[h] = true
		if !was[h] {
			out = append(out, "new list hit: "+h)
		}
	}
	for _, h := range seen.Hits {
		if !is[h] {
			out = append(out, "list hit gone: "+h)
		}
	}
	return out
}

// MarkSeen records that the principal looked at the portfolio: its
// "what changed" starts again from now.
func (s *Service) MarkSeen(ctx context.Context, p Principal, portfolio string) error {
	if err := p.need(RoleViewer, "marking a portfolio seen"); err != nil {
		return err
	}
	if _, err := s.portfolio(ctx, p, portfolio); err != nil {
		return err
	}
	vs, err := s.st.PortfolioVessels(ctx, p.Tenant, portfolio)
	if err != nil {
		return err
	}
	for i := range vs {
		vs[i].Seen = vs[i].Status
	}
	return s.st.PutPortfolioVessels(ctx, vs)
}
