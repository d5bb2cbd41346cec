package openapi

import (
	"net/url"
	"strings"

	"folio/config"
	"folio/dialect/native"
	"folio/engine"
	"folio/export"
)

// native describes a native mount: the collection list, and for each
// collection its pages, its records and its exports.
func (d *builder) native(m config.Mount) {
	path := strings.TrimSuffix(m.Path, "/")
	tags := []any{tag(m)}
	errRef := d.ref("native.error", nativeError())
	errContent := jsonContent(errRef)
	errContent["text/html"] = htmlContent
	errors := obj{"description": "an error in the native shape (a page saying the same to a browser); status and code say which (400 a parameter, 404 no such collection or record, 429 rate limited, 503 the database cannot answer now, 504 the query ran too long)",
		"headers": obj{"Retry-After": retryAfter},
		"content": errContent}

	d.get(path, obj{
		"summary":     "The collections, with their fields, operators, key, paging styles, default sort and limits",
		"operationId": opID(path, "collections"),
		"tags":        tags,
		"parameters":  []any{formatParam},
		"responses": obj{
			"200":     obj{"description": "the collections", "content": withHTML(jsonContent(d.ref("native.collections", collectionsSchema())))},
			"default": errors,
		},
	})
	for _, c := range d.e.Collections() {
		base := path + "/" + url.PathEscape(c.Name)
		row := d.ref(schemaName("native", c.Name, "row"), rowSchema(c))
		filters := filterParams(c)

		list := append(append([]any{formatParam}, listParams(c)...), filters...)
		d.get(base, obj{
			"summary":     "A page of " + c.Name,
			"description": pageDescription(c),
			"operationId": opID(base, "page"),
			"tags":        tags,
			"parameters":  list,
			"responses": obj{
				"200": obj{
					"description": "one page: its rows, its paging state and its links (also in the Link header)",
					"headers": obj{"Link": obj{
						"description": "RFC 8288 links: self, first, prev, next, last (last on cursor paging)",
						"schema":      obj{"type": "string"},
					}},
					"content": withHTML(jsonContent(pageSchema(row))),
				},
				"default": errors,
			},
		})

		exportParams := []any{sortParam(c), fieldsParam(c), obj{"name": "limit", "in": "query", "description": "the most rows to export (any number: an export buffers nothing)", "schema": obj{"type": "integer", "minimum": 1}}}
		exportParams = append(exportParams, filters...)
		for _, f := range export.Formats {
			content := obj{}
			switch f {
			case export.JSON:
				content["application/json"] = obj{"schema": obj{"type": "array", "items": row}}
			case export.NDJSON:
				// No schema: a validator would read the lines as one JSON text.
				content[f.ContentType()] = obj{"x-folio-line-schema": row}
			default:
				content["text/csv"] = obj{"schema": obj{"type": "string", "description": "RFC 4180: a header row of field names, then a record per row; NULL an empty cell, an empty string a quoted one"}}
			}
			d.get(base+"."+string(f), obj{
				"summary":     "Export every row of " + c.Name + " as " + strings.ToUpper(string(f)),
				"description": "The whole filtered, sorted, projected result, streamed. A failure after the first byte cuts the transfer.",
				"operationId": opID(base, "export_"+string(f)),
				"tags":        tags,
				"parameters":  exportParams,
				"responses":   obj{"200": obj{"description": "the rows", "content": content}, "default": errors},
			})
		}

		keys := c.KeyFields()
		if len(keys) == 0 {
			continue
		}
		rec := base
		params := []any{}
		for _, k := range keys {
			rec += "/{" + k.Name + "}"
			desc := "the record's " + k.Name
			if !c.Composite() {
				desc += " (a value holding '/' may be written as is or as %2F)"
			} else {
				desc += " (one path segment per part of the key; '/' in a part is written %2F)"
			}
			params = append(params, obj{"name": k.Name, "in": "path", "required": true, "description": desc, "schema": obj{"type": "string"}})
		}
		params = append(params, fieldsParam(c), formatParam)
		d.get(rec, obj{
			"summary":     "One record of " + c.Name + " by its key",
			"operationId": opID(base, "record"),
			"tags":        tags,
			"parameters":  params,
			"responses": obj{
				"200": obj{"description": "the record", "content": withHTML(jsonContent(obj{
					"type": "object", "required": []any{"data"}, "additionalProperties": false,
					"properties": obj{"data": row},
				}))},
				"default": errors,
			},
		})
	}
}

