package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/httpapi"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

func runServe(e *env, args []string) error {
	var sf storeFlags
	var addr, logLevel, demoDir string
	var demo bool
	var opt httpapi.Options
	fs := newFlagSet(e, "serve", "tidewatch serve [--store FILE] [--addr 127.0.0.1:8080] [--demo]", `
Serves the HTTP API for many users at once: screening (one query, batches
of up to 10,000, files of any size as jobs), vessel profiles and reports
as of a date, decisions, events by vessel, kind, area and time, list
versions, diffs and imports, AIS uploads, the audit log, tenants and API
keys; /openapi.json describes every route (docs/api.md shows curl for each
use case). /healthz, /readyz and /metrics (Prometheus) need no key.

Every request but those carries an API key ('tidewatch keys create'):
Authorization: Bearer KEY. Keys belong to a tenant and have a role; a
tenant never sees another's decisions, profiles, screenings or audit log.

Logs are JSON lines on standard error (never a key). SIGINT or SIGTERM
stops accepting requests, lets those in flight finish (30 s at most) and
closes the store.

--demo builds the demo store (the embedded lists, the real AIS sample and
the simulated DPRK scenario) in --demo-dir, makes an admin key for the
local tenant and a key for a second tenant, and prints them with the URL.`)
	sf.register(fs, true)
	fs.StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
	fs.BoolVar(&demo, "demo", false, "serve the demo store, with keys printed at start")
	fs.StringVar(&demoDir, "demo-dir", "tidewatch-demo", "with --demo: where the demo store is built (replaced)")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.Float64Var(&opt.Rate, "rate", 2000, "requests per second allowed per API key (negative: no limit)")
	fs.DurationVar(&opt.RequestTimeout, "timeout", 60*time.Second, "time limit of a request (uploads run as jobs)")
	fs.Int64Var(&opt.MaxBody, "max-body", 16<<20, "largest JSON request body in bytes")
	fs.Int64Var(&opt.MaxUpload, "max-upload", 1<<30, "largest uploaded file in bytes")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return usagef("--log-level %q: debug, info, warn or error", logLevel)
	}
	logger := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	opt.Logger = logger
	start := time.Now()
	var s *app.Service
	var st *sqlite.DB
	var keys []app.NewKey
	var err error
	if demo {
		s, st, keys, err = serveDemo(demoDir, logger)
	} else {
		s, st, err = sf.service(app.Config{Logger: logger})
	}
	if err != nil {
		return err
	}
	defer closeService(s, st)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if n, err := s.EnsureLists(ctx); err != nil {
		return err
	} else if n > 0 {
		logger.Info("the store lacked list versions: stored the embedded snapshot's", "versions", n)
	}
	api := httpapi.New(s, opt)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	// The screening index is built before the server says it is ready;
	// liveness answers at once.
	took, entities, err := s.Warm(ctx)
	if err != nil {
		srv.Close()
		return fmt.Errorf("build the screening index: %w", err)
	}
	api.SetReady(true)
	logger.Info("ready", "url", url, "store", st.Path(), "entities", entities, "index_seconds", took.Seconds(), "startup_seconds", time.Since(start).Seconds())
	fmt.Fprintf(e.stdout, "Tidewatch API at %s (store %s; ready in %s)\n", url, st.Path(), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(e.stdout, "  %s/openapi.json describes every route; docs/api.md has curl examples\n", url)
	for _, k := range keys {
		fmt.Fprintf(e.stdout, "  API key for tenant %-10s role %-11s %s\n", k.Tenant, k.Role, k.Secret)
	}
	if len(keys) > 0 {
		fmt.Fprintf(e.stdout, "  try: curl -s -H 'Authorization: Bearer %s' %s/v1/vessels/9300207/profile?as_of=2026-03-04T00:00:00Z\\&window=3d\n", keys[0].Secret, url)
	}
	select {
	case err := <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
		logger.Info("shutting down: finishing requests in flight")
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			logger.Warn("shutdown", "err", err.Error())
		}
	}
	logger.Info("stopped")
	return nil
}

// serveDemo builds the demo store and makes two tenants' keys.
func serveDemo(dir string, logger *slog.Logger) (*app.Service, *sqlite.DB, []app.NewKey, error) {
	s, st, _, err := openDemoStore(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx := context.Background()
	p := localPrincipal("demo")
	if _, err := demoStore(ctx, io.Discard, s, p, dir); err != nil {
		closeService(s, st)
		return nil, nil, nil, err
	}
	// The service again, with the server's logger.
	s.Close()
	s = app.New(app.Config{Store: st, Logger: logger})
	var keys []app.NewKey
	admin, err := s.CreateAPIKey(ctx, p, app.CreateKeyRequest{Name: "demo admin", Role: "admin", TTL: 7 * 24 * time.Hour})
	if err != nil {
		closeService(s, st)
		return nil, nil, nil, err
	}
	keys = append(keys, admin)
	if _, err := s.CreateTenant(ctx, p, "insurer-b", "Insurer B (demo)", store.TenantPolicy{FourEyes: true}); err != nil {
		closeService(s, st)
		return nil, nil, nil, err
	}
	other, err := s.CreateAPIKey(ctx, p, app.CreateKeyRequest{Tenant: "insurer-b", Name: "demo underwriter", Role: "underwriter", TTL: 7 * 24 * time.Hour})
	if err != nil {
		closeService(s, st)
		return nil, nil, nil, err
	}
	keys = append(keys, other)
	return s, st, keys, nil
}
