package sqlite

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/audit"
	"github.com/tidewatch/tidewatch/store"
)

// appendN appends n chained records to the tenant's log through st.
func appendN(t *testing.T, st *DB, tenant string, n int) []store.AuditRecord {
	t.Helper()
	ctx := context.Background()
	var tail *store.AuditRecord
	if tl, err := st.AuditTail(ctx, tenant); err == nil {
		tail = &tl
	}
	var out []store.AuditRecord
	for i := 0; i < n; i++ {
		r := audit.Chain(tail, store.AuditRecord{Tenant: tenant, Time: time.Date(2026, 12, 3, 10, 0, i, 0, time.UTC), Actor: "analyst",
			Action: "screen", Subject: fmt.Sprintf("name:SHIP %d", i), Data: json.RawMessage(`{"q":1}`)})
		if err := st.AppendAudit(ctx, []store.AuditRecord{r}); err != nil {
			t.Fatal(err)
		}
		tail = &r
		out = append(out, r)
	}
	return out
}

func verifyOK(t *testing.T, st *DB, tenant string, records int64) audit.Report {
	t.Helper()
	rep, err := audit.Verify(context.Background(), st, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Records != records {
		t.Errorf("verify %s: %d records, problems %v, want %d intact", tenant, rep.Records, rep.Problems, records)
	}
	return rep
}

func openAt(t *testing.T, path string) *DB {
	t.Helper()
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A store written by a version that kept the log in its audit table is
// moved into the files when opened, chain, anchor and all, and the table
// is emptied.
func TestAuditMovedOutOfTheTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st := openAt(t, path)
	var tail *store.AuditRecord
	for i := 1; i <= 5; i++ {
		tenant := "club"
		if i == 3 {
			tenant = "x y" // not a file name as it is
		}
		r := audit.Chain(nil, store.AuditRecord{Tenant: tenant, Time: time.UnixMilli(int64(i) * 1000).UTC(), Actor: "a\xff", Action: "screen", Subject: "s", Data: json.RawMessage(`{}`)})
		if tenant == "club" {
			r = audit.Chain(tail, r)
			tail = &r
		}
		if err := st.Exec(`INSERT INTO audit(tenant, seq, time_ms, actor, action, subject, data, prev, hash) VALUES(?,?,?,?,?,?,?,?,?)`,
			r.Tenant, r.Seq, r.Time.UnixMilli(), r.Actor, r.Action, r.Subject, string(r.Data), r.Prev, r.Hash); err != nil {
			t.Fatal(err)
		}
		if err := st.Exec(`INSERT INTO audit_anchor(tenant, seq, hash, records) VALUES(?,?,?,1) ON CONFLICT(tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, records = audit_anchor.records + 1`, r.Tenant, r.Seq, r.Hash); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	// What a move, a prune and a put-back killed part-way leave behind.
	leftovers := []string{"club.move-1", "club.prune-2", "club.restore-3"}
	for _, n := range leftovers {
		os.WriteFile(filepath.Join(path+".audit", n), []byte("partial"), 0o600)
	}
	st = openAt(t, path)
	defer st.Close()
	for _, n := range leftovers {
		if _, err := os.Stat(filepath.Join(path+".audit", n)); !os.IsNotExist(err) {
			t.Errorf("%s left: %v", n, err)
		}
	}
	rep := verifyOK(t, st, "club", 4)
	if rep.Anchor.Seq != 4 || rep.Anchor.Records != 4 || rep.HeadHash != tail.Hash {
		t.Errorf("club after the move: %+v", rep)
	}
	verifyOK(t, st, "x y", 1)
	var rows int
	st.r.QueryRow(`SELECT count(*) FROM audit`).Scan(&rows)
	if rows != 0 {
		t.Errorf("%d rows left in the table", rows)
	}
	if _, err := os.Stat(filepath.Join(path+".audit", "club.log")); err != nil {
		t.Error(err)
	}
	if stats, err := st.Stats(context.Background()); err != nil || stats.Audit != 5 {
		t.Errorf("stats: %d audit records, %v", stats.Audit, err)
	}
	// The next record follows the moved chain.
	appendN(t, st, "club", 1)
	verifyOK(t, st, "club", 5)
}

// What a crash can leave at the end of a log (a write cut short, or the
// zeros a file system leaves after a power cut) is removed when a writer
// next looks, and the log goes on; records before it are kept.
func TestAuditTornTailMovedAside(t *testing.T) {
	for name, junk := range map[string][]byte{
		"a record cut short": appendAuditRecord(nil, store.AuditRecord{Seq: 4, Actor: strings.Repeat("cut ", 20), Data: []byte(`{}`)})[:41],
		"a header cut short": {0x10, 0, 0},
		"zeros":              make([]byte, 4096),
	} {
		path := filepath.Join(t.TempDir(), "s.db")
		st := openAt(t, path)
		appendN(t, st, "club", 3)
		st.Close()
		f, err := os.OpenFile(filepath.Join(path+".audit", "club.log"), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(junk)
		f.Close()
		st = openAt(t, path)
		if tail, err := st.AuditTail(context.Background(), "club"); err != nil || tail.Seq != 3 {
			t.Errorf("%s: tail %d %v", name, tail.Seq, err)
		}
		// The bytes are kept aside, not deleted.
		cut, _ := filepath.Glob(filepath.Join(path+".audit", "club.cut-*"))
		if len(cut) != 1 {
			t.Fatalf("%s: %d files of cut bytes", name, len(cut))
		}
		if b, _ := os.ReadFile(cut[0]); string(b) != string(junk) {
			t.Errorf("%s: the bytes moved aside are %d, not the %d cut", name, len(b), len(junk))
		}
		appendN(t, st, "club", 2)
		verifyOK(t, st, "club", 5)
		st.Close()
	}
}

// A process that stopped between writing records and their anchor leaves
// the anchor behind: the next open moves it to the records that continue
// its chain. An anchor behind records that do not continue it stays, and
// verify says so.
func TestAuditAnchorCatchesUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st := openAt(t, path)
	recs := appendN(t, st, "club", 3)
	st.Close()
	anchorFile := filepath.Join(path+".audit", "club.anchor")
	behind := fmt.Sprintf("%d %s %d", recs[1].Seq, recs[1].Hash, 2)
	os.WriteFile(anchorFile, []byte(behind+strings.Repeat(" ", anchorSize-1-len(behind))+"\n"), 0o600)
	st = openAt(t, path)
	if rep := verifyOK(t, st, "club", 3); rep.Anchor.Seq != 3 || rep.Anchor.Records != 3 {
		t.Errorf("anchor not moved: %+v", rep.Anchor)
	}
	st.Close()

	wrong := fmt.Sprintf("%d %s %d", 2, strings.Repeat("0", 64), 2)
	os.WriteFile(anchorFile, []byte(wrong+strings.Repeat(" ", anchorSize-1-len(wrong))+"\n"), 0o600)
	st = openAt(t, path)
	defer st.Close()
	rep, err := audit.Verify(context.Background(), st, "club")
	if err != nil || rep.OK() || rep.Anchor.Seq != 2 {
		t.Errorf("an anchor the log does not continue was moved, or not reported: %+v %v", rep, err)
	}
}

// Bytes in the middle of a log that are not a record: the store finds
// the log's last record from its end (the one the anchor names), so an
// append goes on after it and leaves the damaged bytes as they are;
// verify and reads report the damage, before the append and after it.
// (Before, the first append after a start read the whole log, 10 s for
// 6.4 GB, and refused to extend it.)
func TestAuditDamagedLogKeptAndReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st := openAt(t, path)
	defer st.Close()
	appendN(t, st, "club", 3)
	logFile := filepath.Join(path+".audit", "club.log")
	b, _ := os.ReadFile(logFile)
	first := appendAuditRecord(nil, mustRecord(t, st, "club", 1))
	copy(b[len(first):], []byte{0xff, 0xff, 0xff, 0x7f}) // record 2's length
	os.WriteFile(logFile, b, 0o600)
	st.Close()
	st = openAt(t, path)
	defer st.Close()
	appendAfterDamage(t, st, path, b, 4)
}

// appendAfterDamage checks that verify reports the damaged log, that a
// record appended goes after its last one and leaves its bytes (damaged)
// as they were, nothing moved aside, and that verify still reports it.
func appendAfterDamage(t *testing.T, st *DB, path string, damaged []byte, seq int64) {
	t.Helper()
	ctx := context.Background()
	reportsDamage(t, st, "verify of a damaged log")
	tail, err := st.AuditTail(ctx, "club")
	if err != nil || tail.Seq != seq-1 {
		t.Fatalf("tail of the damaged log: %+v %v", tail, err)
	}
	r := audit.Chain(&tail, store.AuditRecord{Tenant: "club", Time: time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC), Actor: "analyst", Action: "screen", Subject: "name:AFTER", Data: json.RawMessage(`{}`)})
	if err := st.AppendAudit(ctx, []store.AuditRecord{r}); err != nil {
		t.Fatalf("append after the last record of a log damaged in the middle: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(path+".audit", "club.log"))
	if !bytes.HasPrefix(after, damaged) || len(after) != len(damaged)+len(appendAuditRecord(nil, r)) {
		t.Errorf("the damaged log was changed: %d bytes, was %d, prefix kept %v", len(after), len(damaged), bytes.HasPrefix(after, damaged))
	}
	if cut, _ := filepath.Glob(filepath.Join(path+".audit", "club.cut-*")); len(cut) != 0 {
		t.Errorf("records moved aside as a crash's: %v", cut)
	}
	reportsDamage(t, st, "verify after the append")
}

// reportsDamage checks that verify reports the damage as a problem of its
// report (not as a failure to verify), naming the bytes, and reads the
// whole records after it (the last is the tail).
func reportsDamage(t *testing.T, st *DB, what string) {
	t.Helper()
	ctx := context.Background()
	rep, err := audit.Verify(ctx, st, "club")
	tail, _ := st.AuditTail(ctx, "club")
	found := false
	for _, p := range rep.Problems {
		found = found || strings.Contains(p.Reason, "log damaged: bytes")
	}
	if err != nil || rep.OK() || !found || rep.Head != tail.Seq {
		t.Errorf("%s: %+v %v", what, rep, err)
	}
}

func mustRecord(t *testing.T, st *DB, tenant string, seq int64) store.AuditRecord {
	t.Helper()
	var out store.AuditRecord
	st.AuditRecords(context.Background(), tenant, func(r store.AuditRecord) error {
		if r.Seq == seq {
			out = r
		}
		return nil
	})
	if out.Seq != seq {
		t.Fatalf("no record %d", seq)
	}
	return out
}

// A prune by one process replaces the log; another process that had it
// open appends to the new file, not to the one replaced.
func TestAuditPruneByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	a := openAt(t, path)
	defer a.Close()
	b := openAt(t, path)
	defer b.Close()
	appendN(t, a, "club", 4)
	lock := a.audit.logs["club"].lock
	if err := b.PruneAudit(context.Background(), "club", 2); err != nil {
		t.Fatal(err)
	}
	appendN(t, a, "club", 2)
	// a opened the new log inside its lock: the lock file it held stays
	// open and locked (closing it would have let go of the lock).
	if a.audit.logs["club"].lock != lock {
		t.Errorf("the lock file was closed and opened again while reopening the pruned log")
	}
	var seqs []int64
	b.AuditRecords(context.Background(), "club", func(r store.AuditRecord) error {
		seqs = append(seqs, r.Seq)
		return nil
	})
	if fmt.Sprint(seqs) != "[3 4 5 6]" {
		t.Errorf("records after a prune by another process and two appends: %v", seqs)
	}
	if anc, _ := b.AuditAnchor(context.Background(), "club"); anc.Seq != 6 || anc.Records != 4 {
		t.Errorf("anchor %+v", anc)
	}
}

// A store whose audit log is still in its table, opened where it cannot
// be written (so the log cannot be moved), is refused with what to do
// rather than showing an empty log.
func TestReadOnlyStoreWithTheLogInItsTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st := openAt(t, path)
	if err := st.Exec(`INSERT INTO audit(tenant, seq, time_ms, actor, action, subject, data, prev, hash) VALUES('local', 1, 1, 'a', 'screen', 's', '{}', '', 'h')`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := os.Mkdir(path+"-shm", 0o755); err != nil { // unwritable, as in cmd's TestReadOnlyStore
		t.Fatal(err)
	}
	_, err := Open(path)
	if err == nil || !strings.Contains(err.Error(), "open it once with write access") {
		t.Errorf("read-only open of a store with the log in its table: %v", err)
	}
}

// A log cut by hand in the middle of a record the anchor counts: the
// fragment is kept aside, the log goes on from its last whole record, and
// verify keeps reporting what was cut (the anchor's count), after later
// appends too.
func TestAuditCutByHand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st := openAt(t, path)
	appendN(t, st, "club", 3)
	st.Close()
	logFile := filepath.Join(path+".audit", "club.log")
	fi, _ := os.Stat(logFile)
	os.Truncate(logFile, fi.Size()-10) // inside record 3
	st = openAt(t, path)
	defer st.Close()
	rep, err := audit.Verify(context.Background(), st, "club")
	if err != nil || rep.OK() || rep.Records != 2 {
		t.Fatalf("a cut log: %+v %v", rep, err)
	}
	if cut, _ := filepath.Glob(filepath.Join(path+".audit", "club.cut-*")); len(cut) != 1 {
		t.Errorf("%d files of cut bytes", len(cut))
	}
	appendN(t, st, "club", 2)
	if rep, err := audit.Verify(context.Background(), st, "club"); err != nil || rep.OK() || rep.Records != 4 {
		t.Errorf("after two appends to a cut log: %+v %v", rep, err)
	} else {
		t.Logf("reported: %v", rep.Problems)
	}
}

