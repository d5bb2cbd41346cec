package sqlite

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"folio/dataset"
	"folio/engine"
)

// tableOf builds a dataset table from literal rows.
func tableOf(name, key string, cols []dataset.Column, rows [][]engine.Value, idx ...dataset.Index) *dataset.Table {
	return &dataset.Table{
		Name: name, Key: strings.Split(key, ","), Columns: cols, Indexes: idx, Len: len(rows),
		Rows: func(yield func([]engine.Value) bool) {
			for _, r := range rows {
				if !yield(r) {
					return
				}
			}
		},
	}
}

func TestRoundTrip(t *testing.T) {
	ts := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	cols := []dataset.Column{
		{Name: "id", Type: engine.TypeInt},
		{Name: "f", Type: engine.TypeFloat, Nullable: true},
		{Name: "s", Type: engine.TypeText, Nullable: true},
		{Name: "at", Type: engine.TypeTime, Nullable: true},
		{Name: "b", Type: engine.TypeBytes, Nullable: true},
		{Name: "ok", Type: engine.TypeBool, Nullable: true},
		{Name: "j", Type: engine.TypeJSON, Nullable: true},
		{Name: "n", Type: engine.TypeInt, Nullable: true},
	}
	rows := [][]engine.Value{
		{int64(1), -0.5, "", ts("2024-01-02T03:04:05.123456Z"), []byte{}, true, `["Ti","O"]`, int64(math.MaxInt64)},
		{int64(2), 1e300, "héllo wörld ✓ 日本語 🧪", ts("1970-01-01T00:00:00Z"), []byte{0, 1, 2, 255}, false, `[]`, int64(math.MinInt64)},
		{int64(3), -1e-300, "tab\tnewline\nquote'\"back\\slash", ts("1969-12-31T23:59:59.999999Z"), []byte("text-like"), nil, `{"a":[1,2]}`, int64(0)},
		{int64(4), 3.0, "  spaces  ", ts("9999-12-31T23:59:59.999999Z"), nil, true, nil, int64(-7)},
		{int64(5), math.MaxFloat64, "\x00nul", ts("2000-02-29T12:00:00.000001Z"), []byte{0}, false, `["x"]`, nil},
		{int64(6), math.SmallestNonzeroFloat64, "ß", ts("2024-06-30T23:59:59Z"), nil, nil, nil, int64(42)},
		{int64(7), 0.1 + 0.2, "a", nil, nil, nil, nil, nil},
		{int64(8), nil, nil, nil, nil, nil, nil, nil},
		{int64(9), -123456.789e-7, "Z", ts("2024-01-02T03:04:05Z"), nil, nil, nil, nil},
	}
	path := filepath.Join(t.TempDir(), "rt.db")
	if err := Load(context.Background(), path, []*dataset.Table{tableOf("rt", "id", cols, rows)}, nil); err != nil {
		t.Fatal(err)
	}
	s := openSource(t, path)
	c := collection(t, s, "rt")
	got := run(t, s, allPlan(c))
	if len(got) != len(rows) {
		t.Fatalf("%d rows, want %d", len(got), len(rows))
	}
	for i, want := range rows {
		for j, w := range want {
			g := got[i][j]
			switch wv := w.(type) {
			case string:
				if cols[j].Type == engine.TypeJSON {
					w = json.RawMessage(wv)
				}
			case float64:
				if gf, ok := g.(float64); !ok || math.Float64bits(gf) != math.Float64bits(wv) {
					t.Errorf("row %d %s: got %v (%T), want %v bit-exact", i+1, cols[j].Name, g, g, wv)
				}
				continue
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("row %d %s: got %#v (%T), want %#v (%T)", i+1, cols[j].Name, g, g, w, w)
			}
		}
	}

	// Every value found by equality with itself: binding matches storage.
	for i, want := range rows {
		for j, w := range want {
			f := c.Fields[j]
			if w == nil || f.Type == engine.TypeJSON {
				continue
			}
			if f.Type == engine.TypeBytes {
				w = slices.Clone(w.([]byte))
			}
			p := allPlan(c)
			p.Filters = conds(t, c, engine.Filter{Field: f.Name, Op: engine.OpEq, Values: []engine.Value{w}})
			found := false
			for _, r := range run(t, s, p) {
				found = found || r[0] == rows[i][0]
			}
			if !found {
				t.Errorf("row %d not found by %s = %v", i+1, f.Name, w)
			}
		}
	}
}

func TestDetectLayout(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"2024-01-02T03:04:05.123456Z", "2006-01-02T15:04:05.000000Z", true},
		{"2024-01-02T03:04:05.000Z", "2006-01-02T15:04:05.000Z", true},
		{"2024-01-02T03:04:05Z", "2006-01-02T15:04:05Z", true},
		{"2024-01-02 03:04:05", "2006-01-02 15:04:05", true},
		{"2024-01-02 03:04:05.123", "2006-01-02 15:04:05.000", true},
		{"2024-01-02T03:04", "2006-01-02T15:04", true},
		{"2024-01-02T03:04:05+00:00", "2006-01-02T15:04:05-07:00", true},
		{"2024-01-02", "2006-01-02", true},
		{"03:04:05", "", false},
		{"yesterday", "", false},
		{"2024-13-02", "", false},
		{"2024-01-02X03:04:05", "", false},
	}
	for _, tt := range tests {
		l, ok := detectLayout(tt.in)
		if ok != tt.ok || l.text != tt.want {
			t.Errorf("detectLayout(%q) = %q, %v; want %q, %v", tt.in, l.text, ok, tt.want, tt.ok)
		}
	}
}

