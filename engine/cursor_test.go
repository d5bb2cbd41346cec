package engine

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func testOrder() []OrderKey {
	return []OrderKey{
		{Field: &Field{Name: "t", Type: TypeTime}, Desc: true},
		{Field: &Field{Name: "f", Type: TypeFloat, Nullable: true}},
		{Field: &Field{Name: "s", Type: TypeText, Nullable: true}},
		{Field: &Field{Name: "b", Type: TypeBool}},
		{Field: &Field{Name: "id", Type: TypeInt}},
	}
}

func testSigner(t testing.TB, secret string) *Signer {
	t.Helper()
	s, err := NewSigner([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCursorRoundTrip(t *testing.T) {
	s := testSigner(t, "0123456789abcdef0123456789abcdef")
	order := testOrder()
	fp := fingerprint("c", nil, order, nil)
	tm := time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.UTC)
	cases := []Cursor{
		{Values: []Value{tm, 0.1, "héllo ✓", true, int64(-5)}},
		{Values: []Value{tm, nil, nil, false, int64(math.MaxInt64)}},
		{Values: []Value{tm, math.SmallestNonzeroFloat64, "", false, int64(math.MinInt64)}},
		{Values: []Value{tm, -math.MaxFloat64, "a\x00b", true, int64(0)}, Before: true},
		// A boundary row whose cells hold what SQLite stored, not the
		// field's type: text in the time and integer fields, an integer in
		// the float field, bytes in the text field, a float in the boolean.
		{Values: []Value{"not a time", int64(3), []byte{0, 0xff}, 0.5, "abc"}},
		{Values: []Value{int64(20240101), "x", int64(7), int64(2), 2.5}, Before: true},
		{FromEnd: true},
	}
	for _, c := range cases {
		tok := s.Encode(fp, c)
		if strings.ContainsAny(tok, "+/=") {
			t.Errorf("token %q is not URL-safe", tok)
		}
		got, err := s.Decode(tok, fp, order)
		if err != nil {
			t.Fatalf("decode %v: %v", c, err)
		}
		if got.Before != c.Before || got.FromEnd != c.FromEnd || len(got.Values) != len(c.Values) {
			t.Fatalf("got %+v, want %+v", got, c)
		}
		for i := range c.Values {
			if Compare(got.Values[i], c.Values[i]) != 0 {
				t.Errorf("value %d: got %#v, want %#v", i, got.Values[i], c.Values[i])
			}
			if f, ok := c.Values[i].(float64); ok && math.Float64bits(f) != math.Float64bits(got.Values[i].(float64)) {
				t.Errorf("float %v not bit-exact", f)
			}
		}
	}
}

// A typical cursor (a timestamp and a 28-character id) stays under 100 characters.
func TestCursorCompact(t *testing.T) {
	s := testSigner(t, "0123456789abcdef0123456789abcdef")
	order := []OrderKey{{Field: &Field{Name: "t", Type: TypeTime}, Desc: true}, {Field: &Field{Name: "id", Type: TypeText}, Desc: true}}
	tok := s.Encode(fingerprint("entries", nil, order, nil), Cursor{Values: []Value{time.Now().UTC(), "zWcyAh3aSN-0tAzpbSc5p5z5aR9f"}})
	if len(tok) >= 100 {
		t.Errorf("cursor is %d characters: %s", len(tok), tok)
	}
}

func TestCursorRejects(t *testing.T) {
	s := testSigner(t, "0123456789abcdef0123456789abcdef")
	other := testSigner(t, "another secret, sixteen bytes or more")
	order := testOrder()
	fp := fingerprint("c", nil, order, nil)
	good := s.Encode(fp, Cursor{Values: []Value{time.Unix(1, 0).UTC(), 1.5, "x", true, int64(7)}})
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	otherFP := fingerprint("c", []Cond{{Field: order[2].Field, Op: OpEq, Values: []Value{"x"}}}, order, nil)
	cases := map[string]struct {
		token string
		fp    [8]byte
		want  string
	}{
		"empty":         {"", fp, "too short"},
		"not base64":    {"!!!", fp, "base64url"},
		"truncated":     {good[:len(good)-3], fp, "signature"},
		"truncated hdr": {good[:12], fp, "too short"},
		"tampered body": {flip(12), fp, "signature"},
		"tampered mac":  {flip(len(raw) - 1), fp, "signature"},
		"version":       {flip(0), fp, "version"},
		"foreign key":   {other.Encode(fp, Cursor{Values: []Value{time.Unix(1, 0).UTC(), 1.5, "x", true, int64(7)}}), fp, "signature"},
		"other query":   {good, otherFP, "different query"},
		"wrong arity":   {s.Encode(fp, Cursor{Values: []Value{int64(1)}}), fp, "values"},
		"wrong type":    {s.Encode(fp, Cursor{Values: []Value{true, 1.5, "x", true, int64(7)}}), fp, "type"},
		"time for int":  {s.Encode(fp, Cursor{Values: []Value{time.Unix(1, 0).UTC(), 1.5, "x", true, time.Unix(1, 0).UTC()}}), fp, "type"},
		"null in key":   {s.Encode(fp, Cursor{Values: []Value{time.Unix(1, 0).UTC(), 1.5, "x", true, nil}}), fp, "NULL"},
	}
	for name, c := range cases {
		_, err := s.Decode(c.token, c.fp, order)
		e, ok := AsError(err)
		if !ok || e.Code != CodeInvalidCursor || e.Param != ParamCursor {
			t.Errorf("%s: got %v, want a 400 cursor error", name, err)
			continue
		}
		if !strings.Contains(e.Message, c.want) {
			t.Errorf("%s: message %q does not say %q", name, e.Message, c.want)
		}
	}
}

func TestFingerprintFilterOrderInsensitive(t *testing.T) {
	order := testOrder()
	a := Cond{Field: order[2].Field, Op: OpEq, Values: []Value{"x"}}
	b := Cond{Field: order[1].Field, Op: OpGt, Values: []Value{1.0}}
	if fingerprint("c", []Cond{a, b}, order, nil) != fingerprint("c", []Cond{b, a}, order, nil) {
		t.Error("filter order changes the fingerprint")
	}
	if fingerprint("c", []Cond{a}, order, nil) == fingerprint("d", []Cond{a}, order, nil) {
		t.Error("collection does not change the fingerprint")
	}
	if fingerprint("c", nil, order, nil) == fingerprint("c", nil, reverse(order), nil) {
		t.Error("direction does not change the fingerprint")
	}
}

// FuzzCursorDecode: no input makes Decode panic, and whatever decodes
// re-encodes to the same token.
func FuzzCursorDecode(f *testing.F) {
	s := testSigner(f, "0123456789abcdef0123456789abcdef")
	order := testOrder()
	fp := fingerprint("c", nil, order, nil)
	f.Add(s.Encode(fp, Cursor{Values: []Value{time.Unix(1, 5).UTC(), 1.5, "x", true, int64(7)}}))
	f.Add(s.Encode(fp, Cursor{FromEnd: true}))
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.Decode(tok, fp, order)
		if err != nil {
			if e, ok := AsError(err); !ok || e.Code != CodeInvalidCursor {
				t.Fatalf("error %v is not a cursor error", err)
			}
			return
		}
		if again := s.Encode(fp, c); again != tok {
			t.Fatalf("re-encoding %q gave %q", tok, again)
		}
	})
}

