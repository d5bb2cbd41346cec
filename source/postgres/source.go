// Package postgres is folio's PostgreSQL source: it discovers the tables and
// views of chosen schemas, turns engine plans into SQL with bound
// parameters, streams rows back with pgx, estimates counts from the
// planner's statistics and notices writes through the WAL position. It also
// bulk-loads dataset tables with COPY (Load). It is the only package that
// imports the driver.
//
// Behaviour equals the SQLite source's, which the tests check page by page:
//
//   - Text compares and sorts byte by byte (COLLATE "C", SQLite's BINARY)
//     whatever the database's collation. An index serves such a sort only
//     when its column is COLLATE "C", as Load creates text columns; a user's
//     text column of another collation is still sorted correctly, by a sort.
//   - NULL sorts last ascending and first descending, PostgreSQL's default,
//     so plain indexes serve both directions.
//   - Types: int2/int4/int8 are integers; float4/float8 numbers; numeric is a
//     number too, read, compared and sorted as float8 (lossy beyond float64
//     precision, and no index serves it; a numeric primary key is not used
//     as the key, since float8 cannot tell every pair apart); bool;
//     timestamptz, timestamp (taken as UTC) and date (midnight UTC) are
//     times; bytea is bytes; json and jsonb are JSON, read back as the
//     server prints them (jsonb normalises spacing); text and varchar are
//     text, and every other type (uuid, char(n), inet, enums, ...) is text
//     read, compared and sorted as its text form, which no index serves.
//   - all/any/none on JSON arrays use jsonb's ?& and ?|: string elements
//     compared with the values as text.
//   - Keys: a one-column primary key, else the first (by name) one-column,
//     non-partial unique index on a NOT NULL column; views have none and
//     page by offset only.
package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"folio/engine"
)

// Options configures a Source.
type Options struct {
	Schemas  []string // schemas to publish, in search order; default public
	MaxConns int      // pool size; 0 = pgxpool's default (max(4, GOMAXPROCS))
}

// Source serves the tables and views of one PostgreSQL database to the
// engine. It only reads; others may write meanwhile. Safe for concurrent use.
type Source struct {
	pool    *pgxpool.Pool
	schemas []string

	// kinds remembers each column's PostgreSQL type class, which decides
	// how it is selected, compared and ordered.
	kindMu sync.Mutex
	kinds  map[columnRef]kind
}

type columnRef struct{ table, column string }

var _ engine.Source = (*Source)(nil)

// Open connects to the database at url (a postgres:// URL or key=value
// string) and checks that it answers.
func Open(ctx context.Context, url string, opt Options) (*Source, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	schemas := opt.Schemas
	if len(schemas) == 0 {
		schemas = []string{"public"}
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = int32(opt.MaxConns)
	}
	// UTC makes timestamp-without-time-zone columns compare and read as
	// UTC; the search path makes the first schema's tables unqualified.
	quoted := make([]string, len(schemas))
	for i, s := range schemas {
		quoted[i] = quote(s)
	}
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	cfg.ConnConfig.RuntimeParams["search_path"] = strings.Join(quoted, ", ")
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "folio"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return &Source{pool: pool, schemas: schemas, kinds: map[columnRef]kind{}}, nil
}

// Close closes every connection.
func (s *Source) Close() error {
	s.pool.Close()
	return nil
}

// Version returns the server's WAL position: every committed write to a
// logged table moves it, so equal versions mean unchanged data. It also
// moves for writes to tables folio does not publish and for maintenance
// (vacuum, checkpoints), which only costs the engine a recount. Writes to
// UNLOGGED tables do not move it. The insert position is used on a primary,
// not the flushed one, because with synchronous_commit=off a commit returns
// before its WAL is written; a replica reports its replay position.
func (s *Source) Version(ctx context.Context) (uint64, error) {
	var lsn string
	err := s.pool.QueryRow(ctx, `SELECT coalesce(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
		ELSE pg_current_wal_insert_lsn() END, '0/0')::text`).Scan(&lsn)
	if err != nil {
		return 0, fmt.Errorf("postgres version: %w", err)
	}
	v, err := parseLSN(lsn)
	if err != nil {
		return 0, fmt.Errorf("postgres version: %w", err)
	}
	return v, nil
}

// parseLSN reads a pg_lsn's text form, two hexadecimal halves "X/Y".
func parseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("bad LSN %q", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("bad LSN %q", s)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("bad LSN %q", s)
	}
	return h<<32 | l, nil
}

// quote quotes an identifier: double quotes, embedded ones doubled.
func quote(id string) string {
	return `"` + strings.ReplaceAll(id, `"`, `""`) + `"`
}

// table quotes a collection's table. Tables of the first schema are named
// bare (the search path finds them); those of later schemas are
// "schema.table", split at the first dot when the prefix is a published
// schema.
func (s *Source) table(name string) string {
	if sch, tb, ok := strings.Cut(name, "."); ok {
		for _, x := range s.schemas[1:] {
			if x == sch {
				return quote(sch) + "." + quote(tb)
			}
		}
	}
	return quote(name)
}

// split returns the schema and bare name of a collection's table.
func (s *Source) split(name string) (string, string) {
	if sch, tb, ok := strings.Cut(name, "."); ok {
		for _, x := range s.schemas[1:] {
			if x == sch {
				return sch, tb
			}
		}
	}
	return s.schemas[0], name
}
