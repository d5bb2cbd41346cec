package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"folio/engine"
	"folio/source/sqlcond"
)

// Query runs plan as one SQL statement and calls emit for every row as the
// database produces it, reusing one Row. Cancelling ctx interrupts SQLite.
// A long result (no limit, or more than pipelineMin rows) is read by a
// second goroutine; see pipeline.
func (s *Source) Query(ctx context.Context, plan *engine.Plan, emit func(engine.Row) error) error {
	query, args, layouts, err := s.selectSQL(ctx, plan)
	if err != nil {
		return err
	}
	if plan.Limit == 0 || plan.Limit > pipelineMin {
		return s.pipeline(ctx, plan, query, args, layouts, emit)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("query %s: %w", plan.Collection.Table, err)
	}
	defer rows.Close()
	raw := make([]any, len(plan.Columns))
	dest := make([]any, len(plan.Columns))
	for i := range raw {
		dest[i] = &raw[i]
	}
	row := make(engine.Row, len(plan.Columns))
	dec := newRowDecoder(plan.Columns, layouts)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("query %s: %w", plan.Collection.Table, err)
		}
		if err := dec.decode(row, raw); err != nil {
			return fmt.Errorf("query %s: %w", plan.Collection.Table, err)
		}
		if err := emit(row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query %s: %w", plan.Collection.Table, err)
	}
	return nil
}

// selectSQL builds the one statement that answers plan:
//
//	SELECT columns FROM table WHERE filters AND seek ORDER BY ... LIMIT ? OFFSET ?
//
// with the layouts in which its time columns are stored.
func (s *Source) selectSQL(ctx context.Context, plan *engine.Plan) (string, []any, []timeLayout, error) {
	b := &builder{ctx: ctx, s: s, c: plan.Collection}
	layouts := make([]timeLayout, len(plan.Columns))
	b.sql.WriteString("SELECT ")
	for i, f := range plan.Columns {
		if i > 0 {
			b.sql.WriteString(", ")
		}
		// The unary + hides the declared type from the driver, which would
		// otherwise turn DATETIME text into times and BOOLEAN integers into
		// bools by its own rules; decode converts every column by the
		// field's type instead, the same way for every storage layout.
		b.sql.WriteString("+" + quote(f.Column))
		if f.Type == engine.TypeTime {
			l, err := s.layout(ctx, plan.Collection.Table, f.Column)
			if err != nil {
				return "", nil, nil, err
			}
			layouts[i] = l
		}
	}
	b.sql.WriteString(" FROM " + quote(plan.Collection.Table))
	if err := b.where(plan.Filters, plan.Seek); err != nil {
		return "", nil, nil, err
	}
	for i, o := range plan.Order {
		if i == 0 {
			b.sql.WriteString(" ORDER BY ")
		} else {
			b.sql.WriteString(", ")
		}
		b.sql.WriteString(quote(o.Field.Column))
		// NULL sorts above every value. SQLite's own default is the
		// opposite, so nullable columns say so; NOT NULL columns say
		// nothing, which keeps plain indexes usable for the order.
		switch {
		case o.Desc && o.Field.Nullable:
			b.sql.WriteString(" DESC NULLS FIRST")
		case o.Desc:
			b.sql.WriteString(" DESC")
		case o.Field.Nullable:
			b.sql.WriteString(" ASC NULLS LAST")
		default:
			b.sql.WriteString(" ASC")
		}
	}
	switch {
	case plan.Limit > 0:
		b.sql.WriteString(" LIMIT ?")
		b.args = append(b.args, int64(plan.Limit))
	case plan.Offset > 0:
		b.sql.WriteString(" LIMIT -1")
	}
	if plan.Offset > 0 {
		b.sql.WriteString(" OFFSET ?")
		b.args = append(b.args, int64(plan.Offset))
	}

	return b.sql.String(), b.args, layouts, nil
}

// Count counts the rows of c that match every filter.
func (s *Source) Count(ctx context.Context, c *engine.Collection, filters []engine.Filter) (int64, error) {
	query, args, err := s.countSQL(ctx, c, filters)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", c.Table, err)
	}
	return n, nil
}

