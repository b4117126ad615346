package sqlite

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidewatch/tidewatch/store"
)

// The audit log lives beside the database, not in it: one append-only
// file of records per tenant (path + ".audit/TENANT.log"), with the
// tenant's anchor in a small file of its own (TENANT.anchor). An append
// is one write(2) of the group's records and one of the anchor, under an
// advisory lock (TENANT.lock) that other processes on the store take
// too; a background loop fsyncs what was written every auditSyncEvery,
// as the database's checkpointer does for its WAL, so the same things
// survive: a killed process loses nothing committed, a power cut at most
// the last moments.
//
// Why not a table: measured at 13,000 screenings a second on one core
// (docs/benchmarks.md, "Where the p99 goes"), a record of about 420 bytes
// cost 1.8 KB of WAL in the B-tree (the table's last leaf, its key index,
// the anchor row and interior pages rewritten by every group), and the
// checkpoints that copied it back held the server's processor for 15-25
// ms twice a second. Appended to a file, a record costs its own bytes.
//
// A record on file: a header of two little-endian uint32 (the payload's
// length and its CRC-32C) and the payload: seq (uvarint), time in Unix
// milliseconds (varint), then actor, action, subject, data, prev and hash,
// each a uvarint length and its bytes, stored byte for byte. The CRC finds
// a record cut short by a crash at the end of the file (removed at open
// and when a writer next appends); it is not a seal: the hash chain is,
// and a record whose bytes were edited is read as it is and reported by
// verify.

// auditSyncEvery is how often written logs are fsynced.
const auditSyncEvery = 500 * time.Millisecond

// maxAuditRecord bounds a record's payload: a length beyond it is damage.
const maxAuditRecord = 64 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

type auditFiles struct {
	dir      string
	readOnly bool

	mu   sync.Mutex
	logs map[string]*tenantLog

	stop, done chan struct{}
	closeOnce  sync.Once
}

// tenantLog is one tenant's log as this process last saw it.
type tenantLog struct {
	mu     sync.Mutex
	tenant string
	stem   string // path without extension
	f      *os.File
	lock   *os.File
	anc    *os.File
	end    int64 // bytes of whole records read
	// anchorAt is where the record the anchor named when the log was
	// opened ends (startFromAnchor), with that record's number: catchUp
	// counts the records after it from there. 0: not located.
	anchorAt, anchorSeq int64
	tail                store.AuditRecord
	has                 bool
	dirty               bool
	buf                 []byte
	hdr                 [8]byte
	ancBuf              []byte
}

