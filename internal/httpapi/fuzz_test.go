package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/identity"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/batchfile"
	"github.com/tidewatch/tidewatch/internal/termtext"
)

// The request decoders, fuzzed: go test -fuzz=FuzzX ./internal/httpapi.
// Without -fuzz the seeds below and the kept inputs under
// testdata/fuzz/FuzzX run as regression tests. The property everywhere:
// no panic, and every refusal is a 4xx the server answers as a JSON
// error with its code.

// parserServer is a server over a service without a store: enough for
// the route table and the parsers, which touch no storage.
func parserServer() *Server {
	return New(app.New(app.Config{}), Options{AuthFailures: -1})
}

// statusOfError is the status and code the server answers an error with.
func statusOfError(t *testing.T, s *Server, err error) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.writeError(rec, httptest.NewRequest("GET", "/", nil), err)
	var e Error
	if jerr := json.Unmarshal(rec.Body.Bytes(), &e); jerr != nil {
		t.Fatalf("error answer is not JSON: %q", rec.Body.String())
	}
	return rec.Code, e.Error.Code
}

func want4xx(t *testing.T, s *Server, what string, err error) {
	t.Helper()
	status, code := statusOfError(t, s, err)
	if status < 400 || status > 499 || code == "" {
		t.Fatalf("%s: %v answered %d %q, want a 4xx with a code", what, err, status, code)
	}
}

// FuzzDecodeJSON decodes arbitrary bodies into every route's request
// type: a refusal is 400 or 413, and what is accepted is one valid JSON
// object and nothing more.
func FuzzDecodeJSON(f *testing.F) {
	s := parserServer()
	var types []reflect.Type
	for _, rt := range s.routes {
		if rt.body != nil {
			types = append(types, rt.body)
		}
	}
	if len(types) == 0 {
		f.Fatal("no route takes a JSON body")
	}
	for i := range types {
		v := reflect.New(types[i])
		b, _ := json.Marshal(v.Interface())
		f.Add(uint8(i), b)
		f.Add(uint8(i), append(b, " {}"...))
	}
	for _, seed := range []string{`{"name":"CHON MA SAN","imo":"8660313"}`, `{"queries":[{"name":"x"},{"imo":"IMO 8660313"}],"threshold":0.8}`,
		`{"decision":"accept","reason":"r","override_reason":"o"}`, `{"approve":true}`, `{"four_eyes":null}`, `{"name":"k","role":"viewer","ttl":"90d"}`,
		`null`, `[]`, `{"name":"\ud800"}`, `{"limit":1e400}`, `{"NAME":"x","name":"y"}`, "\xef\xbb\xbf{}", `{"queries":[` + strings.Repeat("[", 300)} {
		for i := range types {
			f.Add(uint8(i), []byte(seed))
		}
	}
	const limit = 1 << 16
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		typ := types[int(which)%len(types)]
		v := reflect.New(typ).Interface()
		err := decodeJSON(http.MaxBytesReader(nil, io.NopCloser(bytes.NewReader(data)), limit), v)
		if err != nil {
			status, _ := statusOfError(t, s, err)
			if status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge {
				t.Fatalf("%s %q: %v answered %d", typ, data, err, status)
			}
			if status == http.StatusRequestEntityTooLarge && len(data) <= limit {
				t.Fatalf("%s: %d bytes answered 413 under a %d limit", typ, len(data), limit)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("%s: accepted %q, which is not one JSON value", typ, data)
		}
		if c := bytes.TrimLeft(data, " \t\r\n"); len(c) == 0 || c[0] != '{' {
			t.Fatalf("%s: accepted %q, which is not an object", typ, data)
		}
	})
}

