package sanctions

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tidewatch/tidewatch/identity"
)

// applyRemarks reads the structured facts OFAC packs into an entry's remarks
// (and, in sdn.xml, into its idList as "type value" pairs): IMO ship and
// company numbers, MMSI, call signs, past and other flags, vessel type, year
// of build, a.k.a./f.k.a. names, "Linked To" and personal identifiers. It
// returns reasons for values that looked like identifiers but failed
// validation, so the caller can count them.
func applyRemarks(e *Entity, remarks string) (bad []string) {
	for _, item := range splitRemarks(remarks) {
		if b := applyRemark(e, item); b != "" {
			bad = append(bad, b)
		}
	}
	return bad
}

// splitRemarks splits on semicolons outside quotes: a.k.a. names are quoted
// with single quotes and may in principle hold a semicolon.
func splitRemarks(s string) []string {
	out := make([]string, 0, strings.Count(s, ";")+1)
	start, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			// An apostrophe inside a word ("People's") is not a quote.
			prevLetter := i > 0 && isLetter(s[i-1])
			nextLetter := i+1 < len(s) && isLetter(s[i+1])
			if !(prevLetter && nextLetter) {
				inQuote = !inQuote
			}
		case ';':
			if !inQuote {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if last := strings.TrimSpace(s[start:]); last != "" {
		out = append(out, last)
	}
	return out
}

func isLetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// remarkRule maps a remark prefix to what it sets.
type remarkRule struct {
	prefix string
	apply  func(e *Entity, value string) (bad string)
}

var remarkRules = []remarkRule{
	{"a.k.a.", func(e *Entity, v string) string { e.AddName(unquote(v), NameAlias); return "" }},
	{"n.k.a.", func(e *Entity, v string) string { e.AddName(unquote(v), NameAlias); return "" }},
	{"f.k.a.", func(e *Entity, v string) string { e.AddName(unquote(v), NameFormer); return "" }},
	{"Vessel Registration Identification", applyVesselRegistration},
	{"Company Number", applyCompanyNumber},
	{"MMSI", func(e *Entity, v string) string {
		m, err := identity.ParseMMSI(v)
		if err != nil {
			return "invalid MMSI " + strconv.Quote(v)
		}
		e.AddIdentifier(SchemeMMSI, m.String(), "")
		return ""
	}},
	{"Other Vessel Call Sign", func(e *Entity, v string) string {
		if cs := identity.NormaliseCallSign(v); cs != "" {
			e.AddIdentifier(SchemeCallSign, cs, "other")
		}
		return ""
	}},
	{"Vessel Call Sign", func(e *Entity, v string) string {
		if cs := identity.NormaliseCallSign(v); cs != "" {
			e.AddIdentifier(SchemeCallSign, cs, "")
		}
		return ""
	}},
	{"Former Vessel Flag", func(e *Entity, v string) string { e.PastFlags = addUnique(e.PastFlags, flagCode(v)); return "" }},
	{"Other Vessel Flag", func(e *Entity, v string) string { e.PastFlags = addUnique(e.PastFlags, flagCode(v)); return "" }},
	{"Vessel Flag", func(e *Entity, v string) string {
		if e.Flag == "" {
			e.Flag = flagCode(v)
		}
		return ""
	}},
	{"Other Vessel Type", func(e *Entity, v string) string {
		if e.VesselType == "" {
			e.VesselType = v
		}
		return ""
	}},
	{"Vessel Year of Build", func(e *Entity, v string) string { e.BuildYear = v; return "" }},
	{"Linked To:", func(e *Entity, v string) string {
		e.Links = append(e.Links, Link{Relation: LinkedTo, Name: strings.TrimSuffix(v, ".")})
		return ""
	}},
	{"Passport", func(e *Entity, v string) string { e.AddIdentifier(SchemePassport, firstToken(v), v); return "" }},
	{"National ID No.", func(e *Entity, v string) string { e.AddIdentifier(SchemeNationalID, firstToken(v), v); return "" }},
	{"Registration Number", func(e *Entity, v string) string { e.AddIdentifier(SchemeRegistration, firstToken(v), v); return "" }},
	{"DOB", func(e *Entity, v string) string { e.BirthDates = addUnique(e.BirthDates, v); return "" }},
	{"nationality", func(e *Entity, v string) string { e.Nationalities = addUnique(e.Nationalities, flagCode(v)); return "" }},
	{"citizen", func(e *Entity, v string) string { e.Nationalities = addUnique(e.Nationalities, flagCode(v)); return "" }},
}

// rulesByFirstByte indexes remarkRules by the lower-cased first byte of
// their prefix: most remark items ("DOB ...", "Gender ...", "Tax ID ...")
// then meet one or two candidate rules instead of all of them.
var rulesByFirstByte = func() map[byte][]int {
	m := map[byte][]int{}
	for i, r := range remarkRules {
		c := lowerByte(r.prefix[0])
		m[c] = append(m[c], i)
	}
	return m
}()

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

func applyRemark(e *Entity, item string) string {
	item = strings.TrimSuffix(strings.TrimSpace(item), ".")
	// sdn.xml writes some remarks in parentheses: "(Linked To: HAMAS)".
	if strings.HasPrefix(item, "(") && strings.HasSuffix(item, ")") {
		item = strings.TrimSpace(item[1 : len(item)-1])
	}
	// "alt." marks a second value of the same kind: "alt. Former Vessel Flag Malta".
	item = strings.TrimSpace(strings.TrimPrefix(item, "alt. "))
	if item == "" {
		return ""
	}
	for _, i := range rulesByFirstByte[lowerByte(item[0])] {
		r := remarkRules[i]
		if len(item) > len(r.prefix) && strings.EqualFold(item[:len(r.prefix)], r.prefix) {
			next := item[len(r.prefix)]
			// A prefix must end at a word boundary ("MMSI 4451..." not "MMSIS").
			if isLetter(next) && !strings.HasSuffix(r.prefix, ".") && !strings.HasSuffix(r.prefix, ":") {
				continue
			}
			return r.apply(e, strings.TrimSpace(strings.TrimLeft(item[len(r.prefix):], " :")))
		}
	}
	return ""
}

// applyVesselRegistration reads "IMO 8606173", "8606173" or a national
// registration such as "RS..." after "Vessel Registration Identification".
// OFAC uses the same label on some DPRK shipping companies for what is
// their IMO company number (CHONGBONG SHIPPING CO LTD: "Vessel Registration
// Identification IMO 5878589"), so on an organization the number is read
// as a company number.
func applyVesselRegistration(e *Entity, v string) string {
	ms := identity.FindIMOs("Vessel Registration Identification " + v)
	if len(ms) == 0 {
		e.AddIdentifier(SchemeRegistration, v, "vessel registration identification")
		return ""
	}
	m := ms[0]
	if e.Type == Organization {
		if !m.ValidCompany {
			return "invalid company IMO check digit " + imoDigits(m.Number)
		}
		e.AddIdentifier(SchemeCompanyIMO, imoDigits(m.Number), "listed as Vessel Registration Identification")
		return ""
	}
	if !m.ValidShip {
		return "invalid ship IMO check digit " + imoDigits(m.Number)
	}
	e.AddIdentifier(SchemeShipIMO, imoDigits(m.Number), "")
	return ""
}

// applyCompanyNumber reads "Company Number IMO 1991835". OFAC also writes
// "Company Number 5146578." with no label on DPRK shipping companies; seven
// digits with a valid company check digit and no registry country are taken
// as the IMO company number. "Company Number 0685974 (Hong Kong)" is a
// national registration.
func applyCompanyNumber(e *Entity, v string) string {
	if ms := identity.FindIMOs("Company Number " + v); len(ms) > 0 {
		if !ms[0].ValidCompany {
			return "invalid company IMO check digit " + imoDigits(ms[0].Number)
		}
		e.AddIdentifier(SchemeCompanyIMO, imoDigits(ms[0].Number), "")
		return ""
	}
	digits := strings.TrimSpace(v)
	if len(digits) == 7 && strings.Trim(digits, "0123456789") == "" && identity.ValidCompanyIMO(atoi(digits)) {
		e.AddIdentifier(SchemeCompanyIMO, digits, "listed as Company Number without IMO; company check digit holds")
		return ""
	}
	e.AddIdentifier(SchemeRegistration, firstToken(v), "company number "+v)
	return ""
}

// imoDigits writes a seven-digit number with its leading zeros.
func imoDigits(n int) string { return fmt.Sprintf("%07d", n) }

// applyIMOMentions takes IMO numbers from free-text comments (UN COMMENTS1,
// EU reasons) that carry no OFAC-style label: "IMO number: 5936312". A
// vessel keeps ship numbers; an organization keeps company numbers, and a
// number valid under both rules is taken as the entity's own kind.
func applyIMOMentions(e *Entity, text string) (bad []string) {
	for _, m := range identity.FindIMOs(text) {
		switch e.Type {
		case Vessel:
			if m.Kind == identity.IMOCompany {
				continue // the owner's number quoted in the vessel's remarks
			}
			if !m.ValidShip {
				bad = append(bad, "invalid ship IMO check digit "+imoDigits(m.Number))
				continue
			}
			e.AddIdentifier(SchemeShipIMO, imoDigits(m.Number), "")
		case Organization:
			if m.Kind == identity.IMOShip {
				continue // a vessel the organization owns or runs
			}
			if !m.ValidCompany {
				bad = append(bad, "invalid company IMO check digit "+imoDigits(m.Number))
				continue
			}
			e.AddIdentifier(SchemeCompanyIMO, imoDigits(m.Number), "")
		}
	}
	return bad
}

// flagCode turns a country as listed into its ISO code, or keeps the text
// when it is not a country ("None Identified").
func flagCode(v string) string {
	v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "."))
	if c, ok := identity.CountryByName(v); ok {
		return string(c)
	}
	return v
}

func unquote(v string) string {
	v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "."))
	v = strings.TrimPrefix(v, "'")
	v = strings.TrimSuffix(v, "'")
	return strings.TrimSpace(v)
}

func firstToken(v string) string {
	if i := strings.IndexAny(v, " ("); i > 0 {
		return v[:i]
	}
	return v
}
