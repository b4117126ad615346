package app

import (
	"context"
	"strings"

	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/screen"
)

// NamePart is what a query's name alone scores against one entity: the
// name's share of a screening score, for answers that show a score's
// parts (the yente-compatible API's features).
type NamePart struct {
	Score       float64
	MatchedName string
	// Explanation is the screening's sentence about the name.
	Explanation string
}

// NameParts scores names alone (the type kept, identifiers left out)
// against the lists that a screening already made and recorded used, and
// returns each entity's best part over the names. Parts are keyed by the
// entity itself: list IDs are not always unique (the EU transcription
// reuses record numbers across annexes). It answers nothing a
// screening did not, so it writes no audit record: call it only to break
// down a screening's scores. lists are the versions the screening named;
// when the lists in force have changed since, ok is false and no parts
// are given (the parts would belong to other lists).
func (s *Service) NameParts(ctx context.Context, p Principal, typ string, names []string, lists []VersionRef) (parts map[*sanctions.Entity]NamePart, ok bool, err error) {
	if err := p.need(RoleViewer, "screening"); err != nil {
		return nil, false, err
	}
	idx, err := s.screens.now(ctx)
	if err != nil {
		return nil, false, err
	}
	if len(idx.refs) != len(lists) {
		return nil, false, nil
	}
	for i, r := range idx.refs {
		if r.ID != lists[i].ID {
			return nil, false, nil
		}
	}
	parts = map[*sanctions.Entity]NamePart{}
	for _, n := range names {
		if strings.TrimSpace(n) == "" {
			continue
		}
		// All: the scores below the threshold are parts too. The limit is
		// above the candidates a name can bring (64 per type).
		res, err := idx.ix.Search(screen.Query{Type: typ, Name: n}, screen.Options{All: true, Limit: 1000})
		if err != nil {
			return nil, false, Errorf(CodeInvalid, "%v", err)
		}
		for _, r := range res {
			if old, seen := parts[r.Entity]; seen && old.Score >= r.Score {
				continue
			}
			// A query without identifiers explains its name first (notes
			// about the entity may follow).
			np := NamePart{Score: r.Score, MatchedName: r.MatchedName}
			if len(r.Explanation) > 0 {
				np.Explanation = r.Explanation[0]
			}
			parts[r.Entity] = np
		}
	}
	return parts, true, nil
}
