package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/internal/termtext"
)

var aisCommands = []command{
	{"decode", "decode AIS inputs to one line (or JSON object) per message", runAISDecode},
	{"stats", "messages by type, distinct MMSIs, time span and errors per input", runAISStats},
}

const aisInputsHelp = `INPUT is one of:
  FILE              NMEA log (plain or .gz: !AIVDM/!AIVDO from any talker,
                    multi-sentence messages, NMEA 4.10 tag blocks, $PGHP
                    lines, trailing or leading epoch fields) or a decoded
                    CSV export (US MarineCadastre, Danish Maritime
                    Authority), detected from content
  -                 standard input
  tcp://HOST:PORT   live feed, TCP client; reconnects with backoff
  udp://HOST:PORT   live feed, UDP listener on that address
Live feeds run until interrupted (Ctrl-C); their messages without a time
get the time they arrived. A TCP feed that fails, or ends a connection
within 10 s or before any AIS, is redialled after a wait from 0.5 s
doubling to 30 s (with jitter); one that sends no valid AIS sentence for
--idle-timeout (silence or garbage) is dropped and redialled.

Lines that cannot be used are counted by reason (checksum, malformed,
bad_payload, orphan_fragment, short_payload, bad_field, line_too_long,
not_ais) and skipped; a summary goes to stderr at the end. A file that
holds no AIS message at all, or a .gz file cut short, is an error (exit
status 1).`

func runAIS(e *env, args []string) error {
	return group{name: "ais", commands: aisCommands,
		intro: "Usage: tidewatch ais COMMAND [flags] INPUT...\n\nCommands:\n",
		outro: "\n" + aisInputsHelp + "\n"}.run(e, args)
}

// signalContext ends on Ctrl-C so live feeds stop cleanly.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

func runAISDecode(e *env, args []string) error {
	var asJSON bool
	var types string
	fs := newFlagSet(e, "ais decode", "tidewatch ais decode [--json] [--types LIST] INPUT...", `
Decodes AIS messages. Without --json, one readable line per message:
time, type, MMSI, then position and motion or static data. With --json,
one JSON object per message, with gpsd's AIVDM field names (type, mmsi,
lat, lon, speed, course, heading, status, turn, imo, callsign, shipname,
shiptype, to_bow..., draught, destination) plus "time" when the input
carries one. "Not available" values (lat 91, lon 181, speed 102.3,
heading 511...) are left out, not written as numbers.

Text from the input (names, call signs, destinations) never reaches the
terminal raw: control characters, escape sequences and bidirectional
overrides are shown as escapes (\x1b, \u202e) in the readable lines and
written as JSON escapes with --json (the decoded strings are exact).

`+aisInputsHelp+`

Examples:
  tidewatch ais decode --json capture.nmea.gz > messages.jsonl
  tidewatch ais decode --types 5,24 tcp://127.0.0.1:5631`)
	fs.BoolVar(&asJSON, "json", false, "one JSON object per message")
	fs.StringVar(&types, "types", "", "only these message types, comma-separated (e.g. 1,2,3,18)")
	feed := feedFlags(fs, e.stderr)
	inputs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(inputs) == 0 {
		return usagef("give one or more inputs (a file, -, tcp://HOST:PORT or udp://HOST:PORT)")
	}
	if err := noDirectories(inputs); err != nil {
		return err
	}
	var keep [64]bool
	if types != "" {
		for _, t := range strings.Split(types, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(t))
			if err != nil || n < 1 || n > 63 {
				return usagef("--types: %q is not a message type 1-63", t)
			}
			keep[n] = true
		}
	} else {
		for i := range keep {
			keep[i] = true
		}
	}
	ctx, cancel := signalContext()
	defer cancel()
	w := bufio.NewWriterSize(e.stdout, 256<<10)
	defer w.Flush()
	var m ais.Message
	var buf []byte
	var failed failures
	for _, in := range inputs {
		src, closer, err := ais.OpenInput(ctx, in, *feed)
		if err != nil {
			fmt.Fprintln(e.stderr, inputError(in, err))
			failed.unreadable++
			continue
		}
		for {
			err = src.Next(&m)
			if err != nil {
				break
			}
			if !keep[m.Type&63] {
				continue
			}
			if asJSON {
				buf = ais.AppendJSON(buf[:0], &m)
			} else {
				buf = appendText(buf[:0], &m)
			}
			buf = append(buf, '\n')
			if _, werr := w.Write(buf); werr != nil {
				closer.Close()
				return werr
			}
			if isLive(in) {
				w.Flush()
			}
		}
		closer.Close()
		summary(e.stderr, in, src.Stats())
		if err != io.EOF {
			fmt.Fprintln(e.stderr, inputError(in, err))
			failed.unreadable++
		} else if msg := noAIS(in, src.Stats()); msg != "" {
			fmt.Fprintln(e.stderr, msg)
			failed.noAIS++
		}
	}
	return failed.err(len(inputs))
}

