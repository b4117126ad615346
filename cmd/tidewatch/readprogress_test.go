package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The read display redraws one line with what has been read and clears it
// at the end; off a terminal it is not started at all.
func TestReadProgress(t *testing.T) {
	if got := progressLine("detecting", 3<<20, 8<<20); got != "  detecting: 3 of 8 MB read (37%)" {
		t.Errorf("line %q", got)
	}
	if got := progressLine("x", 9<<20, 8<<20); got != "  x: 8 of 8 MB read (100%)" {
		t.Errorf("over-read shown as %q", got)
	}
	var w lockedBuffer
	p := &readProgress{w: &w, label: "detecting", total: 100 << 20, stop: make(chan struct{}), done: make(chan struct{})}
	p.counter().Store(50 << 20)
	go p.run()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(w.String(), "50 of 100 MB read (50%)"); {
		if time.Now().After(deadline) {
			t.Fatalf("no progress drawn: %q", w.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.finish()
	out := w.String()
	if !strings.HasPrefix(out, "\r  detecting: 50 of 100 MB") || !strings.HasSuffix(out, "\r"+strings.Repeat(" ", len("  detecting: 50 of 100 MB read (50%)"))+"\r") {
		t.Errorf("display %q", out)
	}
	if startReadProgress(&w, []string{"detect_test.go"}, "x") != nil {
		t.Error("a display started on a buffer, not a terminal")
	}
	var none *readProgress
	if none.counter() != nil {
		t.Error("no display, yet a counter")
	}
	none.finish()
}
