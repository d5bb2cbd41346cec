package engine

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Cursor wire format, before base64url (no padding):
//
//	version(1) | flags(1) | fingerprint(8) | values... | mac(16)
//
// Each value is a tag byte and a payload. The MAC is HMAC-SHA256 over
// everything before it, truncated to 128 bits. The fingerprint binds the
// cursor to its collection, filters and sort; it is checked after the MAC so
// that a client learns "wrong query" only for a genuine cursor.
const (
	cursorVersion = 1
	macLen        = 16
	headerLen     = 10

	flagBefore  = 1 << 0 // rows before the boundary (a backward page)
	flagFromEnd = 1 << 1 // the last page: backward from the end, no boundary
)

const (
	tagNull byte = iota
	tagInt
	tagFloat
	tagText
	tagBytes
	tagTime
	tagFalse
	tagTrue
)

// Cursor is a decoded position: a boundary row's sort values and a direction.
//
// A boundary value is of its field's type, or, when the boundary row holds
// a value of another kind (SQLite stores 'abc' in an INTEGER column if a
// writer puts it there; see Compare), that value as it is stored: an
// integer, a float, text or bytes. The source compares the stored value
// with the column as the database orders them, so a page that ends on such
// a row neither skips nor repeats a row. Cursors are signed, so only
// values folio itself read from the database come back this way.
type Cursor struct {
	Before  bool    // a backward page: rows strictly before Values
	FromEnd bool    // the last page; Values is empty
	Values  []Value // the boundary row's values, one per order key
}

// Signer signs and verifies cursors with one secret. Every node that shares
// the secret accepts every other node's cursors.
type Signer struct {
	secret []byte
}

// NewSigner returns a Signer for secret, which must be at least 16 bytes.
func NewSigner(secret []byte) (*Signer, error) {
	if len(secret) < 16 {
		return nil, fmt.Errorf("cursor secret must be at least 16 bytes, got %d", len(secret))
	}
	return &Signer{secret: slices.Clone(secret)}, nil
}

func (s *Signer) mac(b []byte) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write(b)
	return m.Sum(nil)[:macLen]
}

// Encode returns the token for c, bound to the query fingerprint fp.
func (s *Signer) Encode(fp [8]byte, c Cursor) string {
	b := make([]byte, 0, 64)
	var flags byte
	if c.Before {
		flags |= flagBefore
	}
	if c.FromEnd {
		flags |= flagFromEnd
	}
	b = append(b, cursorVersion, flags)
	b = append(b, fp[:]...)
	for _, v := range c.Values {
		b = appendValue(b, v)
	}
	b = append(b, s.mac(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode verifies token and checks it against the query fingerprint fp and
// the order it must continue. Every failure is a *Error with CodeInvalidCursor.
func (s *Signer) Decode(token string, fp [8]byte, order []OrderKey) (Cursor, error) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || !urlSafe(token) {
		return Cursor{}, invalidCursor("cursor is not valid base64url: it was truncated or altered")
	}
	if len(raw) < headerLen+macLen {
		return Cursor{}, invalidCursor("cursor is too short: it was truncated")
	}
	if raw[0] != cursorVersion {
		return Cursor{}, invalidCursor("cursor format version %d is not supported (this server writes version %d); start again from the first page", raw[0], cursorVersion)
	}
	body, sum := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	if !hmac.Equal(sum, s.mac(body)) {
		return Cursor{}, invalidCursor("cursor signature does not verify: it was altered, truncated or issued by a server with another secret")
	}
	if [8]byte(body[2:10]) != fp {
		return Cursor{}, invalidCursor("cursor belongs to a different query: keep the collection, filters and sort of the request that issued it")
	}
	c := Cursor{Before: body[1]&flagBefore != 0, FromEnd: body[1]&flagFromEnd != 0}
	if body[1]&^(flagBefore|flagFromEnd) != 0 {
		return Cursor{}, invalidCursor("cursor has unknown flags")
	}
	rest := body[headerLen:]
	for len(rest) > 0 {
		var v Value
		v, rest, err = readValue(rest)
		if err != nil {
			return Cursor{}, invalidCursor("cursor is malformed: %v", err)
		}
		c.Values = append(c.Values, v)
	}
	if c.FromEnd {
		if len(c.Values) != 0 {
			return Cursor{}, invalidCursor("cursor is malformed: an end cursor carries no values")
		}
		return c, nil
	}
	if len(c.Values) != len(order) {
		return Cursor{}, invalidCursor("cursor holds %d values for a sort of %d fields", len(c.Values), len(order))
	}
	for i, o := range order {
		v := c.Values[i]
		if v == nil && !o.Field.Nullable {
			return Cursor{}, invalidCursor("cursor holds NULL for non-null field %q", o.Field.Name)
		}
		if !checkType(o.Field.Type, v) && !storedValue(v) {
			return Cursor{}, invalidCursor("cursor value for %q is not of type %v", o.Field.Name, o.Field.Type)
		}
	}
	return c, nil
}

func appendValue(b []byte, v Value) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, tagNull)
	case int64:
		return binary.AppendVarint(append(b, tagInt), x)
	case float64:
		return binary.BigEndian.AppendUint64(append(b, tagFloat), math.Float64bits(x))
	case string:
		b = binary.AppendUvarint(append(b, tagText), uint64(len(x)))
		return append(b, x...)
	case []byte:
		b = binary.AppendUvarint(append(b, tagBytes), uint64(len(x)))
		return append(b, x...)
	case json.RawMessage:
		b = binary.AppendUvarint(append(b, tagBytes), uint64(len(x)))
		return append(b, x...)
	case time.Time:
		b = binary.AppendVarint(append(b, tagTime), x.Unix())
		return binary.AppendUvarint(b, uint64(x.Nanosecond()))
	case bool:
		if x {
			return append(b, tagTrue)
		}
		return append(b, tagFalse)
	}
	panic(fmt.Sprintf("cursor: unsupported value type %T", v))
}

