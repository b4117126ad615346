package ais

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// FeedOptions tune live feeds.
type FeedOptions struct {
	// Log receives one line per connection event (may be nil).
	Log io.Writer
	// MinBackoff and MaxBackoff bound the wait between TCP reconnects
	// (defaults 500 ms and 30 s; the wait doubles after each failure and
	// resets once data flows).
	MinBackoff, MaxBackoff time.Duration
	// MaxReconnects stops a TCP feed after this many failed connections
	// in a row; 0 means retry for ever.
	MaxReconnects int
	// Read, when set, is advanced by the bytes read from a file input (as
	// stored: compressed bytes for gzip), for progress displays; another
	// goroutine may read it.
	Read *atomic.Int64
}

// OpenInput opens an input for reading messages:
//
//	PATH              NMEA log (plain or gzip) or decoded CSV export, detected from content
//	-                 standard input
//	tcp://HOST:PORT   TCP client, reconnecting with backoff
//	udp://HOST:PORT   UDP listener on that address (HOST may be empty)
//
// Live feeds stamp messages that carry no time with the time they arrived.
// The returned Closer releases the input; cancelling ctx ends a live feed
// with io.EOF.
func OpenInput(ctx context.Context, name string, opt FeedOptions) (Source, io.Closer, error) {
	switch {
	case strings.HasPrefix(name, "tcp://"):
		f := &tcpFeed{ctx: ctx, addr: strings.TrimPrefix(name, "tcp://"), opt: opt}
		r := newStreamReader(f)
		r.Decoder.Now = time.Now
		return r, f, nil
	case strings.HasPrefix(name, "udp://"):
		pc, err := net.ListenPacket("udp", strings.TrimPrefix(name, "udp://"))
		if err != nil {
			return nil, nil, fmt.Errorf("listen %s: %w", name, err)
		}
		f := &udpFeed{ctx: ctx, pc: pc}
		r := newStreamReader(f)
		r.Decoder.Now = time.Now
		return r, f, nil
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
	src, err := detect(r)
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
func detect(r io.Reader) (Source, error) {
	br, err := gunzipped(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return nil, err
	}
	head, _ := br.Peek(256)
	h := bytes.ToLower(bytes.TrimPrefix(head, []byte("\ufeff")))
	h = bytes.TrimLeft(h, "\"# ")
	if bytes.HasPrefix(h, []byte("mmsi")) || bytes.HasPrefix(h, []byte("timestamp")) {
		return NewCSVReader(br)
	}
	return NewReader(br)
}

// tcpFeed is an io.Reader over a TCP connection that reconnects.
type tcpFeed struct {
	ctx     context.Context
	addr    string
	opt     FeedOptions
	conn    net.Conn
	backoff time.Duration
	fails   int
	closed  bool
}

func (f *tcpFeed) logf(format string, a ...any) {
	if f.opt.Log != nil {
		fmt.Fprintf(f.opt.Log, format+"\n", a...)
	}
}

func (f *tcpFeed) Read(p []byte) (int, error) {
	for {
		if f.closed || f.ctx.Err() != nil {
			return 0, io.EOF
		}
		if f.conn == nil {
			if err := f.connect(); err != nil {
				return 0, err
			}
			continue
		}
		// A deadline lets a cancelled context end a quiet feed.
		f.conn.SetReadDeadline(time.Now().Add(time.Second))
		n, err := f.conn.Read(p)
		if n > 0 {
			f.backoff, f.fails = 0, 0
			return n, nil
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			continue
		}
		f.logf("tcp %s: connection lost: %v", f.addr, err)
		f.conn.Close()
		f.conn = nil
		// A newline ends any partial line so it cannot join the next
		// connection's first line.
		if len(p) > 0 {
			p[0] = '\n'
			return 1, nil
		}
	}
}

func (f *tcpFeed) connect() error {
	minB, maxB := f.opt.MinBackoff, f.opt.MaxBackoff
	if minB <= 0 {
		minB = 500 * time.Millisecond
	}
	if maxB <= 0 {
		maxB = 30 * time.Second
	}
	for {
		if f.ctx.Err() != nil {
			return io.EOF
		}
		var d net.Dialer
		dctx, cancel := context.WithTimeout(f.ctx, 10*time.Second)
		conn, err := d.DialContext(dctx, "tcp", f.addr)
		cancel()
		if err == nil {
			f.logf("tcp %s: connected", f.addr)
			f.conn = conn
			return nil
		}
		f.fails++
		if f.opt.MaxReconnects > 0 && f.fails >= f.opt.MaxReconnects {
			return fmt.Errorf("tcp %s: %d connection attempts failed, last: %w", f.addr, f.fails, err)
		}
		if f.backoff == 0 {
			f.backoff = minB
		} else {
			f.backoff = min(2*f.backoff, maxB)
		}
		f.logf("tcp %s: %v; retrying in %s", f.addr, err, f.backoff)
		select {
		case <-f.ctx.Done():
			return io.EOF
		case <-time.After(f.backoff):
		}
	}
}

func (f *tcpFeed) Close() error {
	f.closed = true
	if f.conn != nil {
		return f.conn.Close()
	}
	return nil
}

// udpFeed is an io.Reader over datagrams, each ending a line.
type udpFeed struct {
	ctx context.Context
	pc  net.PacketConn
	buf []byte
	pen []byte
}

func (f *udpFeed) Read(p []byte) (int, error) {
	for len(f.pen) == 0 {
		if f.ctx.Err() != nil {
			return 0, io.EOF
		}
		if f.buf == nil {
			f.buf = make([]byte, 65536)
		}
		f.pc.SetReadDeadline(time.Now().Add(time.Second))
		n, _, err := f.pc.ReadFrom(f.buf[:len(f.buf)-1])
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return 0, io.EOF
		}
		if n > 0 && f.buf[n-1] != '\n' {
			f.buf[n] = '\n'
			n++
		}
		f.pen = f.buf[:n]
	}
	n := copy(p, f.pen)
	f.pen = f.pen[n:]
	return n, nil
}

func (f *udpFeed) Close() error { return f.pc.Close() }

// LocalAddr is the address a UDP feed listens on (for tests and logs).
func LocalAddr(c io.Closer) net.Addr {
	if u, ok := c.(*udpFeed); ok {
		return u.pc.LocalAddr()
	}
	return nil
}
