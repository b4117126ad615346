package sanctions

import (
	"bufio"
	"encoding/json"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/tidewatch/tidewatch/identity"
)

// ftmEntity is one line of a FollowTheMoney entity stream, the format of
// OpenSanctions' entities.ftm.json exports: every property is a list of
// strings, and references to other entities are their ids.
type ftmEntity struct {
	ID         string              `json:"id"`
	Schema     string              `json:"schema"`
	Properties map[string][]string `json:"properties"`
	Datasets   []string            `json:"datasets"`
}

func (f *ftmEntity) props(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, f.Properties[n]...)
	}
	return out
}

func (f *ftmEntity) first(name string) string {
	if v := f.Properties[name]; len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

// maxFtMLine bounds one JSON line. OpenSanctions entities are a few KB; a
// megabyte is generous and stops a corrupt file from costing gigabytes.
const maxFtMLine = 8 << 20

// ftmTypes maps the FtM schemata that designate something to our types.
var ftmTypes = map[string]EntityType{
	"Vessel": Vessel, "Person": Person, "Organization": Organization,
	"Company": Organization, "LegalEntity": Organization, "PublicBody": Organization,
	"Airplane": Aircraft,
}

// ftmLinks maps relationship schemata to (from property, to property,
// relation). The relation is read from the "from" entity's point of view.
var ftmLinks = map[string]struct {
	from, to string
	rel      Relation
}{
	"Ownership":      {"asset", "owner", OwnedBy},
	"Directorship":   {"organization", "director", Associate},
	"Representation": {"client", "agent", Associate},
	"UnknownLink":    {"subject", "object", LinkedTo},
	"Associate":      {"person", "associate", Associate},
	"Family":         {"person", "relative", Associate},
	"Membership":     {"member", "organization", LinkedTo},
	"Employment":     {"employee", "employer", LinkedTo},
}

// ParseFtM reads FollowTheMoney JSON lines. Sanction entities become the
// listings of the entity they point to (programme, listing date, UN
// reference); relationship entities become links. Because those can come
// before or after their targets, entities are emitted once the stream ends,
// sorted by id.
func ParseFtM(r io.Reader, file string, emit func(*Entity)) (Problems, error) {
	var probs Problems
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxFtMLine)
	byID := map[string]*Entity{}
	names := map[string]string{}
	var sanctions, links []*ftmEntity
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var f ftmEntity
		if err := json.Unmarshal(b, &f); err != nil {
			probs.Add(Problem{File: file, Line: line, Reason: "not a JSON object: " + err.Error() + "; line skipped"}, "bad JSON")
			continue
		}
		if f.ID == "" || f.Schema == "" {
			probs.Add(Problem{File: file, Line: line, Reason: "missing id or schema; line skipped"}, "missing id or schema")
			continue
		}
		if n := f.first("name"); n != "" {
			names[f.ID] = n
		}
		if f.Schema == "Sanction" {
			sanctions = append(sanctions, &f)
			continue
		}
		if _, ok := ftmLinks[f.Schema]; ok {
			links = append(links, &f)
			continue
		}
		t, ok := ftmTypes[f.Schema]
		if !ok {
			continue // addresses, identifications and other schemata we do not model
		}
		e, bad := ftmToEntity(&f, t)
		if e == nil {
			probs.Add(Problem{File: file, Line: line, Element: f.ID, Reason: "no name; entity skipped"}, "no name")
			continue
		}
		for _, msg := range bad {
			probs.Add(Problem{File: file, Line: line, Element: f.ID, Reason: msg + "; value dropped"}, "invalid identifier")
		}
		byID[f.ID] = e
	}
	if err := sc.Err(); err != nil {
		return probs, &ParseError{Problem: Problem{File: file, Line: line + 1, Reason: "read: " + err.Error()}, Err: err}
	}
	for _, s := range sanctions {
		for _, target := range s.props("entity") {
			e, ok := byID[target]
			if !ok {
				continue
			}
			l := &e.Listings[0]
			l.Programmes = appendUniq(l.Programmes, s.props("programId", "program")...)
			if l.ListedOn == "" {
				l.ListedOn = firstNonEmpty(s.first("listingDate"), s.first("startDate"))
			}
			for _, ref := range s.props("unscId") {
				e.AddIdentifier(SchemeUNReference, strings.TrimSpace(ref), "")
			}
		}
	}
	for _, lk := range links {
		spec := ftmLinks[lk.Schema]
		for _, from := range lk.props(spec.from) {
			e, ok := byID[from]
			if !ok {
				continue
			}
			for _, to := range lk.props(spec.to) {
				rel := spec.rel
				if role := strings.ToLower(lk.first("role")); strings.Contains(role, "operat") {
					rel = Operator
				} else if strings.Contains(role, "manag") {
					rel = Manager
				}
				e.Links = append(e.Links, Link{Relation: rel, Name: names[to], TargetID: "opensanctions:" + to})
			}
		}
	}
	// Entity-valued vessel properties point at owners and operators directly.
	for _, e := range byID {
		for i := range e.Links {
			if e.Links[i].Name == "" {
				e.Links[i].Name = names[strings.TrimPrefix(e.Links[i].TargetID, "opensanctions:")]
			}
		}
	}
	if len(byID) == 0 {
		return probs, &ParseError{Problem: Problem{File: file, Reason: "no Vessel, Organization, Company, LegalEntity or Person entities read"}}
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		e := byID[id]
		e.normalise()
		emit(e)
	}
	return probs, nil
}

