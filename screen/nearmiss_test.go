package screen

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/identity"
)

// TestNearMissesOnRealAIS screens every distinct (name, valid IMO) pair the
// real AIS files' static reports (type 5) carry, as an underwriter would
// screen those ships: how many come back with a near miss (a listed
// vessel's name, another IMO). Each is a real ship sharing a listed ship's
// name (ATLAS, HERCULES, FORTUNE, LOTUS, TRITON, ...): had the rule made
// them matches, each would be a false positive; shown as near misses, a
// reviewer sees about one ship in a hundred. A near miss is never also a
// match for the same entity.
func TestNearMissesOnRealAIS(t *testing.T) {
	ix, _ := embeddedIndex(t)
	files, _ := filepath.Glob("../ais/testdata/*.gz")
	type pair struct {
		name string
		imo  int
	}
	seen := map[pair]bool{}
	var n, near, matched int
	for _, f := range files {
		if strings.Contains(f, ".csv") {
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ais.NewReader(bufio.NewReader(fh))
		if err != nil {
			t.Fatal(err)
		}
		var m ais.Message
		for r.Next(&m) == nil {
			p := pair{strings.TrimSpace(m.ShipName), int(m.IMO)}
			if m.Type != 5 || p.name == "" || !identity.ValidShipIMO(p.imo) || seen[p] {
				continue
			}
			seen[p] = true
			n++
			a, err := ix.Screen(Query{Type: "vessel", Name: p.name, IMO: strconv.Itoa(p.imo)}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Results) > 0 {
				matched++
			}
			if len(a.NearMisses) > 0 {
				near++
				if testing.Verbose() {
					t.Logf("%q IMO %d: %s", p.name, p.imo, a.NearMisses[0].Message)
				}
			}
			for _, nm := range a.NearMisses {
				for _, r := range a.Results {
					if r.Entity == nm.Entity {
						t.Errorf("%q %d: %s is a match and a near miss", p.name, p.imo, nm.Entity.ID)
					}
				}
			}
		}
		fh.Close()
	}
	t.Logf("%d distinct (name, valid IMO) pairs in type 5 reports: %d with a match, %d with a near miss", n, matched, near)
	if n < 1000 || near == 0 || near*20 > n {
		t.Errorf("%d pairs, %d near misses: want some, and under 5%%", n, near)
	}
}
