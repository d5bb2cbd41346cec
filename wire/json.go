// Package wire holds the encodings every dialect writes: JSON values,
// CSV fields, XML text, link URLs, and a response writer that streams in
// constant memory. Values are appended to byte slices by hand: pages are written
// thousands of times a second, and reflection per row would dominate.
package wire

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"folio/engine"
)

// AppendObject appends one record as a JSON object. keys holds the quoted
// field names followed by ':' (see ObjectKeys), aligned with idx, the
// indexes into row of the fields to write.
func AppendObject(b []byte, row engine.Row, keys [][]byte, idx []int) []byte {
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k...)
		b = AppendJSON(b, row[idx[i]])
	}
	return append(b, '}')
}

// ObjectKeys returns `"name":` for each name, ready for AppendObject.
func ObjectKeys(names []string) [][]byte {
	keys := make([][]byte, len(names))
	for i, n := range names {
		keys[i] = append(AppendString(nil, n), ':')
	}
	return keys
}

// AppendJSON renders one value by its dynamic type: numbers as JSON numbers
// (floats in the shortest form that round-trips bit-exactly), times as
// RFC 3339 with as many fractional digits as they need, bytes as unpadded
// base64url (the form filters accept), JSON as itself.
func AppendJSON(b []byte, v engine.Value) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...) // JSON has no form for them
		}
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case string:
		return AppendString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case time.Time:
		b = append(b, '"')
		b = x.UTC().AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	case []byte:
		b = append(b, '"')
		b = base64.RawURLEncoding.AppendEncode(b, x)
		return append(b, '"')
	case json.RawMessage:
		// A JSON column of a user's database may hold text that is not JSON;
		// publish it as a string rather than break the document.
		if json.Valid(x) {
			return append(b, x...)
		}
		return AppendString(b, string(x))
	}
	return AppendString(b, engine.FormatValue(v))
}

const hex = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// U+2028 and U+2029 are escaped so that the output is also valid JavaScript.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
