package report

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/risk"
)

const (
	tlW      = 900.0
	tlLeft   = 128.0
	tlRight  = 12.0
	tlRowH   = 19.0
	tlFont   = 11.0
	tlAxisH  = 30.0
	tlBarH   = 13.0
	tlLabelG = 3.0
)

// tick is one axis label.
type tick struct {
	t     time.Time
	x     float64
	label string
}

// tickSteps are the axis steps tried, finest first; each labels its
// ticks in a layout that names what changes at that step.
var tickSteps = []struct {
	d      time.Duration
	months int
	layout string
}{
	{time.Hour, 0, "15:04"}, {2 * time.Hour, 0, "15:04"}, {3 * time.Hour, 0, "15:04"}, {6 * time.Hour, 0, "15:04"},
	{12 * time.Hour, 0, "15:04"}, {24 * time.Hour, 0, "2 Jan"}, {48 * time.Hour, 0, "2 Jan"}, {7 * 24 * time.Hour, 0, "2 Jan"},
	{14 * 24 * time.Hour, 0, "2 Jan"}, {0, 1, "Jan 2006"}, {0, 2, "Jan 2006"}, {0, 3, "Jan 2006"}, {0, 6, "Jan 2006"},
	{0, 12, "2006"}, {0, 24, "2006"}, {0, 60, "2006"}, {0, 120, "2006"},
}

// axisTicks chooses the finest step whose labels do not overlap over the
// width, aligned to the calendar (UTC). Hour steps write the date at
// midnight ("2 Mar") and the hour elsewhere.
func axisTicks(from, to time.Time, width float64) []tick {
	from, to = from.UTC(), to.UTC()
	span := to.Sub(from)
	if span <= 0 {
		return nil
	}
	x := func(t time.Time) float64 { return width * float64(t.Sub(from)) / float64(span) }
	for _, st := range tickSteps {
		var ts []tick
		var t time.Time
		if st.months == 0 {
			if st.d < 24*time.Hour {
				t = from.Truncate(st.d)
			} else {
				t = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
				if st.d == 7*24*time.Hour || st.d == 14*24*time.Hour {
					for t.Weekday() != time.Monday {
						t = t.AddDate(0, 0, -1)
					}
				}
			}
		} else {
			m := (int(from.Month()) - 1) / st.months * st.months
			t = time.Date(from.Year(), time.Month(m+1), 1, 0, 0, 0, 0, time.UTC)
			if st.months >= 12 {
				t = time.Date(from.Year()/(st.months/12)*(st.months/12), 1, 1, 0, 0, 0, 0, time.UTC)
			}
		}
		for ; !t.After(to); t = stepOn(t, st.d, st.months) {
			if t.Before(from) {
				continue
			}
			l := t.Format(st.layout)
			if st.d > 0 && st.d < 24*time.Hour && t.Hour() == 0 {
				l = t.Format("2 Jan")
			}
			ts = append(ts, tick{t, x(t), l})
			if len(ts) > 400 {
				break
			}
		}
		if len(ts) > 400 {
			continue
		}
		if ticksFit(ts, width) && len(ts) >= 2 || st.months == 120 {
			return ts
		}
		if len(ts) < 2 && st.d >= 24*time.Hour {
			// Coarser steps give fewer ticks still: label the ends.
			break
		}
	}
	a, z := tick{from, 0, from.Format("2 Jan 2006 15:04")}, tick{to, width, to.Format("2 Jan 2006 15:04")}
	if ticksFit([]tick{a, z}, width) {
		return []tick{a, z}
	}
	return []tick{a}
}

func stepOn(t time.Time, d time.Duration, months int) time.Time {
	if months > 0 {
		return t.AddDate(0, months, 0)
	}
	if d >= 24*time.Hour {
		return t.AddDate(0, 0, int(d/(24*time.Hour)))
	}
	return t.Add(d)
}

// tickBox is the room a tick label takes, centred on its tick and kept
// inside the axis.
func tickBox(k tick, width float64) (float64, float64) {
	w := textWidth(k.label, tlFont)
	x0 := math.Min(math.Max(k.x-w/2, 0), width-w)
	return x0, x0 + w
}

func ticksFit(ts []tick, width float64) bool {
	for i := 1; i < len(ts); i++ {
		_, a1 := tickBox(ts[i-1], width)
		b0, _ := tickBox(ts[i], width)
		if b0 < a1+8 {
			return false
		}
	}
	return true
}

// bar is one event on the timeline, in its lane and row.
type bar struct {
	e      risk.EventRef
	x1, x2 float64
	row    int
	lx     float64 // label position
	anchor string
}

// layoutLane puts a lane's events in rows so that no two bars or labels
// overlap: each event goes in the first row whose last label ends before
// it starts.
func layoutLane(bs []*bar, width float64) int {
	var ends []float64
	for _, b := range bs {
		lw := textWidth(b.e.Ref, tlFont)
		// The label goes right of the bar, or left of it at the end.
		x0, x1 := b.x1, b.x2+tlLabelG+lw
		b.lx, b.anchor = b.x2+tlLabelG, "start"
		if x1 > width {
			x0, x1 = b.x1-tlLabelG-lw, b.x2
			b.lx, b.anchor = b.x1-tlLabelG, "end"
		}
		row := -1
		for r, end := range ends {
			if end+2 <= x0 {
				row = r
				break
			}
		}
		if row < 0 {
			ends = append(ends, 0)
			row = len(ends) - 1
		}
		ends[row] = x1
		b.row = row
	}
	return max(1, len(ends))
}

