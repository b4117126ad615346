package app

import (
	"context"
	"math"
	"time"

	"github.com/tidewatch/tidewatch/store"
)

// What the web interface needs of the core beyond the API's use cases: a
// track drawn for a map at a zoom level.

// TrackViewRequest asks for a transmitter's track as a map shows it.
type TrackViewRequest struct {
	MMSI     uint32
	From, To time.Time
	// Area keeps the points inside it, and the one either side of each
	// run inside, so lines leave the view where the ship did (nil: all).
	Area *store.BBox
	// Tolerance drops a point closer than this to the last point kept, in
	// degrees of longitude on a Mercator map (a pixel at the map's zoom;
	// 0 keeps every point). Latitude differences are scaled by
	// 1/cos(latitude), as the map draws them.
	Tolerance float64
	// MaxPoints caps the answer: what is left after the tolerance is
	// thinned evenly (0: no cap).
	MaxPoints int
}

// ViewPoint is a position drawn on a map.
type ViewPoint struct {
	Time     time.Time
	Lat, Lon float64
	// Break: no line from the previous point (a new track segment, or
	// positions left out between them because they lay outside the area).
	Break bool
}

// TrackView is a track ready to draw.
type TrackView struct {
	Points []ViewPoint
	// Stored is how many positions the store holds in the period; InArea
	// how many of them lay in the area.
	Stored, InArea int
}

// MaxTrackViewPoints bounds one answer.
const MaxTrackViewPoints = 200000

// TrackView returns a transmitter's positions thinned for a map: only the
// area on screen, and no two points within a pixel of each other, so a
// twelve-month track of hundreds of thousands of positions draws in a few
// thousand points at any zoom, keeping its shape where the ship turned.
func (s *Service) TrackView(ctx context.Context, p Principal, req TrackViewRequest) (TrackView, error) {
	if err := p.need(RoleViewer, "reading a track"); err != nil {
		return TrackView{}, err
	}
	if req.MMSI == 0 {
		return TrackView{}, Errorf(CodeInvalid, "a track is per transmitter: give an MMSI")
	}
	if !req.To.After(req.From) {
		return TrackView{}, Errorf(CodeInvalid, "the track's end must be after its start")
	}
	if req.Tolerance < 0 || math.IsNaN(req.Tolerance) || req.Tolerance > 10 {
		return TrackView{}, Errorf(CodeInvalid, "tolerance %v: 0 to 10 degrees", req.Tolerance)
	}
	if req.MaxPoints < 0 || req.MaxPoints > MaxTrackViewPoints {
		return TrackView{}, Errorf(CodeInvalid, "max points %d: 0 to %d", req.MaxPoints, MaxTrackViewPoints)
	}
	if b := req.Area; b != nil && (b.South < -90 || b.North > 90 || b.South > b.North || b.West < -180 || b.East > 180) {
		return TrackView{}, Errorf(CodeInvalid, "area: south,west,north,east in degrees, south <= north")
	}
	pts, err := s.st.Track(ctx, req.MMSI, req.From, req.To)
	if err != nil {
		return TrackView{}, err
	}
	return thinTrack(pts, req), nil
}

// thinTrack keeps the points a map needs (see TrackView).
func thinTrack(pts []store.Point, req TrackViewRequest) TrackView {
	tv := TrackView{Stored: len(pts)}
	in := func(i int) bool { return req.Area == nil || req.Area.Contains(pts[i].Lat, pts[i].Lon) }
	keep := make([]bool, len(pts))
	for i := range pts {
		if in(i) {
			tv.InArea++
			keep[i] = true
			if i > 0 {
				keep[i-1] = true
			}
			if i+1 < len(pts) {
				keep[i+1] = true
			}
		}
	}
	out := make([]ViewPoint, 0, min(len(pts), 4096))
	tol2 := req.Tolerance * req.Tolerance
	var last store.Point
	pending := -1 // a point skipped by the tolerance, kept if the run ends on it
	brk := true
	for i, pt := range pts {
		if !keep[i] {
			if pending >= 0 {
				out = append(out, ViewPoint{Time: pts[pending].Time, Lat: pts[pending].Lat, Lon: pts[pending].Lon})
				pending = -1
			}
			brk = true
			continue
		}
		newSeg := i > 0 && pt.Segment != pts[i-1].Segment
		if newSeg && pending >= 0 {
			out = append(out, ViewPoint{Time: pts[pending].Time, Lat: pts[pending].Lat, Lon: pts[pending].Lon})
			pending = -1
		}
		if !brk && !newSeg && tol2 > 0 {
			dx := pt.Lon - last.Lon
			dy := (pt.Lat - last.Lat) / math.Max(math.Cos(pt.Lat*math.Pi/180), 0.01)
			if dx*dx+dy*dy < tol2 {
				pending = i
				continue
			}
		}
		out = append(out, ViewPoint{Time: pt.Time, Lat: pt.Lat, Lon: pt.Lon, Break: brk || newSeg})
		last, brk, pending = pt, false, -1
	}
	if pending >= 0 {
		out = append(out, ViewPoint{Time: pts[pending].Time, Lat: pts[pending].Lat, Lon: pts[pending].Lon})
	}
	if req.MaxPoints > 0 && len(out) > req.MaxPoints {
		step := (len(out) + req.MaxPoints - 1) / req.MaxPoints
		thin := make([]ViewPoint, 0, req.MaxPoints+1)
		carry := false
		for i, v := range out {
			carry = carry || v.Break
			if i%step != 0 && i != len(out)-1 {
				continue
			}
			v.Break = carry
			carry = false
			thin = append(thin, v)
		}
		out = thin
	}
	if len(out) > 0 {
		out[0].Break = true
	}
	tv.Points = out
	return tv
}