var errShort = errors.New("value truncated")

func readValue(b []byte) (Value, []byte, error) {
	tag, b := b[0], b[1:]
	switch tag {
	case tagNull:
		return nil, b, nil
	case tagFalse:
		return false, b, nil
	case tagTrue:
		return true, b, nil
	case tagInt:
		n, k := binary.Varint(b)
		if k <= 0 {
			return nil, nil, errShort
		}
		return n, b[k:], nil
	case tagFloat:
		if len(b) < 8 {
			return nil, nil, errShort
		}
		f := math.Float64frombits(binary.BigEndian.Uint64(b))
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, nil, errors.New("float is not finite")
		}
		return f, b[8:], nil
	case tagText, tagBytes:
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, nil, errShort
		}
		s := b[k : k+int(n)]
		if tag == tagText {
			return string(s), b[k+int(n):], nil
		}
		return slices.Clone(s), b[k+int(n):], nil
	case tagTime:
		sec, k := binary.Varint(b)
		if k <= 0 {
			return nil, nil, errShort
		}
		b = b[k:]
		ns, k := binary.Uvarint(b)
		if k <= 0 || ns >= 1e9 {
			return nil, nil, errShort
		}
		return time.Unix(sec, int64(ns)).UTC(), b[k:], nil
	}
	return nil, nil, fmt.Errorf("unknown value tag %d", tag)
}

// fingerprint binds a cursor to a collection, its effective filters and
// order, and the row rule as bound to the principal it was issued to, so
// that a principal whose rule binds otherwise cannot continue it. Filters
// are hashed in a canonical order, so "a=1&b=2" and "b=2&a=1" share
// cursors.
func fingerprint(collection string, filters []Cond, order []OrderKey, rule []Cond) [8]byte {
	h := sha256.New()
	var b []byte
	b = binary.AppendUvarint(b, uint64(len(collection)))
	b = append(b, collection...)
	b = appendFilters(b, filters)
	b = binary.AppendUvarint(b, uint64(len(order)))
	for _, o := range order {
		b = binary.AppendUvarint(b, uint64(len(o.Field.Name)))
		b = append(b, o.Field.Name...)
		// Direction in bit 0, NULLs below every value in bit 1: a cursor
		// issued for one NULL placement is refused under the other, and
		// the default placement keeps the encoding cursors had before it.
		var dir byte
		if o.Desc {
			dir |= 1
		}
		if o.NullsLow {
			dir |= 2
		}
		b = append(b, dir)
	}
	// The rule's conditions are among the filters too; hashed again apart,
	// a principal's query filters cannot stand in for another's rule.
	// Without a rule the encoding is that of cursors issued before rules.
	if len(rule) > 0 {
		b = append(b, 'R')
		b = appendFilters(b, rule)
	}
	h.Write(b)
	var fp [8]byte
	copy(fp[:], h.Sum(nil))
	return fp
}

// urlSafe reports whether s holds only base64url characters; the decoder
// itself skips newlines, which would give one cursor many spellings.
func urlSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// appendFilters encodes a conjunction of filters canonically: each filter
// length-prefixed, in byte order, sub-filters recursively.
func appendFilters(b []byte, filters []Cond) []byte {
	fs := make([][]byte, len(filters))
	for i, f := range filters {
		var e []byte
		var name string
		if f.Field != nil {
			name = f.Field.Name
		}
		e = binary.AppendUvarint(e, uint64(len(name)))
		e = append(e, name...)
		e = binary.AppendUvarint(e, uint64(len(f.Op)))
		e = append(e, f.Op...)
		e = binary.AppendUvarint(e, uint64(len(f.Values)))
		for _, v := range f.Values {
			e = appendValue(e, v)
		}
		e = binary.AppendUvarint(e, uint64(len(f.Sub)))
		for _, g := range f.Sub {
			e = appendFilters(e, g)
		}
		fs[i] = binary.AppendUvarint(nil, uint64(len(e)))
		fs[i] = append(fs[i], e...)
	}
	slices.SortFunc(fs, bytes.Compare)
	b = binary.AppendUvarint(b, uint64(len(fs)))
	for _, e := range fs {
		b = append(b, e...)
	}
	return b
}
