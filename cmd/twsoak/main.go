// Command twsoak measures live monitoring end to end (docs/benchmarks.md,
// "Live feed to webhook"): it starts 'tidewatch serve' on a fresh store
// with a live feed from itself, feeds real-format AIS (NMEA 4.10 with tag
// block times) at a given rate over TCP (background traffic from
// simulated ships, and planted events: a portfolio vessel entering DPRK
// waters), receives the server's webhooks on a loopback receiver that
// verifies every signature, and reports the latency from the planted fix's
// sending to the alert's delivery (p50, p90, p99, max), what was lost or
// duplicated, the messages per second actually sent, and the server's
// resident memory over time. Loopback only; it ends the server it started
// and nothing else.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/internal/app"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "twsoak:", err)
		os.Exit(1)
	}
}

// Result is one soak's figures.
type Result struct {
	Seconds       float64 `json:"seconds"`
	Sent          int64   `json:"messages_sent"`
	PerSecond     float64 `json:"messages_per_second"`
	Ships         int     `json:"background_ships"`
	Planted       int     `json:"planted"`
	Delivered     int     `json:"planted_delivered"`
	Lost          int     `json:"planted_lost"`
	Duplicates    int     `json:"duplicate_deliveries"`
	BadSignatures int     `json:"bad_signatures"`
	OtherAlerts   int     `json:"other_alerts"`
	P50ms         float64 `json:"p50_ms"`
	P90ms         float64 `json:"p90_ms"`
	P99ms         float64 `json:"p99_ms"`
	Maxms         float64 `json:"max_ms"`
	// RaisedP50ms and RaisedP99ms: from the fix to the alert stored (its
	// created time, the server's clock: the same machine).
	RaisedP50ms float64 `json:"raised_p50_ms"`
	RaisedP99ms float64 `json:"raised_p99_ms"`
	RSS         []RSS   `json:"rss"`
	// FeedLines and FeedMessages are what the server's feed counted.
	FeedLines    int64 `json:"feed_lines"`
	FeedMessages int64 `json:"feed_messages"`
}

// RSS is the server's resident memory at a time since the feed started.
type RSS struct {
	At  float64 `json:"s"`
	MiB float64 `json:"mib"`
}

type config struct {
	tw, dir                      string
	port                         int
	rate                         int
	interval, duration, every    time.Duration
	pool                         int
	drain                        time.Duration
	monitorEvery, commitEvery    time.Duration
	asJSON                       bool
	tidewatchArgs                []string
	feedAddr, recvAddr, apiAddr  string
	key, secret                  string
	plantedMu                    sync.Mutex
	plantedAt                    map[uint32]time.Time
	deliveredAt                  map[uint32]time.Time
	raisedAt                     map[uint32]time.Time
	seenKeys                     map[string]int
	duplicates, bad, otherAlerts int
}