func isLive(in string) bool { return ais.IsLive(in) }

// noDirectories refuses an input that is a directory, before anything is
// read ("read X: is a directory" after a summary of 0 messages said
// little): AIS inputs are files, standard input or feeds.
func noDirectories(inputs []string) error {
	for _, in := range inputs {
		if in == "-" || isLive(in) {
			continue
		}
		if fi, err := os.Stat(in); err == nil && fi.IsDir() {
			return usagef("%s is a directory: give AIS files (NMEA logs, CSV exports, .gz), e.g. %s", termtext.Safe(in), filepath.Join(termtext.Safe(in), "*.nmea"))
		}
	}
	return nil
}

// feedFlags adds the live-feed flags to fs and returns the options they
// set (Log goes to log). ingest and detect can share it.
func feedFlags(fs *flag.FlagSet, log io.Writer) *ais.FeedOptions {
	o := &ais.FeedOptions{Log: log}
	fs.Var(idleTimeout{&o.IdleTimeout}, "idle-timeout", "live TCP feeds: drop and redial a connection that sends no valid AIS sentence for this `duration`: 90s, 5m (minutes); 0 = never")
	fs.IntVar(&o.MaxReconnects, "max-reconnects", 0, "live TCP feeds: give up after this many connections in a row that fail or end before they are healthy (0 = never)")
	return o
}

// idleTimeout is the --idle-timeout flag: a Go duration, 0 for never.
type idleTimeout struct{ d *time.Duration }

func (f idleTimeout) String() string {
	if f.d == nil || *f.d == 0 {
		return ais.DefaultIdleTimeout.String()
	}
	if *f.d < 0 {
		return "0"
	}
	return f.d.String()
}

func (f idleTimeout) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("want a duration such as 90s or 5m (minutes), or 0 for never")
	}
	if d == 0 {
		d = -1 // FeedOptions: negative is never, zero the default
	}
	*f.d = d
	return nil
}

// inputError names the input in err unless err already does.
func inputError(in string, err error) string {
	if strings.Contains(err.Error(), in) {
		return err.Error()
	}
	return in + ": " + err.Error()
}

// noAIS is the error for a file or stream that ended without yielding a
// single AIS message ("" when it yielded some, or is a live feed).
func noAIS(in string, s *ais.Stats) string {
	if s.Messages > 0 || isLive(in) {
		return ""
	}
	if s.Lines == 0 {
		return in + ": no AIS message found: the input is empty"
	}
	msg := fmt.Sprintf("%s: no AIS message found in %d lines", in, s.Lines)
	if n := s.ErrorCount(); n > 0 {
		msg += fmt.Sprintf(" (%d unusable: %s)", n, errorList(s))
	}
	return msg + "; expected NMEA sentences (!AIVDM/!AIVDO) or a MarineCadastre or DMA CSV export"
}

// failures counts the inputs that failed, by kind.
type failures struct{ unreadable, noAIS int }

func (f failures) err(inputs int) error {
	if f.unreadable+f.noAIS == 0 {
		return nil
	}
	var parts []string
	if f.unreadable > 0 {
		parts = append(parts, fmt.Sprintf("%d could not be read to the end", f.unreadable))
	}
	if f.noAIS > 0 {
		parts = append(parts, fmt.Sprintf("%d held no AIS message", f.noAIS))
	}
	return fmt.Errorf("%d of %d inputs failed: %s", f.unreadable+f.noAIS, inputs, strings.Join(parts, ", "))
}

// summary is the one-line account printed at the end of each input.
func summary(w io.Writer, in string, s *ais.Stats) {
	fmt.Fprintf(w, "%s: %d messages from %d lines", in, s.Messages, s.Lines)
	if n := s.ErrorCount(); n > 0 {
		fmt.Fprintf(w, "; %d unusable: %s", n, errorList(s))
	} else {
		fmt.Fprint(w, "; no errors")
	}
	fmt.Fprintln(w)
}

