package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// readProgress shows on a terminal how much of the input files a long
// command has read, a few times a second, and nothing elsewhere.
type readProgress struct {
	w     io.Writer
	label string
	total int64
	read  atomic.Int64
	stop  chan struct{}
	done  chan struct{}
}

// startReadProgress starts the display for the files among inputs (feeds
// and standard input have no size); nil when w is not a terminal or no
// input has a size. A nil *readProgress does nothing.
func startReadProgress(w io.Writer, inputs []string, label string) *readProgress {
	if !isTerminal(w) {
		return nil
	}
	var total int64
	for _, in := range inputs {
		if in == "-" || isLive(in) {
			continue
		}
		if st, err := os.Stat(in); err == nil && st.Mode().IsRegular() {
			total += st.Size()
		}
	}
	if total == 0 {
		return nil
	}
	p := &readProgress{w: w, label: label, total: total, stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

func (p *readProgress) run() {
	defer close(p.done)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	width := 0
	for {
		select {
		case <-p.stop:
			fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", width))
			return
		case <-t.C:
			line := progressLine(p.label, p.read.Load(), p.total)
			width = max(width, len(line))
			fmt.Fprintf(p.w, "\r%-*s", width, line)
		}
	}
}

// counter is what the inputs advance (nil when there is no display).
func (p *readProgress) counter() *atomic.Int64 {
	if p == nil {
		return nil
	}
	return &p.read
}

// finish clears the line.
func (p *readProgress) finish() {
	if p == nil {
		return
	}
	close(p.stop)
	<-p.done
}

// progressLine is one state of the display.
func progressLine(label string, read, total int64) string {
	read = min(read, total)
	return fmt.Sprintf("  %s: %d of %d MB read (%d%%)", label, read>>20, total>>20, read*100/total)
}
