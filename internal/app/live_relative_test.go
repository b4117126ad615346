package app_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// TestWatchedFoldersSameRelativeName: two servers on one store, started
// in different working directories, each watch their own folder given
// by the same relative name (--watch incoming). They are two folders:
// both must read theirs, neither waits as the other's standby (the
// lease is named by the folder's absolute path).
func TestWatchedFoldersSameRelativeName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	var nodes []*app.Service
	for range 2 {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		s := app.New(app.Config{Store: db, LiveStandbyEvery: 20 * time.Millisecond})
		t.Cleanup(func() { s.Close(); db.Close() })
		nodes = append(nodes, s)
	}
	local := app.LocalPrincipal("test")
	ctx, cancel := context.WithCancel(context.Background())
	var dones []chan error
	defer func() {
		cancel()
		for _, d := range dones {
			if err := <-d; err != nil {
				t.Errorf("watch: %v", err)
			}
		}
	}()
	for i, s := range nodes {
		wd := t.TempDir()
		if err := os.Mkdir(filepath.Join(wd, "incoming"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Chdir(wd)
		done := make(chan error, 1)
		dones = append(dones, done)
		go func() { done <- s.WatchFolder(ctx, local, "incoming", 20*time.Millisecond) }()
		waitFor(t, "the node to take its folder or wait", func() bool { return liveStatus(t, s).State != "" })
		if st := liveStatus(t, s); st.State != app.LiveActive {
			t.Errorf("node %d, watching its own folder %s: %q, want %q", i, filepath.Join(wd, "incoming"), st.State, app.LiveActive)
		}
	}
}
