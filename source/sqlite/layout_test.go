package sqlite

import (
	"context"
	"slices"
	"testing"
	"time"

	"folio/engine"
	"folio/source/conformance"
)

// TestTimeColumnLayouts: a time column is published as time only when its
// stored times share one layout, in which SQL's text order is time order;
// with two layouts (SQLite's own datetime() beside RFC 3339, or two
// offsets) it is text, with a warning, so that what a page shows, what a
// filter selects and where a cursor resumes all follow the stored text.
func TestTimeColumnLayouts(t *testing.T) {
	path := newDB(t,
		`CREATE TABLE mixed (id INTEGER PRIMARY KEY, at DATETIME)`,
		`INSERT INTO mixed VALUES (1, '2025-12-31T07:00:00.000000Z'), (2, datetime('2025-12-31 08:00:00')),
			(3, '2025-12-31T09:00:00.000000Z'), (4, datetime('2025-12-30 23:00:00')), (5, NULL), (6, '2026-01-01T00:00:00.000000Z')`,
		`CREATE TABLE offsets (id INTEGER PRIMARY KEY, at DATETIME)`,
		`INSERT INTO offsets VALUES (1, '2024-01-01T10:00:00+02:00'), (2, '2024-01-01T09:30:00+00:00')`,
		`CREATE TABLE unixtext (id INTEGER PRIMARY KEY, at TIMESTAMP)`,
		`INSERT INTO unixtext VALUES (1, 1704103200), (2, '2024-01-01 10:00:00')`,
		`CREATE TABLE zoned (id INTEGER PRIMARY KEY, at DATETIME)`,
		`INSERT INTO zoned VALUES (1, '2024-01-01T10:00:00+02:00'), (2, '2024-01-01T11:30:00+02:00'), (3, '2024-01-01T12:00:00+02:00')`,
		`CREATE TABLE late (id INTEGER PRIMARY KEY, at DATETIME)`,
		`INSERT INTO late VALUES (1, 'n/a'), (2, '2025-12-31 07:00:00'), (3, '2025-12-31 09:00:00')`,
		// More mistyped values than discovery samples, first in the table
		// and at the top of an index on the column.
		`CREATE TABLE gathered (id INTEGER PRIMARY KEY, at DATETIME)`,
		`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 100) INSERT INTO gathered SELECT i, 'n/a' FROM seq`,
		`INSERT INTO gathered VALUES (101, '2025-12-31T07:00:00Z'), (102, '2025-12-31T08:00:00Z')`,
		`CREATE INDEX gathered_at ON gathered (at DESC)`,
	)
	s, logs := openLogged(t, path)
	e := conformance.NewEngine(t, s)
	db := writer(t, path)
	coll := func(name string) *engine.Collection {
		c, err := e.Collection(name)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	for _, name := range []string{"mixed", "offsets", "unixtext"} {
		if f := field(t, coll(name), "at"); f.Type != engine.TypeText {
			t.Errorf("%s.at, times in two layouts, is published as %v, want text", name, f.Type)
		}
		if got := logs.lines("table="+name+" ", "more than one layout"); len(got) != 1 {
			t.Errorf("%s.at: %d warnings of two layouts, want 1", name, len(got))
		}
	}
	for _, name := range []string{"zoned", "late", "gathered"} {
		if f := field(t, coll(name), "at"); f.Type != engine.TypeTime {
			t.Errorf("%s.at, one layout, is published as %v, want time", name, f.Type)
		}
	}

	// As text, order and filters follow the stored text, and every value
	// is shown as stored.
	c := coll("mixed")
	for _, desc := range []bool{false, true} {
		q := engine.Query{Sort: engine.Sort{{Field: "at", Desc: desc}}}
		want := sqlOrder(t, db, "mixed", "at", desc)
		for _, limit := range []int{1, 2, 4} {
			for _, backward := range []bool{false, true} {
				if got := harvest(t, e, c, q, limit, backward); !slices.Equal(got, want) {
					t.Errorf("mixed sort %v limit %d backward %v: %v, want %v", q.Sort, limit, backward, got, want)
				}
			}
		}
	}
	q := engine.Query{Filters: []engine.Filter{{Field: "at", Op: engine.OpGte, Values: []engine.Value{"2025-12-31"}}}, Sort: engine.Sort{{Field: "at"}}}
	p, err := e.Page(context.Background(), c, q, engine.Window{Limit: 10}, engine.TotalNone)
	if err != nil {
		t.Fatal(err)
	}
	var shown []engine.Value
	for _, r := range p.Rows {
		shown = append(shown, r[1])
	}
	if want := []engine.Value{"2025-12-31 08:00:00", "2025-12-31T07:00:00.000000Z", "2025-12-31T09:00:00.000000Z", "2026-01-01T00:00:00.000000Z"}; !slices.Equal(shown, want) {
		t.Errorf("at[gte]=2025-12-31 shows %q, want %q", shown, want)
	}

	// One layout with an offset: filters bind times in that offset, so
	// that the text comparison is the time comparison.
	c = coll("zoned")
	for _, tt := range []struct {
		op   engine.Op
		at   string
		want []int64
	}{
		{engine.OpGte, "2024-01-01T09:00:00Z", []int64{2, 3}},
		{engine.OpLte, "2024-01-01T09:30:00Z", []int64{1, 2}},
		{engine.OpLt, "2024-01-01T09:30:00Z", []int64{1}},
		{engine.OpEq, "2024-01-01T08:00:00Z", []int64{1}},
	} {
		at, _ := time.Parse(time.RFC3339, tt.at)
		q := engine.Query{Filters: []engine.Filter{{Field: "at", Op: tt.op, Values: []engine.Value{at}}}}
		if got := harvest(t, e, c, q, 2, false); !slices.Equal(got, tt.want) {
			t.Errorf("zoned at[%s]=%s: %v, want %v", tt.op, tt.at, got, tt.want)
		}
	}
	p, err = e.Page(context.Background(), c, engine.Query{}, engine.Window{Limit: 1}, engine.TotalNone)
	if err != nil || !p.Rows[0][1].(time.Time).Equal(time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("zoned time read as %v (%v)", p.Rows, err)
	}

	// A first value that is no time does not hide the layout of the rest.
	c = coll("late")
	p, err = e.Page(context.Background(), c, engine.Query{}, engine.Window{Limit: 3}, engine.TotalNone)
	if err != nil || p.Rows[0][1] != "n/a" || !p.Rows[1][1].(time.Time).Equal(time.Date(2025, 12, 31, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("late: %v (%v)", p.Rows, err)
	}
}

// TestTimeWrittenLater: a time written after discovery in another layout
// than the column's (SQLite's datetime() into a column of RFC 3339 text)
// is shown as stored, since SQL orders it by its text among the others;
// cursors resume on it exactly, in every direction and page size, and the
// column is logged once.
func TestTimeWrittenLater(t *testing.T) {
	path := newDB(t,
		`CREATE TABLE uniform (id INTEGER PRIMARY KEY, at DATETIME NOT NULL)`,
		`CREATE INDEX uniform_at ON uniform (at, id)`,
		`INSERT INTO uniform VALUES (1, '2025-12-31T07:00:00.000000Z'), (2, '2025-12-31T09:00:00.000000Z'),
			(3, '2025-12-30T23:00:00.000000Z'), (4, '2026-01-01T00:00:00.000000Z'), (5, '2025-12-31T09:00:00.000000Z')`,
	)
	s, logs := openLogged(t, path)
	e := conformance.NewEngine(t, s)
	c, err := e.Collection("uniform")
	if err != nil {
		t.Fatal(err)
	}
	if f := field(t, c, "at"); f.Type != engine.TypeTime {
		t.Fatalf("at is %v, want time", f.Type)
	}
	db := writer(t, path)
	if _, err := db.Exec(`INSERT INTO uniform VALUES (6, datetime('2025-12-31 08:00:00')), (7, datetime('2025-12-31 08:00:00')), (8, '2025-12-31 10:00:00')`); err != nil {
		t.Fatal(err)
	}
	for _, desc := range []bool{false, true} {
		q := engine.Query{Sort: engine.Sort{{Field: "at", Desc: desc}}}
		want := sqlOrder(t, db, "uniform", "at", desc)
		for _, limit := range []int{1, 2, 3} {
			for _, backward := range []bool{false, true} {
				if got := harvest(t, e, c, q, limit, backward); !slices.Equal(got, want) {
					t.Errorf("sort %v limit %d backward %v: %v, want %v", q.Sort, limit, backward, got, want)
				}
			}
		}
	}
	p, err := e.Page(context.Background(), c, engine.Query{Fields: []string{"at"}}, engine.Window{Limit: 10}, engine.TotalNone)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Rows[5][1]; got != "2025-12-31 08:00:00" {
		t.Errorf("a time in another layout is shown as %#v, want its stored text", got)
	}
	if got := logs.lines("column=at ", "not"); len(got) != 1 {
		t.Errorf("%d log lines for at, want 1: %v", len(got), got)
	}
}
