package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/httpapi"
	"github.com/tidewatch/tidewatch/internal/indexcache"
	"github.com/tidewatch/tidewatch/internal/logbuf"
	"github.com/tidewatch/tidewatch/internal/web"
	"github.com/tidewatch/tidewatch/listupdate"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/postgres"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

func runServe(e *env, args []string) error {
	var sf storeFlags
	var addr, logLevel, demoDir, sealFile, watchDir, pprofAddr, indexCacheDir string
	var demo, secureCookies, hookPrivate bool
	var users []demoUser
	var opt httpapi.Options
	var feeds multiFlag
	var nf natsFlags
	var uf uploadFlags
	var updateEvery, monitorEvery, commitEvery, feedLateness, listPoll, auditCheckEvery time.Duration
	fs := newFlagSet(e, "serve", "tidewatch serve [--store FILE] [--addr 127.0.0.1:8080] [--demo]", `
Serves the HTTP API for many users at once: screening (one query, batches
of up to 10,000, files of any size as jobs), vessel profiles and reports
as of a date, decisions, events by vessel, kind, area and time, list
versions, diffs and imports, AIS uploads, the audit log, tenants and API
keys; /openapi.json describes every route (docs/api.md shows curl for each
use case). /healthz and /readyz need no key; /metrics (Prometheus) needs
a key of the operator tenant unless --metrics-public.

The garbage collector runs at GOGC=400 with a soft memory limit of 3 GiB
(GOMEMLIMIT) unless the environment sets them: a server's heap is mostly
its long-lived screening index, and collecting it less often took a
third off the CPU of each screening (docs/benchmarks.md).

The server is ready once it has the screening index of the lists in force.
It saves the index it builds in --index-cache (beside a SQLite store by
default) and the next start reads it instead of building it again, when
the lists and the program are the same; a damaged file is logged and
rebuilt (docs/index-cache.md).

Every request but those carries an API key ('tidewatch keys create'):
Authorization: Bearer KEY. Keys belong to a tenant and have a role; a
tenant never sees another's decisions, profiles, screenings or audit log.

Logs are JSON lines on standard error (never a key). SIGINT or SIGTERM
stops accepting requests, lets those in flight finish (30 s at most) and
closes the store.

Monitoring runs inside the server: AIS from --feed (tcp:// or udp://,
reconnecting) and from files dropped into --watch DIR; list updates from
the publishers every --update-lists (offline, the versions held stay, the
operator's admins get an alert and the log a WARN line naming the list
and the error; of several servers on one store, one
runs each update); list versions other servers import are read every
--list-poll and screened against; every new list version is screened
against every portfolio, and new events on portfolio vessels raise
alerts, delivered over /v1/alerts/stream and to webhooks (signed; retried
for 25 hours; the outbox survives restarts). Several servers on one store
may be given the same --feed or --watch (the same path, a shared mount):
one reads it and the others wait as standbys, taking it over when it
stops or dies; the holder checks its lease every 2 s and, having lost it
(its database connection ended), stops reading and waits as a standby
(/v1/feeds says which). Webhook signing secrets are
sealed with the key in --seal-key-file (made on first start, mode 0600:
back it up with the store).

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
	fs.Float64Var(&opt.AuthFailures, "auth-failures", 1, "failed authentications per second allowed per client address, after a burst of 20 (negative: no limit)")
	fs.BoolVar(&opt.MetricsPublic, "metrics-public", false, "serve /metrics without a key (default: it needs a key of the operator tenant)")
	fs.BoolVar(&opt.TrustProxy, "trust-proxy", false, "take client addresses from X-Forwarded-For (only behind a proxy that sets it)")
	fs.StringVar(&opt.PublicURL, "public-url", "", "the service's public base URL (https://tidewatch.example.org) for absolute links, e.g. OpenRefine's (default: links relative to the host)")
	fs.StringVar(&pprofAddr, "pprof", "", "serve Go's profiler (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060")
	fs.Int64Var(&opt.MaxBody, "max-body", 16<<20, "largest JSON request body in bytes")
	fs.Int64Var(&opt.MaxUpload, "max-upload", 1<<30, "largest uploaded file in bytes")
	fs.Var(&feeds, "feed", "a live AIS feed to ingest: tcp://host:port or udp://host:port (repeatable)")
	nf.register(fs) // --nats: publish AIS uploads to the pipeline's stream for 'tidewatch worker' (docs/scale.md)
	uf.register(fs, true)
	fs.StringVar(&watchDir, "watch", "", "ingest AIS files dropped into this folder (moved to ingested/ or failed/ after)")
	fs.DurationVar(&updateEvery, "update-lists", 24*time.Hour, "download the lists this often (UN, OFAC from their publishers; UK, EU from GitHub mirrors; 0: never)")
	fs.DurationVar(&listPoll, "list-poll", app.DefaultListPoll, "how often to read the store's list versions, so a version another server (or a command) imported is screened against here (0: never)")
	fs.DurationVar(&monitorEvery, "monitor-every", 2*time.Second, "how often the monitor looks for new events and list versions")
	fs.DurationVar(&auditCheckEvery, "audit-check-every", 24*time.Hour, "verify every tenant's audit log this often, once per interval across the servers on a store, raising a high alert for a tenant whose log does not verify (0: never; it reads every record at a fifth of one core: about nine minutes for 23 million records)")
	fs.DurationVar(&commitEvery, "commit-every", time.Second, "live feeds: commit what was received this often")
	fs.DurationVar(&feedLateness, "feed-lateness", 10*time.Minute, "live feeds: reorder window: an alert comes this long after its fix at most, and fixes arriving later than this are counted late, not detected (files keep the detectors' 2 h; 1ms: as soon as a later second's fix arrives)")
	fs.BoolVar(&secureCookies, "secure-cookies", false, "mark the web interface's cookies Secure on plain HTTP too (behind a TLS proxy)")
	fs.BoolVar(&hookPrivate, "webhook-allow-private", false, "let webhooks reach loopback and private addresses (a receiver on this host or network; --demo allows them)")
	fs.StringVar(&indexCacheDir, "index-cache", "", "where the built screening index is saved, so the next start reads it instead of building it (docs/index-cache.md; default: beside a SQLite store (FILE.index), or the user cache directory for PostgreSQL; off: never)")
	fs.StringVar(&sealFile, "seal-key-file", "", "the key that seals webhook secrets (default: the store's path + .key, made if missing)")
	tuneGC()
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return usagef("--log-level %q: debug, info, warn or error", logLevel)
	}
	if opt.PublicURL != "" {
		var err error
		if opt.PublicURL, err = httpapi.CheckPublicURL(opt.PublicURL); err != nil {
			return usagef("--public-url: %v", err)
		}
	}
	// The log is written in blocks every 100 ms (one line a request was a
	// write system call each: internal/logbuf), and whole at exit.
	logOut := logbuf.New(e.stderr, 0)
	defer logOut.Close()
	logger := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level}))
	opt.Logger = logger
	opt.AccessLog = logOut // the request lines, written by hand into the same buffer
	start := time.Now()
	var s *app.Service
	var st cliStore
	var keys []app.NewKey
	var err error
	storePath := sf.path
	if demo {
		storePath = filepath.Join(demoDir, "tidewatch.db")
		updateEvery = 0
	}
	if sealFile == "" && postgres.IsURL(storePath) && os.Getenv("TIDEWATCH_SEAL_KEY") == "" {
		return usagef("with a PostgreSQL store give --seal-key-file or TIDEWATCH_SEAL_KEY: every server on the database must seal webhook secrets with the same key")
	}
	if sealFile == "" {
		sealFile = storePath + ".key"
	}
	sealKey, err := loadSealKey(sealFile)
	if err != nil {
		return err
	}
	if nf.url != "" && len(feeds) > 0 {
		return usagef("--feed with --nats: publish the feed to the stream with 'tidewatch publish --nats URL' instead")
	}
	if inputs := len(feeds) + boolInt(watchDir != ""); inputs > 0 && postgres.IsURL(sf.path) {
		// Each live input holds connections for its lease and its
		// ingest's locks (run, detectors' state): room for them, the
		// monitor's lease and the requests.
		sf.path = withPoolSize(sf.path, 3*inputs+6)
	}
	publish, closeNATS, err := nf.publishHook()
	if err != nil {
		return err
	}
	defer closeNATS()
	if demo {
		s, st, keys, users, err = serveDemo(demoDir, logger, sealKey, &uf)
	} else {
		sf.indexCache = indexCacheDir
		cfg := app.Config{Logger: logger, SealKey: sealKey, AllowPrivateWebhookTargets: hookPrivate, Publish: publish}
		if d := uf.config(&cfg, sf.path); d != nil {
			files, size, err := d.Usage()
			logger.Info("keeping uploaded AIS files for case files", "folder", d.Path(), "files", files, "bytes", size)
			if err != nil {
				logger.Warn("upload archive", "err", err.Error())
			}
		} else {
			logger.Info("uploaded AIS files are not kept: case files state them as gaps", "why", cfg.UploadsOff)
		}
		s, st, err = sf.service(cfg)
	}
	if err != nil {
		return err
	}
	defer closeService(s, st)
	// An index built at this start is saved in the background: a stop
	// right after start waits for it, so the next start finds it.
	defer s.WaitIndexSaved()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if n, err := s.EnsureLists(ctx); err != nil {
		return err
	} else if n > 0 {
		logger.Info("the store lacked list versions: stored the embedded snapshot's", "versions", n)
	}
	opt.Done = ctx.Done()
	api := httpapi.New(s, opt)
	api.Handle("/", web.New(s, web.Options{SecureCookies: secureCookies, Logger: logger, Done: ctx.Done(), ClientAddr: api.ClientAddr}))
	if pprofAddr != "" {
		if err := servePprof(pprofAddr, logger); err != nil {
			return err
		}
	}
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
	// Monitoring and live inputs, each until shutdown.
	operator := localPrincipal("server")
	var wg sync.WaitGroup
	defer wg.Wait()
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	loop := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	loop(func() { s.RunDeliveries(runCtx, app.DeliveryOptions{}) })
	loop(func() { s.RunMonitor(runCtx, monitorEvery) })
	if auditCheckEvery > 0 {
		loop(func() { s.RunAuditChecks(runCtx, auditCheckEvery) })
	}
	if listPoll > 0 {
		loop(func() { s.RunListPoll(runCtx, listPoll) })
	}
	// Alerts other servers on the store raise, to this one's streams.
	loop(func() { s.RunFollowAlerts(runCtx, app.DefaultAlertFollow) })
	for _, f := range feeds {
		loop(func() {
			if err := s.RunFeed(runCtx, operator, f, ais.FeedOptions{Log: io.Discard}, commitEvery, feedLateness); err != nil {
				logger.Error("feed", "feed", f, "err", err.Error())
			}
		})
	}
	if watchDir != "" {
		loop(func() {
			if err := s.WatchFolder(runCtx, operator, watchDir, 2*time.Second); err != nil {
				logger.Error("watch", "dir", watchDir, "err", err.Error())
			}
		})
	}
	if updateEvery > 0 {
		d := &listupdate.Downloader{Client: &http.Client{}, Timeout: 5 * time.Minute}
		loop(func() {
			s.RunListUpdates(runCtx, operator, func() []app.ListSource {
				var ls []app.ListSource
				for _, src := range listupdate.DefaultSources() {
					ls = append(ls, d.Source(src))
				}
				return ls
			}, updateEvery)
		})
	}
	logger.Info("ready", "url", url, "store", st.Path(), "entities", entities, "index_seconds", took.Seconds(), "startup_seconds", time.Since(start).Seconds())
	fmt.Fprintf(e.stdout, "Tidewatch API at %s (store %s; ready in %s)\n", url, st.Path(), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(e.stdout, "  %s/openapi.json describes every route; docs/api.md has curl examples\n", url)
	for _, k := range keys {
		fmt.Fprintf(e.stdout, "  API key for tenant %-10s role %-11s %s\n", k.Tenant, k.Role, k.Secret)
	}
	if len(users) > 0 {
		fmt.Fprintf(e.stdout, "  web interface at %s/ : sign in as\n", url)
	}
	for _, u := range users {
		fmt.Fprintf(e.stdout, "    tenant %-10s user %-12s role %-11s password %s\n", u.tenant, u.name, u.role, u.password)
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

// openIndexCache opens the screening index cache (--index-cache): dir, or
// by default a directory beside a SQLite store, or for a PostgreSQL store
// one per database in the user's cache directory (docs/index-cache.md).
// Without a cache, or without this executable's build ID to key it by,
// every start builds its index (logged).
func openIndexCache(dir, storePath string, logger *slog.Logger) (app.IndexCache, string) {
	if dir == "off" {
		return nil, ""
	}
	if dir == "" {
		if !postgres.IsURL(storePath) {
			dir = storePath + ".index"
		} else if base, err := os.UserCacheDir(); err == nil {
			sum := sha256.Sum256([]byte(postgres.Redact(storePath)))
			dir = filepath.Join(base, "tidewatch", "index-"+hex.EncodeToString(sum[:6]))
		} else {
			logger.Warn("no index cache: no user cache directory (give --index-cache DIR)", "err", err.Error())
			return nil, ""
		}
	}
	program, err := indexcache.BuildID()
	if err != nil {
		logger.Warn("no index cache: this executable's build ID is unreadable", "err", err.Error())
		return nil, ""
	}
	c, err := indexcache.Open(dir)
	if err != nil {
		logger.Warn("no index cache", "err", err.Error())
		return nil, ""
	}
	return c, program
}

// serveDemo builds the demo store and makes two tenants' keys.
func serveDemo(dir string, logger *slog.Logger, sealKey []byte, uf *uploadFlags) (*app.Service, *sqlite.DB, []app.NewKey, []demoUser, error) {
	s, st, _, err := openDemoStore(dir)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	fail := func(err error) (*app.Service, *sqlite.DB, []app.NewKey, []demoUser, error) {
		closeService(s, st)
		return nil, nil, nil, nil, err
	}
	ctx := context.Background()
	p := localPrincipal("demo")
	if _, err := s.CreateTenant(ctx, p, "insurer-b", "Insurer B (demo)", store.TenantPolicy{FourEyes: true}); err != nil {
		return fail(err)
	}
	users, err := demoUsers(s)
	if err != nil {
		return fail(err)
	}
	// A portfolio watched from the start, so the scenario's events raise
	// alerts the dashboard and inbox show.
	watch := func(ctx context.Context) error {
		if _, err := s.CreatePortfolio(ctx, p, "demo-fleet", "Demo fleet"); err != nil {
			return err
		}
		_, err := s.AddVessels(ctx, p, "demo-fleet", []app.VesselEntry{
			{ID: "sts-tanker", MMSI: "667000202", Name: "SIM OCEAN STAR"},
			{ID: "dprk-tanker", IMO: strconv.Itoa(demoTankerIMO), Name: "SIM PAEK SONG"},
			{ID: "night-owl", MMSI: "352000303", Name: "SIM NIGHT OWL"},
		}, nil)
		if err != nil {
			return err
		}
		_, err = s.ScreenNewEvents(ctx)
		return err
	}
	if _, err := demoStore(ctx, io.Discard, s, p, dir, watch); err != nil {
		return fail(err)
	}
	// The service again, with the server's logger.
	s.Close()
	// Uploads are kept beside the demo store (replaced with it each run),
	// as beside any store, so the demo's case files carry them.
	cfg := app.Config{Store: st, Logger: logger, SealKey: sealKey, AllowPrivateWebhookTargets: true}
	if d := uf.config(&cfg, filepath.Join(dir, "tidewatch.db")); d != nil {
		logger.Info("keeping uploaded AIS files for case files", "folder", d.Path())
	} else {
		logger.Info("uploaded AIS files are not kept: case files state them as gaps", "why", cfg.UploadsOff)
	}
	s = app.New(cfg)
	// The keys act as the demo's people (four eyes count people).
	var keys []app.NewKey
	for _, k := range []app.CreateKeyRequest{
		{Name: "demo admin", Role: "admin", User: "admin", TTL: 7 * 24 * time.Hour},
		{Tenant: "insurer-b", Name: "demo underwriter", Role: "underwriter", User: "underwriter", TTL: 7 * 24 * time.Hour},
	} {
		nk, err := s.CreateAPIKey(ctx, p, k)
		if err != nil {
			return fail(err)
		}
		keys = append(keys, nk)
	}
	return s, st, keys, users, nil
}

// demoUser is a demo sign-in for the web interface.
type demoUser struct{ tenant, name, role, password string }

// demoUsers makes the demo's people, one per role in the local tenant and
// an underwriter in the second, with random passwords printed at start.
func demoUsers(s *app.Service) ([]demoUser, error) {
	p := localPrincipal("demo")
	var out []demoUser
	for _, u := range []demoUser{{app.LocalTenant, "admin", "admin", ""}, {app.LocalTenant, "analyst", "analyst", ""},
		{app.LocalTenant, "underwriter", "underwriter", ""}, {app.LocalTenant, "viewer", "viewer", ""}, {"insurer-b", "underwriter", "underwriter", ""}} {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		u.password = hex.EncodeToString(b[:])
		if _, err := s.CreateUser(context.Background(), p, u.tenant, u.name, u.role, u.password); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// loadSealKey reads the 32-byte key that seals webhook secrets, hex in a
// file, or makes one (mode 0600) when the file does not exist. Processes
// starting at once all end with the one key the file holds: the key is
// written whole to a file of its own and linked into place only if no
// key is there yet; whoever finds one there reads it instead.
func loadSealKey(path string) ([]byte, error) {
	if v := os.Getenv("TIDEWATCH_SEAL_KEY"); v != "" {
		k, err := hex.DecodeString(strings.TrimSpace(v))
		if err != nil || len(k) != 32 {
			return nil, errors.New("TIDEWATCH_SEAL_KEY: give 64 hex digits")
		}
		return k, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := makeSealKey(path); err != nil {
			return nil, fmt.Errorf("seal key %s: %w", path, err)
		}
		b, err = os.ReadFile(path) // this start's key, or the one another start put there first
	}
	if err != nil {
		return nil, fmt.Errorf("seal key %s: %w", path, err)
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != 32 {
		return nil, fmt.Errorf("seal key %s: want 64 hex digits", path)
	}
	return k, nil
}

// makeSealKey puts a new key at path unless a key is there already (not
// an error): written and synced in a temporary file beside it, then
// hard-linked to path, which fails when path exists, so no reader ever
// sees a part of a key and no key replaces another.
func makeSealKey(path string) error {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".new-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.WriteString(hex.EncodeToString(k) + "\n")
	if err == nil {
		err = f.Chmod(0o600) // CreateTemp makes it 0600; said again for the reader
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return nil
}

// servePprof serves the profiler on a loopback address only: profiles
// show the program's memory, never for other hosts.
func servePprof(addr string, logger *slog.Logger) error {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return usagef("--pprof %s: give a loopback address such as 127.0.0.1:6060", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	go func() {
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		if err := srv.Serve(ln); err != nil {
			logger.Warn("pprof", "err", err.Error())
		}
	}()
	logger.Info("profiler", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	return nil
}

// The server's garbage-collector settings, unless GOGC or GOMEMLIMIT say
// otherwise: most of its heap is the screening index, live for hours, and
// every request allocates a little, so at Go's default (GOGC=100) the
// collector marked the whole index again every second or so under load.
// BenchmarkScreenOne: 132-158 CPU-µs a screening at GOGC=100, 77-104 at
// 400. The soft limit keeps a large live feed's heap from growing 5-fold.
const (
	serveGCPercent   = 400
	serveMemoryLimit = 3 << 30
)

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
}
