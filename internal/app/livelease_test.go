package app_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// failingLocks is a store whose locks cannot be taken (not held by
// another node: the store failing).
type failingLocks struct{ *sqlite.DB }

func (failingLocks) LockIngest(context.Context, string) (func() error, error) {
	return nil, errors.New("disk I/O error")
}

func (failingLocks) LockLease(context.Context, string) (store.Lease, error) {
	return nil, errors.New("disk I/O error")
}

// A live input whose lease the store cannot give is reported once in the
// log and in /v1/feeds, not logged at every try.
func TestLiveLeaseErrorLoggedOnce(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs syncBuffer
	s := app.New(app.Config{Store: failingLocks{st}, Logger: slog.New(slog.NewJSONHandler(&logs, nil)), LiveStandbyEvery: 5 * time.Millisecond})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := s.WatchFolder(ctx, app.LocalPrincipal("tester"), t.TempDir(), time.Second); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "taking its lease"); n != 1 {
		t.Errorf("the lease error logged %d times in 300 ms of 5 ms tries, want once:\n%s", n, logs.String())
	}
	fs, err := s.Feeds(app.LocalPrincipal("tester"))
	if err != nil || len(fs) != 1 || !strings.Contains(fs[0].LastError, "disk I/O error") {
		t.Errorf("feeds: %+v %v", fs, err)
	}
}