func openAuditFiles(dir string, readOnly bool) (*auditFiles, error) {
	a := &auditFiles{dir: dir, readOnly: readOnly, logs: map[string]*tenantLog{}}
	if readOnly {
		return a, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	a.stop, a.done = make(chan struct{}), make(chan struct{})
	go a.syncLoop()
	return a, nil
}

// safeTenant is a tenant id usable as a file name as it is.
var safeTenant = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// stemOf names a tenant's files: the id itself when it is a tenant id as
// the service makes them, else "x-" and its bytes in hex.
func stemOf(dir, tenant string) string {
	if safeTenant.MatchString(tenant) {
		return filepath.Join(dir, tenant)
	}
	return filepath.Join(dir, "x-"+fmt.Sprintf("%x", tenant))
}

// tenantOf is stemOf's inverse for a file's base name without extension.
func tenantOf(base string) (string, bool) {
	if h, ok := strings.CutPrefix(base, "x-"); ok {
		var b []byte
		if _, err := fmt.Sscanf(h, "%x", &b); err != nil {
			return "", false
		}
		return string(b), true
	}
	return base, safeTenant.MatchString(base)
}

// log returns the tenant's log, opening its files (creating them when
// create is set; a reader of a tenant that never wrote gets nil).
func (a *auditFiles) log(tenant string, create bool) (*tenantLog, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if l, ok := a.logs[tenant]; ok {
		return l, nil
	}
	l := &tenantLog{tenant: tenant, stem: stemOf(a.dir, tenant)}
	if err := l.open(!a.readOnly, create && !a.readOnly); err != nil {
		if errors.Is(err, os.ErrNotExist) && !create {
			return nil, nil
		}
		return nil, err
	}
	a.logs[tenant] = l
	return l, nil
}

// errNoLog: the tenant has never written a record.
var errNoLog = errors.New("no audit log")

// locked runs fn on the tenant's log, under this process's lock and the
// cross-process one (lockFile), or returns errNoLog when it has none and
// create is not set.
func (a *auditFiles) locked(tenant string, create, exclusive bool, fn func(l *tenantLog) error) error {
	l, err := a.log(tenant, create)
	if err != nil {
		return err
	}
	if l == nil {
		return errNoLog
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.lockFile(exclusive); err != nil {
		return err
	}
	defer l.unlockFile()
	return fn(l)
}

func (l *tenantLog) open(writable, create bool) error {
	if err := l.openLog(writable, create); err != nil {
		return err
	}
	// The lock file is never replaced by this code (a prune replaces the
	// log), so every process locks the same file (flockPath copes with
	// one removed by hand). A read-only store locks nothing (it is opened
	// only when no process writes).
	if writable {
		lock, err := os.OpenFile(l.stem+".lock", os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			l.closeFiles()
			return err
		}
		l.lock = lock
	}
	return nil
}

// openLog opens the log and its anchor (not the lock: reopening a log
// another process replaced must not let go of the lock held meanwhile).
func (l *tenantLog) openLog(writable, create bool) error {
	flag := os.O_RDONLY
	if writable {
		flag = os.O_RDWR
	}
	if create {
		if err := l.refuseNewLog(); err != nil {
			return err
		}
		flag |= os.O_CREATE
	}
	f, err := os.OpenFile(l.stem+".log", flag, 0o600)
	if err != nil {
		return err
	}
	ancFlag := flag
	if writable {
		ancFlag |= os.O_CREATE // a log may be found without one (a crash)
	}
	anc, err := os.OpenFile(l.stem+".anchor", ancFlag, 0o600)
	if err != nil && !(errors.Is(err, os.ErrNotExist) && !writable) {
		f.Close()
		return err
	}
	l.f, l.anc, l.end, l.has, l.anchorAt = f, anc, 0, false, 0
	return nil
}

// refuseNewLog refuses to begin a new log where the tenant's anchor
// counts records but the log file is gone (removed while no process had
// it open): a new log would begin again at record 1 and hide the loss.
func (l *tenantLog) refuseNewLog() error {
	if _, err := os.Stat(l.stem + ".log"); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	b, err := os.ReadFile(l.stem + ".anchor")
	if err != nil {
		return nil
	}
	a, err := parseAnchor(l.tenant, b)
	if err != nil || (a.Records == 0 && a.Seq == 0) {
		return err
	}
	return fmt.Errorf("audit log of %s is missing (%s) while its anchor counts %d records up to record %d: restore the log from a backup; nothing is written until then (moving the anchor aside starts a new log, and loses the evidence of the old one)",
		l.tenant, l.stem+".log", a.Records, a.Seq)
}

func (l *tenantLog) closeFiles() {
	for _, f := range []*os.File{l.f, l.anc, l.lock} {
		if f != nil {
			f.Close()
		}
	}
	l.f, l.anc, l.lock = nil, nil, nil
}

// lockFile takes the tenant's cross-process lock and catches up with what
// other processes did: a log replaced by a prune is opened again, records
// appended are read to the new tail, and (exclusive) a record cut short
// at the end is removed.
func (l *tenantLog) lockFile(exclusive bool) error {
	if l.lock != nil {
		if err := l.flockPath(exclusive); err != nil {
			return fmt.Errorf("audit log of %s: lock: %w", l.tenant, err)
		}
	}
	if err := l.refresh(exclusive); err != nil {
		l.unlockFile()
		return err
	}
	// A process killed between writing records and their anchor leaves
	// the anchor behind while others go on: under the exclusive lock no
	// writer is half-way, so the anchor is caught up before the next
	// append counts from it.
	if exclusive && l.lock != nil {
		if err := l.catchUp(); err != nil {
			l.unlockFile()
			return err
		}
	}
	return nil
}

// flockPath locks the lock file the path names now: a lock file
// removed (or replaced) while this process held it open would leave it
// locking a file no other process can find, while the next process
// creates and locks a new one, and both would write at once. So after
// each lock the path must still name the file locked; when it does not,
// the file at the path (made again if missing) is opened and locked.
func (l *tenantLog) flockPath(exclusive bool) error {
	for try := 0; ; try++ {
		if err := flock(l.lock, exclusive); err != nil {
			return err
		}
		held, err := l.lock.Stat()
		if err != nil {
			funlock(l.lock)
			return err
		}
		now, err := os.Stat(l.stem + ".lock")
		if err == nil && os.SameFile(held, now) {
			return nil
		}
		funlock(l.lock)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if try == 10 {
			return errors.New("the lock file keeps being replaced")
		}
		slog.Warn("audit log: the lock file was removed or replaced while held open; locking the one at its path", "tenant", l.tenant, "file", l.stem+".lock")
		f, err := os.OpenFile(l.stem+".lock", os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		l.lock.Close()
		l.lock = f
	}
}

func (l *tenantLog) unlockFile() {
	if l.lock != nil {
		funlock(l.lock)
	}
}

func (l *tenantLog) refresh(exclusive bool) error {
	held, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("audit log of %s: %w", l.tenant, err)
	}
	now, err := os.Stat(l.stem + ".log")
	if errors.Is(err, os.ErrNotExist) {
		// The log was removed while this process held it open (a prune
		// or a move replaces it by a rename, never leaving the path
		// empty): its records are still in the file held open. Put them
		// back at the path, then go on with them; but only when they are
		// the latest log (the anchor names its last record): a process
		// holding a log another replaced since (a prune) would put back
		// the old one without the records appended after.
		if err := l.heldIsLatest(held.Size()); err != nil {
			return fmt.Errorf("audit log of %s was removed (%s) and the copy this process holds is not put back: %w; restore the log from a backup", l.tenant, l.stem+".log", err)
		}
		if err := l.restoreRemoved(l.f, l.stem+".log"); err != nil {
			return fmt.Errorf("audit log of %s was removed (%s) and could not be put back: %w", l.tenant, l.stem+".log", err)
		}
		now, err = os.Stat(l.stem + ".log")
	}
	if l.anc != nil {
		pi, e2 := os.Stat(l.stem + ".anchor")
		if errors.Is(e2, os.ErrNotExist) {
			if err := l.restoreRemoved(l.anc, l.stem+".anchor"); err != nil {
				return fmt.Errorf("audit anchor of %s was removed (%s) and could not be put back: %w", l.tenant, l.stem+".anchor", err)
			}
			pi, e2 = os.Stat(l.stem + ".anchor")
		}
		// The anchor at the path is the one to write (after a put-back,
		// or another process's): not the removed file still held.
		ai, e1 := l.anc.Stat()
		if e1 == nil && e2 == nil && !os.SameFile(ai, pi) {
			flag := os.O_RDONLY
			if l.lock != nil {
				flag = os.O_RDWR
			}
			na, err := os.OpenFile(l.stem+".anchor", flag, 0o600)
			if err != nil {
				return fmt.Errorf("audit anchor of %s: %w", l.tenant, err)
			}
			l.anc.Close()
			l.anc = na
		}
	}
	if err != nil {
		return fmt.Errorf("audit log of %s: %w", l.tenant, err)
	}
	if !os.SameFile(held, now) {
		writable := l.lock != nil
		for _, f := range []*os.File{l.f, l.anc} {
			if f != nil {
				f.Close()
			}
		}
		if err := l.openLog(writable, false); err != nil {
			return fmt.Errorf("audit log of %s: reopen after a prune: %w", l.tenant, err)
		}
		if held, err = l.f.Stat(); err != nil {
			return fmt.Errorf("audit log of %s: %w", l.tenant, err)
		}
	}
	size := held.Size()
	if size < l.end {
		l.end, l.has, l.anchorAt = 0, false, 0 // cut by another process: read again
	}
	if size == l.end {
		return nil
	}
	if l.end == 0 {
		if err := l.startFromAnchor(size); err != nil {
			return err
		}
		if l.end == size {
			return nil
		}
	}
	r := bufio.NewReaderSize(io.NewSectionReader(l.f, l.end, size-l.end), 64<<10)
	var buf []byte
	for {
		rec, n, err := readAuditRecord(r, &buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			// A record cut short by a crash, or the zeros a file system
			// can leave after a power cut: nothing was answered for it (the
			// append had not returned). A writer removes it; a reader
			// stops before it (a write may be under way).
			torn := errors.Is(err, errTorn)
			if torn {
				// A write a crash cut short leaves the start of one
				// record at the end. A whole record after it means the
				// bytes were changed, not cut: a record's length made
				// larger by hand reads as a record the file ends inside.
				var after int64
				if l.has {
					after = l.tail.Seq
				}
				later, lerr := nextWholeRecord(l.f, l.end, size, after)
				if lerr != nil {
					return fmt.Errorf("audit log of %s: %w", l.tenant, lerr)
				}
				if later >= 0 {
					// Only whole records from there to the end are records
					// written after it; one alone may be the bytes of a
					// record's own data (a screened name can hold any
					// bytes) inside a write a crash cut short.
					if later, lerr = recordsToEnd(l.f, later, size); lerr != nil {
						return fmt.Errorf("audit log of %s: %w", l.tenant, lerr)
					}
				}
				if later >= 0 {
					return fmt.Errorf("audit log of %s is damaged at byte %d (a whole record follows at byte %d: the bytes were changed, not cut short by a crash; run tidewatch audit verify --tenant %s; restore the log from a backup to write to it again): %w", l.tenant, l.end, later, l.tenant, errDamaged)
				}
			}
			if !torn {
				z, zerr := zerosFrom(l.f, l.end, size)
				if zerr != nil {
					return fmt.Errorf("audit log of %s: %w", l.tenant, zerr)
				}
				torn = z
			}
			if !torn {
				return fmt.Errorf("audit log of %s is damaged at byte %d (run tidewatch audit verify --tenant %s; restore the log from a backup to write to it again): %w", l.tenant, l.end, l.tenant, err)
			}
			if exclusive {
				// Moved aside, never deleted: a crash leaves a fragment of a
				// record nobody was answered for, but a file cut by hand
				// leaves part of a record that was, and its bytes are
				// evidence (verify reports what the anchor misses).
				aside, err := l.cutAside(size)
				if err != nil {
					return fmt.Errorf("audit log of %s: move a record cut short aside: %w", l.tenant, err)
				}
				slog.Warn("audit log: a record cut short at the end (a crash during a write, or the file cut) moved aside; the log goes on from the last whole record",
					"tenant", l.tenant, "offset", l.end, "bytes", size-l.end, "file", aside)
			}
			break
		}
		l.end += n
		l.tail, l.has = rec, true
		l.tail.Tenant = l.tenant
	}
	return nil
}

var errTorn = errors.New("record cut short")

// startFromAnchor finds the record the anchor names near the end of the
// log (its sequence number and hash, its length and CRC-32C right) and
// takes it as read: l.end is set after it, so the records after it (a
// crash between an append's records and its anchor leaves some, and
// maybe a record cut short) are read from there and the log is not read
// from its start. Reading every record took 10 s at the first append
// after a start for a log of 6.4 GB (14.9 M screenings: a busy year).
// When the anchor's record is not within the last 64 MiB (an anchor
// behind or ahead of a log edited by hand, removed, or remade), l.end
// stays 0 and the whole log is read, as before. The records before the
// anchor's are not read: bytes changed there are found by verify
// (tidewatch audit verify), which reads every record past any damage and
// reports it, as it always found the edits that keep the framing.
func (l *tenantLog) startFromAnchor(size int64) error {
	anc, err := l.readAnchor()
	if err != nil || anc.Seq == 0 || anc.Hash == "" {
		return nil // an anchor that cannot be read: the whole log says
	}
	hash := []byte(anc.Hash)
	var buf []byte
	for window := int64(64 << 10); ; window *= 16 {
		window = min(window, size, 64<<20)
		if cap(buf) < int(window) {
			buf = make([]byte, window)
		}
		b := buf[:window]
		base := size - window
		if _, err := l.f.ReadAt(b, base); err != nil {
			return fmt.Errorf("audit log of %s: %w", l.tenant, err)
		}
		// The hash is a record's last field: each place it is found (the
		// record's own, and the next record's previous-hash) may end
		// the record, whose header then gives its length as the distance.
		for lim := len(b); ; {
			i := bytes.LastIndex(b[:lim], hash)
			if i < 0 {
				break
			}
			lim = i + len(hash) - 1
			e := i + len(hash)
			for p := e - 8 - len(hash); p >= 0 && e-p-8 <= maxAuditRecord; p-- {
				if int(binary.LittleEndian.Uint32(b[p:])) != e-p-8 || binary.LittleEndian.Uint32(b[p+4:]) != crc32.Checksum(b[p+8:e], crcTable) {
					continue
				}
				rec, err := decodeAuditRecord(b[p+8 : e])
				if err != nil || rec.Seq != anc.Seq || rec.Hash != anc.Hash {
					continue
				}
				l.end, l.tail, l.has = base+int64(e), rec, true
				l.tail.Tenant = l.tenant
				l.anchorAt, l.anchorSeq = l.end, rec.Seq
				return nil
			}
		}
		if window == size || window == 64<<20 {
			return nil
		}
	}
}

// heldIsLatest says whether the log file held open (of size bytes) ends
// with the record the tenant's anchor names (the anchor at its path, or
// the one held when that was removed too).
func (l *tenantLog) heldIsLatest(size int64) error {
	b, err := os.ReadFile(l.stem + ".anchor")
	if errors.Is(err, os.ErrNotExist) && l.anc != nil {
		buf := make([]byte, anchorSize)
		n, rerr := l.anc.ReadAt(buf, 0)
		if rerr != nil && rerr != io.EOF {
			return rerr
		}
		b, err = buf[:n], nil
	}
	if err != nil {
		return err
	}
	anc, err := parseAnchor(l.tenant, b)
	if err != nil {
		return err
	}
	_, last, _, err := summarise(io.NewSectionReader(l.f, 0, size))
	if err != nil {
		return err
	}
	if anc.Seq != last.Seq || anc.Hash != last.Hash {
		return fmt.Errorf("it ends at record %d where the anchor names record %d", last.Seq, anc.Seq)
	}
	return nil
}

// restoreRemoved writes a file of the log held open (the log or its
// anchor) whose path was removed to a new file linked at the path (if
// the path is still free: another process may have put it back first),
// and warns.
func (l *tenantLog) restoreRemoved(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	dir := filepath.Dir(l.stem)
	tmp, err := os.CreateTemp(dir, filepath.Base(l.stem)+".restore-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, io.NewSectionReader(f, 0, fi.Size())); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	// A hard link fails when the path exists: never over a file another
	// process put back.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil
		}
		return err
	}
	syncDir(dir)
	slog.Warn("audit log: a file of the log was removed while open; written back to its path from the file held open",
		"tenant", l.tenant, "file", path, "bytes", fi.Size())
	return nil
}

// cutAside copies the bytes from the last whole record to size into a
// file of their own beside the log (TENANT.cut-OFFSET-*), fsynced, then
// cuts them from the log.
func (l *tenantLog) cutAside(size int64) (string, error) {
	b := make([]byte, size-l.end)
	if _, err := l.f.ReadAt(b, l.end); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(filepath.Dir(l.stem), fmt.Sprintf("%s.cut-%d-*", filepath.Base(l.stem), l.end))
	if err != nil {
		return "", err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if e := f.Close(); err == nil {
		err = e
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	syncDir(filepath.Dir(l.stem))
	return f.Name(), l.f.Truncate(l.end)
}

// recordsToEnd returns off when whole records follow one another from
// off to end exactly, else -1.
func recordsToEnd(f *os.File, off, end int64) (int64, error) {
	r := bufio.NewReaderSize(io.NewSectionReader(f, off, end-off), 64<<10)
	var buf []byte
	for {
		_, _, err := readAuditRecord(r, &buf)
		if err == io.EOF {
			return off, nil
		}
		if err != nil {
			return -1, nil
		}
	}
}

// zerosFrom says whether the file holds only zero bytes from off to end.
func zerosFrom(f *os.File, off, end int64) (bool, error) {
	r := bufio.NewReader(io.NewSectionReader(f, off, end-off))
	for {
		c, err := r.ReadByte()
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if c != 0 {
			return false, nil
		}
	}
}

// readAuditRecord reads one record and the bytes it took: io.EOF at a
// clean end, errTorn for a record the file ends inside of (a write a
// crash cut short, or one being written now), errDamaged for bytes that
// are not a record.
func readAuditRecord(r *bufio.Reader, buf *[]byte) (store.AuditRecord, int64, error) {
	var rec store.AuditRecord
	var hdr [8]byte
	n, err := io.ReadFull(r, hdr[:])
	if err == io.EOF {
		return rec, 0, io.EOF
	}
	if err != nil {
		return rec, 0, errTorn
	}
	size := binary.LittleEndian.Uint32(hdr[:4])
	if size == 0 || size > maxAuditRecord {
		return rec, 0, errDamaged
	}
	if cap(*buf) < int(size) {
		*buf = make([]byte, size)
	}
	p := (*buf)[:size]
	if _, err := io.ReadFull(r, p); err != nil {
		return rec, 0, errTorn
	}
	// A record whose checksum fails but which decodes is read as it is:
	// its hash, not the checksum, says whether it was altered.
	if rec, err = decodeAuditRecord(p); err != nil {
		return rec, 0, err
	}
	return rec, int64(n) + int64(size), nil
}

var errDamaged = errors.New("damaged: not an audit record")

func decodeAuditRecord(p []byte) (store.AuditRecord, error) {
	var r store.AuditRecord
	bad := errDamaged
	seq, k := binary.Uvarint(p)
	if k <= 0 {
		return r, bad
	}
	p = p[k:]
	t, k := binary.Varint(p)
	if k <= 0 {
		return r, bad
	}
	p = p[k:]
	r.Seq, r.Time = int64(seq), fromMS(t)
	var fields [6][]byte
	for i := range fields {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return r, bad
		}
		fields[i] = p[k : k+int(n)]
		p = p[k+int(n):]
	}
	if len(p) != 0 {
		return r, bad
	}
	r.Actor, r.Action, r.Subject = string(fields[0]), string(fields[1]), string(fields[2])
	if len(fields[3]) > 0 {
		r.Data = append([]byte(nil), fields[3]...)
	}
	r.Prev, r.Hash = string(fields[4]), string(fields[5])
	return r, nil
}

func appendAuditRecord(b []byte, r store.AuditRecord) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0)
	b = binary.AppendUvarint(b, uint64(r.Seq))
	b = binary.AppendVarint(b, ms(r.Time))
	for _, s := range [...]string{r.Actor, r.Action, r.Subject, string(r.Data), r.Prev, r.Hash} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	p := b[start+8:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(p)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(p, crcTable))
	return b
}

