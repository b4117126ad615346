package casefile

import (
	"bufio"
	"bytes"
	"io"
	"time"

	"github.com/tidewatch/tidewatch/ais"
)

// Keep says whether a message of an MMSI at a time belongs in an excerpt.
type Keep func(mmsi uint32, t time.Time) bool

// ExcerptStats counts what an excerpt read and kept.
type ExcerptStats struct {
	Lines     int64 `json:"lines_read"`
	Messages  int64 `json:"messages"`
	Kept      int64 `json:"messages_kept"`
	KeptLines int64 `json:"lines_kept"`
	// Untimed counts messages with no receive time: they cannot be placed
	// in the period, so they are left out.
	Untimed int64 `json:"untimed"`
	// TooLong counts lines over the AIS reader's limit (skipped by it too).
	TooLong int64 `json:"too_long,omitempty"`
}

// maxFragGroups bounds the multi-sentence messages followed at once.
const maxFragGroups = 4096

// Excerpt copies from NMEA text (already decompressed) the lines of the
// messages keep selects, byte for byte as received: a multi-sentence
// message with all its sentences, each with its tag block or epoch field,
// and the $PGHP line that stamps a sentence with it. Lines are written in
// the order read. The same decoder as ingest reads each line, so the
// messages kept are exactly the ones Tidewatch decoded.
func Excerpt(r io.Reader, keep Keep, w io.Writer) (ExcerptStats, error) {
	var st ExcerptStats
	br := bufio.NewReaderSize(r, 64<<10)
	dec := ais.NewDecoder()
	var m ais.Message
	frags := map[string][][]byte{}
	var pghp []byte
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull || len(line) > ais.MaxLine {
			st.Lines++
			st.TooLong++
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && err != io.EOF {
				return st, err
			}
			if err == io.EOF {
				break
			}
			continue
		}
		if len(line) > 0 {
			st.Lines++
			raw := append([]byte(nil), line...)
			if len(raw) > 0 && raw[len(raw)-1] != '\n' {
				raw = append(raw, '\n') // the file's last line
			}
			h := parseHeader(line)
			complete := dec.Line(line, &m)
			switch {
			case h.pghp:
				pghp = raw
			case h.sentence:
				var group [][]byte
				if h.total > 1 {
					if h.num == 1 {
						if len(frags) >= maxFragGroups {
							frags = map[string][][]byte{}
						}
						first := [][]byte{}
						if pghp != nil {
							first = append(first, pghp)
						}
						frags[h.key] = append(first, raw)
					} else if f, ok := frags[h.key]; ok {
						frags[h.key] = append(f, raw)
					}
					if complete {
						group = frags[h.key]
						delete(frags, h.key)
					}
				} else if complete {
					if pghp != nil {
						group = append(group, pghp)
					}
					group = append(group, raw)
				}
				pghp = nil
				if complete {
					st.Messages++
					switch {
					case m.Time.IsZero():
						st.Untimed++
					case keep(m.MMSI, m.Time):
						st.Kept++
						for _, l := range group {
							if _, err := w.Write(l); err != nil {
								return st, err
							}
							st.KeptLines++
						}
					}
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// header is what the excerpt needs of a line: whether it is a $PGHP line
// or an AIS sentence, and for a sentence its fragment numbers and the key
// grouping its fragments (talker and kind, total, sequence id, channel,
// tag block group).
type header struct {
	pghp, sentence bool
	total, num     int
	key            string
}

func parseHeader(line []byte) header {
	var h header
	line = bytes.TrimSpace(line)
	group := ""
	if len(line) > 0 && line[0] == '\\' {
		end := bytes.IndexByte(line[1:], '\\')
		if end < 0 {
			return h
		}
		tb := line[1 : 1+end]
		if i := bytes.IndexByte(tb, '*'); i >= 0 {
			tb = tb[:i]
		}
		for _, f := range bytes.Split(tb, []byte(",")) {
			if bytes.HasPrefix(f, []byte("g:")) {
				parts := bytes.Split(f[2:], []byte("-"))
				group = string(parts[len(parts)-1])
			}
		}
		line = line[2+end:]
	}
	if len(line) > 0 && line[0] >= '0' && line[0] <= '9' {
		sp := bytes.IndexAny(line, " \t")
		if sp < 0 {
			return h
		}
		line = bytes.TrimLeft(line[sp:], " \t")
	}
	if bytes.HasPrefix(line, []byte("$PGHP,1,")) {
		h.pghp = true
		return h
	}
	if len(line) == 0 || line[0] != '!' {
		return h
	}
	f := bytes.SplitN(line, []byte(","), 6)
	if len(f) < 6 {
		return h
	}
	h.total, h.num = smallNum(f[1]), smallNum(f[2])
	if h.total < 1 || h.num < 1 {
		return h
	}
	h.sentence = true
	h.key = string(f[0]) + "|" + string(f[1]) + "|" + string(f[3]) + "|" + string(f[4]) + "|" + group
	return h
}

func smallNum(b []byte) int {
	if len(b) == 0 || len(b) > 2 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// ExcerptCSV copies from a decoded CSV export (MarineCadastre, DMA;
// already decompressed) its header and the rows keep selects, byte for
// byte as received, in the order read: what Excerpt does for NMEA. The
// same reader as ingest reads each row, so the rows kept are exactly the
// ones Tidewatch decoded; a row keep is asked about by its position
// report (its static report, when it yields one, has the same MMSI and
// time). Nothing is written when no row is kept. Stats count rows as
// lines (the header one of them) and the messages the rows yield.
func ExcerptCSV(text []byte, keep Keep, w io.Writer) (ExcerptStats, error) {
	var st ExcerptStats
	cr, err := ais.NewCSVReader(bytes.NewReader(text))
	if err != nil {
		return st, err
	}
	st.Lines++
	header := text[:cr.Offset()]
	var msgs []ais.Message
	prev := cr.Offset()
	for {
		var end int64
		msgs, end, err = cr.NextRow(msgs[:0])
		if err == io.EOF {
			return st, nil
		}
		if err != nil {
			return st, err
		}
		row := text[prev:end]
		prev = end
		if len(row) == 0 {
			continue
		}
		st.Lines++
		st.Messages += int64(len(msgs))
		if len(msgs) == 0 {
			continue
		}
		m := &msgs[0]
		switch {
		case m.Time.IsZero():
			st.Untimed += int64(len(msgs))
			continue
		case !keep(m.MMSI, m.Time):
			continue
		}
		if st.KeptLines == 0 {
			if err := writeLine(w, header); err != nil {
				return st, err
			}
			st.KeptLines++
		}
		if err := writeLine(w, row); err != nil {
			return st, err
		}
		st.Kept += int64(len(msgs))
		st.KeptLines++
	}
}

// writeLine writes a line, ending it with a newline when the input's last
// line had none.
func writeLine(w io.Writer, line []byte) error {
	if _, err := w.Write(line); err != nil {
		return err
	}
	if len(line) > 0 && line[len(line)-1] != '\n' {
		_, err := w.Write([]byte{'\n'})
		return err
	}
	return nil
}
