package ais

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxLine is the longest line a Reader accepts. AIS sentences are under
// 100 bytes and tag blocks add a few dozen; anything longer is counted as
// ReasonTooLong and skipped without being held in memory.
const MaxLine = 4096

// Reader reads NMEA lines from a stream and yields messages.
type Reader struct {
	Decoder *Decoder
	r       *bufio.Reader
}

// NewReader reads NMEA text from r. A gzip stream is recognised by its
// magic bytes and decompressed.
func NewReader(r io.Reader) (*Reader, error) {
	br, err := gunzipped(bufio.NewReaderSize(r, 64<<10), "")
	if err != nil {
		return nil, err
	}
	return &Reader{Decoder: NewDecoder(), r: br}, nil
}

// gunzipped returns br, or a reader of its decompressed content when it
// starts with the gzip magic bytes. name, when not empty, prefixes the
// errors of the gzip layer.
func gunzipped(br *bufio.Reader, name string) (*bufio.Reader, error) {
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, gzipError("", err)
		}
		return bufio.NewReaderSize(&gzipLayer{zr: zr, name: name}, 64<<10), nil
	}
	return br, nil
}

// gzipLayer names the errors of a gzip stream. A stream cut short (a
// copy interrupted, a disk filled) ends in io.ErrUnexpectedEOF, never in
// io.EOF, so a caller cannot take a truncated file for a complete one.
type gzipLayer struct {
	zr   *gzip.Reader
	name string
}

func (g *gzipLayer) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		err = gzipError(g.name, err)
	}
	return n, err
}

// gzipError says what a gzip error means for the input: errors.Is still
// finds io.ErrUnexpectedEOF (truncated) or the gzip and flate errors.
func gzipError(name string, err error) error {
	what := "corrupt gzip stream"
	if errors.Is(err, io.ErrUnexpectedEOF) {
		what = "truncated: the gzip stream ends before its end marker (an interrupted copy?)"
	}
	if name == "" {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %s: %w", name, what, err)
}

// newStreamReader reads NMEA text from a live feed: no gzip sniffing, which
// would wait for the first bytes before the caller gets the reader.
func newStreamReader(r io.Reader) *Reader {
	return &Reader{Decoder: NewDecoder(), r: bufio.NewReaderSize(r, 64<<10)}
}

// Next decodes into m the next complete message. At the end of input it
// counts unfinished fragments as orphans and returns io.EOF; an I/O error
// is returned instead, after the messages before it: a gzip stream cut
// short gives an error wrapping io.ErrUnexpectedEOF (named after the file
// when opened with OpenInput), never io.EOF. Bad lines never stop it: they
// are counted in r.Decoder.Stats.
func (r *Reader) Next(m *Message) error {
	for {
		line, err := r.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull || len(line) > MaxLine {
			r.Decoder.Stats.Lines++
			r.Decoder.Stats.Errors[ReasonTooLong]++
			if err == bufio.ErrBufferFull {
				if err = r.skipLine(); err != nil {
					return r.end(err)
				}
			}
			continue
		}
		if len(line) > 0 && r.Decoder.Line(line, m) {
			return nil
		}
		if err != nil {
			return r.end(err)
		}
	}
}

func (r *Reader) skipLine() error {
	for {
		_, err := r.r.ReadSlice('\n')
		if err != bufio.ErrBufferFull {
			return err
		}
	}
}

func (r *Reader) end(err error) error {
	r.Decoder.Flush()
	if err == io.EOF {
		return io.EOF
	}
	return err
}

// Open opens a file of NMEA text (plain or gzip); "-" is standard input.
func Open(name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(os.Stdin), nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// ErrUnsupportedInput reports an input Tidewatch cannot read.
var ErrUnsupportedInput = errors.New("unsupported input")

// IsCSVName reports whether a file name looks like a decoded CSV export.
func IsCSVName(name string) bool {
	n := strings.ToLower(strings.TrimSuffix(strings.ToLower(name), ".gz"))
	return strings.HasSuffix(n, ".csv")
}
