package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"folio/engine"
	"folio/source/postgres"
	"folio/source/sqlite"
)

// isPostgres reports whether db names a PostgreSQL database (a URL) rather
// than a SQLite file.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// closingSource is a source the command owns and closes.
type closingSource interface {
	engine.Source
	Close() error
}

// openSource opens db as the source its form names: a PostgreSQL URL
// (configured by pg: the schemas to publish, none: public; the replicas
// page reads go to, when given), which tells log when a database stops or
// starts answering, or a SQLite file, which tells log what it cannot serve
// and the values not of their column's type.
func openSource(ctx context.Context, db string, pg postgres.Options, log *slog.Logger) (closingSource, error) {
	if isPostgres(db) {
		pg.Logger = log
		return postgres.Open(ctx, db, pg)
	}
	if len(pg.Replicas) > 0 {
		return nil, fmt.Errorf("--replica needs a PostgreSQL --db, not a SQLite file")
	}
	return sqlite.Open(ctx, db, sqlite.Options{Logger: log})
}

// displayName is db as it may be printed: a URL without its password.
func displayName(db string) string {
	if !isPostgres(db) {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// schemaList splits a --schema flag value.
func schemaList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }
