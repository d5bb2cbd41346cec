package client

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"folio/config"
	"folio/engine"
	"folio/internal/demotest"
	"folio/server"
)

// TestParseNative finds the API's base and the collection in a native
// collection URL, wherever the API is mounted.
func TestParseNative(t *testing.T) {
	for _, c := range []struct {
		raw, base, collection string
		params                url.Values
		wantErr               bool
	}{
		{raw: "http://h/api/native/entries?x=y", base: "http://h/api/native", collection: "entries", params: url.Values{"x": {"y"}}},
		{raw: "http://h:8080/v1/entries", base: "http://h:8080/v1", collection: "entries", params: url.Values{}},
		{raw: "https://u:p@h/entries?sort=-a&limit=5", base: "https://u:p@h", collection: "entries", params: url.Values{"sort": {"-a"}, "limit": {"5"}}},
		{raw: "http://h/v1/entries?elements%5Ball%5D=Ti,O&cursor=abc&offset=10&total=exact&fields=a", base: "http://h/v1", collection: "entries",
			params: url.Values{"elements[all]": {"Ti,O"}, "fields": {"a"}}},
		{raw: "http://h/data%2Fsets/my%20coll#frag", base: "http://h/data%2Fsets", collection: "my coll", params: url.Values{}},
		{raw: "http://h/a/b/c/d", base: "http://h/a/b/c", collection: "d", params: url.Values{}},
		{raw: "http://h/v1/entries/", wantErr: true},
		{raw: "http://h", wantErr: true},
		{raw: "/v1/entries", wantErr: true},
		{raw: "http://h/v1/entries?a=%zz", wantErr: true},
		{raw: "http://h/v1/%zz", wantErr: true},
	} {
		q, err := ParseNative(c.raw)
		if c.wantErr {
			if err == nil {
				t.Errorf("%s: parsed as %+v", c.raw, q)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.raw, err)
			continue
		}
		if q.Base != c.base || q.Collection != c.collection || q.Params.Encode() != c.params.Encode() {
			t.Errorf("%s: %q %q %v, want %q %q %v", c.raw, q.Base, q.Collection, q.Params, c.base, c.collection, c.params)
		}
		// The URL of the query is the user's, less the paging parameters.
		back, err := ParseNative(q.URL())
		if err != nil || back.Base != q.Base || back.Collection != q.Collection || back.Params.Encode() != q.Params.Encode() {
			t.Errorf("%s: %s parses back as %+v (%v)", c.raw, q.URL(), back, err)
		}
	}
}

// TestKeySlice narrows a query to a key range in key order and leaves the
// query it came from as it was.
func TestKeySlice(t *testing.T) {
	q, err := ParseNative("http://h/api/native/entries?sort=-created&id%5Bgte%5D=b&limit=9")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		from, to string
		want     url.Values
	}{
		{"", "", url.Values{"sort": {"id"}, "id[gte]": {"b"}, "limit": {"9"}}},
		{"c", "", url.Values{"sort": {"id"}, "id[gte]": {"b", "c"}, "limit": {"9"}}},
		{"", "m", url.Values{"sort": {"id"}, "id[gte]": {"b"}, "id[lt]": {"m"}, "limit": {"9"}}},
		{"c", "m", url.Values{"sort": {"id"}, "id[gte]": {"b", "c"}, "id[lt]": {"m"}, "limit": {"9"}}},
	} {
		s := q.KeySlice("id", c.from, c.to)
		if s.Base != q.Base || s.Collection != q.Collection || s.Params.Encode() != c.want.Encode() {
			t.Errorf("[%q, %q): %s, want the params %v", c.from, c.to, s.URL(), c.want)
		}
	}
	if got := q.Params.Encode(); got != "id%5Bgte%5D=b&limit=9&sort=-created" {
		t.Errorf("the query changed to %s", got)
	}
}

