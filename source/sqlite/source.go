// Package sqlite is folio's SQLite source: it discovers the tables and views
// of a database file, turns engine plans into SQL with bound parameters,
// streams rows back, estimates counts from the database's statistics and
// notices when another process changes the file. It also bulk-loads
// dataset tables (Load). It is the only package that imports the driver.
package sqlite

import (
	"context"
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

	"folio/engine"

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
	// Logger receives the source's warnings: a column that holds values
	// its type does not fit (once per column), a time column stored in
	// several layouts. nil: slog.Default().
	Logger *slog.Logger
}

// Source serves one SQLite database file to the engine. folio only reads it;
// other processes may write it meanwhile (the file is switched to WAL when
// writable, so readers and a writer do not block each other).
// A Source is safe for concurrent use.
type Source struct {
	path string
	db   *sql.DB // read pool, every connection query_only

	// Version state: PRAGMA data_version is per connection and only sees
	// other connections' commits, so one dedicated connection answers it.
	verMu    sync.Mutex
	verDB    *sql.DB
	verConn  *sql.Conn
	verLast  int64
	verCount uint64

	// layouts remembers, per table column of type time, how the column
	// stores its times, so that parameters are bound in the same layout and
	// compare correctly in SQL.
	layoutMu sync.Mutex
	layouts  map[columnRef]timeLayout

	log *slog.Logger
	// misfits holds the columns already logged as holding a value that
	// does not fit their type: one line per column, not per row.
	misfitMu sync.Mutex
	misfits  map[columnRef]bool

	// badJSON holds the JSON columns whose array filters must skip values
	// that are not JSON (see json.go).
	jsonMu  sync.Mutex
	badJSON map[columnRef]bool
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
	setWAL(ctx, abs)

	n := opt.MaxConns
	if n <= 0 {
		n = max(2*runtime.GOMAXPROCS(0), 4)
	}
	mmap := opt.MmapBytes
	switch {
	case mmap == 0:
		mmap = defaultMmapBytes
	case mmap < 0:
		mmap = 0
	}
	db := sql.OpenDB(connector{dsn: dsn(abs, true), drv: &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec(fmt.Sprintf("PRAGMA mmap_size=%d", mmap), nil)
			return err
		},
	}})
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// Reading the schema proves the file is a database, not just a file.
	if _, err := db.ExecContext(ctx, "SELECT count(*) FROM sqlite_schema"); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	verDB, err := sql.Open(driverName, dsn(abs, true))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	verDB.SetMaxOpenConns(1)
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Source{path: abs, db: db, verDB: verDB, layouts: map[columnRef]timeLayout{}, log: log, misfits: map[columnRef]bool{}, badJSON: map[columnRef]bool{}}, nil
}

// connector opens the read pool's connections with settings the driver's
// data source name has no parameter for.
type connector struct {
	dsn string
	drv *sqlite3.SQLiteDriver
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }

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
	s.verMu.Lock()
	if s.verConn != nil {
		s.verConn.Close()
		s.verConn = nil
	}
	s.verMu.Unlock()
	return errors.Join(s.db.Close(), s.verDB.Close())
}

// Version returns a counter that moves whenever another connection or
// process has committed to the file since the previous call.
func (s *Source) Version(ctx context.Context) (uint64, error) {
	s.verMu.Lock()
	defer s.verMu.Unlock()
	if s.verConn == nil {
		c, err := s.verDB.Conn(ctx)
		if err != nil {
			return 0, fmt.Errorf("sqlite data version: %w", err)
		}
		s.verConn = c
		// A new connection has a new data_version baseline; count it as a
		// change, since commits may have been missed in between.
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

// misfit logs, once per column, that a column holds a value its type does
// not fit, which is published as stored (see decode): the data is not
// what the schema says, and its owner may want to know, but every row
// still reads. The value itself is not logged, only its storage class
// and the row's key, since a log may reach people the data may not.
func (s *Source) misfit(table string, f *engine.Field, stored, key any) {
	ref := columnRef{table, f.Column}
	s.misfitMu.Lock()
	seen := s.misfits[ref]
	s.misfits[ref] = true
	s.misfitMu.Unlock()
	if seen {
		return
	}
	attrs := []any{"table", table, "column", f.Column, "type", f.Type.String(), "stored", storageClass(stored)}
	if key != nil {
		attrs = append(attrs, "key", key)
	}
	s.log.Warn("sqlite: a column holds a value that is not of its type; it is published as stored (logged once per column)", attrs...)
}
