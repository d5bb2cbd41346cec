// Package sqlgen writes the statements every SQL source sends: the SELECT
// that answers an engine.Plan and the count of a filtered collection, with
// their WHERE clause (filters, or/not trees, the keyset predicate), ORDER BY
// and LIMIT/OFFSET. What differs between databases (placeholders and how a
// value is bound, how a column is selected and compared, the text and JSON
// array tests, where the database puts NULLs by itself, the LIMIT forms) is
// a Dialect's; the rest is written once, here, so that a change to ordering
// or filtering is one change for every source.
//
// Identifiers come only from the collection's fields; every value becomes
// a bound argument.
package sqlgen

import (
	"context"
	"strings"

	"folio/engine"
)

// Dialect is one database's part of a statement. Methods that render SQL
// append it to st in the order the text appears, so that a dialect that
// numbers its placeholders can number them as it binds.
type Dialect interface {
	// Table appends the collection's table as FROM names it.
	Table(st *Statement)
	// SelectColumn appends field f as the select list reads it.
	SelectColumn(st *Statement, f *engine.Field) error
	// Column appends field f as conditions compare it and ORDER BY sorts it.
	Column(st *Statement, f *engine.Field) error
	// Value converts v, a typed value of field f, into the argument the
	// database compares with the column. exact is false when the column
	// cannot hold v (a time finer than it stores): arg is then v rounded
	// down, and the caller adjusts the comparison.
	Value(st *Statement, f *engine.Field, v engine.Value) (arg any, exact bool, err error)
	// Param binds arg, a value of type t, and appends its placeholder.
	Param(st *Statement, arg any, t engine.Type)
	// Prefix appends "the text of f starts with p", byte-exact and
	// case-sensitive, in a form an index on the column can serve.
	Prefix(st *Statement, f *engine.Field, p string) error
	// Contains appends "the text of f holds p", byte-exact and
	// case-sensitive.
	Contains(st *Statement, f *engine.Field, p string) error
	// Array appends op (all, any or none) of values on the JSON array
	// column of f, elements compared with the values as text. A NULL array
	// holds no value: none matches it, all and any do not.
	Array(st *Statement, f *engine.Field, op engine.Op, values []string) error
	// NullsLow reports whether the database sorts NULL below every value
	// when ORDER BY does not say (SQLite), rather than above (PostgreSQL).
	NullsLow() bool
	// LimitAll is what LIMIT says for "every row" when there is an OFFSET,
	// or "" when OFFSET may stand without a LIMIT.
	LimitAll() string
	// False is a condition no row meets. It is the database's own literal
	// because SQLite reads FALSE as a column when the table has one of
	// that name.
	False() string
}

// Matcher is a Dialect with full-text search: the match operator on the
// fields it marks FullText (engine.OpMatch). A database without it needs
// no such method; the engine lets no match filter reach it.
type Matcher interface {
	// Match appends "the text of f holds every word of words", words as
	// engine.OpMatch defines them.
	Match(st *Statement, f *engine.Field, words string) error
}

// Statement is one statement being written: its text and its arguments,
// for one collection. Dialects append to it; Select, Count and SelectWhere
// make one and return its text and arguments.
type Statement struct {
	ctx  context.Context
	d    Dialect
	c    *engine.Collection
	sql  strings.Builder
	args []any
}

func newStatement(ctx context.Context, d Dialect, c *engine.Collection, size int) *Statement {
	st := &Statement{ctx: ctx, d: d, c: c, args: make([]any, 0, 8)}
	// One allocation for the text of most statements instead of a few as
	// it grows: the builder runs for every page.
	st.sql.Grow(size)
	return st
}

// Context is the context of the request the statement answers, for a
// dialect that looks up a column's storage.
func (st *Statement) Context() context.Context { return st.ctx }

// Collection is the collection the statement reads.
func (st *Statement) Collection() *engine.Collection { return st.c }

// WriteString appends SQL text.
func (st *Statement) WriteString(s string) { st.sql.WriteString(s) }

