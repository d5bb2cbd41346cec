package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"folio/dataset"
	"folio/engine"
)

// progressEvery is how many rows pass between progress reports.
const progressEvery = 10000

// Load creates and fills the tables in the database at url, replacing
// tables of the same names: each is created, filled with COPY, indexed and
// analysed in one transaction. Text columns are COLLATE "C" so that their
// indexes serve folio's byte order; JSON columns are jsonb; times are
// timestamptz.
func Load(ctx context.Context, url string, tables []*dataset.Table, progress dataset.Progress) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("load postgres: %w", err)
	}
	defer conn.Close(context.Background())
	for _, t := range tables {
		if err := loadTable(ctx, conn, t, progress); err != nil {
			return fmt.Errorf("load postgres: table %s: %w", t.Name, err)
		}
		// ANALYZE outside the transaction sees the committed rows and
		// writes reltuples, which Estimate reads.
		if _, err := conn.Exec(ctx, "ANALYZE "+quote(t.Name)); err != nil {
			return fmt.Errorf("load postgres: analyze %s: %w", t.Name, err)
		}
	}
	return nil
}

func columnType(t engine.Type) string {
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
	case engine.TypeJSON:
		return "jsonb"
	}
	return `text COLLATE "C"`
}

func loadTable(ctx context.Context, conn *pgx.Conn, t *dataset.Table, progress dataset.Progress) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	defs := make([]string, len(t.Columns))
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		d := quote(c.Name) + " " + columnType(c.Type)
		if len(t.Key) == 1 && c.Name == t.Key[0] {
			d += " PRIMARY KEY"
		} else if !c.Nullable || slices.Contains(t.Key, c.Name) {
			d += " NOT NULL"
		}
		defs[i], names[i] = d, c.Name
	}
	if len(t.Key) > 1 {
		keys := make([]string, len(t.Key))
		for i, k := range t.Key {
			keys[i] = quote(k)
		}
		defs = append(defs, "PRIMARY KEY ("+strings.Join(keys, ", ")+")")
	}
	for _, stmt := range []string{
		"DROP TABLE IF EXISTS " + quote(t.Name),
		"CREATE TABLE " + quote(t.Name) + " (" + strings.Join(defs, ", ") + ")",
	} {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	next, stop := iter.Pull(t.Rows)
	defer stop()
	done := 0
	row := make([]any, len(t.Columns))
	src := pgx.CopyFromFunc(func() ([]any, error) {
		r, ok := next()
		if !ok {
			return nil, nil
		}
		for i, v := range r {
			// JSON text goes in as raw JSON, not as a JSON string.
			if s, isText := v.(string); isText && t.Columns[i].Type == engine.TypeJSON {
				v = json.RawMessage(s)
			}
			row[i] = v
		}
		done++
		if progress != nil && done%progressEvery == 0 {
			progress(t.Name, done, t.Len)
		}
		return row, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.Name}, names, src); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	for _, ix := range t.Indexes {
		cols := make([]string, len(ix.Columns))
		for i, c := range ix.Columns {
			if name, desc := strings.CutPrefix(c, "-"); desc {
				cols[i] = quote(name) + " DESC"
			} else {
				cols[i] = quote(c)
			}
		}
		stmt := "CREATE INDEX "
		if ix.Unique {
			stmt = "CREATE UNIQUE INDEX "
		}
		stmt += quote(ix.Name) + " ON " + quote(t.Name) + " (" + strings.Join(cols, ", ") + ")"
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	if progress != nil {
		progress(t.Name, done, t.Len)
	}
	return nil
}
