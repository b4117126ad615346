package ais

import (
	"errors"
	"fmt"
	"time"
)

// Message is one decoded AIS message. It is flat, one struct for every type
// (as gpsd's is), so a reader can decode into the same value again and again
// without allocating. Fields hold the raw ITU-R M.1371 values; the accessor
// methods apply scaling and turn "not available" sentinels into ok=false.
// Which fields are meaningful depends on Type.
type Message struct {
	Type   uint8
	Repeat uint8
	MMSI   uint32

	// Time is when the message was received, from the input's tag block,
	// $PGHP line or epoch field; zero when the input carries none.
	Time time.Time
	// Source is the receiver or station id from the tag block (s:) or
	// trailing field, when given.
	Source string

	// Position reports (1, 2, 3, 4, 9, 18, 19, 21, 27).
	Status   uint8  // navigational status; 15 = not defined
	Turn     int8   // rate of turn, ROTais; -128 = not available
	SpeedRaw uint16 // tenths of a knot (types 9, 27: whole knots); 1023 (27: 63) = not available
	Accuracy bool
	LonRaw   int32  // 1/10000 minute (type 27: 1/10 minute); 181 degrees = not available
	LatRaw   int32  // 1/10000 minute (type 27: 1/10 minute); 91 degrees = not available
	Course   uint16 // tenths of a degree (type 27: degrees); 3600 (27: 511) = not available
	Heading  uint16 // degrees; 511 = not available
	Second   uint8  // UTC second of the fix; 60+ = not available
	Maneuver uint8
	RAIM     bool
	Radio    uint32
	Assigned bool
	Regional uint8
	DTE      bool
	GNSS     bool   // type 27: position latency
	Altitude uint16 // type 9, metres; 4095 = not available

	// Class B flags (18).
	CS, Display, DSC, Band, Msg22 bool
	Reserved                      uint8

	// Base station time (4), UTC.
	Year                              uint16
	Month, Day, Hour, Minute, UTCSec  uint8
	EPFD                              uint8
	AISVersion                        uint8
	ETAMonth, ETADay, ETAHour, ETAMin uint8

	// Static and voyage data (5, 19, 21, 24).
	IMO                     uint32
	ShipType                uint8
	ToBow, ToStern          uint16
	ToPort, ToStarboard     uint8
	Draught                 uint8 // tenths of a metre
	PartNo                  uint8 // type 24: 0 = part A, 1 = part B
	Model                   uint8
	Serial                  uint32
	MothershipMMSI          uint32
	AidType                 uint8
	OffPosition, VirtualAid bool
	// Text fields are strings: only static messages carry them, and a
	// string is safe to keep after the next message is decoded.
	CallSign, ShipName    string
	Destination, VendorID string
	// Payload holds the armoured payload of types Tidewatch does not decode
	// (6, 7, 8, 10-17, 20, 22, 23, 25, 26 and unknown), so nothing is lost.
	Payload []byte
	// PayloadBits is the message length in bits.
	PayloadBits int
}

// Decoded reports whether Tidewatch decodes this type's fields.
func Decoded(t uint8) bool {
	switch t {
	case 1, 2, 3, 4, 5, 9, 18, 19, 21, 24, 27:
		return true
	}
	return false
}

// Errors a payload can fail with. They are counted by reason.
var (
	ErrShortPayload = errors.New("payload shorter than its type requires")
	ErrUnknownType  = errors.New("message type not decoded")
)

// minBits is the shortest valid length per decoded type. Receivers often
// drop the spare bits at the end, so these are the last used bit, not the
// nominal length.
var minBits = [28]int{1: 149, 2: 149, 3: 149, 4: 149, 5: 420, 9: 148, 18: 148, 19: 307, 21: 272, 24: 160, 27: 96}

