package detect_test

import (
	"bytes"
	"encoding/json"
	"io"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/sim"
)

// latest keeps the last version of each occurrence (by ID), as a store
// does, and returns them as sorted JSON lines.
func latest(evs []detect.Event) []string {
	by := map[string]detect.Event{}
	for _, e := range evs {
		by[e.ID] = e
	}
	var out []string
	for _, e := range by {
		b, _ := json.Marshal(e)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

// cutAt splits tag-blocked NMEA at the first single-sentence line stamped
// at or after each time.
func cutAt(nmea []byte, at ...time.Time) [][]byte {
	var parts [][]byte
	lines := bytes.SplitAfter(nmea, []byte("\n"))
	start, k := 0, 0
	for i, l := range lines {
		if k == len(at) {
			break
		}
		c := bytes.Index(l, []byte("c:"))
		if c < 0 || !bytes.Contains(l, []byte("!AIVDM,1,1,")) {
			continue
		}
		end := c + 2
		for end < len(l) && l[end] >= '0' && l[end] <= '9' {
			end++
		}
		sec, _ := strconv.ParseInt(string(l[c+2:end]), 10, 64)
		if sec >= at[k].Unix() {
			parts = append(parts, bytes.Join(lines[start:i], nil))
			start, k = i, k+1
		}
	}
	return append(parts, bytes.Join(lines[start:], nil))
}

// TestCheckpointContinuity: a 72-hour simulated set fed to one engine,
// or cut at four points (inside the STS encounter, inside both planted
// dark periods, and at an arbitrary second) and fed to a chain of
// engines each restored from the last one's checkpoint, gives the same
// occurrences, each in its latest version: identical JSON. The open
// versions the checkpoints report carry the IDs their later versions
// replace. Flushed at the end, the one engine and the chain give the
// same occurrences too.
func TestCheckpointContinuity(t *testing.T) {
	land, _ := geo.LoadLand()
	ports, _ := geo.LoadPorts()
	zones, _ := geo.BuiltinZones()
	nmea, sc := simNMEA(t, func(sc *sim.Scenario) { sc.Duration, sc.Background = 72*time.Hour, 30 })
	h := func(x float64) time.Time { return sc.Start.Add(time.Duration(x * float64(time.Hour))) }
	// The STS meeting runs about 07:06-12:06 on day 1, the dark period
	// 04:00-18:00 on day 1, the STS tanker's dark period from about 06:10
	// to 20:10 on day 2.
	parts := cutAt(nmea, h(9), h(14), h(36.5), h(50.25))
	if len(parts) != 5 {
		t.Fatalf("%d parts", len(parts))
	}
	for _, lateness := range []float64{10, 120} {
		cfg := detect.DefaultConfig
		cfg.ReorderLatenessMinutes = lateness
		checkContinuity(t, cfg, land, ports, zones, nmea, parts)
	}
}

func checkContinuity(t *testing.T, cfg detect.Config, land *geo.Land, ports *geo.Ports, zones []*geo.Zone, nmea []byte, parts [][]byte) {
	feed := func(e *detect.Engine, b []byte) {
		r, _ := ais.NewReader(bytes.NewReader(b))
		if _, _, err := detect.FeedAISConcurrent(e, r); err != io.EOF {
			t.Fatal(err)
		}
	}
	var whole []detect.Event
	e := detect.NewEngine(cfg, land, ports, zones, func(ev detect.Event) { whole = append(whole, ev) })
	feed(e, nmea)
	e.Checkpoint()

	var chain []detect.Event
	var state []byte
	opens := 0
	for i, p := range parts {
		e := detect.NewEngine(cfg, land, ports, zones, func(ev detect.Event) {
			chain = append(chain, ev)
			if ev.Status == detect.StatusOpen {
				opens++
			}
		})
		if state != nil {
			if err := e.Restore(state); err != nil {
				t.Fatalf("part %d: %v", i, err)
			}
		}
		feed(e, p)
		state = e.Checkpoint()
	}
	a, b := latest(whole), latest(chain)
	if len(a) != len(b) {
		t.Fatalf("lateness %v: %d occurrences at once, %d in parts", cfg.ReorderLatenessMinutes, len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("lateness %v: occurrence %d differs:\n at once  %s\n in parts %s", cfg.ReorderLatenessMinutes, i, a[i], b[i])
		}
	}
	if opens < 5 {
		t.Errorf("only %d open versions reported at the checkpoints", opens)
	}
	// The stream ends: one engine fed all of it and flushed, and the
	// chain's last state restored and flushed (ingest, then ingest
	// --flush), give the same occurrences. A checkpoint reports nothing
	// open that a flush of the whole would not report: the STS tanker's
	// first MMSI, silent since its re-flag, is no gap at the end of the
	// data, whether or not a checkpoint came between.
	var wholeEnd []detect.Event
	e = detect.NewEngine(cfg, land, ports, zones, func(ev detect.Event) { wholeEnd = append(wholeEnd, ev) })
	feed(e, nmea)
	e.Flush()
	e = detect.NewEngine(cfg, land, ports, zones, func(ev detect.Event) { chain = append(chain, ev) })
	if err := e.Restore(state); err != nil {
		t.Fatal(err)
	}
	e.Flush()
	a, b = latest(wholeEnd), latest(chain)
	if len(a) != len(b) {
		t.Fatalf("lateness %v, flushed: %d occurrences at once, %d in parts then flushed", cfg.ReorderLatenessMinutes, len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("lateness %v, flushed: occurrence %d differs:\n at once  %s\n in parts %s", cfg.ReorderLatenessMinutes, i, a[i], b[i])
		}
	}
	t.Logf("lateness %v min: %d occurrences, %d events in parts (%d open versions)", cfg.ReorderLatenessMinutes, len(a), len(chain), opens)
}

// A checkpoint restores into an engine built with other settings only
// with an error, and a corrupt one changes nothing.
func TestRestoreRefuses(t *testing.T) {
	e := detect.NewEngine(detect.DefaultConfig, nil, nil, nil, func(detect.Event) {})
	state := e.Checkpoint()
	cfg := detect.DefaultConfig
	cfg.GapMinHours = 8
	if err := detect.NewEngine(cfg, nil, nil, nil, func(detect.Event) {}).Restore(state); err != detect.ErrCheckpointMismatch {
		t.Errorf("other config: %v", err)
	}
	for _, n := range []int{0, 5, 10, len(state) - 1} {
		if err := detect.NewEngine(detect.DefaultConfig, nil, nil, nil, func(detect.Event) {}).Restore(state[:n]); err == nil {
			t.Errorf("truncated at %d: no error", n)
		}
	}
}
