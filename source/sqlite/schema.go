package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"folio/engine"
)

// rowidField is the name under which a rowid table without another unique
// key publishes its rowid, the key of last resort.
const rowidField = "rowid"

// Collections discovers every table and view of the database (SQLite's own
// sqlite_* tables excepted), with fields, types, nullability and key.
func (s *Source) Collections(ctx context.Context) ([]*engine.Collection, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, type, coalesce(sql, '') FROM sqlite_schema
		WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite schema: %w", err)
	}
	type object struct{ name, typ, sql string }
	var objs []object
	for rows.Next() {
		var o object
		if err := rows.Scan(&o.name, &o.typ, &o.sql); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite schema: %w", err)
		}
		objs = append(objs, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite schema: %w", err)
	}
	var out []*engine.Collection
	for _, o := range objs {
		c, err := s.discover(ctx, o.name, o.typ == "view", withoutRowid(o.sql))
		if err != nil {
			return nil, fmt.Errorf("sqlite schema of %q: %w", o.name, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// withoutRowid reports whether a CREATE TABLE statement ends in WITHOUT ROWID.
func withoutRowid(create string) bool {
	s := strings.ToUpper(strings.Join(strings.Fields(create), " "))
	return strings.HasSuffix(strings.TrimRight(s, "; "), "WITHOUT ROWID") ||
		strings.Contains(s, "WITHOUT ROWID,") || strings.Contains(s, "WITHOUT ROWID ,")
}

// tableColumn is one row of PRAGMA table_xinfo.
type tableColumn struct {
	name     string
	declType string
	notNull  bool
	pk       int // position in the primary key, 0 when not part of it
}

func (s *Source) discover(ctx context.Context, table string, view, noRowid bool) (*engine.Collection, error) {
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
			Sortable: typ.Scalar(), Filterable: true,
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
			c.Key = f.Name
			return c, nil
		case tc.notNull || noRowid:
			// WITHOUT ROWID tables enforce NOT NULL on the key; rowid tables
			// (an old SQLite quirk) only when declared.
			f.Nullable = false
			c.Key = f.Name
			return c, nil
		}
	}
	if k, err := s.uniqueColumn(ctx, table, cols); err != nil {
		return nil, err
	} else if k != "" {
		c.Key = k
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
	c.Key = rowidField
	return c, nil
}

func (s *Source) tableColumns(ctx context.Context, table string) ([]tableColumn, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT name, coalesce(type, ''), \"notnull\", pk, hidden FROM pragma_table_xinfo(?)", table)
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
func (s *Source) uniqueColumn(ctx context.Context, table string, cols []tableColumn) (string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT il.name, ii.name FROM pragma_index_list(?) AS il, pragma_index_info(il.name) AS ii
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
	err := s.db.QueryRowContext(ctx, fmt.Sprintf("SELECT typeof(%[1]s) FROM %[2]s WHERE %[1]s IS NOT NULL LIMIT 1",
		quote(column), quote(table))).Scan(&class)
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

// quote quotes an identifier for SQLite: double quotes, embedded ones doubled.
func quote(id string) string {
	return `"` + strings.ReplaceAll(id, `"`, `""`) + `"`
}
