package risk

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/screen"
)

// VersionsAt picks, for each list, the latest version published on or
// before asOf: what a screener could have known that day. A version with
// no publication date counts from the day it was retrieved.
func VersionsAt(all []sanctions.Version, asOf time.Time) []sanctions.Version {
	best := map[string]sanctions.Version{}
	bestDay := map[string]string{}
	limit := asOf.UTC().Format("2006-01-02")
	for _, v := range all {
		d := effective(v)
		if d == "" || d > limit {
			continue
		}
		// Two versions in force from one day (a list without a publication
		// date imported twice, a same-day correction): the later one, in
		// sanctions.Version.Before's order (the time retrieved), as every
		// other place that picks a list's newest version orders them.
		if cur, ok := bestDay[v.List]; !ok || d > cur || (d == cur && best[v.List].Before(v)) {
			best[v.List], bestDay[v.List] = v, d
		}
	}
	out := make([]sanctions.Version, 0, len(best))
	for _, v := range best {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].List < out[j].List })
	return out
}

func effective(v sanctions.Version) string {
	if len(v.Published) >= 10 {
		return v.Published[:10]
	}
	if !v.Retrieved.IsZero() {
		return v.Retrieved.UTC().Format("2006-01-02")
	}
	return ""
}

// Consulted describes versions for the profile.
func Consulted(vs []sanctions.Version) []ListVersion {
	out := make([]ListVersion, 0, len(vs))
	for _, v := range vs {
		out = append(out, ListVersion{List: v.List, ID: v.ID, Published: effective(v), Entities: v.Total})
	}
	return out
}

// Screener screens a vessel, its counterparts and parties against the
// merged entities of the versions in force.
type Screener struct {
	ix *screen.Index
}

// NewScreener indexes merged entities.
func NewScreener(merged []*sanctions.Entity) *Screener { return &Screener{ix: screen.NewIndex(merged)} }

// Vessel screens a vessel by IMO and MMSI, then by each name it used
// (with its IMO, so a listed ship of the same name but another IMO scores
// low and says why).
func (s *Screener) Vessel(about string, imo, mmsi uint32, names []string) []ListHit {
	hits, _ := s.VesselNearMisses(about, imo, mmsi, names)
	return hits
}

// VesselNearMisses is Vessel that also gives the near misses: listed
// vessels a name the vessel used matches while their IMO differs from
// its IMO (screen.NearMiss), each once, none that is also a hit.
func (s *Screener) VesselNearMisses(about string, imo, mmsi uint32, names []string) ([]ListHit, []NearMiss) {
	var out []ListHit
	var near []NearMiss
	seen := map[string]bool{}
	add := func(q screen.Query, label string) {
		q.Type = "vessel"
		q, _ = q.Sanitised()
		if q.Validate() != nil {
			return
		}
		ans, err := s.ix.Screen(q, screen.Options{Limit: 3})
		if err != nil {
			return
		}
		for _, r := range ans.Results {
			if !r.Match || seen[r.Entity.ID] {
				continue
			}
			seen[r.Entity.ID] = true
			out = append(out, hit(about, label, r))
		}
		for _, n := range ans.NearMisses {
			near = append(near, NearMiss{About: about, Query: label, Kind: n.Kind, EntityID: n.Entity.ID, Name: n.Entity.Name, MatchedName: n.MatchedName,
				Score: n.Score, NameScore: n.NameScore, QueryIMO: "IMO" + n.QueryIMO, ListedIMO: "IMO" + n.ListedIMO, Message: n.Message})
		}
	}
	if imo != 0 || mmsi != 0 {
		q := screen.Query{}
		label := ""
		if imo != 0 {
			q.IMO = strconv.FormatUint(uint64(imo), 10)
			label = "IMO " + q.IMO
		}
		if mmsi != 0 {
			q.MMSI = fmt.Sprintf("%09d", mmsi)
			if label != "" {
				label += ", "
			}
			label += "MMSI " + q.MMSI
		}
		add(q, label)
	}
	for _, n := range names {
		q := screen.Query{Name: n}
		if imo != 0 {
			q.IMO = strconv.FormatUint(uint64(imo), 10)
		}
		add(q, "name "+strconv.Quote(n))
	}
	// A listed vessel that another name or identifier found is a hit,
	// not a near miss; one found by two names is one near miss.
	kept := near[:0]
	for _, n := range near {
		if !seen[n.EntityID] {
			seen[n.EntityID] = true
			kept = append(kept, n)
		}
	}
	return out, kept
}

// Party screens a company.
func (s *Screener) Party(role, name string) []ListHit {
	q, _ := screen.Query{Type: "organization", Name: name}.Sanitised()
	res, err := s.ix.Search(q, screen.Options{Limit: 3})
	if err != nil {
		return nil
	}
	var out []ListHit
	for _, r := range res {
		if r.Match {
			out = append(out, hit(role, strconv.Quote(name), r))
		}
	}
	return out
}

func hit(about, query string, r screen.Result) ListHit {
	e := r.Entity
	return ListHit{About: about, Query: query, EntityID: e.ID, Name: e.Name, Type: string(e.Type), Score: r.Score,
		ByID: r.MatchedName == "", Listings: e.Listings, Explanation: r.Explanation, Flag: e.Flag, BuildYear: e.BuildYear, Links: e.Links}
}

// ScreenerFor screens against an index built already (the application
// keeps one per set of list versions).
func ScreenerFor(ix *screen.Index) *Screener { return &Screener{ix: ix} }
