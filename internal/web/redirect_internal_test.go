package web

import (
	"net/url"
	"strings"
	"testing"
)

// offSite are "next" values a browser would follow to another site (or
// run as script): a tab or newline in a URL is dropped by browsers, a
// backslash read as a slash.
var offSite = []string{
	"//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example", "/\n/evil.example",
	"/\r/evil.example", "/\t\n/evil.example", "/\x00/evil.example", "/\x7f/evil.example", "\t//evil.example", " //evil.example",
	"http://evil.example/", "https:evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x",
	"evil.example", "../evil", "/\\/evil.example", "/\u2028/evil.example", "/\x0b/evil.example", "/\x0c/evil.example",
}

func TestLocalPathRefusesOffSite(t *testing.T) {
	var cases []string
	for _, s := range offSite {
		cases = append(cases, s)
		// The same decoded from a query string (what the handler sees):
		// "/%09/evil.example" arrives as "/\t/evil.example".
		if d, err := url.QueryUnescape(url.QueryEscape(s)); err == nil && d != s {
			cases = append(cases, d)
		}
	}
	for _, enc := range []string{"/%09/evil.example", "/%0a/evil.example", "/%0D/evil.example", "/%5c/evil.example", "%2F%2Fevil.example", "/%00/x"} {
		d, err := url.QueryUnescape(enc)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, d)
	}
	for _, s := range cases {
		if got := localPath(s); got != "/" {
			t.Errorf("localPath(%q) = %q, want /", s, got)
		}
	}
}

func TestLocalPathKeepsLocal(t *testing.T) {
	for _, s := range []string{"/", "/alerts", "/vessels/9300207?tab=events#map", "/events?from=2026-01-01&q=a%2Fb"} {
		if got := localPath(s); got != s {
			t.Errorf("localPath(%q) = %q, want it kept", s, got)
		}
	}
	// Escaped slashes decode to "//": refused too (a proxy that decodes
	// the path would send the browser off).
	if got := localPath("/%2F%2Fevil.example"); got != "/" {
		t.Errorf("localPath(/%%2F%%2Fevil.example) = %q", got)
	}
	if got := localPath("/" + strings.Repeat("a", 5000)); got != "/" {
		t.Errorf("a 5,001-byte path kept")
	}
}

// FuzzLocalPath: whatever localPath keeps is a path on this site, as a
// browser reads it.
func FuzzLocalPath(f *testing.F) {
	for _, s := range offSite {
		f.Add(s)
	}
	f.Add("/alerts?x=1")
	f.Fuzz(func(t *testing.T, s string) {
		got := localPath(s)
		if got == "/" {
			return
		}
		// What a browser does first: strip leading/trailing C0 controls
		// and spaces, remove every tab and newline, read '\' as '/'.
		b := strings.Trim(got, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
		b = strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(b)
		if !strings.HasPrefix(b, "/") || strings.HasPrefix(b, "//") {
			t.Fatalf("localPath(%q) = %q: a browser reads %q", s, got, b)
		}
		u, err := url.Parse(b)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
			t.Fatalf("localPath(%q) = %q: parses as %+v (%v)", s, got, u, err)
		}
	})
}
