package tabular

import (
	"errors"
	"strings"
	"testing"
)

// TestNotXLSX: an input given as XLSX that is not a zip file is refused
// as not XLSX, saying what it looks like, instead of read as CSV (whose
// "header" was binary junk).
func TestNotXLSX(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"\x00\x17\x9a\xff\x03junk\x01\x02", "not a zip archive"},
		{"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00rest", "Excel 97-2003 workbook (.xls)"},
		{"name,imo\nKOTI,9417115\n", "it is text (CSV?)"},
		{"", "it is empty"},
	} {
		_, err := NewReader(strings.NewReader(c.in), batchCols, Options{XLSX: true})
		if !errors.Is(err, ErrNotXLSX) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
	// Not said to be XLSX, text is CSV as before.
	if _, err := NewReader(strings.NewReader("name,imo\nKOTI,9417115\n"), batchCols, Options{}); err != nil {
		t.Errorf("CSV: %v", err)
	}
}
