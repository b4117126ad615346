package report

import (
	"math"
	"time"
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
