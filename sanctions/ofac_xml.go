package sanctions

import (
	"io"
	"strings"
	"time"
)

// ofacXMLEntry is one sdnEntry of OFAC's sdn.xml schema, used by both the
// SDN list and the consolidated non-SDN list. Element names are matched by
// local name, so the publication namespace does not matter.
type ofacXMLEntry struct {
	UID           string           `xml:"uid"`
	FirstName     string           `xml:"firstName"`
	LastName      string           `xml:"lastName"`
	Type          string           `xml:"sdnType"`
	Remarks       string           `xml:"remarks"`
	Programs      []string         `xml:"programList>program"`
	IDs           []ofacXMLID      `xml:"idList>id"`
	AKAs          []ofacXMLAKA     `xml:"akaList>aka"`
	Addresses     []ofacXMLAddress `xml:"addressList>address"`
	Nationalities []string         `xml:"nationalityList>nationality>country"`
	Citizenships  []string         `xml:"citizenshipList>citizenship>country"`
	BirthDates    []string         `xml:"dateOfBirthList>dateOfBirthItem>dateOfBirth"`
	Vessel        ofacXMLVessel    `xml:"vesselInfo"`
}

type ofacXMLID struct {
	Type    string `xml:"idType"`
	Number  string `xml:"idNumber"`
	Country string `xml:"idCountry"`
}

type ofacXMLAKA struct {
	Type      string `xml:"type"`
	Category  string `xml:"category"`
	FirstName string `xml:"firstName"`
	LastName  string `xml:"lastName"`
}

type ofacXMLAddress struct {
	Address1 string `xml:"address1"`
	Address2 string `xml:"address2"`
	Address3 string `xml:"address3"`
	City     string `xml:"city"`
	State    string `xml:"stateOrProvince"`
	Postal   string `xml:"postalCode"`
	Country  string `xml:"country"`
}

type ofacXMLVessel struct {
	CallSign string `xml:"callSign"`
	Type     string `xml:"vesselType"`
	Flag     string `xml:"vesselFlag"`
	Owner    string `xml:"vesselOwner"`
	Tonnage  string `xml:"tonnage"`
	GRT      string `xml:"grossRegisteredTonnage"`
}

// ParseOFACXML streams an OFAC XML publication (sdn.xml or consolidated.xml).
// list is "ofac-sdn" or "ofac-cons". The Publish_Date is returned as the
// publication time.
func ParseOFACXML(r io.Reader, file, list string, emit func(*Entity)) (published time.Time, probs Problems, err error) {
	n := 0
	records := map[string]bool{"sdnEntry": true, "publshInformation": true}
	line, err := walkRecords(r, "sdnList", records, nil, func(node *xmlNode, line int) {
		if node.name == "publshInformation" {
			published, _ = time.Parse("01/02/2006", clean(node.get("Publish_Date")))
			return
		}
		x := ofacXMLEntryOf(node)
		e, bad := ofacXMLEntity(x, list)
		if e == nil {
			probs.Add(Problem{File: file, Line: line, Element: "sdnEntry", Reason: bad[0] + "; entry skipped"}, bad[0])
			return
		}
		for _, b := range bad {
			probs.Add(Problem{File: file, Line: line, Element: "idList", Reason: b + " (uid " + x.UID + "); value dropped"}, "invalid identifier")
		}
		n++
		emit(e)
	})
	if err != nil {
		return published, probs, &ParseError{Problem: Problem{File: file, Line: line, Reason: "malformed XML: " + err.Error()}, Err: err}
	}
	if n == 0 {
		return published, probs, &ParseError{Problem: Problem{File: file, Reason: "no sdnEntry records"}}
	}
	return published, probs, nil
}

