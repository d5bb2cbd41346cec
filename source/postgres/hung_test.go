package postgres

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"folio/internal/pgtest"
	"folio/server"
	"folio/source/conformance"
)

// logBuffer is a log's output that tests read while the source writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestHungReplica points a replica at a server that accepts connections
// and never answers. The first page waits at most the replica timeout and
// is read from the primary; the replica leaves rotation, so the pages
// after it cost a primary read; it is logged once however often the
// background probe finds it still hung, and readiness says the node is
// degraded and which database is down, with the counts. Never a 500 nor a
// hang, with or without the page cache, and with the driver's own
// connect_timeout in the replica's URL, whose deadline is not the
// client's.
func TestHungReplica(t *testing.T) {
	url := newDB(t, `CREATE TABLE items (id int8 PRIMARY KEY, name text NOT NULL);
		INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 200) i`)
	addr := pgtest.Hung(t)
	for _, tt := range []struct {
		name    string
		query   string        // of the replica's URL
		timeout time.Duration // the replica timeout
		waits   time.Duration // what the first page waits for the replica
		cache   int64
	}{
		{"cache off", "sslmode=disable", 500 * time.Millisecond, 500 * time.Millisecond, -1},
		{"cache on", "sslmode=disable", 500 * time.Millisecond, 500 * time.Millisecond, 0},
		// The driver's own deadline ends the connection attempt first.
		{"connect_timeout in the URL, cache off", "sslmode=disable&connect_timeout=1", 5 * time.Second, time.Second, -1},
		{"connect_timeout in the URL, cache on", "sslmode=disable&connect_timeout=1", 5 * time.Second, time.Second, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logBuffer{}
			log := slog.New(slog.NewTextHandler(logs, nil))
			src := openSource(t, url, Options{Replicas: []string{"postgres://postgres@" + addr + "/hung?" + tt.query},
				ReplicaTimeout: tt.timeout, Logger: log})
			srv, err := server.New(server.Options{Engine: conformance.NewEngine(t, src), Logger: log, CacheBytes: tt.cache})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(srv.Handler())
			defer ts.Close()
			client := &http.Client{Timeout: 20 * time.Second}
			get := func(target string) (int, string, time.Duration) {
				t.Helper()
				start := time.Now()
				resp, err := client.Get(ts.URL + target)
				if err != nil {
					t.Fatalf("%s: %v after %s", target, err, time.Since(start))
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.StatusCode, string(body), time.Since(start)
			}
			// The bound leaves a primary read plenty of room on a loaded
			// machine; the hang it guards against is unbounded.
			status, body, took := get("/v1/items?limit=10")
			if status != http.StatusOK || took > tt.waits+time.Second {
				t.Fatalf("first page: %d in %s; want 200 within %s for the replica and a primary read: %.200s", status, took, tt.waits, body)
			}
			t.Logf("first page, replica hung: %s (waiting for the replica at most %s)", took.Round(time.Millisecond), tt.waits)
			for i := range 5 {
				status, body, took := get(fmt.Sprintf("/v1/items?limit=10&offset=%d", 10*(i+1)))
				if status != http.StatusOK || took > 250*time.Millisecond {
					t.Fatalf("page %d after the replica left rotation: %d in %s; want 200 as fast as a primary read: %.200s", i+2, status, took, body)
				}
			}
			// Probes find it hung again, which is no change to log.
			time.Sleep(firstProbe + tt.waits + 200*time.Millisecond)
			if n := strings.Count(logs.String(), "replica out of rotation"); n != 1 {
				t.Errorf("the replica leaving rotation is logged %d times, want once:\n%s", n, logs)
			}
			status, body, _ = get("/readyz")
			if status != http.StatusOK || !strings.HasPrefix(body, "degraded: replica "+addr+" down\n") ||
				!strings.Contains(body, "out of rotation 1 times, 1 reads fell back to the primary") {
				t.Errorf("readiness: %d %q; want 200, degraded, the replica down and its counts", status, body)
			}
		})
	}
}

// TestReplicaWithoutTheDatabase: a replica that answers but refuses the
// connection (here: it lacks the database) is a failing replica like one
// that is down: the page is read from the primary, and the replica leaves
// rotation.
func TestReplicaWithoutTheDatabase(t *testing.T) {
	u := newDB(t, `CREATE TABLE items (id int8 PRIMARY KEY);
		INSERT INTO items SELECT generate_series(1, 20)`)
	wrong, err := neturl.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	wrong.Path = "/no_such_database"
	src := openSource(t, u, Options{Replicas: []string{wrong.String()}})
	ts := serveHTTP(t, src, -1)
	for i := range 3 {
		if status, body := fetch(t, ts, fmt.Sprintf("/v1/items?limit=5&offset=%d", i)); status != http.StatusOK {
			t.Fatalf("page %d: %d %s", i, status, body)
		}
	}
	if h := src.Health(t.Context())[1]; h.Up || h.Outs != 1 || h.Fallbacks != 1 || !strings.Contains(fmt.Sprint(h.Err), "no_such_database") {
		t.Errorf("replica health %+v; want down, out once after one fallback, saying why", h)
	}
}
