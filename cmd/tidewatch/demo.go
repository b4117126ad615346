package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/ais/sample"
	"github.com/tidewatch/tidewatch/sanctions"
)

// runDemo shows the product on the embedded snapshot. It grows as
// capabilities land; today it covers identity, lists, merging and diffs.
func runDemo(e *env, args []string) error {
	fs := newFlagSet(e, "demo", "tidewatch demo", `
Runs Tidewatch on the sanctions-list snapshot built into the binary: no
network, no data directory. It reads every list, shows what each holds,
finds DPRK vessels by IMO number, shows one designation merged across
lists, explains identifiers, diffs two UN list versions, and decodes a
real satellite AIS log.`)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	w := e.stdout
	fmt.Fprintln(w, "== 1. The lists (tidewatch lists show --embedded)")
	fmt.Fprintln(w)
	l := loadEmbedded()
	printShow(w, l, false)
	if len(l.failed) > 0 {
		return fmt.Errorf("embedded snapshot: %v", l.failed[0])
	}

	merged := sanctions.Merge(sanctions.Latest(l.datasets)...)
	fmt.Fprintln(w, "\n== 2. DPRK vessels are found by IMO number, whatever their name (tidewatch lists entities --embedded --imo N)")
	fmt.Fprintln(w)
	for _, imo := range []string{"8606173", "9417115", "8712362"} {
		for _, en := range merged {
			if hasIMO(en, imo) {
				fmt.Fprintln(w, entityLine(en))
			}
		}
	}

	fmt.Fprintln(w, "\n== 3. One designation on several lists becomes one entity (joined on IMO company number and UN reference)")
	fmt.Fprintln(w)
	for _, en := range merged {
		if strings.EqualFold(en.Name, "KOREA ACHIM SHIPPING CO") {
			fmt.Fprintln(w, entityLine(en))
			for _, li := range en.Listings {
				fmt.Fprintf(w, "    %-14s listed %-10s programmes %s  (version %s)\n", li.Ref(), orDash(li.ListedOn), strings.Join(li.Programmes, ","), li.Version)
			}
		}
	}

	fmt.Fprintln(w, "\n== 4. Identifiers explained (tidewatch identify ...)")
	fmt.Fprintln(w)
	for _, v := range []string{"8606173", "5936312", "445123000", "HMYX", "3EAB4"} {
		fmt.Fprintln(w, describe(v))
	}

	fmt.Fprintln(w, "\n== 5. What changed in the UN list (tidewatch lists diff FROM TO --summary)")
	fmt.Fprintln(w)
	var un []*sanctions.Dataset
	for _, d := range l.datasets {
		if d.Version.List == "un" {
			un = append(un, d)
		}
	}
	if len(un) >= 2 {
		d, err := sanctions.Diff(un[0], un[len(un)-1])
		if err != nil {
			return err
		}
		printDiff(w, d, true)
		for i, en := range d.Added {
			if i == 5 {
				fmt.Fprintf(w, "  ... and %d more ('tidewatch lists diff %s %s')\n", len(d.Added)-5, d.From.ID, d.To.ID)
				break
			}
			fmt.Fprintf(w, "+ %-12s %-12s %s%s\n", en.Listings[0].Ref(), en.Type, en.Name, listedOn(en))
		}
		for _, c := range d.Changed {
			if c.New.IsDPRK() {
				fmt.Fprintf(w, "~ %-12s %-12s %s: %s\n", c.New.Listings[0].Ref(), c.New.Type, c.New.Name, strings.Join(c.Fields, ", "))
			}
		}
	}
	if err := demoAIS(w); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nNext: 'tidewatch lists import --embedded' stores these versions; 'tidewatch lists update' fetches current ones;")
	fmt.Fprintln(w, "'tidewatch ais stats FILE' and 'tidewatch ais decode --json FILE' read your own AIS logs and feeds.")
	return nil
}

// demoAIS decodes the embedded real AIS sample and screens the ships it
// names against the lists by IMO number.
func demoAIS(w io.Writer) error {
	fmt.Fprintf(w, "\n== 6. AIS decoded (tidewatch ais stats / ais decode): %s, real exactEarth satellite AIS\n\n", sample.Name)
	r, err := ais.NewReader(sample.Open())
	if err != nil {
		return err
	}
	// Show the first static reports, then count the rest.
	var shown int
	src := &showStatic{Source: r, w: w, shown: &shown}
	st := collectStats(sample.Name, src)
	fmt.Fprintln(w)
	printStats(w, st)
	return nil
}

// showStatic prints the first few type 5 messages as they pass.
type showStatic struct {
	ais.Source
	w     io.Writer
	shown *int
}

func (s *showStatic) Next(m *ais.Message) error {
	err := s.Source.Next(m)
	if err == nil && m.Type == 5 && *s.shown < 4 {
		fmt.Fprintf(s.w, "  %s\n", appendText(nil, m))
		*s.shown++
	}
	return err
}
