// Package geo answers the geographic questions the detectors ask, fast:
// great-circle distances, whether a point is on land and how far it is from
// the shore (Natural Earth 1:10m land, embedded), which ports and
// anchorages are near, and which zones a point is in.
package geo

import "math"

// EarthRadius is the mean Earth radius in metres (IUGG).
const EarthRadius = 6371008.8

// NauticalMile in metres.
const NauticalMile = 1852.0

// Distance is the great-circle (haversine) distance in metres.
func Distance(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * EarthRadius * math.Asin(math.Min(1, math.Sqrt(a)))
}

// DistanceBound is an upper bound on Distance with no trigonometry: the
// length of a path along a meridian and then the equator-length parallel,
// R(|dLat| + |dLon|), which no great circle exceeds. Callers that only
// need "is it within x metres" skip the haversine when the bound already
// says yes. Longitude differences are taken the short way round.
func DistanceBound(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLon := math.Abs(lon2 - lon1)
	if dLon > 180 {
		dLon = 360 - dLon
	}
	return EarthRadius * (math.Abs(lat2-lat1) + dLon) * rad
}

// Point is a position in degrees.
type Point struct {
	Lat, Lon float64
}

// segDistance is the distance in metres from p to the segment a-b, on a
// local equirectangular projection centred on p: exact enough at the
// scale of a coastline segment (tens of kilometres at most), and far
// cheaper than spherical geometry.
func segDistance(p, a, b Point) float64 {
	const rad = math.Pi / 180
	k := math.Cos(p.Lat * rad)
	// Bring longitudes within 180 degrees of p (segments near the antimeridian).
	ax, bx := wrapNear(a.Lon, p.Lon), wrapNear(b.Lon, p.Lon)
	x1, y1 := (ax-p.Lon)*k, a.Lat-p.Lat
	x2, y2 := (bx-p.Lon)*k, b.Lat-p.Lat
	dx, dy := x2-x1, y2-y1
	t := 0.0
	if l := dx*dx + dy*dy; l > 0 {
		t = math.Max(0, math.Min(1, -(x1*dx+y1*dy)/l))
	}
	x, y := x1+t*dx, y1+t*dy
	return math.Sqrt(x*x+y*y) * rad * EarthRadius
}

func wrapNear(lon, ref float64) float64 {
	for lon-ref > 180 {
		lon -= 360
	}
	for lon-ref < -180 {
		lon += 360
	}
	return lon
}
