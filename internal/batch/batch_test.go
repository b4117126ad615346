package batch

import "testing"

func TestPipeKeepsOrderAndEverything(t *testing.T) {
	for _, n := range []int{0, 1, 6, 7, 1000} {
		p := New[int](7)
		go func() {
			for i := 0; i < n; i++ {
				p.Put(i)
			}
			p.Close()
		}()
		next := 0
		p.Drain(func(b []int) {
			for _, v := range b {
				if v != next {
					t.Fatalf("n=%d: got %d, want %d", n, v, next)
				}
				next++
			}
		})
		if next != n {
			t.Errorf("n=%d: %d values arrived", n, next)
		}
	}
}
