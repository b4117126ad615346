package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultBlockBytes is the size a published block is cut at (at the
// next sentence group's start): well under NATS's 1 MB payload limit.
const DefaultBlockBytes = 256 << 10

// maxLine bounds one line: longer ones are not NMEA and are dropped
// (counted), never a block over the payload limit.
const maxLine = 16 << 10

// Publisher publishes raw AIS to the stream in blocks of whole lines,
// never cutting a multi-sentence group (a type 5 report in two
// sentences), so every block decodes on its own. Lines are published as
// read: their tag blocks (receive time, source) travel with them, so
// every worker decodes them the same.
type Publisher struct {
	JS jetstream.JetStream
	// Subject defaults to Subject; BlockBytes to DefaultBlockBytes.
	Subject    string
	BlockBytes int
}

// PublishStats counts what a publish sent.
type PublishStats struct {
	Messages, Lines, Bytes int64
	// TooLong counts lines dropped for being longer than any sentence.
	TooLong int64
}

// Publish reads r to its end and publishes it. id names the content
// (such as ingest.FileInput's ID): each block's message id is id and the
// block's index, so a publish retried within the stream's duplicate
// window stores each block once.
func (p *Publisher) Publish(ctx context.Context, id, source string, r io.Reader) (PublishStats, error) {
	var st PublishStats
	subject, limit := p.Subject, p.BlockBytes
	if subject == "" {
		subject = Subject
	}
	if limit <= 0 {
		limit = DefaultBlockBytes
	}
	br := bufio.NewReaderSize(r, 64<<10)
	block := make([]byte, 0, limit+maxLine)
	var futures []jetstream.PubAckFuture
	send := func() error {
		if len(block) == 0 {
			return nil
		}
		m := nats.NewMsg(subject)
		m.Data = append([]byte(nil), block...)
		m.Header.Set(nats.MsgIdHdr, id+":"+strconv.FormatInt(st.Messages, 10))
		if source != "" {
			m.Header.Set(HeaderSource, source)
		}
		f, err := p.JS.PublishMsgAsync(m)
		if err != nil {
			return fmt.Errorf("nats: publish block %d of %s: %w", st.Messages, source, err)
		}
		futures = append(futures, f)
		st.Messages++
		st.Bytes += int64(len(block))
		block = block[:0]
		if len(futures) >= 256 {
			return wait(ctx, &futures)
		}
		return nil
	}
	inGroup := false
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: not a sentence. Skip it.
			st.TooLong++
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			continue
		}
		if len(line) > 0 {
			if len(line) > maxLine {
				st.TooLong++
			} else {
				if !inGroup && len(block) >= limit {
					if err := send(); err != nil {
						return st, err
					}
				}
				block = append(block, line...)
				if line[len(line)-1] != '\n' {
					block = append(block, '\n')
				}
				st.Lines++
				inGroup = continues(line)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, fmt.Errorf("read %s: %w", source, err)
		}
		if ctx.Err() != nil {
			return st, ctx.Err()
		}
	}
	if err := send(); err != nil {
		return st, err
	}
	return st, wait(ctx, &futures)
}

// PublishFlush publishes the end-of-stream mark (HeaderFlush), named id
// so that a retry stores it once.
func (p *Publisher) PublishFlush(ctx context.Context, id string) error {
	subject := p.Subject
	if subject == "" {
		subject = Subject
	}
	m := nats.NewMsg(subject)
	m.Header.Set(nats.MsgIdHdr, "flush:"+id)
	m.Header.Set(HeaderFlush, "1")
	if _, err := p.JS.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("nats: publish the flush mark: %w", err)
	}
	return nil
}

func wait(ctx context.Context, fs *[]jetstream.PubAckFuture) error {
	for _, f := range *fs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("nats: publish: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	*fs = (*fs)[:0]
	return nil
}

// continues says whether an NMEA line is a fragment of a group with more
// to come (!AIVDM,2,1,...): the block must not end after it.
func continues(line []byte) bool {
	i := bytes.Index(line, []byte("VDM,"))
	if i < 0 {
		i = bytes.Index(line, []byte("VDO,"))
	}
	if i < 0 {
		return false
	}
	f := line[i+4:]
	c := bytes.IndexByte(f, ',')
	if c <= 0 {
		return false
	}
	total, err := strconv.Atoi(string(f[:c]))
	if err != nil {
		return false
	}
	f = f[c+1:]
	c = bytes.IndexByte(f, ',')
	if c <= 0 {
		return false
	}
	num, err := strconv.Atoi(string(f[:c]))
	if err != nil {
		return false
	}
	return num < total
}
