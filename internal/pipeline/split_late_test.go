package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/internal/pipeline"
	"github.com/tidewatch/tidewatch/store"
)

// cutAt returns the offset of the first line after frac of data that
// begins a sentence group (a one-part message or the first of two).
func cutAt(data []byte, frac float64) int {
	off := int(float64(len(data)) * frac)
	for {
		nl := bytes.IndexByte(data[off:], '\n')
		off += nl + 1
		line := string(data[off:min(len(data), off+200)])
		if strings.Contains(line, "VDM,1,1,") || strings.Contains(line, "VDM,2,1,") {
			return off
		}
	}
}

// publishParts publishes parts as files of their own, in order, then a
// flush mark.
func (c *cluster) publishParts(parts ...[]byte) {
	t := c.t
	nc, js, err := pipeline.Connect(c.srv.URL(), "test-publisher")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx := context.Background()
	if _, err := pipeline.EnsureStream(ctx, js, "", pipeline.Limits{}); err != nil {
		t.Fatal(err)
	}
	p := &pipeline.Publisher{JS: js, BlockBytes: c.block}
	for i, b := range parts {
		if _, err := p.Publish(ctx, fmt.Sprintf("fixture-part-%d", i), "sim", bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.PublishFlush(ctx, "fixture"); err != nil {
		t.Fatal(err)
	}
}

// TestSplitLateRunDetached: AIS older than the detectors' reorder window
// (a part of the stream published again after later AIS) makes the
// sequencer read its run on its own (detached: from a fresh sequencer,
// flushed at its end, the stored state untouched). Its items say so
// (HeaderDetached), and the vessel workers read it on their own too, as
// the whole-engine worker does: the split stores the same events, tracks
// and identity histories as the whole-engine pipeline, and no vessel
// worker rejects an item (a rejection fails the run); the same with
// every stage of the area split (shapes[0]). -short: the same
// stream without the late part.
func TestSplitLateRunDetached(t *testing.T) {
	f := theFixture(t)
	a, b := cutAt(f.nmea, 0.6), cutAt(f.nmea, 0.05)
	parts := [][]byte{f.nmea[:a], f.nmea[:b], f.nmea[a:]}
	if testing.Short() {
		parts = [][]byte{f.nmea[:a], f.nmea[a:]}
	}

	whole := newCluster(t, stores[0].open(t), 1)
	whole.publishParts(parts...)
	w := whole.worker(0, whole.opts)
	w.waitFlushed(t)
	w.stop(t)
	wholeEvs, err := whole.st.QueryEvents(context.Background(), store.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	wantStored := storedOf(t, whole.st, f.mmsis)
	detached := 0
	for _, r := range w.runs {
		if r.Result.Detached {
			detached++
		}
	}
	t.Logf("whole: %d runs, %d detached, %d events", len(w.runs), detached, len(wholeEvs))
	if !testing.Short() && detached == 0 {
		t.Fatal("no run of the whole-engine worker was read on its own: the test does not test what it says")
	}

	compare := func(who string, c *cluster) {
		evs, err := c.st.QueryEvents(context.Background(), store.EventQuery{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d events", who, len(evs))
		ws, ss := sortedJSON(wholeEvs), sortedJSON(evs)
		if len(ws) != len(ss) {
			t.Errorf("events: whole %d, %s %d", len(ws), who, len(ss))
		}
		for i := range min(len(ws), len(ss)) {
			if ws[i] != ss[i] {
				t.Errorf("event %d differs:\nwhole %s\n%s %s", i, ws[i], who, ss[i])
				break
			}
		}
		storedOf(t, c.st, f.mmsis).same(t, who+" with a run read on its own", wantStored)
	}
	split := newCluster(t, stores[0].open(t), 2)
	split.publishParts(parts...)
	split.split(split.opts)
	compare("split", split)
	// The same with every stage behind an area sequencer: the detached
	// run's items (and an area worker's contacts of it) are read on their
	// own by every stage.
	sp := shapes[0]
	stages := newCluster(t, stores[0].open(t), sp.Vessels)
	stages.publishParts(parts...)
	stages.runSplit(sp, stages.opts)
	compare("stages", stages)
}
