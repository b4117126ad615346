package httpapi

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tidewatch/tidewatch/internal/app"
)

// metrics are the server's Prometheus metrics, in a registry of its own
// (two servers in one test process do not collide).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	handler  http.Handler
}

func newMetrics(svc *app.Service) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tidewatch_http_requests_total", Help: "HTTP requests by route and status code."},
		[]string{"route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tidewatch_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}}, []string{"route"})
	m.reg.MustRegister(m.requests, m.latency, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	counter := func(name, help string, get func(app.Counters) float64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return get(svc.Metrics.Snapshot()) }))
	}
	counter("tidewatch_screen_queries_total", "Screening queries answered (single and batch rows).", func(s app.Counters) float64 { return float64(s.ScreenQueries) })
	counter("tidewatch_profiles_total", "Vessel risk profiles built.", func(s app.Counters) float64 { return float64(s.ProfilesBuilt) })
	counter("tidewatch_index_builds_total", "Screening indexes built.", func(s app.Counters) float64 { return float64(s.IndexBuilds) })
	counter("tidewatch_index_cache_reads_total", "Screening indexes read from the index cache instead of built from the lists (counted in tidewatch_index_builds_total too).", func(s app.Counters) float64 { return float64(s.IndexCacheReads) })
	counter("tidewatch_index_build_seconds_total", "Time spent building screening indexes.", func(s app.Counters) float64 { return s.IndexBuildSecs })
	counter("tidewatch_ingest_fixes_total", "AIS position fixes ingested.", func(s app.Counters) float64 { return float64(s.IngestFixes) })
	counter("tidewatch_ingest_events_total", "Events stored by ingest.", func(s app.Counters) float64 { return float64(s.IngestEvents) })
	counter("tidewatch_list_imports_total", "List versions stored.", func(s app.Counters) float64 { return float64(s.ListImports) })
	counter("tidewatch_list_import_errors_total", "List versions refused.", func(s app.Counters) float64 { return float64(s.ListImportErrors) })
	counter("tidewatch_audit_commits_total", "Audit log transactions.", func(s app.Counters) float64 { return float64(s.AuditCommits) })
	counter("tidewatch_audit_records_total", "Audit records written.", func(s app.Counters) float64 { return float64(s.AuditRecords) })
	counter("tidewatch_audit_linger_expired_total", "Audit groups that waited the longest allowed for more records.", func(s app.Counters) float64 { return float64(s.AuditLingerExpired) })
	counter("tidewatch_sign_in_failures_total", "Failed or refused sign-ins to the web interface (unknown tenants too).", func(s app.Counters) float64 { return float64(s.SignInFailures) })
	// The store's size counts rows: read at most every five minutes, not
	// at every scrape.
	var sizeMu sync.Mutex
	var sizeAt time.Time
	size := -1.0
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tidewatch_store_bytes", Help: "Size of the store on disk (read at most every 5 minutes)."}, func() float64 {
		sizeMu.Lock()
		defer sizeMu.Unlock()
		if time.Since(sizeAt) > 5*time.Minute {
			sizeAt = time.Now()
			if st, err := svc.StoreStats(bgContext(), app.LocalPrincipal("metrics")); err == nil {
				size = float64(st.Bytes)
			}
		}
		return size
	}))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

func (m *metrics) serve(w http.ResponseWriter, r *http.Request) { m.handler.ServeHTTP(w, r) }
