// Package scaleout tests folio scaled out: two stateless nodes sharing a
// signing key behind nginx, over a PostgreSQL primary and a streaming
// replica, losing a node and then the replica in the middle of a harvest.
package scaleout

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"folio/dataset"
	"folio/engine"
	"folio/internal/nginxtest"
	"folio/internal/pgtest"
	"folio/server"
	"folio/source/conformance"
	"folio/source/postgres"
)

// countingListener counts the connections a node accepts, to show that
// nginx spreads requests over both nodes.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// node is one folio process: its own pool on the primary and the replica,
// its own engine with the shared signing key, its own port.
type node struct {
	addr     string
	accepted atomic.Int64
	stop     func()
}

func startNode(t *testing.T, key []byte, primary, replica string) *node {
	t.Helper()
	ctx := context.Background()
	var opt postgres.Options
	if replica != "" {
		opt.Replicas = []string{replica}
	}
	src, err := postgres.Open(ctx, primary, opt)
	if err != nil {
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
	n := &node{addr: ln.Addr().String()}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, countingListener{ln, &n.accepted}) }()
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("node %s: Serve: %v", n.addr, err)
			}
			src.Close()
		})
	}
	t.Cleanup(n.stop)
	return n
}

// page is the native envelope, with only what the harvest needs.
type page struct {
	Data []struct {
		ID int64 `json:"id"`
	} `json:"data"`
	Links map[string]string `json:"links"`
}

