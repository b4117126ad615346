package track

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimeRoundTrip(t *testing.T) {
	for _, s := range []string{"2026-03-01T00:00:00Z", "2012-01-27T23:59:59.123456789Z", "1980-01-06T00:00:00Z", "2200-12-31T12:00:00Z", "1969-07-20T20:17:40Z"} {
		std, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		tt := TimeOf(std)
		if !tt.Std().Equal(std) || tt.String() != s {
			t.Errorf("%s: got %v (%s)", s, tt.Std(), tt)
		}
		if tt.IsZero() {
			t.Errorf("%s is zero", s)
		}
	}
	if !TimeOf(time.Time{}).IsZero() || !Time(0).Std().IsZero() {
		t.Error("the zero times do not map to each other")
	}
	a := TimeOf(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	b := a.Add(90 * time.Minute)
	if b.Sub(a) != 90*time.Minute || !a.Before(b) || !b.After(a) || a.Compare(b) != -1 || b.Compare(a) != 1 || !a.Equal(a) || a.Compare(a) != 0 {
		t.Error("arithmetic or comparison wrong")
	}
	// JSON reads like a time.Time's.
	j, err := json.Marshal(map[string]any{"at": a})
	if err != nil || string(j) != `{"at":"2026-03-01T00:00:00Z"}` {
		t.Errorf("json %s %v", j, err)
	}
	var back struct{ At Time }
	if err := json.Unmarshal([]byte(`{"At":"2026-03-01T09:00:00+09:00"}`), &back); err != nil || back.At != a {
		t.Errorf("unmarshal %v %v", back.At, err)
	}
	if Time(-1).Unix() != -1 || Time(1).Unix() != 0 || a.Unix() != a.Std().Unix() {
		t.Error("Unix does not round down")
	}
	// A time.Time in another zone is the same instant.
	if TimeOf(time.Date(2026, 3, 1, 9, 0, 0, 0, time.FixedZone("KST", 9*3600))) != a {
		t.Error("zone not folded to UTC")
	}
}