// logSizes appends n records one at a time and returns the log's size
// after each (record i ends at sizes[i-1]).
func logSizes(t *testing.T, st *DB, path, tenant string, n int) []int64 {
	t.Helper()
	var sizes []int64
	for i := 0; i < n; i++ {
		appendN(t, st, tenant, 1)
		fi, err := os.Stat(filepath.Join(path+".audit", tenant+".log"))
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, fi.Size())
	}
	return sizes
}

// A log removed while no process had it open: verify holds what is left
// (nothing) to the anchor, and no new log is begun over the loss.
func TestAuditLogRemovedWhileStopped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st := openAt(t, path)
	appendN(t, st, "club", 5)
	st.Close()
	os.Remove(filepath.Join(path+".audit", "club.log"))
	st = openAt(t, path)
	defer st.Close()
	rep, err := audit.Verify(context.Background(), st, "club")
	if err != nil || rep.OK() || rep.Anchor.Records != 5 {
		t.Fatalf("verify of a removed log: %+v %v", rep, err)
	}
	t.Logf("reported: %v", rep.Problems)
	r := audit.Chain(nil, store.AuditRecord{Tenant: "club", Time: time.Now().UTC(), Actor: "a", Action: "screen", Subject: "s", Data: []byte(`{}`)})
	if err := st.AppendAudit(context.Background(), []store.AuditRecord{r}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("append over a removed log: %v", err)
	}
	if _, err := os.Stat(filepath.Join(path+".audit", "club.log")); !os.IsNotExist(err) {
		t.Errorf("a new log was begun: %v", err)
	}
	if stats, err := st.Stats(context.Background()); err != nil || stats.Audit != 5 {
		t.Errorf("the store's count: %+v %v", stats.Audit, err)
	}
}

