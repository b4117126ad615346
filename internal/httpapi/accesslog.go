package httpapi

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// appendAccessLine appends a request's access log line as a
// slog.JSONHandler writes the record logRequest makes (time, level,
// message, then the attributes in order, a closing newline): byte for
// byte, TestAccessLineAsSlog.
func appendAccessLine(b []byte, at time.Time, method, route string, status int, el time.Duration, bytes int64, tenant, key, client string) []byte {
	b = append(b, `{"time":"`...)
	b = at.Round(0).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request","method":`...)
	b = appendSlogString(b, method)
	b = append(b, `,"route":`...)
	b = appendSlogString(b, route)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"ms":`...)
	// What encoding/json writes for the float (slog marshals floats):
	// 'f' formatting between 1e-6 and 1e21, and a millisecond count of
	// whole microseconds is 0 or at least 0.001.
	b = strconv.AppendFloat(b, float64(el.Microseconds())/1000, 'f', -1, 64)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, bytes, 10)
	b = append(b, `,"tenant":`...)
	b = appendSlogString(b, tenant)
	b = append(b, `,"key":`...)
	b = appendSlogString(b, key)
	b = append(b, `,"client":`...)
	b = appendSlogString(b, client)
	return append(b, "}\n"...)
}

// appendSlogString appends s quoted as slog's JSON handler writes a
// string: '"' and '\' escaped, \n \r \t by name, other bytes below 0x20
// as \u00XX, invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped; '<',
// '>' and '&' as they are. (audit's appendJSONString is encoding/json's
// escaping, which differs: HTML characters escaped, \b and \f by name.)
func appendSlogString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
