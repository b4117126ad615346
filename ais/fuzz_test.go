package ais

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/termtext"
)

// FuzzDecoderLine feeds arbitrary lines (several per input, split on
// newlines, so multi-sentence state is exercised) to one Decoder. It must
// not panic, must keep its pending state bounded, and every message it
// returns must serialise to valid JSON.
func FuzzDecoderLine(f *testing.F) {
	for _, s := range []string{
		feedLine,
		`\g:1-2-3985,s:rEV02,c:1334337317*2D\!AIVDM,2,1,9,B,58KvN<42ACikUKW77F1H4hF0<PTp622222222216` + "`0`" + `cF5BF0RT13H0T,0*70` + "\n" + `\g:2-2-3985*5A\!AIVDM,2,2,9,B,PFRC88888888880,2*29`,
		"$PGHP,1,2013,11,12,12,0,0,11,219,,2190067,1,62*26\n!BSVDM,1,1,,A,13@:`L001N0ded0O6Fp8wW<00<0t,0*62",
		"1550303566167726840 !AIVDM,1,1,,B,10bb7q@P0lPGHlVMhbl0Qgw>2>`<,0*7F",
		"!AIVDM,1,1,,B,15Mq4J0P01EREODRv4@74gv00HRq,0*72,b003669970,1272412824",
		"!AIVDM,1,1,,A,E>jHC=c6:W2h22R`@1:WdP00000Opa@H?KTcP10888e?N0,4*0A",
		"!AIVDM,1,1,,A,H>jHC=c6:W2h22R`@1:WdP00000Opa@H?KTcP10888e?N0,4*0A",
		"!AIVDM,1,1,,B,KC5E2b@U19PFdLbL,0*29",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder()
		d.MaxPending = 8
		var m Message
		var buf []byte
		for _, line := range bytes.Split(b, []byte("\n")) {
			if d.Line(line, &m) {
				buf = AppendJSON(buf[:0], &m)
				if !json.Valid(buf) {
					t.Fatalf("invalid JSON %s", buf)
				}
			}
			if d.Pending() > 8 {
				t.Fatalf("pending %d", d.Pending())
			}
		}
	})
}

// FuzzPayload decodes arbitrary armoured payloads with every fill.
func FuzzPayload(f *testing.F) {
	f.Add([]byte("15Mq4J0P01EREODRv4@74gv00HRq"), 0)
	f.Add([]byte("58KvN<42ACikUKW77F1H4hF0<PTp622222222216`0`cF5BF0RT13H0TPFRC88888888880"), 2)
	f.Add([]byte("H>jHC=c6:W2h22R`@1:WdP00000Opa@H?KTcP10888e?N0"), 4)
	f.Fuzz(func(t *testing.T, p []byte, fill int) {
		var bb bitBuf
		if bb.appendArmoured(p, fill) != nil {
			return
		}
		var m Message
		if m.decode(&bb) == nil {
			if !json.Valid(AppendJSON(nil, &m)) {
				t.Fatal("invalid JSON")
			}
			if m.MMSI > 1<<30 {
				t.Fatal("mmsi out of range")
			}
		}
	})
}

// FuzzParseMarineCadastreTime: the fast timestamp reader gives what
// time.Parse gives, time and error alike, for any string.
func FuzzParseMarineCadastreTime(f *testing.F) {
	for _, s := range []string{"2022-01-03T00:00:00", "2020-02-29T23:59:59", "2021-02-29T00:00:00", "2022-01-03 00:00:00", "", "9999-12-31T23:59:59"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gotErr := parseMarineCadastreTime(s)
		want, wantErr := time.Parse("2006-01-02T15:04:05", s)
		if (gotErr == nil) != (wantErr == nil) || !got.Equal(want) {
			t.Fatalf("%q: got %v, %v; time.Parse %v, %v", s, got, gotErr, want, wantErr)
		}
	})
}