// The anchor file holds "SEQ HASH RECORDS\n", padded with spaces to a
// fixed size so that one write at offset 0 replaces it.
const anchorSize = 128

func (l *tenantLog) readAnchor() (store.AuditAnchor, error) {
	if l.anc == nil {
		return store.AuditAnchor{}, nil
	}
	var b [anchorSize]byte
	n, err := l.anc.ReadAt(b[:], 0)
	if err != nil && err != io.EOF {
		return store.AuditAnchor{}, fmt.Errorf("audit anchor of %s: %w", l.tenant, err)
	}
	return parseAnchor(l.tenant, b[:n])
}

// parseAnchor reads an anchor file's text: "SEQ HASH RECORDS", and
// "remade=UNIXMS" after them when the anchor was made again from the log
// (catchUp).
func parseAnchor(tenant string, b []byte) (store.AuditAnchor, error) {
	var a store.AuditAnchor
	if len(b) == 0 {
		return a, nil
	}
	f := strings.Fields(string(b))
	bad := func() error { return fmt.Errorf("audit anchor of %s: damaged (%q)", tenant, b) } // made only when needed: an append reads the anchor
	if len(f) != 3 && len(f) != 4 {
		return a, bad()
	}
	seq, err1 := strconv.ParseInt(f[0], 10, 64)
	recs, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil {
		return a, bad()
	}
	a.Seq, a.Hash, a.Records = seq, f[1], recs
	if a.Hash == "-" {
		a.Hash = ""
	}
	if len(f) == 4 {
		v, ok := strings.CutPrefix(f[3], "remade=")
		t, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			return a, bad()
		}
		a.Remade = fromMS(t)
	}
	return a, nil
}

