package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
)

// TestSlowReceiverDoesNotBlockOthers: one tenant's receiver hangs (no
// answer, ever, and the client has no timeout); another endpoint still
// receives every alert, once each, and the hanging one holds at most one
// request at a time.
func TestSlowReceiverDoesNotBlockOthers(t *testing.T) {
	st, err := sqliteOpen(t)
	if err != nil {
		t.Fatal(err)
	}
	s := app.New(app.Config{Store: st, SealKey: bytes.Repeat([]byte{3}, 32), AllowPrivateWebhookTargets: true})
	defer s.Close()
	release := make(chan struct{})
	var mu sync.Mutex
	hanging, maxHanging := 0, 0
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hanging++
		maxHanging = max(maxHanging, hanging)
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		mu.Lock()
		hanging--
		mu.Unlock()
	}))
	defer slow.Close()
	defer close(release)
	got := map[string]int{}
	all := make(chan struct{})
	const n = 40
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got[r.Header.Get("Idempotency-Key")]++
		if len(got) == n {
			select {
			case <-all:
			default:
				close(all)
			}
		}
	}))
	defer fast.Close()
	club := app.Principal{Tenant: "club", Actor: "admin@club", Role: app.RoleAdmin}
	if _, err := s.CreateTenant(ctx, local, "club", "Club", store.TenantPolicy{}); err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateWebhook(ctx, local, app.WebhookRequest{URL: slow.URL})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateWebhook(ctx, club, app.WebhookRequest{URL: fast.URL})
	if err != nil {
		t.Fatal(err)
	}
	// The slow tenant's alerts come first in the outbox.
	for i := 0; i < n; i++ {
		for _, x := range []struct{ tenant, hook string }{{app.LocalTenant, a.ID}, {"club", b.ID}} {
			al := store.Alert{Tenant: x.tenant, Key: fmt.Sprintf("k%d", i), Kind: app.AlertSystem, Severity: "medium", Title: "t", Why: "w", Version: 1, State: app.AlertOpen,
				Created: time.Now().UTC(), Updated: time.Now().UTC()}
			d := []store.Delivery{{Tenant: x.tenant, Webhook: x.hook, IdempotencyKey: fmt.Sprintf("%s-%d", x.tenant, i), State: app.DeliveryPending, NextAttempt: time.Now().UTC(), Created: time.Now().UTC()}}
			if err := st.PutAlert(ctx, &al, d, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		s.RunDeliveries(runCtx, app.DeliveryOptions{Client: &http.Client{}, Poll: 50 * time.Millisecond})
		close(done)
	}()
	select {
	case <-all:
	case <-time.After(60 * time.Second):
		t.Error("the other endpoint's deliveries are stuck behind the hanging receiver")
	}
	// Stopped in the middle of a POST, a delivery stays pending (sent
	// again later: at least once); wait for the last answers to be stored.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ds, _ := s.Deliveries(ctx, club, []string{app.DeliveryDelivered}, 0); len(ds) == n {
			break
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("RunDeliveries did not stop")
	}
	mu.Lock()
	defer mu.Unlock()
	for k, c := range got {
		if c != 1 {
			t.Errorf("%s received %d times", k, c)
		}
	}
	if len(got) != n || maxHanging != 1 {
		t.Errorf("received %d of %d; %d requests at once on the hanging receiver", len(got), n, maxHanging)
	}
	ds, _ := s.Deliveries(ctx, club, []string{app.DeliveryDelivered}, 0)
	if len(ds) != n {
		t.Errorf("%d deliveries marked delivered, want %d", len(ds), n)
	}
}