func ftmToEntity(f *ftmEntity, t EntityType) (*Entity, []string) {
	e := &Entity{ID: "opensanctions:" + f.ID, Type: t}
	for _, n := range f.props("name") {
		if e.Name == "" {
			e.AddName(n, NamePrimary)
		} else {
			e.AddName(n, NameAlias)
		}
	}
	if e.Name == "" {
		return nil, nil
	}
	for _, n := range f.props("alias") {
		e.AddName(n, NameAlias)
	}
	for _, n := range f.props("weakAlias") {
		e.AddName(n, NameWeak)
	}
	for _, n := range f.props("previousName") {
		e.AddName(n, NameFormer)
	}
	var bad []string
	for _, v := range f.props("imoNumber") {
		if t == Vessel {
			imo, err := identity.ParseShipIMO(v)
			if err != nil {
				bad = append(bad, err.Error())
				continue
			}
			e.AddIdentifier(SchemeShipIMO, strconv.Itoa(int(imo)), "")
		} else {
			c, err := identity.ParseCompanyIMO(v)
			if err != nil {
				bad = append(bad, err.Error())
				continue
			}
			e.AddIdentifier(SchemeCompanyIMO, strconv.Itoa(int(c)), "")
		}
	}
	for _, v := range f.props("mmsi") {
		if m, err := identity.ParseMMSI(v); err == nil {
			e.AddIdentifier(SchemeMMSI, m.String(), "")
		} else {
			bad = append(bad, err.Error())
		}
	}
	for _, v := range f.props("callSign") {
		if cs := identity.NormaliseCallSign(v); cs != "" {
			e.AddIdentifier(SchemeCallSign, cs, "")
		}
	}
	for _, v := range f.props("unscId") {
		e.AddIdentifier(SchemeUNReference, strings.TrimSpace(v), "")
	}
	for _, v := range f.props("registrationNumber") {
		e.AddIdentifier(SchemeRegistration, v, "")
	}
	for _, v := range f.props("passportNumber") {
		e.AddIdentifier(SchemePassport, v, "")
	}
	for _, v := range f.props("idNumber") {
		e.AddIdentifier(SchemeNationalID, v, "")
	}
	if fl := f.first("flag"); fl != "" {
		e.Flag = flagCode(fl)
	}
	for _, v := range f.props("pastFlags") {
		e.PastFlags = addUnique(e.PastFlags, flagCode(v))
	}
	e.VesselType = f.first("type")
	e.Tonnage = firstNonEmpty(f.first("tonnage"), f.first("grossRegisteredTonnage"))
	if b := f.first("buildDate"); len(b) >= 4 {
		e.BuildYear = b[:4]
	}
	for _, v := range f.props("nationality", "citizenship") {
		e.Nationalities = addUnique(e.Nationalities, flagCode(v))
	}
	for _, v := range f.props("birthDate") {
		e.BirthDates = addUnique(e.BirthDates, v)
	}
	for _, v := range f.props("address") {
		e.Addresses = append(e.Addresses, Address{Full: clean(v)})
	}
	for _, v := range f.props("owner") {
		e.Links = append(e.Links, Link{Relation: OwnedBy, TargetID: "opensanctions:" + v})
	}
	for _, v := range f.props("operator") {
		e.Links = append(e.Links, Link{Relation: Operator, TargetID: "opensanctions:" + v})
	}
	e.Remarks = clean(strings.Join(f.props("notes"), " "))
	e.Listings = []Listing{{List: "opensanctions", SourceID: f.ID, Programmes: appendUniq(nil, f.props("programId", "program")...)}}
	if len(f.Datasets) > 0 {
		e.Listings[0].Programmes = appendUniq(e.Listings[0].Programmes, f.Datasets...)
	}
	return e, bad
}

func appendUniq(list []string, vals ...string) []string {
	for _, v := range vals {
		list = addUnique(list, v)
	}
	return list
}
