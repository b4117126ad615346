package sanctions_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/snapshot"
)

// memFiles decompresses the embedded snapshot once so the benchmarks time
// parsing, not gunzip.
func memFiles(b *testing.B) ([]sanctions.File, int64) {
	b.Helper()
	var out []sanctions.File
	var total int64
	for _, f := range snapshot.Files() {
		rc, err := f.Open()
		if err != nil {
			b.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			b.Fatal(err)
		}
		total += int64(len(data))
		out = append(out, sanctions.File{Name: f.Name, ModTime: f.ModTime, Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}})
	}
	return out, total
}

// BenchmarkLoadAllLists parses every embedded list version (two UN
// snapshots, the OFAC SDN CSV set, the OFAC consolidated list as CSV and
// XML, the UK tables and the EU annexes: 13.4 MB, 30,102 entities) on one
// goroutine.
func BenchmarkLoadAllLists(b *testing.B) {
	files, total := memFiles(b)
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		res := sanctions.LoadFiles(files)
		if len(res.Failed) > 0 {
			b.Fatal(res.Failed)
		}
	}
}

// BenchmarkLoadList times each format on its own.
func BenchmarkLoadList(b *testing.B) {
	files, _ := memFiles(b)
	bundles, _ := sanctions.Group(files)
	for _, bundle := range bundles {
		b.Run(bundle.List+"/"+string(firstFormat(bundle)), func(b *testing.B) {
			var n int64
			for _, f := range bundle.Files {
				rc, _ := f.Open()
				m, _ := io.Copy(io.Discard, rc)
				n += m
			}
			b.SetBytes(n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := sanctions.Load(bundle, time.Time{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func firstFormat(b sanctions.Bundle) sanctions.Format {
	for _, f := range []sanctions.Format{sanctions.FormatUNXML, sanctions.FormatOFACXML, sanctions.FormatOFACMain, sanctions.FormatUKSubjects, sanctions.FormatEUJournal} {
		if _, ok := b.Files[f]; ok {
			return f
		}
	}
	return ""
}

// BenchmarkMerge joins the newest version of each list.
func BenchmarkMerge(b *testing.B) {
	files, _ := memFiles(b)
	latest := sanctions.Latest(sanctions.LoadFiles(files).Datasets)
	b.ReportAllocs()
	for b.Loop() {
		sanctions.Merge(latest...)
	}
}
