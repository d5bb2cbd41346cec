package sqlite

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"folio/engine"
)

func TestCollections(t *testing.T) {
	path := newDB(t,
		`CREATE TABLE ipk (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, flag BOOLEAN NOT NULL,
			at DATETIME, day DATE, stamp TIMESTAMP, data BLOB, tags JSON, n NUMERIC, d DECIMAL(10,2),
			v VARCHAR(20), big BIGINT, dbl DOUBLE PRECISION, fl FLOAT, c CLOB, other MONEY)`,
		`INSERT INTO ipk (id, name, flag, at, day, stamp) VALUES (1, 'a', 1, '2024-01-02T03:04:05.123456Z', '2024-01-02', '2024-01-02 03:04:05')`,
		`CREATE TABLE textpk (code TEXT PRIMARY KEY NOT NULL, x INT)`,
		`CREATE TABLE nullpk (code TEXT PRIMARY KEY, x INT)`,
		`CREATE TABLE uniq (a TEXT, email TEXT NOT NULL UNIQUE, nick TEXT UNIQUE)`,
		`CREATE TABLE uniqnull (email TEXT UNIQUE)`,
		`CREATE TABLE uniqidx (a INTEGER NOT NULL, b TEXT NOT NULL)`,
		`CREATE UNIQUE INDEX uniqidx_b ON uniqidx (b)`,
		`CREATE TABLE composite (a TEXT, b INT, PRIMARY KEY (a, b)) WITHOUT ROWID`,
		`CREATE TABLE compnn (a TEXT NOT NULL, b INT NOT NULL, c TEXT, PRIMARY KEY (b, a))`,
		`CREATE TABLE compnull (a TEXT, b INT, PRIMARY KEY (a, b))`,
		`CREATE TABLE worowid (k TEXT PRIMARY KEY, v REAL) WITHOUT ROWID`,
		`CREATE TABLE plain (a TEXT, b INTEGER)`,
		`CREATE TABLE shadow (rowid TEXT, b INTEGER)`,
		`CREATE TABLE "odd ""name""" ("we""ird" TEXT)`,
		`CREATE TABLE gen (a INTEGER PRIMARY KEY, b INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL)`,
		`CREATE VIEW v AS SELECT id, name, score * 2 AS doubled, length(name) AS len, 'x' || name AS label FROM ipk`,
	)
	s := openSource(t, path)
	cols, err := s.Collections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*engine.Collection{}
	for _, c := range cols {
		if strings.HasPrefix(c.Name, "sqlite_") {
			t.Errorf("internal table %s published", c.Name)
		}
		if c.Table != c.Name {
			t.Errorf("collection %s has table %s", c.Name, c.Table)
		}
		got[c.Name] = c
	}

	type fieldWant struct {
		name     string
		typ      engine.Type
		nullable bool
	}
	tests := []struct {
		table  string
		key    string
		fields []fieldWant
	}{
		{"ipk", "id", []fieldWant{
			{"id", engine.TypeInt, false}, {"name", engine.TypeText, false}, {"score", engine.TypeFloat, true},
			{"flag", engine.TypeBool, false}, {"at", engine.TypeTime, true}, {"day", engine.TypeTime, true},
			{"stamp", engine.TypeTime, true}, {"data", engine.TypeBytes, true}, {"tags", engine.TypeJSON, true},
			{"n", engine.TypeFloat, true}, {"d", engine.TypeFloat, true}, {"v", engine.TypeText, true},
			{"big", engine.TypeInt, true}, {"dbl", engine.TypeFloat, true}, {"fl", engine.TypeFloat, true},
			{"c", engine.TypeText, true}, {"other", engine.TypeText, true},
		}},
		{"textpk", "code", []fieldWant{{"code", engine.TypeText, false}, {"x", engine.TypeInt, true}}},
		// A rowid table's PRIMARY KEY admits NULL unless declared NOT NULL.
		{"nullpk", "rowid", []fieldWant{{"rowid", engine.TypeInt, false}, {"code", engine.TypeText, true}, {"x", engine.TypeInt, true}}},
		{"uniq", "email", []fieldWant{{"a", engine.TypeText, true}, {"email", engine.TypeText, false}, {"nick", engine.TypeText, true}}},
		{"uniqnull", "rowid", []fieldWant{{"rowid", engine.TypeInt, false}, {"email", engine.TypeText, true}}},
		{"uniqidx", "b", []fieldWant{{"a", engine.TypeInt, false}, {"b", engine.TypeText, false}}},
		// A key of several columns, in the primary key's order; a rowid
		// table's only when every one is declared NOT NULL.
		{"composite", "a,b", []fieldWant{{"a", engine.TypeText, false}, {"b", engine.TypeInt, false}}},
		{"compnn", "b,a", []fieldWant{{"a", engine.TypeText, false}, {"b", engine.TypeInt, false}, {"c", engine.TypeText, true}}},
		{"compnull", "rowid", []fieldWant{{"rowid", engine.TypeInt, false}, {"a", engine.TypeText, true}, {"b", engine.TypeInt, true}}},
		{"worowid", "k", []fieldWant{{"k", engine.TypeText, false}, {"v", engine.TypeFloat, true}}},
		{"plain", "rowid", []fieldWant{{"rowid", engine.TypeInt, false}, {"a", engine.TypeText, true}, {"b", engine.TypeInt, true}}},
		{"shadow", "", []fieldWant{{"rowid", engine.TypeText, true}, {"b", engine.TypeInt, true}}},
		{`odd "name"`, "rowid", []fieldWant{{"rowid", engine.TypeInt, false}, {`we"ird`, engine.TypeText, true}}},
		{"gen", "a", []fieldWant{{"a", engine.TypeInt, false}, {"b", engine.TypeInt, true}}},
		// Views report no NOT NULL; computed columns are typed by sampling
		// (doubled has only NULLs, so stays text).
		{"v", "", []fieldWant{
			{"id", engine.TypeInt, true}, {"name", engine.TypeText, true}, {"doubled", engine.TypeText, true},
			{"len", engine.TypeInt, true}, {"label", engine.TypeText, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.table, func(t *testing.T) {
			c := got[tt.table]
			if c == nil {
				t.Fatalf("table %s not discovered", tt.table)
			}
			if strings.Join(c.Key, ",") != tt.key {
				t.Errorf("key %q, want %q", c.Key, tt.key)
			}
			if len(c.DefaultSort) != 0 {
				t.Errorf("default sort %v, want none", c.DefaultSort)
			}
			if len(c.Fields) != len(tt.fields) {
				t.Fatalf("%d fields, want %d", len(c.Fields), len(tt.fields))
			}
			for i, w := range tt.fields {
				f := c.Fields[i]
				if f.Name != w.name || f.Type != w.typ || f.Nullable != w.nullable {
					t.Errorf("field %d = %s %v nullable=%v, want %s %v nullable=%v", i, f.Name, f.Type, f.Nullable, w.name, w.typ, w.nullable)
				}
				if f.Sortable != w.typ.Scalar() || !f.Filterable || f.Hidden {
					t.Errorf("field %s sortable=%v filterable=%v hidden=%v", f.Name, f.Sortable, f.Filterable, f.Hidden)
				}
			}
			// Every discovered collection must be queryable as discovered.
			run(t, s, allPlan(c))
		})
	}
	if n := len(got); n != len(tests) {
		t.Errorf("%d collections, want %d", n, len(tests))
	}
}

func TestDeclaredType(t *testing.T) {
	tests := []struct {
		decl string
		want engine.Type
	}{
		{"INTEGER", engine.TypeInt}, {"int", engine.TypeInt}, {"BIGINT", engine.TypeInt}, {"UNSIGNED BIG INT", engine.TypeInt},
		{"REAL", engine.TypeFloat}, {"double", engine.TypeFloat}, {"FLOAT", engine.TypeFloat}, {"NUMERIC", engine.TypeFloat}, {"DECIMAL(10,5)", engine.TypeFloat},
		{"BOOLEAN", engine.TypeBool}, {"bool", engine.TypeBool},
		{"DATE", engine.TypeTime}, {"DATETIME", engine.TypeTime}, {"TIMESTAMP", engine.TypeTime}, {"timestamptz", engine.TypeTime}, {"TIME", engine.TypeTime},
		{"BLOB", engine.TypeBytes}, {"JSON", engine.TypeJSON}, {"jsonb", engine.TypeJSON},
		{"TEXT", engine.TypeText}, {"VARCHAR(255)", engine.TypeText}, {"NCHAR(5)", engine.TypeText}, {"CLOB", engine.TypeText}, {"MONEY", engine.TypeText}, {"", engine.TypeText},
	}
	for _, tt := range tests {
		if got := declaredType(tt.decl); got != tt.want {
			t.Errorf("declaredType(%q) = %v, want %v", tt.decl, got, tt.want)
		}
	}
}

func TestOpenMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.db")
	_, err := Open(context.Background(), path, Options{})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open of a missing file: %v, want an error naming %s", err, path)
	}
	if _, serr := os.Stat(path); !os.IsNotExist(serr) {
		t.Errorf("Open created %s", path)
	}
}

func TestOpenNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(context.Background(), path, Options{}); err == nil {
		s.Close()
		t.Fatal("Open of a junk file succeeded")
	}
}

func TestQuote(t *testing.T) {
	tests := map[string]string{"a": "`a`", `we"ird`: "`we\"ird`", "we`ird": "`we``ird`", "``": "``````", "x y": "`x y`"}
	for in, want := range tests {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestOpenPool checks the settings Open promises: a rollback-journal file is
// switched to WAL, and the read pool cannot write.
func TestOpenPool(t *testing.T) {
	path := newDB(t, `PRAGMA journal_mode=DELETE`, `CREATE TABLE t (id INTEGER PRIMARY KEY)`)
	s := openSource(t, path)
	var mode string
	if err := s.pools.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q, %v; want wal", mode, err)
	}
	if _, err := s.pools.db.Exec("INSERT INTO t VALUES (1)"); err == nil {
		t.Error("the read pool wrote to the database")
	}
	var timeout int
	if err := s.pools.db.QueryRow("PRAGMA busy_timeout").Scan(&timeout); err != nil || timeout != busyTimeoutMS {
		t.Errorf("busy timeout %d, %v", timeout, err)
	}
}

// TestUnreadableObjects: a view over a dropped table and a virtual table
// whose module this SQLite lacks are skipped with a warning that names
// them; the rest of the database is served.
func TestUnreadableObjects(t *testing.T) {
	path := newDB(t,
		`CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT)`,
		`CREATE TABLE b (y TEXT)`,
		`CREATE VIEW good AS SELECT id, x FROM a`,
		`CREATE VIEW broken AS SELECT y FROM b`,
		`DROP TABLE b`,
		// As a database made by a SQLite with another module would hold it.
		`PRAGMA writable_schema = ON`,
		`INSERT INTO sqlite_schema (type, name, tbl_name, rootpage, sql) VALUES ('table', 'geo', 'geo', 0, 'CREATE VIRTUAL TABLE geo USING nosuchmodule(a, b)')`,
		`PRAGMA writable_schema = OFF`,
	)
	var log bytes.Buffer
	s, err := Open(context.Background(), path, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, names := discovered(t, s); !slices.Equal(names, []string{"a", "good"}) {
		t.Errorf("collections %v, want [a good]", names)
	}
	for _, want := range []string{`name=broken`, `no such table`, `name=geo`, `no such module: nosuchmodule`} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the warnings do not say %q:\n%s", want, log.String())
		}
	}
}

