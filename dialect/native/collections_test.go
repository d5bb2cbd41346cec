package native

import (
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
)

// TestKeyCaveat: a collection keyed by SQLite's implicit rowid says so in
// the listing, beside its key; one with a key of its own says nothing.
func TestKeyCaveat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "caveat.db")
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`CREATE TABLE plain (a TEXT)`, `CREATE TABLE keyed (id INTEGER PRIMARY KEY, a TEXT)`} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	h := New(openEngine(t, path, nil), Options{Path: "/v1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	r := get(h, "/v1")
	var list struct {
		Data []struct {
			Name      string
			Key       string
			KeyCaveat string `json:"key_caveat"`
		}
	}
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	for _, c := range list.Data {
		if (c.KeyCaveat != "") != (c.Name == "plain") {
			t.Errorf("%s (key %s): caveat %q", c.Name, c.Key, c.KeyCaveat)
		}
	}
	if len(list.Data) != 2 {
		t.Errorf("%d collections listed, want 2: %s", len(list.Data), r.body)
	}
}