// opID is an operation id unique in the document: the path and what the
// operation does there.
func opID(path, what string) string {
	return schemaName(strings.Trim(strings.ReplaceAll(path, "/", "."), "."), what)
}

func pageDescription(c *engine.Collection) string {
	var b strings.Builder
	b.WriteString("Every parameter is one of " + strings.Join(native.ReservedParams(), ", ") + " or a filter field=value or field[op]=value; any other is a 400 naming it. ")
	if c.Keyed() {
		b.WriteString("Pages by signed cursor (follow the next link) or by offset (up to the offset limit). The key (" + strings.Join(c.Key, ", ") + ") ends every sort as tie-breaker. ")
	} else {
		b.WriteString("No unique key: pages by offset only. ")
	}
	if c.KeyCaveat != "" {
		b.WriteString(c.KeyCaveat + " ")
	}
	b.WriteString("Comparisons never match NULL; filter NULLs with field[null]=true.")
	return b.String()
}

// listParams are the reserved parameters of a page, with c's limits and
// fields as their bounds and enums.
func listParams(c *engine.Collection) []any {
	ps := []any{}
	for _, name := range native.ReservedParams() {
		switch name {
		case "limit":
			ps = append(ps, obj{"name": name, "in": "query", "description": "rows per page", "schema": obj{"type": "integer", "minimum": 1, "maximum": c.MaxLimit, "default": c.DefaultLimit}})
		case "sort":
			ps = append(ps, sortParam(c))
		case "fields":
			ps = append(ps, fieldsParam(c))
		case "cursor":
			ps = append(ps, obj{"name": name, "in": "query", "description": "a signed position from a page's next_cursor, prev_cursor or its links; bound to the query's filters and sort", "schema": obj{"type": "string", "minLength": 1}})
		case "offset":
			ps = append(ps, obj{"name": name, "in": "query", "description": "rows to skip (offset paging); not with cursor", "schema": obj{"type": "integer", "minimum": 0, "maximum": c.MaxOffset}})
		case "total":
			def := "none"
			if !c.Keyed() {
				def = "exact"
			}
			ps = append(ps, obj{"name": name, "in": "query", "description": "count the matching rows: exact (COUNT), estimate (the database's statistics) or none; exact by default on offset paging", "schema": obj{"type": "string", "enum": []any{"exact", "estimate", "none"}, "default": def}})
		}
	}
	return ps
}

// sortParam lists every sort term c takes: each sortable field, ascending
// or descending (-), with its NULLs placed (.nullsfirst, .nullslast).
func sortParam(c *engine.Collection) obj {
	var terms []any
	for _, f := range c.Visible() {
		if !f.Sortable || !f.Type.Scalar() {
			continue
		}
		for _, dir := range []string{"", "-"} {
			terms = append(terms, dir+f.Name)
			if f.Nullable {
				terms = append(terms, dir+f.Name+".nullsfirst", dir+f.Name+".nullslast")
			}
		}
	}
	return obj{
		"name": "sort", "in": "query", "style": "form", "explode": false,
		"description": "fields to sort by, comma-separated, '-' for descending; the key is appended as tie-breaker",
		"schema":      obj{"type": "array", "minItems": 1, "items": obj{"type": "string", "enum": terms}},
	}
}