// decode fills m from the bits. It resets every field first.
func (m *Message) decode(bb *bitBuf) error {
	*m = Message{Time: m.Time, Source: m.Source, Payload: m.Payload[:0]}
	if bb.n < 38 {
		return ErrShortPayload
	}
	m.Type = uint8(bb.u(0, 6))
	m.Repeat = uint8(bb.u(6, 2))
	m.MMSI = bb.u(8, 30)
	m.PayloadBits = bb.n
	if int(m.Type) < len(minBits) && minBits[m.Type] > 0 && bb.n < minBits[m.Type] {
		// Type 24 part B is a little longer; checked below.
		return fmt.Errorf("type %d, %d bits: %w", m.Type, bb.n, ErrShortPayload)
	}
	switch m.Type {
	case 1, 2, 3:
		m.Status = uint8(bb.u(38, 4))
		m.Turn = int8(bb.s(42, 8))
		m.SpeedRaw = uint16(bb.u(50, 10))
		m.Accuracy = bb.flag(60)
		m.LonRaw = bb.s(61, 28)
		m.LatRaw = bb.s(89, 27)
		m.Course = uint16(bb.u(116, 12))
		m.Heading = uint16(bb.u(128, 9))
		m.Second = uint8(bb.u(137, 6))
		m.Maneuver = uint8(bb.u(143, 2))
		m.RAIM = bb.flag(148)
		m.Radio = bb.u(149, 19)
	case 4:
		m.Year = uint16(bb.u(38, 14))
		m.Month = uint8(bb.u(52, 4))
		m.Day = uint8(bb.u(56, 5))
		m.Hour = uint8(bb.u(61, 5))
		m.Minute = uint8(bb.u(66, 6))
		m.UTCSec = uint8(bb.u(72, 6))
		m.Accuracy = bb.flag(78)
		m.LonRaw = bb.s(79, 28)
		m.LatRaw = bb.s(107, 27)
		m.EPFD = uint8(bb.u(134, 4))
		m.RAIM = bb.flag(148)
		m.Radio = bb.u(149, 19)
	case 5:
		m.AISVersion = uint8(bb.u(38, 2))
		m.IMO = bb.u(40, 30)
		m.CallSign = bb.str(70, 7)
		m.ShipName = bb.str(112, 20)
		m.ShipType = uint8(bb.u(232, 8))
		m.ToBow = uint16(bb.u(240, 9))
		m.ToStern = uint16(bb.u(249, 9))
		m.ToPort = uint8(bb.u(258, 6))
		m.ToStarboard = uint8(bb.u(264, 6))
		m.EPFD = uint8(bb.u(270, 4))
		m.ETAMonth = uint8(bb.u(274, 4))
		m.ETADay = uint8(bb.u(278, 5))
		m.ETAHour = uint8(bb.u(283, 5))
		m.ETAMin = uint8(bb.u(288, 6))
		m.Draught = uint8(bb.u(294, 8))
		m.Destination = bb.str(302, 20)
		m.DTE = bb.n > 422 && bb.flag(422)
	case 9:
		m.Altitude = uint16(bb.u(38, 12))
		m.SpeedRaw = uint16(bb.u(50, 10))
		m.Accuracy = bb.flag(60)
		m.LonRaw = bb.s(61, 28)
		m.LatRaw = bb.s(89, 27)
		m.Course = uint16(bb.u(116, 12))
		m.Second = uint8(bb.u(128, 6))
		m.Regional = uint8(bb.u(134, 8))
		m.DTE = bb.flag(142)
		m.Assigned = bb.flag(146)
		m.RAIM = bb.flag(147)
		m.Radio = bb.u(148, 20)
	case 18:
		m.classBPosition(bb)
		m.Regional = uint8(bb.u(139, 2))
		m.CS = bb.flag(141)
		m.Display = bb.flag(142)
		m.DSC = bb.flag(143)
		m.Band = bb.flag(144)
		m.Msg22 = bb.flag(145)
		m.Assigned = bb.flag(146)
		m.RAIM = bb.flag(147)
		m.Radio = bb.u(148, 20)
	case 19:
		m.classBPosition(bb)
		m.Regional = uint8(bb.u(139, 4))
		m.ShipName = bb.str(143, 20)
		m.ShipType = uint8(bb.u(263, 8))
		m.ToBow = uint16(bb.u(271, 9))
		m.ToStern = uint16(bb.u(280, 9))
		m.ToPort = uint8(bb.u(289, 6))
		m.ToStarboard = uint8(bb.u(295, 6))
		m.EPFD = uint8(bb.u(301, 4))
		m.RAIM = bb.flag(305)
		m.DTE = bb.flag(306)
		m.Assigned = bb.n > 307 && bb.flag(307)
	case 21:
		m.AidType = uint8(bb.u(38, 5))
		// Names longer than 20 characters continue after the spare bit
		// (M.1371-5 message 21, "name of aid-to-navigation extension").
		var nb [40]byte
		raw := bb.textRaw(nb[:0], 43, 20)
		if ext := (bb.n - 272) / 6; ext > 0 {
			raw = bb.textRaw(raw, 272, min(ext, 14))
		}
		name := string(trimText(raw))
		m.Accuracy = bb.flag(163)
		m.LonRaw = bb.s(164, 28)
		m.LatRaw = bb.s(192, 27)
		m.ToBow = uint16(bb.u(219, 9))
		m.ToStern = uint16(bb.u(228, 9))
		m.ToPort = uint8(bb.u(237, 6))
		m.ToStarboard = uint8(bb.u(243, 6))
		m.EPFD = uint8(bb.u(249, 4))
		m.Second = uint8(bb.u(253, 6))
		m.OffPosition = bb.flag(259)
		m.Regional = uint8(bb.u(260, 8))
		m.RAIM = bb.flag(268)
		m.VirtualAid = bb.flag(269)
		m.Assigned = bb.flag(270)
		m.ShipName = name
	case 24:
		m.PartNo = uint8(bb.u(38, 2))
		switch m.PartNo {
		case 0:
			m.ShipName = bb.str(40, 20)
		case 1:
			if bb.n < 162 {
				return fmt.Errorf("type 24B, %d bits: %w", bb.n, ErrShortPayload)
			}
			m.ShipType = uint8(bb.u(40, 8))
			m.VendorID = bb.str(48, 3)
			m.Model = uint8(bb.u(66, 4))
			m.Serial = bb.u(70, 20)
			m.CallSign = bb.str(90, 7)
			if m.MMSI/10000000 == 98 { // craft associated with a parent ship
				m.MothershipMMSI = bb.u(132, 30)
			} else {
				m.ToBow = uint16(bb.u(132, 9))
				m.ToStern = uint16(bb.u(141, 9))
				m.ToPort = uint8(bb.u(150, 6))
				m.ToStarboard = uint8(bb.u(156, 6))
			}
		default:
			return fmt.Errorf("type 24 part number %d: %w", m.PartNo, ErrBadField)
		}
	case 27:
		m.Accuracy = bb.flag(38)
		m.RAIM = bb.flag(39)
		m.Status = uint8(bb.u(40, 4))
		m.LonRaw = bb.s(44, 18)
		m.LatRaw = bb.s(62, 17)
		m.SpeedRaw = uint16(bb.u(79, 6))
		m.Course = uint16(bb.u(85, 9))
		m.GNSS = bb.flag(94)
	default:
		return ErrUnknownType
	}
	return nil
}

