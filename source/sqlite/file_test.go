package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"folio/engine"
)

// within is how soon the source must notice what happened to its file:
// the "second or two" an operator can expect.
const within = 2 * time.Second

// dbFile writes a database file at path with stmts run on a connection of
// its own, closed before it returns, as a file built elsewhere is.
func dbFile(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open(driverName, dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// names builds a database of one table whose rows are the names given.
func names(rows ...string) []string {
	stmts := []string{`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)`}
	for _, r := range rows {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO t (name) VALUES ('%s')`, r))
	}
	return stmts
}

// served returns the names the source serves, or its error.
func served(s *Source, c *engine.Collection) ([]string, error) {
	var out []string
	plan := &engine.Plan{Collection: c, Columns: []*engine.Field{c.Field("name")}, Order: []engine.OrderKey{{Field: c.KeyField()}}}
	err := s.Query(context.Background(), plan, func(r engine.Row) error {
		out = append(out, r[0].(string))
		return nil
	})
	return out, err
}

// eventually polls cond until it holds, failing the test after within.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
	}
	t.Fatalf("not within %s: %s (last: %s)", within, what, last)
}

// unavailable waits until both Version and a query fail, as they must
// when the file cannot be served, with an error that is not a
// cancellation (the engine would take that for the client's).
func unavailable(t *testing.T, s *Source, c *engine.Collection, want string) {
	t.Helper()
	eventually(t, fmt.Sprintf("the database reported unavailable: %s", want), func() (bool, string) {
		_, verr := s.Version(context.Background())
		_, qerr := served(s, c)
		says := func(err error) bool { return err != nil && strings.Contains(err.Error(), want) }
		return says(verr) && says(qerr), fmt.Sprintf("version: %v, query: %v", verr, qerr)
	})
	if _, err := served(s, c); errors.Is(err, context.Canceled) {
		t.Errorf("query on an unavailable database: %v, a cancellation", err)
	}
}

// serving waits until the source answers with want.
func serving(t *testing.T, s *Source, c *engine.Collection, want ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("the database served %v", want), func() (bool, string) {
		_, verr := s.Version(context.Background())
		got, qerr := served(s, c)
		return verr == nil && qerr == nil && strings.Join(got, ",") == strings.Join(want, ","), fmt.Sprintf("%v, version: %v, query: %v", got, verr, qerr)
	})
}

func watched(t *testing.T, rows ...string) (string, *Source, *engine.Collection) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "data.db")
	dbFile(t, path, names(rows...)...)
	s := openSource(t, path)
	c := collection(t, s, "t")
	serving(t, s, c, rows...)
	return path, s, c
}

// TestDeletedFile: a deleted file is reported within a second or two,
// although open connections could still read it; a file put back at the
// path is served.
func TestDeletedFile(t *testing.T) {
	path, s, c := watched(t, "a", "b")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	unavailable(t, s, c, "no such file")
	dbFile(t, path+".new", names("c")...)
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	serving(t, s, c, "c")
}

// TestReplacedFile: a file renamed over the one served is served in its
// place, with a new version, and the statements still running on the old
// file are interrupted, reporting the replacement.
func TestReplacedFile(t *testing.T) {
	var rows []string
	for i := range 100 {
		rows = append(rows, fmt.Sprint("r", i))
	}
	path, s, c := watched(t, rows...)
	v0, err := s.Version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dbFile(t, path+".new", names("x", "y")...)

	// A statement on the old file, slow enough to be running while the
	// file is replaced.
	first, ended := make(chan struct{}), make(chan error, 1)
	go func() {
		// A page (a limit), which steps the statement row by row as emit
		// takes them.
		plan := &engine.Plan{Collection: c, Columns: []*engine.Field{c.Field("name")}, Order: []engine.OrderKey{{Field: c.KeyField()}}, Limit: 101}
		ended <- s.Query(context.Background(), plan, func(engine.Row) error {
			select {
			case <-first:
			default:
				close(first)
			}
			time.Sleep(50 * time.Millisecond)
			return nil
		})
	}()
	<-first
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	serving(t, s, c, "x", "y")
	if v, err := s.Version(context.Background()); err != nil || v == v0 {
		t.Errorf("version %d after the replacement, %v; want other than %d", v, err, v0)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, errReplaced) {
			t.Errorf("the statement on the replaced file ended with %v, want %v", err, errReplaced)
		}
	case <-time.After(within):
		t.Error("the statement on the replaced file still runs")
	}
}

// TestReplacedOtherSchema: a replacement whose tables differ from those
// published is served, and says so by a new schema version; a collection
// discovered before it is unavailable where its column is gone (never a
// fault of folio's, never a wrong answer), and the collections discovered
// again serve the new file.
func TestReplacedOtherSchema(t *testing.T) {
	path, s, c := watched(t, "a")
	ctx := context.Background()
	v0, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dbFile(t, path+".new", `CREATE TABLE t (id INTEGER PRIMARY KEY, title TEXT)`, `INSERT INTO t (title) VALUES ('new')`)
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a new schema version", func() (bool, string) {
		v, err := s.SchemaVersion(ctx)
		return err == nil && v != v0, fmt.Sprintf("%q, %v", v, err)
	})
	_, err = served(s, c)
	if e, ok := engine.AsError(err); !ok || e.Code != engine.CodeUnavailable || e.Err == nil || !strings.Contains(e.Err.Error(), "no such column") {
		t.Errorf("the old collection on the new file: %v", err)
	}
	c2 := collection(t, s, "t")
	if c2.Field("title") == nil || c2.Field("name") != nil {
		t.Fatalf("discovered again: %v", c2.Fields)
	}
	var got []any
	plan := &engine.Plan{Collection: c2, Columns: []*engine.Field{c2.Field("title")}, Order: []engine.OrderKey{{Field: c2.KeyField()}}}
	if err := s.Query(ctx, plan, func(r engine.Row) error { got = append(got, r[0]); return nil }); err != nil || len(got) != 1 || got[0] != "new" {
		t.Errorf("the new collection: %v, %v", got, err)
	}
}

// TestSchemaVersion: another connection's CREATE, ALTER and DROP each
// give a new schema version; reads and writes of rows do not.
func TestSchemaVersion(t *testing.T) {
	path, s, _ := watched(t, "a")
	ctx := context.Background()
	last, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		stmt    string
		changes bool
	}{
		{`INSERT INTO t (name) VALUES ('b')`, false},
		{`CREATE TABLE u (id INTEGER PRIMARY KEY)`, true},
		{`ALTER TABLE t ADD COLUMN extra TEXT`, true},
		{`UPDATE t SET extra = 'x'`, false},
		{`CREATE INDEX t_extra ON t (extra)`, true},
		{`DROP TABLE u`, true},
	} {
		dbFile(t, path, tc.stmt)
		v, err := s.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if (v != last) != tc.changes {
			t.Errorf("%s: schema version %q after %q", tc.stmt, v, last)
		}
		last = v
	}
}

// TestUnreadableFile: a file the process may no longer read is reported
// within a second or two, and served again once it may.
func TestUnreadableFile(t *testing.T) {
	path, s, c := watched(t, "a")
	if os.Getuid() == 0 {
		// access(2) asks for the real user, and root may read any file:
		// the test runs as folio would under a user of its own.
		for _, dir := range []string{filepath.Dir(path), filepath.Dir(filepath.Dir(path))} {
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := syscall.Setreuid(65534, -1); err != nil {
			t.Fatalf("become nobody: %v", err)
		}
		defer func() {
			if err := syscall.Setreuid(0, -1); err != nil {
				t.Fatalf("become root again: %v", err)
			}
		}()
		time.Sleep(checkEvery) // the next look at the file is as nobody
		serving(t, s, c, "a")
	}
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	unavailable(t, s, c, "permission denied")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	serving(t, s, c, "a")
}
