// Package sanctions reads official sanctions lists into one entity model,
// versions each import, diffs versions and merges the same designation
// found on several lists. It knows nothing of storage or transport: parsers
// take an io.Reader and report entities through a callback.
package sanctions

import (
	"sort"
	"strings"
)

// EntityType is what a listing designates.
type EntityType string

const (
	Vessel       EntityType = "vessel"
	Organization EntityType = "organization"
	Person       EntityType = "person"
	Aircraft     EntityType = "aircraft"
)

// EntityTypes lists the types in display order.
var EntityTypes = []EntityType{Vessel, Organization, Person, Aircraft}

// NameKind says how a name relates to the entity.
type NameKind string

const (
	NamePrimary NameKind = "primary"
	NameAlias   NameKind = "alias"  // a.k.a.
	NameWeak    NameKind = "weak"   // low-quality a.k.a.: shown, weighed less
	NameFormer  NameKind = "former" // f.k.a., former vessel names
)

// Name is one name an entity is or was known by.
type Name struct {
	Value string   `json:"value"`
	Kind  NameKind `json:"kind"`
}

// Scheme names an identifier's number space. Ship and company IMO numbers
// are different schemes: a company number must never match a ship.
type Scheme string

const (
	SchemeShipIMO      Scheme = "imo"
	SchemeCompanyIMO   Scheme = "imo_company"
	SchemeMMSI         Scheme = "mmsi"
	SchemeCallSign     Scheme = "call_sign"
	SchemeUNReference  Scheme = "un_reference"
	SchemePassport     Scheme = "passport"
	SchemeNationalID   Scheme = "national_id"
	SchemeRegistration Scheme = "registration"
	SchemeOther        Scheme = "other"
)

// Identifier is a number that names the entity in some scheme.
type Identifier struct {
	Scheme Scheme `json:"scheme"`
	Value  string `json:"value"`
	Note   string `json:"note,omitempty"`
}

// Address is where an entity is or was located. Full holds the text as
// listed when the list does not split it.
type Address struct {
	Street  string `json:"street,omitempty"`
	City    string `json:"city,omitempty"`
	Region  string `json:"region,omitempty"`
	Country string `json:"country,omitempty"`
	Full    string `json:"full,omitempty"`
}

// Listing is one designation of the entity by one list.
type Listing struct {
	// List is the source list: "un", "ofac-sdn", "ofac-cons", "uk", "eu",
	// "opensanctions".
	List string `json:"list"`
	// SourceID is the list's own identifier: UN reference number, OFAC
	// ent_num, UK unique id, EU record id, FtM entity id.
	SourceID string `json:"source_id"`
	// ListedOn is the designation date as YYYY-MM-DD, when the list gives it.
	ListedOn   string   `json:"listed_on,omitempty"`
	Programmes []string `json:"programmes,omitempty"`
	// Version is the list version the listing was read from.
	Version string `json:"version,omitempty"`
}

// Ref renders the listing the way screening results cite it: "ofac:23729".
// Both OFAC lists share one ent_num space, so they cite as "ofac".
func (l Listing) Ref() string {
	list := l.List
	if strings.HasPrefix(list, "ofac") {
		list = "ofac"
	}
	return list + ":" + l.SourceID
}

// Relation names a link between entities.
type Relation string

const (
	LinkedTo  Relation = "linked_to"
	OwnedBy   Relation = "owner"
	Operator  Relation = "operator"
	Manager   Relation = "manager"
	Associate Relation = "associate"
)

// Link points from this entity to another, by name as the list writes it
// and, when the list gives one, by the target's identifier.
type Link struct {
	Relation Relation `json:"relation"`
	Name     string   `json:"name"`
	TargetID string   `json:"target_id,omitempty"`
}

// Entity is one designated vessel, organization, person or aircraft as one
// list describes it, or as several lists do once merged.
type Entity struct {
	// ID is stable across imports of the same list: "<list>:<source id>"
	// before merging, the smallest member's ID after.
	ID   string     `json:"id"`
	Type EntityType `json:"type"`
	// Name is the primary name; Names holds it too, with every alias and
	// former name.
	Name          string       `json:"name"`
	Names         []Name       `json:"names"`
	Identifiers   []Identifier `json:"identifiers,omitempty"`
	Flag          string       `json:"flag,omitempty"` // ISO alpha-2 when known, else as listed
	PastFlags     []string     `json:"past_flags,omitempty"`
	VesselType    string       `json:"vessel_type,omitempty"`
	Tonnage       string       `json:"tonnage,omitempty"`
	BuildYear     string       `json:"build_year,omitempty"`
	Nationalities []string     `json:"nationalities,omitempty"`
	BirthDates    []string     `json:"birth_dates,omitempty"`
	Addresses     []Address    `json:"addresses,omitempty"`
	Links         []Link       `json:"links,omitempty"`
	Listings      []Listing    `json:"listings"`
	Remarks       string       `json:"remarks,omitempty"`
	// Joins says why the listings of a merged entity were merged: one
	// entry per pair of listings joined, by a shared identifier or by name.
	Joins []Join `json:"joins,omitempty"`
}

// JoinBy names what joined two listings into one entity.
type JoinBy string

const (
	JoinByShipIMO     JoinBy = "imo"
	JoinByCompanyIMO  JoinBy = "imo_company"
	JoinByUNReference JoinBy = "un_reference"
	JoinByMMSI        JoinBy = "mmsi"
	// JoinByName: no identifier joins them and none tells them apart; the
	// normalised name, the type and the programme agree (see Merge).
	JoinByName JoinBy = "name"
)

