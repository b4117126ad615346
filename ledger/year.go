package ledger

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Published is an estimate of illicit deliveries published by a
// government or the UN Panel of Experts.
type Published struct {
	PeriodStart string `json:"period_start"`
	PeriodEnd   string `json:"period_end"`
	// Deliveries observed (0: not given).
	Deliveries int `json:"deliveries_observed,omitempty"`
	// Barrels estimated (0: not given, e.g. "several times the cap").
	Barrels float64 `json:"estimate_bbl,omitempty"`
	// Scenario as published ("90% laden"); Fill its level when it names
	// one (0: none).
	Scenario string  `json:"scenario,omitempty"`
	Fill     float64 `json:"fill,omitempty"`
	By       string  `json:"by"`
	Source   string  `json:"source"`
	Note     string  `json:"note,omitempty"`
}

var fillPattern = regexp.MustCompile(`(?i)(\d+(?:\.\d+)?)\s*%\s*laden|fully laden`)

// ParsePublishedCSV reads published estimates (the layout of
// ledger/data/published_estimates.csv).
func ParsePublishedCSV(r io.Reader) ([]Published, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, err
	}
	col := columns(head)
	var out []Published
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		get := func(c string) string { return field(rec, col, c) }
		p := Published{PeriodStart: get("period_start"), PeriodEnd: get("period_end"), Scenario: get("scenario"), By: get("by"), Source: get("source"), Note: get("note")}
		if s := get("deliveries_observed"); s != "" {
			p.Deliveries, err = strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Errorf("line %d: deliveries %q", line, s)
			}
		}
		if s := get("estimate_bbl"); s != "" {
			if p.Barrels, err = strconv.ParseFloat(s, 64); err != nil {
				return nil, fmt.Errorf("line %d: estimate %q", line, s)
			}
		}
		if m := fillPattern.FindStringSubmatch(p.Scenario); m != nil {
			if m[1] == "" {
				p.Fill = 1
			} else {
				v, _ := strconv.ParseFloat(m[1], 64)
				p.Fill = v / 100
			}
		}
		if _, err := time.Parse("2006-01-02", p.PeriodStart); err != nil {
			return nil, fmt.Errorf("line %d: period start %q", line, p.PeriodStart)
		}
		if _, err := time.Parse("2006-01-02", p.PeriodEnd); err != nil {
			return nil, fmt.Errorf("line %d: period end %q", line, p.PeriodEnd)
		}
		out = append(out, p)
	}
}

// EmbeddedPublished is the transcription of published estimates
// (ledger/data/published_estimates.csv).
func EmbeddedPublished() []Published {
	b, _ := data.ReadFile("data/published_estimates.csv")
	out, err := ParsePublishedCSV(bytes.NewReader(b))
	if err != nil {
		panic(fmt.Sprintf("embedded published estimates: %v", err))
	}
	return out
}

// NotifiedLine is a notified record in the year's ledger.
type NotifiedLine struct {
	Record     Notified   `json:"record"`
	Conversion Conversion `json:"conversion"`
	// CoveredBy names the record that already counts this one: it is
	// shown, not added. Why says which rule (Covered): a repeated figure
	// or a part within a whole; with CoveredBy empty, why a record that
	// looks like another is added all the same.
	CoveredBy string `json:"covered_by,omitempty"`
	Why       string `json:"why,omitempty"`
}

// ScenarioTotal is the year's estimated deliveries under one scenario.
type ScenarioTotal struct {
	Scenario Scenario `json:"scenario"`
	// Estimated is the sum over the estimates; Share the same as a share
	// of the cap (1 = the whole cap).
	Estimated Range `json:"estimated_bbl"`
	Share     Range `json:"share_of_cap"`
	// WithNotified adds the notified total: what reached the DPRK if the
	// estimated deliveries came on top of the notified ones.
	WithNotified      Range `json:"with_notified_bbl"`
	WithNotifiedShare Range `json:"with_notified_share_of_cap"`
}

// PublishedLine sets a published estimate beside ours for the same period.
type PublishedLine struct {
	Published Published `json:"published"`
	// OurDeliveries counts our estimates arriving in the period; Ours is
	// their barrels under the published scenario (or fully laden when it
	// names none, OursScenario says which).
	OurDeliveries int    `json:"our_deliveries"`
	OursScenario  string `json:"our_scenario"`
	// OursScenarioName is its name ("fully laden").
	OursScenarioName string `json:"our_scenario_name"`
	Ours             Range  `json:"our_bbl"`
	// Partial: the period runs outside the year; ours counts the whole
	// period anyway (estimates of other years included).
	Partial bool `json:"partial,omitempty"`
}

