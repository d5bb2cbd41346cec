// Package sqlite is folio's SQLite source: it discovers the tables and views
// of a database file, turns engine plans into SQL with bound parameters,
// streams rows back, estimates counts from the database's statistics and
// notices when another process changes the file. It also bulk-loads
// dataset tables (Load). It is the only package that imports the driver.
package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"folio/engine"
	_ "folio/source/sqlite/fts5" // full-text search in every connection

	sqlite3 "github.com/mattn/go-sqlite3" // chosen by measurement, see docs/DEPENDENCIES.md
)

const driverName = "sqlite3"

// busyTimeoutMS is how long a connection waits for another process's lock
// (a checkpoint, a schema change) before it reports SQLITE_BUSY.
const busyTimeoutMS = 5000

// stmtCacheSize is the number of prepared statements each connection keeps:
// page queries repeat, so they skip the prepare step.
const stmtCacheSize = 64

// defaultMmapBytes is how much of the file the read connections map into
// memory unless Options say otherwise. A page in key order of a table whose
// rows were inserted in another order looks up every row at a random spot
// of the file; through the mapping such a lookup is a memory read instead
// of a read system call into a 2 MiB page cache, which makes such pages
// 1.7 times as fast (docs/BENCHMARKS.md, KeyOrderPages). The mapping is the operating
// system's file cache itself, so it costs address space, not memory.
const defaultMmapBytes = 1 << 30

// Options configures a Source.
type Options struct {
	MaxConns int // read pool size; 0 = default (2*GOMAXPROCS, at least 4)
	// MmapBytes is how many bytes of the file each read connection maps
	// (PRAGMA mmap_size); 0 = default (1 GiB), negative = none, read by
	// system calls only. SQLite caps it at its compile-time maximum.
	MmapBytes int64
	// Logger is told what the source does not serve and why (a table or
	// view it cannot read), and receives its warnings about the data: a
	// column that holds values its type does not fit (once per column), a
	// time column stored in several layouts. nil logs to slog.Default().
	Logger *slog.Logger
}

// Source serves one SQLite database file to the engine. folio only reads it;
// other processes may write it meanwhile (the file is switched to WAL when
// writable, so readers and a writer do not block each other). It watches
// the file it serves (see current): a deleted or unreadable file makes it
// report the database unavailable, and a file renamed over it is opened in
// its place.
// A Source is safe for concurrent use.
type Source struct {
	path   string
	log    *slog.Logger
	conns  int   // read pool size
	mmap   int64 // PRAGMA mmap_size of every read connection
	schema [sha256.Size]byte

	// mu guards the pools and what is known of the file (file.go).
	mu        sync.Mutex
	pools     *pools // nil while no file is open
	down      error  // why the database cannot answer now; nil when it can
	checked   time.Time
	reopening bool
	// generation counts the files served: one more at each replacement.
	generation int
	closed     bool
	bg         sync.WaitGroup // the reopen under way

	// Version state: PRAGMA data_version is per connection and only sees
	// other connections' commits, so one dedicated connection answers it.
	verMu    sync.Mutex
	verPools *pools // the pools verConn belongs to
	verConn  *sql.Conn
	verLast  int64
	verCount uint64

	// layouts remembers, per table column of type time, how the column
	// stores its times, so that parameters are bound in the same layout and
	// compare correctly in SQL.
	layoutMu sync.Mutex
	layouts  map[columnRef]timeLayout

	// misfits holds the columns already logged as holding a value that
	// does not fit their type: one line per column, not per row.
	misfitMu sync.Mutex
	misfits  map[columnRef]bool

	// badJSON holds the JSON columns whose array filters must skip values
	// that are not JSON (see json.go).
	jsonMu  sync.Mutex
	badJSON map[columnRef]bool
}

// pools are the connections to one database file.
type pools struct {
	db    *sql.DB // read pool, every connection query_only
	verDB *sql.DB // Version's one connection
	file  os.FileInfo
	// life ends when the pools are closed, interrupting the statements
	// still running on them (see acquire).
	life context.Context
	end  context.CancelFunc
}

type columnRef struct{ table, column string }

var _ engine.Source = (*Source)(nil)

