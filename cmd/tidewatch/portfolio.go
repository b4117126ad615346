package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/termtext"
	"github.com/tidewatch/tidewatch/store"
)

var portfolioCommands = []command{
	{"list", "the tenant's portfolios", runPortfolioList},
	{"create", "create a portfolio", runPortfolioCreate},
	{"import", "add vessels from a CSV or XLSX file (any of id, imo, mmsi, name, flag, owner, owner_imo, manager, ...)", runPortfolioImport},
	{"export", "write a portfolio's vessels with their status as CSV or XLSX", runPortfolioExport},
	{"fleet", "the fleet table: vessels ranked by risk, with what changed since the last look", runPortfolioFleet},
	{"seen", "mark the portfolio seen: what changed starts again from now", runPortfolioSeen},
}

func runPortfolio(e *env, args []string) error {
	return group{name: "portfolio", commands: portfolioCommands, intro: `Usage: tidewatch portfolio COMMAND [flags] [arguments]

A portfolio is a tenant's ships (IMO and/or MMSI, name, flag) with the
companies behind them (registered owner, manager, operator, charterer, by
name and IMO company number), their cover period and the tenant's own
reference. Each vessel keeps its status (recommendation, score, list hits);
the server's monitor raises an alert when a list version designates a
vessel or a party, when the band changes, or when a new high-severity
event touches a vessel ('tidewatch alerts'; docs/webhooks.md).

Commands:
`}.run(e, args)
}

// tenantFlags are --store (written) and --tenant, for commands acting for
// a tenant from the command line.
type tenantFlags struct {
	sf     storeFlags
	tenant string
	by     string
}

func (t *tenantFlags) register(fs *flag.FlagSet, write bool) {
	t.sf.register(fs, write)
	fs.StringVar(&t.tenant, "tenant", app.LocalTenant, "the tenant acted for")
	fs.StringVar(&t.by, "by", currentUser(), "who acts (audit log)")
}

func (t *tenantFlags) open() (*app.Service, func(), app.Principal, error) {
	s, st, err := t.sf.service(app.Config{})
	if err != nil {
		return nil, nil, app.Principal{}, err
	}
	p, err := tenantPrincipal(context.Background(), s, t.tenant, t.by)
	if err != nil {
		closeService(s, st)
		return nil, nil, p, err
	}
	return s, func() { closeService(s, st) }, p, nil
}

// opener opens the service a command acts through and says whom it acts
// as (tenantFlags: --tenant and --by; ledgerFlags: the local operator).
type opener interface {
	open() (*app.Service, func(), app.Principal, error)
}

// parseOpen parses a command's flags, wanting n arguments besides them
// (any number when n < 0; need says what to give otherwise), and then
// opens its service: the arguments, the service, the function that
// closes it and whom the command acts as.
func parseOpen(o opener, fs *flag.FlagSet, args []string, n int, need string) ([]string, *app.Service, func(), app.Principal, error) {
	var pos []string
	var err error
	if n < 0 {
		pos, err = parseFlags(fs, args)
	} else {
		pos, err = parseArgs(fs, args, n, need)
	}
	if err != nil {
		return nil, nil, nil, app.Principal{}, err
	}
	s, done, p, err := o.open()
	return pos, s, done, p, err
}

func runPortfolioList(e *env, args []string) error {
	var tf tenantFlags
	fs := newFlagSet(e, "portfolio list", "tidewatch portfolio list [--tenant T]", "Lists the tenant's portfolios.")
	tf.register(fs, false)
	_, s, done, p, err := parseOpen(&tf, fs, args, -1, "")
	if err != nil {
		return err
	}
	defer done()
	ps, err := s.Portfolios(context.Background(), p)
	if err != nil {
		return err
	}
	for _, pf := range ps {
		fmt.Fprintf(e.stdout, "%-24s %s (created %s)\n", pf.ID, termtext.Safe(pf.Name), pf.Created.Format("2006-01-02"))
	}
	return nil
}

func runPortfolioCreate(e *env, args []string) error {
	var tf tenantFlags
	var name string
	fs := newFlagSet(e, "portfolio create", "tidewatch portfolio create ID [--name NAME] [--tenant T]", "Creates a portfolio (id: lower-case letters, digits, hyphens).")
	tf.register(fs, true)
	fs.StringVar(&name, "name", "", "its display name")
	pos, s, done, p, err := parseOpen(&tf, fs, args, 1, "give the portfolio's id")
	if err != nil {
		return err
	}
	defer done()
	pf, err := s.CreatePortfolio(context.Background(), p, pos[0], name)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "portfolio %s created for tenant %s\n", pf.ID, pf.Tenant)
	return nil
}

