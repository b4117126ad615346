// Package audit keeps the append-only, tamper-evident log of screenings,
// profiles, reports and decisions. Each record carries the SHA-256 of the
// one before it and its own, over a canonical encoding, so editing,
// deleting or reordering any record breaks the chain (Verify). Deleting
// the newest records leaves a shorter valid chain: that is caught by
// comparing the head against one kept elsewhere (a printed report carries
// its record's hash; 'tidewatch audit verify --head' checks one).
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tidewatch/tidewatch/store"
)

// DefaultRetention is the US record-keeping period for sanctions records
// the issue sets: 10 years.
const DefaultRetention = 10 * 365 * 24 * time.Hour

// Actions.
const (
	ActionScreen   = "screen"
	ActionProfile  = "profile"
	ActionReport   = "report"
	ActionDecision = "decision"
	ActionPrune    = "prune"
)

// Log appends to a store's audit log.
type Log struct {
	St  store.Store
	Now func() time.Time // default time.Now
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
		r := store.AuditRecord{Seq: 1, Time: now().UTC().Truncate(time.Millisecond), Actor: actor, Action: action, Subject: subject, Data: buf.Bytes()}
		tail, err := l.St.AuditTail(ctx)
		switch {
		case err == nil:
			r.Seq, r.Prev = tail.Seq+1, tail.Hash
		case !errors.Is(err, store.ErrNotFound):
			return r, err
		}
		r.Hash = Hash(r)
		err = l.St.AppendAudit(ctx, r)
		if err == nil {
			return r, nil
		}
		if attempt >= 5 {
			return r, err // another writer keeps taking the sequence number
		}
	}
}

// Hash is a record's hash: SHA-256 over its fields in a fixed order,
// the previous hash included.
func Hash(r store.AuditRecord) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	enc.Encode([]any{r.Seq, r.Time.UTC().Format(time.RFC3339Nano), r.Actor, r.Action, r.Subject, json.RawMessage(r.Data), r.Prev})
	return hex.EncodeToString(h.Sum(nil))
}

// Problem is one break in the chain.
type Problem struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

// Report is the result of a verification.
type Report struct {
	Records  int64     `json:"records"`
	First    int64     `json:"first_seq"`
	Head     int64     `json:"head_seq"`
	HeadHash string    `json:"head_hash"`
	Problems []Problem `json:"problems"`
}

// OK says the chain is intact.
func (r Report) OK() bool { return len(r.Problems) == 0 }

type pruneData struct {
	ThroughSeq  int64  `json:"through_seq"`
	ThroughHash string `json:"through_hash"`
	Before      string `json:"before"`
}

// Verify walks the log and reports every record whose hash, link or
// sequence number is wrong.
func Verify(ctx context.Context, st store.Store) (Report, error) {
	var rep Report
	var prev *store.AuditRecord
	var first store.AuditRecord
	anchors := map[int64]string{} // prune records: seq before the first kept -> its hash
	err := st.AuditRecords(ctx, func(r store.AuditRecord) error {
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
	return rep, nil
}

// Prune deletes records older than the retention period, then appends a
// prune record naming the last one deleted and its hash, so the shortened
// chain still verifies. It returns how many records it deleted.
func (l *Log) Prune(ctx context.Context, actor string, retention time.Duration) (int64, error) {
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	cut := now().Add(-retention)
	var last store.AuditRecord
	var n int64
	stop := errors.New("stop")
	err := l.St.AuditRecords(ctx, func(r store.AuditRecord) error {
		if !r.Time.Before(cut) {
			return stop
		}
		last = r
		n++
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
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
	if err := l.St.PruneAudit(ctx, last.Seq); err != nil {
		return 0, err
	}
	return n, nil
}
