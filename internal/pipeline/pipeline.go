// Package pipeline carries AIS over NATS JetStream (docs/scale.md):
// receivers and API nodes publish raw NMEA, in blocks of whole sentence
// groups, to one stream; workers, one per partition (detect.Partition),
// each read the whole stream through a durable consumer of their own and
// ingest their partition's share into the store (package ingest), acking
// a range of the stream only after the run that read it committed.
//
// The domain packages know nothing of NATS: this adapter turns a range of
// the stream into an ingest.Input and the ingest's completion into an ack.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultStream is the stream's name; its subjects are Subjects.
const DefaultStream = "TIDEWATCH_AIS"

// Subject is where raw NMEA blocks are published; Subjects is the
// stream's filter.
const (
	Subject  = "tidewatch.ais.nmea"
	Subjects = "tidewatch.ais.>"
)

// HeaderFlush marks a message that ends the stream for the detectors:
// every worker closes what is open at that point (ingest.Options.Flush),
// as `tidewatch detect` does at the end of its input.
const HeaderFlush = "Tidewatch-Flush"

// HeaderSource names what a block was read from (a file, a feed).
const HeaderSource = "Tidewatch-Source"

// Limits are the stream's retention limits (limits retention: the
// oldest messages go first). Zero leaves a limit as the stream has it
// (none, for a stream being created); negative removes it.
type Limits struct {
	MaxBytes int64
	MaxAge   time.Duration
}

// EnsureStream creates the stream when it is missing (file storage,
// limits retention: the AIS is kept for replay up to lim; a two-minute
// window in which a block published twice with the same message id is
// stored once) and otherwise changes only the limits lim sets: every
// process that connects calls it, and a stream's limits set once (by
// one process's flags, or by the operator with the nats tool) must not
// be reset by the next one to start.
func EnsureStream(ctx context.Context, js jetstream.JetStream, name string, lim Limits) (jetstream.Stream, error) {
	if name == "" {
		name = DefaultStream
	}
	return ensureStream(ctx, js, name, Subjects, lim)
}

func ensureStream(ctx context.Context, js jetstream.JetStream, name, subjects string, lim Limits) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, name)
	switch {
	case err == nil:
		cfg := s.CachedInfo().Config
		if !lim.apply(&cfg) {
			return s, nil
		}
		if s, err = js.UpdateStream(ctx, cfg); err != nil {
			return nil, fmt.Errorf("nats: stream %s: limits: %w", name, err)
		}
		return s, nil
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return nil, fmt.Errorf("nats: stream %s: %w", name, err)
	}
	cfg := jetstream.StreamConfig{
		Name:       name,
		Subjects:   []string{subjects},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		MaxBytes:   -1,
		Duplicates: 2 * time.Minute,
	}
	lim.apply(&cfg)
	if s, err = js.CreateOrUpdateStream(ctx, cfg); err != nil {
		return nil, fmt.Errorf("nats: stream %s: %w", name, err)
	}
	return s, nil
}

// apply sets cfg's limits from lim and says whether that changed them.
func (lim Limits) apply(cfg *jetstream.StreamConfig) bool {
	changed := false
	switch {
	case lim.MaxBytes > 0 && cfg.MaxBytes != lim.MaxBytes:
		cfg.MaxBytes, changed = lim.MaxBytes, true
	case lim.MaxBytes < 0 && cfg.MaxBytes != -1:
		cfg.MaxBytes, changed = -1, true
	}
	switch {
	case lim.MaxAge > 0 && cfg.MaxAge != lim.MaxAge:
		cfg.MaxAge, changed = lim.MaxAge, true
	case lim.MaxAge < 0 && cfg.MaxAge != 0:
		cfg.MaxAge, changed = 0, true
	}
	return changed
}

// embeddedStart bounds how long an embedded server may take to start.
const embeddedStart = 2 * time.Minute

// Embedded is a NATS server run in this process, with JetStream storing
// under its directory (for one machine and for tests).
type Embedded struct {
	Server *server.Server
	Dir    string
}

// StartEmbedded starts a NATS server with JetStream on host:port (port
// -1: any free port) storing under dir.
func StartEmbedded(dir, host string, port int) (*Embedded, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if host == "" {
		host = "127.0.0.1"
	}
	// A port already taken makes the server's listener fail where this
	// process cannot see it (the server logs nothing here): it would only
	// never become ready. Try it first, to say so at once.
	if port > 0 {
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("nats: the embedded server cannot listen on %s: %w", addr, err)
		}
		l.Close()
	}
	s, err := server.NewServer(&server.Options{ServerName: "tidewatch-embedded", Host: host, Port: port, JetStream: true,
		StoreDir: abs, NoSigs: true, NoLog: true})
	if err != nil {
		return nil, fmt.Errorf("nats: embedded server: %w", err)
	}
	go s.Start()
	// Starting recovers the streams stored under dir, which takes a while
	// on a busy machine (30 s was once too little for a test's restart at
	// load average 5-6).
	if !s.ReadyForConnections(embeddedStart) {
		s.Shutdown()
		return nil, fmt.Errorf("nats: the embedded server did not start within %s (recovering the streams under %s)", embeddedStart, abs)
	}
	return &Embedded{Server: s, Dir: abs}, nil
}

// URL is the embedded server's client URL.
func (e *Embedded) URL() string { return e.Server.ClientURL() }

// Close stops the server and waits until it has.
func (e *Embedded) Close() {
	e.Server.Shutdown()
	e.Server.WaitForShutdown()
}

// Connect connects to url, reconnecting for ever after a loss (a NATS
// restart is waited out, not an error).
func Connect(url, name string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(false))
	if err != nil {
		return nil, nil, fmt.Errorf("nats: connect %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("nats: jetstream: %w", err)
	}
	return nc, js, nil
}
