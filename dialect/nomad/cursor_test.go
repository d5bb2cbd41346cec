package nomad

import (
	"math/rand/v2"
	"testing"
	"time"

	"folio/engine"
)

func TestMillisRoundTrip(t *testing.T) {
	cases := []struct {
		t    time.Time
		text string
	}{
		{time.UnixMilli(1717097142713).UTC(), "1717097142713"},
		{time.UnixMicro(1514764800000123).UTC(), "1514764800000.123"},
		{time.Unix(0, 1).UTC(), "0.000001"},
		{time.Unix(0, 0).UTC(), "0"},
		{time.UnixMicro(-500).UTC(), "-0.5"},
		{time.UnixMilli(-1000).UTC(), "-1000"},
		{time.UnixMicro(-1500).UTC(), "-1.5"},
	}
	for _, c := range cases {
		if got := string(appendMillis(nil, c.t)); got != c.text {
			t.Errorf("appendMillis(%v) = %q, want %q", c.t, got, c.text)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		// Any time to the nanosecond's thousandth digit, years 1–9999.
		sec := rng.Int64N(315537897600) - 62135596800
		tm := time.Unix(sec, rng.Int64N(1e6)*1000).UTC()
		if rng.IntN(4) == 0 {
			tm = tm.Truncate(time.Millisecond)
		}
		s := string(appendMillis(nil, tm))
		back, ok := parseMillis(s)
		if !ok || !back.Equal(tm) {
			t.Fatalf("%v → %q → %v, %v", tm, s, back, ok)
		}
	}
	for _, bad := range []string{"", "-", "1.", ".5", "1.1234567", "1e3", "0x10", "1234567890123456", "12a"} {
		if _, ok := parseMillis(bad); ok {
			t.Errorf("parseMillis(%q) accepted", bad)
		}
	}
}

func TestAfterRoundTrip(t *testing.T) {
	key := &engine.Field{Name: "entry_id", Type: engine.TypeText}
	fields := map[string]*engine.Field{
		"text":     {Name: "s", Type: engine.TypeText, Nullable: true},
		"int":      {Name: "n", Type: engine.TypeInt},
		"float":    {Name: "f", Type: engine.TypeFloat, Nullable: true},
		"bool":     {Name: "b", Type: engine.TypeBool},
		"time":     {Name: "t", Type: engine.TypeTime, Nullable: true},
		"textnull": {Name: "s", Type: engine.TypeText, Nullable: true},
	}
	cases := []struct {
		field string
		v     engine.Value
	}{
		{"text", "cubic"}, {"text", "a:b:c"}, {"text", "None"}, {"text", `\None`}, {"text", ""}, {"textnull", nil},
		{"int", int64(-3)}, {"float", 3.5}, {"float", 1e-300}, {"float", nil}, {"bool", true}, {"bool", false},
		{"time", time.UnixMicro(1514764800000123).UTC()}, {"time", nil},
	}
	for _, c := range cases {
		f := fields[c.field]
		order := []engine.OrderKey{{Field: f}, {Field: key}}
		s := string(appendAfter(nil, order, []engine.Value{c.v, "id_01"}))
		got, err := parseAfter(s, f, key)
		if err != nil {
			t.Errorf("%s %v → %q: %v", c.field, c.v, s, err)
			continue
		}
		if engine.Compare(got[0], c.v) != 0 || got[1] != "id_01" {
			t.Errorf("%s %v → %q → %v", c.field, c.v, s, got)
		}
	}
	// The id alone, colons and all.
	if got, err := parseAfter("a:b", nil, key); err != nil || got[0] != "a:b" {
		t.Errorf("bare id: %v, %v", got, err)
	}
	intKey := &engine.Field{Name: "id", Type: engine.TypeInt}
	for _, bad := range []struct {
		s     string
		order *engine.Field
		key   *engine.Field
	}{
		{"5", fields["int"], key}, {"x:id", fields["int"], key}, {"1.5:id", fields["int"], key},
		{"maybe:id", fields["bool"], key}, {"None:id", fields["int"], key}, {"1:x", fields["int"], intKey}, {"x", nil, intKey},
	} {
		if _, err := parseAfter(bad.s, bad.order, bad.key); err == nil {
			t.Errorf("parseAfter(%q) accepted", bad.s)
		}
	}
}
