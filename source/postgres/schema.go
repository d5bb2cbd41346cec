package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"folio/engine"
)

// kind is how folio handles a column's PostgreSQL type: how it is selected,
// compared and ordered.
type kind int

const (
	kindText     kind = iota // text, varchar: compared with COLLATE "C"
	kindTextCast             // any other type, read and ordered as its text (uuid, char(n), inet, enums, ...)
	kindInt                  // int2, int4, int8
	kindFloat                // float4, float8
	kindNumeric              // numeric: read, compared and ordered as float8 (lossy beyond float64)
	kindBool
	kindTime // timestamptz, timestamp (as UTC), date (as midnight UTC)
	kindBytes
	kindJSON // json, jsonb
)

// kindOf maps a base type name (pg_type.typname) onto a kind.
func kindOf(typname string) kind {
	switch typname {
	case "int2", "int4", "int8":
		return kindInt
	case "float4", "float8":
		return kindFloat
	case "numeric":
		return kindNumeric
	case "bool":
		return kindBool
	case "text", "varchar":
		return kindText
	case "timestamptz", "timestamp", "date":
		return kindTime
	case "bytea":
		return kindBytes
	case "json", "jsonb":
		return kindJSON
	}
	return kindTextCast
}

func (k kind) engineType() engine.Type {
	switch k {
	case kindInt:
		return engine.TypeInt
	case kindFloat, kindNumeric:
		return engine.TypeFloat
	case kindBool:
		return engine.TypeBool
	case kindTime:
		return engine.TypeTime
	case kindBytes:
		return engine.TypeBytes
	case kindJSON:
		return engine.TypeJSON
	}
	return engine.TypeText
}

// columnsSQL lists the columns of one relation with their base type (a
// domain's underlying type) and NOT NULL constraint.
const columnsSQL = `SELECT a.attname, coalesce(bt.typname, t.typname), a.attnotnull
	FROM pg_attribute a
	JOIN pg_type t ON t.oid = a.atttypid
	LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
	WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
	ORDER BY a.attnum`

