package web

import (
	"math"
	"net"
	"net/http"
	"sync"
	"time"
)

// loginGate limits failed sign-ins per client address: a bucket of burst
// failures refilled at rate a second. An address whose bucket is empty is
// refused before its password is looked at, so guessing (one name or
// many) costs the server no argon2 run. Sign-ins under way count as
// failures until they end, so a flood of simultaneous attempts from one
// address gets no more checks than the bucket holds.
type loginGate struct {
	mu    sync.Mutex
	rate  float64
	burst float64
	now   func() time.Time
	addrs map[string]*loginBucket
}

type loginBucket struct {
	tokens  float64
	at      time.Time
	pending int
}

// maxGateAddrs bounds the addresses remembered; past it, those with a
// full bucket and nothing under way are forgotten.
const maxGateAddrs = 100000

func newLoginGate(rate float64, burst int) *loginGate {
	return &loginGate{rate: rate, burst: float64(burst), now: time.Now, addrs: map[string]*loginBucket{}}
}

// admit starts a sign-in from addr; when refused, wait is the whole
// seconds until one is allowed (Retry-After).
func (g *loginGate) admit(addr string) (wait int, ok bool) {
	if g == nil {
		return 0, true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	b := g.addrs[addr]
	if b == nil {
		if len(g.addrs) >= maxGateAddrs {
			g.forget(now)
		}
		b = &loginBucket{tokens: g.burst, at: now}
		g.addrs[addr] = b
	}
	g.refill(b, now)
	if free := b.tokens - float64(b.pending); free < 1 {
		return max(1, int(math.Ceil((1-free)/g.rate))), false
	}
	b.pending++
	return 0, true
}

// done ends a sign-in admitted from addr; a failure spends a token.
func (g *loginGate) done(addr string, failed bool) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	b := g.addrs[addr]
	if b == nil {
		return
	}
	b.pending--
	if failed {
		g.refill(b, g.now())
		b.tokens = max(0, b.tokens-1)
	}
}

func (g *loginGate) refill(b *loginBucket, now time.Time) {
	if el := now.Sub(b.at).Seconds(); el > 0 {
		b.tokens = min(g.burst, b.tokens+el*g.rate)
	}
	b.at = now
}

// forget drops the addresses with a full bucket and nothing under way,
// then, if still too many, every address with nothing under way (they
// start again with a full bucket).
func (g *loginGate) forget(now time.Time) {
	for a, b := range g.addrs {
		if g.refill(b, now); b.pending == 0 && b.tokens >= g.burst {
			delete(g.addrs, a)
		}
	}
	if len(g.addrs) >= maxGateAddrs {
		for a, b := range g.addrs {
			if b.pending == 0 {
				delete(g.addrs, a)
			}
		}
	}
}

// remoteHost is the request's peer address without its port.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
