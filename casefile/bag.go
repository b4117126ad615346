// Package casefile reads, writes, signs and verifies Tidewatch case
// files: a BagIt bag (RFC 8493) whose payload is the evidence about a
// vessel (raw AIS lines, list records, events, configuration, profile,
// report), an in-toto Statement (v1) naming every file of the bag by its
// SHA-256, and a DSSE envelope carrying the statement with one Ed25519
// signature per party that signed it. docs/cases.md describes the
// format, what is signed and how to check a package with standard tools.
//
// The package works on bytes in memory: a bag is a set of files by path.
// Reading a directory or a zip is bounded (files, sizes, paths) so a
// hostile package costs an error, never a crash or a full disk.
package casefile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Tag files at the bag's root.
const (
	BagItFile       = "bagit.txt"
	BagInfoFile     = "bag-info.txt"
	ManifestFile    = "manifest-sha256.txt"
	TagManifestFile = "tagmanifest-sha256.txt"
	// EnvelopeFile is the DSSE envelope; SignersFile says who holds each
	// key and when they signed. Both change as parties sign, so neither
	// is in the tag manifest (RFC 8493 says tag files SHOULD be listed:
	// these protect themselves with their signatures).
	EnvelopeFile = "case.dsse.json"
	SignersFile  = "signers.json"
)

// bagitText is bagit.txt: version 1.0, UTF-8 tag files.
const bagitText = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"

// Limits on what a bag may hold (a reader refuses more; the defaults of
// Limits).
const (
	MaxFiles     = 10000
	MaxFileBytes = 1 << 30
	MaxBagBytes  = 4 << 30
	maxPathLen   = 512
)

// Limits bound what a reader takes, counted in bytes actually read (an
// archive's claimed sizes are checked against them too); zero fields are
// the package maximums (MaxFiles, MaxFileBytes, MaxBagBytes).
type Limits struct {
	Files     int
	FileBytes int64 // one file
	BagBytes  int64 // every file together
	// Ratio, when set, bounds a zip's files together to Ratio times the
	// archive's size (or RatioFloor, if more): a small upload cannot
	// expand to the whole BagBytes (a zip bomb).
	Ratio      int64
	RatioFloor int64
}

// ServerLimits are what a server takes in an uploaded package: 256 MiB a
// file, 512 MiB in all, at most 50 times the upload (64 MiB at least).
var ServerLimits = Limits{Files: MaxFiles, FileBytes: 256 << 20, BagBytes: 512 << 20, Ratio: 50, RatioFloor: 64 << 20}

func (l Limits) withDefaults() Limits {
	if l.Files <= 0 || l.Files > MaxFiles {
		l.Files = MaxFiles
	}
	if l.FileBytes <= 0 || l.FileBytes > MaxFileBytes {
		l.FileBytes = MaxFileBytes
	}
	if l.BagBytes <= 0 || l.BagBytes > MaxBagBytes {
		l.BagBytes = MaxBagBytes
	}
	return l
}

// ReadOptions configure reading a package.
type ReadOptions struct {
	Limits Limits
	// DigestPayload keeps only the size and SHA-256 of the payload's
	// files (under data/), hashed as they are read: enough to Verify,
	// with memory for the tag files only. File, WriteZip and WriteDir do
	// not have such a file's bytes (File answers false, the writers
	// refuse).
	DigestPayload bool
}

// Bag is a bag's files by slash path from its root.
type Bag struct {
	files map[string][]byte
	// digests holds the files read as their size and SHA-256 only
	// (ReadOptions.DigestPayload).
	digests map[string]digest
}

type digest struct {
	size int64
	sum  [sha256.Size]byte
}

// has says whether the bag holds a file (bytes or digest).
func (b *Bag) has(p string) bool {
	if _, ok := b.files[p]; ok {
		return true
	}
	_, ok := b.digests[p]
	return ok
}

// sizeOf is a file's size in bytes.
func (b *Bag) sizeOf(p string) int64 {
	if d, ok := b.digests[p]; ok {
		return d.size
	}
	return int64(len(b.files[p]))
}

