// Package app is Tidewatch's application core: every use case the CLI
// and the HTTP server offer (screen one or many, profile and report a
// vessel as of a date, decide, ingest AIS, import, update and diff lists,
// query events, keep and verify the audit log, manage tenants, users and
// API keys) lives here, once. It talks to storage through small
// interfaces defined beside the use cases that need them, owns the caches
// (the screening index per set of list versions, the geography) and the
// rules that cut across use cases (who may do what, what is audited).
//
// Adapters depend on this package, never the reverse: store/sqlite
// implements its interfaces, internal/httpapi and cmd/tidewatch call it.
// Every use case takes the Principal it acts for: the tenant whose data it
// touches and the actor named in the audit log.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/store"
)

// Store is everything the service needs of storage; each use case uses a
// narrower part (ListRepository, VesselReader, ...). store.Store
// satisfies it.
type Store interface {
	ListRepository
	VesselReader
	EventReader
	TenantStore
	DecisionStore
	audit.Store
	IngestStore
	MonitorStore
	LedgerStore
	CaseStore
	LeaseStore
	Stats(ctx context.Context) (store.Stats, error)
}

// Config configures a Service.
type Config struct {
	Store Store
	// Risk weights and bands (default risk.DefaultConfig).
	Risk *risk.Config
	// Detect thresholds for ingest (default detect.DefaultConfig).
	Detect *detect.Config
	// Now is the clock (default time.Now); use cases that default to "now"
	// read it, detectors never do.
	Now func() time.Time
	// Logger receives operational logs (default: discard).
	Logger *slog.Logger
	// Version names the program in answers and reports (default: the
	// module's build information).
	Version string
	// AllowPrivateWebhookTargets lets webhooks reach loopback, private,
	// link-local and other internal addresses (a receiver on the same
	// host: the demo, tests). Off by default: a tenant's webhook URL must
	// not make the server call into its own network (SSRF).
	AllowPrivateWebhookTargets bool
	// SealKey (32 bytes) encrypts the secrets the service must read back
	// (webhook signing keys); without it webhooks cannot be added.
	SealKey []byte
	// Scratch makes an empty store the service throws away after use:
	// case files derive their events and profile in one (docs/cases.md).
	// Without it, case export and replay are refused.
	Scratch func() (ScratchStore, error)
	// Uploads keeps the bytes of AIS files received through the API
	// (IngestRequest.Uploads), so case files carry their lines; nil: they
	// are not kept, and UploadsOff says why (the case files' gap says it).
	Uploads    UploadArchive
	UploadsOff string
	// MaxListEntities refuses a list version larger than this (default
	// 200,000 entities: the largest official list, OFAC's SDN file, holds
	// about 18,000; a file ten times larger is not a sanctions list and
	// would make every screening slow).
	MaxListEntities int
	// Publish, when set, is where Ingest hands AIS inputs instead of
	// running the detectors here: the AIS pipeline's stream (package
	// pipeline), whose workers detect and store. It returns a name for
	// what it published (the stream's range).
	Publish func(ctx context.Context, inputs []ingest.Input, flush bool) (string, error)
	// IndexCache keeps built screening indexes across restarts
	// (docs/index-cache.md); nil: every start builds its index.
	IndexCache IndexCache
	// Program names this build of the program exactly (the executable's
	// Go build ID): a saved index is read only by the build that wrote
	// it, since another may normalise or merge names otherwise. Without
	// it IndexCache is not used.
	Program string
	// LiveStandbyEvery is how often a server waiting as the standby of a
	// live input another server holds tries to take it over (default
	// DefaultLiveStandby).
	LiveStandbyEvery time.Duration
	// LiveLeaseCheckEvery is how often the server holding a live input
	// checks it still holds the input's lease, and stops reading it when
	// it does not (default DefaultLiveLeaseCheck).
	LiveLeaseCheckEvery time.Duration
}

// Service runs the use cases. It is safe for concurrent use.
type Service struct {
	st      Store
	risk    risk.Config
	detect  detect.Config
	now     func() time.Time
	log     *slog.Logger
	version string
	maxEnts int
	publish func(ctx context.Context, inputs []ingest.Input, flush bool) (string, error)

	geoOnce sync.Once
	geo     *Geography
	geoErr  error

	screens *screenCache
	keys    *keyCache
	keyUse  keyUses
	// turns queues this process's ingests for the detectors' state.
	turns     stateTurns
	jobs      *jobs
	audit     auditWriter
	closeOnce sync.Once
	Metrics   Metrics

	// monitoring
	monitorMu sync.Mutex
	hub       alertHub
	wake      chan struct{}
	// monitorWake tells RunMonitor a batch was committed (a live feed's
	// events are screened at once, not at the next tick).
	monitorWake chan struct{}
	sealKey     []byte
	processKey  func() []byte // random, for MAC without a seal key
	// webhooks: the delivery client (refusing internal targets unless
	// allowPrivate) and the endpoints' delivery state.
	allowPrivate   bool
	hookClient     func() *http.Client
	endpoints      endpointState
	live           liveInputs
	riskHash       string
	scratch        func() (ScratchStore, error)
	uploads        UploadArchive
	uploadsOff     string
	indexCache     IndexCache
	program        string
	liveStandby    time.Duration
	liveLeaseCheck time.Duration
}

