package report

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/risk"
)

// kindColours give each event kind a colour on the map and timeline.
var kindColours = map[string]string{
	"encounter": "#c0392b", "gap": "#7f8c8d", "loitering": "#d68910", "port_call": "#1f618d",
	"zone_entry": "#8e44ad", "zone_exit": "#a569bd", "identity_change": "#117a65", "identity_conflict": "#b03a2e",
	"position_spoofing": "#6e2c00", "draught_change": "#2e86c1", "inconsistency": "#5d6d7e",
}

func colour(kind string) string {
	if c, ok := kindColours[kind]; ok {
		return c
	}
	return "#333"
}

var trackColours = []string{"#1a5276", "#b9770e", "#196f3d", "#6c3483"}

// projection maps lat/lon to SVG pixels (equirectangular, scaled by the
// cosine of the middle latitude so shapes look right at these latitudes).
type projection struct {
	minLat, minLon, maxLat, maxLon float64
	w, h                           float64
}

func (p projection) xy(lat, lon float64) (float64, float64) {
	return (lon - p.minLon) / (p.maxLon - p.minLon) * p.w, (p.maxLat - lat) / (p.maxLat - p.minLat) * p.h
}

func newProjection(lats, lons []float64, width float64) projection {
	minLat, maxLat, minLon, maxLon := 90.0, -90.0, 180.0, -180.0
	for i := range lats {
		minLat, maxLat = math.Min(minLat, lats[i]), math.Max(maxLat, lats[i])
		minLon, maxLon = math.Min(minLon, lons[i]), math.Max(maxLon, lons[i])
	}
	if len(lats) == 0 {
		minLat, maxLat, minLon, maxLon = 33, 43, 118, 132 // the Yellow Sea and the Korean peninsula
	}
	// At least 2 degrees across, with a margin.
	padLat := math.Max(0.15*(maxLat-minLat), math.Max(0, (2-(maxLat-minLat))/2))
	padLon := math.Max(0.15*(maxLon-minLon), math.Max(0, (2-(maxLon-minLon))/2))
	minLat, maxLat = math.Max(-85, minLat-padLat), math.Min(85, maxLat+padLat)
	minLon, maxLon = math.Max(-180, minLon-padLon), math.Min(180, maxLon+padLon)
	k := math.Cos((minLat + maxLat) / 2 * math.Pi / 180)
	h := width * (maxLat - minLat) / ((maxLon - minLon) * k)
	if h > 1.2*width { // a tall box: widen it instead
		extra := ((maxLat-minLat)/(1.2*k) - (maxLon - minLon)) / 2
		minLon, maxLon = minLon-extra, maxLon+extra
		h = 1.2 * width
	}
	if h < 0.45*width {
		extra := ((maxLon-minLon)*k*0.45 - (maxLat - minLat)) / 2
		minLat, maxLat = minLat-extra, maxLat+extra
		h = 0.45 * width
	}
	return projection{minLat, minLon, maxLat, maxLon, width, math.Round(h)}
}