func run(args []string, out io.Writer) error {
	c := &config{plantedAt: map[uint32]time.Time{}, deliveredAt: map[uint32]time.Time{}, raisedAt: map[uint32]time.Time{}, seenKeys: map[string]int{}}
	fs := flag.NewFlagSet("twsoak", flag.ContinueOnError)
	fs.StringVar(&c.tw, "tidewatch", "tidewatch", "the tidewatch binary to run")
	fs.StringVar(&c.dir, "dir", "", "working directory for the store and the server's log (default: a new temporary one)")
	fs.IntVar(&c.port, "port", 18200, "first of three loopback ports: the API, the feed, the receiver")
	fs.IntVar(&c.rate, "rate", 5000, "AIS messages per second on the feed")
	fs.DurationVar(&c.interval, "interval", 2*time.Second, "each background ship's report interval (ships = rate x interval)")
	fs.DurationVar(&c.duration, "duration", time.Minute, "how long to feed")
	fs.DurationVar(&c.every, "plant-every", 2*time.Second, "a planted event this often")
	fs.IntVar(&c.pool, "portfolio", 1000, "portfolio vessels (each planted at most once)")
	fs.DurationVar(&c.drain, "drain", 15*time.Second, "how long to wait for deliveries after the feed stops")
	fs.DurationVar(&c.monitorEvery, "monitor-every", 2*time.Second, "the server's --monitor-every")
	fs.DurationVar(&c.commitEvery, "commit-every", time.Second, "the server's --commit-every")
	fs.BoolVar(&c.asJSON, "json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.rate <= 0 || c.rate > 100000 || c.duration <= 0 || c.duration > 2*time.Hour || c.pool <= 0 {
		return errors.New("give a rate of 1 to 100,000 messages/s, a duration up to 2 h and a portfolio of at least 1")
	}
	c.tidewatchArgs = fs.Args()
	if c.dir == "" {
		d, err := os.MkdirTemp("", "twsoak-")
		if err != nil {
			return err
		}
		c.dir = d
	}
	c.apiAddr = fmt.Sprintf("127.0.0.1:%d", c.port)
	c.feedAddr = fmt.Sprintf("127.0.0.1:%d", c.port+1)
	c.recvAddr = fmt.Sprintf("127.0.0.1:%d", c.port+2)
	res, err := c.soak()
	if err != nil {
		return err
	}
	if c.asJSON {
		return json.NewEncoder(out).Encode(res)
	}
	fmt.Fprintf(out, "fed %d AIS messages in %.0f s: %.0f/s (%d background ships); the server's feed counted %d lines, %d messages\n",
		res.Sent, res.Seconds, res.PerSecond, res.Ships, res.FeedLines, res.FeedMessages)
	fmt.Fprintf(out, "planted %d DPRK-waters entries: %d delivered, %d lost, %d duplicate deliveries, %d bad signatures (%d other alerts)\n",
		res.Planted, res.Delivered, res.Lost, res.Duplicates, res.BadSignatures, res.OtherAlerts)
	fmt.Fprintf(out, "fix sent -> webhook delivered: p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms (fix sent -> alert stored: p50 %.0f ms, p99 %.0f ms)\n",
		res.P50ms, res.P90ms, res.P99ms, res.Maxms, res.RaisedP50ms, res.RaisedP99ms)
	fmt.Fprintf(out, "server RSS (MiB):")
	for _, r := range res.RSS {
		fmt.Fprintf(out, " %.0fs=%.0f", r.At, r.MiB)
	}
	fmt.Fprintln(out)
	return nil
}

