// Package demotest serves a small demo database the way `folio serve` does,
// for the tests of packages that talk to folio over HTTP.
package demotest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"

	"folio/config"
	"folio/demo"
	"folio/dialect/native"
	"folio/engine"
	"folio/export"
	"folio/server"
	"folio/source/sqlite"
)

// Serve builds a demo database of rows entries (the other collections scale
// with it), serves it with the demo configuration, every dialect mounted, on
// a real listener until the test ends, and returns the server and its
// engine, which tests use as the oracle.
func Serve(t testing.TB, rows int) (*httptest.Server, *engine.Engine) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "demo.sqlite")
	if err := sqlite.Load(ctx, path, demo.Tables(rows, demo.DefaultSeed), nil); err != nil {
		t.Fatal(err)
	}
	src, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	found, err := src.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Demo()
	cols, err := config.Apply(found, cfg)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := engine.NewSigner([]byte("demotest-secret-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(src, signer, cols)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Engine: e, Mounts: cfg.MountList(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, e
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
	params := url.Values{"fields": {c.Key}}
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
		keys = append(keys, fmt.Sprint(row[c.Key]))
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
