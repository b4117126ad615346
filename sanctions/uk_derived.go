package sanctions

import (
	"fmt"
	"strings"

	"github.com/tidewatch/tidewatch/identity"
)

// UKDerivedFiles is the normalised UK Sanctions List layout published by the
// covyr/uk-sanctions-list project (derived from the FCDO UK Sanctions List
// CSV): subjects.csv with one row per designation, subject_names.csv,
// subject_identifiers.csv and optionally subject_dobs.csv, joined on
// unique_id. It drops the official file's ship flag and type columns.
type UKDerivedFiles struct {
	Subjects, Names NamedReader
	Identifiers     *NamedReader
	DOBs            *NamedReader
}

var (
	ukSubjectsHeader    = []string{"unique_id", "subject_type", "un_reference_number", "ofsi_group_id", "date_designated"}
	ukNamesHeader       = []string{"name_id", "unique_id", "name_type", "alias_strength", "full_name"}
	ukIdentifiersHeader = []string{"id", "unique_id", "ofsi_group_id", "raw_value", "identifier_type"}
	ukDOBsHeader        = []string{"dob_id", "unique_id", "year", "month", "day"}
)

// ukRegimes names the UK regime prefixes of unique ids that matter here; the
// others are kept as their three-letter code.
var ukRegimes = map[string]string{"DPR": "DPRK", "RUS": "Russia", "IRN": "Iran", "SYR": "Syria"}

type ukName struct{ kind, strength, name string }
type ukID struct{ kind, value, info string }

// ParseUKDerived reads the derived UK layout. Names and identifiers are
// loaded first, then subjects are streamed and joined.
func ParseUKDerived(f UKDerivedFiles, emit func(*Entity)) (Problems, error) {
	var probs Problems
	names := map[string][]ukName{}
	err := csvRows(f.Names.R, f.Names.Name, 11, ukNamesHeader, &probs, func(_ int, r []string) {
		names[r[1]] = append(names[r[1]], ukName{kind: r[2], strength: r[3], name: r[4]})
	})
	if err != nil {
		return probs, err
	}
	ids := map[string][]ukID{}
	if f.Identifiers != nil {
		err := csvRows(f.Identifiers.R, f.Identifiers.Name, 6, ukIdentifiersHeader, &probs, func(_ int, r []string) {
			ids[r[1]] = append(ids[r[1]], ukID{kind: r[4], value: strings.TrimSpace(r[3]), info: clean(r[5])})
		})
		if err != nil {
			return probs, err
		}
	}
	dobs := map[string][]string{}
	if f.DOBs != nil {
		err := csvRows(f.DOBs.R, f.DOBs.Name, 7, ukDOBsHeader, &probs, func(_ int, r []string) {
			d := r[2]
			if r[3] != "" {
				d += "-" + r[3]
				if r[4] != "" {
					d += "-" + r[4]
				}
			}
			dobs[r[1]] = append(dobs[r[1]], d)
		})
		if err != nil {
			return probs, err
		}
	}
	n := 0
	err = csvRows(f.Subjects.R, f.Subjects.Name, 6, ukSubjectsHeader, &probs, func(line int, r []string) {
		uid := strings.TrimSpace(r[0])
		if uid == "" {
			probs.Add(Problem{File: f.Subjects.Name, Line: line, Element: "unique_id", Reason: "empty unique_id; row skipped"}, "empty id")
			return
		}
		e := &Entity{ID: "uk:" + uid}
		switch r[1] {
		case "ship":
			e.Type = Vessel
		case "individual":
			e.Type = Person
		case "entity":
			e.Type = Organization
		default:
			probs.Add(Problem{File: f.Subjects.Name, Line: line, Element: "subject_type", Reason: fmt.Sprintf("unknown subject_type %q; row skipped", r[1])}, "unknown subject type")
			return
		}
		for _, nm := range names[uid] {
			kind := NameAlias
			switch {
			case nm.kind == "primary":
				kind = NamePrimary
			case nm.strength == "low_quality_aka":
				kind = NameWeak
			}
			if kind == NamePrimary && e.Name != "" {
				kind = NameAlias // a second primary row is a variation
			}
			e.AddName(nm.name, kind)
		}
		if e.Name == "" {
			probs.Add(Problem{File: f.Subjects.Name, Line: line, Element: "unique_id", Reason: "no primary name for " + uid + "; row skipped"}, "no name")
			return
		}
		if ref := strings.TrimSpace(r[2]); ref != "" {
			e.AddIdentifier(SchemeUNReference, ref, "")
		}
		for _, id := range ids[uid] {
			switch id.kind {
			case "imo":
				if e.Type != Vessel {
					if c, err := identity.ParseCompanyIMO(id.value); err == nil {
						e.AddIdentifier(SchemeCompanyIMO, fmt.Sprint(int(c)), "")
					}
					continue
				}
				imo, err := identity.ParseShipIMO(id.value)
				if err != nil {
					probs.Add(Problem{File: f.Identifiers.Name, Element: "raw_value", Reason: fmt.Sprintf("%s: %v; value dropped", uid, err)}, "invalid identifier")
					continue
				}
				e.AddIdentifier(SchemeShipIMO, fmt.Sprint(int(imo)), "")
			case "passport":
				e.AddIdentifier(SchemePassport, id.value, id.info)
			case "national":
				e.AddIdentifier(SchemeNationalID, id.value, id.info)
			case "business_registration_numbers":
				e.AddIdentifier(SchemeRegistration, id.value, id.info)
			}
		}
		for _, d := range dobs[uid] {
			e.BirthDates = addUnique(e.BirthDates, d)
		}
		prog := uid
		if len(uid) >= 3 {
			prog = uid[:3]
		}
		if p, ok := ukRegimes[prog]; ok {
			prog = p
		}
		e.Listings = []Listing{{List: "uk", SourceID: uid, ListedOn: dmyToISO(r[4]), Programmes: []string{prog}}}
		e.normalise()
		n++
		emit(e)
	})
	if err != nil {
		return probs, err
	}
	if n == 0 {
		return probs, &ParseError{Problem: Problem{File: f.Subjects.Name, Reason: "no subjects read"}}
	}
	return probs, nil
}

// dmyToISO turns "31/12/2020" or "16.7.2009" into "2020-12-31"; other text
// is returned unchanged.
func dmyToISO(s string) string {
	s = strings.TrimSpace(s)
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == '.' })
	if len(parts) != 3 || len(parts[2]) != 4 {
		return s
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return s
		}
	}
	pad := func(p string) string {
		if len(p) == 1 {
			return "0" + p
		}
		return p
	}
	return parts[2] + "-" + pad(parts[1]) + "-" + pad(parts[0])
}
