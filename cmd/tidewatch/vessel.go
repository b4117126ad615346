package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/termtext"
	"github.com/tidewatch/tidewatch/risk"
)

func runVessel(e *env, args []string) error {
	var sf storeFlags
	var asOf, windowS, reportPath, config, actor string
	var asJSON bool
	var req app.ProfileRequest
	fs := newFlagSet(e, "vessel", "tidewatch vessel IMO|MMSI [--as-of DATE] [--window 12m] [--report out.html] [--json]", `
Builds the vessel's risk profile as of a date from what the store held
about it then: list hits on the vessel (IMO, MMSIs, names), on its
encounter counterparts and on the companies linked to it (list links, or
--owner/--manager/--operator), with the list versions in force that day;
identity signals (flag, name and MMSI changes, conflicts, abused
registries; another transmitter claiming the ship's IMO is a conflict
about that claim, never part of its identity); behaviour in the review
window (gaps, encounters and who the counterpart was, loitering, STS-area
and DPRK-water entries, DPRK port calls, draught changes at sea); and
vessel facts. Each factor carries its points and its evidence; the score
maps to decline, refer or accept. An accept needs evidence: with no list
version in force (or without the UN or OFAC SDN list), AIS on fewer than
half the window's days, or nothing known of the ship, the answer is
"insufficient evidence" and says what is missing. Weights: --weights
(docs/risk.md). The same store, date, window and configuration give the
same profile, byte for byte.

--report writes a self-contained HTML report (map, timeline, lists,
identity history, AIS coverage, decisions; prints to PDF). --json prints
the profile as data. Every profile and report is recorded in the audit
log ('tidewatch audit').`)
	sf.register(fs, true)
	fs.StringVar(&asOf, "as-of", "", "assess as of this date (YYYY-MM-DD, the end of that day, or RFC 3339; default now)")
	fs.StringVar(&windowS, "window", "12m", "behaviour review window before the as-of date: calendar months (12m), days (90d), years (2y)")
	fs.StringVar(&reportPath, "report", "", "write the HTML report here")
	fs.BoolVar(&asJSON, "json", false, "print the profile as JSON")
	fs.StringVar(&config, "weights", "", "JSON file of risk weights and bands (docs/risk.md)")
	fs.StringVar(&req.Owner, "owner", "", "registered owner to screen")
	fs.StringVar(&req.Manager, "manager", "", "ship manager to screen")
	fs.StringVar(&req.Operator, "operator", "", "operator to screen")
	fs.IntVar(&req.Built, "built", 0, "build year, when the lists do not give it")
	fs.StringVar(&actor, "by", currentUser(), "who runs the check (audit log)")
	pos, err := parseArgs(fs, args, 1, "give one IMO number or MMSI")
	if err != nil {
		return err
	}
	if req.Vessel, err = app.ParseVessel(pos[0]); err != nil {
		return usagef("%v", err)
	}
	if req.Window, err = app.ParseSpan(windowS); err != nil {
		return usagef("--window %v", err)
	}
	if asOf != "" {
		if req.AsOf, err = app.ParseAsOf(asOf); err != nil {
			return usagef("%v", err)
		}
	}
	if req.Config, err = riskConfig(config); err != nil {
		return err
	}
	if req.Built != 0 && (req.Built < 1850 || req.Built > time.Now().Year()+1) {
		return usagef("--built %d: give a build year", req.Built)
	}
	// Check the report can be written before anything is recorded: an
	// audit record must not name a report that was never written.
	var out *os.File
	if reportPath != "" {
		if out, err = os.CreateTemp(filepath.Dir(reportPath), "."+filepath.Base(reportPath)+".*"); err != nil {
			return fmt.Errorf("report %s: %w", reportPath, err)
		}
		defer func() {
			out.Close()
			os.Remove(out.Name())
		}()
	}
	s, st, err := sf.service(app.Config{})
	if err != nil {
		return err
	}
	defer closeService(s, st)
	ctx := context.Background()
	// A store without lists gets the embedded snapshot, as screen does: a
	// profile on a new store otherwise screened against nothing (a
	// designated ship came out INSUFFICIENT EVIDENCE).
	if n, err := s.EnsureLists(ctx); err != nil {
		return err
	} else if n > 0 {
		fmt.Fprintf(e.stderr, "note: the store held no list versions; stored %d from the embedded snapshot ('tidewatch lists import' for others)\n", n)
	}
	p := localPrincipal(actor)
	var res *app.ProfileResult
	if reportPath != "" {
		rr, err := s.Report(ctx, p, req, reportPath)
		if err != nil {
			return err
		}
		res = rr.ProfileResult
		if _, err := out.Write(rr.HTML); err != nil {
			return fmt.Errorf("report %s: %w", reportPath, err)
		}
		if err := out.Close(); err != nil {
			return fmt.Errorf("report %s: %w", reportPath, err)
		}
		if err := os.Rename(out.Name(), reportPath); err != nil {
			return fmt.Errorf("report %s: %w", reportPath, err)
		}
		fmt.Fprintf(e.stderr, "report written to %s\n", reportPath)
	} else if res, err = s.Profile(ctx, p, req); err != nil {
		return err
	}
	if len(res.Profile.Lists) == 0 {
		fmt.Fprintf(e.stderr, "warning: the store holds no list version published by %s: nothing was screened (store lists with 'tidewatch lists import')\n", res.Profile.AsOf.Format("2006-01-02"))
	}
	if asJSON {
		_, err := e.stdout.Write(append(res.JSON(), '\n'))
		return err
	}
	printProfile(e.stdout, &res.Profile)
	return nil
}

