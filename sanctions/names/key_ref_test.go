package names

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// keyOfWordsReference is keyOfWords as it was before its strings were
// cut from one allocation: each field built by its own join.
func keyOfWordsReference(words []string, kind Kind) Key {
	var k Key
	var nums []string
	if kind == Vessel {
		// "M V" (from M/V), "M T", "M.T." and one-word prefixes.
		for len(words) > 1 {
			switch {
			case vesselPrefixes[words[0]]:
				words = words[1:]
				continue
			case len(words) > 2 && words[0] == "M" && (words[1] == "V" || words[1] == "T" || words[1] == "S" || words[1] == "Y"):
				words = words[2:]
				continue
			}
			break
		}
	}
	var raw strings.Builder
	var text []string
	for i, w := range words {
		if kind == Vessel {
			if n, ok := numberWords[w]; ok && i > 0 {
				w = n
			} else if n, ok := romanNumerals[w]; ok && i > 0 && i == len(words)-1 && !isNumber(words[i-1]) {
				w = n
			}
		}
		if kind == Vessel || kind == Organization {
			// A number marker before a number: BILLIONS NO. 18 is BILLIONS 18.
			if numberMarkers[w] && i+1 < len(words) && (isNumber(words[i+1]) || (kind == Vessel && numberWords[words[i+1]] != "")) {
				continue
			}
		}
		if isNumber(w) {
			n := strings.TrimLeft(w, "0")
			if n == "" {
				n = "0"
			}
			nums = append(nums, n)
			continue
		}
		if kind == Organization {
			if full, ok := abbreviations[w]; ok {
				w = full
			}
		}
		f := romanKeyReference(w)
		if kind == Organization && isLegalForm(f) {
			k.Legal = true
			continue
		}
		k.Words = append(k.Words, f)
		raw.WriteString(w)
		text = append(text, w)
	}
	k.Raw = raw.String()
	k.Numbers = strings.Join(nums, " ")
	k.Text = strings.Join(append(text, nums...), " ")
	k.Joined = strings.Join(k.Words, "")
	k.RawWords = text[:len(text):len(text)]
	s := append([]string(nil), k.Words...)
	sort.Strings(s)
	k.Sorted = strings.Join(s, "")
	if kind != Vessel {
		s = append(s[:0], text...)
		sort.Strings(s)
		k.RawSorted = strings.Join(s, "")
	}
	return k
}

// romanKeyReference is RomanKey as it was, returning a string of its own.
func romanKeyReference(w string) string {
	if w == "" || isDigit(w[0]) {
		return w
	}
	return string(appendRomanKey(nil, w))
}

func sameKey(t *testing.T, name string) {
	t.Helper()
	for _, kind := range []Kind{Vessel, Organization, Person, Other} {
		words := strings.Fields(Fold(name))
		got, want := keyOfWords(words, kind), keyOfWordsReference(words, kind)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q as kind %d:\n got %#v\nwant %#v", name, kind, got, want)
		}
		// The key's slices stay apart: appending to one never writes
		// into another.
		if len(got.Words) > 0 {
			w := append(got.Words, "X")
			if got.RawWords[0] != want.RawWords[0] || len(w) != len(got.Words)+1 {
				t.Fatalf("%q: appending to Words changed RawWords", name)
			}
		}
	}
}

// TestKeyOfWordsAsBefore holds keyOfWords to the reference on every name
// of the list files in testdata and the project's data, and on names
// made to reach each branch (prefixes, number words, Roman numerals,
// markers, legal forms, abbreviations, many words).
func TestKeyOfWordsAsBefore(t *testing.T) {
	for _, n := range []string{"", "  ", "M/V CHON MA SAN", "M V  JI SONG 6", "MT KUM UN SAN NO. 3", "BILLIONS NO. 18", "SHIP ONE TWO", "KING GEORGE IV",
		"PACIFIC 007", "0 0 0", "12 34", "KOREA MINING DEVELOPMENT TRADING CORPORATION", "KOMID CO LTD", "AMROGGANG DEVELOPMENT BANKING CORP",
		"A B C D E F G H I J K L M N O P", "ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE TEN 1 2 3 4 5 6 7 8 9 10", "CH'ONMA", "ŠIP ÆGIR",
		strings.Repeat("LONGWORD", 20) + " SECOND", "KIM JONG UN", "RI SON GWON", "PAK PONG JU"} {
		sameKey(t, n)
	}
	names, limit := 0, 50000
	if testing.Short() {
		limit = 10000
	}
	seen := map[string]bool{}
	// The list files embedded in the program (sanctions/snapshot), and
	// the real data beside the repository when it is there.
	var files []string
	for _, root := range []string{"../snapshot/data", "../../../shared/data/lists"} {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, path)
			}
			return nil
		})
	}
	if len(files) == 0 {
		t.Fatal("no list files found in ../snapshot/data")
	}
	{
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				continue
			}
			sc := bufio.NewScanner(fh)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() && names < limit {
				// Any line's text is a name as far as keys go: the fields
				// of a list file are names, addresses and numbers.
				for _, field := range strings.FieldsFunc(sc.Text(), func(r rune) bool {
					return r == ',' || r == '<' || r == '>' || r == '"' || r == ';' || r == '|' || r == '\t'
				}) {
					if len(field) < 200 && !seen[field] {
						seen[field] = true
						sameKey(t, field)
						names++
					}
				}
			}
			fh.Close()
		}
	}
	t.Logf("%d strings compared", names)
}

func FuzzKeyOfWords(f *testing.F) {
	for _, s := range []string{"M/V CHON MA SAN", "BILLIONS NO. 18", "KING GEORGE IV", "KOMID CO LTD", "0 07 A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { sameKey(t, s) })
}
