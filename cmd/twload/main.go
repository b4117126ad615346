// Command twload is the load generator for the screening-server
// comparison (docs/benchmarks.md): it sends single-name vessel screening
// queries to Tidewatch (POST /v1/screen) or to Moov Watchman (GET
// /v2/search?type=vessel) at a fixed concurrency, for a bounded time and
// number of requests, to loopback addresses only, and prints throughput
// and latency percentiles. Both servers get the same names, in the same
// order.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "twload:", err)
		os.Exit(1)
	}
}

// Result is one load run's figures.
type Result struct {
	Target      string  `json:"target"`
	Concurrency int     `json:"concurrency"`
	Requests    int64   `json:"requests"`
	Errors      int64   `json:"errors"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"requests_per_second"`
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
	Maxms       float64 `json:"max_ms"`
	// Rate is the offered rate of -rate (0: closed loop, each client
	// sending its next request when its answer has come). At a rate, the
	// latencies are counted from when each request was due, not from when
	// it was sent, so that a server that stalls is not let off by the
	// clients waiting for it (coordinated omission); Late counts the
	// requests sent more than 1 ms after they were due, and SentP99ms is
	// the p99 counted from the send instead.
	Rate      float64 `json:"rate,omitempty"`
	Late      int64   `json:"late,omitempty"`
	SentP99ms float64 `json:"sent_p99_ms,omitempty"`
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("twload", flag.ContinueOnError)
	target := fs.String("target", "tidewatch", "tidewatch or watchman")
	base := fs.String("url", "http://127.0.0.1:8080", "the server's base URL (loopback only)")
	key := fs.String("key", "", "tidewatch: the API key")
	conc := fs.Int("c", 32, "concurrent clients")
	dur := fs.Duration("duration", 10*time.Second, "how long to send (at most 5m)")
	maxReq := fs.Int64("n", 1000000, "at most this many requests")
	names := fs.String("names", "", "file of names, one a line (default: a built-in set of listed and unlisted vessel names)")
	warm := fs.Int("warm", 200, "requests sent before measuring")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	rate := fs.Float64("rate", 0, "requests a second offered in all, spread evenly over the clients (0: each client sends as soon as its last answer came). At a rate, latency is counted from when each request was due, so a late answer also counts against the requests that waited for its connection")
	raw := fs.Bool("raw", false, "one keep-alive connection per client, requests written from prepared bytes and answers read with http.ReadResponse: far less of the machine's shared CPU per request than net/http's client, for both servers alike")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*base)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(u.Hostname()); (ip == nil || !ip.IsLoopback()) && u.Hostname() != "localhost" {
		return fmt.Errorf("%s is not a loopback address: twload only loads servers on this machine", u.Host)
	}
	if *dur <= 0 || *dur > 5*time.Minute || *conc < 1 || *conc > 1024 {
		return fmt.Errorf("give a duration up to 5m and a concurrency of 1 to 1024")
	}
	if *rate < 0 || *rate > 1e6 {
		return fmt.Errorf("give a rate of 0 (closed loop) to 1,000,000 requests a second")
	}
	qs := defaultNames
	if *names != "" {
		if qs, err = readLines(*names); err != nil {
			return err
		}
	}
	tr := &http.Transport{MaxIdleConns: *conc * 2, MaxIdleConnsPerHost: *conc * 2, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	send := func(ctx context.Context, name string) error {
		var req *http.Request
		switch *target {
		case "tidewatch":
			b, _ := json.Marshal(map[string]string{"type": "vessel", "name": name})
			req, _ = http.NewRequestWithContext(ctx, http.MethodPost, *base+"/v1/screen", bytes.NewReader(b))
			req.Header.Set("Authorization", "Bearer "+*key)
			req.Header.Set("Content-Type", "application/json")
		case "watchman":
			req, _ = http.NewRequestWithContext(ctx, http.MethodGet, *base+"/v2/search?type=vessel&limit=10&name="+url.QueryEscape(name), nil)
		default:
			return fmt.Errorf("target %q: tidewatch or watchman", *target)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	}
	ctx := context.Background()
	for i := 0; i < *warm; i++ {
		if err := send(ctx, qs[i%len(qs)]); err != nil {
			return fmt.Errorf("warm-up request: %w", err)
		}
	}
	// Prepared requests for -raw, one per name.
	var rawReqs [][]byte
	if *raw {
		for _, name := range qs {
			var b []byte
			switch *target {
			case "tidewatch":
				body, _ := json.Marshal(map[string]string{"type": "vessel", "name": name})
				b = fmt.Appendf(nil, "POST %s/v1/screen HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
					strings.TrimSuffix(u.Path, "/"), u.Host, *key, len(body), body)
			case "watchman":
				b = fmt.Appendf(nil, "GET %s/v2/search?type=vessel&limit=10&name=%s HTTP/1.1\r\nHost: %s\r\n\r\n",
					strings.TrimSuffix(u.Path, "/"), url.QueryEscape(name), u.Host)
			}
			rawReqs = append(rawReqs, b)
		}
	}
	var next, errs, late atomic.Int64
	lat := make([][]time.Duration, *conc)
	sent := make([][]time.Duration, *conc)
	start := time.Now()
	deadline := start.Add(*dur)
	// At a rate, client w's k-th request is due at start + (k*conc + w) /
	// rate: the clients take the schedule's slots in turn.
	var every time.Duration
	if *rate > 0 {
		every = time.Duration(float64(*conc) / *rate * float64(time.Second))
	}
	var wg sync.WaitGroup
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rc *rawConn
			defer func() {
				if rc != nil {
					rc.c.Close()
				}
			}()
			for k := 0; ; k++ {
				var due time.Time
				if every > 0 {
					due = start.Add(time.Duration(float64(k*(*conc)+w) / *rate * float64(time.Second)))
					if !due.Before(deadline) {
						return
					}
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					}
				} else if !time.Now().Before(deadline) {
					return
				}
				i := next.Add(1) - 1
				if i >= *maxReq {
					return
				}
				t := time.Now()
				if due.IsZero() {
					due = t
				} else if t.Sub(due) > time.Millisecond {
					late.Add(1)
				}
				var err error
				if *raw {
					rc, err = rc.do(u.Host, rawReqs[int(i)%len(rawReqs)])
				} else {
					err = send(ctx, qs[int(i)%len(qs)])
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				end := time.Now()
				lat[w] = append(lat[w], end.Sub(due))
				if every > 0 {
					sent[w] = append(sent[w], end.Sub(t))
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	all, fromSend := sorted(lat), sorted(sent)
	r := Result{Target: *target, Concurrency: *conc, Requests: int64(len(all)), Errors: errs.Load(), Seconds: el.Seconds(),
		PerSecond: float64(len(all)) / el.Seconds(), P50ms: percentile(all, 0.5), P90ms: percentile(all, 0.9),
		P99ms: percentile(all, 0.99), Maxms: percentile(all, 1), Rate: *rate}
	if *rate > 0 {
		r.Late, r.SentP99ms = late.Load(), percentile(fromSend, 0.99)
	}
	if *asJSON {
		return json.NewEncoder(out).Encode(r)
	}
	fmt.Fprintf(out, "%s c=%d: %d requests in %.1f s = %.0f/s; latency p50 %.2f ms, p90 %.2f, p99 %.2f, max %.2f; %d errors\n",
		r.Target, r.Concurrency, r.Requests, r.Seconds, r.PerSecond, r.P50ms, r.P90ms, r.P99ms, r.Maxms, r.Errors)
	if *rate > 0 {
		fmt.Fprintf(out, "  offered %.0f/s: latency counted from when each request was due; %d sent over 1 ms late; p99 from the send %.2f ms\n",
			r.Rate, r.Late, r.SentP99ms)
	}
	return nil
}

// sorted gathers the clients' latencies in order.
func sorted(per [][]time.Duration) []time.Duration {
	var all []time.Duration
	for _, l := range per {
		all = append(all, l...)
	}
	slices.Sort(all)
	return all
}

// percentile is the p-th of sorted latencies, in milliseconds (0 if none).
func percentile(all []time.Duration, p float64) float64 {
	if len(all) == 0 {
		return 0
	}
	return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no names", path)
	}
	return out, sc.Err()
}

// defaultNames mixes listed DPRK vessels (as lists and analysts write
// them) with ordinary merchant ships' names: a screening server's day.
var defaultNames = []string{
	"CHON MA SAN", "CHONMASAN", "RYONG GUN BONG", "KOTI", "JI SONG 6", "JI SONG 8", "CHON MYONG 1", "SAM JONG 2", "YU SON", "KUM UN SAN 3",
	"NAM SAN 8", "PAEK MA", "AN SAN 1", "MAN GYONG DAE", "WAN HENG 11", "NEW REGENT", "SHANG YUAN BAO", "SUBBLIC", "DIAMOND 8", "VIFINE",
	"EVER GIVEN", "MAERSK ESSEN", "MSC OSCAR", "PACIFIC VOYAGER", "NORDIC STAR", "OCEAN PRIDE", "SEA EMPRESS", "GOLDEN BRIDGE", "BLUE WHALE",
	"STAR APEX", "HANJIN PARIS", "COSCO SHIPPING ARIES", "ATLANTIC SUN", "CAPE ORCHID", "IRON LADY", "KING OF THE SEA", "POLAR EXPRESS",
	"GRAND HARMONY", "JADE STAR", "SILVER MOON",
}

// rawConn is one keep-alive connection of -raw.
type rawConn struct {
	c        net.Conn
	r        *bufio.Reader
	deadline time.Time
}

// do sends one prepared request on the connection (dialled when nil or
// broken) and reads the answer whole; it returns the connection to use
// next (nil after an error, so the next request dials again).
func (rc *rawConn) do(host string, req []byte) (*rawConn, error) {
	if rc == nil {
		c, err := net.DialTimeout("tcp", host, 10*time.Second)
		if err != nil {
			return nil, err
		}
		rc = &rawConn{c: c, r: bufio.NewReaderSize(c, 64<<10)}
	}
	// A deadline 30 s ahead, moved once every 10 s rather than at every
	// request (setting one is a runtime call the server does not make).
	if now := time.Now(); rc.deadline.Sub(now) < 20*time.Second {
		rc.deadline = now.Add(30 * time.Second)
		rc.c.SetDeadline(rc.deadline)
	}
	if _, err := rc.c.Write(req); err != nil {
		rc.c.Close()
		return nil, err
	}
	status, keep, err := readAnswer(rc.r)
	if err != nil {
		rc.c.Close()
		return nil, err
	}
	next := rc
	if !keep {
		rc.c.Close() // the server ends the connection: dial again next time
		next = nil
	}
	if status != http.StatusOK {
		err = fmt.Errorf("HTTP %d", status)
	}
	return next, err
}

// readAnswer reads one HTTP/1.1 response from r, body included (by
// Content-Length or chunked), without allocating: the status, and
// whether the connection stays open. It reads what both servers send;
// anything else is an error, never a guess.
func readAnswer(r *bufio.Reader) (status int, keep bool, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false, fmt.Errorf("not an HTTP/1 status line: %q", line)
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, false, fmt.Errorf("bad status in %q", line)
		}
		status = status*10 + int(c-'0')
	}
	keep = line[7] == '1'
	length, chunked := int64(-1), false
	for {
		h, err := r.ReadSlice('\n')
		if err != nil {
			return status, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		colon := bytes.IndexByte(h, ':')
		if colon < 0 {
			return status, false, fmt.Errorf("bad header line %q", h)
		}
		name, value := h[:colon], bytes.TrimSpace(h[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				return status, false, fmt.Errorf("bad Content-Length %q", value)
			}
			length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
			if !chunked {
				return status, false, fmt.Errorf("transfer encoding %q not read", value)
			}
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				keep = false
			}
		}
	}
	switch {
	case chunked:
		for {
			l, err := r.ReadSlice('\n')
			if err != nil {
				return status, false, err
			}
			l = bytes.TrimRight(l, "\r\n")
			if i := bytes.IndexByte(l, ';'); i >= 0 {
				l = l[:i]
			}
			n, err := strconv.ParseInt(string(l), 16, 64)
			if err != nil || n < 0 {
				return status, false, fmt.Errorf("bad chunk size %q", l)
			}
			if n == 0 {
				// Trailers, then the empty line.
				for {
					t, err := r.ReadSlice('\n')
					if err != nil {
						return status, false, err
					}
					if len(bytes.TrimRight(t, "\r\n")) == 0 {
						return status, keep, nil
					}
				}
			}
			if _, err := r.Discard(int(n) + 2); err != nil {
				return status, false, err
			}
		}
	case length >= 0:
		if _, err := r.Discard(int(length)); err != nil {
			return status, false, err
		}
		return status, keep, nil
	}
	// No length: the body runs to the end of the connection.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return status, false, err
	}
	return status, false, nil
}
