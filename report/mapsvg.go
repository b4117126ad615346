package report

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/geo"
)

// mapView is the map and what its legend beside it needs.
type mapView struct {
	SVG template.HTML
	// Tracks are the vessel's MMSIs as drawn, with their colours.
	Tracks []trackKey
	// Counterparts are the encounter counterparts whose track is drawn.
	Counterparts []trackKey
	// Keys are event clusters labelled by a letter (too many to name on
	// the map), and events whose label found no room.
	Keys []mapKey
	// Places are the DPRK ports drawn; Zones the areas drawn.
	Places []string
	Zones  []zoneKey
	// STS and DPRK say which kinds of zone are drawn, for the key.
	STS, DPRK, User bool
	// Kinds are the event kinds on the map, for the colour key.
	Kinds []string
	// Scale is the scale bar's text.
	Scale string
}

type trackKey struct {
	Colour, Label string
}

type mapKey struct {
	Key, Refs, Where string
}

type zoneKey struct {
	Name, Kind, Source string
}

const (
	mapW       = 900.0
	mapFont    = 13.0
	placeFont  = 11.5
	dprkPortFg = "#7b241c"
)

// portNames gives DPRK ports the names sanctions reporting uses beside
// the World Port Index's romanisation.
var portNames = map[string]string{
	"Kyomip'o":   "Songrim (Kyomip'o)",
	"Senbong":    "Sonbong (Senbong)",
	"Kimch'aek":  "Kimchaek (Songjin)",
	"Haeju Hang": "Haeju",
}

