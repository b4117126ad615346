package store

import (
	"encoding/json"
	"time"
)

// TouchedKeyJSON is a stored key's JSON with LastUsed raised to at; ok is
// false when the key was used as late already (nothing to write). Both
// stores keep keys as JSON: the one rule lives here.
func TouchedKeyJSON(stored []byte, at time.Time) (out []byte, ok bool, err error) {
	var k APIKey
	if err := json.Unmarshal(stored, &k); err != nil {
		return nil, false, err
	}
	at = at.UTC()
	if !at.After(k.LastUsed) {
		return nil, false, nil
	}
	k.LastUsed = at
	out, err = json.Marshal(k)
	return out, err == nil, err
}
