// Package store defines what Tidewatch keeps between runs: list versions
// (their entities and raw files), vessels' identity history, positions (as
// compressed per-vessel chunks), events, tenants with their users and API
// keys, risk assessments, decisions and the per-tenant audit logs. It holds
// the record types and the Store contract that every storage adapter
// implements (store/sqlite is the embedded one); storetest is the
// conformance suite each adapter must pass. The application layer
// (internal/app) reads and writes through narrower interfaces of its own.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/sanctions"
)

// ErrNotFound is returned by lookups that find nothing.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would break a uniqueness rule: an
// audit record whose sequence number is taken, a tenant or key id in use.
var ErrConflict = errors.New("conflict")

// Store is the storage contract. CommitBatch moves the run's progress
// only once the whole batch is stored, and a batch that failed can be
// written again and then leaves the store as one clean write would: what
// makes ingest resumable. (PostgreSQL writes a batch in one transaction;
// SQLite, whose one write lock every screening's audit record needs,
// writes it in short steps, each safe to do again, so a failed batch's
// first rows can be read until it is written again.) A batch the run's
// progress already counts is refused (ErrConflict on SQLite). Reads must
// not wait for a long write (an ingest batch) to finish.
type Store interface {
	ListStore
	IngestStore
	VesselStore
	TenantStore
	AssessmentStore
	AuditStore
	MonitorStore
	LedgerStore
	CaseStore
	LeaseStore
	Close() error
}

// ListStore holds list versions: the one home of every list version, read
// by every command and endpoint.
type ListStore interface {
	// PutListVersions stores versions with their entities and raw files,
	// all or none: a version already held (same ID) is left as it is.
	// It reports how many were new.
	PutListVersions(ctx context.Context, vs []ListVersion) (added int, err error)
	ListVersions(ctx context.Context) ([]sanctions.Version, error)
	ListEntities(ctx context.Context, versionID string) ([]*sanctions.Entity, error)
	// ListFiles returns a version's raw files as they were imported.
	ListFiles(ctx context.Context, versionID string) ([]ListFile, error)
	// LogListImport records an import attempt, good or bad.
	LogListImport(ctx context.Context, a ListImport) error
	ListImports(ctx context.Context, list string) ([]ListImport, error)
}

// ListVersion is a version to store: the parsed dataset and the raw
// files it was read from (nil Files: keep no raw copy).
type ListVersion struct {
	Dataset *sanctions.Dataset
	Files   []ListFile
}

// ListFile is one raw file of a list version.
type ListFile struct {
	Role   string `json:"role"`
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Data   []byte `json:"-"`
}

