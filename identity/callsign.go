package identity

import (
	"strings"
)

// callSignSeries are ITU international call-sign series (Radio Regulations
// Appendix 42) as inclusive three-character ranges. They cover the flags that
// matter for DPRK sanctions work (the DPRK itself, its neighbours, and the open
// and abused registries ships hop between) plus other large registries. When
// ranges nest (China's B block holds Taiwan's BM-BQ and BU-BX), the
// narrowest wins.
var callSignSeries = []struct {
	lo, hi  string
	country Country
}{
	// Democratic People's Republic of Korea
	{"HMA", "HMZ", "KP"}, {"P5A", "P9Z", "KP"},
	// Republic of Korea
	{"DSA", "DTZ", "KR"}, {"D7A", "D9Z", "KR"}, {"HLA", "HLZ", "KR"}, {"6KA", "6NZ", "KR"},
	// China (B block, less Taiwan), Hong Kong and Macao use China's series
	{"BAA", "BZZ", "CN"}, {"XSA", "XSZ", "CN"}, {"3HA", "3UZ", "CN"},
	{"BMA", "BQZ", "TW"}, {"BUA", "BXZ", "TW"},
	{"VRA", "VRZ", "HK"}, {"XXA", "XXZ", "MO"},
	// Russia
	{"RAA", "RZZ", "RU"}, {"UAA", "UIZ", "RU"},
	// Panama
	{"HOA", "HPZ", "PA"}, {"H3A", "H3Z", "PA"}, {"H8A", "H9Z", "PA"}, {"3EA", "3FZ", "PA"},
	// Sierra Leone, Togo, Mongolia, Cambodia, Comoros, Palau, Tanzania
	{"9LA", "9LZ", "SL"},
	{"5VA", "5VZ", "TG"},
	{"JTA", "JVZ", "MN"},
	{"XUA", "XUZ", "KH"},
	{"D6A", "D6Z", "KM"},
	{"T8A", "T8Z", "PW"},
	{"5HA", "5IZ", "TZ"},
	// Marshall Islands, Liberia
	{"V7A", "V7Z", "MH"},
	{"A8A", "A8Z", "LR"}, {"D5A", "D5Z", "LR"}, {"ELA", "ELZ", "LR"}, {"5LA", "5MZ", "LR"}, {"6ZA", "6ZZ", "LR"},
	// Registries named in sanctions advisories as fraudulent or abused
	{"V6A", "V6Z", "FM"}, {"3DN", "3DZ", "FJ"}, {"5WA", "5WZ", "WS"}, {"C2A", "C2Z", "NR"},
	{"8QA", "8QZ", "MV"}, {"YJA", "YJZ", "VU"}, {"9OA", "9TZ", "CD"}, {"T2A", "T2Z", "TV"},
	{"V3A", "V3Z", "BZ"}, {"V4A", "V4Z", "KN"}, {"J8A", "J8Z", "VC"}, {"E5A", "E5Z", "CK"},
	{"E6A", "E6Z", "NU"}, {"ERA", "ERZ", "MD"}, {"CPA", "CPZ", "BO"}, {"TRA", "TRZ", "GA"},
	{"TJA", "TJZ", "CM"}, {"S9A", "S9Z", "ST"}, {"3CA", "3CZ", "GQ"}, {"J7A", "J7Z", "DM"},
	{"HQA", "HRZ", "HN"}, {"XVA", "XVZ", "VN"}, {"3WA", "3WZ", "VN"}, {"XWA", "XWZ", "LA"},
	// Other large registries and neighbours
	{"9VA", "9VZ", "SG"}, {"S6A", "S6Z", "SG"},
	{"JAA", "JSZ", "JP"}, {"7JA", "7NZ", "JP"}, {"8JA", "8NZ", "JP"},
	{"9HA", "9HZ", "MT"},
	{"5BA", "5BZ", "CY"}, {"C4A", "C4Z", "CY"}, {"H2A", "H2Z", "CY"}, {"P3A", "P3Z", "CY"},
	{"SVA", "SZZ", "GR"}, {"J4A", "J4Z", "GR"},
	{"C6A", "C6Z", "BS"},
	{"ZCA", "ZCZ", "KY"},
	{"S7A", "S7Z", "SC"},
	{"A6A", "A6Z", "AE"},
	{"EPA", "EQZ", "IR"}, {"9BA", "9DZ", "IR"},
	{"YKA", "YKZ", "SY"}, {"6CA", "6CZ", "SY"},
	{"9MA", "9MZ", "MY"}, {"9WA", "9WZ", "MY"},
	{"HSA", "HSZ", "TH"}, {"E2A", "E2Z", "TH"},
	{"DUA", "DZZ", "PH"}, {"4DA", "4IZ", "PH"},
	{"PKA", "POZ", "ID"}, {"YBA", "YHZ", "ID"}, {"7AA", "7IZ", "ID"}, {"8AA", "8IZ", "ID"},
	{"XYA", "XZZ", "MM"},
	{"LAA", "LNZ", "NO"},
	{"AAA", "ALZ", "US"}, {"KAA", "KZZ", "US"}, {"NAA", "NZZ", "US"}, {"WAA", "WZZ", "US"},
	{"GAA", "GZZ", "GB"}, {"MAA", "MZZ", "GB"},
}

// normaliseCallSign keeps letters and digits, upper case: "H M Y X" -> "HMYX".
func normaliseCallSign(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteByte(c - 32)
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteByte(c)
		}
	}
	return b.String()
}

// NormaliseCallSign returns the call sign in canonical form (upper case, no
// spaces or punctuation) for comparison.
func NormaliseCallSign(s string) string { return normaliseCallSign(s) }

// CallSignCountry gives the country whose ITU series the call sign falls in.
func CallSignCountry(callSign string) (Country, bool) {
	cs := normaliseCallSign(callSign)
	if len(cs) < 2 {
		return "", false
	}
	key := cs
	if len(key) > 3 {
		key = key[:3]
	} else if len(key) == 2 {
		key += "A"
	}
	best, bestWidth := Country(""), -1
	for _, s := range callSignSeries {
		if key < s.lo || key > s.hi {
			continue
		}
		w := seriesWidth(s.lo, s.hi)
		if bestWidth < 0 || w < bestWidth {
			best, bestWidth = s.country, w
		}
	}
	return best, bestWidth >= 0
}

// seriesWidth orders ranges by size so nested series win over their block.
func seriesWidth(lo, hi string) int {
	v := func(s string) int {
		n := 0
		for i := 0; i < 3; i++ {
			n = n*64 + int(s[i]-'0')
		}
		return n
	}
	return v(hi) - v(lo)
}

// IsDPRKCallSign reports a call sign in the DPRK's series (HMA-HMZ, P5A-P9Z),
// which on a ship whose MMSI or flag says otherwise is a classic sign of a
// DPRK vessel under a false identity.
func IsDPRKCallSign(callSign string) bool {
	c, ok := CallSignCountry(callSign)
	return ok && c == "KP"
}
