// Package logbuf is a log destination that gathers lines and writes them
// in blocks: a server logging one line a request would otherwise make a
// write system call for each (measured: 5% of the screening server's CPU
// under load, docs/benchmarks.md). Lines are written in the order they
// came, at most Every after they came, and all of them at Close.
package logbuf

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// Writer buffers what is written to it (whole log lines, as log/slog
// handlers write them) and writes it to the underlying writer when the
// buffer fills, every period, and at Close. It is safe for concurrent
// use.
type Writer struct {
	mu     sync.Mutex
	w      *bufio.Writer
	err    error
	stop   chan struct{}
	done   chan struct{}
	closed bool
}

// DefaultEvery is how long a line waits at most before it is written.
const DefaultEvery = 100 * time.Millisecond

// New starts a Writer onto w that writes at least every period (0:
// DefaultEvery) and whenever 64 KiB are waiting.
func New(w io.Writer, every time.Duration) *Writer {
	if every <= 0 {
		every = DefaultEvery
	}
	b := &Writer{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop(every)
	return b
}

func (b *Writer) loop(every time.Duration) {
	defer close(b.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.Flush()
		case <-b.stop:
			return
		}
	}
}

// Write buffers p. After Close it writes through.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.w.Write(p)
	if b.closed && err == nil {
		err = b.w.Flush()
	}
	if err != nil && b.err == nil {
		b.err = err
	}
	return n, err
}

// Flush writes what is waiting.
func (b *Writer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.w.Buffered() == 0 {
		return b.err
	}
	if err := b.w.Flush(); err != nil && b.err == nil {
		b.err = err
	}
	return b.err
}

// Close writes what is waiting and stops the timer; later writes go
// straight through.
func (b *Writer) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return b.err
	}
	b.closed = true
	b.mu.Unlock()
	close(b.stop)
	<-b.done
	return b.Flush()
}