// Collections discovers every table, partitioned table, view and
// materialized view of the published schemas (partitions are reached
// through their parent), with fields, types, nullability and key. Tables of
// the first schema are named bare, others "schema.table".
func (s *Source) Collections(ctx context.Context) ([]*engine.Collection, error) {
	var out []*engine.Collection
	for i, schema := range s.schemas {
		rows, err := s.pool.Query(ctx, `SELECT c.relname, c.relkind::text FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
			ORDER BY c.relname COLLATE "C"`, schema)
		if err != nil {
			return nil, fmt.Errorf("postgres schema %s: %w", schema, err)
		}
		type rel struct{ name, kind string }
		var rels []rel
		for rows.Next() {
			var r rel
			if err := rows.Scan(&r.name, &r.kind); err != nil {
				rows.Close()
				return nil, fmt.Errorf("postgres schema %s: %w", schema, err)
			}
			rels = append(rels, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("postgres schema %s: %w", schema, err)
		}
		for _, r := range rels {
			name := r.name
			if i > 0 {
				name = schema + "." + r.name
			}
			c, err := s.discover(ctx, name, r.kind == "v" || r.kind == "m")
			if err != nil {
				return nil, fmt.Errorf("postgres schema of %q: %w", name, err)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func (s *Source) discover(ctx context.Context, table string, view bool) (*engine.Collection, error) {
	schema, bare := s.split(table)
	reg := quote(schema) + "." + quote(bare)
	rows, err := s.pool.Query(ctx, columnsSQL, reg)
	if err != nil {
		return nil, err
	}
	c := &engine.Collection{Name: table, Table: table}
	kinds := map[string]kind{}
	for rows.Next() {
		var name, typ string
		var notNull bool
		if err := rows.Scan(&name, &typ, &notNull); err != nil {
			rows.Close()
			return nil, err
		}
		k := kindOf(typ)
		kinds[name] = k
		t := k.engineType()
		c.Fields = append(c.Fields, &engine.Field{
			Name: name, Column: name, Type: t, Nullable: !notNull,
			Sortable: t.Scalar(), Filterable: true,
		})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.kindMu.Lock()
	for col, k := range kinds {
		s.kinds[columnRef{table, col}] = k
	}
	s.kindMu.Unlock()
	if view {
		return c, nil // views have no key PostgreSQL could vouch for
	}
	key, err := s.keyColumns(ctx, reg, kinds)
	if err != nil {
		return nil, err
	}
	for _, f := range c.Fields {
		if slices.Contains(key, f.Name) {
			f.Nullable = false // a primary key's columns are NOT NULL
		}
	}
	c.Key = key
	return c, nil
}

// keyColumns returns the key of the table reg: its primary key, of one
// column or several, else the first (by name) single-column, non-partial
// unique index on a NOT NULL column; nil when it has neither. float8
// cannot tell apart every pair of numerics, so a key with a numeric column
// would not be unique as folio sees it and is passed over, as is JSON.
func (s *Source) keyColumns(ctx context.Context, reg string, kinds map[string]kind) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT a.attname FROM pg_index i
		CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
		WHERE i.indrelid = $1::regclass AND i.indisprimary AND k.n <= i.indnkeyatts
		ORDER BY k.n`, reg)
	if err != nil {
		return nil, err
	}
	pk, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	unfit := func(c string) bool { return kinds[c] == kindNumeric || !kinds[c].engineType().Scalar() }
	if len(pk) > 0 && !slices.ContainsFunc(pk, unfit) {
		return pk, nil
	}
	var key string
	err = s.pool.QueryRow(ctx, `SELECT a.attname FROM pg_index i
		JOIN pg_class ic ON ic.oid = i.indexrelid
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indisvalid AND i.indnkeyatts = 1
		  AND i.indpred IS NULL AND i.indexprs IS NULL AND a.attnotnull
		ORDER BY i.indisprimary DESC, ic.relname COLLATE "C" LIMIT 1`, reg).Scan(&key)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, err
	case unfit(key):
		return nil, nil
	}
	return []string{key}, nil
}

// kind returns a column's kind, looking it up when the collection was not
// discovered by this Source (built from configuration, say).
func (s *Source) kind(ctx context.Context, table, column string) (kind, error) {
	s.kindMu.Lock()
	k, ok := s.kinds[columnRef{table, column}]
	s.kindMu.Unlock()
	if ok {
		return k, nil
	}
	schema, bare := s.split(table)
	var typ string
	err := s.pool.QueryRow(ctx, `SELECT coalesce(bt.typname, t.typname) FROM pg_attribute a
		JOIN pg_type t ON t.oid = a.atttypid
		LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
		WHERE a.attrelid = $1::regclass AND a.attname = $2 AND NOT a.attisdropped`,
		quote(schema)+"."+quote(bare), column).Scan(&typ)
	if err != nil {
		return 0, fmt.Errorf("type of %s.%s: %w", table, column, err)
	}
	k = kindOf(typ)
	s.kindMu.Lock()
	s.kinds[columnRef{table, column}] = k
	s.kindMu.Unlock()
	return k, nil
}

// schemaVersionSQL digests the published schemas' tables, views and their
// columns (name, type, NOT NULL) and indexes, as the catalog holds them.
const schemaVersionSQL = `SELECT coalesce(md5(string_agg(d, E'\n' ORDER BY d)), '') FROM (
	SELECT format('%s.%s %s %s %s %s %s', n.nspname, c.relname, c.relkind, a.attnum, a.attname, a.atttypid::regtype, a.attnotnull) AS d
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
	UNION ALL
	SELECT format('%s.%s index %s %s %s %s', n.nspname, c.relname, ic.relname, i.indisunique, i.indisprimary, i.indkey)
	FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
	JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = ANY($1)) AS s`

// SchemaVersion names the published schemas as the catalog holds them now:
// it changes when a table, view, column or index is created, dropped or
// altered. A server whose collections were discovered under another
// schema version discovers them again. It reads the catalog (a few
// milliseconds), so callers poll it at an interval of seconds.
func (s *Source) SchemaVersion(ctx context.Context) (string, error) {
	var v string
	err := s.retry(ctx, func() error { return s.pool.QueryRow(ctx, schemaVersionSQL, s.schemas).Scan(&v) })
	if err != nil {
		return "", fmt.Errorf("postgres schema version: %w", err)
	}
	return v, nil
}
