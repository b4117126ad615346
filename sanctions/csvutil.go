package sanctions

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// csvRows streams the records of a CSV file to fn, counting unreadable rows
// as problems instead of stopping. wantCols > 0 rejects rows with another
// column count. The header, when hasHeader, is checked against header
// (a prefix match on the first columns) and not passed to fn. An I/O error
// stops the walk and is returned.
func csvRows(r io.Reader, file string, wantCols int, header []string, probs *Problems, fn func(line int, rec []string)) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	first := header != nil
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				probs.Add(Problem{File: file, Line: pe.StartLine, Reason: pe.Err.Error()}, "unreadable CSV row")
				continue
			}
			return fmt.Errorf("read %s: %w", file, err)
		}
		line, _ := cr.FieldPos(0) // only valid after a successful read
		if first {
			first = false
			if !headerMatches(rec, header) {
				return &ParseError{Problem: Problem{File: file, Line: line, Reason: fmt.Sprintf("unexpected header %q, want columns starting %q", strings.Join(rec, ","), strings.Join(header, ","))}}
			}
			continue
		}
		// OFAC files end with a DOS end-of-file byte on a line of its own.
		if len(rec) == 1 && strings.Trim(rec[0], "\x1a \r\n") == "" {
			continue
		}
		if wantCols > 0 && len(rec) != wantCols {
			probs.Add(Problem{File: file, Line: line, Reason: fmt.Sprintf("want %d columns, got %d; row skipped", wantCols, len(rec))}, "wrong column count")
			continue
		}
		fn(line, rec)
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