func (c *config) soak() (Result, error) {
	var res Result
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := filepath.Join(c.dir, "tidewatch.db")
	// An admin key, made before the server holds the store.
	cmd := exec.Command(c.tw, "keys", "create", "--store", db, "--create", "--name", "twsoak", "--role", "admin", "--json")
	var kout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &kout, &kout
	if err := cmd.Run(); err != nil {
		return res, fmt.Errorf("keys create: %v: %s", err, kout.String())
	}
	var k struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(kout.Bytes(), &k); err != nil || k.Key == "" {
		return res, fmt.Errorf("keys create answered %q", kout.String())
	}
	c.key = k.Key
	// The feed and the receiver listen before the server starts.
	feedLn, err := net.Listen("tcp", c.feedAddr)
	if err != nil {
		return res, err
	}
	defer feedLn.Close()
	recvLn, err := net.Listen("tcp", c.recvAddr)
	if err != nil {
		return res, err
	}
	recv := &http.Server{Handler: http.HandlerFunc(c.receive), ReadHeaderTimeout: 10 * time.Second}
	go recv.Serve(recvLn)
	defer recv.Close()
	logf, err := os.Create(filepath.Join(c.dir, "serve.log"))
	if err != nil {
		return res, err
	}
	defer logf.Close()
	args := append([]string{"serve", "--store", db, "--addr", c.apiAddr, "--feed", "tcp://" + c.feedAddr, "--webhook-allow-private",
		"--update-lists", "0", "--monitor-every", c.monitorEvery.String(), "--commit-every", c.commitEvery.String(), "--log-level", "warn"}, c.tidewatchArgs...)
	srv := exec.Command(c.tw, args...)
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		return res, err
	}
	pid := srv.Process.Pid
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			srv.Process.Kill()
			<-done
		}
	}()
	if err := c.waitReady(60 * time.Second); err != nil {
		return res, err
	}
	// The portfolio (vessels by MMSI, Liberian) and the webhook.
	if err := c.api("POST", "/v1/portfolios", map[string]string{"id": "soak", "name": "Soak fleet"}, nil); err != nil {
		return res, err
	}
	var vs []app.VesselEntry
	for i := 0; i < c.pool; i++ {
		m := plantedMMSI(i)
		vs = append(vs, app.VesselEntry{ID: fmt.Sprintf("soak-%d", i), MMSI: strconv.Itoa(int(m)), Name: fmt.Sprintf("SOAK %d", i)})
	}
	for i := 0; i < len(vs); i += 1000 {
		if err := c.api("POST", "/v1/portfolios/soak/vessels", map[string]any{"vessels": vs[i:min(len(vs), i+1000)]}, nil); err != nil {
			return res, err
		}
	}
	var wh app.NewWebhook
	if err := c.api("POST", "/v1/webhooks", app.WebhookRequest{URL: "http://" + c.recvAddr + "/hook", Kinds: []string{app.AlertEvent, app.AlertBandChanged}}, &wh); err != nil {
		return res, err
	}
	c.secret = wh.Secret
	// The feed.
	conn, err := acceptWithin(feedLn, 30*time.Second)
	if err != nil {
		return res, fmt.Errorf("the server did not connect to the feed: %v", err)
	}
	go func() { // a reconnecting server gets the stream again
		for {
			cn, err := feedLn.Accept()
			if err != nil {
				return
			}
			conn.swap(cn)
		}
	}()
	var sent atomic.Int64
	start := time.Now()
	var rssMu sync.Mutex
	sample := func() {
		if mib, err := rssMiB(pid); err == nil {
			rssMu.Lock()
			res.RSS = append(res.RSS, RSS{At: math.Round(time.Since(start).Seconds()), MiB: math.Round(mib*10) / 10})
			rssMu.Unlock()
		}
	}
	sample()
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				sample()
			}
		}
	}()
	ships := c.rate * int(c.interval/time.Second)
	if ships < 1 {
		ships = c.rate
	}
	res.Ships = ships
	res.Planted = c.feed(ctx, conn, ships, &sent, start)
	feedSecs := time.Since(start).Seconds()
	time.Sleep(c.drain)
	var feeds []app.FeedStatus
	if err := c.api("GET", "/v1/feeds", nil, &feeds); err == nil {
		for _, f := range feeds {
			res.FeedMessages += f.Health.Messages
			res.FeedLines += f.Health.Lines
		}
	}
	sample()
	cancel()
	res.Seconds = math.Round(feedSecs*10) / 10
	res.Sent = sent.Load()
	res.PerSecond = math.Round(float64(res.Sent) / feedSecs)
	c.plantedMu.Lock()
	defer c.plantedMu.Unlock()
	var lat, raise []float64
	for m, at := range c.plantedAt {
		if d, ok := c.deliveredAt[m]; ok {
			lat = append(lat, float64(d.Sub(at).Microseconds())/1000)
			raise = append(raise, float64(c.raisedAt[m].Sub(at).Microseconds())/1000)
		}
	}
	sort.Float64s(lat)
	sort.Float64s(raise)
	if len(raise) > 0 {
		res.RaisedP50ms = math.Round(raise[len(raise)/2])
		res.RaisedP99ms = math.Round(raise[min(len(raise)-1, int(0.99*float64(len(raise))))])
	}
	res.Delivered, res.Lost = len(lat), res.Planted-len(lat)
	res.Duplicates, res.BadSignatures, res.OtherAlerts = c.duplicates, c.bad, c.otherAlerts
	q := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return math.Round(lat[min(len(lat)-1, int(p*float64(len(lat))))])
	}
	res.P50ms, res.P90ms, res.P99ms = q(0.50), q(0.90), q(0.99)
	if len(lat) > 0 {
		res.Maxms = math.Round(lat[len(lat)-1])
	}
	return res, nil
}