func (l *tenantLog) writeAnchor(a store.AuditAnchor) error {
	h := a.Hash
	if h == "" {
		h = "-"
	}
	b := l.ancBuf[:0]
	b = strconv.AppendInt(b, a.Seq, 10)
	b = append(b, ' ')
	b = append(b, h...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, a.Records, 10)
	if !a.Remade.IsZero() {
		b = append(b, " remade="...)
		b = strconv.AppendInt(b, ms(a.Remade), 10)
	}
	for len(b) < anchorSize-1 {
		b = append(b, ' ')
	}
	b = append(b, '\n')
	l.ancBuf = b
	if len(b) != anchorSize {
		return fmt.Errorf("audit anchor of %s: %d bytes, more than %d", l.tenant, len(b), anchorSize)
	}
	if _, err := l.anc.WriteAt(b, 0); err != nil {
		return fmt.Errorf("audit anchor of %s: %w", l.tenant, err)
	}
	return nil
}

// tailOf returns the tenant's last record.
func (a *auditFiles) tailOf(tenant string) (store.AuditRecord, error) {
	var tail store.AuditRecord
	err := a.locked(tenant, false, false, func(l *tenantLog) error {
		if !l.has {
			return errNoLog
		}
		tail = l.tail
		return nil
	})
	if errors.Is(err, errNoLog) {
		err = store.ErrNotFound
	}
	return tail, err
}

