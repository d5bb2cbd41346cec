package jsonapi

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"folio/engine"
	"folio/httperr"
	"folio/wire"
)

// A resource is rendered by a template compiled once per mount: a list of
// literal byte runs, each followed by one value, so that writing a row is
// appends and nothing else (no maps, no reflection per row).

// kind says how a template slot renders its value.
type kind int

const (
	kindJSON         kind = iota // the value as JSON
	kindID                       // the value's text form as a JSON string (JSON:API ids are strings)
	kindRelationship             // {"id":…,"type":…} or null
	kindPrefix                   // DOI prefix: the text before the first '/'
	kindSuffix                   // DOI suffix: the text after it
	kindTypeGeneral              // "physical-object" → "PhysicalObject", DataCite's resourceTypeGeneral
	kindPublisher                // {"name":…} or null: DataCite's publisher=true
)

// slot is one value of a template and the literal that precedes it.
type slot struct {
	lit   []byte
	field *engine.Field
	kind  kind
	extra []byte // kindRelationship: `,"type":"clients"}`
}

// template renders the resources of one mount, in one view (view.go):
// the mount's full view, or the one a request asks for.
type template struct {
	typ   string
	slots []slot
	tail  []byte
	// doi is the field the "doi" attribute shows, when the mount publishes
	// DOIs: it enables the derived prefix and suffix and the prefix filter.
	doi *engine.Field

	// What every view of the mount is built from.
	key      *engine.Field
	root     *node                    // the attributes, in DataCite's order
	rels     map[string]*engine.Field // the relationships by name
	relNames []string                 // in DataCite's order
	// fieldNames maps the normalised name of every top-level attribute
	// and relationship to its name: what fields[TYPE] may list.
	fieldNames map[string]string
	// columns are the collection fields the view's slots show, by name:
	// the engine's projection (nil: every visible field).
	columns []string
}

// attributeOrder is DataCite's attribute order (lupo's serializer); other
// attributes follow in alphabetical order.
var attributeOrder = []string{"doi", "prefix", "suffix", "identifiers", "alternateIdentifiers", "creators",
	"titles", "publisher", "container", "publicationYear", "subjects", "contributors", "dates", "language",
	"types", "relatedIdentifiers", "relatedItems", "sizes", "formats", "version", "rightsList",
	"descriptions", "geoLocations", "fundingReferences", "xml", "url", "contentUrl", "metadataVersion",
	"schemaVersion", "source", "isActive", "state", "reason", "landingPage", "viewCount", "viewsOverTime",
	"downloadCount", "downloadsOverTime", "referenceCount", "citationCount", "citationsOverTime",
	"partCount", "partOfCount", "versionCount", "versionOfCount", "created", "registered", "published", "updated"}

// relationshipOrder is DataCite's relationship order.
var relationshipOrder = []string{"client", "provider", "media", "references", "citations", "parts", "partOf", "versions", "versionOf"}

// node is one attribute in the tree of a resource's attributes.
type node struct {
	name     string
	array    bool // a one-element array around the value
	children []*node
	field    *engine.Field // a leaf
	kind     kind
}

func (n *node) child(name string) *node {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// resolver maps the names a request uses for fields (filters, sort) onto
// the collection's fields. Names compare without case, '-' and '_', so
// provider-id, provider_id and providerId are one name.
type resolver struct {
	c      *engine.Collection
	byName map[string]*engine.Field
}

func normName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '-', '_', '[', ']':
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// field returns the field a request name stands for, or nil.
func (n *resolver) field(name string) *engine.Field { return n.byName[normName(name)] }

// sort parses a sort parameter ("-created", "name,-updated") into the
// engine's terms. An unknown name is an error naming the sort parameter.
// relevance (DataCite's order by search score, and its default when query
// is given) names no order here: folio scores nothing, every record is
// equally relevant, so the term is dropped and the terms after it, or the
// mode's default order, decide.
func (n *resolver) sort(s string) (engine.Sort, error) {
	var out engine.Sort
	for _, k := range engine.ParseSort(s) {
		f := n.field(k.Field)
		if f == nil && k.Nulls == engine.NullsDefault && normName(k.Field) == relevance {
			continue
		}
		if f == nil || k.Nulls != engine.NullsDefault {
			// DataCite has no NULL placement to ask for (missing values
			// sort last), so a placement suffix names no field.
			return nil, engine.Invalidf(paramSort, "unknown sort field %s", httperr.Quote(strings.TrimPrefix(engine.Sort{k}.String(), "-")))
		}
		k.Field = f.Name
		out = append(out, k)
	}
	return out, nil
}

// relevance is DataCite's sort by search score.
const relevance = "relevance"

// camel turns a column name into a JSON:API attribute name: provider_id → providerId.
func camel(s string) string {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '_' || r == '-' })
	if len(parts) <= 1 {
		return s
	}
	var b strings.Builder
	b.WriteString(parts[0])
	for _, p := range parts[1:] {
		r, size := utf8.DecodeRuneInString(p)
		b.WriteRune(unicode.ToUpper(r))
		b.WriteString(p[size:])
	}
	return b.String()
}

