package nomad

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"folio/engine"
	"folio/wire"
)

// field is one collection field under its NOMAD name.
type field struct {
	name string // dotted NOMAD name, e.g. results.material.elements
	f    *engine.Field
	rank int // position in document order
}

// schema is the mount's view of the collection in NOMAD's names.
type schema struct {
	fields   []*field // document order: fields sharing a prefix are adjacent
	byName   map[string]*field
	byColumn map[string]*field // collection field name → field
	id       *field            // the collection key (NOMAD's entry_id)
	full     []node            // the layout of whole documents
}

// newSchema names every visible field of c: the fields map gives NOMAD's
// dotted names (dialect name → collection field); unmapped fields keep
// their own. Names must nest without clashing, since documents are built
// from them.
func newSchema(c *engine.Collection, fields map[string]string) (*schema, error) {
	s := &schema{byName: map[string]*field{}, byColumn: map[string]*field{}}
	names := map[string]string{} // collection field → NOMAD name
	for _, from := range slices.Sorted(maps.Keys(fields)) {
		to := fields[from]
		if c.Field(to) == nil {
			return nil, fmt.Errorf("field map %q: collection %q has no visible field %q", from, c.Name, to)
		}
		if prev, dup := names[to]; dup {
			return nil, fmt.Errorf("field map: %q and %q both name field %q; a document can carry it under one name only", prev, from, to)
		}
		if err := checkName(from); err != nil {
			return nil, fmt.Errorf("field map %q: %w", from, err)
		}
		names[to] = from
	}
	for _, f := range c.Visible() {
		name, ok := names[f.Name]
		if !ok {
			name = f.Name
			if err := checkName(name); err != nil {
				return nil, fmt.Errorf("field %q: %w; map it to another name", name, err)
			}
		}
		if prev := s.byName[name]; prev != nil {
			return nil, fmt.Errorf("fields %q and %q are both published as %q", prev.f.Name, f.Name, name)
		}
		fd := &field{name: name, f: f}
		s.byName[name] = fd
		s.byColumn[f.Name] = fd
		s.fields = append(s.fields, fd)
	}
	sorted := slices.Sorted(maps.Keys(s.byName))
	for i := 1; i < len(sorted); i++ {
		if strings.HasPrefix(sorted[i], sorted[i-1]+".") {
			return nil, fmt.Errorf("names %q and %q clash: %q cannot be both a value and a section", sorted[i-1], sorted[i], sorted[i-1])
		}
	}
	s.id = s.byColumn[c.KeyField().Name]
	// Document order: sections in the order their first field appears.
	var order []*field
	var walk func(n *tnode)
	walk = func(n *tnode) {
		for _, ch := range n.children {
			if ch.field != nil {
				order = append(order, ch.field)
			}
			walk(ch)
		}
	}
	walk(buildTree(s.fields))
	for i, fd := range order {
		fd.rank = i
	}
	s.fields = order
	// Without a projection the engine returns the visible fields in the
	// collection's order: that document's layout is worked out once.
	cols := map[*field]int{}
	for i, f := range c.Visible() {
		cols[s.byColumn[f.Name]] = i
	}
	s.full = s.layoutOf(cols)
	return s, nil
}

// checkName accepts dotted names whose parts are not empty and hold none
// of the characters the query syntax gives a meaning (":" for
// "name:op", "__" for GET's name__op).
func checkName(name string) error {
	for _, part := range strings.Split(name, ".") {
		if part == "" {
			return fmt.Errorf("name %q has an empty part", name)
		}
	}
	if strings.Contains(name, ":") || strings.Contains(name, "__") {
		return fmt.Errorf("name %q holds ':' or '__', which NOMAD's query syntax uses for operators", name)
	}
	return nil
}

// tnode is a section or a value of a document, while a tree is built.
type tnode struct {
	seg      string
	field    *field // a value; nil for a section
	children []*tnode
}

// buildTree nests fields by their dotted names, keeping first-seen order.
func buildTree(fields []*field) *tnode {
	root := &tnode{}
	for _, fd := range fields {
		n := root
		for _, seg := range strings.Split(fd.name, ".") {
			var next *tnode
			for _, ch := range n.children {
				if ch.seg == seg {
					next = ch
					break
				}
			}
			if next == nil {
				next = &tnode{seg: seg}
				n.children = append(n.children, next)
			}
			n = next
		}
		n.field = fd
	}
	return root
}

// node is one member of a rendered document: a value (col ≥ 0, an index
// into the row) or a section of further members.
type node struct {
	key      []byte // `"name":`
	col      int
	children []node
}

// layout returns the document layout of a page's projected fields.
func (s *schema) layout(p *engine.Page) []node {
	cols := make(map[*field]int, len(p.Fields))
	for _, i := range p.Fields {
		cols[s.byColumn[p.Columns[i].Name]] = i
	}
	return s.layoutOf(cols)
}

// layoutOf returns the document layout of fields, each read from its
// index in the row.
func (s *schema) layoutOf(cols map[*field]int) []node {
	fields := make([]*field, 0, len(cols))
	for fd := range cols {
		fields = append(fields, fd)
	}
	slices.SortFunc(fields, func(a, b *field) int { return a.rank - b.rank })
	var conv func(t *tnode) []node
	conv = func(t *tnode) []node {
		out := make([]node, len(t.children))
		for i, ch := range t.children {
			out[i] = node{key: append(wire.AppendString(nil, ch.seg), ':'), col: -1}
			if ch.field != nil {
				out[i].col = cols[ch.field]
			} else {
				out[i].children = conv(ch)
			}
		}
		return out
	}
	return conv(buildTree(fields))
}

// appendDocument appends one row as a nested JSON object. Like NOMAD's
// documents, it leaves out absent (NULL) values and sections left empty.
func appendDocument(b []byte, row engine.Row, doc []node) []byte {
	b = append(b, '{')
	b, _ = appendMembers(b, row, doc)
	return append(b, '}')
}

func appendMembers(b []byte, row engine.Row, nodes []node) ([]byte, bool) {
	wrote := false
	for i := range nodes {
		n := &nodes[i]
		mark := len(b)
		if wrote {
			b = append(b, ',')
		}
		b = append(b, n.key...)
		if n.children == nil {
			v := row[n.col]
			if v == nil {
				b = b[:mark]
				continue
			}
			b = appendValue(b, v)
		} else {
			b = append(b, '{')
			var any bool
			if b, any = appendMembers(b, row, n.children); !any {
				b = b[:mark]
				continue
			}
			b = append(b, '}')
		}
		wrote = true
	}
	return b, wrote
}
