package app

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/identity"
	"github.com/tidewatch/tidewatch/store"
)

// Span is a length of calendar time: years and months are calendar ones
// (twelve months from 15 March is 15 March), days are days, and Dur a
// clock duration. It never overflows the way a time.Duration does past
// 292 years: spans are bounded on parsing.
type Span struct {
	Years, Months, Days int
	Dur                 time.Duration
}

// MaxSpanYears bounds every span: nothing in Tidewatch looks back more
// than a century.
const MaxSpanYears = 100

// ParseSpan reads "12m" (calendar months), "90d", "2y", "1y6m" or a Go
// duration ("720h"). Zero, negative and spans over a century are errors.
func ParseSpan(s string) (Span, error) {
	in := strings.ToLower(strings.TrimSpace(s))
	bad := fmt.Errorf("%q: give a span such as 12m (months), 90d, 2y, 1y6m or 720h", s)
	if in == "" {
		return Span{}, bad
	}
	// Calendar units first: "12m" is twelve months, not minutes.
	sp, ok := parseCalendar(in)
	if !ok {
		d, err := time.ParseDuration(in)
		if err != nil || d <= 0 {
			return Span{}, bad
		}
		sp = Span{Dur: d}
	}
	approx := float64(sp.Years) + float64(sp.Months)/12 + float64(sp.Days)/365.25 + sp.Dur.Hours()/(24*365.25)
	if approx <= 0 {
		return Span{}, bad
	}
	if approx > MaxSpanYears {
		return Span{}, fmt.Errorf("%q is longer than %d years", s, MaxSpanYears)
	}
	return sp, nil
}

// parseCalendar reads a run of number-unit pairs in years, months, weeks
// and days.
func parseCalendar(in string) (Span, bool) {
	var sp Span
	rest := in
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) || i > 6 {
			return Span{}, false
		}
		n, _ := strconv.Atoi(rest[:i])
		switch rest[i] {
		case 'y':
			sp.Years += n
		case 'm':
			sp.Months += n
		case 'w':
			sp.Days += 7 * n
		case 'd':
			sp.Days += n
		default:
			return Span{}, false
		}
		rest = rest[i+1:]
	}
	return sp, true
}

// Before is the time the span ends at, counting back from t.
func (s Span) Before(t time.Time) time.Time {
	return t.AddDate(-s.Years, -s.Months, -s.Days).Add(-s.Dur)
}

// After is t plus the span.
func (s Span) After(t time.Time) time.Time {
	return t.AddDate(s.Years, s.Months, s.Days).Add(s.Dur)
}

// IsZero says the span is empty.
func (s Span) IsZero() bool { return s == Span{} }

func (s Span) String() string {
	var b strings.Builder
	for _, p := range []struct {
		n int
		u string
	}{{s.Years, "y"}, {s.Months, "m"}, {s.Days, "d"}} {
		if p.n != 0 {
			fmt.Fprintf(&b, "%d%s", p.n, p.u)
		}
	}
	if s.Dur != 0 {
		b.WriteString(s.Dur.String())
	}
	if b.Len() == 0 {
		return "0d"
	}
	return b.String()
}

// MarshalText writes the span as ParseSpan reads it.
func (s Span) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a span.
func (s *Span) UnmarshalText(b []byte) error {
	v, err := ParseSpan(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseVessel reads an IMO number (7 digits with a valid check digit,
// "IMO" prefix allowed), an MMSI (9 digits), or a subject ("imo:N",
// "mmsi:N").
func ParseVessel(s string) (store.VesselQuery, error) {
	var q store.VesselQuery
	t := strings.ToUpper(strings.TrimSpace(s))
	switch {
	case strings.HasPrefix(t, "IMO:"):
		t = t[4:]
	case strings.HasPrefix(t, "MMSI:"):
		// An MMSI as broadcast, valid or not: spoofers and broken
		// transmitters send numbers no station has (123456, 0000001),
		// and their tracks and events are stored under them.
		t = strings.TrimSpace(t[5:])
		n, err := strconv.ParseUint(t, 10, 32)
		if err != nil || n == 0 || len(t) > 9 {
			return q, Errorf(CodeInvalid, "%q: an MMSI is 1 to 9 digits, not all zero", s)
		}
		q.MMSI = uint32(n)
		return q, nil
	}
	t = strings.TrimSpace(strings.TrimPrefix(t, "IMO"))
	n, err := strconv.ParseUint(t, 10, 32)
	switch {
	case err != nil:
		return q, Errorf(CodeInvalid, "%q is neither an IMO number nor an MMSI", s)
	case len(t) == 7:
		if !identity.ValidShipIMO(int(n)) {
			return q, Errorf(CodeInvalid, "IMO %s fails its check digit (expected %d; mistyped?)", t, identity.ShipCheckDigit(int(n)))
		}
		q.IMO = uint32(n)
	case len(t) == 9:
		if n == 0 {
			// Not even as broadcast: nothing is stored under MMSI 0.
			return q, Errorf(CodeInvalid, "MMSI %s is all zeros: no station has it (AIS's \"not available\")", t)
		}
		if n < 1000000 {
			return q, Errorf(CodeInvalid, "MMSI %s is not a station number (for a number as broadcast, write mmsi:%s)", t, t)
		}
		q.MMSI = uint32(n)
	default:
		return q, Errorf(CodeInvalid, "%q: give a 7-digit IMO number or a 9-digit MMSI", s)
	}
	return q, nil
}

// SubjectOf names a vessel in the audit log: "imo:N" or "mmsi:N".
func SubjectOf(q store.VesselQuery) string {
	if q.IMO != 0 {
		return fmt.Sprintf("imo:%d", q.IMO)
	}
	return fmt.Sprintf("mmsi:%09d", q.MMSI)
}

// ParseAsOf reads a date or an RFC 3339 time; a bare date means the end
// of that day (UTC), so everything known that day counts. Times before
// 1990 or after 2200 are refused.
func ParseAsOf(s string) (time.Time, error) {
	var t time.Time
	if v, err := time.Parse(time.RFC3339, s); err == nil {
		t = v.UTC()
	} else if v, err := time.Parse("2006-01-02", s); err == nil {
		t = v.Add(24*time.Hour - time.Second)
	} else {
		return t, Errorf(CodeInvalid, "as-of %q: give YYYY-MM-DD or an RFC 3339 time", s)
	}
	if t.Year() < 1990 || t.Year() > 2200 {
		return t, Errorf(CodeInvalid, "as-of %q: out of range (1990-2200)", s)
	}
	return t, nil
}