// sha256Of is a file's SHA-256.
func (b *Bag) sha256Of(p string) [sha256.Size]byte {
	if d, ok := b.digests[p]; ok {
		return d.sum
	}
	return sha256.Sum256(b.files[p])
}

// Paths lists the bag's files in byte order.
func (b *Bag) Paths() []string {
	out := make([]string, 0, len(b.files)+len(b.digests))
	for p := range b.files {
		out = append(out, p)
	}
	for p := range b.digests {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// File returns a file's bytes (nil, false when absent, or held as a
// digest only).
func (b *Bag) File(p string) ([]byte, bool) {
	d, ok := b.files[p]
	return d, ok
}

// Digested says whether some files of the bag are held as their digest
// only (read with ReadOptions.DigestPayload).
func (b *Bag) Digested() bool { return len(b.digests) > 0 }

// Size is the bytes of every file.
func (b *Bag) Size() int64 {
	var n int64
	for _, d := range b.files {
		n += int64(len(d))
	}
	for _, d := range b.digests {
		n += d.size
	}
	return n
}

// Clone copies the bag (its files' bytes are shared: they are never
// changed in place).
func (b *Bag) Clone() *Bag {
	c := &Bag{files: make(map[string][]byte, len(b.files))}
	for p, d := range b.files {
		c.files[p] = d
	}
	if len(b.digests) > 0 {
		c.digests = make(map[string]digest, len(b.digests))
		for p, d := range b.digests {
			c.digests[p] = d
		}
	}
	return c
}

// Put sets a file (tests tamper with bags through it).
func (b *Bag) Put(p string, data []byte) {
	delete(b.digests, p)
	b.files[p] = data
}

// Remove deletes a file.
func (b *Bag) Remove(p string) {
	delete(b.files, p)
	delete(b.digests, p)
}

// InfoField is one "Label: value" line of bag-info.txt.
type InfoField struct {
	Label, Value string
}

// New makes a bag of the payload (paths under data/) with bagit.txt,
// bag-info.txt (the fields given, then Payload-Oxum), the payload
// manifest and the tag manifest. The bytes depend only on the arguments.
func New(payload map[string][]byte, info []InfoField) (*Bag, error) {
	b := &Bag{files: map[string][]byte{}}
	var octets int64
	for p, d := range payload {
		if err := checkPath(p); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(p, "data/") {
			return nil, fmt.Errorf("payload file %q: payload paths start with data/", p)
		}
		b.files[p] = d
		octets += int64(len(d))
	}
	if len(payload) > MaxFiles {
		return nil, fmt.Errorf("%d payload files: at most %d", len(payload), MaxFiles)
	}
	b.files[BagItFile] = []byte(bagitText)
	var bi bytes.Buffer
	for _, f := range info {
		if strings.ContainsAny(f.Label, ":\r\n") || strings.TrimSpace(f.Label) == "" {
			return nil, fmt.Errorf("bag-info label %q", f.Label)
		}
		fmt.Fprintf(&bi, "%s: %s\n", f.Label, strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(f.Value))
	}
	fmt.Fprintf(&bi, "Payload-Oxum: %d.%d\n", octets, len(payload))
	b.files[BagInfoFile] = bi.Bytes()
	b.files[ManifestFile] = manifest(b, func(p string) bool { return strings.HasPrefix(p, "data/") })
	b.files[TagManifestFile] = manifest(b, func(p string) bool {
		return p == BagItFile || p == BagInfoFile || p == ManifestFile
	})
	return b, nil
}

// manifest writes "sha256  path" lines (two spaces: `sha256sum -c` reads
// them as they are) for the files keep selects, in path order.
func manifest(b *Bag, keep func(string) bool) []byte {
	var buf bytes.Buffer
	for _, p := range b.Paths() {
		if keep(p) {
			sum := sha256.Sum256(b.files[p])
			fmt.Fprintf(&buf, "%s  %s\n", hex.EncodeToString(sum[:]), encodePath(p))
		}
	}
	return buf.Bytes()
}

// encodePath percent-encodes a manifest path's CR, LF and % (RFC 8493
// section 2.1.3).
func encodePath(p string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(p)
}

func decodePath(p string) (string, error) {
	var out strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			out.WriteByte(p[i])
			continue
		}
		if i+2 >= len(p) {
			return "", errors.New("a bad percent-encoding")
		}
		switch strings.ToUpper(p[i+1 : i+3]) {
		case "25":
			out.WriteByte('%')
		case "0D":
			out.WriteByte('\r')
		case "0A":
			out.WriteByte('\n')
		default:
			return "", errors.New("a bad percent-encoding")
		}
		i += 2
	}
	return out.String(), nil
}

