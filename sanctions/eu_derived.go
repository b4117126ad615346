package sanctions

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tidewatch/tidewatch/identity"
	"github.com/tidewatch/tidewatch/internal/tabular/csvrecord"
	"github.com/tidewatch/tidewatch/sanctions/names"
)

// euHeader is the start of OpenSanctions' transcription of EU regulation
// annexes (datasets/eu/journal_sanctions/data/consolidated/*.csv).
var euHeader = []string{"celex", "recordId", "programKey", "annex", "measure", "startDate", "reason", "schema", "name", "alias"}

// ParseEUJournalCSV reads the EU regulation-annex transcription. Rows carry
// their columns by header name, so a later column order still reads.
//
// Vessel names there hold former names in parentheses ("Chol Ryong (Ryong
// Gun Bong)"); organization names hold abbreviations the same way.
//
// The transcription's recordId is the entry's number within its annex
// (eu:1 would be a dozen entities), and annex XIII.B vessels have none, so
// the id of a listing is derived from content (see euRecordID): the annex
// and the IMO number for a vessel that has one, else the annex and the
// primary name folded. It stays the same across versions while the entry
// does, whatever the annex's numbering.
func ParseEUJournalCSV(r io.Reader, file string, emit func(*Entity)) (Problems, error) {
	var probs Problems
	var col map[string]int
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var rows []euRow
	cr := newCSV(r)
	for {
		rr, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var re *csvrecord.RowError
			if errors.As(err, &re) {
				probs.Add(Problem{File: file, Line: re.Line, Reason: re.Reason}, "unreadable CSV row")
				continue
			}
			return probs, fmt.Errorf("read %s: %w", file, err)
		}
		line, rec := rr.Line, rr.Cells
		if col == nil {
			if !headerMatches(rec, euHeader) {
				probs.Add(Problem{File: file, Line: line, Reason: "unexpected header"}, "bad header")
				continue
			}
			col = map[string]int{}
			for i, h := range rec {
				col[strings.TrimPrefix(strings.TrimSpace(h), "\ufeff")] = i
			}
			cr.SetFields(len(rec))
			continue
		}
		if len(rec) != len(col) {
			probs.Add(Problem{File: file, Line: line, Reason: fmt.Sprintf("want %d columns, got %d; row skipped", len(col), len(rec))}, "wrong column count")
			continue
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
			continue
		}
		base, inParens := splitParens(get(rec, "name"))
		e.AddName(base, NamePrimary)
		if e.Name == "" {
			probs.Add(Problem{File: file, Line: line, Element: "name", Reason: "empty name; row skipped"}, "empty name")
			continue
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
		e.Listings = []Listing{{List: "eu", ListedOn: dmyToISO(get(rec, "startDate")), Programmes: []string{get(rec, "programKey")}}}
		rows = append(rows, euRow{e: e, line: line, annex: get(rec, "annex"), record: get(rec, "recordId"), content: euContent(rec, col)})
	}
	if col == nil {
		return probs, &ParseError{Problem: Problem{File: file, Line: 1, Reason: fmt.Sprintf("not an EU annex transcription: header must start %q", strings.Join(euHeader, ","))}}
	}
	n := 0
	for _, row := range assignEURecordIDs(rows, file, &probs) {
		n++
		emit(row)
	}
	if n == 0 {
		return probs, &ParseError{Problem: Problem{File: file, Reason: "no records read"}}
	}
	return probs, nil
}

// euRow is one parsed row waiting for its id.
type euRow struct {
	e       *Entity
	line    int
	annex   string
	record  string // the annex's own entry number, when given
	content string // the row without its entry number, for a hash
}

// euContent is the row's text without the recordId column, so that a
// renumbered annex keeps its hashes.
func euContent(rec []string, col map[string]int) string {
	skip := col["recordId"]
	var b strings.Builder
	for i, v := range rec {
		if i != skip {
			b.WriteString(strings.TrimSpace(v))
			b.WriteByte(0)
		}
	}
	return b.String()
}

// euRecordID derives a listing id from an entry's content: the annex and
// the ship IMO number for a vessel that has one ("XIV.B:8604917"), else the
// annex and the primary name folded to capitals and hyphens
// ("XIII.A:YUN-HO-JIN"), with a short content hash when the name folds to
// nothing.
func euRecordID(row euRow) string {
	if imo := row.e.ShipIMO(); row.e.Type == Vessel && imo != "" {
		return row.annex + ":" + imo
	}
	slug := strings.ReplaceAll(names.Fold(row.e.Name), " ", "-")
	if slug == "" || !isASCIIText(slug) {
		return row.annex + ":" + shortHash(row.content)
	}
	return row.annex + ":" + slug
}

// assignEURecordIDs gives every row its id. Two entries of one annex that
// derive the same id (two people of one name) both get a suffix: the first
// birth date when that tells them apart, else a hash of the entry. An
// entry repeated word for word is reported once and kept once.
func assignEURecordIDs(rows []euRow, file string, probs *Problems) []*Entity {
	ids := make([]string, len(rows))
	byID := map[string][]int{}
	for i, r := range rows {
		ids[i] = euRecordID(r)
		byID[ids[i]] = append(byID[ids[i]], i)
	}
	for id, idx := range byID {
		if len(idx) < 2 {
			continue
		}
		births := map[string]int{}
		for _, i := range idx {
			births[firstOr(rows[i].e.BirthDates)]++
		}
		for _, i := range idx {
			if b := firstOr(rows[i].e.BirthDates); b != "" && births[b] == 1 {
				ids[i] = id + "~" + b
			} else {
				ids[i] = id + "~" + shortHash(rows[i].content)
			}
		}
	}
	seen := map[string]int{}
	var out []*Entity
	for i, r := range rows {
		if first, dup := seen[ids[i]]; dup {
			probs.Add(Problem{File: file, Line: r.line, Reason: fmt.Sprintf("the same entry as line %d; row skipped", first)}, "duplicate entry")
			continue
		}
		seen[ids[i]] = r.line
		r.e.ID = "eu:" + ids[i]
		r.e.Listings[0].SourceID = ids[i]
		r.e.normalise()
		out = append(out, r.e)
	}
	return out
}

func firstOr(v []string) string {
	if len(v) > 0 {
		return v[0]
	}
	return ""
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:4])
}

func isASCIIText(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
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
