package server

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"folio/config"
	"folio/engine"
	"folio/internal/demodb"
	"folio/source/sqlite"
)

// faultySource is a real source that can be told to fail: to panic, or to
// return an error, once a query has emitted after rows. A source fault is
// how a dialect's error path meets a failure it did not cause.
type faultySource struct {
	engine.Source
	mode  atomic.Value // "", "panic" or "fail"
	after atomic.Int64
}

var errDisk = errors.New("disk I/O error")

func (s *faultySource) Query(ctx context.Context, plan *engine.Plan, emit func(engine.Row) error) error {
	mode, _ := s.mode.Load().(string)
	after := s.after.Load()
	var n int64
	return s.Source.Query(ctx, plan, func(row engine.Row) error {
		switch {
		case mode == "panic":
			panic("source fault")
		case mode == "fail" && n == after:
			return errDisk
		case mode == "fail" && n == after-1:
			// Past the stream's flush interval, so that the rows before
			// the failure reach the client first.
			time.Sleep(250 * time.Millisecond)
		}
		n++
		return emit(row)
	})
}

// faultyDemo serves the demo database the test binary shares, with every
// dialect mounted as `folio serve` does, over a faultySource and without
// the page cache, so that every request reaches the source.
func faultyDemo(t *testing.T) (*httptest.Server, *faultySource, *logBuffer) {
	t.Helper()
	src, err := sqlite.Open(context.Background(), demodb.Shared(t, demodb.Rows).Path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	fs := &faultySource{Source: src}
	fs.after.Store(50)
	cfg := config.Demo()
	log, logs := newLogger()
	srv, err := New(Options{Engine: demodb.NewEngine(t, fs, cfg), Mounts: cfg.MountList(), Logger: log, CacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, fs, logs
}

// shapes checks that a body is in one mount's error shape with the
// status, and returns its message.
var shapes = map[string]func(t *testing.T, status int, body []byte) string{
	"native": func(t *testing.T, status int, body []byte) string {
		var e struct {
			Error struct {
				Status  int
				Code    string
				Message string
			}
		}
		if err := strictJSON(body, &e); err != nil || e.Error.Status != status || e.Error.Code == "" {
			t.Errorf("not the native shape with status %d: %v %s", status, err, body)
		}
		return e.Error.Message
	},
	"nomad": func(t *testing.T, status int, body []byte) string {
		var e struct{ Detail string }
		if err := strictJSON(body, &e); err != nil || e.Detail == "" {
			t.Errorf("not NOMAD's shape: %v %s", err, body)
		}
		return e.Detail
	},
	"copernica": func(t *testing.T, status int, body []byte) string {
		var e struct{ Error struct{ Message string } }
		if err := strictJSON(body, &e); err != nil || e.Error.Message == "" {
			t.Errorf("not Copernica's shape: %v %s", err, body)
		}
		return e.Error.Message
	},
	"jsonapi": func(t *testing.T, status int, body []byte) string {
		var e struct {
			Errors []struct{ Status, Title, Detail string }
		}
		if err := strictJSON(body, &e); err != nil || len(e.Errors) != 1 || e.Errors[0].Status != strconv.Itoa(status) || e.Errors[0].Title == "" {
			t.Errorf("not a JSON:API error document with status %d: %v %s", status, err, body)
			return ""
		}
		return e.Errors[0].Detail
	},
	"gocdb": func(t *testing.T, status int, body []byte) string {
		var e struct {
			XMLName xml.Name `xml:"error"`
			Text    string   `xml:",chardata"`
		}
		if err := xml.Unmarshal(body, &e); err != nil || e.Text == "" {
			t.Errorf("not GOCDB's <error> shape: %v %s", err, body)
		}
		return e.Text
	},
}

// strictJSON decodes body into v, refusing fields v does not name, so that
// one shape is never mistaken for another.
func strictJSON(body []byte, v any) error {
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// mounts are the demo configuration's mounts, one request each that reads
// rows.
var faultMounts = []struct {
	shape, method, path string
}{
	{"native", "GET", "/v1/entries?limit=5"},
	{"nomad", "GET", "/api/v1/entries?page_size=5"},
	{"copernica", "GET", "/v2/database/42/profiles?limit=5"},
	{"copernica", "GET", "/stream/v2/database/42/profiles?limit=5"},
	{"jsonapi", "GET", "/dois?page[size]=5"},
	{"gocdb", "GET", "/gocdbpi/public/?method=get_downtime&next_cursor=0"},
}

// TestMountErrorShapes: a body over the limit and a panic are answered, on
// every mount, in that mount's error shape.
func TestMountErrorShapes(t *testing.T) {
	ts, fs, _ := faultyDemo(t)
	big := strings.Repeat("x", 2<<20)
	for _, m := range faultMounts {
		t.Run(m.shape+" 413 "+m.path, func(t *testing.T) {
			resp, err := http.Post(ts.URL+m.path, "application/json", strings.NewReader(big))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if msg := shapes[m.shape](t, resp.StatusCode, body); !strings.Contains(msg, "too large") {
				t.Errorf("message %q does not say the body is too large", msg)
			}
		})
	}
	fs.mode.Store("panic")
	defer fs.mode.Store("")
	for _, m := range faultMounts {
		t.Run(m.shape+" panic "+m.path, func(t *testing.T) {
			resp, err := http.Get(ts.URL + m.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusInternalServerError {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if msg := shapes[m.shape](t, resp.StatusCode, body); strings.Contains(msg, "source fault") {
				t.Errorf("the panic's value reached the client: %q", msg)
			}
		})
	}
}

// TestStreamCutMidway: a response that fails after rows have reached the
// client is cut, never ended cleanly, on every dialect that streams; the
// dialects that answer with whole pages answer the same failure with a
// 503 in their shape, since nothing was sent.
func TestStreamCutMidway(t *testing.T) {
	ts, fs, logs := faultyDemo(t)
	fs.mode.Store("fail")
	for _, path := range []string{
		"/v1/entries.ndjson", "/v1/entries.csv", "/v1/entries.json",
		"/stream/v2/database/42/profiles?limit=1700",
		"/gocdbpi/public/?method=get_downtime",
	} {
		t.Run(path, func(t *testing.T) {
			resp, err := http.Get(ts.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: the failure came before the first byte", resp.StatusCode)
			}
			body, err := io.ReadAll(resp.Body)
			if err == nil {
				t.Fatalf("the response ended cleanly after %d bytes, a cut-off result that looks complete", len(body))
			}
			if len(body) == 0 {
				t.Fatalf("no rows reached the client before the cut: %v", err)
			}
		})
	}
	// The access log has a line for each cut response, marked so.
	aborted := 0
	for _, l := range logs.lines(t) {
		if l["msg"] == "request" && l["aborted"] == true && l["status"] == float64(200) {
			aborted++
		}
	}
	if aborted != 5 {
		t.Errorf("%d aborted responses in the access log, want 5", aborted)
	}
	fs.after.Store(2) // within the first page
	for _, m := range faultMounts {
		if strings.HasPrefix(m.path, "/stream/") {
			continue // a streaming host: held to the cut above
		}
		t.Run("page "+m.path, func(t *testing.T) {
			resp, err := http.Get(ts.URL + m.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("status %d, Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
			}
			shapes[m.shape](t, resp.StatusCode, body)
		})
	}
}
