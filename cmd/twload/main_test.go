package main

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
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
