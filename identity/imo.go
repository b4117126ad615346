// Package identity parses, validates and normalises the identifiers that
// name a ship and the companies behind it: IMO ship numbers, IMO company
// numbers, MMSIs, call signs and flag states. It has no dependencies beyond
// the standard library and its own embedded ITU tables.
package identity

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ShipIMO is an IMO ship identification number (SOLAS XI-1/3): seven digits,
// the last a check digit over the first six with weights 7..2, sum mod 10.
// It stays with the hull for life, whatever the name, flag or owner: that is
// why screening keys on it first.
type ShipIMO int32

// CompanyIMO is an IMO unique company and registered owner identification
// number (resolution MSC.160(78)): seven digits, check digit over the first six
// with weights 8,6,4,2,9,7, check = (11 - sum mod 11) mod 10. It is a
// different number space from ShipIMO and must never be matched against it.
type CompanyIMO int32

// ErrNotIMO reports text that holds no seven-digit IMO number.
var ErrNotIMO = errors.New("not an IMO number")

// ErrCheckDigit reports a seven-digit number whose check digit is wrong.
var ErrCheckDigit = errors.New("IMO check digit mismatch")

// ValidShipIMO reports whether n is a seven-digit number with a valid ship
// check digit.
func ValidShipIMO(n int) bool {
	return n >= 1000000 && n <= 9999999 && ShipCheckDigit(n) == n%10
}

// companyWeights are applied to the first six digits, most significant first.
var companyWeights = [6]int{8, 6, 4, 2, 9, 7}

// ValidCompanyIMO reports whether n is a seven-digit number with a valid
// company check digit.
func ValidCompanyIMO(n int) bool {
	return n >= 1000000 && n <= 9999999 && CompanyCheckDigit(n) == n%10
}

// ShipCheckDigit is the check digit of a ship IMO number whose first six
// digits are n's (n has seven digits): what a mistyped number's last
// digit would have to be.
func ShipCheckDigit(n int) int {
	sum := 0
	rest := n / 10
	for w := 2; w <= 7; w++ {
		sum += (rest % 10) * w
		rest /= 10
	}
	return sum % 10
}

// CompanyCheckDigit is the check digit of an IMO company number whose
// first six digits are n's (n has seven digits).
func CompanyCheckDigit(n int) int {
	sum := 0
	div := 1000000
	for i := 0; i < 6; i++ {
		sum += (n / div % 10) * companyWeights[i]
		div /= 10
	}
	return (11 - sum%11) % 10
}

// String renders the number the way registries write it: "IMO8660313".
func (n ShipIMO) String() string { return "IMO" + strconv.Itoa(int(n)) }

// String renders the number the way registries write it: "IMO5936312".
func (n CompanyIMO) String() string { return "IMO" + strconv.Itoa(int(n)) }

// Valid reports whether the check digit holds.
func (n ShipIMO) Valid() bool { return ValidShipIMO(int(n)) }

// Valid reports whether the check digit holds.
func (n CompanyIMO) Valid() bool { return ValidCompanyIMO(int(n)) }

// ParseShipIMO reads one ship IMO number written in any common form:
// "8660313", "IMO 8660313", "IMO8660313", "IMO No. 8660313", "imo:8660313".
// The check digit must hold.
func ParseShipIMO(s string) (ShipIMO, error) {
	n, err := parseSevenDigits(s)
	if err != nil {
		return 0, err
	}
	if !ValidShipIMO(n) {
		return 0, fmt.Errorf("ship IMO %d: %w", n, ErrCheckDigit)
	}
	return ShipIMO(n), nil
}

// ParseCompanyIMO reads one company IMO number in the same forms as
// ParseShipIMO and checks the company check digit.
func ParseCompanyIMO(s string) (CompanyIMO, error) {
	n, err := parseSevenDigits(s)
	if err != nil {
		return 0, err
	}
	if !ValidCompanyIMO(n) {
		return 0, fmt.Errorf("company IMO %d: %w", n, ErrCheckDigit)
	}
	return CompanyIMO(n), nil
}

