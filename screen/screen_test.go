package screen

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/sanctions"
)

func search(t *testing.T, q Query) []Result {
	t.Helper()
	ix, _ := embeddedIndex(t)
	res, err := ix.Search(q, Options{})
	if err != nil {
		t.Fatalf("%+v: %v", q, err)
	}
	return res
}

func TestMustShow(t *testing.T) {
	// IMO alone, in any written form.
	for _, imo := range []string{"8606173", "IMO 8606173", "IMO8606173", "imo no. 8606173"} {
		res := search(t, Query{IMO: imo})
		if len(res) != 1 || res[0].Entity.Name != "RYONG GUN BONG" || res[0].Score != 1 {
			t.Errorf("IMO %q: %+v", imo, res)
		}
	}
	// An IMO match wins whatever the name says.
	res := search(t, Query{Type: "vessel", Name: "SOMETHING ELSE ENTIRELY", IMO: "8606173"})
	if len(res) == 0 || res[0].Entity.ShipIMO() != "8606173" || !strings.Contains(res[0].Explanation[0], "whatever the name says") {
		t.Errorf("IMO over name: %+v", res)
	}
	// Joined spelling finds CHON MA SAN first.
	res = search(t, Query{Name: "CHONMASAN"})
	if len(res) == 0 || res[0].Entity.Name != "CHON MA SAN" {
		t.Fatalf("CHONMASAN: %+v", res)
	}
	// Numbers are identity.
	for _, r := range search(t, Query{Name: "JI SONG 8"}) {
		if r.Entity.Name == "JI SONG 6" {
			t.Errorf("JI SONG 8 matched JI SONG 6 at %.2f", r.Score)
		}
	}
	for _, r := range search(t, Query{Name: "JI SONG 16"}) {
		if strings.HasPrefix(r.Entity.Name, "JI SONG") {
			t.Errorf("JI SONG 16 matched %s", r.Entity.Name)
		}
	}
	// One merged organization with its UN and OFAC listings.
	res = search(t, Query{Type: "organization", Name: "Korea Achim Shipping Co"})
	if len(res) != 1 {
		t.Fatalf("Korea Achim: %d results", len(res))
	}
	refs := map[string]bool{}
	for _, l := range res[0].Entity.Listings {
		refs[l.Ref()] = true
	}
	if !refs["un:KPe.061"] || !refs["ofac:23707"] {
		t.Errorf("listings %v", refs)
	}
}

