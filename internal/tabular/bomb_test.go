package tabular

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"testing"
)

// smallXLSX is a real workbook of a header and one row.
func smallXLSX(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, XLSX, []string{"name", "imo"})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]string{"KOTI", "9417115"})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// deflated compresses b on its own, as non-final blocks ending on a byte
// boundary (a sync flush), or as the final block: such pieces concatenate
// into one deflate stream.
func deflated(t testing.TB, b []byte, final bool) []byte {
	var out bytes.Buffer
	fw, _ := flate.NewWriter(&out, flate.BestCompression)
	fw.Write(b)
	if final {
		fw.Close()
	} else {
		fw.Flush()
	}
	return out.Bytes()
}

// bombXLSX is smallXLSX with its worksheet padded by mib MiB of spaces
// after <sheetData>: a valid workbook of the same rows, whose sheet
// expands about 1,000 times over (one compressed MiB repeated).
func bombXLSX(t testing.TB, mib int) []byte {
	t.Helper()
	src := smallXLSX(t)
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		if f.Name != "xl/worksheets/sheet1.xml" {
			if err := zw.Copy(f); err != nil {
				t.Fatal(err)
			}
			continue
		}
		rc, _ := f.Open()
		var sheet bytes.Buffer
		sheet.ReadFrom(rc)
		rc.Close()
		pre, post, ok := strings.Cut(sheet.String(), "<sheetData>")
		if !ok {
			t.Fatal("no <sheetData> in the sheet")
		}
		pre += "<sheetData>"
		pad := bytes.Repeat([]byte(" "), 1<<20)
		var comp bytes.Buffer
		comp.Write(deflated(t, []byte(pre), false))
		block := deflated(t, pad, false)
		crc := crc32.ChecksumIEEE([]byte(pre))
		for range mib {
			comp.Write(block)
			crc = crc32.Update(crc, crc32.IEEETable, pad)
		}
		comp.Write(deflated(t, []byte(post), true))
		crc = crc32.Update(crc, crc32.IEEETable, []byte(post))
		h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, CRC32: crc, CompressedSize64: uint64(comp.Len()),
			UncompressedSize64: uint64(len(pre)+len(post)) + uint64(mib)<<20}
		w, err := zw.CreateRaw(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(comp.Bytes())
	}
	zw.Close()
	return out.Bytes()
}

// TestXLSXBombRefused: a 300 KiB workbook whose sheet expands to 300 MiB
// (inside excelize's old limit of 16 times the 64 MiB file cap) is
// refused from the zip's directory, before anything is unzipped, with the
// part and its ratio named; a padded but ordinary-ratio file is not.
func TestXLSXBombRefused(t *testing.T) {
	bomb := bombXLSX(t, 300)
	t.Logf("bomb: %d bytes, expands to 300 MiB", len(bomb))
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // excelize's temporary files, if it got that far
	_, err := NewReader(bytes.NewReader(bomb), batchCols, Options{})
	var ee *ExpandError
	if !errors.As(err, &ee) || ee.Part != "xl/worksheets/sheet1.xml" || ee.Ratio < 500 {
		t.Fatalf("bomb: err %v, want an *ExpandError naming the sheet", err)
	}
	if !strings.Contains(err.Error(), "expands") || !strings.Contains(err.Error(), "300 MiB") {
		t.Errorf("message: %v", err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("files left in the temporary directory: %v", ents)
	}
	// A 2 MiB pad (ratio over 100) is refused too; the same workbook
	// without the pad reads.
	if _, err := NewReader(bytes.NewReader(bombXLSX(t, 2)), batchCols, Options{}); !errors.As(err, &ee) {
		t.Errorf("2 MiB pad: %v", err)
	}
	rd, err := NewReader(bytes.NewReader(bombXLSX(t, 0)), batchCols, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if r, err := rd.Read(); err != nil || r.Get("name") != "KOTI" {
		t.Errorf("unpadded: %+v %v", r, err)
	}
}

// TestXLSXExpandedTotal: parts of ordinary ratio that together exceed
// the total are refused from their directory sizes, with both figures.
func TestXLSXExpandedTotal(t *testing.T) {
	src := smallXLSX(t)
	zr, _ := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		zw.Copy(f)
	}
	// Two parts each claiming 150 MiB from 2 MiB stored: ratio 75.
	for _, n := range []string{"xl/media/a.bin", "xl/media/b.bin"} {
		w, _ := zw.CreateRaw(&zip.FileHeader{Name: n, Method: zip.Store, CompressedSize64: 2 << 20, UncompressedSize64: 150 << 20})
		w.Write(make([]byte, 2<<20))
	}
	zw.Close()
	_, err := NewReader(bytes.NewReader(out.Bytes()), batchCols, Options{})
	if err == nil || !strings.Contains(err.Error(), "the workbook expands to 301 MiB, more than the 256 MiB allowed") {
		t.Fatalf("err %v", err)
	}
	// A smaller cap given refuses a smaller workbook.
	_, err = NewReader(bytes.NewReader(bombXLSX(t, 0)), batchCols, Options{MaxXLSXExpanded: 1 << 10})
	if err == nil || !strings.Contains(err.Error(), "more than the 1024 bytes allowed") {
		t.Errorf("1 KiB cap: %v", err)
	}
}

// FuzzXLSX reads arbitrary bytes that start as a zip file: no panic, and
// a workbook read never expands past the limit given (its directory's
// sizes, which archive/zip holds every part to).
func FuzzXLSX(f *testing.F) {
	f.Add(smallXLSX(f))
	f.Add(bombXLSX(f, 2))
	const limit = 4 << 20
	f.Fuzz(func(t *testing.T, in []byte) {
		if !bytes.HasPrefix(in, []byte("PK\x03\x04")) {
			return
		}
		rd, err := NewReader(bytes.NewReader(in), batchCols, Options{MaxXLSXExpanded: limit, Limits: Limits{MaxRows: 1000}})
		if err != nil {
			return
		}
		defer rd.Close()
		zr, err := zip.NewReader(bytes.NewReader(in), int64(len(in)))
		if err != nil {
			t.Fatalf("read as XLSX, not as a zip: %v", err)
		}
		var total uint64
		for _, f := range zr.File {
			total += f.UncompressedSize64
		}
		if total > limit {
			t.Fatalf("read a workbook of %d bytes expanded, over %d", total, limit)
		}
		for range 1000 {
			if _, err := rd.Read(); err == io.EOF {
				break
			}
		}
	})
}
