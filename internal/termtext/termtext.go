// Package termtext makes untrusted text safe to print on a terminal.
//
// Text that reaches Tidewatch from outside (AIS names, destinations and
// call signs, sanctions-list names, CSV cells) can carry escape sequences
// that retitle, recolour or clear a terminal, move its cursor to overwrite
// what was printed, or, with bidirectional overrides, make "ABC" read as
// "CBA". Safe replaces every such character with a visible escape, so the
// analyst sees that it was there and the terminal never acts on it.
//
// What is escaped (NeedsEscape):
//
//   - C0 controls and DEL (U+0000-U+001F, U+007F): \t, \n, \r, else \xNN
//     (ESC is \x1b, so an escape sequence "ESC [ 2 J" prints as \x1b[2J)
//   - C1 controls (U+0080-U+009F), CSI U+009B among them: \u009b
//   - bidirectional formatting: U+061C, U+200E, U+200F, U+202A-U+202E,
//     U+2066-U+2069: \u202e
//   - line and paragraph separators U+2028, U+2029
//   - invisible characters with no place in a name: U+200B (zero width
//     space), U+2060-U+2064, U+FEFF, U+FFF9-U+FFFB, the tag characters
//     U+E0000-U+E007F
//   - bytes that are not UTF-8: \xNN
//
// Everything else is kept, backslashes included (a name rarely holds one,
// and doubling them would change ordinary text): letters of every script,
// and the zero-width joiners U+200C and U+200D that Persian and Indic
// names need.
package termtext

import (
	"unicode/utf8"
)

// NeedsEscape reports whether Safe escapes r.
func NeedsEscape(r rune) bool {
	switch {
	case r < 0x20 || r == 0x7f:
		return true
	case r < 0x80:
		return false
	case r <= 0x9f:
		return true
	case r < 0x61c:
		return false
	}
	switch r {
	case 0x61c, 0x200b, 0x200e, 0x200f, 0x2028, 0x2029, 0xfeff:
		return true
	}
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2060 && r <= 0x2069) ||
		(r >= 0xfff9 && r <= 0xfffb) || (r >= 0xe0000 && r <= 0xe007f)
}

// IsSafe reports whether s prints as is: Safe(s) == s.
func IsSafe(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		if c < 0x80 {
			return false
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return false // not UTF-8
		}
		if NeedsEscape(r) {
			return false
		}
		i += n
	}
	return true
}

// Safe returns s with the characters NeedsEscape names replaced by
// visible escapes (see the package comment). It returns s itself, without
// allocating, when nothing needs escaping.
func Safe(s string) string {
	if IsSafe(s) {
		return s
	}
	return string(AppendSafe(make([]byte, 0, len(s)+16), s))
}

// AppendSafe appends Safe(s) to dst.
func AppendSafe(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			// Copy the run of printable ASCII at once.
			j := i + 1
			for j < len(s) && s[j] >= 0x20 && s[j] < 0x7f {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		if c < 0x80 {
			switch c {
			case '\t':
				dst = append(dst, `\t`...)
			case '\n':
				dst = append(dst, `\n`...)
			case '\r':
				dst = append(dst, `\r`...)
			default:
				dst = append(dst, '\\', 'x', hex[c>>4], hex[c&15])
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = append(dst, '\\', 'x', hex[c>>4], hex[c&15])
		case NeedsEscape(r) && r > 0xffff:
			dst = append(dst, '\\', 'U')
			for sh := 28; sh >= 0; sh -= 4 {
				dst = append(dst, hex[(r>>sh)&15])
			}
		case NeedsEscape(r):
			dst = append(dst, '\\', 'u', hex[(r>>12)&15], hex[(r>>8)&15], hex[(r>>4)&15], hex[r&15])
		default:
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return dst
}

// Clip shortens s to at most n bytes, cut on a rune boundary and marked
// "...", for untrusted text quoted back in a message (a header line, a
// query key) that could be of any length.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