// plantedMMSI is the i-th portfolio vessel's MMSI (Liberia, 636).
func plantedMMSI(i int) uint32 { return uint32(636100000 + i) }

// feedConn is the feed's current connection.
type feedConn struct {
	mu sync.Mutex
	c  net.Conn
	w  *bufio.Writer
}

func acceptWithin(ln net.Listener, d time.Duration) (*feedConn, error) {
	if tl, ok := ln.(*net.TCPListener); ok {
		tl.SetDeadline(time.Now().Add(d))
		defer tl.SetDeadline(time.Time{})
	}
	cn, err := ln.Accept()
	if err != nil {
		return nil, err
	}
	return &feedConn{c: cn, w: bufio.NewWriterSize(cn, 256<<10)}, nil
}

func (f *feedConn) swap(cn net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.c.Close()
	f.c, f.w = cn, bufio.NewWriterSize(cn, 256<<10)
}

// write sends lines (flushed when flush); it returns how many lines went.
func (f *feedConn) write(lines []string, flush bool) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, l := range lines {
		if _, err := f.w.WriteString(l); err != nil {
			return n
		}
		f.w.WriteByte('\n')
		n++
	}
	if flush {
		f.w.Flush()
	}
	return n
}

// bgShip is a background ship crossing the East China Sea.
type bgShip struct {
	mmsi             uint32
	lat, lon         float64
	dlat, dlon       float64 // degrees a report
	course, speedRaw uint16
}

// feed sends background traffic at the rate in 10 ms slices, and a
// planted entry into DPRK waters (two fixes 1 s apart, well inside the
// territorial sea, by a portfolio vessel never seen before) every
// plant-every; the second fix's sending time is the planted time. It
// returns how many were planted.
func (c *config) feed(ctx context.Context, conn *feedConn, ships int, sent *atomic.Int64, start time.Time) int {
	rng := rand.New(rand.NewPCG(7, 11))
	bg := make([]bgShip, ships)
	for i := range bg {
		kn := 8 + rng.Float64()*8
		cog := rng.Float64() * 360
		per := kn * c.interval.Hours() / 60 // degrees of latitude a report
		bg[i] = bgShip{mmsi: uint32(412000000 + i), lat: 28.5 + rng.Float64()*3.5, lon: 123.5 + rng.Float64()*3,
			dlat: per * math.Cos(cog*math.Pi/180), dlon: per * math.Sin(cog*math.Pi/180) / math.Cos(30*math.Pi/180),
			course: uint16(cog * 10), speedRaw: uint16(kn * 10)}
	}
	slice := 10 * time.Millisecond
	next := 0
	var owed float64
	planted := 0
	type pending struct {
		mmsi uint32
		at   time.Time
	}
	var second []pending // first fixes sent, the confirming one due
	nextPlant := start.Add(c.every)
	t := time.NewTicker(slice)
	defer t.Stop()
	lines := make([]string, 0, c.rate/50+8)
	group := 0
	var due int64 // background messages owed since start
	for time.Since(start) < c.duration && ctx.Err() == nil {
		<-t.C
		now := time.Now()
		// What the rate owes by now, whatever ticks were missed.
		owed = float64(c.rate)*now.Sub(start).Seconds() - float64(due)
		lines = lines[:0]
		for ; owed >= 1; owed-- {
			due++
			s := &bg[next]
			next = (next + 1) % len(bg)
			s.lat += s.dlat
			s.lon += s.dlon
			if s.lat < 28 || s.lat > 32.5 || s.lon < 123 || s.lon > 127 {
				s.dlat, s.dlon = -s.dlat, -s.dlon
				s.course = (s.course + 1800) % 3600
			}
			if rng.IntN(180) == 0 { // a static report now and then
				group++
				m := ais.Message{MMSI: s.mmsi, IMO: 0, CallSign: "BGS" + strconv.Itoa(int(s.mmsi%1000)), ShipName: "BG SHIP " + strconv.Itoa(int(s.mmsi%100000)), ShipType: 70,
					ToBow: 100, ToStern: 20, ToPort: 10, ToStarboard: 10, Draught: 80, Destination: "SHANGHAI"}
				pl, fill := ais.EncodeStatic(&m)
				lines = append(lines, ais.Sentences(pl, fill, now.Unix(), "soak", group, group, 'B')...)
				continue
			}
			lines = append(lines, position(s.mmsi, s.lat, s.lon, s.speedRaw, s.course, now))
		}
		sent.Add(int64(conn.write(lines, true)))
		// The planted fixes go out on their own, flushed, timed after.
		if len(second) > 0 && now.Sub(second[0].at) >= time.Second {
			p := second[0]
			second = second[1:]
			lat, lon := plantedSpot(p.mmsi)
			conn.write([]string{position(p.mmsi, lat+0.0005, lon+0.0005, 20, 450, time.Now())}, true)
			at := time.Now()
			sent.Add(1)
			c.plantedMu.Lock()
			c.plantedAt[p.mmsi] = at
			c.plantedMu.Unlock()
			planted++
		}
		// None in the last 5 s: a fix reaches the detectors once later
		// fixes arrive (the reorder window), so the last ones need traffic
		// after them.
		if now.After(nextPlant) && planted+len(second) < c.pool && time.Since(start) < c.duration-5*time.Second {
			m := plantedMMSI(planted + len(second))
			lat, lon := plantedSpot(m)
			conn.write([]string{position(m, lat, lon, 20, 450, now)}, true)
			sent.Add(1)
			second = append(second, pending{m, now})
			nextPlant = nextPlant.Add(c.every)
		}
	}
	return planted
}

