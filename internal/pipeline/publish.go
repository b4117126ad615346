package pipeline

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/ingest"
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
	// First and Last are the stream sequences the blocks were stored at.
	First, Last uint64
}

// Publish reads r to its end and publishes it. id names the content
// (such as ingest.FileInput's ID): each block's message id is id and the
// block's index, so a publish retried within the stream's duplicate
// window stores each block once.
func (p *Publisher) Publish(ctx context.Context, id, source string, r io.Reader) (PublishStats, error) {
	var st PublishStats
	subject, limit := p.subjectAndLimit()
	br := bufio.NewReaderSize(r, 64<<10)
	var futures []jetstream.PubAckFuture
	send := func(block []byte) error {
		m := nats.NewMsg(subject)
		m.Data = append([]byte(nil), block...)
		return p.publishAsync(ctx, m, id, source, &futures, &st)
	}
	if err := readBlocks(ctx, br, source, limit, &st, continues, send); err != nil {
		return st, err
	}
	return st, wait(ctx, &futures, &st)
}

// publishAsync names m (id and the block's index) and its source,
// publishes it without waiting for its ack, and counts it; every 256
// messages it waits for the acks.
func (p *Publisher) publishAsync(ctx context.Context, m *nats.Msg, id, source string, futures *[]jetstream.PubAckFuture, st *PublishStats) error {
	m.Header.Set(nats.MsgIdHdr, id+":"+strconv.FormatInt(st.Messages, 10))
	if source != "" {
		m.Header.Set(HeaderSource, source)
	}
	f, err := p.JS.PublishMsgAsync(m)
	if err != nil {
		return fmt.Errorf("nats: publish block %d of %s: %w", st.Messages, source, err)
	}
	*futures = append(*futures, f)
	st.Messages++
	st.Bytes += int64(len(m.Data))
	if len(*futures) >= 256 {
		return wait(ctx, futures, st)
	}
	return nil
}

// readBlocks reads br to its end in blocks of whole lines of about limit
// bytes and hands each to send (which must copy what it keeps). A line
// longer than maxLine is counted TooLong and skipped; a block is not
// ended after a line for which joined says the next belongs with it (nil:
// any line ends a block).
func readBlocks(ctx context.Context, br *bufio.Reader, source string, limit int, st *PublishStats, joined func([]byte) bool, send func([]byte) error) error {
	block := make([]byte, 0, limit+maxLine)
	inGroup := false
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: not a sentence or a row. Skip it.
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
					if err := send(block); err != nil {
						return err
					}
					block = block[:0]
				}
				block = append(block, line...)
				if line[len(line)-1] != '\n' {
					block = append(block, '\n')
				}
				st.Lines++
				inGroup = joined != nil && joined(line)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", source, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if len(block) > 0 {
		return send(block)
	}
	return nil
}

