package app

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// A webhook may not reach the server's host by one of its own interface
// addresses, public ones included (a public address reaches every
// service listening on all addresses): refused when made and when dialled.
func TestWebhookToTheServersOwnAddressRefused(t *testing.T) {
	own := netip.MustParseAddr("93.184.216.34")
	saved := hostAddrs
	hostAddrs = func() []netip.Addr { return []netip.Addr{own} }
	defer func() { hostAddrs = saved }()
	if !internalAddr(own) || !internalAddr(netip.MustParseAddr("::ffff:93.184.216.34")) {
		t.Error("the host's own address is not refused")
	}
	if internalAddr(netip.MustParseAddr("93.184.216.35")) {
		t.Error("another public address is refused")
	}
	s := &Service{}
	if err := s.checkURL("http://93.184.216.34:8443/hook"); CodeOf(err) != CodeInvalid || !strings.Contains(err.Error(), "this server's own") {
		t.Errorf("made: %v", err)
	}
	// The machine's real interfaces are read (at least loopback).
	hostAddrs = saved
	if !slices.Contains(hostAddrs(), netip.MustParseAddr("127.0.0.1")) {
		t.Errorf("interfaces read: %v", hostAddrs())
	}
}

// A delivery whose host did not resolve says so without naming the
// resolver the server asked (an address of the server's network).
func TestDeliveryErrorHidesTheResolver(t *testing.T) {
	err := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "hooks.invalid", Server: "10.255.255.53:53", IsNotFound: true}}
	msg := deliveryError("https://u:s3cret@hooks.invalid/x", err)
	if strings.Contains(msg, "10.255.255.53") || strings.Contains(msg, "s3cret") || !strings.Contains(msg, "lookup hooks.invalid: no such host") {
		t.Errorf("%s", msg)
	}
	if msg := deliveryError("https://hooks.example.com/x", errors.New("connection reset")); !strings.Contains(msg, "connection reset") {
		t.Errorf("%s", msg)
	}
}
