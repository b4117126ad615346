package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Point is one stored position.
type Point struct {
	Time    time.Time `json:"t"`
	Lat     float64   `json:"lat"`
	Lon     float64   `json:"lon"`
	SOG     float64   `json:"sog"` // knots; NaN when none
	COG     float64   `json:"cog"` // degrees; NaN when none
	Segment int       `json:"seg,omitempty"`
}

// Chunk is a run of one MMSI's positions in time order, encoded compactly:
// the way time-series databases store series, one row per chunk rather
// than per point (the embedded SQL engines insert 70-100k rows a second,
// far below the positions a feed delivers).
type Chunk struct {
	MMSI  uint32
	Start time.Time // first point
	End   time.Time // last point
	N     int       // points in Data
	Fixes int64     // positions received for the span, kept or not
	Data  []byte
}

// Encoding: a version byte, then per point the time delta in milliseconds
// from the previous point (the first from Start), latitude and longitude
// deltas in AIS's own unit (1/600,000 degree, so AIS positions round-trip
// exactly), speed in 0.1 kn + 1 and course in 0.1 degree + 1 (0 = not
// available), and the track segment, all varints. A typical point takes
// 6-9 bytes against 48 in memory.
const (
	chunkVersion = 1
	coordUnit    = 600000.0
)

// ChunkEncoder appends points to a chunk's data.
type ChunkEncoder struct {
	buf              []byte
	n                int
	start, last      int64 // ms
	lastLat, lastLon int64
}

// Reset starts a new chunk.
func (e *ChunkEncoder) Reset() {
	e.buf = append(e.buf[:0], chunkVersion)
	e.n = 0
}

// Len is the number of points appended since Reset.
func (e *ChunkEncoder) Len() int { return e.n }

// Bytes is the encoded data so far (valid until the next Append or Reset).
func (e *ChunkEncoder) Bytes() []byte { return e.buf }

// Append adds a point. Points must come in time order.
func (e *ChunkEncoder) Append(p Point) error {
	if len(e.buf) == 0 {
		e.Reset()
	}
	ms := p.Time.UnixMilli()
	lat := int64(math.Round(p.Lat * coordUnit))
	lon := int64(math.Round(p.Lon * coordUnit))
	if e.n == 0 {
		e.start, e.last, e.lastLat, e.lastLon = ms, ms, 0, 0
	}
	if ms < e.last {
		return fmt.Errorf("chunk: point at %s before the previous one", p.Time.UTC().Format(time.RFC3339))
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(ms-e.last))
	e.buf = binary.AppendVarint(e.buf, lat-e.lastLat)
	e.buf = binary.AppendVarint(e.buf, lon-e.lastLon)
	e.buf = binary.AppendUvarint(e.buf, tenths(p.SOG))
	e.buf = binary.AppendUvarint(e.buf, tenths(p.COG))
	e.buf = binary.AppendUvarint(e.buf, uint64(p.Segment))
	e.last, e.lastLat, e.lastLon = ms, lat, lon
	e.n++
	return nil
}

func tenths(v float64) uint64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return uint64(math.Round(v*10)) + 1
}

func fromTenths(u uint64) float64 {
	if u == 0 {
		return math.NaN()
	}
	return float64(u-1) / 10
}

// ErrCorruptChunk reports chunk data that does not decode.
var ErrCorruptChunk = errors.New("corrupt chunk")

// DecodeChunk appends the points of data to dst. start is the chunk's
// first point time.
func DecodeChunk(dst []Point, start time.Time, data []byte) ([]Point, error) {
	if len(data) == 0 || data[0] != chunkVersion {
		return dst, fmt.Errorf("%w: unknown version", ErrCorruptChunk)
	}
	d := data[1:]
	ms := start.UnixMilli()
	var lat, lon int64
	next := func() uint64 {
		v, n := binary.Uvarint(d)
		if n <= 0 {
			d = nil
			return math.MaxUint64
		}
		d = d[n:]
		return v
	}
	nextSigned := func() int64 {
		v, n := binary.Varint(d)
		if n <= 0 {
			d = nil
			return math.MaxInt64
		}
		d = d[n:]
		return v
	}
	first := true
	for len(d) > 0 {
		dt := next()
		dlat := nextSigned()
		dlon := nextSigned()
		sog := next()
		cog := next()
		seg := next()
		if d == nil || seg > math.MaxInt32 {
			return dst, fmt.Errorf("%w: truncated point", ErrCorruptChunk)
		}
		if first {
			dt, first = 0, false // the first delta is from itself
		}
		ms += int64(dt)
		lat += dlat
		lon += dlon
		dst = append(dst, Point{Time: time.UnixMilli(ms).UTC(), Lat: float64(lat) / coordUnit, Lon: float64(lon) / coordUnit,
			SOG: fromTenths(sog), COG: fromTenths(cog), Segment: int(seg)})
	}
	return dst, nil
}
