package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/identity"
	"github.com/tidewatch/tidewatch/report"
	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// parseVessel reads an IMO number (7 digits with a valid check digit) or
// an MMSI (9 digits).
func parseVessel(s string) (q store.VesselQuery, err error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "IMO"))
	n, err := strconv.ParseUint(s, 10, 32)
	switch {
	case err != nil:
		return q, fmt.Errorf("%q is neither an IMO number nor an MMSI", s)
	case len(s) == 7:
		if !identity.ValidShipIMO(int(n)) {
			return q, fmt.Errorf("IMO %s fails its check digit", s)
		}
		q.IMO = uint32(n)
	case len(s) == 9:
		q.MMSI = uint32(n)
	default:
		return q, fmt.Errorf("%q: give a 7-digit IMO number or a 9-digit MMSI", s)
	}
	return q, nil
}

// parseWindow reads "12m" (months), "90d", "2y" or a Go duration.
func parseWindow(s string) (time.Duration, error) {
	if len(s) > 1 {
		n, err := strconv.Atoi(s[:len(s)-1])
		if err == nil && n > 0 {
			switch s[len(s)-1] {
			case 'd':
				return time.Duration(n) * 24 * time.Hour, nil
			case 'm':
				return time.Duration(n) * 30 * 24 * time.Hour, nil
			case 'y':
				return time.Duration(n) * 365 * 24 * time.Hour, nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("window %q: give e.g. 12m (months), 90d, 2y or 720h", s)
	}
	return d, nil
}

// parseAsOf reads a date or an RFC 3339 time; a bare date means the end
// of that day (UTC), so everything known that day counts.
func parseAsOf(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.Add(24*time.Hour - time.Second), nil
	}
	return time.Time{}, fmt.Errorf("--as-of %q: give YYYY-MM-DD or an RFC 3339 time", s)
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
		return v
	}
	return "(devel)"
}

// vesselRequest is what 'tidewatch vessel' needs to build a profile.
type vesselRequest struct {
	query                    store.VesselQuery
	asOf                     time.Time
	window                   time.Duration
	cfg                      risk.Config
	owner, manager, operator string
	built                    int
}

