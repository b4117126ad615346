// Package batchfile reads the files of queries a batch screening takes and
// writes its results, for the CLI and the HTTP API alike.
package batchfile

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/screen"
)

// Header is the header of a batch file, in any order.
var Header = []string{"id", "type", "name", "imo", "mmsi", "call_sign", "flag"}

// ErrHeader says the file's header lacks required columns.
var ErrHeader = errors.New("bad header")

// ReadCSV reads a CSV of queries; a row that cannot be read becomes a row
// with an error (counted in the results), never a silent loss.
func ReadCSV(r io.Reader, name string) ([]app.BatchQuery, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<20))
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: read header: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	var missing []string
	for _, h := range Header {
		if _, ok := col[h]; !ok {
			missing = append(missing, h)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s: header lacks column(s) %s; want %s", ErrHeader, name, strings.Join(missing, ", "), strings.Join(Header, ","))
	}
	var qs []app.BatchQuery
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return qs, nil
		}
		var bq app.BatchQuery
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			bq.Error = fmt.Sprintf("unreadable CSV row: %v", pe.Err)
			bq.Row = pe.StartLine
		} else {
			// FieldPos only after a row that read: after a parse error
			// it panics.
			bq.Row, _ = cr.FieldPos(0)
			get := func(name string) string {
				if i := col[name]; i < len(rec) {
					return strings.TrimSpace(rec[i])
				}
				return ""
			}
			bq.Query = screen.Query{ID: get("id"), Type: get("type"), Name: get("name"), IMO: get("imo"), MMSI: get("mmsi"), CallSign: get("call_sign"), Flag: get("flag")}
			if len(rec) != len(head) {
				bq.Error = fmt.Sprintf("row has %d columns, header %d", len(rec), len(head))
			}
		}
		qs = append(qs, bq)
	}
}

// WriteJSONL writes one JSON object per row, in input order:
// {"id","hit","matches"[,"warnings"]} or {"id","line","error"}.
func WriteJSONL(w io.Writer, res app.BatchResult) (warned int, err error) {
	enc := json.NewEncoder(w)
	for _, row := range res.Rows {
		o := map[string]any{"id": row.ID, "hit": row.Hit, "matches": row.Matches}
		if row.Error != "" {
			o = map[string]any{"id": row.ID, "line": row.Row, "error": row.Error}
		}
		if len(row.Warnings) > 0 {
			o["warnings"] = row.Warnings
			warned++
		}
		if err := enc.Encode(o); err != nil {
			return warned, err
		}
	}
	return warned, nil
}