// mapSVG draws land (from the embedded Natural Earth mask), the reported
// STS areas and DPRK waters, the DPRK ports, the track of each MMSI, the
// encounter counterparts' tracks and the events, with a graticule, a
// scale bar and a north arrow. Labels never overlap: close markers share
// a label, and a cluster whose label would be too long gets a letter
// listed beside the map.
func mapSVG(in *Input, names map[uint32]string) mapView {
	var mv mapView
	var lats, lons []float64
	for _, p := range in.Track {
		lats, lons = append(lats, p.Lat), append(lons, p.Lon)
	}
	for _, e := range in.Profile.Events {
		if e.Lat != 0 || e.Lon != 0 {
			lats, lons = append(lats, e.Lat), append(lons, e.Lon)
		}
	}
	pr := newProjection(lats, lons, mapW)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="map-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-label="Map of the track and events" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif">`, pr.w, pr.h)
	fmt.Fprintf(&b, `<rect width="%.0f" height="%.0f" fill="#eaf2f8"/>`, pr.w, pr.h)
	if in.Land != nil {
		drawLand(&b, in.Land, pr)
	}
	pl := &placer{w: pr.w, h: pr.h}
	// Graticule, scale bar and north arrow first: labels keep off them.
	drawGraticule(&b, pr, pl)
	mv.Scale = drawScale(&b, pr, pl)
	drawNorth(&b, pr, pl)
	// Zones.
	type zoneLabel struct {
		z    *geo.Zone
		vis  box
		fg   string
		name string
	}
	var zls []zoneLabel
	for _, z := range in.Zones {
		a, o, c, d := z.Bounds()
		if c < pr.minLat || a > pr.maxLat || d < pr.minLon || o > pr.maxLon {
			continue
		}
		fill, stroke := "rgba(142,68,173,0.08)", "#8e44ad"
		name := "STS area: " + z.Name
		if z.Kind != "sts_area" {
			name = z.Name
		}
		if z.Kind == "dprk_waters" {
			fill, stroke = "rgba(192,57,43,0.06)", "#c0392b"
			name = "DPRK territorial sea"
		}
		mv.Zones = append(mv.Zones, zoneKey{Name: z.Name, Kind: z.Kind, Source: z.Source})
		mv.STS = mv.STS || z.Kind == "sts_area"
		mv.User = mv.User || (z.Kind != "sts_area" && z.Kind != "dprk_waters")
		mv.DPRK = mv.DPRK || z.Kind == "dprk_waters"
		fmt.Fprintf(&b, `<path class="zone" data-zone="%s" fill="%s" stroke="%s" stroke-width="0.8" stroke-dasharray="4 3" d="`, esc(z.ID), fill, stroke)
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
		fmt.Fprintf(&b, `"><title>%s</title></path>`, esc(z.Name))
		x0, y0 := pr.xy(math.Min(c, pr.maxLat), math.Max(o, pr.minLon))
		x1, y1 := pr.xy(math.Max(a, pr.minLat), math.Min(d, pr.maxLon))
		zls = append(zls, zoneLabel{z, box{x0, y0, x1, y1}, stroke, name})
	}
	// Tracks, one colour per MMSI; a silence over an hour is drawn dashed.
	for i, m := range trackMMSIs(in.Track) {
		col := trackColours[i%len(trackColours)]
		drawTrack(&b, pr, pointsOf(in.Track, m), col, "track", 1.6, "")
		mv.Tracks = append(mv.Tracks, trackKey{col, vesselLabel(m, names[m])})
	}
	for _, m := range trackMMSIs(in.Counterparts) {
		drawTrack(&b, pr, pointsOf(in.Counterparts, m), counterpartColour, "counterpart-track", 1.8, "1.5 3")
		mv.Counterparts = append(mv.Counterparts, trackKey{counterpartColour, vesselLabel(m, names[m])})
	}
	// DPRK ports: a square each.
	type place struct {
		name string
		x, y float64
	}
	var places []place
	if in.Ports != nil {
		for _, p := range in.Ports.DPRKPorts() {
			if p.Lat < pr.minLat || p.Lat > pr.maxLat || p.Lon < pr.minLon || p.Lon > pr.maxLon {
				continue
			}
			x, y := pr.xy(p.Lat, p.Lon)
			n := p.Name
			if alt, ok := portNames[n]; ok {
				n = alt
			}
			places = append(places, place{n, x, y})
			mv.Places = append(mv.Places, n)
			fmt.Fprintf(&b, `<rect class="place" x="%.1f" y="%.1f" width="6" height="6" fill="%s"><title>%s, DPRK port (World Port Index)</title></rect>`, x-3, y-3, dprkPortFg, esc(n))
			pl.add(box{x - 4, y - 4, x + 4, y + 4})
		}
	}
	// Event markers; their labels come first, then places and zones take
	// the room left.
	var ms []marker
	kinds := map[string]bool{}
	for _, e := range in.Profile.Events {
		if e.Lat == 0 && e.Lon == 0 {
			continue
		}
		x, y := pr.xy(e.Lat, e.Lon)
		ms = append(ms, marker{e.Ref, x, y})
		if !kinds[e.Kind] {
			kinds[e.Kind] = true
			mv.Kinds = append(mv.Kinds, e.Kind)
		}
		fmt.Fprintf(&b, `<g class="event-marker" data-ref="%s"><circle cx="%.1f" cy="%.1f" r="5" fill="%s" stroke="white" stroke-width="1.2"/><title>%s %s: %s</title></g>`,
			esc(e.Ref), x, y, colour(e.Kind), esc(e.Ref), esc(spanText(e.Start, e.End)), esc(eventWords(e.Event)))
	}
	sort.Strings(mv.Kinds)
	clusters := labelMarkers(pl, ms, mapFont)
	where := func(c *cluster) string {
		lat := pr.maxLat - c.y/pr.h*(pr.maxLat-pr.minLat)
		lon := pr.minLon + c.x/pr.w*(pr.maxLon-pr.minLon)
		return "near " + posText(lat, lon)
	}
	for _, c := range clusters {
		if !c.placed {
			mv.Keys = append(mv.Keys, mapKey{Key: "-", Refs: compressRefs(c.refs), Where: where(c) + " (no room for a label)"})
			continue
		}
		if c.key != "" {
			mv.Keys = append(mv.Keys, mapKey{Key: c.key, Refs: compressRefs(c.refs), Where: where(c)})
		}
		// A leader line when the label sits away from its markers.
		lx := math.Max(c.at.x0, math.Min(c.x, c.at.x1))
		ly := math.Max(c.at.y0, math.Min(c.y, c.at.y1))
		if math.Hypot(lx-c.x, ly-c.y) > c.r+8 {
			fmt.Fprintf(&b, `<line class="leader" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#555" stroke-width="0.8"/>`, c.x, c.y, lx, ly)
		}
		fmt.Fprintf(&b, `<g class="event-label" data-refs="%s"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="2" fill="white" fill-opacity="0.9" stroke="#555" stroke-width="0.6"/><text x="%.1f" y="%.1f" font-size="%.0f" font-weight="bold" fill="#222">%s</text></g>`,
			esc(strings.Join(c.refs, " ")), c.at.x0, c.at.y0, c.at.x1-c.at.x0, c.at.y1-c.at.y0, c.at.x0+3, c.at.y1-4.5, mapFont, esc(c.label))
	}
	for _, p := range places {
		lw := textWidth(p.name, placeFont)
		if at, ok := pl.place(p.x, p.y, lw, placeFont+3, 4); ok {
			fmt.Fprintf(&b, `<text class="place-label" x="%.1f" y="%.1f" font-size="%.1f" fill="%s" stroke="white" stroke-width="2.5" paint-order="stroke">%s</text>`,
				at.x0+1, at.y1-3, placeFont, dprkPortFg, esc(p.name))
		}
	}
	for _, z := range zls {
		// Inside the zone's visible box, at a corner or along its top or
		// bottom edge where there is room; wrapped on words, three lines
		// at most.
		if z.z.Kind == "dprk_waters" {
			continue // its box is mostly land and sea of other zones: the legend names it
		}
		lines := wrapWords(z.name, placeFont, z.vis.x1-z.vis.x0-8, 3)
		if len(lines) == 0 {
			continue
		}
		lw := 0.0
		for _, l := range lines {
			lw = math.Max(lw, textWidth(l, placeFont))
		}
		lh := float64(len(lines))*(placeFont+2) + 2
		var cands []box
		var ys []float64
		for _, d := range []float64{4, 18, 32} {
			ys = append(ys, z.vis.y0+d)
		}
		for _, d := range []float64{4, 18, 32} {
			ys = append(ys, z.vis.y1-d-lh)
		}
		for _, y0 := range ys {
			for x0 := z.vis.x0 + 4; x0+lw <= z.vis.x1-4; x0 += 16 {
				cands = append(cands, box{x0, y0, x0 + lw, y0 + lh})
			}
			cands = append(cands, box{z.vis.x1 - 4 - lw, y0, z.vis.x1 - 4, y0 + lh})
		}
		for _, at := range cands {
			if at.y0 < z.vis.y0 || at.y1 > z.vis.y1 || !pl.free(at) {
				continue
			}
			pl.add(at)
			fmt.Fprintf(&b, `<text class="zone-label" font-size="%.1f" font-style="italic" fill="%s" stroke="white" stroke-width="2.5" paint-order="stroke"><title>%s</title>`, placeFont, z.fg, esc(z.z.Name))
			for i, l := range lines {
				fmt.Fprintf(&b, `<tspan x="%.1f" y="%.1f">%s</tspan>`, at.x0+1, at.y0+float64(i+1)*(placeFont+2)-1, esc(l))
			}
			b.WriteString(`</text>`)
			break
		}
	}
	b.WriteString(`</svg>`)
	mv.SVG = template.HTML(b.String())
	return mv
}

