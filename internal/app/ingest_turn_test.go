package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/sim"
)

// streamHalves is the 12-hour scenario cut in two at 09:00, inside its STS
// encounter (at the first single-sentence line stamped 09:00 or later),
// as two files.
func streamHalves(t *testing.T) (string, string) {
	t.Helper()
	sc := sim.DefaultScenario
	sc.Duration, sc.Background = 12*time.Hour, 8
	var buf bytes.Buffer
	if err := sim.Run(sc, &buf, nil); err != nil {
		t.Fatal(err)
	}
	cut := sc.Start.Add(9 * time.Hour).Unix()
	lines := bytes.SplitAfter(buf.Bytes(), []byte("\n"))
	at := len(lines)
	for i, l := range lines {
		c := bytes.Index(l, []byte("c:"))
		if c < 0 || !bytes.Contains(l, []byte("!AIVDM,1,1,")) {
			continue
		}
		end := c + 2
		for end < len(l) && l[end] >= '0' && l[end] <= '9' {
			end++
		}
		if sec, _ := strconv.ParseInt(string(l[c+2:end]), 10, 64); sec >= cut {
			at = i
			break
		}
	}
	if at == 0 || at == len(lines) {
		t.Fatal("no line at 09:00")
	}
	dir := t.TempDir()
	p1, p2 := filepath.Join(dir, "part1.nmea"), filepath.Join(dir, "part2.nmea")
	if err := os.WriteFile(p1, bytes.Join(lines[:at], nil), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p2, bytes.Join(lines[at:], nil), 0o644); err != nil {
		t.Fatal(err)
	}
	return p1, p2
}

