package identity

import (
	_ "embed"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Country is an ISO 3166-1 alpha-2 code ("KP", "PA"). Flags, MID
// allocations and call-sign series all resolve to it so they can be compared.
type Country string

// itu_mid.json is lib/mids.json of the npm package mmsi-country-lookup@1.0.2
// (MIT), based on ITU-R M.585-9 (2023): MID -> [alpha-2, alpha-3,
// subdivision, ITU name]. Source noted in identity/SOURCES.md.
//
//go:embed itu_mid.json
var ituMIDJSON []byte

type midEntry struct {
	country Country
	ituName string
	subdiv  string
}

var (
	tablesOnce  sync.Once
	midTable    map[int]midEntry
	countryName map[Country]string
	nameIndex   map[string]Country
)

// commonNames gives the short names lists and analysts use, and the variants
// that appear in sanctions lists' flag and nationality fields. The ITU table
// supplies the rest.
var commonNames = []struct {
	code    Country
	name    string
	aliases []string
}{
	{"KP", "North Korea", []string{"Democratic People's Republic of Korea", "DPRK", "Korea, North", "Korea North", "Korea, Democratic People's Republic of", "Korea (Democratic People's Republic of)", "D.P.R.K.", "DPR Korea"}},
	{"KR", "South Korea", []string{"Republic of Korea", "Korea, South", "Korea South", "Korea, Republic of", "Korea (Republic of)", "ROK"}},
	{"CN", "China", []string{"People's Republic of China", "PRC", "China (People's Republic of)"}},
	{"HK", "Hong Kong", []string{"Hong Kong SAR", "Hong Kong, China", "China - Hong Kong", "Hong Kong (China)"}},
	{"MO", "Macao", []string{"Macau", "Macao SAR"}},
	{"TW", "Taiwan", []string{"Chinese Taipei"}},
	{"RU", "Russia", []string{"Russian Federation"}},
	{"PA", "Panama", nil},
	{"SL", "Sierra Leone", nil},
	{"TG", "Togo", nil},
	{"MN", "Mongolia", nil},
	{"KH", "Cambodia", nil},
	{"KM", "Comoros", nil},
	{"PW", "Palau", nil},
	{"TZ", "Tanzania", []string{"United Republic of Tanzania", "Tanzania, United Republic of", "Tanzania (Zanzibar)", "Zanzibar"}},
	{"MH", "Marshall Islands", nil},
	{"LR", "Liberia", nil},
	{"BZ", "Belize", nil},
	{"TV", "Tuvalu", nil},
	{"VU", "Vanuatu", nil},
	{"FJ", "Fiji", nil},
	{"WS", "Samoa", nil},
	{"NR", "Nauru", nil},
	{"MV", "Maldives", nil},
	{"FM", "Micronesia", []string{"Federated States of Micronesia", "Micronesia, Federated States of"}},
	{"CD", "Democratic Republic of the Congo", []string{"DRC", "Congo, Democratic Republic of the", "DR Congo", "Congo (Kinshasa)"}},
	{"CG", "Republic of the Congo", []string{"Congo", "Congo (Brazzaville)"}},
	{"VN", "Vietnam", []string{"Viet Nam"}},
	{"IR", "Iran", []string{"Islamic Republic of Iran", "Iran, Islamic Republic of"}},
	{"SY", "Syria", []string{"Syrian Arab Republic"}},
	{"US", "United States", []string{"United States of America", "USA", "U.S."}},
	{"GB", "United Kingdom", []string{"UK", "United Kingdom of Great Britain and Northern Ireland", "Great Britain"}},
	{"KN", "Saint Kitts and Nevis", []string{"St Kitts and Nevis", "St. Kitts and Nevis"}},
	{"VC", "Saint Vincent and the Grenadines", []string{"St Vincent and the Grenadines", "St. Vincent and the Grenadines"}},
	{"MD", "Moldova", []string{"Republic of Moldova"}},
	{"BO", "Bolivia", nil},
	{"VE", "Venezuela", nil},
	{"LA", "Laos", []string{"Lao People's Democratic Republic"}},
	{"TT", "Trinidad and Tobago", nil},
	{"AE", "United Arab Emirates", []string{"UAE"}},
	{"CK", "Cook Islands", nil},
	{"NU", "Niue", nil},
	{"GA", "Gabon", nil},
	{"CM", "Cameroon", nil},
	{"ST", "Sao Tome and Principe", []string{"São Tomé and Príncipe"}},
	{"GQ", "Equatorial Guinea", nil},
	{"SG", "Singapore", nil},
	{"JP", "Japan", nil},
	{"MT", "Malta", nil},
	{"CY", "Cyprus", nil},
	{"GR", "Greece", nil},
	{"SC", "Seychelles", nil},
	{"DM", "Dominica", nil},
	{"KY", "Cayman Islands", nil},
	{"MM", "Burma", []string{"Myanmar"}},
}

func loadTables() {
	var raw map[string][4]string
	if err := json.Unmarshal(ituMIDJSON, &raw); err != nil {
		// The table is compiled in; failing here is a build defect.
		panic("identity: embedded ITU MID table: " + err.Error())
	}
	midTable = make(map[int]midEntry, len(raw))
	countryName = map[Country]string{}
	nameIndex = map[string]Country{}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic choice when several MIDs share a name
	for _, k := range keys {
		v := raw[k]
		mid := 0
		for _, c := range k {
			mid = mid*10 + int(c-'0')
		}
		c := Country(v[0])
		midTable[mid] = midEntry{country: c, ituName: v[3], subdiv: v[2]}
		if v[2] == "" { // a subdivision (Azores, Alaska...) is not the state's name
			if _, ok := countryName[c]; !ok {
				countryName[c] = shortITUName(v[3])
			}
			addName(v[3], c)
			addName(shortITUName(v[3]), c)
		}
	}
	for _, cn := range commonNames {
		countryName[cn.code] = cn.name
		addName(cn.name, cn.code)
		addName(string(cn.code), cn.code)
		for _, a := range cn.aliases {
			addName(a, cn.code)
		}
	}
	// Both alpha codes of every MID country resolve too.
	for _, k := range keys {
		v := raw[k]
		addName(v[0], Country(v[0]))
		addName(v[1], Country(v[0]))
	}
}

// shortITUName drops the ITU's formal parenthesis: "Albania (Republic of)" -> "Albania".
func shortITUName(s string) string {
	if i := strings.Index(s, " ("); i > 0 {
		return s[:i]
	}
	return s
}

func addName(name string, c Country) {
	k := countryKey(name)
	if k == "" {
		return
	}
	if _, taken := nameIndex[k]; !taken {
		nameIndex[k] = c
	}
}

// countryKey folds case, punctuation and a leading "the".
func countryKey(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		case r == '\'' || r == '’' || r == '.':
			// "People's" and "D.P.R.K." keep their letters together.
		default:
			space = true
		}
	}
	return strings.TrimPrefix(b.String(), "the ")
}

// CountryByName resolves a flag or nationality as lists write it
// ("Democratic People's Republic of Korea", "Korea, North", "Tanzania",
// "KP", "PRK") to its ISO code.
func CountryByName(name string) (Country, bool) {
	tablesOnce.Do(loadTables)
	// Lists repeat a few dozen country spellings thousands of times.
	if v, ok := lookupCache.Load(name); ok {
		r := v.(countryLookup)
		return r.c, r.ok
	}
	c, ok := nameIndex[countryKey(name)]
	if cacheSize.Add(1) < 10000 {
		lookupCache.Store(name, countryLookup{c, ok})
	}
	return c, ok
}

type countryLookup struct {
	c  Country
	ok bool
}

var (
	lookupCache sync.Map
	cacheSize   atomic.Int64
)

// Name is the country's short English name, or the code when unknown.
func (c Country) Name() string {
	tablesOnce.Do(loadTables)
	if n, ok := countryName[c]; ok {
		return n
	}
	return string(c)
}

// String returns the ISO code.
func (c Country) String() string { return string(c) }