// compile checks a mount's field map against c and builds the name
// resolver and the resource template.
func compile(c *engine.Collection, fields map[string]string, typ string) (*resolver, *template, error) {
	names := &resolver{c: c, byName: map[string]*engine.Field{}}
	register := func(name string, f *engine.Field, explicit bool) error {
		k := normName(name)
		if g, ok := names.byName[k]; ok && g != f {
			if explicit {
				return fmt.Errorf("fields: %q and another name both read as %q but map to %q and %q", name, k, g.Name, f.Name)
			}
			return nil // explicit names win over column names
		}
		names.byName[k] = f
		return nil
	}

	root := &node{}
	rels := map[string]*engine.Field{}
	mapped := map[*engine.Field]bool{}
	for _, key := range slices.Sorted(maps.Keys(fields)) {
		target := fields[key]
		f := c.Field(target)
		if f == nil {
			return nil, nil, fmt.Errorf("fields: %q maps to %q, which is not a visible field of %s", key, target, c.Name)
		}
		mapped[f] = true
		if rel, ok := strings.CutPrefix(key, "relationships."); ok {
			if rel == "" || strings.ContainsAny(rel, ".[]") {
				return nil, nil, fmt.Errorf("fields: relationship %q must be relationships.<name>", key)
			}
			rels[rel] = f
			if err := register(rel+"-id", f, true); err != nil {
				return nil, nil, err
			}
			continue
		}
		if err := addPath(root, key, f); err != nil {
			return nil, nil, fmt.Errorf("fields: %w", err)
		}
		if err := register(strings.ReplaceAll(key, "[]", ""), f, true); err != nil {
			return nil, nil, err
		}
	}
	for _, f := range c.Visible() {
		if err := register(f.Name, f, false); err != nil {
			return nil, nil, err
		}
		if mapped[f] {
			continue
		}
		name := camel(f.Name)
		switch {
		case name == "id" && f == c.KeyField():
			continue // it is the resource's id
		case name == "id" || name == "type":
			return nil, nil, fmt.Errorf("fields: field %q cannot be an attribute (JSON:API reserves id and type); map it to another name", f.Name)
		}
		if err := addPath(root, name, f); err != nil {
			return nil, nil, fmt.Errorf("fields: %w", err)
		}
	}
	key := c.KeyField()
	for _, alias := range []string{"id", "name"} { // DataCite sorts by name (the DOI)
		if names.field(alias) == nil {
			names.byName[alias] = key
		}
	}

	t := &template{typ: typ}
	// DataCite derives prefix and suffix from the DOI.
	if d := root.child("doi"); d != nil && d.field != nil && !d.array && d.field.Type == engine.TypeText {
		t.doi = d.field
		for _, k := range []struct {
			name string
			kind kind
		}{{"prefix", kindPrefix}, {"suffix", kindSuffix}} {
			if root.child(k.name) == nil {
				root.children = append(root.children, &node{name: k.name, field: d.field, kind: k.kind})
			}
		}
	}
	if g := root.child("types"); g != nil {
		if l := g.child("resourceTypeGeneral"); l != nil && l.field != nil && l.field.Type == engine.TypeText {
			l.kind = kindTypeGeneral
		}
	}
	sortNodes(root.children, attributeOrder)
	for _, n := range root.children {
		sortTree(n)
	}

	t.key, t.root, t.rels = key, root, rels
	t.relNames = slices.Collect(maps.Keys(rels))
	slices.SortFunc(t.relNames, func(a, b string) int { return orderCmp(relationshipOrder, a, b) })
	if err := t.indexFields(); err != nil {
		return nil, nil, err
	}
	return names, t.build(view{}), nil
}

