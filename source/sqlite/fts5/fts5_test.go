package fts5

import (
	"database/sql"
	"os"
	"regexp"
	"testing"

	_ "github.com/mattn/go-sqlite3" // the driver whose connections get FTS5
)

func open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// TestSameSQLite: fts5.c was taken from the SQLite the driver compiles;
// after a driver upgrade, go generate takes it again.
func TestSameSQLite(t *testing.T) {
	h, err := os.ReadFile("sqlite3-binding.h")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`#define SQLITE_VERSION\s+"([0-9.]+)"`).FindSubmatch(h)
	if m == nil {
		t.Fatal("sqlite3-binding.h names no SQLITE_VERSION")
	}
	var running string
	if err := open(t).QueryRow("SELECT sqlite_version()").Scan(&running); err != nil {
		t.Fatal(err)
	}
	if running != string(m[1]) {
		t.Errorf("the driver runs SQLite %s, fts5.c is from %s: run go generate in source/sqlite/fts5", running, m[1])
	}
}

// TestMatch: a connection of the driver has the fts5 module.
func TestMatch(t *testing.T) {
	db := open(t)
	for _, s := range []string{
		`CREATE VIRTUAL TABLE docs USING fts5(title, body)`,
		`INSERT INTO docs VALUES ('Titanium oxides', 'band gaps of TiO2'), ('Iron', 'magnetic order')`,
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	var title string
	if err := db.QueryRow(`SELECT title FROM docs WHERE docs MATCH 'band AND gap*'`).Scan(&title); err != nil || title != "Titanium oxides" {
		t.Errorf("match: %q, %v", title, err)
	}
}
