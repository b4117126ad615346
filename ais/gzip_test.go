package ais

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// realGzip is a gzip file of shared/data/ais, or its copy in testdata.
func realGzip(t *testing.T, name string) []byte {
	t.Helper()
	for _, p := range []string{filepath.Join("..", "..", "shared", "data", "ais", name), filepath.Join("testdata", name)} {
		if b, err := os.ReadFile(p); err == nil {
			return b
		}
	}
	t.Skipf("%s not found", name)
	return nil
}

// A .gz input cut short (an interrupted copy, a full disk) must never
// read as a complete file: wherever the cut, reading ends in an error
// that names the file and wraps io.ErrUnexpectedEOF, after the messages
// before the cut.
func TestTruncatedGzipIsAnError(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"dma_aisabnormal_2013-11-12_ais-sample.nmea.gz", "amsa_risky_2012-01-27_ais.nmea.gz", "marinecadastre_2022-01-03_first99999rows.csv.gz"} {
		data := realGzip(t, name)
		full := readInput(t, filepath.Join(dir, "full-"+name), data)
		if full.err != io.EOF || full.messages == 0 {
			t.Fatalf("%s whole: %v, %d messages", name, full.err, full.messages)
		}
		for _, cut := range []int{len(data) / 2, 5, 12, 1000, len(data) - 9, len(data) - 4, len(data) - 1} {
			path := filepath.Join(dir, "cut-"+name)
			got := readInput(t, path, data[:cut])
			if got.err == io.EOF || !errors.Is(got.err, io.ErrUnexpectedEOF) || !strings.Contains(got.err.Error(), path) || !strings.Contains(got.err.Error(), "truncated") {
				t.Errorf("%s cut at %d of %d: %v", name, cut, len(data), got.err)
			}
			if cut == len(data)/2 && (got.messages == 0 || got.messages >= full.messages) {
				t.Errorf("%s cut in half: %d messages of %d", name, got.messages, full.messages)
			}
		}
	}
}

type readResult struct {
	messages int
	err      error
}

// readInput writes data to path and reads it with OpenInput to the end.
func readInput(t *testing.T, path string, data []byte) readResult {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	src, closer, err := OpenInput(context.Background(), path, FeedOptions{})
	if err != nil {
		return readResult{err: err}
	}
	defer closer.Close()
	var m Message
	n := 0
	for {
		if err := src.Next(&m); err != nil {
			return readResult{n, err}
		}
		n++
	}
}