func TestVariantsAndExplanations(t *testing.T) {
	cases := []struct {
		q    Query
		want string
	}{
		{Query{Name: "M/V CHEON MA SAN"}, "CHON MA SAN"},             // prefix + Revised Romanization
		{Query{Name: "MT. Chon Ma San"}, "CHON MA SAN"},              // prefix with punctuation
		{Query{Name: "CHON MASAN"}, "CHON MA SAN"},                   // partly joined
		{Query{Name: "YU JEONG 2"}, "YU JONG 2"},                     // eo
		{Query{Name: "PAEK MA"}, "PAEK MA"},                          // exact short name
		{Query{Name: "KUM UN SAN 3"}, "KUM UN SAN 3"},                // numbers kept
		{Query{Name: "GEUM UN SAN 3"}, "KUM UN SAN 3"},               // Kum/Geum
		{Query{Type: "person", Name: "Jong Un Kim"}, "KIM, Jong Un"}, // order
		// One entity since the EU and OFAC listings joined the UN's.
		{Query{Type: "organization", Name: "OCEAN MARITIME MGMT CO LTD"}, "OCEAN MARITIME MANAGEMENT COMPANY, LIMITED (OMM)"},
	}
	for _, c := range cases {
		res := search(t, c.q)
		if len(res) == 0 || !res[0].Match || res[0].Entity.Name != c.want {
			got := "nothing"
			if len(res) > 0 {
				got = res[0].Entity.Name
			}
			t.Errorf("%+v: got %s, want %s", c.q, got, c.want)
			continue
		}
		if len(res[0].Explanation) == 0 {
			t.Errorf("%+v: no explanation", c.q)
		}
	}
	// A flag that differs never lowers the score; it is explained.
	a := search(t, Query{Type: "vessel", Name: "CHON MA SAN"})
	b := search(t, Query{Type: "vessel", Name: "CHON MA SAN", Flag: "Sierra Leone"})
	if a[0].Score != b[0].Score || !strings.Contains(strings.Join(b[0].Explanation, " "), "never lower") {
		t.Errorf("flag changed the score or went unexplained: %v %v", a[0].Score, b[0].Explanation)
	}
	// Ship and company IMO numbers are kept apart: a company number does
	// not find a vessel; it is set aside with a warning.
	ix, _ := embeddedIndex(t)
	ans, err := ix.Screen(Query{Type: "vessel", IMO: "5936312"}, Options{})
	if !errors.Is(err, ErrEmptyQuery) || len(ans.Results) != 0 || len(ans.Warnings) != 1 || !strings.Contains(ans.Warnings[0].Message, "company IMO number") {
		t.Errorf("company IMO for a vessel: %v %+v", err, ans)
	}
	res := search(t, Query{Type: "organization", IMO: "5936312"})
	if len(res) != 1 || res[0].Entity.ID != "un:KPe.061" {
		t.Errorf("company IMO: %+v", res)
	}
	// A different IMO on the query marks the name match as another hull:
	// shown below the threshold, explained.
	res, _ = ix.Search(Query{Type: "vessel", Name: "CHON MA SAN", IMO: "9417115"}, Options{All: true})
	found := false
	for _, r := range res {
		if r.Entity.Name == "CHON MA SAN" {
			found = true
			if !strings.Contains(strings.Join(r.Explanation, " "), "differs from the listed IMO") {
				t.Errorf("IMO conflict unexplained: %v", r.Explanation)
			}
		}
	}
	if !found {
		t.Error("CHON MA SAN lost when the query IMO differs")
	}
}

func TestBadQueries(t *testing.T) {
	ix, _ := embeddedIndex(t)
	cases := []Query{
		{},
		{Name: "   "},
		{Name: strings.Repeat("A", 10<<20)},
		{Name: "CHON\xff\xfeMA"},
		{Name: "X", Type: "boat"},
		{IMO: "12345"},
		{MMSI: "44512300"},
	}
	for _, q := range cases {
		_, err := ix.Search(q, Options{})
		if err == nil {
			t.Errorf("query %.40q accepted", q.Name+q.IMO+q.MMSI+q.Type)
		}
	}
	if _, err := ix.Search(Query{}, Options{}); !errors.Is(err, ErrEmptyQuery) {
		t.Errorf("empty: %v", err)
	}
	// Types as analysts' files write them are read, not refused.
	for in, want := range map[string]string{"Ship": "vessel", "company": "organization", "Organisation": "organization", "individual": "person", " VESSEL ": "vessel"} {
		q := Query{Name: "CHON MA SAN", Type: in}
		if err := q.Validate(); err != nil || q.Type != want {
			t.Errorf("type %q: %q %v", in, q.Type, err)
		}
	}
}

// Results do not depend on the order entities were indexed in.
func TestDeterministic(t *testing.T) {
	_, ents := embeddedIndex(t)
	rev := make([]*sanctions.Entity, len(ents))
	for i, e := range ents {
		rev[len(ents)-1-i] = e
	}
	a, b := NewIndex(ents), NewIndex(rev)
	for _, q := range []Query{{Name: "JI SONG"}, {Name: "KOREA TRADING"}, {Type: "person", Name: "KIM CHOL"}} {
		ra, _ := a.Search(q, Options{All: true})
		rb, _ := b.Search(q, Options{All: true})
		if len(ra) != len(rb) {
			t.Fatalf("%v: %d vs %d", q, len(ra), len(rb))
		}
		for i := range ra {
			if ra[i].Entity.ID != rb[i].Entity.ID || ra[i].Score != rb[i].Score {
				t.Errorf("%v #%d: %s %.3f vs %s %.3f", q, i, ra[i].Entity.ID, ra[i].Score, rb[i].Entity.ID, rb[i].Score)
			}
		}
	}
}

