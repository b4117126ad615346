package ingest

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/sim"
	"github.com/tidewatch/tidewatch/store"
)

// TestRerunOfRunThatStoredNothing: a run an earlier build recorded done
// with nothing read (no message count, no input named not AIS: a file it
// could not read, or a non-AIS file before no_ais was kept) does not make
// an ingest of the same inputs answer "already ingested": they are read
// again, and the store ends as a clean ingest leaves it. A run this build
// recorded is still done: with positions, with static data only, or with
// an input that is not AIS (which answers so again).
func TestRerunOfRunThatStoredNothing(t *testing.T) {
	ctx := context.Background()
	opt := options(t)
	sc := sim.DefaultScenario
	sc.Duration, sc.Background = 12*time.Hour, 5
	simPath := simFile(t, sc)
	dir := t.TempDir()
	notAIS := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notAIS, []byte("hello\nnot AIS at all\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	static := filepath.Join(dir, "static.nmea")
	staticOnly(t, simPath, static)

	// oldRun records in db the run an earlier build left for in.
	oldRun := func(db store.Store, in Input) {
		t.Helper()
		r := store.Run{ID: RunID([]Input{in}, opt), Inputs: []string{in.Name}, Batches: 1, Done: true}
		if err := db.PutRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		path string
	}{{"positions", simPath}, {"static only", static}} {
		t.Run(c.name, func(t *testing.T) {
			in := fileInput(t, c.path)
			clean := open(t)
			want, err := Run(ctx, clean, []Input{in}, opt)
			if err != nil || want.AlreadyDone || want.Run.Messages == 0 {
				t.Fatalf("clean ingest: %+v %v", want.Run, err)
			}
			if c.name == "positions" && want.Run.Fixes == 0 {
				t.Fatalf("clean ingest stored no fix: %+v", want.Run)
			}
			if again, err := Run(ctx, clean, []Input{in}, opt); err != nil || !again.AlreadyDone {
				t.Errorf("this build's run done again: %+v %v", again.Run, err)
			}
			db := open(t)
			oldRun(db, in)
			res, err := Run(ctx, db, []Input{in}, opt)
			if err != nil || res.AlreadyDone || !reflect.DeepEqual(res.Run, want.Run) {
				t.Errorf("ingest after an earlier build's empty run: already done %v, run %+v (want %+v), %v", res.AlreadyDone, res.Run, want.Run, err)
			}
			if got, w := dump(t, db), dump(t, clean); got != w {
				t.Errorf("the store differs from a clean ingest's")
			}
		})
	}
	t.Run("not AIS", func(t *testing.T) {
		in := fileInput(t, notAIS)
		db := open(t)
		oldRun(db, in)
		res, err := Run(ctx, db, []Input{in}, opt)
		if err != nil || res.AlreadyDone || len(res.NoAIS) != 1 {
			t.Errorf("a non-AIS file an earlier build recorded: already done %v, no AIS %v, %v", res.AlreadyDone, res.NoAIS, err)
		}
		// Now recorded as not AIS: the same answer, without reading it.
		res, err = Run(ctx, db, []Input{in}, opt)
		if err != nil || !res.AlreadyDone || len(res.NoAIS) != 1 {
			t.Errorf("a non-AIS file this build recorded: already done %v, no AIS %v, %v", res.AlreadyDone, res.NoAIS, err)
		}
	})
}

// staticOnly writes to dst the lines of src that carry static and voyage
// data (type 5, one or two fragments: its payload begins with '5') and no
// position.
func staticOnly(t *testing.T, src, dst string) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	sc := bufio.NewScanner(f)
	n := 0
	keep := map[string]bool{} // multi-fragment message IDs kept
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, "!AIVDM,")
		if i < 0 {
			continue
		}
		fs := strings.Split(line[i:], ",")
		if len(fs) < 6 {
			continue
		}
		key := fs[3] + "/" + fs[4]
		if fs[2] == "1" && strings.HasPrefix(fs[5], "5") || fs[2] != "1" && keep[key] {
			if fs[1] != "1" && fs[2] == "1" {
				keep[key] = true
			}
			b.WriteString(line + "\n")
			n++
		}
	}
	if n == 0 {
		t.Fatalf("%s has no type 5 message", src)
	}
	if err := os.WriteFile(dst, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
