package tabular

import (
	"archive/zip"
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestZipNotXLSX: a zip archive given as XLSX that holds no workbook (a
// zip of other files) is refused as not XLSX, saying so, not as "read
// XLSX: EOF" (found by a tester).
func TestZipNotXLSX(t *testing.T) {
	for _, parts := range [][]string{{"notes.txt"}, {"[Content_Types].xml"}, {"[Content_Types].xml", "xl/other.xml"}, {"xl/workbook.xml"}} {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, p := range parts {
			w, _ := zw.Create(p)
			w.Write([]byte("name,imo\nKOTI,9417115\n"))
		}
		zw.Close()
		_, err := NewReader(bytes.NewReader(buf.Bytes()), batchCols, Options{XLSX: true})
		if !errors.Is(err, ErrNotXLSX) || !strings.Contains(err.Error(), "zip archive") || strings.Contains(err.Error(), "EOF") {
			t.Errorf("a zip of %v: %v", parts, err)
		}
	}
}
