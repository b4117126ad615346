package sanctions

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Change is one entity present in both versions with different content.
type Change struct {
	Old, New *Entity
	Fields   []string // which fields differ, in a fixed order
}

// DiffResult lists what changed between two versions of one list. Entities
// are matched by the list's own identifier, so a renamed vessel is a change,
// not a removal and an addition.
type DiffResult struct {
	From, To Version
	Added    []*Entity
	Removed  []*Entity
	Changed  []Change
}

// Diff compares two datasets of the same list.
func Diff(from, to *Dataset) (*DiffResult, error) {
	if from.Version.List != to.Version.List {
		return nil, fmt.Errorf("diff: versions of different lists (%s, %s)", from.Version.List, to.Version.List)
	}
	key := func(e *Entity) string { return e.Listings[0].SourceID }
	old := map[string]*Entity{}
	for _, e := range from.Entities {
		old[key(e)] = e
	}
	seen := map[string]bool{}
	r := &DiffResult{From: from.Version, To: to.Version}
	for _, e := range to.Entities {
		k := key(e)
		seen[k] = true
		o, ok := old[k]
		if !ok {
			r.Added = append(r.Added, e)
			continue
		}
		if fields := changedFields(o, e); len(fields) > 0 {
			r.Changed = append(r.Changed, Change{Old: o, New: e, Fields: fields})
		}
	}
	for _, e := range from.Entities {
		if !seen[key(e)] {
			r.Removed = append(r.Removed, e)
		}
	}
	byID := func(list []*Entity) {
		sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	}
	byID(r.Added)
	byID(r.Removed)
	sort.Slice(r.Changed, func(i, j int) bool { return r.Changed[i].New.ID < r.Changed[j].New.ID })
	return r, nil
}

// changedFields compares what a reader of the list would call content,
// ignoring order within sets and the version stamp on listings.
func changedFields(a, b *Entity) []string {
	var out []string
	cmp := func(name string, x, y any) {
		if !reflect.DeepEqual(x, y) {
			out = append(out, name)
		}
	}
	cmp("type", a.Type, b.Type)
	cmp("name", a.Name, b.Name)
	cmp("names", nameSet(a), nameSet(b))
	cmp("identifiers", idSet(a), idSet(b))
	cmp("flag", a.Flag, b.Flag)
	cmp("past_flags", sortedFold(a.PastFlags), sortedFold(b.PastFlags))
	cmp("vessel", [3]string{a.VesselType, a.Tonnage, a.BuildYear}, [3]string{b.VesselType, b.Tonnage, b.BuildYear})
	cmp("nationalities", sortedFold(a.Nationalities), sortedFold(b.Nationalities))
	cmp("birth_dates", sortedFold(a.BirthDates), sortedFold(b.BirthDates))
	cmp("addresses", addrSet(a), addrSet(b))
	cmp("links", linkSet(a), linkSet(b))
	cmp("listing", listingKey(a), listingKey(b))
	cmp("remarks", a.Remarks, b.Remarks)
	return out
}

func sortedFold(v []string) []string {
	out := make([]string, 0, len(v))
	for _, s := range v {
		out = append(out, strings.ToUpper(s))
	}
	sort.Strings(out)
	return out
}

func nameSet(e *Entity) []string {
	var v []string
	for _, n := range e.Names {
		v = append(v, string(n.Kind)+"|"+n.Value)
	}
	return sortedFold(v)
}

func idSet(e *Entity) []string {
	var v []string
	for _, id := range e.Identifiers {
		v = append(v, string(id.Scheme)+"|"+id.Value)
	}
	return sortedFold(v)
}

func addrSet(e *Entity) []string {
	var v []string
	for _, a := range e.Addresses {
		v = append(v, strings.Join([]string{a.Street, a.City, a.Region, a.Country, a.Full}, "|"))
	}
	return sortedFold(v)
}

func linkSet(e *Entity) []string {
	var v []string
	for _, l := range e.Links {
		v = append(v, string(l.Relation)+"|"+l.Name)
	}
	return sortedFold(v)
}

func listingKey(e *Entity) []string {
	var v []string
	for _, l := range e.Listings {
		v = append(v, l.ListedOn+"|"+strings.Join(l.Programmes, ","))
	}
	return sortedFold(v)
}
