package sanctions

import (
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/tidewatch/tidewatch/sanctions/names"
)

// joinByName joins, across lists, entities that no identifier joined when
// their primary names are the same once normalised (sanctions/names: case,
// spacing, punctuation, look-alike letters, vessel prefixes, number
// markers, legal forms and abbreviations; romanisation variants are NOT
// folded here), their type is the same and they share a programme family
// (DPRK for every list's DPRK regime; otherwise the programme's leading
// word: RUSSIA-EO14024 and the UK's Russia meet). It holds back when:
//   - one list has two entities of that name, type and programme (the
//     publisher says they are different; a name cannot say which is meant);
//   - the entities, with what identifiers already joined them to, carry
//     identifiers of one scheme (ship IMO, company IMO, MMSI, UN reference)
//     on both sides and none in common: different hulls or companies;
//   - they are persons and do not share a birth date (names of people
//     repeat too often to join on a name and a programme).
//
// MIN NING DE YOU 078 (EU and UK lists, no IMO) and SHANGHAI DONGFENG
// SHIPPING CO LTD (EU, UK, OFAC SDN) are joined this way.
func joinByName(all []*Entity, uf *unionFind, join func(i, j int, by JoinBy, value string)) {
	type cand struct {
		i    int
		text string
	}
	// The keys of each entity's primary name and, when it holds brackets
	// (an acronym or a former name: "GENERAL BUREAU OF ATOMIC ENERGY
	// (GBAE)"), the name outside them, on every processor: normalising
	// names is most of a merge, and a merge is on the way to a server's
	// first answer.
	forms := make([][]names.Key, len(all))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(all); i += workers {
				e := all[i]
				if e.Type != Vessel && e.Type != Organization && e.Type != Person {
					continue
				}
				forms[i] = append(forms[i], names.KeyOf(e.Name, nameKind(e.Type)))
				if base, inner := names.SplitBrackets(e.Name); len(inner) > 0 && base != "" {
					forms[i] = append(forms[i], names.KeyOf(base, nameKind(e.Type)))
				}
			}
		}()
	}
	wg.Wait()
	byKey := map[string][]cand{}
	for i, e := range all {
		seen := map[string]bool{}
		for _, k := range forms[i] {
			if k.Raw == "" || seen[k.Exact()] {
				continue
			}
			seen[k.Exact()] = true
			for _, fam := range programmeFamilies(e) {
				key := string(e.Type) + "|" + fam + "|" + k.Exact()
				byKey[key] = append(byKey[key], cand{i, k.Text})
			}
		}
	}
	keys := make([]string, 0, len(byKey))
	for k, cs := range byKey {
		if len(cs) > 1 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	schemes := []Scheme{SchemeShipIMO, SchemeCompanyIMO, SchemeMMSI, SchemeUNReference}
	// The members of each component, kept up to date as names join them.
	members := map[int][]int{}
	for i := range all {
		r := uf.find(i)
		members[r] = append(members[r], i)
	}
	idsOf := func(root int, s Scheme) map[string]bool {
		ids := map[string]bool{}
		for _, i := range members[root] {
			for _, v := range all[i].IDs(s) {
				ids[strings.ToUpper(v)] = true
			}
		}
		return ids
	}
next:
	for _, key := range keys {
		cs := byKey[key]
		lists := map[string]bool{}
		for _, c := range cs {
			l := listFamily(all[c.i])
			if lists[l] {
				continue next
			}
			lists[l] = true
		}
		for a := 0; a < len(cs); a++ {
			for b := a + 1; b < len(cs); b++ {
				ra, rb := uf.find(cs[a].i), uf.find(cs[b].i)
				if ra == rb {
					continue
				}
				for _, s := range schemes {
					x, y := idsOf(ra, s), idsOf(rb, s)
					if len(x) > 0 && len(y) > 0 && !overlaps(x, y) {
						continue next
					}
				}
				if all[cs[a].i].Type == Person && !shareBirthDate(all[cs[a].i], all[cs[b].i]) {
					continue next
				}
			}
		}
		for _, c := range cs[1:] {
			ra, rb := uf.find(c.i), uf.find(cs[0].i)
			if ra == rb {
				continue
			}
			join(c.i, cs[0].i, JoinByName, c.text)
			r := uf.find(c.i)
			merged := append(members[ra], members[rb]...)
			delete(members, ra)
			delete(members, rb)
			members[r] = merged
		}
	}
}

func nameKind(t EntityType) names.Kind {
	switch t {
	case Vessel:
		return names.Vessel
	case Organization:
		return names.Organization
	case Person:
		return names.Person
	}
	return names.Other
}

// listFamily is the publisher: both OFAC lists share one numbering.
func listFamily(e *Entity) string {
	if len(e.Listings) == 0 {
		return ""
	}
	if strings.HasPrefix(e.Listings[0].List, "ofac") {
		return "ofac"
	}
	return e.Listings[0].List
}

// programmeFamilies are the regimes an entity is listed under, one word
// each: DPRK for every spelling of the DPRK regimes, otherwise the
// programme's leading word (RUSSIA-EO14024 -> RUSSIA).
func programmeFamilies(e *Entity) []string {
	seen := map[string]bool{}
	var out []string
	add := func(f string) {
		if f != "" && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	if e.IsDPRK() {
		add("DPRK")
	}
	for _, l := range e.Listings {
		for _, p := range l.Programmes {
			u := strings.ToUpper(p)
			if isDPRKProgramme(u) {
				continue
			}
			if w := strings.FieldsFunc(u, func(r rune) bool { return r < 'A' || r > 'Z' }); len(w) > 0 {
				add(w[0])
			}
		}
	}
	sort.Strings(out)
	return out
}

func isDPRKProgramme(u string) bool {
	for _, p := range dprkProgrammes {
		if strings.Contains(u, p) {
			return true
		}
	}
	return false
}

func shareBirthDate(a, b *Entity) bool {
	for _, x := range a.BirthDates {
		for _, y := range b.BirthDates {
			if strings.EqualFold(strings.TrimSpace(x), strings.TrimSpace(y)) {
				return true
			}
		}
	}
	return false
}
