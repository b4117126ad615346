package sanctions

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"io"
	"os"
	"strings"
	"testing"
)

func TestXMLScanner(t *testing.T) {
	doc := `<?xml version='1.0' encoding='UTF-8'?>
<!DOCTYPE x>
<!-- a comment with <tags> and > -->
<ns:ROOT a='1' dateGenerated="2026-02-27T00:00:09Z" b="x>y">
  <REC><NAME>A &amp; B &lt;C&gt; &#233;&#x41; &unknown;</NAME><EMPTY/><CD><![CDATA[<raw> & text]]></CD></REC>
  <OTHER><REC><NAME>  second
  line </NAME></REC></OTHER>
</ns:ROOT>
trailing whitespace is fine
`
	var got []*xmlNode
	var root *xmlNode
	_, err := walkRecords(strings.NewReader(doc), "ROOT", map[string]bool{"REC": true}, func(n *xmlNode) { root = n }, func(n *xmlNode, line int) { got = append(got, n) })
	if err != nil {
		t.Fatal(err)
	}
	if root.attr("dateGenerated") != "2026-02-27T00:00:09Z" || root.attr("b") != "x>y" || root.attr("a") != "1" || root.attr("missing") != "" {
		t.Errorf("attrs %q", root.attrs)
	}
	if len(got) != 2 {
		t.Fatalf("%d records", len(got))
	}
	if v := got[0].get("NAME"); v != "A & B <C> éA &unknown;" {
		t.Errorf("entities: %q", v)
	}
	if got[0].child("EMPTY") == nil || got[0].get("CD") != "<raw> & text" {
		t.Errorf("empty/cdata: %+v", got[0].kids)
	}
	if clean(got[1].get("NAME")) != "second line" {
		t.Errorf("second %q", got[1].get("NAME"))
	}
	bad := map[string]string{
		"truncated":     `<ROOT><REC><NAME>x</NAME>`,
		"mismatch":      `<ROOT><REC><NAME>x</NAMEX></REC></ROOT>`,
		"wrong root":    `<OTHER/>`,
		"text first":    "\x00\x01binary<ROOT/>",
		"stray end":     `<ROOT></REC></ROOT>`,
		"open tag":      `<ROOT><REC a="unterminated>`,
		"empty":         ``,
		"bad name":      `<ROOT>< REC/></ROOT>`,
		"end in record": `<ROOT><REC>`,
	}
	for name, d := range bad {
		if _, err := walkRecords(strings.NewReader(d), "ROOT", map[string]bool{"REC": true}, nil, func(*xmlNode, int) {}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// The line reported is where the document broke.
	line, err := walkRecords(strings.NewReader("<ROOT>\n<REC>\n<A>x</B>\n</REC></ROOT>"), "ROOT", map[string]bool{"REC": true}, nil, func(*xmlNode, int) {})
	if err == nil || line != 3 {
		t.Errorf("line %d, err %v", line, err)
	}
}

// A gigabyte of text with no tag in it fails without holding it in memory.
func TestXMLScannerHugeToken(t *testing.T) {
	r := io.MultiReader(strings.NewReader("<ROOT><REC><A>"), io.LimitReader(zeros{}, 1<<30))
	_, err := walkRecords(r, "ROOT", map[string]bool{"REC": true}, nil, func(*xmlNode, int) {})
	if err == nil || !strings.Contains(err.Error(), "16 MiB") {
		t.Errorf("err %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

func unSnapshot(b *testing.B) []byte {
	f, err := os.Open("snapshot/data/un/un_consolidated_2026-02-27.xml.gz")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkXMLScan and BenchmarkXMLStdlib read the 2 MB UN list into the
// same records, with this package's scanner and with encoding/xml.
func BenchmarkXMLScan(b *testing.B) {
	data := unSnapshot(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		_, err := walkRecords(bytes.NewReader(data), "CONSOLIDATED_LIST", map[string]bool{"INDIVIDUAL": true, "ENTITY": true}, nil, func(node *xmlNode, _ int) {
			unRecordOf(node)
			n++
		})
		if err != nil || n != 1003 {
			b.Fatal(n, err)
		}
	}
}

func BenchmarkXMLStdlib(b *testing.B) {
	data := unSnapshot(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		d := xml.NewDecoder(bytes.NewReader(data))
		n := 0
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if se, ok := tok.(xml.StartElement); ok && (se.Name.Local == "INDIVIDUAL" || se.Name.Local == "ENTITY") {
				var rec unRecord
				if err := d.DecodeElement(&rec, &se); err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
		if n != 1003 {
			b.Fatal(n)
		}
	}
}
