package ais

import (
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tidewatch/tidewatch/internal/termtext"
)

// AppendJSON appends m as one JSON object, with the field names of gpsd's
// AIVDM JSON (type, mmsi, lat, lon, speed, course, heading, status, turn,
// imo, callsign, shipname, shiptype, to_bow, ..., draught, destination),
// plus "time" when the input carried one and "source" when it named a
// receiver. Values are scaled (degrees, knots, metres). Fields whose value
// is "not available" in ITU-R M.1371 (lat 91, lon 181, speed 102.3,
// course 360, heading 511, turn -128, draught 0, IMO 0) are left out rather
// than written as numbers. It allocates nothing when dst has room.
func AppendJSON(dst []byte, m *Message) []byte {
	dst = append(dst, `{"type":`...)
	dst = strconv.AppendUint(dst, uint64(m.Type), 10)
	dst = appendUint(dst, "repeat", uint64(m.Repeat))
	dst = appendUint(dst, "mmsi", uint64(m.MMSI))
	if !m.Time.IsZero() {
		dst = append(dst, `,"time":"`...)
		dst = m.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, '"')
	}
	if m.Source != "" {
		dst = appendString(dst, "source", m.Source)
	}
	switch m.Type {
	case 1, 2, 3:
		dst = appendUint(dst, "status", uint64(m.Status))
		dst = appendTurn(dst, m.Turn)
		dst = appendSpeed(dst, m)
		dst = appendBool(dst, "accuracy", m.Accuracy)
		dst = appendPosition(dst, m)
		dst = appendCourse(dst, m)
		dst = appendHeading(dst, m)
		dst = appendUint(dst, "second", uint64(m.Second))
		dst = appendUint(dst, "maneuver", uint64(m.Maneuver))
		dst = appendBool(dst, "raim", m.RAIM)
		dst = appendRadio(dst, m)
	case 4:
		dst = append(dst, `,"timestamp":"`...)
		dst = appendPadded(dst, uint64(m.Year), 4)
		dst = append(dst, '-')
		dst = appendPadded(dst, uint64(m.Month), 2)
		dst = append(dst, '-')
		dst = appendPadded(dst, uint64(m.Day), 2)
		dst = append(dst, 'T')
		dst = appendPadded(dst, uint64(m.Hour), 2)
		dst = append(dst, ':')
		dst = appendPadded(dst, uint64(m.Minute), 2)
		dst = append(dst, ':')
		dst = appendPadded(dst, uint64(m.UTCSec), 2)
		dst = append(dst, `Z"`...)
		dst = appendBool(dst, "accuracy", m.Accuracy)
		dst = appendPosition(dst, m)
		dst = appendUint(dst, "epfd", uint64(m.EPFD))
		dst = appendBool(dst, "raim", m.RAIM)
		dst = appendRadio(dst, m)
	case 5:
		if m.IMO != 0 {
			dst = appendUint(dst, "imo", uint64(m.IMO))
		}
		dst = appendUint(dst, "ais_version", uint64(m.AISVersion))
		dst = appendString(dst, "callsign", m.CallSign)
		dst = appendString(dst, "shipname", m.ShipName)
		dst = appendUint(dst, "shiptype", uint64(m.ShipType))
		dst = appendDims(dst, m)
		dst = appendUint(dst, "epfd", uint64(m.EPFD))
		dst = append(dst, `,"eta":"`...)
		dst = appendPadded(dst, uint64(m.ETAMonth), 2)
		dst = append(dst, '-')
		dst = appendPadded(dst, uint64(m.ETADay), 2)
		dst = append(dst, 'T')
		dst = appendPadded(dst, uint64(m.ETAHour), 2)
		dst = append(dst, ':')
		dst = appendPadded(dst, uint64(m.ETAMin), 2)
		dst = append(dst, `Z"`...)
		if _, ok := m.DraughtMetres(); ok {
			dst = appendFixed(appendKey(dst, "draught"), int64(m.Draught), 1)
		}
		dst = appendString(dst, "destination", m.Destination)
		dst = appendBool(dst, "dte", m.DTE)
	case 9:
		if m.Altitude != 4095 {
			dst = appendUint(dst, "alt", uint64(m.Altitude))
		}
		dst = appendSpeed(dst, m)
		dst = appendBool(dst, "accuracy", m.Accuracy)
		dst = appendPosition(dst, m)
		dst = appendCourse(dst, m)
		dst = appendUint(dst, "second", uint64(m.Second))
		dst = appendUint(dst, "regional", uint64(m.Regional))
		dst = appendBool(dst, "dte", m.DTE)
		dst = appendBool(dst, "raim", m.RAIM)
		dst = appendRadio(dst, m)
		dst = appendBool(dst, "assigned", m.Assigned)
	case 18, 19:
		dst = appendUint(dst, "reserved", uint64(m.Reserved))
		dst = appendSpeed(dst, m)
		dst = appendBool(dst, "accuracy", m.Accuracy)
		dst = appendPosition(dst, m)
		dst = appendCourse(dst, m)
		dst = appendHeading(dst, m)
		dst = appendUint(dst, "second", uint64(m.Second))
		dst = appendUint(dst, "regional", uint64(m.Regional))
		if m.Type == 18 {
			dst = appendBool(dst, "cs", m.CS)
			dst = appendBool(dst, "display", m.Display)
			dst = appendBool(dst, "dsc", m.DSC)
			dst = appendBool(dst, "band", m.Band)
			dst = appendBool(dst, "msg22", m.Msg22)
			dst = appendBool(dst, "raim", m.RAIM)
			dst = appendRadio(dst, m)
		} else {
			dst = appendString(dst, "shipname", m.ShipName)
			dst = appendUint(dst, "shiptype", uint64(m.ShipType))
			dst = appendDims(dst, m)
			dst = appendUint(dst, "epfd", uint64(m.EPFD))
			dst = appendBool(dst, "raim", m.RAIM)
			dst = appendBool(dst, "dte", m.DTE)
		}
		dst = appendBool(dst, "assigned", m.Assigned)
	case 21:
		dst = appendUint(dst, "aid_type", uint64(m.AidType))
		dst = appendString(dst, "name", m.ShipName)
		dst = appendBool(dst, "accuracy", m.Accuracy)
		dst = appendPosition(dst, m)
		dst = appendDims(dst, m)
		dst = appendUint(dst, "epfd", uint64(m.EPFD))
		dst = appendUint(dst, "second", uint64(m.Second))
		dst = appendBool(dst, "off_position", m.OffPosition)
		dst = appendUint(dst, "regional", uint64(m.Regional))
		dst = appendBool(dst, "raim", m.RAIM)
		dst = appendBool(dst, "virtual_aid", m.VirtualAid)
		dst = appendBool(dst, "assigned", m.Assigned)
	case 24:
		dst = appendUint(dst, "partno", uint64(m.PartNo))
		if m.PartNo == 0 {
			dst = appendString(dst, "shipname", m.ShipName)
			break
		}
		dst = appendUint(dst, "shiptype", uint64(m.ShipType))
		dst = appendString(dst, "vendorid", m.VendorID)
		dst = appendUint(dst, "model", uint64(m.Model))
		dst = appendUint(dst, "serial", uint64(m.Serial))
		dst = appendString(dst, "callsign", m.CallSign)
		if m.MothershipMMSI != 0 {
			dst = appendUint(dst, "mothership_mmsi", uint64(m.MothershipMMSI))
		} else {
			dst = appendDims(dst, m)
		}
	case 27:
		dst = appendBool(dst, "accuracy", m.Accuracy)
		dst = appendBool(dst, "raim", m.RAIM)
		dst = appendUint(dst, "status", uint64(m.Status))
		dst = appendPosition(dst, m)
		dst = appendSpeed(dst, m)
		dst = appendCourse(dst, m)
		dst = appendBool(dst, "gnss", m.GNSS)
	default:
		dst = appendString(dst, "payload", string(m.Payload))
		dst = appendUint(dst, "bits", uint64(m.PayloadBits))
	}
	return append(dst, '}')
}

