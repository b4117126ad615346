package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

// slowScreenRequest decodes as decodeJSON does without the fast path.
func slowScreenRequest(b []byte) (ScreenRequest, bool) {
	var r ScreenRequest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil || dec.More() {
		return r, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return r, false
	}
	return r, true
}

var fastSeeds = []string{
	`{"type":"vessel","name":"CHON MA SAN"}`,
	`{"name":"JI SONG 6","imo":"8898818","mmsi":"445123000","call_sign":"HMYZ","flag":"KP","threshold":0.86,"limit":10,"all":true}`,
	` { "name" : "KUM UN SAN 3" , "all" : false , "limit" : 0 }  `,
	"{\"name\":\"é中\U0001F6A2 \u2028\",\"threshold\":1e-1}\n",
	`{}`,
	`{"threshold":-0,"limit":-0}`,
	`{"name":"A\"B"}`, `{"Name":"x"}`, `{"name":"x","name":"y"}`, `{"name":null}`, `{"name":1}`, `{"limit":1.5}`,
	`{"limit":01}`, `{"threshold":1e400}`, `{"name":"x"} {}`, `{"name":"x",}`, `{"all":tru}`, `{"limit":9223372036854775808}`,
	"{\"name\":\"\xff\"}", "{\"name\":\"a\tb\"}", `{"nope":1}`, `{"threshold":.5}`, `{"threshold":5.}`, `{"limit":1e2}`,
}

// The common requests take the fast path, and give what encoding/json
// gives; the others are left to it.
func TestScreenRequestFast(t *testing.T) {
	fast := 0
	for _, s := range fastSeeds {
		var r ScreenRequest
		if r.decodeFast([]byte(s)) {
			fast++
			want, ok := slowScreenRequest([]byte(s))
			if !ok || want != r {
				t.Errorf("%s: fast %+v, encoding/json %+v (ok %v)", s, r, want, ok)
			}
		} else if r != (ScreenRequest{}) {
			t.Errorf("%s: refused but changed the request: %+v", s, r)
		}
	}
	for _, s := range fastSeeds[:6] {
		var r ScreenRequest
		if !r.decodeFast([]byte(s)) {
			t.Errorf("%s: a plain request not decoded on the fast path", s)
		}
	}
	if fast != 6 {
		t.Errorf("%d seeds took the fast path, want the 6 plain ones", fast)
	}
}

// FuzzScreenRequestFast: whatever the fast path decodes, encoding/json
// decodes the same, and what it refuses it leaves untouched.
func FuzzScreenRequestFast(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r ScreenRequest
		if !r.decodeFast(b) {
			if r != (ScreenRequest{}) {
				t.Fatalf("%q: refused but changed the request: %+v", b, r)
			}
			return
		}
		want, ok := slowScreenRequest(b)
		if !ok || want != r {
			t.Fatalf("%q: fast %+v, encoding/json %+v (ok %v)", b, r, want, ok)
		}
	})
}
