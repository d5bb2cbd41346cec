package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"folio/engine"
)

// layoutSamples is how many of a time column's first non-NULL values
// discovery reads to find its layout: the first that is a time in a layout
// folio knows decides, so that a mistyped first value does not make the
// column text.
const layoutSamples = 16

// timeColumn decides how a column declared as a time is published, and
// remembers its layout (setLayout). A column whose stored values are all
// in one layout (or NULL, or values that are no time at all) is a time
// column: SQL orders the layout's text (or numbers) in time order, so
// sorts, filters and cursors can compare the column itself, through its
// indexes. A column with times in two layouts ("2025-12-31 08:00:00" as
// SQLite's datetime() writes beside "2025-12-31T07:00:00Z") is published
// as text: SQL orders it by the stored text, which is not time order, and
// ordering by a normalised time instead would cost every page a scan and
// a sort of the whole table (docs/BENCHMARKS.md, "Time columns"). As
// text, what a page shows is what SQL orders and what filters compare.
//
// Finding the second layout reads the whole column once, at discovery:
// about 0.3 s per million rows.
func (s *Source) timeColumn(ctx context.Context, table, column string) (engine.Type, error) {
	l, ok, err := s.sampleLayout(ctx, table, column)
	if err != nil {
		return 0, err
	}
	if !ok {
		return engine.TypeText, nil // stored in a form folio cannot order as time
	}
	other, misfits, err := s.layoutMisfits(ctx, table, column, l)
	if err != nil {
		return 0, fmt.Errorf("check times of %s.%s: %w", table, column, err)
	}
	if other != "" {
		s.log.Warn("sqlite: a time column stores times in more than one layout, which SQL cannot order as times; it is published as text",
			"table", table, "column", column, "layout", l.describe(), "also", other)
		return engine.TypeText, nil
	}
	if misfits > 0 {
		s.log.Warn("sqlite: a time column holds values that are not times in its layout; they are published as stored",
			"table", table, "column", column, "layout", l.describe(), "values", misfits)
		s.misfitMu.Lock()
		s.misfits[columnRef{table, column}] = true // said here, once
		s.misfitMu.Unlock()
	}
	s.setLayout(table, column, l)
	return engine.TypeTime, nil
}

// layoutMisfits reads the values of a time column that are not in layout
// l. other is the first of them that is a time in another layout (a
// description of it), or ""; misfits counts the others, which are no time
// at all ('not a time', an empty string, a number among text times).
func (s *Source) layoutMisfits(ctx context.Context, table, column string, l timeLayout) (other string, misfits int64, err error) {
	col := quote(column)
	var rows *sql.Rows
	if l.unix {
		rows, err = s.db.QueryContext(ctx, fmt.Sprintf("SELECT +%[1]s FROM %[2]s WHERE %[1]s IS NOT NULL AND typeof(%[1]s) NOT IN ('integer', 'real')",
			col, quote(table)))
	} else {
		// GLOB with the layout's shape tests every value in SQL, so that
		// only the misfits, usually none, cross into Go.
		rows, err = s.db.QueryContext(ctx, fmt.Sprintf("SELECT +%[1]s FROM %[2]s WHERE %[1]s IS NOT NULL AND NOT (typeof(%[1]s) = 'text' AND %[1]s GLOB ?)",
			col, quote(table)), l.glob())
	}
	if err != nil {
		return "", 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return "", 0, err
		}
		if x, ok := v.(string); ok {
			if o, ok := detectLayout(x); ok {
				return o.describe(), misfits, nil
			}
		}
		misfits++
	}
	return "", misfits, rows.Err()
}

// glob is a GLOB pattern that matches exactly the text of the layout's
// shape: a digit where a digit goes, every other byte itself.
func (l timeLayout) glob() string {
	var b strings.Builder
	for i := 0; i < len(l.shape); i++ {
		switch c := l.shape[i]; c {
		case '9':
			b.WriteString("[0-9]")
		case '*', '?', '[':
			b.WriteByte('[')
			b.WriteByte(c)
			b.WriteByte(']')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// describe names a layout for a log line: "unix seconds", or an example
// of its text.
func (l timeLayout) describe() string {
	if l.unix {
		return "unix seconds"
	}
	return strings.ReplaceAll(l.shape, "9", "n")
}

// sampleLayout finds how a time column stores its values from its first
// non-NULL values: the first that is a number (unix seconds) or a time in
// a layout folio knows. An empty column gets the layout Load writes. ok is
// false when no sampled value is a time folio can read.
func (s *Source) sampleLayout(ctx context.Context, table, column string) (timeLayout, bool, error) {
	// The unary + hides the declared type from the driver, which would
	// otherwise parse the text itself.
	rows, err := s.db.QueryContext(ctx, fmt.Sprintf("SELECT +%[1]s FROM %[2]s WHERE %[1]s IS NOT NULL LIMIT %[3]d",
		quote(column), quote(table), layoutSamples))
	if err != nil {
		return timeLayout{}, false, err
	}
	defer rows.Close()
	seen := false
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return timeLayout{}, false, err
		}
		seen = true
		switch x := v.(type) {
		case int64, float64:
			return timeLayout{unix: true}, true, nil
		case string:
			if l, ok := detectLayout(x); ok {
				return l, true, nil
			}
		}
	}
	if err := rows.Err(); err != nil {
		return timeLayout{}, false, err
	}
	if !seen {
		return textLayout(loadLayout, nil), true, nil
	}
	return timeLayout{}, false, nil
}

func (s *Source) setLayout(table, column string, l timeLayout) {
	s.layoutMu.Lock()
	s.layouts[columnRef{table, column}] = l
	s.layoutMu.Unlock()
}

// layout returns a time column's layout, sampling it when the collection
// was not discovered by this Source (built from configuration, say).
func (s *Source) layout(ctx context.Context, table, column string) (timeLayout, error) {
	s.layoutMu.Lock()
	l, ok := s.layouts[columnRef{table, column}]
	s.layoutMu.Unlock()
	if ok {
		return l, nil
	}
	l, ok, err := s.sampleLayout(ctx, table, column)
	if err != nil {
		return timeLayout{}, fmt.Errorf("sample times of %s.%s: %w", table, column, err)
	}
	if !ok {
		l = textLayout(loadLayout, nil)
	}
	s.setLayout(table, column, l)
	return l, nil
}
