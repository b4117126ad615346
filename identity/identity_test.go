package identity

import (
	"errors"
	"testing"
)

// Numbers below are taken from the sanctions lists in shared/data/lists.
func TestShipIMO(t *testing.T) {
	tests := []struct {
		in    string
		want  ShipIMO
		valid bool
	}{
		{"8606173", 8606173, true},     // RYONG GUN BONG (OFAC 17104)
		{"IMO 8660313", 8660313, true}, // issue example
		{"IMO8660313", 8660313, true},
		{"imo: 7937317", 7937317, true}, // CHONG CHON GANG
		{"IMO No. 9417115", 9417115, true},
		{"8606174", 0, false}, // check digit off by one
		{"5936312", 0, false}, // Korea Achim Shipping: a company number
		{"860617", 0, false},  // six digits
		{"IMO 86061733", 0, false},
		{"", 0, false},
		{"IMO ABCDEFG", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseShipIMO(tt.in)
		if (err == nil) != tt.valid || got != tt.want {
			t.Errorf("ParseShipIMO(%q) = %v, %v; want %v valid=%v", tt.in, got, err, tt.want, tt.valid)
		}
	}
	if _, err := ParseShipIMO("8606174"); !errors.Is(err, ErrCheckDigit) {
		t.Errorf("bad check digit: got %v, want ErrCheckDigit", err)
	}
	if got := ShipIMO(8606173).String(); got != "IMO8606173" {
		t.Errorf("String = %q", got)
	}
}

func TestCompanyIMO(t *testing.T) {
	tests := []struct {
		n           int
		ship, compa bool
	}{
		{5936312, false, true}, // KOREA ACHIM SHIPPING CO (UN KPe.061)
		{1991835, false, true}, // issue example
		{5434358, false, true}, // owner of YU JONG 2 (UN "Company Number IMO 5434358")
		{5055293, false, true}, // GOORYONG SHIPPING CO LTD (OFAC 23510)
		{1790183, true, true},  // Ocean Maritime Management: valid under both rules
		{8606173, true, false}, // a ship
		{999999, false, false},
	}
	for _, tt := range tests {
		if got := ValidShipIMO(tt.n); got != tt.ship {
			t.Errorf("ValidShipIMO(%d) = %v", tt.n, got)
		}
		if got := ValidCompanyIMO(tt.n); got != tt.compa {
			t.Errorf("ValidCompanyIMO(%d) = %v", tt.n, got)
		}
	}
	if c, err := ParseCompanyIMO("Company Number IMO 1991835"); err == nil {
		t.Errorf("ParseCompanyIMO accepted leading words: %v", c)
	}
	if c, err := ParseCompanyIMO("IMO 1991835"); err != nil || c != 1991835 {
		t.Errorf("ParseCompanyIMO = %v, %v", c, err)
	}
}

func TestFindIMOs(t *testing.T) {
	tests := []struct {
		text string
		want []IMOMention
	}{
		{"Vessel Registration Identification IMO 8606173.", []IMOMention{{8606173, IMOShip, true, false, true}}},
		// OFAC's RYONG GUN BONG remark omits "IMO".
		{"section 510.214; Vessel Registration Identification 8606173.", []IMOMention{{8606173, IMOShip, true, false, true}}},
		{"Company Number IMO 1991835.", []IMOMention{{1991835, IMOCompany, false, true, true}}},
		{"registered owner ... IMO number: 5936312.", []IMOMention{{5936312, IMOCompany, false, true, true}}},
		{"IMO8660313", []IMOMention{{8660313, IMOShip, true, false, true}}},
		// Valid under both rules with no words to decide: unknown.
		{"IMO 1790183", []IMOMention{{1790183, IMOUnknown, true, true, true}}},
		// Registration numbers of the same length are not IMO numbers.
		{"Registration Number 9855920 (Turkey); Tax ID No. 1234567", nil},
		{"IMO 12345678", nil},
		// UN entry for Ocean Maritime Management (KPe.020).
		{"International Maritime Organization (IMO) Number: 1790183.", []IMOMention{{1790183, IMOUnknown, true, true, true}}},
		{"", nil},
		{"MMSI 445123000; Vessel Registration Identification IMO 8660313; Linked To: X", []IMOMention{{8660313, IMOShip, true, false, true}}},
	}
	for _, tt := range tests {
		got := FindIMOs(tt.text)
		if len(got) != len(tt.want) {
			t.Errorf("FindIMOs(%q) = %+v, want %+v", tt.text, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("FindIMOs(%q)[%d] = %+v, want %+v", tt.text, i, got[i], tt.want[i])
			}
		}
	}
}

func TestMMSI(t *testing.T) {
	tests := []struct {
		mmsi MMSI
		kind StationKind
		mid  int
		flag Country
	}{
		{445123000, StationShip, 445, "KP"},
		{440123456, StationShip, 440, "KR"},
		{413000000, StationShip, 413, "CN"},
		{477123400, StationShip, 477, "HK"},
		{273000000, StationShip, 273, "RU"},
		{352001234, StationShip, 352, "PA"},
		{667001234, StationShip, 667, "SL"},
		{671001234, StationShip, 671, "TG"},
		{457001234, StationShip, 457, "MN"},
		{514001234, StationShip, 514, "KH"},
		{616001234, StationShip, 616, "KM"},
		{511001234, StationShip, 511, "PW"},
		{677001234, StationShip, 677, "TZ"},
		{538004030, StationShip, 538, "MH"},
		{636012345, StationShip, 636, "LR"},
		{2190049, StationCoast, 219, "DK"}, // 002190049
		{24445123, StationGroup, 244, "NL"},
		{111445123, StationSARAircraft, 445, "KP"},
		{992191234, StationAtoN, 219, "DK"},
		{982191234, StationCraftAssociated, 219, "DK"},
		{970123456, StationSART, 0, ""},
		{972123456, StationMOB, 0, ""},
		{974123456, StationEPIRB, 0, ""},
		{822412345, StationHandheld, 224, "ES"},
		{123456789, StationInvalid, 0, ""},
		{0, StationInvalid, 0, ""},
	}
	for _, tt := range tests {
		if k := tt.mmsi.Kind(); k != tt.kind {
			t.Errorf("%v.Kind() = %v, want %v", tt.mmsi, k, tt.kind)
		}
		if m := tt.mmsi.MID(); m != tt.mid {
			t.Errorf("%v.MID() = %d, want %d", tt.mmsi, m, tt.mid)
		}
		f, _ := tt.mmsi.Flag()
		if f != tt.flag {
			t.Errorf("%v.Flag() = %q, want %q", tt.mmsi, f, tt.flag)
		}
	}
	if m, err := ParseMMSI("MMSI 445123000"); err != nil || m != 445123000 {
		t.Errorf("ParseMMSI = %v, %v", m, err)
	}
	if _, err := ParseMMSI("44512300"); err == nil {
		t.Error("ParseMMSI accepted eight digits")
	}
	if s := MMSI(2190049).String(); s != "002190049" {
		t.Errorf("String = %q", s)
	}
}

func TestCallSignCountry(t *testing.T) {
	tests := []struct {
		cs   string
		want Country
	}{
		{"HMYX", "KP"}, {"HMZA", "KP"}, {"P5AB", "KP"}, {"P9ZZ", "KP"}, {"p 6 x y", "KP"},
		{"DSAB3", "KR"}, {"HLAB", "KR"}, {"D7AB", "KR"}, {"6KAB", "KR"},
		{"BQAB", "TW"}, {"BVAB", "TW"}, {"BAAB", "CN"}, {"BRAB", "CN"}, {"3HAB", "CN"},
		{"VRAB4", "HK"}, {"UBMQ", "RU"}, {"RAAB", "RU"},
		{"3EAB", "PA"}, {"HOAB", "PA"}, {"H9AB", "PA"},
		{"9LAB", "SL"}, {"5VAB", "TG"}, {"JVAB", "MN"}, {"XUAB", "KH"}, {"D6AB", "KM"},
		{"T8AB", "PW"}, {"5IAB", "TZ"}, {"V7AB", "MH"}, {"A8AB", "LR"}, {"D5AB", "LR"}, {"ELAB", "LR"},
	}
	for _, tt := range tests {
		got, ok := CallSignCountry(tt.cs)
		if !ok || got != tt.want {
			t.Errorf("CallSignCountry(%q) = %q,%v want %q", tt.cs, got, ok, tt.want)
		}
	}
	if _, ok := CallSignCountry("Q"); ok {
		t.Error("one character resolved")
	}
	if !IsDPRKCallSign("HMEK") || IsDPRKCallSign("HLEK") {
		t.Error("IsDPRKCallSign")
	}
}

func TestCountryByName(t *testing.T) {
	tests := map[string]Country{
		"Democratic People's Republic of Korea": "KP",
		"Korea, North":                          "KP",
		"DPRK":                                  "KP",
		"KP":                                    "KP",
		"PRK":                                   "KP",
		"Korea, South":                          "KR",
		"Tanzania":                              "TZ",
		"Sierra Leone":                          "SL",
		"Panama":                                "PA",
		"Togo":                                  "TG",
		"Mongolia":                              "MN",
		"Hong Kong":                             "HK",
		"Russia":                                "RU",
		"Marshall Islands":                      "MH",
		"the Marshall Islands":                  "MH",
		"Trinidad and Tobago":                   "TT",
		"Albania":                               "AL",
	}
	for in, want := range tests {
		if got, ok := CountryByName(in); !ok || got != want {
			t.Errorf("CountryByName(%q) = %q,%v want %q", in, got, ok, want)
		}
	}
	if _, ok := CountryByName("None Identified"); ok {
		t.Error("None Identified resolved to a country")
	}
	if Country("KP").Name() != "North Korea" {
		t.Errorf("name %q", Country("KP").Name())
	}
}

func FuzzFindIMOs(f *testing.F) {
	f.Add("Vessel Registration Identification IMO 8606173; Company Number IMO 1991835")
	f.Add("IMO8660313 IMO 1790183 imo")
	f.Fuzz(func(t *testing.T, s string) {
		for _, m := range FindIMOs(s) {
			if m.Number < 1000000 || m.Number > 9999999 {
				t.Fatalf("mention %d out of range", m.Number)
			}
			if m.Kind == IMOShip && !m.Explicit {
				t.Fatal("implicit ship")
			}
		}
	})
}

func FuzzParseIdentifiers(f *testing.F) {
	for _, s := range []string{"IMO 8606173", "445123000", "HMYX", "MMSI 002190049", "imo no. 1790183"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseShipIMO(s); err == nil && !n.Valid() {
			t.Fatalf("ParseShipIMO(%q) = %d, invalid", s, n)
		}
		if n, err := ParseCompanyIMO(s); err == nil && !n.Valid() {
			t.Fatalf("ParseCompanyIMO(%q) = %d, invalid", s, n)
		}
		if m, err := ParseMMSI(s); err == nil {
			if m > 999999999 {
				t.Fatalf("MMSI %d", m)
			}
			m.Kind()
			m.Flag()
		}
		CallSignCountry(s)
		CountryByName(s)
	})
}

// TestCheckDigits: the expected check digits make valid numbers of the
// right kind, and only those digits do.
func TestCheckDigits(t *testing.T) {
	for _, n := range []int{8606174, 8660313, 5123456, 1000000, 9999999, 9300207} {
		base := n - n%10
		for d := 0; d <= 9; d++ {
			if got, want := ValidShipIMO(base+d), d == ShipCheckDigit(n); got != want {
				t.Errorf("%d: ship valid %v, ShipCheckDigit %d", base+d, got, ShipCheckDigit(n))
			}
			if got, want := ValidCompanyIMO(base+d), d == CompanyCheckDigit(n); got != want {
				t.Errorf("%d: company valid %v, CompanyCheckDigit %d", base+d, got, CompanyCheckDigit(n))
			}
		}
	}
	if ShipCheckDigit(8606174) != 3 || CompanyCheckDigit(5123456) != 1 {
		t.Errorf("8606174 -> %d, 5123456 -> %d", ShipCheckDigit(8606174), CompanyCheckDigit(5123456))
	}
}