// Year is the ledger of one year.
type Year struct {
	Year int `json:"year"`
	// Cap is 500,000 barrels (0 before 2018: no cap).
	Cap           float64         `json:"cap_bbl"`
	Notified      []NotifiedLine  `json:"notified"`
	NotifiedTotal Range           `json:"notified_bbl"`
	NotifiedShare Range           `json:"notified_share_of_cap"`
	Estimates     []Estimate      `json:"estimates"`
	Skipped       []Skipped       `json:"skipped,omitempty"`
	Totals        []ScenarioTotal `json:"totals"`
	Published     []PublishedLine `json:"published"`
	// NoCapacity counts estimates counted with no barrels (no capacity
	// known): the totals are low by their cargo.
	NoCapacity int `json:"no_capacity,omitempty"`
}

// Build makes a year's ledger from the records, the estimates (of any
// year: published periods may span years) and the published estimates,
// converting with the factors given. It stops with ctx's error when ctx
// is done.
func Build(ctx context.Context, year int, notified []Notified, estimates []Estimate, skipped []Skipped, published []Published, fs Factors) (Year, error) {
	y := Year{Year: year, Notified: []NotifiedLine{}, Estimates: []Estimate{}, Published: []PublishedLine{}}
	if year >= CapFrom {
		y.Cap = CapBarrels
	}
	var recs []Notified
	for _, n := range notified {
		if n.Year() == year {
			recs = append(recs, n)
		}
	}
	SortNotified(recs)
	y.Notified = make([]NotifiedLine, 0, len(recs))
	convs := make([]Conversion, len(recs))
	barrels := make([]Range, len(recs))
	for i, n := range recs {
		convs[i] = Convert(n, fs)
		barrels[i] = convs[i].Barrels
	}
	cov, err := covered(ctx, recs, barrels)
	if err != nil {
		return Year{}, err
	}
	for i, n := range recs {
		c := cov[n.ID]
		l := NotifiedLine{Record: n, Conversion: convs[i], CoveredBy: c.By, Why: c.Why}
		if l.CoveredBy == "" {
			y.NotifiedTotal = y.NotifiedTotal.Add(l.Conversion.Barrels)
		}
		y.Notified = append(y.Notified, l)
	}
	y.NotifiedShare = share(y.NotifiedTotal, y.Cap)
	for _, e := range estimates {
		if e.Year == year {
			y.Estimates = append(y.Estimates, e)
			if e.NoCapacity {
				y.NoCapacity++
			}
		}
	}
	for _, s := range skipped {
		if s.Arrival.UTC().Year() == year {
			y.Skipped = append(y.Skipped, s)
		}
	}
	for _, s := range Scenarios {
		t := ScenarioTotal{Scenario: s}
		for _, e := range y.Estimates {
			t.Estimated = t.Estimated.Add(e.Amount(s.ID))
		}
		t.Share = share(t.Estimated, y.Cap)
		t.WithNotified = t.Estimated.Add(y.NotifiedTotal)
		t.WithNotifiedShare = share(t.WithNotified, y.Cap)
		y.Totals = append(y.Totals, t)
	}
	for _, p := range published {
		from, _ := time.Parse("2006-01-02", p.PeriodStart)
		to, _ := time.Parse("2006-01-02", p.PeriodEnd)
		if to.Year() < year || from.Year() > year {
			continue
		}
		l := PublishedLine{Published: p, Partial: from.Year() != year || to.Year() != year, OursScenario: "full", OursScenarioName: "fully laden"}
		if sc, ok := ScenarioByFill(p.Fill); ok && p.Fill > 0 {
			l.OursScenario, l.OursScenarioName = sc.ID, sc.Name
		}
		end := to.AddDate(0, 0, 1) // the period's last day included
		for _, e := range estimates {
			if e.Arrival.Before(from) || !e.Arrival.Before(end) {
				continue
			}
			l.OurDeliveries++
			l.Ours = l.Ours.Add(e.Amount(l.OursScenario))
		}
		y.Published = append(y.Published, l)
	}
	sort.SliceStable(y.Published, func(i, j int) bool {
		a, b := y.Published[i].Published, y.Published[j].Published
		if a.PeriodStart != b.PeriodStart {
			return a.PeriodStart < b.PeriodStart
		}
		return a.PeriodEnd < b.PeriodEnd
	})
	return y, nil
}

func share(r Range, cap float64) Range {
	if cap <= 0 {
		return Range{}
	}
	return r.Scale(1 / cap)
}

// Years lists the years with anything in them (records, estimates or
// published figures), oldest first.
func Years(notified []Notified, estimates []Estimate, published []Published) []int {
	seen := map[int]bool{}
	for _, n := range notified {
		seen[n.Year()] = true
	}
	for _, e := range estimates {
		seen[e.Year] = true
	}
	for _, p := range published {
		if len(p.PeriodStart) >= 4 {
			if y, err := strconv.Atoi(p.PeriodStart[:4]); err == nil {
				seen[y] = true
			}
		}
	}
	var out []int
	for y := range seen {
		out = append(out, y)
	}
	sort.Ints(out)
	return out
}

// Percent writes a share as a percentage: 0.337 -> "33.7%".
func Percent(v float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", 100*v), "0"), ".") + "%"
}
