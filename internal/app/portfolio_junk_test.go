package app_test

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/internal/app"
)

// TestPortfolioJunkErrorShort: a portfolio file of binary junk is refused
// in a short message that says it is not text, not one quoting some 800
// bytes of the junk as its "header" (found by a tester); a text header
// that names no imo or mmsi column is quoted, clipped.
func TestPortfolioJunkErrorShort(t *testing.T) {
	junk := make([]byte, 1200)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range junk {
		junk[i] = byte(r.Uint32())
	}
	for i, b := range junk {
		if b == '\n' || b == '\r' {
			junk[i] = 'x' // one long "header line"
		}
	}
	_, _, _, err := app.ReadPortfolio(bytes.NewReader(junk), "junk.csv", false)
	if err == nil || len(err.Error()) > 300 || !strings.Contains(err.Error(), "not text") {
		t.Errorf("binary junk: %d bytes: %.400q", len(err.Error()), err)
	}
	long := strings.Repeat("colour,", 100) + "\nred\n"
	_, _, _, err = app.ReadPortfolio(strings.NewReader(long), "wide.csv", false)
	if err == nil || len(err.Error()) > 300 || !strings.Contains(err.Error(), "it has colour, colour") || !strings.Contains(err.Error(), "...") {
		t.Errorf("a wide header: %v", err)
	}
}