// TestTimeLayouts checks that times stored in other layouts than Load's
// are read correctly and compared in SQL in their own layout, including
// filter times finer than the column keeps.
func TestTimeLayouts(t *testing.T) {
	path := newDB(t,
		`CREATE TABLE spaced (id INTEGER PRIMARY KEY, at DATETIME)`,
		`INSERT INTO spaced VALUES (1, '2024-01-01 10:00:00'), (2, '2024-01-01 10:00:01'), (3, '2024-01-02 00:00:00'), (4, NULL)`,
		`CREATE TABLE days (id INTEGER PRIMARY KEY, at DATE)`,
		`INSERT INTO days VALUES (1, '2024-01-01'), (2, '2024-01-02'), (3, '2024-02-01')`,
		`CREATE TABLE unix (id INTEGER PRIMARY KEY, at TIMESTAMP)`,
		`INSERT INTO unix VALUES (1, 1704103200), (2, 1704103201), (3, 1704153600)`,
		`CREATE TABLE clock (id INTEGER PRIMARY KEY, at TIME)`,
		`INSERT INTO clock VALUES (1, '10:00:00')`,
	)
	s := openSource(t, path)
	at := func(s string) time.Time {
		v, err := engine.ParseValue(engine.TypeTime, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.(time.Time)
	}
	tests := []struct {
		table string
		op    engine.Op
		value string
		want  []int64
	}{
		{"spaced", engine.OpEq, "2024-01-01T10:00:00Z", []int64{1}},
		{"spaced", engine.OpGt, "2024-01-01T10:00:00Z", []int64{2, 3}},
		{"spaced", engine.OpGte, "2024-01-01T10:00:00.5Z", []int64{2, 3}},
		{"spaced", engine.OpLt, "2024-01-01T10:00:00.5Z", []int64{1}},
		{"spaced", engine.OpLte, "2024-01-01T10:00:00.5Z", []int64{1}},
		{"spaced", engine.OpGt, "2024-01-01T10:00:00.5Z", []int64{2, 3}},
		{"spaced", engine.OpEq, "2024-01-01T10:00:00.5Z", nil},
		{"spaced", engine.OpNe, "2024-01-01T10:00:00.5Z", []int64{1, 2, 3}},
		{"spaced", engine.OpIn, "2024-01-01T10:00:01Z", []int64{2}},
		{"spaced", engine.OpLt, "2024-01-02", []int64{1, 2}},
		{"days", engine.OpGte, "2024-01-02", []int64{2, 3}},
		{"days", engine.OpLt, "2024-01-01T12:00:00Z", []int64{1}},
		{"unix", engine.OpEq, "2024-01-01T10:00:00Z", []int64{1}},
		{"unix", engine.OpGt, "2024-01-01T10:00:00Z", []int64{2, 3}},
		{"unix", engine.OpLt, "2024-01-01T10:00:00.1Z", []int64{1}},
	}
	for _, tt := range tests {
		t.Run(tt.table+"/"+string(tt.op)+"/"+tt.value, func(t *testing.T) {
			c := collection(t, s, tt.table)
			p := allPlan(c)
			p.Filters = conds(t, c, engine.Filter{Field: "at", Op: tt.op, Values: []engine.Value{at(tt.value)}})
			var ids []int64
			for _, r := range run(t, s, p) {
				ids = append(ids, r[0].(int64))
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("ids %v, want %v", ids, tt.want)
			}
		})
	}

	// Reading converts every layout to UTC times.
	c := collection(t, s, "unix")
	if got := run(t, s, allPlan(c))[0][1]; got != at("2024-01-01T10:00:00Z") {
		t.Errorf("unix seconds read as %v", got)
	}
	c = collection(t, s, "spaced")
	if got := run(t, s, allPlan(c))[1][1]; got != at("2024-01-01T10:00:01Z") {
		t.Errorf("spaced time read as %v", got)
	}
	// A time-of-day column cannot be ordered as an instant: it is text.
	if f := field(t, collection(t, s, "clock"), "at"); f.Type != engine.TypeText {
		t.Errorf("TIME column of clock values is %v, want text", f.Type)
	}
}

func TestDecodeMixedStorage(t *testing.T) {
	// SQLite types values, not columns: a number of another storage class
	// comes out as the field's type, since SQL compares numbers by value;
	// text in a BOOLEAN column and a blob in a TEXT column come out as
	// stored, since no filter on true or on the text "hi" finds them
	// (TestMistypedCells).
	path := newDB(t,
		`CREATE TABLE mixed (id INTEGER PRIMARY KEY, r REAL, n NUMERIC, flag BOOLEAN, t TEXT)`,
		`INSERT INTO mixed VALUES (1, 3, 4, 1, 'x'), (2, 2.5, 4.5, 0, 12), (3, -0.0, '7', 'true', X'6869')`,
	)
	s := openSource(t, path)
	got := run(t, s, allPlan(collection(t, s, "mixed")))
	want := []engine.Row{
		{int64(1), 3.0, 4.0, true, "x"},
		{int64(2), 2.5, 4.5, false, "12"},
		{int64(3), 0.0, 7.0, "true", []byte("hi")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}

func TestParseUTC(t *testing.T) {
	tests := []string{
		"2024-01-02T03:04:05.123456Z", "2024-01-02T03:04:05Z", "2024-01-02 03:04:05", "2024-01-02T03:04:05.1",
		"2024-01-02T03:04:05.123456789Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "2024-02-29T00:00:00Z",
	}
	for _, s := range tests {
		got, ok := parseUTC(s)
		want, err := time.Parse("2006-01-02T15:04:05.999999999Z", strings.Replace(strings.TrimSuffix(s, "Z"), " ", "T", 1)+"Z")
		if !ok || err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseUTC(%q) = %v, %v; want %v (%v)", s, got, ok, want, err)
		}
	}
	for _, s := range []string{
		"", "2024-01-02", "2024-01-02T03:04", "2024-01-02T03:04:05+02:00", "2024-02-30T00:00:00Z", "2024-13-01T00:00:00Z",
		"2024-01-02T24:00:00Z", "2024-01-02T03:04:05.Z", "2024-01-02T03:04:05.1234567890Z", "2024-01-02X03:04:05", "2o24-01-02T03:04:05",
		"2024-01-02T03:04:05ZZ", "2024-01-02T03:04:60Z",
	} {
		if got, ok := parseUTC(s); ok {
			t.Errorf("parseUTC(%q) = %v, want failure", s, got)
		}
	}
}

// TestLayoutRead: a stored value is read as a time only in its column's
// own layout, byte for byte; in any other it sits elsewhere in SQL's text
// order than its time, and is published as stored.
func TestLayoutRead(t *testing.T) {
	layout := func(sample string) timeLayout {
		l, ok := detectLayout(sample)
		if !ok {
			t.Fatalf("no layout for %q", sample)
		}
		return l
	}
	tests := []struct {
		layout timeLayout
		in     string
		want   string // RFC 3339 in UTC; "" when not read
	}{
		{textLayout(loadLayout, 0), "2024-01-02T03:04:05.123456Z", "2024-01-02T03:04:05.123456Z"},
		{textLayout(loadLayout, 0), "2024-01-02 03:04:05.123456Z", ""},
		{textLayout(loadLayout, 0), "2024-01-02T03:04:05.1234567", ""},
		{textLayout(loadLayout, 0), "2024-01-02T03:04:05.12345Z", ""},
		{textLayout(loadLayout, 0), "2024-01-02T03:04:05Z", ""},
		{textLayout(loadLayout, 0), "2024-02-30T00:00:00.000000Z", ""},
		{textLayout(loadLayout, 0), "2024-01-02T03:04:05.12345xZ", ""},
		{textLayout(loadLayout, 0), "not a time, 27 bytes long..", ""},
		{layout("2024-01-02 03:04:05"), "2025-12-31 08:00:00", "2025-12-31T08:00:00Z"},
		{layout("2024-01-02 03:04:05"), "2025-12-31T08:00:00", ""},
		{layout("2024-01-02 03:04:05"), "2025-12-31 08:00:0Z", ""},
		{layout("2024-01-02T03:04:05Z"), "2025-12-31T08:00:00Z", "2025-12-31T08:00:00Z"},
		{layout("2024-01-02T03:04:05Z"), "2025-12-31T08:00:001", ""},
		{layout("2024-01-02"), "2025-12-31", "2025-12-31T00:00:00Z"},
		{layout("2024-01-02"), "2025/12/31", ""},
		{layout("2024-01-02T03:04"), "2025-12-31T08:30", "2025-12-31T08:30:00Z"},
		{layout("2024-01-02T03:04:05+02:00"), "2024-01-01T10:00:00+02:00", "2024-01-01T08:00:00Z"},
		{layout("2024-01-02T03:04:05+02:00"), "2024-01-01T10:00:00+00:00", ""},
		{layout("2024-01-02T03:04:05+00:00"), "2024-01-01T10:00:00+00:00", "2024-01-01T10:00:00Z"},
		{timeLayout{unix: true}, "2024-01-01T10:00:00Z", ""},
	}
	for _, tt := range tests {
		got, ok := tt.layout.read(tt.in)
		if tt.want == "" {
			if ok {
				t.Errorf("layout %q read %q as %v; it is not in the layout", tt.layout.shape, tt.in, got)
			}
			continue
		}
		want, err := time.Parse(time.RFC3339Nano, tt.want)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("layout %q read %q as %v, %v; want %v", tt.layout.shape, tt.in, got, ok, want)
		}
	}
}
