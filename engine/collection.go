package engine

import "fmt"

// Type is the type of a field's values as the engine sees them. Sources map
// their column types onto these; dialects render them.
type Type int

const (
	TypeText  Type = iota // string
	TypeInt               // int64
	TypeFloat             // float64 (never NaN or ±Inf in a cursor or filter)
	TypeBool              // bool
	TypeTime              // time.Time, UTC
	TypeBytes             // []byte
	TypeJSON              // json.RawMessage; arrays of scalars are filterable with all/any/none
)

var typeNames = [...]string{"text", "integer", "number", "boolean", "time", "bytes", "json"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", int(t))
}

// Scalar reports whether values of the type have a total order and so can
// be sorted on and compared with lt/gt.
func (t Type) Scalar() bool { return t != TypeJSON }

// Field is one column of a Collection as published.
type Field struct {
	Name       string // name on the wire
	Column     string // name in the source; only sources read it
	Type       Type
	Nullable   bool
	Sortable   bool
	Filterable bool
	Hidden     bool // never selected, sorted or filtered on
	// FullText: the source keeps a full-text index of the field's words
	// (a column of an SQLite FTS5 table), so the match operator applies.
	FullText bool
}

// Collection is a table or view exposed over HTTP.
type Collection struct {
	Name   string // name on the wire
	Table  string // name in the source; only sources read it
	Fields []*Field
	// Key names the unique, non-null field that ends every sort. Empty when the
	// table has none: such a collection is served with offset paging only.
	Key string
	// KeyCaveat, when not empty, says why the key's cursors may not survive
	// the database's maintenance (SQLite's implicit rowid, which VACUUM may
	// renumber); clients are told it beside the key.
	KeyCaveat string
	// DefaultSort applies when a query names none (the key is appended).
	DefaultSort Sort
	// Scope filters are applied to every query: a visibility rule that
	// clients cannot lift.
	Scope []Filter

	DefaultLimit int // page size when the client names none
	MaxLimit     int // largest page size a client may ask for
	MaxOffset    int // deepest offset that offset paging may reach
}

// Defaults applied by Normalize to collections that leave them zero.
const (
	DefaultLimit     = 25
	DefaultMaxLimit  = 1000
	DefaultMaxOffset = 10000
)

// Normalize fills zero limits with the defaults.
func (c *Collection) Normalize() {
	if c.DefaultLimit <= 0 {
		c.DefaultLimit = DefaultLimit
	}
	if c.MaxLimit <= 0 {
		c.MaxLimit = DefaultMaxLimit
	}
	if c.DefaultLimit > c.MaxLimit {
		c.DefaultLimit = c.MaxLimit
	}
	if c.MaxOffset <= 0 {
		c.MaxOffset = DefaultMaxOffset
	}
}

// Field returns the visible field with the given wire name, or nil.
func (c *Collection) Field(name string) *Field {
	for _, f := range c.Fields {
		if f.Name == name && !f.Hidden {
			return f
		}
	}
	return nil
}

// KeyField returns the key field, or nil when the collection has no key.
func (c *Collection) KeyField() *Field {
	if c.Key == "" {
		return nil
	}
	return c.Field(c.Key)
}

// Keyed reports whether the collection supports keyset (cursor) paging.
func (c *Collection) Keyed() bool { return c.KeyField() != nil }

// Visible returns the fields that may be selected, in declaration order.
func (c *Collection) Visible() []*Field {
	out := make([]*Field, 0, len(c.Fields))
	for _, f := range c.Fields {
		if !f.Hidden {
			out = append(out, f)
		}
	}
	return out
}
