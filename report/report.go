// Package report renders a risk profile as a self-contained HTML page an
// underwriter can file and print to PDF: no script, no network, the map
// drawn as SVG from the embedded land mask.
package report

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/ledger"
	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/sanctions"
)

// TrackPoint is one position drawn on the map.
type TrackPoint struct {
	MMSI     uint32
	Time     time.Time
	Lat, Lon float64
}

// Decision is one recorded decision about the vessel.
type Decision struct {
	Time      time.Time
	Actor     string
	Decision  string
	Note      string
	AuditSeq  int64
	AuditHash string
}

// Input is what a report shows.
type Input struct {
	Profile     risk.Profile
	ProfileHash string
	Track       []TrackPoint
	// Counterparts are the tracks of the other ships of the profile's
	// encounters, around each encounter, when the store has them: drawn
	// dotted on the map.
	Counterparts []TrackPoint
	Decisions    []Decision
	Land         *geo.Land
	Zones        []*geo.Zone
	// Ports, when given, puts the DPRK ports (Nampo, Chongjin, Songrim...)
	// on the map.
	Ports       *geo.Ports
	Generated   time.Time
	GeneratedBy string // who ran it
	Version     string // tidewatch version
	// Simulated names the inputs that are simulated, shown as a warning.
	Simulated []string
	// AuditSeq/AuditHash identify the audit record of this report.
	AuditSeq  int64
	AuditHash string
	Window    string // as the user gave it: "12m"
	// Ledger is the cap ledger's estimated deliveries the vessel is part
	// of (package ledger); Cases the case files about it the tenant
	// received. Each section is left out when empty.
	Ledger []ledger.Estimate
	Cases  []CaseFile
}

//go:embed report.html.tmpl
var files embed.FS

var tmpl = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"day":  func(t time.Time) string { return fmtTime(t, "2006-01-02") },
	"date": dateText,
	"time": func(t time.Time) string { return fmtTime(t, "2006-01-02 15:04 UTC") },
	"span": spanText,
	"mmsi": func(m uint32) string { return fmt.Sprintf("%09d", m) },
	"title": func(s string) string {
		s = strings.ReplaceAll(s, "_", " ")
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"kind":    kindTitle,
	"colour":  colour,
	"add":     func(i int) int { return i + 1 },
	"flag":    flagName,
	"idvalue": identityValue,
	"num":     numText,
	"plural":  plural,
	"listname": func(l string) string {
		if n := sanctions.ListNames[l]; n != "" {
			return n
		}
		return l
	},
	"pct": func(a, b int) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", 100*float64(a)/float64(b))
	},
	"score": func(f float64) string { return fmt.Sprintf("%.2f", f) },
	"refs": func(l risk.ListHit) string {
		var out []string
		for _, li := range l.Listings {
			s := li.Ref()
			if li.ListedOn != "" {
				s += " listed " + li.ListedOn
			}
			if li.Version != "" {
				s += " (version " + li.Version + ")"
			}
			out = append(out, s)
		}
		return strings.Join(out, "; ")
	},
}).ParseFS(files, "report.html.tmpl"))

func fmtTime(t time.Time, layout string) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(layout)
}

type view struct {
	Input
	P        *risk.Profile
	Summary  Summary
	Map      mapView
	Timeline template.HTML
	Badge    string
	Verdict  string
	Factors  []factorRow
	Events   []eventRow
	// LedgerRows and CaseRows are the ledger and case file sections.
	LedgerRows []ledgerRow
	CaseRows   []caseRow
}

type factorRow struct {
	risk.Factor
	Evidence []evidenceRow
}

type evidenceRow struct {
	Ref, Text string
}

type eventRow struct {
	Ref, Kind, Colour, When, Where, What string
}

// Write renders the report. The page is the same bytes for the same
// Input but for the generation time.
func Write(w io.Writer, in Input) error {
	v := view{Input: in, P: &in.Profile}
	names := vesselNames(&in.Profile)
	v.Summary = summarise(&in.Profile, in.Zones)
	v.Map = mapSVG(&in, names)
	v.Timeline = timelineSVG(&in.Profile, in.Profile.Coverage)
	v.Badge = map[string]string{risk.Decline: "#c0392b", risk.Refer: "#d68910", risk.Accept: "#1e8449", risk.Insufficient: "#5d6d7e"}[in.Profile.Recommendation]
	v.Verdict = map[string]string{risk.Decline: "decline", risk.Refer: "refer", risk.Accept: "accept", risk.Insufficient: "insufficient evidence"}[in.Profile.Recommendation]
	if v.Verdict == "" {
		v.Verdict = in.Profile.Recommendation
	}
	s := newSummariser(&in.Profile, in.Zones)
	for _, f := range in.Profile.Factors {
		row := factorRow{Factor: f}
		for _, ev := range f.Evidence {
			row.Evidence = append(row.Evidence, evidenceRow{Ref: ev.Ref, Text: s.evidence(ev)})
		}
		v.Factors = append(v.Factors, row)
	}
	for _, e := range in.Profile.Events {
		where := "-"
		if e.Lat != 0 || e.Lon != 0 {
			where = posText(e.Lat, e.Lon)
			if z := s.zoneOf(e); z != "" {
				where += ", in " + z
			}
		}
		v.Events = append(v.Events, eventRow{Ref: e.Ref, Kind: kindTitle(e.Kind), Colour: colour(e.Kind), When: spanText(e.Start, e.End), Where: where, What: eventWords(e.Event)})
	}
	v.LedgerRows = ledgerRows(&in)
	v.CaseRows = caseRows(&in)
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, v); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	_, err := w.Write(cleanOutput(buf.Bytes()))
	return err
}

// vesselNames is the latest name each MMSI broadcast, from the profile's
// identity and its events (the counterparts').
func vesselNames(p *risk.Profile) map[uint32]string {
	names := map[uint32]string{}
	for _, e := range p.Events {
		for _, v := range e.Vessels {
			if v.Name != "" {
				names[v.MMSI] = v.Name
			}
		}
	}
	last := map[uint32]time.Time{}
	for _, o := range p.Identity {
		if o.Field == "name" && !o.Last.Before(last[o.MMSI]) {
			names[o.MMSI], last[o.MMSI] = o.Value, o.Last
		}
	}
	return names
}

// cleanOutput replaces, in the rendered page, the characters that could
// hide or reorder what the page says: control characters (but newlines
// and tabs) and the Unicode bidirectional controls (an RTL override in a
// broadcast name would reverse the text after it). They can come only
// from data, never from the template; each becomes a visible U+FFFD.
func cleanOutput(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if (r == utf8.RuneError && n == 1) || hidden(r) {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}

func hidden(r rune) bool {
	switch {
	case r < 0x20:
		return r != '\n' && r != '\t' && r != '\r'
	case r >= 0x7f && r < 0xa0:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}
