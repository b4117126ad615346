package tabular

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Writer writes a table: a header, then rows of strings.
type Writer interface {
	// Write writes one row; rows shorter than the header are padded.
	Write(cells []string) error
	// Close finishes the table (an XLSX file is written out here); it does
	// not close the underlying io.Writer.
	Close() error
}

// NewWriter writes a table in format f with the given header.
func NewWriter(w io.Writer, f Format, header []string) (Writer, error) {
	switch f {
	case CSV, "":
		return NewCSVWriter(w, header)
	case XLSX:
		return NewXLSXWriter(w, "Results", header)
	}
	return nil, fmt.Errorf("tabular: unknown format %q", f)
}

// CSVWriter writes comma-separated values (RFC 4180, "\r\n" line ends as
// spreadsheets expect). A cell that a spreadsheet would run as a formula
// (starting with =, +, -, @, a tab or a carriage return, and not a
// number) is written with a leading apostrophe, so that text from lists
// and AIS is never executed when the file is opened.
type CSVWriter struct {
	cw    *csv.Writer
	width int
	buf   []string
}

// NewCSVWriter writes the header at once.
func NewCSVWriter(w io.Writer, header []string) (*CSVWriter, error) {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	c := &CSVWriter{cw: cw, width: len(header)}
	return c, c.Write(header)
}

func (c *CSVWriter) Write(cells []string) error {
	c.buf = c.buf[:0]
	for _, s := range cells {
		c.buf = append(c.buf, Defuse(s))
	}
	for len(c.buf) < c.width {
		c.buf = append(c.buf, "")
	}
	return c.cw.Write(c.buf)
}

func (c *CSVWriter) Close() error {
	c.cw.Flush()
	return c.cw.Error()
}

// Defuse prefixes an apostrophe to text a spreadsheet would read as a
// formula; numbers ("-36.88") are left alone.
func Defuse(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return s
		}
		return "'" + s
	}
	return s
}

// MaxXLSXCell is the most characters a spreadsheet cell holds.
const MaxXLSXCell = 32767

// XLSXWriter writes one sheet, streaming rows as text cells (never
// formulas). Cells longer than MaxXLSXCell characters are cut there and
// end in "…"; Truncated counts them.
type XLSXWriter struct {
	w         io.Writer
	f         *excelize.File
	sw        *excelize.StreamWriter
	width     int
	row       int
	truncated int
}

// NewXLSXWriter writes the header at once, bold, with the top row frozen.
func NewXLSXWriter(w io.Writer, sheet string, header []string) (*XLSXWriter, error) {
	f := excelize.NewFile()
	if sheet == "" {
		sheet = "Sheet1"
	}
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return nil, err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}
	x := &XLSXWriter{w: w, f: f, sw: sw, width: len(header)}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, err
	}
	return x, x.write(header, bold)
}

func (x *XLSXWriter) Write(cells []string) error { return x.write(cells, 0) }

func (x *XLSXWriter) write(cells []string, style int) error {
	x.row++
	vals := make([]any, max(len(cells), x.width))
	for i := range vals {
		s := ""
		if i < len(cells) {
			s = cells[i]
		}
		if len(s) > MaxXLSXCell { // bytes >= characters: check runes only then
			if r := []rune(s); len(r) > MaxXLSXCell {
				s = string(r[:MaxXLSXCell-1]) + "…"
				x.truncated++
			}
		}
		s = strings.Map(func(r rune) rune {
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
				return -1 // XML 1.0 cannot hold other control characters
			}
			return r
		}, s)
		vals[i] = excelize.Cell{Value: s, StyleID: style}
	}
	cell, err := excelize.CoordinatesToCellName(1, x.row)
	if err != nil {
		return err
	}
	return x.sw.SetRow(cell, vals)
}

// Truncated is the number of cells cut to MaxXLSXCell characters.
func (x *XLSXWriter) Truncated() int { return x.truncated }

func (x *XLSXWriter) Close() error {
	if err := x.sw.Flush(); err != nil {
		return err
	}
	if _, err := x.f.WriteTo(x.w); err != nil {
		return err
	}
	return x.f.Close()
}
