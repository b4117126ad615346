package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/ais/sample"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/sim"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// The package's tests share one environment: a real SQLite store in a
// temporary directory holding the embedded lists, the embedded real AIS
// sample and a small simulated DPRK scenario, three tenants ("local", the
// operator, and two customers) with a key of every role each, and one
// service over it (building the screening index is the slow part, so it
// is built once). Each test starts its own server over that service on a
// free loopback port, with its own options and its own captured logs.

// Tenants of the environment.
const (
	tenantOp = app.LocalTenant // the operator
	tenantA  = "tenant-a"
	tenantB  = "tenant-b"
)

var tenantIDs = []string{tenantOp, tenantA, tenantB}

var roles = []app.Role{app.RoleViewer, app.RoleAnalyst, app.RoleUnderwriter, app.RoleAdmin}

// The planted scenario: a DPRK tanker broadcasting CHON MA SAN's IMO (a
// designated vessel: its profile declines) meets a foreign tanker.
const (
	dprkIMO      = 8660313
	dprkMMSI     = 445000101
	foreignMMSI  = 667000202
	scenarioDays = 2
)

var scenarioStart = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// scenarioEnd is the as-of date of the environment's profiles.
var scenarioEnd = scenarioStart.Add(scenarioDays * 24 * time.Hour)

// testEnv is the shared environment.
type testEnv struct {
	dir    string
	st     *sqlite.DB
	svc    *app.Service
	svcLog *syncBuffer
	// keys[tenant][role] is a key's full text; keyIDs the same keys' ids.
	keys   map[string]map[app.Role]string
	keyIDs map[string]map[app.Role]string
	// foreignIMO is the IMO the foreign tanker broadcasts.
	foreignIMO uint32
}

var (
	envOnce sync.Once
	envVal  *testEnv
	envErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if envVal != nil {
		envVal.svc.Close()
		envVal.st.Close()
		os.RemoveAll(envVal.dir)
	}
	os.Exit(code)
}

// env returns the shared environment, building it on first use.
func env(t testing.TB) *testEnv {
	t.Helper()
	envOnce.Do(func() { envVal, envErr = buildEnv() })
	if envErr != nil {
		t.Fatalf("test environment: %v", envErr)
	}
	return envVal
}

