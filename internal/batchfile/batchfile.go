// Package batchfile reads the files of queries a batch screening takes
// (CSV with commas or semicolons, or XLSX; any subset of the known
// columns, in any order, under the spellings analysts use) and writes its
// results (CSV and XLSX for people, with the input echoed; JSON lines for
// programs), for the CLI and the HTTP API alike.
package batchfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/tabular"
	"github.com/tidewatch/tidewatch/screen"
)

// Columns are the columns a batch file may have, with the header
// spellings each accepts (case, spaces, '_', '-' and '.' are ignored).
var Columns = []tabular.Column{
	{Name: "id", Aliases: []string{"ref", "reference", "your reference", "row id", "no"}},
	{Name: "type", Aliases: []string{"entity type", "kind"}},
	{Name: "name", Aliases: []string{"vessel name", "ship name", "vessel", "ship", "company", "company name", "entity name", "full name"}},
	{Name: "imo", Aliases: []string{"imo number", "imo no", "imo nr", "imono", "lr imo"}},
	{Name: "mmsi", Aliases: []string{"mmsi number"}},
	{Name: "call_sign", Aliases: []string{"callsign", "call sign", "radio call sign"}},
	{Name: "flag", Aliases: []string{"flag state", "country", "flag country"}},
}

// ErrHeader says the file's header cannot be used.
var ErrHeader = errors.New("bad header")

// MaxRows bounds the rows one file may hold.
const MaxRows = 1000000

// Read reads a file of queries. A row that cannot be read becomes a row
// with an error (counted in the results, never a silent loss); a header
// without a name, imo, mmsi or call_sign column is refused, and so is a
// file named .xlsx that is not XLSX.
func Read(r io.Reader, name string) ([]app.BatchQuery, error) {
	return ReadAs(r, name, false)
}

// ReadAs is Read, told whether the file was sent as XLSX (its media
// type); a name ending .xlsx says so too.
func ReadAs(r io.Reader, name string, xlsx bool) ([]app.BatchQuery, error) {
	xlsx = xlsx || tabular.NamedXLSX(name)
	rd, err := tabular.NewReader(r, Columns, tabular.Options{Limits: tabular.Limits{MaxRows: MaxRows}, XLSX: xlsx})
	if err != nil {
		var he *tabular.HeaderError
		if errors.As(err, &he) {
			return nil, fmt.Errorf("%w: %s: %v", ErrHeader, name, err)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer rd.Close()
	h := rd.Header()
	if !h.Has(2) && !h.Has(3) && !h.Has(4) && !h.Has(5) {
		return nil, fmt.Errorf("%w: %s: the header has none of name, imo, mmsi, call_sign (it has %s)", ErrHeader, name, h.NamesText())
	}
	var qs []app.BatchQuery
	for {
		row, err := rd.Read()
		if err == io.EOF {
			return qs, nil
		}
		var re *tabular.RowError
		switch {
		case errors.As(err, &re):
			qs = append(qs, app.BatchQuery{Row: re.Line, Error: re.Reason})
			continue
		case err != nil:
			return qs, fmt.Errorf("%s: %w", name, err)
		}
		q := screen.Query{ID: row.Get("id"), Type: strings.ToLower(row.Get("type")), Name: row.Get("name"), IMO: row.Get("imo"), MMSI: row.Get("mmsi"),
			CallSign: row.Get("call_sign"), Flag: row.Get("flag")}
		if q.Type == "" {
			q.Type = "any"
		}
		qs = append(qs, app.BatchQuery{Row: row.Line, Query: q})
	}
}

// Format is an output format.
type Format string

// Output formats.
const (
	CSV   Format = "csv"
	XLSX  Format = "xlsx"
	JSONL Format = "jsonl"
	JSON  Format = "json"
)

// FormatOf picks a format from a file name's extension (CSV otherwise).
func FormatOf(name string) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".xlsx":
		return XLSX
	case ".jsonl", ".ndjson":
		return JSONL
	case ".json":
		return JSON
	}
	return CSV
}

