// Package postgres is folio's PostgreSQL source: it discovers the tables and
// views of chosen schemas, turns engine plans into SQL with bound
// parameters, streams rows back with pgx, estimates counts from the
// planner's statistics and notices writes through the WAL position. Page
// reads may go to read replicas, with the primary as fallback. It also
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
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"

	"folio/engine"
)

// Options configures a Source.
type Options struct {
	Schemas  []string // schemas to publish, in search order; default public
	MaxConns int      // pool size per server; 0 = pgxpool's default (max(4, GOMAXPROCS))
	// Replicas are URLs of read replicas (hot standbys) of the database;
	// see Source for what is read from them.
	Replicas []string
}

// Source serves the tables and views of one PostgreSQL database to the
// engine. It only reads; others may write meanwhile. Safe for concurrent use.
//
// With replicas, page reads (Query, Estimate, and Count when the replica is
// fresh enough) go to them in turn; schema discovery and Version go to the
// primary. A read that fails on a replica for a reason a retry may cure (the
// replica is down, its connection broke, a recovery conflict cancelled the
// statement) runs once more on the primary before it fails, and the
// replica is skipped for a second. Without replicas such a read is retried
// once on the primary too: after a restart, the pool's idle connections
// fail once before it notices. A read never retries after it has passed a
// row on.
//
// What a client sees: each page is one statement, so one consistent
// snapshot, but a replica that lags shows the data as it was a moment ago,
// and successive pages may come from replicas at different positions.
// Keyset paging still loses no row that every server read from held
// throughout the harvest; a row written during it (inserted, updated,
// deleted) may or may not show, as without replicas, a lagging replica only
// widening that window. Totals are
// never stale: Version is the primary's WAL insert position, and Count runs
// on a replica only when it has replayed at least up to the highest
// position Version has read on the primary's current timeline, else on the
// primary.
type Source struct {
	pool     *pgxpool.Pool
	replicas []*replica
	turn     atomic.Uint64 // round robin over replicas
	seen     atomic.Uint64 // highest WAL position on the current timeline Version returned
	versions versions      // the WAL position and timeline as a version
	wal      walLayout     // the primary's, read at Open when there are replicas
	schemas  []string

	// kinds remembers each column's PostgreSQL type class, which decides
	// how it is selected, compared and ordered.
	kindMu sync.Mutex
	kinds  map[columnRef]kind
}

type columnRef struct{ table, column string }

var _ engine.Source = (*Source)(nil)

// Open connects to the database at url (a postgres:// URL or key=value
// string) and checks that it answers. Replicas are connected lazily and
// may be down: reads fall back to the primary.
func Open(ctx context.Context, url string, opt Options) (*Source, error) {
	schemas := opt.Schemas
	if len(schemas) == 0 {
		schemas = []string{"public"}
	}
	cfg, err := poolConfig(url, schemas, opt)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	var replicas []*replica
	closeAll := func() {
		for _, r := range replicas {
			r.pool.Close()
		}
	}
	for _, u := range opt.Replicas {
		rcfg, err := poolConfig(u, schemas, opt)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("open postgres replica: %w", err)
		}
		p, err := pgxpool.NewWithConfig(ctx, rcfg)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("open postgres replica: %w", err)
		}
		replicas = append(replicas, &replica{pool: p})
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		closeAll()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	s := &Source{pool: pool, replicas: replicas, schemas: schemas, kinds: map[columnRef]kind{}}
	if len(replicas) > 0 {
		if err := loadWALLayout(ctx, s); err != nil {
			s.Close()
			return nil, fmt.Errorf("open postgres: %w", err)
		}
	}
	return s, nil
}

// poolConfig parses a server's URL and sets what every connection needs.
func poolConfig(url string, schemas []string, opt Options) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
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
	return cfg, nil
}

// Close closes every connection.
func (s *Source) Close() error {
	s.pool.Close()
	for _, r := range s.replicas {
		r.pool.Close()
	}
	return nil
}

// Version returns the server's WAL position: every committed write to a
// logged table moves it, so equal versions mean unchanged data. It also
// moves for writes to tables folio does not publish and for maintenance
// (vacuum, checkpoints), which only costs the engine a recount. Writes to
// UNLOGGED tables do not move it. The insert position is used on a primary,
// not the flushed one, because with synchronous_commit=off a commit returns
// before its WAL is written; a replica reports its replay position. With
// Options.Replicas, url is the primary and the version always its insert
// position, which no replica is ahead of. A failover (a replica promoted
// on a new timeline) moves the version past every one returned before,
// even when the new primary's position is behind the old one's.
func (s *Source) Version(ctx context.Context) (uint64, error) {
	var lsn, tli string
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, `SELECT CASE WHEN r THEN coalesce(pg_last_wal_replay_lsn(), '0/0')::text
			ELSE pg_current_wal_insert_lsn()::text END,
			CASE WHEN r THEN '' ELSE substr(pg_walfile_name(pg_current_wal_insert_lsn()), 1, 8) END
			FROM pg_is_in_recovery() r`).Scan(&lsn, &tli)
	})
	if err != nil {
		return 0, fmt.Errorf("postgres version: %w", err)
	}
	pos, err := parseLSN(lsn)
	if err != nil {
		return 0, fmt.Errorf("postgres version: %w", err)
	}
	timeline, err := parseTimeline(tli)
	if err != nil {
		return 0, fmt.Errorf("postgres version: %w", err)
	}
	v, newTimeline := s.versions.of(timeline, pos)
	if newTimeline {
		// Positions of the old timeline say nothing about what replicas
		// of the new one have replayed.
		s.seen.Store(pos)
	}
	for {
		old := s.seen.Load()
		if pos <= old || s.seen.CompareAndSwap(old, pos) {
			break
		}
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