func runPortfolioImport(e *env, args []string) error {
	var tf tenantFlags
	fs := newFlagSet(e, "portfolio import", "tidewatch portfolio import ID FILE [--tenant T]", `
Adds the vessels of a CSV (comma or semicolon) or XLSX file to a portfolio,
replacing those with the same reference. Columns, any subset in any order
(usual spellings understood): id (your reference), imo, mmsi, name, flag,
owner, owner_imo, manager, manager_imo, operator, operator_imo, charterer,
charterer_imo, cover_from, cover_to (YYYY-MM-DD). A row with an IMO number
or MMSI that cannot be right, or no identifier, is reported on its row and
left out; the rest are added. Each vessel gets its status at once.`)
	tf.register(fs, true)
	pos, err := parseArgs(fs, args, 2, "give the portfolio's id and a file")
	if err != nil {
		return err
	}
	f, err := os.Open(pos[1])
	if err != nil {
		return err
	}
	defer f.Close()
	es, rows, errs, err := app.ReadPortfolio(f, pos[1], false)
	if err != nil {
		return usagef("%s: %v", pos[1], err)
	}
	s, done, p, err := tf.open()
	if err != nil {
		return err
	}
	defer done()
	res, err := s.AddVessels(context.Background(), p, pos[0], es, rows)
	if err != nil {
		return err
	}
	res.Errors = append(errs, res.Errors...)
	for _, x := range res.Errors {
		fmt.Fprintf(e.stderr, "row %d %s: %s\n", x.Row, termtext.Safe(x.ID), termtext.Safe(x.Error))
	}
	fmt.Fprintf(e.stdout, "%s added, %d updated, %s refused\n", counted(res.Added, "vessel"), res.Updated, counted(len(res.Errors), "row"))
	if len(res.Errors) > 0 {
		return fmt.Errorf("%d rows could not be added (above)", len(res.Errors))
	}
	return nil
}

func runPortfolioExport(e *env, args []string) error {
	var tf tenantFlags
	var out string
	fs := newFlagSet(e, "portfolio export", "tidewatch portfolio export ID [--out FILE.csv|FILE.xlsx] [--tenant T]", "Writes a portfolio's vessels, parties, cover and status.")
	tf.register(fs, false)
	fs.StringVar(&out, "out", "", "write here (default stdout, CSV); .xlsx writes Excel")
	pos, s, done, p, err := parseOpen(&tf, fs, args, 1, "give the portfolio's id")
	if err != nil {
		return err
	}
	defer done()
	format := "csv"
	if strings.HasSuffix(strings.ToLower(out), ".xlsx") {
		format = "xlsx"
	}
	f, err := s.ExportPortfolio(context.Background(), p, pos[0], format)
	if err != nil {
		return err
	}
	w, finish, err := createOutput(e, out)
	if err != nil {
		return err
	}
	if _, err := w.Write(f.Data); err != nil {
		return err
	}
	return finish()
}

func runPortfolioFleet(e *env, args []string) error {
	var tf tenantFlags
	var asJSON bool
	fs := newFlagSet(e, "portfolio fleet", "tidewatch portfolio fleet ID [--json] [--tenant T]", "Prints the fleet table: vessels ranked by risk, with what changed since the last look ('portfolio seen') and open alerts.")
	tf.register(fs, false)
	fs.BoolVar(&asJSON, "json", false, "JSON output")
	pos, s, done, p, err := parseOpen(&tf, fs, args, 1, "give the portfolio's id")
	if err != nil {
		return err
	}
	defer done()
	rows, err := s.Fleet(context.Background(), p, pos[0])
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(rows)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REF\tIMO\tMMSI\tNAME\tRECOMMENDATION\tSCORE\tALERTS\tCHANGED SINCE LAST LOOK")
	for _, r := range rows {
		rec, score := "-", "-"
		if r.Status != nil {
			rec, score = strings.ReplaceAll(r.Status.Recommendation, "_", " "), strconv.FormatFloat(r.Status.Score, 'f', -1, 64)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", termtext.Safe(r.ID), orDash(numOr(r.IMO, 7)), orDash(numOr(r.MMSI, 9)), termtext.Safe(r.Name), rec, score,
			r.OpenAlerts, termtext.Safe(strings.Join(r.Changes, "; ")))
	}
	return tw.Flush()
}

func numOr(n uint32, width int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%0*d", width, n)
}

func runPortfolioSeen(e *env, args []string) error {
	var tf tenantFlags
	fs := newFlagSet(e, "portfolio seen", "tidewatch portfolio seen ID [--tenant T]", "Marks the portfolio seen: the fleet table's \"what changed\" starts again from now.")
	tf.register(fs, true)
	pos, s, done, p, err := parseOpen(&tf, fs, args, 1, "give the portfolio's id")
	if err != nil {
		return err
	}
	defer done()
	return s.MarkSeen(context.Background(), p, pos[0])
}

