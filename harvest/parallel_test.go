package harvest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"folio/client"
	"folio/config"
	"folio/internal/demotest"
	"folio/server"
)

// TestParallel harvests in 4 slices and compares with the sequential
// harvest: the same records, in key order.
func TestParallel(t *testing.T) {
	ts, e := demoServer(t)
	for _, c := range []struct {
		name, collection, key, query string
		filters                      url.Values
		intKey                       bool
	}{
		{"text key", "entries", "entry_id", "sort=-upload_create_time", nil, false},
		{"text key filtered", "dois", "id", "state=findable", url.Values{"state": {"findable"}}, false},
		{"integer key", "downtimes", "id", "", nil, true},
		{"integer key filtered", "profiles", "id", "database_id[lt]=5", url.Values{"database_id[lt]": {"5"}}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			u := ts.URL + "/v1/" + c.collection + "?" + c.query
			seq := Options{Client: client.New(client.Options{}), Request: client.Request{URL: u}, Dialect: "native", PageSize: 100, Out: filepath.Join(dir, "seq.ndjson")}
			if _, err := Run(context.Background(), seq); err != nil {
				t.Fatal(err)
			}
			par := seq
			par.Out = filepath.Join(dir, "par.ndjson")
			sum, err := RunParallel(context.Background(), par, 4)
			if err != nil {
				t.Fatal(err)
			}
			want := demotest.Keys(t, e, c.collection, c.filters)
			if len(want) < 100 {
				t.Fatalf("only %d records: the filter selects too few to test", len(want))
			}
			seqKeys := fileKeys(t, seq.Out, c.key)
			got := fileKeys(t, par.Out, c.key)
			demotest.ExactlyOnce(t, got, want)
			demotest.ExactlyOnce(t, seqKeys, want)
			if sum.Records != int64(len(want)) {
				t.Errorf("summary says %d records, want %d", sum.Records, len(want))
			}
			sorted := slices.Clone(seqKeys)
			slices.SortFunc(sorted, keyCompare(c.intKey))
			if !slices.Equal(got, sorted) {
				t.Error("the parallel harvest is not the sequential one in key order")
			}
			if parts, _ := filepath.Glob(par.Out + ".part-*"); len(parts) != 0 {
				t.Errorf("parts left behind: %v", parts)
			}
		})
	}
}

// TestParallelResume interrupts a parallel harvest after some pages and
// runs it again: the output equals the uninterrupted harvest.
func TestParallelResume(t *testing.T) {
	ts, e := demoServer(t)
	for _, c := range []struct{ collection, key string }{{"entries", "entry_id"}, {"downtimes", "id"}} {
		t.Run(c.collection, func(t *testing.T) {
			dir := t.TempDir()
			o := Options{
				Client: client.New(client.Options{}), Request: client.Request{URL: ts.URL + "/v1/" + c.collection}, Dialect: "auto", PageSize: 10,
				Out: filepath.Join(dir, "out.ndjson"), Checkpoint: filepath.Join(dir, "cp.json"),
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var total int64
			o.Progress = func(p Progress) {
				total = p.Total
				if p.Pages >= 6 {
					cancel()
				}
			}
			if _, err := RunParallel(ctx, o, 4); err == nil {
				t.Fatal("the interrupted harvest succeeded")
			}
			var ps parallelState
			if b, err := os.ReadFile(o.Checkpoint); err != nil || json.Unmarshal(b, &ps) != nil || len(ps.Slices) < 4 || len(ps.Slices) > 4*slicesPerWorker || ps.Merged {
				t.Fatalf("the main checkpoint holds %+v (%v), want a plan of 4 to %d unmerged slices", ps, err, 4*slicesPerWorker)
			}
			// Only slices that were started have checkpoints, and no more
			// than the 4 workers can have started before the 6th page.
			if parts, _ := filepath.Glob(o.Checkpoint + ".part-*"); len(parts) < 1 || len(parts) > 4+6 {
				t.Fatalf("the interrupted harvest left %d slice checkpoints, want 1 to 10", len(parts))
			}
			o.Progress = nil
			sum, err := RunParallel(context.Background(), o, 4)
			if err != nil {
				t.Fatal(err)
			}
			if !sum.Resumed {
				t.Error("the second run did not resume")
			}
			want := demotest.Keys(t, e, c.collection, nil)
			demotest.ExactlyOnce(t, fileKeys(t, o.Out, c.key), want)
			if total != int64(len(want)) {
				t.Errorf("progress showed a total of %d, want %d", total, len(want))
			}
			if sum.Records != int64(len(want)) {
				t.Errorf("summary says %d records, want %d", sum.Records, len(want))
			}
			// A third run finds the harvest merged and changes nothing.
			before, _ := os.ReadFile(o.Out)
			if sum, err := RunParallel(context.Background(), o, 4); err != nil || sum.New != 0 {
				t.Fatalf("a run of a complete harvest wrote %d records (%v)", sum.New, err)
			}
			after, _ := os.ReadFile(o.Out)
			if string(before) != string(after) {
				t.Error("a run of a complete harvest changed the output")
			}
		})
	}
}

// TestParallelRejects refuses what cannot be sliced, before it writes
// anything.
func TestParallelRejects(t *testing.T) {
	ts, _ := demoServer(t)
	dir := t.TempDir()
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Request: client.Request{URL: ts.URL + "/dois"}, Dialect: "jsonapi", Out: filepath.Join(dir, "a")}, "native dialect only"},
		{Options{Request: client.Request{URL: ts.URL + "/gocdbpi/public/?method=get_downtime"}, Dialect: "auto", Out: filepath.Join(dir, "b")}, "does not end in a collection's name"},
		{Options{Request: client.Request{URL: ts.URL + "/v1/entries"}, Dialect: "native"}, "output file"},
		{Options{Request: client.Request{URL: ts.URL + "/v1/entries", Method: "POST"}, Out: filepath.Join(dir, "c")}, "GET"},
		{Options{Request: client.Request{URL: ts.URL + "/v1/entries"}, Max: 10, Out: filepath.Join(dir, "d")}, "--max"},
		// Not a native API: the path above /dois is the server's index,
		// which lists no collections as the native API does.
		{Options{Request: client.Request{URL: ts.URL + "/dois"}, Dialect: "auto", Out: filepath.Join(dir, "e")}, "is the native API mounted there"},
		{Options{Request: client.Request{URL: ts.URL + "/v1/nothing"}, Out: filepath.Join(dir, "f")}, "no such collection: nothing"},
	} {
		c.o.Client = client.New(client.Options{})
		_, err := RunParallel(context.Background(), c.o, 4)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s (%s): error %v, want one saying %q", c.o.Request.URL, c.o.Dialect, err, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files were created: %v", entries)
	}
}

