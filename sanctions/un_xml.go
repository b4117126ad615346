package sanctions

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"time"
)

// unRecord holds the fields of an INDIVIDUAL or ENTITY element of the UN
// Security Council consolidated list (sc-sanctions.xsd). The two share most
// fields; aliases and addresses differ only by element name.
type unRecord struct {
	DataID      string      `xml:"DATAID"`
	First       string      `xml:"FIRST_NAME"`
	Second      string      `xml:"SECOND_NAME"`
	Third       string      `xml:"THIRD_NAME"`
	Fourth      string      `xml:"FOURTH_NAME"`
	ListType    string      `xml:"UN_LIST_TYPE"`
	Reference   string      `xml:"REFERENCE_NUMBER"`
	ListedOn    string      `xml:"LISTED_ON"`
	Original    string      `xml:"NAME_ORIGINAL_SCRIPT"`
	Comments    string      `xml:"COMMENTS1"`
	Nationality []string    `xml:"NATIONALITY>VALUE"`
	Aliases     []unAlias   `xml:"INDIVIDUAL_ALIAS"`
	EAliases    []unAlias   `xml:"ENTITY_ALIAS"`
	Addresses   []unAddress `xml:"INDIVIDUAL_ADDRESS"`
	EAddresses  []unAddress `xml:"ENTITY_ADDRESS"`
	Births      []struct {
		Date string `xml:"DATE"`
		Year string `xml:"YEAR"`
	} `xml:"INDIVIDUAL_DATE_OF_BIRTH"`
	Documents []struct {
		Type    string `xml:"TYPE_OF_DOCUMENT"`
		Number  string `xml:"NUMBER"`
		Country string `xml:"ISSUING_COUNTRY"`
	} `xml:"INDIVIDUAL_DOCUMENT"`
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
	d := xml.NewDecoder(r)
	d.Strict = true
	n := 0
	sawRoot := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			line, _ := d.InputPos()
			return published, probs, &ParseError{Problem: Problem{File: file, Line: line, Reason: "malformed XML: " + err.Error()}, Err: err}
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "CONSOLIDATED_LIST":
			sawRoot = true
			for _, a := range se.Attr {
				if a.Name.Local == "dateGenerated" {
					published, _ = time.Parse(time.RFC3339Nano, a.Value)
				}
			}
		case "INDIVIDUAL", "ENTITY":
			if !sawRoot {
				return published, probs, &ParseError{Problem: Problem{File: file, Element: se.Name.Local, Reason: "not a UN consolidated list (no CONSOLIDATED_LIST root)"}}
			}
			line, _ := d.InputPos()
			var rec unRecord
			if err := d.DecodeElement(&rec, &se); err != nil {
				return published, probs, &ParseError{Problem: Problem{File: file, Line: line, Element: se.Name.Local, Reason: "malformed XML: " + err.Error()}, Err: err}
			}
			e, bad := unEntity(&rec, se.Name.Local == "INDIVIDUAL")
			if e == nil {
				probs.Add(Problem{File: file, Line: line, Element: se.Name.Local, Reason: bad[0] + "; record skipped"}, bad[0])
				continue
			}
			for _, b := range bad {
				probs.Add(Problem{File: file, Line: line, Element: "COMMENTS1", Reason: b + " (" + rec.Reference + "); value dropped"}, "invalid identifier")
			}
			n++
			emit(e)
		}
	}
	if !sawRoot {
		return published, probs, &ParseError{Problem: Problem{File: file, Reason: "not a UN consolidated list (no CONSOLIDATED_LIST root)"}, Err: errors.New("wrong format")}
	}
	if n == 0 {
		return published, probs, &ParseError{Problem: Problem{File: file, Reason: "no INDIVIDUAL or ENTITY records"}}
	}
	return published, probs, nil
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
	for _, a := range append(rec.Aliases, rec.EAliases...) {
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
func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

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
