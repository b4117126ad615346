package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/internal/app"
)

// TestScreenJobNotXLSX: a screening file sent as XLSX (by its name or its
// media type) that is not one is refused saying so, not read as a CSV
// whose header is binary junk; the same text sent as CSV is screened.
func TestScreenJobNotXLSX(t *testing.T) {
	ts := startServer(t, Options{})
	key := env(t).key(tenantA, app.RoleViewer)
	const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	junk := "\x00\x17\x9a\xff\x03junk\x01\x02 more junk"
	for _, c := range []struct{ path, ctype, body, want string }{
		{"/v1/screen/jobs?name=book.xlsx", "application/octet-stream", junk, "book.xlsx: not an XLSX file: it is not a zip archive"},
		{"/v1/screen/jobs?name=book.XLSX", "text/csv", screenCSV, "book.XLSX: not an XLSX file: it is text (CSV?)"},
		{"/v1/screen/jobs?name=book", xlsxType, junk, "not an XLSX file"},
		{"/v1/screen/jobs?name=book.csv", xlsxType + "; charset=binary", screenCSV, "not an XLSX file: it is text (CSV?)"},
	} {
		r := ts.callHeaders(t, "POST", c.path, c.body, withType(authHeader(key), c.ctype))
		checkBadAnswer(t, c.path+" as "+c.ctype, r, 400, app.CodeInvalid, c.want)
	}
	if r := ts.callHeaders(t, "POST", "/v1/screen/jobs?name=book.csv", screenCSV, withType(authHeader(key), "text/csv")); r.status != http.StatusAccepted {
		t.Errorf("CSV as CSV: %s", r)
	}
}

// TestPortfolioFileNotXLSX: a portfolio file sent as XLSX (by its name or
// its media type) that is not one is refused saying so, and adds nothing;
// the same text sent as CSV is imported.
func TestPortfolioFileNotXLSX(t *testing.T) {
	ts := startServer(t, Options{})
	key := env(t).key(tenantA, app.RoleAnalyst)
	if r := ts.call(t, "POST", "/v1/portfolios", key, PortfolioRequest{ID: "xbook", Name: "X book"}); r.status != http.StatusCreated {
		t.Fatalf("create portfolio: %s", r)
	}
	const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	book := "id,imo,name\nfirst,9417115,KOTI\n"
	junk := "\x00\x17\x9a\xff\x03junk\x01\x02 more junk"
	for _, c := range []struct{ path, ctype, body, want string }{
		{"/v1/portfolios/xbook/file?name=book.xlsx", "application/octet-stream", junk, "not an XLSX file: it is not a zip archive"},
		{"/v1/portfolios/xbook/file?name=book.XLSX", "text/csv", book, "not an XLSX file: it is text (CSV?)"},
		{"/v1/portfolios/xbook/file?name=book", xlsxType, book, "not an XLSX file: it is text (CSV?)"},
	} {
		r := ts.callHeaders(t, "PUT", c.path, c.body, withType(authHeader(key), c.ctype))
		checkBadAnswer(t, c.path+" as "+c.ctype, r, 400, app.CodeInvalid, c.want)
	}
	if r := ts.call(t, "GET", "/v1/portfolios/xbook/fleet", key, nil); r.status != http.StatusOK || strings.Contains(string(r.body), "9417115") {
		t.Fatalf("after refused files the book holds: %s", r)
	}
	if r := ts.callHeaders(t, "PUT", "/v1/portfolios/xbook/file?name=book.csv", book, withType(authHeader(key), "text/csv")); r.status != http.StatusOK {
		t.Errorf("CSV as CSV: %s", r)
	}
}