// addPath adds an attribute path ("types.resourceTypeGeneral",
// "titles[].title") for f to the tree.
func addPath(root *node, path string, f *engine.Field) error {
	segs := strings.Split(path, ".")
	n := root
	for i, seg := range segs {
		name, array := strings.CutSuffix(seg, "[]")
		if name == "" || strings.ContainsAny(name, "[]") {
			return fmt.Errorf("attribute %q: each part must be a name, optionally followed by []", path)
		}
		if i == 0 && (name == "id" || name == "type") {
			return fmt.Errorf("attribute %q: JSON:API reserves id and type", path)
		}
		last := i == len(segs)-1
		c := n.child(name)
		switch {
		case c == nil:
			c = &node{name: name, array: array}
			n.children = append(n.children, c)
		case last || c.field != nil:
			return fmt.Errorf("attribute %q clashes with another attribute", path)
		case c.array != array:
			return fmt.Errorf("attribute %q: %s is an array in one name and not in another", path, name)
		}
		if last {
			c.field = f
		}
		n = c
	}
	return nil
}

func orderCmp(order []string, a, b string) int {
	i, j := slices.Index(order, a), slices.Index(order, b)
	switch {
	case i >= 0 && j >= 0:
		return i - j
	case i >= 0:
		return -1
	case j >= 0:
		return 1
	}
	return strings.Compare(a, b)
}

func sortNodes(ns []*node, order []string) {
	slices.SortFunc(ns, func(a, b *node) int { return orderCmp(order, a.name, b.name) })
}

func sortTree(n *node) {
	sortNodes(n.children, nil)
	for _, c := range n.children {
		sortTree(c)
	}
}

// templateWriter gathers literals between values into slots.
type templateWriter struct {
	slots   []slot
	pending []byte
}

func (w *templateWriter) lit(s string) { w.pending = append(w.pending, s...) }

func (w *templateWriter) value(f *engine.Field, k kind, extra []byte) {
	w.slots = append(w.slots, slot{lit: w.pending, field: f, kind: k, extra: extra})
	w.pending = nil
}

func (w *templateWriter) object(children []*node) {
	w.lit("{")
	for i, c := range children {
		if i > 0 {
			w.lit(",")
		}
		w.lit(string(wire.AppendString(nil, c.name)) + ":")
		if c.array {
			w.lit("[")
		}
		if c.field != nil {
			w.value(c.field, c.kind, nil)
		} else {
			w.object(c.children)
		}
		if c.array {
			w.lit("]")
		}
	}
	w.lit("}")
}

// indexes returns, for each slot, the index of its field in the page's columns.
func (t *template) indexes(p *engine.Page) []int {
	idx := make([]int, len(t.slots))
	for i, s := range t.slots {
		idx[i] = slices.Index(p.Columns, s.field)
	}
	return idx
}

// appendResource appends one row as a JSON:API resource object.
func (t *template) appendResource(b []byte, row engine.Row, idx []int) []byte {
	for i := range t.slots {
		s := &t.slots[i]
		b = append(b, s.lit...)
		v := row[idx[i]]
		switch s.kind {
		case kindJSON:
			b = wire.AppendJSON(b, v)
		case kindID:
			b = appendID(b, v)
		case kindRelationship:
			if v == nil {
				b = append(b, "null"...)
				break
			}
			b = append(b, `{"id":`...)
			b = appendID(b, v)
			b = append(b, s.extra...)
		case kindPrefix, kindSuffix:
			d, ok := v.(string)
			slash := strings.IndexByte(d, '/')
			switch {
			case !ok || slash < 0:
				b = append(b, "null"...)
			case s.kind == kindPrefix:
				b = wire.AppendString(b, d[:slash])
			default:
				b = wire.AppendString(b, d[slash+1:])
			}
		case kindTypeGeneral:
			if x, ok := v.(string); ok {
				b = appendTypeGeneral(b, x)
			} else {
				b = wire.AppendJSON(b, v)
			}
		case kindPublisher:
			if v == nil {
				b = append(b, "null"...)
				break
			}
			b = append(b, `{"name":`...)
			b = wire.AppendJSON(b, v)
			b = append(b, '}')
		}
	}
	return append(b, t.tail...)
}

func appendID(b []byte, v engine.Value) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return wire.AppendString(b, x)
	}
	return wire.AppendString(b, engine.FormatValue(v))
}

// appendTypeGeneral writes DataCite's resource-type-id ("physical-object")
// as its resourceTypeGeneral ("PhysicalObject"), the inverse of lupo's
// underscore-and-dasherize.
func appendTypeGeneral(b []byte, s string) []byte {
	var buf [64]byte
	out := buf[:0]
	up := true
	for _, r := range s {
		if r == '-' || r == '_' {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		out = utf8.AppendRune(out, r)
	}
	return wire.AppendString(b, string(out))
}
