package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"folio/engine"
)

// layoutSamples is how many of a time column's values discovery reads to
// find its layout (sampleLayout).
const layoutSamples = 64

// timeColumn decides how a column declared as a time is published, and
// remembers its layout (setLayout). A column whose stored values are all
// in one layout (or NULL, or values that are no time at all) is a time
// column: SQL orders the layout's text (or numbers) in time order, so
// sorts, filters and cursors can compare the column itself, through its
// indexes. A column with times in two layouts ("2025-12-31 08:00:00" as
// SQLite's datetime() writes beside "2025-12-31T07:00:00Z") is published
// as text: SQL orders it by the stored text, which is not time order, and
// ordering by a normalised time instead would cost every page a scan and
// a sort of the whole table (docs/BENCHMARKS.md, "Time columns and
// mistyped values in SQLite"). As
// text, what a page shows is what SQL orders and what filters compare.
//
// Finding a second layout reads the whole column once, at discovery:
// about 0.13 s per million values.
func (s *Source) timeColumn(ctx context.Context, table, column string) (engine.Type, error) {
	l, ok, err := s.sampleLayout(ctx, table, column)
	if err != nil {
		return 0, err
	}
	if !ok {
		s.log.Warn("sqlite: a time column holds no time folio can read; it is published as text", "table", table, "column", column)
		return engine.TypeText, nil
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
	h, err := s.acquire(ctx)
	if err != nil {
		return "", 0, err
	}
	defer func() { err = h.release(err) }()
	col := quote(column)
	var rows *sql.Rows
	if l.unix {
		rows, err = h.db.QueryContext(h.ctx, fmt.Sprintf("SELECT +%[1]s FROM %[2]s WHERE %[1]s IS NOT NULL AND typeof(%[1]s) NOT IN ('integer', 'real')",
			col, quote(table)))
	} else {
		// GLOB with the layout's shape tests every value in SQL, so that
		// only the misfits, usually none, cross into Go, which tells a time
		// in another layout from a value that is no time.
		rows, err = h.db.QueryContext(h.ctx, fmt.Sprintf("SELECT +%[1]s FROM %[2]s WHERE %[1]s IS NOT NULL AND NOT (typeof(%[1]s) = 'text' AND %[1]s GLOB ?)",
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

// glob is a GLOB pattern that matches the text of the layout's shape
// with any character where a digit goes: what tells another layout (whose
// length or separators differ) from this one. It does not test the digits
// themselves, which costs GLOB three times as much ([0-9] at each place)
// and tells only text that is no time at all, which read turns down.
func (l timeLayout) glob() string {
	var b strings.Builder
	for i := 0; i < len(l.shape); i++ {
		switch c := l.shape[i]; c {
		case '9':
			b.WriteByte('?')
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

// sampleLayout finds how a time column stores its values from a sample
// of them: the layout most of them are in, numbers counting as unix
// seconds, so that a mistyped value (0, 'n/a') does not decide. The
// sample is the first non-NULL values in the table's own order and, when
// none of them is a time, the first values that look like one anywhere.
// An empty column gets the layout Load writes. ok is false when no value
// of the column is a time folio can read.
func (s *Source) sampleLayout(ctx context.Context, table, column string) (timeLayout, bool, error) {
	// The unary + hides the declared type from the driver, which would
	// otherwise parse the text itself, and in WHERE keeps SQLite from
	// walking an index on the column, whose first values are its smallest
	// or largest, where mistyped values gather.
	sample := fmt.Sprintf("SELECT +%[1]s FROM %[2]s WHERE +%[1]s IS NOT NULL LIMIT %[3]d", quote(column), quote(table), layoutSamples)
	l, ok, seen, err := s.majorityLayout(ctx, sample)
	switch {
	case err != nil || ok:
		return l, ok, err
	case !seen:
		return textLayout(loadLayout, 0), true, nil
	}
	likely := fmt.Sprintf("SELECT +%[1]s FROM %[2]s WHERE typeof(%[1]s) IN ('integer', 'real') OR %[1]s GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*' LIMIT %[3]d",
		quote(column), quote(table), layoutSamples)
	l, ok, _, err = s.majorityLayout(ctx, likely)
	return l, ok, err
}

// majorityLayout runs query, which selects values of one column, and
// returns the layout most of them are in; ok is false when none is a
// time, seen when there was any value.
func (s *Source) majorityLayout(ctx context.Context, query string) (l timeLayout, ok, seen bool, err error) {
	h, err := s.acquire(ctx)
	if err != nil {
		return timeLayout{}, false, false, err
	}
	defer func() { err = h.release(err) }()
	rows, err := h.db.QueryContext(h.ctx, query)
	if err != nil {
		return timeLayout{}, false, false, err
	}
	defer rows.Close()
	var found []timeLayout
	count := map[timeLayout]int{}
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return timeLayout{}, false, false, err
		}
		seen = true
		switch x := v.(type) {
		case int64, float64:
			l = timeLayout{unix: true}
		case string:
			var ok bool
			if l, ok = detectLayout(x); !ok {
				continue
			}
		default:
			continue
		}
		if count[l] == 0 {
			found = append(found, l)
		}
		count[l]++
	}
	if err := rows.Err(); err != nil {
		return timeLayout{}, false, false, err
	}
	if len(found) == 0 {
		return timeLayout{}, false, seen, nil
	}
	best := found[0]
	for _, l := range found[1:] {
		if count[l] > count[best] {
			best = l
		}
	}
	return best, true, seen, nil
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
		l = textLayout(loadLayout, 0)
	}
	s.setLayout(table, column, l)
	return l, nil
}
