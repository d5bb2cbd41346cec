package jsonapi

import (
	"fmt"
	"slices"
	"strings"

	"folio/engine"
	"folio/httperr"
	"folio/wire"
)

// A request chooses how resources are rendered, never which: JSON:API's
// sparse fieldsets (fields[TYPE]=a,b) and DataCite's display switches
// (publisher=true, affiliation=true). Together they are a view, and each
// view has a template of its own, built from the mount's attribute tree.

// view is how a request asks resources to be rendered.
type view struct {
	// fields lists the attributes and relationships to render, by name;
	// nil renders every one (no fields[TYPE] for the mount's type), an
	// empty one none (fields[TYPE] given empty).
	fields []string
	// publisher is DataCite's publisher=true: the publisher attribute as an
	// object, {"name":…}, rather than as text.
	publisher bool
}

// Display switches, DataCite's names.
const (
	switchPublisher   = "publisher"
	switchAffiliation = "affiliation"
)

// ignored reports whether DataCite accepts a parameter that changes only
// the presentation of what folio does not render (facets, the XML):
// accepted, kept in links.next, and otherwise ignored.
func ignored(name string) bool {
	switch normName(name) {
	case "disablefacets", "facets", "detail":
		return true
	}
	return false
}

// display reads a parameter that shapes the view, and reports whether name
// is one: fields[TYPE], publisher or affiliation. Neither switch is ever a
// filter, even where the collection has a field of that name, as in
// DataCite, whose /dois filters no publisher.
func (h *handler) display(v *view, name, value string) (bool, error) {
	if typ, ok := strings.CutPrefix(name, "fields["); ok && strings.HasSuffix(typ, "]") {
		return true, h.sparse(v, name, strings.TrimSuffix(typ, "]"), value)
	}
	switch normName(name) {
	case switchPublisher, switchAffiliation:
	default:
		return false, nil
	}
	var on bool
	switch value {
	case "true":
		on = true
	case "false", "":
	default:
		return true, engine.Invalidf(name, "is a display switch, true or false, not a filter (got %s): DataCite's %s=true renders %s as objects; to search by publisher, use query=",
			httperr.Quote(value), normName(name), map[string]string{switchPublisher: "the publisher", switchAffiliation: "affiliations"}[normName(name)])
	}
	// affiliation=true renders creators' affiliations as objects; folio's
	// attributes hold no affiliations to render either way.
	if normName(name) == switchPublisher {
		v.publisher = on
	}
	return true, nil
}

// sparse reads fields[typ]: a comma-separated list of the attributes and
// relationships to render, compared as filter names are (case, '-' and '_'
// aside); id and type are always rendered, and may be listed. A list for
// another type is accepted and changes nothing, as JSON:API 1.1 has it:
// the document holds resources of the mount's type only (folio serves no
// include), so there is nothing of another type to leave out.
func (h *handler) sparse(v *view, name, typ, value string) error {
	if typ == "" {
		return engine.Invalidf(name, "names no resource type: write fields[%s]=a,b", h.tmpl.typ)
	}
	if typ != h.tmpl.typ {
		return nil
	}
	v.fields = []string{}
	for _, f := range strings.Split(value, ",") {
		f = strings.TrimSpace(f)
		if f == "" || f == "id" || f == "type" {
			continue
		}
		canon, ok := h.tmpl.fieldNames[normName(f)]
		if !ok {
			return engine.Invalidf(name, "%s is neither an attribute nor a relationship of %s (they are %s)", httperr.Quote(f), typ, strings.Join(h.tmpl.fieldList(), ", "))
		}
		if !slices.Contains(v.fields, canon) {
			v.fields = append(v.fields, canon)
		}
	}
	return nil
}

// indexFields fills fieldNames. JSON:API gives attributes and
// relationships one namespace, so a name may not be both.
func (t *template) indexFields() error {
	t.fieldNames = map[string]string{}
	for _, c := range t.root.children {
		t.fieldNames[normName(c.name)] = c.name
	}
	for _, rel := range t.relNames {
		if prev, dup := t.fieldNames[normName(rel)]; dup {
			return fmt.Errorf("fields: relationship %q and attribute %q have one name (JSON:API gives them one namespace)", rel, prev)
		}
		t.fieldNames[normName(rel)] = rel
	}
	return nil
}

// fieldList lists what fields[TYPE] may name, in document order.
func (t *template) fieldList() []string {
	out := make([]string, 0, len(t.root.children)+len(t.relNames))
	for _, c := range t.root.children {
		out = append(out, c.name)
	}
	return append(out, t.relNames...)
}

// view returns the template of v: t itself for the full view.
func (t *template) view(v view) *template {
	if v.fields == nil && !v.publisher {
		return t
	}
	return t.build(v)
}

// build compiles the template of view v: the id, the type, then the
// attributes and relationships v selects, in the mount's order. An
// attributes or relationships member with nothing selected is left out,
// as JSON:API allows.
func (t *template) build(v view) *template {
	picked := func(name string) bool { return v.fields == nil || slices.Contains(v.fields, name) }
	var attrs []*node
	for _, c := range t.root.children {
		if !picked(c.name) {
			continue
		}
		if v.publisher && c.name == switchPublisher && c.field != nil && !c.array && c.kind == kindJSON {
			p := *c
			p.kind = kindPublisher
			c = &p
		}
		attrs = append(attrs, c)
	}
	var rels []string
	for _, rel := range t.relNames {
		if picked(rel) {
			rels = append(rels, rel)
		}
	}

	var w templateWriter
	w.lit(`{"id":`)
	w.value(t.key, kindID, nil)
	w.lit(`,"type":`)
	w.lit(string(wire.AppendString(nil, t.typ)))
	if len(attrs) > 0 || v.fields == nil {
		w.lit(`,"attributes":`)
		w.object(attrs)
	}
	if len(rels) > 0 {
		w.lit(`,"relationships":{`)
		for i, rel := range rels {
			if i > 0 {
				w.lit(",")
			}
			w.lit(string(wire.AppendString(nil, rel)) + `:{"data":`)
			w.value(t.rels[rel], kindRelationship, append(append([]byte(`,"type":`), wire.AppendString(nil, rel+"s")...), '}'))
			w.lit("}")
		}
		w.lit("}")
	}
	w.lit("}")

	out := *t
	out.slots, out.tail = w.slots, w.pending
	out.columns = nil
	if v.fields != nil {
		// The engine reads only what the view shows (it adds the key, and
		// the sort fields a cursor needs, itself).
		out.columns = []string{t.key.Name}
		for _, s := range out.slots {
			if !slices.Contains(out.columns, s.field.Name) {
				out.columns = append(out.columns, s.field.Name)
			}
		}
	}
	return &out
}
