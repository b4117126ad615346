package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/screen"
)

func runScreen(e *env, args []string) error {
	var src listSource
	var lists, in, out, typ, imo, mmsi, callSign, flagName string
	var asJSON, all bool
	var threshold float64
	var limit int
	fs := newFlagSet(e, "screen", "tidewatch screen [--type T] [--imo N] [--mmsi N] [--call-sign CS] [--flag F] [--json] [NAME]\n       tidewatch screen --in queries.csv --out results.jsonl [--lists DIR]", fmt.Sprintf(`
Screens a vessel, organization or person against the sanctions lists:
identifiers first (an exact IMO, MMSI or call sign is a match whatever the
name says; ship and company IMO numbers are kept apart), then names, with
numbers in vessel names treated as identity (JI SONG 6 is not JI SONG 8),
spacing and Korean romanisation variants folded (CHONMASAN = CHON MA SAN,
Cheon/Chon, Jong/Chong, Geum/Kum), vessel prefixes dropped (M/V, MT), legal
forms weighed low (Co., Ltd), word order ignored for people and companies,
single typos tolerated, aliases and former names searched. A flag that
differs from the listed one never lowers a vessel's score. Every result
says why it matched.

A score of %.2f or more is a match (--threshold). Lists come from --lists
DIR (files read directly, format detected), else the stored lists (see
'tidewatch lists import'), else the embedded snapshot.

Batch: --in a CSV with the header id,type,name,imo,mmsi,call_sign,flag
(type vessel|organization|person|any; other fields may be blank) writes
one JSON object per query to --out (or stdout):
  {"id":...,"matches":[{"entity":...,"name":...,"type":...,"score":...,
   "imo":"IMO8606173","sources":["ofac:23729","un:KPe.061"],"explanation":[...]}]}
with the matches at or above the threshold, best first, at most 10. A row
that cannot be screened gets {"id":...,"error":...} and is counted.

Examples:
  tidewatch screen --imo 8606173
  tidewatch screen CHONMASAN
  tidewatch screen --type organization "Korea Achim Shipping Co" --json
  tidewatch screen --lists ../shared/data/lists --in portfolio.csv --out results.jsonl`, screen.DefaultThreshold))
	src.register(fs)
	fs.StringVar(&lists, "lists", "", "read list files from this directory instead of the store")
	fs.StringVar(&in, "in", "", "batch: CSV file of queries (- for stdin)")
	fs.StringVar(&out, "out", "", "batch: write JSON lines here (default stdout)")
	fs.StringVar(&typ, "type", "any", "vessel, organization, person or any")
	fs.StringVar(&imo, "imo", "", "IMO number, any written form (ship or company)")
	fs.StringVar(&mmsi, "mmsi", "", "MMSI (vessels)")
	fs.StringVar(&callSign, "call-sign", "", "call sign (vessels)")
	fs.StringVar(&flagName, "flag", "", "the flag the vessel flies now (shown, never lowers the score)")
	fs.BoolVar(&asJSON, "json", false, "print the results as JSON")
	fs.BoolVar(&all, "all", false, "also show results below the threshold")
	fs.Float64Var(&threshold, "threshold", screen.DefaultThreshold, "score from which a result is a match")
	fs.IntVar(&limit, "limit", 10, "results per query")
	storePath := fs.String("store", defaultStore(), "record the screening in this store's audit log")
	noAudit := fs.Bool("no-audit", false, "do not record the screening in the audit log")
	by := fs.String("by", currentUser(), "who screens (audit log)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if threshold <= 0 || threshold > 1 {
		return usagef("--threshold %v: want a score in (0, 1]", threshold)
	}
	if limit < 1 {
		return usagef("--limit must be at least 1")
	}
	if in == "" && len(pos) == 0 && imo == "" && mmsi == "" && callSign == "" {
		return usagef("give a NAME, --imo, --mmsi or --call-sign, or --in FILE for a batch")
	}
	if in != "" && len(pos) > 0 {
		return usagef("give either a NAME or --in, not both")
	}
	start := time.Now()
	paths := []string{}
	if lists != "" {
		paths = append(paths, lists)
	}
	l, err := src.load(e, paths)
	if err != nil {
		return err
	}
	if len(l.datasets) == 0 {
		return fmt.Errorf("no list could be read from %s", l.from)
	}
	for _, f := range l.failed {
		fmt.Fprintf(e.stderr, "warning: %v\n", f)
	}
	latest := sanctions.Latest(l.datasets)
	ix := screen.NewIndex(sanctions.Merge(latest...))
	opt := screen.Options{Threshold: threshold, Limit: limit, All: all}
	if in != "" {
		fmt.Fprintf(e.stderr, "screening against %d entities from %s (loaded in %s)\n", ix.Len(), l.from, time.Since(start).Round(time.Millisecond))
		if err := screenBatch(e, ix, opt, in, out, latest); err != nil {
			return err
		}
		if *noAudit {
			return nil
		}
		data := map[string]any{"batch": in, "output": out, "lists": versionIDs(latest), "threshold": threshold}
		if in != "-" {
			if sum, err := fileSHA256(in); err == nil {
				data["input_sha256"] = sum
			}
		}
		return auditScreening(*storePath, *by, "batch:"+in, data)
	}
	q := screen.Query{Type: typ, Name: strings.Join(pos, " "), IMO: imo, MMSI: mmsi, CallSign: callSign, Flag: flagName}
	if err := q.Validate(); err != nil {
		return usagef("%v", err)
	}
	res, err := ix.Search(q, opt)
	if err != nil {
		return usagef("%v", err)
	}
	if !*noAudit {
		var matches []string
		for _, r := range res {
			if r.Match {
				matches = append(matches, fmt.Sprintf("%s %.3f", r.Entity.ID, r.Score))
			}
		}
		subject := "name:" + q.Name
		switch {
		case q.IMO != "":
			subject = "imo:" + q.IMO
		case q.MMSI != "":
			subject = "mmsi:" + q.MMSI
		case q.CallSign != "":
			subject = "call_sign:" + q.CallSign
		}
		if err := auditScreening(*storePath, *by, subject, map[string]any{"query": q, "lists": versionIDs(latest), "threshold": threshold, "matches": matches}); err != nil {
			return err
		}
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"query": q, "threshold": threshold, "lists": versionIDs(latest), "results": resultsJSON(res)})
	}
	printResults(e.stdout, q, res, threshold, latest)
	return nil
}

