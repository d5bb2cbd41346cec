package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"folio/engine"
	"folio/source/conformance"
)

// logBuffer collects a Source's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns the lines logged so far that contain every one of words.
func (l *logBuffer) lines(words ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		ok := line != ""
		for _, w := range words {
			ok = ok && strings.Contains(line, w)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

// openLogged opens path with a Source that logs into the returned buffer.
func openLogged(t testing.TB, path string) (*Source, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	s, err := Open(context.Background(), path, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, logs
}

// harvest pages through q by cursor, forward from the start or backward
// from the end, limit rows a page, and returns the keys in the query's
// order.
func harvest(t testing.TB, e *engine.Engine, c *engine.Collection, q engine.Query, limit int, backward bool) []int64 {
	t.Helper()
	var keys []int64
	w := engine.Window{Limit: limit}
	if backward {
		w.At = engine.Last{}
	}
	for pages := 0; ; pages++ {
		p, err := e.Page(context.Background(), c, q, w, engine.TotalNone)
		if err != nil {
			t.Fatalf("sort %v limit %d page %d: %v", q.Sort, limit, pages, err)
		}
		k := slices.IndexFunc(p.Columns, func(f *engine.Field) bool { return f.Name == c.Key[0] })
		var page []int64
		for _, r := range p.Rows {
			page = append(page, r[k].(int64))
		}
		if backward {
			keys = append(page, keys...)
			if !p.HasPrev {
				return keys
			}
			w.At = engine.Token(p.Prev)
		} else {
			keys = append(keys, page...)
			if !p.HasNext {
				return keys
			}
			w.At = engine.Token(p.Next)
		}
		if pages > 1000 {
			t.Fatalf("sort %v: the harvest does not end", q.Sort)
		}
	}
}

// sqlOrder returns the ids of table in SQLite's own order of column (NULL
// above every value, as folio orders it), the key breaking ties in the
// same direction.
func sqlOrder(t testing.TB, db *sql.DB, table, column string, desc bool) []int64 {
	t.Helper()
	dir := ""
	if desc {
		dir = " DESC"
	}
	rows, err := db.Query(fmt.Sprintf("SELECT id FROM %s ORDER BY %s IS NULL%s, %s%s, id%s", quote(table), quote(column), dir, quote(column), dir, dir))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// TestMistypedCells: cells that another writer stored against their
// column's type ('abc' in INTEGER, 'maybe' in BOOLEAN, 'not a time' in
// DATETIME, text that is not JSON) are published as stored; every page
// answers; keyset harvests in every direction and page size follow
// SQLite's own order of the column exactly, cursors resuming from a
// mistyped boundary; filters select what SQL selects; and each column
// that holds such a value is logged once, not once per row.
func TestMistypedCells(t *testing.T) {
	path := newDB(t,
		`CREATE TABLE m (id INTEGER PRIMARY KEY, n INTEGER, r REAL, flag BOOLEAN, at DATETIME, j JSON, s TEXT, num NUMERIC)`,
		`INSERT INTO m VALUES
			(1, 5, 1.5, 1, '2024-01-01T00:00:00.000000Z', '["a"]', 'x', 4),
			(2, 'abc', 'x', 'maybe', 'not a time', 'not json', X'6869', 4.5),
			(3, 2.5, 2.0, 2, '', '[]', 'hi', '7'),
			(4, X'00', NULL, 'true', 20240101, X'00', 'y', 1),
			(5, -3, -1.0, 0, '2024-01-02T00:00:00.000000Z', NULL, '', NULL),
			(6, '', 3, 0.5, '2023-12-31T00:00:00.000000Z', '{"k":"a"}', 'z', 2),
			(7, 5, 'x', 1, 'not a time', '["a","b"]', 'x', 4)`,
	)
	s, logs := openLogged(t, path)
	e := conformance.NewEngine(t, s)
	c, err := e.Collection("m")
	if err != nil {
		t.Fatal(err)
	}
	day := func(d int) time.Time { return time.Date(2024, 1, d, 0, 0, 0, 0, time.UTC) }
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	want := []engine.Row{
		{int64(1), int64(5), 1.5, true, day(1), raw(`["a"]`), "x", 4.0},
		{int64(2), "abc", "x", "maybe", "not a time", raw("not json"), []byte("hi"), 4.5},
		{int64(3), 2.5, 2.0, int64(2), "", raw("[]"), "hi", 7.0},
		{int64(4), []byte{0}, nil, "true", int64(20240101), []byte{0}, "y", 1.0},
		{int64(5), int64(-3), -1.0, false, day(2), nil, "", nil},
		{int64(6), "", 3.0, 0.5, day(1).AddDate(0, 0, -1), raw(`{"k":"a"}`), "z", 2.0},
		{int64(7), int64(5), "x", true, "not a time", raw(`["a","b"]`), "x", 4.0},
	}
	if f := field(t, c, "at"); f.Type != engine.TypeTime {
		t.Fatalf("at is published as %v: values that are no time at all must not make a time column text", f.Type)
	}
	p, err := e.Page(context.Background(), c, engine.Query{}, engine.Window{Limit: 100}, engine.TotalNone)
	if err != nil {
		t.Fatalf("a page holding mistyped cells: %v", err)
	}
	if !reflect.DeepEqual(p.Rows, want) {
		t.Errorf("rows\n%#v\nwant\n%#v", p.Rows, want)
	}

	// Sorts: every field, both ways, small pages forward and backward.
	db := writer(t, path)
	for _, name := range []string{"n", "r", "flag", "at", "s", "num"} {
		for _, desc := range []bool{false, true} {
			q := engine.Query{Sort: engine.Sort{{Field: name, Desc: desc}}}
			order := sqlOrder(t, db, "m", name, desc)
			for _, limit := range []int{1, 2, 3} {
				for _, backward := range []bool{false, true} {
					if got := harvest(t, e, c, q, limit, backward); !slices.Equal(got, order) {
						t.Errorf("sort %v limit %d backward %v: ids %v, SQLite orders %v", q.Sort, limit, backward, got, order)
					}
				}
			}
		}
	}

	// Filters select what SQL selects: a mistyped cell sorts by its
	// storage class (numbers, then text, then blobs), so text in an
	// INTEGER column is greater than every number, and a value other than
	// 0 or 1 in a BOOLEAN column is neither true nor false.
	for _, tt := range []struct {
		filter engine.Filter
		want   []int64
	}{
		{engine.Filter{Field: "n", Op: engine.OpGt, Values: []engine.Value{int64(3)}}, []int64{1, 2, 4, 6, 7}},
		{engine.Filter{Field: "n", Op: engine.OpLt, Values: []engine.Value{int64(3)}}, []int64{3, 5}},
		{engine.Filter{Field: "n", Op: engine.OpEq, Values: []engine.Value{int64(5)}}, []int64{1, 7}},
		{engine.Filter{Field: "flag", Op: engine.OpEq, Values: []engine.Value{true}}, []int64{1, 7}},
		{engine.Filter{Field: "flag", Op: engine.OpNe, Values: []engine.Value{true}}, []int64{2, 3, 4, 5, 6}},
		{engine.Filter{Field: "r", Op: engine.OpGte, Values: []engine.Value{2.0}}, []int64{2, 3, 6, 7}},
		{engine.Filter{Field: "at", Op: engine.OpGte, Values: []engine.Value{day(1)}}, []int64{1, 2, 5, 7}},
		{engine.Filter{Field: "at", Op: engine.OpLt, Values: []engine.Value{day(1)}}, []int64{3, 4, 6}},
		// JSON that is not an array of text holds no element: all and
		// any do not match it, none does, and none of them fails.
		{engine.Filter{Field: "j", Op: engine.OpAny, Values: []engine.Value{"a"}}, []int64{1, 6, 7}},
		{engine.Filter{Field: "j", Op: engine.OpAll, Values: []engine.Value{"a", "b"}}, []int64{7}},
		{engine.Filter{Field: "j", Op: engine.OpNone, Values: []engine.Value{"a"}}, []int64{2, 3, 4, 5}},
	} {
		q := engine.Query{Filters: []engine.Filter{tt.filter}}
		if got := harvest(t, e, c, q, 2, false); !slices.Equal(got, tt.want) {
			t.Errorf("%v: ids %v, want %v", tt.filter, got, tt.want)
		}
		total, err := e.Total(context.Background(), c, q, engine.TotalExact)
		if err != nil || total.Count != int64(len(tt.want)) {
			t.Errorf("%v: total %v, %v; want %d", tt.filter, total, err, len(tt.want))
		}
	}

	// One line per column that holds a misfit, however many rows and
	// queries read it: at from discovery (with the count), the others
	// from the first read.
	for _, col := range []string{"n", "r", "flag", "at", "s", "j"} {
		if got := logs.lines("column="+col+" ", "not"); len(got) != 1 {
			t.Errorf("column %s logged %d times, want once:\n%s", col, len(got), strings.Join(got, "\n"))
		}
	}
	if got := logs.lines("column=at ", "values=4"); len(got) != 1 {
		t.Errorf("discovery does not count the 4 misfits of at: %v", logs.lines("column=at "))
	}
	for _, col := range []string{"num", "id"} {
		if got := logs.lines("column=" + col + " "); len(got) != 0 {
			t.Errorf("column %s holds no misfit but is logged: %v", col, got)
		}
	}
}

// TestJSONWrittenLater: a JSON column that held only JSON at discovery has
// unguarded array filters; text that is not JSON written since guards the
// column as soon as a statement meets it, and that statement goes on past
// it (it holds no element), so no request fails.
func TestJSONWrittenLater(t *testing.T) {
	e, c, logs := jsonWrittenLater(t)
	q := engine.Query{Filters: []engine.Filter{{Field: "tags", Op: engine.OpNone, Values: []engine.Value{"a"}}}}
	// The statement that meets it guards the column and goes on after the
	// rows it has sent: the page is whole, and no request fails.
	p, err := e.Page(context.Background(), c, q, engine.Window{Limit: 10}, engine.TotalNone)
	if err != nil {
		t.Fatalf("the statement that meets text that is not JSON: %v", err)
	}
	var first []int64
	for _, r := range p.Rows {
		first = append(first, p.Value(r, "id").(int64))
	}
	if !slices.Equal(first, []int64{2, 3, 4}) {
		t.Errorf("tags[none]=a on the page that met it: %v, want [2 3 4]", first)
	}
	if got := harvest(t, e, c, q, 2, false); !slices.Equal(got, []int64{2, 3, 4}) {
		t.Errorf("tags[none]=a afterwards: %v, want [2 3 4]", got)
	}
	if got := logs.lines("column=tags ", "not JSON"); len(got) != 1 {
		t.Errorf("%d log lines for tags, want 1: %v", len(got), got)
	}
}

// TestJSONWrittenLaterCount: a count that meets text that is not JSON,
// written since discovery, guards the column and counts again.
func TestJSONWrittenLaterCount(t *testing.T) {
	e, c, _ := jsonWrittenLater(t)
	q := engine.Query{Filters: []engine.Filter{{Field: "tags", Op: engine.OpNone, Values: []engine.Value{"a"}}}}
	if n, err := e.Total(context.Background(), c, q, engine.TotalExact); err != nil || n.Count != 3 {
		t.Errorf("count of tags[none]=a: %+v, %v; want 3", n, err)
	}
}

// jsonWrittenLater serves a JSON column that holds only JSON at discovery,
// unguarded, then has another writer store text that is not JSON in it.
func jsonWrittenLater(t *testing.T) (*engine.Engine, *engine.Collection, *logBuffer) {
	t.Helper()
	path := newDB(t,
		`CREATE TABLE j (id INTEGER PRIMARY KEY, tags JSON)`,
		`INSERT INTO j VALUES (1, '["a"]'), (2, '["b"]'), (3, NULL)`,
	)
	s, logs := openLogged(t, path)
	e := conformance.NewEngine(t, s)
	c, err := e.Collection("j")
	if err != nil {
		t.Fatal(err)
	}
	if s.jsonGuarded("j", "tags") {
		t.Fatal("a column of valid JSON is guarded: every array filter on it would pay for json_valid")
	}
	if _, err := writer(t, path).Exec(`INSERT INTO j VALUES (4, 'not json')`); err != nil {
		t.Fatal(err)
	}
	return e, c, logs
}
