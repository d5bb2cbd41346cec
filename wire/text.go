package wire

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"folio/engine"
)

// AppendText appends a value in plain text form, as CSV cells and XML
// elements carry it: NULL is empty, times RFC 3339, JSON as itself.
func AppendText(b []byte, v engine.Value) []byte {
	switch x := v.(type) {
	case nil:
		return b
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case string:
		return append(b, x...)
	case bool:
		return strconv.AppendBool(b, x)
	case time.Time:
		return x.UTC().AppendFormat(b, time.RFC3339Nano)
	case json.RawMessage:
		return append(b, x...)
	}
	return append(b, engine.FormatValue(v)...)
}

// AppendCSV appends one CSV field as RFC 4180 writes it: quoted when it
// holds a comma, quote, CR or LF (or starts with a space), quotes doubled.
func AppendCSV(b []byte, v engine.Value) []byte {
	start := len(b)
	b = AppendText(b, v)
	field := b[start:]
	need := len(field) > 0 && (field[0] == ' ' || field[0] == '\t')
	for _, c := range field {
		if c == ',' || c == '"' || c == '\r' || c == '\n' {
			need = true
			break
		}
	}
	if !need {
		return b
	}
	s := string(field)
	b = append(b[:start], '"')
	b = append(b, strings.ReplaceAll(s, `"`, `""`)...)
	return append(b, '"')
}

// AppendXML appends s escaped for XML character data and attribute values.
// Characters XML 1.0 cannot carry (most control characters, invalid UTF-8)
// become U+FFFD.
func AppendXML(b []byte, s string) []byte {
	// Plain runs are copied whole; only the rare special byte is looked at.
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '<' && c != '>' && c != '&' && c != '"' && c != '\'' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		start = i
		switch {
		case r == '<':
			b = append(b, "&lt;"...)
		case r == '>':
			b = append(b, "&gt;"...)
		case r == '&':
			b = append(b, "&amp;"...)
		case r == '"':
			b = append(b, "&quot;"...)
		case r == '\'':
			b = append(b, "&apos;"...)
		case r == '\n' || r == '\r' || r == '\t':
			b = append(b, "&#"...)
			b = strconv.AppendInt(b, int64(r), 10)
			b = append(b, ';')
		case r == utf8.RuneError && size == 1, r < 0x20, r == 0xFFFE, r == 0xFFFF:
			b = append(b, "\uFFFD"...)
		default:
			b = append(b, s[i-size:i]...)
		}
	}
	return append(b, s[start:]...)
}
