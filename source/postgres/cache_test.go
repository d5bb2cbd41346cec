package postgres

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"folio/engine"
	"folio/internal/pgtest"
)

// TestCacheFollowsLaggingReplica holds the page cache to its promise on a
// real primary and a streaming replica that applies commits a while late
// (recovery_min_apply_delay): a cached page never differs from what the
// same request reads now, once the replica has replayed what the primary
// holds. Each round inserts a row that sorts first and asks for the first
// page while the replica still lacks it, which reads the replica's older
// data; once the replica has the row, the cached answer must show it too,
// exactly as an uncached read (Cache-Control: no-cache) does, without
// waiting for the primary's WAL position to move again.
func TestCacheFollowsLaggingReplica(t *testing.T) {
	const delay = time.Second
	ctx := context.Background()
	srv := pgtest.StartServer(t)
	u := srv.CreateDB(t)
	w := writer(t, u)
	if _, err := w.Exec(ctx, `CREATE TABLE items (id int8 PRIMARY KEY, name text NOT NULL);
		INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1000, 1049) i`); err != nil {
		t.Fatal(err)
	}
	rep := srv.Replica(t)
	repURL := replicaOf(t, rep, u)
	rconn, err := pgx.Connect(ctx, repURL)
	if err != nil {
		t.Fatal(err)
	}
	defer rconn.Close(ctx)
	for _, sql := range []string{fmt.Sprintf("ALTER SYSTEM SET recovery_min_apply_delay = '%dms'", delay.Milliseconds()), "SELECT pg_reload_conf()"} {
		if _, err := rconn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	src := openSource(t, u, Options{Replicas: []string{repURL}})
	counted := &queryCounter{Source: src}
	ts := serveHTTP(t, counted, 0)

	// caughtUp waits until the replica has replayed everything the
	// primary has written.
	caughtUp := func() {
		t.Helper()
		settle(t, src, w)
		for deadline := time.Now().Add(delay + 10*time.Second); ; time.Sleep(20 * time.Millisecond) {
			err := src.caughtUp(ctx, src.replicas[0].pool)
			if err == nil {
				return
			}
			if err != errLagging || time.Now().After(deadline) {
				t.Fatalf("the replica does not catch up: %v", err)
			}
		}
	}
	const page = "/v1/items?sort=id&limit=5"
	caughtUp()
	for round := range 4 {
		id := 999 - round
		if _, err := w.Exec(ctx, `INSERT INTO items VALUES ($1, 'new')`, id); err != nil {
			t.Fatal(err)
		}
		// Until the replica applies the insert, pages read there lack it:
		// asked again and again, as clients do, the page gets cached.
		settle(t, src, w)
		lagged := false
		for start := time.Now(); time.Since(start) < delay/2; time.Sleep(50 * time.Millisecond) {
			status, body := fetch(t, ts, page)
			if status != http.StatusOK {
				t.Fatalf("round %d: %d %s", round, status, body)
			}
			lagged = lagged || !strings.Contains(body, fmt.Sprintf(`"id":%d`, id))
		}
		if !lagged {
			t.Fatalf("round %d: the replica had the row at once; recovery_min_apply_delay does not hold it back", round)
		}
		caughtUp()
		_, fresh := fetch(t, ts, page, "Cache-Control", "no-cache")
		if !strings.Contains(fresh, fmt.Sprintf(`"id":%d`, id)) {
			t.Fatalf("round %d: an uncached read after the replica caught up lacks row %d: %s", round, id, fresh)
		}
		_, cached := fetch(t, ts, page)
		if cached != fresh {
			t.Fatalf("round %d: the cache answers a page the replica no longer holds:\ncached: %s\nread now: %s", round, cached, fresh)
		}
	}

	// A page read from a replica known to hold the version is kept.
	time.Sleep(3 * DefaultPollInterval)
	fetch(t, ts, page)
	n := counted.queries.Load()
	if _, body := fetch(t, ts, page); counted.queries.Load() != n {
		t.Errorf("a page read from a replica that has caught up is not cached: %s", body)
	}
}

// queryCounter counts the page queries that reach the real source.
type queryCounter struct {
	engine.Source
	queries atomic.Int64
}

func (q *queryCounter) Query(ctx context.Context, p *engine.Plan, emit func(engine.Row) error) error {
	q.queries.Add(1)
	return q.Source.Query(ctx, p, emit)
}