// auditScreening appends a screening to the store's audit log. A
// screening that cannot be recorded is an error: the record is part of
// the compliance work (--no-audit opts out).
func auditScreening(storePath, actor, subject string, data map[string]any) error {
	st, err := openStore(storePath)
	if err != nil {
		return fmt.Errorf("audit log: %w (--no-audit to screen without recording)", err)
	}
	defer st.Close()
	if _, err := (&audit.Log{St: st}).Append(context.Background(), actor, audit.ActionScreen, subject, data); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func versionIDs(ds []*sanctions.Dataset) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Version.ID)
	}
	return out
}

// matchJSON is one match in the batch output format.
type matchJSON struct {
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
}

func resultsJSON(res []screen.Result) []matchJSON {
	out := make([]matchJSON, 0, len(res))
	for _, r := range res {
		m := matchJSON{Entity: r.Entity.ID, Name: r.Entity.Name, Type: string(r.Entity.Type), Score: r.Score, Match: r.Match, MatchedName: r.MatchedName, Explanation: r.Explanation}
		if imo := r.Entity.ShipIMO(); imo != "" {
			m.IMO = "IMO" + imo
		} else if ids := r.Entity.IDs(sanctions.SchemeCompanyIMO); len(ids) > 0 {
			m.IMO = "IMO" + ids[0]
		}
		for _, l := range r.Entity.Listings {
			m.Sources = append(m.Sources, l.Ref())
			for _, p := range l.Programmes {
				if !contains(m.Programmes, p) {
					m.Programmes = append(m.Programmes, p)
				}
			}
		}
		out = append(out, m)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func printResults(w io.Writer, q screen.Query, res []screen.Result, threshold float64, lists []*sanctions.Dataset) {
	var desc []string
	if q.Name != "" {
		desc = append(desc, fmt.Sprintf("%q", q.Name))
	}
	for _, kv := range [][2]string{{"IMO", q.IMO}, {"MMSI", q.MMSI}, {"call sign", q.CallSign}, {"flag", q.Flag}} {
		if kv[1] != "" {
			desc = append(desc, kv[0]+" "+kv[1])
		}
	}
	typ := q.Type
	if typ == "" {
		typ = "any"
	}
	if lists != nil {
		fmt.Fprintf(w, "Screening %s (type %s) against %s\n\n", strings.Join(desc, ", "), typ, strings.Join(versionIDs(lists), ", "))
	} else {
		fmt.Fprintf(w, "Screening %s (type %s)\n", strings.Join(desc, ", "), typ)
	}
	matches := 0
	for _, r := range res {
		if r.Match {
			matches++
		}
	}
	if len(res) == 0 || matches == 0 && !anyShown(res) {
		fmt.Fprintf(w, "No match at or above %.2f. (--all shows the nearest names.)\n", threshold)
		return
	}
	for i, r := range res {
		verdict := "MATCH"
		if !r.Match {
			verdict = "below threshold"
		}
		fmt.Fprintf(w, "%d. %s  %.3f  %s  %s %q\n", i+1, verdict, r.Score, r.Entity.ID, r.Entity.Type, r.Entity.Name)
		fmt.Fprintf(w, "   %s\n", entityLine(r.Entity))
		for _, x := range r.Explanation {
			fmt.Fprintf(w, "   - %s\n", x)
		}
	}
	fmt.Fprintf(w, "\n%d match(es) at or above %.2f.\n", matches, threshold)
}

func anyShown(res []screen.Result) bool { return len(res) > 0 }

// batchHeader is the required header of a batch file, in any order.
var batchHeader = []string{"id", "type", "name", "imo", "mmsi", "call_sign", "flag"}

// screenBatch screens a CSV of queries on every core, writing results in
// input order.
func screenBatch(e *env, ix *screen.Index, opt screen.Options, in, out string, lists []*sanctions.Dataset) error {
	var r io.Reader = e.stdin
	if in != "-" {
		f, err := os.Open(in)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<20))
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s: read header: %w", in, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	var missing []string
	for _, h := range batchHeader {
		if _, ok := col[h]; !ok {
			missing = append(missing, h)
		}
	}
	if len(missing) > 0 {
		return usagef("%s: header lacks column(s) %s; want %s", in, strings.Join(missing, ", "), strings.Join(batchHeader, ","))
	}
	bw, finish, err := createOutput(e, out)
	if err != nil {
		return err
	}

	type job struct {
		n    int
		q    screen.Query
		line int
		err  error
	}
	type done struct {
		n      int
		out    []byte
		bad    bool
		warned bool
		hit    bool
	}
	jobs := make(chan job, 1024)
	results := make(chan done, 1024)
	var wg sync.WaitGroup
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				var obj any
				d := done{n: j.n}
				if j.err != nil {
					obj = map[string]any{"id": j.q.ID, "line": j.line, "error": j.err.Error()}
					d.bad = true
				} else {
					q, warns := j.q.Sanitised()
					res, err := ix.Search(q, opt)
					switch {
					case err != nil:
						o := map[string]any{"id": j.q.ID, "line": j.line, "error": err.Error()}
						if len(warns) > 0 {
							o["warnings"] = warns
						}
						obj = o
						d.bad = true
					case len(warns) > 0:
						obj = map[string]any{"id": j.q.ID, "matches": resultsJSON(res), "warnings": warns}
						d.warned = true
					default:
						obj = map[string]any{"id": j.q.ID, "matches": resultsJSON(res)}
					}
					d.hit = len(res) > 0
				}
				d.out, _ = json.Marshal(obj)
				results <- d
			}
		}()
	}
	// Reader: queue rows; the writer below restores input order.
	total := 0
	readErr := make(chan error, 1)
	go func() {
		defer close(jobs)
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				readErr <- nil
				return
			}
			line, _ := cr.FieldPos(0)
			j := job{n: total, line: line}
			if err != nil {
				var pe *csv.ParseError
				if !errors.As(err, &pe) {
					readErr <- err
					return
				}
				j.err = fmt.Errorf("unreadable CSV row: %v", pe.Err)
				j.line = pe.StartLine
			} else {
				get := func(name string) string {
					if i := col[name]; i < len(rec) {
						return strings.TrimSpace(rec[i])
					}
					return ""
				}
				j.q = screen.Query{ID: get("id"), Type: get("type"), Name: get("name"), IMO: get("imo"), MMSI: get("mmsi"), CallSign: get("call_sign"), Flag: get("flag")}
				if len(rec) != len(head) {
					j.err = fmt.Errorf("row has %d columns, header %d", len(rec), len(head))
				}
			}
			total++
			jobs <- j
		}
	}()
	go func() { wg.Wait(); close(results) }()

	prog := newProgress(e.stderr, countLines(in)-1)
	pending := map[int]done{}
	next, bad, hits, warned := 0, 0, 0, 0
	start := time.Now()
	for d := range results {
		pending[d.n] = d
		for {
			p, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			bw.Write(p.out)
			bw.WriteByte('\n')
			if p.bad {
				bad++
			}
			if p.hit {
				hits++
			}
			if p.warned {
				warned++
			}
			next++
			prog.update(next)
		}
	}
	prog.finish(next)
	if err := finish(); err != nil {
		return err
	}
	if err := <-readErr; err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	el := time.Since(start)
	fmt.Fprintf(e.stderr, "%d queries in %s (%.0f/s): %d with matches, %d errors, %d with ignored fields (see \"warnings\")\n", next, el.Round(time.Millisecond), float64(next)/el.Seconds(), hits, bad, warned)
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

// countLines counts a regular file's lines for the progress bar; 0 when
// the input is a stream.
func countLines(path string) int {
	if path == "-" {
		return 0
	}
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	n := 0
	for {
		k, err := f.Read(buf)
		for _, c := range buf[:k] {
			if c == '\n' {
				n++
			}
		}
		if err != nil {
			return n
		}
	}
}
