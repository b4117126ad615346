package pipeline_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/internal/pipeline"
)

// countingReader gives a first line that never ends ("mmsi," then n
// bytes of 'a') and counts what was read of it.
type countingReader struct {
	n, read int64
	started bool
}

func (r *countingReader) Read(p []byte) (int, error) {
	if !r.started {
		r.started = true
		return copy(p, "mmsi,"), nil
	}
	if r.read >= r.n {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.n-r.read)
	for i := range k {
		p[i] = 'a'
	}
	r.read += k
	return int(k), nil
}

// TestPublishCSVLongHeader: a CSV whose first line never ends (a
// gzipped upload of a few MB can be GB of it) is refused after at most a
// line's worth of bytes, not read whole into memory for the message
// header.
func TestPublishCSVLongHeader(t *testing.T) {
	r := &countingReader{n: 256 << 20}
	_, err := (&pipeline.Publisher{}).PublishCSV(context.Background(), "id", "big.csv", r)
	if err == nil || !strings.Contains(err.Error(), "header") {
		t.Errorf("a header line of 256 MiB: %v", err)
	}
	if r.read > 1<<20 {
		t.Errorf("read %d MiB of the header line before refusing it", r.read>>20)
	}
}