func buildEnv() (e *testEnv, err error) {
	dir, err := os.MkdirTemp("", "tidewatch-httpapi-test")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	st, err := sqlite.OpenWith(filepath.Join(dir, "tidewatch.db"), sqlite.Options{Create: true})
	if err != nil {
		return nil, err
	}
	e = &testEnv{dir: dir, st: st, svcLog: &syncBuffer{}, keys: map[string]map[app.Role]string{}, keyIDs: map[string]map[app.Role]string{}}
	sealKey := make([]byte, 32)
	rand.Read(sealKey)
	e.svc = app.New(app.Config{Store: st, SealKey: sealKey, Logger: slog.New(slog.NewJSONHandler(e.svcLog, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx := context.Background()
	if _, err := e.svc.EnsureLists(ctx); err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	op := app.LocalPrincipal("test setup")
	// AIS: the embedded real sample and a small simulated scenario.
	sc := sim.DefaultScenario
	sc.Duration, sc.Background, sc.Interval, sc.DPRKTankerIMO = scenarioDays*24*time.Hour, 3, 3*time.Minute, dprkIMO
	simPath := filepath.Join(dir, "scenario.nmea")
	var buf bytes.Buffer
	if err := sim.Run(sc, &buf, nil); err != nil {
		return nil, err
	}
	if err := os.WriteFile(simPath, buf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	sampleData, _ := io.ReadAll(sample.Open())
	sum := sha256.Sum256(sampleData)
	real := ingest.Input{Name: sample.Name, ID: hex.EncodeToString(sum[:12]), Open: func(context.Context) (ais.Source, io.Closer, error) {
		r, err := ais.NewReader(bytes.NewReader(sampleData))
		return r, io.NopCloser(nil), err
	}}
	simIn, err := ingest.FileInput(simPath, func(ctx context.Context) (ais.Source, io.Closer, error) {
		return ais.OpenInput(ctx, simPath, ais.FeedOptions{})
	})
	if err != nil {
		return nil, err
	}
	for _, in := range []ingest.Input{real, simIn} {
		if _, err := e.svc.Ingest(ctx, op, app.IngestRequest{Inputs: []ingest.Input{in}}); err != nil {
			return nil, fmt.Errorf("ingest %s: %w", in.Name, err)
		}
	}
	ids, err := e.svc.Identity(ctx, op, store.VesselQuery{MMSI: foreignMMSI})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if id.Field == "imo" {
			e.foreignIMO = id.IMO
		}
	}
	if e.foreignIMO == 0 {
		return nil, errors.New("the simulated foreign tanker has no IMO in the store")
	}
	for _, id := range []string{tenantA, tenantB} {
		if _, err := e.svc.CreateTenant(ctx, op, id, "Test "+id, store.TenantPolicy{FourEyes: true}); err != nil {
			return nil, err
		}
	}
	// Every tenant asks for four eyes on overrides (the operator too).
	if _, err := e.svc.SetPolicy(ctx, op, store.TenantPolicy{FourEyes: true}); err != nil {
		return nil, err
	}
	for _, tn := range tenantIDs {
		e.keys[tn], e.keyIDs[tn] = map[app.Role]string{}, map[app.Role]string{}
		for _, r := range roles {
			// Each key is a person's (four eyes count people).
			user := r.String() + "-user"
			if _, err := e.svc.CreateUser(ctx, op, tn, user, r.String(), "a long test password for "+user); err != nil {
				return nil, err
			}
			k, err := e.svc.CreateAPIKey(ctx, op, app.CreateKeyRequest{Tenant: tn, Name: "test " + r.String(), Role: r.String(), User: user, TTL: 24 * time.Hour})
			if err != nil {
				return nil, err
			}
			e.keys[tn][r], e.keyIDs[tn][r] = k.Secret, k.ID
		}
	}
	if _, _, err := e.svc.Warm(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// key returns a tenant's key of a role.
func (e *testEnv) key(tenant string, r app.Role) string { return e.keys[tenant][r] }

// allKeys lists every key's text (to look for in logs and answers).
func (e *testEnv) allKeys() []string {
	var out []string
	for _, m := range e.keys {
		for _, k := range m {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// newKey makes a key for a test of its own (one it may revoke or let
// run out of its rate).
func (e *testEnv) newKey(t testing.TB, tenant string, r app.Role, ttl time.Duration) app.NewKey {
	t.Helper()
	k, err := e.svc.CreateAPIKey(context.Background(), app.LocalPrincipal("test setup"),
		app.CreateKeyRequest{Tenant: tenant, Name: "test " + t.Name(), Role: r.String(), TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newPersonalKey makes a user of a test of its own and a key bound to
// them: another person than every other key's.
func (e *testEnv) newPersonalKey(t testing.TB, tenant string, r app.Role, ttl time.Duration) app.NewKey {
	t.Helper()
	ctx := context.Background()
	user := fmt.Sprintf("person-%d", tenantSeq.Add(1))
	if _, err := e.svc.CreateUser(ctx, app.LocalPrincipal("test setup"), tenant, user, r.String(), "a long test password for "+user); err != nil {
		t.Fatal(err)
	}
	k, err := e.svc.CreateAPIKey(ctx, app.LocalPrincipal("test setup"),
		app.CreateKeyRequest{Tenant: tenant, Name: "test " + t.Name(), Role: r.String(), User: user, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// snapshot describes everything a request could store: counts of every
// table, each tenant's policy, keys (with revocation) and audit head,
// and the list import log. Two equal snapshots mean nothing was stored.
func (e *testEnv) snapshot(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	st, err := e.st.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.Bytes = 0
	j, _ := json.Marshal(st)
	b.Write(j)
	ts, err := e.st.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	j, _ = json.Marshal(ts)
	b.Write(j)
	for _, tn := range ts {
		ks, err := e.st.APIKeys(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i := range ks {
			// A key's last use is bookkeeping, written when a request
			// authenticates (refused or not): not a change of data.
			ks[i].LastUsed = time.Time{}
		}
		j, _ = json.Marshal(ks)
		b.Write(j)
		tail, err := e.st.AuditTail(ctx, tn.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "\n%s audit %d %s\n", tn.ID, tail.Seq, tail.Hash)
		ds, err := e.st.Decisions(ctx, tn.ID, store.VesselQuery{})
		if err != nil {
			t.Fatal(err)
		}
		j, _ = json.Marshal(ds)
		b.Write(j)
	}
	is, err := e.st.ListImports(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "\nimports %d\n", len(is))
	return b.String()
}

// syncBuffer is a buffer safe for concurrent writers (loggers).
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

// testServer is a Server listening on a free loopback port.
type testServer struct {
	*Server
	e    *testEnv
	url  string
	hs   *http.Server
	logs *syncBuffer
	// errLog receives the http.Server's own complaints.
	errLog *syncBuffer
	client *http.Client
	served chan error
	// stopped: shut down by the test itself.
	stopped bool
	// gate, when set, is called with each request before the server
	// sees it (a test holds a request there).
	gate atomic.Pointer[func(*http.Request)]
}

// startServer serves the environment's service on 127.0.0.1:0 until the
// test ends (then shuts down gracefully and checks the logs hold no key).
func startServer(t testing.TB, opt Options) *testServer {
	t.Helper()
	return startServerEnv(t, env(t), opt)
}

// freshEnv is an environment of its own: an empty store with the lists,
// and one operator analyst key (keys[tenantOp][RoleAnalyst]), for a test
// that changes shared state (the detectors' state) other tests read.
func freshEnv(t testing.TB) *testEnv { return freshEnvWith(t, nil) }

// freshEnvWith is freshEnv with the service's configuration changed by
// config (given the environment's directory) before the service starts.
func freshEnvWith(t testing.TB, config func(dir string, cfg *app.Config)) *testEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.OpenWith(filepath.Join(dir, "tidewatch.db"), sqlite.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{dir: dir, st: st, svcLog: &syncBuffer{}, keys: map[string]map[app.Role]string{}, keyIDs: map[string]map[app.Role]string{}}
	cfg := app.Config{Store: st, Logger: slog.New(slog.NewJSONHandler(e.svcLog, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if config != nil {
		config(dir, &cfg)
	}
	e.svc = app.New(cfg)
	t.Cleanup(func() { e.svc.Close(); st.Close() })
	if _, err := e.svc.EnsureLists(ctx); err != nil {
		t.Fatal(err)
	}
	op := app.LocalPrincipal("test setup")
	if _, err := e.svc.CreateUser(ctx, op, tenantOp, "analyst-user", "analyst", "a long test password for analyst-user"); err != nil {
		t.Fatal(err)
	}
	k, err := e.svc.CreateAPIKey(ctx, op, app.CreateKeyRequest{Tenant: tenantOp, Name: "test analyst", Role: "analyst", User: "analyst-user", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.keys[tenantOp] = map[app.Role]string{app.RoleAnalyst: k.Secret}
	e.keyIDs[tenantOp] = map[app.Role]string{app.RoleAnalyst: k.ID}
	return e
}

func startServerEnv(t testing.TB, e *testEnv, opt Options) *testServer {
	t.Helper()
	ts := &testServer{e: e, logs: &syncBuffer{}, errLog: &syncBuffer{}}
	opt.Logger = slog.New(slog.NewJSONHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opt.UploadDir == "" {
		opt.UploadDir = t.TempDir()
	}
	if opt.AuthFailures == 0 {
		// The tests send many bad keys from one address on purpose;
		// TestAuthFailuresLimited sets a limit.
		opt.AuthFailures = -1
	}
	ts.Server = New(e.svc, opt)
	ts.SetReady(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.url = "http://" + ln.Addr().String()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g := ts.gate.Load(); g != nil {
			(*g)(r)
		}
		ts.Server.ServeHTTP(w, r)
	})
	ts.hs = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(slog.NewJSONHandler(ts.errLog, nil).WithGroup("http"), slog.LevelWarn)}
	ts.served = make(chan error, 1)
	go func() { ts.served <- ts.hs.Serve(ln) }()
	ts.client = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	t.Cleanup(func() {
		if !ts.stopped {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := ts.shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}
		ts.checkLogsClean(t)
	})
	return ts
}

// shutdown stops the server gracefully: no new connections, requests in
// flight finish.
func (ts *testServer) shutdown(ctx context.Context) error {
	ts.stopped = true
	err := ts.hs.Shutdown(ctx)
	if serr := <-ts.served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// checkLogsClean fails the test when a key's text, or its secret part,
// appears in the server's or the service's logs.
func (ts *testServer) checkLogsClean(t testing.TB) {
	t.Helper()
	logs := ts.logs.String() + ts.errLog.String() + ts.e.svcLog.String()
	for _, k := range ts.e.allKeys() {
		if strings.Contains(logs, k) || strings.Contains(logs, secretOf(k)) {
			t.Errorf("a key's secret is in the logs")
		}
	}
	for _, k := range ts.extraSecrets() {
		if strings.Contains(logs, secretOf(k)) {
			t.Errorf("a key's secret is in the logs")
		}
	}
}

var (
	extraMu      sync.Mutex
	extraSecrets []string
)

// rememberSecret adds a key made during a test to those looked for in
// logs.
func rememberSecret(k string) {
	extraMu.Lock()
	extraSecrets = append(extraSecrets, k)
	extraMu.Unlock()
}

func (ts *testServer) extraSecrets() []string {
	extraMu.Lock()
	defer extraMu.Unlock()
	return append([]string(nil), extraSecrets...)
}

// secretOf is the secret part of "tw_<id>_<secret>".
func secretOf(k string) string {
	if i := strings.LastIndexByte(k, '_'); i >= 0 {
		return k[i+1:]
	}
	return k
}

// reply is an answer as the client got it.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// errorBody decodes an error answer (zero when it is not one).
func (r reply) errorBody() ErrorBody {
	var e Error
	json.Unmarshal(r.body, &e)
	return e.Error
}

func (r reply) String() string {
	b := r.body
	if len(b) > 600 {
		b = append(b[:600:600], "..."...)
	}
	return fmt.Sprintf("%d %s", r.status, b)
}

// call sends a request with a key ("" for none). body is sent as is when
// it is a []byte or a string, as JSON otherwise (nil: no body).
func (ts *testServer) call(t testing.TB, method, path, key string, body any) reply {
	t.Helper()
	return ts.callHeaders(t, method, path, body, authHeader(key))
}

func authHeader(key string) http.Header {
	h := http.Header{}
	if key != "" {
		h.Set("Authorization", "Bearer "+key)
	}
	return h
}

func (ts *testServer) callHeaders(t testing.TB, method, path string, body any, h http.Header) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	case io.Reader:
		rd = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, ts.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if rd != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/event-stream" {
		// A stream does not end: read its first event and hang up.
		out, err := readFirstEvent(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: read stream: %v", method, path, err)
		}
		return reply{status: resp.StatusCode, header: resp.Header, body: out}
	}
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: out}
}

// waitJob polls a job until it is no longer running.
func (ts *testServer) waitJob(t testing.TB, key, id string) app.Job {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := ts.call(t, "GET", "/v1/jobs/"+id, key, nil)
		if r.status != http.StatusOK {
			t.Fatalf("job %s: %s", id, r)
		}
		var j app.Job
		if err := json.Unmarshal(r.body, &j); err != nil {
			t.Fatal(err)
		}
		if j.State != app.JobRunning {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still running after two minutes", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// findRoute returns the route with a pattern.
func (s *Server) findRoute(pattern string) *route {
	for _, rt := range s.routes {
		if rt.pattern == pattern {
			return rt
		}
	}
	return nil
}

// fakeTB records failures (to test the test helpers).
type fakeTB struct {
	testing.TB
	failed bool
}

func (f *fakeTB) Errorf(string, ...any) { f.failed = true }
func (f *fakeTB) Helper()               {}

// TestLogCheck: the log check does catch a key's secret in the logs.
func TestLogCheck(t *testing.T) {
	ts := startServer(t, Options{})
	f := &fakeTB{TB: t}
	ts.checkLogsClean(f)
	if f.failed {
		t.Fatal("clean logs reported unclean")
	}
	k := ts.e.key(tenantB, app.RoleAnalyst)
	ts.logs.Write([]byte(`{"msg":"oops","secret":"` + secretOf(k) + `"}` + "\n"))
	ts.checkLogsClean(f)
	if !f.failed {
		t.Error("a key's secret in the logs went unnoticed")
	}
	ts.logs.b.Reset()
}

// readFirstEvent reads a server-sent event stream up to the end of its
// first event (a blank line).
func readFirstEvent(r io.Reader) ([]byte, error) {
	var out []byte
	buf := make([]byte, 512)
	for !bytes.Contains(out, []byte("\n\n")) {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}
