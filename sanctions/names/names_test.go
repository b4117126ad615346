package names

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFoldLookAlikes(t *testing.T) {
	want := KeyOf("CHON MA SAN", Vessel)
	for _, s := range []string{
		"ＣＨＯＮ ＭＡ ＳＡＮ",  // full-width
		"СНОN МА SАN",  // Cyrillic С, Н, О, М, А
		"ΜΑ",           // Greek: checked below on its own
		"Ch'ŏn Ma San", // McCune-Reischauer with breve and apostrophe
		"천마산",          // Hangul
		"CHEON MA SAN", // Revised Romanization
		"M/V CHONMASAN",
	} {
		if s == "ΜΑ" {
			if got := Fold(s); got != "MA" {
				t.Errorf("Fold(%q) = %q, want MA", s, got)
			}
			continue
		}
		if got := KeyOf(s, Vessel); got.Joined != want.Joined || got.Numbers != want.Numbers {
			t.Errorf("KeyOf(%q) = %+v, want joined %q", s, got, want.Joined)
		}
	}
	if got := Fold("ＣＨＯＮ ＭＡ ＳＡＮ"); got != "CHON MA SAN" {
		t.Errorf("full-width folds to %q", got)
	}
	if got := Fold("천마산"); got != "CHEONMASAN" {
		t.Errorf("Hangul romanised to %q", got)
	}
	if got := Fold("Ryŏng-gun-bong 8"); got != "RYONG GUN BONG 8" {
		t.Errorf("Fold = %q", got)
	}
	if got := Fold("NAMSAN8"); got != "NAMSAN 8" {
		t.Errorf("Fold = %q", got)
	}
	if got := Fold("ＮＯ．８"); got != "NO 8" {
		t.Errorf("full-width number: %q", got)
	}
}

func TestNumbers(t *testing.T) {
	for _, s := range []string{"BILLIONS 18", "BILLIONS NO. 18", "BILLIONS NO 18", "BILLIONS NO.18", "Billions No. 18", "BILLIONS #18", "BILLIONS N°18", "BILLIONS Nº18", "BILLIONS №18", "BILLIONS NR 18", "BILLIONS EIGHTEEN", "BILLIONS NO EIGHTEEN", "BILLIONS 018"} {
		k := KeyOf(s, Vessel)
		if k.Raw != "BILLIONS" || k.Numbers != "18" {
			t.Errorf("%q: raw %q numbers %q", s, k.Raw, k.Numbers)
		}
	}
	if k := KeyOf("CHON MYONG ONE", Vessel); k.Numbers != "1" || k.Raw != "CHONMYONG" {
		t.Errorf("number word: %+v", k)
	}
	if k := KeyOf("VICTORY I", Vessel); k.Numbers != "1" || k.Raw != "VICTORY" {
		t.Errorf("roman numeral: %+v", k)
	}
	// A marker that precedes no number is a word; "NO" is a Korean surname.
	if k := KeyOf("NO Kwang Chol", Person); k.Raw != "NOKWANGCHOL" {
		t.Errorf("person NO: %+v", k)
	}
	if k := KeyOf("SEA NO WAY", Vessel); k.Raw != "SEANOWAY" || k.Numbers != "" {
		t.Errorf("NO word: %+v", k)
	}
	// The first word is never a number word (ONE OCEAN), and a roman
	// numeral counts only at the end.
	if k := KeyOf("ONE OCEAN", Vessel); k.Numbers != "" {
		t.Errorf("ONE OCEAN: %+v", k)
	}
	if k := KeyOf("I AM", Vessel); k.Numbers != "" {
		t.Errorf("I AM: %+v", k)
	}
	if k := KeyOf("JI SONG 6", Vessel); k.Numbers != "6" {
		t.Errorf("JI SONG 6: %+v", k)
	}
	if k := KeyOf("HAI 0", Vessel); k.Numbers != "0" {
		t.Errorf("zero: %+v", k)
	}
}

func TestOrganizationKey(t *testing.T) {
	a := KeyOf("SHANGHAI DONGFENG SHPG CO LTD", Organization)
	b := KeyOf("Shanghai Dongfeng Shipping Co., Ltd.", Organization)
	if a.Exact() != b.Exact() || !a.Legal {
		t.Errorf("%+v vs %+v", a, b)
	}
}

