package engine

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// TestCompareKinds holds Compare to SQLite's order of storage classes for
// values of different kinds in one field (a mistyped cell beside typed
// ones): numbers by value, exactly, then text, then bytes, NULL above all.
func TestCompareKinds(t *testing.T) {
	tm := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	// Each value sorts strictly before the next.
	ascending := []Value{
		-1e300,
		int64(math.MinInt64),
		-2.5,
		int64(-2),
		false, // 0
		0.5,
		true, // 1
		1.0000000000000002,
		int64(2),
		int64(1<<53 + 1), // not representable as a float64: compared exactly
		float64(1<<53 + 2),
		int64(math.MaxInt64),
		math.Ldexp(1, 63), // 2^63, above every int64
		tm,
		tm.Add(time.Nanosecond),
		"",
		"2024-01-01",
		"abc",
		[]byte{},
		json.RawMessage("[1]"),
		[]byte{0xff},
		nil,
	}
	for i, a := range ascending {
		if c := Compare(a, a); c != 0 {
			t.Errorf("Compare(%#v, itself) = %d", a, c)
		}
		for _, b := range ascending[i+1:] {
			if c := Compare(a, b); c != -1 {
				t.Errorf("Compare(%#v, %#v) = %d, want -1", a, b, c)
			}
			if c := Compare(b, a); c != 1 {
				t.Errorf("Compare(%#v, %#v) = %d, want 1", b, a, c)
			}
		}
	}
	equal := [][2]Value{{int64(1), 1.0}, {true, int64(1)}, {false, 0.0}, {int64(-7), -7.0}, {[]byte("x"), json.RawMessage("x")}}
	for _, p := range equal {
		if Compare(p[0], p[1]) != 0 || Compare(p[1], p[0]) != 0 {
			t.Errorf("%#v and %#v do not compare equal", p[0], p[1])
		}
	}
}
