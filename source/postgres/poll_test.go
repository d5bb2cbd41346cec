package postgres

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"folio/internal/pgtest"
)

// TestCacheHitsCostNoPrimaryQuery counts the transactions folio runs on
// the primary (pg_stat_database, read once folio's connections have closed
// and flushed their statistics) over a warm-up and 1000 cache hits. With
// Version polled in the background they are the polls and the warm-up's
// queries, however many hits; asking the primary on every call, as every
// request did before, costs at least one per hit, which shows that the
// count sees them.
func TestCacheHitsCostNoPrimaryQuery(t *testing.T) {
	const hits = 1000
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		opt      Options
		perHit   bool // every hit costs a primary query
		interval time.Duration
	}{
		{"polled", Options{PollInterval: DefaultPollInterval}, false, DefaultPollInterval},
		{"every call", Options{VersionEveryCall: true}, true, DefaultPollInterval},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := pgtest.Start(t)
			admin := adminConn(t, db)
			setup, err := pgx.Connect(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := setup.Exec(ctx, `CREATE TABLE items (id int8 PRIMARY KEY, name text NOT NULL);
				INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 100) i`); err != nil {
				t.Fatal(err)
			}
			setup.Close(ctx)
			before := transactions(t, admin, db)

			start := time.Now()
			src, err := Open(ctx, db, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { src.Close() })
			counted := &queryCounter{Source: src}
			ts := serveHTTP(t, counted, 0)
			const page = "/v1/items?sort=-id&limit=20"
			if status, body := fetch(t, ts, page); status != http.StatusOK {
				t.Fatalf("%d %s", status, body)
			}
			queries := counted.queries.Load()
			for range hits {
				if status, body := fetch(t, ts, page); status != http.StatusOK {
					t.Fatalf("%d %s", status, body)
				}
			}
			// The WAL is the whole server's: another test's writes, a
			// checkpoint or autovacuum move it, and a page read under the
			// old version is read again. Those are rare; more means the
			// cache is not keyed as it should be.
			if misses := counted.queries.Load() - queries; misses > hits/100 {
				t.Fatalf("%d of %d requests were not cache hits", misses, hits)
			} else if misses > 0 {
				t.Logf("%d of %d requests read again after the server's WAL moved", misses, hits)
			}
			ts.Close()
			src.Close()
			lifetime := time.Since(start)
			n := transactions(t, admin, db) - before
			// The source's life: the polls, and a few dozen statements of
			// discovery, the first poll and the warm-up page.
			bound := int64(lifetime/tt.interval) + 1 + 40
			t.Logf("%s: %d cache hits in %s cost %d transactions on the primary", tt.name, hits, lifetime.Round(time.Millisecond), n)
			if tt.perHit && n < hits {
				t.Errorf("asking on every call: %d transactions for %d hits; the count misses them", n, hits)
			}
			if !tt.perHit && n > bound {
				t.Errorf("%d transactions on the primary for %d cache hits in %s; want at most %d (the polls and the warm-up)", n, hits, lifetime, bound)
			}
		})
	}
}

// adminConn connects to the postgres database of the server that db is on,
// so that reading statistics adds no transaction to db's.
func adminConn(t testing.TB, db string) *pgx.Conn {
	t.Helper()
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/postgres"
	c, err := pgx.Connect(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// transactions waits until no connection to db is left, each having
// flushed its statistics as it ended, and returns how many transactions
// db has committed and rolled back.
func transactions(t testing.TB, admin *pgx.Conn, db string) int64 {
	t.Helper()
	ctx := context.Background()
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	name := u.Path[1:]
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var open int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, name).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections to %s left after 10s", open, name)
		}
	}
	var n int64
	if err := admin.QueryRow(ctx, `SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
