package engine

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Value is one field value. Its dynamic type follows the field's Type:
// int64, float64, string, bool, time.Time (UTC), []byte or json.RawMessage;
// nil is NULL.
type Value = any

// Row is one record: values aligned with the columns of the plan that produced it.
type Row []Value

// Compare orders two values the way every source orders them: NULL sorts
// above every value (last ascending, first descending). Text compares by
// bytes (SQLite's BINARY collation, PostgreSQL's "C").
//
// Values of one field normally share the field's Type, but SQLite lets
// another writer store any value in any column ('abc' in an INTEGER column,
// 2.5 in a BOOLEAN one); a source publishes such a value as it is stored.
// Values of different kinds order as SQLite orders its storage classes:
// numbers (int64 and float64 compared by value, exactly; a bool as 0 or 1)
// before text before bytes. A time.Time ranks between numbers and text:
// SQLite's order against numbers and bytes whatever the column stores,
// and against text in a column of unix seconds; in a column that stores
// its times as text, SQL compares a text value with the times' stored
// text, which only the source knows. The engine never orders rows itself,
// the database does, and a cursor carries the boundary's value as stored,
// so the seek is the database's own comparison whatever the mix (see
// Cursor).
func Compare(a, b Value) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	ca, cb := class(a), class(b)
	if ca != cb {
		return cmp.Compare(ca, cb)
	}
	switch x := a.(type) {
	case int64, float64, bool:
		return compareNumbers(x, b)
	case string:
		return strings.Compare(x, b.(string))
	case time.Time:
		return x.Compare(b.(time.Time))
	case []byte:
		return bytes.Compare(x, bytesOf(b))
	case json.RawMessage:
		return bytes.Compare(x, bytesOf(b))
	}
	panic(fmt.Sprintf("engine.Compare: unsupported value type %T", a))
}

// Storage classes in SQLite's order, for values of different kinds.
const (
	classNumber = iota
	classTime
	classText
	classBytes
)

// class is the storage class Compare ranks v by.
func class(v Value) int {
	switch v.(type) {
	case int64, float64, bool:
		return classNumber
	case time.Time:
		return classTime
	case string:
		return classText
	case []byte, json.RawMessage:
		return classBytes
	}
	panic(fmt.Sprintf("engine.Compare: unsupported value type %T", v))
}

// compareNumbers compares two numbers of any kind (int64, float64, or a
// bool as 0 or 1) exactly: an int64 beyond 2^53 is not rounded to a float,
// as SQLite does not round it either.
func compareNumbers(a, b Value) int {
	a, b = boolNumber(a), boolNumber(b)
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return cmp.Compare(x, y)
		case float64:
			return compareIntFloat(x, y)
		}
	case float64:
		switch y := b.(type) {
		case int64:
			return -compareIntFloat(y, x)
		case float64:
			return cmp.Compare(x, y)
		}
	}
	panic(fmt.Sprintf("engine.Compare: %T or %T is not a number", a, b))
}

// boolNumber is a bool as SQLite stores it, 0 or 1; other values are
// returned as they are.
func boolNumber(v Value) Value {
	if b, ok := v.(bool); ok {
		if b {
			return int64(1)
		}
		return int64(0)
	}
	return v
}

func bytesOf(v Value) []byte {
	if r, ok := v.(json.RawMessage); ok {
		return r
	}
	return v.([]byte)
}

// compareIntFloat compares an integer with a finite float exactly.
func compareIntFloat(i int64, f float64) int {
	switch {
	case f >= 1<<63:
		return -1
	case f < -(1 << 63):
		return 1
	}
	t := math.Trunc(f) // within int64's range: the conversion is exact
	if c := cmp.Compare(i, int64(t)); c != 0 {
		return c
	}
	return cmp.Compare(t, f) // equal integer parts: the fraction decides
}

// timeLayouts are the forms a time may take in a request, most precise first.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}

// ParseValue parses a request's text form of a value of type t.
// JSON fields take their element values as text.
func ParseValue(t Type, s string) (Value, error) {
	switch t {
	case TypeText, TypeJSON:
		return s, nil
	case TypeInt:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return n, nil
	case TypeFloat:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%q is not a finite number", s)
		}
		return f, nil
	case TypeBool:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1", "t", "yes":
			return true, nil
		case "false", "0", "f", "no":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not a boolean (true or false)", s)
	case TypeTime:
		s = strings.TrimSpace(s)
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t.UTC(), nil
			}
		}
		return nil, fmt.Errorf("%q is not a time (RFC 3339, e.g. 2024-01-31T12:00:00Z, or a date 2024-01-31)", s)
	case TypeBytes:
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return nil, fmt.Errorf("%q is not base64url", s)
		}
		return b, nil
	}
	return nil, fmt.Errorf("unsupported type %v", t)
}

// FormatValue renders a value as text, the inverse of ParseValue.
func FormatValue(v Value) string {
	switch x := v.(type) {
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return base64.RawURLEncoding.EncodeToString(x)
	case json.RawMessage:
		return string(x)
	}
	return fmt.Sprint(v)
}

// storedValue reports whether v is a value of one of the kinds a database
// stores whatever a column's declared type (SQLite's storage classes
// INTEGER, REAL, TEXT and BLOB): the kinds a boundary value may take in a
// field of another type (see Cursor).
func storedValue(v Value) bool {
	switch x := v.(type) {
	case int64, string, []byte:
		return true
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	}
	return false
}

// checkType reports whether v is a valid value of type t (nil allowed).
func checkType(t Type, v Value) bool {
	switch v.(type) {
	case nil:
		return true
	case int64:
		return t == TypeInt
	case float64:
		f := v.(float64)
		return t == TypeFloat && !math.IsNaN(f) && !math.IsInf(f, 0)
	case string:
		return t == TypeText || t == TypeJSON
	case bool:
		return t == TypeBool
	case time.Time:
		return t == TypeTime
	case []byte:
		return t == TypeBytes
	}
	return false
}
