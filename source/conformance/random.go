package conformance

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"folio/dataset"
	"folio/engine"
)

// Value pools are small so that ties are common, and hold the values that
// break naive keyset code: NULLs, empty and non-ASCII strings, negative and
// fractional numbers, extreme floats.
var (
	intPool   = []int64{-3, -1, 0, 1, 2, 7}
	floatPool = []float64{-1e300, -2.5, -0.1, 0, 1e-300, 0.1, 0.30000000000000004, 3.5, 1e300}
	textPool  = []string{"", " ", "a", "A", "a b", "ab", "é", "z", "日本", "Ωmega", "a\u00a0"}
	tagPool   = []string{"x", "y", "z", "Ti", "O"}
	pairPool  = []string{"", "B", "a", "é"}
	timeBase  = time.Date(2020, 2, 29, 12, 0, 0, 0, time.UTC)
)

// KeyKind says what key RandomTable gives its table.
type KeyKind int

const (
	IntKey  KeyKind = iota // id, an integer
	TextKey                // id, text
	// PairKey is a key of two fields: id, an integer with ties, and k2, a
	// text column that sets apart rows of one id (as in a join table).
	PairKey
)

// RandomTable returns a table of n rows whose columns cover every scalar
// type, nullable and not, plus a JSON array column, and the key kind asks
// for.
func RandomTable(rng *rand.Rand, name string, n int, kind KeyKind) *dataset.Table {
	textKey := kind == TextKey
	cols := []dataset.Column{
		{Name: "id", Type: engine.TypeInt},
		{Name: "a", Type: engine.TypeInt, Nullable: true},
		{Name: "f", Type: engine.TypeFloat, Nullable: true},
		{Name: "s", Type: engine.TypeText, Nullable: true},
		{Name: "t", Type: engine.TypeTime},
		{Name: "b", Type: engine.TypeBool, Nullable: true},
		{Name: "tags", Type: engine.TypeJSON, Nullable: true},
	}
	if textKey {
		cols[0].Type = engine.TypeText
	}
	key := []string{"id"}
	if kind == PairKey {
		cols = append(cols, dataset.Column{Name: "k2", Type: engine.TypeText})
		key = append(key, "k2")
	}
	rows := make([][]engine.Value, n)
	ids := rng.Perm(n * 3)[:n]
	null := func() bool { return rng.IntN(5) == 0 }
	for i := range rows {
		r := make([]engine.Value, len(cols))
		switch kind {
		case TextKey:
			r[0] = fmt.Sprintf("k%s%04d", textPool[rng.IntN(len(textPool))], ids[i])
		case PairKey:
			// Four rows at most share an id; k2 tells them apart.
			r[0] = int64(ids[i]/len(pairPool)) - int64(n/len(pairPool))
			r[7] = pairPool[ids[i]%len(pairPool)]
		default:
			r[0] = int64(ids[i]) - int64(n)
		}
		if !null() {
			r[1] = intPool[rng.IntN(len(intPool))]
		}
		if !null() {
			r[2] = floatPool[rng.IntN(len(floatPool))]
		}
		if !null() {
			r[3] = textPool[rng.IntN(len(textPool))]
		}
		r[4] = timeBase.Add(time.Duration(rng.IntN(4)) * 1500 * time.Microsecond * 1001)
		if !null() {
			r[5] = rng.IntN(2) == 0
		}
		if !null() {
			k := rng.IntN(4)
			tags := make([]string, 0, k)
			for _, j := range rng.Perm(len(tagPool))[:k] {
				tags = append(tags, tagPool[j])
			}
			slices.Sort(tags)
			r[6] = jsonArray(tags)
		}
		rows[i] = r
	}
	return &dataset.Table{
		Name:    name,
		Columns: cols,
		Key:     key,
		Indexes: []dataset.Index{{Name: name + "_a", Columns: []string{"a", "id"}}, {Name: name + "_t", Columns: []string{"-t", "s"}}},
		Rows: func(yield func([]engine.Value) bool) {
			for _, r := range rows {
				if !yield(r) {
					return
				}
			}
		},
		Len: n,
	}
}

func jsonArray(ss []string) string {
	b := []byte{'['}
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, s...)
		b = append(b, '"')
	}
	return string(append(b, ']'))
}

// RandomQuery returns a random sort over the table's sortable columns and up
// to two random filters with typed values.
func RandomQuery(rng *rand.Rand, t *dataset.Table) engine.Query {
	var q engine.Query
	sortable := []string{"a", "f", "s", "t", "b", "id"}
	if len(t.Key) > 1 {
		sortable = append(sortable, "k2")
	}
	for _, i := range rng.Perm(len(sortable))[:rng.IntN(4)] {
		q.Sort = append(q.Sort, engine.SortKey{Field: sortable[i], Desc: rng.IntN(2) == 0,
			Nulls: []engine.Nulls{engine.NullsDefault, engine.NullsFirst, engine.NullsLast}[rng.IntN(3)]})
	}
	for range rng.IntN(3) {
		q.Filters = append(q.Filters, randomFilter(rng))
	}
	return q
}

func randomFilter(rng *rand.Rand) engine.Filter {
	cmp := []engine.Op{engine.OpEq, engine.OpNe, engine.OpLt, engine.OpLte, engine.OpGt, engine.OpGte}
	switch rng.IntN(10) {
	case 7:
		return engine.Filter{Field: "s", Op: engine.OpContains, Values: []engine.Value{textPool[rng.IntN(len(textPool))]}}
	case 8:
		return engine.Filter{Op: engine.OpOr, Sub: [][]engine.Filter{{randomFilter(rng)}, {randomFilter(rng), randomFilter(rng)}}}
	case 9:
		return engine.Filter{Op: engine.OpNot, Sub: [][]engine.Filter{{randomFilter(rng), randomFilter(rng)}}}
	case 0:
		return engine.Filter{Field: "a", Op: cmp[rng.IntN(len(cmp))], Values: []engine.Value{intPool[rng.IntN(len(intPool))]}}
	case 1:
		return engine.Filter{Field: "f", Op: cmp[rng.IntN(len(cmp))], Values: []engine.Value{floatPool[rng.IntN(len(floatPool))]}}
	case 2:
		if rng.IntN(2) == 0 {
			return engine.Filter{Field: "s", Op: engine.OpPrefix, Values: []engine.Value{textPool[rng.IntN(len(textPool))]}}
		}
		return engine.Filter{Field: "s", Op: engine.OpIn, Values: []engine.Value{textPool[rng.IntN(len(textPool))], textPool[rng.IntN(len(textPool))]}}
	case 3:
		return engine.Filter{Field: []string{"a", "f", "s", "b", "tags"}[rng.IntN(5)], Op: engine.OpNull, Values: []engine.Value{rng.IntN(2) == 0}}
	case 4:
		return engine.Filter{Field: "b", Op: engine.OpEq, Values: []engine.Value{rng.IntN(2) == 0}}
	case 5:
		op := []engine.Op{engine.OpAll, engine.OpAny, engine.OpNone}[rng.IntN(3)]
		var vs []engine.Value
		for _, j := range rng.Perm(len(tagPool))[:1+rng.IntN(2)] {
			vs = append(vs, tagPool[j])
		}
		return engine.Filter{Field: "tags", Op: op, Values: vs}
	}
	return engine.Filter{Field: "t", Op: cmp[rng.IntN(len(cmp))], Values: []engine.Value{timeBase.Add(time.Duration(rng.IntN(4)) * 1500 * time.Microsecond * 1001)}}
}
