package app_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/internal/app"
)

// TestConcurrentIngestRefusedPlainly: a second ingest of the same inputs
// while the first writes is refused with a conflict that says why (not
// a database's "UNIQUE constraint failed" or SQLITE_BUSY), and the first
// finishes.
func TestConcurrentIngestRefusedPlainly(t *testing.T) {
	s, _ := seeded(t)
	gate := make(chan struct{})
	opened := make(chan struct{}, 1)
	nmea := []byte("!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24\n")
	in := ingest.Input{Name: "slow.nmea", ID: "slow-input", Open: func(ctx context.Context) (ais.Source, io.Closer, error) {
		opened <- struct{}{}
		<-gate
		r, err := ais.NewReader(bytes.NewReader(nmea))
		return r, io.NopCloser(nil), err
	}}
	first := make(chan error, 1)
	go func() {
		_, err := s.Ingest(ctx, local, app.IngestRequest{Inputs: []ingest.Input{in}})
		first <- err
	}()
	<-opened
	_, err := s.Ingest(ctx, local, app.IngestRequest{Inputs: []ingest.Input{in}})
	if app.CodeOf(err) != app.CodeConflict || !strings.Contains(err.Error(), "another ingest") {
		t.Errorf("a second ingest at once: %v", err)
	}
	close(gate)
	if err := <-first; err != nil {
		t.Errorf("the first ingest: %v", err)
	}
}
