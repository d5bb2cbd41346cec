package postgres

import (
	"context"
	"encoding/json"
	"flag"
	"path/filepath"
	"testing"
	"time"

	"folio/dataset"
	"folio/engine"
	"folio/source/sqlgen/sqlgentest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestStatements pins the SQL this source sends for every operator, seek
// form, order and LIMIT/OFFSET form, and for every kind of column
// (testdata/statements.golden). The spellings that decide index use live
// there: the ::type of every parameter, COLLATE "C" on text, starts_with,
// strpos, jsonb's ?& and ?|, the casts of the select list.
func TestStatements(t *testing.T) {
	url := newDB(t, `CREATE TABLE casts (id int4 PRIMARY KEY, u uuid, price numeric, c char(3), d date, at timestamp, data json)`)
	ctx := context.Background()
	if err := Load(ctx, url, []*dataset.Table{sqlgentest.Table()}, nil); err != nil {
		t.Fatal(err)
	}
	s := openSource(t, url, Options{})
	cases := sqlgentest.Cases(t, collection(t, s, "gen"))

	// The column types Load does not create: text and numeric read and
	// compared through a cast, narrower integers, timestamp, date, json.
	c := collection(t, s, "casts")
	values := map[string]engine.Value{
		"u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "price": 1.5, "c": "ab",
		"d": time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), "at": time.Date(2024, 2, 1, 12, 0, 0, 0, time.UTC),
	}
	for _, f := range c.Fields {
		if f == c.KeyField() {
			continue // the gen table's cases cover an int8 key
		}
		if f.Type == engine.TypeJSON {
			cases = append(cases, sqlgentest.Case{Name: "casts: any " + f.Name, Collection: c,
				Filters: []engine.Filter{{Field: f.Name, Op: engine.OpAny, Values: []engine.Value{json.RawMessage("x")}}}})
			continue
		}
		v := values[f.Name]
		order := []engine.OrderKey{{Field: f, Desc: true}, {Field: c.KeyField(), Desc: true}}
		cases = append(cases,
			sqlgentest.Case{Name: "casts: after " + f.Name, Plan: &engine.Plan{Collection: c, Columns: c.Fields,
				Order: order, Seek: engine.SeekAfter(order, []engine.Value{v, int64(7)}), Limit: 3}},
			sqlgentest.Case{Name: "casts: eq and in " + f.Name, Collection: c, Filters: []engine.Filter{
				{Field: f.Name, Op: engine.OpEq, Values: []engine.Value{v}}, {Field: f.Name, Op: engine.OpIn, Values: []engine.Value{v, v}},
			}})
		if f.Type == engine.TypeText {
			cases = append(cases, sqlgentest.Case{Name: "casts: prefix and contains " + f.Name, Collection: c, Filters: []engine.Filter{
				{Field: f.Name, Op: engine.OpPrefix, Values: []engine.Value{"a"}}, {Field: f.Name, Op: engine.OpContains, Values: []engine.Value{"b"}},
			}})
		}
	}
	sqlgentest.Check(t, filepath.Join("testdata", "statements.golden"), *update, cases,
		func(p *engine.Plan) (string, []any, error) { return s.selectSQL(ctx, p) },
		func(c *engine.Collection, f []engine.Cond) (string, []any, error) { return s.countSQL(ctx, c, f) })
}
