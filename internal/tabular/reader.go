package tabular

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/tidewatch/tidewatch/internal/tabular/csvrecord"
	"github.com/tidewatch/tidewatch/internal/termtext"
	"github.com/xuri/excelize/v2"
)

// Format is a table's file format.
type Format string

const (
	CSV  Format = "csv"
	XLSX Format = "xlsx"
)

// Column is a column the caller knows.
type Column struct {
	Name     string   // the caller's name for it, also a header spelling
	Aliases  []string // other header spellings ("IMO number", "vessel name")
	Required bool     // the header must have it
}

// Options configure a Reader.
type Options struct {
	Limits Limits
	// Comma is the CSV separator; 0 sniffs ',', ';' or '\t' from the
	// header line.
	Comma byte
	// XLSX says the input claims to be XLSX (by its name or media type):
	// one that is not a zip file is refused (ErrNotXLSX, saying what it
	// looks like), not read as CSV.
	XLSX bool
	// MaxXLSXBytes bounds an XLSX input, read whole; default 64 MiB.
	MaxXLSXBytes int64
	// MaxXLSXExpanded bounds what an XLSX input's parts hold once
	// unzipped, all together; default 4x MaxXLSXBytes (256 MiB).
	MaxXLSXExpanded int64
}

// Bounds on an XLSX input's zip container, checked from its central
// directory before anything is unzipped (archive/zip, which excelize
// reads through, refuses an entry that inflates past the size its
// directory gives, so those sizes bound the bytes).
const (
	// MaxXLSXRatio is the most a part larger than ratioFloor may expand
	// over its compressed size. Worksheets Tidewatch and spreadsheet
	// programs write expand 10 to 20 times; deflate can reach about 1,000.
	MaxXLSXRatio = 100
	ratioFloor   = 1 << 20
	// MaxXLSXParts bounds the container's entries.
	MaxXLSXParts = 10000
	// xlsxInMemory: a worksheet or shared-string table larger than this
	// is unzipped to a temporary file instead of memory (excelize's
	// UnzipXMLSizeLimit).
	xlsxInMemory = 16 << 20
)

// ExpandError is an XLSX input refused before unzipping: it would expand
// to more than allowed, or one part expands too many times over (a zip
// bomb).
type ExpandError struct {
	Part     string // the part, for a ratio; "" for the total
	Expanded int64  // bytes, as the zip's directory gives them
	Limit    int64  // the total allowed (Part == "": bytes)
	Ratio    float64
}

func (e *ExpandError) Error() string {
	if e.Part != "" {
		return fmt.Sprintf("the workbook's part %s expands %.0f times over (%d MiB), more than the %d times allowed: not a spreadsheet's ordinary content (a zip bomb?)",
			e.Part, e.Ratio, e.Expanded>>20, MaxXLSXRatio)
	}
	return fmt.Sprintf("the workbook expands to %s, more than the %s allowed: save the sheet as CSV (read as it streams, without this limit)",
		sizeText(e.Expanded), sizeText(e.Limit))
}

// sizeText is n bytes in MiB, rounded up (bytes under a MiB).
func sizeText(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%d MiB", (n+(1<<20)-1)>>20)
}

// checkZip reads an XLSX input's zip directory: every part's size and
// ratio and the total, before excelize expands anything.
func checkZip(data []byte, maxExpanded int64) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("read XLSX: not a readable zip file: %w", err)
	}
	if len(zr.File) > MaxXLSXParts {
		return fmt.Errorf("read XLSX: %d parts in the zip file, at most %d", len(zr.File), MaxXLSXParts)
	}
	var total uint64
	workbook := false
	for _, f := range zr.File {
		// The workbook part is xl/workbook.xml in every XLSX file written
		// by a spreadsheet program (its path is given in _rels/.rels).
		workbook = workbook || strings.HasSuffix(strings.ToLower(f.Name), "workbook.xml")
		u, c := f.UncompressedSize64, f.CompressedSize64
		if u > ratioFloor && (c == 0 || u/MaxXLSXRatio > c) {
			return &ExpandError{Part: f.Name, Expanded: int64(min(u, 1<<62)), Ratio: float64(u) / float64(max(c, 1))}
		}
		total += u
		if total > uint64(maxExpanded) || total < u {
			return &ExpandError{Expanded: int64(min(total, 1<<62)), Limit: maxExpanded}
		}
	}
	if !workbook {
		return fmt.Errorf("%w: it is a zip archive without a workbook (no xl/workbook.xml): save the sheet as .xlsx or CSV", ErrNotXLSX)
	}
	return nil
}

