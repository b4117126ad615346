package liststore

import (
	"fmt"
	"time"

	"github.com/tidewatch/tidewatch/sanctions"
)

// Outcome says what an import did.
type Outcome string

const (
	// Stored: a new version, now current.
	Stored Outcome = "stored"
	// Unchanged: the same files as a stored version (same SHA-256).
	Unchanged Outcome = "unchanged"
	// History: a new version older than the current one, kept for diffs
	// without replacing current.
	History Outcome = "history"
)

// Guard holds the sanity checks a new version must pass before it replaces
// the current one.
type Guard struct {
	// MinRatio rejects a version holding fewer than MinRatio times the
	// current version's entities. A truncated CSV still parses, just
	// shorter; this is what catches it. 0 disables the check.
	MinRatio float64
}

// DefaultGuard rejects a new version that lost more than half the entities.
var DefaultGuard = Guard{MinRatio: 0.5}

// ImportResult reports one import.
type ImportResult struct {
	Outcome  Outcome
	Version  sanctions.Version
	Previous *sanctions.Version // the current version before the import
}

// Import parses a bundle and, if it reads cleanly and passes the guard,
// stores it and makes it current when it is newer than the current
// version. On any failure nothing changes, the failure is logged in the
// list's import log and returned. source says where the files came from.
func (s *Store) Import(b sanctions.Bundle, retrieved time.Time, source string, g Guard) (ImportResult, error) {
	var res ImportResult
	fail := func(err error) (ImportResult, error) {
		s.Log(Attempt{Time: time.Now().UTC(), List: b.List, Source: source, Outcome: "failed", Reason: err.Error()})
		return res, err
	}
	ds, err := sanctions.Load(b, retrieved)
	if err != nil {
		return fail(fmt.Errorf("%s: parse: %w; the current version is kept", b.List, err))
	}
	res.Version = ds.Version
	var cur *sanctions.Dataset
	if id, err := s.CurrentID(b.List); err == nil {
		cur, err = s.Load(id)
		if err != nil {
			return fail(fmt.Errorf("%s: read current version: %w", b.List, err))
		}
		v := cur.Version
		res.Previous = &v
	}
	if cur != nil && cur.Version.SHA256 == ds.Version.SHA256 {
		res.Outcome = Unchanged
		res.Version = cur.Version
		s.Log(Attempt{Time: time.Now().UTC(), List: b.List, Source: source, Outcome: string(Unchanged), Version: cur.Version.ID})
		return res, nil
	}
	newer := cur == nil || cur.Version.Before(ds.Version)
	if newer && cur != nil && g.MinRatio > 0 && float64(ds.Version.Total) < g.MinRatio*float64(cur.Version.Total) {
		return fail(fmt.Errorf("%s: new version holds %d entities, current %s holds %d: looks truncated; the current version is kept (allow with a lower minimum ratio)",
			b.List, ds.Version.Total, cur.Version.ID, cur.Version.Total))
	}
	if _, err := s.Put(b, ds); err != nil {
		return fail(err)
	}
	res.Outcome = History
	if newer {
		if err := s.Promote(b.List, ds.Version.ID); err != nil {
			return fail(err)
		}
		res.Outcome = Stored
	}
	s.Log(Attempt{Time: time.Now().UTC(), List: b.List, Source: source, Outcome: string(res.Outcome), Version: ds.Version.ID})
	return res, nil
}
