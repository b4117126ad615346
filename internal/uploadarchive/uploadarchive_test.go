package uploadarchive

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sumOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Plain bytes are kept gzipped, gzipped bytes as received; each reads back
// as received, once (a second Keep writes nothing); a wrong sum keeps
// nothing; Find and Usage see the files, not the temporaries.
func TestKeepOpenFind(t *testing.T) {
	ctx := context.Background()
	d := New(filepath.Join(t.TempDir(), "s.db.uploads"))
	plain := bytes.Repeat([]byte("!AIVDM,1,1,,A,15MgK45P3@G?fl0E`JbR0OwT0@MS,0*4E\n"), 1000)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	for _, b := range [][]byte{plain, gz.Bytes()} {
		sum := sumOf(b)
		n, err := d.Keep(ctx, sum, bytes.NewReader(b))
		if err != nil || n == 0 || n > int64(gz.Len())+64 {
			t.Fatalf("keep: %d bytes on disk, %v", n, err)
		}
		if n2, err := d.Keep(ctx, sum, strings.NewReader("not read")); err != nil || n2 != n {
			t.Errorf("kept again: %d %v", n2, err)
		}
		rc, err := d.Open(ctx, sum)
		if err != nil {
			t.Fatal(err)
		}
		back, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("read back %d bytes of %d: %v", len(back), len(b), err)
		}
		if found, _ := d.Find(ctx, sum[:16]); len(found) != 1 || found[0] != sum {
			t.Errorf("find: %v", found)
		}
	}
	if _, err := os.Stat(filepath.Join(d.Path(), sumOf(plain)+".gz")); err != nil {
		t.Errorf("plain bytes are not kept gzipped: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d.Path(), sumOf(gz.Bytes()))); err != nil {
		t.Errorf("gzipped bytes are not kept as received: %v", err)
	}
	wrong := sumOf([]byte("other"))
	if _, err := d.Keep(ctx, wrong, bytes.NewReader(plain)); err == nil {
		t.Error("bytes kept under another SHA-256")
	}
	if _, err := d.Open(ctx, wrong); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("open what is not kept: %v", err)
	}
	if _, err := d.Open(ctx, "../../etc/passwd"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("open a path: %v", err)
	}
	if files, size, err := d.Usage(); err != nil || files != 2 || size == 0 {
		t.Errorf("usage: %d files, %d bytes, %v", files, size, err)
	}
	entries, _ := os.ReadDir(d.Path())
	if len(entries) != 2 {
		t.Errorf("the folder holds %d entries (a temporary left?)", len(entries))
	}
	// An archive never written to is empty, not an error.
	empty := New(filepath.Join(t.TempDir(), "none"))
	if f, _ := empty.Find(ctx, "ab"); len(f) != 0 {
		t.Errorf("find in nothing: %v", f)
	}
	if n, _, err := empty.Usage(); n != 0 || err != nil {
		t.Errorf("usage of nothing: %d %v", n, err)
	}
}

// BenchmarkKeep keeps 16 MiB of NMEA text (gzip-compressed on the way).
func BenchmarkKeep(b *testing.B) {
	var text bytes.Buffer
	for i := 0; text.Len() < 16<<20; i++ {
		text.WriteString("\\s:2573485,c:1328054400*0B\\!AIVDM,1,1,,B,15MgK45P3@G?fl0E`JbR0OwT0@MS,0*4E\n")
		text.WriteString("!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24\n")
	}
	data := text.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		d := New(b.TempDir())
		if _, err := d.Keep(context.Background(), sumOf(data), bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
