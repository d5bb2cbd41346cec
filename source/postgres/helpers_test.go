package postgres

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"folio/engine"
	"folio/internal/pgtest"
	"folio/server"
	"folio/source/conformance"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// newDB returns the URL of a fresh database after running stmts in it.
func newDB(t testing.TB, stmts ...string) string {
	t.Helper()
	url := pgtest.Start(t)
	w := writer(t, url)
	for _, s := range stmts {
		if _, err := w.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return url
}

// writer opens a pool of its own on url, as another program writing the
// database would.
func writer(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// openSource opens url as a source until the test ends, logging to the
// test's output unless opt says where.
func openSource(t testing.TB, url string, opt Options) *Source {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	s, err := Open(context.Background(), url, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func collection(t testing.TB, s *Source, name string) *engine.Collection {
	t.Helper()
	return conformance.Collection(t, s, name)
}

// dollars turns ? placeholders into PostgreSQL's $1, $2, ...
func dollars(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// settle waits until s.Version has seen every write committed through w so
// far, as it does within a poll interval, and returns the version.
func settle(t testing.TB, s *Source, w *pgxpool.Pool) uint64 {
	t.Helper()
	ctx := context.Background()
	var lsn string
	if err := w.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&lsn); err != nil {
		t.Fatal(err)
	}
	want, err := parseLSN(lsn)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := s.Version(ctx)
		if err == nil && v >= want {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("Version = %x, %v after 10s; want at least %x", v, err, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// replicaOf returns the URL on replica rep of the database that primary
// (a URL on rep's primary) names.
func replicaOf(t testing.TB, rep *pgtest.Server, primary string) string {
	t.Helper()
	u, err := url.Parse(primary)
	if err != nil {
		t.Fatal(err)
	}
	return rep.URL(strings.TrimPrefix(u.Path, "/"))
}

// serveHTTP serves src as `folio serve` does, with the page cache budget
// cache (0: the default, negative: off), on a real listener until the
// test ends, and returns the server.
func serveHTTP(t testing.TB, src engine.Source, cache int64) *httptest.Server {
	t.Helper()
	srv, err := server.New(server.Options{Engine: conformance.NewEngine(t, src), Logger: slog.New(slog.DiscardHandler), CacheBytes: cache})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// fetch GETs target from ts with the headers given as name, value pairs
// and returns the status and body.
func fetch(t testing.TB, ts *httptest.Server, target string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.URL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}