// A log (or its anchor) removed while a process has it open is put back
// at its path from the file held open, and appends go on into it.
func TestAuditLogRemovedWhileOpen(t *testing.T) {
	for _, files := range [][]string{{"club.log"}, {"club.anchor"}, {"club.log", "club.anchor"}} {
		path := filepath.Join(t.TempDir(), "s.db")
		st := openAt(t, path)
		appendN(t, st, "club", 3)
		for _, f := range files {
			os.Remove(filepath.Join(path+".audit", f))
		}
		appendN(t, st, "club", 2)
		verifyOK(t, st, "club", 5)
		st.Close()
		st = openAt(t, path)
		verifyOK(t, st, "club", 5)
		st.Close()
	}
}

// A lock file removed while a process holds it open: the next process
// creates and locks a new one, and the first must lock that one too, or
// both write at once.
func TestAuditLockFileRemoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	a := openAt(t, path)
	defer a.Close()
	appendN(t, a, "club", 2)
	os.Remove(filepath.Join(path+".audit", "club.lock"))
	b := openAt(t, path) // a process started after: it makes a new lock file
	defer b.Close()
	appendN(t, b, "club", 1)
	// a holds the tenant's lock as an append does.
	l, err := a.audit.log("club", false)
	if err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	if err := l.lockFile(true); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		r := audit.Chain(&store.AuditRecord{Seq: 3, Hash: mustRecord(t, b, "club", 3).Hash}, store.AuditRecord{Tenant: "club", Time: time.Now().UTC().Truncate(time.Millisecond), Actor: "b", Action: "screen", Subject: "s", Data: []byte(`{}`)})
		done <- b.AppendAudit(context.Background(), []store.AuditRecord{r})
	}()
	select {
	case err := <-done:
		l.unlockFile()
		l.mu.Unlock()
		t.Fatalf("another process appended while the lock was held: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	l.unlockFile()
	l.mu.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	verifyOK(t, a, "club", 4)
}

// Records cut from the log's end at a record's boundary, and the anchor
// removed: the anchor is made again from the log, and verify says so
// for good (it cannot tell what was cut).
func TestAuditAnchorRemovedWithTheLogCut(t *testing.T) {
	for _, how := range []string{"removed", "emptied"} {
		path := filepath.Join(t.TempDir(), "s.db")
		st := openAt(t, path)
		sizes := logSizes(t, st, path, "club", 5)
		st.Close()
		dir := path + ".audit"
		os.Truncate(filepath.Join(dir, "club.log"), sizes[2]) // records 4 and 5 cut
		if how == "removed" {
			os.Remove(filepath.Join(dir, "club.anchor"))
		} else {
			os.Truncate(filepath.Join(dir, "club.anchor"), 0)
		}
		st = openAt(t, path)
		rep, err := audit.Verify(context.Background(), st, "club")
		if err != nil || rep.OK() || rep.Anchor.Remade.IsZero() {
			t.Fatalf("anchor %s, log cut: %+v %v", how, rep, err)
		}
		appendN(t, st, "club", 1)
		st.Close()
		st = openAt(t, path)
		if rep, err := audit.Verify(context.Background(), st, "club"); err != nil || rep.OK() || rep.Records != 4 {
			t.Errorf("anchor %s, after an append and a restart: %+v %v", how, rep, err)
		} else {
			t.Logf("anchor %s: %v", how, rep.Problems)
		}
		st.Close()
	}
}

// A record's length made larger by hand in the middle of the log: it is
// damage verify reports; the records after it are whole and the last is
// the anchor's, so an append goes on after it, nothing is moved aside as
// a crash's fragment, and the edited bytes stay as they are.
func TestAuditLengthEditedIsDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st := openAt(t, path)
	sizes := logSizes(t, st, path, "club", 6)
	st.Close()
	logFile := filepath.Join(path+".audit", "club.log")
	b, _ := os.ReadFile(logFile)
	at := sizes[1] // record 3's header
	n := binary.LittleEndian.Uint32(b[at:])
	binary.LittleEndian.PutUint32(b[at:], n+uint32(len(b))) // past the end
	os.WriteFile(logFile, b, 0o600)
	st = openAt(t, path)
	defer st.Close()
	appendAfterDamage(t, st, path, b, 7)
}

