package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// A JSON Schema validator for the subset openapi.go generates: type
// (one or a list, "null" included), properties, required,
// additionalProperties (false or a schema), items, $ref to
// #/components/schemas, anyOf, and the date-time format and base64
// content encoding of strings. Anything else in a schema is an error, so
// a generator change the validator does not understand fails loudly
// rather than validating nothing.

type schemaValidator struct {
	doc map[string]any
}

// knownKeywords are the schema keywords the validator reads or may
// safely ignore (annotations).
var knownKeywords = map[string]bool{"type": true, "properties": true, "required": true, "additionalProperties": true, "items": true,
	"$ref": true, "anyOf": true, "format": true, "contentEncoding": true, "description": true}

// decodeJSONValue reads a JSON document with numbers kept exact.
func decodeJSONValue(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data")
	}
	return v, nil
}

// validate checks v against schema and returns every violation, each
// with its JSON path.
func (sv *schemaValidator) validate(schema any, v any) []string {
	var errs []string
	sv.check(schema, v, "$", 0, &errs)
	return errs
}

func (sv *schemaValidator) resolve(ref string) (map[string]any, error) {
	name, ok := strings.CutPrefix(ref, "#/components/schemas/")
	if !ok {
		return nil, fmt.Errorf("$ref %q: only #/components/schemas/ references are supported", ref)
	}
	comps, _ := sv.doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	s, ok := schemas[name].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("$ref %q: no such schema", ref)
	}
	return s, nil
}

func (sv *schemaValidator) check(schema any, v any, path string, depth int, errs *[]string) {
	fail := func(format string, a ...any) { *errs = append(*errs, path+": "+fmt.Sprintf(format, a...)) }
	if depth > 64 {
		fail("schema nesting deeper than 64")
		return
	}
	s, ok := schema.(map[string]any)
	if !ok {
		fail("schema is %T, not an object", schema)
		return
	}
	for k := range s {
		if !knownKeywords[k] {
			fail("schema keyword %q is not supported by the test's validator", k)
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		rs, err := sv.resolve(ref)
		if err != nil {
			fail("%v", err)
			return
		}
		sv.check(rs, v, path, depth+1, errs)
		return
	}
	if alts, ok := s["anyOf"].([]any); ok {
		var all []string
		matched := false
		for _, alt := range alts {
			var e []string
			sv.check(alt, v, path, depth+1, &e)
			if len(e) == 0 {
				matched = true
				break
			}
			all = append(all, e...)
		}
		if !matched {
			fail("matches none of anyOf: %s", strings.Join(all, "; "))
			return
		}
	}
	if t, ok := s["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				xs, _ := x.(string)
				types = append(types, xs)
			}
		default:
			fail("type is %T", t)
			return
		}
		got := jsonType(v)
		okType := false
		for _, want := range types {
			if want == got || (want == "number" && got == "integer") {
				okType = true
			}
		}
		if !okType {
			fail("is %s, schema wants %s", got, strings.Join(types, " or "))
			return
		}
	}
	switch v := v.(type) {
	case string:
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
				fail("not a date-time: %q", v)
			}
		}
		if s["contentEncoding"] == "base64" {
			if _, err := base64.StdEncoding.DecodeString(v); err != nil {
				fail("not base64")
			}
		}
	case []any:
		if items, ok := s["items"]; ok {
			for i, x := range v {
				sv.check(items, x, fmt.Sprintf("%s[%d]", path, i), depth+1, errs)
			}
		}
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				name, _ := r.(string)
				if _, ok := v[name]; !ok {
					fail("required property %q missing", name)
				}
			}
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k]; ok {
				sv.check(ps, v[k], path+"."+k, depth+1, errs)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("property %q is not in the schema", k)
				}
			case map[string]any:
				sv.check(ap, v[k], path+"."+k, depth+1, errs)
			}
		}
	}
}

// jsonType names a decoded value's JSON type ("integer" for whole
// numbers).
func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return "integer"
		}
		if f, err := v.Float64(); err == nil && f == float64(int64(f)) && !strings.ContainsAny(string(v), ".eE") {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// TestSchemaValidator shows the validator refuses what it must: without
// this, a validator that accepted everything would pass every route.
func TestSchemaValidator(t *testing.T) {
	doc := map[string]any{"components": map[string]any{"schemas": map[string]any{
		"T": map[string]any{"type": "object", "additionalProperties": false, "required": []any{"a"}, "properties": map[string]any{
			"a": map[string]any{"type": "integer"},
			"b": map[string]any{"type": []any{"array", "null"}, "items": map[string]any{"type": "string", "format": "date-time"}},
			"c": map[string]any{"anyOf": []any{map[string]any{"$ref": "#/components/schemas/T"}, map[string]any{"type": "null"}}},
			"d": map[string]any{"type": []any{"object", "null"}, "additionalProperties": map[string]any{"type": "boolean"}},
		}},
	}}}
	sv := &schemaValidator{doc: doc}
	ref := map[string]any{"$ref": "#/components/schemas/T"}
	for _, c := range []struct {
		json string
		ok   bool
	}{
		{`{"a":1}`, true},
		{`{"a":1,"b":null,"c":null,"d":null}`, true},
		{`{"a":1,"b":["2026-03-01T00:00:00Z"],"c":{"a":2,"c":{"a":3}},"d":{"x":true}}`, true},
		{`{}`, false},                        // required
		{`{"a":1.5}`, false},                 // integer
		{`{"a":"1"}`, false},                 // type
		{`{"a":1,"z":1}`, false},             // additionalProperties false
		{`{"a":1,"b":["yesterday"]}`, false}, // date-time
		{`{"a":1,"b":[1]}`, false},           // items
		{`{"a":1,"c":{"z":1}}`, false},       // anyOf through $ref
		{`{"a":1,"c":5}`, false},             // anyOf
		{`{"a":1,"d":{"x":1}}`, false},       // additionalProperties schema
		{`[]`, false},
		{`null`, false},
	} {
		v, err := decodeJSONValue([]byte(c.json))
		if err != nil {
			t.Fatal(err)
		}
		errs := sv.validate(ref, v)
		if (len(errs) == 0) != c.ok {
			t.Errorf("%s: ok=%v, errors %v", c.json, c.ok, errs)
		}
	}
	if errs := sv.validate(map[string]any{"type": "string", "pattern": "x"}, "x"); len(errs) == 0 {
		t.Error("an unsupported keyword passed unnoticed")
	}
}
