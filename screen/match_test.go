package screen

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/sanctions"
)

// TestValidateNamesTheFirstBadField: a query with several fields that are
// not UTF-8 is refused naming the first, the same every time (the fields
// were once checked in a map's random order).
func TestValidateNamesTheFirstBadField(t *testing.T) {
	for i := 0; i < 200; i++ {
		q := Query{Name: "A\xff", IMO: "\xfe", CallSign: "\xfd", Flag: "\xfc"}
		err := q.Validate()
		if !errors.Is(err, ErrBadQuery) || !strings.Contains(err.Error(), "name is not valid UTF-8") {
			t.Fatalf("try %d: %v", i, err)
		}
	}
}

// TestNameExplanationAsSprintf: the explanation written with strconv is
// fmt.Sprintf's, for names with quotes, control characters, non-ASCII,
// bracketed parts, scores at the rounding edges and every kind.
func TestNameExplanationAsSprintf(t *testing.T) {
	names := []string{"", "CHON MA SAN", `SAID "X"`, "a\tb\x1b", "조선", "\u2028", "\xff"}
	scores := []float64{0, 0.005, 0.125, 0.995, 1, 0.8749999}
	kinds := []sanctions.NameKind{sanctions.NamePrimary, sanctions.NameFormer, sanctions.NameWeak, ""}
	for _, q := range names {
		for _, n := range names {
			for _, part := range []string{"", "KUM (SAN)"} {
				for i, s := range scores {
					h := &hit{name: n, namePart: part, nameOnly: s, nameKind: kinds[i%len(kinds)], nameWhy: nameWhy{base: uint8(1 + i%5), qNum: "2", kNum: "3"}}
					p := ""
					if part != "" {
						p = fmt.Sprintf(" (bracketed part %q tried on its own)", part)
					}
					want := fmt.Sprintf("name %q%s ~ %s %q (%.2f): %s", q, p, kindWord(h.nameKind), h.name, h.nameOnly, h.nameWhy.String())
					if got := h.nameExplanation(q); got != want {
						t.Fatalf("got  %q\nwant %q", got, want)
					}
				}
			}
		}
	}
}
