// Command folio publishes SQL datasets over HTTP.
//
//	folio serve [--db PATH] [--config FILE] [--addr 127.0.0.1:8080] [--secret S]
//	folio demo --db PATH [--rows N] [--seed S]
//	folio export [--db PATH] [--config FILE] --collection NAME [--format ndjson|csv|json]
//	             [--out FILE] [--sort S] [--fields F] [--filter 'field[op]=v']... [--limit N]
//	folio harvest URL [--dialect auto|native|nomad|copernica|jsonapi|gocdb|link] [--out FILE.ndjson|FILE.csv]
//	             [--checkpoint FILE] [--page-size N] [--max N] [--data BODY] [--rate R]
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

	"folio/config"
	"folio/demo"
	"folio/engine"
	"folio/secret"
	"folio/server"
	"folio/source/postgres"
	"folio/source/sqlite"
)

const usage = `usage:
  folio serve [--db PATH] [--config FILE] [--addr 127.0.0.1:8080] [--secret S]
  folio demo --db PATH [--rows N] [--seed S]
  folio export [--db PATH] [--config FILE] --collection NAME [--format ndjson|csv|json]
               [--out FILE] [--sort S] [--fields F] [--filter 'field[op]=v']... [--limit N]
  folio harvest URL [--dialect auto|native|nomad|copernica|jsonapi|gocdb|link] [--out FILE.ndjson|FILE.csv]
               [--checkpoint FILE] [--page-size N] [--max N] [--data BODY] [--rate R]
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, os.Args[2:])
	case "demo":
		err = demoCmd(ctx, os.Args[2:])
	case "export":
		err = exportCmd(ctx, os.Args[2:])
	case "harvest":
		err = harvestCmd(ctx, os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "folio: unknown command %q\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "folio:", err)
		os.Exit(1)
	}
}

func serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	db := fs.String("db", "", "SQLite file or postgres:// URL to publish (default: the demo database, built on first run)")
	schemas := fs.String("schema", "public", "PostgreSQL schemas to publish, comma-separated")
	var replicas listFlag
	fs.Var(&replicas, "replica", "postgres:// URL of a read replica that page reads go to (repeatable; the primary answers when a replica cannot)")
	replicaTimeout := fs.Duration("replica-timeout", postgres.DefaultReplicaTimeout,
		"how long a read waits for a replica to start answering, connecting included, before it reads the primary; the replica then leaves rotation until a background probe finds it answering")
	poll := fs.Duration("poll-interval", postgres.DefaultPollInterval,
		"how often the PostgreSQL primary's WAL position is read to learn of writes: the page cache and exact totals see a write within this; 0 asks the primary on every request")
	cfgPath := fs.String("config", "", "configuration file (YAML)")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	sec := fs.String("secret", "", "cursor signing key, at least 16 bytes (default: $FOLIO_SECRET, else a key file beside a SQLite database)")
	queryTimeout := fs.Duration("query-timeout", engine.DefaultQueryTime, "longest a page, record or count may run (and an export until its first row); 0 for no limit (default: the config's limits.query_timeout, else 5s)")
	costly := fs.Int("costly-queries", 0, "how many costly queries (exact counts, exports, deep offsets, heavy filters) run at once (default: the config's limits.costly_queries, else half the CPUs)")
	edge := addEdgeFlags(fs)
	fs.Parse(args)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	pg := postgres.Options{Schemas: schemaList(*schemas), Replicas: replicas, ReplicaTimeout: *replicaTimeout,
		PollInterval: *poll, VersionEveryCall: *poll == 0}
	p, err := open(ctx, *db, *cfgPath, pg, os.Stdout, log)
	if err != nil {
		return err
	}
	defer p.src.Close()
	if *sec == "" {
		*sec = os.Getenv("FOLIO_SECRET")
	}
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
	e, err := engine.New(p.src, signer, p.cols, engine.WithLimits(limits(cfg.Limits, set, *queryTimeout, *costly)))
	if err != nil {
		return err
	}
	o := server.Options{Engine: e, Mounts: cfg.MountList(), Logger: log,
		RateLimit: cfg.Limits.RateLimit, CollectionRates: cfg.CollectionRates()}
	if err := edge.apply(&o, p.cfg); err != nil {
		return err
	}
	srv, err := server.New(o)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
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
	return srv.Serve(ctx, ln)
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

func demoCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	db := fs.String("db", "", "database file to create, or a postgres:// URL to load into (required)")
	rows := fs.Int("rows", demo.DefaultRows, "number of entries; the other tables scale with it")
	seed := fs.Int64("seed", demo.DefaultSeed, "random seed; the same seed gives the same data")
	fs.Parse(args)
	if *db == "" {
		fs.Usage()
		return errors.New("demo: --db is required")
	}
	if isPostgres(*db) {
		// COPY into the database; existing demo tables are replaced.
		start := time.Now()
		report, done := progress(os.Stdout)
		err := postgres.Load(ctx, *db, demo.Tables(*rows, *seed), report)
		done()
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		fmt.Printf("loaded the demo into %s in %s\n", displayName(*db), time.Since(start).Round(100*time.Millisecond))
		return nil
	}
	if _, err := os.Stat(*db); err == nil {
		return fmt.Errorf("demo: %s exists; remove it first", *db)
	}
	return build(ctx, *db, *rows, *seed, os.Stdout)
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
	report, done := progress(msgs)
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

// progress prints one line per table, rewritten in place as it fills;
// done ends the last line.
func progress(w io.Writer) (report func(table string, done, total int), done func()) {
	cur, last := "", -1
	end := func() {
		if cur != "" {
			fmt.Fprintln(w)
			cur = ""
		}
	}
	report = func(table string, n, total int) {
		if table != cur {
			end()
			cur, last = table, -1
		}
		pct := -1
		if total > 0 {
			pct = n * 100 / total
		}
		if pct == last && pct >= 0 {
			return
		}
		last = pct
		if pct < 0 {
			fmt.Fprintf(w, "\r  %-10s %d rows", table, n)
		} else {
			fmt.Fprintf(w, "\r  %-10s %3d%% (%d rows)", table, pct, n)
		}
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
