// Package openapi describes every mount of a folio server as one OpenAPI
// 3.1 document, built from the same collections and parameter tables the
// parsers read (engine.Field.Ops, native.ReservedParams, each dialect's
// Params), so that the description cannot drift from what is served.
package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"folio/baseurl"
	"folio/config"
	"folio/engine"
)

// Version is the OpenAPI version the document is written in.
const Version = "3.1.0"

// obj is a JSON object of the document; encoding/json writes its keys
// sorted, so the document's bytes depend on its content alone.
type obj = map[string]any

// Document is the description of one server's mounts over one engine.
type Document struct {
	root obj
}

// Build describes the mounts over e (nil mounts: the native API at /v1,
// as the server serves it).
func Build(e *engine.Engine, mounts []config.Mount) (*Document, error) {
	if mounts == nil {
		mounts = []config.Mount{{Dialect: config.Native, Path: config.NativePath}}
	}
	d := &builder{paths: obj{}, schemas: obj{}, e: e}
	var tags []any
	for _, m := range mounts {
		var err error
		switch m.Dialect {
		case config.Native:
			d.native(m)
		case config.NOMAD:
			err = d.nomad(m)
		case config.JSONAPI:
			err = d.jsonapi(m)
		case config.Copernica:
			err = d.copernica(m)
		case config.GOCDB:
			err = d.gocdb(m)
		default:
			err = fmt.Errorf("openapi: mount %s: unknown dialect %q", m.Path, m.Dialect)
		}
		if err != nil {
			return nil, err
		}
		tags = append(tags, obj{"name": tag(m), "description": mountDescription(m)})
	}
	d.health()
	d.face()
	tags = append(tags, obj{"name": "pages", "description": "The index, the API reference and this description."}, obj{"name": "health", "description": "Whether the server and its database answer."})
	root := obj{
		"openapi": Version,
		"info": obj{
			"title":       "folio",
			"version":     "1",
			"description": "Every collection and every mounted dialect of this folio server. Generated from the collections the server discovered and the parameter tables its parsers read; it changes when they do. Each field's type is its declared one: SQLite may hold a value of another kind in a cell, which folio publishes as stored.",
		},
		"tags":  tags,
		"paths": d.paths,
		// Credentials are optional: a request without one is answered as
		// the anonymous principal; one with a bad one is a 401.
		"security": []any{obj{}, obj{"bearer": []any{}}, obj{"basic": []any{}}, obj{"accessToken": []any{}}},
		"components": obj{"schemas": d.schemas, "securitySchemes": obj{
			"bearer": obj{"type": "http", "scheme": "bearer", "bearerFormat": "folio API token (folio_…) or JWT",
				"description": "A token from `folio token create`, or a JWT signed by a key the server is configured with."},
			"basic": obj{"type": "http", "scheme": "basic",
				"description": "HTTP Basic whose password is a folio API token or JWT; the user name is not read."},
			"accessToken": obj{"type": "apiKey", "in": "query", "name": "access_token",
				"description": "Copernica's carrier of the token, on Copernica mounts only; removed from the request before any link repeats it."},
		}},
	}
	return &Document{root: root}, nil
}

// tag names a mount in the document: its dialect and path.
func tag(m config.Mount) string {
	if m.Dialect == config.GOCDB && m.Options["method"] != "" {
		return m.Dialect + " " + m.Path + " " + m.Options["method"]
	}
	return m.Dialect + " " + m.Path
}

func mountDescription(m config.Mount) string {
	switch m.Dialect {
	case config.Native:
		return "folio's own API: every collection, with filters, sort, projection, cursor or offset paging, records and exports."
	case config.NOMAD:
		return "The NOMAD Archive's entries API over collection " + m.Collection + "."
	case config.JSONAPI:
		return "DataCite's JSON:API over collection " + m.Collection + "."
	case config.Copernica:
		return "Copernica's REST API (profiles of a database) over collection " + m.Collection + "."
	case config.GOCDB:
		return "GOCDB's programmatic interface (XML) over collection " + m.Collection + "."
	}
	return ""
}