const counterpartColour = "#922b21"

func trackMMSIs(ts []TrackPoint) []uint32 {
	seen := map[uint32]bool{}
	var out []uint32
	for _, p := range ts {
		if !seen[p.MMSI] {
			seen[p.MMSI] = true
			out = append(out, p.MMSI)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// pointsOf is one MMSI's points in time order, each time once (the
// windows around two encounters with one ship overlap).
func pointsOf(ts []TrackPoint, m uint32) []TrackPoint {
	var out []TrackPoint
	for _, p := range ts {
		if p.MMSI == m {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	uniq := out[:0]
	for i, p := range out {
		if i == 0 || !p.Time.Equal(out[i-1].Time) {
			uniq = append(uniq, p)
		}
	}
	return uniq
}

func vesselLabel(m uint32, name string) string {
	s := fmt.Sprintf("MMSI %09d", m)
	if name != "" {
		s += " " + name
	}
	return s
}

func drawTrack(b *strings.Builder, pr projection, pts []TrackPoint, col, class string, width float64, dash string) {
	var solid, dashed strings.Builder
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
	if len(pts) == 0 {
		return
	}
	extra := ""
	if dash != "" {
		extra = fmt.Sprintf(` stroke-dasharray="%s" stroke-linecap="round"`, dash)
	}
	fmt.Fprintf(b, `<path class="%s" data-mmsi="%09d" fill="none" stroke="%s" stroke-width="%.1f"%s d="%s"/>`, class, pts[0].MMSI, col, width, extra, solid.String())
	if dashed.Len() > 0 {
		fmt.Fprintf(b, `<path class="track-gap" fill="none" stroke="%s" stroke-width="1.2" stroke-dasharray="5 4" d="%s"/>`, col, dashed.String())
	}
	x, y := pr.xy(pts[0].Lat, pts[0].Lon)
	fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="white" stroke="%s" stroke-width="1.5"><title>first position %s</title></circle>`, x, y, col, pts[0].Time.UTC().Format("2006-01-02 15:04 UTC"))
}

// drawLand draws land as runs of raster cells, then the coastline over it.
func drawLand(b *strings.Builder, land *geo.Land, pr projection) {
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
				on = land.OnLand(lat, lon)
			}
			if on && start < 0 {
				start = c
			}
			if !on && start >= 0 {
				fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, float64(start)*cw, float64(r)*ch, float64(c-start)*cw+0.4, ch+0.4)
				start = -1
			}
		}
	}
	b.WriteString(`</g><path class="coast" fill="none" stroke="#a6906a" stroke-width="0.6" d="`)
	land.Coastline(pr.minLat, pr.minLon, pr.maxLat, pr.maxLon, func(a, c geo.Point) {
		x1, y1 := pr.xy(a.Lat, a.Lon)
		x2, y2 := pr.xy(c.Lat, c.Lon)
		if math.Abs(x1-x2) < 0.3 && math.Abs(y1-y2) < 0.3 {
			return
		}
		fmt.Fprintf(b, "M%.1f %.1fL%.1f %.1f", x1, y1, x2, y2)
	})
	b.WriteString(`"/>`)
}

// niceStep picks a graticule step giving about n lines over span degrees.
func niceStep(span float64, n int) float64 {
	for _, s := range []float64{0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 30, 45, 90} {
		if span/s <= float64(n) {
			return s
		}
	}
	return 90
}

// drawGraticule draws meridians and parallels with their labels inside
// the map's edges (latitudes on the left, longitudes at the bottom).
func drawGraticule(b *strings.Builder, pr projection, pl *placer) {
	step := niceStep(math.Max(pr.maxLat-pr.minLat, pr.maxLon-pr.minLon), 8)
	b.WriteString(`<g class="graticule" stroke="#9fb6c6" stroke-width="0.5" stroke-dasharray="2 4" fill="none">`)
	var labels strings.Builder
	for lat := math.Ceil(pr.minLat/step) * step; lat <= pr.maxLat; lat += step {
		_, y := pr.xy(lat, pr.minLon)
		fmt.Fprintf(b, `<line x1="0" x2="%.0f" y1="%.1f" y2="%.1f"/>`, pr.w, y, y)
		t := latLabel(round6(lat))
		lb := box{2, y - 13, 2 + textWidth(t, 10), y - 1}
		if lb.inside(pr.w, pr.h) {
			pl.add(lb)
			fmt.Fprintf(&labels, `<text x="3" y="%.1f" font-size="10">%s</text>`, y-3, t)
		}
	}
	for lon := math.Ceil(pr.minLon/step) * step; lon <= pr.maxLon; lon += step {
		x, _ := pr.xy(pr.minLat, lon)
		fmt.Fprintf(b, `<line y1="0" y2="%.0f" x1="%.1f" x2="%.1f"/>`, pr.h, x, x)
		t := lonLabel(round6(lon))
		lb := box{x + 1, pr.h - 14, x + 2 + textWidth(t, 10), pr.h - 1}
		if lb.inside(pr.w, pr.h) {
			pl.add(lb)
			fmt.Fprintf(&labels, `<text x="%.1f" y="%.1f" font-size="10">%s</text>`, x+2, pr.h-3, t)
		}
	}
	b.WriteString(`</g><g class="graticule-labels" fill="#4d6577" stroke="#eaf2f8" stroke-width="2" paint-order="stroke">`)
	b.WriteString(labels.String())
	b.WriteString(`</g>`)
}

func round6(f float64) float64 { return math.Round(f*1e6) / 1e6 }

// drawScale draws a scale bar in nautical miles and kilometres at the
// map's middle latitude (bottom right, above the longitude labels).
func drawScale(b *strings.Builder, pr projection, pl *placer) string {
	midLat := (pr.minLat + pr.maxLat) / 2
	kmPerPx := (pr.maxLon - pr.minLon) * 111.32 * math.Cos(midLat*math.Pi/180) / pr.w
	nice := func(target float64) float64 {
		best := 1.0
		for _, v := range []float64{1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000} {
			if v <= target {
				best = v
			}
		}
		return best
	}
	km := nice(pr.w / 6 * kmPerPx)
	nm := nice(pr.w / 6 * kmPerPx / 1.852)
	kmPx, nmPx := km/kmPerPx, nm*1.852/kmPerPx
	x1 := pr.w - 14
	y := pr.h - 44
	x0 := x1 - math.Max(kmPx, nmPx)
	pl.add(box{x0 - 6, y - 16, pr.w, y + 22})
	fmt.Fprintf(b, `<g class="scale-bar" font-size="10" fill="#333"><rect x="%.1f" y="%.1f" width="%.1f" height="36" fill="white" fill-opacity="0.85"/>`, x0-6, y-14, x1-x0+12)
	fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#333" stroke-width="2"/>`, x1-nmPx, x1, y, y)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s nm</text>`, x1, y-4, numText(nm))
	fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#333" stroke-width="2"/>`, x1-kmPx, x1, y+6, y+6)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s km</text>`, x1, y+17, numText(km))
	b.WriteString(`</g>`)
	return fmt.Sprintf("%s nm and %s km at %s", numText(nm), numText(km), latLabel(math.Round(midLat*10)/10))
}

// drawNorth draws a north arrow at the top right.
func drawNorth(b *strings.Builder, pr projection, pl *placer) {
	x, y := pr.w-22, 8.0
	pl.add(box{x - 10, y - 2, x + 10, y + 32})
	fmt.Fprintf(b, `<g class="north-arrow"><path d="M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fZ" fill="#333"/><text x="%.1f" y="%.1f" font-size="11" font-weight="bold" text-anchor="middle" fill="#333">N</text></g>`,
		x, y+12, x-6, y+30, x, y+25, x+6, y+30, x, y+10)
}

// wrapWords breaks s into lines of at most maxW pixels, n lines at most
// (the last shortened with an ellipsis); nil when a word does not fit.
func wrapWords(s string, size, maxW float64, n int) []string {
	var lines []string
	cur := ""
	words := strings.Fields(s)
	for _, w := range words {
		if textWidth(w, size) > maxW {
			return nil
		}
		next := strings.TrimSpace(cur + " " + w)
		if textWidth(next, size) <= maxW {
			cur = next
			continue
		}
		lines = append(lines, cur)
		cur = w
		if len(lines) == n {
			// Out of lines: end the last one with an ellipsis.
			last := lines[n-1]
			for textWidth(last+"…", size) > maxW && strings.Contains(last, " ") {
				last = last[:strings.LastIndex(last, " ")]
			}
			lines[n-1] = strings.TrimRight(last, ",:;") + "…"
			return lines
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// esc escapes text for SVG content and attributes.
func esc(s string) string { return template.HTMLEscapeString(s) }