func errorList(s *ais.Stats) string { return joinCounts(s.ErrorsByName(), ", ") }

// appendText writes a readable line for a message.
func appendText(b []byte, m *ais.Message) []byte {
	if m.Time.IsZero() {
		b = append(b, "-                       "...)
	} else {
		b = m.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	}
	b = fmt.Appendf(b, " %2d %09d", m.Type, m.MMSI)
	switch {
	case m.IsPosition() || m.Type == 4 || m.Type == 21:
		if lat, lon, ok := m.LatLon(); ok {
			b = fmt.Appendf(b, " %9.5f %10.5f", lat, lon)
		} else {
			b = append(b, "  (no position)      "...)
		}
		if v, ok := m.SpeedKnots(); ok && m.IsPosition() {
			b = fmt.Appendf(b, " %5.1fkn", v)
		}
		if v, ok := m.CourseDegrees(); ok && m.IsPosition() {
			b = fmt.Appendf(b, " cog %5.1f", v)
		}
		if h, ok := m.HeadingDegrees(); ok && m.IsPosition() {
			b = fmt.Appendf(b, " hdg %3d", h)
		}
		if m.ShipName != "" {
			b = appendQuoted(append(b, ' '), m.ShipName)
		}
	case m.Type == 5 || m.Type == 24:
		if m.ShipName != "" {
			b = appendQuoted(append(b, ' '), m.ShipName)
		}
		if m.IMO != 0 {
			b = fmt.Appendf(b, " IMO%d", m.IMO)
		}
		if m.CallSign != "" {
			b = termtext.AppendSafe(append(b, " callsign "...), m.CallSign)
		}
		if m.ShipType != 0 {
			b = fmt.Appendf(b, " type %d", m.ShipType)
		}
		if d, ok := m.DraughtMetres(); ok {
			b = fmt.Appendf(b, " draught %.1fm", d)
		}
		if m.Destination != "" {
			b = appendQuoted(append(b, " to "...), m.Destination)
		}
	default:
		b = fmt.Appendf(b, " (%d bits, not decoded)", m.PayloadBits)
	}
	return b
}

// appendQuoted writes text from the input between quotes, made safe for a
// terminal (termtext).
func appendQuoted(b []byte, s string) []byte {
	b = termtext.AppendSafe(append(b, '"'), s)
	return append(b, '"')
}

// inputStats is what 'ais stats' reports for one input.
type inputStats struct {
	Input        string           `json:"input"`
	Lines        int64            `json:"lines"`
	Sentences    int64            `json:"sentences"`
	Messages     int64            `json:"messages"`
	ByType       map[string]int64 `json:"by_type"`
	DistinctMMSI int              `json:"distinct_mmsi"`
	WithPosition int              `json:"mmsi_with_position"`
	First        string           `json:"time_first,omitempty"`
	Last         string           `json:"time_last,omitempty"`
	SpanHours    float64          `json:"span_hours"`
	Errors       map[string]int64 `json:"errors"`
	TagBlockBad  int64            `json:"tag_block_checksum_warnings,omitempty"`
	ReadError    string           `json:"read_error,omitempty"`
	// NoAIS says why a file that yielded no message is not AIS.
	NoAIS string `json:"no_ais,omitempty"`
}

func runAISStats(e *env, args []string) error {
	var asJSON bool
	fs := newFlagSet(e, "ais stats", "tidewatch ais stats [--json] INPUT...", `
Counts, per input: lines, sentences, messages by type, distinct MMSIs
(and how many sent a valid position), the time span covered and the
unusable lines by reason.

`+aisInputsHelp)
	fs.BoolVar(&asJSON, "json", false, "one JSON object per input")
	feed := feedFlags(fs, e.stderr)
	inputs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(inputs) == 0 {
		return usagef("give one or more inputs")
	}
	if err := noDirectories(inputs); err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	var failed failures
	for _, in := range inputs {
		st, err := statsOf(ctx, in, *feed)
		if err != nil {
			fmt.Fprintln(e.stderr, inputError(in, err))
			failed.unreadable++
			continue
		}
		switch {
		case st.ReadError != "":
			fmt.Fprintln(e.stderr, st.ReadError)
			failed.unreadable++
		case st.NoAIS != "":
			fmt.Fprintln(e.stderr, st.NoAIS)
			failed.noAIS++
		}
		if asJSON {
			b, _ := json.Marshal(st)
			fmt.Fprintln(e.stdout, string(b))
			continue
		}
		printStats(e.stdout, st)
	}
	return failed.err(len(inputs))
}

