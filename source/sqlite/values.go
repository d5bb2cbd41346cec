package sqlite

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"folio/engine"
)

// timeLayout says how a column stores its times. SQLite has no time type:
// a column holds text in some layout, or unix seconds. Parameters must be
// bound in the column's own layout, or SQL compares them wrongly (text with
// a number, or "2024-01-01 10:00" with "2024-01-01T10:00").
type timeLayout struct {
	unix bool   // integer (or real) unix seconds
	text string // Go layout of text values, when !unix
}

// loadLayout is how Load writes times: UTC with a fixed six-digit fraction,
// so that text order is time order. It is also the guess for a time column
// with no value to sample.
const loadLayout = "2006-01-02T15:04:05.000000Z"

// fallbackLayouts parse stored times that do not follow the sampled layout.
var fallbackLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
}

// detectLayout infers a layout from one stored text value; ok is false when
// the value is not a date-time folio understands (the column is then
// published as text).
func detectLayout(s string) (timeLayout, bool) {
	if len(s) == len("2006-01-02") {
		if _, err := time.Parse("2006-01-02", s); err == nil {
			return timeLayout{text: "2006-01-02"}, true
		}
		return timeLayout{}, false
	}
	if len(s) < len("2006-01-02T15:04") {
		return timeLayout{}, false
	}
	var b strings.Builder
	b.WriteString("2006-01-02")
	switch s[10] {
	case 'T', ' ':
		b.WriteByte(s[10])
	default:
		return timeLayout{}, false
	}
	rest := s[11:]
	switch {
	case len(rest) >= 8 && rest[5] == ':':
		b.WriteString("15:04:05")
		rest = rest[8:]
	default:
		b.WriteString("15:04")
		rest = rest[5:]
	}
	if strings.HasPrefix(rest, ".") {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		b.WriteString("." + strings.Repeat("0", n-1))
		rest = rest[n:]
	}
	switch {
	case rest == "":
	case rest == "Z":
		b.WriteString("Z") // literal: folio binds UTC times
	case len(rest) == 6 && rest[3] == ':':
		b.WriteString("-07:00")
	case len(rest) == 5:
		b.WriteString("-0700")
	default:
		return timeLayout{}, false
	}
	l := b.String()
	t, err := time.Parse(l, s)
	if err != nil || t.UTC().Format(l) != s && t.Format(l) != s {
		return timeLayout{}, false
	}
	return timeLayout{text: l}, true
}

