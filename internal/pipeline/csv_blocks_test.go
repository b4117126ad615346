package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/ais"
)

// TestPublishCSVManyVessels: a time-ordered national export (thousands of
// vessels reporting in turn, so a 256 KiB block holds some 2,500 vessels
// seen before) is published (JetStream refuses a message whose headers
// pass 64 KiB: the static memory of that many vessels is about 90 KiB),
// and its blocks, read as the workers read them, give what one reader of
// the whole file gives.
func TestPublishCSVManyVessels(t *testing.T) {
	const vessels, rounds = 3000, 4
	var b bytes.Buffer
	b.WriteString("MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass\n")
	t0 := time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC)
	for r := range rounds {
		for v := range vessels {
			at := t0.Add(time.Duration(r)*time.Minute + time.Duration(v)*10*time.Millisecond).Format("2006-01-02T15:04:05")
			fmt.Fprintf(&b, "%d,%s,30.%04d,-88.%04d,10.1,90,90,VESSEL %d,IMO%07d,CS%d,70,0,100,20,5.5,,A\n", 367000000+v, at, v, r, v, 9000000+v, v)
		}
	}
	data := b.Bytes()
	one, err := ais.NewCSVReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var want []ais.Message
	for {
		var m ais.Message
		if err := one.Next(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		want = append(want, m)
	}

	srv, err := StartEmbedded(t.TempDir(), "127.0.0.1", -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	nc, js, err := Connect(srv.URL(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx := context.Background()
	s, err := EnsureStream(ctx, js, "", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := (&Publisher{JS: js}).PublishCSV(ctx, "many", "many.csv", bytes.NewReader(data))
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	blocks, err := readRange(ctx, s, st.First, st.Last)
	if err != nil {
		t.Fatal(err)
	}
	src := &blockSource{blocks: blocks}
	var got []ais.Message
	for {
		var m ais.Message
		if err := src.Next(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if len(got) != len(want) || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%d blocks gave %d messages, one reader %d: not the same", len(blocks), len(got), len(want))
	}
}
