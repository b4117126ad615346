package app_test

import (
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
)

// TestLongIDsNotEchoed: an id of any length is shown cut in an error,
// not echoed back in full.
func TestLongIDsNotEchoed(t *testing.T) {
	s, _ := newService(t)
	long := strings.Repeat("Ä", 5000) // 10,000 bytes, two per rune: the cut keeps runes whole
	_, err1 := s.CreatePortfolio(ctx, local, long, "x")
	err2 := s.DeletePortfolio(ctx, local, long)
	_, err3 := s.Fleet(ctx, local, long)
	_, err4 := s.CreateTenant(ctx, local, long, "x", store.TenantPolicy{})
	_, err5 := s.RevokeAPIKey(ctx, local, long)
	for i, err := range []error{err1, err2, err3, err4, err5} {
		if err == nil || len(err.Error()) > 300 || !strings.Contains(err.Error(), "ÄÄ...") || app.CodeOf(err) == "" {
			t.Errorf("error %d: %d bytes: %.120q", i+1, len(errString(err)), errString(err))
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
