package app_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/indexcache"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/screen"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// syncBuffer is a log destination read while the service writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// cachedService is a service on st with the index cache in dir.
func cachedService(t *testing.T, st *sqlite.DB, dir, program string) (*app.Service, *syncBuffer) {
	t.Helper()
	cache, err := indexcache.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	s := app.New(app.Config{Store: st, Now: func() time.Time { return now }, IndexCache: cache, Program: program,
		Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	t.Cleanup(func() { s.Close() })
	return s, logs
}

// builtFrom is where the service's last index came from: "lists" or
// "cache".
func builtFrom(t *testing.T, logs *syncBuffer) string {
	t.Helper()
	from := ""
	for _, l := range strings.Split(logs.String(), "\n") {
		var rec struct{ Msg, From string }
		if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == "screening index built" {
			from = rec.From
		}
	}
	return from
}

// screenAll screens names and identifiers of a sample of every list's
// entities, as every type, and returns the answers as JSON.
func screenAll(t *testing.T, s *app.Service, qs []screen.Query) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, q := range qs {
		res, err := s.Screen(ctx, local, q, app.ScreenOptions{All: true, Limit: 20, NoAudit: true})
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		enc.Encode(res)
	}
	return buf.Bytes()
}

func cacheQueries(t *testing.T, ds []*sanctions.Dataset) []screen.Query {
	var qs []screen.Query
	for i, e := range sanctions.Merge(ds...) {
		if i%25 != 0 || e.Type == sanctions.Aircraft {
			continue
		}
		qs = append(qs, screen.Query{Type: string(e.Type), Name: e.Name}, screen.Query{Name: strings.ToLower(e.Name) + "x"})
		if imo := e.ShipIMO(); imo != "" {
			qs = append(qs, screen.Query{Type: "vessel", IMO: imo})
		}
	}
	if len(qs) < 500 {
		t.Fatalf("%d queries", len(qs))
	}
	return qs
}

func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	fs, _ := filepath.Glob(filepath.Join(dir, "*.twix"))
	return fs
}

// TestIndexCache: a server's second start reads the index the first one
// saved and answers every screening byte for byte as the index built from
// the lists does; the lists in force are still read when asked for; a
// damaged or cut saved index is refused (logged), built again and saved
// whole; another build of the program does not read it.
func TestIndexCache(t *testing.T) {
	_, st := seeded(t)
	dir := filepath.Join(t.TempDir(), "index")

	first, logs := cachedService(t, st, dir, "build-1")
	if _, n, err := first.Warm(ctx); err != nil || n < 20000 {
		t.Fatalf("Warm: %d entities, %v", n, err)
	}
	if from := builtFrom(t, logs); from != "lists" {
		t.Fatalf("first start: index from %q, want lists", from)
	}
	first.WaitIndexSaved()
	files := cacheFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("saved %v", files)
	}
	built, err := first.InForce(ctx, local, now)
	if err != nil {
		t.Fatal(err)
	}
	qs := cacheQueries(t, built)
	want := screenAll(t, first, qs)

	second, logs := cachedService(t, st, dir, "build-1")
	if _, _, err := second.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	if from := builtFrom(t, logs); from != "cache" {
		t.Fatalf("second start: index from %q, want cache\n%s", from, logs)
	}
	if c := second.Metrics.Snapshot(); c.IndexCacheReads != 1 || c.IndexBuilds != 1 {
		t.Errorf("second start counted %d cache reads of %d builds, want 1 of 1", c.IndexCacheReads, c.IndexBuilds)
	}
	if c := first.Metrics.Snapshot(); c.IndexCacheReads != 0 {
		t.Errorf("first start counted %d cache reads, want 0", c.IndexCacheReads)
	}
	if got := screenAll(t, second, qs); !bytes.Equal(got, want) {
		t.Fatal("the cached index answers otherwise than the built one")
	}
	read, err := second.InForce(ctx, local, now)
	if err != nil || !reflect.DeepEqual(read, built) {
		t.Fatalf("lists in force from the cached index differ (%v)", err)
	}

	// Damage: a byte flipped, then the file cut short.
	good, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 1
	damaged := map[string][]byte{"flipped": flipped}
	if !testing.Short() {
		damaged["cut"], damaged["empty"] = good[:len(good)*2/3], []byte{}
	}
	for name, bad := range damaged {
		if err := os.WriteFile(files[0], bad, 0o600); err != nil {
			t.Fatal(err)
		}
		s, logs := cachedService(t, st, dir, "build-1")
		if _, _, err := s.Warm(ctx); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if from := builtFrom(t, logs); from != "lists" || !strings.Contains(logs.String(), "cache entry refused") {
			t.Fatalf("%s: index from %q\n%s", name, from, logs)
		}
		if got := screenAll(t, s, qs); !bytes.Equal(got, want) {
			t.Fatalf("%s: answers differ after the rebuild", name)
		}
		s.WaitIndexSaved()
		if again, err := os.ReadFile(files[0]); err != nil || !bytes.Equal(again, good) {
			t.Fatalf("%s: the rebuilt index was not saved whole (%d bytes, want %d; %v)\n%s", name, len(again), len(good), err, logs)
		}
	}

	// Another build of the program neither reads nor replaces it.
	other, logs := cachedService(t, st, dir, "build-2")
	if _, _, err := other.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	if from := builtFrom(t, logs); from != "lists" {
		t.Fatalf("another build: index from %q", from)
	}
	other.WaitIndexSaved()
	if n := len(cacheFiles(t, dir)); n != 2 {
		t.Fatalf("%d saved indexes after another build, want 2", n)
	}
	// Without a program identity the cache is not used at all.
	none, logs := cachedService(t, st, filepath.Join(t.TempDir(), "unused"), "")
	if _, _, err := none.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	none.WaitIndexSaved()
	if from := builtFrom(t, logs); from != "lists" || len(cacheFiles(t, filepath.Join(t.TempDir(), "unused"))) != 0 {
		t.Fatalf("no program: index from %q", from)
	}
}

// TestIndexCacheNewVersion: a list version that changes what is in force
// makes a new key: the next start does not read the previous index.
func TestIndexCacheNewVersion(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir := filepath.Join(t.TempDir(), "index")
	s, _ := cachedService(t, st, dir, "build-1")
	if _, err := s.ImportLists(ctx, local, app.ImportRequest{Files: []sanctions.File{unBundle(t, "2025")}, MinRatio: -1}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	s.WaitIndexSaved()
	if n := len(cacheFiles(t, dir)); n != 1 {
		t.Fatalf("%d saved", n)
	}
	if _, err := s.ImportLists(ctx, local, app.ImportRequest{Files: []sanctions.File{unBundle(t, "2026")}, MinRatio: -1}); err != nil {
		t.Fatal(err)
	}
	s.WaitIndexSaved()
	if n := len(cacheFiles(t, dir)); n != 2 {
		t.Fatalf("%d saved after a new version, want 2", n)
	}
	next, logs := cachedService(t, st, dir, "build-1")
	res, err := next.Screen(ctx, local, screen.Query{Name: "CHONMASAN"}, app.ScreenOptions{NoAudit: true})
	if err != nil || len(res.Lists) != 1 || res.Lists[0].ID != "un@2026-02-27-66b392a4" {
		t.Fatalf("after the import: %+v %v", res.Lists, err)
	}
	if from := builtFrom(t, logs); from != "cache" {
		t.Fatalf("restart: index from %q", from)
	}
}
