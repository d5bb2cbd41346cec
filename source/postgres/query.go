package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"folio/engine"
	"folio/source/sqlcond"
)

// Query runs plan as one SQL statement and calls emit for every row as the
// server sends it, reusing one Row: pgx reads the result off the socket as
// it is consumed, so memory stays constant for any result size.
// Cancelling ctx cancels the statement.
func (s *Source) Query(ctx context.Context, plan *engine.Plan, emit func(engine.Row) error) error {
	query, args, err := s.selectSQL(ctx, plan)
	if err != nil {
		return err
	}
	dest, decode := scanners(plan.Columns)
	row := make(engine.Row, len(plan.Columns))
	sent := false
	err = s.read(ctx, func(p *pgxpool.Pool, _ bool) error {
		rows, err := p.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			for i := range row {
				row[i] = decode[i]()
			}
			sent = true
			if err := emit(row); err != nil {
				return emitError{err}
			}
		}
		return rows.Err()
	}, func() bool { return sent })
	var ee emitError
	if errors.As(err, &ee) {
		return ee.err
	}
	if err != nil {
		return fmt.Errorf("query %s: %w", plan.Collection.Table, err)
	}
	return nil
}

// emitError carries the error of the caller's emit function through read
// unwrapped: it is the caller's, not the database's.
type emitError struct{ err error }

func (e emitError) Error() string { return e.err.Error() }

// scanners returns one scan destination per column and a function per
// column that turns the scanned value into an engine value. The select list
// casts every column to one wire type per engine type, so these fit any
// column type.
func scanners(cols []*engine.Field) ([]any, []func() engine.Value) {
	dest := make([]any, len(cols))
	decode := make([]func() engine.Value, len(cols))
	for i, f := range cols {
		switch f.Type {
		case engine.TypeInt:
			var v pgtype.Int8
			dest[i], decode[i] = &v, func() engine.Value {
				if !v.Valid {
					return nil
				}
				return v.Int64
			}
		case engine.TypeFloat:
			var v pgtype.Float8
			dest[i], decode[i] = &v, func() engine.Value {
				if !v.Valid {
					return nil
				}
				return v.Float64
			}
		case engine.TypeBool:
			var v pgtype.Bool
			dest[i], decode[i] = &v, func() engine.Value {
				if !v.Valid {
					return nil
				}
				return v.Bool
			}
		case engine.TypeTime:
			var v pgtype.Timestamptz
			dest[i], decode[i] = &v, func() engine.Value {
				if !v.Valid || v.InfinityModifier != pgtype.Finite {
					return nil
				}
				return v.Time.UTC()
			}
		case engine.TypeBytes:
			var v []byte
			dest[i], decode[i] = &v, func() engine.Value {
				if v == nil {
					return nil
				}
				return append([]byte{}, v...)
			}
		case engine.TypeJSON:
			var v pgtype.Text
			dest[i], decode[i] = &v, func() engine.Value {
				if !v.Valid {
					return nil
				}
				return json.RawMessage(v.String)
			}
		default:
			var v pgtype.Text
			dest[i], decode[i] = &v, func() engine.Value {
				if !v.Valid {
					return nil
				}
				return v.String
			}
		}
	}
	return dest, decode
}

// selectSQL builds the one statement that answers plan:
//
//	SELECT columns FROM table WHERE filters AND seek ORDER BY ... LIMIT $n OFFSET $m
func (s *Source) selectSQL(ctx context.Context, plan *engine.Plan) (string, []any, error) {
	b := &builder{ctx: ctx, s: s, c: plan.Collection}
	b.sql.WriteString("SELECT ")
	for i, f := range plan.Columns {
		if i > 0 {
			b.sql.WriteString(", ")
		}
		k, err := s.kind(ctx, b.c.Table, f.Column)
		if err != nil {
			return "", nil, err
		}
		b.sql.WriteString(selectExpr(f, k))
	}
	b.sql.WriteString(" FROM " + s.table(plan.Collection.Table))
	if err := b.where(plan.Filters, plan.Seek); err != nil {
		return "", nil, err
	}
	for i, o := range plan.Order {
		if i == 0 {
			b.sql.WriteString(" ORDER BY ")
		} else {
			b.sql.WriteString(", ")
		}
		e, err := b.expr(o.Field)
		if err != nil {
			return "", nil, err
		}
		// PostgreSQL's default NULL order is the engine's (NULLS LAST
		// ascending, NULLS FIRST descending); saying nothing keeps plain
		// indexes usable in both directions.
		b.sql.WriteString(e)
		if o.Desc {
			b.sql.WriteString(" DESC")
		}
	}
	if plan.Limit > 0 {
		b.sql.WriteString(" LIMIT " + b.bind(int64(plan.Limit), "int8"))
	}
	if plan.Offset > 0 {
		b.sql.WriteString(" OFFSET " + b.bind(int64(plan.Offset), "int8"))
	}
	return b.sql.String(), b.args, nil
}