// assess gathers the store's facts about a vessel and builds its profile.
func assess(ctx context.Context, st *sqlite.DB, req vesselRequest) (risk.Profile, []report.TrackPoint, error) {
	q := req.query
	ids, err := st.IdentityHistory(ctx, q)
	if err != nil {
		return risk.Profile{}, nil, fmt.Errorf("identity history: %w", err)
	}
	if q.IMO == 0 {
		// Asked by MMSI: the ship is its IMO, so take in every MMSI that
		// broadcast the IMO this MMSI did (a re-flagged ship's new MMSI).
		var imos []uint32
		for _, id := range ids {
			if id.Field == "imo" && !id.First.After(req.asOf) {
				n, _ := strconv.Atoi(id.Value)
				imos = append(imos, uint32(n))
			}
		}
		if len(imos) == 1 {
			more, err := st.IdentityHistory(ctx, store.VesselQuery{IMO: imos[0]})
			if err != nil {
				return risk.Profile{}, nil, fmt.Errorf("identity history: %w", err)
			}
			for _, id := range more {
				if id.MMSI != q.MMSI {
					ids = append(ids, id)
				}
			}
		}
	}
	imo := q.IMO
	mmsiSet := map[uint32]bool{}
	if q.MMSI != 0 {
		mmsiSet[q.MMSI] = true
	}
	var obs []risk.Observation
	var names []string
	sources := map[string]bool{}
	for _, id := range ids {
		if id.First.After(req.asOf) {
			continue
		}
		mmsiSet[id.MMSI] = true
		obs = append(obs, risk.Observation{MMSI: id.MMSI, Field: id.Field, Value: id.Value, First: id.First, Last: id.Last, Count: id.Count, Source: id.Source})
		if id.Field == "name" {
			names = append(names, id.Value)
		}
		if id.Field == "imo" && imo == 0 {
			n, _ := strconv.Atoi(id.Value)
			imo = uint32(n)
		}
		sources[id.Source] = true
	}
	var mmsis []uint32
	for m := range mmsiSet {
		mmsis = append(mmsis, m)
	}
	sort.Slice(mmsis, func(i, j int) bool { return mmsis[i] < mmsis[j] })
	from := req.asOf.Add(-req.window)
	events, err := st.Events(ctx, mmsis, from, req.asOf)
	if err != nil {
		return risk.Profile{}, nil, fmt.Errorf("events: %w", err)
	}
	// Lists in force at the as-of date.
	all, err := st.ListVersions(ctx)
	if err != nil {
		return risk.Profile{}, nil, err
	}
	versions := risk.VersionsAt(all, req.asOf)
	var sets []*sanctions.Dataset
	for _, v := range versions {
		ents, err := st.ListEntities(ctx, v.ID)
		if err != nil {
			return risk.Profile{}, nil, err
		}
		sets = append(sets, &sanctions.Dataset{Version: v, Entities: ents})
	}
	sc := risk.NewScreener(sanctions.Merge(sets...))
	sort.Strings(names)
	var hits []risk.ListHit
	hits = append(hits, sc.Vessel("vessel", imo, 0, uniqStrings(names))...)
	for _, m := range mmsis {
		hits = appendNew(hits, sc.Vessel("vessel", 0, m, nil))
	}
	// Counterparts of encounters, by identifier only.
	seenCP := map[uint32]bool{}
	for _, ev := range events {
		if ev.Kind != detect.KindEncounter || ev.End.After(req.asOf) {
			continue
		}
		for _, v := range ev.Vessels {
			if mmsiSet[v.MMSI] || seenCP[v.MMSI] {
				continue
			}
			seenCP[v.MMSI] = true
			hits = append(hits, sc.Vessel(fmt.Sprintf("counterpart %09d", v.MMSI), v.IMO, v.MMSI, nil)...)
		}
	}
	var parties []risk.Party
	for _, p := range []risk.Party{{Role: "owner", Name: req.owner, From: "user"}, {Role: "manager", Name: req.manager, From: "user"}, {Role: "operator", Name: req.operator, From: "user"}} {
		if p.Name != "" {
			parties = append(parties, p)
		}
	}
	buildYear := req.built
	for _, h := range hits {
		if h.About != "vessel" || !h.ByID {
			continue
		}
		if buildYear == 0 {
			buildYear, _ = strconv.Atoi(strings.TrimSpace(h.BuildYear))
		}
		for _, l := range h.Links {
			parties = append(parties, risk.Party{Role: string(l.Relation), Name: l.Name, From: "listed with " + h.Name})
		}
	}
	for _, p := range parties {
		hits = append(hits, sc.Party(p.Role, p.Name)...)
	}
	cov, err := st.Coverage(ctx, mmsis, from, req.asOf)
	if err != nil {
		return risk.Profile{}, nil, err
	}
	var srcs []string
	for s := range sources {
		srcs = append(srcs, s)
	}
	sort.Strings(srcs)
	in := risk.Input{IMO: imo, MMSI: q.MMSI, AsOf: req.asOf, Window: req.window, Observations: obs, Events: events, Hits: hits,
		Lists: risk.Consulted(versions), Parties: parties, BuildYear: buildYear,
		Coverage: risk.Coverage{Points: cov.Points, Fixes: cov.Fixes, First: cov.First, Last: cov.Last, Days: cov.Days,
			Window: int(req.window.Hours()/24 + 0.5), Sources: srcs}}
	p := risk.Assess(in, req.cfg)
	// The track for the map: every stored point in the window, thinned
	// evenly to keep the page light.
	var track []report.TrackPoint
	for _, m := range mmsis {
		pts, err := st.Track(ctx, m, from, req.asOf)
		if err != nil {
			return p, nil, err
		}
		step := max(1, len(pts)/4000)
		for i := 0; i < len(pts); i += step {
			track = append(track, report.TrackPoint{MMSI: m, Time: pts[i].Time, Lat: pts[i].Lat, Lon: pts[i].Lon})
		}
	}
	return p, track, nil
}

func uniqStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func appendNew(hits, more []risk.ListHit) []risk.ListHit {
	for _, h := range more {
		dup := false
		for _, o := range hits {
			if o.About == h.About && o.EntityID == h.EntityID {
				dup = true
			}
		}
		if !dup {
			hits = append(hits, h)
		}
	}
	return hits
}

func subjectOf(q store.VesselQuery) string {
	if q.IMO != 0 {
		return fmt.Sprintf("imo:%d", q.IMO)
	}
	return fmt.Sprintf("mmsi:%09d", q.MMSI)
}

