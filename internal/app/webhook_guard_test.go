package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/sanctions"
)

// TestWebhookTargetsRefused: a webhook URL that points into the server's
// own network (loopback, private, link-local, unspecified, multicast) is
// refused when it is made, and, for a name, when a delivery dials (the
// address it resolves to then); redirects are not followed; the URL's
// credentials are never in an answer, an error or the delivery's error.
func TestWebhookTargetsRefused(t *testing.T) {
	st, err := sqliteOpen(t)
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{5}, 32)
	s := app.New(app.Config{Store: st, Now: func() time.Time { return now }, SealKey: key})
	defer s.Close()
	for _, u := range []string{
		"http://127.0.0.1:9/x", "http://127.1.2.3/", "http://[::1]:8080/", "http://localhost:8080/", "http://LocalHost./", "http://a.localhost/",
		"http://169.254.169.254/latest/meta-data/", "http://[fe80::1%25eth0]/", "http://10.0.0.1/", "http://172.16.5.4/", "http://192.168.1.1/",
		"http://[fc00::1]/", "http://[fd12:3456::1]/", "http://0.0.0.0/", "http://0.1.2.3/", "http://[::]/", "http://224.0.0.1/", "http://[ff02::1]/",
		"http://[::ffff:127.0.0.1]/", "http://[::ffff:10.1.1.1]/", "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:c0a8:0101::1]/", "http://100.64.0.1/",
		"http://255.255.255.255/", "https://user:s3cret@127.0.0.1/x",
		// Documentation ranges (some virtual machines' own interfaces are
		// numbered in them), the 6to4 relay anycast, site-local.
		"http://192.0.2.2:8080/", "http://198.51.100.7/", "http://203.0.113.9/", "http://[2001:db8::1]/", "http://192.88.99.1/", "http://[fec0::1]/",
	} {
		_, err := s.CreateWebhook(ctx, local, app.WebhookRequest{URL: u})
		if app.CodeOf(err) != app.CodeInvalid {
			t.Errorf("%s: %v, want refused", u, err)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the refusal repeats the password: %v", err)
		}
	}
	// A port out of range is refused when the webhook is made (it would
	// fail every delivery as a dial error), whatever the host.
	for _, u := range []string{"https://hooks.example.com:99999/x", "https://hooks.example.com:0/x", "http://93.184.216.34:65536/", "https://user:s3cret@hooks.example.com:123456/",
		"https://[2606:2800:220:1:248:1893:25c8:1946]:70000/"} {
		_, err := s.CreateWebhook(ctx, local, app.WebhookRequest{URL: u})
		if app.CodeOf(err) != app.CodeInvalid || !strings.Contains(err.Error(), "port must be from 1 to 65535") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %v, want the port refused", u, err)
		}
	}
	if _, err := s.CreateWebhook(ctx, local, app.WebhookRequest{URL: "https://hooks.example.com:8443/x"}); err != nil {
		t.Errorf("port 8443 refused: %v", err)
	}
	if _, err := s.CreateWebhook(ctx, local, app.WebhookRequest{URL: "ftp://user:s3cret@hooks.example.com/"}); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("ftp with a password: %v", err)
	}
	for _, u := range []string{"https://hooks.example.com/tidewatch", "http://93.184.216.34/x", "https://[2606:2800:220:1:248:1893:25c8:1946]/"} {
		if _, err := s.CreateWebhook(ctx, local, app.WebhookRequest{URL: u}); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	// Credentials in a URL are used, never shown.
	nw, err := s.CreateWebhook(ctx, local, app.WebhookRequest{URL: "https://hookuser:s3cret@hooks.example.com/x"})
	if err != nil || strings.Contains(nw.URL, "s3cret") || strings.Contains(nw.URL, "hookuser") || !strings.Contains(nw.URL, "hooks.example.com/x") {
		t.Errorf("created: %q %v", nw.URL, err)
	}
	ws, _ := s.Webhooks(ctx, local)
	b, _ := json.Marshal(ws)
	if strings.Contains(string(b), "s3cret") || strings.Contains(string(b), "hookuser") {
		t.Errorf("the webhook list shows the credentials: %s", b)
	}
	if rot, err := s.RotateWebhookSecret(ctx, local, nw.ID, false); err != nil || strings.Contains(rot.URL, "s3cret") {
		t.Errorf("rotate: %q %v", rot.URL, err)
	}
	entries, err := s.AuditRecords(ctx, local, app.AuditFilter{})
	if err != nil || len(entries) == 0 {
		t.Fatalf("audit: %d %v", len(entries), err)
	}
	for _, e := range entries {
		if bytes.Contains(e.Data, []byte("s3cret")) {
			t.Errorf("the audit log keeps the password: %s", e.Data)
		}
	}

	// At dial time: webhooks made while internal targets were allowed
	// (or a name re-pointed since) are refused by a service that does
	// not allow them; the receiver hears nothing.
	var hits, redirected atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { redirected.Add(1) }))
	defer target.Close()
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
		}
	}))
	defer recv.Close()
	st2, err := sqliteOpen(t)
	if err != nil {
		t.Fatal(err)
	}
	open := s2open(t, st2, key, true)
	if _, err := open.ImportLists(ctx, local, app.ImportRequest{Files: []sanctions.File{ftmList("2026-01-01", false)}, MinRatio: -1}); err != nil {
		t.Fatal(err)
	}
	open.CreatePortfolio(ctx, local, "p", "")
	open.AddVessels(ctx, local, "p", []app.VesselEntry{{IMO: "9417115"}}, nil)
	port := recv.URL[strings.LastIndexByte(recv.URL, ':'):]
	for _, u := range []string{"http://localhost" + port + "/by-name", "http://u:s3cret@127.0.0.1" + port + "/by-address", recv.URL + "/redirect"} {
		if _, err := open.CreateWebhook(ctx, local, app.WebhookRequest{URL: u}); err != nil {
			t.Fatal(err)
		}
	}
	open.ScreenListChanges(ctx)
	if _, err := open.ImportLists(ctx, local, app.ImportRequest{Files: []sanctions.File{ftmList("2026-06-01", true)}, MinRatio: -1}); err != nil {
		t.Fatal(err)
	}
	guarded := s2open(t, st2, key, false)
	if n := guarded.DeliverDue(ctx, nil); n != 3 {
		t.Fatalf("%d deliveries attempted, want 3", n)
	}
	if hits.Load() != 0 {
		t.Fatalf("the internal receiver was reached %d times", hits.Load())
	}
	ds, _ := guarded.Deliveries(ctx, local, nil, 0)
	for _, d := range ds {
		if d.State != app.DeliveryPending || !strings.Contains(d.LastError, "internal address") || strings.Contains(d.LastError, "s3cret") {
			t.Errorf("delivery after a refused dial: %+v", d)
		}
	}
	// Allowed (an hour later: the retries are due), a redirect is not
	// followed: a failed attempt.
	later := app.New(app.Config{Store: st2, Now: func() time.Time { return now.Add(time.Hour) }, SealKey: key, AllowPrivateWebhookTargets: true})
	defer later.Close()
	if n := later.DeliverDue(ctx, nil); n != 3 {
		t.Fatalf("%d deliveries attempted an hour later, want 3", n)
	}
	if redirected.Load() != 0 {
		t.Errorf("a redirect was followed")
	}
	states := map[string]int{}
	ds, _ = later.Deliveries(ctx, local, nil, 0)
	for _, d := range ds {
		states[d.State+" "+d.LastError]++
	}
	if hits.Load() != 3 || states["delivered "] != 2 || states["pending HTTP 307"] != 1 {
		t.Errorf("%d hits; deliveries %v", hits.Load(), states)
	}
}

func s2open(t *testing.T, st app.Store, key []byte, allow bool) *app.Service {
	s := app.New(app.Config{Store: st, Now: func() time.Time { return now }, SealKey: key, AllowPrivateWebhookTargets: allow})
	t.Cleanup(func() { s.Close() })
	return s
}
