package engine

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// compareRows is the brute-force oracle: lexicographic, each term's NULL
// taken as +infinity (or -infinity where the term puts NULLs low), then
// the term's direction applied.
func compareRows(order []OrderKey, cols []*Field, a, b Row) int {
	for _, o := range order {
		i := slices.Index(cols, o.Field)
		x, y := a[i], b[i]
		var c int
		switch {
		case x == nil && y == nil:
		case x == nil:
			c = 1
		case y == nil:
			c = -1
		default:
			c = Compare(x, y)
		}
		if (x == nil) != (y == nil) && o.NullsLow {
			c = -c
		}
		if o.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// TestAfterMatchesBruteForce holds the keyset predicate against a direct
// comparison for random orders, boundaries and rows full of ties and NULLs.
func TestAfterMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fields := []*Field{
		{Name: "a", Type: TypeInt, Nullable: true},
		{Name: "b", Type: TypeFloat, Nullable: true},
		{Name: "c", Type: TypeText},
		{Name: "d", Type: TypeBool, Nullable: true},
		{Name: "e", Type: TypeInt},
	}
	// Now and then a cell holds what SQLite stores rather than the field's
	// type (see Compare): the predicate must order it the same way.
	mistyped := []Value{"abc", "", int64(1), -0.5, 2.5, []byte{0}, int64(2)}
	val := func(f *Field) Value {
		if f.Nullable && rng.IntN(4) == 0 {
			return nil
		}
		if rng.IntN(8) == 0 {
			return mistyped[rng.IntN(len(mistyped))]
		}
		switch f.Type {
		case TypeInt:
			return int64(rng.IntN(3) - 1)
		case TypeFloat:
			return []float64{-0.5, 0, 2.25}[rng.IntN(3)]
		case TypeText:
			return []string{"", "a", "é"}[rng.IntN(3)]
		}
		return rng.IntN(2) == 0
	}
	for n := 0; n < 20000; n++ {
		perm := rng.Perm(len(fields))[:1+rng.IntN(len(fields))]
		var order []OrderKey
		for _, i := range perm {
			order = append(order, OrderKey{Field: fields[i], Desc: rng.IntN(2) == 0, NullsLow: fields[i].Nullable && rng.IntN(2) == 0})
		}
		row := make(Row, len(fields))
		bound := make(Row, len(fields))
		for i, f := range fields {
			row[i], bound[i] = val(f), val(f)
		}
		var bv []Value
		for _, o := range order {
			bv = append(bv, bound[slices.Index(fields, o.Field)])
		}
		p := SeekAfter(order, bv)
		want := compareRows(order, fields, row, bound) > 0
		// Reading the reversed order is reading the order backwards, and
		// each key's Compare is the oracle's for that key.
		if back := compareRows(reverse(order), fields, row, bound); back != -compareRows(order, fields, row, bound) {
			t.Fatalf("order %v: reversed compares %d", order, back)
		}
		for _, o := range order {
			i := slices.Index(fields, o.Field)
			if got, want := o.Compare(row[i], bound[i]), compareRows([]OrderKey{o}, fields, row, bound); got != want {
				t.Fatalf("key %+v: Compare(%v, %v) = %d, oracle %d", o, row[i], bound[i], got, want)
			}
		}
		if got := p.Matches(fields, row); got != want {
			t.Fatalf("order %v boundary %v row %v: predicate says %v, oracle %v", order, bv, row, got, want)
		}
		if p.Tuple != nil && p.Tuple.Matches(fields, row) != want {
			t.Fatalf("order %v boundary %v row %v: tuple says %v, oracle %v", order, bv, row, !want, want)
		}
		if want {
			// Bound must never exclude a row the disjunction admits.
			for _, a := range p.Bound {
				if !(&Predicate{Or: [][]Atom{{a}}}).Matches(fields, row) {
					t.Fatalf("bound %v excludes a qualifying row %v", a, row)
				}
			}
		}
	}
}

// TestWithoutImpliedBruteForce holds the pruning of range filters against
// a direct evaluation: for every row after the boundary, the filters left
// select exactly what all of them select.
func TestWithoutImpliedBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	fields := []*Field{
		{Name: "a", Type: TypeInt, Nullable: true},
		{Name: "b", Type: TypeInt},
		{Name: "c", Type: TypeText},
		{Name: "d", Type: TypeText, Nullable: true},
	}
	val := func(f *Field) Value {
		if f.Nullable && rng.IntN(4) == 0 {
			return nil
		}
		if f.Type == TypeInt {
			return int64(rng.IntN(5) - 2)
		}
		return []string{"", "a", "b", "é"}[rng.IntN(4)]
	}
	holds := func(f Cond, row Row) bool {
		v := row[slices.Index(fields, f.Field)]
		if v == nil {
			return false
		}
		c := Compare(v, f.Values[0])
		switch f.Op {
		case OpGt:
			return c > 0
		case OpGte:
			return c >= 0
		case OpLt:
			return c < 0
		case OpLte:
			return c <= 0
		}
		return c == 0
	}
	all := func(fs []Cond, row Row) bool {
		for _, f := range fs {
			if !holds(f, row) {
				return false
			}
		}
		return true
	}
	pruned := 0
	for n := 0; n < 20000; n++ {
		perm := rng.Perm(len(fields))[:1+rng.IntN(len(fields))]
		var order []OrderKey
		for _, i := range perm {
			order = append(order, OrderKey{Field: fields[i], Desc: rng.IntN(2) == 0, NullsLow: fields[i].Nullable && rng.IntN(2) == 0})
		}
		bound := make(Row, len(fields))
		for i, f := range fields {
			bound[i] = val(f)
		}
		var bv []Value
		for _, o := range order {
			bv = append(bv, bound[slices.Index(fields, o.Field)])
		}
		var filters []Cond
		for range 1 + rng.IntN(3) {
			f := order[0].Field
			if rng.IntN(4) == 0 {
				f = fields[rng.IntN(len(fields))]
			}
			v := val(f)
			if v == nil {
				continue
			}
			op := []Op{OpGt, OpGte, OpLt, OpLte, OpEq}[rng.IntN(5)]
			filters = append(filters, Cond{Field: f, Op: op, Values: []Value{v}})
		}
		orig := slices.Clone(filters)
		left := withoutImplied(filters, order, bv)
		if !slices.EqualFunc(filters, orig, func(a, b Cond) bool { return a.Field == b.Field && a.Op == b.Op && a.Values[0] == b.Values[0] }) {
			t.Fatal("withoutImplied modified its argument")
		}
		pruned += len(filters) - len(left)
		for range 20 {
			row := make(Row, len(fields))
			for i, f := range fields {
				row[i] = val(f)
			}
			if compareRows(order, fields, row, bound) <= 0 {
				continue
			}
			if all(filters, row) != all(left, row) {
				t.Fatalf("order %v boundary %v filters %v, left %v: row %v differs", order, bv, filters, left, row)
			}
		}
	}
	if pruned < 1000 {
		t.Fatalf("only %d filters pruned: the test does not exercise the pruning", pruned)
	}
}

