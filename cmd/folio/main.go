// Command folio publishes SQL datasets over HTTP.
//
//	folio serve [--db PATH] [--config FILE] [--addr 127.0.0.1:8080] [--secret S]
//	folio demo --db PATH [--rows N] [--seed S]
//
// With no --db, serve publishes the demo database, building it on first run
// at $XDG_DATA_HOME/folio/demo.sqlite (~/.local/share/folio/demo.sqlite).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"folio/config"
	"folio/demo"
	"folio/engine"
	"folio/secret"
	"folio/server"
	"folio/source/sqlite"
)

const usage = `usage:
  folio serve [--db PATH] [--config FILE] [--addr 127.0.0.1:8080] [--secret S]
  folio demo --db PATH [--rows N] [--seed S]
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, os.Args[2:])
	case "demo":
		err = demoCmd(ctx, os.Args[2:])
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
	db := fs.String("db", "", "SQLite database to publish (default: the demo database, built on first run)")
	cfgPath := fs.String("config", "", "configuration file (YAML)")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	sec := fs.String("secret", "", "cursor signing key, at least 16 bytes (default: $FOLIO_SECRET, else a key file beside the database)")
	fs.Parse(args)

	isDemo := *db == ""
	var cfg *config.Config
	if isDemo {
		path, err := demoPath()
		if err != nil {
			return err
		}
		*db = path
		if err := ensureDemo(ctx, path); err != nil {
			return err
		}
		cfg = config.Demo()
	}
	if *cfgPath != "" {
		var err error
		if cfg, err = config.Load(*cfgPath); err != nil {
			return err
		}
	}
	if *sec == "" {
		*sec = os.Getenv("FOLIO_SECRET")
	}
	key, err := secret.Load(*sec, secret.FilePath(*db))
	if err != nil {
		return err
	}
	signer, err := engine.NewSigner(key)
	if err != nil {
		return err
	}

	src, err := sqlite.Open(ctx, *db, sqlite.Options{})
	if err != nil {
		return err
	}
	defer src.Close()
	found, err := src.Collections(ctx)
	if err != nil {
		return err
	}
	cols, err := config.Apply(found, cfg)
	if err != nil {
		return err
	}
	e, err := engine.New(src, signer, cols)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv, err := server.New(server.Options{Engine: e, Mounts: cfg.MountList(), Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	base := "http://" + ln.Addr().String() + cfg.NativeMount().Path
	fmt.Printf("folio is serving %s on http://%s\ntry:\n  curl '%s'\n", *db, ln.Addr(), base)
	if isDemo {
		fmt.Printf("  curl '%s/entries?limit=5&sort=-upload_create_time'\n", base)
	} else if len(cols) > 0 {
		fmt.Printf("  curl '%s/%s?limit=5'\n", base, e.Collections()[0].Name)
	}
	return srv.Serve(ctx, ln)
}

func demoCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	db := fs.String("db", "", "database file to create (required)")
	rows := fs.Int("rows", demo.DefaultRows, "number of entries; the other tables scale with it")
	seed := fs.Int64("seed", demo.DefaultSeed, "random seed; the same seed gives the same data")
	fs.Parse(args)
	if *db == "" {
		fs.Usage()
		return errors.New("demo: --db is required")
	}
	if _, err := os.Stat(*db); err == nil {
		return fmt.Errorf("demo: %s exists; remove it first", *db)
	}
	return build(ctx, *db, *rows, *seed)
}

// demoPath is where serve keeps the demo database.
func demoPath() (string, error) {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the demo database's directory: %w", err)
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "folio", "demo.sqlite"), nil
}

// ensureDemo builds the default demo database unless it exists.
func ensureDemo(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create the demo database's directory: %w", err)
	}
	fmt.Printf("building the demo database at %s (first run only)\n", path)
	return build(ctx, path, demo.DefaultRows, demo.DefaultSeed)
}

// build writes the demo tables to a temporary file and renames it into
// place, so that an interrupted build never leaves a partial database that
// later runs would reuse.
func build(ctx context.Context, path string, rows int, seed int64) error {
	tmp := path + ".building"
	for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm", tmp + "-journal"} {
		os.Remove(p)
	}
	start := time.Now()
	report, done := progress()
	err := sqlite.Load(ctx, tmp, demo.Tables(rows, seed), report)
	done()
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("build demo database: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("build demo database: %w", err)
	}
	fmt.Printf("built %s in %s\n", path, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// progress prints one line per table, rewritten in place as it fills;
// done ends the last line.
func progress() (report func(table string, done, total int), done func()) {
	cur, last := "", -1
	end := func() {
		if cur != "" {
			fmt.Println()
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
			fmt.Printf("\r  %-10s %d rows", table, n)
		} else {
			fmt.Printf("\r  %-10s %3d%% (%d rows)", table, pct, n)
		}
	}
	return report, end
}