// get fetches one page as a client that follows HTTP would: it retries a
// 503 that carries Retry-After, after the time it names, a bounded number
// of times, and nothing else. A 502 or a 503 without Retry-After is a
// failure: nginx's own answers must never reach a client.
func get(client *http.Client, link string) (page, int, error) {
	var p page
	retries := 0
	for {
		resp, err := client.Get(link)
		if err != nil {
			return p, retries, fmt.Errorf("GET %s: %w", link, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return p, retries, fmt.Errorf("GET %s: read body: %w", link, err)
		}
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(body, &p); err != nil {
				return p, retries, fmt.Errorf("GET %s: %v: %s", link, err, body)
			}
			return p, retries, nil
		}
		wait, ok := retryAfter(resp, body)
		if !ok {
			return p, retries, fmt.Errorf("GET %s: %d (Retry-After %q) %s", link, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		if retries == 20 {
			return p, retries, fmt.Errorf("GET %s: still 503 after %d retries: %s", link, retries, body)
		}
		retries++
		time.Sleep(wait)
	}
}

// retryAfter reports whether resp is folio's answer for a database that
// cannot answer now, a 503 with Retry-After in seconds and the native
// error code unavailable, and the wait it asks for.
func retryAfter(resp *http.Response, body []byte) (time.Duration, bool) {
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
		!strings.Contains(string(body), `"code":"unavailable"`) {
		return 0, false
	}
	n, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || n < 0 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// TestScaleOut harvests a collection through nginx, which round-robins
// over two folio nodes reading from a replica, while another connection
// inserts rows on the primary. A third of the way through one node stops,
// two thirds through the replica: the harvest carries on (a cursor issued
// by one node is continued by the other; reads fall back to the primary)
// and holds every row that existed at the start exactly once, in order.
func TestScaleOut(t *testing.T) {
	ctx := context.Background()
	const rows, limit = 3000, 50
	rng := mrand.New(mrand.NewPCG(11, 29))
	tb := conformance.RandomTable(rng, "items", rows, conformance.IntKey)
	o := conformance.NewOracle(tb)

	pg := pgtest.StartServer(t)
	primary := pg.CreateDB(t)
	if err := postgres.Load(ctx, primary, []*dataset.Table{tb}, nil); err != nil {
		t.Fatal(err)
	}
	rep := pg.Replica(t)
	u, err := url.Parse(primary)
	if err != nil {
		t.Fatal(err)
	}
	replica := rep.URL(strings.TrimPrefix(u.Path, "/"))

	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	a := startNode(t, key, primary, replica)
	b := startNode(t, key, primary, replica)
	base := nginxtest.Start(t, a.addr, b.addr)

	// The writer inserts rows with ids the table does not hold, in random
	// order, so that they land all over the harvest.
	original := map[int64]bool{}
	for _, r := range o.Rows {
		original[r[0].(int64)] = true
	}
	var fresh []int64
	for id := int64(-rows); id < 2*rows; id++ {
		if !original[id] {
			fresh = append(fresh, id)
		}
	}
	rng.Shuffle(len(fresh), func(i, j int) { fresh[i], fresh[j] = fresh[j], fresh[i] })
	w, err := pgxpool.New(ctx, primary)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	wctx, stopWriter := context.WithCancel(ctx)
	var inserted atomic.Int64
	var wg sync.WaitGroup
	// Cleanups run last first: the writer stops before its pool closes,
	// also when the test fails early.
	t.Cleanup(func() { stopWriter(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, id := range fresh {
			if wctx.Err() != nil {
				return
			}
			_, err := w.Exec(wctx, `INSERT INTO items (id, t) VALUES ($1, $2)`, id, time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))
			if err != nil {
				if wctx.Err() == nil {
					t.Errorf("insert %d: %v", id, err)
				}
				return
			}
			inserted.Add(1)
			time.Sleep(time.Millisecond)
		}
	}()

	client := &http.Client{Timeout: 30 * time.Second}
	want := o.Keys(o.Select(nil, engine.Sort{{Field: "id"}}))
	expected := len(want) / limit
	var got []int64
	seen := map[int64]int{}
	link := base + "/v1/items?sort=id&limit=" + fmt.Sprint(limit)
	retried := 0
	stoppedNode, stoppedReplica := false, false
	for pages := 0; link != ""; pages++ {
		if pages > (rows+len(fresh))/limit+2 {
			t.Fatal("the harvest does not end")
		}
		if !stoppedNode && pages >= expected/3 {
			a.stop()
			stoppedNode = true
		}
		if !stoppedReplica && pages >= 2*expected/3 {
			rep.Stop(t)
			stoppedReplica = true
		}
		p, r, err := get(client, link)
		retried += r
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		for _, row := range p.Data {
			seen[row.ID]++
			if len(got) > 0 && row.ID <= got[len(got)-1] {
				t.Fatalf("page %d: id %d after %d", pages, row.ID, got[len(got)-1])
			}
			got = append(got, row.ID)
		}
		next := p.Links["next"]
		if next != "" && !strings.HasPrefix(next, base+"/") {
			t.Fatalf("page %d: next link %s does not point at nginx %s", pages, next, base)
		}
		link = next
	}
	stopWriter()
	wg.Wait()
	if !stoppedNode || !stoppedReplica {
		t.Fatalf("the harvest ended before both stops (node %v, replica %v)", stoppedNode, stoppedReplica)
	}

	var gotOriginal []engine.Value
	for _, id := range got {
		if original[id] {
			gotOriginal = append(gotOriginal, id)
		}
	}
	for i := range min(len(gotOriginal), len(want)) {
		if engine.Compare(gotOriginal[i], want[i]) != 0 {
			t.Fatalf("row %d is %v, want %v (%d original rows, want %d)", i, gotOriginal[i], want[i], len(gotOriginal), len(want))
		}
	}
	if len(gotOriginal) != len(want) {
		t.Fatalf("%d original rows, want %d", len(gotOriginal), len(want))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("id %d seen %d times", id, n)
		}
	}
	if inserted.Load() == 0 {
		t.Error("the writer inserted nothing during the harvest")
	}
	if a.accepted.Load() == 0 || b.accepted.Load() == 0 {
		t.Errorf("nginx did not use both nodes: %d and %d connections", a.accepted.Load(), b.accepted.Load())
	}
	t.Logf("%d rows (%d inserted during the harvest, %d of them seen), %d client retries, connections: node A %d, node B %d",
		len(got), inserted.Load(), len(got)-len(gotOriginal), retried, a.accepted.Load(), b.accepted.Load())
}
