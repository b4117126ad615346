package ais

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/internal/termtext"
)

// Source yields messages from some input: NMEA text, a decoded CSV export
// or a live feed. Next returns io.EOF at the end.
type Source interface {
	Next(m *Message) error
	Stats() *Stats
}

// Stats returns the reader's counts.
func (r *Reader) Stats() *Stats { return &r.Decoder.Stats }

// csvLayout names a decoded-CSV layout.
type csvLayout int

const (
	layoutMarineCadastre csvLayout = iota + 1 // US MarineCadastre / NOAA AccessAIS
	layoutDMA                                 // Danish Maritime Authority aisdata
)

// CSVReader reads decoded AIS exports: US MarineCadastre daily files
// (MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,
// VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass) and Danish
// Maritime Authority files (# Timestamp,Type of mobile,MMSI,Latitude,...).
//
// Each row yields a position report (type 1 for class A, 18 for class B)
// and, when the row's static fields differ from the last ones seen for
// that MMSI or StaticEvery has passed since they were last given, a
// static report (type 5 for class A; type 24 parts A and B for class B),
// so downstream code sees what an NMEA feed would give: a transponder
// repeats its static data every six minutes, and an identity that stays
// in use (one IMO from two MMSIs) is seen to last, not to happen once. CSV
// exports give length and width, not the antenna position: they are
// written as to_bow = length, to_port = width, with stern and starboard 0.
type CSVReader struct {
	r      *csv.Reader
	layout csvLayout
	col    map[string]int
	// idx holds the column of each field the layout reads (-1: absent),
	// looked up once from the header instead of by name on every row.
	idx    [numCSVFields]int
	stats  Stats
	queue  []Message
	head   int                   // next message of queue to hand out
	static map[uint32]StaticSeen // MMSI -> last static fields emitted
	key    []byte                // scratch for the static fields' key
	// seed, when set, is another reader's memory of the same file up to
	// where this reader starts (SeedStatic); used holds the entries read.
	seed, used map[uint32]StaticSeen
}

// StaticEvery is how often a CSV export's unchanged static fields are
// given again: AIS class A repeats its static report every 6 minutes.
const StaticEvery = 6 * time.Minute

// StaticSeen is what a CSV reader remembers of the static data it last
// gave for an MMSI: a hash of the fields (FNV-1a, 64 bits) and the row's
// time (Unix seconds).
type StaticSeen struct {
	Key uint64
	At  int64
}

// SeedStatic makes the reader start from what a reader of the same file
// remembered where this one starts: a file read in blocks (the AIS
// pipeline publishes CSV so) then gives, block by block, the static
// reports one reader of the whole file gives. The reader never changes
// seed; SeedUsed says which of its entries it read.
func (c *CSVReader) SeedStatic(seed map[uint32]StaticSeen) {
	c.seed, c.used = seed, map[uint32]StaticSeen{}
}

// SeedUsed returns the entries of the seed the reader has read: those of
// the MMSIs it met (what a reader of the same rows needs to be seeded
// with).
func (c *CSVReader) SeedUsed() map[uint32]StaticSeen { return c.used }

// Static returns what the reader remembers of the rows it read (the
// seed left out): with the seed, what a reader of the rows after needs.
func (c *CSVReader) Static() map[uint32]StaticSeen { return c.static }

// The fields a CSV export gives, by meaning; csvNames has each layout's
// column names for them.
const (
	fMMSI = iota
	fTime
	fLat
	fLon
	fSOG
	fCOG
	fHeading
	fName
	fCallSign
	fIMO
	fShipType
	fStatus
	fDraught
	fLength
	fWidth
	fClass
	numCSVFields
)

var csvNames = map[csvLayout][numCSVFields]string{
	layoutMarineCadastre: {fMMSI: "mmsi", fTime: "basedatetime", fLat: "lat", fLon: "lon", fSOG: "sog", fCOG: "cog",
		fHeading: "heading", fName: "vesselname", fCallSign: "callsign", fIMO: "imo", fShipType: "vesseltype",
		fStatus: "status", fDraught: "draft", fLength: "length", fWidth: "width", fClass: "transceiverclass"},
	layoutDMA: {fMMSI: "mmsi", fTime: "timestamp", fLat: "latitude", fLon: "longitude", fSOG: "sog", fCOG: "cog",
		fHeading: "heading", fName: "name", fCallSign: "callsign", fIMO: "imo", fShipType: "ship type",
		fStatus: "navigational status", fDraught: "draught", fLength: "length", fWidth: "width", fClass: "type of mobile"},
}