// TestWithoutImpliedKeyRange is the case that motivates the pruning: a
// cursor walk through one key range keeps only the upper bound.
func TestWithoutImpliedKeyRange(t *testing.T) {
	key := &Field{Name: "id", Type: TypeText}
	filters := []Cond{
		{Field: key, Op: OpGte, Values: []Value{"M"}},
		{Field: key, Op: OpLt, Values: []Value{"T"}},
	}
	asc := []OrderKey{{Field: key}}
	if got := withoutImplied(filters, asc, []Value{"P"}); len(got) != 1 || got[0].Op != OpLt {
		t.Errorf("ascending after P: left %v, want only the upper bound", got)
	}
	if got := withoutImplied(filters, asc, []Value{"A"}); len(got) != 2 {
		t.Errorf("ascending after A (below the range): left %v, want both", got)
	}
	desc := []OrderKey{{Field: key, Desc: true}}
	if got := withoutImplied(filters, desc, []Value{"P"}); len(got) != 1 || got[0].Op != OpGte {
		t.Errorf("descending after P: left %v, want only the lower bound", got)
	}
	nkey := &Field{Name: "id", Type: TypeText, Nullable: true}
	nfilters := []Cond{{Field: nkey, Op: OpGte, Values: []Value{"M"}}, {Field: nkey, Op: OpLt, Values: []Value{"T"}}}
	nullable := []OrderKey{{Field: nkey}}
	if got := withoutImplied(nfilters, nullable, []Value{"P"}); len(got) != 2 {
		t.Errorf("nullable ascending: left %v, want both (NULLs follow P)", got)
	}
}