// ParseFormat reads a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case CSV, XLSX, JSONL, JSON:
		return f, nil
	}
	return "", fmt.Errorf("format %q: csv, xlsx, jsonl or json", s)
}

// ContentType is the media type of a format.
func (f Format) ContentType() string {
	switch f {
	case XLSX:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case JSONL:
		return "application/x-ndjson"
	case JSON:
		return "application/json"
	}
	return "text/csv; charset=utf-8"
}

// ResultHeader is the header of the CSV and XLSX results: the input as
// read, whether it hit, the best match and why, every match, warnings and
// errors.
var ResultHeader = []string{"row", "id", "type", "name", "imo", "mmsi", "call_sign", "flag",
	"hit", "best_match", "best_entity", "best_score", "best_imo", "lists", "programmes", "reason", "matches", "other_matches", "warnings", "error",
	"near_misses"}

// Write writes the results in a format.
func Write(w io.Writer, f Format, res app.BatchResult) error {
	switch f {
	case JSONL:
		_, err := WriteJSONL(w, res)
		return err
	case JSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(res)
	}
	tf := tabular.CSV
	if f == XLSX {
		tf = tabular.XLSX
	}
	tw, err := tabular.NewWriter(w, tf, ResultHeader)
	if err != nil {
		return err
	}
	for _, row := range res.Rows {
		if err := tw.Write(Cells(row)); err != nil {
			return err
		}
	}
	return tw.Close()
}

// Cells is one result row as text.
func Cells(row app.BatchRow) []string {
	q := row.Query
	hit := "no"
	switch {
	case row.Error != "":
		hit = "error"
	case row.Hit:
		hit = "yes"
	}
	out := []string{strconv.Itoa(row.Row), q.ID, q.Type, q.Name, q.IMO, q.MMSI, q.CallSign, q.Flag, hit}
	var best app.Match
	if len(row.Matches) > 0 {
		best = row.Matches[0]
	}
	score := ""
	if best.Entity != "" {
		score = strconv.FormatFloat(best.Score, 'f', 3, 64)
	}
	var others []string
	for _, m := range row.Matches[min(1, len(row.Matches)):] {
		others = append(others, fmt.Sprintf("%s (%s, %.3f)", m.Name, m.Entity, m.Score))
	}
	var warns []string
	for _, w := range row.Warnings {
		warns = append(warns, w.Message)
	}
	// Near misses (a listed vessel's name with another IMO: no hit) go
	// last, so the columns before keep their places.
	var near []string
	for _, n := range row.NearMisses {
		near = append(near, n.Message)
	}
	return append(out, best.Name, best.Entity, score, best.IMO, strings.Join(best.Sources, " "), strings.Join(best.Programmes, " "),
		strings.Join(best.Explanation, "; "), strconv.Itoa(len(row.Matches)), strings.Join(others, "; "), strings.Join(warns, "; "), row.Error,
		strings.Join(near, "; "))
}

// WriteJSONL writes one JSON object per row, in input order:
// {"id","row","hit","matches"[,"warnings"][,"near_misses"]} or {"id","row","error"}.
func WriteJSONL(w io.Writer, res app.BatchResult) (warned int, err error) {
	enc := json.NewEncoder(w)
	for _, row := range res.Rows {
		o := map[string]any{"id": row.ID, "row": row.Row, "hit": row.Hit, "matches": row.Matches}
		if row.Error != "" {
			o = map[string]any{"id": row.ID, "row": row.Row, "error": row.Error}
		}
		if len(row.Warnings) > 0 {
			o["warnings"] = row.Warnings
			warned++
		}
		if len(row.NearMisses) > 0 {
			o["near_misses"] = row.NearMisses
		}
		if err := enc.Encode(o); err != nil {
			return warned, err
		}
	}
	return warned, nil
}
