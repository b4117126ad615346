package httpapi

import (
	"strconv"
	"unicode/utf8"
)

// decodeFast decodes a screening request written plainly: an object of
// known keys (each once, spelt as documented), string values without
// escapes, a JSON number for threshold, an integer for limit, true or
// false for all, and nothing after it but white space. That is nearly
// every request, and encoding/json's reflection was 5% of a screening
// request's CPU. Anything else (escapes, unknown or repeated keys, other
// cases of a key, nulls, wrong types, trailing data) is left to
// encoding/json, which decodes it or says what is wrong.
// FuzzScreenRequestFast holds the two to the same results.
func (q *ScreenRequest) decodeFast(b []byte) bool {
	var r ScreenRequest
	p := fastParser{b: b}
	if !p.byte('{') {
		return false
	}
	var seen uint16
	if p.peek() == '}' {
		p.i++
	} else {
		for {
			key, ok := p.plainString()
			if !ok || !p.byte(':') {
				return false
			}
			var bit uint16
			var dst *string
			switch key {
			case "type":
				bit, dst = 1, &r.Type
			case "name":
				bit, dst = 2, &r.Name
			case "imo":
				bit, dst = 4, &r.IMO
			case "mmsi":
				bit, dst = 8, &r.MMSI
			case "call_sign":
				bit, dst = 16, &r.CallSign
			case "flag":
				bit, dst = 32, &r.Flag
			case "threshold":
				bit = 64
			case "limit":
				bit = 128
			case "all":
				bit = 256
			default:
				return false
			}
			if seen&bit != 0 {
				return false
			}
			seen |= bit
			switch {
			case dst != nil:
				if *dst, ok = p.plainString(); !ok {
					return false
				}
			case bit == 64:
				num, ok := p.number(false)
				if !ok {
					return false
				}
				f, err := strconv.ParseFloat(num, 64)
				if err != nil {
					return false
				}
				r.Threshold = f
			case bit == 128:
				num, ok := p.number(true)
				if !ok {
					return false
				}
				n, err := strconv.ParseInt(num, 10, 64)
				if err != nil {
					return false
				}
				r.Limit = int(n)
			default:
				switch {
				case p.literal("true"):
					r.All = true
				case p.literal("false"):
				default:
					return false
				}
			}
			if p.byte(',') {
				continue
			}
			if p.byte('}') {
				break
			}
			return false
		}
	}
	p.space()
	if p.i != len(p.b) {
		return false
	}
	*q = r
	return true
}

// fastParser reads the plain JSON decodeFast takes.
type fastParser struct {
	b []byte
	i int
}

func (p *fastParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// peek is the next byte after white space (0 at the end).
func (p *fastParser) peek() byte {
	p.space()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// byte takes c, after white space.
func (p *fastParser) byte(c byte) bool {
	if p.peek() != c {
		return false
	}
	p.i++
	return true
}

func (p *fastParser) literal(s string) bool {
	p.space()
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	return true
}

// plainString takes a string without escapes or control characters, in
// valid UTF-8 (encoding/json would replace bytes that are not).
func (p *fastParser) plainString() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	ascii := true
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if !ascii && !utf8.Valid(s) {
				return "", false
			}
			return string(s), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}

// number takes a JSON number (only its integer form when integer is
// set) and returns its text.
func (p *fastParser) number(integer bool) (string, bool) {
	p.space()
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	first := p.i
	if n := digits(); n == 0 || (n > 1 && p.b[first] == '0') {
		return "", false
	}
	if !integer {
		if p.i < len(p.b) && p.b[p.i] == '.' {
			p.i++
			if digits() == 0 {
				return "", false
			}
		}
		if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
			p.i++
			if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
				p.i++
			}
			if digits() == 0 {
				return "", false
			}
		}
	}
	// The number must end here (a letter or digit after it is no JSON).
	if p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r', ',', '}':
		default:
			return "", false
		}
	}
	return string(p.b[start:p.i]), true
}
