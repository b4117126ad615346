package web

import (
	"fmt"
	"html/template"
	"io/fs"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/sanctions"
)

// jobProgress says how far a job is: "40 of 120" when its total is known,
// "360 read" when not (an ingest reads on until its input ends).
func jobProgress(j app.Job) string {
	if j.Total > 0 {
		return fmt.Sprintf("%d of %d", j.Done, j.Total)
	}
	return fmt.Sprintf("%d read", j.Done)
}

// hitVessel is the vessel page's key ("/vessels/KEY") of a listed vessel
// a screening matched: its ship IMO number, else its MMSI; "" for a
// company or a person, or an identifier the vessel page would refuse (a
// failed check digit).
func hitVessel(m app.Match) string {
	var keys []string
	if e := m.EntityRecord(); e != nil {
		if e.Type != sanctions.Vessel {
			return ""
		}
		keys = append(e.IDs(sanctions.SchemeShipIMO), e.IDs(sanctions.SchemeMMSI)...)
	} else if m.Type == string(sanctions.Vessel) {
		keys = []string{strings.TrimPrefix(m.IMO, "IMO")}
	}
	for _, k := range keys {
		k = strings.TrimSpace(strings.TrimPrefix(strings.ToUpper(k), "IMO"))
		if k == "" {
			continue
		}
		if _, err := app.ParseVessel(k); err == nil {
			return k
		}
	}
	return ""
}

var funcs = template.FuncMap{
	"day": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02")
	},
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"iso": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"ago": func(now, t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		d := now.Sub(t)
		switch {
		case d < -time.Minute:
			// A minute's slack: a message stamped after the page's own
			// clock reading (clocks a few seconds apart) is just now.
			return "in the future"
		case d < time.Minute:
			return "just now"
		case d < time.Hour:
			return fmt.Sprintf("%d min ago", int(d.Minutes()))
		case d < 48*time.Hour:
			return fmt.Sprintf("%d h ago", int(d.Hours()))
		}
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	},
	"label": kindLabel,
	// pub shows a list's publication date (a date-time's date).
	"pub": func(s string) string {
		if len(s) > 10 && s[4] == '-' && s[10] == 'T' {
			return s[:10]
		}
		return s
	},
	// lag is how far behind the clock a feed's messages arrive.
	"lag": func(at, event time.Time) string {
		if at.IsZero() || event.IsZero() {
			return "–"
		}
		return lagText(at.Sub(event))
	},
	"mmsi":  func(m uint32) string { return fmt.Sprintf("%09d", m) },
	"score": func(f float64) string { return fmt.Sprintf("%.2f", f) },
	"pct": func(a, b int64) int64 {
		if b <= 0 {
			return 0
		}
		return 100 * a / b
	},
	"band":   func(s string) string { return strings.ReplaceAll(s, "_", "-") },
	"join":   strings.Join,
	"add":    func(a, b int) int { return a + b },
	"lower":  strings.ToLower,
	"trunc":  func(n int, s string) string { return truncate(s, n) },
	"hashed": func(s string) string { return truncate(s, 16) },
	"refs": func(ls []sanctions.Listing) string {
		var out []string
		for _, l := range ls {
			s := l.Ref()
			if l.ListedOn != "" {
				s += ", listed " + l.ListedOn
			}
			if l.Version != "" {
				s += " (version " + l.Version + ")"
			}
			out = append(out, s)
		}
		return strings.Join(out, "; ")
	},
	"bandcount": func(m map[string]int, b string) int { return m[b] },
	"hitvessel": hitVessel,
	"progress":  jobProgress,
	"vesselkey": func(imo, mmsi uint32) string {
		if imo != 0 {
			return fmt.Sprint(imo)
		}
		if mmsi != 0 {
			return fmt.Sprintf("%09d", mmsi)
		}
		return ""
	},
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// kindLabel names an event or alert kind for people.
func kindLabel(k string) string {
	if l, ok := kindLabels[k]; ok {
		return l
	}
	k = strings.ReplaceAll(k, "_", " ")
	if k == "" {
		return k
	}
	return strings.ToUpper(k[:1]) + k[1:]
}

var kindLabels = map[string]string{
	"gap": "AIS gap (dark period)", "encounter": "Ship-to-ship encounter", "loitering": "Loitering", "port_call": "Port call",
	"zone_entry": "Zone entry", "zone_exit": "Zone exit", "identity_change": "Identity change", "identity_conflict": "Identity conflict",
	"position_spoofing": "Position spoofing", "draught_change": "Draught change at sea", "inconsistency": "Identity inconsistency",
	"list_hit_added": "New list hit", "list_hit_removed": "List hit removed", "band_changed": "Risk band changed", "event": "Behaviour event",
	"system": "System", "insufficient_evidence": "Insufficient evidence", "decline": "Decline", "refer": "Refer", "accept": "Accept",
	"unscreened": "Not yet screened",
}

// parseTemplates parses the layout with each page.
func (h *Handler) parseTemplates() {
	base := template.Must(template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	h.pages = map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		h.pages[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, n))
	}
}

// lagText says a feed's lag in the unit that reads: seconds, minutes,
// hours or days (a replayed archive is days behind, not 23892684.9 s).
func lagText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