// TestVirtualTables: virtual tables of the modules compiled in are served
// like tables, keyed by their rowid; the shadow tables that hold their
// data are not published.
func TestVirtualTables(t *testing.T) {
	path := newDB(t,
		`CREATE VIRTUAL TABLE boxes USING rtree(id, minx, maxx)`,
		`INSERT INTO boxes VALUES (1, 0, 1), (2, 5, 7)`,
		`CREATE VIRTUAL TABLE notes USING fts4(body)`,
		`INSERT INTO notes (body) VALUES ('hello world'), ('good bye')`,
	)
	s := openSource(t, path)
	cols, names := discovered(t, s)
	for _, c := range cols {
		if rows := run(t, s, allPlan(c)); len(rows) != 2 {
			t.Errorf("%s: %d rows, want 2", c.Name, len(rows))
		}
	}
	if !slices.Equal(names, []string{"boxes", "notes"}) {
		t.Errorf("collections %v, want [boxes notes] without their shadow tables", names)
	}
}

// TestRowidKeyCaveat: a table keyed by SQLite's implicit rowid, which
// VACUUM may renumber, says so beside its key and in the log; a table
// with a key of its own does not.
func TestRowidKeyCaveat(t *testing.T) {
	path := newDB(t,
		`CREATE TABLE plain (a TEXT, b INTEGER)`,
		`CREATE TABLE ipk (id INTEGER PRIMARY KEY, a TEXT)`,
		`CREATE TABLE uniq (code TEXT NOT NULL UNIQUE, a TEXT)`,
		`INSERT INTO plain VALUES ('x', 1)`)
	s, logs := openLogged(t, path)
	for name, want := range map[string]bool{"plain": true, "ipk": false, "uniq": false} {
		c := collection(t, s, name)
		if got := c.KeyCaveat != ""; got != want {
			t.Errorf("%s (key %s): caveat %q, want one: %v", name, c.Key, c.KeyCaveat, want)
		}
	}
	if got := logs.lines("table=plain", "VACUUM"); len(got) == 0 {
		t.Error("no warning names the table keyed by its rowid")
	}
	if got := logs.lines("table=ipk", "VACUUM"); len(got) != 0 {
		t.Errorf("a table with an INTEGER PRIMARY KEY is warned about: %v", got)
	}
}