// Errors about the header; a *HeaderError wraps them.
var (
	ErrNoHeader      = errors.New("no header row")
	ErrMissingColumn = errors.New("required column missing")
	ErrDuplicate     = errors.New("column given twice")
)

// HeaderError says what is wrong with a header.
type HeaderError struct {
	Err     error
	Columns []string // the columns concerned
	Want    []string // the columns the caller knows
}

func (e *HeaderError) Error() string {
	switch {
	case errors.Is(e.Err, ErrMissingColumn):
		return fmt.Sprintf("header lacks required column(s) %s (known columns: %s)", strings.Join(e.Columns, ", "), strings.Join(e.Want, ", "))
	case errors.Is(e.Err, ErrDuplicate):
		return fmt.Sprintf("header gives column %s more than once", strings.Join(e.Columns, ", "))
	}
	return e.Err.Error()
}

func (e *HeaderError) Unwrap() error { return e.Err }

// Header is what the header row said.
type Header struct {
	Format Format
	Comma  byte     // CSV only
	Names  []string // the header cells as read
	// Index gives, for each caller column, its position in the row, or -1
	// when the file lacks it.
	Index []int
	// Unknown are header cells that name no known column; their values are
	// in Row.Cells only.
	Unknown []string
}

// NamesText is the header's cells for a message ("it has a, b, c"):
// joined with ", ", clipped to 200 bytes, and, when they are mostly not
// text (a binary file read as CSV), said to be so instead of quoted.
func (h Header) NamesText() string {
	all := strings.Join(h.Names, ", ")
	bad, n := 0, 0
	for _, r := range all {
		n++
		if r == utf8.RuneError || termtext.NeedsEscape(r) {
			bad++
		}
	}
	if bad > 0 && bad*10 >= n {
		return fmt.Sprintf("no readable header: %d of its %d characters are not text (a binary file?); give CSV or XLSX", bad, n)
	}
	return termtext.Clip(termtext.Safe(all), 200)
}

// Has reports whether the file has the caller's column i.
func (h Header) Has(i int) bool { return h.Index[i] >= 0 }

// Row is one data row.
type Row struct {
	Line int // CSV line or sheet row where the row starts, from 1
	// Values holds one value per caller column, in the caller's order,
	// spaces trimmed; "" when the file lacks the column or the row is short.
	Values []string
	// Cells is the row as read, for echoing it back.
	Cells []string
	names map[string]int
}

// Get returns the value of the caller's column named name ("" if none).
func (r Row) Get(name string) string {
	if i, ok := r.names[name]; ok {
		return r.Values[i]
	}
	return ""
}

// NamedXLSX says a file's name claims XLSX (its extension, any case).
func NamedXLSX(name string) bool { return strings.EqualFold(filepath.Ext(name), ".xlsx") }

// ErrNotXLSX: an input given as XLSX is not a zip file, as every XLSX
// file is.
var ErrNotXLSX = errors.New("not an XLSX file")

// notXLSX says what an input given as XLSX looks like instead, from its
// first bytes.
func notXLSX(head []byte) error {
	what := "it is not a zip archive, as every XLSX file is"
	switch {
	case len(head) == 0:
		what = "it is empty"
	case bytes.HasPrefix(head, []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")):
		what = "it is an Excel 97-2003 workbook (.xls): save it as .xlsx or CSV"
	case looksLikeText(head):
		what = "it is text (CSV?): give it as CSV, with a .csv name"
	}
	return fmt.Errorf("%w: %s", ErrNotXLSX, what)
}

// looksLikeText: no control characters but tab, line ends, form feed and
// escape.
func looksLikeText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1b {
			return false
		}
	}
	return true
}