// Join is one reason two listings were merged: A and B are listing
// references (Listing.Ref), Value the shared identifier or, for a join by
// name, the normalised name.
type Join struct {
	A     string `json:"a"`
	B     string `json:"b"`
	By    JoinBy `json:"by"`
	Value string `json:"value"`
}

// AddName appends a name unless the entity already has it (case-folded).
// A name seen as primary and as alias stays primary.
func (e *Entity) AddName(value string, kind NameKind) {
	v := value
	if !isCleanText(v) {
		v = strings.Join(strings.Fields(v), " ")
	}
	if v == "" {
		return
	}
	for i, n := range e.Names {
		if strings.EqualFold(n.Value, v) {
			if rank(kind) < rank(n.Kind) {
				e.Names[i].Kind = kind
			}
			return
		}
	}
	e.Names = append(e.Names, Name{Value: v, Kind: kind})
	if e.Name == "" && kind == NamePrimary {
		e.Name = v
	}
}

func rank(k NameKind) int {
	switch k {
	case NamePrimary:
		return 0
	case NameAlias:
		return 1
	case NameFormer:
		return 2
	}
	return 3
}

// AddIdentifier appends an identifier unless present.
func (e *Entity) AddIdentifier(s Scheme, value, note string) {
	value = strings.TrimSpace(value)
	if value == "" {
		return
	}
	for _, id := range e.Identifiers {
		if id.Scheme == s && id.Value == value {
			return
		}
	}
	e.Identifiers = append(e.Identifiers, Identifier{Scheme: s, Value: value, Note: note})
}

// IDs returns the values of every identifier in scheme s.
func (e *Entity) IDs(s Scheme) []string {
	var out []string
	for _, id := range e.Identifiers {
		if id.Scheme == s {
			out = append(out, id.Value)
		}
	}
	return out
}

// ShipIMO returns the first ship IMO number, or "".
func (e *Entity) ShipIMO() string {
	if ids := e.IDs(SchemeShipIMO); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// HasProgramme reports whether any listing names a programme that contains
// p, case-insensitively ("DPRK" matches "DPRK3" and "DPRK-NKSPEA").
func (e *Entity) HasProgramme(p string) bool {
	p = strings.ToUpper(p)
	for _, l := range e.Listings {
		for _, q := range l.Programmes {
			if strings.Contains(strings.ToUpper(q), p) {
				return true
			}
		}
	}
	return false
}

// addUnique appends s to list unless present (case-insensitive).
func addUnique(list []string, s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return list
	}
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return list
		}
	}
	return append(list, s)
}

// normalise sorts the slices whose order carries no meaning so that equal
// entities serialise identically, whatever order the source listed things.
func (e *Entity) normalise() {
	sort.SliceStable(e.Names, func(i, j int) bool { return rank(e.Names[i].Kind) < rank(e.Names[j].Kind) })
	sort.Slice(e.Identifiers, func(i, j int) bool {
		a, b := e.Identifiers[i], e.Identifiers[j]
		if a.Scheme != b.Scheme {
			return a.Scheme < b.Scheme
		}
		return a.Value < b.Value
	})
	sort.Slice(e.Listings, func(i, j int) bool { return e.Listings[i].Ref() < e.Listings[j].Ref() })
}

// dprkProgrammes are the spellings the lists use for their DPRK regimes:
// UN "DPRK" (resolution 1718 committee), OFAC "DPRK", "DPRK2".."DPRK4",
// "DPRK-NKSPEA", the EU "EU-PRK", the UK "DPR" prefix (read as "DPRK").
var dprkProgrammes = []string{"DPRK", "PRK", "1718", "NKSPEA", "NORTH KOREA"}

// IsDPRK reports whether any listing is under a DPRK sanctions programme.
func (e *Entity) IsDPRK() bool {
	for _, p := range dprkProgrammes {
		if e.HasProgramme(p) {
			return true
		}
	}
	return false
}

// MayBeKorean reports whether the entity's names may be Korean written in
// Latin letters, so that the spellings of Korean romanisation systems
// (Chon/Cheon/Jon, Kum/Geum, Ri/Li) are the same name: it is under a DPRK
// programme, or has a Korean flag (now or before), nationality or
// address, or a name in Hangul. For any other entity those spellings are
// different names: TARA is not the tanker TALA, GOLD is not GORT.
func (e *Entity) MayBeKorean() bool {
	if e.IsDPRK() || isKorean(e.Flag) {
		return true
	}
	for _, f := range e.PastFlags {
		if isKorean(f) {
			return true
		}
	}
	for _, n := range e.Nationalities {
		if isKorean(n) {
			return true
		}
	}
	for _, a := range e.Addresses {
		if isKorean(a.Country) {
			return true
		}
	}
	for _, n := range e.Names {
		for _, r := range n.Value {
			if r >= 0xAC00 && r <= 0xD7A3 || r >= 0x1100 && r <= 0x11FF || r >= 0x3130 && r <= 0x318F {
				return true
			}
		}
	}
	return false
}

// isKorean says a country as the lists give it (ISO codes, names) is
// either Korea.
func isKorean(c string) bool {
	switch u := strings.ToUpper(strings.TrimSpace(c)); u {
	case "KP", "KR", "PRK", "KOR":
		return true
	default:
		return strings.Contains(u, "KOREA")
	}
}

// isCleanText reports text with no leading, trailing or repeated spaces and
// no other whitespace, which most list values already are.
func isCleanText(s string) bool {
	if s == "" {
		return true
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c >= 0x80 || (c == ' ' && s[i+1] == ' ') {
			// Non-ASCII may hold Unicode spaces: let strings.Fields decide.
			return false
		}
	}
	return true
}