func currentUser() string {
	if u := os.Getenv("TIDEWATCH_USER"); u != "" {
		return u
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

func runVessel(e *env, args []string) error {
	var storePath, asOf, windowS, reportPath, config, actor string
	var asJSON bool
	var req vesselRequest
	fs := newFlagSet(e, "vessel", "tidewatch vessel IMO|MMSI [--as-of DATE] [--window 12m] [--report out.html] [--json]", `
Builds the vessel's risk profile as of a date from what the store held
about it then: list hits on the vessel (IMO, MMSIs, names), on its
encounter counterparts and on the companies linked to it (list links, or
--owner/--manager/--operator), with the list versions in force that day;
identity signals (flag, name and MMSI changes, conflicts, abused
registries); behaviour in the review window (gaps, encounters and who the
counterpart was, loitering, STS-area and DPRK-water entries, DPRK port
calls, draught changes at sea); and vessel facts. Each factor carries its
points and its evidence; the score maps to decline, refer or accept.
Weights: --config (docs/risk.md). The same store, date, window and
configuration give the same profile, byte for byte.

--report writes a self-contained HTML report (map, timeline, lists,
identity history, AIS coverage, decisions; prints to PDF). --json prints
the profile as data. Every profile and report is recorded in the audit
log ('tidewatch audit').`)
	fs.StringVar(&storePath, "store", defaultStore(), "the store file")
	fs.StringVar(&asOf, "as-of", "", "assess as of this date (YYYY-MM-DD, the end of that day, or RFC 3339; default now)")
	fs.StringVar(&windowS, "window", "12m", "behaviour review window before the as-of date (12m, 90d, 2y)")
	fs.StringVar(&reportPath, "report", "", "write the HTML report here")
	fs.BoolVar(&asJSON, "json", false, "print the profile as JSON")
	fs.StringVar(&config, "config", "", "JSON file of risk weights and bands (docs/risk.md)")
	fs.StringVar(&req.owner, "owner", "", "registered owner to screen")
	fs.StringVar(&req.manager, "manager", "", "ship manager to screen")
	fs.StringVar(&req.operator, "operator", "", "operator to screen")
	fs.IntVar(&req.built, "built", 0, "build year, when the lists do not give it")
	fs.StringVar(&actor, "by", currentUser(), "who runs the check (audit log)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("give one IMO number or MMSI")
	}
	if req.query, err = parseVessel(pos[0]); err != nil {
		return usagef("%v", err)
	}
	if req.window, err = parseWindow(windowS); err != nil {
		return usagef("%v", err)
	}
	req.asOf = time.Now().UTC().Truncate(time.Second)
	if asOf != "" {
		if req.asOf, err = parseAsOf(asOf); err != nil {
			return usagef("%v", err)
		}
	}
	req.cfg = risk.DefaultConfig
	if config != "" {
		if req.cfg, err = risk.LoadConfig(config); err != nil {
			return usagef("%v", err)
		}
	}
	if _, err := os.Stat(storePath); err != nil {
		return fmt.Errorf("store %s: %w (build one with 'tidewatch ingest')", storePath, err)
	}
	st, err := openStore(storePath)
	if err != nil {
		return err
	}
	defer st.Close()
	p, pj, err := profileAndReport(context.Background(), e, st, req, actor, reportPath, windowS)
	if err != nil {
		return err
	}
	if len(p.Lists) == 0 {
		fmt.Fprintf(e.stderr, "warning: the store holds no list version published by %s: nothing was screened (store lists with 'tidewatch ingest --lists DIR' or --embedded-lists)\n", p.AsOf.Format("2006-01-02"))
	}
	if asJSON {
		_, err := e.stdout.Write(append(pj, '\n'))
		return err
	}
	printProfile(e.stdout, &p)
	return nil
}

func writeReport(path string, in report.Input) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := report.Write(f, in); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

func printProfile(w io.Writer, p *risk.Profile) {
	name := p.Name
	if name == "" {
		name = "(no name)"
	}
	fmt.Fprintf(w, "%s", name)
	if p.IMO != 0 {
		fmt.Fprintf(w, "  IMO %d", p.IMO)
	}
	for _, m := range p.MMSIs {
		fmt.Fprintf(w, "  MMSI %09d", m)
	}
	fmt.Fprintf(w, "\nas of %s, window from %s\n", p.AsOf.Format(time.RFC3339), p.WindowStart.Format("2006-01-02"))
	fmt.Fprintf(w, "recommendation: %s (score %g; refer at %g, decline at %g)\n", strings.ToUpper(p.Recommendation), p.Score, p.Bands[0], p.Bands[1])
	if len(p.Factors) == 0 {
		fmt.Fprintln(w, "no risk factor")
	}
	for _, f := range p.Factors {
		fmt.Fprintf(w, "  %5g  %s\n", f.Points, f.Title)
		for _, ev := range f.Evidence {
			fmt.Fprintf(w, "         %s %s\n", ev.Ref, ev.Text)
		}
	}
	fmt.Fprintf(w, "lists consulted:")
	for _, l := range p.Lists {
		fmt.Fprintf(w, " %s@%s", l.List, l.Published)
	}
	fmt.Fprintf(w, "\nAIS: %d positions received, %d kept, on %d of %d days; %d events in the window\n", p.Coverage.Fixes, p.Coverage.Points, p.Coverage.Days, p.Coverage.Window, len(p.Events))
}

// decisionsFor reads the decisions recorded about a vessel.
func decisionsFor(ctx context.Context, st store.Store, subject string, imo uint32) ([]report.Decision, error) {
	var out []report.Decision
	alt := ""
	if imo != 0 {
		alt = fmt.Sprintf("imo:%d", imo)
	}
	err := st.AuditRecords(ctx, func(r store.AuditRecord) error {
		if r.Action != audit.ActionDecision || (r.Subject != subject && r.Subject != alt) {
			return nil
		}
		var d struct {
			Decision string `json:"decision"`
			Note     string `json:"note"`
		}
		json.Unmarshal(r.Data, &d)
		out = append(out, report.Decision{Time: r.Time, Actor: r.Actor, Decision: d.Decision, Note: d.Note, AuditSeq: r.Seq, AuditHash: r.Hash})
		return nil
	})
	return out, err
}

func runDecide(e *env, args []string) error {
	var storePath, decision, by, note string
	fs := newFlagSet(e, "decide", "tidewatch decide IMO|MMSI --decision decline|refer|accept --by NAME [--note TEXT]", `
Records an underwriting decision about a vessel in the audit log. Reports
written afterwards show it in their decision block.`)
	fs.StringVar(&storePath, "store", defaultStore(), "the store file")
	fs.StringVar(&decision, "decision", "", "decline, refer or accept")
	fs.StringVar(&by, "by", "", "who decides (required)")
	fs.StringVar(&note, "note", "", "the reason, as it should be filed")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("give one IMO number or MMSI")
	}
	q, err := parseVessel(pos[0])
	if err != nil {
		return usagef("%v", err)
	}
	switch decision {
	case risk.Decline, risk.Refer, risk.Accept:
	default:
		return usagef("--decision must be decline, refer or accept")
	}
	if strings.TrimSpace(by) == "" {
		return usagef("--by NAME is required: a decision needs someone who made it")
	}
	st, err := openStore(storePath)
	if err != nil {
		return err
	}
	defer st.Close()
	rec, err := (&audit.Log{St: st}).Append(context.Background(), by, audit.ActionDecision, subjectOf(q), map[string]string{"decision": decision, "note": note})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "decision recorded: %s %s by %s (audit record #%d %s)\n", subjectOf(q), decision, by, rec.Seq, rec.Hash[:16])
	return nil
}

