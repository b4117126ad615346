package httpapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
)

// BenchmarkScreenOne is POST /v1/screen through the whole handler (key
// check, decoding, screening, audit record, encoding) without a network:
// the server's own cost per request, and its allocations, which drive
// the garbage collector's share under load (docs/benchmarks.md).
func BenchmarkScreenOne(b *testing.B) {
	e := env(b)
	s := New(e.svc, Options{AuthFailures: -1, Rate: -1})
	s.SetReady(true)
	key := e.key(tenantA, app.RoleViewer)
	names := []string{"CHON MA SAN", "RYONG GUN BONG", "JI SONG 6", "EVER GIVEN", "MAERSK ESSEN", "PACIFIC VOYAGER", "NAM SAN 8", "GOLDEN BRIDGE"}
	bodies := make([][]byte, len(names))
	for i, n := range names {
		bodies[i] = []byte(`{"type":"vessel","name":"` + n + `"}`)
	}
	// Each request waits for its audit record to be committed, so the
	// requests run 32 at a time, as the side-by-side load sends them.
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	defer func() {
		// CPU per request (user + system, every goroutine): the server's
		// own cost, whatever the wall clock spent waiting for commits.
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	}()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodPost, "/v1/screen", bytes.NewReader(bodies[n.Add(1)%int64(len(bodies))]))
			r.Header.Set("Authorization", "Bearer "+key)
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Errorf("%d %s", w.Code, w.Body)
				return
			}
		}
	})
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
