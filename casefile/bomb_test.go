package casefile

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/ed25519"
	"errors"
	"hash/crc32"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// zeroDeflate is a deflate stream of mib MiB of zero bytes (one
// compressed MiB repeated, then an empty final block) and its CRC-32.
func zeroDeflate(mib int) ([]byte, uint32) {
	zeros := make([]byte, 1<<20)
	var blk bytes.Buffer
	fw, _ := flate.NewWriter(&blk, flate.BestCompression)
	fw.Write(zeros)
	fw.Flush()
	var out bytes.Buffer
	crc := uint32(0)
	for range mib {
		out.Write(blk.Bytes())
		crc = crc32.Update(crc, crc32.IEEETable, zeros)
	}
	fw, _ = flate.NewWriter(&out, flate.BestCompression)
	fw.Close()
	return out.Bytes(), crc
}

// bombZip is testBag's zip plus an entry data/ais/bomb.nmea of mib MiB
// of zeros whose directory says claim bytes (claim < 0: the truth).
func bombZip(t testing.TB, mib int, claim int64) []byte {
	t.Helper()
	good := zipOf(t, testBag(t))
	zr, err := zip.NewReader(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		zw.Copy(f)
	}
	comp, crc := zeroDeflate(mib)
	size := uint64(mib) << 20
	if claim >= 0 {
		size = uint64(claim)
	}
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "case/data/ais/bomb.nmea", Method: zip.Deflate, CRC32: crc, CompressedSize64: uint64(len(comp)), UncompressedSize64: size})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(comp)
	zw.Close()
	return out.Bytes()
}

// TestZipBombRefused: a 210 KiB package expanding to 200 MiB is refused
// with the server's limits before anything is inflated (50 times its
// size, 64 MiB at least), and an entry claiming less than it inflates to
// stops at its claim; with the default limits, read for verifying, the
// 200 MiB are hashed as they inflate, never held (allocations counted).
func TestZipBombRefused(t *testing.T) {
	bomb := bombZip(t, 200, -1)
	t.Logf("bomb: %d bytes, expands to 200 MiB", len(bomb))
	var le *LimitError
	if _, err := ReadZipWith(bomb, ReadOptions{Limits: ServerLimits, DigestPayload: true}); !errors.As(err, &le) || le.Limit != 64<<20 {
		t.Fatalf("server limits: %v", err)
	}
	if _, err := ReadZipWith(bomb, ReadOptions{Limits: Limits{BagBytes: 100 << 20}}); !errors.As(err, &le) {
		t.Errorf("100 MiB limit: %v", err)
	}
	// Claims 1 MiB, inflates to 300: read to 1 MiB and a byte, no more.
	_, err := ReadZipWith(bombZip(t, 300, 1<<20), ReadOptions{Limits: ServerLimits})
	var ee *EntryError
	if !errors.As(err, &ee) || ee.Name != "data/ais/bomb.nmea" || !strings.Contains(err.Error(), "more than the 1048576 bytes the archive says") {
		t.Errorf("a lying size: %v", err)
	}
	// Read for verifying: the payload hashed, not held.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b, err := ReadZipWith(bomb, ReadOptions{DigestPayload: true})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("reading a 200 MiB payload for verifying allocated %d MiB", alloc>>20)
	}
	r := Verify(b, nil)
	if r.Bytes < 200<<20 || !names(r, "data/ais/bomb.nmea") {
		t.Errorf("verify: %d bytes, problems %v", r.Bytes, r.Problems)
	}
	if err := b.WriteZip(&bytes.Buffer{}, "case", when); err == nil {
		t.Error("a digested bag was written")
	}
}

// TestDigestedVerifiesAlike: a package read for verifying (payload as
// digests) gives the same report as read whole, intact or tampered.
func TestDigestedVerifiesAlike(t *testing.T) {
	good := testBag(t)
	bad := good.Clone()
	bad.Put("data/events.jsonl", []byte("changed\n"))
	bad.Remove("data/empty.txt")
	for name, b := range map[string]*Bag{"intact": good, "tampered": bad} {
		z := zipOf(t, b)
		whole, err := ReadZip(z)
		if err != nil {
			t.Fatal(err)
		}
		dig, err := ReadZipWith(z, ReadOptions{DigestPayload: true, Limits: ServerLimits})
		if err != nil {
			t.Fatal(err)
		}
		if !dig.Digested() {
			t.Errorf("%s: nothing digested", name)
		}
		if _, ok := dig.File("data/events.jsonl"); ok {
			t.Errorf("%s: a payload file's bytes kept", name)
		}
		keys := []ed25519.PublicKey{pub(key(1))}
		rw, rd := Verify(whole, keys), Verify(dig, keys)
		if !reflect.DeepEqual(rw, rd) {
			t.Errorf("%s: whole %+v\ndigested %+v", name, rw, rd)
		}
		if (name == "intact") != rd.OK() {
			t.Errorf("%s: OK %v", name, rd.OK())
		}
	}
}
