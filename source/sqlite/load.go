package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"folio/dataset"
	"folio/engine"
)

const (
	// maxParams bounds the parameters of one INSERT: SQLite builds before
	// 3.32 accept at most 999.
	maxParams = 999
	// maxRowsPerInsert bounds the rows of one multi-row INSERT; beyond a
	// few hundred, longer statements no longer pay.
	maxRowsPerInsert = 256
	// rowsPerTx is how many rows each transaction commits: large enough
	// that commits cost nothing, small enough that the WAL stays modest.
	rowsPerTx = 100_000
	// progressEvery is how often, in rows, progress is reported.
	progressEvery = 10_000
)

// Load creates the tables in the database file at path (creating the file
// if missing), replacing any table of the same name, fills them, builds
// their indexes after the rows and runs ANALYZE so that estimates and the
// query planner have statistics. progress, if not nil, is told how far each
// table has got.
//
// Column types: integers INTEGER, floats REAL, text TEXT, booleans BOOLEAN
// (0 or 1), times DATETIME as UTC text with a six-digit fraction (so that
// text order is time order), bytes BLOB, JSON as text declared JSON. An
// integer key becomes INTEGER PRIMARY KEY; any other key PRIMARY KEY NOT NULL.
func Load(ctx context.Context, path string, tables []*dataset.Table, progress dataset.Progress) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("load sqlite %s: %w", path, err)
	}
	if dir := filepath.Dir(abs); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("load sqlite %s: %w", path, err)
		}
	}
	db, err := sql.Open(driverName, dsn(abs, false))
	if err != nil {
		return fmt.Errorf("load sqlite %s: %w", path, err)
	}
	defer db.Close()
	// One connection: the pragmas below hold for it alone.
	db.SetMaxOpenConns(1)
	for _, p := range []string{"PRAGMA journal_mode=WAL", "PRAGMA synchronous=OFF", "PRAGMA cache_size=-65536", "PRAGMA temp_store=MEMORY"} {
		if _, err := db.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("load sqlite %s: %s: %w", path, p, err)
		}
	}
	for _, t := range tables {
		if err := loadTable(ctx, db, t, progress); err != nil {
			// database/sql closes a transaction's statements when ctx ends,
			// so the error in hand may say "statement is closed": report
			// the cause.
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return fmt.Errorf("load sqlite %s: table %s: %w", path, t.Name, err)
		}
	}
	// Fold the WAL back into the file so that it stands alone.
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("load sqlite %s: checkpoint: %w", path, err)
	}
	return db.Close()
}

