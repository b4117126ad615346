package sanctions

import (
	"io"
	"strings"
	"time"
)

// unRecord holds the fields of an INDIVIDUAL or ENTITY element of the UN
// Security Council consolidated list (sc-sanctions.xsd). The two share most
// fields; aliases and addresses differ only by element name.
type unRecord struct {
	DataID      string       `xml:"DATAID"`
	First       string       `xml:"FIRST_NAME"`
	Second      string       `xml:"SECOND_NAME"`
	Third       string       `xml:"THIRD_NAME"`
	Fourth      string       `xml:"FOURTH_NAME"`
	ListType    string       `xml:"UN_LIST_TYPE"`
	Reference   string       `xml:"REFERENCE_NUMBER"`
	ListedOn    string       `xml:"LISTED_ON"`
	Original    string       `xml:"NAME_ORIGINAL_SCRIPT"`
	Comments    string       `xml:"COMMENTS1"`
	Nationality []string     `xml:"NATIONALITY>VALUE"`
	Aliases     []unAlias    `xml:"INDIVIDUAL_ALIAS"`
	EAliases    []unAlias    `xml:"ENTITY_ALIAS"`
	Addresses   []unAddress  `xml:"INDIVIDUAL_ADDRESS"`
	EAddresses  []unAddress  `xml:"ENTITY_ADDRESS"`
	Births      []unBirth    `xml:"INDIVIDUAL_DATE_OF_BIRTH"`
	Documents   []unDocument `xml:"INDIVIDUAL_DOCUMENT"`
}

type unBirth struct {
	Date string `xml:"DATE"`
	Year string `xml:"YEAR"`
}

type unDocument struct {
	Type    string `xml:"TYPE_OF_DOCUMENT"`
	Number  string `xml:"NUMBER"`
	Country string `xml:"ISSUING_COUNTRY"`
}

type unAlias struct {
	Quality string `xml:"QUALITY"`
	Name    string `xml:"ALIAS_NAME"`
}

type unAddress struct {
	Street  string `xml:"STREET"`
	City    string `xml:"CITY"`
	State   string `xml:"STATE_PROVINCE"`
	Country string `xml:"COUNTRY"`
}

// ParseUNXML streams the UN Security Council consolidated list. It returns
// the list's dateGenerated as the publication time. Records without a
// reference number are skipped and counted; a truncated or malformed
// document stops the import with the line where it broke.
func ParseUNXML(r io.Reader, file string, emit func(*Entity)) (published time.Time, probs Problems, err error) {
	n := 0
	records := map[string]bool{"INDIVIDUAL": true, "ENTITY": true}
	line, err := walkRecords(r, "CONSOLIDATED_LIST", records,
		func(root *xmlNode) {
			published, _ = time.Parse(time.RFC3339Nano, root.attr("dateGenerated"))
		},
		func(node *xmlNode, line int) {
			rec := unRecordOf(node)
			e, bad := unEntity(rec, node.name == "INDIVIDUAL")
			if e == nil {
				probs.Add(Problem{File: file, Line: line, Element: node.name, Reason: bad[0] + "; record skipped"}, bad[0])
				return
			}
			for _, b := range bad {
				probs.Add(Problem{File: file, Line: line, Element: "COMMENTS1", Reason: b + " (" + rec.Reference + "); value dropped"}, "invalid identifier")
			}
			n++
			emit(e)
		})
	if err != nil {
		return published, probs, &ParseError{Problem: Problem{File: file, Line: line, Reason: "malformed XML: " + err.Error()}, Err: err}
	}
	if n == 0 {
		return published, probs, &ParseError{Problem: Problem{File: file, Reason: "no INDIVIDUAL or ENTITY records"}}
	}
	return published, probs, nil
}

