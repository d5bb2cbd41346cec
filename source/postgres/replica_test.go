package postgres

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"folio/engine"
	"folio/internal/pgtest"
	"folio/source/conformance"
)

// TestReplicas runs a source against a primary and a real streaming
// replica. Pausing the replica's replay tells the two apart: pages come
// from the replica, exact totals from whichever is fresh enough, and once
// the replica is stopped everything comes from the primary without errors.
func TestReplicas(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.StartServer(t)
	u := srv.CreateDB(t)
	w := writer(t, u)
	exec := func(sql string) {
		t.Helper()
		if _, err := w.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`CREATE TABLE items (id int8 PRIMARY KEY, name text NOT NULL);
		INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 100) i`)
	rep := srv.Replica(t)
	db, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	repURL := rep.URL(strings.TrimPrefix(db.Path, "/"))
	var rconn *pgx.Conn
	connect := func() {
		t.Helper()
		c, err := pgx.Connect(ctx, repURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(ctx) })
		rconn = c
	}
	connect()

	src := openSource(t, u, Options{Replicas: []string{repURL}})
	e := conformance.NewEngine(t, src)
	c, err := e.Collection("items")
	if err != nil {
		t.Fatal(err)
	}
	// page returns how many rows a page of up to 1000 holds and its exact total.
	page := func() (int, int64) {
		t.Helper()
		p, err := e.Page(ctx, c, engine.Query{}, engine.Window{Limit: 1000}, engine.TotalExact)
		if err != nil {
			t.Fatalf("page: %v", err)
		}
		return len(p.Rows), p.Total.Count
	}
	// catchUp waits until the replica has replayed every version handed out.
	catchUp := func() {
		t.Helper()
		if _, err := src.Version(ctx); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := src.caughtUp(ctx, src.replicas[0].pool)
			if err == nil {
				return
			}
			if err != errLagging || time.Now().After(deadline) {
				t.Fatalf("replica does not catch up: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	replay := func(on bool) {
		t.Helper()
		f := "pg_wal_replay_pause"
		if on {
			f = "pg_wal_replay_resume"
		}
		if _, err := rconn.Exec(ctx, "SELECT "+f+"()"); err != nil {
			t.Fatal(err)
		}
	}

	if src.wal.segment < 1<<20 || src.wal.segment%src.wal.block != 0 {
		t.Fatalf("WAL layout %+v: the segment size is not in bytes", src.wal)
	}
	catchUp()
	if n, total := page(); n != 100 || total != 100 {
		t.Fatalf("caught up: %d rows, total %d; want 100, 100", n, total)
	}

	// The replica stops short of these rows: the page shows the replica's
	// data, the total, counted after Version moved past the replica, the
	// primary's.
	replay(false)
	exec(`INSERT INTO items SELECT i, 'item ' || i FROM generate_series(101, 110) i`)
	settle(t, src, w)
	if n, total := page(); n != 100 || total != 110 {
		t.Fatalf("replica paused: %d rows, total %d; want 100 from the replica and 110 from the primary", n, total)
	}
	gt0, err := engine.Conds(c, []engine.Filter{{Field: "id", Op: engine.OpGt, Values: []engine.Value{int64(0)}}})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := src.Estimate(ctx, c, gt0); err != nil || n <= 0 {
		t.Fatalf("estimate = %d, %v", n, err)
	}

	// A replica that has replayed every version handed out counts, even
	// when the primary has moved on since.
	replay(true)
	catchUp()
	replay(false)
	exec(`INSERT INTO items SELECT i, 'item ' || i FROM generate_series(111, 120) i`)
	if n, err := src.Count(ctx, c, nil); err != nil || n != 110 {
		t.Fatalf("count on a replica that has every handed-out version = %d, %v; want 110 from the replica", n, err)
	}

	// The caller's error comes back as it is, and says nothing about the
	// replica.
	stop := errors.New("enough")
	err = src.Query(ctx, &engine.Plan{Collection: c, Columns: c.Fields}, func(engine.Row) error { return stop })
	if err != stop || !src.replicas[0].up.Load() || src.replicas[0].outs.Load() != 0 {
		t.Fatalf("emit failing: %v, replica in rotation %v, taken out %d times; want %v, true, 0",
			err, src.replicas[0].up.Load(), src.replicas[0].outs.Load(), stop)
	}

	// A stopped replica: reads fall back to the primary, first when the
	// replica's connections break, then while it is out of rotation, also
	// after a probe has found it refusing connections.
	rep.Stop(t)
	for i := range 3 {
		if i == 2 {
			time.Sleep(firstProbe + 100*time.Millisecond)
		}
		if n, total := page(); n != 120 || total != 120 {
			t.Fatalf("replica stopped, page %d: %d rows, total %d; want 120, 120", i, n, total)
		}
		if n, err := src.Count(ctx, c, nil); err != nil || n != 120 {
			t.Fatalf("replica stopped, count %d = %d, %v; want 120", i, n, err)
		}
	}

	if h := src.Health(ctx)[1]; h.Up || h.Outs != 1 || h.Err == nil {
		t.Fatalf("replica stopped: health %+v; want down, taken out once, with the error", h)
	}

	// Back again, the replica serves pages once a probe finds it answering.
	rep.Start(t)
	connect()
	for deadline := time.Now().Add(maxProbe + 5*time.Second); !src.replicas[0].up.Load(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the replica is not back in rotation after %s", maxProbe+5*time.Second)
		}
	}
	catchUp()
	replay(false)
	exec(`INSERT INTO items SELECT i, 'item ' || i FROM generate_series(121, 130) i`)
	settle(t, src, w)
	if n, total := page(); n != 120 || total != 130 {
		t.Fatalf("replica back and paused: %d rows, total %d; want 120 from the replica and 130 from the primary", n, total)
	}
}
