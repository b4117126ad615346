package ais

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// endless is a reader of n bytes of one letter, no newline: a CSV "file"
// of one line that would otherwise be read whole into memory.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	k := min(len(p), e.n)
	for i := range p[:k] {
		p[i] = 'a'
	}
	e.n -= k
	return k, nil
}

func TestCSVLineLimit(t *testing.T) {
	// A header line of 256 MiB: refused after MaxCSVLine bytes, not read.
	src := &endless{n: 256 << 20}
	_, err := NewCSVReader(io.MultiReader(strings.NewReader("mmsi,"), src))
	if !errors.Is(err, ErrCSVLineTooLong) {
		t.Fatalf("err %v, want ErrCSVLineTooLong", err)
	}
	if read := 256<<20 - src.n; read > 1<<20 {
		t.Errorf("read %d bytes of the endless line", read)
	}
	// A row past the limit stops the read with the same error.
	head := "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass\n"
	row := "367000001,2024-01-01T00:00:00,40.1,-70.2,10.0,90.0,90,SHIP,,,70,0,100,20,5,,A\n"
	r, err := NewCSVReader(strings.NewReader(head + row + "367000002," + strings.Repeat("x", MaxCSVLine) + "\n" + row))
	if err != nil {
		t.Fatal(err)
	}
	var m Message
	if err := r.Next(&m); err != nil {
		t.Fatalf("first row: %v", err)
	}
	for {
		err = r.Next(&m)
		if err != nil {
			break
		}
	}
	if !errors.Is(err, ErrCSVLineTooLong) {
		t.Errorf("long row: %v, want ErrCSVLineTooLong", err)
	}
	// An unknown header is quoted short.
	_, err = NewCSVReader(strings.NewReader(strings.Repeat("column,", 5000) + "\n"))
	if !errors.Is(err, ErrNotCSVExport) || len(err.Error()) > 400 {
		t.Errorf("unknown header: %d bytes: %.120v", len(err.Error()), err)
	}
}