// unRecordOf maps a record element onto unRecord.
func unRecordOf(n *xmlNode) *unRecord {
	rec := &unRecord{
		DataID: n.get("DATAID"), First: n.get("FIRST_NAME"), Second: n.get("SECOND_NAME"),
		Third: n.get("THIRD_NAME"), Fourth: n.get("FOURTH_NAME"), ListType: n.get("UN_LIST_TYPE"),
		Reference: n.get("REFERENCE_NUMBER"), ListedOn: n.get("LISTED_ON"),
		Original: n.get("NAME_ORIGINAL_SCRIPT"), Comments: n.get("COMMENTS1"),
		Nationality: n.texts("NATIONALITY", "VALUE"),
	}
	for _, a := range n.kids {
		switch a.name {
		case "INDIVIDUAL_ALIAS", "ENTITY_ALIAS":
			rec.Aliases = append(rec.Aliases, unAlias{Quality: a.get("QUALITY"), Name: a.get("ALIAS_NAME")})
		case "INDIVIDUAL_ADDRESS", "ENTITY_ADDRESS":
			rec.Addresses = append(rec.Addresses, unAddress{Street: a.get("STREET"), City: a.get("CITY"), State: a.get("STATE_PROVINCE"), Country: a.get("COUNTRY")})
		case "INDIVIDUAL_DATE_OF_BIRTH":
			rec.Births = append(rec.Births, unBirth{Date: a.get("DATE"), Year: a.get("YEAR")})
		case "INDIVIDUAL_DOCUMENT":
			rec.Documents = append(rec.Documents, unDocument{Type: a.get("TYPE_OF_DOCUMENT"), Number: a.get("NUMBER"), Country: a.get("ISSUING_COUNTRY")})
		}
	}
	return rec
}

func unEntity(rec *unRecord, individual bool) (*Entity, []string) {
	ref := strings.TrimSpace(rec.Reference)
	if ref == "" {
		return nil, []string{"missing REFERENCE_NUMBER"}
	}
	e := &Entity{ID: "un:" + ref, Type: Organization}
	if individual {
		e.Type = Person
	}
	name := joinNonEmpty(rec.First, rec.Second, rec.Third, rec.Fourth)
	e.AddName(name, NamePrimary)
	if e.Name == "" {
		return nil, []string{"missing FIRST_NAME"}
	}
	e.AddName(rec.Original, NameAlias)
	for _, a := range append(rec.Aliases, rec.EAliases...) { // EAliases: set by the encoding/xml baseline
		kind := NameAlias
		switch strings.ToLower(strings.TrimSpace(a.Quality)) {
		case "low":
			kind = NameWeak
		case "f.k.a.", "fka":
			kind = NameFormer
		}
		e.AddName(a.Name, kind)
	}
	for _, a := range append(rec.Addresses, rec.EAddresses...) {
		addr := Address{Street: clean(a.Street), City: clean(a.City), Region: clean(a.State), Country: clean(a.Country)}
		if addr != (Address{}) {
			e.Addresses = append(e.Addresses, addr)
		}
	}
	for _, n := range rec.Nationality {
		e.Nationalities = addUnique(e.Nationalities, flagCode(n))
	}
	for _, b := range rec.Births {
		e.BirthDates = addUnique(e.BirthDates, firstNonEmpty(b.Date, b.Year))
	}
	for _, doc := range rec.Documents {
		num := clean(doc.Number)
		if num == "" {
			continue
		}
		scheme := SchemeOther
		switch t := strings.ToLower(doc.Type); {
		case strings.Contains(t, "passport"):
			scheme = SchemePassport
		case strings.Contains(t, "national"), strings.Contains(t, "identification"):
			scheme = SchemeNationalID
		}
		e.AddIdentifier(scheme, num, clean(doc.Type))
	}
	e.AddIdentifier(SchemeUNReference, ref, "")
	e.Remarks = clean(rec.Comments)
	bad := applyIMOMentions(e, e.Remarks)
	e.Listings = []Listing{{List: "un", SourceID: ref, ListedOn: clean(rec.ListedOn), Programmes: []string{clean(rec.ListType)}}}
	e.normalise()
	return e, bad
}

// clean collapses the whitespace that pretty-printed XML leaves in values.
func clean(s string) string {
	if isCleanText(s) {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = clean(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s = clean(s); s != "" {
			return s
		}
	}
	return ""
}
