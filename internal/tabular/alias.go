package tabular

import (
	"io"

	"github.com/tidewatch/tidewatch/internal/tabular/csvrecord"
)

// The CSV layer, from csvrecord (which the list parsers use without the
// XLSX dependency).
type (
	Limits       = csvrecord.Limits
	RowError     = csvrecord.RowError
	LimitError   = csvrecord.LimitError
	Record       = csvrecord.Record
	RecordReader = csvrecord.Reader
)

var (
	// DefaultLimits are the limits used for zero fields.
	DefaultLimits = csvrecord.DefaultLimits
	// ErrTooManyRows matches a *LimitError with errors.Is.
	ErrTooManyRows = csvrecord.ErrTooManyRows
)

// NewRecordReader reads CSV records (see csvrecord.Reader).
func NewRecordReader(r io.Reader, comma byte, lim Limits) *RecordReader {
	return csvrecord.NewReader(r, comma, lim)
}

// SniffComma picks the separator of a CSV from its first line.
func SniffComma(head []byte) byte { return csvrecord.SniffComma(head) }