// With returns the document with servers naming base, the external base
// of the request it answers (every path of the document is under it).
func (d *Document) With(base string) obj {
	out := make(obj, len(d.root)+1)
	for k, v := range d.root {
		out[k] = v
	}
	if base != "" {
		out["servers"] = []any{obj{"url": base}}
	}
	return out
}

// JSON renders the document for base.
func (d *Document) JSON(base string) ([]byte, error) {
	b, err := json.MarshalIndent(d.With(base), "", " ")
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return append(b, '\n'), nil
}

// YAML renders the document for base.
func (d *Document) YAML(base string) ([]byte, error) {
	// Through JSON, so that YAML holds exactly the JSON document's values.
	j, err := d.JSON(base)
	if err != nil {
		return nil, err
	}
	var v any
	if err := yaml.Unmarshal(j, &v); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return buf.Bytes(), nil
}

// Handler serves the document at GET /openapi.json and /openapi.yaml,
// with the request's external base as its server.
func (d *Document) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var (
			b   []byte
			err error
			ct  string
		)
		if strings.HasSuffix(r.URL.Path, ".yaml") {
			b, err = d.YAML(baseurl.Of(r))
			ct = "application/yaml"
		} else {
			b, err = d.JSON(baseurl.Of(r))
			ct = "application/json"
		}
		if err != nil {
			http.Error(w, "the API description could not be rendered", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ct)
		w.Write(b)
	})
}

// Paths returns the document's paths, for views that list them (the
// reference page).
func (d *Document) Paths() obj { return d.root["paths"].(obj) }

// Schemas returns the document's component schemas.
func (d *Document) Schemas() obj { return d.root["components"].(obj)["schemas"].(obj) }

