package openapi

import (
	"strings"

	"folio/config"
	"folio/dialect/copernica"
	"folio/dialect/gocdb"
	"folio/dialect/jsonapi"
	"folio/dialect/nomad"
	"folio/engine"
)

// The dialects other than native speak another service's wire format;
// their parameters come from each dialect's own table, and their
// envelopes are described as far as every page of theirs holds them.

func queryParams(names []string, desc func(string) string) []any {
	ps := make([]any, 0, len(names))
	for _, n := range names {
		ps = append(ps, obj{"name": n, "in": "query", "description": desc(n), "schema": obj{"type": "string"}})
	}
	return ps
}

func (d *builder) collection(m config.Mount) (*engine.Collection, error) {
	return d.e.Collection(m.Collection)
}

func (d *builder) nomad(m config.Mount) error {
	if _, err := d.collection(m); err != nil {
		return err
	}
	path := strings.TrimSuffix(m.Path, "/")
	errRef := d.ref("nomad.error", obj{
		"type": "object", "required": []any{"detail"},
		"properties": obj{"detail": obj{
			"description": "a message, or FastAPI's list of {loc, msg, type} for a request that does not validate (422)",
			"oneOf":       []any{obj{"type": "string"}, obj{"type": "array", "items": obj{"type": "object"}}},
		}},
	})
	body := d.ref("nomad.response", obj{
		"type": "object", "required": []any{"pagination", "data"},
		"properties": obj{
			"owner":      obj{"type": "string"},
			"query":      obj{},
			"pagination": obj{"type": "object", "required": []any{"page_size", "order_by", "order"}},
			"required":   obj{"type": "object"},
			"data":       obj{"type": "array", "items": obj{"type": "object"}},
		},
	})
	responses := obj{
		"200":     obj{"description": "a page of entries", "content": jsonContent(body)},
		"default": obj{"description": "an error in NOMAD's (FastAPI's) shape", "headers": obj{"Retry-After": retryAfter}, "content": jsonContent(errRef)},
	}
	tags := []any{tag(m)}
	d.get(path, obj{
		"summary":     "Entries of " + m.Collection + " (NOMAD)",
		"operationId": opID(path, "nomad_get"),
		"tags":        tags,
		"parameters":  queryParams(nomad.Params(), func(n string) string { return "NOMAD's " + n }),
		"responses":   responses,
	})
	item := d.paths[path+"/query"]
	if item == nil {
		item = obj{}
		d.paths[path+"/query"] = item
	}
	item.(obj)["post"] = obj{
		"summary":     "Entries of " + m.Collection + " by a query in the body (NOMAD)",
		"operationId": opID(path, "nomad_query"),
		"tags":        tags,
		"requestBody": obj{"content": jsonContent(obj{"type": "object", "description": "owner, query, pagination (" + strings.Join(nomad.Params(), ", ") + "), required"})},
		"responses":   responses,
	}
	return nil
}

func (d *builder) jsonapi(m config.Mount) error {
	if _, err := d.collection(m); err != nil {
		return err
	}
	path := strings.TrimSuffix(m.Path, "/")
	const media = "application/vnd.api+json"
	errRef := d.ref("jsonapi.error", obj{
		"type": "object", "required": []any{"errors"},
		"properties": obj{"errors": obj{"type": "array", "minItems": 1, "items": obj{
			"type": "object", "required": []any{"status", "title"},
			"properties": obj{
				"status": obj{"type": "string"}, "title": obj{"type": "string"}, "detail": obj{"type": "string"},
				"source": obj{"type": "object", "properties": obj{"parameter": obj{"type": "string"}, "pointer": obj{"type": "string"}}},
			},
		}}},
	})
	resource := obj{"type": "object", "required": []any{"id", "type"}, "properties": obj{
		"id": obj{"type": "string"}, "type": obj{"type": "string"}, "attributes": obj{"type": "object"}, "relationships": obj{"type": "object"},
	}}
	list := d.ref("jsonapi.list", obj{"type": "object", "required": []any{"data"}, "properties": obj{
		"data": obj{"type": "array", "items": resource}, "meta": obj{"type": "object"}, "links": obj{"type": "object"},
	}})
	one := d.ref("jsonapi.record", obj{"type": "object", "required": []any{"data"}, "properties": obj{"data": resource}})
	errs := obj{"description": "a JSON:API error document", "headers": obj{"Retry-After": retryAfter}, "content": obj{media: obj{"schema": errRef}}}
	tags := []any{tag(m)}
	d.get(path, obj{
		"summary":     "A page of " + m.Collection + " (DataCite JSON:API)",
		"description": "Paged by page[number] and page[size], or by page[cursor]; besides these, filters on the mount's fields.",
		"operationId": opID(path, "jsonapi_list"),
		"tags":        tags,
		"parameters":  queryParams(jsonapi.Params(), func(n string) string { return "DataCite's " + n }),
		"responses":   obj{"200": obj{"description": "a page", "content": obj{media: obj{"schema": list}}}, "default": errs},
	})
	d.get(path+"/{id}", obj{
		"summary":     "One record of " + m.Collection + " (DataCite JSON:API)",
		"operationId": opID(path, "jsonapi_record"),
		"tags":        tags,
		"parameters":  []any{obj{"name": "id", "in": "path", "required": true, "schema": obj{"type": "string"}, "description": "the record's id (a DOI's '/' may be written as is or as %2F)"}},
		"responses":   obj{"200": obj{"description": "the record", "content": obj{media: obj{"schema": one}}}, "default": errs},
	})
	return nil
}