// classBPosition reads bits 38-138, common to types 18 and 19.
func (m *Message) classBPosition(bb *bitBuf) {
	m.Reserved = uint8(bb.u(38, 8))
	m.SpeedRaw = uint16(bb.u(46, 10))
	m.Accuracy = bb.flag(56)
	m.LonRaw = bb.s(57, 28)
	m.LatRaw = bb.s(85, 27)
	m.Course = uint16(bb.u(112, 12))
	m.Heading = uint16(bb.u(124, 9))
	m.Second = uint8(bb.u(133, 6))
}

// ErrBadField reports a field value the standard does not allow.
var ErrBadField = errors.New("invalid field value")

// IsPosition reports whether the message carries a vessel position.
func (m *Message) IsPosition() bool {
	switch m.Type {
	case 1, 2, 3, 9, 18, 19, 27:
		return true
	}
	return false
}

// LatLon returns the position in degrees, ok=false when not available
// (lat 91, lon 181) or out of range.
func (m *Message) LatLon() (lat, lon float64, ok bool) {
	div := 600000.0
	if m.Type == 27 {
		div = 600.0
	}
	lat, lon = float64(m.LatRaw)/div, float64(m.LonRaw)/div
	if lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return lat, lon, false
	}
	return lat, lon, true
}

// SpeedKnots returns speed over ground, ok=false when not available.
// 102.2 means 102.2 knots or more.
func (m *Message) SpeedKnots() (float64, bool) {
	switch m.Type {
	case 27:
		return float64(m.SpeedRaw), m.SpeedRaw != 63
	case 9:
		return float64(m.SpeedRaw), m.SpeedRaw != 1023
	}
	return float64(m.SpeedRaw) / 10, m.SpeedRaw != 1023
}

// CourseDegrees returns course over ground, ok=false when not available.
func (m *Message) CourseDegrees() (float64, bool) {
	if m.Type == 27 {
		return float64(m.Course), m.Course < 360
	}
	return float64(m.Course) / 10, m.Course < 3600
}

// HeadingDegrees returns true heading, ok=false when not available (511).
func (m *Message) HeadingDegrees() (int, bool) { return int(m.Heading), m.Heading < 360 }

// DraughtMetres returns the static draught, ok=false when not available (0).
func (m *Message) DraughtMetres() (float64, bool) { return float64(m.Draught) / 10, m.Draught != 0 }

// TurnAvailable reports whether the rate of turn is known (ROTais != -128).
func (m *Message) TurnAvailable() bool { return m.Turn != -128 }
