package ingest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/sim"
)

// TestStageRunsOnItems: the stages behind an area sequencer
// (Options.AreaSplit) run on its items: an area worker's run stores
// nothing but its checkpoint and hands its contacts to Options.Items,
// published before the run is done; it counts the items it read, so a
// run done is never taken for one an earlier build recorded empty
// (store.Run.StoredNothing) and read again on top of the state it left;
// a pair worker's run of the sequencer's items and the contacts cuts a
// batch every BatchFixes items.
func TestStageRunsOnItems(t *testing.T) {
	// Meetings at sea: ships close together.
	var b bytes.Buffer
	if err := sim.WriteNMEA(&b, sim.Meetings(10, 1)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "meetings.nmea")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	in := fileInput(t, path)
	opt := options(t)
	ctx := context.Background()
	db := open(t)

	var items []detect.Item
	so := opt
	so.Stage, so.StateKey, so.AreaSplit = StageSequencer, "seq", &detect.Split{IMOs: 1, Reception: 1}
	so.Items = func(bool) (func(detect.Item), func(context.Context) error) {
		items = items[:0]
		return func(it detect.Item) { items = append(items, it) }, func(context.Context) error { return nil }
	}
	if res, err := Run(ctx, db, []Input{in}, so); err != nil || !res.Run.Done {
		t.Fatalf("sequencer: %v, %+v", err, res.Run)
	}

	var contacts []detect.Item
	published := 0
	ao := opt
	ao.Stage, ao.StateKey = StageArea, "area"
	ao.Items = func(bool) (func(detect.Item), func(context.Context) error) {
		contacts = contacts[:0]
		return func(it detect.Item) { contacts = append(contacts, it) }, func(context.Context) error { published++; return nil }
	}
	res, err := Run(ctx, db, []Input{itemsInput("items-area", items)}, ao)
	if err != nil || !res.Run.Done || published != 1 {
		t.Fatalf("area run: %v, done %v, contacts published %d times", err, res.Run.Done, published)
	}
	if res.Run.Events != 0 || res.Run.Fixes != 0 || res.Run.Messages != int64(len(items)) || res.Run.StoredNothing() {
		t.Errorf("area run: %d events, %d fixes, %d items counted of %d, stored nothing %v", res.Run.Events, res.Run.Fixes, res.Run.Messages, len(items),
			res.Run.StoredNothing())
	}
	res, err = Run(ctx, db, []Input{itemsInput("items-area", items)}, ao)
	if err != nil || !res.AlreadyDone || published != 1 {
		t.Errorf("the area run again: %v, already done %v, contacts published %d times (want it done, nothing read)", err, res.AlreadyDone, published)
	}
	if len(contacts) == 0 {
		t.Fatal("the area worker found no contact")
	}

	// The pair worker's input: the contacts of fix S after item S.
	var merged []detect.Item
	k := 0
	for _, it := range items {
		merged = append(merged, it)
		for k < len(contacts) && contacts[k].Seq == it.Seq {
			merged = append(merged, contacts[k])
			k++
		}
	}
	if k != len(contacts) {
		t.Fatalf("%d of %d contacts follow no item of their Seq", len(contacts)-k, len(contacts))
	}
	po := opt
	po.Stage, po.StateKey, po.BatchFixes = StagePairs, "pairs", 1000
	res, err = Run(ctx, db, []Input{itemsInput("items-pairs", merged)}, po)
	if err != nil || !res.Run.Done {
		t.Fatalf("pair run: %v, %+v", err, res.Run)
	}
	if want := int64(len(merged))/1000 + 1; res.Run.Batches < want {
		t.Errorf("pair run of %d items in batches of 1,000: %d batches, want %d at least", len(merged), res.Run.Batches, want)
	}
	t.Logf("%d items, %d contacts; the pair run: %d batches, %d events", len(items), len(contacts), res.Run.Batches, res.Run.Events)
}
