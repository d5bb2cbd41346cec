package engine

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// compareRows is the brute-force oracle: lexicographic Compare with each
// term's direction, NULL above every value.
func compareRows(order []OrderKey, cols []*Field, a, b Row) int {
	for _, o := range order {
		i := slices.Index(cols, o.Field)
		c := Compare(a[i], b[i])
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
	val := func(f *Field) Value {
		if f.Nullable && rng.IntN(4) == 0 {
			return nil
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
			order = append(order, OrderKey{Field: fields[i], Desc: rng.IntN(2) == 0})
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
		p := After(order, bv)
		want := compareRows(order, fields, row, bound) > 0
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
