package main

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
)

// TestServeDemo: the served demo has its people (one per role, and an
// underwriter in a second, four-eyes tenant), keys that act as them, and
// a watched portfolio whose vessels' scenario events raised alerts.
func TestServeDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo store")
	}
	key := make([]byte, 32)
	s, st, keys, users, err := serveDemo(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)), key)
	if err != nil {
		t.Fatal(err)
	}
	defer closeService(s, st)
	if len(users) != 5 || len(keys) != 2 {
		t.Fatalf("%d users, %d keys", len(users), len(keys))
	}
	ctx := context.Background()
	for _, k := range keys {
		p, err := s.Authenticate(ctx, k.Secret)
		if err != nil || p.Person == "" {
			t.Errorf("demo key %s: %+v %v (want a person)", k.Name, p, err)
		}
	}
	for _, u := range users {
		if _, err := s.Login(ctx, u.tenant, u.name, u.password); err != nil {
			t.Errorf("demo user %s/%s cannot sign in: %v", u.tenant, u.name, err)
		}
	}
	as, err := s.Alerts(ctx, localPrincipal("test"), store.AlertFilter{Portfolio: "demo-fleet"})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, a := range as {
		if a.Kind == app.AlertEvent && a.Severity == "high" {
			kinds[a.VesselRef]++
		}
	}
	for _, ref := range []string{"sts-tanker", "dprk-tanker", "night-owl"} {
		if kinds[ref] == 0 {
			t.Errorf("no high alert for the demo's %s: %+v", ref, as)
		}
	}
}
