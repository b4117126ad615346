// Package csvrecord reads CSV records line by line so that an unclosed
// quote costs its own row, reported with its line number, and never the
// rows after it; limits bound fields, lines, columns and rows. It has no
// dependencies beyond the standard library, so the sanctions-list parsers
// use it directly; package tabular builds headers, column mapping and XLSX
// on it.
package csvrecord

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Limits bound what a reader accepts. Zero fields take the defaults.
type Limits struct {
	// MaxFieldBytes: a longer field makes its row an error. Default 64 KiB.
	MaxFieldBytes int
	// MaxColumns: a row with more cells is an error. Default 512.
	MaxColumns int
	// MaxRows: rows after the header; past it Read returns a *LimitError
	// counting the rows not read. Default 1,000,000.
	MaxRows int
	// MaxLineBytes: a longer physical line is an error row. Default 1 MiB.
	MaxLineBytes int
	// MaxQuotedLines: physical lines a quoted field may span. Default 32.
	MaxQuotedLines int
}

// DefaultLimits are the limits used for zero fields.
var DefaultLimits = Limits{MaxFieldBytes: 64 << 10, MaxColumns: 512, MaxRows: 1_000_000, MaxLineBytes: 1 << 20, MaxQuotedLines: 32}

// WithDefaults fills the zero fields of l from DefaultLimits.
func WithDefaults(l Limits) Limits {
	d := DefaultLimits
	if l.MaxFieldBytes > 0 {
		d.MaxFieldBytes = l.MaxFieldBytes
	}
	if l.MaxColumns > 0 {
		d.MaxColumns = l.MaxColumns
	}
	if l.MaxRows > 0 {
		d.MaxRows = l.MaxRows
	}
	if l.MaxLineBytes > 0 {
		d.MaxLineBytes = l.MaxLineBytes
	}
	if l.MaxQuotedLines > 0 {
		d.MaxQuotedLines = l.MaxQuotedLines
	}
	return d
}

// RowError is a row that could not be read. Reading goes on after it.
type RowError struct {
	Line   int // the physical line (CSV) or sheet row (XLSX) where the row starts, from 1
	Reason string
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// LimitError ends a read that passed Limits.MaxRows.
type LimitError struct {
	Line    int // the first line not read
	Max     int
	NotRead int // rows left unread
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("line %d: more than %d rows; %d rows from here on not read", e.Line, e.Max, e.NotRead)
}

// ErrTooManyRows matches a *LimitError with errors.Is.
var ErrTooManyRows = errors.New("too many rows")

func (e *LimitError) Is(target error) bool { return target == ErrTooManyRows }

// Record is one row as read.
type Record struct {
	Line  int // where the row starts, from 1
	Cells []string
}

type physLine struct {
	no      int
	text    []byte
	tooLong bool
}

// Reader reads CSV records line by line. A quoted field may span
// lines (RFC 4180), but only when it is plausibly a value with a line
// break in it: the line that closes it holds an odd number of quote
// characters, the record then has the expected number of cells (when
// SetFields gave one), no line it swallowed would be a whole record on its
// own, and it spans at most Limits.MaxQuotedLines lines. Otherwise the
// quote is taken as unclosed: that row is an error (reported with its
// line) and reading resumes at the next line. Quotes inside an unquoted
// field, or a quote inside a quoted field that is not followed by the
// separator or the end of the line, are kept as characters.
type Reader struct {
	br      *bufio.Reader
	comma   byte
	fields  int
	lim     Limits
	line    int
	pushed  []physLine // lines to read again, last first
	started bool
	done    error
	rows    int
	errs    int
	lineBuf []byte // the current line, reused
	recBuf  []byte // the current record's cells, end to end
	ends    []int  // where each cell ends in recBuf
}

// NewReader reads records separated by comma (',' ';' or '\t').
func NewReader(r io.Reader, comma byte, lim Limits) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), comma: comma, lim: WithDefaults(lim)}
}

// SetFields sets the number of cells a record should have (0: any); it
// makes the detection of unclosed quotes sharper.
func (rr *Reader) SetFields(n int) { rr.fields = n }

// Rows is the number of records returned so far; Errors the number of
// *RowError returned.
func (rr *Reader) Rows() int   { return rr.rows }
func (rr *Reader) Errors() int { return rr.errs }

// Line is the last physical line read.
func (rr *Reader) Line() int { return rr.line }