// ErrNotCSVExport reports a CSV whose header is not a known layout.
var ErrNotCSVExport = errors.New("not a MarineCadastre or DMA AIS CSV export")

// NewCSVReader reads the header and detects the layout.
func NewCSVReader(r io.Reader) (*CSVReader, error) {
	// encoding/csv reads a record whole, however long: a line is held to
	// MaxCSVLine bytes, so a file of one endless line is refused at once
	// rather than read into memory.
	cr := csv.NewReader(&lineLimit{r: r, max: MaxCSVLine})
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.LazyQuotes = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("CSV header: %w", err)
	}
	c := &CSVReader{r: cr, col: map[string]int{}, static: map[uint32]StaticSeen{}}
	for i, h := range head {
		// A byte order mark before a quoted first name leaves the quotes
		// in the field (the CSV reader sees a bare field): trimmed too.
		h = strings.TrimSpace(strings.TrimPrefix(strings.Trim(strings.TrimPrefix(h, "\ufeff"), `"`), "#"))
		c.col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	switch {
	case c.has("mmsi", "basedatetime", "lat", "lon"):
		c.layout = layoutMarineCadastre
	case c.has("timestamp", "mmsi", "latitude", "longitude"):
		c.layout = layoutDMA
	default:
		return nil, fmt.Errorf("%w (header %q)", ErrNotCSVExport, termtext.Clip(strings.Join(head, ","), 200))
	}
	for f, name := range csvNames[c.layout] {
		c.idx[f] = -1
		if i, ok := c.col[name]; ok {
			c.idx[f] = i
		}
	}
	return c, nil
}

func (c *CSVReader) has(names ...string) bool {
	for _, n := range names {
		if _, ok := c.col[n]; !ok {
			return false
		}
	}
	return true
}

// Stats returns the reader's counts. Rows that cannot be used are counted
// under ReasonBadField (bad values) or ReasonMalformed (unreadable rows).
func (c *CSVReader) Stats() *Stats { return &c.stats }

// Next yields the next message.
func (c *CSVReader) Next(m *Message) error {
	for {
		if c.head < len(c.queue) {
			*m = c.queue[c.head]
			c.head++
			c.count(m)
			return nil
		}
		clear(c.queue) // the strings the messages held
		c.queue, c.head = c.queue[:0], 0
		rec, err := c.r.Read()
		if err == io.EOF {
			return io.EOF
		}
		c.stats.Lines++
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				c.stats.Errors[ReasonMalformed]++
				continue
			}
			return err
		}
		if !c.row(rec) {
			c.stats.Errors[ReasonBadField]++
		}
	}
}

// Offset is the input's byte offset where the next row starts (after
// NewCSVReader: the header's end), counted on the bytes given to
// NewCSVReader (past any gzip layer).
func (c *CSVReader) Offset() int64 { return c.r.InputOffset() }

// NextRow reads one row and appends the messages it yields to dst (none
// for a row that cannot be used, counted as Next counts it), and returns
// the offset of the row's end: a caller holding the input cuts the row's
// bytes out with Offset before and after (case files keep rows so).
// It returns io.EOF at the end.
func (c *CSVReader) NextRow(dst []Message) ([]Message, int64, error) {
	clear(c.queue)
	c.queue, c.head = c.queue[:0], 0
	rec, err := c.r.Read()
	if err == io.EOF {
		return dst, c.r.InputOffset(), io.EOF
	}
	c.stats.Lines++
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			c.stats.Errors[ReasonMalformed]++
			return dst, c.r.InputOffset(), nil
		}
		return dst, c.r.InputOffset(), err
	}
	if !c.row(rec) {
		c.stats.Errors[ReasonBadField]++
	}
	for i := range c.queue {
		c.count(&c.queue[i])
		dst = append(dst, c.queue[i])
	}
	c.head = len(c.queue)
	return dst, c.r.InputOffset(), nil
}

func (c *CSVReader) count(m *Message) {
	c.stats.Messages++
	c.stats.ByType[m.Type&63]++
	if !m.Time.IsZero() {
		if c.stats.First.IsZero() || m.Time.Before(c.stats.First) {
			c.stats.First = m.Time
		}
		if m.Time.After(c.stats.Last) {
			c.stats.Last = m.Time
		}
	}
}