// nativeMountedAt serves the demo database's engine with the native API at
// path alone, and returns the server and the engine.
func nativeMountedAt(t *testing.T, path string) (*httptest.Server, *engine.Engine) {
	t.Helper()
	_, e := demotest.Serve(t, demoRows)
	srv, err := server.New(server.Options{Engine: e, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Mounts: []config.Mount{{Dialect: config.Native, Path: path}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, e
}

// TestNativeCalls describes a collection, finds its key range and counts
// it through a native API mounted at /api/native, and holds the answers to
// the engine's own result.
func TestNativeCalls(t *testing.T) {
	ts, e := nativeMountedAt(t, "/api/native")
	c := New(Options{})
	ctx := context.Background()

	all, err := c.Collections(ctx, ts.URL+"/api/native")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, col := range all {
		names = append(names, col.Name)
	}
	if want := []string{"dois", "downtimes", "entries", "profiles"}; !slices.Equal(slices.Sorted(slices.Values(names)), want) {
		t.Errorf("collections %v, want %v", names, want)
	}

	for _, tc := range []struct {
		url, key, keyType string
		filters           url.Values
		integer           bool
	}{
		{"/api/native/entries?elements[all]=O&sort=-upload_create_time&limit=7", "entry_id", "text", url.Values{"elements[all]": {"O"}}, false},
		{"/api/native/downtimes?severity=OUTAGE", "id", "integer", url.Values{"severity": {"OUTAGE"}}, true},
		{"/api/native/profiles", "id", "integer", nil, true},
	} {
		t.Run(tc.url, func(t *testing.T) {
			q, err := ParseNative(ts.URL + tc.url)
			if err != nil {
				t.Fatal(err)
			}
			col, err := c.Describe(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if col.Name != q.Collection || col.Key != tc.key || col.Field(tc.key) == nil || col.Field(tc.key).Type != tc.keyType || !strings.HasPrefix(col.URL, ts.URL+"/api/native/") {
				t.Fatalf("description %+v", col)
			}
			if col.Field("no such field") != nil {
				t.Error("Field found a field that is not there")
			}
			want := demotest.Keys(t, e, q.Collection, tc.filters)
			if len(want) < 10 {
				t.Fatalf("the oracle has only %d rows", len(want))
			}
			cmp := strings.Compare
			if tc.integer {
				cmp = func(a, b string) int {
					x, _ := strconv.ParseInt(a, 10, 64)
					y, _ := strconv.ParseInt(b, 10, 64)
					return int(x - y)
				}
			}
			r, err := c.KeyRange(ctx, q, col.Key)
			if err != nil {
				t.Fatal(err)
			}
			if lo, hi := slices.MinFunc(want, cmp), slices.MaxFunc(want, cmp); r != (KeyRange{First: lo, Last: hi}) {
				t.Errorf("key range %+v, want %s..%s", r, lo, hi)
			}
			n, err := c.Count(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(want)) {
				t.Errorf("count %d, want %d", n, len(want))
			}
			p, err := c.FirstPage(ctx, q, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Records) != 3 || p.Next == nil {
				t.Errorf("the first page of 3 holds %d records, next %v", len(p.Records), p.Next)
			}
			first, err := memberParam(p.Records[0], tc.key)
			if err != nil || first != want[0] {
				t.Errorf("the first record's key is %q (%v), want %q", first, err, want[0])
			}
		})
	}

	none, _ := ParseNative(ts.URL + "/api/native/downtimes?id[lt]=-5")
	if r, err := c.KeyRange(ctx, none, "id"); err != nil || r != (KeyRange{Empty: true}) {
		t.Errorf("the key range of no record is %+v (%v)", r, err)
	}
	if n, err := c.Count(ctx, none); err != nil || n != 0 {
		t.Errorf("the count of no record is %d (%v)", n, err)
	}

	missing, _ := ParseNative(ts.URL + "/api/native/nothing")
	if _, err := c.Describe(ctx, missing); !errors.Is(err, ErrNoCollection) {
		t.Errorf("describing a missing collection: %v, want ErrNoCollection", err)
	}
	elsewhere, _ := ParseNative(ts.URL + "/v1/entries")
	var se *StatusError
	if _, err := c.Describe(ctx, elsewhere); !errors.As(err, &se) || se.Status != 404 {
		t.Errorf("describing a collection where no API is mounted: %v, want a 404", err)
	}
	for path, want := range map[string]string{"/healthz": "invalid character", "/other": "no data"} {
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/healthz" {
				w.Write([]byte("ok\n"))
				return
			}
			w.Write([]byte(`{"items":[]}`))
		}))
		if _, err := c.Collections(ctx, other.URL+path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("listing %s: %v, want an error saying %q", path, err, want)
		}
		other.Close()
	}
	bad, _ := ParseNative(ts.URL + "/api/native/entries?no_such_field=1")
	if _, err := c.KeyRange(ctx, bad, "entry_id"); !errors.As(err, &se) || se.Status != 400 {
		t.Errorf("a key range with an unknown filter: %v, want a 400", err)
	}
}

// TestNativeCallsRetry: the typed calls go through Fetch, with its retries.
func TestNativeCallsRetry(t *testing.T) {
	ts, e := nativeMountedAt(t, "/data")
	fp := &faultProxy{upstream: ts.URL, schedule: []string{"500", "drop", "429", ""}}
	proxy := httptest.NewServer(fp)
	defer proxy.Close()
	c := New(Options{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxRetryAfter: 10 * time.Millisecond})
	ctx := context.Background()
	q, err := ParseNative(proxy.URL + "/data/downtimes")
	if err != nil {
		t.Fatal(err)
	}
	col, err := c.Describe(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.KeyRange(ctx, q, col.Key)
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.Count(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	want := demotest.Keys(t, e, "downtimes", nil) // in key order
	if n != int64(len(want)) || r != (KeyRange{First: want[0], Last: want[len(want)-1]}) {
		t.Errorf("through faults: key range %+v, count %d; want %s..%s, %d", r, n, want[0], want[len(want)-1], len(want))
	}
	if requests, faults := fp.counts(); faults != 12 || c.Retries() != int64(faults) {
		t.Errorf("%d retries of %d faults in %d requests; want 12 of each", c.Retries(), faults, requests)
	}
}