// parseSevenDigits strips an optional IMO prefix and punctuation and expects
// exactly seven digits.
func parseSevenDigits(s string) (int, error) {
	t := strings.TrimSpace(s)
	if len(t) >= 3 && strings.EqualFold(t[:3], "IMO") {
		t = t[3:]
	}
	t = strings.TrimLeft(t, " .:#-")
	if len(t) >= 3 && strings.EqualFold(t[:3], "NO.") {
		t = t[3:]
	} else if len(t) >= 2 && strings.EqualFold(t[:2], "NO") {
		t = t[2:]
	}
	t = strings.TrimSpace(strings.TrimLeft(t, " .:#-"))
	t = strings.TrimRight(t, " .;,")
	if len(t) != 7 {
		return 0, fmt.Errorf("%q: %w", s, ErrNotIMO)
	}
	n := 0
	for i := 0; i < 7; i++ {
		c := t[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q: %w", s, ErrNotIMO)
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// IMOKind says which IMO number space a number found in text belongs to.
type IMOKind uint8

const (
	// IMOUnknown: the text gave no hint and the digits do not decide.
	IMOUnknown IMOKind = iota
	// IMOShip: a ship identification number.
	IMOShip
	// IMOCompany: a company / registered owner identification number.
	IMOCompany
)

func (k IMOKind) String() string {
	switch k {
	case IMOShip:
		return "ship"
	case IMOCompany:
		return "company"
	}
	return "unknown"
}

// IMOMention is one IMO number found in free text, with what the text said
// about it.
type IMOMention struct {
	Number int
	// Kind comes from the words before the number when they say
	// ("Company Number", "Vessel Registration Identification"); otherwise
	// from which check digit holds, and stays IMOUnknown when both or
	// neither do.
	Kind IMOKind
	// ValidShip and ValidCompany report the two check digits.
	ValidShip, ValidCompany bool
	// Explicit is true when the text named the number an IMO number (or
	// a vessel registration identification) rather than leaving a bare
	// seven-digit number.
	Explicit bool
}

// FindIMOs extracts IMO numbers from free text such as sanctions-list
// remarks: "Vessel Registration Identification IMO 8606173",
// "Vessel Registration Identification 8606173" (no "IMO", as in OFAC's
// RYONG GUN BONG entry), "Company Number IMO 1991835", "IMO number: 5936312",
// "IMO8660313". Bare seven-digit numbers without such words are ignored:
// remarks are full of registration and tax numbers of the same length.
func FindIMOs(text string) []IMOMention {
	var out []IMOMention
	lower := strings.ToLower(text)
	for i := 0; i < len(text); {
		if !isDigit(text[i]) || (i > 0 && isAlnum(text[i-1]) && !endsWithIMO(lower[:i])) {
			i++
			continue
		}
		j := i
		for j < len(text) && isDigit(text[j]) {
			j++
		}
		// IMO numbers of both kinds run 1000000-9999999: a leading zero
		// marks some other registry's number.
		if j-i != 7 || text[i] == '0' || (j < len(text) && isAlnum(text[j])) {
			i = j
			continue
		}
		n, _ := strconv.Atoi(text[i:j])
		before := lower[max(0, i-48):i]
		m := IMOMention{Number: n, ValidShip: ValidShipIMO(n), ValidCompany: ValidCompanyIMO(n)}
		switch {
		// "Company Number 0685974 (Hong Kong)" is a national registry
		// number; only "Company Number IMO ..." is an IMO company number.
		case (strings.Contains(before, "company number") || strings.Contains(before, "company no")) && nearIMO(before):
			m.Kind, m.Explicit = IMOCompany, true
		case strings.Contains(before, "vessel registration identification"):
			m.Kind, m.Explicit = IMOShip, true
		case nearIMO(before):
			m.Explicit = true
			m.Kind = kindFromDigits(m.ValidShip, m.ValidCompany)
		}
		if m.Explicit {
			out = append(out, m)
		}
		i = j
	}
	return out
}

// nearIMO reports whether the word IMO closes the text before a number,
// allowing "IMO", "IMO:", "IMO No.", "IMO number:", "IMO #".
func nearIMO(before string) bool {
	k := strings.LastIndex(before, "imo")
	if k < 0 {
		return false
	}
	if k > 0 && isAlnum(before[k-1]) {
		return false
	}
	// "International Maritime Organization (IMO) Number: 1790183" (UN, OMM)
	tail := strings.TrimSpace(strings.TrimLeft(before[k+3:], ") "))
	for _, p := range []string{"number", "no.", "no", "nr.", "nr", "#", ":", "."} {
		tail = strings.TrimSpace(strings.TrimPrefix(tail, p))
	}
	tail = strings.Trim(tail, " :.#-")
	return tail == ""
}

func endsWithIMO(s string) bool { return strings.HasSuffix(s, "imo") }

func kindFromDigits(ship, company bool) IMOKind {
	switch {
	case ship && !company:
		return IMOShip
	case company && !ship:
		return IMOCompany
	}
	return IMOUnknown
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
}
