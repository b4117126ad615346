package httpapi

import (
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/internal/app"
)

// TestSafeNameMessages: an upload without a name says so (not `name
// "."`), and a long bad name is not echoed in full.
func TestSafeNameMessages(t *testing.T) {
	if _, err := safeName(""); err == nil || !strings.Contains(err.Error(), "no file name") || strings.Contains(err.Error(), `"."`) {
		t.Errorf("no name: %v", err)
	}
	long := "." + strings.Repeat("x", 5000)
	if _, err := safeName(long); err == nil || len(err.Error()) > 300 {
		t.Errorf("long name: %d bytes of error", len(err.Error()))
	}
}

// TestUploadNameExampleFitsTheRoute: a list import or a screening job
// refused for its name suggests a name of its kind, not an AIS log's.
func TestUploadNameExampleFitsTheRoute(t *testing.T) {
	ts := startServer(t, Options{})
	op := env(t).key(tenantOp, app.RoleAnalyst)
	for path, want := range map[string]string{
		"/v1/lists/import":         "?name=un_consolidated_2026-02-27.xml",
		"/v1/lists/import?name=.x": "e.g. un_consolidated_2026-02-27.xml",
		"/v1/screen/jobs?name=.x":  "e.g. portfolio.csv",
		"/v1/ingest":               "?name=day.nmea.gz",
	} {
		r := ts.call(t, "POST", path, op, "x")
		checkBadAnswer(t, path, r, 400, app.CodeInvalid, want)
	}
}
