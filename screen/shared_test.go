package screen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/liststore"
	"github.com/tidewatch/tidewatch/sanctions"
)

// The issue's examples on the lists in shared/data/lists, read the way
// --lists DIR reads them (skipped in a clone without ../shared).
func TestSharedListsIssueExamples(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "data", "lists")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("shared data absent")
	}
	files, err := liststore.FromPaths([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	res := sanctions.LoadFiles(files)
	if len(res.Failed) > 0 {
		t.Fatal(res.Failed)
	}
	ix := NewIndex(sanctions.Merge(sanctions.Latest(res.Datasets)...))
	check := func(q Query, want string, match bool) Answer {
		t.Helper()
		ans, err := ix.Screen(q, Options{All: true, Limit: 50})
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		got := false
		for _, r := range ans.Results {
			if r.Entity.Name == want && r.Match {
				got = true
			}
		}
		if got != match {
			t.Errorf("%+v: match with %s = %v, want %v", q, want, got, match)
		}
		return ans
	}
	ans := check(Query{Type: "vessel", Name: "RYONG GUN BONG", IMO: "8606174"}, "RYONG GUN BONG", true)
	if len(ans.Warnings) != 1 {
		t.Errorf("warnings %+v", ans.Warnings)
	}
	for _, n := range []string{"BILLIONS 18", "BILLIONS NO 18", "BILLIONS #18"} {
		check(Query{Type: "vessel", Name: n}, "BILLIONS NO. 18", true)
	}
	check(Query{Type: "vessel", Name: "CHON MYONG ONE"}, "CHON MYONG 1", true)
	check(Query{Type: "vessel", Name: "JI SONG 8"}, "JI SONG 6", false)
	check(Query{Type: "vessel", Name: "JI SNG 6"}, "JI SONG 6", true)
	for _, n := range []string{"ＣＨＯＮ ＭＡ ＳＡＮ", "СНОN МА SАN", "CHON MA SAN (천마산)"} {
		check(Query{Name: n}, "CHON MA SAN", true)
	}
	ans = check(Query{Type: "organization", Name: "SHANGHAI DONGFENG SHIPPING"}, "SHANGHAI DONGFENG SHIPPING CO LTD", true)
	if why := strings.Join(ans.Results[0].Explanation, " "); !strings.Contains(why, "joined by name") {
		t.Errorf("explanation %s", why)
	}
}
