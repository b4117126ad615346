package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/termtext"
	"github.com/tidewatch/tidewatch/liststore"
	"github.com/tidewatch/tidewatch/listupdate"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/snapshot"
)

var listsCommands = []command{
	{"show", "per list version: publication date, SHA-256 and entities read by type", runListsShow},
	{"entities", "print the entities of the lists, filtered by type, programme or list", runListsEntities},
	{"import", "store list files from disk as new versions", runListsImport},
	{"update", "download the lists (UN, OFAC from their publishers; UK, EU from GitHub mirrors) and store new versions", runListsUpdate},
	{"versions", "the stored versions of each list and the import log", runListsVersions},
	{"diff", "what was added, removed and changed between two versions of a list", runListsDiff},
}

func runLists(e *env, args []string) error {
	return group{name: "lists", commands: listsCommands, intro: `Usage: tidewatch lists COMMAND [flags] [arguments]

Sanctions lists are read from the publishers' own files: the UN Security
Council consolidated XML, OFAC's SDN and consolidated (non-SDN) lists as
legacy CSV sets or XML, the UK list (derived layout), the EU DPRK regulation
annexes and FollowTheMoney JSON (OpenSanctions). Formats are detected from
content. Each import is a version with its SHA-256 and publication date.

Commands:
`, outro: "\nRun 'tidewatch lists COMMAND -h' for its flags.\n"}.run(e, args)
}

// listSource says where a command reads lists from: files (PATHs), the
// embedded snapshot (--embedded), or the store's versions in force.
type listSource struct {
	store    storeFlags
	embedded bool
}

func (s *listSource) register(fs *flag.FlagSet) {
	s.store.register(fs, false)
	fs.BoolVar(&s.embedded, "embedded", false, "read the list snapshot built into the binary")
}

// loaded is a set of list versions and where they came from.
type loaded struct {
	from     string
	datasets []*sanctions.Dataset
	skipped  []sanctions.Problem
	failed   []error
}

// load reads lists from paths if given, else from the embedded snapshot if
// asked, else the store's versions in force (the store must exist).
func (s *listSource) load(e *env, paths []string) (*loaded, error) {
	switch {
	case len(paths) > 0:
		files, err := listFiles(e, paths)
		if err != nil {
			return nil, err
		}
		res := sanctions.LoadFiles(files)
		return &loaded{from: strings.Join(paths, " "), datasets: res.Datasets, skipped: res.Skipped, failed: res.Failed}, nil
	case s.embedded:
		return loadEmbedded(), nil
	}
	svc, st, err := s.store.service(app.Config{})
	if err != nil {
		return nil, fmt.Errorf("%w; or read files (PATH...) or the built-in snapshot (--embedded)", err)
	}
	defer closeService(svc, st)
	ds, err := svc.InForce(context.Background(), localPrincipal(currentUser()), time.Now())
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		fmt.Fprintf(e.stderr, "note: the store %s holds no list version; import some with 'tidewatch lists import'\n", s.store.path)
	}
	return &loaded{from: "store " + s.store.path, datasets: ds}, nil
}

func loadEmbedded() *loaded {
	res := sanctions.LoadFiles(snapshot.Files())
	return &loaded{from: "embedded snapshot (taken " + snapshot.Taken.Format("2006-01-02") + ")", datasets: res.Datasets, skipped: res.Skipped, failed: res.Failed}
}

// typeCounts counts entities by type.
type typeCounts map[sanctions.EntityType]int

func countTypes(es []*sanctions.Entity, keep func(*sanctions.Entity) bool) typeCounts {
	c := typeCounts{}
	for _, en := range es {
		if keep == nil || keep(en) {
			c[en.Type]++
		}
	}
	return c
}