// countSQL builds SELECT count(*) FROM table WHERE filters.
func (s *Source) countSQL(ctx context.Context, c *engine.Collection, filters []engine.Filter) (string, []any, error) {
	b := &builder{ctx: ctx, s: s, c: c}
	b.sql.WriteString("SELECT count(*) FROM " + quote(c.Table))
	if err := b.where(filters, nil); err != nil {
		return "", nil, err
	}
	return b.sql.String(), b.args, nil
}

// builder accumulates one SQL statement and its bound arguments.
// Identifiers come only from the collection's fields; values only ever
// become arguments.
type builder struct {
	ctx  context.Context
	s    *Source
	c    *engine.Collection
	sql  strings.Builder
	args []any
}

// where appends the filters and the keyset predicate as a WHERE clause.
func (b *builder) where(filters []engine.Filter, seek *engine.Predicate) error {
	w, err := sqlcond.Where(b, filters, seek)
	b.sql.WriteString(w)
	return err
}

// tuple renders the row-value form of a seek, "(a, b) < (?, ?)", which
// SQLite turns into one index seek straight to the boundary, where the
// expanded form would scan every row that ties on the leading field. ok is
// false when there is no such form or a value cannot be bound exactly.
func (b *builder) Tuple(t *engine.Tuple) (cond string, ok bool, err error) {
	if t == nil {
		return "", false, nil
	}
	cols := make([]string, len(t.Fields))
	args := make([]any, len(t.Fields))
	for i, f := range t.Fields {
		arg, exact, err := b.arg(f, t.Values[i])
		if err != nil {
			return "", false, err
		}
		if !exact {
			return "", false, nil
		}
		cols[i], args[i] = quote(f.Column), arg
	}
	op := " > "
	if t.Desc {
		op = " < "
	}
	b.args = append(b.args, args...)
	marks := strings.Repeat("?, ", len(cols))
	return "(" + strings.Join(cols, ", ") + ")" + op + "(" + marks[:len(marks)-2] + ")", true, nil
}

// Atom renders one comparison of a keyset predicate (sqlcond.Leaves).
func (b *builder) Atom(a engine.Atom) (string, error) {
	if a.Op == engine.OpNull {
		return nullCond(quote(a.Field.Column), a.Value)
	}
	return b.compare(a.Field, a.Op, a.Value)
}

func nullCond(col string, v engine.Value) (string, error) {
	isNull, ok := v.(bool)
	if !ok {
		return "", fmt.Errorf("null test needs a boolean, got %T", v)
	}
	if isNull {
		return col + " IS NULL", nil
	}
	return col + " IS NOT NULL", nil
}

var compareOps = map[engine.Op]string{
	engine.OpEq: "=", engine.OpNe: "<>", engine.OpLt: "<", engine.OpLte: "<=", engine.OpGt: ">", engine.OpGte: ">=",
}

// compare renders one comparison of a field with a value. A time the
// column cannot hold exactly (finer than its stored fraction) is bound
// rounded down, and the operator is adjusted so that the result is still
// the comparison with the exact time.
func (b *builder) compare(f *engine.Field, op engine.Op, v engine.Value) (string, error) {
	col := quote(f.Column)
	arg, exact, err := b.arg(f, v)
	if err != nil {
		return "", err
	}
	sqlOp, ok := compareOps[op]
	if !ok {
		return "", fmt.Errorf("operator %q is not a comparison", op)
	}
	if !exact {
		// For x stored at the column's resolution and a = floor(v) < v:
		// x < v ⇔ x <= a, x >= v ⇔ x > a, x = v never, x <> v always.
		switch op {
		case engine.OpEq:
			return "0", nil
		case engine.OpNe:
			return col + " IS NOT NULL", nil
		case engine.OpLt:
			sqlOp = "<="
		case engine.OpGte:
			sqlOp = ">"
		}
	}
	b.args = append(b.args, arg)
	return col + " " + sqlOp + " ?", nil
}

// arg binds a value of field f.
func (b *builder) arg(f *engine.Field, v engine.Value) (any, bool, error) {
	var l timeLayout
	if f.Type == engine.TypeTime {
		var err error
		if l, err = b.s.layout(b.ctx, b.c.Table, f.Column); err != nil {
			return nil, false, err
		}
	}
	arg, exact, err := bindValue(v, f.Type, l)
	if err != nil {
		return nil, false, fmt.Errorf("field %s: %w", f.Name, err)
	}
	return arg, exact, nil
}