// ListImport is one attempt to import or update a list.
type ListImport struct {
	Time    time.Time `json:"time"`
	List    string    `json:"list"`
	Source  string    `json:"source"`
	Outcome string    `json:"outcome"` // stored, unchanged, history, failed
	Version string    `json:"version,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Actor   string    `json:"actor,omitempty"`
}

// IngestStore holds what ingest writes.
type IngestStore interface {
	Run(ctx context.Context, id string) (Run, error) // ErrNotFound when new
	PutRun(ctx context.Context, r Run) error
	// ResetRun deletes everything the run wrote and stores r in its place.
	ResetRun(ctx context.Context, r Run) error
	CommitBatch(ctx context.Context, b *Batch) error
	Runs(ctx context.Context) ([]Run, error)
	// LockIngest takes the ingest lock of one run (key: its id), held
	// until unlock: one ingest writes a run at a time (ErrLocked when
	// another holds it, in this process or another); different runs, such
	// as a live feed and an uploaded file, go on side by side.
	LockIngest(ctx context.Context, key string) (unlock func() error, err error)
	// Detector state: the engine's checkpoint between ingests (see
	// package detect, Engine.Checkpoint), by key. DetectorState returns
	// ErrNotFound when there is none; PutDetectorState with nil data
	// deletes it. A batch can carry one too (Batch.State), written in the
	// same transaction.
	DetectorState(ctx context.Context, key string) ([]byte, error)
	PutDetectorState(ctx context.Context, key string, data []byte) error
}

// ErrLocked says another ingest holds the store's ingest lock.
var ErrLocked = errors.New("another ingest holds this store")

// LeaseStore gives store-wide leases that their holder can check while it
// holds them (a live input read by one server of several on one store).
type LeaseStore interface {
	// LockLease takes the lock LockIngest(key) takes (ErrLocked when
	// another holds it) as a Lease.
	LockLease(ctx context.Context, key string) (Lease, error)
}

// Lease is a store-wide lock held by this process. The store can end it
// while the process goes on (on PostgreSQL the connection holding it
// ends: pg_terminate_backend, a proxy dropping it), and another process
// can then take it: a holder checks it with Held while it works.
type Lease interface {
	// Held says whether the lock is still this holder's: nil while it
	// is, an error wrapping ErrLeaseLost once it is not (for good: take a
	// new lease), another error when the store could not tell.
	Held(ctx context.Context) error
	// Release gives the lock up (a lost lease's resources are freed).
	Release() error
}

// ErrLeaseLost says a lease is no longer held by its holder.
var ErrLeaseLost = errors.New("the lease is lost")

// VesselStore answers reads about vessels and events.
type VesselStore interface {
	IdentityHistory(ctx context.Context, q VesselQuery) ([]Identity, error)
	Track(ctx context.Context, mmsi uint32, from, to time.Time) ([]Point, error)
	// Events returns the events involving any of the MMSIs that overlap
	// [from, to], each occurrence once, in detect.SortEvents order.
	Events(ctx context.Context, mmsis []uint32, from, to time.Time) ([]detect.Event, error)
	// QueryEvents selects events by kind, time, area and vessel.
	QueryEvents(ctx context.Context, q EventQuery) ([]detect.Event, error)
	Coverage(ctx context.Context, mmsis []uint32, from, to time.Time) (Coverage, error)
	Stats(ctx context.Context) (Stats, error)
}

// TenantStore holds tenants, their users and API keys.
type TenantStore interface {
	PutTenant(ctx context.Context, t Tenant) error
	Tenant(ctx context.Context, id string) (Tenant, error)
	Tenants(ctx context.Context) ([]Tenant, error)
	PutUser(ctx context.Context, u User) error
	User(ctx context.Context, tenant, name string) (User, error)
	Users(ctx context.Context, tenant string) ([]User, error)
	// PutAPIKey creates a key (ErrConflict when the ID is taken) or, for
	// a key already held, updates it (revocation, last use).
	PutAPIKey(ctx context.Context, k APIKey) error
	APIKey(ctx context.Context, id string) (APIKey, error)
	APIKeys(ctx context.Context, tenant string) ([]APIKey, error)
	// TouchAPIKeys records when keys were last used: each key's LastUsed
	// is raised to the time given (never lowered), and nothing else of
	// the key changes (a revocation made meanwhile stays). Unknown IDs
	// are ignored.
	TouchAPIKeys(ctx context.Context, used []KeyUse) error
	// Sessions of signed-in users, by the hash of their token: kept in
	// the store, so every server node honours them.
	PutSession(ctx context.Context, s Session) error
	Session(ctx context.Context, idHash string) (Session, error)
	DeleteSession(ctx context.Context, idHash string) error
	// DeleteSessions ends every session of a user (a password change).
	DeleteSessions(ctx context.Context, tenant, user string) error
}

// Session is a signed-in user's session. The token is in the user's
// cookie only; the store keeps its hash, and the hash of its CSRF token.
type Session struct {
	IDHash   string    `json:"id_hash"`
	Tenant   string    `json:"tenant"`
	User     string    `json:"user"`
	CSRFHash string    `json:"csrf_hash"`
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires"`
}

// AssessmentStore holds risk profiles and decisions.
type AssessmentStore interface {
	PutAssessment(ctx context.Context, a Assessment) error
	Assessment(ctx context.Context, tenant, id string) (Assessment, error)
	// PutDecision creates a decision or updates its approval.
	PutDecision(ctx context.Context, d Decision) error
	// UpdateDecisionIf stores d over the decision of the same id only if
	// that decision's status is still from (ErrConflict otherwise,
	// ErrNotFound when there is none): two approvers at once cannot both
	// win.
	UpdateDecisionIf(ctx context.Context, d Decision, from string) error
	Decisions(ctx context.Context, tenant string, q VesselQuery) ([]Decision, error)
	Decision(ctx context.Context, tenant string, id int64) (Decision, error)
}

