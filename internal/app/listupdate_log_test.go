package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/sanctions"
)

// failingSource is a publisher that cannot be reached.
type failingSource struct{ list, url string }

func (f failingSource) List() string     { return f.list }
func (f failingSource) Describe() string { return f.url }
func (f failingSource) Fetch(context.Context) ([]sanctions.File, time.Time, func(), error) {
	return nil, time.Time{}, nil, errors.New(f.list + ": download " + f.url + ": HTTP 503 Service Unavailable")
}

// TestListUpdateFailureLogged: a periodic list update that fails is in
// the server's log at WARN, with the list and the error (a URL's
// credentials and query left out), not only in the import log and an
// alert.
func TestListUpdateFailureLogged(t *testing.T) {
	st, err := sqliteOpen(t)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	s := app.New(app.Config{Store: st, Now: func() time.Time { return now }, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	defer s.Close()
	src := failingSource{list: "un", url: "https://feeduser:s3cret@lists.example.org/consolidated.xml?token=t0ken"}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.RunListUpdates(runCtx, app.LocalPrincipal("server"), func() []app.ListSource { return []app.ListSource{src} }, time.Hour)
	}()
	var line string
	for deadline := time.Now().Add(30 * time.Second); line == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "list update failed") {
				line = l
			}
		}
	}
	cancel()
	<-done
	var rec struct {
		Level, Msg, List, Error string
	}
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("no log line of the failed update (%v): %s", err, logs.String())
	}
	if rec.Level != "WARN" || rec.List != "un" || !strings.Contains(rec.Error, "HTTP 503") || !strings.Contains(rec.Error, "https://***@lists.example.org/consolidated.xml?***") {
		t.Errorf("log line: %s", line)
	}
	for _, secret := range []string{"s3cret", "feeduser", "t0ken"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q: %s", secret, logs.String())
		}
	}
}
