package logbuf

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while the writer's timer
// writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLinesKeptInOrder: lines from many goroutines all arrive, whole, by
// Close; a line written alone arrives without Close (the timer); after
// Close writes go straight through.
func TestLinesKeptInOrder(t *testing.T) {
	var out syncBuffer
	w := New(&out, 10*time.Millisecond)
	w.Write([]byte("first\n"))
	for deadline := time.Now().Add(10 * time.Second); out.String() != "first\n"; {
		if time.Now().After(deadline) {
			t.Fatal("a buffered line was never written by the timer")
		}
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				fmt.Fprintf(w, "g%d line %d %s\n", g, i, strings.Repeat("x", i%100))
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 1+8*2000 {
		t.Fatalf("%d lines, want %d", len(lines), 1+8*2000)
	}
	last := map[string]int{}
	for _, l := range lines[1:] {
		var g string
		var i int
		if _, err := fmt.Sscanf(l, "%s line %d", &g, &i); err != nil {
			t.Fatalf("a torn line: %q", l)
		}
		if want := last[g]; i != want {
			t.Fatalf("%s: line %d after %d: out of order", g, i, want-1)
		}
		last[g] = i + 1
	}
	w.Write([]byte("after\n"))
	if !strings.HasSuffix(out.String(), "after\n") {
		t.Fatal("a write after Close was held")
	}
}
