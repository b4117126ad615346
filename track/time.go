package track

import (
	"cmp"
	"time"
)

// Time is an instant as nanoseconds since the Unix epoch, UTC. Fixes carry
// it instead of a time.Time: 8 bytes instead of 24 (a fix is copied
// through the reorder buffer, the hand-over between goroutines and every
// run a detector keeps), and comparing or subtracting two is one integer
// operation. It covers the years 1678 to 2262; the zero value is "no
// time" (the epoch itself is not a time any AIS message carries). Its
// methods mirror time.Time's so detector code reads the same.
type Time int64

// TimeOf converts a time.Time; the zero time.Time gives the zero Time.
func TimeOf(t time.Time) Time {
	if t.IsZero() {
		return 0
	}
	return Time(t.UnixNano())
}

// Std converts back to a time.Time in UTC; the zero Time gives the zero
// time.Time.
func (t Time) Std() time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(t)).UTC()
}

// IsZero reports the zero Time.
func (t Time) IsZero() bool { return t == 0 }

// Before reports t < u.
func (t Time) Before(u Time) bool { return t < u }

// After reports t > u.
func (t Time) After(u Time) bool { return t > u }

// Equal reports t == u.
func (t Time) Equal(u Time) bool { return t == u }

// Compare returns -1, 0 or +1 as t is before, equal to or after u.
func (t Time) Compare(u Time) int { return cmp.Compare(t, u) }

// Sub returns t-u.
func (t Time) Sub(u Time) time.Duration { return time.Duration(t - u) }

// Add returns t+d.
func (t Time) Add(d time.Duration) Time { return t + Time(d) }

// String formats t as RFC 3339 with nanoseconds when it has any.
func (t Time) String() string { return t.Std().Format(time.RFC3339Nano) }

// Unix returns t as whole seconds since the epoch (rounded down, as
// time.Time.Unix does).
func (t Time) Unix() int64 {
	s := int64(t) / int64(time.Second)
	if int64(t)%int64(time.Second) < 0 {
		s--
	}
	return s
}

// MarshalJSON writes t as time.Time does (RFC 3339), so evidence that
// carries a Time reads the same as the events' own times.
func (t Time) MarshalJSON() ([]byte, error) { return t.Std().MarshalJSON() }

// UnmarshalJSON reads what MarshalJSON writes.
func (t *Time) UnmarshalJSON(b []byte) error {
	var std time.Time
	if err := std.UnmarshalJSON(b); err != nil {
		return err
	}
	*t = TimeOf(std)
	return nil
}
