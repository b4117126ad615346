package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/internal/web"
)

// countingBody is an upload form of a csrf field and a file of size
// bytes, counting what the server took of it.
type countingBody struct {
	head, tail string
	size, read int64
	off        int
}

func (b *countingBody) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		switch {
		case b.off < len(b.head):
			k := copy(p[n:], b.head[b.off:])
			b.off += k
			n += k
		case b.size > 0:
			k := int(min(int64(len(p)-n), b.size))
			for i := range k {
				p[n+i] = 'x'
			}
			b.size -= int64(k)
			n += k
		case b.off-len(b.head) < len(b.tail):
			k := copy(p[n:], b.tail[b.off-len(b.head):])
			b.off += k
			n += k
		default:
			b.read += int64(n)
			return n, io.EOF
		}
	}
	b.read += int64(n)
	return n, nil
}

// TestUploadBodyBounded: a web upload far larger than MaxUpload is
// answered 413 once the limit is passed: the CSRF check, which reads the
// form before the handler, does not read (to temporary files) the whole
// body first.
func TestUploadBodyBounded(t *testing.T) {
	f := getFixture(t)
	srv := httptest.NewServer(web.New(f.svc, web.Options{MaxUpload: 1 << 20}))
	defer srv.Close()
	a := newClient(t, f)
	a.base = srv.URL
	a.login("local", "analyst", password)
	const size = 96 << 20
	boundary := "tidewatch-test-boundary"
	body := &countingBody{size: size,
		head: fmt.Sprintf("--%s\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n%s\r\n--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\nContent-Type: text/csv\r\n\r\n", boundary, a.csrf, boundary),
		tail: "\r\n--" + boundary + "--\r\n"}
	req, _ := http.NewRequest("POST", srv.URL+"/portfolios/"+aPortfolio+"/import", body)
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	resp, err := a.hc.Do(req)
	if err != nil {
		// The server may close the connection while the body is sent.
		if body.read >= size {
			t.Fatalf("the whole body was read before the answer: %v", err)
		}
		return
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "larger than") {
		t.Errorf("%d %.300s", resp.StatusCode, b)
	}
	if body.read >= size {
		t.Errorf("the server read the whole %d MiB body before answering", size>>20)
	}
	t.Logf("sent %d MiB of %d before the answer", body.read>>20, size>>20)
}
