package app

import (
	"testing"

	"github.com/tidewatch/tidewatch/sanctions"
)

// The cache key names the versions (IDs and SHA-256s, in any order), the
// encoding's format and the program build, nothing else.
func TestIndexCacheKey(t *testing.T) {
	un := sanctions.Version{ID: "un@2026-02-27-66b392a4", List: "un", SHA256: "66b392a4aa", Published: "2026-02-27"}
	uk := sanctions.Version{ID: "uk@sha256-5ed3f2bf", List: "uk", SHA256: "5ed3f2bfbb"}
	base := indexCacheKey("b1", []sanctions.Version{un, uk})
	if len(base) != 64 {
		t.Fatalf("key %q", base)
	}
	if k := indexCacheKey("b1", []sanctions.Version{uk, un}); k != base {
		t.Error("the key depends on the versions' order")
	}
	later := un
	later.Published, later.Retrieved = "2026-02-28", later.Retrieved.AddDate(1, 0, 0)
	if k := indexCacheKey("b1", []sanctions.Version{later, uk}); k != base {
		t.Error("the key depends on dates, not only the versions")
	}
	newUN := un
	newUN.ID, newUN.SHA256 = "un@2026-06-01-0123abcd", "0123abcdcc"
	otherSum := un
	otherSum.SHA256 = "66b392a4ab"
	for name, k := range map[string]string{
		"new version":   indexCacheKey("b1", []sanctions.Version{newUN, uk}),
		"other SHA-256": indexCacheKey("b1", []sanctions.Version{otherSum, uk}),
		"one list less": indexCacheKey("b1", []sanctions.Version{un}),
		"other build":   indexCacheKey("b2", []sanctions.Version{un, uk}),
	} {
		if k == base {
			t.Errorf("%s: the same key", name)
		}
	}
}