// Field renders one filter on a field (sqlcond.Leaves; sqlcond composes
// or/not trees). Comparisons never match NULL (SQL semantics: "ne" is
// col <> ?, which excludes NULL).
func (b *builder) Field(f engine.Filter) (string, error) {
	fd := fieldNamed(b.c, f.Field)
	if fd == nil {
		return "", fmt.Errorf("filter on unknown field %q", f.Field)
	}
	if len(f.Values) == 0 {
		return "", fmt.Errorf("filter %s has no value", f)
	}
	col := quote(fd.Column)
	switch f.Op {
	case engine.OpEq, engine.OpNe, engine.OpLt, engine.OpLte, engine.OpGt, engine.OpGte:
		return b.compare(fd, f.Op, f.Values[0])
	case engine.OpNull:
		v := f.Values[0]
		if s, ok := v.(string); ok {
			var err error
			if v, err = engine.ParseValue(engine.TypeBool, s); err != nil {
				return "", fmt.Errorf("filter %s: %w", f, err)
			}
		}
		return nullCond(col, v)
	case engine.OpIn:
		var marks []string
		for _, v := range f.Values {
			arg, exact, err := b.arg(fd, v)
			if err != nil {
				return "", err
			}
			if exact { // a time the column cannot hold equals no stored value
				b.args = append(b.args, arg)
				marks = append(marks, "?")
			}
		}
		if len(marks) == 0 {
			return "0", nil
		}
		return col + " IN (" + strings.Join(marks, ", ") + ")", nil
	case engine.OpPrefix:
		p, ok := f.Values[0].(string)
		if !ok {
			return "", fmt.Errorf("filter %s: prefix needs text, got %T", f, f.Values[0])
		}
		// Byte-exact and case-sensitive, unlike LIKE; the range test lets
		// SQLite seek an index on the column.
		b.args = append(b.args, p, p, p)
		return "(" + col + " >= ? AND substr(" + col + ", 1, length(?)) = ?)", nil
	case engine.OpContains:
		p, ok := f.Values[0].(string)
		if !ok {
			return "", fmt.Errorf("filter %s: contains needs text, got %T", f, f.Values[0])
		}
		// instr is byte-exact and case-sensitive, unlike LIKE.
		b.args = append(b.args, p)
		return "instr(" + col + ", ?) > 0", nil
	case engine.OpAll, engine.OpAny, engine.OpNone:
		return b.arrayFilter(fd, f)
	}
	return "", fmt.Errorf("unsupported filter operator %q", f.Op)
}

// arrayFilter renders all/any/none on a JSON array column. Elements are
// compared with the values as text. A NULL array holds no value, so "none"
// matches it and "all" and "any" do not.
func (b *builder) arrayFilter(fd *engine.Field, f engine.Filter) (string, error) {
	// The column is qualified with its table: json_each has columns of its
	// own (key, value, json, ...) that would otherwise shadow it.
	each := "SELECT 1 FROM json_each(" + quote(b.c.Table) + "." + quote(fd.Column) + ") AS j WHERE j.value"
	vals := make([]any, len(f.Values))
	for i, v := range f.Values {
		switch x := v.(type) {
		case string:
			vals[i] = x
		case json.RawMessage:
			vals[i] = string(x)
		default:
			return "", fmt.Errorf("filter %s: array elements are compared as text, got %T", f, v)
		}
	}
	if f.Op == engine.OpAll {
		conds := make([]string, len(vals))
		for i, v := range vals {
			b.args = append(b.args, v)
			conds[i] = "EXISTS (" + each + " = ?)"
		}
		return "(" + strings.Join(conds, " AND ") + ")", nil
	}
	b.args = append(b.args, vals...)
	in := each + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ") + ")"
	if f.Op == engine.OpAny {
		return "EXISTS (" + in + ")", nil
	}
	return "NOT EXISTS (" + in + ")", nil
}

// fieldNamed finds a field by wire name, hidden ones included: scope
// filters may test fields that clients never see.
func fieldNamed(c *engine.Collection, name string) *engine.Field {
	for _, f := range c.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}