// Reader reads rows of a CSV or XLSX table whose header names the
// caller's columns, in any order and any subset (the required ones
// present). Header cells match a column's name or alias ignoring case,
// spaces, '_', '-' and '.': "Call Sign", "CALL_SIGN" and "callsign" are
// one column.
type Reader struct {
	cols   []Column
	names  map[string]int
	header Header
	lim    Limits
	csv    *RecordReader
	sheet  *excelize.Rows
	file   *excelize.File
	sheetN int
	rows   int
	errs   int
	done   error
}

// NewReader reads the header of r, sniffing XLSX (a zip file) from CSV.
func NewReader(r io.Reader, cols []Column, opt Options) (*Reader, error) {
	rd := &Reader{cols: cols, names: map[string]int{}, lim: csvrecord.WithDefaults(opt.Limits)}
	for i, c := range cols {
		rd.names[c.Name] = i
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4 << 10)
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		return rd, rd.openXLSX(br, opt)
	}
	if opt.XLSX {
		return nil, notXLSX(head)
	}
	comma := opt.Comma
	if comma == 0 {
		comma = SniffComma(head)
	}
	lim := rd.lim
	lim.MaxRows++ // the header is a record too
	rd.csv = NewRecordReader(br, comma, lim)
	rd.header.Format, rd.header.Comma = CSV, comma
	for {
		rec, err := rd.csv.Read()
		var re *RowError
		if errors.As(err, &re) {
			return nil, &HeaderError{Err: fmt.Errorf("%w: %v", ErrNoHeader, re)}
		}
		if err == io.EOF {
			return nil, &HeaderError{Err: ErrNoHeader}
		}
		if err != nil {
			return nil, err
		}
		if err := rd.setHeader(rec.Cells); err != nil {
			return nil, err
		}
		rd.csv.SetFields(len(rec.Cells))
		return rd, nil
	}
}

func (rd *Reader) openXLSX(r io.Reader, opt Options) error {
	max := opt.MaxXLSXBytes
	if max <= 0 {
		max = 64 << 20
	}
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return err
	}
	if int64(len(data)) > max {
		return fmt.Errorf("XLSX input larger than %d bytes", max)
	}
	expanded := opt.MaxXLSXExpanded
	if expanded <= 0 {
		expanded = 4 * max
	}
	if err := checkZip(data, expanded); err != nil {
		return err
	}
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{RawCellValue: true, UnzipSizeLimit: expanded, UnzipXMLSizeLimit: min(expanded, xlsxInMemory)})
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// A part excelize needs is missing or empty.
			return fmt.Errorf("%w: it is a zip archive but not a complete XLSX workbook (a part is missing or empty): save the sheet as .xlsx or CSV", ErrNotXLSX)
		}
		return fmt.Errorf("read XLSX: %w", err)
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		f.Close()
		return &HeaderError{Err: ErrNoHeader}
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		f.Close()
		return fmt.Errorf("read XLSX sheet %q: %w", sheets[0], err)
	}
	rd.file, rd.sheet = f, rows
	rd.header.Format = XLSX
	for rows.Next() {
		rd.sheetN++
		cells, err := rows.Columns()
		if err != nil {
			return fmt.Errorf("read XLSX row %d: %w", rd.sheetN, err)
		}
		if blank(cells) {
			continue
		}
		return rd.setHeader(cells)
	}
	return &HeaderError{Err: ErrNoHeader}
}

// Close releases an XLSX input; a CSV reader needs no closing.
func (rd *Reader) Close() error {
	if rd.file != nil {
		if rd.sheet != nil {
			rd.sheet.Close()
		}
		return rd.file.Close()
	}
	return nil
}

// HeaderKey folds a header cell or a column name for matching.
func HeaderKey(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "\ufeff")
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '-', '.', '\t':
			return -1
		}
		if r >= 'A' && r <= 'Z' {
			return r + 32
		}
		return r
	}, s)
}

