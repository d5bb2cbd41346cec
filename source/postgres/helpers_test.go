package postgres

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"folio/engine"
	"folio/internal/pgtest"
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

func openSource(t testing.TB, url string, opt Options) *Source {
	t.Helper()
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
