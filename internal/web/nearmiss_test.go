package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The screening page shows a listed ship's exact name with another valid
// IMO as a near miss, not a match (before: "No match in the lists in
// force." alone), and a screening job lists the row and counts it.
func TestScreenPageNearMiss(t *testing.T) {
	f := getFixture(t)
	c := newClient(t, f)
	c.login("local", "viewer", password)
	const msg = "name of listed vessel CHON MA SAN (ofac-sdn:23729), IMO differs: query 9811000, listed 8660313"
	resp, body := c.post("/screen", url.Values{"csrf": {c.csrf}, "type": {"vessel"}, "name": {"CHON MA SAN"}, "imo": {"9811000"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("screen: %d", resp.StatusCode)
	}
	page := html.UnescapeString(body)
	if !strings.Contains(page, `class="warn near-miss"`) || !strings.Contains(page, "Near miss, not a match: review.</b> "+msg) ||
		!strings.Contains(page, `id="no-match"`) || strings.Contains(page, "is-match") {
		t.Errorf("the page lacks the near miss:\n%s", page[strings.Index(page, `id="results"`):])
	}

	resp, _ = c.upload("/screen/jobs", "fleet.csv", []byte("imo,name\n9811000,CHON MA SAN\n1234567,NOBODY AT ALL\n"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	var job string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, job = c.get(loc)
		if strings.Contains(job, `id="job-summary"`) {
			break
		}
	}
	job = html.UnescapeString(job)
	if !strings.Contains(job, "<b>1</b> with a near miss") || !strings.Contains(job, "Near miss, not a match: "+msg) {
		t.Errorf("the job page lacks the near miss:\n%s", job)
	}
}
