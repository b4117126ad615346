package main

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestSealKeyMadeOnceWhenStartedTogether: processes starting at once on a
// store without a seal key file (two servers, a server and 'tidewatch
// case' or 'keys signing') all get the one key the file ends up holding,
// never a key of their own that the file does not keep: a secret or a
// webhook URL's credentials sealed with that would not unseal after a
// restart. Each start reads the file whole, never half written.
func TestSealKeyMadeOnceWhenStartedTogether(t *testing.T) {
	t.Setenv("TIDEWATCH_SEAL_KEY", "")
	rounds, starts := 20, 8
	if testing.Short() {
		rounds = 5
	}
	for r := range rounds {
		path := filepath.Join(t.TempDir(), "store", "tidewatch.db.key")
		keys := make([][]byte, starts)
		errs := make([]error, starts)
		var ready, wg sync.WaitGroup
		ready.Add(1)
		for i := range starts {
			wg.Go(func() {
				ready.Wait()
				keys[i], errs[i] = loadSealKey(path)
			})
		}
		ready.Done()
		wg.Wait()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		onDisk, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(onDisk) != 32 {
			t.Fatalf("round %d: the key file holds %q", r, b)
		}
		for i := range starts {
			if errs[i] != nil {
				t.Errorf("round %d, start %d: %v", r, i, errs[i])
			} else if !bytes.Equal(keys[i], onDisk) {
				t.Errorf("round %d, start %d: got a key the file does not hold", r, i)
			}
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("round %d: the key file's mode: %v %v", r, fi.Mode(), err)
		}
		if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
			t.Errorf("round %d: the key's folder holds %d files, want the key alone", r, len(ents))
		}
	}
}
