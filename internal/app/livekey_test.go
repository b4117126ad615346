package app

import (
	"os"
	"testing"
)

// A feed received on this machine (a UDP listener, a TCP connection to a
// loopback address) is leased per machine: on two machines it is two
// sources. A remote TCP source is leased once for every node.
func TestFeedKeyLocalSources(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip("no host name")
	}
	for _, c := range []struct {
		addr  string
		local bool
	}{
		{"udp://0.0.0.0:10110", true},
		{"udp://:10110", true},
		{"tcp://127.0.0.1:5631", true},
		{"tcp://localhost:5631", true},
		{"tcp://[::1]:5631", true},
		{"tcp://0.0.0.0:5631", true},
		{"tcp://ais.example.org:5631", false},
		{"tcp://153.44.253.27:5631", false},
	} {
		got := feedKey(c.addr)
		want := liveKey("feed", c.addr)
		if c.local {
			want = liveKey("feed", host+" "+c.addr)
		}
		if got != want {
			t.Errorf("%s: key %s, want %s (local %v)", c.addr, got, want, c.local)
		}
		if c.local && got == liveKey("feed", c.addr) {
			t.Errorf("%s: a local source leased store-wide", c.addr)
		}
	}
}
