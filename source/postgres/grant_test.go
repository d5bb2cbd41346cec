package postgres

import (
	"context"
	"net/url"
	"testing"

	"folio/engine"
)

// TestMissingGrant: a role that may not read a table is answered as the
// server's own fault (never "retry later", which would have clients
// retrying until they give up), pages and counts alike; a column another
// process dropped is unavailable until the collections are discovered
// again.
func TestMissingGrant(t *testing.T) {
	u := newDB(t,
		`CREATE TABLE open (id int PRIMARY KEY, name text)`,
		`CREATE TABLE closed (id int PRIMARY KEY, name text)`,
		`INSERT INTO open VALUES (1, 'a')`,
		`CREATE ROLE reader LOGIN`,
		`GRANT SELECT ON open TO reader`,
	)
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	pu.User = url.User("reader")
	s := openSource(t, pu.String(), Options{VersionEveryCall: true})
	ctx := context.Background()
	closed := collection(t, s, "closed")
	plan := &engine.Plan{Collection: closed, Columns: closed.Fields, Order: []engine.OrderKey{{Field: closed.KeyField()}}, Limit: 5}
	err = s.Query(ctx, plan, func(engine.Row) error { return nil })
	if e, ok := engine.AsError(err); !ok || e.Code != engine.CodeInternal {
		t.Errorf("a page of a table the role may not read: %v, want an internal error", err)
	}
	if _, err := s.Count(ctx, closed, nil); err == nil {
		t.Error("a count of a table the role may not read succeeded")
	} else if e, ok := engine.AsError(err); !ok || e.Code != engine.CodeInternal {
		t.Errorf("a count of a table the role may not read: %v, want an internal error", err)
	}

	open := collection(t, s, "open")
	w := writer(t, u)
	if _, err := w.Exec(ctx, `ALTER TABLE open DROP COLUMN name`); err != nil {
		t.Fatal(err)
	}
	plan = &engine.Plan{Collection: open, Columns: open.Fields, Order: []engine.OrderKey{{Field: open.KeyField()}}, Limit: 5}
	err = s.Query(ctx, plan, func(engine.Row) error { return nil })
	if err == nil {
		t.Fatal("a page naming a dropped column succeeded")
	}
	if e, ok := engine.AsError(err); ok {
		t.Errorf("a page naming a dropped column: %v, want an error the engine reports as unavailable", e)
	}
}

// TestSchemaVersion: another session's CREATE, ALTER and DROP each give a
// new schema version; writes of rows do not.
func TestSchemaVersion(t *testing.T) {
	u := newDB(t, `CREATE TABLE t (id int PRIMARY KEY, name text)`)
	s := openSource(t, u, Options{})
	w := writer(t, u)
	ctx := context.Background()
	last, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		stmt    string
		changes bool
	}{
		{`INSERT INTO t VALUES (1, 'a')`, false},
		{`CREATE TABLE u (id int PRIMARY KEY)`, true},
		{`ALTER TABLE t ADD COLUMN extra text`, true},
		{`UPDATE t SET extra = 'x'`, false},
		{`ALTER TABLE t ALTER COLUMN extra SET NOT NULL`, true},
		{`CREATE INDEX t_extra ON t (extra)`, true},
		{`CREATE VIEW v AS SELECT id FROM t`, true},
		{`DROP TABLE u`, true},
		{`CREATE SCHEMA other; CREATE TABLE other.x (id int)`, false},
	} {
		if _, err := w.Exec(ctx, tc.stmt); err != nil {
			t.Fatal(err)
		}
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
