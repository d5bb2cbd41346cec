package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"folio/engine"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// rowidField is the name under which a rowid table without another unique
// key publishes its rowid, the key of last resort.
const rowidField = "rowid"

// Collections discovers every table and view of the database (SQLite's own
// sqlite_* tables and the shadow tables that hold virtual tables' data
// excepted), with fields, types, nullability and key. A table or view that
// SQLite cannot read as declared (a view over a dropped table, a virtual
// table whose module this build of SQLite lacks) is skipped with a
// warning, so that one broken object does not keep the rest of the
// database from being served.
func (s *Source) Collections(ctx context.Context) ([]*engine.Collection, error) {
	objs, err := s.objects(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite schema: %w", err)
	}
	var out []*engine.Collection
	for _, o := range objs {
		c, err := s.discover(ctx, o.name, o.typ == "view", o.noRowid, module(o.sql) == "fts5")
		if unreadable(err) {
			s.log.Warn("sqlite: skipped a "+kind(o.typ)+" that cannot be read; it is not published", "name", o.name, "err", err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite schema of %q: %w", o.name, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// object is a table or view as PRAGMA table_list lists it, with the
// statement that created it.
type object struct {
	name, typ, sql string
	noRowid        bool
}

// objects lists the tables and views to discover, by name. PRAGMA
// table_list tells shadow tables apart from the user's, and without-rowid
// tables from the others, whatever their CREATE text.
func (s *Source) objects(ctx context.Context) (_ []object, err error) {
	h, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { err = h.release(err) }()
	rows, err := h.db.QueryContext(h.ctx, `SELECT tl.name, tl.type, tl.wr, coalesce(ss.sql, '')
		FROM pragma_table_list AS tl LEFT JOIN sqlite_schema AS ss ON ss.name = tl.name
		WHERE tl.schema = 'main' AND tl.type IN ('table', 'view', 'virtual') AND tl.name NOT LIKE 'sqlite\_%' ESCAPE '\'
		ORDER BY tl.name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var objs []object
	for rows.Next() {
		var o object
		if err := rows.Scan(&o.name, &o.typ, &o.noRowid, &o.sql); err != nil {
			return nil, err
		}
		objs = append(objs, o)
	}
	return objs, rows.Err()
}

// unreadable reports whether err is SQLite saying that an object's own SQL
// cannot be run (no such table, column, function or module): a fault of
// that object alone. Anything else (I/O, a corrupt file, a cancelled
// context) concerns the whole database.
func unreadable(err error) bool {
	var e sqlite3.Error
	return errors.As(err, &e) && e.Code == sqlite3.ErrError
}

// module returns the module a CREATE VIRTUAL TABLE statement names, in
// lower case, or "" for any other statement:
// CREATE VIRTUAL TABLE [IF NOT EXISTS] [schema.]name USING module[(args)].
// The table's name may be quoted and hold any word, USING included, so
// the statement is read token by token rather than searched.
func module(create string) string {
	toks := sqlTokens(create, 12)
	if len(toks) < 4 || !strings.EqualFold(toks[1], "VIRTUAL") {
		return ""
	}
	for i, t := range toks {
		if strings.EqualFold(t, "USING") && i+1 < len(toks) {
			return strings.ToLower(strings.Trim(toks[i+1], "\"`[]"))
		}
	}
	return ""
}

// sqlTokens returns the first n tokens of an SQL statement: words, quoted
// names and strings (quotes kept, a doubled quote inside), and single
// other characters.
func sqlTokens(s string, n int) []string {
	word := func(b byte) bool {
		return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b >= 0x80
	}
	var out []string
	for len(out) < n {
		s = strings.TrimLeft(s, " \t\r\n")
		if s == "" {
			break
		}
		end := 1
		switch q := s[0]; {
		case q == '"' || q == '`' || q == '\'':
			for end < len(s) {
				if s[end] != q {
					end++
				} else if end+1 < len(s) && s[end+1] == q {
					end += 2
				} else {
					end++
					break
				}
			}
		case q == '[':
			if i := strings.IndexByte(s, ']'); i > 0 {
				end = i + 1
			} else {
				end = len(s)
			}
		case word(q):
			for end < len(s) && word(s[end]) {
				end++
			}
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}

// kind names a table_list type for a message.
func kind(typ string) string {
	if typ == "virtual" {
		return "virtual table"
	}
	return typ
}

// compositeKey reports whether a primary key of several columns (pks, by
// index) can serve as the key: its columns are never NULL (WITHOUT ROWID
// tables enforce it; rowid tables, an old SQLite quirk, only where declared,
// and a NULL part would make two rows' keys equal to no one) and all of a
// scalar type.
func compositeKey(cols []tableColumn, fields []*engine.Field, pks []int, noRowid bool) bool {
	for _, i := range pks {
		if !noRowid && !cols[i].notNull || !fields[i].Type.Scalar() {
			return false
		}
	}
	return true
}

// tableColumn is one row of PRAGMA table_xinfo.
type tableColumn struct {
	name     string
	declType string
	notNull  bool
	pk       int // position in the primary key, 0 when not part of it
}

// discover reads one table or view: view and noRowid say what it is, fts
// that it is an FTS5 table, whose text columns are searched with match.
func (s *Source) discover(ctx context.Context, table string, view, noRowid, fts bool) (*engine.Collection, error) {
	cols, err := s.tableColumns(ctx, table)
	if err != nil {
		return nil, err
	}
	c := &engine.Collection{Name: table, Table: table}
	var pks []int
	for i, tc := range cols {
		typ := declaredType(tc.declType)
		if tc.declType == "" {
			if typ, err = s.sampleType(ctx, table, tc.name); err != nil {
				return nil, err
			}
		}
		if typ == engine.TypeTime {
			if typ, err = s.timeColumn(ctx, table, tc.name); err != nil {
				return nil, err
			}
		}
		if typ == engine.TypeJSON {
			if err := s.jsonColumn(ctx, table, tc.name); err != nil {
				return nil, err
			}
		}
		c.Fields = append(c.Fields, &engine.Field{
			Name: tc.name, Column: tc.name, Type: typ, Nullable: !tc.notNull,
			Sortable: typ.Scalar(), Filterable: true, FullText: fts && typ == engine.TypeText,
		})
		if tc.pk > 0 {
			pks = append(pks, i)
		}
	}
	if view {
		return c, nil // views have no key SQLite could vouch for
	}
	if len(pks) == 1 {
		tc, f := cols[pks[0]], c.Fields[pks[0]]
		switch {
		case !noRowid && strings.EqualFold(tc.declType, "INTEGER"):
			// INTEGER PRIMARY KEY is the rowid itself: unique and never NULL.
			f.Nullable = false
			c.Key = []string{f.Name}
			return c, nil
		case tc.notNull || noRowid:
			// WITHOUT ROWID tables enforce NOT NULL on the key; rowid tables
			// (an old SQLite quirk) only when declared.
			f.Nullable = false
			c.Key = []string{f.Name}
			return c, nil
		}
	}
	if len(pks) > 1 && compositeKey(cols, c.Fields, pks, noRowid) {
		slices.SortFunc(pks, func(a, b int) int { return cols[a].pk - cols[b].pk })
		for _, i := range pks {
			c.Fields[i].Nullable = false
			c.Key = append(c.Key, c.Fields[i].Name)
		}
		return c, nil
	}
	if k, err := s.uniqueColumn(ctx, table, cols); err != nil {
		return nil, err
	} else if k != "" {
		c.Key = []string{k}
		return c, nil
	}
	if noRowid {
		return c, nil
	}
	// The rowid is unique and never NULL: the key of last resort, unless a
	// column of that name hides it.
	for _, tc := range cols {
		if strings.EqualFold(tc.name, rowidField) {
			return c, nil
		}
	}
	rowid := &engine.Field{Name: rowidField, Column: rowidField, Type: engine.TypeInt, Sortable: true, Filterable: true}
	c.Fields = append([]*engine.Field{rowid}, c.Fields...)
	c.Key = []string{rowidField}
	if !fts {
		// A table without INTEGER PRIMARY KEY may have its rowids renumbered
		// by VACUUM, and a cursor names a row by its rowid.
		c.KeyCaveat = "the key is SQLite's implicit rowid, which VACUUM may renumber: a cursor issued before a VACUUM may then skip or repeat rows; the database's owner can declare an INTEGER PRIMARY KEY or a UNIQUE NOT NULL column (or name one as key in the configuration)"
		s.log.Warn("sqlite: a table has no key but its implicit rowid, which VACUUM may renumber, breaking cursors; declare an INTEGER PRIMARY KEY or a UNIQUE NOT NULL column, or name a key in the configuration",
			"table", table)
	}
	return c, nil
}

func (s *Source) tableColumns(ctx context.Context, table string) (_ []tableColumn, err error) {
	h, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { err = h.release(err) }()
	rows, err := h.db.QueryContext(h.ctx, "SELECT name, coalesce(type, ''), \"notnull\", pk, hidden FROM pragma_table_xinfo(?)", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []tableColumn
	for rows.Next() {
		var tc tableColumn
		var hidden int
		if err := rows.Scan(&tc.name, &tc.declType, &tc.notNull, &tc.pk, &hidden); err != nil {
			return nil, err
		}
		if hidden == 1 { // hidden columns of virtual tables are not selected by *
			continue
		}
		out = append(out, tc)
	}
	return out, rows.Err()
}

// uniqueColumn returns the column of a single-column, non-partial UNIQUE
// index on a NOT NULL column, or "". Among several it picks the first index
// by name, so discovery is deterministic.
func (s *Source) uniqueColumn(ctx context.Context, table string, cols []tableColumn) (_ string, err error) {
	h, err := s.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer func() { err = h.release(err) }()
	rows, err := h.db.QueryContext(h.ctx, `SELECT il.name, ii.name FROM pragma_index_list(?) AS il, pragma_index_info(il.name) AS ii
		WHERE il."unique" AND NOT il.partial
		  AND (SELECT count(*) FROM pragma_index_info(il.name)) = 1
		ORDER BY il.name`, table)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var idx string
		var col sql.NullString // NULL for an index on an expression
		if err := rows.Scan(&idx, &col); err != nil {
			return "", err
		}
		for _, tc := range cols {
			if col.Valid && tc.name == col.String && tc.notNull {
				return tc.name, nil
			}
		}
	}
	return "", rows.Err()
}

// declaredType maps a declared column type onto an engine type: SQLite's
// affinity rules, refined by the names people use for booleans, times and
// JSON (which SQLite stores as integers and text).
func declaredType(decl string) engine.Type {
	d := strings.ToUpper(strings.TrimSpace(decl))
	switch {
	case strings.HasPrefix(d, "BOOL"):
		return engine.TypeBool
	case strings.HasPrefix(d, "JSON"):
		return engine.TypeJSON
	case strings.HasPrefix(d, "DATE") || strings.HasPrefix(d, "TIMESTAMP") || d == "TIME":
		return engine.TypeTime
	case strings.Contains(d, "INT"):
		return engine.TypeInt
	case strings.Contains(d, "CHAR") || strings.Contains(d, "CLOB") || strings.Contains(d, "TEXT"):
		return engine.TypeText
	case strings.Contains(d, "BLOB"):
		return engine.TypeBytes
	case strings.Contains(d, "REAL") || strings.Contains(d, "FLOA") || strings.Contains(d, "DOUB") ||
		strings.HasPrefix(d, "NUMERIC") || strings.HasPrefix(d, "DECIMAL"):
		return engine.TypeFloat
	}
	return engine.TypeText
}

// sampleType types a column without a declared type (typically a view's
// computed column) by the storage class of its first non-NULL value.
func (s *Source) sampleType(ctx context.Context, table, column string) (engine.Type, error) {
	var class string
	err := s.queryRow(ctx, []any{&class}, fmt.Sprintf("SELECT typeof(%[1]s) FROM %[2]s WHERE %[1]s IS NOT NULL LIMIT 1",
		quote(column), quote(table)))
	switch {
	case err == sql.ErrNoRows:
		return engine.TypeText, nil
	case err != nil:
		return 0, err
	}
	switch class {
	case "integer":
		return engine.TypeInt, nil
	case "real":
		return engine.TypeFloat, nil
	case "blob":
		return engine.TypeBytes, nil
	}
	return engine.TypeText, nil
}

// quote quotes an identifier for SQLite: in backquotes, embedded ones
// doubled. SQLite reads a double-quoted name that matches no column as a
// string (a misfeature kept for old schemas), so a column dropped by
// another process would be read as its own name on every row; a
// backquoted one is only ever a name, and the statement fails instead.
func quote(id string) string {
	return "`" + strings.ReplaceAll(id, "`", "``") + "`"
}