// The last record's length edited: the file no longer ends with the
// anchor's record, so the whole log is read, as it always was: the edited
// record reads as one the file ends inside of and, with no whole record
// after it, is moved aside as a crash's fragment (kept, never deleted).
func TestAuditLastLengthEdited(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st := openAt(t, path)
	sizes := logSizes(t, st, path, "club", 4)
	st.Close()
	logFile := filepath.Join(path+".audit", "club.log")
	b, _ := os.ReadFile(logFile)
	at := sizes[2] // record 4's header
	binary.LittleEndian.PutUint32(b[at:], binary.LittleEndian.Uint32(b[at:])+1)
	os.WriteFile(logFile, b, 0o600)
	st = openAt(t, path)
	defer st.Close()
	tail, err := st.AuditTail(context.Background(), "club")
	if err != nil || tail.Seq != 3 {
		t.Fatalf("tail: %+v %v", tail, err)
	}
	if cut, _ := filepath.Glob(filepath.Join(path+".audit", "club.cut-*")); len(cut) != 1 {
		t.Errorf("the edited last record not kept aside: %v", cut)
	}
}

// The last record found from the log's end however large it is (the
// window read grows to it), and a log of many records opened again goes
// on from its last: the chain verifies.
func TestAuditTailFromTheEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st := openAt(t, path)
	ctx := context.Background()
	appendN(t, st, "club", 50)
	tail, _ := st.AuditTail(ctx, "club")
	big := audit.Chain(&tail, store.AuditRecord{Tenant: "club", Time: time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC), Actor: "analyst", Action: "screen",
		Subject: "name:BIG", Data: json.RawMessage(`"` + strings.Repeat("x", 3<<20) + `"`)})
	if err := st.AppendAudit(ctx, []store.AuditRecord{big}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// Damage at the start: only a log read from its end opens.
	logFile := filepath.Join(path+".audit", "club.log")
	b, _ := os.ReadFile(logFile)
	binary.LittleEndian.PutUint32(b, 0xffffffff)
	os.WriteFile(logFile, b, 0o600)
	st = openAt(t, path)
	defer st.Close()
	appendAfterDamage(t, st, path, b, 52)
}

