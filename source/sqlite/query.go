package sqlite

import (
	"context"
	"errors"
	"slices"
	"strings"

	"folio/engine"
	"folio/source/sqlgen"
)

// Query runs plan as one SQL statement and calls emit for every row as the
// database produces it, reusing one Row. Cancelling ctx interrupts SQLite.
// A long result (no limit, or more than pipelineMin rows) is read by a
// second goroutine; see pipeline.
func (s *Source) Query(ctx context.Context, plan *engine.Plan, emit func(engine.Row) error) error {
	// The sort values of the last row sent, kept without allocating, so
	// that a statement that fails midway can be continued after it.
	at := make([]int, len(plan.Order))
	for i, o := range plan.Order {
		at[i] = slices.Index(plan.Columns, o.Field)
	}
	last := make([]engine.Value, len(plan.Order))
	sent := 0
	err := s.query(ctx, plan, func(row engine.Row) error {
		for i, j := range at {
			if j >= 0 { // a plan the engine builds selects its order's fields
				last[i] = row[j]
			}
		}
		sent++
		return emit(row)
	})
	if err == nil || !errors.Is(err, errJSONGuarded) {
		return err
	}
	// The statement met a value that is not JSON, written since discovery;
	// its column is guarded now, so the statement runs again and reads past
	// it: from the start when nothing was sent, else after the last row
	// sent, when the order is total (the key ends it) and no offset or
	// limit counts rows.
	retry := *plan
	switch {
	case sent == 0:
	case plan.Offset == 0 && plan.Collection.UniqueOrder(plan.Order) && !slices.Contains(at, -1):
		retry.Seek = engine.SeekAfter(plan.Order, slices.Clone(last))
		if retry.Limit > 0 {
			retry.Limit -= sent
		}
	default:
		return err
	}
	return s.query(ctx, &retry, emit)
}

func (s *Source) query(ctx context.Context, plan *engine.Plan, emit func(engine.Row) error) (err error) {
	h, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer func() { err = h.release(err) }()
	ctx = h.ctx
	query, args, layouts, err := s.selectSQL(ctx, plan)
	if err != nil {
		return err
	}
	if plan.Limit == 0 || plan.Limit > pipelineMin {
		return s.pipeline(ctx, h.db, plan, query, args, layouts, emit)
	}
	rows, err := h.db.QueryContext(ctx, query, args...)
	if err != nil {
		return s.statementError("query", plan.Collection, err)
	}
	defer rows.Close()
	raw := make([]any, len(plan.Columns))
	dest := make([]any, len(plan.Columns))
	for i := range raw {
		dest[i] = &raw[i]
	}
	row := make(engine.Row, len(plan.Columns))
	dec := s.rowDecoder(plan, layouts)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return s.statementError("query", plan.Collection, err)
		}
		dec.decode(row, raw)
		if err := emit(row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.statementError("query", plan.Collection, err)
	}
	return nil
}

// rowDecoder returns the decoder of plan's rows, which tells the Source
// of values that do not fit their columns.
func (s *Source) rowDecoder(plan *engine.Plan, layouts []timeLayout) *rowDecoder {
	table := plan.Collection.Table
	return newRowDecoder(plan.Collection, plan.Columns, layouts, func(f *engine.Field, stored, key any) {
		s.misfit(table, f, stored, key)
	})
}

// selectSQL builds the one statement that answers plan (sqlgen.Select),
// with the layouts in which its time columns are stored.
func (s *Source) selectSQL(ctx context.Context, plan *engine.Plan) (string, []any, []timeLayout, error) {
	layouts := make([]timeLayout, len(plan.Columns))
	for i, f := range plan.Columns {
		if f.Type == engine.TypeTime {
			l, err := s.layout(ctx, plan.Collection.Table, f.Column)
			if err != nil {
				return "", nil, nil, err
			}
			layouts[i] = l
		}
	}
	query, args, err := sqlgen.Select(ctx, dialect{s}, plan)
	return query, args, layouts, err
}

// Count counts the rows of c that match every filter.
func (s *Source) Count(ctx context.Context, c *engine.Collection, filters []engine.Cond) (int64, error) {
	query, args, err := s.countSQL(ctx, c, filters)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.queryRow(ctx, []any{&n}, query, args...)
	if err != nil && s.malformedJSON(c, err) {
		// As in Query: the column is guarded now; the statement is built
		// again with the guard, and run again.
		if query, args, err = s.countSQL(ctx, c, filters); err == nil {
			err = s.queryRow(ctx, []any{&n}, query, args...)
		}
	}
	if err != nil {
		return 0, s.statementError("count", c, err)
	}
	return n, nil
}

// countSQL builds SELECT count(*) FROM table WHERE filters.
func (s *Source) countSQL(ctx context.Context, c *engine.Collection, filters []engine.Cond) (string, []any, error) {
	return sqlgen.Count(ctx, dialect{s}, c, filters)
}

// dialect is SQLite's part of the statements sqlgen writes: ? placeholders,
// values bound in the layout their column stores, byte-exact text tests
// that an index can serve, json_each for JSON arrays.
type dialect struct{ s *Source }

// Table appends the collection's table.
func (d dialect) Table(st *sqlgen.Statement) { st.Quote(st.Collection().Table) }

// QuoteChar quotes identifiers in backquotes (see quote).
func (dialect) QuoteChar() byte { return '`' }

