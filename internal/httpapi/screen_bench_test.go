package httpapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

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
