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

// Compare orders two values of the same Type the way every source orders
// them: NULL sorts above every value (last ascending, first descending).
// Text compares by bytes (SQLite's BINARY collation, PostgreSQL's "C").
func Compare(a, b Value) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	switch x := a.(type) {
	case int64:
		return cmp.Compare(x, b.(int64))
	case float64:
		return cmp.Compare(x, b.(float64))
	case string:
		return strings.Compare(x, b.(string))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case time.Time:
		return x.Compare(b.(time.Time))
	case []byte:
		return bytes.Compare(x, b.([]byte))
	case json.RawMessage:
		return bytes.Compare(x, b.(json.RawMessage))
	}
	panic(fmt.Sprintf("engine.Compare: unsupported value type %T", a))
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