// SelectColumn appends a column of the select list. The unary + hides the
// declared type from the driver, which would otherwise turn DATETIME text
// into times and BOOLEAN integers into bools by its own rules; decode
// converts every column by the field's type instead, the same way for
// every storage layout.
func (d dialect) SelectColumn(st *sqlgen.Statement, f *engine.Field) error {
	st.WriteString("+")
	st.Quote(f.Column)
	return nil
}

// Column appends a column as compared and ordered: the column itself, so
// that its indexes serve the comparison (SQLite's BINARY collation is
// already byte order).
func (d dialect) Column(st *sqlgen.Statement, f *engine.Field) error {
	st.Quote(f.Column)
	return nil
}

// Value converts a value of field f into what SQLite compares with the
// stored values: a time in the column's own layout (see timeLayout).
func (d dialect) Value(st *sqlgen.Statement, f *engine.Field, v engine.Value) (any, bool, error) {
	var l timeLayout
	if f.Type == engine.TypeTime {
		var err error
		if l, err = d.s.layout(st.Context(), st.Collection().Table, f.Column); err != nil {
			return nil, false, err
		}
	}
	return bindValue(v, f.Type, l)
}

// Match appends a search of f's column, a column of an FTS5 table, for
// every word of words (engine.OpMatch): each word becomes an FTS5 string,
// quoted so that no word is read as FTS5's query syntax (AND, NEAR, a
// column filter) and no input is a syntax error, with a trailing * kept as
// a prefix search; FTS5 joins strings with an implicit AND. The search is
// a rowid subquery because FTS5 answers MATCH only as a condition of its
// own table's scan, and the filter may stand under or and not.
func (d dialect) Match(st *sqlgen.Statement, f *engine.Field, words string) error {
	var expr strings.Builder
	for i, w := range strings.Fields(words) {
		if i > 0 {
			expr.WriteByte(' ')
		}
		word := strings.TrimRight(w, "*")
		expr.WriteString(`"` + strings.ReplaceAll(word, `"`, `""`) + `"`)
		if word != w {
			expr.WriteByte('*')
		}
	}
	st.WriteString("rowid IN (SELECT rowid FROM ")
	d.Table(st)
	st.WriteString(" WHERE ")
	st.Quote(f.Column)
	st.WriteString(" MATCH ")
	d.Param(st, expr.String(), engine.TypeText)
	st.WriteString(")")
	return nil
}

// Param binds arg behind a ? placeholder; SQLite needs no parameter type.
func (d dialect) Param(st *sqlgen.Statement, arg any, _ engine.Type) {
	st.Bind(arg)
	st.WriteString("?")
}

// Prefix appends a byte-exact and case-sensitive prefix test, unlike
// LIKE; the range test lets SQLite seek an index on the column.
func (d dialect) Prefix(st *sqlgen.Statement, f *engine.Field, p string) error {
	arg := any(p) // boxed once for its three uses
	st.Bind(arg)
	st.Bind(arg)
	st.Bind(arg)
	st.WriteString("(")
	st.Quote(f.Column)
	st.WriteString(" >= ? AND substr(")
	st.Quote(f.Column)
	st.WriteString(", 1, length(?)) = ?)")
	return nil
}

// Contains appends a substring test with instr, which is byte-exact and
// case-sensitive, unlike LIKE.
func (d dialect) Contains(st *sqlgen.Statement, f *engine.Field, p string) error {
	st.Bind(p)
	st.WriteString("instr(")
	st.Quote(f.Column)
	st.WriteString(", ?) > 0")
	return nil
}

// Array appends all/any/none as EXISTS over json_each, whose values SQLite
// compares with the bound text. In a column that holds values that are not
// JSON (json.go), the walk is guarded with json_valid: such a value holds
// no element, as NULL holds none, where json_each would fail the whole
// statement on it.
func (d dialect) Array(st *sqlgen.Statement, f *engine.Field, op engine.Op, values []string) error {
	// The column is qualified with its table: json_each has columns of its
	// own (key, value, json, ...) that would otherwise shadow it.
	col := func() {
		st.Quote(st.Collection().Table)
		st.WriteString(".")
		st.Quote(f.Column)
	}
	guarded := d.s.jsonGuarded(st.Collection().Table, f.Column)
	each := func() {
		st.WriteString("SELECT 1 FROM json_each(")
		if guarded {
			st.WriteString("CASE WHEN json_valid(")
			col()
			st.WriteString(") THEN ")
			col()
			st.WriteString(" END")
		} else {
			col()
		}
		st.WriteString(") AS j WHERE j.value")
	}
	if op == engine.OpAll {
		st.WriteString("(")
		for i, v := range values {
			if i > 0 {
				st.WriteString(" AND ")
			}
			st.WriteString("EXISTS (")
			each()
			st.WriteString(" = ?)")
			st.Bind(v)
		}
		st.WriteString(")")
		return nil
	}
	if op == engine.OpNone {
		st.WriteString("NOT ")
	}
	st.WriteString("EXISTS (")
	each()
	st.WriteString(" IN (")
	for i, v := range values {
		if i > 0 {
			st.WriteString(", ")
		}
		st.WriteString("?")
		st.Bind(v)
	}
	st.WriteString("))")
	return nil
}

// NullsLow is true: SQLite sorts NULL below every value unless told.
func (dialect) NullsLow() bool { return true }

// LimitAll is -1: SQLite has OFFSET only after a LIMIT.
func (dialect) LimitAll() string { return "-1" }

// False is 0, SQLite's false. FALSE would name a column called "false"
// when the table has one.
func (dialect) False() string { return "0" }