func statsOf(ctx context.Context, in string, opt ais.FeedOptions) (*inputStats, error) {
	src, closer, err := ais.OpenInput(ctx, in, opt)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return collectStats(in, src), nil
}

// collectStats reads a source to its end and summarises it.
func collectStats(in string, src ais.Source) *inputStats {
	mmsis := map[uint32]bool{}
	var m ais.Message
	var err error
	for {
		if err = src.Next(&m); err != nil {
			break
		}
		_, _, ok := m.LatLon()
		ok = ok && m.IsPosition()
		mmsis[m.MMSI] = mmsis[m.MMSI] || ok
	}
	s := src.Stats()
	st := &inputStats{Input: in, Lines: s.Lines, Sentences: s.Sentences, Messages: s.Messages, ByType: map[string]int64{}, DistinctMMSI: len(mmsis), Errors: s.ErrorsByName(), TagBlockBad: s.TagBlockChecksum}
	if err != io.EOF {
		st.ReadError = inputError(in, err)
	} else {
		st.NoAIS = noAIS(in, s)
	}
	for t, n := range s.ByType {
		if n > 0 {
			st.ByType[strconv.Itoa(t)] = n
		}
	}
	for _, pos := range mmsis {
		if pos {
			st.WithPosition++
		}
	}
	if !s.First.IsZero() {
		st.First = s.First.Format(time.RFC3339)
		st.Last = s.Last.Format(time.RFC3339)
		st.SpanHours = float64(int(s.Last.Sub(s.First).Hours()*100+0.5)) / 100
	}
	return st
}

func printStats(w io.Writer, st *inputStats) {
	fmt.Fprintf(w, "%s\n", st.Input)
	// One table, so every label lines up.
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  lines\t%d\n  sentences\t%d\n  messages\t%d\n", st.Lines, st.Sentences, st.Messages)
	fmt.Fprintf(tw, "  distinct MMSIs\t%d (%d with a valid position)\n", st.DistinctMMSI, st.WithPosition)
	if st.First != "" {
		fmt.Fprintf(tw, "  time span\t%s .. %s (%.2f h)\n", st.First, st.Last, st.SpanHours)
	} else {
		fmt.Fprintf(tw, "  time span\tunknown (the input carries no times)\n")
	}
	types := make([]int, 0, len(st.ByType))
	for t := range st.ByType {
		n, _ := strconv.Atoi(t)
		types = append(types, n)
	}
	sort.Ints(types)
	var parts []string
	raw := false
	for _, t := range types {
		mark := ""
		if !ais.Decoded(uint8(t)) {
			mark, raw = "*", true
		}
		parts = append(parts, fmt.Sprintf("%d%s:%d", t, mark, st.ByType[strconv.Itoa(t)]))
	}
	switch {
	case len(parts) == 0:
		fmt.Fprintf(tw, "  by type\tnone\n")
	case raw:
		fmt.Fprintf(tw, "  by type\t%s   (message type:count; * kept raw, not decoded)\n", strings.Join(parts, " "))
	default:
		fmt.Fprintf(tw, "  by type\t%s   (message type:count)\n", strings.Join(parts, " "))
	}
	if len(st.Errors) == 0 {
		fmt.Fprintf(tw, "  errors\tnone\n")
	} else {
		keys := make([]string, 0, len(st.Errors))
		for k := range st.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var ps []string
		for _, k := range keys {
			ps = append(ps, fmt.Sprintf("%s %d", k, st.Errors[k]))
		}
		fmt.Fprintf(tw, "  errors\t%s   (lines skipped, by reason)\n", strings.Join(ps, ", "))
	}
	if st.TagBlockBad > 0 {
		fmt.Fprintf(tw, "  warnings\t%d tag blocks with a missing or wrong checksum (fields used)\n", st.TagBlockBad)
	}
	if st.ReadError != "" {
		fmt.Fprintf(tw, "  READ ERROR\t%s\n", st.ReadError)
	}
	if st.NoAIS != "" {
		fmt.Fprintf(tw, "  NOT AIS\tno AIS message found\n")
	}
	tw.Flush()
}