// selectExpr selects a column as the one wire type scanners expects for
// its engine type.
func selectExpr(f *engine.Field, k kind) string {
	col := quote(f.Column)
	switch k {
	case kindInt:
		return col + "::int8"
	case kindFloat, kindNumeric:
		return col + "::float8"
	case kindTime:
		return col + "::timestamptz"
	case kindText, kindTextCast, kindJSON:
		return col + "::text"
	}
	return col
}

// Count counts the rows of c that match every filter.
func (s *Source) Count(ctx context.Context, c *engine.Collection, filters []engine.Filter) (int64, error) {
	query, args, err := s.countSQL(ctx, c, filters)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.read(ctx, func(p *pgxpool.Pool, onReplica bool) error {
		if onReplica {
			if err := s.caughtUp(ctx, p); err != nil {
				return err
			}
		}
		return p.QueryRow(ctx, query, args...).Scan(&n)
	}, nil)
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", c.Table, err)
	}
	return n, nil
}

// countSQL builds SELECT count(*) FROM table WHERE filters.
func (s *Source) countSQL(ctx context.Context, c *engine.Collection, filters []engine.Filter) (string, []any, error) {
	b := &builder{ctx: ctx, s: s, c: c}
	b.sql.WriteString("SELECT count(*) FROM " + s.table(c.Table))
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

// bind adds an argument and returns its placeholder, cast to typ so that
// the server never has to guess the parameter's type.
func (b *builder) bind(v any, typ string) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args)) + "::" + typ
}

// expr is a field as compared and ordered. Text compares byte by byte
// (COLLATE "C", as SQLite's BINARY), whatever the database's collation;
// an index serves it when the column itself is COLLATE "C", as Load creates
// it. Types folio has no ordering for compare as their text; numeric as
// float8, the values folio reads.
func (b *builder) expr(f *engine.Field) (string, error) {
	k, err := b.s.kind(b.ctx, b.c.Table, f.Column)
	if err != nil {
		return "", err
	}
	col := quote(f.Column)
	switch k {
	case kindText:
		return col + ` COLLATE "C"`, nil
	case kindTextCast:
		return "(" + col + `::text) COLLATE "C"`, nil
	case kindNumeric:
		return "(" + col + "::float8)", nil
	}
	return col, nil
}

// paramType is the SQL type a value of an engine type is bound as. The
// comparison operators of PostgreSQL's integer, float and datetime operator
// families are cross-type, so an int4 or date column still uses its index.
func paramType(t engine.Type) string {
	switch t {
	case engine.TypeInt:
		return "int8"
	case engine.TypeFloat:
		return "float8"
	case engine.TypeBool:
		return "bool"
	case engine.TypeTime:
		return "timestamptz"
	case engine.TypeBytes:
		return "bytea"
	}
	return "text"
}

// value converts a value of field f for binding. exact is false for a time
// finer than PostgreSQL's microseconds: it is bound truncated.
func value(f *engine.Field, v engine.Value) (any, bool, error) {
	switch x := v.(type) {
	case int64:
		if f.Type == engine.TypeInt {
			return x, true, nil
		}
	case float64:
		if f.Type == engine.TypeFloat {
			return x, true, nil
		}
	case bool:
		if f.Type == engine.TypeBool {
			return x, true, nil
		}
	case string:
		if f.Type == engine.TypeText || f.Type == engine.TypeJSON {
			return x, true, nil
		}
		pv, err := engine.ParseValue(f.Type, x)
		if err != nil {
			return nil, false, fmt.Errorf("field %s: %w", f.Name, err)
		}
		return value(f, pv)
	case time.Time:
		if f.Type == engine.TypeTime {
			t := x.UTC().Truncate(time.Microsecond)
			return t, t.Equal(x), nil
		}
	case []byte:
		if f.Type == engine.TypeBytes {
			return x, true, nil
		}
	}
	return nil, false, fmt.Errorf("field %s: value %v (%T) is not of type %v", f.Name, v, v, f.Type)
}

// where appends the filters and the keyset predicate as a WHERE clause.
func (b *builder) where(filters []engine.Filter, seek *engine.Predicate) error {
	w, err := sqlcond.Where(b, filters, seek)
	b.sql.WriteString(w)
	return err
}

