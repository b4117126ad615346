package app_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// followingStore runs afterPut once a PutAlert has committed, before the
// service goes on: the follower's tick landing between an alert's commit
// and its publication on this node.
type followingStore struct {
	*sqlite.DB
	afterPut func()
}

func (s *followingStore) PutAlert(ctx context.Context, a *store.Alert, ds []store.Delivery, payload func(*store.Alert) []byte) error {
	if err := s.DB.PutAlert(ctx, a, ds, payload); err != nil {
		return err
	}
	if f := s.afterPut; f != nil {
		s.afterPut = nil
		f()
	}
	return nil
}

// TestAlertChangeAtFirstFollow: a subscriber is connected when an analyst
// acknowledges an alert on this node, and the follower's first call for
// the tenant (which only notes where the store is, streaming nothing)
// comes between the change's commit and its publication here. The
// change must still reach the subscriber, once: the follower did not
// send it, so publication must not take it for sent.
func TestAlertChangeAtFirstFollow(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	st := &followingStore{DB: db}
	s := app.New(app.Config{Store: st, Now: func() time.Time { return now }})
	t.Cleanup(func() { s.Close(); db.Close() })
	local := app.LocalPrincipal("test")
	a := &store.Alert{Tenant: local.Tenant, Key: "k1", Version: 1, Kind: "event", State: app.AlertOpen, Created: now, Updated: now}
	if err := db.PutAlert(ctx, a, nil, nil); err != nil {
		t.Fatal(err)
	}
	ch, stop, err := s.SubscribeAlerts(local)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	st.afterPut = func() {
		if err := s.FollowAlerts(ctx); err != nil {
			t.Error(err)
		}
	}
	if _, err := s.AcknowledgeAlert(ctx, local, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.FollowAlerts(ctx); err != nil { // a later tick: nothing new
		t.Fatal(err)
	}
	var got []string
	for {
		select {
		case al := <-ch:
			got = append(got, fmt.Sprintf("%d:%s", al.ID, al.State))
			continue
		default:
		}
		break
	}
	if want := []string{fmt.Sprintf("%d:%s", a.ID, app.AlertAcknowledged)}; !slices.Equal(got, want) {
		t.Errorf("the stream carried %v, want %v once", got, want)
	}
}
