// Command folio publishes SQL datasets over HTTP.
//
//	folio serve [flags]            publish a database (default: the demo database)
//	folio demo --db PATH [flags]   build the demo database
//	folio export --collection NAME [flags]
//	folio harvest URL [flags]
//	folio version
//
// 'folio COMMAND --help' lists a command's flags (cli.go generates it from
// the flag sets); every flag can also be set by its FOLIO_* environment
// variable. Exit status 2 is a usage error, 1 a failure.
//
// With no --db, serve and export use the demo database, building it on
// first run at $XDG_DATA_HOME/folio/demo-vN.sqlite
// (~/.local/share/folio/demo-vN.sqlite), N the demo's format version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"folio/config"
	"folio/demo"
	"folio/engine"
	"folio/reload"
	"folio/secret"
	"folio/server"
	"folio/source/postgres"
	"folio/source/sqlite"
)

func main() {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func serve(ctx context.Context, fs *flag.FlagSet, args []string) error {
	db := fs.String("db", "", "SQLite file or postgres:// URL to publish (default: the demo database, built on first run)")
	schemas := fs.String("schema", "public", "PostgreSQL schemas to publish, comma-separated")
	var replicas listFlag
	fs.Var(&replicas, "replica", "postgres:// `URL` of a read replica that page reads go to (repeatable; the primary answers when a replica cannot)")
	replicaTimeout := fs.Duration("replica-timeout", postgres.DefaultReplicaTimeout,
		"how long a read waits for a replica to start answering, connecting included, before it reads the primary; the replica then leaves rotation until a background probe finds it answering")
	poll := fs.Duration("poll-interval", postgres.DefaultPollInterval,
		"how often the PostgreSQL primary's WAL position is read to learn of writes: the page cache and exact totals see a write within this; 0 asks the primary on every request")
	rlsRole := fs.String("rls-role", "", "PostgreSQL role every read runs as, in a transaction with the request's principal in request.jwt.claims, so the database's row level security policies apply (folio's login role must be a member; default: none)")
	cfgPath := fs.String("config", "", "configuration file (YAML)")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	sec := fs.String("secret", "", "cursor signing key, at least 16 bytes (default: a key file beside a SQLite database)")
	queryTimeout := fs.Duration("query-timeout", engine.DefaultQueryTime, "longest a page, record or count may run (and an export until its first row); 0 for no limit (default: the config's limits.query_timeout, else 5s)")
	costly := fs.Int("costly-queries", 0, "how many costly queries (exact counts, exports, deep offsets, heavy filters) run at once (default: the config's limits.costly_queries, else half the CPUs)")
	edge := addEdgeFlags(fs)
	tokens := fs.String("tokens", "", "the API tokens file (folio token) (default: the configuration's auth.tokens, else beside a SQLite database)")
	adminAddr := fs.String("admin-addr", "", "address of a separate listener for operators, serving /metrics and /debug/pprof/ (default: none; the public address serves neither)")
	schemaPoll := fs.Duration("schema-poll", 2*time.Second, "how often the database's schema is checked: a table, view, column or index created, dropped or altered by another process is served without a restart (0: never; SIGHUP always rebuilds, re-reading --config)")
	logs := addLogFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	log, err := logs.logger(os.Stderr)
	if err != nil {
		return err
	}

	pg := postgres.Options{Schemas: schemaList(*schemas), Replicas: replicas, ReplicaTimeout: *replicaTimeout,
		PollInterval: *poll, VersionEveryCall: *poll == 0, RLSRole: *rlsRole}
	p, err := open(ctx, *db, *cfgPath, pg, os.Stderr, log)
	if err != nil {
		return err
	}
	defer p.src.Close()
	if *sec == "" && isPostgres(p.db) {
		return errors.New("serve: a PostgreSQL database has no file to keep a signing key beside: give --secret or FOLIO_SECRET, the same on every node")
	}
	key, err := secret.Load(*sec, secret.FilePath(p.db))
	if err != nil {
		return err
	}
	signer, err := engine.NewSigner(key)
	if err != nil {
		return err
	}
	cfg := p.cfg
	if cfg == nil {
		cfg = &config.Config{}
	}
	var metrics *server.Metrics
	var admin *server.Server
	if *adminAddr != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		if metrics, err = server.NewMetrics(reg); err != nil {
			return err
		}
		admin = server.NewAdmin(reg, log)
	}
	newEngine := func(cfg *config.Config, cols []*engine.Collection) (*engine.Engine, error) {
		opts := []engine.Option{engine.WithLimits(limits(cfg.Limits, set, *queryTimeout, *costly))}
		if metrics != nil {
			opts = append(opts, engine.WithObserver(metrics.Observer()))
		}
		return engine.New(p.src, signer, cols, opts...)
	}
	e, err := newEngine(cfg, p.cols)
	if err != nil {
		return err
	}
	authn, err := authenticator(cfg, *tokens, p.db)
	if err != nil {
		return err
	}
	failures := cfg.AuthFailures()
	o := server.Options{Engine: e, Mounts: cfg.MountList(), Logger: log, Metrics: metrics,
		RateLimit: cfg.Limits.RateLimit, CollectionRates: cfg.CollectionRates(), Auth: authn, AuthFailures: &failures}
	if err := edge.apply(&o, p.cfg); err != nil {
		return err
	}
	srv, err := server.New(o)
	if err != nil {
		return err
	}
	// The collections follow the schema, and on SIGHUP the configuration
	// file: discovered again, the file read again, the routes rebuilt.
	w := reload.New(p.src, srv, func(ctx context.Context) (*engine.Engine, []config.Mount, error) {
		cfg := p.cfg
		if *cfgPath != "" {
			var err error
			if cfg, err = config.Load(*cfgPath); err != nil {
				return nil, nil, err
			}
		}
		if cfg == nil {
			cfg = &config.Config{}
		}
		found, err := p.src.Collections(ctx)
		if err != nil {
			return nil, nil, err
		}
		cols, err := config.Apply(found, cfg)
		if err != nil {
			return nil, nil, err
		}
		e, err := newEngine(cfg, cols)
		return e, cfg.MountList(), err
	}, *schemaPoll, log)
	w.Start(ctx)
	go w.Run(ctx)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				w.Reload(ctx, "SIGHUP")
			}
		}
	}()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	adminDone := make(chan error, 1)
	if admin == nil {
		adminDone <- nil
	} else {
		aln, err := net.Listen("tcp", *adminAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on --admin-addr: %w", err)
		}
		go func() { adminDone <- admin.Serve(ctx, aln) }()
		fmt.Printf("metrics on http://%s/metrics, profiles on http://%s/debug/pprof/\n", aln.Addr(), aln.Addr())
	}
	host := publicURL(o, ln.Addr())
	base := host + p.cfg.NativeMount().Path
	fmt.Printf("folio is serving %s on %s\ntry:\n  curl '%s'\n", displayName(p.db), listening(o, ln.Addr()), base)
	if p.demo {
		fmt.Printf("  curl '%s/entries?limit=5&sort=-upload_create_time'\n", base)
		fmt.Printf("the same data as NOMAD, Copernica, DataCite and GOCDB serve it (README.md, Dialects):\n")
		fmt.Printf("  curl -X POST '%s/api/v1/entries/query' -H 'Content-Type: application/json' -d '{\"pagination\":{\"page_size\":5}}'\n", host)
		fmt.Printf("  curl '%s/v2/database/42/profiles?start=0&limit=10'\n", host)
		fmt.Printf("  curl -g '%s/dois?page[cursor]=1&page[size]=5'\n", host)
		fmt.Printf("  curl '%s/gocdbpi/public/?method=get_downtime&next_cursor=0'\n", host)
	} else if len(p.cols) > 0 {
		fmt.Printf("  curl '%s/%s?limit=5'\n", base, e.Collections()[0].Name)
	}
	err = srv.Serve(ctx, ln)
	return errors.Join(err, <-adminDone)
}