// TestParallelMountedElsewhere harvests in parallel from a server that
// mounts the native dialect at /api/native, and has no /v1: the API's base
// comes from the URL the user gave, and every request goes there.
func TestParallelMountedElsewhere(t *testing.T) {
	_, e := demoServer(t)
	srv, err := server.New(server.Options{Engine: e, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Mounts: []config.Mount{{Dialect: config.Native, Path: "/api/native"}}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var paths []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		srv.Handler().ServeHTTP(w, r)
	}))
	defer ts.Close()
	for _, c := range []struct {
		collection, key, query string
		filters                url.Values
		intKey                 bool
	}{
		{"entries", "entry_id", "elements[all]=O&sort=-upload_create_time", url.Values{"elements[all]": {"O"}}, false},
		{"downtimes", "id", "", nil, true},
	} {
		t.Run(c.collection, func(t *testing.T) {
			dir := t.TempDir()
			o := Options{
				Client: client.New(client.Options{}), Request: client.Request{URL: ts.URL + "/api/native/" + c.collection + "?" + c.query}, Dialect: "auto", PageSize: 50,
				Out: filepath.Join(dir, "out.ndjson"), Checkpoint: filepath.Join(dir, "cp.json"),
			}
			sum, err := RunParallel(context.Background(), o, 3)
			if err != nil {
				t.Fatal(err)
			}
			want := demotest.Keys(t, e, c.collection, c.filters)
			if len(want) < 100 {
				t.Fatalf("only %d records: the filter selects too few to test", len(want))
			}
			got := fileKeys(t, o.Out, c.key)
			demotest.ExactlyOnce(t, got, want)
			if !slices.IsSortedFunc(got, keyCompare(c.intKey)) {
				t.Error("the output is not in key order")
			}
			if sum.Records != int64(len(want)) || sum.Pages < 3 {
				t.Errorf("summary %+v for %d records", sum, len(want))
			}
			var ps parallelState
			if b, err := os.ReadFile(o.Checkpoint); err != nil || json.Unmarshal(b, &ps) != nil || !ps.Merged || len(ps.Slices) < 3 {
				t.Errorf("the checkpoint holds %+v (%v), want a merged plan of 3 slices or more", ps, err)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range paths {
		if p != "/api/native" && !strings.HasPrefix(p, "/api/native/") {
			t.Errorf("a request went to %s, outside the native API", p)
		}
	}
	if len(paths) < 10 {
		t.Errorf("only %d requests", len(paths))
	}
}

// keyCompare orders keys as the collection does: integers by value, texts
// by bytes.
func keyCompare(integer bool) func(a, b string) int {
	if !integer {
		return strings.Compare
	}
	return func(a, b string) int {
		x, _ := strconv.ParseInt(a, 10, 64)
		y, _ := strconv.ParseInt(b, 10, 64)
		return int(x - y)
	}
}
