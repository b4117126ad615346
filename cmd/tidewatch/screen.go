package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/batchfile"
	"github.com/tidewatch/tidewatch/internal/termtext"
	"github.com/tidewatch/tidewatch/liststore"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/snapshot"
	"github.com/tidewatch/tidewatch/screen"
)

func runScreen(e *env, args []string) error {
	var sf storeFlags
	var lists, in, out, formatS, typ, imo, mmsi, callSign, flagName, by string
	var asJSON, embedded, noAudit bool
	var opt app.ScreenOptions
	fs := newFlagSet(e, "screen", "tidewatch screen [--type T] [--imo N] [--mmsi N] [--call-sign CS] [--flag F] [--json] [NAME]\n       tidewatch screen --in queries.csv [--out results.jsonl]", fmt.Sprintf(`
Screens a vessel, organization or person against the sanctions lists:
identifiers first (an exact IMO, MMSI or call sign is a match whatever the
name says; ship and company IMO numbers are kept apart), then names, with
numbers in vessel names treated as identity (JI SONG 6 is not JI SONG 8),
spacing folded, Korean romanisation variants folded (CHONMASAN = CHON MA
SAN, Cheon/Chon, Jong/Chong, Geum/Kum; only against listed names that may
be Korean: TARA is not the tanker TALA), vessel prefixes dropped (M/V,
MT), legal forms weighed low (Co., Ltd), word order ignored for people and
companies, single typos tolerated, aliases and former names searched. A
flag that differs from the listed one never lowers a vessel's score. An
IMO number or MMSI that cannot be right (a failed check digit) is reported
as a warning and left out, never used to lower a score. Every result says
why it matched.

A score of %.2f or more is a match (--threshold). Lists: the versions in
force in the store (the embedded snapshot is stored on first use); or
--lists DIR (files read directly) or --embedded (the snapshot built in).

Batch: --in a CSV (comma or semicolon) or XLSX file whose header names any
of id, type, name, imo, mmsi, call_sign, flag, in any order (spellings such
as "IMO number", "Vessel name" or "Call sign" are understood; type is
vessel, organization, person or any). --out FILE.csv or FILE.xlsx writes
one row per query for people: the input echoed, hit (yes, no, error), the
best match with its entity, score, IMO, lists, programmes and reason, the
other matches, warnings and the row's error. FILE.jsonl writes one JSON
object per query for programs:
  {"id":...,"row":2,"hit":true,"matches":[{"entity":...,"name":...,"score":...,
   "imo":"IMO8606173","sources":["ofac:23729","un:KPe.061"],"explanation":[...]}]}
A row that cannot be read or screened is reported on its row; the exit
status is 1 when any row failed.

Examples:
  tidewatch screen --imo 8606173
  tidewatch screen CHONMASAN
  tidewatch screen --type organization "Korea Achim Shipping Co" --json
  tidewatch screen --in portfolio.xlsx --out results.xlsx
  tidewatch screen --lists ../shared/data/lists --in portfolio.csv --out results.csv`, screen.DefaultThreshold))
	sf.register(fs, true)
	fs.StringVar(&lists, "lists", "", "screen against the list files in this directory instead of the store's")
	fs.BoolVar(&embedded, "embedded", false, "screen against the list snapshot built into the binary")
	fs.StringVar(&in, "in", "", "batch: CSV file of queries (- for stdin)")
	fs.StringVar(&out, "out", "", "batch: write the results here (default stdout); .csv, .xlsx, .jsonl or .json says the format")
	fs.StringVar(&formatS, "format", "", "batch: csv, xlsx, jsonl or json (default from --out's extension, else csv)")
	fs.StringVar(&typ, "type", "any", "vessel, organization, person or any")
	fs.StringVar(&imo, "imo", "", "IMO number, any written form (ship or company)")
	fs.StringVar(&mmsi, "mmsi", "", "MMSI (vessels)")
	fs.StringVar(&callSign, "call-sign", "", "call sign (vessels)")
	fs.StringVar(&flagName, "flag", "", "the flag the vessel flies now (shown, never lowers the score)")
	fs.BoolVar(&asJSON, "json", false, "print the results as JSON")
	fs.BoolVar(&opt.All, "all", false, "also show results below the threshold")
	fs.Float64Var(&opt.Threshold, "threshold", screen.DefaultThreshold, "score from which a result is a match")
	fs.IntVar(&opt.Limit, "limit", 10, "results per query (at most 100)")
	fs.BoolVar(&noAudit, "no-audit", false, "do not record the screening in the audit log")
	fs.StringVar(&by, "by", currentUser(), "who screens (audit log)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	opt.NoAudit = noAudit
	if opt.Threshold <= 0 || opt.Threshold > 1 {
		return usagef("--threshold %v: want a score in (0, 1]", opt.Threshold)
	}
	if opt.Limit < 1 || opt.Limit > 100 {
		return usagef("--limit must be 1 to 100")
	}
	if in == "" && len(pos) == 0 && imo == "" && mmsi == "" && callSign == "" {
		return usagef("give a NAME, --imo, --mmsi or --call-sign, or --in FILE for a batch")
	}
	if in != "" && len(pos) > 0 {
		return usagef("give either a NAME or --in, not both")
	}
	if lists != "" && embedded {
		return usagef("give --lists DIR or --embedded, not both")
	}
	q := screen.Query{Type: typ, Name: strings.Join(pos, " "), IMO: imo, MMSI: mmsi, CallSign: callSign, Flag: flagName}
	if in == "" {
		// Identifiers that cannot be right are warnings, not errors: the
		// rest of the query is still screened.
		if err := q.Check(); err != nil {
			return usagef("%v", err)
		}
	}
	start := time.Now()
	s, st, err := sf.service(app.Config{})
	if err != nil {
		return err
	}
	defer closeService(s, st)
	ctx := context.Background()
	switch {
	case lists != "":
		if err := pinFiles(e, s, lists); err != nil {
			return err
		}
	case embedded:
		if err := pinDatasets(e, s, sanctions.LoadFiles(snapshot.Files())); err != nil {
			return err
		}
	default:
		if _, err := s.EnsureLists(ctx); err != nil {
			return err
		}
	}
	p := localPrincipal(by)
	if in != "" {
		var f batchfile.Format
		if formatS != "" {
			if f, err = batchfile.ParseFormat(formatS); err != nil {
				return usagef("--format: %v", err)
			}
		} else if f, err = outFormat(e, out); err != nil {
			return err
		}
		return screenBatch(e, s, p, opt, in, out, f, start)
	}
	res, err := s.Screen(ctx, p, q, opt)
	if err != nil {
		if app.CodeOf(err) == app.CodeInvalid {
			return usagef("%v", err)
		}
		return err
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printResults(e.stdout, res)
	return nil
}

// outFormat is the batch output's format from --out's extension: an
// extension it does not write (x.pdf) is refused rather than given CSV
// under that name; no extension (or standard output) is CSV, said so.
func outFormat(e *env, out string) (batchfile.Format, error) {
	ext := strings.ToLower(filepath.Ext(out))
	switch ext {
	case ".csv", ".xlsx", ".jsonl", ".ndjson", ".json":
		return batchfile.FormatOf(out), nil
	case "":
		if out != "" && out != "-" {
			fmt.Fprintf(e.stderr, "writing CSV to %s (no extension; --format or .xlsx, .jsonl, .json for another)\n", termtext.Safe(out))
		}
		return batchfile.CSV, nil
	}
	return "", usagef("--out %s: Tidewatch does not write %s files: give a name ending .csv, .xlsx, .jsonl or .json, or --format", termtext.Safe(out), termtext.Safe(ext))
}

// pinFiles makes the service screen against the list files under dir.
func pinFiles(e *env, s *app.Service, dir string) error {
	files, err := listFiles(e, []string{dir})
	if err != nil {
		return err
	}
	return pinDatasets(e, s, sanctions.LoadFiles(files))
}

// listFiles expands list paths, noting what a directory held that is not
// read (documentation, test data, other folders).
func listFiles(e *env, paths []string) ([]sanctions.File, error) {
	ex, err := liststore.Expand(paths)
	if err != nil {
		return nil, err
	}
	if n := len(ex.Ignored); n > 0 {
		fmt.Fprintf(e.stderr, "note: %d entries under %s are not list files and were not read (%s)\n", n, strings.Join(paths, " "), strings.Join(ex.Ignored[:min(n, 5)], ", "))
	}
	return ex.Files, nil
}

func pinDatasets(e *env, s *app.Service, res sanctions.LoadResult) error {
	for _, f := range res.Failed {
		fmt.Fprintf(e.stderr, "warning: %v\n", f)
	}
	if len(res.Datasets) == 0 {
		return errors.New("no list could be read")
	}
	s.PinLists(sanctions.Latest(res.Datasets))
	return nil
}

func printResults(w io.Writer, r app.ScreenResult) {
	q := r.Query
	var desc []string
	if q.Name != "" {
		desc = append(desc, fmt.Sprintf("%q", termtext.Safe(q.Name)))
	}
	for _, kv := range [][2]string{{"IMO", q.IMO}, {"MMSI", q.MMSI}, {"call sign", q.CallSign}, {"flag", q.Flag}} {
		if kv[1] != "" {
			desc = append(desc, kv[0]+" "+termtext.Safe(kv[1]))
		}
	}
	typ := q.Type
	if typ == "" {
		typ = "any"
	}
	var ids []string
	for _, l := range r.Lists {
		ids = append(ids, l.ID)
	}
	fmt.Fprintf(w, "Screening %s (type %s) against %s\n\n", strings.Join(desc, ", "), termtext.Safe(typ), strings.Join(ids, ", "))
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", termtext.Safe(warn.Message))
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintln(w)
	}
	matches := 0
	for _, m := range r.Matches {
		if m.Match {
			matches++
		}
	}
	if len(r.Matches) == 0 {
		fmt.Fprintf(w, "No match at or above %.2f. (--all shows the nearest names.)\n", r.Threshold)
		printNearMisses(w, r.NearMisses)
		return
	}
	for i, m := range r.Matches {
		verdict := "MATCH"
		if !m.Match {
			verdict = "below threshold"
		}
		fmt.Fprintf(w, "%d. %s  %.3f  %s  %s %q\n", i+1, verdict, m.Score, m.Entity, m.Type, termtext.Safe(m.Name))
		if en := m.EntityRecord(); en != nil {
			fmt.Fprintf(w, "   %s\n", termtext.Safe(entityLine(en)))
		}
		for _, x := range m.Explanation {
			fmt.Fprintf(w, "   - %s\n", termtext.Safe(x))
		}
	}
	fmt.Fprintf(w, "\n%d match(es) at or above %.2f.\n", matches, r.Threshold)
	printNearMisses(w, r.NearMisses)
}

// printNearMisses shows the listed vessels whose name the query has but
// not its IMO: no match, but what a reviewer must see.
func printNearMisses(w io.Writer, nms []app.NearMiss) {
	for _, n := range nms {
		fmt.Fprintf(w, "\nNEAR MISS (not a match; review): %s\n", termtext.Safe(n.Message))
		fmt.Fprintf(w, "   score %.3f, the name alone %.3f; lists %s\n", n.Score, n.NameScore, termtext.Safe(strings.Join(n.Sources, " ")))
		fmt.Fprintf(w, "   - ships share names, but one taking a listed ship's name is how identities are stolen: check the IMO and the ship's history\n")
	}
}

// screenBatch screens a CSV of queries on every core, writing results in
// input order.
func screenBatch(e *env, s *app.Service, p app.Principal, opt app.ScreenOptions, in, out string, format batchfile.Format, start time.Time) error {
	var r io.Reader = e.stdin
	hash := ""
	if in != "-" {
		b, err := os.ReadFile(in)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		hash = hex.EncodeToString(sum[:])
		r = strings.NewReader(string(b))
	}
	qs, err := batchfile.Read(r, in)
	if errors.Is(err, batchfile.ErrHeader) {
		return usagef("%v", err)
	}
	if err != nil {
		return err
	}
	if format == "" {
		format = batchfile.FormatOf(out)
	}
	bw, finish, err := createOutput(e, out)
	if err != nil {
		return err
	}
	prog := newProgress(e.stderr, len(qs))
	res, err := s.ScreenBatch(context.Background(), p, qs, opt, in, hash, prog.update)
	prog.finish(len(qs))
	if err != nil {
		return err
	}
	if err := batchfile.Write(bw, format, res); err != nil {
		return err
	}
	if err := finish(); err != nil {
		return err
	}
	warned := 0
	for _, row := range res.Rows {
		if len(row.Warnings) > 0 {
			warned++
		}
	}
	el := time.Since(start)
	fmt.Fprintf(e.stderr, "%d queries in %s (%.0f/s): %d with matches, %d errors, %d with ignored fields (see \"warnings\")\n", len(qs), el.Round(time.Millisecond), float64(len(qs))/el.Seconds(), res.Hits, res.Errors, warned)
	if res.Errors > 0 {
		return fmt.Errorf("%d of %d rows could not be screened (see their \"error\")", res.Errors, len(qs))
	}
	return nil
}

// progress draws a bar on a terminal and nothing elsewhere.
type progress struct {
	w     io.Writer
	tty   bool
	total int
	last  time.Time
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, total: total, tty: isTerminal(w)}
}

// isTerminal reports whether w is a terminal (progress is drawn only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *progress) update(n int) {
	if !p.tty || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.draw(n)
}

func (p *progress) draw(n int) {
	if p.total <= 0 {
		fmt.Fprintf(p.w, "\r  screened %d queries", n)
		return
	}
	const width = 30
	filled := min(width, n*width/p.total)
	fmt.Fprintf(p.w, "\r  [%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat("-", width-filled), n, p.total)
}

func (p *progress) finish(n int) {
	if p.tty {
		p.draw(n)
		fmt.Fprintln(p.w)
	}
}