func fileIn(t *testing.T, path string) ingest.Input {
	t.Helper()
	in, err := ingest.FileInput(path, func(ctx context.Context) (ais.Source, io.Closer, error) {
		return ais.OpenInput(ctx, path, ais.FeedOptions{})
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// allEvents is every stored event as sorted JSON.
func allEvents(t *testing.T, s *app.Service) []string {
	t.Helper()
	evs, err := s.Events(ctx, local, app.EventsRequest{Limit: app.MaxEvents})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		b, _ := json.Marshal(e)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

// sequential ingests each request in turn into a fresh store and returns
// its events.
func sequential(t *testing.T, reqs ...app.IngestRequest) []string {
	t.Helper()
	s, _ := seeded(t)
	for i, r := range reqs {
		res, err := s.Ingest(ctx, local, r)
		if err != nil || res.Detached {
			t.Fatalf("sequential ingest %d: %+v %v", i, res.Result, err)
		}
	}
	return allEvents(t, s)
}

type ingestOutcome struct {
	res app.IngestResult
	err error
}

// startIngest runs an ingest in the background; its status notes go to
// notes.
func startIngest(s *app.Service, req app.IngestRequest, notes chan<- string) <-chan ingestOutcome {
	done := make(chan ingestOutcome, 1)
	req.Status = func(n string) { notes <- n }
	go func() {
		res, err := s.Ingest(ctx, local, req)
		done <- ingestOutcome{res, err}
	}()
	return done
}

// waitingNote waits for an ingest's note that it waits for the state.
func waitingNote(t *testing.T, notes <-chan string, ahead string) {
	t.Helper()
	n := <-notes
	if !strings.HasPrefix(n, "waiting for the detectors' state: "+ahead+" of this server ahead") {
		t.Fatalf("note %q, want waiting behind %s", n, ahead)
	}
}

// TestUploadsAtOnceContinueEachOther (B1): two halves of one stream
// whose jobs were accepted in order but run at once (the second even
// called first) queue for the detectors' state: the second waits for
// the first, continues its state, and the store holds exactly the
// events of the two ingested one after the other (the STS encounter cut
// at 09:00 whole). Before, the second found the state locked and was
// read on its own: the encounter split in two, occurrences closed at the
// cut.
func TestUploadsAtOnceContinueEachOther(t *testing.T) {
	p1, p2 := streamHalves(t)
	want := sequential(t, app.IngestRequest{Inputs: []ingest.Input{fileIn(t, p1)}}, app.IngestRequest{Inputs: []ingest.Input{fileIn(t, p2)}},
		app.IngestRequest{Flush: true})

	s, _ := seeded(t)
	t1, t2 := s.IngestTurn(), s.IngestTurn() // accepted in this order
	notes1, notes2 := make(chan string, 16), make(chan string, 16)
	second := startIngest(s, app.IngestRequest{Inputs: []ingest.Input{fileIn(t, p2)}, Turn: t2}, notes2)
	waitingNote(t, notes2, "1 ingest")
	first := startIngest(s, app.IngestRequest{Inputs: []ingest.Input{fileIn(t, p1)}, Turn: t1}, notes1)
	for i, d := range []<-chan ingestOutcome{first, second} {
		o := <-d
		if o.err != nil || o.res.Detached || o.res.StateHeld != "" || !o.res.Run.Done {
			t.Fatalf("ingest %d: %+v %q %v", i+1, o.res.Result, o.res.StateHeld, o.err)
		}
	}
	if len(notes1) != 0 {
		t.Errorf("the first waited: %q", <-notes1)
	}
	if _, err := s.Ingest(ctx, local, app.IngestRequest{Flush: true}); err != nil {
		t.Fatal(err)
	}
	got := allEvents(t, s)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("at once: %d events, one after the other %d; they differ", len(got), len(want))
	}
	if len(want) == 0 {
		t.Error("no events")
	}
}

// TestFlushThenUploadAtOnce (B2): a flush and then an upload to flush
// after, sent back to back as docs/api.md shows: the upload waits for the
// flush (it failed, "another ingest (a live feed?) holds the detectors'
// state", when the flush held it), then runs, and the store holds what
// the three run one after the other store.
func TestFlushThenUploadAtOnce(t *testing.T) {
	p1, p2 := streamHalves(t)
	want := sequential(t, app.IngestRequest{Inputs: []ingest.Input{fileIn(t, p1)}}, app.IngestRequest{Flush: true},
		app.IngestRequest{Inputs: []ingest.Input{fileIn(t, p2)}, Flush: true})

	s, _ := seeded(t)
	if res, err := s.Ingest(ctx, local, app.IngestRequest{Inputs: []ingest.Input{fileIn(t, p1)}}); err != nil || res.Run.Held == 0 {
		t.Fatalf("first: %+v %v", res.Result, err)
	}
	tf, tu := s.IngestTurn(), s.IngestTurn()
	notesF, notesU := make(chan string, 16), make(chan string, 16)
	upload := startIngest(s, app.IngestRequest{Inputs: []ingest.Input{fileIn(t, p2)}, Flush: true, Turn: tu}, notesU)
	waitingNote(t, notesU, "1 ingest")
	flush := startIngest(s, app.IngestRequest{Flush: true, Turn: tf}, notesF)
	f := <-flush
	if f.err != nil || f.res.AlreadyDone || f.res.Run.Fixes == 0 {
		t.Fatalf("flush: %+v %v", f.res.Result, f.err)
	}
	u := <-upload
	if u.err != nil || u.res.Detached || !u.res.Run.Done {
		t.Fatalf("upload: %+v %v", u.res.Result, u.err)
	}
	got := allEvents(t, s)
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) == 0 {
		t.Errorf("flush and upload at once: %d events, one after the other %d; they differ", len(got), len(want))
	}
}

// TestQueuedIngestCanceled: a queued ingest canceled while it waits
// leaves the queue (the next one runs), and a turn released without
// being used does not hold the queue.
func TestQueuedIngestCanceled(t *testing.T) {
	p1, _ := streamHalves(t)
	s, _ := seeded(t)
	t1, t2, t3 := s.IngestTurn(), s.IngestTurn(), s.IngestTurn()
	cctx, cancel := context.WithCancel(ctx)
	waited := make(chan string, 16)
	done := make(chan error, 1)
	go func() {
		_, err := s.Ingest(cctx, local, app.IngestRequest{Inputs: []ingest.Input{fileIn(t, p1)}, Turn: t2, Status: func(n string) { waited <- n }})
		done <- err
	}()
	waitingNote(t, waited, "1 ingest")
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a canceled queued ingest ran")
	}
	t1.Release() // a job refused after taking its turn
	notes := make(chan string, 16)
	o := <-startIngest(s, app.IngestRequest{Inputs: []ingest.Input{fileIn(t, p1)}, Turn: t3}, notes)
	if o.err != nil || o.res.Detached {
		t.Fatalf("the third: %+v %v", o.res.Result, o.err)
	}
	if len(notes) != 0 {
		t.Errorf("the third waited: %q", <-notes)
	}
}

// TestIngestBesideALiveRun: a live input of this process holds the
// detectors' state while it runs (its run does not end): a file ingested
// meanwhile is read on its own, as documented, and says who held the
// state; a flush is refused, naming it.
func TestIngestBesideALiveRun(t *testing.T) {
	p1, p2 := streamHalves(t)
	s, _ := seeded(t)
	gate, opened := make(chan struct{}), make(chan struct{}, 1)
	feed := ingest.Input{Name: "tcp://127.0.0.1:1", ID: "tcp://127.0.0.1:1", Live: true, Open: func(ctx context.Context) (ais.Source, io.Closer, error) {
		opened <- struct{}{}
		<-gate
		return ais.OpenInput(ctx, p1, ais.FeedOptions{})
	}}
	live := make(chan error, 1)
	go func() {
		_, err := s.Ingest(ctx, local, app.IngestRequest{Inputs: []ingest.Input{feed}})
		live <- err
	}()
	<-opened
	notes := make(chan string, 16)
	o := <-startIngest(s, app.IngestRequest{Inputs: []ingest.Input{fileIn(t, p2)}}, notes)
	if o.err != nil || !o.res.Detached || !strings.Contains(o.res.StateHeld, "the live input tcp://127.0.0.1:1 (this server)") {
		t.Errorf("beside a live run: %+v %q %v", o.res.Result, o.res.StateHeld, o.err)
	}
	if n := <-notes; !strings.Contains(n, "reading on its own") {
		t.Errorf("note %q", n)
	}
	_, err := s.Ingest(ctx, local, app.IngestRequest{Flush: true})
	if app.CodeOf(err) != app.CodeConflict || !strings.Contains(err.Error(), "the live input tcp://127.0.0.1:1") {
		t.Errorf("a flush beside a live run: %v", err)
	}
	close(gate)
	if err := <-live; err != nil {
		t.Errorf("the live run: %v", err)
	}
}