// mapSVG draws land (from the embedded Natural Earth mask), the reported
// STS areas and DPRK waters, the track of each MMSI and the events.
func mapSVG(in *Input) template.HTML {
	var lats, lons []float64
	for _, p := range in.Track {
		lats, lons = append(lats, p.Lat), append(lons, p.Lon)
	}
	for _, e := range in.Profile.Events {
		if e.Lat != 0 || e.Lon != 0 {
			lats, lons = append(lats, e.Lat), append(lons, e.Lon)
		}
	}
	pr := newProjection(lats, lons, 900)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="map-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-label="Map of the track and events">`, pr.w, pr.h)
	fmt.Fprintf(&b, `<rect width="%.0f" height="%.0f" fill="#eaf2f8"/>`, pr.w, pr.h)
	if in.Land != nil {
		// Land as runs of raster cells, then the coastline over it.
		cols := 450
		rows := int(float64(cols) * pr.h / pr.w)
		cw, ch := pr.w/float64(cols), pr.h/float64(rows)
		b.WriteString(`<g fill="#f4ecd8" stroke="none" class="land">`)
		for r := 0; r < rows; r++ {
			lat := pr.maxLat - (float64(r)+0.5)/float64(rows)*(pr.maxLat-pr.minLat)
			start := -1
			for c := 0; c <= cols; c++ {
				on := false
				if c < cols {
					lon := pr.minLon + (float64(c)+0.5)/float64(cols)*(pr.maxLon-pr.minLon)
					on = in.Land.OnLand(lat, lon)
				}
				if on && start < 0 {
					start = c
				}
				if !on && start >= 0 {
					fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, float64(start)*cw, float64(r)*ch, float64(c-start)*cw+0.4, ch+0.4)
					start = -1
				}
			}
		}
		b.WriteString(`</g><path class="coast" fill="none" stroke="#a6906a" stroke-width="0.6" d="`)
		in.Land.Coastline(pr.minLat, pr.minLon, pr.maxLat, pr.maxLon, func(a, c geo.Point) {
			x1, y1 := pr.xy(a.Lat, a.Lon)
			x2, y2 := pr.xy(c.Lat, c.Lon)
			if math.Abs(x1-x2) < 0.3 && math.Abs(y1-y2) < 0.3 {
				return
			}
			fmt.Fprintf(&b, "M%.1f %.1fL%.1f %.1f", x1, y1, x2, y2)
		})
		b.WriteString(`"/>`)
	}
	for _, z := range in.Zones {
		a, o, c, d := z.Bounds()
		if c < pr.minLat || a > pr.maxLat || d < pr.minLon || o > pr.maxLon {
			continue
		}
		fill, stroke := "rgba(142,68,173,0.08)", "#8e44ad"
		if z.Kind == "dprk_waters" {
			fill, stroke = "rgba(192,57,43,0.06)", "#c0392b"
		}
		fmt.Fprintf(&b, `<path class="zone" fill="%s" stroke="%s" stroke-width="0.8" stroke-dasharray="4 3" d="`, fill, stroke)
		for _, ring := range z.Rings() {
			for i, p := range ring {
				x, y := pr.xy(p.Lat, p.Lon)
				cmd := "L"
				if i == 0 {
					cmd = "M"
				}
				fmt.Fprintf(&b, "%s%.1f %.1f", cmd, x, y)
			}
			b.WriteString("Z")
		}
		fmt.Fprintf(&b, `"><title>%s</title></path>`, template.HTMLEscapeString(z.Name))
	}
	// Tracks, one colour per MMSI; a silence over an hour is drawn dashed.
	byMMSI := map[uint32][]TrackPoint{}
	var mmsis []uint32
	for _, p := range in.Track {
		if _, ok := byMMSI[p.MMSI]; !ok {
			mmsis = append(mmsis, p.MMSI)
		}
		byMMSI[p.MMSI] = append(byMMSI[p.MMSI], p)
	}
	sort.Slice(mmsis, func(i, j int) bool { return mmsis[i] < mmsis[j] })
	for i, m := range mmsis {
		col := trackColours[i%len(trackColours)]
		var solid, dashed strings.Builder
		pts := byMMSI[m]
		for j, p := range pts {
			x, y := pr.xy(p.Lat, p.Lon)
			if j == 0 || p.Time.Sub(pts[j-1].Time) > time.Hour {
				if j > 0 {
					px, py := pr.xy(pts[j-1].Lat, pts[j-1].Lon)
					fmt.Fprintf(&dashed, "M%.1f %.1fL%.1f %.1f", px, py, x, y)
				}
				fmt.Fprintf(&solid, "M%.1f %.1f", x, y)
				continue
			}
			fmt.Fprintf(&solid, "L%.1f %.1f", x, y)
		}
		fmt.Fprintf(&b, `<path class="track" data-mmsi="%09d" fill="none" stroke="%s" stroke-width="1.6" d="%s"/>`, m, col, solid.String())
		if dashed.Len() > 0 {
			fmt.Fprintf(&b, `<path class="track-gap" fill="none" stroke="%s" stroke-width="1.2" stroke-dasharray="5 4" d="%s"/>`, col, dashed.String())
		}
		if len(pts) > 0 {
			x, y := pr.xy(pts[0].Lat, pts[0].Lon)
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="white" stroke="%s" stroke-width="1.5"><title>first position %s</title></circle>`, x, y, col, pts[0].Time.UTC().Format("2006-01-02 15:04"))
		}
	}
	for _, e := range in.Profile.Events {
		if e.Lat == 0 && e.Lon == 0 {
			continue
		}
		x, y := pr.xy(e.Lat, e.Lon)
		fmt.Fprintf(&b, `<g class="event-marker" data-ref="%s"><circle cx="%.1f" cy="%.1f" r="5" fill="%s" stroke="white" stroke-width="1"/><text x="%.1f" y="%.1f" font-size="10" font-family="sans-serif" fill="#222">%s</text><title>%s %s</title></g>`,
			e.Ref, x, y, colour(e.Kind), x+6, y-4, e.Ref, e.Ref, template.HTMLEscapeString(e.Kind))
	}
	// Scale: degrees to a graticule label at the corners.
	fmt.Fprintf(&b, `<text x="4" y="12" font-size="10" font-family="sans-serif" fill="#555">%.2f°N %.2f°E</text>`, pr.maxLat, pr.minLon)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="10" font-family="sans-serif" fill="#555" text-anchor="end">%.2f°N %.2f°E</text>`, pr.w-4, pr.h-4, pr.minLat, pr.maxLon)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// timelineSVG draws the review window with each event as a bar in a lane
// of its kind.
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
	var kinds []string
	lane := map[string]int{}
	for _, e := range p.Events {
		if _, ok := lane[e.Kind]; !ok {
			lane[e.Kind] = len(kinds)
			kinds = append(kinds, e.Kind)
		}
	}
	const w, left, laneH = 900.0, 130.0, 22.0
	h := 30 + laneH*float64(max(len(kinds), 1))
	x := func(t time.Time) float64 { return left + (w-left-10)*float64(t.Sub(from))/float64(to.Sub(from)) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="timeline-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-label="Event timeline">`, w, h)
	if !cov.First.IsZero() {
		fmt.Fprintf(&b, `<rect x="%.1f" y="2" width="%.1f" height="6" fill="#aed6f1"><title>AIS positions held %s to %s</title></rect>`,
			x(maxTime(cov.First, from)), math.Max(1, x(minTime(cov.Last, to))-x(maxTime(cov.First, from))), cov.First.Format("2006-01-02 15:04"), cov.Last.Format("2006-01-02 15:04"))
	}
	for i, k := range kinds {
		y := 14 + laneH*float64(i)
		fmt.Fprintf(&b, `<text x="0" y="%.1f" font-size="11" font-family="sans-serif" fill="#333">%s</text>`, y+12, strings.ReplaceAll(k, "_", " "))
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, left, w-10, y+8, y+8)
	}
	for _, e := range p.Events {
		y := 14 + laneH*float64(lane[e.Kind])
		x1, x2 := x(e.Start), x(e.End)
		fmt.Fprintf(&b, `<a href="#%s"><rect class="event-bar" x="%.1f" y="%.1f" width="%.1f" height="14" fill="%s"><title>%s %s</title></rect></a>`,
			e.Ref, x1, y+1, math.Max(3, x2-x1), colour(e.Kind), e.Ref, template.HTMLEscapeString(e.Kind))
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="10" font-family="sans-serif" fill="#555">%s</text>`, left, h-2, from.Format("2006-01-02 15:04"))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="10" font-family="sans-serif" fill="#555" text-anchor="end">%s</text>`, w-10, h-2, to.Format("2006-01-02 15:04"))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