func printProfile(w io.Writer, p *risk.Profile) {
	name := p.Name
	if name == "" {
		name = "(no name)"
	}
	fmt.Fprintf(w, "%s", termtext.Safe(name))
	if p.IMO != 0 {
		fmt.Fprintf(w, "  IMO %d", p.IMO)
	}
	for _, m := range p.MMSIs {
		fmt.Fprintf(w, "  MMSI %09d", m)
	}
	fmt.Fprintf(w, "\nas of %s, window from %s\n", p.AsOf.Format(time.RFC3339), p.WindowStart.Format(time.RFC3339))
	fmt.Fprintf(w, "recommendation: %s (score %g; refer at %g, decline at %g)\n", strings.ToUpper(strings.ReplaceAll(p.Recommendation, "_", " ")), p.Score, p.Bands[0], p.Bands[1])
	for _, m := range p.Missing {
		fmt.Fprintf(w, "  missing: %s\n", m)
	}
	if len(p.Factors) == 0 {
		fmt.Fprintln(w, "no risk factor")
	}
	for _, f := range p.Factors {
		fmt.Fprintf(w, "  %5g  %s\n", f.Points, termtext.Safe(f.Title))
		for _, ev := range f.Evidence {
			fmt.Fprintf(w, "         %s %s\n", ev.Ref, termtext.Safe(ev.Text))
		}
	}
	for _, n := range p.NearMisses {
		fmt.Fprintf(w, "  NEAR MISS (not a match, no points; review): %s: %s\n", termtext.Safe(n.Query), termtext.Safe(n.Message))
	}
	fmt.Fprintf(w, "lists consulted:")
	if len(p.Lists) == 0 {
		fmt.Fprint(w, " none")
	}
	for _, l := range p.Lists {
		// The version's id, as everywhere else (sanctions.VersionID),
		// with its date when the id does not carry it.
		fmt.Fprintf(w, " %s", l.ID)
		if l.Published != "" && !strings.Contains(l.ID, "@"+l.Published) {
			fmt.Fprintf(w, " (%s)", l.Published)
		}
	}
	fmt.Fprintf(w, "\nAIS: %d positions received, %d kept, on %d of %d days; %d events in the window\n", p.Coverage.Fixes, p.Coverage.Points, p.Coverage.Days, p.Coverage.Window, len(p.Events))
}

