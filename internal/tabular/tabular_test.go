package tabular

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

var batchCols = []Column{
	{Name: "id"},
	{Name: "type"},
	{Name: "name", Aliases: []string{"vessel name", "ship name"}},
	{Name: "imo", Aliases: []string{"imo number", "imo no"}},
	{Name: "mmsi"},
	{Name: "call_sign"},
	{Name: "flag"},
}

// readAll reads every row, counting row errors and keeping their lines.
func readAll(t *testing.T, in string, cols []Column, opt Options) ([]Row, []int, error) {
	t.Helper()
	rd, err := NewReader(strings.NewReader(in), cols, opt)
	if err != nil {
		return nil, nil, err
	}
	defer rd.Close()
	var rows []Row
	var errLines []int
	for {
		r, err := rd.Read()
		if err == io.EOF {
			break
		}
		var re *RowError
		if errors.As(err, &re) {
			errLines = append(errLines, re.Line)
			continue
		}
		if err != nil {
			return rows, errLines, err
		}
		rows = append(rows, r)
	}
	if rd.Errors() != len(errLines) || rd.Rows() != len(rows) {
		t.Errorf("counted %d rows %d errors, saw %d rows %d errors", rd.Rows(), rd.Errors(), len(rows), len(errLines))
	}
	return rows, errLines, nil
}

// portfolio is a 30-row batch file; row n is on line n+1.
func portfolio(bad map[int]string) string {
	var b strings.Builder
	b.WriteString("id,type,name,imo,mmsi,call_sign,flag\n")
	for i := 1; i <= 30; i++ {
		if s, ok := bad[i]; ok {
			b.WriteString(s + "\n")
			continue
		}
		fmt.Fprintf(&b, "%d,vessel,SHIP %d,,,,\n", i, i)
	}
	return b.String()
}

