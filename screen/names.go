package screen

import (
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/names"
)

// nameKey is a name prepared for comparison (sanctions/names: the same
// normalisation joins list entries by name).
type nameKey = names.Key

// kindOf says which name rules apply to an entity type.
func kindOf(t sanctions.EntityType) names.Kind {
	switch t {
	case sanctions.Vessel:
		return names.Vessel
	case sanctions.Organization:
		return names.Organization
	case sanctions.Person:
		return names.Person
	}
	return names.Other
}

// keyFor prepares a name of an entity of type t.
func keyFor(name string, t sanctions.EntityType) nameKey { return names.KeyOf(name, kindOf(t)) }

// levSim is 1 - edit distance / longer length, in [0,1].
func levSim(a, b string) float64 { return names.Similarity(a, b) }

// trigrams returns the distinct trigrams of " "+s+" " as packed ints.
func trigrams(s string, dst []uint32) []uint32 {
	dst = dst[:0]
	p := " " + s + " "
	for i := 0; i+3 <= len(p); i++ {
		g := uint32(p[i])<<16 | uint32(p[i+1])<<8 | uint32(p[i+2])
		dup := false
		for _, x := range dst {
			if x == g {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, g)
		}
	}
	return dst
}