// Quoter is a Dialect whose identifiers are quoted with another character
// than the standard double quote, embedded ones doubled.
type Quoter interface{ QuoteChar() byte }

// Quote appends an identifier quoted as the dialect reads it: in double
// quotes, embedded ones doubled, unless the dialect is a Quoter.
func (st *Statement) Quote(id string) {
	q := byte('"')
	if d, ok := st.d.(Quoter); ok {
		q = d.QuoteChar()
	}
	st.sql.WriteByte(q)
	for {
		i := strings.IndexByte(id, q)
		if i < 0 {
			break
		}
		st.sql.WriteString(id[:i+1])
		st.sql.WriteByte(q)
		id = id[i+1:]
	}
	st.sql.WriteString(id)
	st.sql.WriteByte(q)
}

// Bind adds an argument and returns its number, counting from 1.
func (st *Statement) Bind(arg any) int {
	st.args = append(st.args, arg)
	return len(st.args)
}

// Select builds the one statement that answers plan:
//
//	SELECT columns FROM table WHERE filters AND seek ORDER BY ... LIMIT ... OFFSET ...
func Select(ctx context.Context, d Dialect, plan *engine.Plan) (string, []any, error) {
	st := newStatement(ctx, d, plan.Collection, 128+16*len(plan.Columns))
	st.WriteString("SELECT ")
	for i, f := range plan.Columns {
		if i > 0 {
			st.WriteString(", ")
		}
		if err := d.SelectColumn(st, f); err != nil {
			return "", nil, err
		}
	}
	st.WriteString(" FROM ")
	d.Table(st)
	if err := st.where(plan.Filters, plan.Seek); err != nil {
		return "", nil, err
	}
	for i, o := range plan.Order {
		if i == 0 {
			st.WriteString(" ORDER BY ")
		} else {
			st.WriteString(", ")
		}
		if err := st.orderKey(o); err != nil {
			return "", nil, err
		}
	}
	switch {
	case plan.Limit > 0:
		st.WriteString(" LIMIT ")
		d.Param(st, int64(plan.Limit), engine.TypeInt)
	case plan.Offset > 0 && d.LimitAll() != "":
		st.WriteString(" LIMIT " + d.LimitAll())
	}
	if plan.Offset > 0 {
		st.WriteString(" OFFSET ")
		d.Param(st, int64(plan.Offset), engine.TypeInt)
	}
	return st.sql.String(), st.args, nil
}

// Count builds SELECT count(*) FROM table WHERE filters.
func Count(ctx context.Context, d Dialect, c *engine.Collection, filters []engine.Cond) (string, []any, error) {
	return SelectWhere(ctx, d, c, "count(*)", filters)
}

// SelectWhere builds SELECT list FROM table WHERE filters, for statements
// about the rows that match rather than the rows themselves: a count, or a
// plan to EXPLAIN. list is SQL text, never a value from a request.
func SelectWhere(ctx context.Context, d Dialect, c *engine.Collection, list string, filters []engine.Cond) (string, []any, error) {
	st := newStatement(ctx, d, c, 128)
	st.WriteString("SELECT " + list + " FROM ")
	d.Table(st)
	if err := st.where(filters, nil); err != nil {
		return "", nil, err
	}
	return st.sql.String(), st.args, nil
}

// orderKey appends one ORDER BY term. A key's NULLs sort above every value
// unless it puts them low (engine.OrderKey.NullsLow): where the database's
// own default differs, a nullable column says where its NULLs go; a
// column whose NULLs fall where the database puts them anyway says
// nothing, which keeps plain indexes usable for the order.
func (st *Statement) orderKey(o engine.OrderKey) error {
	if err := st.d.Column(st, o.Field); err != nil {
		return err
	}
	if o.Desc {
		st.WriteString(" DESC")
	}
	if o.Field.Nullable && o.NullsLow != st.d.NullsLow() {
		if o.NullsLast() {
			st.WriteString(" NULLS LAST")
		} else {
			st.WriteString(" NULLS FIRST")
		}
	}
	return nil
}