// Issue 18: an unclosed quote on row 10 of 30 costs row 10 only.
func TestUnclosedQuoteCostsOneRow(t *testing.T) {
	cases := map[string]map[int]string{
		"no other quote":          {10: `10,vessel,"KOTI,,,,`},
		"later quoted name":       {10: `10,vessel,"KOTI,,,,`, 15: `15,vessel,"SHIP, 15",,,,`},
		"quoted name next line":   {10: `10,vessel,"KOTI,,,,`, 11: `11,vessel,"SHIP 11",,,,`},
		"later stray quote":       {10: `10,vessel,"KOTI,,,,`, 16: `16,vessel,SHIP 16",,,,`},
		"later quoted last field": {10: `10,vessel,"KOTI,,,,`, 20: `20,vessel,SHIP 20,,,,"KP"`},
	}
	for name, bad := range cases {
		rows, errLines, err := readAll(t, portfolio(bad), batchCols, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(rows) != 29 || len(errLines) != 1 || errLines[0] != 11 {
			t.Errorf("%s: %d rows, errors on lines %v; want 29 rows, one error on line 11", name, len(rows), errLines)
		}
		for _, r := range rows {
			if r.Get("id") == "10" {
				t.Errorf("%s: row 10 read as %q", name, r.Cells)
			}
		}
	}
}

// A quoted field with a line break in it, as spreadsheets export a cell
// with several lines, is one value.
func TestQuotedLineBreak(t *testing.T) {
	in := "id,name,flag\n1,\"RYONG\nGUN BONG\",KP\n2,\"A \"\"B\"\"\",KP\n3,\"X\r\nY\",KP\n"
	rows, errLines, err := readAll(t, in, []Column{{Name: "id"}, {Name: "name"}, {Name: "flag"}}, Options{})
	if err != nil || len(errLines) != 0 || len(rows) != 3 {
		t.Fatalf("%v %v %d", err, errLines, len(rows))
	}
	if rows[0].Get("name") != "RYONG\nGUN BONG" || rows[0].Line != 2 || rows[1].Get("name") != `A "B"` || rows[1].Line != 4 || rows[2].Get("name") != "X\nY" {
		t.Errorf("rows %+v", rows)
	}
}

func TestSemicolonBOMAliasesSubset(t *testing.T) {
	in := "\ufeffIMO Number;Vessel Name;Owner\r\n8606173;RYONG GUN BONG;x\r\n\r\n;;\r\n9417115;\"CHON; MA SAN\";y\r\n"
	rows, errLines, err := readAll(t, in, batchCols, Options{})
	if err != nil || len(errLines) != 0 {
		t.Fatal(err, errLines)
	}
	if len(rows) != 2 || rows[0].Get("imo") != "8606173" || rows[1].Get("name") != "CHON; MA SAN" || rows[1].Get("mmsi") != "" || rows[1].Line != 5 {
		t.Errorf("rows %+v", rows)
	}
	rd, _ := NewReader(strings.NewReader(in), batchCols, Options{})
	h := rd.Header()
	if h.Comma != ';' || h.Has(0) || !h.Has(2) || !h.Has(3) || !reflect.DeepEqual(h.Unknown, []string{"Owner"}) {
		t.Errorf("header %+v", h)
	}
}

func TestHeaderErrors(t *testing.T) {
	cols := []Column{{Name: "name", Required: true}, {Name: "imo"}}
	for in, want := range map[string]error{
		"":                 ErrNoHeader,
		"\n\n":             ErrNoHeader,
		"imo,flag\n1,2\n":  ErrMissingColumn,
		"name,NAME\nA,B\n": ErrDuplicate,
	} {
		_, err := NewReader(strings.NewReader(in), cols, Options{})
		var he *HeaderError
		if !errors.Is(err, want) || !errors.As(err, &he) {
			t.Errorf("%q: %v, want %v", in, err, want)
		}
	}
	_, err := NewReader(strings.NewReader("imo\n1\n"), cols, Options{})
	if err == nil || !strings.Contains(err.Error(), "name") {
		t.Errorf("missing column not named: %v", err)
	}
}

func TestLimits(t *testing.T) {
	lim := Limits{MaxFieldBytes: 10, MaxColumns: 4, MaxRows: 3, MaxLineBytes: 100}
	in := "id,name\n1,SHORT\n2,FAR TOO LONG A NAME\n3,a,b,c,d,e\n4," + strings.Repeat("X", 300) + "\n5,OK\n6,OK\n7,OK\n8,OK\n"
	rows, errLines, err := readAll(t, in, []Column{{Name: "id"}, {Name: "name"}}, Options{Limits: lim})
	var le *LimitError
	if !errors.As(err, &le) || !errors.Is(err, ErrTooManyRows) || le.NotRead != 2 || le.Line != 8 {
		t.Fatalf("limit error %v", err)
	}
	if len(rows) != 3 || !reflect.DeepEqual(errLines, []int{3, 4, 5}) {
		t.Errorf("%d rows, errors %v", len(rows), errLines)
	}
	// Extra non-empty cells past the header are an error; empty ones not.
	rows, errLines, _ = readAll(t, "a,b\n1,2,,\n1,2,3\n", []Column{{Name: "a"}, {Name: "b"}}, Options{})
	if len(rows) != 1 || !reflect.DeepEqual(errLines, []int{3}) {
		t.Errorf("%d rows, errors %v", len(rows), errLines)
	}
}

func TestXLSXRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, XLSX, []string{"IMO", "Name", "Flag"})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]string{"8606173", "RYONG GUN BONG", "KP"})
	w.Write([]string{"", "=HYPERLINK(\"x\")"})
	w.Write([]string{"9417115", strings.Repeat("Ж", MaxXLSXCell+5), "\x01KP"})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.(*XLSXWriter).Truncated() != 1 {
		t.Errorf("truncated %d", w.(*XLSXWriter).Truncated())
	}
	rows, errLines, err := readAll(t, buf.String(), batchCols, Options{})
	if err != nil || len(errLines) != 0 || len(rows) != 3 {
		t.Fatalf("%v %v %d", err, errLines, len(rows))
	}
	if rows[0].Get("imo") != "8606173" || rows[0].Line != 2 || rows[1].Get("name") != `=HYPERLINK("x")` || rows[2].Get("flag") != "KP" {
		t.Errorf("rows %+v", rows[:2])
	}
	if n := len([]rune(rows[2].Get("name"))); n != MaxXLSXCell {
		t.Errorf("long cell read back with %d characters", n)
	}
}

