// Package store defines what Tidewatch keeps between runs: list versions
// and their entities, vessels' identity history, positions (as compressed
// per-vessel chunks), events, risk assessments and the audit log. The
// Store interface is what the rest of the program uses; store/sqlite is
// the embedded implementation.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/sanctions"
)

// ErrNotFound is returned by lookups that find nothing.
var ErrNotFound = errors.New("not found")

// Store is the storage interface. Implementations must make CommitBatch
// atomic: a batch is either wholly stored with the run's progress, or not
// at all, which is what makes ingest resumable.
type Store interface {
	// Lists
	PutListVersion(ctx context.Context, ds *sanctions.Dataset) (stored bool, err error)
	ListVersions(ctx context.Context) ([]sanctions.Version, error)
	ListEntities(ctx context.Context, versionID string) ([]*sanctions.Entity, error)

	// Ingest runs
	Run(ctx context.Context, id string) (Run, error) // ErrNotFound when new
	PutRun(ctx context.Context, r Run) error
	// ResetRun deletes everything the run wrote and stores r in its place.
	ResetRun(ctx context.Context, r Run) error
	CommitBatch(ctx context.Context, b *Batch) error

	// Detector state: the engine's checkpoint between ingests (see
	// package detect, Engine.Checkpoint), by key. DetectorState returns
	// ErrNotFound when there is none; PutDetectorState with nil data
	// deletes it. A batch can carry one too (Batch.State), written in the
	// same transaction.
	DetectorState(ctx context.Context, key string) ([]byte, error)
	PutDetectorState(ctx context.Context, key string, data []byte) error

	// Reads for one vessel
	IdentityHistory(ctx context.Context, q VesselQuery) ([]Identity, error)
	Track(ctx context.Context, mmsi uint32, from, to time.Time) ([]Point, error)
	Events(ctx context.Context, mmsis []uint32, from, to time.Time) ([]detect.Event, error)
	Coverage(ctx context.Context, mmsis []uint32, from, to time.Time) (Coverage, error)

	// Risk assessments
	PutAssessment(ctx context.Context, a Assessment) error

	// Audit log (append-only, hash-chained; see package audit)
	AuditTail(ctx context.Context) (AuditRecord, error) // ErrNotFound when empty
	AppendAudit(ctx context.Context, r AuditRecord) error
	AuditRecords(ctx context.Context, fn func(AuditRecord) error) error
	// PruneAudit deletes records up to and including seq (retention).
	PruneAudit(ctx context.Context, throughSeq int64) error

	Close() error
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
	// Counts are totals for the committed batches.
	Fixes  int64 `json:"fixes"`
	Kept   int64 `json:"kept"`
	Events int64 `json:"events"`
}

// Batch is what one ingest step stores, atomically, with the run's new
// progress.
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
	IMO  uint32
	MMSI uint32
}

// Coverage summarises the positions held for some MMSIs over a window.
type Coverage struct {
	Points int64     `json:"points"` // positions kept
	Fixes  int64     `json:"fixes"`  // positions received
	First  time.Time `json:"first,omitempty"`
	Last   time.Time `json:"last,omitempty"`
	// Days is the number of UTC days with at least one position.
	Days int `json:"days"`
}

// Assessment is one stored risk profile.
type Assessment struct {
	ID      string          `json:"id"` // the profile's content hash
	IMO     uint32          `json:"imo,omitempty"`
	MMSI    uint32          `json:"mmsi,omitempty"`
	AsOf    time.Time       `json:"as_of"`
	Score   float64         `json:"score"`
	Outcome string          `json:"recommendation"`
	Profile json.RawMessage `json:"profile"`
}

// AuditRecord is one entry of the audit log.
type AuditRecord struct {
	Seq     int64           `json:"seq"`
	Time    time.Time       `json:"time"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`  // screen, profile, report, decision, prune
	Subject string          `json:"subject"` // what it is about: "imo:9417115"
	Data    json.RawMessage `json:"data"`
	Prev    string          `json:"prev"` // hex SHA-256 of the previous record
	Hash    string          `json:"hash"` // hex SHA-256 of this record
}