// Open opens an existing database file for serving. It does not create a
// missing file: that is an error naming the path.
func Open(ctx context.Context, path string, opt Options) (*Source, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("open sqlite %s: is a directory", path)
	}
	s := &Source{path: abs, log: opt.Logger, conns: opt.MaxConns, mmap: opt.MmapBytes, layouts: map[columnRef]timeLayout{},
		misfits: map[columnRef]bool{}, badJSON: map[columnRef]bool{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.conns <= 0 {
		s.conns = max(2*runtime.GOMAXPROCS(0), 4)
	}
	switch {
	case s.mmap == 0:
		s.mmap = defaultMmapBytes
	case s.mmap < 0:
		s.mmap = 0
	}
	p, err := s.openPools(ctx, fi)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if s.schema, err = schemaSum(ctx, p.db); err != nil {
		p.close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s.pools, s.checked = p, time.Now()
	return s, nil
}

// openPools opens the connections to the file at s.path, which is fi.
func (s *Source) openPools(ctx context.Context, fi os.FileInfo) (*pools, error) {
	setWAL(ctx, s.path)
	mmap := s.mmap
	db := sql.OpenDB(connector{path: s.path, file: fi, drv: &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec(fmt.Sprintf("PRAGMA mmap_size=%d", mmap), nil)
			return err
		},
	}})
	db.SetMaxOpenConns(s.conns)
	db.SetMaxIdleConns(s.conns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// Reading the schema proves the file is a database, not just a file.
	if _, err := db.ExecContext(ctx, "SELECT count(*) FROM sqlite_schema"); err != nil {
		db.Close()
		return nil, err
	}
	verDB := sql.OpenDB(connector{path: s.path, file: fi, drv: &sqlite3.SQLiteDriver{}})
	verDB.SetMaxOpenConns(1)
	life, end := context.WithCancel(context.Background())
	return &pools{db: db, verDB: verDB, file: fi, life: life, end: end}, nil
}

// close interrupts the statements running on the pools and closes them;
// a connection still in use closes as soon as its statement ends.
func (p *pools) close() error {
	p.end()
	return errors.Join(p.db.Close(), p.verDB.Close())
}

// idle reports whether every connection of closed pools has closed.
func (p *pools) idle() bool {
	return p.db.Stats().OpenConnections == 0 && p.verDB.Stats().OpenConnections == 0
}

// schemaSum is a digest of the tables and views of the database db reads,
// as declared: a file that replaces the one served is opened in its place
// only when they are the same, since the published collections were
// discovered from them.
func schemaSum(ctx context.Context, db *sql.DB) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	rows, err := db.QueryContext(ctx, `SELECT type, name, coalesce(sql, '') FROM sqlite_schema
		WHERE type IN ('table', 'view') ORDER BY type, name`)
	if err != nil {
		return sum, fmt.Errorf("read the schema: %w", err)
	}
	defer rows.Close()
	h := sha256.New()
	for rows.Next() {
		var typ, name, def string
		if err := rows.Scan(&typ, &name, &def); err != nil {
			return sum, fmt.Errorf("read the schema: %w", err)
		}
		fmt.Fprintf(h, "%q %q %q\n", typ, name, def)
	}
	if err := rows.Err(); err != nil {
		return sum, fmt.Errorf("read the schema: %w", err)
	}
	h.Sum(sum[:0])
	return sum, nil
}

// connector opens the connections of pools on one file, file at path,
// read-only, with settings the driver's data source name has no parameter
// for. A connection opened after another file took the path (or none is
// there) is refused: it would read that other file, or create the -wal and
// -shm files the connections to the first one use.
type connector struct {
	path string
	file os.FileInfo
	drv  *sqlite3.SQLiteDriver
}

func (c connector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(dsn(c.path, true))
	if err != nil {
		return nil, err
	}
	// Looked at after the open: the file it shows was at the path before
	// the open, so the connection has it.
	if fi, err := os.Stat(c.path); err != nil || !os.SameFile(fi, c.file) {
		conn.Close()
		return nil, errors.New("the database file was replaced or removed")
	}
	return conn, nil
}

func (c connector) Driver() driver.Driver { return c.drv }

