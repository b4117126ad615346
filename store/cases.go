package store

import (
	"context"
	"time"

	"github.com/tidewatch/tidewatch/detect"
)

// CaseStore holds what signed case files need: each tenant's signing keys
// (private halves sealed with the installation's key), the content IDs of
// ingested inputs (so an export can check a file is the one ingested),
// and the case files a tenant imported, with their provenance.
type CaseStore interface {
	// PutSigningKey creates a key (ErrConflict when the tenant has one
	// with its ID) or, with update, replaces it (retirement).
	PutSigningKey(ctx context.Context, k SigningKey, update bool) error
	SigningKeys(ctx context.Context, tenant string) ([]SigningKey, error)
	SigningKey(ctx context.Context, tenant, id string) (SigningKey, error)
	// PutInputRecords records the inputs of an ingest run (replacing what
	// was recorded for the same run and name).
	PutInputRecords(ctx context.Context, rs []InputRecord) error
	InputRecords(ctx context.Context) ([]InputRecord, error)
	// PutImportedCase creates or replaces a tenant's imported case.
	PutImportedCase(ctx context.Context, c ImportedCase) error
	// ImportedCases returns a tenant's imported cases about a vessel (any
	// vessel when q is zero), newest first.
	ImportedCases(ctx context.Context, tenant string, q VesselQuery) ([]ImportedCase, error)
}

// SigningKey is an Ed25519 key a tenant signs case files with. The
// public half is publishable; the private half is kept sealed.
type SigningKey struct {
	Tenant string `json:"tenant"`
	// ID is the key id signatures carry: hex SHA-256 of the public key.
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	PublicKey []byte    `json:"public_key"`
	Sealed    []byte    `json:"-"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
	Retired   time.Time `json:"retired,omitzero"`
}

// InputRecord is one input of an ingest run, named as it was given and
// identified by content (ingest.Input.ID).
type InputRecord struct {
	Run       string    `json:"run"`
	Name      string    `json:"name"`
	ContentID string    `json:"content_id"`
	Recorded  time.Time `json:"recorded"`
	// Kept, for a file received through the API, is the hex SHA-256 of
	// its bytes as received, kept in the installation's upload archive
	// (docs/cases.md); NotKept says why they were not.
	Kept    string `json:"kept,omitempty"`
	NotKept string `json:"not_kept,omitempty"`
}

// ImportedCase is a case file a tenant imported: what it is about, who
// signed it and when, and what it holds.
type ImportedCase struct {
	Tenant string `json:"tenant"`
	// ID is the hex SHA-256 of the package's in-toto statement.
	ID   string    `json:"id"`
	IMO  uint32    `json:"imo,omitempty"`
	MMSI uint32    `json:"mmsi,omitempty"`
	Name string    `json:"name,omitempty"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Who made the package, with which program.
	ExportedBy string       `json:"exported_by"`
	Exported   time.Time    `json:"exported"`
	Program    string       `json:"program"`
	Signers    []CaseSigner `json:"signers"`
	// Verified: every hash and signature checked when imported.
	Verified bool     `json:"verified"`
	Problems []string `json:"problems,omitempty"`
	// The package's profile and events.
	Recommendation string         `json:"recommendation"`
	Score          float64        `json:"score"`
	ProfileHash    string         `json:"profile_hash"`
	Events         []detect.Event `json:"events"`
	// Gaps the package states (inputs it could not include).
	Gaps       []string  `json:"gaps,omitempty"`
	Imported   time.Time `json:"imported"`
	ImportedBy string    `json:"imported_by"`
	// Ingested names the ingest run that loaded the package's AIS into
	// the store, when the importer asked for it.
	Ingested string `json:"ingested,omitempty"`
}

// CaseSigner is one signature on a case file.
type CaseSigner struct {
	KeyID        string    `json:"key_id"`
	Name         string    `json:"name"`
	Organization string    `json:"organization"`
	SignedAt     time.Time `json:"signed_at"`
	// Valid: the signature checks against the key the package carries;
	// Trusted: that key was one the importer trusts (given, or its own).
	Valid   bool `json:"valid"`
	Trusted bool `json:"trusted"`
}
