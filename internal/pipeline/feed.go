package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// PublishFeed is a receiver: it reads a live feed (tcp://host:port, lines;
// udp://host:port, datagrams of lines) until ctx ends and publishes what
// arrives every second (or every BlockBytes). A line without a tag block
// gets one with its receive time (c:, Unix seconds) and the feed as its
// source (s:), so that every worker decodes it with the same time. A TCP
// feed that drops is dialled again after a pause. sent, when set, is told
// of every block published.
func (p *Publisher) PublishFeed(ctx context.Context, addr string, sent func(lines int)) error {
	scheme, hostport, ok := strings.Cut(addr, "://")
	if !ok || (scheme != "tcp" && scheme != "udp") {
		return fmt.Errorf("%q is not a live feed (tcp://host:port or udp://host:port)", addr)
	}
	subject, limit := p.Subject, p.BlockBytes
	if subject == "" {
		subject = Subject
	}
	if limit <= 0 {
		limit = DefaultBlockBytes
	}
	source := strings.NewReplacer(",", "_", "*", "_", "\\", "_", ":", "_").Replace(hostport)
	lines := make(chan []byte, 4096)
	go func() {
		defer close(lines)
		for ctx.Err() == nil {
			err := readFeed(ctx, scheme, hostport, lines)
			if ctx.Err() != nil {
				return
			}
			_ = err // dropped or refused: dial again
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
		}
	}()
	start := time.Now().UnixNano()
	var block []byte
	var n, count int64
	publish := func() error {
		if len(block) == 0 {
			return nil
		}
		m := nats.NewMsg(subject)
		m.Data = block
		m.Header.Set(nats.MsgIdHdr, fmt.Sprintf("feed:%s:%d:%d", source, start, n))
		m.Header.Set(HeaderSource, addr)
		// Retried until stored: a NATS restart is waited out.
		for {
			_, err := p.JS.PublishMsg(ctx, m, jetstream.WithRetryAttempts(10))
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			time.Sleep(time.Second)
		}
		n++
		if sent != nil {
			sent(int(count))
		}
		block, count = nil, 0
		return nil
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	inGroup := false
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				publish()
				return nil
			}
			if len(l) > 0 && l[0] != '\\' {
				tag := "c:" + strconv.FormatInt(time.Now().Unix(), 10) + ",s:" + source
				var x byte
				for i := 0; i < len(tag); i++ {
					x ^= tag[i]
				}
				block = fmt.Appendf(block, "\\%s*%02X\\", tag, x)
			}
			block = append(append(block, l...), '\n')
			count++
			inGroup = continues(l)
			if !inGroup && len(block) >= limit {
				if err := publish(); err != nil {
					return nil
				}
			}
		case <-tick.C:
			if !inGroup {
				if err := publish(); err != nil {
					return nil
				}
			}
		}
	}
}

// readFeed reads one connection's lines until it ends.
func readFeed(ctx context.Context, scheme, hostport string, out chan<- []byte) error {
	var conn net.Conn
	var err error
	if scheme == "tcp" {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", hostport)
	} else {
		var lc net.ListenConfig
		var pc net.PacketConn
		pc, err = lc.ListenPacket(ctx, "udp", hostport)
		if err == nil {
			defer pc.Close()
			go func() { <-ctx.Done(); pc.Close() }()
			buf := make([]byte, 64<<10)
			for {
				k, _, err := pc.ReadFrom(buf)
				if err != nil {
					return err
				}
				for _, l := range strings.Split(string(buf[:k]), "\n") {
					if l = strings.TrimRight(l, "\r"); l != "" {
						out <- []byte(l)
					}
				}
			}
		}
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	go func() { <-ctx.Done(); conn.Close() }()
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		if l := strings.TrimRight(sc.Text(), "\r"); l != "" {
			out <- []byte(l)
		}
	}
	return sc.Err()
}
