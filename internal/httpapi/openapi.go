package httpapi

import (
	"context"
	"encoding"
	"encoding/json"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"
)

func bgContext() context.Context { return context.Background() }

// schemaGen turns Go types into JSON Schema (the 2020-12 dialect OpenAPI
// 3.1 uses): structs by their json tags, named structs once under
// components/schemas. Types with their own text or JSON encoding are
// described by what they encode to.
type schemaGen struct {
	components map[string]any
	names      map[reflect.Type]string
}

var (
	timeType          = reflect.TypeFor[time.Time]()
	rawType           = reflect.TypeFor[json.RawMessage]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
)

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	case t.Kind() == reflect.Pointer:
		s := g.schema(t.Elem())
		return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
	case t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType):
		return map[string]any{"type": "string"}
	case t.Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(jsonMarshalerType):
		return map[string]any{"type": "string", "description": "an encoded value (see the type's documentation)"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": []any{"array", "null"}, "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": []any{"object", "null"}, "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		if t.Name() == "" {
			return g.structSchema(t)
		}
		name, ok := g.names[t]
		if !ok {
			name = componentName(t)
			g.names[t] = name
			g.components[name] = map[string]any{} // placeholder while recursing
			g.components[name] = g.structSchema(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

// componentName is the package and type, e.g. appScreenResult.
func componentName(t reflect.Type) string {
	pkg := t.PkgPath()
	if i := strings.LastIndex(pkg, "/"); i >= 0 {
		pkg = pkg[i+1:]
	}
	name := t.Name()
	if i := strings.Index(name, "["); i >= 0 {
		name = name[:i]
	}
	return nonWord.ReplaceAllString(pkg+"."+name, "_")
}

// structSchema describes a struct: its json fields (embedded structs
// flattened, as encoding/json does), required unless omitempty, and no
// other property allowed; a field's doc tag is its description.
func (g *schemaGen) structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	sort.Strings(required)
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		sch := g.schema(f.Type)
		if d := f.Tag.Get("doc"); d != "" {
			// A field documented by its doc tag (the schema is a fresh
			// map: a $ref's siblings are allowed in JSON Schema 2020-12).
			sch["description"] = d
		}
		props[name] = sch
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
}

// OpenAPI is the API's OpenAPI 3.1 document, generated from the route
// table the server dispatches with.
func (s *Server) OpenAPI() []byte {
	s.openapiOnce.Do(func() {
		b, err := json.MarshalIndent(s.openapi(), "", "  ")
		if err != nil {
			panic(err)
		}
		s.openapiDoc = b
	})
	return s.openapiDoc
}

func (s *Server) openapi() map[string]any {
	g := &schemaGen{components: map[string]any{}, names: map[reflect.Type]string{}}
	errRef := g.schema(reflect.TypeFor[Error]())
	paths := map[string]any{}
	for _, rt := range s.routes {
		op := map[string]any{"summary": rt.summary, "operationId": operationID(rt), "tags": []string{rt.tag}}
		desc := rt.description
		if rt.role != 0 {
			desc = strings.TrimSpace(desc + "\n\nNeeds an API key with the " + rt.role.String() + " role or above.")
			op["security"] = []any{map[string]any{"bearer": []string{}}, map[string]any{"apiKey": []string{}}}
		}
		if rt.shared {
			desc += " Only the operator tenant may call it: it changes data every tenant shares."
		}
		if desc != "" {
			op["description"] = desc
		}
		var params []any
		for _, p := range rt.params {
			params = append(params, map[string]any{"name": p.name, "in": p.in, "required": p.required, "description": p.desc, "schema": map[string]any{"type": p.typ}})
		}
		if params != nil {
			op["parameters"] = params
		}
		switch {
		case rt.body != nil:
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": g.schema(rt.body)}}}
		case rt.bodyContent != "":
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{rt.bodyContent: map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}}
		}
		ok := map[string]any{"description": "success"}
		switch {
		case rt.resp != nil:
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(rt.resp)}}
		case rt.respContent != "":
			schema := map[string]any{"type": "string"}
			switch {
			case len(rt.respOneOf) > 0:
				var alts []any
				for _, t := range rt.respOneOf {
					alts = append(alts, g.schema(t))
				}
				schema = map[string]any{"anyOf": alts}
			case rt.respContent == "application/json":
				schema = map[string]any{"type": "object"}
			}
			content := map[string]any{rt.respContent: map[string]any{"schema": schema}}
			for _, m := range rt.respAlso {
				content[m] = map[string]any{"schema": map[string]any{"type": "string"}}
			}
			ok["content"] = content
		}
		errResp := map[string]any{"description": "an error with a stable code", "content": map[string]any{"application/json": map[string]any{"schema": errRef}}}
		resps := map[string]any{itoa(rt.status): ok, "default": errResp}
		for _, o := range rt.other {
			resps[itoa(o.status)] = map[string]any{"description": o.desc, "content": map[string]any{"application/json": map[string]any{"schema": g.schema(o.typ)}}}
		}
		op["responses"] = resps
		item, _ := paths[rt.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.path] = item
		}
		item[strings.ToLower(rt.method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Tidewatch API", "version": s.svc.Version(),
			"description": "Screening built for ships, vessel risk profiles with evidence, decisions, events and the audit log, for the tenants of one Tidewatch installation. Errors are JSON {\"error\":{\"code\",\"message\"}} with a stable code."},
		"paths": paths,
		"components": map[string]any{"schemas": g.components, "securitySchemes": map[string]any{
			"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "Authorization: Bearer tw_..."},
			"apiKey": map[string]any{"type": "apiKey", "in": "header", "name": "X-API-Key"},
		}},
	}
}

func operationID(rt *route) string {
	p := strings.NewReplacer("{", "", "}", "", "/", "_", ".", "_").Replace(strings.Trim(rt.path, "/"))
	return strings.ToLower(rt.method) + "_" + p
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
