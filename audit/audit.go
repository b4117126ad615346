// Package audit keeps the append-only, tamper-evident log of screenings,
// profiles, reports and decisions. Each record carries the SHA-256 of the
// one before it and its own, over a canonical encoding, so editing,
// deleting or reordering any record breaks the chain (Verify). Each tenant
// has a chain of its own. Deleting the newest records (or all of them)
// would leave a shorter valid chain: the store records an anchor (the head
// and the count) with every append, which Verify compares with the log,
// and a head kept elsewhere (a printed report carries its record's hash;
// 'tidewatch audit verify --head') can be checked too.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tidewatch/tidewatch/store"
)

// Actions.
const (
	ActionScreen    = "screen"
	ActionProfile   = "profile"
	ActionReport    = "report"
	ActionDecision  = "decision"
	ActionPrune     = "prune"
	ActionApprove   = "approve"   // a second person approves a decision
	ActionLists     = "lists"     // list versions imported or updated
	ActionIngest    = "ingest"    // AIS ingested
	ActionAdmin     = "admin"     // tenants, users and keys changed
	ActionPortfolio = "portfolio" // portfolios and their vessels changed
	ActionAlert     = "alert"     // an alert raised, acknowledged or closed
	ActionWebhook   = "webhook"   // webhooks added, rotated or removed
)

// Store is what the log needs of a store (store.AuditStore).
type Store interface {
	AuditTail(ctx context.Context, tenant string) (store.AuditRecord, error)
	AppendAudit(ctx context.Context, rs []store.AuditRecord) error
	AuditRecords(ctx context.Context, tenant string, fn func(store.AuditRecord) error) error
	AuditAnchor(ctx context.Context, tenant string) (store.AuditAnchor, error)
	PruneAudit(ctx context.Context, tenant string, throughSeq int64) error
}

// Log appends to one tenant's audit log.
type Log struct {
	St     Store
	Tenant string
	Now    func() time.Time // default time.Now
}