func TestSplitBrackets(t *testing.T) {
	cases := []struct {
		in   string
		base string
		rest []string
	}{
		{"CHON MA SAN (천마산)", "CHON MA SAN", []string{"천마산"}},
		{"Chong Bong (Greenlight) (Blue Nouvelle)", "Chong Bong", []string{"Greenlight", "Blue Nouvelle"}},
		{"NEW NAME (ex OLD NAME)", "NEW NAME", []string{"OLD NAME"}},
		{"NEW NAME [f.k.a. OLD NAME]", "NEW NAME", []string{"OLD NAME"}},
		{"NAME (OPEN", "NAME", []string{"OPEN"}},
		{"NAME ()", "NAME", nil},
		{"PLAIN", "PLAIN", nil},
	}
	for _, c := range cases {
		base, rest := SplitBrackets(c.in)
		if base != c.base || strings.Join(rest, "|") != strings.Join(c.rest, "|") {
			t.Errorf("SplitBrackets(%q) = %q %q", c.in, base, rest)
		}
	}
}

func TestOneSlip(t *testing.T) {
	yes := [][2]string{{"JISONG", "JISNG"}, {"JISONG", "JISSONG"}, {"JISONG", "JISOGN"}, {"JISONG", "IJSONG"}, {"PAEKMA", "PAEKMAA"}}
	no := [][2]string{{"JISONG", "JISONG"}, {"JISONG", "JISANG"}, {"JISONG", "JIS"}, {"JISONG", "SJIONG"}, {"AB", "BA C"}}
	for _, p := range yes {
		if !OneSlip(p[0], p[1]) || !OneSlip(p[1], p[0]) {
			t.Errorf("OneSlip(%q, %q) false", p[0], p[1])
		}
	}
	for _, p := range no {
		if OneSlip(p[0], p[1]) {
			t.Errorf("OneSlip(%q, %q) true", p[0], p[1])
		}
	}
}

// FuzzFold checks the normaliser on any text: it never panics, gives
// valid UTF-8 without leading, trailing or double spaces, is idempotent,
// and a name written in full-width or with Cyrillic look-alikes folds as
// the plain name does.
func FuzzFold(f *testing.F) {
	for _, s := range []string{"CHON MA SAN", "ＣＨＯＮ ＭＡ ＳＡＮ", "СНОN МА SАN", "CHON MA SAN (천마산)", "BILLIONS No.18", "Ch'ŏn", "\xff\xfe", "ǅ ﬁ ẞ Ⅻ ①", "NAMSAN8", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Fold(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Fold(%q) = %q: invalid UTF-8", s, got)
		}
		if strings.TrimSpace(got) != got || strings.Contains(got, "  ") {
			t.Fatalf("Fold(%q) = %q: stray spaces", s, got)
		}
		if again := Fold(got); again != got {
			t.Fatalf("Fold not idempotent: %q -> %q -> %q", s, got, again)
		}
		// Full-width forms of ASCII letters and digits fold as ASCII.
		wide := strings.Map(func(r rune) rune {
			if r > ' ' && r < 0x7f {
				return r - 0x21 + 0xFF01
			}
			return r
		}, s)
		if utf8.ValidString(s) && isASCII(s) && Fold(wide) != got {
			t.Fatalf("full-width %q folds to %q, ASCII %q to %q", wide, Fold(wide), s, got)
		}
		for _, k := range []Kind{Vessel, Organization, Person, Other} {
			key := KeyOf(s, k)
			if key.Joined != strings.Join(key.Words, "") {
				t.Fatalf("key %+v", key)
			}
		}
		base, inner := SplitBrackets(s)
		if len(base) > len(s) {
			t.Fatalf("SplitBrackets grew %q to %q", s, base)
		}
		for _, in := range inner {
			if len(in) > len(s) {
				t.Fatalf("SplitBrackets inner %q longer than %q", in, s)
			}
		}
	})
}

