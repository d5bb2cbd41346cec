package native

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"folio/engine"
)

// The encoder appends JSON to a byte slice by hand: one page is written per
// request at thousands of requests a second, and reflection over a map per
// row would dominate the cost.

// appendRow appends one record as a JSON object. keys holds the quoted
// field names followed by ':', aligned with idx (indexes into row).
func appendRow(b []byte, row engine.Row, keys [][]byte, idx []int) []byte {
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k...)
		b = appendValue(b, row[idx[i]])
	}
	return append(b, '}')
}

// fieldKeys returns the quoted JSON keys of the page's projected fields.
func fieldKeys(p *engine.Page) [][]byte {
	keys := make([][]byte, len(p.Fields))
	for i, j := range p.Fields {
		k := appendString(nil, p.Columns[j].Name)
		keys[i] = append(k, ':')
	}
	return keys
}

// appendValue renders one value by its dynamic type: numbers as JSON
// numbers (floats in the shortest form that round-trips bit-exactly), times
// as RFC 3339 with as many fractional digits as they need, bytes as
// unpadded base64url (the form filters accept), JSON as itself.
func appendValue(b []byte, v engine.Value) []byte {
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
		return appendString(b, x)
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
		return appendString(b, string(x))
	}
	return appendString(b, engine.FormatValue(v))
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// U+2028 and U+2029 are escaped so that the output is also valid JavaScript.
func appendString(b []byte, s string) []byte {
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
