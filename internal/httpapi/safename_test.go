package httpapi

import (
	"strings"
	"testing"
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