// get returns field f of a row, trimmed; "" when absent or marked not
// available.
func (c *CSVReader) get(rec []string, f int) string {
	i := c.idx[f]
	if i < 0 || i >= len(rec) {
		return ""
	}
	v := strings.TrimSpace(rec[i])
	switch v {
	case "NA", "Unknown", "Undefined", "Unknown value", "N/A":
		return ""
	}
	return v
}

// row turns one CSV row into queued messages; false when it is unusable.
func (c *CSVReader) row(rec []string) bool {
	var p Message
	mmsi, err := strconv.ParseUint(c.get(rec, fMMSI), 10, 32)
	if err != nil || mmsi > 999999999 {
		return false
	}
	p.MMSI = uint32(mmsi)
	var classB bool
	var tm time.Time
	lat, lon, sog, cog, heading := c.get(rec, fLat), c.get(rec, fLon), c.get(rec, fSOG), c.get(rec, fCOG), c.get(rec, fHeading)
	name, callsign, imo := c.get(rec, fName), c.get(rec, fCallSign), c.get(rec, fIMO)
	draught, length, width := c.get(rec, fDraught), c.get(rec, fLength), c.get(rec, fWidth)
	var shiptype, status string
	switch c.layout {
	case layoutMarineCadastre:
		tm, err = parseMarineCadastreTime(c.get(rec, fTime))
		shiptype, status = c.get(rec, fShipType), c.get(rec, fStatus)
		classB = c.get(rec, fClass) == "B"
	case layoutDMA:
		tm, err = time.Parse("02/01/2006 15:04:05", c.get(rec, fTime))
		shiptype, status = dmaShipType(c.get(rec, fShipType)), dmaNavStatus(c.get(rec, fStatus))
		switch c.get(rec, fClass) {
		case "Class A":
		case "Class B":
			classB = true
		default:
			return true // base stations, AtoN, SAR aircraft: not vessels; skipped
		}
	}
	if err == nil && !PlausibleTime(tm) {
		err = errTimeRange
	}
	if err != nil {
		return false
	}
	p.Time = tm.UTC()
	p.Type = 1
	if classB {
		p.Type = 18
	}
	p.Turn = -128
	p.Status = 15
	if v, ok := parseUint(status); ok && v <= 15 {
		p.Status = uint8(v)
	}
	p.LatRaw, p.LonRaw = 91*600000, 181*600000
	la, e1 := strconv.ParseFloat(lat, 64)
	lo, e2 := strconv.ParseFloat(lon, 64)
	if e1 == nil && e2 == nil && math.Abs(la) <= 90 && math.Abs(lo) <= 180 {
		p.LatRaw, p.LonRaw = int32(math.Round(la*600000)), int32(math.Round(lo*600000))
	}
	p.SpeedRaw = 1023
	if v, err := strconv.ParseFloat(sog, 64); err == nil && v >= 0 && v < 102.25 {
		p.SpeedRaw = uint16(math.Round(v * 10))
	}
	p.Course = 3600
	if v, err := strconv.ParseFloat(cog, 64); err == nil && v >= 0 && v < 360 {
		p.Course = uint16(math.Round(v*10)) % 3600
	}
	p.Heading = 511
	if v, ok := parseUint(heading); ok && v < 360 {
		p.Heading = uint16(v)
	}
	p.Second = 60
	p.PayloadBits = 168
	c.queue = append(c.queue, p)

	// Static data, emitted when it changes and every StaticEvery.
	var s Message
	s.Time, s.MMSI = p.Time, p.MMSI
	s.ShipName = name
	s.CallSign = callsign
	if n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(imo), "IMO"), 10, 32); err == nil {
		s.IMO = uint32(n)
	}
	if v, ok := parseUint(shiptype); ok && v < 256 {
		s.ShipType = uint8(v)
	}
	if v, err := strconv.ParseFloat(draught, 64); err == nil && v > 0 && v < 25.5 {
		s.Draught = uint8(math.Round(v * 10))
	}
	if v, ok := parseUint(length); ok && v < 512 {
		s.ToBow = uint16(v)
	}
	if v, ok := parseUint(width); ok && v < 64 {
		s.ToPort = uint8(v)
	}
	if s.ShipName == "" && s.CallSign == "" && s.IMO == 0 && s.ShipType == 0 && s.ToBow == 0 {
		return true
	}
	k := append(c.key[:0], s.ShipName...)
	k = append(append(k, '|'), s.CallSign...)
	for _, v := range [...]uint64{uint64(s.IMO), uint64(s.ShipType), uint64(s.Draught), uint64(s.ToBow), uint64(s.ToPort)} {
		k = strconv.AppendUint(append(k, '|'), v, 10)
	}
	k = strconv.AppendBool(append(k, '|'), classB)
	c.key = k
	h := uint64(14695981039346656037) // FNV-1a
	for _, b := range k {
		h = (h ^ uint64(b)) * 1099511628211
	}
	at := s.Time.Unix()
	last, ok := c.static[s.MMSI]
	if !ok && c.seed != nil {
		if last, ok = c.seed[s.MMSI]; ok {
			c.used[s.MMSI] = last
		}
	}
	if ok && last.Key == h {
		if d := at - last.At; d < int64(StaticEvery/time.Second) && d > -int64(StaticEvery/time.Second) {
			return true
		}
	}
	c.static[s.MMSI] = StaticSeen{h, at}
	if !classB {
		s.Type = 5
		s.PayloadBits = 424
		c.queue = append(c.queue, s)
		return true
	}
	a := s
	a.Type, a.PartNo, a.PayloadBits = 24, 0, 160
	a.CallSign, a.ShipType, a.ToBow, a.ToPort, a.IMO, a.Draught = "", 0, 0, 0, 0, 0
	b := s
	b.Type, b.PartNo, b.PayloadBits = 24, 1, 168
	b.ShipName, b.IMO, b.Draught = "", 0, 0
	c.queue = append(c.queue, a, b)
	return true
}

