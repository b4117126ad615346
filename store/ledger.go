package store

import (
	"context"
	"fmt"
	"time"

	"github.com/tidewatch/tidewatch/ledger"
)

// LedgerStore holds the refined-petroleum cap ledger's reference data:
// the notified deliveries, the capacities analysts set and the
// conversion factors they changed. The ledger is shared by every tenant
// (the Committee's figures and a ship's capacity are facts, not a
// tenant's judgment): the operator's analysts write it, everyone reads it.
type LedgerStore interface {
	// PutNotified creates or replaces a record (by ID).
	PutNotified(ctx context.Context, n ledger.Notified) error
	// DeleteNotified deletes a record (ErrNotFound when absent).
	DeleteNotified(ctx context.Context, id string) error
	// NotifiedRecords returns every record, by period then ID.
	NotifiedRecords(ctx context.Context) ([]ledger.Notified, error)
	// PutCapacity creates or replaces a vessel's capacity (by its key).
	PutCapacity(ctx context.Context, c VesselCapacity) error
	// DeleteCapacity deletes a vessel's capacity (ErrNotFound when absent).
	DeleteCapacity(ctx context.Context, key string) error
	// Capacities returns every capacity set, by key.
	Capacities(ctx context.Context) ([]VesselCapacity, error)
	// PutFactor creates or replaces a product's conversion factor.
	PutFactor(ctx context.Context, f ledger.Factor) error
	// DeleteFactor deletes a stored factor (the embedded one applies
	// again; ErrNotFound when absent).
	DeleteFactor(ctx context.Context, product string) error
	// Factors returns the stored factors, by product.
	Factors(ctx context.Context) ([]ledger.Factor, error)
}

// VesselCapacity is a tanker's deadweight as an analyst set it.
type VesselCapacity struct {
	IMO  uint32 `json:"imo,omitempty"`
	MMSI uint32 `json:"mmsi,omitempty"`
	// DWT is the deadweight in tonnes.
	DWT    float64   `json:"dwt_tonnes"`
	Source string    `json:"source"`
	Note   string    `json:"note,omitempty"`
	Set    time.Time `json:"set"`
	SetBy  string    `json:"set_by"`
}

// Key names the vessel: "imo:N" when the IMO is known, else "mmsi:N".
func (c VesselCapacity) Key() string {
	if c.IMO != 0 {
		return fmt.Sprintf("imo:%d", c.IMO)
	}
	return fmt.Sprintf("mmsi:%d", c.MMSI)
}