func appendKey(dst []byte, k string) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, k...)
	return append(dst, '"', ':')
}

func appendUint(dst []byte, k string, v uint64) []byte {
	return strconv.AppendUint(appendKey(dst, k), v, 10)
}

func appendBool(dst []byte, k string, v bool) []byte {
	return strconv.AppendBool(appendKey(dst, k), v)
}

func appendFloat(dst []byte, k string, v float64, prec int) []byte {
	return strconv.AppendFloat(appendKey(dst, k), v, 'f', prec, 64)
}

func appendPadded(dst []byte, v uint64, width int) []byte {
	var buf [20]byte
	b := strconv.AppendUint(buf[:0], v, 10)
	for i := len(b); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, b...)
}

// jsonPlain marks the bytes appendString writes as they are: printable
// ASCII but the quote and the backslash.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString writes s as a JSON string. Besides what JSON requires
// (quotes, backslashes, C0 controls), every character termtext escapes for
// a terminal (DEL, C1 controls, bidirectional overrides, invisibles) is
// written as a \u escape: the decoded string is exactly s, and the output
// is safe to print. Bytes that are not UTF-8 become U+FFFD, as
// encoding/json writes them (JSON text is UTF-8).
func appendString(dst []byte, k, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(appendKey(dst, k), '"')
	for i := 0; i < len(s); {
		// A run of characters written as they are (a whole AIS name).
		j := i
		for j < len(s) && jsonPlain[s[j]] {
			j++
		}
		if j > i {
			dst = append(dst, s[i:j]...)
			if i = j; i == len(s) {
				break
			}
		}
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20 || c == 0x7f:
			dst = append(dst, `\u00`...)
			dst = append(dst, hex[c>>4], hex[c&15])
		case c >= 0x80:
			r, n := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && n == 1:
				dst = append(dst, `\ufffd`...)
			case termtext.NeedsEscape(r):
				if r > 0xffff {
					r1, r2 := utf16.EncodeRune(r)
					dst = append(dst, '\\', 'u', hex[r1>>12&15], hex[r1>>8&15], hex[r1>>4&15], hex[r1&15])
					r = r2
				}
				dst = append(dst, '\\', 'u', hex[r>>12&15], hex[r>>8&15], hex[r>>4&15], hex[r&15])
			default:
				dst = append(dst, s[i:i+n]...)
			}
			i += n
			continue
		}
		i++
	}
	return append(dst, '"')
}