// AuditStore holds one append-only, hash-chained audit log per tenant.
type AuditStore interface {
	// AuditTail returns the tenant's last record (ErrNotFound when empty).
	AuditTail(ctx context.Context, tenant string) (AuditRecord, error)
	// AppendAudit appends records, all or none, in one transaction: each
	// record's Seq must follow its tenant's tail (ErrConflict otherwise),
	// and each tenant's anchor moves to its new head in the same
	// transaction.
	AppendAudit(ctx context.Context, rs []AuditRecord) error
	// AuditRecords streams the tenant's records in order. A log that
	// holds bytes that are not records (a store keeping it in a file)
	// is read past them, every whole record given to fn, and the error
	// is then an *AuditDamage saying where.
	AuditRecords(ctx context.Context, tenant string, fn func(AuditRecord) error) error
	// AuditAnchor is the head last recorded by AppendAudit or PruneAudit:
	// records deleted from the log's tail leave it pointing past the end.
	AuditAnchor(ctx context.Context, tenant string) (AuditAnchor, error)
	// PruneAudit deletes records up to and including seq (retention).
	PruneAudit(ctx context.Context, tenant string, throughSeq int64) error
}

// Run is one ingest of a set of inputs. Its ID is derived from the inputs
// (see package ingest), so a rerun of the same inputs resumes it.
type Run struct {
	ID     string   `json:"id"`
	Inputs []string `json:"inputs"`
	// Sorted says the inputs are read fully sorted (they were found out
	// of time order); otherwise with a bounded reorder window.
	Sorted bool `json:"sorted"`
	// Detached says the inputs reached back before the detector state's
	// window and were read on their own (see package ingest).
	Detached bool `json:"detached,omitempty"`
	// StartState names (a hash of) the detector state the run started
	// from: a run resumed from another state is started over.
	StartState string `json:"start_state,omitempty"`
	// Batches is how many batches are committed; a resumed run skips
	// writing them again.
	Batches int64 `json:"batches"`
	Done    bool  `json:"done"`
	// Counts are totals for the committed batches: Fixes is the
	// positions stored (released by the detectors' reorder window).
	Fixes  int64 `json:"fixes"`
	Kept   int64 `json:"kept"`
	Events int64 `json:"events"`
	// Read is the positions read from the inputs, Held those still in
	// the detectors' reorder window when the run ended at a checkpoint
	// (the last 2 h of the data by default, with the window kept before
	// the run): the next run stores them, or a flush (set when Done).
	Read int64 `json:"read,omitempty"`
	Held int64 `json:"held,omitempty"`
	// Untimed is the positions read without a time (skipped), NoAIS the
	// inputs that held no AIS message at all (set when Done): a run
	// already complete answers what the first said of them.
	Untimed int64    `json:"untimed,omitempty"`
	NoAIS   []string `json:"no_ais,omitempty"`
	// Messages is the AIS messages read from the inputs, of any type
	// (set when Done). A run done with none, no position and no input
	// named in NoAIS was recorded by a build that did not count them
	// (nor name inputs that are not AIS): it stored nothing, and a rerun
	// reads its inputs again rather than answer that they are ingested.
	Messages int64 `json:"messages,omitempty"`
}

// StoredNothing says a done run was recorded by an earlier build from
// inputs it found nothing in (a flush has no input: it is not one): no message counted, no position read or
// held, nothing stored, no input said not to be AIS (see Messages).
func (r Run) StoredNothing() bool {
	return r.Done && len(r.Inputs) > 0 && r.Messages == 0 && r.Read == 0 && r.Held == 0 && r.Untimed == 0 && len(r.NoAIS) == 0 &&
		r.Fixes == 0 && r.Kept == 0 && r.Events == 0
}