// FuzzKeyParser sends arbitrary key text in each of the places a key
// may be: whatever it is, the answer is 401 unauthenticated.
func FuzzKeyParser(f *testing.F) {
	e := env(f)
	s := New(e.svc, Options{AuthFailures: -1})
	good := e.key(tenantA, app.RoleViewer)
	for _, seed := range []string{"", "tw_", "tw__", "tw_" + strings.Repeat("0", 12) + "_" + strings.Repeat("a", 32), good[:len(good)-1] + "x",
		strings.ToUpper(good), " " + good[:20], "tw_" + e.keyIDs[tenantA][app.RoleViewer] + "_", "Bearer tw_x", "tw_\x00\x00_", "tw_é"} {
		f.Add(uint8(0), seed)
		f.Add(uint8(1), seed)
		f.Add(uint8(2), seed)
	}
	f.Fuzz(func(t *testing.T, where uint8, text string) {
		r := &http.Request{Header: http.Header{}, URL: &url.URL{Path: "/v1/whoami"}}
		r = r.WithContext(t.Context())
		switch where % 4 {
		case 0:
			r.Header.Set("Authorization", "Bearer "+text)
		case 1:
			r.Header.Set("X-API-Key", text)
		case 2:
			r.Header.Set("Authorization", "ApiKey "+text)
		case 3:
			r.Header.Set("Authorization", text)
		}
		p, err := s.principal(r)
		if err == nil {
			for _, k := range e.allKeys() {
				if strings.TrimSpace(text) == k {
					return
				}
			}
			t.Fatalf("%q authenticated as %+v", text, p)
		}
		status, code := statusOfError(t, s, err)
		if status != http.StatusUnauthorized || code != string(app.CodeUnauthenticated) {
			t.Fatalf("%q: %v answered %d %s", text, err, status, code)
		}
	})
}

// FuzzParseBBox: a box is four finite numbers or a 400.
func FuzzParseBBox(f *testing.F) {
	s := parserServer()
	for _, seed := range []string{"37,123,39,125", "1,2,3", "NaN,0,1,1", "0,0,1,Inf", " 1 , 2 , 3 , 4 ", "1e308,1e309,0,0", "0x1p-2,0,1,1", ",,,", "-90,-180,90,180"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		b, err := parseBBox(in)
		if err != nil {
			want4xx(t, s, "bbox "+in, err)
			return
		}
		for _, v := range []float64{b.South, b.West, b.North, b.East} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("bbox %q: %+v", in, b)
			}
		}
	})
}

// FuzzTimeParam: a time is a date or RFC 3339 time from 1990 to 2200, or
// a 400.
func FuzzTimeParam(f *testing.F) {
	s := parserServer()
	for _, seed := range []string{"2026-03-01", "2026-03-01T12:00:00Z", "2026-03-01T12:00:00+14:00", "1989-12-31", "2200-12-31T23:59:59-12:00",
		"2026-02-30", "9999-12-31T23:59:59Z", "2026-03-01T24:00:00Z", "0000-01-01", "2026-3-1", "c:9999999999"} {
		f.Add("from", seed)
		f.Add("as_of", seed)
	}
	f.Fuzz(func(t *testing.T, name, v string) {
		r := &http.Request{URL: &url.URL{RawQuery: url.Values{name: {v}}.Encode()}}
		tm, err := timeParam(r, name)
		if err != nil {
			want4xx(t, s, name+"="+v, err)
			return
		}
		if v == "" {
			if !tm.IsZero() {
				t.Fatalf("empty %s: %v", name, tm)
			}
			return
		}
		if tm.Year() < 1990 || tm.Year() > 2200 || tm.Location() != time.UTC {
			t.Fatalf("%s=%q: %v", name, v, tm)
		}
	})
}

// FuzzParseSpan: a span is positive, at most a century, and reads back
// from its own text; anything else is an error.
func FuzzParseSpan(f *testing.F) {
	for _, seed := range []string{"12m", "90d", "2y", "1y6m", "720h", "1000y", "0d", "-5d", "292y", "100y", "1y1h", "999999d", "1w", "1h1m", "9223372036854775807ns", "1.5h", "12M"} {
		f.Add(seed)
	}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, in string) {
		sp, err := app.ParseSpan(in)
		if err != nil {
			return
		}
		before, after := sp.Before(t0), sp.After(t0)
		if !before.Before(t0) || !after.After(t0) {
			t.Fatalf("%q: %v is not positive (before %v, after %v)", in, sp, before, after)
		}
		if before.Before(t0.AddDate(-app.MaxSpanYears-1, 0, 0)) || after.After(t0.AddDate(app.MaxSpanYears+1, 0, 0)) {
			t.Fatalf("%q: %v is longer than %d years", in, sp, app.MaxSpanYears)
		}
		again, err := app.ParseSpan(sp.String())
		if err != nil || again != sp {
			t.Fatalf("%q: %v reads back from %q as %v, %v", in, sp, sp.String(), again, err)
		}
	})
}

