package risk

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/snapshot"
)

// A vessel that used a listed ship's name under its own, other IMO: the
// profile shows the near miss, with no list hit and not a point more (the
// recommendation and score are those of the same vessel without it); a
// profile without one encodes as it did (no near_misses key).
func TestProfileNearMissNotScored(t *testing.T) {
	res := sanctions.LoadFiles(snapshot.Files())
	sc := NewScreener(sanctions.Merge(sanctions.Latest(res.Datasets)...))
	hits, near := sc.VesselNearMisses("vessel", 9811000, 0, []string{"CHON MA SAN", "PLAIN SAILING"})
	if len(hits) != 0 || len(near) != 1 {
		t.Fatalf("hits %+v, near misses %+v", hits, near)
	}
	n := near[0]
	if n.Query != `name "CHON MA SAN"` || n.ListedIMO != "IMO8660313" || n.QueryIMO != "IMO9811000" ||
		n.Message != "name of listed vessel CHON MA SAN ("+n.EntityID+"), IMO differs: query 9811000, listed 8660313" {
		t.Errorf("near miss %+v", n)
	}
	// With the listed IMO, the same name is a hit and no near miss.
	hits, near = sc.VesselNearMisses("vessel", 8660313, 0, []string{"CHON MA SAN"})
	if len(hits) != 1 || len(near) != 0 {
		t.Errorf("listed IMO: hits %+v, near misses %+v", hits, near)
	}

	in := cleanInput()
	in.IMO = 9811000
	without := Assess(in, DefaultConfig)
	in.NearMisses = []NearMiss{n}
	with := Assess(in, DefaultConfig)
	if with.Score != without.Score || with.Recommendation != without.Recommendation || len(with.Factors) != len(without.Factors) || len(with.NearMisses) != 1 {
		t.Errorf("with the near miss: %s %g %d factors; without: %s %g %d", with.Recommendation, with.Score, len(with.Factors), without.Recommendation, without.Score, len(without.Factors))
	}
	b, _ := json.Marshal(without)
	w, _ := json.Marshal(with)
	if strings.Contains(string(b), "near_misses") || !strings.Contains(string(w), `"near_misses":[{"about":"vessel"`) {
		t.Errorf("encodings:\n%s\n%s", b, w)
	}
}