// checkPath refuses paths that could escape the bag or mean two things.
func checkPath(p string) error {
	switch {
	case p == "", len(p) > maxPathLen:
		return fmt.Errorf("path %.80q: empty or too long", p)
	case strings.HasPrefix(p, "/"), strings.Contains(p, `\`), strings.ContainsRune(p, 0):
		return fmt.Errorf("path %q: absolute, with a backslash or a NUL", p)
	case path.Clean(p) != p, p == ".", strings.HasPrefix(p, "../"), p == "..":
		return fmt.Errorf("path %q: not clean (.. or . or //)", p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("path %q: a control character", p)
		}
	}
	return nil
}

// manifestEntry is one line of a manifest.
type manifestEntry struct {
	sum  string
	path string
	line int
}

// parseManifest reads a manifest's lines; a malformed line is reported.
func parseManifest(data []byte) ([]manifestEntry, []string) {
	var out []manifestEntry
	var bad []string
	if len(data) > 0 && data[len(data)-1] != '\n' {
		bad = append(bad, "the last line has no newline")
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(data) == 0 {
		lines = nil
	}
	for i, l := range lines {
		sum, rest, ok := strings.Cut(l, " ")
		rest = strings.TrimLeft(rest, " \t")
		if !ok || len(sum) != 64 || rest == "" || strings.ContainsAny(l, "\r") {
			bad = append(bad, fmt.Sprintf("line %d: not \"SHA256  path\"", i+1))
			continue
		}
		if _, err := hex.DecodeString(sum); err != nil || strings.ToLower(sum) != sum {
			bad = append(bad, fmt.Sprintf("line %d: the checksum is not lower-case hex", i+1))
			continue
		}
		p, err := decodePath(rest)
		if err == nil {
			err = checkPath(p)
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("line %d: %v", i+1, err))
			continue
		}
		out = append(out, manifestEntry{sum: sum, path: p, line: i + 1})
	}
	return out, bad
}

// parseInfo reads bag-info.txt's "Label: value" lines (continuation
// lines start with white space).
func parseInfo(data []byte) ([]InfoField, []string) {
	var out []InfoField
	var bad []string
	for i, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if l == "" {
			bad = append(bad, fmt.Sprintf("line %d: empty", i+1))
			continue
		}
		if (l[0] == ' ' || l[0] == '\t') && len(out) > 0 {
			out[len(out)-1].Value += " " + strings.TrimSpace(l)
			continue
		}
		label, value, ok := strings.Cut(l, ":")
		if !ok || strings.TrimSpace(label) == "" {
			bad = append(bad, fmt.Sprintf("line %d: not \"Label: value\"", i+1))
			continue
		}
		out = append(out, InfoField{Label: label, Value: strings.TrimSpace(value)})
	}
	return out, bad
}

// oxum is "octets.streams" of the payload.
func (b *Bag) oxum() string {
	var octets int64
	n := 0
	for _, p := range b.Paths() {
		if strings.HasPrefix(p, "data/") {
			octets += b.sizeOf(p)
			n++
		}
	}
	return strconv.FormatInt(octets, 10) + "." + strconv.Itoa(n)
}

// Info returns bag-info.txt's fields (nil when absent or unreadable).
func (b *Bag) Info() []InfoField {
	fs, _ := parseInfo(b.files[BagInfoFile])
	return fs
}

// InfoValue is the first value of a bag-info label ("" when absent).
func (b *Bag) InfoValue(label string) string {
	for _, f := range b.Info() {
		if strings.EqualFold(f.Label, label) {
			return f.Value
		}
	}
	return ""
}