// Append adds a record and returns it with its hash.
func (l *Log) Append(ctx context.Context, actor, action, subject string, data any) (store.AuditRecord, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return store.AuditRecord{}, fmt.Errorf("audit: encode data: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return store.AuditRecord{}, err
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	for attempt := 0; ; attempt++ {
		r := store.AuditRecord{Tenant: l.Tenant, Time: now().UTC().Truncate(time.Millisecond), Actor: actor, Action: action, Subject: subject, Data: buf.Bytes()}
		tail, err := l.St.AuditTail(ctx, l.Tenant)
		switch {
		case err == nil:
			r = Chain(&tail, r)
		case errors.Is(err, store.ErrNotFound):
			r = Chain(nil, r)
		default:
			return r, err
		}
		err = l.St.AppendAudit(ctx, []store.AuditRecord{r})
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt >= 5 {
			return r, err // another writer keeps taking the sequence number
		}
	}
}

// Chain links r after tail (nil: r starts the log): its sequence number,
// previous hash and own hash.
func Chain(tail *store.AuditRecord, r store.AuditRecord) store.AuditRecord {
	return chain(tail, r, false)
}

// ChainMarshalled is Chain for a record whose Data is what json.Marshal
// wrote (valid, compact and HTML-safe already, as every record an
// application appends): the hash is the same, without checking and
// compacting the data again (2-3% of a screening request's CPU).
// TestHashMarshalled holds the two to the same hash.
func ChainMarshalled(tail *store.AuditRecord, r store.AuditRecord) store.AuditRecord {
	return chain(tail, r, true)
}

func chain(tail *store.AuditRecord, r store.AuditRecord, marshalled bool) store.AuditRecord {
	r.Seq, r.Prev = 1, ""
	if tail != nil {
		r.Seq, r.Prev = tail.Seq+1, tail.Hash
	}
	r.Hash = hash(r, marshalled)
	return r
}

// Hash is a record's hash: SHA-256 over its fields in a fixed order,
// the previous hash included. The tenant is not part of it: each tenant's
// records form a chain of their own, so a record moved to another
// tenant's log breaks both chains.
//
// The encoding is what encoding/json's Encoder writes for the array
// [seq, time, actor, action, subject, data, prev] (HTML-safe strings, the
// data compacted, a closing newline), appended by hand into a pooled
// buffer: the hash is computed for every screening (FuzzHash compares it
// with the Encoder's bytes).
func Hash(r store.AuditRecord) string { return hash(r, false) }

// hash is Hash; marshalled says r.Data is json.Marshal's output, taken
// as it is.
func hash(r store.AuditRecord, marshalled bool) string {
	bp := hashBuffers.Get().(*[]byte)
	b := (*bp)[:0]
	defer func() {
		if cap(b) <= 64<<10 {
			*bp = b
			hashBuffers.Put(bp)
		}
	}()
	b = append(b, '[')
	b = strconv.AppendInt(b, r.Seq, 10)
	b = append(b, ',', '"')
	b = r.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"', ',')
	b = appendJSONString(b, r.Actor)
	b = append(b, ',')
	b = appendJSONString(b, r.Action)
	b = append(b, ',')
	b = appendJSONString(b, r.Subject)
	b = append(b, ',')
	switch {
	case len(r.Data) == 0:
		b = append(b, "null"...)
	case marshalled:
		b = append(b, r.Data...)
	default:
		var ok bool
		if b, ok = appendCompactJSON(b, r.Data); !ok {
			// The Encoder wrote nothing for data that is not JSON: the
			// hash of nothing, as it always was.
			b = b[:0]
			sum := sha256.Sum256(nil)
			return hex.EncodeToString(sum[:])
		}
	}
	b = append(b, ',')
	b = appendJSONString(b, r.Prev)
	b = append(b, ']', '\n')
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

var hashBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// appendCompactJSON appends data compacted and HTML-escaped (as the
// Encoder writes a json.RawMessage), or reports that it is not JSON.
func appendCompactJSON(b, data []byte) ([]byte, bool) {
	if !json.Valid(data) {
		return b, false
	}
	// Already compact and HTML-safe (what json.Marshal writes): as is.
	plain, inString := true, false
	for i := 0; i < len(data) && plain; i++ {
		switch c := data[i]; {
		case inString && c == '\\':
			i++ // the escaped byte
		case c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			plain = false
		case c == '<' || c == '>' || c == '&':
			plain = false
		case c == 0xe2 && i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xa8 || data[i+2] == 0xa9):
			plain = false // U+2028 or U+2029
		}
	}
	if plain {
		return append(b, data...), true
	}
	var c bytes.Buffer
	json.Compact(&c, data)
	var e bytes.Buffer
	json.HTMLEscape(&e, c.Bytes())
	return append(b, e.Bytes()...), true
}

// appendJSONString appends s as encoding/json writes a string with HTML
// escaping on.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Problem is one break in the chain.
type Problem struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

// Report is the result of a verification.
type Report struct {
	Tenant   string `json:"tenant"`
	Records  int64  `json:"records"`
	First    int64  `json:"first_seq"`
	Head     int64  `json:"head_seq"`
	HeadHash string `json:"head_hash"`
	// Anchor is the head the store recorded with the last append: the
	// chain must end there, or records were cut from its tail.
	Anchor   store.AuditAnchor `json:"anchor"`
	Problems []Problem         `json:"problems"`
}

// OK says the chain is intact.
func (r Report) OK() bool { return len(r.Problems) == 0 }

type pruneData struct {
	ThroughSeq  int64  `json:"through_seq"`
	ThroughHash string `json:"through_hash"`
	Before      string `json:"before"`
}

// Verify walks a tenant's log and reports every record whose hash, link
// or sequence number is wrong, and a log that ends before its anchor.
func Verify(ctx context.Context, st Store, tenant string) (Report, error) {
	return VerifyExpecting(ctx, st, tenant, nil)
}

// Expected is a record the rest of the store says the log holds: a
// decision, say, kept with the number of the record written with it.
type Expected struct {
	Seq     int64
	Subject string
	// What names the holder in a problem ("decision 1 (decline on
	// imo:9417115, ...)").
	What string
}

// VerifyExpecting is Verify holding the log also to records the rest of
// the store expects, in the same read of the log: a log emptied or cut
// together with its anchor is consistent with itself, not with them.
// Records before the first kept one (pruned under a prune record) are
// not expected.
func VerifyExpecting(ctx context.Context, st Store, tenant string, want []Expected) (Report, error) {
	rep := Report{Tenant: tenant, Problems: []Problem{}}
	var prev *store.AuditRecord
	var first store.AuditRecord
	anchors := map[int64]string{} // prune records: seq before the first kept -> its hash
	wanted := map[int64]bool{}
	for _, w := range want {
		wanted[w.Seq] = true
	}
	found := map[int64]string{} // expected seq -> the subject the log holds
	err := st.AuditRecords(ctx, tenant, func(r store.AuditRecord) error {
		if wanted[r.Seq] {
			found[r.Seq] = r.Subject
		}
		rep.Records++
		if prev == nil {
			first = r
			rep.First = r.Seq
		}
		if got := Hash(r); got != r.Hash {
			rep.Problems = append(rep.Problems, Problem{r.Seq, "record altered: its content does not match its hash"})
		}
		if prev != nil {
			if r.Seq != prev.Seq+1 {
				rep.Problems = append(rep.Problems, Problem{r.Seq, fmt.Sprintf("records %d to %d missing", prev.Seq+1, r.Seq-1)})
			} else if r.Prev != prev.Hash {
				rep.Problems = append(rep.Problems, Problem{r.Seq, "chain broken: previous-hash does not match the record before"})
			}
		}
		if r.Action == ActionPrune {
			var d pruneData
			if json.Unmarshal(r.Data, &d) == nil {
				anchors[d.ThroughSeq] = d.ThroughHash
			}
		}
		rc := r
		prev = &rc
		return nil
	})
	var damage *store.AuditDamage
	if errors.As(err, &damage) {
		// Bytes that are not records: every whole record was read and
		// checked above; the damage is a problem of the report, not a
		// failure to verify.
		for _, r := range damage.Ranges {
			why := fmt.Sprintf("log damaged: bytes %d to %d after record %d are not records (whole records follow: the bytes were changed, not cut short by a crash); a backup of the log holds them as written", r.From, r.To, r.After)
			if r.AtEnd {
				why = fmt.Sprintf("log damaged: bytes %d to its end (%d) after record %d are not records; a backup of the log holds them as written", r.From, r.To, r.After)
			}
			rep.Problems = append(rep.Problems, Problem{r.After + 1, why})
		}
		err = nil
	}
	if err != nil {
		return rep, fmt.Errorf("audit: read log: %w", err)
	}
	if prev != nil {
		rep.Head, rep.HeadHash = prev.Seq, prev.Hash
		if first.Seq != 1 || first.Prev != "" {
			// Records were pruned: a prune record must vouch for the cut.
			if h, ok := anchors[first.Seq-1]; !ok || h != first.Prev {
				missing := Problem{first.Seq, fmt.Sprintf("records before %d missing and no prune record accounts for them", first.Seq)}
				rep.Problems = append([]Problem{missing}, rep.Problems...)
			}
		}
	}
	anchor, err := st.AuditAnchor(ctx, tenant)
	if err != nil {
		return rep, fmt.Errorf("audit: read anchor: %w", err)
	}
	rep.Anchor = anchor
	switch {
	case anchor.Seq > rep.Head:
		rep.Problems = append(rep.Problems, Problem{anchor.Seq, fmt.Sprintf("records %d to %d deleted from the end of the log: the store's anchor says the log ends at record %d", rep.Head+1, anchor.Seq, anchor.Seq)})
	case anchor.Seq == rep.Head && anchor.Seq > 0 && anchor.Hash != rep.HeadHash:
		rep.Problems = append(rep.Problems, Problem{anchor.Seq, "the last record differs from the one the store's anchor recorded"})
	case anchor.Seq < rep.Head:
		rep.Problems = append(rep.Problems, Problem{rep.Head, fmt.Sprintf("records after %d were not written through the log: the store's anchor ends at %d", anchor.Seq, anchor.Seq)})
	}
	if !anchor.Remade.IsZero() {
		rep.Problems = append(rep.Problems, Problem{anchor.Seq, fmt.Sprintf("the store's anchor was missing or empty beside the log and was made again from it on %s (records %d and before): records cut from the log's end before then cannot be told; check the log against a head kept elsewhere (a case file, an exported head)",
			anchor.Remade.UTC().Format(time.RFC3339), anchor.Seq)})
	}
	if anchor.Seq > 0 && anchor.Records != rep.Records && anchor.Seq == rep.Head {
		rep.Problems = append(rep.Problems, Problem{rep.First, fmt.Sprintf("the log holds %d records where the anchor counts %d", rep.Records, anchor.Records)})
	}
	for _, w := range want {
		if rep.Records > 0 && w.Seq < rep.First {
			continue // pruned, and the prune is checked above
		}
		switch subject, ok := found[w.Seq]; {
		case !ok:
			rep.Problems = append(rep.Problems, Problem{w.Seq, fmt.Sprintf("%s was written as audit record %d, which the log no longer holds: records were deleted", w.What, w.Seq)})
		case subject != w.Subject:
			rep.Problems = append(rep.Problems, Problem{w.Seq, fmt.Sprintf("%s was written as audit record %d, which is now about %s", w.What, w.Seq, subject)})
		}
	}
	return rep, nil
}

// CheckHead compares the log with a head kept elsewhere ("SEQ:HASH", the
// hash possibly shortened), adding a problem to the report when the
// record is missing or differs.
func CheckHead(ctx context.Context, st Store, rep *Report, head string) error {
	seqS, h, ok := strings.Cut(head, ":")
	seq, err := strconv.ParseInt(seqS, 10, 64)
	if !ok || err != nil || seq < 1 || len(h) < 8 {
		return fmt.Errorf("head %q: give SEQ:HASH (at least 8 hex digits of the hash), as a report prints it", head)
	}
	found := false
	err = st.AuditRecords(ctx, rep.Tenant, func(r store.AuditRecord) error {
		if r.Seq == seq {
			found = true
			if !strings.HasPrefix(r.Hash, strings.ToLower(h)) {
				rep.Problems = append(rep.Problems, Problem{Seq: seq, Reason: "record differs from the head kept elsewhere"})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !found {
		rep.Problems = append(rep.Problems, Problem{Seq: seq, Reason: "the head kept elsewhere is missing: records deleted"})
	}
	return nil
}

// Prune deletes the records made before cut (the retention period's
// start, which the caller computes and bounds), then appends a prune
// record naming the last one deleted and its hash, so the shortened chain
// still verifies. It returns how many records it deleted.
func (l *Log) Prune(ctx context.Context, actor string, cut time.Time) (int64, error) {
	var last store.AuditRecord
	var n int64
	past := false
	// The whole log is read, not only the records to delete: a prune
	// rewrites the log, and one holding damage (bytes that are not
	// records) is refused before anything is written, the prune record
	// included, rather than after it.
	err := l.St.AuditRecords(ctx, l.Tenant, func(r store.AuditRecord) error {
		if past || !r.Time.Before(cut) {
			past = true
			return nil
		}
		last = r
		n++
		return nil
	})
	var damage *store.AuditDamage
	if errors.As(err, &damage) {
		return 0, fmt.Errorf("prune refused, nothing written: %w (a prune would drop those bytes with the records it rewrites; run audit verify, and restore the log from a backup first)", err)
	}
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	// The prune record goes in first, so a crash between the two steps
	// leaves a longer log, never an unexplained gap.
	if _, err := l.Append(ctx, actor, ActionPrune, "audit", pruneData{ThroughSeq: last.Seq, ThroughHash: last.Hash, Before: cut.UTC().Format(time.RFC3339)}); err != nil {
		return 0, err
	}
	if err := l.St.PruneAudit(ctx, l.Tenant, last.Seq); err != nil {
		return 0, err
	}
	return n, nil
}