func (p *Publisher) subjectAndLimit() (string, int) {
	subject, limit := p.Subject, p.BlockBytes
	if subject == "" {
		subject = Subject
	}
	if limit <= 0 {
		limit = DefaultBlockBytes
	}
	return subject, limit
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

func wait(ctx context.Context, fs *[]jetstream.PubAckFuture, st *PublishStats) error {
	for _, f := range *fs {
		select {
		case ack := <-f.Ok():
			if st.First == 0 || ack.Sequence < st.First {
				st.First = ack.Sequence
			}
			st.Last = max(st.Last, ack.Sequence)
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

// PublishFile publishes an NMEA file or a decoded CSV export
// (MarineCadastre, DMA), gzipped or not, as it is, named by id (CSV:
// PublishCSV).
func (p *Publisher) PublishFile(ctx context.Context, path, id string) (PublishStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return PublishStats{}, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var r io.Reader = br
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return PublishStats{}, fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	zb := bufio.NewReaderSize(r, 64<<10)
	switch ais.Sniff(zb) { // as the ingest's readers tell them
	case ais.FormatCSV:
		return p.PublishCSV(ctx, id, path, zb)
	case ais.FormatUnknown:
		return PublishStats{}, fmt.Errorf("%s: neither NMEA nor a MarineCadastre or DMA CSV export (no sentence, past comment and blank lines, in its first %d KiB)", path, ais.SniffLimit>>10)
	}
	return p.Publish(ctx, id, path, zb)
}

// HeaderCSV marks a block of a decoded CSV export and carries the file's
// header line (the columns); HeaderCSVStatic carries, for the MMSIs of
// the block, what a reader of the whole file remembers of their static
// data where the block starts (ais.CSVReader.SeedStatic).
const (
	HeaderCSV       = "Tidewatch-CSV-Header"
	HeaderCSVStatic = "Tidewatch-CSV-Static"
)

// PublishCSV publishes a decoded CSV export read from r: its header
// line, then blocks of whole rows, each block the file's bytes as they
// are with the header line in the message header HeaderCSV, so that
// every block decodes on its own and the stream's payloads stay slices
// of the file (NMEA blocks are unchanged; a worker tells a CSV block by
// the header, not by sniffing). A CSV reader gives a vessel's static
// report when its fields change or every ais.StaticEvery, which depends
// on the rows before: the publisher reads the file with one reader and
// gives each block, in HeaderCSVStatic, that reader's memory of the
// block's MMSIs, so the workers decode exactly what one reader of the
// whole file gives (ingest of the file in one process). Block ids are
// id and the block's index, as for NMEA.
func (p *Publisher) PublishCSV(ctx context.Context, id, source string, r io.Reader) (PublishStats, error) {
	var st PublishStats
	subject, limit := p.subjectAndLimit()
	br := bufio.NewReaderSize(r, 64<<10)
	// The header line, at most maxLine bytes: it goes into every
	// message's header, and a line that does not end is not read whole.
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(line) > maxLine {
		return st, fmt.Errorf("%s: CSV header line longer than %d bytes", source, maxLine)
	}
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		return st, fmt.Errorf("%s: CSV header: %w", source, err)
	}
	header := strings.TrimRight(string(line), "\r\n")
	if _, err := ais.NewCSVReader(strings.NewReader(header + "\n")); err != nil {
		return st, fmt.Errorf("%s: %w", source, err)
	}
	st.Lines++
	state := map[uint32]ais.StaticSeen{}
	var futures []jetstream.PubAckFuture
	var sendRows func(rows []byte) error
	sendRows = func(rows []byte) error {
		// The rows through a reader seeded with the file's reader's
		// memory: what it read of the seed is the rows' seed, what it
		// remembers after goes into the file's memory.
		cr, err := ais.NewCSVReader(io.MultiReader(strings.NewReader(header+"\n"), bytes.NewReader(rows)))
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		cr.SeedStatic(state)
		var m ais.Message
		for {
			if err := cr.Next(&m); err == io.EOF {
				break
			} else if err != nil {
				return fmt.Errorf("%s: block %d: %w", source, st.Messages, err)
			}
		}
		static := formatStatic(cr.SeedUsed())
		if len(static) > maxStaticHeader {
			// JetStream refuses a message whose headers pass 64 KiB:
			// send the rows in two halves (cut at a row), each with
			// its own seed. The cut depends on the content only, so
			// a retry gives the same blocks and ids.
			if cut := rowCut(rows); cut > 0 {
				if err := sendRows(rows[:cut]); err != nil {
					return err
				}
				return sendRows(rows[cut:])
			}
		}
		for k, v := range cr.Static() {
			state[k] = v
		}
		msg := nats.NewMsg(subject)
		msg.Data = append([]byte(nil), rows...)
		msg.Header.Set(HeaderCSV, header)
		msg.Header.Set(HeaderCSVStatic, static)
		return p.publishAsync(ctx, msg, id, source, &futures, &st)
	}
	if err := readBlocks(ctx, br, source, limit, &st, nil, sendRows); err != nil {
		return st, err
	}
	return st, wait(ctx, &futures, &st)
}

// maxStaticHeader caps a CSV block's HeaderCSVStatic (JetStream refuses
// a message whose headers pass 64 KiB; the header line takes up to
// maxLine of it): a block whose vessels' memory is longer is sent in
// smaller blocks.
const maxStaticHeader = 32 << 10

// rowCut is where to cut rows (whole lines, each ending in a line break)
// in two: after the line break nearest past the middle, or before it;
// 0 when rows is one line.
func rowCut(rows []byte) int {
	mid := len(rows) / 2
	if k := bytes.IndexByte(rows[mid:], '\n'); k >= 0 && mid+k+1 < len(rows) {
		return mid + k + 1
	}
	if k := bytes.LastIndexByte(rows[:mid], '\n'); k >= 0 {
		return k + 1
	}
	return 0
}

// formatStatic writes a CSV reader's memory as "MMSI:AT:KEY" entries
// (KEY in hex), by MMSI, separated by spaces.
func formatStatic(m map[uint32]ais.StaticSeen) string {
	mmsis := make([]uint32, 0, len(m))
	for k := range m {
		mmsis = append(mmsis, k)
	}
	slices.Sort(mmsis)
	var b []byte
	for i, k := range mmsis {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendUint(b, uint64(k), 10)
		b = strconv.AppendInt(append(b, ':'), m[k].At, 10)
		b = strconv.AppendUint(append(b, ':'), m[k].Key, 16)
	}
	return string(b)
}

// parseStatic reads formatStatic's text.
func parseStatic(s string) (map[uint32]ais.StaticSeen, error) {
	out := map[uint32]ais.StaticSeen{}
	for _, f := range strings.Fields(s) {
		a, rest, ok1 := strings.Cut(f, ":")
		b, c, ok2 := strings.Cut(rest, ":")
		mmsi, e1 := strconv.ParseUint(a, 10, 32)
		at, e2 := strconv.ParseInt(b, 10, 64)
		key, e3 := strconv.ParseUint(c, 16, 64)
		if !ok1 || !ok2 || e1 != nil || e2 != nil || e3 != nil {
			return nil, fmt.Errorf("pipeline: bad %s entry %q", HeaderCSVStatic, f)
		}
		out[uint32(mmsi)] = ais.StaticSeen{Key: key, At: at}
	}
	return out, nil
}

// PublishInputs is the hook an API node gives the application
// (app.Config.Publish): each file input is published as it is, named by
// its content ID (a file uploaded twice within the duplicate window is
// stored once), then the flush mark when asked. Live feeds are not
// inputs here: a receiver publishes them (PublishFeed).
func (p *Publisher) PublishInputs(ctx context.Context, inputs []ingest.Input, flush bool) (string, error) {
	var first, last uint64
	for _, in := range inputs {
		if in.Live || in.Path == "" {
			return "", fmt.Errorf("%s: only files are published to the AIS pipeline from here (live feeds: tidewatch publish --nats URL tcp://...)", in.Name)
		}
		st, err := p.PublishFile(ctx, in.Path, in.ID)
		if err != nil {
			return "", err
		}
		if first == 0 {
			first = st.First
		}
		last = max(last, st.Last)
	}
	if flush {
		if err := p.PublishFlush(ctx, fmt.Sprintf("%d", time.Now().UnixNano())); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("nats: stream messages %d-%d", first, last), nil
}