var alertsCommands = []command{
	{"list", "the alerts inbox, newest first", runAlertsList},
	{"ack", "acknowledge an alert", runAlertsAck},
	{"close", "close an alert with a reason (--suppress: a false positive)", runAlertsClose},
	{"check", "screen list changes and new events against the portfolios now (the server does this continuously)", runAlertsCheck},
}

func runAlerts(e *env, args []string) error {
	return group{name: "alerts", commands: alertsCommands, intro: `Usage: tidewatch alerts COMMAND [flags] [arguments]

Alerts say what changed on a portfolio vessel: a list hit added or
removed, a band change, a new high-severity event (docs/webhooks.md).

Commands:
`}.run(e, args)
}

func runAlertsList(e *env, args []string) error {
	var tf tenantFlags
	var state string
	var asJSON bool
	fs := newFlagSet(e, "alerts list", "tidewatch alerts list [--state open,acknowledged] [--json] [--tenant T]", "Lists alerts, newest first.")
	tf.register(fs, false)
	fs.StringVar(&state, "state", "open,acknowledged", "states to show (open, acknowledged, closed; comma-separated; empty: all)")
	fs.BoolVar(&asJSON, "json", false, "JSON output")
	_, s, done, p, err := parseOpen(&tf, fs, args, -1, "")
	if err != nil {
		return err
	}
	defer done()
	var f store.AlertFilter
	if state != "" {
		f.States = strings.Split(state, ",")
	}
	as, err := s.Alerts(context.Background(), p, f)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(as)
	}
	for _, a := range as {
		fmt.Fprintf(e.stdout, "#%d v%d %-13s %-6s %-16s %s\n", a.ID, a.Version, a.State, a.Severity, a.Kind, termtext.Safe(a.Title))
	}
	fmt.Fprintf(e.stderr, "%d alerts\n", len(as))
	return nil
}

func alertArg(pos []string) (int64, error) {
	if len(pos) != 1 {
		return 0, usagef("give one alert id")
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(pos[0], "#"), 10, 64)
	if err != nil || id < 1 {
		return 0, usagef("alert id %q: give the alert's number", app.ClipID(pos[0]))
	}
	return id, nil
}

func runAlertsAck(e *env, args []string) error {
	var tf tenantFlags
	fs := newFlagSet(e, "alerts ack", "tidewatch alerts ack ID [--tenant T]", "Acknowledges an alert (in the audit log).")
	tf.register(fs, true)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	id, err := alertArg(pos)
	if err != nil {
		return err
	}
	s, done, p, err := tf.open()
	if err != nil {
		return err
	}
	defer done()
	a, err := s.AcknowledgeAlert(context.Background(), p, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "alert #%d acknowledged by %s\n", a.ID, a.By)
	return nil
}

func runAlertsClose(e *env, args []string) error {
	var tf tenantFlags
	var reason string
	var suppress bool
	fs := newFlagSet(e, "alerts close", "tidewatch alerts close ID --reason TEXT [--suppress] [--tenant T]", `
Closes an alert with a reason (in the audit log). --suppress marks a false
positive: the same cause on the same vessel stays quiet from now on.`)
	tf.register(fs, true)
	fs.StringVar(&reason, "reason", "", "why it is closed (required)")
	fs.BoolVar(&suppress, "suppress", false, "a false positive: suppress this cause for this vessel")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	id, err := alertArg(pos)
	if err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" {
		return usagef("--reason TEXT is required")
	}
	s, done, p, err := tf.open()
	if err != nil {
		return err
	}
	defer done()
	a, err := s.CloseAlert(context.Background(), p, id, reason, suppress)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "alert #%d closed by %s\n", a.ID, a.By)
	return nil
}

func runAlertsCheck(e *env, args []string) error {
	var sf storeFlags
	fs := newFlagSet(e, "alerts check", "tidewatch alerts check [--store FILE]", `
Runs the monitor once: list versions in force that changed since the last
pass are screened against every tenant's portfolios, and events stored
since are checked for high-severity ones on portfolio vessels. Alerts are
queued for webhooks (the server delivers them).`)
	sf.register(fs, true)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	s, st, err := sf.service(app.Config{})
	if err != nil {
		return err
	}
	defer closeService(s, st)
	ctx := context.Background()
	l, err := s.ScreenListChanges(ctx)
	if err != nil {
		return err
	}
	ev, err := s.ScreenNewEvents(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "lists: %d changed records screened against %d vessels, %d alerts; events: %d high-severity on portfolio vessels, %d alerts\n",
		l.Changed, l.Vessels, l.Alerts, ev.Changed, ev.Alerts)
	return nil
}

// counted is "1 vessel" or "3 vessels".
func counted(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
