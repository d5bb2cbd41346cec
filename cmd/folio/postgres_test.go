package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"folio/internal/pgtest"
	"folio/source/postgres"
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// TestPostgresDatabase loads the demo into PostgreSQL as `folio demo --db
// postgres://…` does and opens it as serve and export do: the same
// collections as from SQLite, keyed the same way.
func TestPostgresDatabase(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Start(t)
	if err := demoCmd(ctx, newFlagSet("demo"), []string{"--db", url, "--rows", "2000"}); err != nil {
		t.Fatal(err)
	}
	p, err := open(ctx, url, "", postgres.Options{}, io.Discard, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer p.src.Close()
	keys := map[string]string{}
	for _, c := range p.cols {
		keys[c.Name] = strings.Join(c.Key, ",")
	}
	for name, key := range map[string]string{"entries": "entry_id", "dois": "id", "downtimes": "id", "profiles": "id"} {
		if keys[name] != key {
			t.Errorf("collection %s: key %q, want %q (collections %v)", name, keys[name], key, keys)
		}
	}
	// No file to keep a key beside: serve wants one given.
	t.Setenv("FOLIO_SECRET", "")
	err = serve(ctx, newFlagSet("serve"), []string{"--db", url, "--addr", "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "FOLIO_SECRET") {
		t.Errorf("serve without a secret: %v", err)
	}
}

func TestDisplayNameHidesPassword(t *testing.T) {
	got := displayName("postgres://folio:hunter2@db.example:5432/data")
	if strings.Contains(got, "hunter2") {
		t.Errorf("displayName printed the password: %s", got)
	}
	if displayName("demo.sqlite") != "demo.sqlite" {
		t.Error("a file name was changed")
	}
}