// published is a database opened for publishing: its source and the
// collections the configuration makes of its tables.
type published struct {
	db   string // the database file or URL
	demo bool   // the demo database, with the demo configuration
	cfg  *config.Config
	src  closingSource
	cols []*engine.Collection
}

// open opens db with the configuration file cfgPath (none: every table
// with defaults), or with no db the demo database with its configuration,
// building it first if need be and telling msgs so; pg configures a
// PostgreSQL database; log is told what the database holds that cannot be
// served, and the values not of their column's type.
func open(ctx context.Context, db, cfgPath string, pg postgres.Options, msgs io.Writer, log *slog.Logger) (*published, error) {
	p := &published{db: db, demo: db == ""}
	if p.demo {
		path, err := demoPath()
		if err != nil {
			return nil, err
		}
		p.db = path
		if err := ensureDemo(ctx, path, msgs); err != nil {
			return nil, err
		}
		p.cfg = config.Demo()
	}
	if cfgPath != "" {
		var err error
		if p.cfg, err = config.Load(cfgPath); err != nil {
			return nil, err
		}
	}
	src, err := openSource(ctx, p.db, pg, log)
	if err != nil {
		return nil, err
	}
	found, err := src.Collections(ctx)
	if err == nil {
		p.cols, err = config.Apply(found, p.cfg)
	}
	if err != nil {
		src.Close()
		return nil, err
	}
	p.src = src
	return p, nil
}