func runAudit(e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.stderr, `Usage: tidewatch audit verify|show|prune [flags]

  verify [--head SEQ:HASH] [--json]  check the hash chain: any edited, deleted or
                                     reordered record is reported (exit 1)
  show [--subject imo:N] [--json]    list records
  prune [--retention 10y]            delete records older than the retention period
                                     (default 10 years), keeping the chain verifiable
`)
		if len(args) == 0 {
			return usagef("give a subcommand")
		}
		return nil
	}
	var storePath, head, subject, retention string
	var asJSON bool
	fs := newFlagSet(e, "audit "+args[0], "tidewatch audit "+args[0], "See 'tidewatch audit -h'.")
	fs.StringVar(&storePath, "store", defaultStore(), "the store file")
	fs.BoolVar(&asJSON, "json", false, "JSON output")
	switch args[0] {
	case "verify":
		fs.StringVar(&head, "head", "", "SEQ:HASH of a head kept elsewhere, to catch deleted newest records")
	case "show":
		fs.StringVar(&subject, "subject", "", "only records about this subject (imo:N, mmsi:N)")
	case "prune":
		fs.StringVar(&retention, "retention", "10y", "keep records this long (10y, 7y, 3650d)")
	default:
		return usagef("unknown audit subcommand %q", args[0])
	}
	if _, err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if _, err := os.Stat(storePath); err != nil {
		return fmt.Errorf("store %s: %w", storePath, err)
	}
	st, err := openStore(storePath)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	switch args[0] {
	case "verify":
		rep, err := audit.Verify(ctx, st)
		if err != nil {
			return err
		}
		if head != "" {
			seqS, h, _ := strings.Cut(head, ":")
			seq, _ := strconv.ParseInt(seqS, 10, 64)
			found := false
			st.AuditRecords(ctx, func(r store.AuditRecord) error {
				if r.Seq == seq {
					found = true
					if !strings.HasPrefix(r.Hash, h) || h == "" {
						rep.Problems = append(rep.Problems, audit.Problem{Seq: seq, Reason: "record differs from the head kept elsewhere"})
					}
				}
				return nil
			})
			if !found {
				rep.Problems = append(rep.Problems, audit.Problem{Seq: seq, Reason: "the head kept elsewhere is missing: newest records deleted"})
			}
		}
		if asJSON {
			json.NewEncoder(e.stdout).Encode(rep)
		} else {
			fmt.Fprintf(e.stdout, "%d records, %d to %d; head %d:%s\n", rep.Records, rep.First, rep.Head, rep.Head, rep.HeadHash)
			for _, p := range rep.Problems {
				fmt.Fprintf(e.stdout, "record %d: %s\n", p.Seq, p.Reason)
			}
		}
		if !rep.OK() {
			return fmt.Errorf("audit log fails verification: %d problems", len(rep.Problems))
		}
		if !asJSON {
			fmt.Fprintln(e.stdout, "chain intact")
		}
		return nil
	case "show":
		enc := json.NewEncoder(e.stdout)
		return st.AuditRecords(ctx, func(r store.AuditRecord) error {
			if subject != "" && r.Subject != subject {
				return nil
			}
			if asJSON {
				return enc.Encode(r)
			}
			_, err := fmt.Fprintf(e.stdout, "#%d %s %-9s %-18s %s %s\n", r.Seq, r.Time.Format(time.RFC3339), r.Action, r.Subject, r.Actor, r.Data)
			return err
		})
	default:
		d, err := parseWindow(retention)
		if err != nil {
			return usagef("%v", err)
		}
		n, err := (&audit.Log{St: st}).Prune(ctx, currentUser(), d)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d records older than %s deleted; the chain still verifies from the prune record\n", n, retention)
		return nil
	}
}