// The index of every embedded list stays well under 200 MB.
func TestIndexMemory(t *testing.T) {
	_, ents := embeddedIndex(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	ix := NewIndex(ents)
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	mb := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
	t.Logf("index of %d entities: %.1f MB of heap", ix.Len(), mb)
	if mb <= 0 || mb > 200 {
		t.Errorf("index uses %.1f MB", mb)
	}
	runtime.KeepAlive(ix)
}

// TestNearMissSameNameOtherIMO: the exact name of a listed ship with
// another valid IMO is not a match (ships share names; the score stays
// 0.85, below the threshold) but comes back as a near miss naming both
// IMO numbers, whatever the options: before, the answer was "No match"
// and said nothing of the listed ship unless asked for results below the
// threshold.
func TestNearMissSameNameOtherIMO(t *testing.T) {
	ix, _ := embeddedIndex(t)
	q := Query{Type: "vessel", Name: "CHON MA SAN", IMO: "9811000"} // a valid ship IMO, not listed
	ans, err := ix.Screen(q, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range ans.Results {
		if r.Match {
			t.Errorf("a match: %s %.3f", r.Entity.ID, r.Score)
		}
	}
	if len(ans.NearMisses) != 1 {
		t.Fatalf("near misses %+v", ans.NearMisses)
	}
	nm := ans.NearMisses[0]
	want := "name of listed vessel CHON MA SAN (" + nm.Entity.ID + "), IMO differs: query 9811000, listed 8660313"
	if nm.Kind != NearMissIMODiffers || nm.Entity.Name != "CHON MA SAN" || nm.QueryIMO != "9811000" || nm.ListedIMO != "8660313" ||
		nm.NameScore != 1 || nm.Score != 0.85 || nm.Message != want {
		t.Errorf("near miss %+v, message %q want %q", nm, nm.Message, want)
	}
	// The score is what it was: the result below the threshold says 0.85.
	all, _ := ix.Screen(q, Options{All: true})
	if len(all.Results) == 0 || all.Results[0].Entity != nm.Entity || all.Results[0].Score != 0.85 || all.Results[0].Match {
		t.Errorf("results with All: %+v", all.Results)
	}
	// No near miss: with the listed IMO (a match), with no IMO (a match
	// by name), with a name that alone is no match, with an IMO set aside
	// for its check digit, or for an organization.
	for _, q := range []Query{
		{Type: "vessel", Name: "CHON MA SAN", IMO: "8660313"},
		{Type: "vessel", Name: "CHON MA SAN"},
		{Type: "vessel", Name: "ZORBA THE GREEK", IMO: "9811000"},
		{Type: "vessel", Name: "CHON MA SAN", IMO: "9811001"},
		{Type: "organization", Name: "KOREA ACHIM SHIPPING", IMO: "5405447"},
	} {
		a, err := ix.Screen(q, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(a.NearMisses) != 0 {
			t.Errorf("%+v: near misses %+v", q, a.NearMisses)
		}
	}
	// A near spelling of the listed name says how near.
	typo, _ := ix.Screen(Query{Type: "vessel", Name: "CHON MA SON", IMO: "9811000"}, Options{})
	if len(typo.NearMisses) != 1 || !strings.HasPrefix(typo.NearMisses[0].Message, "name close (0.89) to listed vessel CHON MA SAN (") {
		t.Errorf("typo: %+v", typo.NearMisses)
	}
	// A lower threshold makes it a match, and then it is no near miss.
	low, _ := ix.Screen(q, Options{Threshold: 0.8})
	if len(low.NearMisses) != 0 || len(low.Results) == 0 || !low.Results[0].Match {
		t.Errorf("threshold 0.8: %+v %+v", low.Results, low.NearMisses)
	}
}
