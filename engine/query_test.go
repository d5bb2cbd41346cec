package engine

import (
	"slices"
	"testing"
	"time"
)

// TestOpsFor holds the engine to its own table: a filter with an operator
// that OpsFor lists for the field's type is accepted, every other operator
// is refused, for every type. Listings advertise OpsFor, so this is what
// makes them true.
func TestOpsFor(t *testing.T) {
	samples := map[Type]Value{
		TypeText:  "a",
		TypeInt:   int64(1),
		TypeFloat: 1.5,
		TypeBool:  true,
		TypeTime:  time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		TypeBytes: []byte{1, 2},
		TypeJSON:  "a", // an array's elements are compared as text
	}
	for typ := TypeText; typ <= TypeJSON; typ++ {
		sample, ok := samples[typ]
		if !ok {
			t.Fatalf("no sample value for %v", typ)
		}
		f := &Field{Name: "f", Type: typ, Nullable: true, Filterable: true, Sortable: true}
		c := &Collection{Name: "c", Fields: []*Field{f}}
		ops := OpsFor(typ)
		if len(ops) == 0 {
			t.Errorf("%v: no operator applies", typ)
		}
		for _, op := range Ops {
			v := sample
			if op == OpNull {
				v = true
			}
			_, err := resolve(c, Query{Filters: []Filter{{Field: "f", Op: op, Values: []Value{v}}}}, Principal{})
			if want := slices.Contains(ops, op); (err == nil) != want {
				t.Errorf("%v %s: error %v, advertised %v", typ, op, err, want)
			}
		}
	}
	if got := OpsFor(TypeInt); slices.Contains(got, OpContains) || slices.Contains(got, OpPrefix) {
		t.Errorf("OpsFor(int) = %v: text operators on a number", got)
	}
}
