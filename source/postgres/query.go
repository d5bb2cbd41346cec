package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"folio/engine"
	"folio/source/sqlgen"
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
	err = s.read(ctx, func(a attempt) error {
		return s.as(ctx, a, func(q querier) error {
			rows, err := q.Query(a.ctx, query, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				a.answered()
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
			if err := rows.Err(); err != nil {
				return err
			}
			if a.behind {
				engine.MarkBehind(ctx)
			}
			return nil
		})
	}, func() bool { return sent })
	var ee emitError
	if errors.As(err, &ee) {
		return ee.err
	}
	if err != nil {
		return statementError(fmt.Errorf("query %s: %w", plan.Collection.Table, err))
	}
	return nil
}

// statementError classifies the error of a statement. The engine reports a
// source's error as unavailability (503, retry later), which is right when
// the database cannot answer now, and for a table or column that another
// process dropped or renamed (the collections are discovered again). A
// statement refused for what it is, or for the data it reads, fails the
// same way however often it is retried: folio's role lacks a grant
// (42501), a value the statement cannot read (class 22: a numeric
// overflow, an invalid cast in a view). Those are the server's own
// faults (500, logged with the database's message, never detailed), so
// that no client retries them until it gives up, and the operator's log
// says what to fix.
func statementError(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch code := pe.SQLState(); {
	case code == "42P01", code == "42703": // undefined table, undefined column
		return err
	case code == "42501":
		return &engine.Error{Code: engine.CodeInternal, Message: "the database refuses folio's role this collection (a missing grant)", Err: err}
	case code[:2] == "42", code[:2] == "22":
		return &engine.Error{Code: engine.CodeInternal, Message: "the database cannot run this collection's statement", Err: err}
	}
	return err
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

// selectSQL builds the one statement that answers plan (sqlgen.Select).
func (s *Source) selectSQL(ctx context.Context, plan *engine.Plan) (string, []any, error) {
	return sqlgen.Select(ctx, dialect{s}, plan)
}

// Count counts the rows of c that match every filter.
func (s *Source) Count(ctx context.Context, c *engine.Collection, filters []engine.Cond) (int64, error) {
	query, args, err := s.countSQL(ctx, c, filters)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.read(ctx, func(a attempt) error {
		if a.replica {
			if err := s.caughtUp(a.ctx, a.pool); err != nil {
				return err
			}
			// The replica answers and holds every version handed out:
			// a count that takes long is the count, not a hung server.
			a.answered()
		}
		return s.as(ctx, a, func(q querier) error { return q.QueryRow(a.ctx, query, args...).Scan(&n) })
	}, nil)
	if err != nil {
		return 0, statementError(fmt.Errorf("count %s: %w", c.Table, err))
	}
	return n, nil
}

// countSQL builds SELECT count(*) FROM table WHERE filters.
func (s *Source) countSQL(ctx context.Context, c *engine.Collection, filters []engine.Cond) (string, []any, error) {
	return sqlgen.Count(ctx, dialect{s}, c, filters)
}

// dialect is PostgreSQL's part of the statements sqlgen writes: $n
// placeholders cast to their type, columns read as one wire type per
// engine type and compared byte by byte, starts_with and strpos for text,
// jsonb's ?& and ?| for JSON arrays.
type dialect struct{ s *Source }

// Table appends the collection's table, qualified when it is not in the
// first schema.
func (d dialect) Table(st *sqlgen.Statement) { st.WriteString(d.s.table(st.Collection().Table)) }

// SelectColumn appends a column cast to the one wire type scanners
// expects for its engine type.
func (d dialect) SelectColumn(st *sqlgen.Statement, f *engine.Field) error {
	k, err := d.s.kind(st.Context(), st.Collection().Table, f.Column)
	if err != nil {
		return err
	}
	st.Quote(f.Column)
	switch k {
	case kindInt:
		st.WriteString("::int8")
	case kindFloat, kindNumeric:
		st.WriteString("::float8")
	case kindTime:
		st.WriteString("::timestamptz")
	case kindText, kindTextCast, kindJSON:
		st.WriteString("::text")
	}
	return nil
}

// Column appends a field as compared and ordered. Text compares byte by
// byte (COLLATE "C", as SQLite's BINARY), whatever the database's
// collation; an index serves it when the column itself is COLLATE "C", as
// Load creates it. Types folio has no ordering for compare as their text;
// numeric as float8, the values folio reads.
func (d dialect) Column(st *sqlgen.Statement, f *engine.Field) error {
	k, err := d.s.kind(st.Context(), st.Collection().Table, f.Column)
	if err != nil {
		return err
	}
	switch k {
	case kindText:
		st.Quote(f.Column)
		st.WriteString(` COLLATE "C"`)
	case kindTextCast:
		st.WriteString("(")
		st.Quote(f.Column)
		st.WriteString(`::text) COLLATE "C"`)
	case kindNumeric:
		st.WriteString("(")
		st.Quote(f.Column)
		st.WriteString("::float8)")
	default:
		st.Quote(f.Column)
	}
	return nil
}

// Value converts a typed value of field f for binding. exact is false for
// a time finer than PostgreSQL's microseconds: it is bound truncated.
func (d dialect) Value(_ *sqlgen.Statement, f *engine.Field, v engine.Value) (any, bool, error) {
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
	return nil, false, fmt.Errorf("value %v (%T) is not of type %v", v, v, f.Type)
}

// Param binds arg as the SQL type of its engine type. The comparison
// operators of PostgreSQL's integer, float and datetime operator families
// are cross-type, so an int4 or date column still uses its index.
func (d dialect) Param(st *sqlgen.Statement, arg any, t engine.Type) {
	bind(st, arg, paramType(t))
}

// bind binds an argument and appends its placeholder, cast to typ so that
// the server never has to guess the parameter's type.
func bind(st *sqlgen.Statement, arg any, typ string) {
	st.WriteString("$")
	st.WriteString(strconv.Itoa(st.Bind(arg)))
	st.WriteString("::")
	st.WriteString(typ)
}

// paramType is the SQL type a value of an engine type is bound as.
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

// Prefix appends a byte-exact and case-sensitive prefix test, unlike
// LIKE; the range test lets the planner use an index on the column.
func (d dialect) Prefix(st *sqlgen.Statement, f *engine.Field, p string) error {
	st.WriteString("(")
	if err := d.Column(st, f); err != nil {
		return err
	}
	st.WriteString(" >= ")
	n := strconv.Itoa(st.Bind(p))
	st.WriteString("$" + n + "::text AND starts_with(")
	if err := d.Column(st, f); err != nil {
		return err
	}
	st.WriteString(", $" + n + "::text))")
	return nil
}

// Contains appends a substring test with strpos, which is byte-exact and
// case-sensitive, unlike LIKE.
func (d dialect) Contains(st *sqlgen.Statement, f *engine.Field, p string) error {
	st.WriteString("strpos(")
	if err := d.Column(st, f); err != nil {
		return err
	}
	st.WriteString(", ")
	bind(st, p, "text")
	st.WriteString(") > 0")
	return nil
}

// Array appends all/any/none with jsonb's ?& and ?| operators, which test
// an array's string elements against the values as text (as SQLite's
// json_each comparison does).
func (d dialect) Array(st *sqlgen.Statement, f *engine.Field, op engine.Op, values []string) error {
	switch op {
	case engine.OpAll, engine.OpAny:
		st.WriteString("(")
	default:
		st.WriteString("NOT coalesce(")
	}
	st.Quote(f.Column)
	if op == engine.OpAll {
		st.WriteString("::jsonb ?& ")
	} else {
		st.WriteString("::jsonb ?| ")
	}
	bind(st, values, "text[]")
	if op == engine.OpNone {
		st.WriteString(", false)")
	} else {
		st.WriteString(")")
	}
	return nil
}

// NullsLow is false: PostgreSQL sorts NULL above every value, the
// engine's order, so ORDER BY says nothing and plain indexes serve both
// directions.
func (dialect) NullsLow() bool { return false }

// LimitAll is empty: PostgreSQL takes OFFSET without LIMIT.
func (dialect) LimitAll() string { return "" }

// False is PostgreSQL's false, a keyword that never names a column.
func (dialect) False() string { return "false" }