// appendRecords appends rs (grouped by tenant, in order): every tenant's
// records must follow its tail (else ErrConflict and nothing is written);
// a write that fails takes back what the group wrote to every tenant.
func (a *auditFiles) appendRecords(rs []store.AuditRecord) error {
	if a.readOnly {
		return ErrReadOnly
	}
	// Each tenant's records, in the order given (one tenant, the usual
	// group of a server's screenings, without a copy).
	var order []string
	by := map[string][]store.AuditRecord{}
	one := true
	for _, r := range rs[1:] {
		one = one && r.Tenant == rs[0].Tenant
	}
	if one {
		order, by[rs[0].Tenant] = []string{rs[0].Tenant}, rs
	} else {
		for _, r := range rs {
			if _, ok := by[r.Tenant]; !ok {
				order = append(order, r.Tenant)
			}
			by[r.Tenant] = append(by[r.Tenant], r)
		}
	}
	// Locks in one order, so two groups never wait on each other.
	sorted := append([]string(nil), order...)
	sort.Strings(sorted)
	logs := make([]*tenantLog, 0, len(sorted))
	defer func() {
		for i := len(logs) - 1; i >= 0; i-- {
			logs[i].unlockFile()
			logs[i].mu.Unlock()
		}
	}()
	for _, t := range sorted {
		l, err := a.log(t, true)
		if err != nil {
			return fmt.Errorf("audit log of %s: %w", t, err)
		}
		l.mu.Lock()
		if err := l.lockFile(true); err != nil {
			l.mu.Unlock()
			return err
		}
		logs = append(logs, l)
		tail := int64(0)
		if l.has {
			tail = l.tail.Seq
		}
		if first := by[t][0]; first.Seq != tail+1 {
			return fmt.Errorf("append audit record %d of %s: the log's tail is %d: %w", first.Seq, t, tail, store.ErrConflict)
		}
		for i, r := range by[t][1:] {
			if r.Seq != by[t][i].Seq+1 {
				return fmt.Errorf("append audit record %d of %s after %d: %w", r.Seq, t, by[t][i].Seq, store.ErrConflict)
			}
		}
	}
	type undo struct {
		l   *tenantLog
		end int64
		anc store.AuditAnchor
	}
	var done []undo
	fail := func(err error) error {
		for _, u := range done {
			if e := u.l.f.Truncate(u.end); e != nil {
				slog.Error("audit log: could not take back a failed group's records", "tenant", u.l.tenant, "error", e)
			}
			u.l.writeAnchor(u.anc)
			u.l.end, u.l.has = 0, false // read again at the next lock
		}
		return err
	}
	for _, t := range order {
		var l *tenantLog
		for _, x := range logs {
			if x.tenant == t {
				l = x
			}
		}
		anc, err := l.readAnchor()
		if err != nil {
			return fail(err)
		}
		if l.end == 0 {
			// A log's first records: an anchor of nothing first, so that
			// a crash between the records and their anchor leaves an
			// anchor behind them (caught up), never none (which only a
			// removal leaves, and verify reports).
			if empty, err := l.anchorEmpty(); err != nil {
				return fail(err)
			} else if empty {
				if err := l.writeAnchor(anc); err != nil {
					return fail(err)
				}
			}
		}
		done = append(done, undo{l, l.end, anc})
		b := l.buf[:0]
		for _, r := range by[t] {
			b = appendAuditRecord(b, r)
		}
		l.buf = b
		if _, err := l.f.WriteAt(b, l.end); err != nil {
			return fail(fmt.Errorf("append audit records of %s: %w", t, err))
		}
		if crashBeforeAnchor != nil {
			crashBeforeAnchor()
		}
		last := by[t][len(by[t])-1]
		anc.Seq, anc.Hash, anc.Records = last.Seq, last.Hash, anc.Records+int64(len(by[t]))
		if err := l.writeAnchor(anc); err != nil {
			return fail(err)
		}
		l.end += int64(len(b))
		l.tail, l.has = last, true
		l.dirty = true
		if cap(l.buf) > 1<<20 {
			l.buf = nil
		}
	}
	return nil
}

// crashBeforeAnchor, set by tests, runs between an append's records and
// its anchor (a test panics in it to stand for a process killed there).
var crashBeforeAnchor func()