func (rd *Reader) setHeader(cells []string) error {
	if blank(cells) {
		return &HeaderError{Err: ErrNoHeader}
	}
	keys := map[string]int{}
	var want []string
	for i, c := range rd.cols {
		want = append(want, c.Name)
		keys[HeaderKey(c.Name)] = i
		for _, a := range c.Aliases {
			keys[HeaderKey(a)] = i
		}
	}
	h := &rd.header
	h.Names = append([]string(nil), cells...)
	h.Index = make([]int, len(rd.cols))
	for i := range h.Index {
		h.Index[i] = -1
	}
	var dup []string
	for pos, cell := range cells {
		i, ok := keys[HeaderKey(cell)]
		if !ok || HeaderKey(cell) == "" {
			if strings.TrimSpace(cell) != "" {
				h.Unknown = append(h.Unknown, cell)
			}
			continue
		}
		if h.Index[i] >= 0 {
			dup = append(dup, rd.cols[i].Name)
			continue
		}
		h.Index[i] = pos
	}
	if len(dup) > 0 {
		return &HeaderError{Err: ErrDuplicate, Columns: dup, Want: want}
	}
	var missing []string
	for i, c := range rd.cols {
		if c.Required && h.Index[i] < 0 {
			missing = append(missing, c.Name)
		}
	}
	if len(missing) > 0 {
		return &HeaderError{Err: ErrMissingColumn, Columns: missing, Want: want}
	}
	return nil
}

// Header is the header as read.
func (rd *Reader) Header() Header { return rd.header }

// Rows is the number of rows returned; Errors the number of *RowError.
func (rd *Reader) Rows() int { return rd.rows }
func (rd *Reader) Errors() int {
	if rd.csv != nil {
		return rd.csv.Errors() + rd.errs
	}
	return rd.errs
}

// Read returns the next row; a *RowError for a row that cannot be read
// (counted; call Read again for the next); a *LimitError past
// Limits.MaxRows; io.EOF at the end; or an I/O error.
func (rd *Reader) Read() (Row, error) {
	if rd.done != nil {
		return Row{}, rd.done
	}
	var line int
	var cells []string
	for {
		if rd.csv != nil {
			rec, err := rd.csv.Read()
			if err != nil {
				return Row{}, err
			}
			line, cells = rec.Line, rec.Cells
		} else {
			var err error
			if line, cells, err = rd.nextSheetRow(); err != nil {
				return Row{}, err
			}
		}
		if !blank(cells) {
			break // rows of empty cells (",,,," at the end of an export) are skipped
		}
	}
	if n := len(rd.header.Names); len(cells) > n && !blank(cells[n:]) {
		rd.errs++
		return Row{}, &RowError{Line: line, Reason: fmt.Sprintf("%d cells, the header has %d; row skipped", len(cells), n)}
	}
	row := Row{Line: line, Cells: cells, Values: make([]string, len(rd.cols)), names: rd.names}
	for i, pos := range rd.header.Index {
		if pos >= 0 && pos < len(cells) {
			row.Values[i] = strings.TrimSpace(cells[pos])
		}
	}
	rd.rows++
	return row, nil
}

func (rd *Reader) nextSheetRow() (int, []string, error) {
	for rd.sheet.Next() {
		rd.sheetN++
		cells, err := rd.sheet.Columns()
		if err != nil {
			return 0, nil, fmt.Errorf("read XLSX row %d: %w", rd.sheetN, err)
		}
		if blank(cells) {
			continue
		}
		if len(cells) > rd.lim.MaxColumns {
			rd.errs++
			return 0, nil, &RowError{Line: rd.sheetN, Reason: fmt.Sprintf("%d columns, more than the limit of %d; row skipped", len(cells), rd.lim.MaxColumns)}
		}
		for i, c := range cells {
			if len(c) > rd.lim.MaxFieldBytes {
				rd.errs++
				return 0, nil, &RowError{Line: rd.sheetN, Reason: fmt.Sprintf("field %d is %d bytes, more than the limit of %d; row skipped", i+1, len(c), rd.lim.MaxFieldBytes)}
			}
		}
		if rd.rows >= rd.lim.MaxRows {
			first, rest := rd.sheetN, 1
			for rd.sheet.Next() {
				rest++
			}
			rd.done = &LimitError{Line: first, Max: rd.lim.MaxRows, NotRead: rest}
			return 0, nil, rd.done
		}
		return rd.sheetN, cells, nil
	}
	if err := rd.sheet.Error(); err != nil {
		return 0, nil, err
	}
	return 0, nil, io.EOF
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}
