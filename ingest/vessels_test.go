package ingest

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/sim"
)

// itemsInput is a vessel worker's input of the given items.
func itemsInput(name string, items []detect.Item) Input {
	return Input{Name: name, ID: name, Items: func(ctx context.Context, apply func(*detect.Item)) error {
		for i := range items {
			it := items[i]
			apply(&it)
		}
		return nil
	}}
}

// TestVesselRunDetachedAndRejected: a vessel worker's run (StageVessels)
// of a sequencer's items stores its checkpoint; one read on its own
// (Detach, as the sequencer's runs that reach back before its window
// are) starts from a fresh vessel worker and leaves that checkpoint as
// it was; items the worker rejects (here a close of a segment it does
// not hold, as the items of a fresh sequencer applied on a continuing
// state are) fail the run, not done, its checkpoint not stored.
func TestVesselRunDetachedAndRejected(t *testing.T) {
	sc := sim.DefaultScenario
	sc.Duration, sc.Background = 6*time.Hour, 5
	in := fileInput(t, simFile(t, sc))
	opt := options(t)
	ctx := context.Background()
	db := open(t)

	var items []detect.Item
	so := opt
	so.Stage, so.StateKey = StageSequencer, "seq"
	so.Items = func(bool) (func(detect.Item), func(context.Context) error) {
		items = items[:0] // a pass read again sends its items again
		return func(it detect.Item) { items = append(items, it) }, func(context.Context) error { return nil }
	}
	if res, err := Run(ctx, db, []Input{in}, so); err != nil || !res.Run.Done {
		t.Fatalf("sequencer: %v, %+v", err, res.Run)
	}
	fixes := 0
	for _, it := range items {
		if it.Kind == detect.ItemFix {
			fixes++
		}
	}
	if fixes == 0 {
		t.Fatal("the sequencer sent no fix")
	}

	vo := opt
	vo.Stage, vo.StateKey = StageVessels, "vessels"
	if res, err := Run(ctx, db, []Input{itemsInput("items-1", items)}, vo); err != nil || !res.Run.Done {
		t.Fatalf("vessel run: %v, %+v", err, res.Run)
	}
	state, err := db.DetectorState(ctx, "vessels")
	if err != nil || len(state) == 0 {
		t.Fatalf("the vessel run stored no checkpoint (%v)", err)
	}

	// The same items read on their own: a fresh worker takes them all
	// (continuing the state, their segments would be open already).
	do := vo
	do.Detach = true
	res, err := Run(ctx, db, []Input{itemsInput("items-2", items)}, do)
	if err != nil || !res.Run.Done || !res.Detached || res.Continued {
		t.Fatalf("detached vessel run: %v, done %v, detached %v, continued %v", err, res.Run.Done, res.Detached, res.Continued)
	}
	if after, err := db.DetectorState(ctx, "vessels"); err != nil || !bytes.Equal(after, state) {
		t.Errorf("the detached run changed the stored checkpoint (%v)", err)
	}

	// A close of a segment the worker does not hold.
	last := items[len(items)-1]
	bad := []detect.Item{{Kind: detect.ItemClosed, Fix: last.Fix, Segment: 1 << 20, Now: last.Now}}
	bad[0].Fix.MMSI = firstFixMMSI(items)
	res, err = Run(ctx, db, []Input{itemsInput("items-3", bad)}, vo)
	if err == nil || !strings.Contains(err.Error(), "rejected 1 items") {
		t.Fatalf("a vessel run with a rejected item: %v, want an error saying 1 item was rejected", err)
	}
	if res.Run.Done {
		t.Error("the run with a rejected item is marked done")
	}
	if after, err := db.DetectorState(ctx, "vessels"); err != nil || !bytes.Equal(after, state) {
		t.Errorf("the failed run changed the stored checkpoint (%v)", err)
	}
}

func firstFixMMSI(items []detect.Item) uint32 {
	for _, it := range items {
		if it.Kind == detect.ItemFix {
			return it.Fix.MMSI
		}
	}
	return 0
}