// parse reads a stored time in the layout, or failing that in any layout
// folio understands.
func (l timeLayout) parse(s string) (time.Time, error) {
	if t, ok := parseUTC(s); ok {
		return t, nil
	}
	if l.text != "" {
		if t, err := time.Parse(l.text, s); err == nil {
			return t.UTC(), nil
		}
	}
	for _, f := range fallbackLayouts {
		if t, err := time.Parse(f, s); err == nil {
			return t.UTC(), nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time", s)
}

// parseUTC is the fast path of parse for the layouts without a zone offset,
// Load's among them: "2006-01-02T15:04:05" or with a space for the T, an
// optional fraction of 1 to 9 digits and an optional Z. It reads the
// digits directly, about five times faster than time.Parse, which matters
// because every row of a page carries times.
func parseUTC(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' && s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(a, b int) int {
		n := 0
		for _, c := range []byte(s[a:b]) {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	if year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
		minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	rest, nsec := s[19:], 0
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 {
			return time.Time{}, false
		}
		nsec = num(20, 19+n)
		for i := n; i < 10; i++ {
			nsec *= 10
		}
		rest = rest[n:]
	}
	if rest != "" && rest != "Z" {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // February 30th and the like
		return time.Time{}, false
	}
	return t, true
}

// arg returns t as the column stores it. exact is false when the layout
// cannot hold t (a finer fraction than the column keeps): the caller then
// adjusts the comparison, since the argument is t rounded down.
func (l timeLayout) arg(t time.Time) (v any, exact bool) {
	t = t.UTC()
	if l.unix {
		return t.Unix(), t.Nanosecond() == 0
	}
	s := t.Format(l.text)
	back, err := time.Parse(l.text, s)
	return s, err == nil && back.Equal(t)
}

// rowDecoder decodes the driver's values of one query's rows. A time
// column often holds the same value in consecutive rows (the entries of
// one upload, sorted by upload time); the decoder then reuses the previous
// row's value, which saves parsing it and allocating it again.
type rowDecoder struct {
	columns []*engine.Field
	layouts []timeLayout
	lastRaw []string       // per time column, the last stored text decoded
	lastVal []engine.Value // and its value
}

func newRowDecoder(columns []*engine.Field, layouts []timeLayout) *rowDecoder {
	return &rowDecoder{columns: columns, layouts: layouts, lastRaw: make([]string, len(columns)), lastVal: make([]engine.Value, len(columns))}
}

// decode fills row from the driver's values raw, naming the column that
// cannot be read.
func (d *rowDecoder) decode(row engine.Row, raw []any) error {
	for i, f := range d.columns {
		if s, ok := raw[i].(string); ok && f.Type == engine.TypeTime {
			if d.lastVal[i] != nil && s == d.lastRaw[i] {
				row[i] = d.lastVal[i]
				continue
			}
			v, err := decode(s, f.Type, d.layouts[i])
			if err != nil {
				return fmt.Errorf("column %s: %w", f.Column, err)
			}
			row[i], d.lastRaw[i], d.lastVal[i] = v, s, v
			continue
		}
		v, err := decode(raw[i], f.Type, d.layouts[i])
		if err != nil {
			return fmt.Errorf("column %s: %w", f.Column, err)
		}
		row[i] = v
	}
	return nil
}

// decode converts what the driver returns for a column to the engine's
// value for type typ. The driver's type depends on what each row stores
// (SQLite types values, not columns), so every combination that can occur
// is handled; one that cannot be converted without loss is an error.
func decode(v any, typ engine.Type, layout timeLayout) (engine.Value, error) {
	if v == nil {
		return nil, nil
	}
	// Returning v itself when it already has the engine's type keeps the
	// driver's interface value: re-boxing would allocate once per value.
	switch v.(type) {
	case string:
		if typ == engine.TypeText {
			return v, nil
		}
	case int64:
		if typ == engine.TypeInt {
			return v, nil
		}
	case float64:
		if typ == engine.TypeFloat {
			return v, nil
		}
	}
	switch typ {
	case engine.TypeText:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		}
	case engine.TypeInt:
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
				return int64(x), nil
			}
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case string:
			if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return n, nil
			}
		}
	case engine.TypeFloat:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f, nil
			}
		}
	case engine.TypeBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		case float64:
			return x != 0, nil
		case string:
			if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
				return b, nil
			}
		}
	case engine.TypeTime:
		switch x := v.(type) {
		case string:
			return layout.parse(x)
		case []byte:
			return layout.parse(string(x))
		case int64:
			return time.Unix(x, 0).UTC(), nil
		case float64:
			sec, frac := math.Modf(x)
			return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
		case time.Time:
			return x.UTC(), nil
		}
	case engine.TypeBytes:
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case engine.TypeJSON:
		switch x := v.(type) {
		case string:
			return json.RawMessage(x), nil
		case []byte:
			return json.RawMessage(x), nil
		case int64, float64:
			return json.RawMessage(fmt.Sprint(x)), nil
		}
	}
	return nil, fmt.Errorf("cannot read %T value %v as %v", v, v, typ)
}

// bindValue converts a filter or seek value of a field of type typ into the
// argument SQLite compares with the stored values. Text from configuration
// (scope filters) is typed here too.
func bindValue(v engine.Value, typ engine.Type, layout timeLayout) (arg any, exact bool, err error) {
	if s, ok := v.(string); ok && typ != engine.TypeText && typ != engine.TypeJSON {
		if v, err = engine.ParseValue(typ, s); err != nil {
			return nil, false, err
		}
	}
	switch x := v.(type) {
	case nil:
		return nil, true, nil
	case bool:
		// SQLite stores booleans as integers 0 and 1.
		if x {
			return int64(1), true, nil
		}
		return int64(0), true, nil
	case time.Time:
		a, exact := layout.arg(x)
		return a, exact, nil
	case json.RawMessage:
		return string(x), true, nil
	case int64, float64, string, []byte:
		return x, true, nil
	}
	return nil, false, fmt.Errorf("unsupported value %T", v)
}