func (rr *Reader) next() (physLine, error) {
	if n := len(rr.pushed); n > 0 {
		l := rr.pushed[n-1]
		rr.pushed = rr.pushed[:n-1]
		return l, nil
	}
	buf := rr.lineBuf[:0]
	tooLong := false
	for {
		chunk, err := rr.br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > rr.lim.MaxLineBytes+2 {
				tooLong = true
				buf = nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && err != io.EOF {
			return physLine{}, err
		}
		if err == io.EOF && len(buf) == 0 && !tooLong && len(chunk) == 0 {
			return physLine{}, io.EOF
		}
		break
	}
	rr.line++
	if !rr.started {
		rr.started = true
		buf = bytes.TrimPrefix(buf, []byte("\xef\xbb\xbf"))
	}
	rr.lineBuf = buf
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	buf = bytes.TrimSuffix(buf, []byte("\r"))
	// text is valid until the next call; continued copies what it keeps.
	return physLine{no: rr.line, text: buf, tooLong: tooLong}, nil
}

func (rr *Reader) rowError(line int, format string, args ...any) error {
	rr.errs++
	return &RowError{Line: line, Reason: fmt.Sprintf(format, args...)}
}

// Read returns the next record; a *RowError for a row that cannot be read
// (call Read again for the next); a *LimitError past Limits.MaxRows; io.EOF
// at the end; or the underlying reader's error.
func (rr *Reader) Read() (Record, error) {
	if rr.done != nil {
		return Record{}, rr.done
	}
	for {
		l, err := rr.next()
		if err != nil {
			return Record{}, err
		}
		if l.tooLong {
			return Record{}, rr.rowError(l.no, "line longer than %d bytes; row skipped", rr.lim.MaxLineBytes)
		}
		if len(l.text) == 0 {
			continue
		}
		cells, open := rr.parse(l.text)
		if open {
			var ok bool
			if cells, ok = rr.continued(l); !ok {
				return Record{}, rr.rowError(l.no, "unclosed quote; row skipped, reading resumes on the next line")
			}
		}
		if len(cells) > rr.lim.MaxColumns {
			return Record{}, rr.rowError(l.no, "%d columns, more than the limit of %d; row skipped", len(cells), rr.lim.MaxColumns)
		}
		for i, c := range cells {
			if len(c) > rr.lim.MaxFieldBytes {
				return Record{}, rr.rowError(l.no, "field %d is %d bytes, more than the limit of %d; row skipped", i+1, len(c), rr.lim.MaxFieldBytes)
			}
		}
		if rr.rows >= rr.lim.MaxRows {
			rest := 1
			for {
				n, err := rr.next()
				if err != nil {
					break
				}
				if len(n.text) > 0 {
					rest++
				}
			}
			rr.done = &LimitError{Line: l.no, Max: rr.lim.MaxRows, NotRead: rest}
			return Record{}, rr.done
		}
		rr.rows++
		return Record{Line: l.no, Cells: cells}, nil
	}
}

// continued tries to complete a record whose quoted field is open at the
// end of line first. On failure the lines it read are pushed back.
func (rr *Reader) continued(first physLine) ([]string, bool) {
	buf := append([]byte(nil), first.text...)
	var taken []physLine
	var cells []string
	ok := false
	for len(taken) < rr.lim.MaxQuotedLines {
		n, err := rr.next()
		if err != nil {
			break
		}
		if n.tooLong {
			rr.pushed = append(rr.pushed, n)
			break
		}
		n.text = append([]byte(nil), n.text...)
		taken = append(taken, n)
		buf = append(append(buf, '\n'), n.text...)
		if len(buf) > rr.lim.MaxFieldBytes+rr.lim.MaxLineBytes {
			break
		}
		var open bool
		cells, open = rr.parse(buf)
		if open {
			if rr.wholeRecord(n.text) {
				break // a line that is a record of its own: the quote was unclosed
			}
			continue
		}
		ok = bytes.Count(n.text, []byte{'"'})%2 == 1 && (rr.fields == 0 || len(cells) == rr.fields)
		break
	}
	if !ok {
		for i := len(taken) - 1; i >= 0; i-- {
			rr.pushed = append(rr.pushed, taken[i])
		}
		return nil, false
	}
	return cells, true
}

// wholeRecord reports a line that reads on its own as a complete record
// of the expected width.
func (rr *Reader) wholeRecord(line []byte) bool {
	if rr.fields == 0 {
		return false
	}
	cells, open := rr.parse(line)
	return !open && len(cells) == rr.fields
}

// parse splits buf into cells. open reports a quoted field still open at
// the end of buf. The cells share one string.
func (rr *Reader) parse(buf []byte) (cells []string, open bool) {
	rb := rr.recBuf[:0]
	ends := rr.ends[:0]
	i := 0
	for {
		if i < len(buf) && buf[i] == '"' {
			i++
			closed := false
			for i < len(buf) && !closed {
				j := bytes.IndexByte(buf[i:], '"')
				if j < 0 {
					rb = append(rb, buf[i:]...)
					i = len(buf)
					break
				}
				rb = append(rb, buf[i:i+j]...)
				i += j
				switch {
				case i+1 < len(buf) && buf[i+1] == '"':
					rb = append(rb, '"')
					i += 2
				case i+1 == len(buf) || buf[i+1] == rr.comma:
					closed = true
					i++
				default:
					rb = append(rb, '"') // a stray quote: kept
					i++
				}
			}
			ends = append(ends, len(rb))
			if !closed {
				open = true
				break
			}
		} else {
			j := bytes.IndexByte(buf[i:], rr.comma)
			if j < 0 {
				j = len(buf) - i
			}
			rb = append(rb, buf[i:i+j]...)
			ends = append(ends, len(rb))
			i += j
		}
		if i >= len(buf) {
			break
		}
		i++ // the separator
		if i == len(buf) {
			ends = append(ends, len(rb))
			break
		}
	}
	rr.recBuf, rr.ends = rb, ends
	str := string(rb)
	cells = make([]string, len(ends))
	prev := 0
	for k, e := range ends {
		cells[k] = str[prev:e]
		prev = e
	}
	return cells, open
}

// SniffComma picks the separator of a CSV from its first line: the most
// frequent of ',', ';' and '\t' outside quotes; ',' when none occurs.
func SniffComma(head []byte) byte {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	counts := map[byte]int{}
	inQuote := false
	for _, c := range head {
		switch {
		case c == '"':
			inQuote = !inQuote
		case !inQuote && (c == ',' || c == ';' || c == '\t'):
			counts[c]++
		}
	}
	best := byte(',')
	for _, c := range []byte{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}
