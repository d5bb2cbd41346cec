package postgres

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"folio/engine"
	"folio/internal/pgtest"
	"folio/source/conformance"
)

// TestVersions holds the mapping from (timeline, WAL position) to version
// to its promise: within a timeline the version is the position moved by a
// constant, and a new timeline never yields a version returned before.
func TestVersions(t *testing.T) {
	type obs struct {
		tli  uint32
		pos  uint64
		want uint64
		new  bool
	}
	for _, tc := range []struct {
		name string
		seq  []obs
	}{
		{"one timeline: the position itself", []obs{{1, 100, 100, false}, {1, 250, 250, false}, {1, 250, 250, false}}},
		{"failover that lost nothing: the position itself", []obs{{1, 100, 100, false}, {2, 180, 180, true}, {2, 200, 200, false}}},
		{"failover behind the old position: past every version returned", []obs{
			{1, 100, 100, false}, {1, 500, 500, false}, {2, 300, 501, true}, {2, 400, 601, false}, {2, 500, 701, false}}},
		{"a late answer of the old timeline moves on again", []obs{
			{1, 500, 500, false}, {2, 300, 501, true}, {1, 500, 701, true}, {2, 310, 702, true}}},
		{"a standby promoted (recovery reports timeline 0)", []obs{{0, 500, 500, false}, {3, 400, 501, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v versions
			for i, o := range tc.seq {
				got, isNew := v.of(o.tli, o.pos)
				if got != o.want || isNew != o.new {
					t.Fatalf("step %d (timeline %d, position %d): version %d, new timeline %v; want %d, %v", i, o.tli, o.pos, got, isNew, o.want, o.new)
				}
			}
		})
	}
	for _, tc := range []struct {
		in   string
		want uint32
		ok   bool
	}{{"", 0, true}, {"00000001", 1, true}, {"0000001A", 26, true}, {"xyz", 0, false}, {"1000000000", 0, false}} {
		got, err := parseTimeline(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("parseTimeline(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestVersionAcrossFailover fails a primary over to its replica after
// writes the replica never received, as asynchronous replication loses
// them when the primary dies. The source reaches both through one
// multi-host URL that asks for the server accepting writes. The new
// primary's WAL position starts behind the versions the old one handed
// out; the source's version must still move forward (a repeated version
// would let the caches serve the lost data as current), and the totals it
// counts afterwards are the new primary's.
func TestVersionAcrossFailover(t *testing.T) {
	ctx := context.Background()
	const kept, lost = 100, 2000
	srv := pgtest.StartServer(t)
	u := srv.CreateDB(t)
	w := writer(t, u)
	if _, err := w.Exec(ctx, fmt.Sprintf(`CREATE TABLE items (id int8 PRIMARY KEY, name text NOT NULL);
		INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, %d) i`, kept)); err != nil {
		t.Fatal(err)
	}
	rep := srv.Replica(t)
	multi := failoverURL(t, u, rep.URL(dbName(t, u)))
	rconn, err := pgx.Connect(ctx, rep.URL(dbName(t, u)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rconn.Close(ctx) })

	src := openSource(t, multi, Options{VersionEveryCall: true}) // each Version is read after the write before it
	e := conformance.NewEngine(t, src)
	c, err := e.Collection("items")
	if err != nil {
		t.Fatal(err)
	}
	total := func() int64 {
		t.Helper()
		p, err := e.Page(ctx, c, engine.Query{}, engine.Window{Limit: 1}, engine.TotalExact)
		if err != nil {
			t.Fatalf("page: %v", err)
		}
		return p.Total.Count
	}

	// The replica has every kept row, then stops receiving WAL. (An insert
	// position may lie past a page header that replay never counts.)
	var primaryLSN string
	if err := w.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&primaryLSN); err != nil {
		t.Fatal(err)
	}
	want, err := parseLSN(primaryLSN)
	if err != nil {
		t.Fatal(err)
	}
	want = walLayout{block: 8192, segment: 16 << 20}.recordEnd(want)
	waitFor(t, "the replica to replay the kept rows", func() (bool, error) {
		var lsn string
		if err := rconn.QueryRow(ctx, `SELECT pg_last_wal_replay_lsn()::text`).Scan(&lsn); err != nil {
			return false, err
		}
		got, err := parseLSN(lsn)
		return got >= want, err
	})
	if _, err := rconn.Exec(ctx, `ALTER SYSTEM SET primary_conninfo = ''`); err != nil {
		t.Fatal(err)
	}
	if _, err := rconn.Exec(ctx, `SELECT pg_reload_conf()`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replica's WAL receiver to stop", func() (bool, error) {
		var n int
		err := rconn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_wal_receiver`).Scan(&n)
		return n == 0, err
	})

	if _, err := w.Exec(ctx, fmt.Sprintf(`INSERT INTO items SELECT i, 'lost ' || i FROM generate_series(%d, %d) i`, kept+1, kept+lost)); err != nil {
		t.Fatal(err)
	}
	if n := total(); n != kept+lost {
		t.Fatalf("total before the failover: %d, want %d", n, kept+lost)
	}
	before, err := src.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	rconn.Close(ctx)
	srv.Kill(t)
	rep.Promote(t)

	var after uint64
	waitFor(t, "the source to reach the new primary", func() (bool, error) {
		v, err := src.Version(ctx)
		after = v
		return err == nil, nil
	})
	nw := writer(t, rep.URL(dbName(t, u)))
	position := func() uint64 {
		t.Helper()
		var lsn string
		if err := nw.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&lsn); err != nil {
			t.Fatal(err)
		}
		p, err := parseLSN(lsn)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	behind := position()
	if behind >= before {
		t.Fatalf("the new primary's position %X is not behind the old one's %X: the test lost no WAL", behind, before)
	}
	if after <= before {
		t.Fatalf("version after the failover %X is not past the version before it %X (the new primary is at %X)", after, before, behind)
	}
	if n := total(); n != kept {
		t.Fatalf("total after the failover: %d, want %d (the lost rows are gone)", n, kept)
	}
	// Writes on the new primary carry its position back over the range the
	// old one handed out; the version keeps moving forward all the way.
	last := after
	for i := 0; position() <= before; i++ {
		if i == 1000 {
			t.Fatal("the new primary's position does not pass the old one's")
		}
		if _, err := nw.Exec(ctx, `INSERT INTO items SELECT id + 1000000, name FROM items WHERE id <= 100 ON CONFLICT DO NOTHING;
			DELETE FROM items WHERE id > 1000000`); err != nil {
			t.Fatal(err)
		}
		v, err := src.Version(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v <= last {
			t.Fatalf("version %X after a write on the new primary, not past %X", v, last)
		}
		last = v
	}
	t.Logf("old primary at %X, new primary started at %X; versions %X before, %X after the failover, %X once past", before, behind, before, after, last)
}

// failoverURL lists the hosts of primary and replica in one URL of
// primary's database that connects to whichever accepts writes.
func failoverURL(t testing.TB, primary, replica string) string {
	t.Helper()
	p, err := url.Parse(primary)
	if err != nil {
		t.Fatal(err)
	}
	r, err := url.Parse(replica)
	if err != nil {
		t.Fatal(err)
	}
	p.Host += "," + r.Host
	q := p.Query()
	q.Set("target_session_attrs", "read-write")
	p.RawQuery = q.Encode()
	return p.String()
}

func dbName(t testing.TB, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(p.Path, "/")
}

// waitFor polls cond every 50ms for up to 30 seconds.
func waitFor(t testing.TB, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
