package scaleout

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"folio/dataset"
	"folio/engine"
	"folio/internal/nginxtest"
	"folio/internal/pgtest"
	"folio/source/conformance"
	"folio/source/postgres"
)

// loadItems creates a table "items" of n random rows in a new database of
// pg and returns the database's URL and the ids in key order.
func loadItems(t *testing.T, pg *pgtest.Server, seed uint64, n int) (string, []int64) {
	t.Helper()
	tb := conformance.RandomTable(mrand.New(mrand.NewPCG(seed, 29)), "items", n, conformance.IntKey)
	url := pg.CreateDB(t)
	if err := postgres.Load(context.Background(), url, []*dataset.Table{tb}, nil); err != nil {
		t.Fatal(err)
	}
	o := conformance.NewOracle(tb)
	var ids []int64
	for _, k := range o.Keys(o.Select(nil, engine.Sort{{Field: "id"}})) {
		ids = append(ids, k.(int64))
	}
	return url, ids
}

func newKey(t *testing.T) []byte {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return key
}

// TestNginxLinksOnAnyPort runs `folio harvest` against nginx on a random
// port (never 80) in front of two nodes: every next link must lead back to
// nginx on that port, so the harvest holds every row once, in order. With
// `proxy_set_header Host $host` the links lost the port and the harvest
// stopped after the first page.
func TestNginxLinksOnAnyPort(t *testing.T) {
	pg := pgtest.StartServer(t)
	primary, ids := loadItems(t, pg, 5, 700)
	key := newKey(t)
	a := startNode(t, key, primary, "")
	b := startNode(t, key, primary, "")
	base := nginxtest.Start(t, a.addr, b.addr)
	if strings.HasSuffix(base, ":80") {
		t.Fatalf("nginx listens on port 80 (%s): the test needs another port", base)
	}

	out := filepath.Join(t.TempDir(), "items.ndjson")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, folioBin(t), "harvest", base+"/v1/items?sort=id", "--page-size", "50",
		"--retries", "2", "--timeout", "10s", "--out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("folio harvest through nginx at %s: %v\n%s", base, err, msg)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("record %d: %v: %s", len(got), err, sc.Bytes())
		}
		got = append(got, r.ID)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Fatalf("harvested %d records through nginx, want %d", len(got), len(ids))
	}
	for i := range ids {
		if got[i] != ids[i] {
			t.Fatalf("record %d is id %d, want %d", i, got[i], ids[i])
		}
	}
	if a.accepted.Load() == 0 || b.accepted.Load() == 0 {
		t.Errorf("nginx did not use both nodes: %d and %d connections", a.accepted.Load(), b.accepted.Load())
	}
}

// TestNginxDatabaseOutage stops PostgreSQL behind two nodes and nginx. For
// the whole outage every client request must get folio's own 503, JSON
// with Retry-After, never nginx's 502; once PostgreSQL is back the very
// first requests must be pages. With `proxy_next_upstream … http_503` and
// max_fails=1 nginx took both nodes out at the first 503s and answered its
// own HTML 502 until fail_timeout ran out, after the recovery too.
func TestNginxDatabaseOutage(t *testing.T) {
	pg := pgtest.StartServer(t)
	primary, ids := loadItems(t, pg, 7, 300)
	key := newKey(t)
	a := startNode(t, key, primary, "")
	b := startNode(t, key, primary, "")
	base := nginxtest.Start(t, a.addr, b.addr)
	client := &http.Client{Timeout: 30 * time.Second}

	// Each request asks for rows no earlier request asked for, so that no
	// page cache can answer it and every one needs the database.
	n := 0
	request := func() (*http.Response, []byte) {
		t.Helper()
		n++
		resp, err := client.Get(fmt.Sprintf("%s/v1/items?sort=id&limit=5&id[gte]=%d", base, ids[n%len(ids)]-int64(n/len(ids))))
		if err != nil {
			t.Fatalf("request %d: %v", n, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("request %d: %v", n, err)
		}
		return resp, body
	}
	page := func(when string) {
		t.Helper()
		resp, body := request()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: request %d: %d (Retry-After %q, Content-Type %q), want a page:\n%s", when, n,
				resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"), body)
		}
	}
	for range 4 {
		page("before the outage")
	}

	pg.Stop(t)
	// Long enough for nginx to try every node more than once, and past
	// the first fail_timeout the old configuration started.
	start := time.Now()
	unavailable := 0
	for time.Since(start) < 3*time.Second {
		resp, body := request()
		if _, ok := retryAfter(resp, body); !ok {
			t.Fatalf("during the outage, after %s: request %d: %d (Retry-After %q, Content-Type %q), want folio's 503 with Retry-After:\n%s",
				time.Since(start).Round(time.Millisecond), n, resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"), body)
		}
		unavailable++
		time.Sleep(50 * time.Millisecond)
	}
	pg.Start(t)
	for range 6 {
		page("right after the database came back")
	}
	t.Logf("%d requests during the outage, each folio's 503 with Retry-After; pages at once after it", unavailable)
}