// fieldsParam lists the fields a projection may name.
func fieldsParam(c *engine.Collection) obj {
	var names []any
	for _, f := range c.Visible() {
		names = append(names, f.Name)
	}
	return obj{
		"name": "fields", "in": "query", "style": "form", "explode": false,
		"description": "the fields to return, comma-separated",
		"schema":      obj{"type": "array", "minItems": 1, "items": obj{"type": "string", "enum": names}},
	}
}

// filterParams lists a parameter per filterable field and operator, from
// the engine's own table of which operator applies to which field.
func filterParams(c *engine.Collection) []any {
	var ps []any
	for _, f := range c.Visible() {
		if !f.Filterable {
			continue
		}
		for _, op := range f.Ops() {
			ps = append(ps, obj{
				"name": native.FilterParam(f.Name, op), "in": "query",
				"description": opDescription(f, op),
				"style":       "form", "explode": false,
				"schema": filterSchema(f, op),
			})
		}
	}
	return ps
}

func opDescription(f *engine.Field, op engine.Op) string {
	switch op {
	case engine.OpEq:
		return f.Name + " equals the value (" + f.Type.String() + ")"
	case engine.OpNe:
		return f.Name + " differs from the value"
	case engine.OpLt, engine.OpLte, engine.OpGt, engine.OpGte:
		return f.Name + " " + string(op) + " the value"
	case engine.OpIn:
		return f.Name + " is one of the comma-separated values"
	case engine.OpPrefix:
		return f.Name + " starts with the value (byte-exact)"
	case engine.OpContains:
		return f.Name + " holds the value (byte-exact, case-sensitive)"
	case engine.OpMatch:
		return "full-text search: " + f.Name + " holds every word of the value (a word ending in * matches the words it begins)"
	case engine.OpNull:
		return "true: " + f.Name + " is NULL; false: it is not"
	case engine.OpAll:
		return "the JSON array " + f.Name + " holds every one of the comma-separated values"
	case engine.OpAny:
		return "the JSON array " + f.Name + " holds at least one of the comma-separated values"
	case engine.OpNone:
		return "the JSON array " + f.Name + " holds none of the comma-separated values"
	}
	return string(op)
}

// filterSchema is the schema of a filter's value as the engine parses it.
func filterSchema(f *engine.Field, op engine.Op) obj {
	scalar := obj{"type": "string"}
	switch f.Type {
	case engine.TypeInt:
		scalar = obj{"type": "integer"}
	case engine.TypeFloat:
		scalar = obj{"type": "number"}
	case engine.TypeBool:
		scalar = obj{"type": "boolean"}
	case engine.TypeTime:
		scalar = obj{"type": "string", "description": "RFC 3339, or 2006-01-02T15:04:05, 2006-01-02 15:04:05 or 2006-01-02 (UTC)"}
	case engine.TypeBytes:
		scalar = obj{"type": "string", "contentEncoding": "base64url"}
	}
	switch op {
	case engine.OpNull:
		return obj{"type": "boolean"}
	case engine.OpIn:
		return obj{"type": "array", "items": scalar}
	case engine.OpAll, engine.OpAny, engine.OpNone:
		return obj{"type": "array", "items": obj{"type": "string"}}
	case engine.OpPrefix, engine.OpContains, engine.OpMatch:
		return obj{"type": "string"}
	}
	return scalar
}

func pageSchema(row obj) obj {
	linkURL := obj{"type": "string", "format": "uri"}
	return obj{
		"type": "object", "required": []any{"data", "page", "links"}, "additionalProperties": false,
		"properties": obj{
			"data": obj{"type": "array", "items": row},
			"page": obj{
				"type": "object", "required": []any{"limit", "count"}, "additionalProperties": false,
				"properties": obj{
					"limit":          obj{"type": "integer", "minimum": 0},
					"count":          obj{"type": "integer", "minimum": 0},
					"total":          obj{"type": "integer", "minimum": 0},
					"total_relation": obj{"type": "string", "enum": []any{"eq", "estimate"}},
					"next_cursor":    obj{"type": "string"},
					"prev_cursor":    obj{"type": "string"},
				},
			},
			"links": obj{
				"type": "object", "required": []any{"self", "first"}, "additionalProperties": false,
				"properties": obj{"self": linkURL, "first": linkURL, "prev": linkURL, "next": linkURL, "last": linkURL},
			},
		},
	}
}

