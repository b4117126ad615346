package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/tidewatch/tidewatch/store/sqlite"
)

func runStore(e *env, args []string) error {
	var storePath string
	var asJSON bool
	fs := newFlagSet(e, "store", "tidewatch store [--store FILE] [--json]", `
Shows what a store holds: its schema version and size, the list versions,
every ingest run (inputs, whether it finished, fixes read, points kept,
events) and the rows of each table.`)
	fs.StringVar(&storePath, "store", defaultStore(), "the store file")
	fs.BoolVar(&asJSON, "json", false, "JSON output")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	fi, err := os.Stat(storePath)
	if err != nil {
		return fmt.Errorf("store %s: %w (build one with 'tidewatch ingest')", storePath, err)
	}
	st, err := openStore(storePath)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	counts, err := st.Counts(ctx)
	if err != nil {
		return err
	}
	runs, err := st.Runs(ctx)
	if err != nil {
		return err
	}
	versions, err := st.ListVersions(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(map[string]any{"path": storePath, "bytes": fi.Size(), "schema_version": sqlite.SchemaVersion(),
			"counts": counts, "runs": runs, "list_versions": versions})
	}
	w := e.stdout
	fmt.Fprintf(w, "%s: %.1f MB, schema version %d\n", storePath, float64(fi.Size())/1e6, sqlite.SchemaVersion())
	fmt.Fprintf(w, "positions: %d kept points of %d MMSIs in %d chunks; %d events; %d identity values\n",
		counts["points"], counts["mmsis"], counts["chunks"], counts["events"], counts["identities"])
	fmt.Fprintf(w, "assessments: %d; audit records: %d\n", counts["assessments"], counts["audit"])
	fmt.Fprintf(w, "\nlist versions (%d):\n", len(versions))
	for _, v := range versions {
		pub := v.Published
		if len(pub) > 10 {
			pub = pub[:10]
		}
		fmt.Fprintf(w, "  %-34s published %-10s %6d entities\n", v.ID, orDash(pub), v.Total)
	}
	fmt.Fprintf(w, "\ningest runs (%d):\n", len(runs))
	for _, r := range runs {
		state := "finished"
		if !r.Done {
			state = fmt.Sprintf("INCOMPLETE after %d batches (rerun the same ingest to resume)", r.Batches)
		}
		fmt.Fprintf(w, "  %s  %s: %d fixes, %d points kept, %d events\n    %s\n", r.ID, state, r.Fixes, r.Kept, r.Events, strings.Join(r.Inputs, "\n    "))
	}
	return nil
}
