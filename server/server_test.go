package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"folio/config"
	"folio/dataset"
	"folio/dialect/native"
	"folio/engine"
	"folio/internal/demodb"
	"folio/source/sqlite"
)

const rows = 237

// newEngine builds a real SQLite file with one table "things" whose
// "group" column has many ties and NULLs.
func newEngine(t *testing.T) *engine.Engine {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "things.sqlite")
	tbl := &dataset.Table{
		Name:    "things",
		Columns: []dataset.Column{{Name: "id", Type: engine.TypeInt}, {Name: "grp", Type: engine.TypeInt, Nullable: true}},
		Key:     []string{"id"},
		Len:     rows,
		Rows: func(yield func([]engine.Value) bool) {
			for i := range rows {
				var g engine.Value
				if i%5 != 0 {
					g = int64(i % 7)
				}
				if !yield([]engine.Value{int64(i + 1), g}) {
					return
				}
			}
		},
	}
	if err := sqlite.Load(ctx, path, []*dataset.Table{tbl}, nil); err != nil {
		t.Fatal(err)
	}
	return demodb.Open(t, path, nil)
}

// logBuffer collects JSON log lines safely across goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) lines(t *testing.T) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func newLogger() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewJSONHandler(buf, nil)), buf
}

func TestMounts(t *testing.T) {
	e := newEngine(t)
	srv, err := New(Options{Engine: e, Mounts: []config.Mount{{Dialect: config.Native, Path: "/data/v2"}}})
	if err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]int{"/data/v2/things?limit=1": 200, "/data/v2": 200, "/v1/things": 404, "/data/v2/nope": 404} {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", target, rec.Code, want)
		}
	}
	bad := [][]config.Mount{
		{{Dialect: "soap", Path: "/x"}},
		{{Dialect: config.Native, Path: "/v1"}, {Dialect: config.Native, Path: "/v1"}},
		{{Dialect: config.Native, Path: "/healthz"}},
	}
	for _, ms := range bad {
		if _, err := New(Options{Engine: e, Mounts: ms}); err == nil {
			t.Errorf("mounts %+v: no error", ms)
		}
	}
	if _, err := New(Options{}); err == nil {
		t.Error("no engine: no error")
	}
}