func runListsShow(e *env, args []string) error {
	var src listSource
	var asJSON, verbose bool
	fs := newFlagSet(e, "lists show", "tidewatch lists show [--embedded] [--store FILE] [--json] [-v] [PATH...]", `
Reads list files or directories (PATHs), or the store's versions in force,
or the embedded snapshot, and prints for each list version: its id,
publication date, SHA-256 and how many vessels, organizations, persons and
aircraft it read; then the same counts for DPRK-programme designations,
and the merged total (one entity per designation across lists, joined on
IMO numbers, company IMO numbers and UN references, never on names).

Unreadable rows are skipped and counted under PROBLEMS; -v lists them and
each file with its full SHA-256.

Examples:
  tidewatch lists show --embedded
  tidewatch lists show ../shared/data/lists`)
	src.register(fs)
	fs.BoolVar(&asJSON, "json", false, "print the versions as JSON")
	fs.BoolVar(&verbose, "v", false, "also list files, hashes and problems")
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	l, err := src.load(e, paths)
	if err != nil {
		return err
	}
	if asJSON {
		var vs []sanctions.Version
		for _, d := range l.datasets {
			vs = append(vs, d.Version)
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"from": l.from, "versions": vs, "skipped": l.skipped, "failed": errStrings(l.failed)})
	}
	printShow(e.stdout, l, verbose)
	if len(l.datasets) == 0 {
		return noListsError(l)
	}
	return nil
}

// noListsError says why nothing was read: no files at all, only files
// that are not lists, or files that failed (printed above).
func noListsError(l *loaded) error {
	switch {
	case len(l.failed) > 0:
		return fmt.Errorf("no list could be read from %s: %d file(s) failed (see the lines above)", l.from, len(l.failed))
	case len(l.skipped) > 0:
		return fmt.Errorf("no list in %s: %d file(s) skipped, none is a list file this version reads (UN XML, OFAC SDN CSV or XML, UK, EU, FollowTheMoney JSON)", l.from, len(l.skipped))
	}
	return fmt.Errorf("no list files in %s (an empty folder?): give list files or a folder of them, or --embedded, or --store", l.from)
}

func errStrings(errs []error) []string {
	var out []string
	for _, err := range errs {
		out = append(out, err.Error())
	}
	return out
}

