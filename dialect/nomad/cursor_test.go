package nomad

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"folio/engine"
)

// TestDateCursor: a date is written as NOMAD writes it, whole epoch
// milliseconds (the millisecond it falls in, before 1970 too), and read
// back as that millisecond, from integers, fractions and RFC 3339 times.
func TestDateCursor(t *testing.T) {
	f := &engine.Field{Name: "t", Type: engine.TypeTime}
	for _, c := range []struct {
		t    time.Time
		text string
	}{
		{time.UnixMilli(1717097142713).UTC(), "1717097142713"},
		{time.UnixMicro(1717097142713999).UTC(), "1717097142713"},
		{time.Unix(0, 1).UTC(), "0"},
		{time.Unix(0, 0).UTC(), "0"},
		{time.UnixMicro(-500).UTC(), "-1"},
		{time.UnixMilli(-1000).UTC(), "-1000"},
		{time.UnixMicro(-1500).UTC(), "-2"},
	} {
		if got := string(appendSortValue(nil, f, c.t)); got != c.text {
			t.Errorf("%v: %q, want %q", c.t, got, c.text)
		}
	}
	for text, want := range map[string]int64{
		"1717097142713": 1717097142713, "1717097142713.999": 1717097142713, "-0.5": -1, "0": 0, "-1000": -1000,
		"2024-05-30T19:25:42.713999Z": 1717097142713, "2024-05-30": 1717027200000,
	} {
		v, err := parseSortValue(f, text)
		if err != nil || !v.(time.Time).Equal(time.UnixMilli(want)) {
			t.Errorf("%q: %v, %v; want the millisecond %d", text, v, err, want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		// Any time to the microsecond, years 1–9999: written and read back,
		// it is the millisecond it falls in.
		sec := rng.Int64N(315537897600) - 62135596800
		tm := time.Unix(sec, rng.Int64N(1e6)*1000).UTC()
		s := string(appendSortValue(nil, f, tm))
		back, err := parseSortValue(f, s)
		if err != nil || !back.(time.Time).Equal(time.UnixMilli(tm.UnixMilli())) || strings.Contains(s, ".") {
			t.Fatalf("%v → %q → %v, %v", tm, s, back, err)
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
		{"time", time.UnixMilli(1514764800000).UTC()}, {"time", nil},
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
	// The id alone; one with a colon, or a leading backslash, is escaped
	// with a backslash, and an unescaped colon is the shape of another
	// order's cursor.
	for _, id := range []string{"zIaQ0vsZ0bx4tE8n6L7pDK7SyM-k", "a:b", `\x`, `\`, ":"} {
		s := string(appendAfter(nil, []engine.OrderKey{{Field: key}}, []engine.Value{id}))
		if got, err := parseAfter(s, nil, key); err != nil || got[0] != id {
			t.Errorf("bare id %q → %q → %v, %v", id, s, got, err)
		}
	}
	if _, err := parseAfter("1717097142713:zIaQ0vsZ0bx4tE8n6L7pDK7SyM-k", nil, key); err == nil {
		t.Error("a <value>:<id> cursor was accepted for the order by entry_id")
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
