package web

import (
	"testing"
	"time"
)

// The dashboard's feed row: a message a few seconds after the page's
// clock is "just now", not "in the future", and a replayed archive's lag
// reads in days, not millions of seconds.
func TestFeedTimesRead(t *testing.T) {
	now := time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)
	ago := funcs["ago"].(func(time.Time, time.Time) string)
	for at, want := range map[time.Time]string{
		now.Add(3 * time.Second):   "just now",
		now.Add(-30 * time.Second): "just now",
		now.Add(5 * time.Minute):   "in the future",
		now.Add(-5 * time.Minute):  "5 min ago",
	} {
		if got := ago(now, at); got != want {
			t.Errorf("ago %v: %q, want %q", at.Sub(now), got, want)
		}
	}
	lag := funcs["lag"].(func(time.Time, time.Time) string)
	for d, want := range map[time.Duration]string{
		1500 * time.Millisecond: "1.5 s",
		12 * time.Minute:        "12 min",
		5 * time.Hour:           "5.0 h",
		23892684 * time.Second:  "276 days",
	} {
		if got := lag(now, now.Add(-d)); got != want {
			t.Errorf("lag %v: %q, want %q", d, got, want)
		}
	}
}
