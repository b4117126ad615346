package sanctions

import (
	"fmt"
	"strings"
)

// Problem is one piece of input a parser could not use. Parsers skip what
// they cannot read, count it and carry on; only a file whose structure is
// broken (truncated XML, not the expected layout) fails the import.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Element string `json:"element,omitempty"` // XML element or CSV column
	Reason  string `json:"reason"`
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	if p.Element != "" {
		fmt.Fprintf(&b, " <%s>", p.Element)
	}
	b.WriteString(": ")
	b.WriteString(p.Reason)
	return b.String()
}

// ParseError is a problem that stopped the import of a file. The caller
// keeps the last good version of the list.
type ParseError struct {
	Problem
	Err error
}

func (e *ParseError) Error() string { return e.Problem.String() }
func (e *ParseError) Unwrap() error { return e.Err }

// maxProblemSamples bounds the problems kept in memory: a junk file must not
// cost memory per bad line. Every problem is still counted.
const maxProblemSamples = 50

// Problems counts problems by reason and keeps the first few verbatim.
type Problems struct {
	Count    int            `json:"count"`
	ByReason map[string]int `json:"by_reason,omitempty"`
	Samples  []Problem      `json:"samples,omitempty"`
}

// Add records a problem. reasonKey groups counts; it is the reason without
// the specifics (which value was bad).
func (ps *Problems) Add(p Problem, reasonKey string) {
	ps.Count++
	if ps.ByReason == nil {
		ps.ByReason = map[string]int{}
	}
	ps.ByReason[reasonKey]++
	if len(ps.Samples) < maxProblemSamples {
		ps.Samples = append(ps.Samples, p)
	}
}

// Merge adds another file's problems.
func (ps *Problems) Merge(o Problems) {
	ps.Count += o.Count
	for k, v := range o.ByReason {
		if ps.ByReason == nil {
			ps.ByReason = map[string]int{}
		}
		ps.ByReason[k] += v
	}
	for _, s := range o.Samples {
		if len(ps.Samples) < maxProblemSamples {
			ps.Samples = append(ps.Samples, s)
		}
	}
}
