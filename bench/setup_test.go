// Package bench measures folio on the 1M-row demo database: keyset depth,
// HTTP throughput beside a bare net/http baseline, and full harvests. Every
// figure is reported beside a baseline measured in the same run, since the
// machines here are noisy. See docs/BENCHMARKS.md.
package bench

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"folio/config"
	"folio/demo"
	"folio/engine"
	"folio/internal/demodb"
	"folio/internal/demotest"
	"folio/internal/pgtest"
	"folio/server"
	"folio/source/postgres"
	"folio/source/sqlite"
)

// demoDB returns the path of a demo database with FOLIO_BENCH_ROWS entries
// (default 1,000,000), building it once under the temp directory, or the
// file FOLIO_BENCH_DB names.
func demoDB(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("FOLIO_BENCH_DB"); p != "" {
		return p
	}
	rows := benchRows(tb)
	path := filepath.Join(os.TempDir(), "folio-bench-"+strconv.Itoa(rows)+".sqlite")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	// A file of this process's own: two benchmark runs that build at the
	// same moment must not write one file, and the rename makes whichever
	// finishes last the one that stays, whole either way.
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".building-*")
	if err != nil {
		tb.Fatal(err)
	}
	tmp := f.Name()
	f.Close()
	os.Remove(tmp)
	defer os.Remove(tmp)
	tb.Logf("building %s (%d entries)", path, rows)
	if err := sqlite.Load(context.Background(), tmp, demo.Tables(rows, demo.DefaultSeed), nil); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
	return path
}

// stack is folio as `folio serve` wires it, over the demo database.
type stack struct {
	src *sqlite.Source
	eng *engine.Engine
	srv *server.Server
}

func newStack(tb testing.TB, path string) *stack { return newStackCache(tb, path, 0) }

// newStackCache is newStack with the page cache budget set (negative: off).
func newStackCache(tb testing.TB, path string, cacheBytes int64) *stack {
	tb.Helper()
	return newStackWith(tb, path, cacheBytes, sqlite.Options{})
}

// newStackWith is newStackCache with the SQLite source's options.
func newStackWith(tb testing.TB, path string, cacheBytes int64, opt sqlite.Options) *stack {
	tb.Helper()
	src, err := sqlite.Open(context.Background(), path, opt)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { src.Close() })
	eng, srv := serve(tb, src, cacheBytes)
	return &stack{src: src, eng: eng, srv: srv}
}

// serve builds the engine and server `folio serve` would over src: the
// demo configuration, every dialect mounted, one signing key for every
// node, the page cache budget set (negative: off).
func serve(tb testing.TB, src engine.Source, cacheBytes int64) (*engine.Engine, *server.Server) {
	tb.Helper()
	cfg := config.Demo()
	e := demodb.NewEngine(tb, src, cfg)
	return e, demotest.NewServer(tb, e, cfg.MountList(), cacheBytes)
}

// postgresDemo starts a PostgreSQL server, loads the demo dataset of
// benchRows entries into a database of it with COPY, and returns the
// database's URL.
func postgresDemo(tb testing.TB) string {
	tb.Helper()
	pg := pgtest.StartServer(tb)
	url := pg.CreateDB(tb)
	start := time.Now()
	rows := benchRows(tb)
	if err := postgres.Load(context.Background(), url, demo.Tables(rows, demo.DefaultSeed), nil); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("loaded %d entries (and the other tables) into PostgreSQL with COPY in %s", rows, time.Since(start).Round(time.Second))
	return url
}

// postgresSource opens url as a source until the benchmark ends.
func postgresSource(tb testing.TB, url string) *postgres.Source {
	tb.Helper()
	src, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { src.Close() })
	return src
}

// listen serves h on a random loopback port until the test ends and
// returns its base URL.
func listen(tb testing.TB, h http.Handler) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.Serve(ln) }()
	tb.Cleanup(func() { s.Close(); wg.Wait() })
	return "http://" + ln.Addr().String()
}

// benchRows is the demo size: FOLIO_BENCH_ROWS entries, default 1,000,000.
func benchRows(tb testing.TB) int {
	s := os.Getenv("FOLIO_BENCH_ROWS")
	if s == "" {
		return demo.DefaultRows
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		tb.Fatalf("FOLIO_BENCH_ROWS=%q: want a positive number", s)
	}
	return n
}