// FuzzParseVessel: a vessel is an IMO number with its check digit, a
// 9-digit MMSI or "mmsi:" and any MMSI as broadcast, or a 400.
func FuzzParseVessel(f *testing.F) {
	s := parserServer()
	for _, seed := range []string{"9300207", "IMO 9300207", "imo:9300207", "mmsi:445000101", "445000101", "1234568", "000000000", "0000000", "+123456", "mmsi:12345", "IMO", " 9300207 ", "4294967296"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		q, err := app.ParseVessel(in)
		if err != nil {
			want4xx(t, s, "vessel "+in, err)
			return
		}
		switch {
		case q.IMO != 0 && q.MMSI == 0:
			if q.IMO < 1000000 || q.IMO > 9999999 || !identity.ValidShipIMO(int(q.IMO)) {
				t.Fatalf("%q: IMO %d", in, q.IMO)
			}
		case q.MMSI != 0 && q.IMO == 0:
			// A bare number is a station's; "mmsi:" takes any as broadcast.
			explicit := strings.HasPrefix(strings.ToLower(strings.TrimSpace(in)), "mmsi:")
			if q.MMSI > 999999999 || (!explicit && q.MMSI < 1000000) {
				t.Fatalf("%q: MMSI %d", in, q.MMSI)
			}
		default:
			t.Fatalf("%q: %+v", in, q)
		}
	})
}

// FuzzProfileRequest reads a profile's path and query as the route does:
// a 400 or a request within every bound.
func FuzzProfileRequest(f *testing.F) {
	s := parserServer()
	f.Add("9300207", "as_of=2026-03-04&window=3d")
	f.Add("445000101", "as_of=2026-03-04T00:00:00Z&window=12m&owner=X&built=1999")
	f.Add("9300207", "window=1000y")
	f.Add("9300207", "built=1849&as_of=2201-01-01")
	f.Add("9300207", "owner="+strings.Repeat("x", 1001))
	f.Add("9300207", "window=%zz")
	f.Fuzz(func(t *testing.T, vessel, rawQuery string) {
		r := &http.Request{URL: &url.URL{RawQuery: rawQuery}}
		r.SetPathValue("vessel", vessel)
		req, err := profileRequest(r)
		if err != nil {
			want4xx(t, s, "profile "+vessel+"?"+rawQuery, err)
			return
		}
		if req.Vessel.IMO == 0 && req.Vessel.MMSI == 0 {
			t.Fatalf("%q: no vessel", vessel)
		}
		if !req.AsOf.IsZero() && (req.AsOf.Year() < 1990 || req.AsOf.Year() > 2200) {
			t.Fatalf("as_of %v", req.AsOf)
		}
		if req.Built != 0 && (req.Built < 1850 || req.Built > 2200) {
			t.Fatalf("built %d", req.Built)
		}
		if !req.Window.IsZero() {
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			if b := req.Window.Before(t0); !b.Before(t0) || b.Before(t0.AddDate(-app.MaxSpanYears-1, 0, 0)) {
				t.Fatalf("window %v", req.Window)
			}
		}
		for _, n := range []string{req.Owner, req.Manager, req.Operator} {
			if len(n) > 1000 {
				t.Fatalf("a party name of %d bytes", len(n))
			}
		}
	})
}

// FuzzSafeName: an uploaded file's name never leaves the upload
// directory and holds no control character, or is a 400.
func FuzzSafeName(f *testing.F) {
	s := parserServer()
	for _, seed := range []string{"day.nmea.gz", "../../etc/passwd", `..\..\x`, ".hidden", "/", "", "a/b/c.csv", "tcp://host:1", "-", "\x00", "con.csv"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := safeName(in)
		if err != nil {
			want4xx(t, s, "name "+in, err)
			return
		}
		dir := "/srv/uploads/x"
		if p := filepath.Join(dir, n); filepath.Dir(p) != dir || strings.HasPrefix(n, ".") || n == "" || len(n) > 200 || !termtext.IsSafe(n) {
			t.Fatalf("%q -> %q -> %q", in, n, p)
		}
	})
}

// FuzzScreenCSV reads screening files as the jobs route does: rows that
// cannot be read become rows with an error, never a panic or a loss.
func FuzzScreenCSV(f *testing.F) {
	f.Add(screenCSV)
	f.Add("id,type,name,imo,mmsi,call_sign,flag\n1,vessel,\"KOTI,,,,\n2,vessel,X,,,,\n")
	f.Add("\ufeffID,Type,Name,IMO,MMSI,Call_Sign,Flag\r\n1,vessel,X\r\n")
	f.Add("id,name\n1,x\n")
	f.Fuzz(func(t *testing.T, in string) {
		qs, err := batchfile.Read(strings.NewReader(in), "f.csv")
		if err != nil {
			return
		}
		for _, q := range qs {
			if q.Row < 1 {
				t.Fatalf("a row numbered %d", q.Row)
			}
		}
	})
}
