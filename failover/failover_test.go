// Package failover tests folio across a failover of its PostgreSQL
// primary managed by Patroni: the primary's machine dies in the middle of
// a harvest, Patroni promotes the replica, and folio, which reaches the
// cluster through one multi-host URL, serves from the new primary without
// a restart while the harvest goes on from its cursor.
package failover

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"folio/client"
	"folio/dataset"
	"folio/engine"
	"folio/internal/patronitest"
	"folio/server"
	"folio/source/conformance"
	"folio/source/postgres"
)

// answer is one response a client saw.
type answer struct {
	url        string
	status     int
	retryAfter string
	code       string // the native error code, for an error
	err        error  // no response at all
}

// recorder passes requests on and keeps every answer, so that the test
// sees what the harvest client retried away.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []answer
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	a := answer{url: req.URL.String(), err: err}
	if err == nil {
		a.status, a.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
		if resp.StatusCode != http.StatusOK {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr != nil {
				a.err = rerr
			}
			var e struct{ Error struct{ Code string } }
			_ = json.Unmarshal(body, &e)
			a.code = e.Error.Code
			resp.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
	r.mu.Lock()
	r.seen = append(r.seen, a)
	r.mu.Unlock()
	return resp, err
}

func (r *recorder) answers() []answer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// serve runs one folio node on db, as `folio serve --db URL` does, with the
// page cache on, and returns its base URL and its source.
func serve(t *testing.T, db string) (string, *postgres.Source) {
	t.Helper()
	ctx := context.Background()
	src, err := postgres.Open(ctx, db, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	signer, err := engine.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := src.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(src, signer, cols)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Engine: e, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String(), src
}

// envelope is the native page, with what the test reads.
type envelope struct {
	Data []struct {
		ID int64 `json:"id"`
	} `json:"data"`
	Page struct {
		Total *int64 `json:"total"`
	} `json:"page"`
}

// TestPatroniFailover harvests a collection through folio while a writer
// inserts rows, and kills the primary's machine (Patroni and PostgreSQL,
// SIGKILL) halfway. Patroni promotes the replica once the dead leader's
// lease runs out; folio notices through its multi-host URL
// (target_session_attrs=read-write) without a restart. The harvest, by
// folio's client package, goes on from its cursor: every row that existed
// throughout appears exactly once and in order, and every answer any
// client got was a page or folio's 503 with Retry-After. Afterwards a
// cached page and a cached total read before the failover are not served
// again: both match the new primary. It logs the time from the kill to
// the first good page.
func TestPatroniFailover(t *testing.T) {
	ctx := context.Background()
	const rows, limit = 3000, 50
	cluster := patronitest.Start(t, 2)
	old := cluster.Primary(t)
	db := cluster.CreateDB(t, "folio")
	rng := mrand.New(mrand.NewPCG(8, 11))
	tb := conformance.RandomTable(rng, "items", rows, conformance.IntKey)
	if err := postgres.Load(ctx, db, []*dataset.Table{tb}, nil); err != nil {
		t.Fatal(err)
	}
	cluster.WaitReplayed(t)
	w, err := pgxpool.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	want := ids(t, w, "SELECT id FROM items ORDER BY id")
	if len(want) != rows {
		t.Fatalf("%d rows loaded, want %d", len(want), rows)
	}
	original := map[int64]bool{}
	for _, id := range want {
		original[id] = true
	}

	base, src := serve(t, db)
	rec := &recorder{next: http.DefaultTransport.(*http.Transport).Clone()}
	hc := &http.Client{Transport: rec, Timeout: 30 * time.Second}
	first := base + "/v1/items?sort=id&limit=" + fmt.Sprint(limit)
	totalURL := base + "/v1/items?limit=1&total=exact"
	get := func(link string) envelope {
		t.Helper()
		resp, err := hc.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v %s", link, resp.StatusCode, err, body)
		}
		var e envelope
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("GET %s: %v", link, err)
		}
		return e
	}
	// Both are now in the page cache (and the count in the totals cache),
	// filed under the old primary's version.
	get(first)
	get(totalURL)

	// The writer inserts ids the table does not hold, in random order, and
	// goes on through the failover as an application would: it retries
	// until the new primary takes the write.
	var fresh []int64
	for id := int64(-rows); id < 2*rows; id++ {
		if !original[id] {
			fresh = append(fresh, id)
		}
	}
	rng.Shuffle(len(fresh), func(i, j int) { fresh[i], fresh[j] = fresh[j], fresh[i] })
	wctx, stopWriter := context.WithCancel(ctx)
	var inserted atomic.Int64
	var acked struct {
		sync.Mutex
		ids []int64 // inserts whose commit returned
	}
	// The writer pauses between two inserts when it receives a channel on
	// pause, until that channel is closed.
	pause := make(chan chan struct{})
	writerDone := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { stopWriter(); wg.Wait() })
	wg.Go(func() {
		defer close(writerDone)
		for _, id := range fresh {
			for wctx.Err() == nil {
				select {
				case resume := <-pause:
					select {
					case <-resume:
					case <-wctx.Done():
						return
					}
				default:
				}
				_, err := w.Exec(wctx, `INSERT INTO items (id, t) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))
				if err == nil {
					inserted.Add(1)
					acked.Lock()
					acked.ids = append(acked.ids, id)
					acked.Unlock()
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if wctx.Err() != nil {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	})

	// probe asks folio for a page every 100 ms from the kill on, without
	// waiting as Retry-After asks, to time when folio serves again; direct
	// times the same read by a plain PostgreSQL client on the same URL,
	// the baseline: when the new primary answers at all.
	var killedAt time.Time
	var probed, answered atomic.Int64 // nanoseconds after the kill
	probe := func() {
		for {
			resp, err := hc.Get(base + "/v1/items?sort=-id&limit=1")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					probed.Store(int64(time.Since(killedAt)))
					return
				}
			}
			if time.Since(killedAt) > 2*time.Minute {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	direct := func() {
		for time.Since(killedAt) < 2*time.Minute {
			conn, err := pgx.Connect(ctx, db)
			if err == nil {
				var id int64
				err = conn.QueryRow(ctx, "SELECT id FROM items ORDER BY id DESC LIMIT 1").Scan(&id)
				conn.Close(ctx)
				if err == nil {
					answered.Store(int64(time.Since(killedAt)))
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	cl := client.New(client.Options{HTTPClient: hc, MaxRetries: 200, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	cp, err := client.Start(client.Request{URL: first}, client.Native, limit)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	seen := map[int64]int{}
	var resumed time.Duration // from the kill to the harvest's next page
	var version, versionAtKill uint64
	var resumeWriter chan struct{}
	pages := 0
	for p, err := range cl.Pages(ctx, cp) {
		if err != nil {
			t.Fatalf("harvest, page %d: %v", pages+1, err)
		}
		pages++
		if !killedAt.IsZero() && resumed == 0 {
			resumed = time.Since(killedAt)
		}
		// The version never goes back, across the failover too.
		v, err := src.Version(ctx)
		if err != nil {
			t.Fatalf("version after page %d: %v", pages, err)
		}
		if v < version {
			t.Fatalf("version %X after page %d, before it %X (at the kill %X)", v, pages, version, versionAtKill)
		}
		version = v
		if resumeWriter != nil && resumed != 0 {
			close(resumeWriter) // the new primary's first version is checked
			resumeWriter = nil
		}
		for _, raw := range p.Records {
			var row struct{ ID int64 }
			if err := json.Unmarshal(raw, &row); err != nil {
				t.Fatal(err)
			}
			if len(got) > 0 && row.ID <= got[len(got)-1] {
				t.Fatalf("page %d: id %d after %d", pages, row.ID, got[len(got)-1])
			}
			seen[row.ID]++
			got = append(got, row.ID)
		}
		if pages == rows/limit/2 {
			// Asynchronous replication loses what the primary had not sent
			// when it died: holding its WAL senders back while the writer
			// goes on makes sure there is such WAL, so that the new
			// primary starts behind the versions folio has handed out.
			holdWALSenders(t, old)
			time.Sleep(300 * time.Millisecond)
			// The writer waits until folio has served from the new
			// primary, so that the new primary's first version is
			// compared before new writes carry it past the old one's.
			resumeWriter = make(chan struct{})
			select {
			case pause <- resumeWriter:
			case <-writerDone:
				t.Fatal("the writer ended before the failover")
			}
			if versionAtKill, err = src.Version(ctx); err != nil {
				t.Fatal(err)
			}
			version = versionAtKill
			killedAt = time.Now()
			old.Kill(t)
			wg.Go(probe)
			wg.Go(direct)
		}
	}
	stopWriter()
	wg.Wait()
	if killedAt.IsZero() || resumed == 0 {
		t.Fatalf("the harvest of %d pages ended before the failover", pages)
	}
	// Commits the new primary does not have, as the test meant.
	lost := 0
	acked.Lock()
	for _, id := range acked.ids {
		var ok bool
		if err := w.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM items WHERE id = $1)", id).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		if !ok {
			lost++
		}
	}
	acked.Unlock()
	if lost == 0 {
		t.Error("the failover lost no commit: the WAL senders were not held back")
	}

	now := cluster.Primary(t)
	if now == old {
		t.Fatalf("%s still leads after it was killed", old.Name)
	}
	if tl := now.Timeline(t); tl < 2 {
		t.Fatalf("new primary %s on timeline %d: it was not promoted", now.Name, tl)
	}
	var gotOriginal []int64
	for _, id := range got {
		if original[id] {
			gotOriginal = append(gotOriginal, id)
		}
	}
	if !slices.Equal(gotOriginal, want) {
		t.Fatalf("%d of the %d original rows harvested, or out of order", len(gotOriginal), len(want))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("id %d seen %d times", id, n)
		}
	}

	// Every answer was a page or folio's 503 with Retry-After, and the
	// failover was seen.
	unavailable := 0
	for _, a := range rec.answers() {
		switch {
		case a.err != nil:
			t.Errorf("GET %s: %v", a.url, a.err)
		case a.status == http.StatusOK:
		case a.status == http.StatusServiceUnavailable && a.retryAfter != "" && a.code == "unavailable":
			unavailable++
		default:
			t.Errorf("GET %s: %d, Retry-After %q, code %q; want 200, or 503 with Retry-After and unavailable", a.url, a.status, a.retryAfter, a.code)
		}
	}
	if unavailable == 0 {
		t.Error("no client saw a 503 while no primary was up: the kill did not reach the harvest")
	}

	// The page and the total cached before the failover are not served
	// again: they match the new primary, which now holds a row that sorts
	// first.
	if _, err := w.Exec(ctx, `INSERT INTO items (id, t) VALUES ($1, $2)`, -rows-1, time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := w.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if tot := get(totalURL).Page.Total; tot == nil || *tot != n {
		t.Errorf("total after the failover %v, want %d (the new primary's count)", tot, n)
	}
	head := ids(t, w, "SELECT id FROM items ORDER BY id LIMIT $1", limit)
	var page []int64
	for _, d := range get(first).Data {
		page = append(page, d.ID)
	}
	if !slices.Equal(page, head) {
		t.Errorf("first page after the failover %v, want the new primary's %v", page, head)
	}
	if resumed > patronitest.TTL+30*time.Second {
		t.Errorf("the harvest went on %v after the kill, want within the leader's TTL (%v) and 30 s", resumed, patronitest.TTL)
	}
	if answered.Load() == 0 || probed.Load() == 0 {
		t.Errorf("within 2 minutes of the kill: the new primary answered %v, folio served a page %v", answered.Load() != 0, probed.Load() != 0)
	}
	plain, served := time.Duration(answered.Load()), time.Duration(probed.Load())
	t.Logf("killed %s after page %d, %s promoted; from the kill, each polling every 100 ms: the new primary answered a plain client after %v, folio served a page after %v (ratio %.2f); the harvest's next page came after %v (honouring Retry-After); %d answers 503, %d pages, %d rows (%d inserted during the harvest, %d of them lost with the old primary); version %X at the kill, %X at the end",
		old.Name, rows/limit/2, now.Name, plain.Round(time.Millisecond), served.Round(time.Millisecond), float64(served)/float64(plain),
		resumed.Round(time.Millisecond), unavailable, pages, len(got), inserted.Load(), lost, versionAtKill, version)
}

// holdWALSenders stops the member's WAL sender processes (SIGSTOP), so
// that what it writes from now on reaches no replica.
func holdWALSenders(t *testing.T, m *patronitest.Member) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, m.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT pid FROM pg_stat_replication")
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil || len(pids) == 0 {
		t.Fatalf("WAL senders of %s: %v %v", m.Name, pids, err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(int(pid), syscall.SIGSTOP); err != nil {
			t.Fatalf("stop WAL sender %d: %v", pid, err)
		}
	}
}

// ids runs a query of one int8 column on p and returns its values.
func ids(t *testing.T, p *pgxpool.Pool, sql string, args ...any) []int64 {
	t.Helper()
	rows, err := p.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return out
}
