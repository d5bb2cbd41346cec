package sqlite

import (
	"errors"
	"fmt"
	"strings"

	"folio/engine"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// errJSONGuarded marks a statement that failed on a value that is not
// JSON, after which its column is guarded and the statement may run again.
var errJSONGuarded = errors.New("a JSON column now guarded")

// statementError wraps the error of a statement that op ("query",
// "count") ran on table. The engine reports a source's error as
// unavailability (503, retry later), which is right when the database
// cannot answer now (busy, locked, out of memory, an I/O error). A
// statement that fails on what it reads (SQLITE_ERROR: a view's expression
// that overflows or parses text that is not JSON; SQLITE_MISMATCH,
// SQLITE_RANGE, SQLITE_TOOBIG) fails the same way however often it is
// retried: that is a data problem, reported as the server's own (500,
// logged, never detailed), so that no client retries it until it gives up.
//
// A statement that failed on a value that is not JSON in a JSON column
// (one written since discovery) guards the collection's JSON columns, so
// that the next statement reads past it (json.go).
func (s *Source) statementError(op string, c *engine.Collection, err error) error {
	if s.malformedJSON(c, err) {
		// The caller may run the statement again (Query).
		err = errors.Join(errJSONGuarded, err)
	}
	err = fmt.Errorf("%s %s: %w", op, c.Table, err)
	var se sqlite3.Error
	if errors.As(err, &se) {
		if se.Code == sqlite3.ErrError && schemaGone(se) {
			// Another process dropped or renamed what the collection was
			// discovered with; the server discovers its collections again
			// (SchemaVersion), and until then the collection cannot answer.
			return engine.Unavailable(err)
		}
		switch se.Code {
		case sqlite3.ErrError, sqlite3.ErrMismatch, sqlite3.ErrRange, sqlite3.ErrTooBig:
			return &engine.Error{Code: engine.CodeInternal, Message: "the database cannot read this collection's data", Err: err}
		}
	}
	return err
}

// schemaGone reports whether a statement failed because a table or column
// it names is no longer in the schema.
func schemaGone(se sqlite3.Error) bool {
	msg := se.Error()
	return strings.Contains(msg, "no such table") || strings.Contains(msg, "no such column")
}
