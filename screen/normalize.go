// Package screen matches vessels, organizations and persons against the
// merged sanctions entities: identifiers first (IMO, MMSI, call sign), then
// names folded for the ways DPRK names are written differently (spacing,
// McCune-Reischauer vs Revised Romanization, vessel prefixes, number
// markers and words, look-alike letters, typos), with numbers in vessel
// names treated as identity. Every result explains itself; a query field
// that cannot be used is reported as a warning on the answer, never used to
// lower a score.
//
// Name normalisation lives in sanctions/names, shared with the merge of
// list entries by name.
package screen
