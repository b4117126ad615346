package screen

import (
	"errors"
	"strings"
	"testing"
)

// top screens q with every result and returns the best result for the
// entity named want (score 0 when absent), and the answer.
func top(t *testing.T, q Query, want string) (Result, Answer) {
	t.Helper()
	ix, _ := embeddedIndex(t)
	ans, err := ix.Screen(q, Options{All: true, Limit: 50})
	if err != nil {
		t.Fatalf("%+v: %v", q, err)
	}
	for _, r := range ans.Results {
		if r.Entity.Name == want {
			return r, ans
		}
	}
	return Result{}, ans
}

// An IMO that fails its check digit is a warning and is set aside: it does
// not lower the name's score (issue 13: RYONG GUN BONG with --imo 8606174).
func TestInvalidIMOIsAWarning(t *testing.T) {
	plain, _ := top(t, Query{Type: "vessel", Name: "RYONG GUN BONG"}, "RYONG GUN BONG")
	r, ans := top(t, Query{Type: "vessel", Name: "RYONG GUN BONG", IMO: "8606174"}, "RYONG GUN BONG")
	if !r.Match || r.Score != plain.Score || r.Score < DefaultThreshold {
		t.Fatalf("score %.3f (without the IMO %.3f), match %v", r.Score, plain.Score, r.Match)
	}
	if len(ans.Warnings) != 1 || ans.Warnings[0].Field != "imo" || !strings.Contains(ans.Warnings[0].Message, "check digit") || ans.Query.IMO != "" {
		t.Errorf("warnings %+v, query %+v", ans.Warnings, ans.Query)
	}
	if why := strings.Join(r.Explanation, " "); !strings.Contains(why, "one slip from the listed IMO 8606173") || strings.Contains(why, "differs from the listed IMO") {
		t.Errorf("explanation: %s", why)
	}
	// Search, the strict form, treats it the same way.
	ix, _ := embeddedIndex(t)
	res, err := ix.Search(Query{Type: "vessel", Name: "RYONG GUN BONG", IMO: "8606174"}, Options{})
	if err != nil || len(res) == 0 || res[0].Entity.Name != "RYONG GUN BONG" || res[0].Score != plain.Score {
		t.Errorf("Search: %v %+v", err, res)
	}
	// A valid IMO of another ship still lowers a name-only score.
	other, _ := top(t, Query{Type: "vessel", Name: "RYONG GUN BONG", IMO: "9417115"}, "RYONG GUN BONG")
	if other.Score >= plain.Score {
		t.Errorf("a valid different IMO no longer lowers the score: %.3f", other.Score)
	}
	// An IMO without digits is said, not silently dropped; AIS's "not
	// available" (zeros) is dropped without a word.
	for _, imo := range []string{"abc", "n/a"} {
		_, ans = top(t, Query{Type: "vessel", Name: "RYONG GUN BONG", IMO: imo}, "RYONG GUN BONG")
		if len(ans.Warnings) != 1 || ans.Warnings[0].Field != "imo" || !strings.Contains(ans.Warnings[0].Message, "no digits") || ans.Query.IMO != "" {
			t.Errorf("IMO %q: %+v", imo, ans.Warnings)
		}
	}
	if _, ans = top(t, Query{Type: "vessel", Name: "RYONG GUN BONG", IMO: "IMO0000000"}, "RYONG GUN BONG"); len(ans.Warnings) != 0 {
		t.Errorf("IMO of zeros: %+v", ans.Warnings)
	}
	// An MMSI with no valid structure, and one of eight digits.
	for _, m := range []string{"123456789", "44512300"} {
		_, ans = top(t, Query{Type: "vessel", Name: "RYONG GUN BONG", MMSI: m}, "RYONG GUN BONG")
		if len(ans.Warnings) != 1 || ans.Warnings[0].Field != "mmsi" || ans.Query.MMSI != "" {
			t.Errorf("MMSI %s: %+v", m, ans.Warnings)
		}
	}
	// Nothing usable left: an error, with the warning.
	ix2, _ := embeddedIndex(t)
	ans, err = ix2.Screen(Query{IMO: "8606174"}, Options{})
	if err == nil || len(ans.Warnings) != 1 {
		t.Errorf("only a bad IMO: %v %+v", err, ans)
	}
}

// Number markers and number words mean the number.
func TestNumberMarkersAndWords(t *testing.T) {
	for _, n := range []string{"BILLIONS 18", "BILLIONS NO 18", "BILLIONS NO.18", "Billions No. 18", "BILLIONS #18", "BILLIONS N°18", "BILLIONS EIGHTEEN"} {
		r, _ := top(t, Query{Type: "vessel", Name: n}, "BILLIONS NO. 18")
		if !r.Match || r.Score != 1 {
			t.Errorf("%q ~ BILLIONS NO. 18: %.3f", n, r.Score)
		}
	}
	r, _ := top(t, Query{Type: "vessel", Name: "CHON MYONG ONE"}, "CHON MYONG 1")
	if !r.Match || r.Score != 1 {
		t.Errorf("CHON MYONG ONE ~ CHON MYONG 1: %.3f", r.Score)
	}
	// Numbers still tell ships apart, whichever way they are written.
	for _, n := range []string{"JI SONG 8", "JI SONG NO. 8", "JI SONG EIGHT", "JI SNG 8", "JI SONG #16"} {
		if r, _ := top(t, Query{Type: "vessel", Name: n}, "JI SONG 6"); r.Match {
			t.Errorf("%q matched JI SONG 6 at %.3f", n, r.Score)
		}
	}
}

