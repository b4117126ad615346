package sanctions

import (
	"sort"
	"strings"
)

// listPriority orders lists when a merged entity needs one member to speak
// for it (its ID, primary name, flag): the UN designation first, since the
// other lists implement it.
var listPriority = map[string]int{"un": 0, "ofac-sdn": 1, "ofac-cons": 2, "eu": 3, "uk": 4, "opensanctions": 5}

func priority(e *Entity) (int, string) {
	p, ok := listPriority[e.Listings[0].List]
	if !ok {
		p = len(listPriority)
	}
	return p, e.ID
}

// mergeKey is an exact identifier that proves two listings designate the
// same thing.
type mergeKey struct {
	key   string
	by    JoinBy
	value string
}

// mergeKeys are the exact identifiers that prove two listings designate the
// same thing: a ship IMO number (the hull), a company IMO number, a UN
// reference number that another list quotes.
func mergeKeys(e *Entity) []mergeKey {
	var keys []mergeKey
	add := func(prefix string, s Scheme, by JoinBy) {
		for _, v := range e.IDs(s) {
			keys = append(keys, mergeKey{string(e.Type) + "|" + prefix + strings.ToUpper(v), by, v})
		}
	}
	switch e.Type {
	case Vessel:
		add("imo:", SchemeShipIMO, JoinByShipIMO)
	case Organization:
		add("coimo:", SchemeCompanyIMO, JoinByCompanyIMO)
	}
	add("unref:", SchemeUNReference, JoinByUNReference)
	return keys
}

