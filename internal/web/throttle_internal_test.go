package web

import (
	"strconv"
	"testing"
	"time"
)

// TestLoginGate: a burst of failures, then one a refill; sign-ins under
// way count until they end; a success spends nothing; addresses apart.
func TestLoginGate(t *testing.T) {
	g := newLoginGate(0.5, 2)
	at := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return at }
	for i := range 2 {
		if _, ok := g.admit("a"); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
		g.done("a", true)
	}
	if wait, ok := g.admit("a"); ok || wait != 2 {
		t.Fatalf("after the burst: admitted %v, wait %d (want refused, 2 s)", ok, wait)
	}
	if _, ok := g.admit("b"); !ok {
		t.Fatal("another address refused")
	}
	g.done("b", false)
	at = at.Add(2 * time.Second)
	if _, ok := g.admit("a"); !ok {
		t.Fatal("refused after the refill")
	}
	// Under way: counted before it ends.
	if _, ok := g.admit("a"); ok {
		t.Fatal("a second sign-in admitted while the only token is in use")
	}
	g.done("a", false)
	for range 5 { // successes spend nothing
		if _, ok := g.admit("a"); !ok {
			t.Fatal("refused after successes")
		}
		g.done("a", false)
	}
	// Simultaneous attempts get no more than the bucket holds.
	admitted := 0
	for range 10 {
		if _, ok := g.admit("c"); ok {
			admitted++
		}
	}
	if admitted != 2 {
		t.Errorf("%d of 10 simultaneous sign-ins admitted, want 2", admitted)
	}
}

// TestLoginGateBounded: past maxGateAddrs addresses, idle full ones are
// forgotten.
func TestLoginGateBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 addresses")
	}
	g := newLoginGate(1, 3)
	for i := range maxGateAddrs + 10 {
		a := strconv.Itoa(i)
		g.admit(a)
		g.done(a, false)
	}
	if n := len(g.addrs); n > maxGateAddrs {
		t.Errorf("%d addresses kept", n)
	}
}
