package sanctions

import (
	"fmt"
	"io"
	"strings"
)

// OFACCSVFiles is one OFAC legacy CSV set: the main table (SDN.CSV or
// CONS_PRIM.CSV, 12 columns) and its optional side tables of addresses
// (ADD, 6 columns), alternate names (ALT, 5 columns) and remark overflow
// (SDN_COMMENTS / CONS_COMMENTS, 2 columns). A nil side table is skipped.
type OFACCSVFiles struct {
	List               string // "ofac-sdn" or "ofac-cons"
	Main               NamedReader
	Add, Alt, Comments *NamedReader
}

// NamedReader is an input with the name used in problems.
type NamedReader struct {
	Name string
	R    io.Reader
}

type ofacAlt struct {
	kind, name string
}

// ParseOFACCSV reads an OFAC legacy CSV set. Side tables are read into
// memory first (they are keyed by ent_num), then the main table is streamed.
// Rows with the wrong column count are skipped and counted.
func ParseOFACCSV(set OFACCSVFiles, emit func(*Entity)) (Problems, error) {
	var probs Problems
	addrs := map[string][]Address{}
	alts := map[string][]ofacAlt{}
	comments := map[string]string{}
	if set.Add != nil {
		err := csvRows(set.Add.R, set.Add.Name, 6, nil, &probs, func(_ int, r []string) {
			a := Address{Street: ofacField(r[2]), City: ofacField(r[3]), Country: ofacField(r[4])}
			if a != (Address{}) {
				addrs[r[0]] = append(addrs[r[0]], a)
			}
		})
		if err != nil {
			return probs, err
		}
	}
	if set.Alt != nil {
		err := csvRows(set.Alt.R, set.Alt.Name, 5, nil, &probs, func(_ int, r []string) {
			alts[r[0]] = append(alts[r[0]], ofacAlt{kind: ofacField(r[2]), name: ofacField(r[3])})
		})
		if err != nil {
			return probs, err
		}
	}
	if set.Comments != nil {
		err := csvRows(set.Comments.R, set.Comments.Name, 2, nil, &probs, func(_ int, r []string) {
			comments[r[0]] += r[1]
		})
		if err != nil {
			return probs, err
		}
	}
	n := 0
	err := csvRows(set.Main.R, set.Main.Name, 12, nil, &probs, func(line int, r []string) {
		id := strings.TrimSpace(r[0])
		if !isDigits(id) {
			probs.Add(Problem{File: set.Main.Name, Line: line, Element: "ent_num", Reason: fmt.Sprintf("ent_num %q is not a number; row skipped", id)}, "bad ent_num")
			return
		}
		e := &Entity{ID: set.List + ":" + id, Type: ofacType(ofacField(r[2]))}
		e.AddName(ofacField(r[1]), NamePrimary)
		if e.Name == "" {
			probs.Add(Problem{File: set.Main.Name, Line: line, Element: "SDN_Name", Reason: "empty name; row skipped"}, "empty name")
			return
		}
		e.Listings = []Listing{{List: set.List, SourceID: id, Programmes: splitPrograms(ofacField(r[3]))}}
		if cs := ofacField(r[5]); cs != "" {
			applyRemark(e, "Vessel Call Sign "+cs)
		}
		e.VesselType = ofacField(r[6])
		e.Tonnage = ofacField(r[7])
		if e.Tonnage == "" {
			e.Tonnage = ofacField(r[8])
		}
		if f := ofacField(r[9]); f != "" {
			e.Flag = flagCode(f)
		}
		if o := ofacField(r[10]); o != "" {
			e.Links = append(e.Links, Link{Relation: OwnedBy, Name: o})
		}
		e.Remarks = ofacField(r[11]) + comments[id]
		for _, bad := range applyRemarks(e, e.Remarks) {
			probs.Add(Problem{File: set.Main.Name, Line: line, Element: "Remarks", Reason: bad + " (ent_num " + id + "); value dropped"}, "invalid identifier")
		}
		for _, a := range alts[id] {
			kind := NameAlias
			switch strings.ToLower(a.kind) {
			case "fka":
				kind = NameFormer
			case "aka", "nka":
			default:
				if strings.Contains(strings.ToLower(a.kind), "weak") {
					kind = NameWeak
				}
			}
			e.AddName(a.name, kind)
		}
		e.Addresses = addrs[id]
		e.normalise()
		n++
		emit(e)
	})
	if err != nil {
		return probs, err
	}
	if n == 0 {
		return probs, &ParseError{Problem: Problem{File: set.Main.Name, Reason: "no entries read"}}
	}
	return probs, nil
}

func ofacType(t string) EntityType {
	switch strings.ToLower(t) {
	case "vessel":
		return Vessel
	case "individual":
		return Person
	case "aircraft":
		return Aircraft
	}
	return Organization // OFAC writes "-0-" for entities
}

// splitPrograms reads OFAC's "SDGT] [IFSR" style multi-programme field.
func splitPrograms(s string) []string {
	if strings.IndexByte(s, '[') < 0 && strings.IndexByte(s, ']') < 0 {
		if s = strings.TrimSpace(s); s == "" {
			return nil
		}
		return []string{s}
	}
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == '[' || r == ']' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
