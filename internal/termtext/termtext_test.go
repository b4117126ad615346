package termtext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafe(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"CHON MA SAN", "CHON MA SAN"},
		{`A\B "C"`, `A\B "C"`},
		{"천마산 ЧОН МА", "천마산 ЧОН МА"},
		{"نام\u200cخانوادگی", "نام\u200cخانوادگی"}, // ZWNJ stays: Persian needs it
		{"\ufffd", "\ufffd"},
		// Escape sequences: clear screen, set title, OSC 8 hyperlink.
		{"X\x1b[2J\x1b[HY", `X\x1b[2J\x1b[HY`},
		{"\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", `\x1b]8;;http://evil\x1b\link\x1b]8;;\x1b\`},
		{"a\tb\nc\rd\x00e\x7f", `a\tb\nc\rd\x00e\x7f`},
		{"CSI\u009b2J", `CSI\u009b2J`},
		{"\u0085next line", `\u0085next line`},
		{"ABC\u202eFED", `ABC\u202eFED`},
		{"\u2066x\u2069\u200e\u200f\u061c", `\u2066x\u2069\u200e\u200f\u061c`},
		{"a\u2028b\u2029c", `a\u2028b\u2029c`},
		{"CHON\u200bMA\ufeff", `CHON\u200bMA\ufeff`},
		{"tag\U000e0041", `tag\U000e0041`},
		// Bytes that are not UTF-8 (a Latin-1 name, a cut sequence, raw C1).
		{"CAF\xc9", `CAF\xc9`},
		{"\xe2\x80", `\xe2\x80`},
		{"\x9b2J", `\x9b2J`},
	} {
		got := Safe(c.in)
		if got != c.want {
			t.Errorf("Safe(%q) = %q, want %q", c.in, got, c.want)
		}
		if IsSafe(c.in) != (c.in == c.want) {
			t.Errorf("IsSafe(%q) = %v", c.in, IsSafe(c.in))
		}
		if !IsSafe(got) {
			t.Errorf("Safe(%q) = %q is not safe itself", c.in, got)
		}
	}
}

// Every rune NeedsEscape names comes out escaped and every other one as
// is; the result never holds a control byte, whatever the input.
func TestSafeEveryRune(t *testing.T) {
	for r := rune(0); r <= 0x10ffff; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue
		}
		s := string(r)
		got := Safe(s)
		if NeedsEscape(r) == (got == s) {
			t.Fatalf("U+%04X: Safe gives %q, NeedsEscape %v", r, got, NeedsEscape(r))
		}
		if !safeBytes(got) {
			t.Fatalf("U+%04X: %q", r, got)
		}
	}
}

// safeBytes reports whether s is UTF-8 holding no rune NeedsEscape names.
func safeBytes(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if NeedsEscape(r) {
			return false
		}
	}
	return true
}

func TestSafeDoesNotAllocateWhenClean(t *testing.T) {
	s := strings.Repeat("VALE CHINA 천마산 ", 4)
	if n := testing.AllocsPerRun(100, func() { _ = Safe(s) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func FuzzSafe(f *testing.F) {
	for _, s := range []string{"", "CHON MA SAN", "\x1b[2J", "ABC\u202eFED", "CAF\xc9", "\u009b", "\U000e0041"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Safe(s)
		if !safeBytes(got) {
			t.Fatalf("Safe(%q) = %q holds an unsafe character", s, got)
		}
		if IsSafe(s) != (got == s) {
			t.Fatalf("IsSafe(%q) = %v but Safe gives %q", s, IsSafe(s), got)
		}
		if Safe(got) != got {
			t.Fatalf("Safe not idempotent on %q", s)
		}
		if len(s) > 0 && len(got) == 0 {
			t.Fatal("text lost")
		}
		// Printable ASCII survives in order.
		var want, have []byte
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x20 && s[i] < 0x7f {
				want = append(want, s[i])
			}
		}
		for i := 0; i < len(got); i++ {
			if got[i] >= 0x20 && got[i] < 0x7f {
				have = append(have, got[i])
			}
		}
		if !containsInOrder(have, want) {
			t.Fatalf("Safe(%q) = %q dropped text", s, got)
		}
	})
}

// containsInOrder reports whether want is a subsequence of have.
func containsInOrder(have, want []byte) bool {
	j := 0
	for i := 0; i < len(have) && j < len(want); i++ {
		if have[i] == want[j] {
			j++
		}
	}
	return j == len(want)
}