func demoCmd(ctx context.Context, fs *flag.FlagSet, args []string) error {
	db := fs.String("db", "", "database file to create, or a postgres:// URL to load into (required)")
	rows := fs.Int("rows", demo.DefaultRows, "number of entries; the other tables scale with it")
	seed := fs.Int64("seed", demo.DefaultSeed, "random seed; the same seed gives the same data")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *db == "" {
		return usagef("--db is required")
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *rows < 1 {
		return usagef("--rows must be 1 or more, got %d", *rows)
	}
	if isPostgres(*db) {
		// COPY into the database; existing demo tables are replaced.
		start := time.Now()
		report, done := progress(os.Stderr, isTerminal(os.Stderr))
		err := postgres.Load(ctx, *db, demo.Tables(*rows, *seed), report)
		done()
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		fmt.Fprintf(os.Stderr, "loaded the demo into %s in %s\n", displayName(*db), time.Since(start).Round(100*time.Millisecond))
		return nil
	}
	if _, err := os.Stat(*db); err == nil {
		return fmt.Errorf("demo: %s exists; remove it first", *db)
	}
	return build(ctx, *db, *rows, *seed, os.Stderr)
}

// demoPath is where serve keeps the demo database: a file named by the
// demo's format version, so that a database an earlier folio built in
// another shape is never served with today's demo configuration.
func demoPath() (string, error) {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the demo database's directory: %w", err)
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "folio", fmt.Sprintf("demo-v%d.sqlite", demo.FormatVersion)), nil
}

// ensureDemo builds the default demo database unless it exists, telling
// msgs what it does. Demo databases of other format versions beside it,
// which only folio made and no folio of this version serves, are removed
// once the new one is built.
func ensureDemo(ctx context.Context, path string, msgs io.Writer) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create the demo database's directory: %w", err)
	}
	fmt.Fprintf(msgs, "building the demo database at %s (first run only)\n", path)
	if err := build(ctx, path, demo.DefaultRows, demo.DefaultSeed, msgs); err != nil {
		return err
	}
	for _, old := range staleDemos(path) {
		if err := os.Remove(old); err == nil {
			fmt.Fprintf(msgs, "removed %s, a demo database of another format\n", old)
		}
	}
	return nil
}

// staleDemos lists the demo databases of other format versions beside the
// current one at path (demo.sqlite, demo-vN.sqlite, with their WAL, shared
// memory and key files).
func staleDemos(path string) []string {
	dir := filepath.Dir(path)
	var out []string
	for _, pattern := range []string{"demo.sqlite*", "demo-v*.sqlite*"} {
		matches, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, m := range matches {
			if !strings.HasPrefix(filepath.Base(m), filepath.Base(path)) {
				out = append(out, m)
			}
		}
	}
	return out
}

// build writes the demo tables to a temporary file and renames it into
// place, so that an interrupted build never leaves a partial database that
// later runs would reuse. Progress goes to msgs.
func build(ctx context.Context, path string, rows int, seed int64, msgs io.Writer) error {
	tmp := path + ".building"
	for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm", tmp + "-journal"} {
		os.Remove(p)
	}
	start := time.Now()
	report, done := progress(os.Stderr, isTerminal(os.Stderr))
	err := sqlite.Load(ctx, tmp, demo.Tables(rows, seed), report)
	done()
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("build demo database: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("build demo database: %w", err)
	}
	fmt.Fprintf(msgs, "built %s in %s\n", path, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// progress shows a demo build's progress on w, one table after another,
// with the same meter as export and harvest: a bar per table on a
// terminal, else a line every few seconds and one as each table is done.
// done ends the last table.
func progress(w io.Writer, tty bool) (report func(table string, done, total int), done func()) {
	var m *meter
	var table string
	var n int64
	end := func() {
		if m == nil {
			return
		}
		m.finish(true, n)
		if !tty {
			fmt.Fprintf(w, "demo: %s done, %d rows\n", table, n)
		}
		m = nil
	}
	report = func(t string, rows, total int) {
		if t != table || m == nil {
			end()
			table, m = t, newMeter(w, tty, "demo: "+t, "rows")
		}
		n = int64(rows)
		m.set(n, int64(total))
	}
	return report, end
}

// tuneGC trades memory for throughput unless the environment says
// otherwise: folio's live heap is small (a page, a stream's buffers, the page
// cache), so Go's default target collects very often while rows stream;
// GOGC=400 collects a quarter as often (docs/BENCHMARKS.md has the figures),
// and a 1 GiB soft limit keeps a full page cache from growing the heap
// without bound. GOGC and GOMEMLIMIT, when set, win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}

// limits are the engine's limits: a flag given on the command line, else
// the configuration's, else the default.
func limits(cfg config.Limits, set map[string]bool, queryTimeout time.Duration, costly int) engine.Limits {
	l := engine.Limits{QueryTime: engine.DefaultQueryTime, Costly: engine.DefaultCostly()}
	switch {
	case set["query-timeout"]:
		l.QueryTime = queryTimeout
	case cfg.QueryTimeout != nil:
		l.QueryTime = *cfg.QueryTimeout
	}
	switch {
	case set["costly-queries"] && costly > 0:
		l.Costly = costly
	case cfg.CostlyQueries > 0:
		l.Costly = cfg.CostlyQueries
	}
	return l
}