func printShow(w io.Writer, l *loaded, verbose bool) {
	fmt.Fprintf(w, "Sanctions lists read from %s\n\n", l.from)
	if len(l.datasets) == 0 {
		printSkippedAndFailed(w, l)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LIST\tVERSION\tPUBLISHED\tSHA-256\tVESSELS\tORGS\tPERSONS\tAIRCRAFT\tTOTAL\tPROBLEMS")
	for _, d := range l.datasets {
		v := d.Version
		pub := v.Published
		if len(pub) > 10 {
			pub = pub[:10]
		}
		if pub == "" {
			pub = "unknown"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", v.List, v.ID, pub, v.SHA256[:12],
			v.Counts[sanctions.Vessel], v.Counts[sanctions.Organization], v.Counts[sanctions.Person], v.Counts[sanctions.Aircraft], v.Total, v.Problems.Count)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nDPRK programmes (UN DPRK, OFAC DPRK*, UK DPR, EU EU-PRK):\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LIST\tVERSION\tVESSELS\tWITH SHIP IMO\tORGS\tWITH COMPANY IMO\tPERSONS")
	for _, d := range l.datasets {
		var vessels, withIMO, orgs, withCo, persons int
		for _, en := range d.Entities {
			if !en.IsDPRK() {
				continue
			}
			switch en.Type {
			case sanctions.Vessel:
				vessels++
				if en.ShipIMO() != "" {
					withIMO++
				}
			case sanctions.Organization:
				orgs++
				if len(en.IDs(sanctions.SchemeCompanyIMO)) > 0 {
					withCo++
				}
			case sanctions.Person:
				persons++
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\n", d.Version.List, d.Version.ID, vessels, withIMO, orgs, withCo, persons)
	}
	tw.Flush()

	latest := sanctions.Latest(l.datasets)
	merged := sanctions.Merge(latest...)
	multi := 0
	for _, m := range merged {
		if distinctLists(m) > 1 {
			multi++
		}
	}
	c := countTypes(merged, nil)
	dc := countTypes(merged, (*sanctions.Entity).IsDPRK)
	var ids []string
	for _, d := range latest {
		ids = append(ids, d.Version.ID)
	}
	fmt.Fprintf(w, "\nMerged (newest version of each list: %s):\n", strings.Join(ids, ", "))
	fmt.Fprintf(w, "  %d entities: %d vessels, %d organizations, %d persons, %d aircraft\n", len(merged), c[sanctions.Vessel], c[sanctions.Organization], c[sanctions.Person], c[sanctions.Aircraft])
	fmt.Fprintf(w, "  DPRK: %d vessels, %d organizations, %d persons\n", dc[sanctions.Vessel], dc[sanctions.Organization], dc[sanctions.Person])
	fmt.Fprintf(w, "  %d designations appear on more than one list\n", multi)

	for _, d := range l.datasets {
		v := d.Version
		if v.Problems.Count > 0 {
			fmt.Fprintf(w, "\n%s: %d problem(s), rows or values skipped:", v.ID, v.Problems.Count)
			keys := make([]string, 0, len(v.Problems.ByReason))
			for k := range v.Problems.ByReason {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(w, " %s %d;", k, v.Problems.ByReason[k])
			}
			fmt.Fprintln(w)
			if verbose {
				for _, p := range v.Problems.Samples {
					fmt.Fprintf(w, "  %s\n", termtext.Safe(fmt.Sprint(p)))
				}
			}
		}
		if verbose {
			fmt.Fprintf(w, "\n%s (%s), retrieved %s, published %s (%s)\n", v.ID, sanctions.ListNames[v.List], v.Retrieved.Format(time.RFC3339), orDash(v.Published), orDash(v.PublishedFrom))
			for _, f := range v.Files {
				fmt.Fprintf(w, "  %-18s %-50s %10d bytes  sha256 %s\n", f.Role, f.Name, f.Bytes, f.SHA256)
			}
		}
	}
	printSkippedAndFailed(w, l)
}

func printSkippedAndFailed(w io.Writer, l *loaded) {
	for _, p := range l.skipped {
		fmt.Fprintf(w, "skipped %s\n", p)
	}
	for _, err := range l.failed {
		fmt.Fprintf(w, "FAILED  %v\n", err)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func distinctLists(en *sanctions.Entity) int {
	seen := map[string]bool{}
	for _, l := range en.Listings {
		seen[l.List] = true
	}
	return len(seen)
}

func runListsEntities(e *env, args []string) error {
	var src listSource
	var asJSON, unmerged bool
	var typ, programme, list, imo string
	fs := newFlagSet(e, "lists entities", "tidewatch lists entities [--type T] [--programme P] [--list L] [--imo N] [--json] [PATH...]", `
Prints the entities of the newest version of each list, merged across lists
(one line per designation, with every listing), or per list with --unmerged.

Examples:
  tidewatch lists entities --embedded --type vessel --programme DPRK
  tidewatch lists entities --embedded --imo 8606173 --json`)
	src.register(fs)
	fs.StringVar(&typ, "type", "", "only this type: vessel, organization, person or aircraft")
	fs.StringVar(&programme, "programme", "", "only entities under a programme containing this text (DPRK covers every list's DPRK regime)")
	fs.StringVar(&list, "list", "", "only entities listed by this list: un, ofac-sdn, ofac-cons, uk, eu, opensanctions")
	fs.StringVar(&imo, "imo", "", "only the entity with this ship or company IMO number")
	fs.BoolVar(&asJSON, "json", false, "one JSON object per entity")
	fs.BoolVar(&unmerged, "unmerged", false, "one entity per listing, as each list has it")
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if typ != "" && !validType(typ) {
		return usagef("--type %q: want vessel, organization, person or aircraft", typ)
	}
	l, err := src.load(e, paths)
	if err != nil {
		return err
	}
	latest := sanctions.Latest(l.datasets)
	var es []*sanctions.Entity
	if unmerged {
		for _, d := range latest {
			es = append(es, d.Entities...)
		}
	} else {
		es = sanctions.Merge(latest...)
	}
	imo = strings.TrimSpace(strings.TrimPrefix(strings.ToUpper(imo), "IMO"))
	w := e.stdout
	enc := json.NewEncoder(w)
	n := 0
	for _, en := range es {
		if typ != "" && string(en.Type) != typ {
			continue
		}
		if programme != "" && !(strings.EqualFold(programme, "DPRK") && en.IsDPRK()) && !en.HasProgramme(programme) {
			continue
		}
		if list != "" && !listedBy(en, list) {
			continue
		}
		if imo != "" && !hasIMO(en, imo) {
			continue
		}
		n++
		if asJSON {
			if err := enc.Encode(en); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(w, entityLine(en))
	}
	if !asJSON {
		fmt.Fprintf(e.stderr, "%d entities\n", n)
	}
	return nil
}

func validType(t string) bool {
	for _, x := range sanctions.EntityTypes {
		if string(x) == t {
			return true
		}
	}
	return false
}

func listedBy(en *sanctions.Entity, list string) bool {
	for _, l := range en.Listings {
		if l.List == list {
			return true
		}
	}
	return false
}

func hasIMO(en *sanctions.Entity, imo string) bool {
	for _, s := range []sanctions.Scheme{sanctions.SchemeShipIMO, sanctions.SchemeCompanyIMO} {
		for _, v := range en.IDs(s) {
			if v == imo {
				return true
			}
		}
	}
	return false
}

// entityLine is one readable line: type, name, key identifiers, listings.
func entityLine(en *sanctions.Entity) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-12s %-40s", en.Type, en.Name)
	for _, s := range []sanctions.Scheme{sanctions.SchemeShipIMO, sanctions.SchemeCompanyIMO, sanctions.SchemeMMSI, sanctions.SchemeCallSign} {
		for _, v := range en.IDs(s) {
			switch s {
			case sanctions.SchemeShipIMO:
				fmt.Fprintf(&b, " IMO%s", v)
			case sanctions.SchemeCompanyIMO:
				fmt.Fprintf(&b, " company-IMO%s", v)
			default:
				fmt.Fprintf(&b, " %s:%s", s, v)
			}
		}
	}
	if en.Flag != "" {
		fmt.Fprintf(&b, " flag:%s", en.Flag)
	}
	var refs []string
	for _, l := range en.Listings {
		refs = append(refs, l.Ref())
	}
	fmt.Fprintf(&b, "  [%s]", strings.Join(refs, " "))
	var former []string
	for _, n := range en.Names {
		if n.Kind == sanctions.NameFormer {
			former = append(former, n.Value)
		}
	}
	if len(former) > 0 {
		fmt.Fprintf(&b, " former: %s", strings.Join(former, "; "))
	}
	return termtext.Safe(b.String())
}

func runListsImport(e *env, args []string) error {
	var sf storeFlags
	var minRatio float64
	var embedded bool
	var by string
	fs := newFlagSet(e, "lists import", "tidewatch lists import [--store FILE] [--embedded] PATH...", `
Stores list files (or the embedded snapshot with --embedded) in the store
as versions, with their raw files: every command and the server read list
versions from there. Each version is in force from its publication date
until a newer one of its list; an older one is kept as history (for
point-in-time profiles and diffs). A file that does not parse, or a new
version with far fewer entities than the newest one held, is refused and
nothing changes. Every attempt is logged ('tidewatch lists versions').

Examples:
  tidewatch lists import ../shared/data/lists
  tidewatch lists import --embedded`)
	sf.register(fs, true)
	fs.BoolVar(&embedded, "embedded", false, "import the snapshot built into the binary")
	fs.Float64Var(&minRatio, "min-ratio", app.DefaultMinRatio, "refuse a new version with fewer than this fraction of the newest version's entities (0 disables)")
	fs.StringVar(&by, "by", currentUser(), "who imports (audit log)")
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	req := app.ImportRequest{MinRatio: minRatio, KeepFiles: !embedded}
	if minRatio == 0 {
		req.MinRatio = -1
	}
	switch {
	case embedded:
		req.Files, req.Source = snapshot.Files(), "embedded snapshot "+snapshot.Taken.Format("2006-01-02")
	case len(paths) == 0:
		return usagef("give files or directories to import, or --embedded")
	default:
		if req.Files, err = listFiles(e, paths); err != nil {
			return err
		}
		req.Source = strings.Join(paths, " ")
	}
	s, st, err := sf.service(app.Config{})
	if err != nil {
		return err
	}
	defer closeService(s, st)
	res, err := s.ImportLists(context.Background(), localPrincipal(by), req)
	for _, p := range res.Skipped {
		fmt.Fprintf(e.stderr, "skipped %s\n", p)
	}
	if err != nil {
		return err
	}
	printImports(e.stdout, res)
	if n := res.Failed(); n > 0 {
		return fmt.Errorf("%d of %d list versions were refused; the versions held are kept", n, len(res.Versions))
	}
	return nil
}

func printImports(w io.Writer, res app.ImportResult) {
	for _, v := range res.Versions {
		id := ""
		n := 0
		if v.Version != nil {
			id, n = v.Version.ID, v.Version.Total
		}
		switch v.Outcome {
		case app.OutcomeFailed:
			fmt.Fprintf(w, "%-10s FAILED  %s %s\n", v.List, id, v.Reason)
		default:
			prev := ""
			if v.Previous != "" {
				prev = " (replaces " + v.Previous + ")"
			}
			fmt.Fprintf(w, "%-10s %-9s %s  (%d entities)%s\n", v.List, v.Outcome, id, n, prev)
		}
	}
}

// sourceFlag collects repeated --source LIST=URL[,URL...] flags.
type sourceFlag []listupdate.Source

func (s *sourceFlag) String() string { return "" }
func (s *sourceFlag) Set(v string) error {
	list, urls, ok := strings.Cut(v, "=")
	if !ok || urls == "" {
		return fmt.Errorf("want LIST=URL[,URL...], got %q", v)
	}
	if _, known := sanctions.ListNames[list]; !known {
		return fmt.Errorf("unknown list %q", list)
	}
	*s = append(*s, listupdate.Source{List: list, URLs: strings.Split(urls, ",")})
	return nil
}

func runListsUpdate(e *env, args []string) error {
	var sf storeFlags
	var config, only, by string
	var timeout time.Duration
	var minRatio float64
	var sources sourceFlag
	fs := newFlagSet(e, "lists update", "tidewatch lists update [--store FILE] [--sources-file FILE] [--only LIST,...] [--source LIST=URL,...]", `
Downloads each list and stores it as a new version when its content
changed: UN and OFAC from their publishers, the UK and EU lists from GitHub
mirrors in the layouts Tidewatch parses (covyr/uk-sanctions-list,
OpenSanctions' EU transcription; docs/lists.md). A failed or truncated
download, a file that does not parse, or a version with far fewer entities
than the newest one held is refused: the versions held stay, and the reason
is printed and logged (see 'tidewatch lists versions').

Default addresses:
`+defaultSourcesText()+`
A --sources-file JSON file replaces addresses per list:
  {"sources": [{"list": "un", "urls": ["https://..."]}], "timeout": "5m",
   "max_bytes": 1073741824, "min_ratio": 0.5}`)
	sf.register(fs, true)
	fs.StringVar(&config, "sources-file", "", "JSON file with list addresses (see above)")
	fs.StringVar(&only, "only", "", "comma-separated lists to update (default: all configured)")
	fs.Var(&sources, "source", "LIST=URL[,URL...]: download LIST from these addresses (repeatable)")
	fs.DurationVar(&timeout, "timeout", 5*time.Minute, "time limit per list")
	fs.Float64Var(&minRatio, "min-ratio", app.DefaultMinRatio, "refuse a new version with fewer than this fraction of the newest version's entities (0 disables)")
	fs.StringVar(&by, "by", currentUser(), "who updates (audit log)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	srcs := listupdate.DefaultSources()
	maxBytes := int64(0)
	if config != "" {
		c, err := listupdate.ReadConfig(config)
		if err != nil {
			return err
		}
		srcs = overrideSources(srcs, c.Sources)
		maxBytes = c.MaxBytes
		if c.Timeout != "" {
			if timeout, err = time.ParseDuration(c.Timeout); err != nil {
				return fmt.Errorf("config %s: timeout: %w", config, err)
			}
		}
		if c.MinRatio != 0 {
			minRatio = max(c.MinRatio, 0)
		}
	}
	srcs = overrideSources(srcs, sources)
	if only != "" {
		want := map[string]bool{}
		for _, l := range strings.Split(only, ",") {
			if _, ok := sanctions.ListNames[l]; !ok {
				return usagef("--only: unknown list %q", l)
			}
			want[l] = true
		}
		var kept []listupdate.Source
		for _, s := range srcs {
			if want[s.List] {
				kept = append(kept, s)
			}
		}
		srcs = kept
	}
	if minRatio == 0 {
		minRatio = -1
	}
	s, st, err := sf.service(app.Config{})
	if err != nil {
		return err
	}
	defer closeService(s, st)
	d := &listupdate.Downloader{Client: &http.Client{}, Timeout: timeout, MaxBytes: maxBytes, Progress: e.stderr}
	var ls []app.ListSource
	for _, src := range srcs {
		ls = append(ls, d.Source(src))
	}
	res, err := s.UpdateLists(context.Background(), localPrincipal(by), ls, minRatio)
	if err != nil {
		return err
	}
	printImports(e.stdout, res)
	if n := res.Failed(); n > 0 {
		return fmt.Errorf("%d of %d lists failed to update; each keeps the versions it had", n, len(srcs))
	}
	return nil
}

func defaultSourcesText() string {
	var b strings.Builder
	for _, s := range listupdate.DefaultSources() {
		for i, u := range s.URLs {
			name := s.List
			if i > 0 {
				name = ""
			}
			fmt.Fprintf(&b, "  %-10s %s\n", name, u)
		}
	}
	return b.String()
}

func overrideSources(base, over []listupdate.Source) []listupdate.Source {
	out := append([]listupdate.Source(nil), base...)
	for _, o := range over {
		replaced := false
		for i := range out {
			if out[i].List == o.List {
				out[i] = o
				replaced = true
			}
		}
		if !replaced {
			out = append(out, o)
		}
	}
	return out
}

func runListsVersions(e *env, args []string) error {
	var sf storeFlags
	fs := newFlagSet(e, "lists versions", "tidewatch lists versions [--store FILE] [LIST...]", `
Lists the versions of each list held in the store, oldest first, marking
with * the one in force now, and the last import attempts (with the reason
for any failure).`)
	sf.register(fs, false)
	lists, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	s, st, err := sf.service(app.Config{})
	if err != nil {
		return err
	}
	defer closeService(s, st)
	ctx := context.Background()
	p := localPrincipal(currentUser())
	vs, err := s.ListVersions(ctx, p)
	if err != nil {
		return err
	}
	if len(lists) == 0 {
		seen := map[string]bool{}
		for _, v := range vs {
			if !seen[v.List] {
				seen[v.List] = true
				lists = append(lists, v.List)
			}
		}
	}
	if len(lists) == 0 {
		fmt.Fprintf(e.stdout, "no lists stored in %s\n", sf.shown())
		return nil
	}
	for _, l := range lists {
		fmt.Fprintf(e.stdout, "%s (%s)\n", l, sanctions.ListNames[l])
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		for _, v := range vs {
			if v.List != l {
				continue
			}
			mark := " "
			if v.InForce {
				mark = "*"
			}
			fmt.Fprintf(tw, " %s %s\tpublished %s\tretrieved %s\t%d entities\tsha256 %s\n", mark, v.ID, orDash(v.Published), v.Retrieved.Format(time.RFC3339), v.Total, v.SHA256)
		}
		tw.Flush()
		attempts, _ := s.ListImports(ctx, p, l)
		if n := len(attempts); n > 0 {
			fmt.Fprintln(e.stdout, "  last imports:")
			for _, a := range attempts[max(0, n-5):] {
				fmt.Fprintf(e.stdout, "   %s %-9s %s%s\n", a.Time.Format(time.RFC3339), a.Outcome, a.Version, prefixed(" - ", a.Reason))
			}
		}
	}
	return nil
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func runListsDiff(e *env, args []string) error {
	var sf storeFlags
	var asJSON, summary bool
	fs := newFlagSet(e, "lists diff", "tidewatch lists diff [--store FILE] [--json] [--summary] FROM TO", `
Compares two versions of one list. FROM and TO are each a file (or the
files of one OFAC/UK set in a directory), or a version id from 'lists
versions' or 'lists show' (stored or embedded). Entities are matched by
the list's own identifier (UN reference, OFAC ent_num, UK unique id, EU
record id), so a renamed vessel shows as changed with the fields that
differ.

Example:
  tidewatch lists diff ../shared/data/lists/un/un_consolidated_2025-04-19.xml \
                       ../shared/data/lists/un/un_consolidated_2026-02-27.xml`)
	sf.register(fs, false)
	fs.BoolVar(&asJSON, "json", false, "print the diff as JSON")
	fs.BoolVar(&summary, "summary", false, "print counts only")
	pos, err := parseArgs(fs, args, 2, "give two versions: FROM TO")
	if err != nil {
		return err
	}
	from, err := resolveVersion(&sf, pos[0])
	if err != nil {
		return err
	}
	to, err := resolveVersion(&sf, pos[1])
	if err != nil {
		return err
	}
	d, err := sanctions.Diff(from, to)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(diffJSON(d))
	}
	printDiff(e.stdout, d, summary)
	return nil
}

func resolveVersion(sf *storeFlags, arg string) (*sanctions.Dataset, error) {
	if _, err := os.Stat(arg); err == nil {
		files, err := liststore.FromPaths([]string{arg})
		if err != nil {
			return nil, err
		}
		res := sanctions.LoadFiles(files)
		if len(res.Failed) > 0 {
			return nil, res.Failed[0]
		}
		if len(res.Datasets) != 1 {
			return nil, fmt.Errorf("%s holds %d list versions; name one file or version id", arg, len(res.Datasets))
		}
		return res.Datasets[0], nil
	}
	if !strings.Contains(arg, "@") {
		return nil, fmt.Errorf("%s: no such file, and not a version id (LIST@DATE-HASH)", arg)
	}
	if s, st, err := sf.service(app.Config{}); err == nil {
		ds, err := s.Dataset(context.Background(), localPrincipal(currentUser()), arg)
		closeService(s, st)
		if err == nil {
			return ds, nil
		}
	}
	for _, d := range loadEmbedded().datasets {
		if d.Version.ID == arg {
			return d, nil
		}
	}
	return nil, fmt.Errorf("version %s: not in the store (%s) nor in the embedded snapshot", arg, sf.shown())
}

func printDiff(w io.Writer, d *sanctions.DiffResult, summary bool) {
	fmt.Fprintf(w, "%s -> %s\n", d.From.ID, d.To.ID)
	fmt.Fprintf(w, "added %d, removed %d, changed %d (entities %d -> %d)\n", len(d.Added), len(d.Removed), len(d.Changed), d.From.Total, d.To.Total)
	if summary {
		return
	}
	for _, en := range d.Added {
		fmt.Fprintf(w, "+ %-22s %-12s %s%s\n", en.Listings[0].Ref(), en.Type, termtext.Safe(en.Name), listedOn(en))
	}
	for _, en := range d.Removed {
		fmt.Fprintf(w, "- %-22s %-12s %s\n", en.Listings[0].Ref(), en.Type, termtext.Safe(en.Name))
	}
	for _, c := range d.Changed {
		name := c.New.Name
		if c.Old.Name != c.New.Name {
			name = c.Old.Name + " -> " + c.New.Name
		}
		fmt.Fprintf(w, "~ %-22s %-12s %s: %s\n", c.New.Listings[0].Ref(), c.New.Type, termtext.Safe(name), strings.Join(c.Fields, ", "))
	}
}

func listedOn(en *sanctions.Entity) string {
	if d := en.Listings[0].ListedOn; d != "" {
		return " (listed " + d + ")"
	}
	return ""
}

func diffJSON(d *sanctions.DiffResult) any {
	type change struct {
		ID     string            `json:"id"`
		Fields []string          `json:"fields"`
		Old    *sanctions.Entity `json:"old"`
		New    *sanctions.Entity `json:"new"`
	}
	out := struct {
		From    sanctions.Version   `json:"from"`
		To      sanctions.Version   `json:"to"`
		Added   []*sanctions.Entity `json:"added"`
		Removed []*sanctions.Entity `json:"removed"`
		Changed []change            `json:"changed"`
	}{From: d.From, To: d.To, Added: d.Added, Removed: d.Removed}
	for _, c := range d.Changed {
		out.Changed = append(out.Changed, change{ID: c.New.ID, Fields: c.Fields, Old: c.Old, New: c.New})
	}
	return out
}
