package reload

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"folio/config"
	"folio/engine"
	"folio/internal/pgtest"
	"folio/server"
	"folio/source/postgres"
)

// TestPostgresSchemaChange: on PostgreSQL, a table another session creates
// is served once the watcher sees the catalog move, and a column it drops
// is gone from the collection.
func TestPostgresSchemaChange(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Start(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exec := func(stmt string) {
		t.Helper()
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	exec(`CREATE TABLE t (id int PRIMARY KEY, name text)`)
	exec(`INSERT INTO t VALUES (1, 'a')`)
	src, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	signer, err := engine.NewSigner([]byte("reload-test-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	build := func(ctx context.Context) (*engine.Engine, []config.Mount, error) {
		cols, err := src.Collections(ctx)
		if err != nil {
			return nil, nil, err
		}
		e, err := engine.New(src, signer, cols)
		return e, nil, err
	}
	e, _, err := build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(server.Options{Engine: e, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	w := New(src, srv, build, 50*time.Millisecond, log)
	w.Start(ctx)
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go w.Run(wctx)

	status := func(path string) int {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10 s", what)
			}
		}
	}
	if st := status("/v1/u"); st != http.StatusNotFound {
		t.Fatalf("/v1/u before it exists: %d", st)
	}
	exec(`CREATE TABLE u (id int PRIMARY KEY)`)
	eventually("the new table served", func() bool { return status("/v1/u") == http.StatusOK })
	exec(`ALTER TABLE t DROP COLUMN name`)
	eventually("the dropped column gone", func() bool { return status("/v1/t?fields=name") == http.StatusBadRequest })
	if st := status("/v1/t"); st != http.StatusOK {
		t.Errorf("/v1/t after the drop: %d", st)
	}
}
