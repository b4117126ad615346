package web

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"

	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/internal/app"
)

// The map's geography comes from the embedded data (package geo), served
// as GeoJSON: land clipped to the view and simplified for the zoom (no
// tile server, no internet), the built-in zones, and ports.

// maxLandZoom: beyond it the 1:10m land has no finer detail to drop.
const maxLandZoom = 9

type geoCache struct {
	svc  *app.Service
	mu   sync.Mutex
	zoom map[int]*landLevel
}

// landLevel is the land simplified for one zoom.
type landLevel struct {
	polys []landPoly
}

type landPoly struct {
	rings                          [][]geo.Point
	minLat, minLon, maxLat, maxLon float64
}

func newGeoCache(svc *app.Service) *geoCache { return &geoCache{svc: svc, zoom: map[int]*landLevel{}} }

// level simplifies the land for a zoom once: a point within a pixel of
// the last one kept is dropped (radial distance), rings that shrink below
// a pixel go.
func (g *geoCache) level(z int) (*landLevel, error) {
	z = min(max(z, 0), maxLandZoom)
	g.mu.Lock()
	defer g.mu.Unlock()
	if l, ok := g.zoom[z]; ok {
		return l, nil
	}
	polys, err := geo.LandPolygons()
	if err != nil {
		return nil, err
	}
	tol := 360 / (256 * math.Pow(2, float64(z)))
	l := &landLevel{}
	for _, p := range polys {
		lp := landPoly{minLat: 90, minLon: 180, maxLat: -90, maxLon: -180}
		for ri, r := range p {
			s := simplify(r, tol)
			if len(s) < 4 {
				if ri == 0 {
					break
				}
				continue
			}
			if ri == 0 {
				for _, pt := range s {
					lp.minLat, lp.maxLat = math.Min(lp.minLat, pt.Lat), math.Max(lp.maxLat, pt.Lat)
					lp.minLon, lp.maxLon = math.Min(lp.minLon, pt.Lon), math.Max(lp.maxLon, pt.Lon)
				}
			}
			lp.rings = append(lp.rings, s)
		}
		if len(lp.rings) > 0 {
			l.polys = append(l.polys, lp)
		}
	}
	g.zoom[z] = l
	return l, nil
}

func simplify(r []geo.Point, tol float64) []geo.Point {
	out := []geo.Point{r[0]}
	t2 := tol * tol
	for _, p := range r[1 : len(r)-1] {
		last := out[len(out)-1]
		dx, dy := p.Lon-last.Lon, (p.Lat-last.Lat)/math.Max(math.Cos(p.Lat*math.Pi/180), 0.05)
		if dx*dx+dy*dy >= t2 {
			out = append(out, p)
		}
	}
	return append(out, r[len(r)-1])
}

// clip cuts a closed ring to a box (Sutherland-Hodgman: exact for a
// convex window; edges along the box are fine for a filled shape).
func clip(r []geo.Point, s, w, n, e float64) []geo.Point {
	pts := r[:len(r)-1]
	type edge struct {
		in func(p geo.Point) bool
		at func(a, b geo.Point) geo.Point
	}
	lerpLon := func(a, b geo.Point, lon float64) geo.Point {
		t := (lon - a.Lon) / (b.Lon - a.Lon)
		return geo.Point{Lat: a.Lat + t*(b.Lat-a.Lat), Lon: lon}
	}
	lerpLat := func(a, b geo.Point, lat float64) geo.Point {
		t := (lat - a.Lat) / (b.Lat - a.Lat)
		return geo.Point{Lat: lat, Lon: a.Lon + t*(b.Lon-a.Lon)}
	}
	edges := []edge{
		{func(p geo.Point) bool { return p.Lon >= w }, func(a, b geo.Point) geo.Point { return lerpLon(a, b, w) }},
		{func(p geo.Point) bool { return p.Lon <= e }, func(a, b geo.Point) geo.Point { return lerpLon(a, b, e) }},
		{func(p geo.Point) bool { return p.Lat >= s }, func(a, b geo.Point) geo.Point { return lerpLat(a, b, s) }},
		{func(p geo.Point) bool { return p.Lat <= n }, func(a, b geo.Point) geo.Point { return lerpLat(a, b, n) }},
	}
	for _, ed := range edges {
		if len(pts) == 0 {
			return nil
		}
		var out []geo.Point
		prev := pts[len(pts)-1]
		for _, cur := range pts {
			ci, pi := ed.in(cur), ed.in(prev)
			if ci {
				if !pi {
					out = append(out, ed.at(prev, cur))
				}
				out = append(out, cur)
			} else if pi {
				out = append(out, ed.at(prev, cur))
			}
			prev = cur
		}
		pts = out
	}
	if len(pts) < 3 {
		return nil
	}
	return append(pts, pts[0])
}

