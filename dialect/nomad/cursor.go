package nomad

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"folio/engine"
	"folio/httperr"
	"folio/wire"
)

// NOMAD's page_after_value is transparent: the bare entry_id when ordering
// by it, otherwise "<sort value>:<entry_id>", split on the last colon. The
// sort value is written as Elasticsearch hands it to NOMAD: dates as whole
// epoch milliseconds, numbers and keywords as text. A date order is NOMAD's
// order, by the millisecond then entry_id (millis.go), so the millisecond
// and the entry_id state the boundary exactly, however fine the stored
// times are.
//
// A NULL sort value, which NOMAD would write as the broken "None:<id>", is
// written "None" and read back as NULL; for a nullable text field, a value
// that is itself "None" or starts with a backslash is escaped with a
// leading backslash, so that no value is ambiguous. A bare entry_id holds
// no colon (NOMAD's never do, and NOMAD refuses a cursor with one when it
// orders by entry_id); a key that does, or that starts with a backslash, is
// written with a leading backslash.

// nullValue is what a NULL sort value is written as.
const nullValue = "None"

// appendAfter appends the page_after_value of a row, given its sort values
// (the order field, then the key; or the key alone).
func appendAfter(b []byte, order []engine.OrderKey, vals []engine.Value) []byte {
	if len(vals) == 1 {
		id := engine.FormatValue(vals[0])
		if strings.Contains(id, ":") || strings.HasPrefix(id, `\`) {
			b = append(b, '\\')
		}
		return append(b, id...)
	}
	b = appendSortValue(b, order[0].Field, vals[0])
	b = append(b, ':')
	return append(b, engine.FormatValue(vals[1])...)
}

func appendSortValue(b []byte, f *engine.Field, v engine.Value) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, nullValue...)
	case time.Time:
		// Whole milliseconds, as Elasticsearch stores a date.
		return strconv.AppendInt(b, x.UnixMilli(), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case bool:
		// Elasticsearch sorts booleans as the numbers 1 and 0.
		if x {
			return append(b, '1')
		}
		return append(b, '0')
	case string:
		if f.Nullable && (x == nullValue || strings.HasPrefix(x, `\`)) {
			b = append(b, '\\')
		}
		return append(b, x...)
	}
	return append(b, engine.FormatValue(v)...)
}

// parseAfter reads a page_after_value for a sort on order (nil when the
// key alone orders) then key, into the boundary values the engine takes.
func parseAfter(s string, order, key *engine.Field) ([]engine.Value, error) {
	if order == nil {
		id, escaped := strings.CutPrefix(s, `\`)
		if !escaped && strings.Contains(s, ":") {
			// "<value>:<id>" is the cursor of another order: NOMAD splits it
			// into two values for its one sort key and fails.
			return nil, engine.InvalidCursorf(paramAfter, "page_after_value %s holds a ':', but the order is by %s alone, whose page_after_value is the bare %s", httperr.Quote(s), key.Name, key.Name)
		}
		v, err := engine.ParseValue(key.Type, id)
		if err != nil {
			return nil, engine.InvalidCursorf(paramAfter, "page_after_value %s is not a valid %s", httperr.Quote(s), key.Name)
		}
		return []engine.Value{v}, nil
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return nil, engine.InvalidCursorf(paramAfter, "page_after_value %s must be \"<%s value>:<%s>\" when ordering by %s", httperr.Quote(s), order.Name, key.Name, order.Name)
	}
	sv, err := parseSortValue(order, s[:i])
	if err != nil {
		return nil, engine.InvalidCursorf(paramAfter, "page_after_value %s: %v", httperr.Quote(s), err)
	}
	kv, err := engine.ParseValue(key.Type, s[i+1:])
	if err != nil {
		return nil, engine.InvalidCursorf(paramAfter, "page_after_value %s: the part after the last ':' is not a valid %s", httperr.Quote(s), key.Name)
	}
	return []engine.Value{sv, kv}, nil
}

func parseSortValue(f *engine.Field, s string) (engine.Value, error) {
	if s == nullValue && f.Nullable {
		return nil, nil
	}
	switch f.Type {
	case engine.TypeText:
		if f.Nullable {
			s = strings.TrimPrefix(s, `\`)
		}
		return s, nil
	case engine.TypeTime:
		// Whole epoch milliseconds, as NOMAD writes them; a fraction or an
		// RFC 3339 time is read too, and comes to its millisecond.
		t, ok := parseMillis(s)
		if !ok {
			v, err := engine.ParseValue(f.Type, s)
			if err != nil {
				return nil, fmt.Errorf("the part before the last ':' is not a date of %s in epoch milliseconds", f.Name)
			}
			t = v.(time.Time)
		}
		return time.UnixMilli(t.UnixMilli()).UTC(), nil
	}
	v, err := engine.ParseValue(f.Type, s)
	if err != nil {
		return nil, fmt.Errorf("the part before the last ':' is not a value of %s", f.Name)
	}
	return v, nil
}

// maxMillisDigits keeps the arithmetic of parseMillis far from overflow
// (10^15 ms is about 31,700 years).
const maxMillisDigits = 15

// parseMillis reads epoch milliseconds, with up to six decimals (folio
// wrote a fraction once; it is still read).
func parseMillis(s string) (time.Time, bool) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || len(whole) > maxMillisDigits || hasFrac && (frac == "" || len(frac) > 6) {
		return time.Time{}, false
	}
	ms, ok := digits(whole)
	if !ok {
		return time.Time{}, false
	}
	var ns int64
	if hasFrac {
		f, ok := digits(frac)
		if !ok {
			return time.Time{}, false
		}
		ns = f * int64(math.Pow10(6-len(frac)))
	}
	sec, nsec := ms/1000, ms%1000*1e6+ns
	if neg {
		sec, nsec = -sec, -nsec
	}
	return time.Unix(sec, nsec).UTC(), true
}

func digits(s string) (int64, bool) {
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// appendValue renders one value of a document: dates as NOMAD renders them
// (Python's isoformat, "2024-05-30T19:25:42.713000+00:00"), everything else
// as folio's JSON encoding does.
func appendValue(b []byte, v engine.Value) []byte {
	t, ok := v.(time.Time)
	if !ok {
		return wire.AppendJSON(b, v)
	}
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return wire.AppendJSON(b, v) // beyond isoformat's four-digit years
	}
	hour, minute, sec := t.Clock()
	b = append(b, '"')
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	switch ns := t.Nanosecond(); {
	case ns == 0:
	case ns%1000 == 0:
		b = append(b, '.')
		b = appendDigits(b, ns/1000, 6)
	default:
		// Finer than Python can say: keep every digit rather than round.
		b = append(b, '.')
		b = appendDigits(b, ns, 9)
	}
	return append(b, `+00:00"`...)
}

// appendDigits appends n (≥ 0) zero-padded to width digits.
func appendDigits(b []byte, n, width int) []byte {
	var d [9]byte
	for i := width - 1; i >= 0; i-- {
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, d[:width]...)
}