// timelineSVG draws the review window (zoomed to the AIS held) with an
// axis whose labels never overlap, the AIS coverage, and each event as a
// labelled bar in the lane of its kind.
func timelineSVG(p *risk.Profile, cov risk.Coverage) template.HTML {
	from, to := p.WindowStart, p.AsOf
	// Zoom to the data when it covers a small part of the window.
	if !cov.First.IsZero() && cov.First.After(from) {
		from = cov.First
	}
	for _, e := range p.Events {
		if e.Start.Before(from) {
			from = e.Start
		}
	}
	if !to.After(from) {
		to = from.Add(time.Hour)
	}
	inner := tlW - tlLeft - tlRight
	x := func(t time.Time) float64 {
		return tlLeft + inner*float64(t.Sub(from))/float64(to.Sub(from))
	}
	var kinds []string
	lanes := map[string][]*bar{}
	for _, e := range p.Events {
		if _, ok := lanes[e.Kind]; !ok {
			kinds = append(kinds, e.Kind)
		}
		x1, x2 := x(e.Start), x(e.End)
		if x2-x1 < 3 {
			x2 = x1 + 3
		}
		lanes[e.Kind] = append(lanes[e.Kind], &bar{e: e, x1: x1, x2: x2})
	}
	type lane struct {
		kind string
		y    float64
		rows int
	}
	var ls []lane
	y := 22.0 // below the coverage strip
	for _, k := range kinds {
		bs := lanes[k]
		sort.SliceStable(bs, func(i, j int) bool { return bs[i].x1 < bs[j].x1 })
		n := layoutLane(bs, tlW-tlRight)
		ls = append(ls, lane{k, y, n})
		y += float64(n)*tlRowH + 6
	}
	if len(ls) == 0 {
		y += tlRowH
	}
	h := y + tlAxisH
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="timeline-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-label="Event timeline" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif">`, tlW, h)
	// Axis grid and labels.
	ticks := axisTicks(from, to, inner)
	axisY := y + 4
	b.WriteString(`<g class="axis" font-size="11" fill="#444">`)
	for _, k := range ticks {
		tx := tlLeft + k.x
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="4" y2="%.1f" stroke="#e3e3e3"/>`, tx, tx, axisY)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#888"/>`, tx, tx, axisY, axisY+4)
		x0, _ := tickBox(k, inner)
		fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%.1f">%s</text>`, tlLeft+x0, axisY+15, k.label)
	}
	fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#888"/>`, tlLeft, tlW-tlRight, axisY, axisY)
	// The period the axis spans, with the year the ticks may not show.
	fmt.Fprintf(&b, `<text x="0" y="%.1f" font-size="10" fill="#666">%s</text>`, axisY+15, esc(axisSpan(from, to)))
	b.WriteString(`</g>`)
	// AIS coverage strip.
	fmt.Fprintf(&b, `<text x="0" y="13" font-size="11" fill="#333">AIS held</text>`)
	if !cov.First.IsZero() {
		x1, x2 := x(maxTime(cov.First, from)), x(minTime(cov.Last, to))
		fmt.Fprintf(&b, `<rect class="coverage" x="%.1f" y="6" width="%.1f" height="7" fill="#aed6f1"><title>AIS positions held %s</title></rect>`,
			x1, math.Max(1, x2-x1), esc(spanText(cov.First, cov.Last)))
	} else {
		fmt.Fprintf(&b, `<text x="%.0f" y="13" font-size="11" fill="#888">none in the review window</text>`, tlLeft)
	}
	for _, l := range ls {
		fmt.Fprintf(&b, `<text x="0" y="%.1f" font-size="11" fill="#333">%s</text>`, l.y+12, esc(kindTitle(l.kind)))
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#eee"/>`, tlLeft, tlW-tlRight, l.y+float64(l.rows)*tlRowH+2, l.y+float64(l.rows)*tlRowH+2)
		for _, bb := range lanes[l.kind] {
			by := l.y + float64(bb.row)*tlRowH + 2
			fmt.Fprintf(&b, `<a href="#%s"><rect class="event-bar" data-ref="%s" x="%.1f" y="%.1f" width="%.1f" height="%.0f" fill="%s"><title>%s %s: %s</title></rect><text class="bar-label" x="%.1f" y="%.1f" font-size="11" text-anchor="%s" fill="#222">%s</text></a>`,
				esc(bb.e.Ref), esc(bb.e.Ref), bb.x1, by, bb.x2-bb.x1, tlBarH, colour(bb.e.Kind), esc(bb.e.Ref), esc(spanText(bb.e.Start, bb.e.End)), esc(eventWords(bb.e.Event)),
				bb.lx, by+tlBarH-2, bb.anchor, esc(bb.e.Ref))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// axisSpan says which period the axis covers: "1–4 Mar 2026".
func axisSpan(a, b time.Time) string {
	a, b = a.UTC(), b.UTC()
	switch {
	case a.Year() != b.Year():
		return a.Format("Jan 2006") + " – " + b.Format("Jan 2006")
	case a.Month() != b.Month():
		return a.Format("2 Jan") + " – " + b.Format("2 Jan 2006")
	}
	return a.Format("2") + "–" + b.Format("2 Jan 2006")
}
