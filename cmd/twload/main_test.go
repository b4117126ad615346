package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestReadAnswer reads what Go's server sends (a length, a chunked body,
// a closing answer, an error status) on one keep-alive connection, and
// refuses what is not HTTP.
func TestReadAnswer(t *testing.T) {
	big := strings.Repeat("x", 9000) // over net/http's buffer: chunked
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			w.Write([]byte(`{"ok":true}`))
		case "/big":
			w.Write([]byte(big))
			w.(http.Flusher).Flush()
			w.Write([]byte(big))
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		case "/missing":
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	var rc *rawConn
	for _, c := range []struct {
		path   string
		status int
		keep   bool
	}{{"/small", 200, true}, {"/big", 200, true}, {"/small", 200, true}, {"/missing", 404, true}, {"/big", 200, true}, {"/close", 200, false}, {"/small", 200, true}} {
		req := []byte("GET " + c.path + " HTTP/1.1\r\nHost: " + u.Host + "\r\n\r\n")
		var err error
		first := rc
		rc, err = rc.do(u.Host, req)
		if c.status == 200 && err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if c.status != 200 && (err == nil || !strings.Contains(err.Error(), "HTTP 404")) {
			t.Fatalf("%s: want HTTP 404, got %v", c.path, err)
		}
		if (rc != nil) != c.keep {
			t.Fatalf("%s: connection kept %v, want %v", c.path, rc != nil, c.keep)
		}
		if first != nil && rc != nil && first != rc {
			t.Fatalf("%s: a new connection where the old one stays open", c.path)
		}
	}
	for _, bad := range []string{"", "SSH-2.0-OpenSSH\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "HTTP/1.1 200 OK\r\nno colon\r\n\r\n"} {
		if _, _, err := readAnswer(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("%q read without an error", bad)
		}
	}
}

func FuzzReadAnswer(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	f.Add("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		readAnswer(bufio.NewReader(strings.NewReader(s)))
	})
}

// At a rate, a server that stalls is charged with the requests that
// waited for it: latency counts from when each request was due, and
// the requests due during the stall are counted late. The closed loop
// counts from the send, and has no schedule to be late for.
func TestRateCountsFromTheSchedule(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			time.Sleep(60 * time.Millisecond)
		}
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	for _, c := range []struct {
		rate string
		at   bool
	}{{"1000", true}, {"0", false}} {
		n.Store(0)
		var out bytes.Buffer
		if err := run([]string{"-url", srv.URL, "-raw", "-warm", "0", "-c", "1", "-duration", "200ms", "-rate", c.rate, "-json"}, &out); err != nil {
			t.Fatal(err)
		}
		var r Result
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Errors != 0 || r.Requests < 2 {
			t.Fatalf("rate %s: %+v", c.rate, r)
		}
		if !c.at {
			if r.Rate != 0 || r.Late != 0 || r.SentP99ms != 0 {
				t.Errorf("closed loop reports a schedule: %+v", r)
			}
			continue
		}
		// Requests 2 to 59 were due, one a millisecond, while the first
		// answer took 60 ms: each was sent when it came, over 1 ms late.
		if r.Rate != 1000 || r.Late < 50 {
			t.Errorf("rate %s: %d of %d requests counted late, want the ~58 due during the stall: %+v", c.rate, r.Late, r.Requests, r)
		}
		// Request k (due at k ms, k < 60) was answered after the first
		// (at 60 ms or later): it waited at least 60-k ms from when it was
		// due, so the 50 due in the stall's first 50 ms, a quarter of the
		// 200, waited 10 ms or more, and so did the slowest tenth.
		if r.P90ms < 10 {
			t.Errorf("rate %s: p90 %.2f ms, want the stall counted from the schedule (>= 10 ms)", c.rate, r.P90ms)
		}
	}
}

func TestRateRefused(t *testing.T) {
	for _, bad := range []string{"-1", "2e6"} {
		if err := run([]string{"-url", "http://127.0.0.1:1", "-rate", bad}, io.Discard); err == nil || !strings.Contains(err.Error(), "rate") {
			t.Errorf("-rate %s: %v", bad, err)
		}
	}
}
