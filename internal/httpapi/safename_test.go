package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
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

// TestUploadNameControlCharacters: a file name holding a NUL, another
// control character, a bidirectional override or bytes that are not
// UTF-8 is a 400 saying so on every route that takes one (a NUL was a
// 500: the upload's file could not be created), and changes nothing.
func TestUploadNameControlCharacters(t *testing.T) {
	e := env(t)
	uploads := t.TempDir()
	ts := startServer(t, Options{UploadDir: uploads})
	op := e.key(tenantOp, app.RoleAnalyst)
	an := e.key(tenantA, app.RoleAnalyst)
	if r := ts.call(t, "POST", "/v1/portfolios", an, PortfolioRequest{ID: "names", Name: "Names"}); r.status != http.StatusCreated {
		t.Fatalf("create portfolio: %s", r)
	}
	routes := []struct{ method, path, key, body string }{
		{"POST", "/v1/ingest?name=", op, "!AIVDM,1,1,,A,15MgK45P3@G?fl0E`JbR0OwT0@MS,0*4E\n"},
		{"POST", "/v1/lists/import?name=", op, "<xml/>"},
		{"POST", "/v1/screen/jobs?name=", op, screenCSV},
		{"POST", "/v1/ledger/records/import?name=", op, "period_start,period_end,supplier,quantity,unit,source\n2025-05-01,2025-05-31,Russia,100,t,https://example.org/may\n"},
		{"PUT", "/v1/portfolios/names/file?name=", an, "id,imo,name\nfirst,9417115,KOTI\n"},
	}
	for _, name := range []string{"a\x00b.csv", "a\nb.csv", "a\x1b[31m.csv", "a\x7f.csv", "a\u0085.csv", "\u202evsc.exe", "a\xffb.csv"} {
		for _, rt := range routes {
			what := rt.method + " " + rt.path + fmt.Sprintf("%q", name)
			unchanged(t, what, func() {
				r := ts.call(t, rt.method, rt.path+url.QueryEscape(name), rt.key, rt.body)
				checkBadAnswer(t, what, r, 400, app.CodeInvalid, "control character")
			})
		}
	}
	if ents, _ := os.ReadDir(uploads); len(ents) != 0 {
		t.Errorf("refused uploads left %d entries in the upload directory", len(ents))
	}
}
