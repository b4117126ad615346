package ais

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// Encoding then decoding gives the message back, and gpsdecode reads the
// encoder's sentences the same way.
func TestEncodeRoundTrip(t *testing.T) {
	lat, lon := RawLatLon(38.2, 124.01)
	p := Message{MMSI: 445000001, Status: 1, SpeedRaw: 3, LatRaw: lat, LonRaw: lon, Course: 900, Heading: 91, Second: 17}
	s := Message{MMSI: 445000001, IMO: 8660313, CallSign: "HMYX", ShipName: "CHON MA SAN", ShipType: 80, ToBow: 80, ToStern: 20, ToPort: 7, ToStarboard: 7, Draught: 62, Destination: "NAMPO", ETAMonth: 3, ETADay: 1, ETAHour: 12, ETAMin: 30}
	var lines []string
	pl, f := EncodePosition(&p)
	lines = append(lines, Sentences(pl, f, 1772323200, "sim", 0, 1, 'A')...)
	pl, f = EncodeStatic(&s)
	lines = append(lines, Sentences(pl, f, 1772323260, "sim", 3, 2, 'B')...)
	if len(lines) != 3 {
		t.Fatalf("%d sentences", len(lines))
	}
	msgs, d := decodeAll(t, []byte(strings.Join(lines, "\n")+"\n"))
	if len(msgs) != 2 || d.Stats.ErrorCount() != 0 || d.Stats.TagBlockChecksum != 0 {
		t.Fatalf("%d messages, errors %v", len(msgs), d.Stats.ErrorsByName())
	}
	g := msgs[0]
	if g.MMSI != p.MMSI || g.LatRaw != lat || g.LonRaw != lon || g.SpeedRaw != 3 || g.Course != 900 || g.Heading != 91 || g.Status != 1 || g.Time.Unix() != 1772323200 || g.Source != "sim" {
		t.Errorf("position %+v", g)
	}
	h := msgs[1]
	if h.IMO != 8660313 || h.ShipName != "CHON MA SAN" || h.CallSign != "HMYX" || h.Draught != 62 || h.Destination != "NAMPO" || h.ToBow != 80 {
		t.Errorf("static %+v", h)
	}
	if _, err := exec.LookPath("gpsdecode"); err == nil {
		var bare bytes.Buffer
		for _, l := range lines {
			bare.WriteString(l[strings.LastIndex(l, "\\")+1:] + "\n")
		}
		cmd := exec.Command("gpsdecode")
		cmd.Stdin = &bare
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), `"shipname":"CHON MA SAN"`) || !strings.Contains(string(out), `"lat":38.200000`) {
			t.Errorf("gpsdecode: %v %s", err, out)
		}
	}
}
