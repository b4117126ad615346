package casefile

import "time"

// Predicate is what a Tidewatch case statement says about its package
// (docs/cases.md): the vessel, the period, who exported it with which
// program, the profile it holds, and the gaps it states.
type Predicate struct {
	Vessel PredicateVessel `json:"vessel"`
	From   time.Time       `json:"from"`
	To     time.Time       `json:"to"`
	// Exported is when, ExportedBy who (the actor) for which organisation
	// (the tenant).
	Exported     time.Time `json:"exported"`
	ExportedBy   string    `json:"exported_by"`
	Organization string    `json:"organization"`
	Program      string    `json:"program"`
	// The profile and events the package holds (data/profile.json,
	// data/events.jsonl), as derived from its own raw AIS lines.
	ProfileHash    string  `json:"profile_hash"`
	Recommendation string  `json:"recommendation"`
	Score          float64 `json:"score"`
	Events         int     `json:"events"`
	// Complete: every input the store ingested was found and excerpted;
	// otherwise Gaps says what is missing.
	Complete bool     `json:"complete"`
	Gaps     []string `json:"gaps"`
}

// PredicateVessel names the vessel of a case.
type PredicateVessel struct {
	IMO   uint32   `json:"imo,omitempty"`
	MMSI  uint32   `json:"mmsi,omitempty"`
	Name  string   `json:"name,omitempty"`
	MMSIs []uint32 `json:"mmsis"`
	// Counterparts are the other ships whose AIS lines are included
	// (those of the vessel's encounters and identity conflicts).
	Counterparts []uint32 `json:"counterparts"`
}
