package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
)

// appendAccessLine writes what slog's JSON handler writes for the record
// logRequest makes, for strings JSON must escape (quotes, backslashes,
// controls, DEL, invalid UTF-8, U+2028/2029, HTML characters), times
// with and without a fraction and in another zone, and durations from 0
// to minutes; and for random strings.
func TestAccessLineAsSlog(t *testing.T) {
	var want bytes.Buffer
	h := slog.NewJSONHandler(&want, nil)
	check := func(at time.Time, method, route string, status int, el time.Duration, n int64, tenant, key, client string) {
		t.Helper()
		want.Reset()
		rec := slog.NewRecord(at, slog.LevelInfo, "request", 0)
		rec.AddAttrs(slog.String("method", method), slog.String("route", route), slog.Int("status", status),
			slog.Float64("ms", float64(el.Microseconds())/1000), slog.Int64("bytes", n),
			slog.String("tenant", tenant), slog.String("key", key), slog.String("client", client))
		if err := h.Handle(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		got := appendAccessLine(nil, at, method, route, status, el, n, tenant, key, client)
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("by hand %s\nslog    %s", got, want.Bytes())
		}
	}
	at := time.Date(2026, 12, 3, 14, 23, 39, 727297500, time.UTC)
	odd := []string{"", "POST", "POST /v1/screen", `a"b\c`, "\x00\x01\x1f\x7f", "\n\r\t\b\f", "<script>&amp;", "\u2028\u2029", "\xff\xfe ok", "é中\U0001F6A2", "10.0.0.1, 203.0.113.9"}
	durations := []time.Duration{0, time.Microsecond, 999 * time.Microsecond, 2242 * time.Microsecond, 1500 * time.Millisecond, 7 * time.Minute}
	for i, s := range odd {
		check(at, s, "GET /x", 200, durations[i%len(durations)], int64(i*1000), s, "k"+s, s)
	}
	for _, d := range durations {
		check(at, "GET", "GET /healthz", 404, d, 0, "local", "", "127.0.0.1")
	}
	check(at.Truncate(time.Second), "GET", "/", 500, time.Millisecond, -1, "t", "k", "c")
	check(at.In(time.FixedZone("X", 5*3600+1800)), "GET", "/", 200, time.Millisecond, 1, "t", "k", "c")
	check(time.Now(), "GET", "/", 200, time.Millisecond, 1, "t", "k", "c") // a monotonic reading
	rng := rand.New(rand.NewSource(1))
	for range 2000 {
		b := make([]byte, rng.Intn(24))
		for i := range b {
			b[i] = byte(rng.Intn(256))
		}
		check(at.Add(time.Duration(rng.Int63n(int64(time.Hour)))), string(b), string(b), 100+rng.Intn(500),
			time.Duration(rng.Int63n(int64(10*time.Second))), rng.Int63(), string(b), string(b), string(b))
	}
}

// A server given AccessLog writes each request's line there (as its
// Logger would), and none when the Logger is above INFO.
func TestAccessLogWritten(t *testing.T) {
	e := env(t)
	key := e.key(tenantA, app.RoleViewer)
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
		var buf bytes.Buffer
		s := New(e.svc, Options{AuthFailures: -1, Rate: -1, Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level})), AccessLog: &buf})
		s.SetReady(true)
		r := httptest.NewRequest(http.MethodPost, "/v1/screen", strings.NewReader(`{"type":"vessel","name":"CHON MA SAN"}`))
		r.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		var line struct {
			Msg, Route, Tenant string
			Status             int
		}
		switch {
		case level > slog.LevelInfo && buf.Len() != 0:
			t.Fatalf("logger at %s: %s written", level, buf.Bytes())
		case level == slog.LevelInfo:
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line.Msg != "request" || line.Route != "POST /v1/screen" || line.Status != 200 || line.Tenant != tenantA {
				t.Fatalf("line %s: %+v %v", buf.Bytes(), line, err)
			}
		}
	}
}
