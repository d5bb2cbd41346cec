package native

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"folio/dataset"
	"folio/engine"
	"folio/export"
	"folio/internal/golden"
	"folio/internal/heappeak"
	"folio/source/sqlite"
)

// TestExportGolden pins status, headers and bytes of each export format
// over items, whose values hold quotes, newlines, unicode, NULLs, floats
// with exponents and JSON arrays (commas inside a CSV cell).
func TestExportGolden(t *testing.T) {
	h := newHandler(t)
	tests := []struct{ name, target string }{
		{"export_ndjson", "/v1/items.ndjson"},
		{"export_csv", "/v1/items.csv"},
		{"export_json", "/v1/items.json"},
		{"export_query", "/v1/items.csv?sort=-score&fields=name,tags&active=true&limit=3"},
		{"export_empty_json", "/v1/items.json?name=nope"},
		{"export_empty_csv", "/v1/items.csv?name=nope"},
		{"export_unkeyed", "/v1/events.ndjson?sort=-n"},
		{"export_error", "/v1/items.csv?cursor=abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(h, tt.target)
			golden.Assert(t, tt.name, golden.Response{Method: r.method, Target: r.target, Status: r.status, Header: r.header, Body: r.body}.Bytes())
		})
	}
}

// TestExportSameAsCommand: the endpoint writes the bytes package export
// writes (what folio export runs) for the same query.
func TestExportSameAsCommand(t *testing.T) {
	e := newEngine(t, testSecret)
	h := New(e, Options{Path: "/v1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, f := range export.Formats {
		for _, q := range []string{"", "sort=-score,name", "fields=tags,score&tags[any]=Fe,Ti", "created[gte]=2024-03-01T13:00:00Z&sort=-created&limit=2"} {
			vs, err := url.ParseQuery(q)
			if err != nil {
				t.Fatal(err)
			}
			limit := 0
			if vs.Has("limit") {
				fmt.Sscan(vs.Get("limit"), &limit)
				vs.Del("limit")
			}
			c, _ := e.Collection("items")
			query, err := ParseQuery(c, vs)
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if _, err := export.Write(context.Background(), e, export.Request{Collection: c, Query: query, Format: f, Limit: limit}, &want); err != nil {
				t.Fatal(err)
			}
			r := get(h, "/v1/items."+string(f)+"?"+q)
			if r.status != 200 || !bytes.Equal(r.body, want.Bytes()) {
				t.Errorf("%s ?%s: status %d\n%s\nwant\n%s", f, q, r.status, r.body, want.Bytes())
			}
			if ct := r.header.Get("Content-Type"); ct != f.ContentType() {
				t.Errorf("%s: Content-Type %q", f, ct)
			}
		}
	}
}

// TestExportRouting: {collection}.{format} exports, unless a collection has
// that very name; a dotted collection's export takes a second suffix.
func TestExportRouting(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dots.sqlite")
	table := func(name string, n int) *dataset.Table {
		return &dataset.Table{
			Name: name, Key: []string{"id"}, Len: n,
			Columns: []dataset.Column{{Name: "id", Type: engine.TypeInt}},
			Rows: func(yield func([]engine.Value) bool) {
				for i := range n {
					if !yield([]engine.Value{int64(i + 1)}) {
						return
					}
				}
			},
		}
	}
	if err := sqlite.Load(ctx, path, []*dataset.Table{table("items", 2), table("items.csv", 3)}, nil); err != nil {
		t.Fatal(err)
	}
	h := New(openEngine(t, path, nil), Options{Path: "/v1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	tests := []struct {
		method, target string
		status         int
		contentType    string
		body           string // a prefix
	}{
		{"GET", "/v1/items.csv", 200, "application/json", `{"data":[{"id":1},{"id":2},{"id":3}]`},
		{"GET", "/v1/items.csv.csv", 200, "text/csv; charset=utf-8", "id\r\n1\r\n2\r\n3\r\n"},
		{"GET", "/v1/items.ndjson", 200, "application/x-ndjson", "{\"id\":1}\n{\"id\":2}\n"},
		{"GET", "/v1/items.json", 200, "application/json", "[\n{\"id\":1},\n{\"id\":2}\n]\n"},
		{"GET", "/v1/items.csv.json", 200, "application/json", "[\n{\"id\":1},"},
		{"HEAD", "/v1/items.ndjson", 200, "application/x-ndjson", ""},
		{"GET", "/v1/items.xml", 404, "application/json", `{"error":{"status":404,"code":"not_found","message":"no collection named \"items.xml\""}}`},
		{"GET", "/v1/nope.csv", 404, "application/json", `{"error":{"status":404`},
		{"GET", "/v1/.csv", 404, "application/json", `{"error":{"status":404`},
		{"GET", "/v1/items.ndjson/1", 404, "application/json", `{"error":{"status":404`},
		{"POST", "/v1/items.ndjson", 405, "application/json", `{"error":{"status":405`},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
		if rec.Code != tt.status || rec.Header().Get("Content-Type") != tt.contentType || !strings.HasPrefix(rec.Body.String(), tt.body) {
			t.Errorf("%s %s: %d %q\n%s\nwant %d %q\n%s", tt.method, tt.target, rec.Code, rec.Header().Get("Content-Type"), rec.Body, tt.status, tt.contentType, tt.body)
		}
		if tt.method == "HEAD" && rec.Body.Len() != 0 {
			t.Errorf("HEAD %s has a body", tt.target)
		}
	}
}

// TestExportBadInput: what a page refuses an export refuses, in the native
// error shape, before any byte of the export; so are the paging
// parameters, which an export does not take.
func TestExportBadInput(t *testing.T) {
	h := newHandler(t)
	tests := []struct {
		query, param, msg string
	}{
		{"fields=name,nope", "fields", `unknown field "nope"`},
		{"fields=", "fields", "empty"},
		{"sort=nope", "sort", `unknown field "nope"`},
		{"sort=tags", "sort", "not sortable"},
		{"sort=", "sort", "empty"},
		{"nmae=alpha", "nmae", "unknown parameter"},
		{"score[about]=1", "score[about]", "unknown operator"},
		{"score[gt]=high", "score[gt]", "not a finite number"},
		{"tags=Ti", "tags", "JSON array"},
		{"cursor=abc", "cursor", "takes no cursor"},
		{"offset=10", "offset", "takes no offset"},
		{"total=exact", "total", "takes no total"},
		{"limit=0", "limit", "1 or more"},
		{"limit=-5", "limit", "1 or more"},
		{"limit=ten", "limit", "1 or more"},
		{"limit=1&limit=2", "limit", "once"},
		{"name=%zz", "name", "malformed"},
		{strings.Repeat("id[ne]=0&", engine.MaxConditions+1), "id[ne]", "more than"},
	}
	for _, f := range export.Formats {
		for _, tt := range tests {
			target := "/v1/items." + string(f) + "?" + tt.query
			r := get(h, target)
			if r.status != 400 {
				t.Errorf("%s: status %d: %s", target, r.status, r.body)
				continue
			}
			var e errorBody
			if err := json.Unmarshal(r.body, &e); err != nil {
				t.Errorf("%s: not the native error shape: %s", target, r.body)
				continue
			}
			if e.Error.Status != 400 || e.Error.Code != "invalid_parameter" || e.Error.Parameter != tt.param || !strings.Contains(e.Error.Message, tt.msg) {
				t.Errorf("%s: %+v, want parameter %q and a message with %q", target, e.Error, tt.param, tt.msg)
			}
			if ct, cd := r.header.Get("Content-Type"), r.header.Get("Content-Disposition"); ct != "application/json" || cd != "" {
				t.Errorf("%s: Content-Type %q, Content-Disposition %q", target, ct, cd)
			}
		}
	}
}

// TestExportLimit: limit caps an export at any size, beyond a page's maximum.
func TestExportLimit(t *testing.T) {
	h := New(openEngine(t, bigDB(t, 3000), nil), Options{Path: "/v1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, tt := range []struct {
		query string
		lines int
	}{{"", 3000}, {"limit=2500", 2500}, {"limit=1", 1}, {"limit=99999", 3000}, {"id[gt]=2990&limit=5", 5}} {
		r := get(h, "/v1/big.ndjson?"+tt.query)
		if n := bytes.Count(r.body, []byte("\n")); r.status != 200 || n != tt.lines {
			t.Errorf("?%s: status %d, %d lines, want %d", tt.query, r.status, n, tt.lines)
		}
	}
}

// bigDB writes a SQLite file with the table big (id INTEGER PRIMARY KEY,
// name, score) of n rows. SQLite generates the rows itself: loading a
// million rows from Go would take most of a minute under the race
// detector.
func bigDB(t testing.TB, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "big.sqlite")
	// The driver is registered by source/sqlite; this test only names it.
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{
		`CREATE TABLE big (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL)`,
		fmt.Sprintf(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < %d)
			INSERT INTO big SELECT i, 'row ' || i, CASE WHEN i %% 7 = 0 THEN NULL ELSE i * 0.25 END FROM s`, n),
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// openEngine opens the SQLite file at path as an engine over all its
// tables, its source wrapped by wrap when not nil.
func openEngine(t testing.TB, path string, wrap func(engine.Source) engine.Source) *engine.Engine {
	t.Helper()
	ctx := context.Background()
	real, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Close() })
	var src engine.Source = real
	if wrap != nil {
		src = wrap(real)
	}
	cols, err := src.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := engine.NewSigner([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(src, signer, cols)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// watchedSource is a real source whose queries are watched: started is
// closed at the first row, ended receives what Query returned, rows counts
// the rows delivered. After the first row each row waits delay, as from a
// slow query; failAfter > 0 makes the query fail after that many rows, and
// failAfter < 0 before the first.
type watchedSource struct {
	engine.Source
	delay     time.Duration
	failAfter int
	once      sync.Once
	started   chan struct{}
	ended     chan error
	rows      atomic.Int64
}

var errBroken = errors.New("disk I/O error")

func watch(delay time.Duration, failAfter int) *watchedSource {
	return &watchedSource{delay: delay, failAfter: failAfter, started: make(chan struct{}), ended: make(chan error, 1)}
}

func (s *watchedSource) Query(ctx context.Context, plan *engine.Plan, emit func(engine.Row) error) error {
	if s.failAfter < 0 {
		s.ended <- errBroken
		return errBroken
	}
	err := s.Source.Query(ctx, plan, func(r engine.Row) error {
		n := s.rows.Add(1)
		if n == 1 {
			s.once.Do(func() { close(s.started) })
		} else if s.delay > 0 {
			time.Sleep(s.delay)
		}
		if s.failAfter > 0 && n > int64(s.failAfter) {
			return errBroken
		}
		return emit(r)
	})
	s.ended <- err
	return err
}

func (s *watchedSource) wrap(src engine.Source) engine.Source { s.Source = src; return s }

// TestExportChunked: over a real connection the export comes with chunked
// transfer encoding and no Content-Length, whole.
func TestExportChunked(t *testing.T) {
	const n = 20000
	srv := httptest.NewServer(New(openEngine(t, bigDB(t, n), nil), Options{Path: "/v1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()
	for _, f := range export.Formats {
		resp, err := http.Get(srv.URL + "/v1/big." + string(f) + "?sort=-score")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if resp.StatusCode != 200 || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" || resp.ContentLength != -1 || resp.Header.Get("Content-Length") != "" {
			t.Errorf("%s: status %d, transfer encoding %v, content length %d %q", f, resp.StatusCode, resp.TransferEncoding, resp.ContentLength, resp.Header.Get("Content-Length"))
		}
		want := n
		if f == export.CSV {
			want++ // the header row
		}
		if f == export.JSON {
			want += 2 // the brackets' lines
		}
		if got := bytes.Count(body, []byte("\n")); got != want {
			t.Errorf("%s: %d lines, want %d", f, got, want)
		}
	}
}

// TestExportSourceErrors: a failure before the first byte is a native
// error response; a failure after it breaks the transfer, so that the
// client cannot mistake a short export for a whole one.
func TestExportSourceErrors(t *testing.T) {
	path := bigDB(t, 50000)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	before := watch(0, -1)
	srv := httptest.NewServer(New(openEngine(t, path, before.wrap), Options{Path: "/v1", Logger: log}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/big.csv")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), `"code":"unavailable"`) || resp.Header.Get("Content-Disposition") != "" {
		t.Errorf("failure before the first byte: %d %v %s", resp.StatusCode, resp.Header, body)
	}

	after := watch(0, 40000)
	srv2 := httptest.NewServer(New(openEngine(t, path, after.wrap), Options{Path: "/v1", Logger: log}))
	defer srv2.Close()
	for _, f := range export.Formats {
		resp, err := http.Get(srv2.URL + "/v1/big." + string(f))
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s: failure after %d bytes: status %d, read error %v, want a broken transfer", f, n, resp.StatusCode, err)
		}
		<-after.ended
		after.rows.Store(0)
	}
}

// TestExportClientDisconnect: a client that goes away mid-export stops the
// query at once: the failed write, or the cancelled request context, ends
// the source's query long before its rows run out.
func TestExportClientDisconnect(t *testing.T) {
	const n = 100000
	obs := watch(200*time.Microsecond, 0) // the whole export would take 20 s or more
	srv := httptest.NewServer(New(openEngine(t, bigDB(t, n), obs.wrap), Options{Path: "/v1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /v1/big.ndjson?sort=-score HTTP/1.1\r\nHost: folio\r\n\r\n")
	select {
	case <-obs.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the query did not start")
	}
	// Read until rows arrive, so that the export has begun on the wire.
	br := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the export: %v", err)
		}
		if strings.Contains(line, `"id":`) {
			break
		}
	}
	closed := time.Now()
	conn.Close()
	select {
	case err := <-obs.ended:
		if took := time.Since(closed); took > 2*time.Second {
			t.Errorf("the query ended %v after the client left", took)
		}
		if err == nil {
			t.Error("the query ended without an error, as if it had run out of rows")
		}
		if rows := obs.rows.Load(); rows >= n {
			t.Errorf("the query delivered all %d rows", rows)
		}
		t.Logf("the query stopped %v after the client left, after %d of %d rows: %v", time.Since(closed).Round(time.Millisecond), obs.rows.Load(), n, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the query still runs after the client left")
	}
}

// TestExportMemory streams 1,000,000 rows through a real connection and
// checks that the heap does not grow with them: the live heap, measured
// after a forced collection every 100,000 rows the client reads, stays
// within 32 MiB of what it was before the export.
func TestExportMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams a million rows")
	}
	const n, limit = 1_000_000, 32 << 20
	start := time.Now()
	path := bigDB(t, n)
	t.Logf("built %d rows in %v", n, time.Since(start).Round(time.Millisecond))
	srv := httptest.NewServer(New(openEngine(t, path, nil), Options{Path: "/v1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()

	base := heappeak.Live()
	// Heap objects, garbage included, sampled without forcing collections.
	watch := heappeak.Start(5 * time.Millisecond)

	start = time.Now()
	resp, err := http.Get(srv.URL + "/v1/big.ndjson?sort=-id")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var rows int
	var maxLive uint64
	var last []byte
	for {
		line, err := br.ReadSlice('\n')
		if err == io.EOF && len(line) == 0 {
			break
		}
		if err != nil {
			t.Fatalf("after %d rows: %v", rows, err)
		}
		rows++
		if rows%100_000 == 0 {
			maxLive = max(maxLive, heappeak.Live())
		}
		if rows == n {
			last = append(last[:0], line...)
		}
	}
	took := time.Since(start)
	peak := watch.Stop()

	if rows != n || !bytes.HasPrefix(last, []byte(`{"id":1,`)) {
		t.Fatalf("%d rows arrived, the last %q; want %d ending with id 1", rows, last, n)
	}
	growth := int64(maxLive) - int64(base)
	t.Logf("%d rows in %v (%.0f rows/s); live heap %.1f MiB before, at most %.1f MiB during (growth %.1f MiB); heap objects peak %.1f MiB",
		rows, took.Round(time.Millisecond), float64(rows)/took.Seconds(), mib(base), mib(maxLive), float64(growth)/(1<<20), mib(peak))
	if growth >= limit {
		t.Errorf("the live heap grew by %.1f MiB while streaming, want under 32 MiB", float64(growth)/(1<<20))
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// TestExportOutlivesWriteTimeout: a server's WriteTimeout bounds a whole
// response, but an export that keeps writing may take longer than it.
func TestExportOutlivesWriteTimeout(t *testing.T) {
	const n = 1500
	slow := watch(time.Millisecond, 0) // n rows take 1.5 s or more
	srv := httptest.NewUnstartedServer(New(openEngine(t, bigDB(t, n), slow.wrap), Options{Path: "/v1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	srv.Config.WriteTimeout = 500 * time.Millisecond
	srv.Start()
	defer srv.Close()
	start := time.Now()
	resp, err := http.Get(srv.URL + "/v1/big.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || bytes.Count(body, []byte("\n")) != n {
		t.Fatalf("after %v: %d lines, %v; want %d lines", time.Since(start).Round(time.Millisecond), bytes.Count(body, []byte("\n")), err, n)
	}
	if took := time.Since(start); took < time.Second {
		t.Fatalf("the export took %v, not longer than the write timeout: the test proves nothing", took)
	}
}
