package ais

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Live feed defaults (FeedOptions fields left zero).
const (
	// DefaultMinBackoff is the first wait before reconnecting a TCP feed
	// whose connection failed or was not healthy.
	DefaultMinBackoff = 500 * time.Millisecond
	// DefaultMaxBackoff caps the wait, which doubles after each unhealthy
	// connection.
	DefaultMaxBackoff = 30 * time.Second
	// DefaultHealthyAfter is how long a connection must stay up, having
	// delivered AIS, to count as healthy: it resets the backoff.
	DefaultHealthyAfter = 10 * time.Second
	// DefaultIdleTimeout drops a TCP connection that delivered no valid
	// AIS sentence (silence or garbage) for this long, and reconnects.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultDialTimeout bounds one connection attempt.
	DefaultDialTimeout = 10 * time.Second
)

// FeedOptions tune live feeds. Zero fields take the Default* values.
//
// Reconnection (TCP): a connection is healthy once it has been up for
// HealthyAfter and delivered at least one valid AIS sentence; that resets
// the backoff. Any other end of a connection (a refused or failed dial, a
// connection the peer closes or resets before it is healthy, a connection
// dropped for idleness) is followed by a wait that starts at MinBackoff
// and doubles up to MaxBackoff, with jitter: each wait is drawn uniformly
// from [b/2, b] for the current step b, so feeds that lost the same
// server do not come back in lockstep. A healthy connection that ends is
// redialled at once.
type FeedOptions struct {
	// Log receives one line per connection event (may be nil).
	Log io.Writer
	// MinBackoff and MaxBackoff bound the wait between TCP reconnects
	// (defaults DefaultMinBackoff, DefaultMaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// HealthyAfter is how long a connection must last, with AIS flowing,
	// to reset the backoff (default DefaultHealthyAfter).
	HealthyAfter time.Duration
	// IdleTimeout drops and redials a TCP connection that has delivered
	// no valid AIS sentence for this long, silent or sending garbage
	// (default DefaultIdleTimeout; negative: never).
	IdleTimeout time.Duration
	// DialTimeout bounds one connection attempt (default DefaultDialTimeout).
	DialTimeout time.Duration
	// MaxReconnects stops a TCP feed after this many connection attempts
	// in a row that failed or were not healthy; 0 means retry for ever.
	MaxReconnects int
	// Read, when set, is advanced by the bytes read from a file input (as
	// stored: compressed bytes for gzip), for progress displays; another
	// goroutine may read it.
	Read *atomic.Int64
}

func (o *FeedOptions) withDefaults() FeedOptions {
	c := *o
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = c.MinBackoff
	}
	if c.HealthyAfter <= 0 {
		c.HealthyAfter = DefaultHealthyAfter
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	return c
}

// FeedState is what a live feed is doing.
type FeedState uint8

const (
	FeedConnecting FeedState = iota + 1 // dialling (TCP)
	FeedConnected                       // connected, reading (TCP)
	FeedBackingOff                      // waiting before the next attempt (TCP)
	FeedListening                       // bound and reading datagrams (UDP)
	FeedStopped                         // ended: context cancelled, closed, or gave up
)

var feedStateNames = [...]string{FeedConnecting: "connecting", FeedConnected: "connected", FeedBackingOff: "backing_off", FeedListening: "listening", FeedStopped: "stopped"}

func (s FeedState) String() string {
	if int(s) < len(feedStateNames) && feedStateNames[s] != "" {
		return feedStateNames[s]
	}
	return "unknown"
}

