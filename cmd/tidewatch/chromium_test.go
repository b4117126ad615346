package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromium finds Debian's headless browser. With CI set (as .ci/run
// does, after installing it) a missing browser fails the test instead of
// skipping it.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium not installed (.ci/run installs Debian's chromium)")
	}
	t.Skip("chromium not installed")
	return ""
}

// checkReportInChromium loads a report in headless Chromium and checks
// the page it rendered: it loaded, made no network request and logged no
// error, and the map, timeline and tables are there with the expected
// recommendation and factors.
func checkReportInChromium(t *testing.T, path, recommendation string, factors []string) {
	t.Helper()
	bin := chromium(t)
	html, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Self-contained: no reference to anything outside the file.
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`).Find(html); m != nil {
		t.Errorf("%s refers outside itself: %s", path, m)
	}
	profile := t.TempDir()
	run := func(args ...string) (string, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		base := []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=" + profile,
			"--enable-logging=stderr", "--v=0"}
		cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
		}
		return out.String(), errb.String()
	}
	url := "file://" + path
	dom, logs := run("--dump-dom", url)
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "CONSOLE") && strings.Contains(strings.ToLower(line), "error") {
			t.Errorf("console error: %s", line)
		}
		if strings.Contains(line, "net::ERR") || strings.Contains(line, "Refused to") {
			t.Errorf("load error: %s", line)
		}
	}
	for _, want := range []string{`id="map-svg"`, `class="track"`, `id="timeline-svg"`, `id="factors"`, `id="identity"`,
		`id="list-hits"`, `id="lists"`, `id="events"`, `id="coverage"`, `id="decisions"`, `id="config-hash"`,
		`id="recommendation"`, `class="land"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("%s: rendered page lacks %s", filepath.Base(path), want)
		}
	}
	if !regexp.MustCompile(`id="recommendation"[^>]*>` + recommendation + `<`).MatchString(dom) {
		t.Errorf("%s: recommendation is not %s", filepath.Base(path), recommendation)
	}
	for _, f := range factors {
		if !strings.Contains(dom, `id="factor-`+f+`"`) {
			t.Errorf("%s: factor %s missing", filepath.Base(path), f)
		}
	}
	if factors == nil && !strings.Contains(dom, `id="no-factors"`) {
		t.Errorf("%s: a clean vessel's report should say it found no factor", filepath.Base(path))
	}
	// It prints to PDF, as an underwriter files it.
	pdf := filepath.Join(t.TempDir(), "report.pdf")
	run("--no-pdf-header-footer", "--print-to-pdf="+pdf, url)
	if b, err := os.ReadFile(pdf); err != nil || len(b) < 20000 || !bytes.HasPrefix(b, []byte("%PDF")) {
		t.Errorf("PDF of %s: %v (%d bytes)", filepath.Base(path), err, len(b))
	}
	// And it paints: a screenshot with real content.
	shot := filepath.Join(t.TempDir(), "report.png")
	run("--window-size=1000,2600", "--screenshot="+shot, url)
	fi, err := os.Stat(shot)
	if err != nil {
		t.Fatalf("screenshot of %s: %v", path, err)
	}
	if fi.Size() < 50000 {
		t.Errorf("screenshot of %s: only %d bytes", path, fi.Size())
	}
}