// records streams the tenant's records, in order, as far as the log
// reached when the read began (appends made meanwhile are not seen; a
// prune meanwhile does not disturb it: the read holds the file it began).
func (a *auditFiles) records(ctx context.Context, tenant string, fn func(store.AuditRecord) error) error {
	var f *os.File
	var end int64
	err := a.locked(tenant, false, false, func(l *tenantLog) error {
		// The file opened must be the one read to end.
		o, err := os.Open(l.stem + ".log")
		if err != nil {
			return err
		}
		oi, err1 := o.Stat()
		li, err2 := l.f.Stat()
		if err := errors.Join(err1, err2); err != nil || !os.SameFile(oi, li) {
			o.Close()
			return cmp.Or(err, errors.New("replaced while opened"))
		}
		f, end = o, l.end
		return nil
	})
	if errors.Is(err, errNoLog) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit log of %s: %w", tenant, err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, end), 64<<10)
	var buf []byte
	var off, last int64
	var damage *store.AuditDamage
	for i := 0; ; i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, n, err := readAuditRecord(r, &buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			// Bytes that are not records (the log's end as this process
			// read it is a whole record's: a write a crash cut short is
			// not in [0, end)): read on from the next whole record, so
			// that verify sees every record and says where the damage is.
			next, nerr := nextWholeRecord(f, off, end, last)
			if nerr != nil {
				return fmt.Errorf("audit log of %s at byte %d: %w", tenant, off, nerr)
			}
			if damage == nil {
				damage = &store.AuditDamage{Tenant: tenant}
			}
			rg := store.DamagedRange{From: off, To: next, After: last}
			if next < 0 {
				rg.To, rg.AtEnd = end, true
				damage.Ranges = append(damage.Ranges, rg)
				break
			}
			damage.Ranges = append(damage.Ranges, rg)
			off = next
			r.Reset(io.NewSectionReader(f, off, end-off))
			continue
		}
		off += n
		last = rec.Seq
		rec.Tenant = tenant
		if err := fn(rec); err != nil {
			return err
		}
	}
	if damage != nil {
		return damage
	}
	return nil
}

// nextWholeRecord returns the offset of the first whole record (its
// length within the log, its checksum right, its payload a record) that
// starts after off and ends by end, or -1; after is the number of the
// last record read before off. It reads the log in windows, so a log of
// any size is searched in bounded memory; a candidate must carry a number
// after that record's and a time in a plausible range before its checksum
// is computed (a random length would otherwise make it read up to
// maxAuditRecord bytes at each byte of the damage).
func nextWholeRecord(f *os.File, off, end, after int64) (int64, error) {
	const window = 1 << 20
	b := make([]byte, window+64) // a header and the numbers after it, for a record starting at the window's last byte
	var payload []byte
	for base := off + 1; base+8 <= end; base += window {
		n, err := f.ReadAt(b[:min(int64(len(b)), end-base)], base)
		if err != nil && err != io.EOF {
			return 0, err
		}
		w := b[:n]
		for p := 0; p < window && p+8+3 <= len(w); p++ {
			size := int64(binary.LittleEndian.Uint32(w[p:]))
			start := base + int64(p)
			if size < 3 || size > maxAuditRecord || start+8+size > end {
				continue
			}
			head := w[p+8:]
			seq, k := binary.Uvarint(head)
			if k <= 0 || int64(seq) <= after || int64(seq) > after+1<<40 {
				continue
			}
			if t, k2 := binary.Varint(head[k:]); k2 <= 0 || t < 946684800000 || t > 7258118400000 { // 2000 to 2200
				continue
			}
			if p+8+int(size) <= len(w) {
				payload = w[p+8 : p+8+int(size)]
			} else {
				payload = make([]byte, size)
				if _, err := f.ReadAt(payload, start+8); err != nil && err != io.EOF {
					return 0, err
				}
			}
			if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(w[p+4:]) {
				continue
			}
			if _, err := decodeAuditRecord(payload); err == nil {
				return start, nil
			}
		}
	}
	return -1, nil
}

func (a *auditFiles) anchor(tenant string) (store.AuditAnchor, error) {
	var anc store.AuditAnchor
	err := a.locked(tenant, false, false, func(l *tenantLog) (err error) {
		anc, err = l.readAnchor()
		return err
	})
	if errors.Is(err, errNoLog) {
		// No log: an anchor alone (its log removed) is still the record
		// of what the log held, for verify to hold the log to.
		b, rerr := os.ReadFile(stemOf(a.dir, tenant) + ".anchor")
		if rerr != nil {
			return anc, nil
		}
		return parseAnchor(tenant, b)
	}
	return anc, err
}

// prune rewrites the tenant's log without its records through seq (a new
// file, fsynced, renamed over the old) and lowers the anchor's count.
func (a *auditFiles) prune(tenant string, through int64) error {
	if a.readOnly {
		return ErrReadOnly
	}
	err := a.locked(tenant, false, true, func(l *tenantLog) error { return l.prune(through) })
	if errors.Is(err, errNoLog) {
		err = nil
	}
	return err
}