// builder gathers paths and component schemas.
type builder struct {
	e       *engine.Engine
	paths   obj
	schemas obj
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// schemaName is a component name for s (components allow [A-Za-z0-9._-]).
func schemaName(parts ...string) string {
	return unsafeName.ReplaceAllString(strings.Join(parts, "."), "_")
}

// ref adds schema s as a component and returns a reference to it.
func (d *builder) ref(name string, s obj) obj {
	d.schemas[name] = s
	return obj{"$ref": "#/components/schemas/" + name}
}

// get adds operation op as GET path (and the same as HEAD where the
// server answers it).
func (d *builder) get(path string, op obj) {
	item, _ := d.paths[path].(obj)
	if item == nil {
		item = obj{}
		d.paths[path] = item
	}
	item["get"] = op
}

// health describes /readyz, /healthz and /livez.
func (d *builder) health() {
	status := obj{"text/plain": obj{"schema": obj{"type": "string", "description": "ok, degraded or unavailable, then a line per database"}}}
	for _, p := range []string{"/readyz", "/healthz", "/livez"} {
		d.get(p, obj{
			"summary":     "Health: " + strings.TrimPrefix(p, "/"),
			"operationId": "health" + strings.TrimPrefix(p, "/"),
			"tags":        []any{"health"},
			"responses": obj{
				"200": obj{"description": "ready (or live)", "content": status},
				"503": obj{"description": "no database answers", "content": status},
			},
		})
	}
}

// valueSchema is the JSON schema of a field's values in a response: its
// JSON type, and null when the field is nullable.
func valueSchema(f *engine.Field) obj {
	var s obj
	switch f.Type {
	case engine.TypeText:
		s = obj{"type": "string"}
	case engine.TypeInt:
		s = obj{"type": "integer"}
	case engine.TypeFloat:
		// NaN and ±Inf, which JSON cannot write, are written null.
		return obj{"type": []any{"number", "null"}}
	case engine.TypeBool:
		s = obj{"type": "boolean"}
	case engine.TypeTime:
		s = obj{"type": "string", "format": "date-time"}
	case engine.TypeBytes:
		s = obj{"type": "string", "contentEncoding": "base64url"}
	default:
		// JSON holds any JSON value (and text that is not JSON, as a string).
		return obj{"description": "any JSON value"}
	}
	if f.Nullable {
		s["type"] = []any{s["type"], "null"}
	}
	return s
}

// rowSchema is the schema of one row of c: an object of its visible
// fields, any of which a projection may leave out.
func rowSchema(c *engine.Collection) obj {
	props := obj{}
	for _, f := range c.Visible() {
		props[f.Name] = valueSchema(f)
	}
	return obj{"type": "object", "properties": props, "additionalProperties": false}
}

func str(desc string) obj { return obj{"type": "string", "description": desc} }

func jsonContent(schema obj) obj { return obj{"application/json": obj{"schema": schema}} }

// retryAfter is the header of a 429 or 503 answer.
var retryAfter = obj{"description": "seconds to wait before trying again (429, 503)", "schema": obj{"type": "integer"}}

// face describes the pages for people and the index at /.
func (d *builder) face() {
	index := d.ref("index", obj{
		"type": "object", "required": []any{"collections", "mounts", "openapi", "docs"},
		"properties": obj{
			"collections": obj{"type": "array", "items": obj{
				"type": "object", "required": []any{"name", "url", "rows_estimate", "fields"},
				"properties": obj{
					"name": obj{"type": "string"}, "url": obj{"type": "string"},
					"rows_estimate": obj{"type": []any{"integer", "null"}, "description": "the database's estimate, not a count"},
					"key_fields":    obj{"type": []any{"array", "null"}, "items": obj{"type": "string"}, "description": "the fields of the key, as /v1 lists them"},
					"fields": obj{"type": "array", "items": obj{"type": "object", "required": []any{"name", "type", "nullable"}, "properties": obj{
						"name": obj{"type": "string"}, "type": obj{"type": "string"}, "nullable": obj{"type": "boolean"},
					}}},
				},
			}},
			"mounts": obj{"type": "array", "items": obj{"type": "object", "required": []any{"dialect", "path", "example"}, "properties": obj{
				"dialect": obj{"type": "string"}, "path": obj{"type": "string"}, "collection": obj{"type": "string"}, "example": obj{"type": "string"},
			}}},
			"openapi": obj{"type": "string"}, "openapi_yaml": obj{"type": "string"}, "docs": obj{"type": "string"},
		},
	})
	html := obj{"text/html": obj{"schema": obj{"type": "string"}}}
	d.get("/", obj{
		"summary":     "The index: collections with estimated rows, the mounted APIs with an example each, this description",
		"operationId": "index",
		"tags":        []any{"pages"},
		"responses":   obj{"200": obj{"description": "JSON, or a page for a browser", "content": obj{"application/json": obj{"schema": index}, "text/html": html["text/html"]}}},
	})
	d.get("/docs", obj{
		"summary":     "This description as a page for people",
		"operationId": "docs",
		"tags":        []any{"pages"},
		"responses":   obj{"200": obj{"description": "the API reference", "content": html}},
	})
	d.get("/favicon.ico", obj{
		"summary":     "folio's icon",
		"operationId": "favicon",
		"tags":        []any{"pages"},
		"responses":   obj{"200": obj{"description": "the icon", "content": obj{"image/svg+xml": obj{"schema": obj{"type": "string"}}}}},
	})
	for _, p := range []string{"/openapi.json", "/openapi.yaml"} {
		ct := "application/json"
		if strings.HasSuffix(p, ".yaml") {
			ct = "application/yaml"
		}
		d.get(p, obj{
			"summary":     "This description (OpenAPI " + Version + ")",
			"operationId": schemaName("openapi", strings.TrimPrefix(p, "/openapi.")),
			"tags":        []any{"pages"},
			"responses":   obj{"200": obj{"description": "the document", "content": obj{ct: obj{"schema": obj{"type": "object"}}}}},
		})
	}
}