// An older build run on the store after the move began a new log in the
// audit table: opened again, that log is kept aside whole and the files'
// log stays the log. A move cut short (the table's rows still there, the
// files' log beginning with the same record) is simply done again.
func TestAuditOlderBuildLogKeptAside(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st := openAt(t, path)
	appendN(t, st, "club", 3)
	// The older build: its log in the table, from record 1 again.
	var tail *store.AuditRecord
	for i := 0; i < 2; i++ {
		r := audit.Chain(tail, store.AuditRecord{Tenant: "club", Time: time.UnixMilli(int64(i) * 1000).UTC(), Actor: "old", Action: "screen", Subject: "s", Data: json.RawMessage(`{}`)})
		tail = &r
		if err := st.Exec(`INSERT INTO audit(tenant, seq, time_ms, actor, action, subject, data, prev, hash) VALUES(?,?,?,?,?,?,?,?,?)`,
			r.Tenant, r.Seq, r.Time.UnixMilli(), r.Actor, r.Action, r.Subject, string(r.Data), r.Prev, r.Hash); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	st = openAt(t, path)
	verifyOK(t, st, "club", 3)
	aside, _ := filepath.Glob(filepath.Join(path+".audit", "club.older-build-*.log"))
	if len(aside) != 1 {
		t.Fatalf("%d files kept aside", len(aside))
	}
	if first, n, err := recordsOf(aside[0]); err != nil || first == nil || first.Actor != "old" || n != 2 {
		t.Errorf("kept aside: %+v %v", first, err)
	}
	// A move cut short: the table still holds the log the files hold.
	for seq := int64(1); seq <= 3; seq++ {
		r := mustRecord(t, st, "club", seq)
		if err := st.Exec(`INSERT INTO audit(tenant, seq, time_ms, actor, action, subject, data, prev, hash) VALUES(?,?,?,?,?,?,?,?,?)`,
			r.Tenant, r.Seq, r.Time.UnixMilli(), r.Actor, r.Action, r.Subject, string(r.Data), r.Prev, r.Hash); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	st = openAt(t, path)
	defer st.Close()
	if a2, _ := filepath.Glob(filepath.Join(path+".audit", "club.older-build-*.log")); len(a2) != 1 {
		t.Errorf("a move cut short was kept aside too: %v", a2)
	}
	verifyOK(t, st, "club", 3)
}

// anchorBytes and putAnchor save and put back the tenant's anchor file:
// put back after appends, it stands for a process killed between an
// append's records and its anchor.
func anchorBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(path+".audit", "club.anchor"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func putAnchor(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(path+".audit", "club.anchor"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A log damaged in the middle, then a crash between an append's records
// and its anchor: the store finds the anchor's record near the end, reads
// the records after it and catches the anchor up, and appends go on;
// before, the whole log was read at the start after the crash and every
// append refused at the old damage (h-try3's A1: the damage turned into
// an outage at the next crash).
func TestAuditDamageThenCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st := openAt(t, path)
	sizes := logSizes(t, st, path, "club", 5)
	st.Close()
	logFile := filepath.Join(path+".audit", "club.log")
	b, _ := os.ReadFile(logFile)
	binary.LittleEndian.PutUint32(b[sizes[0]:], binary.LittleEndian.Uint32(b[sizes[0]:])+7) // record 2's length
	os.WriteFile(logFile, b, 0o600)
	before := anchorBytes(t, path)
	st = openAt(t, path)
	appendN(t, st, "club", 2) // records 6 and 7
	st.Close()
	putAnchor(t, path, before) // the anchor at record 5: the crash
	st = openAt(t, path)
	defer st.Close()
	appendN(t, st, "club", 1) // record 8
	if anc, _ := st.AuditAnchor(context.Background(), "club"); anc.Seq != 8 || anc.Records != 8 {
		t.Errorf("anchor after the crash and an append: %+v", anc)
	}
	reportsDamage(t, st, "verify")
}

// A write cut short by a crash whose record's data holds the bytes of a
// whole record (a screened name can hold any bytes): the fragment is a
// crash's, moved aside, and appends go on; a whole record is damage only
// when whole records follow it to the end (h-try3's A5: before, every
// later append was refused as "changed, not cut short by a crash").
func TestAuditTornWriteHoldingARecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st := openAt(t, path)
	ctx := context.Background()
	appendN(t, st, "club", 3)
	before := anchorBytes(t, path)
	fake := appendAuditRecord(nil, store.AuditRecord{Seq: 9, Time: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), Actor: "x", Action: "screen", Subject: "y", Prev: strings.Repeat("0", 64), Hash: strings.Repeat("1", 64)})
	tail, _ := st.AuditTail(ctx, "club")
	r := audit.Chain(&tail, store.AuditRecord{Tenant: "club", Time: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), Actor: "analyst", Action: "screen",
		Subject: "name:" + string(fake) + strings.Repeat("Z", 200), Data: json.RawMessage(`{}`)})
	if err := st.AppendAudit(ctx, []store.AuditRecord{r}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	logFile := filepath.Join(path+".audit", "club.log")
	b, _ := os.ReadFile(logFile)
	at := bytes.Index(b, fake)
	if at < 0 {
		t.Fatal("the fake record is not in the log")
	}
	os.Truncate(logFile, int64(at+len(fake)+50)) // cut inside the Zs
	putAnchor(t, path, before)
	st = openAt(t, path)
	defer st.Close()
	appendN(t, st, "club", 1)
	if cut, _ := filepath.Glob(filepath.Join(path+".audit", "club.cut-*")); len(cut) != 1 {
		t.Errorf("the torn write not moved aside: %v", cut)
	}
	if rep, err := audit.Verify(ctx, st, "club"); err != nil || !rep.OK() || rep.Head != 4 {
		t.Errorf("verify: %+v %v", rep, err)
	}
}

// The last record replaced by another with the same number (a forgery
// that chains, or a corruption): appends are refused, so that no anchor
// is written over the evidence, and verify reports it (h-try3's A6:
// before, the next append chained to it and verify then said intact).
func TestAuditLastRecordReplacedRefusesAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st := openAt(t, path)
	ctx := context.Background()
	sizes := logSizes(t, st, path, "club", 3)
	prev := mustRecord(t, st, "club", 2)
	st.Close()
	forged := audit.Chain(&prev, store.AuditRecord{Tenant: "club", Time: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC), Actor: "analyst", Action: "screen", Subject: "name:OTHER", Data: json.RawMessage(`{"q":1}`)})
	logFile := filepath.Join(path+".audit", "club.log")
	b, _ := os.ReadFile(logFile)
	b = appendAuditRecord(b[:sizes[1]], forged)
	os.WriteFile(logFile, b, 0o600)
	st = openAt(t, path)
	defer st.Close()
	tail, _ := st.AuditTail(ctx, "club")
	r := audit.Chain(&tail, store.AuditRecord{Tenant: "club", Time: time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC), Actor: "analyst", Action: "screen", Subject: "name:AFTER", Data: json.RawMessage(`{}`)})
	if err := st.AppendAudit(ctx, []store.AuditRecord{r}); err == nil || !strings.Contains(err.Error(), "not the one its anchor recorded") {
		t.Errorf("append after a replaced last record: %v", err)
	}
	if after, _ := os.ReadFile(logFile); !bytes.Equal(after, b) {
		t.Errorf("the log changed")
	}
	if rep, err := audit.Verify(ctx, st, "club"); err != nil || rep.OK() {
		t.Errorf("verify: %+v %v", rep, err)
	}
}