// dsn builds the driver's data source name: a SQLite URI (so the path is
// escaped) that never creates the file, plus the driver's own settings.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeoutMS))
	q.Set("_stmt_cache_size", fmt.Sprint(stmtCacheSize))
	if readOnly {
		q.Set("mode", "rw") // rw, not ro: a WAL reader may need to create the -shm file
		q.Set("_query_only", "1")
	} else {
		q.Set("mode", "rwc")
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

// setWAL switches a writable file to WAL so that readers and other
// processes' writers do not block each other. A read-only file keeps its
// journal mode: the failure is expected and ignored.
func setWAL(ctx context.Context, path string) {
	db, err := sql.Open(driverName, dsn(path, false))
	if err != nil {
		return
	}
	defer db.Close()
	var mode string
	_ = db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
}

// Close closes every connection.
func (s *Source) Close() error {
	s.mu.Lock()
	s.closed = true
	p := s.pools
	s.pools = nil
	s.mu.Unlock()
	s.bg.Wait() // a reopen under way closes what it opened
	s.verMu.Lock()
	if s.verConn != nil {
		s.verConn.Close()
		s.verConn = nil
	}
	s.verMu.Unlock()
	if p == nil {
		return nil
	}
	return p.close()
}

// Version returns a counter that moves whenever another connection or
// process has committed to the file since the previous call, or the file
// was replaced; an error when the database cannot answer (see current).
func (s *Source) Version(ctx context.Context) (uint64, error) {
	p, err := s.current()
	if err != nil {
		return 0, err
	}
	s.verMu.Lock()
	defer s.verMu.Unlock()
	if s.verPools != p {
		if s.verConn != nil {
			s.verConn.Close()
			s.verConn = nil
		}
		s.verPools = p
	}
	if s.verConn == nil {
		c, err := p.verDB.Conn(ctx)
		if err != nil {
			return 0, fmt.Errorf("sqlite data version: %w", err)
		}
		s.verConn = c
		// A new connection has a new data_version baseline; count it as a
		// change, since commits may have been missed in between (or the
		// file is another one).
		s.verCount++
		s.verLast = -1
	}
	var v int64
	if err := s.verConn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
		s.verConn.Close()
		s.verConn = nil
		return 0, fmt.Errorf("sqlite data version: %w", err)
	}
	if v != s.verLast {
		if s.verLast != -1 {
			s.verCount++
		}
		s.verLast = v
	}
	return s.verCount, nil
}

// SchemaVersion names the database's schema as it is now: it changes when
// any connection creates, drops or alters a table, view or index (SQLite's
// schema_version), and when the file is replaced by another. A server
// whose collections were discovered under another schema version
// discovers them again.
func (s *Source) SchemaVersion(ctx context.Context) (string, error) {
	s.mu.Lock()
	gen := s.generation
	s.mu.Unlock()
	var v int64
	if err := s.queryRow(ctx, []any{&v}, "PRAGMA schema_version"); err != nil {
		return "", fmt.Errorf("sqlite schema version: %w", err)
	}
	return fmt.Sprintf("%d.%d", gen, v), nil
}

// misfit logs, once per column, that a column holds a value its type does
// not fit, which is published as stored (see decode): the data is not
// what the schema says, and its owner may want to know, but every row
// still reads. The value itself is not logged, only its storage class
// and the row's key, since a log may reach people the data may not.
func (s *Source) misfit(table string, f *engine.Field, stored, key any) {
	if !markOnce(&s.misfitMu, s.misfits, columnRef{table, f.Column}) {
		return
	}
	attrs := []any{"table", table, "column", f.Column, "type", f.Type.String(), "stored", storageClass(stored)}
	if key != nil {
		attrs = append(attrs, "key", key)
	}
	s.log.Warn("sqlite: a column holds a value that is not of its type; it is published as stored (logged once per column)", attrs...)
}

// markOnce records ref in set, which mu guards, and reports whether it was
// not there yet: what is logged once per column is logged on true.
func markOnce(mu *sync.Mutex, set map[columnRef]bool, ref columnRef) bool {
	mu.Lock()
	defer mu.Unlock()
	if set[ref] {
		return false
	}
	set[ref] = true
	return true
}