// ofacXMLEntryOf maps an sdnEntry element onto ofacXMLEntry.
func ofacXMLEntryOf(n *xmlNode) *ofacXMLEntry {
	x := &ofacXMLEntry{
		UID: n.get("uid"), FirstName: n.get("firstName"), LastName: n.get("lastName"),
		Type: n.get("sdnType"), Remarks: n.get("remarks"),
		Programs: n.texts("programList", "program"),
	}
	for _, l := range n.all("idList") {
		for _, id := range l.all("id") {
			x.IDs = append(x.IDs, ofacXMLID{Type: id.get("idType"), Number: id.get("idNumber"), Country: id.get("idCountry")})
		}
	}
	for _, l := range n.all("akaList") {
		for _, a := range l.all("aka") {
			x.AKAs = append(x.AKAs, ofacXMLAKA{Type: a.get("type"), Category: a.get("category"), FirstName: a.get("firstName"), LastName: a.get("lastName")})
		}
	}
	for _, l := range n.all("addressList") {
		for _, a := range l.all("address") {
			x.Addresses = append(x.Addresses, ofacXMLAddress{Address1: a.get("address1"), Address2: a.get("address2"), Address3: a.get("address3"),
				City: a.get("city"), State: a.get("stateOrProvince"), Postal: a.get("postalCode"), Country: a.get("country")})
		}
	}
	for _, l := range n.all("nationalityList") {
		x.Nationalities = append(x.Nationalities, l.texts("nationality", "country")...)
	}
	for _, l := range n.all("citizenshipList") {
		x.Citizenships = append(x.Citizenships, l.texts("citizenship", "country")...)
	}
	for _, l := range n.all("dateOfBirthList") {
		x.BirthDates = append(x.BirthDates, l.texts("dateOfBirthItem", "dateOfBirth")...)
	}
	if v := n.child("vesselInfo"); v != nil {
		x.Vessel = ofacXMLVessel{CallSign: v.get("callSign"), Type: v.get("vesselType"), Flag: v.get("vesselFlag"),
			Owner: v.get("vesselOwner"), Tonnage: v.get("tonnage"), GRT: v.get("grossRegisteredTonnage")}
	}
	return x
}

func ofacXMLEntity(x *ofacXMLEntry, list string) (*Entity, []string) {
	uid := clean(x.UID)
	if uid == "" || strings.Trim(uid, "0123456789") != "" {
		return nil, []string{"missing or non-numeric uid"}
	}
	e := &Entity{ID: list + ":" + uid, Type: ofacType(strings.ToLower(clean(x.Type)))}
	if strings.EqualFold(clean(x.Type), "entity") {
		e.Type = Organization
	}
	e.AddName(ofacXMLName(x.LastName, x.FirstName), NamePrimary)
	if e.Name == "" {
		return nil, []string{"empty name"}
	}
	e.Listings = []Listing{{List: list, SourceID: uid, Programmes: cleanAll(x.Programs)}}
	for _, a := range x.AKAs {
		kind := NameAlias
		if strings.EqualFold(clean(a.Type), "f.k.a.") {
			kind = NameFormer
		} else if strings.EqualFold(clean(a.Category), "weak") {
			kind = NameWeak
		}
		e.AddName(ofacXMLName(a.LastName, a.FirstName), kind)
	}
	v := x.Vessel
	if cs := clean(v.CallSign); cs != "" {
		applyRemark(e, "Vessel Call Sign "+cs)
	}
	e.VesselType = clean(v.Type)
	e.Tonnage = firstNonEmpty(v.Tonnage, v.GRT)
	if f := clean(v.Flag); f != "" {
		e.Flag = flagCode(f)
	}
	if o := clean(v.Owner); o != "" {
		e.Links = append(e.Links, Link{Relation: OwnedBy, Name: o})
	}
	for _, a := range x.Addresses {
		addr := Address{Street: joinNonEmpty(a.Address1, a.Address2, a.Address3), City: joinNonEmpty(a.City, a.Postal), Region: clean(a.State), Country: clean(a.Country)}
		if addr != (Address{}) {
			e.Addresses = append(e.Addresses, addr)
		}
	}
	for _, c := range append(x.Nationalities, x.Citizenships...) {
		e.Nationalities = addUnique(e.Nationalities, flagCode(c))
	}
	for _, b := range x.BirthDates {
		e.BirthDates = addUnique(e.BirthDates, clean(b))
	}
	// The idList carries what the CSV packs into remarks ("Vessel
	// Registration Identification" / "IMO 8606173", "MMSI" / "445..."), so
	// the same remark rules read both.
	var bad []string
	for _, id := range x.IDs {
		if b := applyRemark(e, clean(id.Type)+" "+clean(id.Number)); b != "" {
			bad = append(bad, b)
		}
	}
	e.Remarks = clean(x.Remarks)
	bad = append(bad, applyRemarks(e, e.Remarks)...)
	e.normalise()
	return e, bad
}

// ofacXMLName writes names the way the OFAC CSV does: "LAST, First" for
// individuals, the last name alone for entities and vessels.
func ofacXMLName(last, first string) string {
	last, first = clean(last), clean(first)
	if first == "" {
		return last
	}
	if last == "" {
		return first
	}
	return last + ", " + first
}

func cleanAll(v []string) []string {
	var out []string
	for _, s := range v {
		if s = clean(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