// Batch is what one ingest step stores, with the run's new progress
// (see Store on how a failed batch is written again).
type Batch struct {
	Run        Run
	Chunks     []Chunk
	Events     []StoredEvent
	Identities []Identity
	// State, when set, is written (or, with nil Data, deleted) with the
	// batch.
	State *StateBlob
}

// StateBlob is a detector checkpoint under its key.
type StateBlob struct {
	Key  string
	Data []byte
}

// StoredEvent is an event with its place in the run's deterministic
// emission order. An event whose ID was stored before is a later version
// of that occurrence and replaces it for readers (Events).
type StoredEvent struct {
	Seq   int64
	Event detect.Event
}

// Identity is one value a vessel broadcast for one field, with when it
// was first and last seen and how often. Field is "name", "imo",
// "call_sign", "ship_type", "destination", "flag" (the MID's), "length",
// "draught" or "mmsi" (for lookups by IMO).
type Identity struct {
	MMSI   uint32    `json:"mmsi"`
	IMO    uint32    `json:"imo,omitempty"` // the IMO broadcast with it, when any
	Field  string    `json:"field"`
	Value  string    `json:"value"`
	First  time.Time `json:"first_seen"`
	Last   time.Time `json:"last_seen"`
	Count  int64     `json:"count"`
	Source string    `json:"source"`
}

// VesselQuery selects a vessel by IMO or MMSI.
type VesselQuery struct {
	IMO  uint32 `json:"imo,omitempty"`
	MMSI uint32 `json:"mmsi,omitempty"`
}

// EventQuery selects events. Zero fields do not filter.
type EventQuery struct {
	MMSIs []uint32
	Kinds []string
	// From/To keep events overlapping [From, To].
	From, To time.Time
	// Area keeps events whose position lies in the box.
	Area *BBox
	// Limit caps the result (the adapter may apply its own maximum).
	Limit int
}

// BBox is an area: south-west and north-east corners in degrees. A box
// whose west is east of its east crosses the antimeridian.
type BBox struct {
	South, West, North, East float64
}

// Contains says whether a position lies in the box.
func (b BBox) Contains(lat, lon float64) bool {
	if lat < b.South || lat > b.North {
		return false
	}
	if b.West <= b.East {
		return lon >= b.West && lon <= b.East
	}
	return lon >= b.West || lon <= b.East
}

// Coverage summarises the positions held for some MMSIs over a window.
type Coverage struct {
	Points int64     `json:"points"` // positions kept
	Fixes  int64     `json:"fixes"`  // positions received
	First  time.Time `json:"first,omitzero"`
	Last   time.Time `json:"last,omitzero"`
	// Days is the number of UTC days with at least one position.
	Days int `json:"days"`
}

// Stats counts what a store holds.
type Stats struct {
	Bytes         int64 `json:"bytes"`
	SchemaVersion int   `json:"schema_version"`
	ListVersions  int64 `json:"list_versions"`
	ListEntities  int64 `json:"list_entities"`
	Runs          int64 `json:"runs"`
	Chunks        int64 `json:"chunks"`
	Points        int64 `json:"points"`
	MMSIs         int64 `json:"mmsis"`
	Events        int64 `json:"events"`
	Identities    int64 `json:"identities"`
	Assessments   int64 `json:"assessments"`
	Decisions     int64 `json:"decisions"`
	Audit         int64 `json:"audit_records"`
	Tenants       int64 `json:"tenants"`
}

// Tenant is an insurer, a broker or a government unit: everything it
// creates (decisions, assessments, audit records) is its own.
type Tenant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Operator marks the tenant that runs the installation: its analysts
	// and admins may change the reference data every tenant shares
	// (lists, AIS) and its admins manage tenants.
	Operator bool         `json:"operator,omitempty"`
	Created  time.Time    `json:"created"`
	Policy   TenantPolicy `json:"policy"`
}

// TenantPolicy is a tenant's governance settings.
type TenantPolicy struct {
	// FourEyes: a decision that goes against the profile's
	// recommendation (accepting or referring a decline) needs a second
	// person's approval before it is in force.
	FourEyes bool `json:"four_eyes"`
}