// A short vessel name with one letter dropped, doubled or two swapped
// matches when the number agrees, and only then.
func TestShortNameSlips(t *testing.T) {
	for _, n := range []string{"JI SNG 6", "JI SSONG 6", "JI SOGN 6", "JISONG 6", "SATR 18"} {
		want := "JI SONG 6"
		if strings.HasSuffix(n, "18") {
			want = "STAR 18"
		}
		r, _ := top(t, Query{Type: "vessel", Name: n}, want)
		if !r.Match {
			t.Errorf("%q ~ %s: %.3f %v", n, want, r.Score, r.Explanation)
		}
	}
	// Without a number a slip in a short name stays below the threshold.
	if r, _ := top(t, Query{Type: "vessel", Name: "JI SOGN"}, "JI SONG 6"); r.Match {
		t.Errorf("JI SOGN matched JI SONG 6 at %.3f", r.Score)
	}
	// A changed letter is not a slip.
	if r, _ := top(t, Query{Type: "vessel", Name: "JI SANG 6"}, "JI SONG 6"); r.Match {
		t.Errorf("JI SANG 6 matched JI SONG 6 at %.3f", r.Score)
	}
}

// A name followed by another in brackets: each is tried.
func TestBracketedNames(t *testing.T) {
	for _, c := range []struct{ q, want string }{
		{"CHON MA SAN (천마산)", "CHON MA SAN"},
		{"SOME NEW NAME (CHON MA SAN)", "CHON MA SAN"},
		{"SOME NEW NAME (EX CHON MA SAN)", "CHON MA SAN"},
		{"CHON MA SAN [FORMER NAME UNKNOWN]", "CHON MA SAN"},
	} {
		r, _ := top(t, Query{Type: "vessel", Name: c.q}, c.want)
		if !r.Match || r.Score != 1 {
			t.Errorf("%q ~ %s: %.3f", c.q, c.want, r.Score)
		}
	}
	r, _ := top(t, Query{Type: "vessel", Name: "SOME NEW NAME (CHON MA SAN)"}, "CHON MA SAN")
	if !strings.Contains(strings.Join(r.Explanation, " "), `bracketed part "CHON MA SAN"`) {
		t.Errorf("explanation: %v", r.Explanation)
	}
}

// Look-alike letters: full-width, Cyrillic and Greek capitals that look
// Latin, and Hangul (issue 18).
func TestLookAlikeLetters(t *testing.T) {
	for _, n := range []string{"ＣＨＯＮ ＭＡ ＳＡＮ", "СНОN МА SАN", "CΗΟΝ ΜΑ SΑΝ", "천마산", "CHON MA SAN (천마산)"} {
		r, _ := top(t, Query{Name: n}, "CHON MA SAN")
		if !r.Match || r.Score != 1 {
			t.Errorf("%q ~ CHON MA SAN: %.3f", n, r.Score)
		}
	}
}

// Entities without a shared identifier are joined across lists by name,
// type and programme, and the explanation says so.
func TestJoinedByName(t *testing.T) {
	for _, c := range []struct {
		q     Query
		lists []string
	}{
		{Query{Type: "vessel", Name: "MIN NING DE YOU 078"}, []string{"eu:", "uk:"}},
		{Query{Type: "organization", Name: "SHANGHAI DONGFENG SHIPPING"}, []string{"eu:", "ofac:", "uk:"}},
	} {
		ix, _ := embeddedIndex(t)
		res, err := ix.Search(c.q, Options{})
		if err != nil || len(res) != 1 {
			t.Fatalf("%s: %v, %d results", c.q.Name, err, len(res))
		}
		var refs []string
		for _, l := range res[0].Entity.Listings {
			refs = append(refs, l.Ref())
		}
		for _, l := range c.lists {
			if !strings.Contains(strings.Join(refs, " "), l) {
				t.Errorf("%s: listings %v lack %s", c.q.Name, refs, l)
			}
		}
		if why := strings.Join(res[0].Explanation, " "); !strings.Contains(why, "joined by name") {
			t.Errorf("%s: explanation %s", c.q.Name, why)
		}
	}
}

// A query whose only identifiers are unusable is refused naming each
// field and why, not as a query with no name, IMO, MMSI or call sign.
func TestEmptyQuerySaysWhy(t *testing.T) {
	ix, _ := embeddedIndex(t)
	for _, c := range []struct {
		q    Query
		want []string
	}{
		{Query{IMO: "8606174"}, []string{"IMO 8606174 fails its check digit (expected 3 for a ship, 6 for a company"}},
		{Query{Type: "vessel", IMO: "8606174"}, []string{"IMO 8606174 fails the ship IMO check digit (expected 3"}},
		{Query{MMSI: "12345"}, []string{`MMSI "12345" is not nine digits`}},
		{Query{IMO: "8606174", MMSI: "12345"}, []string{"IMO 8606174 fails", `MMSI "12345" is not nine digits`}},
	} {
		_, err := ix.Screen(c.q, Options{})
		if !errors.Is(err, ErrEmptyQuery) {
			t.Errorf("%+v: %v, want ErrEmptyQuery", c.q, err)
			continue
		}
		if err2 := c.q.Check(); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("%+v: Check says %v, Screen %v", c.q, err2, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) || strings.Contains(err.Error(), "ignored") {
				t.Errorf("%+v: %q, want %q (and no \"ignored\")", c.q, err, w)
			}
		}
	}
	// With nothing given at all, the plain error.
	if err := (Query{}).Check(); err != ErrEmptyQuery {
		t.Errorf("empty query: %v", err)
	}
}