// plantedSpot is where a planted vessel shows up: inside the DPRK
// territorial sea off Wonsan, tens of km from its boundary, spread a
// little.
func plantedSpot(m uint32) (float64, float64) {
	return 39.0 + float64(m%17)*0.002, 128.0 + float64(m%13)*0.002
}

func position(mmsi uint32, lat, lon float64, speedRaw, course uint16, t time.Time) string {
	rlat, rlon := ais.RawLatLon(lat, lon)
	m := ais.Message{MMSI: mmsi, Status: 0, SpeedRaw: speedRaw, LatRaw: rlat, LonRaw: rlon, Course: course, Heading: course / 10, Second: uint8(t.Second())}
	pl, fill := ais.EncodePosition(&m)
	return ais.Sentences(pl, fill, t.Unix(), "soak", 0, 0, 'A')[0]
}

// receive is the webhook receiver: it checks the signature and records
// the first delivery of each planted vessel's DPRK-waters alert.
func (c *config) receive(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	c.plantedMu.Lock()
	defer c.plantedMu.Unlock()
	if app.VerifySignature(r.Header.Get(app.SignatureHeader), body, c.secret, time.Now(), 5*time.Minute) != nil {
		c.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	c.seenKeys[key]++
	if c.seenKeys[key] > 1 {
		c.duplicates++
		return
	}
	var p app.AlertPayload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "json", http.StatusBadRequest)
		return
	}
	a := p.Alert
	if a.Kind != app.AlertEvent || !strings.Contains(a.Title, "entered") {
		c.otherAlerts++
		return
	}
	if _, ok := c.deliveredAt[a.MMSI]; !ok {
		c.deliveredAt[a.MMSI] = at
		c.raisedAt[a.MMSI] = a.Created
	}
}

func (c *config) waitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + c.apiAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("the server was not ready in time (see serve.log in --dir)")
}

func (c *config) api(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+c.apiAddr+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, rb)
	}
	if out != nil {
		return json.Unmarshal(rb, out)
	}
	return nil
}

// rssMiB is a process's resident memory (VmRSS), in MiB.
func rssMiB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb / 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}