// tuple renders "(a, b) > ($1, $2)", which PostgreSQL turns into one index
// scan starting at the boundary. ok is false when the plan has no such
// form or a value cannot be bound exactly.
func (b *builder) Tuple(t *engine.Tuple) (cond string, ok bool, err error) {
	if t == nil {
		return "", false, nil
	}
	cols := make([]string, len(t.Fields))
	args := make([]any, len(t.Fields))
	for i, f := range t.Fields {
		arg, exact, err := value(f, t.Values[i])
		if err != nil {
			return "", false, err
		}
		if !exact {
			return "", false, nil
		}
		if cols[i], err = b.expr(f); err != nil {
			return "", false, err
		}
		args[i] = arg
	}
	marks := make([]string, len(args))
	for i, a := range args {
		marks[i] = b.bind(a, paramType(t.Fields[i].Type))
	}
	op := " > "
	if t.Desc {
		op = " < "
	}
	return "(" + strings.Join(cols, ", ") + ")" + op + "(" + strings.Join(marks, ", ") + ")", true, nil
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

// compare renders one comparison of a field with a value. A time finer
// than microseconds is bound truncated, and the operator adjusted so that
// the result is still the comparison with the exact time.
func (b *builder) compare(f *engine.Field, op engine.Op, v engine.Value) (string, error) {
	col, err := b.expr(f)
	if err != nil {
		return "", err
	}
	arg, exact, err := value(f, v)
	if err != nil {
		return "", err
	}
	sqlOp, ok := compareOps[op]
	if !ok {
		return "", fmt.Errorf("operator %q is not a comparison", op)
	}
	if !exact {
		// For x stored in microseconds and a = trunc(v) < v:
		// x < v ⇔ x <= a, x >= v ⇔ x > a, x = v never, x <> v always.
		switch op {
		case engine.OpEq:
			return "false", nil
		case engine.OpNe:
			return quote(f.Column) + " IS NOT NULL", nil
		case engine.OpLt:
			sqlOp = "<="
		case engine.OpGte:
			sqlOp = ">"
		}
	}
	return col + " " + sqlOp + " " + b.bind(arg, paramType(f.Type)), nil
}

// Field renders one filter on a field (sqlcond.Leaves; sqlcond composes
// or/not trees). Comparisons never match NULL (SQL semantics: "ne" is
// col <> $1, which excludes NULL).
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
		e, err := b.expr(fd)
		if err != nil {
			return "", err
		}
		var marks []string
		for _, v := range f.Values {
			arg, exact, err := value(fd, v)
			if err != nil {
				return "", err
			}
			if exact { // a time finer than microseconds equals no stored value
				marks = append(marks, b.bind(arg, paramType(fd.Type)))
			}
		}
		if len(marks) == 0 {
			return "false", nil
		}
		return e + " IN (" + strings.Join(marks, ", ") + ")", nil
	case engine.OpPrefix, engine.OpContains:
		p, ok := f.Values[0].(string)
		if !ok {
			return "", fmt.Errorf("filter %s: %s needs text, got %T", f, f.Op, f.Values[0])
		}
		e, err := b.expr(fd)
		if err != nil {
			return "", err
		}
		if f.Op == engine.OpContains {
			// strpos is byte-exact and case-sensitive, unlike LIKE.
			return "strpos(" + e + ", " + b.bind(p, "text") + ") > 0", nil
		}
		// Byte-exact and case-sensitive, unlike LIKE; the range test lets
		// the planner use an index on the column.
		lo := b.bind(p, "text")
		return "(" + e + " >= " + lo + " AND starts_with(" + e + ", " + lo + "))", nil
	case engine.OpAll, engine.OpAny, engine.OpNone:
		return b.arrayFilter(fd, f)
	}
	return "", fmt.Errorf("unsupported filter operator %q", f.Op)
}

// arrayFilter renders all/any/none on a JSON array column with jsonb's
// ?& and ?| operators, which test an array's string elements against the
// values as text (as SQLite's json_each comparison does). A NULL array
// holds no value, so "none" matches it and "all" and "any" do not.
func (b *builder) arrayFilter(fd *engine.Field, f engine.Filter) (string, error) {
	vals := make([]string, len(f.Values))
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
	col := quote(fd.Column) + "::jsonb"
	switch f.Op {
	case engine.OpAll:
		return "(" + col + " ?& " + b.bind(vals, "text[]") + ")", nil
	case engine.OpAny:
		return "(" + col + " ?| " + b.bind(vals, "text[]") + ")", nil
	}
	return "NOT coalesce(" + col + " ?| " + b.bind(vals, "text[]") + ", false)", nil
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