// similarityRef is Similarity as first written (two rows of ints), but
// over every byte (the first version compared only the first 64): the
// reference the tests compare the bit-parallel version with.
func similarityRef(a, b string) float64 {
	if a == b {
		return 1
	}
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 {
		return 0
	}
	if d := la - lb; 2*max(d, -d) > max(la, lb) {
		return 0
	}
	prev, cur := make([]int, lb+1), make([]int, lb+1)
	for j := 0; j <= lb; j++ {
		prev[j] = j
	}
	for i := 1; i <= la; i++ {
		cur[0] = i
		for j := 1; j <= lb; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return 1 - float64(prev[lb])/float64(max(la, lb))
}

// FuzzSimilarity: the bit-parallel edit distance gives what the table
// gave, for any two strings.
func FuzzSimilarity(f *testing.F) {
	for _, p := range [][2]string{{"CHONMASAN", "CHONMASAN"}, {"JISONG6", "JISONG8"}, {"KUMUNSAN3", "KUMUNSAN"}, {"", "A"}, {"AB", "BA"},
		{strings.Repeat("A", 70), strings.Repeat("A", 69) + "B"}, {"A", "B"}, {strings.Repeat("AB", 32), strings.Repeat("BA", 32)},
		{"\xff\x00Z", "Z\x00\xff"}, {strings.Repeat("XY", 40), "YX"}, {strings.Repeat("AB", 64) + "C", strings.Repeat("AB", 64) + "D"},
		{strings.Repeat("ABC", 50), strings.Repeat("ACB", 45)}, {strings.Repeat("Q", 63), strings.Repeat("Q", 66)}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := Similarity(a, b), similarityRef(a, b); got != want {
			t.Fatalf("Similarity(%q, %q) = %v, the reference says %v", a, b, got, want)
		}
	})
}

// A name of more than 64 letters is compared on all of them: a typo
// after the 64th letter costs what one before it does (it scored 1.000
// when only the first 64 bytes were compared).
func TestSimilarityLongNames(t *testing.T) {
	// A long listed organization name, words run together as keys do.
	name := "FOREIGNTRADEBANKOFTHEDEMOCRATICPEOPLESREPUBLICOFKOREAPYONGYANGBRANCHOFFICE"
	if len(name) <= 64 {
		t.Fatal("name too short for the test")
	}
	typo := name[:70] + "X" + name[71:]
	early := "X" + name[1:]
	got := Similarity(name, typo)
	if got == 1 || got != Similarity(name, early) || got != 1-1/float64(len(name)) {
		t.Errorf("one typo at byte 70 scores %v, at byte 0 %v; want both %v", got, Similarity(name, early), 1-1/float64(len(name)))
	}
	if s := Similarity(name, name+"EXTRA"); s == 1 || s != Similarity(name+"EXTRA", name) {
		t.Errorf("letters added past byte 64: %v and %v", s, Similarity(name+"EXTRA", name))
	}
	// Random pairs of every length around and past the word boundaries
	// agree with the table.
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 3000; n++ {
		la := 1 + r.IntN(300)
		lb := max(1, la/2+r.IntN(la+1))
		a, b := make([]byte, la), make([]byte, lb)
		k := 1 + r.IntN(6) // small alphabets make long runs of matches
		for i := range a {
			a[i] = 'A' + byte(r.IntN(k))
		}
		for i := range b {
			if i < la && r.IntN(4) > 0 {
				b[i] = a[i]
			} else {
				b[i] = 'A' + byte(r.IntN(k))
			}
		}
		if got, want := Similarity(string(a), string(b)), similarityRef(string(a), string(b)); got != want {
			t.Fatalf("Similarity(%q, %q) = %v, the table says %v", a, b, got, want)
		}
	}
}

func BenchmarkSimilarity(b *testing.B) {
	pairs := [][2]string{{"CHONMASAN", "CHONMYONG1"}, {"RYONGGUNBONG", "RYONGRIMBONG"}, {"EVERGIVEN", "EVERGREEN"}, {"PACIFICVOYAGER", "PACIFICVOYAGE"}}
	b.Run("bit-parallel", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			p := pairs[i%len(pairs)]
			Similarity(p[0], p[1])
		}
	})
	// Names of more than 64 letters take the multi-word path.
	long := [][2]string{{"FOREIGNTRADEBANKOFTHEDEMOCRATICPEOPLESREPUBLICOFKOREAPYONGYANGBRANCH", "FOREIGNTRADEBANKOFTHEDEMOCRATICPEOPLESREPUBLICOFKOREAPYONGYANGBRANCX"},
		{"OTKRYTOEAKTSIONERNOEOBSHCHESTVOVNESHNEEKONOMICHESKOEOBEDINENIETEKHNOPROMEKSPORT", "AKTSIONERNOEOBSHCHESTVOTSENTRALNOENAUCHNOISSLEDOVATELSKOEBYUROAVTOMATIZIROVANNOI"}}
	b.Run("long", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			p := long[i%len(long)]
			Similarity(p[0], p[1])
		}
	})
	b.Run("two-rows", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			p := pairs[i%len(pairs)]
			similarityRef(p[0], p[1])
		}
	})
}
