package client

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"folio/config"
	"folio/demo"
	"folio/engine"
	"folio/server"
	"folio/source/sqlite"
)

// demoRows is the size of the demo database the tests serve: small enough
// to build in a moment, large enough for many pages in every dialect.
const demoRows = 5000

// demoServer serves a small demo database with the demo configuration, as
// `folio serve` does, and returns it with its engine (the oracle).
func demoServer(t testing.TB) (*httptest.Server, *engine.Engine) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "demo.sqlite")
	if err := sqlite.Load(ctx, path, demo.Tables(demoRows, demo.DefaultSeed), nil); err != nil {
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
	signer, _ := engine.NewSigner([]byte("client-tests-secret-0123456789"))
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