func loadTable(ctx context.Context, db *sql.DB, t *dataset.Table, progress dataset.Progress) error {
	if len(t.Columns) == 0 {
		return fmt.Errorf("no columns")
	}
	var kind string
	err := db.QueryRowContext(ctx, "SELECT type FROM sqlite_schema WHERE name = ? AND type IN ('table', 'view')", t.Name).Scan(&kind)
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return err
	case kind == "view":
		if _, err := db.ExecContext(ctx, "DROP VIEW "+quote(t.Name)); err != nil {
			return err
		}
	default:
		if _, err := db.ExecContext(ctx, "DROP TABLE "+quote(t.Name)); err != nil {
			return err
		}
	}
	if _, err := db.ExecContext(ctx, createTable(t)); err != nil {
		return err
	}

	ncol := len(t.Columns)
	perStmt := max(1, min(maxRowsPerInsert, maxParams/ncol))
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", ncol), ", ") + ")"
	insertN := func(n int) string {
		return "INSERT INTO " + quote(t.Name) + " VALUES " + strings.TrimSuffix(strings.Repeat(tuple+", ", n), ", ")
	}
	full := insertN(perStmt)

	var (
		tx    *sql.Tx
		stmt  *sql.Stmt
		args  = make([]any, 0, perStmt*ncol)
		done  int
		inTx  int
		total = t.Len
	)
	rollback := func() {
		if tx != nil {
			tx.Rollback()
		}
	}
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		var err error
		if len(args) == cap(args) {
			_, err = stmt.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, insertN(len(args)/ncol), args...)
		}
		args = args[:0]
		return err
	}
	report := func() {
		if progress != nil {
			progress(t.Name, done, max(total, done))
		}
	}
	report()
	if t.Rows != nil {
		for row := range t.Rows {
			if len(row) != ncol {
				rollback()
				return fmt.Errorf("row %d has %d values for %d columns", done+1, len(row), ncol)
			}
			if tx == nil {
				if tx, err = db.BeginTx(ctx, nil); err != nil {
					return err
				}
				if stmt, err = tx.PrepareContext(ctx, full); err != nil {
					rollback()
					return err
				}
			}
			for i, v := range row {
				a, err := loadValue(v, t.Columns[i].Type)
				if err != nil {
					rollback()
					return fmt.Errorf("row %d, column %s: %w", done+1, t.Columns[i].Name, err)
				}
				args = append(args, a)
			}
			done++
			inTx++
			if len(args) == cap(args) {
				if err := flush(); err != nil {
					rollback()
					return err
				}
			}
			if inTx >= rowsPerTx {
				if err := flush(); err != nil {
					rollback()
					return err
				}
				if err := tx.Commit(); err != nil {
					return err
				}
				tx, inTx = nil, 0
			}
			if done%progressEvery == 0 {
				report()
			}
		}
	}
	if tx != nil {
		if err := flush(); err != nil {
			rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, ix := range t.Indexes {
		if _, err := db.ExecContext(ctx, createIndex(t.Name, ix)); err != nil {
			return fmt.Errorf("index %s: %w", ix.Name, err)
		}
	}
	if _, err := db.ExecContext(ctx, "ANALYZE "+quote(t.Name)); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	total = done
	report()
	return nil
}

// createTable renders the CREATE TABLE statement for t.
func createTable(t *dataset.Table) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE " + quote(t.Name) + " (")
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(c.Name) + " " + declFor(c.Type))
		single := len(t.Key) == 1 && c.Name == t.Key[0]
		switch {
		case single && c.Type == engine.TypeInt:
			// An alias of the rowid: the table's own order, never NULL.
			b.WriteString(" PRIMARY KEY")
		case single:
			b.WriteString(" PRIMARY KEY NOT NULL")
		case !c.Nullable || slices.Contains(t.Key, c.Name):
			b.WriteString(" NOT NULL")
		}
	}
	if len(t.Key) > 1 {
		// A key of several columns is what join tables have, and those are
		// the WITHOUT ROWID tables SQLite recommends for them.
		keys := make([]string, len(t.Key))
		for i, k := range t.Key {
			keys[i] = quote(k)
		}
		b.WriteString(", PRIMARY KEY (" + strings.Join(keys, ", ") + ")) WITHOUT ROWID")
		return b.String()
	}
	b.WriteString(")")
	return b.String()
}

// declFor is the declared type Load gives a column of type t; discovery
// maps each back to t.
func declFor(t engine.Type) string {
	switch t {
	case engine.TypeInt:
		return "INTEGER"
	case engine.TypeFloat:
		return "REAL"
	case engine.TypeBool:
		return "BOOLEAN"
	case engine.TypeTime:
		return "DATETIME"
	case engine.TypeBytes:
		return "BLOB"
	case engine.TypeJSON:
		return "JSON"
	}
	return "TEXT"
}

func createIndex(table string, ix dataset.Index) string {
	name := ix.Name
	if name == "" {
		name = table + "_" + strings.ReplaceAll(strings.Join(ix.Columns, "_"), "-", "")
	}
	cols := make([]string, len(ix.Columns))
	for i, c := range ix.Columns {
		if d, ok := strings.CutPrefix(c, "-"); ok {
			cols[i] = quote(d) + " DESC"
		} else {
			cols[i] = quote(c)
		}
	}
	unique := ""
	if ix.Unique {
		unique = "UNIQUE "
	}
	return "CREATE " + unique + "INDEX " + quote(name) + " ON " + quote(table) + " (" + strings.Join(cols, ", ") + ")"
}

// loadValue converts a dataset value to what Load stores for a column of
// type t.
func loadValue(v engine.Value, t engine.Type) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int64:
		if t == engine.TypeFloat {
			return float64(x), nil
		}
		return x, nil
	case int:
		return int64(x), nil
	case float64, string:
		return x, nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case time.Time:
		return x.UTC().Format(loadLayout), nil
	case []byte:
		if t == engine.TypeJSON {
			return string(x), nil
		}
		// Producers may reuse buffers between rows; the INSERT runs later.
		return bytes.Clone(x), nil
	case json.RawMessage:
		return string(x), nil
	}
	return nil, fmt.Errorf("unsupported value %T", v)
}
