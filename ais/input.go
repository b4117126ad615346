package ais

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
)

// OpenInput opens an input for reading messages:
//
//	PATH              NMEA log (plain or gzip) or decoded CSV export, detected from content
//	-                 standard input
//	tcp://HOST:PORT   TCP client, reconnecting with backoff
//	udp://HOST:PORT   UDP listener on that address (HOST may be empty)
//
// Live feeds stamp messages that carry no time with the time they arrived;
// for them the Source and the Closer are the same *Feed (OpenFeed). The
// returned Closer releases the input; cancelling ctx ends a live feed with
// io.EOF. Errors of a file's gzip layer name the file.
func OpenInput(ctx context.Context, name string, opt FeedOptions) (Source, io.Closer, error) {
	if IsLive(name) {
		f, err := OpenFeed(ctx, name, opt)
		if err != nil {
			return nil, nil, err
		}
		return f, f, nil
	}
	var rc io.ReadCloser = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, err
		}
		rc = f
	}
	var r io.Reader = rc
	if opt.Read != nil {
		r = countingReader{rc, opt.Read}
	}
	src, err := detect(r, name)
	if err != nil {
		rc.Close()
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return src, rc, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// detect reads past any gzip layer and picks the CSV or NMEA reader.
// name prefixes the errors of the gzip layer.
func detect(r io.Reader, name string) (Source, error) {
	if name == "-" {
		name = "standard input"
	}
	br, err := gunzipped(bufio.NewReaderSize(r, 64<<10), name)
	if err != nil {
		return nil, err
	}
	// The CSV header is the first line: 256 bytes tell (a stream on
	// standard input is not held back for more). Anything else is read
	// as NMEA, whose decoder skips comment and blank lines (Sniff).
	if head, _ := br.Peek(256); LooksCSV(head) {
		return NewCSVReader(br)
	}
	return &Reader{Decoder: NewDecoder(), r: br}, nil
}

// NewSource reads AIS from r as a file's reader does (OpenInput): past
// any gzip layer, a decoded CSV export (MarineCadastre, DMA) or NMEA,
// told from the first bytes. Case files read their excerpts so.
func NewSource(r io.Reader) (Source, error) {
	return detect(r, "")
}

// IsLive reports whether an input name is a live feed (tcp:// or udp://).
func IsLive(name string) bool {
	return strings.HasPrefix(name, "tcp://") || strings.HasPrefix(name, "udp://")
}
