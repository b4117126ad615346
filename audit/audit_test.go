package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

func newLog(t *testing.T, n int) (*Log, *sqlite.DB, *time.Time) {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &Log{St: db, Tenant: "local", Now: func() time.Time { return now }}
	for i := 0; i < n; i++ {
		now = now.Add(365 * 24 * time.Hour)
		if _, err := l.Append(context.Background(), "analyst@insurer", ActionProfile, "imo:9417115", map[string]any{"score": i, "recommendation": "refer"}); err != nil {
			t.Fatal(err)
		}
	}
	return l, db, &now
}

func verify(t *testing.T, db Store) Report {
	t.Helper()
	rep, err := Verify(context.Background(), db, "local")
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestIntactChainVerifies(t *testing.T) {
	_, db, _ := newLog(t, 6)
	rep := verify(t, db)
	if !rep.OK() || rep.Records != 6 || rep.Head != 6 || rep.HeadHash == "" {
		t.Fatalf("%+v", rep)
	}
}

// edit is a change an editor with access to the log's files makes.
type edit = func(rs []store.AuditRecord, a *store.AuditAnchor) []store.AuditRecord

// bySeq applies f to the record numbered seq.
func bySeq(seq int64, f func(r *store.AuditRecord)) edit {
	return func(rs []store.AuditRecord, _ *store.AuditAnchor) []store.AuditRecord {
		for i := range rs {
			if rs[i].Seq == seq {
				f(&rs[i])
			}
		}
		return rs
	}
}

// drop deletes the records keep refuses.
func drop(keep func(r store.AuditRecord) bool) edit {
	return func(rs []store.AuditRecord, _ *store.AuditAnchor) []store.AuditRecord {
		var out []store.AuditRecord
		for _, r := range rs {
			if keep(r) {
				out = append(out, r)
			}
		}
		return out
	}
}

func TestTamperingDetected(t *testing.T) {
	cases := map[string]edit{
		"edit data":       bySeq(3, func(r *store.AuditRecord) { r.Data = []byte(`{"score":2,"recommendation":"accept"}`) }),
		"edit actor":      bySeq(1, func(r *store.AuditRecord) { r.Actor = "someone else" }),
		"edit time":       bySeq(4, func(r *store.AuditRecord) { r.Time = r.Time.Add(time.Millisecond) }),
		"delete":          drop(func(r store.AuditRecord) bool { return r.Seq != 2 }),
		"delete head":     drop(func(r store.AuditRecord) bool { return r.Seq != 1 }),
		"delete tail":     drop(func(r store.AuditRecord) bool { return r.Seq != 5 }),
		"delete last two": drop(func(r store.AuditRecord) bool { return r.Seq < 4 }),
		"delete all":      drop(func(r store.AuditRecord) bool { return false }),
		"reorder": func(rs []store.AuditRecord, _ *store.AuditAnchor) []store.AuditRecord {
			rs[1].Seq, rs[2].Seq = rs[2].Seq, rs[1].Seq
			rs[1], rs[2] = rs[2], rs[1]
			return rs
		},
	}
	for name, e := range cases {
		_, db, _ := newLog(t, 5)
		if err := db.TamperAudit("local", e); err != nil {
			t.Fatal(err)
		}
		if rep := verify(t, db); rep.OK() {
			t.Errorf("%s: not detected", name)
		} else {
			t.Logf("%s: %v", name, rep.Problems)
		}
	}
	// An editor who recomputes the edited record's hash breaks the next
	// record's link.
	_, db, _ := newLog(t, 5)
	if err := db.TamperAudit("local", bySeq(3, func(r *store.AuditRecord) { r.Actor = "forger"; r.Hash = Hash(*r) })); err != nil {
		t.Fatal(err)
	}
	if rep := verify(t, db); rep.OK() || rep.Problems[0].Seq != 4 {
		t.Errorf("rehashed edit: %+v", rep)
	}
}

func TestPruneKeepsAVerifiableChain(t *testing.T) {
	l, db, now := newLog(t, 14) // one every 365 days; "now" is the last one's time
	n, err := l.Prune(context.Background(), "retention", now.AddDate(-10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("pruned %d records, want the 3 older than 3,650 days", n)
	}
	rep := verify(t, db)
	if !rep.OK() || rep.First != 4 || rep.Records != 12 {
		t.Errorf("after prune: %+v", rep)
	}
	// Deleting more by hand is still caught.
	db.TamperAudit("local", drop(func(r store.AuditRecord) bool { return r.Seq != 4 }))
	if verify(t, db).OK() {
		t.Error("deletion after a prune not detected")
	}
}

// Records cut from the end of the log, or all of them, are caught without
// the user keeping a head anywhere: the store's anchor remembers it.
func TestTruncationDetectedByAnchor(t *testing.T) {
	_, db, _ := newLog(t, 5)
	if rep := verify(t, db); !rep.OK() || rep.Anchor.Seq != 5 || rep.Anchor.Records != 5 {
		t.Fatalf("intact log: %+v", rep)
	}
	db.TamperAudit("local", drop(func(r store.AuditRecord) bool { return false }))
	rep := verify(t, db)
	if rep.OK() || rep.Records != 0 {
		t.Fatalf("emptied log verifies: %+v", rep)
	}
	if !strings.Contains(rep.Problems[0].Reason, "deleted from the end") {
		t.Errorf("reason: %v", rep.Problems)
	}
}

// Each tenant's chain stands alone: another tenant's records neither
// break it nor show in it.
func TestTenantsHaveSeparateChains(t *testing.T) {
	l, db, _ := newLog(t, 3)
	other := &Log{St: db, Tenant: "insurer-b", Now: l.Now}
	for i := 0; i < 2; i++ {
		if _, err := other.Append(context.Background(), "b@insurer", ActionScreen, "name:X", map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	a, b := verify(t, db), verifyTenant(t, db, "insurer-b")
	if !a.OK() || a.Records != 3 || !b.OK() || b.Records != 2 || b.First != 1 {
		t.Errorf("local %+v, insurer-b %+v", a, b)
	}
}

func verifyTenant(t *testing.T, db Store, tenant string) Report {
	t.Helper()
	rep, err := Verify(context.Background(), db, tenant)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// hashRef is Hash as first written, with encoding/json's Encoder: the
// reference for the hand-written encoding (existing chains must verify).
func hashRef(r store.AuditRecord) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	enc.Encode([]any{r.Seq, r.Time.UTC().Format(time.RFC3339Nano), r.Actor, r.Action, r.Subject, json.RawMessage(r.Data), r.Prev})
	return hex.EncodeToString(h.Sum(nil))
}

func FuzzHash(f *testing.F) {
	f.Add(int64(1), int64(1764633600123), "key be6829d4ee71 (bench)", "screen", "name:CHON MA SAN", `{"query":{"name":"CHON MA SAN"},"lists":["eu@x"]}`, "")
	f.Add(int64(7), int64(0), "a<b>&c\u2028\t\"\\", "x", "imo:\xff\xfe", `{ "a" : [1, 2,	3], "s": "<&> \u2029 \" \\" }`, "ab")
	f.Add(int64(-3), int64(-1), "", "", "", `not json`, "")
	f.Add(int64(2), int64(5), "", "", "", ``, "")
	f.Add(int64(2), int64(5), "\x00\x1f\x7f\b\f", "", "", `"just a string"`, "")
	f.Fuzz(func(t *testing.T, seq, ms int64, actor, action, subject, data, prev string) {
		r := store.AuditRecord{Seq: seq, Time: time.UnixMilli(ms), Actor: actor, Action: action, Subject: subject, Prev: prev}
		if data != "" {
			r.Data = []byte(data)
		}
		if got, want := Hash(r), hashRef(r); got != want {
			t.Fatalf("Hash = %s, the Encoder's encoding gives %s", got, want)
		}
	})
}

func BenchmarkHash(b *testing.B) {
	r := store.AuditRecord{Seq: 278042, Time: time.Now(), Actor: "key be6829d4ee71 (bench)", Action: "screen", Subject: "name:CHON MA SAN",
		Data: []byte(`{"lists":["eu@2025-12-17-e615d3ab","ofac-cons@2025-12-19-acfe53c5","ofac-sdn@2024-05-03-54e0823e","uk@sha256-5ed3f2bf","un@2026-02-27-66b392a4"],"matches":["ofac-sdn:23729 1.000"],"query":{"type":"vessel","name":"CHON MA SAN"},"threshold":0.86,"warnings":null}`),
		Prev: "5ed3f2bf425ce48d1b1a3a7c3049b1f923038420ddadf9b169e50f694b7f67f4"}
	b.Run("by-hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Hash(r)
		}
	})
	b.Run("encoder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			hashRef(r)
		}
	})
}

