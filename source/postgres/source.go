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
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	// ReplicaTimeout bounds how long a read waits for a replica to start
	// answering, connecting included, before it runs on the primary and
	// the replica leaves rotation; it also bounds a replica's connection
	// attempts, unless its URL sets connect_timeout. 0 means
	// DefaultReplicaTimeout.
	ReplicaTimeout time.Duration
	// PollInterval is how often the primary's WAL position (what Version
	// answers) and each replica's replay position are read in the
	// background. 0 means DefaultPollInterval.
	PollInterval time.Duration
	// VersionEveryCall makes Version ask the primary on every call
	// instead of answering the last poll: no staleness, at a round trip
	// per call.
	VersionEveryCall bool
	// RLSRole, when set, makes every read run in a read-only transaction
	// as this role, with the request's principal in
	// request.jwt.claims (source/postgres/rls.go), so that the database's
	// row level security policies apply on top of folio's own rules.
	// folio's login role must be a member of it. Estimates are then
	// exact counts: the statistics count rows the policies hide.
	RLSRole string
	// Logger is told when a replica leaves or rejoins rotation and when
	// the primary stops or starts answering; nil means slog.Default().
	Logger *slog.Logger
}

// Source serves the tables and views of one PostgreSQL database to the
// engine. It only reads; others may write meanwhile. Safe for concurrent use.
//
// With replicas, page reads (Query, Estimate, and Count when the replica is
// fresh enough) go to the replicas in rotation, in turn; schema discovery
// and Version go to the primary. A read that fails on a replica for a
// reason a retry may cure (the replica is down, its connection broke, a
// recovery conflict cancelled the statement), or that the replica has not
// started answering within Options.ReplicaTimeout, runs once more on the
// primary, and the replica leaves rotation until a background probe finds
// it answering (after a second, then twice as long each time it still
// fails, up to half a minute). Without replicas such a read is retried
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
// widening that window. A page read from a replica that may not hold
// everything the latest Version stands for is marked so in its context
// (engine.MarkBehind), and the page cache does not keep it under that
// version. Totals: Version is the primary's WAL insert position as last
// polled, and Count runs on a replica only when it has replayed at least
// up to the highest version this Source has returned, else on the primary.
type Source struct {
	rlsRole  string // Options.RLSRole
	pool     *pgxpool.Pool
	replicas []*replica
	turn     atomic.Uint64 // round robin over replicas
	seen     atomic.Uint64 // highest WAL position on the current timeline Version returned
	versions versions      // the WAL position and timeline as a version
	wal      walLayout     // the primary's, read at Open when there are replicas
	schemas  []string

	log            *slog.Logger
	replicaTimeout time.Duration
	poll           time.Duration
	everyCall      bool
	primary        serverState            // the primary's health, as polls find it
	polled         atomic.Pointer[polled] // the last poll of the primary's position
	stop           context.CancelFunc     // ends the background watch
	bg             sync.WaitGroup

	// kinds remembers each column's PostgreSQL type class, which decides
	// how it is selected, compared and ordered.
	kindMu sync.Mutex
	kinds  map[columnRef]kind
}

type columnRef struct{ table, column string }

var (
	_ engine.Source         = (*Source)(nil)
	_ engine.HealthReporter = (*Source)(nil)
)

// Open connects to the database at url (a postgres:// URL or key=value
// string) and checks that it answers. Replicas are connected lazily and
// may be down: reads fall back to the primary. A background watch polls
// the primary and the replicas until Close.
func Open(ctx context.Context, url string, opt Options) (*Source, error) {
	schemas := opt.Schemas
	if len(schemas) == 0 {
		schemas = []string{"public"}
	}
	s := &Source{rlsRole: opt.RLSRole, schemas: schemas, kinds: map[columnRef]kind{}, log: opt.Logger, replicaTimeout: opt.ReplicaTimeout,
		poll: opt.PollInterval, everyCall: opt.VersionEveryCall}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.replicaTimeout <= 0 {
		s.replicaTimeout = DefaultReplicaTimeout
	}
	if s.poll <= 0 {
		s.poll = DefaultPollInterval
	}
	cfg, err := poolConfig(url, schemas, opt)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	s.primary.role, s.primary.name = "primary", serverName(cfg)
	s.primary.up.Store(true)
	closeAll := func() {
		for _, r := range s.replicas {
			r.pool.Close()
		}
	}
	for _, u := range opt.Replicas {
		rcfg, err := poolConfig(u, schemas, opt)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("open postgres replica: %w", err)
		}
		if rcfg.ConnConfig.ConnectTimeout == 0 {
			rcfg.ConnConfig.ConnectTimeout = s.replicaTimeout
		}
		p, err := pgxpool.NewWithConfig(ctx, rcfg)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("open postgres replica: %w", err)
		}
		r := &replica{pool: p, wake: make(chan struct{}, 1)}
		r.role, r.name = "replica", serverName(rcfg)
		r.up.Store(true)
		s.replicas = append(s.replicas, r)
	}
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := s.pool.Ping(ctx); err != nil {
		s.pool.Close()
		closeAll()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if len(s.replicas) > 0 {
		if err := loadWALLayout(ctx, s); err != nil {
			s.pool.Close()
			closeAll()
			return nil, fmt.Errorf("open postgres: %w", err)
		}
	}
	// The first poll runs now, so that Version answers from the start.
	s.pollPrimary(ctx)
	wctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.bg.Add(1 + len(s.replicas))
	go s.watchPrimary(wctx)
	for _, r := range s.replicas {
		go s.watchReplica(wctx, r)
	}
	return s, nil
}

// serverName names a server in logs and health reports: its host and
// port, never its password.
func serverName(cfg *pgxpool.Config) string {
	return net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port)))
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

// Close stops the background watch and closes every connection.
func (s *Source) Close() error {
	s.stop()
	s.bg.Wait()
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
// even when the new primary's position is behind the old one's
// (versions).
//
// Version answers the position the background poll last read, without a
// round trip: a write is seen within the poll interval and one round
// trip. When the last poll failed, or none has ended for longer than two
// polls can take (the primary hangs), Version fails as a query on the
// primary would. With Options.VersionEveryCall it asks the primary on
// every call instead.
func (s *Source) Version(ctx context.Context) (uint64, error) {
	var v uint64
	if s.everyCall {
		err := s.retry(ctx, func() error {
			var err error
			v, err = s.primaryVersion(ctx)
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("postgres version: %w", err)
		}
	} else {
		p := s.polled.Load()
		if p == nil {
			return 0, errors.New("postgres version: the primary has not been polled yet")
		}
		if age := time.Since(p.at); age > 2*(s.poll+pollTimeout) {
			return 0, fmt.Errorf("postgres version: the primary has not answered a poll for %s", age.Round(time.Millisecond))
		}
		if p.err != nil {
			return 0, fmt.Errorf("postgres version: %w", p.err)
		}
		v = p.v
	}
	storeMax(&s.seen, v)
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
