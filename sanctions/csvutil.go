package sanctions

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tidewatch/tidewatch/internal/tabular/csvrecord"
)

// listLimits bound the CSV list files: generous (OFAC remarks and EU
// reasons run to kilobytes), but a corrupt or hostile file still cannot
// make one field or one line take unbounded memory.
var listLimits = csvrecord.Limits{MaxFieldBytes: 1 << 20, MaxColumns: 1000, MaxRows: 10_000_000, MaxLineBytes: 4 << 20, MaxQuotedLines: 64}

// newCSV reads a list's CSV records (csvrecord.Reader): an unclosed
// quote costs its own row, reported with its line, not the rows after it.
func newCSV(r io.Reader) *csvrecord.Reader {
	return csvrecord.NewReader(r, ',', listLimits)
}

// csvRows streams the records of a CSV file to fn, counting unreadable rows
// as problems instead of stopping. wantCols > 0 rejects rows with another
// column count. The header, when hasHeader, is checked against header
// (a prefix match on the first columns) and not passed to fn. An I/O error
// stops the walk and is returned.
func csvRows(r io.Reader, file string, wantCols int, header []string, probs *Problems, fn func(line int, rec []string)) error {
	cr := newCSV(r)
	if wantCols > 0 {
		cr.SetFields(wantCols)
	}
	first := header != nil
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var re *csvrecord.RowError
			if errors.As(err, &re) {
				probs.Add(Problem{File: file, Line: re.Line, Reason: re.Reason}, "unreadable CSV row")
				continue
			}
			return fmt.Errorf("read %s: %w", file, err)
		}
		line := rec.Line
		if first {
			first = false
			if !headerMatches(rec.Cells, header) {
				return &ParseError{Problem: Problem{File: file, Line: line, Reason: fmt.Sprintf("unexpected header %q, want columns starting %q", strings.Join(rec.Cells, ","), strings.Join(header, ","))}}
			}
			continue
		}
		// OFAC files end with a DOS end-of-file byte on a line of its own.
		if len(rec.Cells) == 1 && strings.Trim(rec.Cells[0], "\x1a \r\n") == "" {
			continue
		}
		if wantCols > 0 && len(rec.Cells) != wantCols {
			probs.Add(Problem{File: file, Line: line, Reason: fmt.Sprintf("want %d columns, got %d; row skipped", wantCols, len(rec.Cells))}, "wrong column count")
			continue
		}
		fn(line, rec.Cells)
	}
}

func headerMatches(rec, header []string) bool {
	if len(rec) < len(header) {
		return false
	}
	for i, h := range header {
		if strings.TrimPrefix(strings.TrimSpace(rec[i]), "\ufeff") != h {
			return false
		}
	}
	return true
}

// ofacField reads an OFAC legacy CSV field: "-0-" (with or without
// trailing spaces) means empty.
func ofacField(s string) string {
	s = strings.TrimSpace(s)
	if s == "-0-" {
		return ""
	}
	return s
}
