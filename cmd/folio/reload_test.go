package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// TestServeFollowsTheSchema: folio serve publishes a table another process
// creates, drops a column another process drops (a cursor that sorted on
// it is then a 400, never a wrong page, and nothing answers 500 in
// between), and on SIGHUP reads its configuration file again; a file that
// no longer applies changes nothing.
func TestServeFollowsTheSchema(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "live.db")
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(stmt string) {
		t.Helper()
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)`)
	exec(`INSERT INTO t (name) VALUES ('b'), ('a'), ('c')`)
	cfg := filepath.Join(dir, "folio.yaml")
	if err := os.WriteFile(cfg, []byte("collections: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, folioBinary(t), os.Environ(), time.Minute, "serve", "--db", path, "--config", cfg, "--addr", "127.0.0.1:0", "--schema-poll", "100ms")
	v1 := s.public + "/v1"
	eventually := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10 s\n%s", what, s.stderr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	status := func(u string) int { st, _ := get(t, u); return st }

	if st := status(v1 + "/u"); st != 404 {
		t.Fatalf("/v1/u before the table exists: %d", st)
	}
	exec(`CREATE TABLE u (id INTEGER PRIMARY KEY, x TEXT)`)
	exec(`INSERT INTO u (x) VALUES ('new')`)
	eventually("the new table served", func() bool { return status(v1+"/u") == 200 })

	// A cursor of a sort on name, then name dropped.
	_, body := get(t, v1+"/t?sort=name&limit=1")
	var page struct {
		Links map[string]string `json:"links"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil || page.Links["next"] == "" {
		t.Fatalf("first page: %v %s", err, body)
	}
	next := page.Links["next"]
	exec(`ALTER TABLE t DROP COLUMN name`)
	eventually("the dropped column gone", func() bool {
		st, body := get(t, v1+"/t")
		if st != 200 && st != 503 {
			t.Fatalf("/v1/t while the column is dropped: %d %s", st, body)
		}
		return st == 200 && !strings.Contains(body, `"name"`)
	})
	if st, body := get(t, next); st != 400 {
		t.Errorf("the cursor of a sort on the dropped column: %d %s", st, body)
	}

	// SIGHUP reads the file again.
	if err := os.WriteFile(cfg, []byte("collections:\n  t:\n    name: things\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.proc.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually("the renamed collection served", func() bool { return status(v1+"/things") == 200 && status(v1+"/t") == 404 })
	if err := os.WriteFile(cfg, []byte("collections:\n  nope:\n    name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.proc.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually("the bad file reported", func() bool { return strings.Contains(s.stderr.String(), "the collections stay as they are") })
	if st := status(v1 + "/things"); st != 200 {
		t.Errorf("after a configuration that does not apply: /v1/things %d", st)
	}
}