// User is a person who signs in.
type User struct {
	Tenant       string    `json:"tenant"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	PasswordHash string    `json:"-"`
	Created      time.Time `json:"created"`
	Disabled     bool      `json:"disabled,omitempty"`
	// FailedLogins counts consecutive failures; LockedUntil is set when
	// they reach the limit.
	FailedLogins int       `json:"failed_logins,omitempty"`
	LockedUntil  time.Time `json:"locked_until,omitzero"`
	// CreatedBy names who added the user, as the audit log does; MadeBy
	// is the credential that did: "TENANT/NAME" for a person, "key:ID"
	// for an API key bound to no one. Both are empty for a user added
	// before they were recorded. Four eyes follow MadeBy: a person does
	// not approve the overrides of someone they added, or who added them.
	CreatedBy string `json:"created_by,omitempty"`
	MadeBy    string `json:"made_by,omitempty"`
}

// APIKey is a key for the HTTP API. The secret is shown once when the key
// is made; the store keeps only its hash.
type APIKey struct {
	ID        string    `json:"id"` // public part, in the key's text
	Tenant    string    `json:"tenant"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Hash      string    `json:"-"` // hex SHA-256 of the secret
	CreatedBy string    `json:"created_by"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
	Revoked   time.Time `json:"revoked,omitzero"`
	LastUsed  time.Time `json:"last_used,omitzero"`
	// User, when set, binds the key to a user of its tenant: the key acts
	// as that person (four eyes count people, not keys) and stops
	// working when the user is disabled.
	User string `json:"user,omitempty"`
	// MadeBy is the credential that made the key, as store.User's
	// MadeBy ("TENANT/NAME" or "key:ID"); empty for a key made before it
	// was recorded (CreatedBy then says who).
	MadeBy string `json:"made_by,omitempty"`
}

// KeyUse is an API key's use at a time (TouchAPIKeys).
type KeyUse struct {
	ID string
	At time.Time
}

// Assessment is one stored risk profile.
type Assessment struct {
	Tenant  string          `json:"tenant"`
	ID      string          `json:"id"` // the profile's content hash
	IMO     uint32          `json:"imo,omitempty"`
	MMSI    uint32          `json:"mmsi,omitempty"`
	AsOf    time.Time       `json:"as_of"`
	Score   float64         `json:"score"`
	Outcome string          `json:"recommendation"`
	Profile json.RawMessage `json:"profile"`
}

// Decision is an underwriting decision about a vessel.
type Decision struct {
	Tenant string `json:"tenant"`
	ID     int64  `json:"id"` // assigned by the store on creation
	// Subject is "imo:N" or "mmsi:N".
	Subject  string `json:"subject"`
	IMO      uint32 `json:"imo,omitempty"`
	MMSI     uint32 `json:"mmsi,omitempty"`
	Decision string `json:"decision"` // decline, refer, accept
	Reason   string `json:"reason"`
	// Recommendation and ProfileHash are the profile the decision was
	// taken on; Override says the decision goes against it.
	Recommendation string `json:"recommendation"`
	ProfileHash    string `json:"profile_hash"`
	Override       bool   `json:"override,omitempty"`
	By             string `json:"by"`
	// ByPerson is the person behind By (a user, or the CLI's operator);
	// empty when a key not bound to a user made it.
	ByPerson string    `json:"by_person,omitempty"`
	Time     time.Time `json:"time"`
	// Status is "in_force", or "pending_approval" until a second person
	// approves (or "rejected").
	Status     string    `json:"status"`
	ApprovedBy string    `json:"approved_by,omitempty"`
	ApprovedAt time.Time `json:"approved_at,omitzero"`
	AuditSeq   int64     `json:"audit_seq"`
}

// AuditRecord is one entry of a tenant's audit log.
type AuditRecord struct {
	Tenant  string          `json:"tenant"`
	Seq     int64           `json:"seq"`
	Time    time.Time       `json:"time"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`  // screen, profile, report, decision, prune, ...
	Subject string          `json:"subject"` // what it is about: "imo:9417115"
	Data    json.RawMessage `json:"data"`
	Prev    string          `json:"prev"` // hex SHA-256 of the previous record
	Hash    string          `json:"hash"` // hex SHA-256 of this record
}

// AuditDamage is what AuditRecords returns, after giving every whole
// record, for a log holding bytes that are not records: changed by hand
// or by a fault, not the end of a write cut short by a crash (which the
// store moves aside). Verify reports each range as a problem.
type AuditDamage struct {
	Tenant string
	Ranges []DamagedRange
}

// DamagedRange is bytes of a log that are not records: from From to To
// (exclusive; To is the next whole record, or the end of the log), after
// the record numbered After (0: at the start).
type DamagedRange struct {
	From, To int64
	After    int64
	AtEnd    bool // no whole record follows
}

func (e *AuditDamage) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "audit log of %s is damaged: ", e.Tenant)
	for i, r := range e.Ranges {
		if i > 0 {
			b.WriteString("; ")
		}
		if r.AtEnd {
			fmt.Fprintf(&b, "bytes %d to its end (%d), after record %d, are not records", r.From, r.To, r.After)
		} else {
			fmt.Fprintf(&b, "bytes %d to %d, after record %d, are not records (whole records follow: the bytes were changed, not cut short by a crash)", r.From, r.To, r.After)
		}
	}
	b.WriteString("; a backup of the log holds the bytes as written")
	return b.String()
}

// AuditAnchor is a tenant's recorded head: the last sequence number and
// hash written, and how many records the log should hold.
type AuditAnchor struct {
	Seq     int64  `json:"seq"`
	Hash    string `json:"hash"`
	Records int64  `json:"records"`
	// Remade is when the anchor was made again from the log's own
	// records, having been found missing or empty beside a log that held
	// some (a store that keeps its anchor in a file of its own): records
	// cut from the log's end before then cannot be told. Verify reports
	// it.
	Remade time.Time `json:"remade,omitzero"`
}

// MonitorStore holds what continuous monitoring keeps: portfolios with
// their vessels' status, alerts with their deliveries, webhooks, and the
// monitor's cursors.
type MonitorStore interface {
	PutPortfolio(ctx context.Context, p Portfolio) error
	Portfolios(ctx context.Context, tenant string) ([]Portfolio, error)
	DeletePortfolio(ctx context.Context, tenant, id string) error
	// PutPortfolioVessels creates or replaces vessels of a portfolio, all
	// or none.
	PutPortfolioVessels(ctx context.Context, vs []PortfolioVessel) error
	DeletePortfolioVessel(ctx context.Context, tenant, portfolio, id string) error
	// PortfolioVessels returns a tenant's vessels (portfolio "" : all of
	// the tenant's; tenant "": every tenant's, for the monitor).
	PortfolioVessels(ctx context.Context, tenant, portfolio string) ([]PortfolioVessel, error)

	// PutAlert creates an alert (ID 0: the store assigns the next of the
	// tenant) or stores a new version of one, with its deliveries queued
	// in the outbox, in one transaction. payload, when set, makes each
	// delivery's body from the alert as stored (its id assigned). An
	// alert is unique per tenant and Key: creating one whose key exists
	// is ErrConflict. Every write sets a.Change to the next of the
	// tenant's change order, in commit order.
	PutAlert(ctx context.Context, a *Alert, deliveries []Delivery, payload func(*Alert) []byte) error
	Alert(ctx context.Context, tenant string, id int64) (Alert, error)
	AlertByKey(ctx context.Context, tenant, key string) (Alert, error)
	Alerts(ctx context.Context, tenant string, f AlertFilter) ([]Alert, error)

	PutWebhook(ctx context.Context, w Webhook) error
	// UpdateWebhook reads the tenant's webhook id, lets fn change it and
	// stores the result, in one transaction holding the row: two
	// changes made at once (two nodes) both land, and a webhook deleted
	// meanwhile is ErrNotFound, not brought back. An error from fn
	// stores nothing and is returned.
	UpdateWebhook(ctx context.Context, tenant, id string, fn func(*Webhook) error) error
	Webhooks(ctx context.Context, tenant string) ([]Webhook, error)
	DeleteWebhook(ctx context.Context, tenant, id string) error
	// ClaimDeliveries takes up to limit deliveries due by now and not
	// held by another worker, holding them until leaseUntil.
	ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]Delivery, error)
	UpdateDelivery(ctx context.Context, d Delivery) error
	Deliveries(ctx context.Context, tenant string, f DeliveryFilter) ([]Delivery, error)

	// MonitorState and PutMonitorState keep the monitor's cursors (the
	// list versions last screened, the last event seen).
	MonitorState(ctx context.Context, key string) ([]byte, error) // ErrNotFound when unset
	PutMonitorState(ctx context.Context, key string, v []byte) error
	// EventsAfter returns stored events in the order they were stored,
	// after a cursor (0: from the start), with the cursor of each.
	EventsAfter(ctx context.Context, cursor int64, limit int) ([]CursorEvent, error)
	// EventCursor is the cursor of the last event stored (0: none).
	EventCursor(ctx context.Context) (int64, error)
}

// CursorEvent is an event with its place in the store.
type CursorEvent struct {
	Cursor int64
	Event  detect.Event
}

// Portfolio is a tenant's set of insured (or chartered, financed) ships.
type Portfolio struct {
	Tenant  string    `json:"tenant"`
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// PortfolioVessel is a ship in a portfolio, with the companies behind it
// and its monitored status.
type PortfolioVessel struct {
	Tenant    string `json:"tenant"`
	Portfolio string `json:"portfolio"`
	// ID is the tenant's own reference for the entry.
	ID        string    `json:"id"`
	IMO       uint32    `json:"imo,omitempty"`
	MMSI      uint32    `json:"mmsi,omitempty"`
	Name      string    `json:"name,omitempty"`
	Flag      string    `json:"flag,omitempty"`
	Parties   []Party   `json:"parties,omitempty"`
	CoverFrom time.Time `json:"cover_from,omitzero"`
	CoverTo   time.Time `json:"cover_to,omitzero"`
	Added     time.Time `json:"added"`
	// Status is what the monitor last found; Seen is the status when a
	// person last looked (the fleet table shows what changed between).
	Status *VesselStatus `json:"status,omitempty"`
	Seen   *VesselStatus `json:"seen,omitempty"`
}

// Party is a company behind a ship.
type Party struct {
	Role string `json:"role"` // owner, manager, operator, charterer
	Name string `json:"name"`
	// CompanyIMO is the IMO company number (7 digits), when known.
	CompanyIMO string `json:"company_imo,omitempty"`
}

// VesselStatus is a vessel's monitored state.
type VesselStatus struct {
	Recommendation string    `json:"recommendation"`
	Score          float64   `json:"score"`
	ProfileHash    string    `json:"profile_hash,omitempty"`
	AsOf           time.Time `json:"as_of"`
	// Hits are the list entities matched, on the vessel or its parties:
	// "vessel ofac-sdn:17104", "owner eu:...".
	Hits []string `json:"hits,omitempty"`
}

// Alert is a change of state worth a person's attention: a list hit
// added or removed, a risk band change, a high-severity event. One alert
// per change of state: a later version of the same occurrence updates it.
type Alert struct {
	Tenant string `json:"tenant"`
	ID     int64  `json:"id"` // assigned by the store, per tenant
	// Key identifies the change of state ("list:<vessel>:<entity>",
	// "event:<event id>:<vessel>", "band:<vessel>:<band>").
	Key      string `json:"key"`
	Version  int    `json:"version"`
	Kind     string `json:"kind"`     // list_hit_added, list_hit_removed, band_changed, event
	Severity string `json:"severity"` // low, medium, high
	State    string `json:"state"`    // open, acknowledged, closed
	// The vessel it is about.
	Portfolio  string `json:"portfolio"`
	VesselRef  string `json:"vessel_ref"`
	IMO        uint32 `json:"imo,omitempty"`
	MMSI       uint32 `json:"mmsi,omitempty"`
	VesselName string `json:"vessel_name,omitempty"`
	Title      string `json:"title"`
	// Why says in words what changed and why it matters.
	Why      string          `json:"why"`
	Evidence []AlertEvidence `json:"evidence"`
	Created  time.Time       `json:"created"`
	Updated  time.Time       `json:"updated"`
	// Lifecycle.
	By          string    `json:"by,omitempty"` // who acknowledged or closed it
	At          time.Time `json:"at,omitzero"`
	CloseReason string    `json:"close_reason,omitempty"`
	// Suppress: closed as a false positive, suppressing this cause for
	// this vessel.
	Suppress bool `json:"suppress,omitempty"`
	// Change is the alert's place in the order of its tenant's alert
	// changes: every PutAlert (a new alert, a new version, a state
	// change) gives it a higher one than any committed before it, so a
	// server on the same store follows what others changed
	// (AlertFilter.AfterChange). Set by the store; not part of the
	// alert's JSON (API answers, webhook payloads).
	Change int64 `json:"-"`
}

// AlertEvidence points at what an alert rests on.
type AlertEvidence struct {
	Kind string `json:"kind"` // event, list_record, list_version, profile
	Ref  string `json:"ref"`  // an event id, an entity id, a version id, a profile hash
	Text string `json:"text"`
}

// AlertFilter selects alerts; zero fields do not filter.
type AlertFilter struct {
	States    []string
	Kinds     []string
	Portfolio string
	VesselRef string
	// AfterID keeps alerts with a higher id; Limit caps them.
	AfterID int64
	Limit   int
	// AfterChange keeps alerts whose last change (Alert.Change) is
	// higher.
	AfterChange int64
	// Order is the order of the answer: by id, newest first (the zero
	// value), or by change.
	Order AlertOrder
}

// AlertOrder orders the alerts AlertFilter selects.
type AlertOrder int

const (
	// AlertsNewest: by id, the newest alert first.
	AlertsNewest AlertOrder = iota
	// AlertsByChange: by Change, the oldest change first (a reader
	// following the changes takes them in batches with AfterChange).
	AlertsByChange
	// AlertsLastChanged: by Change, the latest change first.
	AlertsLastChanged
)

// Webhook is where a tenant's alerts are POSTed.
type Webhook struct {
	Tenant string `json:"tenant"`
	ID     string `json:"id"`
	URL    string `json:"url"`
	// Secrets are the signing keys, newest first (two while rotating),
	// sealed with the installation's key: never stored in clear.
	Secrets []SealedSecret `json:"-"`
	// SealedUserinfo is the URL's user and password ("user:password"),
	// sealed like the secrets; URL then holds none. Empty: the URL has no
	// credentials (or, stored before they were sealed, holds them in
	// clear until the service seals them).
	SealedUserinfo []byte `json:"-"`
	// Kinds, MinSeverity and Portfolios select the alerts sent (empty:
	// all). System alerts (about the installation) belong to no
	// portfolio and are sent whatever Portfolios says.
	Kinds       []string  `json:"kinds,omitempty"`
	MinSeverity string    `json:"min_severity,omitempty"`
	Portfolios  []string  `json:"portfolios,omitempty"`
	Active      bool      `json:"active"`
	Created     time.Time `json:"created"`
}

// SealedSecret is a secret encrypted with the installation's key.
type SealedSecret struct {
	ID      string    `json:"id"` // shown in signatures' key id
	Sealed  []byte    `json:"sealed"`
	Created time.Time `json:"created"`
}

// Delivery is one alert version to POST to one webhook (the outbox).
type Delivery struct {
	ID           int64  `json:"id"`
	Tenant       string `json:"tenant"`
	Webhook      string `json:"webhook"`
	AlertID      int64  `json:"alert_id"`
	AlertVersion int    `json:"alert_version"`
	// IdempotencyKey is the same for every attempt of one alert version.
	IdempotencyKey string    `json:"idempotency_key"`
	Payload        []byte    `json:"-"`
	State          string    `json:"state"` // pending, delivered, dead
	Attempts       int       `json:"attempts"`
	NextAttempt    time.Time `json:"next_attempt"`
	LastError      string    `json:"last_error,omitempty"`
	Created        time.Time `json:"created"`
	Delivered      time.Time `json:"delivered,omitzero"`
}

// DeliveryFilter selects deliveries.
type DeliveryFilter struct {
	States []string
	Limit  int
}