func (l *tenantLog) prune(through int64) error {
	tenant := l.tenant
	tmp, err := os.CreateTemp(filepath.Dir(l.stem), filepath.Base(l.stem)+".prune-*")
	if err != nil {
		return fmt.Errorf("prune audit log of %s: %w", tenant, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	w := bufio.NewWriterSize(tmp, 64<<10)
	r := bufio.NewReaderSize(io.NewSectionReader(l.f, 0, l.end), 64<<10)
	var buf, out []byte
	var dropped int64
	for {
		rec, _, err := readAuditRecord(r, &buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("prune audit log of %s: %w", tenant, err)
		}
		if rec.Seq <= through {
			dropped++
			continue
		}
		out = appendAuditRecord(out[:0], rec)
		if _, err := w.Write(out); err != nil {
			return fmt.Errorf("prune audit log of %s: %w", tenant, err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("prune audit log of %s: %w", tenant, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("prune audit log of %s: %w", tenant, err)
	}
	anc, err := l.readAnchor()
	if err != nil {
		return err
	}
	// The anchor moves first: a crash between the two leaves a count too
	// low for the longer log (verify reports it), never a shortened log
	// that looks whole.
	anc.Records -= dropped
	if err := l.writeAnchor(anc); err != nil {
		return err
	}
	if err := l.anc.Sync(); err != nil {
		return fmt.Errorf("prune audit log of %s: %w", tenant, err)
	}
	if err := os.Rename(tmp.Name(), l.stem+".log"); err != nil {
		return fmt.Errorf("prune audit log of %s: %w", tenant, err)
	}
	syncDir(filepath.Dir(l.stem))
	return l.refresh(true)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// syncLoop fsyncs the logs written since the last round.
func (a *auditFiles) syncLoop() {
	defer close(a.done)
	t := time.NewTicker(auditSyncEvery)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			a.syncAll()
			return
		case <-t.C:
			a.syncAll()
		}
	}
}

func (a *auditFiles) syncAll() {
	a.mu.Lock()
	logs := make([]*tenantLog, 0, len(a.logs))
	for _, l := range a.logs {
		logs = append(logs, l)
	}
	a.mu.Unlock()
	for _, l := range logs {
		l.mu.Lock()
		f, anc, dirty := l.f, l.anc, l.dirty
		l.dirty = false
		l.mu.Unlock()
		if !dirty {
			continue
		}
		// The log before its anchor: after a power cut the anchor never
		// names a record the log lost unless both were lost together.
		// A file closed meanwhile was replaced by a prune, which synced
		// its successor.
		if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
			slog.Error("audit log: fsync", "tenant", l.tenant, "error", err)
		}
		if err := anc.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
			slog.Error("audit anchor: fsync", "tenant", l.tenant, "error", err)
		}
	}
}

func (a *auditFiles) close() {
	a.closeOnce.Do(func() {
		if a.stop != nil {
			close(a.stop)
			<-a.done
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, l := range a.logs {
			l.mu.Lock()
			l.closeFiles()
			l.mu.Unlock()
		}
		a.logs = map[string]*tenantLog{}
	})
}

// tenants lists the tenants with a log.
func (a *auditFiles) tenants() ([]string, error) {
	es, err := os.ReadDir(a.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	// A tenant with an anchor and no log is listed too: its log was
	// removed, and verify and the store's counts must say so.
	var out []string
	seen := map[string]bool{}
	for _, e := range es {
		base, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok {
			base, ok = strings.CutSuffix(e.Name(), ".anchor")
		}
		if !ok {
			continue
		}
		if t, ok := tenantOf(base); ok && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// recover brings every tenant's anchor up to its log where a process
// stopped between writing records and writing the anchor (the records
// chain from the anchor's record), and removes records cut short.
func (a *auditFiles) recover(ctx context.Context) error {
	ts, err := a.tenants()
	if err != nil {
		return err
	}
	for _, t := range ts {
		// One tenant's damaged log must not stop the store opening for
		// the others: its appends and reads report the damage.
		if err := a.recoverTenant(ctx, t); err != nil {
			slog.Error("audit log: cannot be read to its end", "tenant", t, "error", err)
		}
	}
	return nil
}

func (a *auditFiles) recoverTenant(ctx context.Context, tenant string) error {
	return a.locked(tenant, true, true, func(l *tenantLog) error {
		// A prune or a put-back runs under this lock: files of theirs
		// found now were left by a process killed during one.
		removeLeftovers(l.stem, ".prune-*", ".restore-*")
		return l.catchUp()
	})
}

// removeLeftovers removes the temporary files a process killed while
// writing left beside a tenant's log (stem + each pattern).
func removeLeftovers(stem string, patterns ...string) {
	for _, p := range patterns {
		names, _ := filepath.Glob(stem + p)
		for _, n := range names {
			if err := os.Remove(n); err == nil {
				slog.Info("audit log: removed a temporary file a stopped process left", "file", n)
			}
		}
	}
}

// catchUp moves the anchor to the records after it that continue its
// chain (recover).
func (l *tenantLog) catchUp() error {
	tenant := l.tenant
	anc, err := l.readAnchor()
	if err != nil || !l.has {
		return err
	}
	if anc.Seq == l.tail.Seq && anc.Hash != "" && anc.Hash != l.tail.Hash {
		// The last record is not the one the anchor recorded: changed or
		// replaced. An append would chain to it and its anchor would
		// name the new record, leaving verify nothing to compare.
		return fmt.Errorf("audit log of %s: its last record (%d) is not the one its anchor recorded (hash %.12s, the log's %.12s): changed or replaced, so nothing is appended after it; run tidewatch audit verify --tenant %s and restore the log from a backup", tenant, l.tail.Seq, anc.Hash, l.tail.Hash, tenant)
	}
	if anc.Seq >= l.tail.Seq {
		return nil
	}
	// Records after the anchor: do they continue its chain? From the
	// anchor's record when the store found it at open, else from the
	// log's start.
	var linked bool
	var after, from int64
	if l.anchorAt > 0 && l.anchorSeq == anc.Seq {
		from = l.anchorAt
	}
	r := bufio.NewReaderSize(io.NewSectionReader(l.f, from, l.end-from), 64<<10)
	var buf []byte
	for {
		rec, _, err := readAuditRecord(r, &buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("audit log of %s: %w", tenant, err)
		}
		switch {
		case rec.Seq == anc.Seq+1 && rec.Prev == anc.Hash:
			linked = true
			after++
		case rec.Seq > anc.Seq+1 && linked:
			after++
		}
	}
	if !linked || after != l.tail.Seq-anc.Seq {
		return nil // not the log's own records: verify reports them
	}
	if empty, err := l.anchorEmpty(); err != nil {
		return err
	} else if empty {
		// No anchor at all beside records (a log's first append writes
		// an anchor of nothing before its records, so a crash cannot
		// leave this): the anchor was removed or emptied, perhaps with
		// records cut from the log's end. The anchor made from the log
		// says so for good (verify reports it).
		anc.Remade = time.Now().UTC().Truncate(time.Millisecond)
		slog.Warn("audit log: no anchor beside a log of records (the anchor file removed or emptied): made again from the log; verify reports that records cut from its end before now cannot be told",
			"tenant", tenant, "log", l.tail.Seq)
	} else {
		slog.Warn("audit log: the anchor was behind the log's last records (a process stopped between writing them and their anchor): moved to them",
			"tenant", tenant, "anchor", anc.Seq, "log", l.tail.Seq)
	}
	anc.Seq, anc.Hash, anc.Records = l.tail.Seq, l.tail.Hash, anc.Records+after
	if err := l.writeAnchor(anc); err != nil {
		return err
	}
	l.dirty = true
	return nil
}

// anchorEmpty says whether the anchor file holds nothing (made, never
// written, or emptied).
func (l *tenantLog) anchorEmpty() (bool, error) {
	if l.anc == nil {
		return true, nil
	}
	fi, err := l.anc.Stat()
	if err != nil {
		return false, err
	}
	return fi.Size() == 0, nil
}

// count is the records every tenant's anchor counts, and the bytes of
// the logs.
func (a *auditFiles) count() (n, bytes int64, err error) {
	ts, err := a.tenants()
	if err != nil {
		return 0, 0, err
	}
	for _, t := range ts {
		anc, err := a.anchor(t)
		if err != nil {
			return 0, 0, err
		}
		n += anc.Records
		if fi, err := os.Stat(stemOf(a.dir, t) + ".log"); err == nil {
			bytes += fi.Size()
		}
	}
	return n, bytes, nil
}

// moveAuditTable moves a log kept in the database by earlier versions
// into the files: each tenant's records and anchor are written to new
// files (fsynced, renamed in), then the table's rows deleted in one
// transaction. Until that delete the table is the log: a move cut short
// is done again from it at the next open.
func (s *DB) moveAuditTable(ctx context.Context) error {
	var any int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM audit LIMIT 1)`).Scan(&any); err != nil || any == 0 {
		return err
	}
	// One process moves it; another opening the store at once waits.
	var unlock func() error
	for deadline := time.Now().Add(30 * time.Second); ; {
		u, err := s.LockIngest(ctx, "audit-move")
		if err == nil {
			unlock = u
			break
		}
		if !errors.Is(err, store.ErrLocked) || time.Now().After(deadline) {
			return fmt.Errorf("move the audit log out of the database: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	defer unlock()
	// A move killed part-way left its temporary files (done again now).
	removeLeftovers(s.audit.dir+string(os.PathSeparator), "*.move-*")
	rows, err := s.w.QueryContext(ctx, `SELECT DISTINCT tenant FROM audit ORDER BY tenant`)
	if err != nil {
		return err
	}
	var tenants []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tenants = append(tenants, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var moved int64
	for _, t := range tenants {
		n, err := s.moveAuditTenant(ctx, t)
		if err != nil {
			return fmt.Errorf("move the audit log of %s out of the database: %w", t, err)
		}
		moved += n
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM audit; DELETE FROM audit_anchor`); err != nil {
		return fmt.Errorf("move the audit log out of the database: %w", err)
	}
	slog.Info("audit log moved out of the database into files", "records", moved, "tenants", len(tenants), "dir", s.audit.dir)
	return nil
}

func (s *DB) moveAuditTenant(ctx context.Context, tenant string) (int64, error) {
	stem := stemOf(s.audit.dir, tenant)
	tmp, err := os.CreateTemp(s.audit.dir, filepath.Base(stem)+".move-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	w := bufio.NewWriterSize(tmp, 256<<10)
	rows, err := s.w.QueryContext(ctx, `SELECT seq, time_ms, actor, action, subject, data, prev, hash FROM audit WHERE tenant = ? ORDER BY seq`, tenant)
	if err != nil {
		return 0, err
	}
	var n int64
	var first, last store.AuditRecord
	var b []byte
	for rows.Next() {
		var r store.AuditRecord
		var t int64
		var data []byte
		if err := rows.Scan(&r.Seq, &t, &r.Actor, &r.Action, &r.Subject, &data, &r.Prev, &r.Hash); err != nil {
			rows.Close()
			return 0, err
		}
		r.Time, r.Data = fromMS(t), data
		b = appendAuditRecord(b[:0], r)
		if _, err := w.Write(b); err != nil {
			rows.Close()
			return 0, err
		}
		if n == 0 {
			first = r
		}
		last = r
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	anc := store.AuditAnchor{Seq: last.Seq, Hash: last.Hash, Records: n}
	err = s.w.QueryRowContext(ctx, `SELECT seq, hash, records FROM audit_anchor WHERE tenant = ?`, tenant).Scan(&anc.Seq, &anc.Hash, &anc.Records)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	// A log already in the files that is not this one (it does not begin
	// with the table's first record) was not left by a move cut short:
	// an older build, which kept its log in the table, wrote to the store
	// after the move and began a new log there. Both are records somebody
	// was answered for: the files' log stays the log, the table's goes
	// aside, whole, in a file of its own.
	if other, count, err := recordsOf(stem + ".log"); err != nil {
		return 0, err
	} else if other != nil && (other.Seq != first.Seq || other.Hash != first.Hash || count > n) {
		aside := fmt.Sprintf("%s.older-build-%d.log", stem, time.Now().UnixMilli())
		if err := os.Rename(tmp.Name(), aside); err != nil {
			return 0, err
		}
		syncDir(s.audit.dir)
		slog.Error("audit log: the database held records written by an older build after the log moved to files (it began a log of its own there): they are kept aside, not in the log; verify them with the file's own chain, and do not run older builds on this store",
			"tenant", tenant, "records", n, "first", first.Seq, "last", last.Seq, "file", aside)
		return n, nil
	}
	s.audit.mu.Lock()
	if l, ok := s.audit.logs[tenant]; ok {
		l.mu.Lock()
		l.closeFiles()
		l.mu.Unlock()
		delete(s.audit.logs, tenant)
	}
	s.audit.mu.Unlock()
	if err := os.Rename(tmp.Name(), stem+".log"); err != nil {
		return 0, err
	}
	l, err := s.audit.log(tenant, true)
	if err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writeAnchor(anc); err != nil {
		return 0, err
	}
	if err := l.anc.Sync(); err != nil {
		return 0, err
	}
	syncDir(s.audit.dir)
	return n, nil
}

// recordsOf reads a log file's first record and counts its records: nil
// when the file does not exist or holds none (a record cut short at its
// end is not counted).
func recordsOf(path string) (*store.AuditRecord, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	first, _, n, err := summarise(f)
	if err != nil {
		return nil, 0, fmt.Errorf("audit log %s: %w", path, err)
	}
	if n == 0 {
		return nil, 0, nil
	}
	return &first, n, nil
}

// summarise reads a log's records to the end (a record cut short there
// ends it) and gives its first and last and how many there are.
func summarise(r io.Reader) (first, last store.AuditRecord, n int64, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for {
		rec, _, err := readAuditRecord(br, &buf)
		if err == io.EOF || errors.Is(err, errTorn) {
			return first, last, n, nil
		}
		if err != nil {
			return first, last, n, err
		}
		if n == 0 {
			first = rec
		}
		last = rec
		n++
	}
}