// ChainMarshalled gives Chain's hash for data json.Marshal wrote: HTML
// characters, U+2028, whitespace in strings, raw messages with spaces
// (which Marshal compacts), nested values.
func TestHashMarshalled(t *testing.T) {
	tail := &store.AuditRecord{Seq: 41, Hash: "ab"}
	values := []any{
		map[string]any{"query": map[string]string{"name": "CHON MA SAN <&> \u2028 \u2029 \t\"\\"}, "lists": []string{"eu@x"}, "n": 1.5},
		json.RawMessage(`{ "a" : [1, 2,	3], "s": "<&> \u2029" }`),
		[]any{nil, true, "x y", 3},
		"just a string",
		struct {
			A string          `json:"a"`
			B json.RawMessage `json:"b"`
		}{"<script>", json.RawMessage(" [ 1 ,\n 2 ] ")},
	}
	for i, v := range values {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		r := store.AuditRecord{Time: time.UnixMilli(1764633600123), Actor: "key x (a<b>)", Action: "screen", Subject: "name:A B", Data: data}
		if got, want := ChainMarshalled(tail, r), Chain(tail, r); got.Hash != want.Hash || got.Seq != want.Seq || got.Prev != want.Prev {
			t.Errorf("value %d: ChainMarshalled %+v, Chain %+v", i, got, want)
		}
	}
}