func TestAccessLogAndRequestID(t *testing.T) {
	log, buf := newLogger()
	srv, err := New(Options{Engine: newEngine(t), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		incoming, target string
		status           int
		keepID           bool
	}{
		{"", "/v1/things?limit=2", 200, false},
		{"abc-123", "/v1/things?limit=abc", 400, true},
		{"bad id with spaces", "/v1/nope", 404, false},
		{strings.Repeat("x", 200), "/healthz", 200, false},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", tt.target, nil)
		if tt.incoming != "" {
			req.Header.Set("X-Request-Id", tt.incoming)
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		id := rec.Header().Get("X-Request-Id")
		if id == "" || tt.keepID != (id == tt.incoming) {
			t.Errorf("%s with X-Request-Id %q: answered id %q", tt.target, tt.incoming, id)
		}
		lines := buf.lines(t)
		last := lines[len(lines)-1]
		if last["msg"] != "request" || last["method"] != "GET" || last["path"] != strings.Split(tt.target, "?")[0] ||
			last["status"] != float64(tt.status) || last["bytes"] != float64(rec.Body.Len()) || last["request_id"] != id || last["duration"] == nil {
			t.Errorf("log line %v for %s (status %d, %d bytes, id %s)", last, tt.target, tt.status, rec.Body.Len(), id)
		}
	}
}

func TestRecoverPanics(t *testing.T) {
	log, buf := newLogger()
	h := requestID(newIDs())(accessLog(log)(recoverPanics(log, native.Errors(log))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 500 || !json.Valid(rec.Body.Bytes()) || !strings.Contains(rec.Body.String(), "internal_error") {
		t.Errorf("panic answered %d %s", rec.Code, rec.Body)
	}
	var sawStack, sawAccess bool
	for _, l := range buf.lines(t) {
		if l["msg"] == "panic" && strings.Contains(fmt.Sprint(l["stack"]), "server_test.go") {
			sawStack = true
		}
		if l["msg"] == "request" && l["status"] == float64(500) {
			sawAccess = true
		}
	}
	if !sawStack || !sawAccess {
		t.Errorf("logs lack the stack (%v) or the 500 access line (%v)", sawStack, sawAccess)
	}
}

func TestLimitBody(t *testing.T) {
	var readErr error
	h := limitBody(10, native.Errors(nil))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, readErr = io.ReadAll(r.Body)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/x", strings.NewReader(strings.Repeat("a", 11))))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("declared oversize body: %d", rec.Code)
	}
	// A body of unknown length is cut off while being read.
	req := httptest.NewRequest("POST", "/x", io.MultiReader(strings.NewReader(strings.Repeat("a", 100))))
	req.ContentLength = -1
	h.ServeHTTP(httptest.NewRecorder(), req)
	if readErr == nil {
		t.Error("reading past the limit did not fail")
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/x", strings.NewReader("short")))
	if readErr != nil {
		t.Errorf("small body: %v", readErr)
	}
}

// TestGracefulShutdown cancels Serve's context while a request is in
// flight: the request completes, then Serve returns.
func TestGracefulShutdown(t *testing.T) {
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		w.Write([]byte("finished"))
	})
	log, _ := newLogger()
	srv := newServer(h, log, 5*time.Second)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			res <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{string(b), err}
	}()
	<-started
	cancel()
	r := <-res
	if r.err != nil || r.body != "finished" {
		t.Errorf("in-flight request: %q, %v", r.body, r.err)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
		t.Error("the server still accepts connections after shutdown")
	}
}

// TestAccessLogQuery: the access log records the query string as sent, but
// with cursor values cut to their first 12 characters and credentials
// replaced, in every dialect's naming of them.
func TestAccessLogQuery(t *testing.T) {
	long := strings.Repeat("Ab1-_", 20)
	tests := []struct{ raw, want string }{
		{"limit=5&sort=-id", "limit=5&sort=-id"},
		{"cursor=" + long + "&limit=5", "cursor=Ab1-_Ab1-_Ab…&limit=5"},
		{"cursor=short", "cursor=short"},
		{"page%5Bcursor%5D=" + long, "page%5Bcursor%5D=Ab1-_Ab1-_Ab…"},
		{"next_cursor=" + long + "&prev_cursor=" + long, "next_cursor=Ab1-_Ab1-_Ab…&prev_cursor=Ab1-_Ab1-_Ab…"},
		{"page_after_value=1717097142713:zIaQ0vsZ0bx4", "page_after_value=171709714271…"},
		{"access_token=s3cr3t&limit=1", "access_token=REDACTED&limit=1"},
		{"Access_Token=s3cr3t", "Access_Token=REDACTED"},
		{"flag&x=", "flag&x="},
		{"elements[all]=" + strings.Repeat("Ti,", 1000), "elements[all]=" + strings.Repeat("Ti,", 1000)[:maxLoggedQuery-len("elements[all]=")] + "…"},
	}
	for _, tt := range tests {
		if got := logQuery(tt.raw); got != tt.want {
			t.Errorf("logQuery(%.60q) = %.80q, want %.80q", tt.raw, got, tt.want)
		}
	}

	log, buf := newLogger()
	srv, err := New(Options{Engine: newEngine(t), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/v1/things?limit=2&cursor="+long+"&access_token=tok-in-query", nil)
	req.Header.Set("Authorization", "Bearer tok-in-header")
	srv.Handler().ServeHTTP(httptest.NewRecorder(), req)
	lines := buf.lines(t)
	last := lines[len(lines)-1]
	if want := "limit=2&cursor=Ab1-_Ab1-_Ab…&access_token=REDACTED"; last["query"] != want {
		t.Errorf("logged query %q, want %q", last["query"], want)
	}
	buf.mu.Lock()
	all := buf.b.String()
	buf.mu.Unlock()
	for _, secret := range []string{"tok-in-query", "tok-in-header", long} {
		if strings.Contains(all, secret) {
			t.Errorf("the log holds %q: %s", secret, all)
		}
	}
}
