package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"folio/dataset"
	"folio/engine"
	"folio/internal/demodb"
	"folio/source/sqlite"
)

// TestHealthFollowsTheFile: once the database file is deleted, readiness
// (/readyz, /healthz) and pages answer 503 within a second or two, though
// open connections could still read the deleted file; liveness (/livez)
// stays 200, since the process still serves. A file put back at the path
// is served again.
func TestHealthFollowsTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "h.sqlite")
	build := func(path string, n int) {
		t.Helper()
		tbl := &dataset.Table{
			Name: "things", Columns: []dataset.Column{{Name: "id", Type: engine.TypeInt}}, Key: []string{"id"}, Len: n,
			Rows: func(yield func([]engine.Value) bool) {
				for i := range n {
					if !yield([]engine.Value{int64(i + 1)}) {
						return
					}
				}
			},
		}
		if err := sqlite.Load(context.Background(), path, []*dataset.Table{tbl}, nil); err != nil {
			t.Fatal(err)
		}
	}
	build(path, 3)
	log, _ := newLogger()
	srv, err := New(Options{Engine: demodb.Open(t, path, nil), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	status := func(target string) string {
		resp, err := http.Get(ts.URL + target)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" && target == "/v1/things" {
			t.Errorf("%s: 503 without Retry-After", target)
		}
		return fmt.Sprintf("%s %d %.40s", target, resp.StatusCode, body)
	}
	expect := func(what string, want map[string]int) {
		t.Helper()
		var got string
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			got = ""
			ok := true
			for _, target := range []string{"/healthz", "/readyz", "/livez", "/v1/things"} {
				s := status(target)
				got += s + "; "
				if s[:len(target)+4] != fmt.Sprintf("%s %d", target, want[target]) {
					ok = false
				}
			}
			if ok {
				return
			}
		}
		t.Fatalf("%s: not within 2s: %s", what, got)
	}
	all := map[string]int{"/healthz": 200, "/readyz": 200, "/livez": 200, "/v1/things": 200}
	expect("serving", all)

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	expect("the file deleted", map[string]int{"/healthz": 503, "/readyz": 503, "/livez": 200, "/v1/things": 503})

	build(path+".new", 5)
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	expect("another file in its place", all)
}
