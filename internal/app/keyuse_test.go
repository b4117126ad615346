package app_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// touchCounter counts the store's last-use writes.
type touchCounter struct {
	*sqlite.DB
	mu     sync.Mutex
	writes int
}

func (c *touchCounter) TouchAPIKeys(ctx context.Context, used []store.KeyUse) error {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	return c.DB.TouchAPIKeys(ctx, used)
}

// TestAPIKeyLastUsed: a key's last use is stored (it never was), at most
// once a minute a key however often it is used, and written by Close at
// the latest.
func TestAPIKeyLastUsed(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := &touchCounter{DB: db}
	var mu sync.Mutex
	clock := now
	s := app.New(app.Config{Store: st, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }})
	k, err := s.CreateAPIKey(ctx, local, app.CreateKeyRequest{Name: "svc", Role: "analyst"})
	if err != nil {
		t.Fatal(err)
	}
	if k.LastUsed != (time.Time{}) {
		t.Fatalf("a new key used at %v", k.LastUsed)
	}
	use := func(n int) {
		for range n {
			if _, err := s.Authenticate(ctx, k.Secret); err != nil {
				t.Fatal(err)
			}
		}
	}
	use(50) // one write
	mu.Lock()
	clock = now.Add(30 * time.Second)
	mu.Unlock()
	use(50) // within the minute: none
	mu.Lock()
	clock = now.Add(90 * time.Second)
	mu.Unlock()
	use(50) // a minute on: one more
	s.Close()
	if st.writes < 1 || st.writes > 2 {
		t.Errorf("%d last-use writes for 150 uses over 90 s, want 1 or 2 (batched)", st.writes)
	}
	got, err := db.APIKey(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastUsed.Equal(now.Add(90 * time.Second)) {
		t.Errorf("last used %v, want %v", got.LastUsed, now.Add(90*time.Second))
	}
}

// TestZeroTimesOmitted: a time not set (a key never revoked or used, a
// decision not approved, a job not finished, a lock not held) is left out
// of the JSON, not written as 0001-01-01T00:00:00Z.
func TestZeroTimesOmitted(t *testing.T) {
	for _, v := range []any{store.APIKey{ID: "k", Created: now, Expires: now}, store.Decision{ID: 1, Time: now}, store.User{Name: "u", Created: now},
		store.Coverage{}, app.Job{ID: "j", Created: now}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"0001-01-01", `"revoked"`, `"last_used"`, `"approved_at"`, `"finished"`, `"locked_until"`, `"first"`} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%T: %s has %s", v, b, bad)
			}
		}
	}
}