func runDecide(e *env, args []string) error {
	var sf storeFlags
	var decision, by, reason, override, asOf string
	var approve, reject int64
	fs := newFlagSet(e, "decide", "tidewatch decide IMO|MMSI --decision decline|refer|accept --reason TEXT --by NAME [--override-reason TEXT]\n       tidewatch decide --approve ID|--reject ID --by NAME [--reason TEXT]", `
Records an underwriting decision about a vessel, with its reason, in the
audit log and the store; reports written afterwards show it.

The decision is weighed against the vessel's profile as of now (or
--as-of): a decision less strict than the profile recommends (accepting or
referring a decline, accepting a refer or an insufficient-evidence
profile) is an override and needs --override-reason too. When the
tenant's policy asks for four eyes, an override is pending until another
underwriter approves it (--approve ID) or rejects it (--reject ID).`)
	sf.register(fs, true)
	fs.StringVar(&decision, "decision", "", "decline, refer or accept")
	fs.StringVar(&by, "by", "", "who decides (required)")
	fs.StringVar(&reason, "reason", "", "the reason, as it should be filed (required)")
	fs.StringVar(&reason, "note", "", "same as --reason")
	fs.StringVar(&override, "override-reason", "", "why the decision goes against the profile's recommendation")
	fs.StringVar(&asOf, "as-of", "", "weigh the decision against the profile as of this date (default now)")
	fs.Int64Var(&approve, "approve", 0, "approve the pending decision with this id (four eyes)")
	fs.Int64Var(&reject, "reject", 0, "reject the pending decision with this id (four eyes)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if strings.TrimSpace(by) == "" {
		return usagef("--by NAME is required: a decision needs someone who made it")
	}
	if approve != 0 || reject != 0 {
		if len(pos) > 0 || decision != "" || (approve != 0 && reject != 0) {
			return usagef("--approve ID or --reject ID, alone")
		}
		s, st, err := sf.service(app.Config{})
		if err != nil {
			return err
		}
		defer closeService(s, st)
		id, ok := approve, true
		if reject != 0 {
			id, ok = reject, false
		}
		d, err := s.ApproveDecision(context.Background(), localPrincipal(by), id, ok, reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "decision %d (%s %s by %s) is now %s\n", d.ID, d.Subject, d.Decision, d.By, strings.ReplaceAll(d.Status, "_", " "))
		return nil
	}
	if len(pos) != 1 {
		return usagef("give one IMO number or MMSI")
	}
	req := app.DecideRequest{Decision: decision, Reason: reason, OverrideReason: override}
	if req.Vessel, err = app.ParseVessel(pos[0]); err != nil {
		return usagef("%v", err)
	}
	switch decision {
	case risk.Decline, risk.Refer, risk.Accept:
	default:
		return usagef("--decision must be decline, refer or accept")
	}
	if strings.TrimSpace(reason) == "" {
		return usagef("--reason TEXT is required: the reason for the decision, as it should be filed")
	}
	if asOf != "" {
		if req.AsOf, err = app.ParseAsOf(asOf); err != nil {
			return usagef("%v", err)
		}
	}
	s, st, err := sf.service(app.Config{})
	if err != nil {
		return err
	}
	defer closeService(s, st)
	res, err := s.Decide(context.Background(), localPrincipal(by), req)
	if err != nil {
		return err
	}
	d := res.Decision
	fmt.Fprintf(e.stdout, "decision %d recorded: %s %s by %s (profile: %s, score %g)", d.ID, d.Subject, d.Decision, d.By, res.Recommendation, res.Score)
	if d.Override {
		fmt.Fprint(e.stdout, "; an override")
	}
	fmt.Fprintf(e.stdout, "; %s (audit record #%d)\n", strings.ReplaceAll(d.Status, "_", " "), d.AuditSeq)
	for _, w := range res.Warnings {
		fmt.Fprintln(e.stderr, "note: "+w)
	}
	return nil
}