// profileAndReport builds a vessel's profile, stores it, records it in
// the audit log and, with a report path, writes the HTML report (also
// recorded). It returns the profile and its JSON.
func profileAndReport(ctx context.Context, e *env, st *sqlite.DB, req vesselRequest, actor, reportPath, windowS string) (risk.Profile, []byte, error) {
	p, track, err := assess(ctx, st, req)
	if err != nil {
		return p, nil, err
	}
	pj, err := json.Marshal(p)
	if err != nil {
		return p, nil, err
	}
	hash := p.Hash()
	if err := st.PutAssessment(ctx, store.Assessment{ID: hash, IMO: p.IMO, MMSI: req.query.MMSI, AsOf: p.AsOf, Score: p.Score, Outcome: p.Recommendation, Profile: pj}); err != nil {
		return p, nil, err
	}
	log := &audit.Log{St: st}
	subject := subjectOf(req.query)
	if _, err := log.Append(ctx, actor, audit.ActionProfile, subject, map[string]any{"profile_hash": hash, "as_of": p.AsOf, "window": windowS,
		"score": p.Score, "recommendation": p.Recommendation, "config_hash": p.ConfigHash}); err != nil {
		return p, nil, err
	}
	if reportPath == "" {
		return p, pj, nil
	}
	decisions, err := decisionsFor(ctx, st, subject, p.IMO)
	if err != nil {
		return p, nil, err
	}
	rec, err := log.Append(ctx, actor, audit.ActionReport, subject, map[string]any{"profile_hash": hash, "file": reportPath})
	if err != nil {
		return p, nil, err
	}
	land, _, zones, err := loadGeo(true)
	if err != nil {
		return p, nil, err
	}
	in := report.Input{Profile: p, ProfileHash: hash, Track: track, Decisions: decisions, Land: land, Zones: zones,
		Generated: time.Now().UTC(), GeneratedBy: actor, Version: buildVersion(), AuditSeq: rec.Seq, AuditHash: rec.Hash, Window: windowS}
	for _, s := range p.Coverage.Sources {
		if strings.Contains(s, "sim") {
			in.Simulated = append(in.Simulated, "AIS source "+strconv.Quote(s))
		}
	}
	if err := writeReport(reportPath, in); err != nil {
		return p, nil, err
	}
	fmt.Fprintf(e.stderr, "report written to %s (audit record #%d)\n", reportPath, rec.Seq)
	return p, pj, nil
}
