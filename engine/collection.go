package engine

import (
	"fmt"
	"slices"
	"strings"
)

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
	// Key names the fields whose values together are unique and never null,
	// in the order they end every sort: one field for most tables, several
	// for a composite primary key. Empty when the table has none: such a
	// collection is served with offset paging only.
	Key []string
	// KeyCaveat, when not empty, says why the key's cursors may not survive
	// the database's maintenance (SQLite's implicit rowid, which VACUUM may
	// renumber); clients are told it beside the key.
	KeyCaveat string
	// DefaultSort applies when a query names none (the key is appended).
	DefaultSort Sort
	// Scope filters are applied to every query: a visibility rule that
	// clients cannot lift.
	Scope []Filter
	// Access says who may read the collection, which fields and which
	// rows; nil: everyone, everything.
	Access *Access

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

// KeyFields returns the fields of the key in order, or nil when the
// collection has no key (or names a key field it does not publish).
func (c *Collection) KeyFields() []*Field {
	if len(c.Key) == 0 {
		return nil
	}
	out := make([]*Field, len(c.Key))
	for i, name := range c.Key {
		if out[i] = c.Field(name); out[i] == nil {
			return nil
		}
	}
	return out
}

// KeyField returns the key's one field: nil when the collection has no key
// or a key of several fields, which callers that address a record by one
// value (most dialects) cannot serve.
func (c *Collection) KeyField() *Field {
	if len(c.Key) != 1 {
		return nil
	}
	return c.Field(c.Key[0])
}

// WhyNoKeyField says, for a message, why KeyField is nil: "no unique key",
// or a key of several fields.
func (c *Collection) WhyNoKeyField() string {
	if len(c.KeyFields()) > 1 {
		return fmt.Sprintf("a key of %d fields (%s), not one", len(c.Key), strings.Join(c.Key, ", "))
	}
	return "no unique key"
}

// Keyed reports whether the collection supports keyset (cursor) paging.
func (c *Collection) Keyed() bool { return len(c.KeyFields()) > 0 }

// Composite reports whether the key has several fields.
func (c *Collection) Composite() bool { return len(c.Key) > 1 }

// UniqueOrder reports whether order names every field of c's key, so that
// a row's values for it name exactly one position.
func (c *Collection) UniqueOrder(order []OrderKey) bool {
	keys := c.KeyFields()
	if len(keys) == 0 {
		return false
	}
	for _, k := range keys {
		if !slices.ContainsFunc(order, func(o OrderKey) bool { return o.Field == k }) {
			return false
		}
	}
	return true
}

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
