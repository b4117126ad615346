package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/internal/pipeline"
)

// TestVesselWorkerStopsAtMissingRun: a whole sequencer run missing from
// a vessel partition's subject (removed by the item stream's limits
// while the worker was behind) stops the vessel worker with an error
// saying so, the runs after it not applied; a gap in the AIS sequences
// the sequencer itself passed over (HeaderRunAfter says where its run
// before ended) is no missing run. With the sequencer's runs written by
// hand: runs 5-9, 12-14 (AIS 10-11 gone before the sequencer read them),
// 15-20 and 21-25, of which 15-20 is removed from the item stream. The
// variant "no after" is batches of a sequencer that does not send
// HeaderRunAfter: the runs must then follow one another (no AIS gap).
// The variant "first run": the sequencer's first run removed before a
// fresh vessel worker (nothing stored yet) read any: the first run it
// finds does not follow nothing (HeaderRunAfter 4), so it stops.
func TestVesselWorkerStopsAtMissingRun(t *testing.T) {
	type run struct{ after, from, to uint64 }
	for _, tc := range []struct {
		name      string
		runs      []run
		withAfter bool
		applied   string
		removed   int // the run removed from the stream
	}{
		{"after", []run{{0, 5, 9}, {9, 12, 14}, {14, 15, 20}, {20, 21, 25}}, true, "5-9 12-14", 2},
		{"no after", []run{{4, 5, 9}, {9, 10, 14}, {14, 15, 20}, {20, 21, 25}}, false, "5-9 10-14", 2},
		// The sequencer's first run removed before a fresh vessel worker
		// read it: nothing stored here, so only Run-After tells.
		{"first run", []run{{0, 1, 4}, {4, 5, 9}, {9, 10, 14}, {14, 15, 20}}, true, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, stores[0].open(t), 1)
			nc, js, err := pipeline.Connect(c.srv.URL(), "test-items")
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			ctx := context.Background()
			s, err := pipeline.EnsureItemStream(ctx, js, "", pipeline.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			var seqs []uint64
			for _, r := range tc.runs {
				m := nats.NewMsg(pipeline.ItemSubject(1, 0))
				m.Data = detect.AppendItems(nil, []detect.Item{{Kind: detect.ItemSweepIdentity}})
				m.Header.Set(pipeline.HeaderRun, fmt.Sprint(r.from))
				m.Header.Set(pipeline.HeaderRunTo, fmt.Sprint(r.to))
				m.Header.Set(pipeline.HeaderBatch, "0")
				m.Header.Set(pipeline.HeaderBatches, "1")
				if tc.withAfter {
					m.Header.Set(pipeline.HeaderRunAfter, fmt.Sprint(r.after))
				}
				a, err := js.PublishMsg(ctx, m)
				if err != nil {
					t.Fatal(err)
				}
				seqs = append(seqs, a.Sequence)
			}
			// A run removed, as the stream's limits remove a message.
			if err := s.DeleteMsg(ctx, seqs[tc.removed]); err != nil {
				t.Fatal(err)
			}
			w := c.vessels(0, c.opts)
			runs := func() []string {
				w.mu.Lock()
				defer w.mu.Unlock()
				var got []string
				for _, r := range w.runs {
					got = append(got, fmt.Sprintf("%d-%d", r.From, r.To))
				}
				return got
			}
			var werr error
			deadline := time.After(60 * time.Second)
		wait:
			for {
				select {
				case werr = <-w.done:
					break wait
				case <-deadline:
					w.stop(t)
					t.Fatalf("the vessel worker neither stopped nor stored the run after the missing one in 60 s (runs stored %v)", runs())
				case <-time.After(50 * time.Millisecond):
				}
				if got := runs(); len(got) > 2 {
					w.stop(t)
					t.Fatalf("the vessel worker went on past the missing run: runs stored %v", got)
				}
			}
			got := runs()
			if werr == nil || !strings.Contains(werr.Error(), "missing") {
				t.Errorf("the vessel worker ended with %v, not an error saying runs are missing", werr)
			} else {
				t.Logf("stopped: %v", werr)
			}
			if strings.Join(got, " ") != tc.applied {
				t.Errorf("runs stored %v, want %s (the runs before the missing one, none after it)", got, tc.applied)
			}
		})
	}
}