func (d *builder) copernica(m config.Mount) error {
	if _, err := d.collection(m); err != nil {
		return err
	}
	path := strings.TrimSuffix(m.Path, "/") + "/database/{id}/profiles"
	errRef := d.ref("copernica.error", obj{"type": "object", "required": []any{"error"}, "properties": obj{
		"error": obj{"type": "object", "required": []any{"message"}, "properties": obj{"message": obj{"type": "string"}}},
	}})
	page := d.ref("copernica.page", obj{
		"description": "a page of profiles; with dataonly, the data array alone",
		"oneOf": []any{
			obj{"type": "object", "required": []any{"start", "limit", "count", "data"}, "properties": obj{
				"start": obj{"type": "integer"}, "limit": obj{"type": "integer"}, "count": obj{"type": "integer"},
				"total": obj{"type": "integer"}, "data": obj{"type": "array", "items": obj{"type": "object"}},
			}},
			obj{"type": "array", "items": obj{"type": "object"}},
		},
	})
	d.get(strings.TrimSuffix(m.Path, "/")+"/{resource}", obj{
		"summary":     "Any other resource of Copernica's API, which this mount does not serve",
		"operationId": opID(m.Path, "copernica_other"),
		"tags":        []any{tag(m)},
		"parameters":  []any{obj{"name": "resource", "in": "path", "required": true, "schema": obj{"type": "string"}}},
		"responses": obj{
			"default": obj{"description": "an error in Copernica's shape (Copernica answers an unknown resource with 400)", "content": jsonContent(errRef)},
		},
	})
	d.get(path, obj{
		"summary":     "Profiles of " + m.Collection + " (Copernica)",
		"operationId": opID(m.Path, "copernica_profiles"),
		"tags":        []any{tag(m)},
		"parameters": append([]any{obj{"name": "id", "in": "path", "required": true, "schema": obj{"type": "string"}, "description": "the database id"}},
			queryParams(copernica.Params(), func(n string) string { return "Copernica's " + n })...),
		"responses": obj{
			"200":     obj{"description": "a page", "content": jsonContent(page)},
			"default": obj{"description": "an error in Copernica's shape", "headers": obj{"Retry-After": retryAfter}, "content": jsonContent(errRef)},
		},
	})
	return nil
}

func (d *builder) gocdb(m config.Mount) error {
	names, err := gocdb.Params(d.e, m)
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(m.Path, "/")
	xml := obj{"application/xml": obj{"schema": obj{"type": "string"}}}
	op := obj{
		"summary":     "GOCDB's " + m.Options["method"] + " over " + m.Collection + " (XML)",
		"description": "The method parameter picks the method; every method of this path shares it.",
		"operationId": opID(base, "gocdb"),
		"tags":        []any{tag(m)},
		"parameters":  queryParams(names, func(n string) string { return "GOCDB's " + n }),
		"responses": obj{
			"200":     obj{"description": "the results, <results> with a row element each", "content": xml},
			"default": obj{"description": "GOCDB's error, <error>message</error>", "headers": obj{"Retry-After": retryAfter}, "content": xml},
		},
	}
	// GOCDB's clients ask for the path with and without its final slash.
	for _, path := range []string{base, base + "/"} {
		if prev, ok := d.paths[path].(obj); ok {
			// Several methods share the path: one operation lists them all.
			prevOp := prev["get"].(obj)
			prevOp["summary"] = prevOp["summary"].(string) + "; " + op["summary"].(string)
			prevOp["parameters"] = mergeParams(prevOp["parameters"].([]any), op["parameters"].([]any))
			continue
		}
		o := make(obj, len(op))
		for k, v := range op {
			o[k] = v
		}
		o["operationId"] = opID(path, "gocdb")
		if path != base {
			o["operationId"] = opID(base, "gocdb_slash")
		}
		d.get(path, o)
	}
	return nil
}

func mergeParams(a, b []any) []any {
	seen := map[string]bool{}
	for _, p := range a {
		seen[p.(obj)["name"].(string)] = true
	}
	for _, p := range b {
		if !seen[p.(obj)["name"].(string)] {
			a = append(a, p)
		}
	}
	return a
}
