// Package listupdate downloads sanctions lists from their publishers into
// temporary files, for the application to import (app.UpdateLists). A
// download that fails or comes back short is an error and leaves nothing.
package listupdate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/liststore"
	"github.com/tidewatch/tidewatch/sanctions"
)

// Source is where one list is published: one URL per file of the set.
type Source struct {
	List string   `json:"list"`
	URLs []string `json:"urls"`
}

const ofacExports = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/"

// DefaultSources: UN and OFAC at the publishers' own addresses; UK and EU
// at GitHub mirrors in the derived layouts Tidewatch parses (see
// docs/lists.md): the official UK XML and EU FSF files need parsers of
// their own.
func DefaultSources() []Source {
	return []Source{
		{List: "un", URLs: []string{"https://scsanctions.un.org/resources/xml/en/consolidated.xml"}},
		{List: "ofac-sdn", URLs: []string{ofacExports + "SDN.CSV", ofacExports + "ADD.CSV", ofacExports + "ALT.CSV", ofacExports + "SDN_COMMENTS.CSV"}},
		{List: "ofac-cons", URLs: []string{ofacExports + "CONS_PRIM.CSV", ofacExports + "CONS_ADD.CSV", ofacExports + "CONS_ALT.CSV", ofacExports + "CONS_COMMENTS.CSV"}},
		{List: "uk", URLs: []string{
			"https://raw.githubusercontent.com/covyr/uk-sanctions-list/main/subjects.csv",
			"https://raw.githubusercontent.com/covyr/uk-sanctions-list/main/subject_names.csv",
			"https://raw.githubusercontent.com/covyr/uk-sanctions-list/main/subject_identifiers.csv",
			"https://raw.githubusercontent.com/covyr/uk-sanctions-list/main/subject_dobs.csv",
		}},
		{List: "eu", URLs: []string{"https://raw.githubusercontent.com/opensanctions/opensanctions/main/datasets/eu/journal_sanctions/data/consolidated/32017R1509.csv"}},
	}
}

// Config is the update configuration file (JSON).
type Config struct {
	Sources []Source `json:"sources"`
	// Timeout bounds each list's download, e.g. "2m". Default 5m.
	Timeout string `json:"timeout,omitempty"`
	// MaxBytes bounds each file. Default 1 GiB.
	MaxBytes int64 `json:"max_bytes,omitempty"`
	// MinRatio: see liststore.Guard. Default 0.5; set a negative value to
	// disable.
	MinRatio float64 `json:"min_ratio,omitempty"`
}

// ReadConfig reads a JSON configuration. Lists it names replace the
// defaults of the same list; other defaults stay.
func ReadConfig(file string) (Config, error) {
	var c Config
	b, err := os.ReadFile(file)
	if err != nil {
		return c, fmt.Errorf("update config: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("update config %s: %w", file, err)
	}
	for _, s := range c.Sources {
		if _, ok := sanctions.ListNames[s.List]; !ok {
			return c, fmt.Errorf("update config %s: unknown list %q", file, s.List)
		}
		if len(s.URLs) == 0 {
			return c, fmt.Errorf("update config %s: list %s has no urls", file, s.List)
		}
	}
	return c, nil
}

// Downloader fetches lists from their publishers into temporary files;
// the application imports them (app.ListSource).
type Downloader struct {
	Client   *http.Client
	Timeout  time.Duration
	MaxBytes int64
	// Progress, when set, receives one line per file downloaded.
	Progress io.Writer
}

// Source is one list to fetch with a Downloader.
func (u *Downloader) Source(src Source) *Fetch { return &Fetch{d: u, src: src} }

// Fetch fetches one list's files.
type Fetch struct {
	d   *Downloader
	src Source
}

// List is the list fetched.
func (f *Fetch) List() string { return f.src.List }

// Describe names where the files come from.
func (f *Fetch) Describe() string { return strings.Join(f.src.URLs, " ") }

// Fetch downloads the files into a temporary directory and returns them;
// done removes the directory. Any failure (an HTTP error, a truncated or
// oversize body, a timeout) returns an error and leaves nothing behind.
func (f *Fetch) Fetch(ctx context.Context) ([]sanctions.File, time.Time, func(), error) {
	u := f.d
	if u.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, u.Timeout)
		defer cancel()
	}
	tmp, err := os.MkdirTemp("", "tidewatch-update-")
	if err != nil {
		return nil, time.Time{}, nil, err
	}
	done := func() { os.RemoveAll(tmp) }
	retrieved := time.Now().UTC()
	var paths []string
	for i, raw := range f.src.URLs {
		p := filepath.Join(tmp, fileNameFor(raw, i))
		if err := u.download(ctx, raw, p); err != nil {
			done()
			return nil, retrieved, nil, fmt.Errorf("%s: download %s: %w", f.src.List, raw, err)
		}
		paths = append(paths, p)
	}
	files, err := liststore.FromPaths(paths)
	if err != nil {
		done()
		return nil, retrieved, nil, err
	}
	return files, retrieved, done, nil
}

// ErrTooLarge reports a download over the size limit.
var ErrTooLarge = errors.New("file exceeds the size limit")

func (u *Downloader) download(ctx context.Context, raw, dst string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "tidewatch-lists-update")
	client := u.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	limit := u.MaxBytes
	if limit <= 0 {
		limit = 1 << 30
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(resp.Body, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("after %d bytes: %w", n, err)
	}
	if n > limit {
		return fmt.Errorf("%w (%d bytes)", ErrTooLarge, limit)
	}
	// net/http reports a body cut short of Content-Length as
	// io.ErrUnexpectedEOF; this catches a server that closes cleanly but
	// early, which it does not.
	if resp.ContentLength >= 0 && n != resp.ContentLength && !resp.Uncompressed {
		return fmt.Errorf("truncated: got %d of %d bytes", n, resp.ContentLength)
	}
	if u.Progress != nil {
		fmt.Fprintf(u.Progress, "  downloaded %s (%d bytes)\n", raw, n)
	}
	return nil
}

// fileNameFor keeps the URL's last path segment, which carries what
// detection needs (CONS_ vs SDN, a .gz suffix).
func fileNameFor(raw string, i int) string {
	name := ""
	if u, err := url.Parse(raw); err == nil {
		name = path.Base(u.Path)
	}
	if name == "/" || name == "." {
		name = ""
	}
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, name)
	if name == "" || name == "." || name == "/" || strings.HasPrefix(name, ".") {
		name = fmt.Sprintf("list-%d", i)
	}
	return fmt.Sprintf("%02d-%s", i, name)
}