// parseMarineCadastreTime reads "2006-01-02T15:04:05" as time.Parse does,
// without its general layout machinery (a call per row of a 7-million-row
// day); anything else is left to time.Parse, which gives the same result
// or error (TestParseMarineCadastreTime).
func parseMarineCadastreTime(v string) (time.Time, error) {
	const layout = "2006-01-02T15:04:05"
	if len(v) != len(layout) || v[4] != '-' || v[7] != '-' || v[10] != 'T' || v[13] != ':' || v[16] != ':' {
		return time.Parse(layout, v)
	}
	num := func(i, n int) int {
		x := 0
		for _, c := range []byte(v[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			x = x*10 + int(c-'0')
		}
		return x
	}
	y, mo, d, h, mi, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return time.Parse(layout, v)
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	if t.Day() != d { // the 31st of a 30-day month and the like: time.Parse says why
		return time.Parse(layout, v)
	}
	return t, nil
}

func parseUint(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f == math.Trunc(f) {
		return uint64(f), true
	}
	return 0, false
}

// dmaShipType maps DMA's ship type words to the AIS code of the category
// (the ship and cargo type codes of ITU-R M.1371).
func dmaShipType(s string) string {
	codes := map[string]string{
		"fishing": "30", "towing": "31", "towing long/wide": "32", "dredging": "33", "diving": "34",
		"military": "35", "sailing": "36", "pleasure": "37", "hsc": "40", "pilot": "50", "sar": "51",
		"tug": "52", "port tender": "53", "anti-pollution": "54", "law enforcement": "55",
		"medical": "58", "passenger": "60", "cargo": "70", "tanker": "80", "other": "90",
	}
	return codes[strings.ToLower(s)]
}

// dmaNavStatus maps DMA's status words to M.1371 navigational status codes.
func dmaNavStatus(s string) string {
	codes := map[string]string{
		"under way using engine": "0", "at anchor": "1", "not under command": "2",
		"restricted manoeuverability": "3", "restricted maneuverability": "3",
		"constrained by her draught": "4", "moored": "5", "aground": "6",
		"engaged in fishing": "7", "under way sailing": "8", "ais-sart": "14",
	}
	return codes[strings.ToLower(s)]
}

// MaxCSVLine is the longest line a CSV export may have (its rows are a
// few hundred bytes).
const MaxCSVLine = 64 << 10

// ErrCSVLineTooLong reports a line longer than MaxCSVLine.
var ErrCSVLineTooLong = fmt.Errorf("CSV line longer than %d bytes", MaxCSVLine)

// lineLimit fails a read once a line passes max bytes.
type lineLimit struct {
	r    io.Reader
	max  int
	line int // bytes since the last newline
}

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	b := p[:n]
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			l.line += len(b)
			break
		}
		if l.line+i > l.max {
			return n, ErrCSVLineTooLong
		}
		l.line = 0
		b = b[i+1:]
	}
	if l.line > l.max {
		return n, ErrCSVLineTooLong
	}
	return n, err
}