// TestFingerprintNullPlacement: a cursor issued under one NULL placement
// is refused under another; the default placement keeps the encoding it
// always had, so cursors issued before placements existed stay valid.
func TestFingerprintNullPlacement(t *testing.T) {
	order := testOrder()
	low := slices.Clone(order)
	low[1].NullsLow = true
	if fingerprint("c", nil, order, nil) == fingerprint("c", nil, low, nil) {
		t.Error("NULL placement does not change the fingerprint")
	}
	// The encoding of the default: name, then 1 for descending, 0 for
	// ascending, as before.
	h := sha256.New()
	b := binary.AppendUvarint(nil, 1)
	b = append(b, 'c')
	b = appendFilters(b, nil)
	b = binary.AppendUvarint(b, uint64(len(order)))
	for _, o := range order {
		b = binary.AppendUvarint(b, uint64(len(o.Field.Name)))
		b = append(b, o.Field.Name...)
		if o.Desc {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	h.Write(b)
	var want [8]byte
	copy(want[:], h.Sum(nil))
	if fingerprint("c", nil, order, nil) != want {
		t.Error("the default placement changed the fingerprint of existing cursors")
	}
}

func TestParseSortNulls(t *testing.T) {
	for in, want := range map[string]Sort{
		"-band_gap.nullslast":        {{Field: "band_gap", Desc: true, Nulls: NullsLast}},
		"a.nullsfirst,-b":            {{Field: "a", Nulls: NullsFirst}, {Field: "b", Desc: true}},
		"+a.nullslast, b.nullsfirst": {{Field: "a", Nulls: NullsLast}, {Field: "b", Nulls: NullsFirst}},
		"a":                          {{Field: "a"}},
	} {
		got := ParseSort(in)
		if !slices.Equal(got, want) {
			t.Errorf("ParseSort(%q) = %v, want %v", in, got, want)
		}
		if again := ParseSort(got.String()); !slices.Equal(again, got) {
			t.Errorf("%q does not survive String: %q", in, got.String())
		}
	}
}
