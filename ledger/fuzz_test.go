package ledger

import (
	"bytes"
	"testing"
)

// FuzzParseNotifiedCSV: any bytes give records that validate and bad rows
// with their lines, never a crash.
func FuzzParseNotifiedCSV(f *testing.F) {
	f.Add(EmbeddedNotifiedCSV())
	f.Add([]byte("period_start,period_end,supplier,quantity,unit,source\n2024-01-01,2024-01-31,China,\"1,000\",t,x\n\"unterminated\n"))
	f.Add([]byte("\ufeffPERIOD_START,Period_End,supplier,unit,source,barrels_as_published\n2024-01-01,2024-12-31,Russia,bbl,x,5\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, bad, err := ParseNotifiedCSV(bytes.NewReader(data), DefaultFactors())
		if err != nil {
			return
		}
		for _, r := range recs {
			if err := r.Validate(); err != nil {
				t.Fatalf("a record that does not validate: %+v: %v", r, err)
			}
			Convert(r, DefaultFactors())
		}
		for _, b := range bad {
			if b.Line < 1 {
				t.Fatalf("a bad row with line %d", b.Line)
			}
		}
	})
}