func runAudit(e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.stderr, `Usage: tidewatch audit verify|show|prune [--tenant T] [flags]

  verify [--head SEQ:HASH] [--json]  check the hash chain: any edited, deleted or
                                     reordered record is reported (exit 1); records
                                     cut from the end are caught by the anchor the
                                     store keeps with every append
  show [--subject S] [--json]        list records (S: imo:N, mmsi:N, or a bare
                                     IMO number or MMSI)
  prune [--retention 10y]            delete records older than the retention period
                                     (default 10 years, at least 5), keeping the
                                     chain verifiable

Each tenant has its own log: --tenant T (default local) names whose
(tidewatch keys tenant list shows the tenants).
`)
		if len(args) == 0 {
			return usagef("give a subcommand")
		}
		return nil
	}
	var sf storeFlags
	var head, subject, retention, action, tenant string
	var asJSON bool
	fs := newFlagSet(e, "audit "+args[0], "tidewatch audit "+args[0], "See 'tidewatch audit --help'.")
	sf.register(fs, args[0] == "prune")
	fs.BoolVar(&asJSON, "json", false, "JSON output")
	fs.StringVar(&tenant, "tenant", app.LocalTenant, "whose audit log (each tenant has its own)")
	switch args[0] {
	case "verify":
		fs.StringVar(&head, "head", "", "SEQ:HASH of a head kept elsewhere (a report prints its record's), to check it is still there")
	case "show":
		fs.StringVar(&subject, "subject", "", "only records about this subject (imo:N, mmsi:N, or a bare IMO number or MMSI)")
		fs.StringVar(&action, "action", "", "only records of this action (screen, profile, report, decision, ...)")
	case "prune":
		fs.StringVar(&retention, "retention", "10y", "keep records this long (calendar years or months: 10y, 7y, 120m; at least 5y)")
	default:
		return usagef("unknown audit subcommand %q (verify, show, prune)", args[0])
	}
	if _, err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	var span app.Span
	if args[0] == "prune" {
		var err error
		if span, err = app.ParseSpan(retention); err != nil {
			return usagef("--retention %v", err)
		}
	}
	s, st, err := sf.service(app.Config{})
	if err != nil {
		return err
	}
	defer closeService(s, st)
	ctx := context.Background()
	p, err := tenantPrincipal(ctx, s, tenant, currentUser())
	if err != nil {
		return err
	}
	switch args[0] {
	case "verify":
		rep, err := s.VerifyAudit(ctx, p, head)
		if err != nil {
			return err
		}
		if asJSON {
			json.NewEncoder(e.stdout).Encode(rep)
		} else {
			fmt.Fprintf(e.stdout, "%d records, %d to %d; head %d:%s\n", rep.Records, rep.First, rep.Head, rep.Head, rep.HeadHash)
			if rep.Anchor.Seq > 0 {
				fmt.Fprintf(e.stdout, "anchor: the store recorded the log's end at record %d (%d records); ", rep.Anchor.Seq, rep.Anchor.Records)
				if rep.OK() {
					fmt.Fprintln(e.stdout, "the log ends there, so nothing was cut from its end")
				} else {
					fmt.Fprintln(e.stdout, "see the problems below")
				}
			}
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
		recs, err := s.AuditRecords(ctx, p, app.AuditFilter{Subject: subject, Action: action})
		if err != nil {
			return err
		}
		enc := json.NewEncoder(e.stdout)
		for _, r := range recs {
			if asJSON {
				if err := enc.Encode(r); err != nil {
					return err
				}
				continue
			}
			if _, err := fmt.Fprintf(e.stdout, "#%d %s %-9s %-18s %s %s\n", r.Seq, r.Time.Format(time.RFC3339), r.Action, termtext.Safe(r.Subject), termtext.Safe(r.Actor), termtext.Safe(string(r.Data))); err != nil {
				return err
			}
		}
		return nil
	default:
		n, cut, err := s.PruneAudit(ctx, p, span)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d records made before %s deleted (retention %s); the chain still verifies from the prune record\n", n, cut.Format("2006-01-02"), span)
		return nil
	}
}

// itoa formats an int64.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
