package ais

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidewatch/tidewatch/internal/termtext"
)

// hostileText holds what a forged static message or a CSV cell can carry
// to attack a terminal.
var hostileText = []string{
	"EVIL\x1b]0;pwned\x07\x1b[2J\x1b[H",
	"\x1b[31mRED\x1b[0m",
	"CSI\u009b2J NEL\u0085",
	"ABC\u202eFED\u2066\u2069",
	"LINE\nBREAK\rTAB\tDEL\x7f NUL\x00",
	"ZW\u200bSP\ufeff TAG\U000e0041 LS\u2028",
	"LATIN1 CAF\xc9 \xff",
	`QUOTE " BACKSLASH \ 천마산`,
}

// AppendJSON writes text fields so that they decode to exactly what the
// message held (invalid UTF-8 as U+FFFD, as encoding/json does) and the
// JSON line itself is safe to print on a terminal.
func TestJSONTextExactAndTerminalSafe(t *testing.T) {
	for _, s := range hostileText {
		m := Message{Type: 5, MMSI: 123456789, ShipName: s, CallSign: s, Destination: s, Source: s}
		b := AppendJSON(nil, &m)
		if !json.Valid(b) || !termtext.IsSafe(string(b)) || !utf8.Valid(b) {
			t.Errorf("%q: unsafe or invalid JSON %s", s, b)
		}
		var o struct{ Shipname, Callsign, Destination, Source string }
		if err := json.Unmarshal(b, &o); err != nil {
			t.Fatal(err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if !utf8.ValidString(s) {
			want = stdlibRoundTrip(s)
		}
		if o.Shipname != want || o.Callsign != want || o.Destination != want || o.Source != want {
			t.Errorf("%q: decoded %q", s, o.Shipname)
		}
	}
}

// stdlibRoundTrip is what encoding/json makes of s.
func stdlibRoundTrip(s string) string {
	b, _ := json.Marshal(s)
	var out string
	json.Unmarshal(b, &out)
	return out
}

// A CSV export carries text as is: the reader keeps it exact, and the
// JSON of its messages is safe.
func TestCSVHostileText(t *testing.T) {
	var in bytes.Buffer
	in.WriteString("MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass\n")
	for i, s := range hostileText {
		q := `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
		in.WriteString(itoa(366000000+i) + ",2022-01-03T00:00:00,33.6,-117.9,0,280,511," + q + ",IMO9522972," + q + ",70,0,100,20,5,NA,A\n")
	}
	src, err := detect(&in, "")
	if err != nil {
		t.Fatal(err)
	}
	var m Message
	var names []string
	for src.Next(&m) == nil {
		if m.Type == 5 {
			names = append(names, m.ShipName)
			if m.CallSign != m.ShipName {
				t.Errorf("callsign %q name %q", m.CallSign, m.ShipName)
			}
			if b := AppendJSON(nil, &m); !termtext.IsSafe(string(b)) {
				t.Errorf("unsafe JSON %s", b)
			}
		}
	}
	// The reader trims spaces around cells; none of these ends in one.
	for i, s := range hostileText {
		s = strings.TrimSpace(s)
		if i >= len(names) || names[i] != s {
			t.Errorf("row %d: %q, want %q", i, names, s)
		}
	}
}