// A prune of a damaged log is refused before anything is written, the
// prune record included (h-try3's A4: before, each try appended a prune
// record, then failed).
func TestAuditPruneOfDamagedLogRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st := openAt(t, path)
	ctx := context.Background()
	// Records 1-3 eleven years old, 4-6 of today: the prune deletes the
	// first three, and the damage is in record 5, after them.
	var tail *store.AuditRecord
	var sizes []int64
	logFile := filepath.Join(path+".audit", "club.log")
	for i := 0; i < 6; i++ {
		when := time.Date(2015, 1, 1, 0, 0, i, 0, time.UTC)
		if i >= 3 {
			when = time.Date(2026, 12, 3, 10, 0, i, 0, time.UTC)
		}
		r := audit.Chain(tail, store.AuditRecord{Tenant: "club", Time: when, Actor: "analyst", Action: "screen", Subject: fmt.Sprintf("name:SHIP %d", i), Data: json.RawMessage(`{"q":1}`)})
		if err := st.AppendAudit(ctx, []store.AuditRecord{r}); err != nil {
			t.Fatal(err)
		}
		tail = &r
		fi, _ := os.Stat(logFile)
		sizes = append(sizes, fi.Size())
	}
	st.Close()
	b, _ := os.ReadFile(logFile)
	for i := sizes[3] + 8; i < sizes[3]+20; i++ { // inside record 5
		b[i] = 0
	}
	os.WriteFile(logFile, b, 0o600)
	st = openAt(t, path)
	defer st.Close()
	l := &audit.Log{St: st, Tenant: "club"}
	n, err := l.Prune(ctx, "admin", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	if err == nil || n != 0 || !strings.Contains(err.Error(), "prune refused, nothing written") {
		t.Errorf("prune of a damaged log: %d %v", n, err)
	}
	if after, _ := os.ReadFile(logFile); !bytes.Equal(after, b) {
		t.Errorf("the log changed: %d bytes, was %d", len(after), len(b))
	}
	if anc, _ := st.AuditAnchor(ctx, "club"); anc.Seq != 6 {
		t.Errorf("anchor moved: %+v", anc)
	}
}
