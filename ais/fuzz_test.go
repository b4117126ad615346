package ais

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
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
