package pipeline_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/pipeline"
)

// TestPublishFileCommentHeader (B3): PublishFile reads what ingest
// reads: an NMEA log starting with more than 512 bytes of comment lines
// (gzipped or not; gpsd's sample) is published, not refused as "neither
// NMEA nor a MarineCadastre or DMA CSV export"; text still is, and so is
// a file of comments longer than the sniffing's bound.
func TestPublishFileCommentHeader(t *testing.T) {
	srv, err := pipeline.StartEmbedded(t.TempDir(), "127.0.0.1", -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	nc, js, err := pipeline.Connect(srv.URL(), "test-publisher")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx := context.Background()
	if _, err := pipeline.EnsureStream(ctx, js, "", pipeline.Limits{}); err != nil {
		t.Fatal(err)
	}
	p := &pipeline.Publisher{JS: js}
	var header strings.Builder
	for i := 1; i <= 12; i++ {
		header.WriteString("# a comment line of a receiver's log header, ......\n")
	}
	body := "\\c:1772323200*5B\\!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A\n\\c:1772323210*5A\\!AIVDM,1,1,,A,16SteH0P00Jt63hHaa6SagvJ087r,0*42\n"
	dir := t.TempDir()
	write := func(name, s string, gz bool) string {
		b := []byte(s)
		if gz {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(b)
			zw.Close()
			b = buf.Bytes()
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	files := map[string]string{
		"comments.nmea":    write("comments.nmea", header.String()+body, false),
		"comments.nmea.gz": write("comments.nmea.gz", header.String()+body, true),
	}
	if _, err := os.Stat("/work/shared/data/ais/gpsd_sample.aivdm"); err == nil {
		files["gpsd_sample.aivdm"] = "/work/shared/data/ais/gpsd_sample.aivdm"
	}
	for name, path := range files {
		st, err := p.PublishFile(ctx, path, "id-"+name)
		if err != nil || st.Messages == 0 {
			t.Errorf("%s: %+v %v", name, st, err)
		}
	}
	long := strings.Repeat("# a comment line of a receiver's log header, ......\n", 70<<10/52+1)
	for name, s := range map[string]string{"text.txt": "# notes\nnothing but text here\n", "long.nmea": long + body} {
		if _, err := p.PublishFile(ctx, write(name, s, false), "id-"+name); err == nil || !strings.Contains(err.Error(), "neither NMEA nor a MarineCadastre or DMA CSV export") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// An embedded server asked for a port another process holds says so at
// once, where it used to wait two minutes for a listener that had failed
// out of sight.
func TestEmbeddedPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	done := make(chan error, 1)
	go func() {
		_, err := pipeline.StartEmbedded(t.TempDir(), "127.0.0.1", port)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "cannot listen on 127.0.0.1:"+strconv.Itoa(port)) {
			t.Errorf("a taken port: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("no answer within a minute for a taken port")
	}
}