// Merge combines the entities of several datasets (normally the current
// version of each list) so that one designation found on several lists, or
// twice on one, becomes one entity with several listings. Entities are
// joined on exact identifiers: ship IMO, company IMO, UN reference, and
// MMSI when neither side has a different IMO number. Entities that no
// identifier joins are then joined by name across lists (see joinByName).
// Every join is recorded in the merged entity's Joins. The result is
// sorted by ID and does not depend on the order of the inputs.
func Merge(datasets ...*Dataset) []*Entity {
	var all []*Entity
	for _, ds := range datasets {
		all = append(all, ds.Entities...)
	}
	// Sort first so that union order, and with it every tie, is fixed.
	sort.SliceStable(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	uf := newUnionFind(len(all))
	var joins []joinEdge
	join := func(i, j int, by JoinBy, value string) {
		if uf.union(i, j) {
			joins = append(joins, joinEdge{i, j, Join{A: ref(all[j]), B: ref(all[i]), By: by, Value: value}})
		}
	}
	owner := map[string]int{}
	for i, e := range all {
		for _, k := range mergeKeys(e) {
			if j, ok := owner[k.key]; ok {
				join(i, j, k.by, k.value)
			} else {
				owner[k.key] = i
			}
		}
	}
	// MMSIs are reassigned and spoofed, so they join two vessels only when
	// no IMO number says they are different hulls.
	mmsiOwner := map[string]int{}
	for i, e := range all {
		if e.Type != Vessel {
			continue
		}
		for _, m := range e.IDs(SchemeMMSI) {
			j, ok := mmsiOwner[m]
			if !ok {
				mmsiOwner[m] = i
				continue
			}
			a, b := componentIDs(all, uf, uf.find(i), SchemeShipIMO), componentIDs(all, uf, uf.find(j), SchemeShipIMO)
			if len(a) == 0 || len(b) == 0 || overlaps(a, b) {
				join(i, j, JoinByMMSI, m)
			}
		}
	}
	joinByName(all, uf, join)
	groups := map[int][]*Entity{}
	var roots []int
	for i, e := range all {
		r := uf.find(i)
		if _, seen := groups[r]; !seen {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], e)
	}
	groupJoins := map[int][]Join{}
	for _, j := range joins {
		r := uf.find(j.i)
		groupJoins[r] = append(groupJoins[r], j.join)
	}
	out := make([]*Entity, 0, len(roots))
	for _, r := range roots {
		m := mergeGroup(groups[r])
		if len(groups[r]) > 1 {
			m.Joins = groupJoins[r]
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

type joinEdge struct {
	i, j int
	join Join
}

// ref names an unmerged entity by its listing.
func ref(e *Entity) string {
	if len(e.Listings) > 0 {
		return e.Listings[0].Ref()
	}
	return e.ID
}

// componentIDs collects the identifiers in scheme s of every entity in the
// component of root.
func componentIDs(all []*Entity, uf *unionFind, root int, s Scheme) map[string]bool {
	ids := map[string]bool{}
	for i := range all {
		if uf.find(i) == root {
			for _, v := range all[i].IDs(s) {
				ids[strings.ToUpper(v)] = true
			}
		}
	}
	return ids
}

func overlaps(a, b map[string]bool) bool {
	for k := range a {
		if b[k] {
			return true
		}
	}
	return false
}

func mergeGroup(members []*Entity) *Entity {
	if len(members) == 1 {
		return members[0]
	}
	sort.SliceStable(members, func(i, j int) bool {
		pi, ii := priority(members[i])
		pj, ij := priority(members[j])
		if pi != pj {
			return pi < pj
		}
		return ii < ij
	})
	lead := members[0]
	m := &Entity{ID: lead.ID, Type: lead.Type}
	m.AddName(lead.Name, NamePrimary)
	var remarks []string
	for _, e := range members {
		for _, n := range e.Names {
			kind := n.Kind
			if kind == NamePrimary && !strings.EqualFold(n.Value, m.Name) {
				kind = NameAlias
			}
			m.AddName(n.Value, kind)
		}
		for _, id := range e.Identifiers {
			m.AddIdentifier(id.Scheme, id.Value, id.Note)
		}
		if e.Flag != "" {
			if m.Flag == "" {
				m.Flag = e.Flag
			} else if e.Flag != m.Flag {
				m.PastFlags = addUnique(m.PastFlags, e.Flag)
			}
		}
		for _, f := range e.PastFlags {
			m.PastFlags = addUnique(m.PastFlags, f)
		}
		m.VesselType = firstNonEmpty(m.VesselType, e.VesselType)
		m.Tonnage = firstNonEmpty(m.Tonnage, e.Tonnage)
		m.BuildYear = firstNonEmpty(m.BuildYear, e.BuildYear)
		for _, n := range e.Nationalities {
			m.Nationalities = addUnique(m.Nationalities, n)
		}
		for _, b := range e.BirthDates {
			m.BirthDates = addUnique(m.BirthDates, b)
		}
		for _, a := range e.Addresses {
			if !containsAddress(m.Addresses, a) {
				m.Addresses = append(m.Addresses, a)
			}
		}
		for _, l := range e.Links {
			if !containsLink(m.Links, l) {
				m.Links = append(m.Links, l)
			}
		}
		m.Listings = append(m.Listings, e.Listings...)
		if e.Remarks != "" {
			remarks = addUnique(remarks, e.Remarks)
		}
	}
	m.Remarks = strings.Join(remarks, "\n")
	m.normalise()
	return m
}

func containsAddress(list []Address, a Address) bool {
	for _, x := range list {
		if strings.EqualFold(x.Street, a.Street) && strings.EqualFold(x.City, a.City) && strings.EqualFold(x.Country, a.Country) && strings.EqualFold(x.Full, a.Full) && strings.EqualFold(x.Region, a.Region) {
			return true
		}
	}
	return false
}

func containsLink(list []Link, l Link) bool {
	for _, x := range list {
		if x.Relation == l.Relation && strings.EqualFold(x.Name, l.Name) {
			return true
		}
	}
	return false
}

type unionFind struct{ parent []int }

func newUnionFind(n int) *unionFind {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return &unionFind{p}
}

func (u *unionFind) find(i int) int {
	for u.parent[i] != i {
		u.parent[i] = u.parent[u.parent[i]]
		i = u.parent[i]
	}
	return i
}

// union keeps the smaller index as root so results do not depend on call
// order. It reports whether a and b were apart.
func (u *unionFind) union(a, b int) bool {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return false
	}
	if rb < ra {
		ra, rb = rb, ra
	}
	u.parent[rb] = ra
	return true
}