// landGeoJSON writes the land in a box at a zoom as a GeoJSON
// MultiPolygon.
func (g *geoCache) landGeoJSON(s, w, n, e float64, z int) ([]byte, error) {
	l, err := g.level(z)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString(`{"type":"Feature","properties":{"name":"land","source":"Natural Earth 1:10m"},"geometry":{"type":"MultiPolygon","coordinates":[`)
	first := true
	prec := 2 + min(z/2, 3)
	for _, p := range l.polys {
		if p.maxLat < s || p.minLat > n || p.maxLon < w || p.minLon > e {
			continue
		}
		inside := p.minLat >= s && p.maxLat <= n && p.minLon >= w && p.maxLon <= e
		var rings [][]geo.Point
		for _, r := range p.rings {
			if !inside {
				r = clip(r, s, w, n, e)
			}
			if len(r) >= 4 {
				rings = append(rings, r)
			} else if len(rings) == 0 {
				break // the outer ring is gone: so are its holes
			}
		}
		if len(rings) == 0 {
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		buf.WriteByte('[')
		for i, r := range rings {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeRing(&buf, r, prec)
		}
		buf.WriteByte(']')
	}
	buf.WriteString("]}}\n")
	return buf.Bytes(), nil
}

func writeRing(buf *bytes.Buffer, r []geo.Point, prec int) {
	buf.WriteByte('[')
	for i, p := range r {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('[')
		buf.WriteString(strconv.FormatFloat(p.Lon, 'f', prec, 64))
		buf.WriteByte(',')
		buf.WriteString(strconv.FormatFloat(p.Lat, 'f', prec, 64))
		buf.WriteByte(']')
	}
	buf.WriteByte(']')
}

func (h *Handler) landJSON(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query()
	b, err := parseBBox(q.Get("bbox"))
	if err != nil {
		return err
	}
	z, err := strconv.Atoi(q.Get("zoom"))
	if err != nil || z < 0 || z > 20 {
		return app.Errorf(app.CodeInvalid, "zoom %q: 0 to 20", q.Get("zoom"))
	}
	west, east := b.West, b.East
	if west > east { // across the antimeridian: draw the whole band
		west, east = -180, 180
	}
	out, err := h.geo.landGeoJSON(b.South, west, b.North, east, z)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/geo+json")
	w.Write(out)
	return nil
}

func (h *Handler) zonesJSON(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	g, err := h.svc.Geography()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString(`{"type":"FeatureCollection","features":[`)
	for i, z := range g.Zones {
		if i > 0 {
			buf.WriteByte(',')
		}
		props := map[string]string{"id": z.ID, "name": z.Name, "kind": z.Kind, "source": z.Source}
		buf.WriteString(`{"type":"Feature","properties":`)
		jsonTo(&buf, props)
		buf.WriteString(`,"geometry":{"type":"MultiPolygon","coordinates":[`)
		for j, ring := range z.Rings() {
			if j > 0 {
				buf.WriteByte(',')
			}
			buf.WriteByte('[')
			writeRing(&buf, ring, 4)
			buf.WriteByte(']')
		}
		buf.WriteString("]}}")
	}
	buf.WriteString("]}\n")
	w.Header().Set("Content-Type", "application/geo+json")
	w.Write(buf.Bytes())
	return nil
}

// portsJSON: the World Port Index's ports in the box (DPRK ports marked);
// at small zooms only DPRK ports.
func (h *Handler) portsJSON(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query()
	b, err := parseBBox(q.Get("bbox"))
	if err != nil {
		return err
	}
	z, err := strconv.Atoi(q.Get("zoom"))
	if err != nil || z < 0 || z > 20 {
		return app.Errorf(app.CodeInvalid, "zoom %q: 0 to 20", q.Get("zoom"))
	}
	g, err := h.svc.Geography()
	if err != nil {
		return err
	}
	var ports []geo.Port
	if z >= 6 {
		ports = g.Ports.Within(b.South, b.West, b.North, b.East, "wpi", 800)
	} else {
		for _, p := range g.Ports.DPRKPorts() {
			if b.Contains(p.Lat, p.Lon) {
				ports = append(ports, p)
			}
		}
	}
	var buf bytes.Buffer
	buf.WriteString(`{"type":"FeatureCollection","features":[`)
	for i, p := range ports {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"type":"Feature","properties":`)
		jsonTo(&buf, map[string]any{"name": p.Name, "country": p.Country, "locode": p.LOCODE, "dprk": p.DPRK})
		fmt.Fprintf(&buf, `,"geometry":{"type":"Point","coordinates":[%.4f,%.4f]}}`, p.Lon, p.Lat)
	}
	buf.WriteString("]}\n")
	w.Header().Set("Content-Type", "application/geo+json")
	w.Write(buf.Bytes())
	return nil
}
