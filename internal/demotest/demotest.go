// Package demotest serves the demo database the way `folio serve` does, for
// the tests of packages that talk to folio over HTTP (the client, the
// harvester, the benchmarks): the database, its engine and its server are
// built once per test binary when its TestMain calls demodb.Main, and
// shared by all of its tests.
package demotest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"folio/config"
	"folio/dialect/native"
	"folio/engine"
	"folio/export"
	"folio/internal/demodb"
	"folio/server"
)

// servers holds the server of each demo database this test binary serves,
// so that every test shares it; it is closed when the database is taken
// down (see demodb.Demo.Cleanup). A test helper keeps this at package
// level; production code keeps no such state.
var servers struct {
	mu     sync.Mutex
	byDemo map[*demodb.Demo]*httptest.Server
}

// Serve returns the shared demo database of rows entries (see
// demodb.Shared) served with every mount of config/demo.yaml on a real
// listener, and its engine, which tests use as the oracle.
func Serve(t testing.TB, rows int) (*httptest.Server, *engine.Engine) {
	t.Helper()
	d := demodb.Shared(t, rows)
	servers.mu.Lock()
	defer servers.mu.Unlock()
	if ts := servers.byDemo[d]; ts != nil {
		return ts, d.Engine
	}
	ts := httptest.NewServer(NewServer(t, d.Engine, config.Demo().MountList(), 0).Handler())
	if servers.byDemo == nil {
		servers.byDemo = map[*demodb.Demo]*httptest.Server{}
	}
	servers.byDemo[d] = ts
	d.Cleanup(func() {
		servers.mu.Lock()
		delete(servers.byDemo, d)
		servers.mu.Unlock()
		ts.Close()
	})
	return ts, d.Engine
}

// NewServer builds the server `folio serve` runs over e with mounts, its
// page cache budget cacheBytes (0: the default, negative: off) and its log
// discarded.
func NewServer(t testing.TB, e *engine.Engine, mounts []config.Mount, cacheBytes int64) *server.Server {
	t.Helper()
	srv, err := server.New(server.Options{Engine: e, Mounts: mounts, Logger: demodb.Quiet(), CacheBytes: cacheBytes})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// Keys returns the key of every row of collection name that the native
// query parameters filters select, in the collection's default order (or
// the one filters' sort names), from the engine itself: the oracle a
// harvest over HTTP is held against.
func Keys(t testing.TB, e *engine.Engine, name string, filters url.Values) []string {
	t.Helper()
	c, err := e.Collection(name)
	if err != nil {
		t.Fatal(err)
	}
	params := url.Values{"fields": {strings.Join(c.Key, ",")}}
	for k, v := range filters {
		params[k] = v
	}
	q, err := native.ParseQuery(c, params)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := export.Write(context.Background(), e, export.Request{Collection: c, Query: q, Format: export.NDJSON}, &buf); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for line := range bytes.Lines(buf.Bytes()) {
		var row map[string]any
		if err := json.Unmarshal(line, &row); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(c.Key))
		for i, k := range c.Key {
			parts[i] = fmt.Sprint(row[k])
		}
		keys = append(keys, strings.Join(parts, "/"))
	}
	return keys
}

// ExactlyOnce fails the test unless got holds every key of want exactly
// once, in any order, saying how many keys came twice and how many never.
func ExactlyOnce(t testing.TB, got, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, k := range got {
		seen[k]++
	}
	dup, missing := 0, 0
	for _, n := range seen {
		if n > 1 {
			dup++
		}
	}
	for _, k := range want {
		if seen[k] == 0 {
			missing++
		}
	}
	if len(got) != len(want) || dup > 0 || missing > 0 {
		t.Fatalf("harvested %d records, want %d: %d keys duplicated, %d missing", len(got), len(want), dup, missing)
	}
}