func TestCSVWriter(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, CSV, []string{"a", "b", "c"})
	w.Write([]string{"=1+2", "-36.88", "x,\"y\""})
	w.Write([]string{"@SUM(A1)"})
	w.Close()
	want := "a,b,c\r\n'=1+2,-36.88,\"x,\"\"y\"\"\"\r\n'@SUM(A1),,\r\n"
	if buf.String() != want {
		t.Errorf("got %q\nwant %q", buf.String(), want)
	}
}

// FuzzReader reads arbitrary input as a batch file: no panic, rows in line
// order, every row with one value per column, row errors with a line, and
// rows plus errors never more than the lines.
func FuzzReader(f *testing.F) {
	f.Add(portfolio(map[int]string{10: `10,vessel,"KOTI,,,,`}))
	f.Add("IMO;Name\n8606173;\"A\nB\"\n")
	f.Add("\ufeffname\n\"\"\"\n")
	f.Add("name,imo\n\"a\"b,1\n\"x\"\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		rd, err := NewReader(strings.NewReader(in), batchCols, Options{Limits: Limits{MaxRows: 1000}})
		if err != nil {
			return
		}
		defer rd.Close()
		lines := strings.Count(in, "\n") + 1
		last, n := 0, 0
		for {
			r, err := rd.Read()
			if err == io.EOF {
				break
			}
			var re *RowError
			if errors.As(err, &re) {
				if re.Line <= last || re.Line > lines {
					t.Fatalf("error line %d after %d (of %d)", re.Line, last, lines)
				}
				last = re.Line
				n++
				continue
			}
			if err != nil {
				return
			}
			if r.Line <= last || r.Line > lines || len(r.Values) != len(batchCols) {
				t.Fatalf("row %+v after line %d", r, last)
			}
			last = r.Line
			n++
		}
		if n > lines {
			t.Fatalf("%d rows and errors from %d lines", n, lines)
		}
	})
}

// FuzzRecordsLikeEncodingCSV: where encoding/csv reads the input cleanly
// into records of one width without line breaks in fields,
// RecordReader reads the same records.
func FuzzRecordsLikeEncodingCSV(f *testing.F) {
	f.Add("a,b\n1,2\n")
	f.Add("a,\"b,c\"\n\"\"\"x\",y\n")
	f.Add("x\n\ny\n")
	f.Fuzz(func(t *testing.T, in string) {
		if strings.ContainsAny(in, "\r") || strings.HasPrefix(in, "\ufeff") {
			return
		}
		cr := csv.NewReader(strings.NewReader(in))
		want, err := cr.ReadAll()
		if err != nil || len(want) == 0 {
			return
		}
		for _, rec := range want {
			if len(rec) != len(want[0]) {
				return
			}
			for _, c := range rec {
				if strings.Contains(c, "\n") {
					return
				}
			}
		}
		rr := NewRecordReader(strings.NewReader(in), ',', Limits{})
		rr.SetFields(len(want[0]))
		var got [][]string
		for {
			rec, err := rr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%q: %v", in, err)
			}
			got = append(got, rec.Cells)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %q\nwant %q", in, got, want)
		}
	})
}

// benchInput is a 100,000-row batch file.
func benchInput() []byte {
	var b bytes.Buffer
	b.WriteString("id,type,name,imo,mmsi,call_sign,flag\n")
	for i := 0; i < 100_000; i++ {
		fmt.Fprintf(&b, "%d,vessel,\"SHIP, NO. %d\",IMO %d,44%07d,HM%04d,KP\n", i, i, 9000000+i, i, i%10000)
	}
	return b.Bytes()
}

// BenchmarkReader reads a 100,000-row batch file with Reader.
func BenchmarkReader(b *testing.B) {
	in := benchInput()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		rd, err := NewReader(bytes.NewReader(in), batchCols, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := rd.Read(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkEncodingCSV reads the same file with encoding/csv, for scale.
func BenchmarkEncodingCSV(b *testing.B) {
	in := benchInput()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		cr := csv.NewReader(bytes.NewReader(in))
		for {
			if _, err := cr.Read(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}
