package sanctions

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tidewatch/tidewatch/identity"
)

// euHeader is the start of OpenSanctions' transcription of EU regulation
// annexes (datasets/eu/journal_sanctions/data/consolidated/*.csv).
var euHeader = []string{"celex", "recordId", "programKey", "annex", "measure", "startDate", "reason", "schema", "name", "alias"}

// ParseEUJournalCSV reads the EU regulation-annex transcription. Rows carry
// their columns by header name, so a later column order still reads.
//
// Vessel names there hold former names in parentheses ("Chol Ryong (Ryong
// Gun Bong)"); organization names hold abbreviations the same way. Rows
// without a recordId (annex XIII.B vessels) are identified by annex and IMO
// number, which are stable across consolidations.
func ParseEUJournalCSV(r io.Reader, file string, emit func(*Entity)) (Problems, error) {
	var probs Problems
	var col map[string]int
	n := 0
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}

	err := csvRows(r, file, 0, nil, &probs, func(line int, rec []string) {

		if col == nil {
			if !headerMatches(rec, euHeader) {
				probs.Add(Problem{File: file, Line: line, Reason: "unexpected header"}, "bad header")
				return
			}
			col = map[string]int{}
			for i, h := range rec {
				col[strings.TrimSpace(h)] = i
			}
			return
		}
		if len(rec) != len(col) {
			probs.Add(Problem{File: file, Line: line, Reason: fmt.Sprintf("want %d columns, got %d; row skipped", len(col), len(rec))}, "wrong column count")
			return
		}
		e := &Entity{}
		switch get(rec, "schema") {
		case "Vessel":
			e.Type = Vessel
		case "Person":
			e.Type = Person
		case "LegalEntity", "Organization", "Company":
			e.Type = Organization
		default:
			probs.Add(Problem{File: file, Line: line, Element: "schema", Reason: fmt.Sprintf("unknown schema %q; row skipped", get(rec, "schema"))}, "unknown schema")
			return
		}
		base, inParens := splitParens(get(rec, "name"))
		e.AddName(base, NamePrimary)
		if e.Name == "" {
			probs.Add(Problem{File: file, Line: line, Element: "name", Reason: "empty name; row skipped"}, "empty name")
			return
		}
		for _, p := range inParens {
			if e.Type == Vessel {
				e.AddName(p, NameFormer)
			} else {
				e.AddName(p, NameAlias)
			}
		}
		for _, a := range splitSemi(get(rec, "alias")) {
			e.AddName(a, NameAlias)
		}
		for _, a := range splitSemi(get(rec, "weakAlias")) {
			e.AddName(a, NameWeak)
		}
		for _, a := range splitSemi(get(rec, "previousName")) {
			e.AddName(a, NameFormer)
		}
		for _, v := range splitSemi(get(rec, "imoNumber")) {
			imo, err := identity.ParseShipIMO(v)
			if err != nil {
				probs.Add(Problem{File: file, Line: line, Element: "imoNumber", Reason: err.Error() + "; value dropped"}, "invalid identifier")
				continue
			}
			e.AddIdentifier(SchemeShipIMO, strconv.Itoa(int(imo)), "")
		}
		for _, v := range splitSemi(get(rec, "mmsi")) {
			if m, err := identity.ParseMMSI(v); err == nil {
				e.AddIdentifier(SchemeMMSI, m.String(), "")
			}
		}
		if f := get(rec, "flag"); f != "" {
			e.Flag = flagCode(f)
		}
		// The EU gives an organization's IMO company number as its
		// registration number (OMM: 1790183).
		for _, v := range splitSemi(get(rec, "registrationNumber")) {
			if e.Type == Organization && len(v) == 7 && identity.ValidCompanyIMO(atoi(v)) {
				e.AddIdentifier(SchemeCompanyIMO, v, "")
			} else {
				e.AddIdentifier(SchemeRegistration, v, "")
			}
		}
		for _, v := range splitSemi(get(rec, "passportNumber")) {
			e.AddIdentifier(SchemePassport, v, "")
		}
		for _, v := range splitSemi(get(rec, "nationality")) {
			e.Nationalities = addUnique(e.Nationalities, flagCode(v))
		}
		for _, v := range splitSemi(get(rec, "birthDate")) {
			e.BirthDates = addUnique(e.BirthDates, dmyToISO(v))
		}
		for _, v := range splitSemi(get(rec, "address")) {
			e.Addresses = append(e.Addresses, Address{Full: v})
		}
		e.Remarks = joinNonEmpty(get(rec, "reason"), get(rec, "notes"))
		if e.Type == Vessel {
			for _, b := range applyIMOMentions(e, get(rec, "notes")) {
				probs.Add(Problem{File: file, Line: line, Element: "notes", Reason: b + "; value dropped"}, "invalid identifier")
			}
		}
		id := get(rec, "recordId")
		if id == "" {
			key := e.ShipIMO()
			if key == "" {
				key = strings.ToUpper(e.Name)
			}
			id = get(rec, "annex") + ":" + key
		}
		e.ID = "eu:" + id
		e.Listings = []Listing{{List: "eu", SourceID: id, ListedOn: dmyToISO(get(rec, "startDate")), Programmes: []string{get(rec, "programKey")}}}
		e.normalise()
		n++
		emit(e)
	})
	if err != nil {
		return probs, err
	}
	if col == nil {
		return probs, &ParseError{Problem: Problem{File: file, Line: 1, Reason: fmt.Sprintf("not an EU annex transcription: header must start %q", strings.Join(euHeader, ","))}}
	}
	if n == 0 {
		return probs, &ParseError{Problem: Problem{File: file, Reason: "no records read"}}
	}
	return probs, nil
}

// splitParens splits "Chong Bong (Greenlight) (Blue Nouvelle)" into the base
// name and the parenthesised names.
func splitParens(s string) (string, []string) {
	var inner []string
	var base strings.Builder
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			if depth == 0 {
				start = i + 1
			}
			depth++
		case ')':
			if depth > 0 {
				depth--
				if depth == 0 {
					inner = append(inner, strings.TrimSpace(s[start:i]))
				}
			}
		default:
			if depth == 0 {
				base.WriteRune(r)
			}
		}
	}
	return clean(base.String()), inner
}

func splitSemi(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
