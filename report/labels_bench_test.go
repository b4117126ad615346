package report

import (
	"fmt"
	"math/rand"
	"testing"
)

// crowd is n markers on a 900 x 900 map: half spread along a route, half
// in a few tight clusters (ports, transfer spots).
func crowd(n int) []marker {
	r := rand.New(rand.NewSource(1))
	ms := make([]marker, n)
	for i := range ms {
		if i%2 == 0 {
			ms[i] = marker{fmt.Sprintf("E%d", i+1), 50 + 800*r.Float64(), 50 + 800*r.Float64()}
		} else {
			c := float64(i % 5)
			ms[i] = marker{fmt.Sprintf("E%d", i+1), 200 + 100*c + 3*r.Float64(), 300 + 50*c + 3*r.Float64()}
		}
	}
	return ms
}

func BenchmarkLabelMarkers(b *testing.B) {
	for _, n := range []int{50, 500, 5000} {
		ms := crowd(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				labelMarkers(&placer{w: 900, h: 900}, ms, mapFont)
			}
		})
	}
}