// MarshalText writes the state's name ("backing_off").
func (s FeedState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a state's name.
func (s *FeedState) UnmarshalText(b []byte) error {
	for i, n := range feedStateNames {
		if n != "" && n == string(b) {
			*s = FeedState(i)
			return nil
		}
	}
	return fmt.Errorf("unknown feed state %q", b)
}

// FeedHealth is a snapshot of a live feed (Feed.Health).
type FeedHealth struct {
	// Address is the feed as opened: tcp://HOST:PORT or udp://HOST:PORT.
	Address string    `json:"address"`
	State   FeedState `json:"state"`
	// StateSince is when the feed entered State (wall clock).
	StateSince time.Time `json:"state_since"`
	// Connects counts TCP connections established; Disconnects those that
	// ended while the feed ran (closed by the peer, failed, or dropped for
	// idleness: Errors says which).
	Connects    int64 `json:"connects"`
	Disconnects int64 `json:"disconnects"`
	// Lines, Messages and Bytes count what arrived: lines offered to the
	// decoder, messages decoded, bytes received.
	Lines    int64      `json:"lines"`
	Messages int64      `json:"messages"`
	Bytes    int64      `json:"bytes"`
	Errors   FeedErrors `json:"errors"`
	// LastMessageAt is the wall-clock time the last message arrived;
	// LastEventTime the time carried by the last message that carried one
	// (tag block, epoch field), zero when none has.
	LastMessageAt time.Time `json:"last_message_at,omitzero"`
	LastEventTime time.Time `json:"last_event_time,omitzero"`
	// Backoff is the current backoff step: the wait before the next
	// attempt is drawn from [Backoff/2, Backoff]. Zero after a healthy
	// connection. NextAttempt is when the feed dials again while
	// BackingOff.
	Backoff     time.Duration `json:"backoff_ns"`
	NextAttempt time.Time     `json:"next_attempt,omitzero"`
	// LastError describes the last failure ("" when none).
	LastError string `json:"last_error,omitempty"`
}

// FeedErrors counts what went wrong on a live feed, by reason.
type FeedErrors struct {
	Dial   int64 `json:"dial"`   // connection attempts that failed (refused, unreachable, timed out)
	Closed int64 `json:"closed"` // connections the peer closed
	Read   int64 `json:"read"`   // connections ended by a read error (reset...)
	Idle   int64 `json:"idle"`   // connections dropped after IdleTimeout without a valid AIS sentence
	// Lines counts unusable lines by reason name, as Stats.ErrorsByName.
	Lines map[string]int64 `json:"lines,omitempty"`
}

// Feed is a live AIS feed: a TCP client that reconnects for as long as its
// context lasts, or a UDP listener. It is a Source (Next, Stats, on one
// goroutine) and an io.Closer; Health may be called from any goroutine.
type Feed struct {
	addr   string
	r      *Reader
	ctx    context.Context
	cancel context.CancelFunc
	tcp    *tcpFeed
	udp    *udpFeed
	now    func() time.Time

	// arrived is when the last Read returned bytes: the arrival time of
	// the messages decoded from them.
	arrived time.Time

	mu sync.Mutex // guards h, errs
	h  FeedHealth
	// errs is the decoder's error counts as of the last Next, copied so
	// Health need not touch the decoder.
	errs [numReasons]int64
}

// OpenFeed opens a live feed: "tcp://HOST:PORT" (a client that connects
// on the first Next and reconnects, see FeedOptions) or "udp://HOST:PORT"
// (a listener on that address, bound now). Messages that carry no time get
// the time they arrived. Cancelling ctx or calling Close ends the feed:
// Next then returns io.EOF.
func OpenFeed(ctx context.Context, addr string, opt FeedOptions) (*Feed, error) {
	o := opt.withDefaults()
	cctx, cancel := context.WithCancel(ctx)
	f := &Feed{addr: addr, ctx: cctx, cancel: cancel, now: time.Now}
	switch {
	case strings.HasPrefix(addr, "tcp://"):
		t := &tcpFeed{feed: f, addr: strings.TrimPrefix(addr, "tcp://"), opt: o,
			backoff: backoff{min: o.MinBackoff, max: o.MaxBackoff}}
		f.tcp = t
		f.r = newStreamReader(t)
		t.dec = f.r.Decoder
		f.h.State = FeedConnecting
		context.AfterFunc(cctx, t.wake)
	case strings.HasPrefix(addr, "udp://"):
		pc, err := net.ListenPacket("udp", strings.TrimPrefix(addr, "udp://"))
		if err != nil {
			cancel()
			return nil, fmt.Errorf("listen %s: %w", addr, err)
		}
		u := &udpFeed{feed: f, pc: pc}
		f.udp = u
		f.r = newStreamReader(u)
		f.h.State = FeedListening
		context.AfterFunc(cctx, func() { pc.SetReadDeadline(time.Unix(1, 0)) })
	default:
		cancel()
		return nil, fmt.Errorf("%q: %w (want tcp://HOST:PORT or udp://HOST:PORT)", addr, ErrUnsupportedInput)
	}
	f.h.Address = addr
	f.h.StateSince = f.now()
	return f, nil
}

// Next decodes the next message into m. It returns io.EOF once the feed's
// context is cancelled or Close is called, and an error when a TCP feed
// gives up (FeedOptions.MaxReconnects).
func (f *Feed) Next(m *Message) error {
	err := f.r.Next(m)
	now := f.arrived // when the bytes holding the message were read
	if err != nil {
		now = f.now()
	}
	st := &f.r.Decoder.Stats
	stamped := false
	if err == nil && m.Time.IsZero() {
		m.Time = now.UTC()
		stamped = true
		if st.First.IsZero() {
			st.First = m.Time
		}
		if m.Time.After(st.Last) {
			st.Last = m.Time
		}
	}
	f.mu.Lock()
	f.syncStatsLocked()
	if err == nil {
		f.h.LastMessageAt = now
		if !stamped {
			f.h.LastEventTime = m.Time
		}
	} else {
		f.setStateLocked(FeedStopped, now)
		if err != io.EOF {
			f.h.LastError = err.Error()
		}
	}
	f.mu.Unlock()
	return err
}

// syncStatsLocked copies the decoder's counts into the snapshot. Only the
// goroutine reading the feed (Next, and the Reads under it) calls it.
func (f *Feed) syncStatsLocked() {
	st := &f.r.Decoder.Stats
	f.h.Lines, f.h.Messages = st.Lines, st.Messages
	f.errs = st.Errors
}

// Stats returns the decoder's counts (for the goroutine calling Next).
func (f *Feed) Stats() *Stats { return &f.r.Decoder.Stats }

// Health returns a snapshot of the feed. Safe for concurrent use.
func (f *Feed) Health() FeedHealth {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.h
	h.Errors.Lines = nil
	for r, n := range f.errs {
		if n > 0 {
			if h.Errors.Lines == nil {
				h.Errors.Lines = map[string]int64{}
			}
			h.Errors.Lines[Reason(r).String()] = n
		}
	}
	return h
}

// Run calls fn with each message until the feed ends. It returns nil when
// the feed's context is cancelled or Close is called, fn's error when fn
// fails, and the feed's error when it gives up. m is reused between calls:
// copy what you keep.
func (f *Feed) Run(fn func(m *Message) error) error {
	var m Message
	for {
		if err := f.Next(&m); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		if err := fn(&m); err != nil {
			return err
		}
	}
}

// Close ends the feed; a Next in progress on another goroutine returns
// io.EOF.
func (f *Feed) Close() error {
	f.cancel()
	if f.tcp != nil {
		f.tcp.closeConn()
	}
	if f.udp != nil {
		return f.udp.pc.Close()
	}
	return nil
}

// LocalAddr is the address a UDP feed listens on (nil for TCP).
func (f *Feed) LocalAddr() net.Addr {
	if f.udp != nil {
		return f.udp.pc.LocalAddr()
	}
	return nil
}

// LocalAddr is the address a UDP feed listens on (for tests and logs).
func LocalAddr(c io.Closer) net.Addr {
	if f, ok := c.(*Feed); ok {
		return f.LocalAddr()
	}
	return nil
}

func (f *Feed) setStateLocked(s FeedState, now time.Time) {
	if f.h.State != s {
		f.h.State, f.h.StateSince = s, now
	}
	if s != FeedBackingOff {
		f.h.NextAttempt = time.Time{}
	}
}

// backoff is the reconnect wait: exponential, capped, with jitter.
type backoff struct {
	min, max time.Duration
	step     time.Duration // 0: no failure since the last healthy connection
}

// next advances the step (min, then doubling up to max) and returns a wait
// drawn uniformly from [step/2, step].
func (b *backoff) next() time.Duration {
	if b.step == 0 {
		b.step = b.min
	} else {
		b.step = min(2*b.step, b.max)
	}
	half := b.step / 2
	return half + rand.N(b.step-half+1)
}

func (b *backoff) reset() { b.step = 0 }

// tcpFeed is an io.Reader over a TCP connection that reconnects. Read runs
// on the goroutine calling Feed.Next; wake and closeConn may be called
// from others.
type tcpFeed struct {
	feed *Feed
	addr string
	opt  FeedOptions
	dec  *Decoder // the decoder the bytes go to: its sentence count is "AIS arrived"
	// dial, when set (tests), replaces the TCP dial.
	dial func(ctx context.Context) (net.Conn, error)

	mu   sync.Mutex // guards conn against wake and closeConn
	conn net.Conn

	backoff backoff
	fails   int // attempts in a row that failed or were not healthy
	lastErr error
	// The current connection: when it was made, whether it has delivered
	// a valid sentence, when AIS last arrived (or the connection was made),
	// and the decoder's sentence count at the last look.
	connectedAt  time.Time
	delivered    bool
	healthy      bool
	lastProgress time.Time
	sentences    int64
	partial      bool // the last byte read did not end a line
}

func (t *tcpFeed) logf(format string, a ...any) {
	if t.opt.Log != nil {
		fmt.Fprintf(t.opt.Log, t.feed.addr+": "+format+"\n", a...)
	}
}

// wake makes a blocked Read return (the context ended).
func (t *tcpFeed) wake() {
	t.mu.Lock()
	if t.conn != nil {
		t.conn.SetReadDeadline(time.Unix(1, 0))
	}
	t.mu.Unlock()
}

func (t *tcpFeed) closeConn() {
	t.mu.Lock()
	if t.conn != nil {
		t.conn.Close()
	}
	t.mu.Unlock()
}

// Disconnect reasons.
const (
	endClosed = iota
	endRead
	endIdle
)

func (t *tcpFeed) Read(p []byte) (int, error) {
	ctx := t.feed.ctx
	for {
		if ctx.Err() != nil {
			t.closeConn()
			return 0, io.EOF
		}
		if t.conn == nil {
			if err := t.connect(); err != nil {
				return 0, err
			}
			continue
		}
		now := t.feed.now()
		t.observe(now)
		var deadline time.Time
		if t.opt.IdleTimeout > 0 {
			deadline = t.lastProgress.Add(t.opt.IdleTimeout)
			if !now.Before(deadline) {
				if n := t.disconnect(p, endIdle, fmt.Errorf("no AIS sentence for %s", t.opt.IdleTimeout)); n > 0 {
					return n, nil
				}
				continue
			}
		}
		t.conn.SetReadDeadline(deadline)
		if ctx.Err() != nil { // cancelled before the deadline was set: wake saw the old one
			continue
		}
		n, err := t.conn.Read(p)
		if n > 0 {
			t.partial = p[n-1] != '\n'
			t.feed.arrived = t.feed.now()
			t.feed.mu.Lock()
			t.feed.h.Bytes += int64(n)
			// The bytes of the last Read have been decoded: their bad
			// lines show even when no message comes.
			t.feed.syncStatsLocked()
			t.feed.mu.Unlock()
			return n, nil
		}
		if ctx.Err() != nil {
			continue
		}
		var ne net.Error
		switch {
		case err == nil: // a Read may return nothing and no error
			continue
		case errors.As(err, &ne) && ne.Timeout():
			continue // the idle deadline: decided above with the clock
		case err == io.EOF:
			n = t.disconnect(p, endClosed, errors.New("connection closed by the peer"))
		default:
			n = t.disconnect(p, endRead, err)
		}
		if n > 0 {
			return n, nil
		}
	}
}

// observe notes whether the bytes of the last Read, decoded since, held
// AIS, and whether the connection has become healthy (which resets the
// backoff).
func (t *tcpFeed) observe(now time.Time) {
	if s := t.dec.Stats.Sentences; s != t.sentences {
		t.sentences = s
		t.lastProgress = now
		t.delivered = true
	}
	if t.delivered && !t.healthy && now.Sub(t.connectedAt) >= t.opt.HealthyAfter {
		t.healthy = true
		t.fails = 0
		t.backoff.reset()
		t.feed.mu.Lock()
		t.feed.h.Backoff = 0
		t.feed.mu.Unlock()
	}
}

// disconnect closes the current connection and counts why it ended. When
// the connection's last bytes did not end a line, a newline is put in p
// (and 1 returned), ending the partial line so it cannot join the next
// connection's first line.
func (t *tcpFeed) disconnect(p []byte, why int, err error) int {
	now := t.feed.now()
	t.observe(now)
	t.mu.Lock()
	t.conn.Close()
	t.conn = nil
	t.mu.Unlock()
	t.lastErr = err
	t.feed.mu.Lock()
	h := &t.feed.h
	h.Disconnects++
	switch why {
	case endClosed:
		h.Errors.Closed++
	case endRead:
		h.Errors.Read++
	case endIdle:
		h.Errors.Idle++
	}
	h.LastError = err.Error()
	t.feed.mu.Unlock()
	if t.healthy {
		t.logf("connection lost after %s: %v; reconnecting", now.Sub(t.connectedAt).Round(time.Millisecond), err)
	} else {
		t.fails++
		t.logf("connection lost after %s without a healthy period: %v", now.Sub(t.connectedAt).Round(time.Millisecond), err)
	}
	if t.partial && len(p) > 0 {
		t.partial = false
		p[0] = '\n'
		return 1
	}
	return 0
}

// connect dials until a connection is made, waiting the backoff before
// each attempt that follows a failure or an unhealthy connection.
func (t *tcpFeed) connect() error {
	ctx := t.feed.ctx
	for {
		if t.fails > 0 {
			if t.opt.MaxReconnects > 0 && t.fails >= t.opt.MaxReconnects {
				err := fmt.Errorf("%s: %d connection attempts in a row failed or were not healthy, last: %w", t.feed.addr, t.fails, t.lastErr)
				return err
			}
			wait := t.backoff.next()
			now := t.feed.now()
			t.feed.mu.Lock()
			t.feed.setStateLocked(FeedBackingOff, now)
			t.feed.h.Backoff = t.backoff.step
			t.feed.h.NextAttempt = now.Add(wait)
			t.feed.mu.Unlock()
			t.logf("retrying in %s", wait.Round(time.Millisecond))
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return io.EOF
			case <-timer.C:
			}
		}
		if ctx.Err() != nil {
			return io.EOF
		}
		t.feed.mu.Lock()
		t.feed.setStateLocked(FeedConnecting, t.feed.now())
		t.feed.mu.Unlock()
		var conn net.Conn
		var err error
		if t.dial != nil {
			conn, err = t.dial(ctx)
		} else {
			d := net.Dialer{Timeout: t.opt.DialTimeout}
			conn, err = d.DialContext(ctx, "tcp", t.addr)
		}
		now := t.feed.now()
		if err != nil {
			if ctx.Err() != nil {
				return io.EOF
			}
			t.fails++
			t.lastErr = err
			t.feed.mu.Lock()
			t.feed.h.Errors.Dial++
			t.feed.h.LastError = err.Error()
			t.feed.mu.Unlock()
			t.logf("%v", err)
			continue
		}
		t.logf("connected")
		t.mu.Lock()
		t.conn = conn
		t.mu.Unlock()
		t.connectedAt, t.lastProgress = now, now
		t.delivered, t.healthy = false, false
		t.sentences = t.dec.Stats.Sentences
		t.feed.mu.Lock()
		t.feed.h.Connects++
		t.feed.setStateLocked(FeedConnected, now)
		t.feed.mu.Unlock()
		if ctx.Err() != nil { // wake may have run before conn was set
			t.closeConn()
			return io.EOF
		}
		return nil
	}
}

// udpFeed is an io.Reader over datagrams, each ending a line.
type udpFeed struct {
	feed *Feed
	pc   net.PacketConn
	buf  []byte
	pen  []byte
}

func (u *udpFeed) Read(p []byte) (int, error) {
	for len(u.pen) == 0 {
		if u.feed.ctx.Err() != nil {
			return 0, io.EOF
		}
		if u.buf == nil {
			u.buf = make([]byte, 65536)
		}
		n, _, err := u.pc.ReadFrom(u.buf[:len(u.buf)-1])
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return 0, io.EOF
		}
		u.feed.arrived = u.feed.now()
		u.feed.mu.Lock()
		u.feed.h.Bytes += int64(n)
		u.feed.syncStatsLocked()
		u.feed.mu.Unlock()
		if n > 0 && u.buf[n-1] != '\n' {
			u.buf[n] = '\n'
			n++
		}
		u.pen = u.buf[:n]
	}
	n := copy(p, u.pen)
	u.pen = u.pen[n:]
	return n, nil
}