// New makes a service.
func New(cfg Config) *Service {
	s := &Service{st: cfg.Store, risk: risk.DefaultConfig, detect: detect.DefaultConfig, now: time.Now, log: cfg.Logger,
		version: cfg.Version, maxEnts: cfg.MaxListEntities}
	if cfg.Risk != nil {
		s.risk = *cfg.Risk
	}
	if cfg.Detect != nil {
		s.detect = *cfg.Detect
	}
	if cfg.Now != nil {
		s.now = cfg.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.version == "" {
		s.version = BuildVersion()
	}
	if s.liveStandby = cfg.LiveStandbyEvery; s.liveStandby <= 0 {
		s.liveStandby = DefaultLiveStandby
	}
	if s.liveLeaseCheck = cfg.LiveLeaseCheckEvery; s.liveLeaseCheck <= 0 {
		s.liveLeaseCheck = DefaultLiveLeaseCheck
	}
	if s.maxEnts <= 0 {
		s.maxEnts = 200000
	}
	s.riskHash = s.risk.Hash()
	s.screens = newScreenCache(s)
	s.keys = newKeyCache()
	s.jobs = newJobs()
	s.audit.s = s
	s.wake = make(chan struct{}, 1)
	s.monitorWake = make(chan struct{}, 1)
	s.sealKey = cfg.SealKey
	s.processKey = sync.OnceValue(func() []byte {
		b := make([]byte, 32)
		rand.Read(b)
		return b
	})
	s.allowPrivate = cfg.AllowPrivateWebhookTargets
	s.hookClient = sync.OnceValue(func() *http.Client { return s.newWebhookClient(defaultDeliveryTimeout) })
	s.scratch = cfg.Scratch
	s.uploads, s.uploadsOff = cfg.Uploads, cfg.UploadsOff
	s.publish = cfg.Publish
	s.indexCache, s.program = cfg.IndexCache, cfg.Program
	return s
}

// Version is the program version the service reports.
func (s *Service) Version() string { return s.version }

// RiskConfig is the service's risk configuration.
func (s *Service) RiskConfig() risk.Config { return s.risk }

// DetectConfig is the service's detector configuration.
func (s *Service) DetectConfig() detect.Config { return s.detect }

// Now is the service's clock, truncated to the second.
func (s *Service) Now() time.Time { return s.now().UTC().Truncate(time.Second) }

// BuildVersion names this build: the module version and the VCS revision.
func BuildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, st := range bi.Settings {
			if st.Key == "vcs.revision" && len(st.Value) >= 12 {
				v += " " + st.Value[:12]
			}
		}
		return v
	}
	return "(devel)"
}

// Geography is the embedded land, ports and built-in zones.
type Geography struct {
	Land  *geo.Land
	Ports *geo.Ports
	Zones []*geo.Zone
}

// Geography loads the embedded geography once.
func (s *Service) Geography() (*Geography, error) {
	s.geoOnce.Do(func() {
		g := &Geography{}
		if g.Land, s.geoErr = geo.LoadLand(); s.geoErr != nil {
			return
		}
		if g.Ports, s.geoErr = geo.LoadPorts(); s.geoErr != nil {
			return
		}
		g.Zones, s.geoErr = geo.BuiltinZones()
		s.geo = g
	})
	return s.geo, s.geoErr
}

// Code classifies an error for callers: the HTTP status, the CLI's exit
// status. Codes are part of the API and never change meaning.
type Code string

// Error codes.
const (
	CodeInvalid         Code = "invalid_argument"
	CodeNotFound        Code = "not_found"
	CodeUnauthenticated Code = "unauthenticated"
	CodeForbidden       Code = "permission_denied"
	CodeConflict        Code = "conflict"
	CodePrecondition    Code = "failed_precondition"
	CodeTooLarge        Code = "too_large"
	CodeRateLimited     Code = "rate_limited"
	CodeUnavailable     Code = "unavailable"
	CodeInternal        Code = "internal"
)

// Error is a use case's error with its code.
type Error struct {
	Code Code
	Msg  string
	Err  error // the cause, when any (not shown to API clients)
}

func (e *Error) Error() string {
	if e.Err != nil && e.Msg == "" {
		return e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an Error.
func Errorf(code Code, format string, a ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, a...)}
}

// CodeOf returns an error's code: an Error's own, not_found for
// store.ErrNotFound, conflict for store.ErrConflict, internal otherwise.
func CodeOf(err error) Code {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, store.ErrNotFound):
		return CodeNotFound
	case errors.Is(err, store.ErrConflict):
		return CodeConflict
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return CodeUnavailable
	}
	return CodeInternal
}

// Counters are what the service counts; the server exports them.
type Counters struct {
	ScreenQueries  int64
	ProfilesBuilt  int64
	IndexBuilds    int64
	IndexBuildSecs float64
	// IndexCacheReads are the IndexBuilds read from the index cache
	// rather than built from the lists.
	IndexCacheReads  int64
	IngestFixes      int64
	IngestEvents     int64
	ListImports      int64
	ListImportErrors int64
	// AuditCommits and AuditRecords: the audit writer's transactions and
	// the records they held (records per commit: how well it groups).
	AuditCommits int64
	AuditRecords int64
	// AuditLingerExpired counts groups whose wait for more records ran
	// its full auditLinger (the others kept adding records all along).
	AuditLingerExpired int64
	// SignInFailures counts failed or refused sign-ins, on tenants that
	// do not exist too (those are in no audit log).
	SignInFailures int64
}

// Metrics keeps the counters, safe for concurrent use.
type Metrics struct {
	mu sync.Mutex
	c  Counters
}

func (m *Metrics) add(f func(c *Counters)) {
	m.mu.Lock()
	f(&m.c)
	m.mu.Unlock()
}

// Snapshot copies the counters.
func (m *Metrics) Snapshot() Counters {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.c
}
