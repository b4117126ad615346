package app_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// TestWebhookURLCredentialsSealed: a webhook URL's user and password are
// stored sealed, like the signing secret (the store's bytes never hold
// them), shown as "***@", and put back for a delivery; a webhook stored
// before they were sealed still delivers and is sealed when the
// deliveries start.
func TestWebhookURLCredentialsSealed(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	got := map[string]string{} // path: "user:password" received
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		mu.Lock()
		got[r.URL.Path] = u + ":" + p
		mu.Unlock()
	}))
	defer recv.Close()
	key := bytes.Repeat([]byte{7}, 32)
	s := s2open(t, st, key, true)
	if _, err := s.ImportLists(ctx, local, app.ImportRequest{Files: []sanctions.File{ftmList("2026-01-01", false)}, MinRatio: -1}); err != nil {
		t.Fatal(err)
	}
	s.CreatePortfolio(ctx, local, "p", "")
	s.AddVessels(ctx, local, "p", []app.VesselEntry{{IMO: "9417115"}}, nil)
	hostPort := strings.TrimPrefix(recv.URL, "http://")
	nw, err := s.CreateWebhook(ctx, local, app.WebhookRequest{URL: "http://hookuser:s3cretpw@" + hostPort + "/new"})
	if err != nil {
		t.Fatal(err)
	}
	if nw.URL != "http://***@"+hostPort+"/new" {
		t.Errorf("answered URL %q, want the credentials as ***@", nw.URL)
	}
	if ws, _ := s.Webhooks(ctx, local); len(ws) != 1 || ws[0].URL != nw.URL {
		t.Errorf("listed: %+v", ws)
	}
	// A webhook stored in clear by an earlier version.
	old := store.Webhook{Tenant: "local", ID: "old1", URL: "http://olduser:0ldpw@" + hostPort + "/old", Active: true, Created: now}
	raw, err := st.Webhooks(ctx, "local")
	if err != nil || len(raw) != 1 {
		t.Fatalf("stored: %+v %v", raw, err)
	}
	old.Secrets = raw[0].Secrets
	if err := st.PutWebhook(ctx, old); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw[0].URL, "s3cretpw") || strings.Contains(raw[0].URL, "hookuser") || len(raw[0].SealedUserinfo) == 0 {
		t.Errorf("stored webhook: URL %q, sealed credentials %d bytes", raw[0].URL, len(raw[0].SealedUserinfo))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "s.db*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte("s3cretpw")) || bytes.Contains(b, []byte("hookuser")) {
			t.Errorf("%s holds the webhook URL's credentials in clear", filepath.Base(f))
		}
	}

	s.ScreenListChanges(ctx)
	if _, err := s.ImportLists(ctx, local, app.ImportRequest{Files: []sanctions.File{ftmList("2026-06-01", true)}, MinRatio: -1}); err != nil {
		t.Fatal(err)
	}
	if n := s.DeliverDue(ctx, nil); n != 2 {
		t.Fatalf("%d deliveries, want 2", n)
	}
	if got["/new"] != "hookuser:s3cretpw" || got["/old"] != "olduser:0ldpw" {
		t.Errorf("basic auth received: %v", got)
	}

	// Sealing (RunDeliveries does it when it starts) seals the one stored
	// in clear.
	if n, err := s.SealWebhookCredentials(ctx); n != 1 || err != nil {
		t.Errorf("sealed %d, %v; want 1", n, err)
	}
	ws, _ := st.Webhooks(ctx, "local")
	for _, w := range ws {
		if strings.Contains(w.URL, "@") || len(w.SealedUserinfo) == 0 {
			t.Errorf("after sealing, webhook %s: URL %q, %d sealed bytes", w.ID, w.URL, len(w.SealedUserinfo))
		}
	}
	if l, _ := s.Webhooks(ctx, local); len(l) != 2 || l[1].URL != "http://***@"+hostPort+"/old" {
		t.Errorf("listed after sealing: %+v", l)
	}
}
