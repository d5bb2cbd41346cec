package main

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"folio/auth"
	"folio/engine"
	"folio/server"
	"folio/source/sqlite"
)

// TestHarvestCredentials: folio harvest sends --token, --header and
// FOLIO_TOKEN with every request, and writes them to neither the
// checkpoint, the output nor its log; a bad --header is a usage error.
func TestHarvestCredentials(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.db")
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);
		WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 95) INSERT INTO t SELECT x, 'n' || x FROM c`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ctx := context.Background()
	src, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	cols, err := src.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := engine.NewSigner([]byte("credentials-test-secret-0123"))
	e, err := engine.New(src, signer, cols)
	if err != nil {
		t.Fatal(err)
	}
	tokens := auth.OpenTokens(filepath.Join(dir, "tokens"))
	token, _, err := tokens.Create("harvester", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Engine: e, Auth: &auth.Authenticator{Tokens: tokens}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []http.Header
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		srv.Handler().ServeHTTP(w, r)
	}))
	defer ts.Close()

	const key = "key-SECRET-2"
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		auth string
		rows int
	}{
		// Stopped early, the checkpoint stays to be read.
		{"flags", nil, []string{"--token", token, "--max", "30"}, "Bearer " + token, 30},
		{"environment", []string{"FOLIO_TOKEN=" + token}, nil, "Bearer " + token, 95},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			out, cp := filepath.Join(t.TempDir(), "out.ndjson"), filepath.Join(t.TempDir(), "cp.json")
			args := append([]string{"harvest", ts.URL + "/v1/t?limit=10", "--out", out, "--checkpoint", cp, "--header", "X-Api-Key: " + key, "--netrc", "none"}, tc.args...)
			code, stdout, stderr := runFolio(t, tc.env, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s %s", code, stdout, stderr)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) < tc.rows/10 {
				t.Fatalf("%d requests", len(seen))
			}
			for i, h := range seen {
				if h.Get("Authorization") != tc.auth || h.Get("X-Api-Key") != key {
					t.Errorf("request %d: Authorization %q, X-Api-Key %q", i, h.Get("Authorization"), h.Get("X-Api-Key"))
				}
			}
			for what, text := range map[string]string{"stdout": stdout, "stderr": stderr, "output": read(t, out), "checkpoint": read(t, cp)} {
				if strings.Contains(text, token) || strings.Contains(text, key) {
					t.Errorf("the %s holds a credential: %.300s", what, text)
				}
			}
			if n := strings.Count(read(t, out), "\n"); n != tc.rows {
				t.Errorf("%d records, want %d", n, tc.rows)
			}
			if tc.rows < 95 && read(t, cp) == "" {
				t.Error("no checkpoint after a harvest stopped early")
			}
		})
	}
	if code, _, stderr := runFolio(t, nil, "harvest", ts.URL+"/v1/t", "--header", "no colon"); code != 2 {
		t.Errorf("a bad --header: exit %d, %s", code, stderr)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}