// FuzzFeedFraming serves arbitrary bytes to a TCP feed over several
// connections, cut at arbitrary points. The feed must yield exactly what
// one decoder yields from the same bytes with a newline ending each
// connection's partial last line (a line never joins the next
// connection's), and count every connection and byte.
func FuzzFeedFraming(f *testing.F) {
	f.Add([]byte(feedLine+feedLine+feedLine), uint64(1))
	f.Add([]byte(`\g:1-2-3985,s:rEV02,c:1334337317*2D\!AIVDM,2,1,9,B,58KvN<42ACikUKW77F1H4hF0<PTp622222222216`+"`0`"+`cF5BF0RT13H0T,0*70`+"\n"+`\g:2-2-3985*5A\!AIVDM,2,2,9,B,PFRC88888888880,2*29`+"\n"), uint64(7))
	f.Add([]byte("garbage\x00\xff\n"+feedLine[:30]+"\n"+feedLine), uint64(3))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		if len(data) > 1<<16 {
			return
		}
		// Cut data into 1-5 connections.
		rnd := rand.New(rand.NewPCG(seed, seed>>7))
		var cuts []int
		for range rnd.IntN(5) {
			cuts = append(cuts, rnd.IntN(len(data)+1))
		}
		slices.Sort(cuts)
		var sessions [][]byte
		prev := 0
		for _, c := range append(cuts, len(data)) {
			sessions = append(sessions, data[prev:c])
			prev = c
		}
		var joined []byte
		for _, s := range sessions {
			joined = append(joined, s...)
			if len(s) > 0 && s[len(s)-1] != '\n' {
				joined = append(joined, '\n')
			}
		}
		want, wantDec := decodeAll(t, joined)

		feed, err := OpenFeed(context.Background(), "tcp://fuzz", FeedOptions{MinBackoff: time.Nanosecond, MaxBackoff: time.Nanosecond, IdleTimeout: -1})
		if err != nil {
			t.Fatal(err)
		}
		next := 0
		feed.tcp.dial = func(ctx context.Context) (net.Conn, error) {
			if next == len(sessions) {
				feed.Close()
				return nil, errors.New("no more sessions")
			}
			client, server := net.Pipe()
			go func(b []byte) {
				server.Write(b)
				server.Close()
			}(sessions[next])
			next++
			return client, nil
		}
		var got []Message
		var m Message
		for {
			err := feed.Next(&m)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, m)
		}
		if len(got) != len(want) {
			t.Fatalf("%d messages from the feed, %d from the bytes", len(got), len(want))
		}
		for i := range got {
			g, w := got[i], want[i]
			if w.Time.IsZero() {
				g.Time = w.Time // the feed stamps arrival
			}
			if !bytes.Equal(AppendJSON(nil, &g), AppendJSON(nil, &w)) {
				t.Fatalf("message %d: %s, want %s", i, AppendJSON(nil, &g), AppendJSON(nil, &w))
			}
		}
		st := feed.Stats()
		if st.Lines != wantDec.Stats.Lines || st.Errors != wantDec.Stats.Errors {
			t.Fatalf("stats %d %v, want %d %v", st.Lines, st.ErrorsByName(), wantDec.Stats.Lines, wantDec.Stats.ErrorsByName())
		}
		h := feed.Health()
		if h.Connects != int64(len(sessions)) || h.Disconnects != h.Connects || h.Errors.Closed != h.Connects || h.Bytes != int64(len(data)) || h.Messages != int64(len(want)) || h.State != FeedStopped {
			t.Fatalf("health %+v for %d connections of %d bytes", h, len(sessions), len(data))
		}
	})
}

// FuzzCSVReader reads arbitrary rows under each known header: no panic,
// every message a valid JSON line safe to print, counts that add up.
func FuzzCSVReader(f *testing.F) {
	f.Add([]byte("366000001,2022-01-03T00:00:00,33.6,-117.9,0,280,511,\"EAGLE\",IMO8207721,WTD4583,31,0,28,11,3.3,52,A\n"), false)
	f.Add([]byte("338148873,\"2022-01-03T00:00:00\",33.60716,-117.91483,0,280,511,\"CAZADOR\",\"\",\"\",37,NA,14,NA,NA,NA,\"B\"\n"), false)
	f.Add([]byte("10/06/2021 00:00:00,Class A,219000001,55.5,10.5,Under way using engine,0,10.1,200.5,201,9138424,OXMS2,NORDIC HANNE,Tanker,,100,20,Undefined,Undefined,8.1,Undefined,AARHUS,10/06/2021 12:00:00,GPS,,,\n"), true)
	f.Add([]byte("\"unclosed,1,2\n3,4\n"), true)
	headers := [2]string{
		"MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass\n",
		"# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length,Type of position fixing device,Draught,Destination,ETA,Data source type,A,B,C,D\n",
	}
	f.Fuzz(func(t *testing.T, rows []byte, dma bool) {
		h := headers[0]
		if dma {
			h = headers[1]
		}
		src, err := detect(io.MultiReader(strings.NewReader(h), bytes.NewReader(rows)), "")
		if err != nil {
			t.Fatal(err)
		}
		var m Message
		var buf []byte
		for {
			err := src.Next(&m)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			buf = AppendJSON(buf[:0], &m)
			if !json.Valid(buf) || !termtext.IsSafe(string(buf)) {
				t.Fatalf("JSON %q", buf)
			}
		}
		st := src.Stats()
		var byType int64
		for _, n := range st.ByType {
			byType += n
		}
		if byType != st.Messages || st.Lines > int64(bytes.Count(rows, []byte("\n"))+1) {
			t.Fatalf("counts: %d messages, %d by type, %d lines", st.Messages, byType, st.Lines)
		}
	})
}

// FuzzJSONText writes arbitrary text fields: the JSON is valid, safe to
// print, and decodes to what encoding/json makes of the same text.
func FuzzJSONText(f *testing.F) {
	for _, s := range hostileText {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := Message{Type: 5, MMSI: 1, ShipName: s, CallSign: s, Destination: s, Source: s}
		b := AppendJSON(nil, &m)
		if !json.Valid(b) || !termtext.IsSafe(string(b)) {
			t.Fatalf("%q: %q", s, b)
		}
		var o struct{ Shipname, Callsign, Destination, Source string }
		if err := json.Unmarshal(b, &o); err != nil {
			t.Fatal(err)
		}
		want := stdlibRoundTrip(s)
		if o.Shipname != want || o.Callsign != want || o.Destination != want || o.Source != want {
			t.Fatalf("%q decodes to %q, want %q", s, o.Shipname, want)
		}
	})
}
