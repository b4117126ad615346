package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tidewatch/tidewatch/internal/app"
)

func runStore(e *env, args []string) error {
	var sf storeFlags
	var asJSON bool
	fs := newFlagSet(e, "store", "tidewatch store [--store FILE] [--json]", `
Shows what a store holds: its schema version and size, the list versions
(* in force now),
every ingest run (inputs, whether it finished, fixes read, points kept,
events) and the rows of each table.`)
	sf.register(fs, false)
	fs.BoolVar(&asJSON, "json", false, "JSON output")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	s, st, err := sf.service(app.Config{})
	if err != nil {
		return err
	}
	defer closeService(s, st)
	ctx := context.Background()
	p := localPrincipal(currentUser())
	stats, err := s.StoreStats(ctx, p)
	if err != nil {
		return err
	}
	runs, err := s.Runs(ctx, p)
	if err != nil {
		return err
	}
	versions, err := s.ListVersions(ctx, p)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(map[string]any{"path": sf.shown(), "stats": stats, "runs": runs, "list_versions": versions})
	}
	w := e.stdout
	ro := ""
	if st.ReadOnly() {
		ro = " (opened read-only)"
	}
	fmt.Fprintf(w, "%s: %.1f MB, schema version %d%s\n", sf.shown(), float64(stats.Bytes)/1e6, stats.SchemaVersion, ro)
	fmt.Fprintf(w, "positions: %d kept points of %d MMSIs in %d chunks; %d events; %d identity values\n",
		stats.Points, stats.MMSIs, stats.Chunks, stats.Events, stats.Identities)
	fmt.Fprintf(w, "tenants: %d; assessments: %d; decisions: %d; audit records: %d\n", stats.Tenants, stats.Assessments, stats.Decisions, stats.Audit)
	fmt.Fprintf(w, "\nlist versions (%d):\n", len(versions))
	for _, v := range versions {
		pub := v.Published
		if len(pub) > 10 {
			pub = pub[:10]
		}
		mark := " "
		if v.InForce {
			mark = "*"
		}
		fmt.Fprintf(w, " %s %-34s published %-10s %6d entities\n", mark, v.ID, orDash(pub), v.Total)
	}
	fmt.Fprintf(w, "\ningest runs (%d):\n", len(runs))
	for _, r := range runs {
		state := "finished"
		if !r.Done {
			state = fmt.Sprintf("INCOMPLETE after %d batches (rerun the same ingest to resume)", r.Batches)
		}
		held := ""
		if r.Held > 0 {
			held = fmt.Sprintf("; %d held in the detectors' window at its end (stored by the next run, or by ingest --flush)", r.Held)
		}
		fmt.Fprintf(w, "  %s  %s: %s%s\n    %s\n", r.ID, state, runCounts(r), held, strings.Join(r.Inputs, "\n    "))
	}
	return nil
}
