// Package report renders a risk profile as a self-contained HTML page an
// underwriter can file and print to PDF: no script, no network, the map
// drawn as SVG from the embedded land mask.
package report

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/risk"
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
	Decisions   []Decision
	Land        *geo.Land
	Zones       []*geo.Zone
	Generated   time.Time
	GeneratedBy string // who ran it
	Version     string // tidewatch version
	// Simulated names the inputs that are simulated, shown as a warning.
	Simulated []string
	// AuditSeq/AuditHash identify the audit record of this report.
	AuditSeq  int64
	AuditHash string
	Window    string // as the user gave it: "12m"
}

//go:embed report.html.tmpl
var files embed.FS

var tmpl = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"day":  func(t time.Time) string { return fmtTime(t, "2006-01-02") },
	"time": func(t time.Time) string { return fmtTime(t, "2006-01-02 15:04 UTC") },
	"mmsi": func(m uint32) string { return fmt.Sprintf("%09d", m) },
	"title": func(s string) string {
		s = strings.ReplaceAll(s, "_", " ")
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"colour": colour,
	"add":    func(i int) int { return i + 1 },
	"details": func(dd detect.Details) string {
		// The evidence's fields as their JSON keys, in key order.
		var d map[string]any
		if b, err := json.Marshal(dd); err == nil {
			json.Unmarshal(b, &d)
		}
		keys := make([]string, 0, len(d))
		for k := range d {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s: %v", strings.ReplaceAll(k, "_", " "), d[k]))
		}
		return strings.Join(parts, "; ")
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
	Map      template.HTML
	Timeline template.HTML
	Badge    string
}

// Write renders the report.
func Write(w io.Writer, in Input) error {
	v := view{Input: in, P: &in.Profile}
	v.Map = mapSVG(&in)
	v.Timeline = timelineSVG(&in.Profile, in.Profile.Coverage)
	v.Badge = map[string]string{risk.Decline: "#c0392b", risk.Refer: "#d68910", risk.Accept: "#1e8449"}[in.Profile.Recommendation]
	if err := tmpl.Execute(w, v); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return nil
}