// appendTurn writes the rate of turn in degrees per minute, as gpsd does:
// ROT = (ROTais / 4.733)^2 with the sign of ROTais; ±127 mean turning
// faster than 5 degrees per 30 s without a turn indicator.
func appendTurn(dst []byte, t int8) []byte {
	switch t {
	case -128:
		return dst
	case 127:
		dst = appendKey(dst, "turn")
		return append(dst, `"fastright"`...)
	case -127:
		dst = appendKey(dst, "turn")
		return append(dst, `"fastleft"`...)
	}
	r := float64(t) / 4.733
	r = r * r
	if t < 0 {
		r = -r
	}
	return appendFloat(dst, "turn", math.Round(r), 0)
}

func appendSpeed(dst []byte, m *Message) []byte {
	v, ok := m.SpeedKnots()
	if !ok {
		return dst
	}
	if m.Type == 9 || m.Type == 27 {
		return appendUint(dst, "speed", uint64(v))
	}
	return appendFixed(appendKey(dst, "speed"), int64(m.SpeedRaw), 1)
}

func appendCourse(dst []byte, m *Message) []byte {
	v, ok := m.CourseDegrees()
	if !ok {
		return dst
	}
	if m.Type == 27 {
		return appendUint(dst, "course", uint64(v))
	}
	return appendFixed(appendKey(dst, "course"), int64(m.Course), 1)
}

func appendHeading(dst []byte, m *Message) []byte {
	if h, ok := m.HeadingDegrees(); ok {
		return appendUint(dst, "heading", uint64(h))
	}
	return dst
}

func appendPosition(dst []byte, m *Message) []byte {
	if _, _, ok := m.LatLon(); !ok {
		return dst
	}
	// Fixed-point from the raw integers: exact, and several times faster
	// than formatting floats. 1/10000 minute -> micro-degrees is x10/6;
	// type 27's 1/10 minute -> 1/10000 degree is x50/3.
	mul, div, prec := int64(10), int64(6), 6
	if m.Type == 27 {
		mul, div, prec = 50, 3, 4
	}
	dst = appendFixed(appendKey(dst, "lon"), roundDiv(int64(m.LonRaw)*mul, div), prec)
	return appendFixed(appendKey(dst, "lat"), roundDiv(int64(m.LatRaw)*mul, div), prec)
}

// roundDiv divides rounding half away from zero.
func roundDiv(a, b int64) int64 {
	if a < 0 {
		return -((-a + b/2) / b)
	}
	return (a + b/2) / b
}

// appendFixed writes v / 10^prec with exactly prec decimals.
func appendFixed(dst []byte, v int64, prec int) []byte {
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	p := int64(1)
	for i := 0; i < prec; i++ {
		p *= 10
	}
	dst = strconv.AppendInt(dst, v/p, 10)
	if prec == 0 {
		return dst
	}
	dst = append(dst, '.')
	frac := v % p
	for d := p / 10; d > 0; d /= 10 {
		dst = append(dst, byte('0'+frac/d%10))
	}
	return dst
}

func appendDims(dst []byte, m *Message) []byte {
	dst = appendUint(dst, "to_bow", uint64(m.ToBow))
	dst = appendUint(dst, "to_stern", uint64(m.ToStern))
	dst = appendUint(dst, "to_port", uint64(m.ToPort))
	return appendUint(dst, "to_starboard", uint64(m.ToStarboard))
}

// appendRadio writes the communication state only when the message is long
// enough to hold all of it: receivers sometimes drop trailing bits, and a
// partial SOTDMA/ITDMA state has no meaning.
func appendRadio(dst []byte, m *Message) []byte {
	if m.PayloadBits < 168 {
		return dst
	}
	return appendUint(dst, "radio", uint64(m.Radio))
}
