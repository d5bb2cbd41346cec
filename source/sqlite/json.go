package sqlite

import (
	"context"
	"fmt"
	"strings"

	"folio/engine"
)

// JSON columns and text that is not JSON. An all/any/none filter walks a
// JSON column with json_each, which fails the whole statement on a value
// that is not JSON. Guarding every walk with json_valid makes such a
// value hold no element, as NULL holds none, but costs half as much again
// as the walk itself (0.13 µs a row), on every page such a filter reads.
// So the guard is written only for the columns that need it: those that
// held text that is not JSON at discovery, and those a statement failed
// on since (statementError), which are guarded from the next statement on.

// jsonColumn checks, at discovery, whether a JSON column holds a value
// that is not JSON, and if so guards it.
func (s *Source) jsonColumn(ctx context.Context, table, column string) error {
	var n int64
	err := s.queryRow(ctx, []any{&n}, fmt.Sprintf("SELECT count(*) FROM %[2]s WHERE %[1]s IS NOT NULL AND NOT json_valid(%[1]s)",
		quote(column), quote(table)))
	if err != nil {
		return fmt.Errorf("check JSON of %s.%s: %w", table, column, err)
	}
	if n > 0 {
		s.guardJSON(table, column, "values", n)
	}
	return nil
}

// guardJSON guards a JSON column's array filters from now on, and logs it
// once, with attrs.
func (s *Source) guardJSON(table, column string, attrs ...any) {
	ref := columnRef{table, column}
	if !markOnce(&s.jsonMu, s.badJSON, ref) {
		return
	}
	// One line for the column: decode's about the same values says no more.
	markOnce(&s.misfitMu, s.misfits, ref)
	s.log.Warn("sqlite: a JSON column holds values that are not JSON; they are published as stored and hold no array element",
		append([]any{"table", table, "column", column}, attrs...)...)
}

// jsonGuarded reports whether a JSON column's array filters need a guard.
func (s *Source) jsonGuarded(table, column string) bool {
	s.jsonMu.Lock()
	defer s.jsonMu.Unlock()
	return s.badJSON[columnRef{table, column}]
}

// malformedJSON reports whether err is SQLite's for a JSON function given
// a value that is not JSON; if so, it guards every JSON column of c, one
// of which holds it now, so that the next statement reads past it.
func (s *Source) malformedJSON(c *engine.Collection, err error) bool {
	if !strings.Contains(err.Error(), "malformed JSON") {
		return false
	}
	for _, f := range c.Fields {
		if f.Type == engine.TypeJSON {
			s.guardJSON(c.Table, f.Column, "since", "a statement failed on one")
		}
	}
	return true
}