func nativeError() obj {
	var codes []any
	for _, c := range engineCodes {
		codes = append(codes, string(c))
	}
	return obj{
		"type": "object", "required": []any{"error"}, "additionalProperties": false,
		"properties": obj{"error": obj{
			"type": "object", "required": []any{"status", "code", "message"}, "additionalProperties": false,
			"properties": obj{
				"status":    obj{"type": "integer"},
				"code":      obj{"type": "string", "enum": codes},
				"parameter": str("the parameter at fault, as the request named it"),
				"message":   str("what was wrong and what to do instead"),
			},
		}},
	}
}

// engineCodes are the engine's error codes, the native shape's code.
var engineCodes = []engine.Code{engine.CodeInvalid, engine.CodeInvalidCursor, engine.CodeNotFound, engine.CodeMethodNotAllowed,
	engine.CodeTooLarge, engine.CodeUnavailable, engine.CodeBusy, engine.CodeTimeout, engine.CodeRateLimited, engine.CodeInternal}

func collectionsSchema() obj {
	strs := obj{"type": "array", "items": obj{"type": "string"}}
	nullable := obj{"type": []any{"string", "null"}}
	field := obj{"type": "object", "required": []any{"name", "type", "nullable", "sortable", "filterable"}, "properties": obj{
		"name": obj{"type": "string"}, "type": obj{"type": "string", "enum": typeNames()},
		"nullable": obj{"type": "boolean"}, "sortable": obj{"type": "boolean"}, "filterable": obj{"type": "boolean"},
		"operators": obj{"type": "array", "items": obj{"type": "string", "enum": opNames()}},
	}}
	coll := obj{"type": "object", "required": []any{"name", "url", "paging", "limits", "fields"}, "properties": obj{
		"name": obj{"type": "string"}, "url": obj{"type": "string", "format": "uri"},
		"key": nullable, "key_fields": strs, "key_caveat": obj{"type": "string"},
		"paging": obj{"type": "array", "items": obj{"type": "string", "enum": []any{"cursor", "offset"}}}, "default_sort": nullable,
		"limits": obj{"type": "object", "required": []any{"default_limit", "max_limit", "max_offset"}, "properties": obj{
			"default_limit": obj{"type": "integer"}, "max_limit": obj{"type": "integer"}, "max_offset": obj{"type": "integer"},
		}},
		"fields": obj{"type": "array", "items": field},
	}}
	return obj{"type": "object", "required": []any{"data"}, "properties": obj{"data": obj{"type": "array", "items": coll}}}
}

func typeNames() []any {
	var out []any
	for t := engine.TypeText; t <= engine.TypeJSON; t++ {
		out = append(out, t.String())
	}
	return out
}

func opNames() []any {
	var out []any
	for _, op := range engine.Ops {
		out = append(out, string(op))
	}
	return out
}

// htmlContent is a page for people: a browser that asks for text/html (or
// format=html) gets the same rows as a page.
var htmlContent = obj{"schema": obj{"type": "string", "description": "an HTML page of the same answer"}}

func withHTML(content obj) obj {
	content["text/html"] = htmlContent
	return content
}

// formatParam forces the answer's form whatever Accept says.
var formatParam = obj{"name": "format", "in": "query", "description": "html or json: the answer's form, whatever the Accept header asks (a browser's Accept gets HTML, any other JSON)", "schema": obj{"type": "string", "enum": []any{"html", "json"}}}
