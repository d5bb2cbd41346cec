package conformance

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"folio/dataset"
	"folio/engine"
)

// Store says how a source stores a value of a column's type, for a source
// that keeps whatever a writer puts in a column (SQLite): a time in the
// text layout it writes, a bool as 0 or 1. A value of another kind than
// the type (a mistyped cell) is stored as it is.
type Store func(t engine.Type, v engine.Value) engine.Value

// Mistyped pools: per column of RandomTable, values that a writer could
// store against the column's type and that SQLite keeps as they are (no
// numeric-looking text, which its affinity would convert). Text that is
// no time starts with a letter or is empty, numbers sit among text times,
// text that is not JSON sits in the JSON column.
var mistypedPools = map[string][]engine.Value{
	"a":    {"abc", "", "x y", "é", []byte{0}, []byte("a"), 2.5, -0.5},
	"f":    {"x", "", "abc", []byte{1}},
	"b":    {"maybe", "true", "", int64(2), int64(-1), 0.5},
	"t":    {"not a time", "", "n/a", "zzz", int64(0), 2.5},
	"tags": {"not json", "[", "", []byte{0}},
}

// MistypedTable returns RandomTable's table with about one cell in six of
// its typed columns (integer, float, boolean, time and JSON) replaced by a
// value of another kind, as SQLite lets another writer store: 'abc' in an
// INTEGER column, 'maybe' in a BOOLEAN one, 'not a time' in a DATETIME one,
// text that is not JSON in a JSON one. The key and the text column are
// left alone.
func MistypedTable(rng *rand.Rand, name string, n int, kind KeyKind) *dataset.Table {
	t := RandomTable(rng, name, n, kind)
	var rows [][]engine.Value
	for r := range t.Rows {
		r = slices.Clone(r)
		for i, c := range t.Columns {
			if pool := mistypedPools[c.Name]; pool != nil && rng.IntN(6) == 0 {
				r[i] = pool[rng.IntN(len(pool))]
			}
		}
		rows = append(rows, r)
	}
	t.Rows = func(yield func([]engine.Value) bool) {
		for _, r := range rows {
			if !yield(r) {
				return
			}
		}
	}
	return t
}

// storedOracle judges a source that keeps mistyped cells. Its rows hold
// the values as the source stores them, and so do the filters it is
// given, so that engine.Compare's order of storage classes (numbers, text,
// bytes) is the database's order, text compared byte by byte: a time in
// its stored text beside 'not a time', a boolean as 1 beside 2. A JSON
// cell that is not an array of strings holds no element, as NULL holds
// none: all and any do not match it, none does.
type storedOracle struct {
	*Oracle
	types map[string]engine.Type
	store Store
}

// newStoredOracle collects a table's rows as store stores them.
func newStoredOracle(t *dataset.Table, store Store) storedOracle {
	o := storedOracle{Oracle: NewOracle(t), types: map[string]engine.Type{}, store: store}
	for _, c := range t.Columns {
		o.types[c.Name] = c.Type
	}
	for _, r := range o.Rows {
		for i, c := range t.Columns {
			if c.Type == engine.TypeJSON && r[i] != nil && !stringArray(r[i]) {
				r[i] = "[]"
				continue
			}
			r[i] = store(c.Type, r[i])
		}
	}
	return o
}

// stringArray reports whether v is the text of a JSON array of strings.
func stringArray(v engine.Value) bool {
	s, ok := v.(string)
	var arr []string
	return ok && json.Unmarshal([]byte(s), &arr) == nil
}

// Select answers like Oracle.Select, comparing stored values.
func (o storedOracle) Select(filters []engine.Filter, sort engine.Sort) [][]engine.Value {
	return o.Oracle.Select(o.filters(filters), sort)
}

// filters returns fs with every compared value as the source stores it.
// The null test's flag and the array operators' element texts are no
// column values and stay as they are.
func (o storedOracle) filters(fs []engine.Filter) []engine.Filter {
	out := make([]engine.Filter, len(fs))
	for i, f := range fs {
		switch f.Op {
		case engine.OpOr, engine.OpNot:
			f.Sub = slices.Clone(f.Sub)
			for j, g := range f.Sub {
				f.Sub[j] = o.filters(g)
			}
		case engine.OpNull, engine.OpAll, engine.OpAny, engine.OpNone:
		default:
			vs := make([]engine.Value, len(f.Values))
			for j, v := range f.Values {
				vs[j] = o.store(o.types[f.Field], v)
			}
			f.Values = vs
		}
		out[i] = f
	}
	return out
}

// testMistyped holds invariants 1 and 2 on tables with mistyped cells:
// pages answer, and forward, backward and random walks by cursor, offset
// pages and exact totals agree with SQLite's own order and comparisons of
// the stored values, boundaries on mistyped cells included.
func testMistyped(t *testing.T, h Harness) {
	rng := rand.New(rand.NewPCG(13, 17))
	var tables []*dataset.Table
	var oracles []oracle
	for i := range pagingTables {
		tb := MistypedTable(rng, fmt.Sprintf("mt%02d", i), tableSize(rng, i), KeyKind(i%3))
		tables = append(tables, tb)
		oracles = append(oracles, newStoredOracle(tb, h.Stored))
	}
	harvestRandom(t, h, tables, oracles, 23)
}
