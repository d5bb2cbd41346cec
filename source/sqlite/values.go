package sqlite

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"folio/engine"
)

// timeLayout says how a column stores its times. SQLite has no time type:
// a column holds text in some layout, or unix seconds. Parameters must be
// bound in the column's own layout, or SQL compares them wrongly (text with
// a number, or "2024-01-01 10:00" with "2024-01-01T10:00"). Only a value
// in that layout is read as a time: SQL orders the column by what it
// stores, and a value in another layout sits elsewhere in that order than
// its time would (see read).
type timeLayout struct {
	unix bool   // integer (or real) unix seconds
	text string // Go layout of text values, when !unix
	// shape is a value in the layout byte by byte: '9' where any digit
	// goes, else the byte itself. Every layout detectLayout finds has a
	// fixed width, which is what makes its text order its time order.
	shape string
	// offset is the one the column writes its times with, in seconds east
	// of UTC, for a layout with an offset. A column is in one layout only
	// if every value has the same offset: text with different offsets is
	// not in time order. (Seconds, not a *time.Location, keep layouts
	// comparable: discovery counts them.)
	offset int
	// utc is set for the layouts parseUTC reads (seconds, no offset):
	// read then checks only what parseUTC leaves open.
	utc bool
}

// loadLayout is how Load writes times: UTC with a fixed six-digit fraction,
// so that text order is time order. It is also the guess for a time column
// with no value to sample.
const loadLayout = "2006-01-02T15:04:05.000000Z"

// textLayout returns the layout of text values written with the Go layout
// text, at offset seconds east of UTC.
func textLayout(text string, offset int) timeLayout {
	l := timeLayout{text: text, offset: offset}
	ref := time.Date(2006, 1, 2, 15, 4, 5, 123456789, l.zone()).Format(text)
	// The offset's digits are the zone's, not any digits.
	fixed := 0
	switch {
	case strings.HasSuffix(text, "-07:00"):
		fixed = len("+07:00")
	case strings.HasSuffix(text, "-0700"):
		fixed = len("+0700")
	}
	shape := []byte(ref)
	for i := range len(shape) - fixed {
		if shape[i] >= '0' && shape[i] <= '9' {
			shape[i] = '9'
		}
	}
	l.shape = string(shape)
	l.utc = fixed == 0 && len(shape) >= len("2006-01-02T15:04:05") && shape[16] == ':'
	return l
}

// zone is the location the layout writes its times in.
func (l timeLayout) zone() *time.Location {
	if l.offset == 0 {
		return time.UTC
	}
	return time.FixedZone("", l.offset)
}

// detectLayout infers a layout from one stored text value; ok is false when
// the value is not a date-time folio understands (the column is then
// published as text).
func detectLayout(s string) (timeLayout, bool) {
	if len(s) == len("2006-01-02") {
		if _, err := time.Parse("2006-01-02", s); err == nil {
			return textLayout("2006-01-02", 0), true
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
	if err != nil || t.Format(l) != s {
		return timeLayout{}, false
	}
	_, off := t.Zone()
	return textLayout(l, off), true
}

// read reads s as a time if it is in the layout, byte for byte: a stored
// value in any other form (another layout, another offset, no time at all)
// is not one of the column's times, whatever it says, since SQL orders it
// by its text among them.
func (l timeLayout) read(s string) (time.Time, bool) {
	n := len(s)
	if l.unix || n != len(l.shape) {
		return time.Time{}, false
	}
	if l.utc {
		// Every time column of Load's: the hot path of exports. parseUTC
		// checks the digits and separators; of the same length, a value
		// in the layout differs from one in another only in the T or
		// space, and in ending with Z or with a digit.
		if s[10] != l.shape[10] || (s[n-1] == 'Z') != (l.shape[n-1] == 'Z') {
			return time.Time{}, false
		}
		return parseUTC(s)
	}
	for i := 0; i < len(s); i++ {
		c, want := s[i], l.shape[i]
		if want == '9' {
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
		} else if c != want {
			return time.Time{}, false
		}
	}
	// Dates, minutes without seconds, offsets.
	t, err := time.Parse(l.text, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// parseUTC is the fast path of read for the layouts without a zone offset,
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
	if l.offset != 0 {
		t = t.In(l.zone())
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
	// misfit is told of the first value of each column that does not fit
	// the column's type, with the row's key (nil when the plan has no
	// key column); told marks the columns it was told of.
	misfit func(f *engine.Field, stored, key any)
	told   []bool
	key    []int // indexes of the key's columns in columns (-1: not selected)
}

func newRowDecoder(c *engine.Collection, columns []*engine.Field, layouts []timeLayout, misfit func(f *engine.Field, stored, key any)) *rowDecoder {
	return &rowDecoder{
		columns: columns, layouts: layouts,
		lastRaw: make([]string, len(columns)), lastVal: make([]engine.Value, len(columns)),
		misfit: misfit, told: make([]bool, len(columns)),
		key: keyColumns(c, columns),
	}
}

// decode fills row from the driver's values raw. It cannot fail: a value
// that does not fit its column's type is published as stored (decode).
func (d *rowDecoder) decode(row engine.Row, raw []any) {
	for i, f := range d.columns {
		if s, ok := raw[i].(string); ok && f.Type == engine.TypeTime {
			if d.lastVal[i] != nil && s == d.lastRaw[i] {
				row[i] = d.lastVal[i]
				continue
			}
			v, fits := decode(s, f.Type, d.layouts[i])
			if !fits {
				d.tell(i, raw)
			}
			row[i], d.lastRaw[i], d.lastVal[i] = v, s, v
			continue
		}
		v, fits := decode(raw[i], f.Type, d.layouts[i])
		if !fits {
			d.tell(i, raw)
		}
		row[i] = v
	}
}

// tell reports column i's misfit once per query; the Source itself logs
// once per column.
func (d *rowDecoder) tell(i int, raw []any) {
	if d.told[i] || d.misfit == nil {
		return
	}
	d.told[i] = true
	var parts []any
	for _, k := range d.key {
		if k >= 0 {
			parts = append(parts, raw[k])
		}
	}
	var key any // nil when the row's key is not selected
	switch len(parts) {
	case 0:
	case 1:
		key = parts[0]
	default:
		key = parts
	}
	d.misfit(d.columns[i], raw[i], key)
}

func keyColumns(c *engine.Collection, columns []*engine.Field) []int {
	var out []int
	for _, kf := range c.KeyFields() {
		out = append(out, slices.Index(columns, kf))
	}
	return out
}

// decode converts what the driver returns for a column to the engine's
// value for type typ. SQLite types values, not columns: another writer may
// store 'abc' in an INTEGER column, 2 in a BOOLEAN one, 'not a time' in a
// DATETIME one. A value that does not fit the type is returned as it is
// stored (an int64, float64, string or []byte) and fits is false: SQL
// orders and compares such a value by its storage class (numbers before
// text before blobs) and its stored form, and so does the engine (see
// engine.Compare), so publishing it as stored keeps what a page shows,
// what a filter selects and where a cursor resumes in agreement. Coercing
// it instead (reading the text '7' as 7, or 2 as true) would show a value
// that filters on it do not find.
func decode(v any, typ engine.Type, layout timeLayout) (val engine.Value, fits bool) {
	if v == nil {
		return nil, true
	}
	// Returning v itself when it already has the engine's type keeps the
	// driver's interface value: re-boxing would allocate once per value.
	switch v.(type) {
	case string:
		if typ == engine.TypeText {
			return v, true
		}
	case int64:
		if typ == engine.TypeInt {
			return v, true
		}
	case float64:
		if typ == engine.TypeFloat {
			return v, true
		}
	}
	switch typ {
	case engine.TypeInt:
		switch x := v.(type) {
		case float64:
			// A whole REAL, say from a view's expression, compares equal
			// to the integer in SQL.
			if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
				return int64(x), true
			}
		case bool:
			return boolInt(x), true
		}
	case engine.TypeFloat:
		switch x := v.(type) {
		case int64:
			// A REAL column reads back as REAL; an integer here comes from
			// a column without that affinity. SQL compares it by value, so
			// it is a number either way; kept as an integer where a float
			// would round it.
			if x >= -(1<<53) && x <= 1<<53 {
				return float64(x), true
			}
			return x, true
		}
	case engine.TypeBool:
		// SQLite stores booleans as 0 and 1, and a filter on true binds 1:
		// any other value (2, 'true', 0.5) is not found by it.
		switch x := v.(type) {
		case bool:
			return x, true
		case int64:
			if x == 0 || x == 1 {
				return x == 1, true
			}
		case float64:
			if x == 0 || x == 1 {
				return x == 1, true
			}
		}
	case engine.TypeTime:
		switch x := v.(type) {
		case string:
			if t, ok := layout.read(x); ok {
				return t, true
			}
		case int64:
			if layout.unix {
				return time.Unix(x, 0).UTC(), true
			}
		case float64:
			if layout.unix {
				sec, frac := math.Modf(x)
				return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
			}
		case time.Time:
			return x.UTC(), true
		}
	case engine.TypeBytes:
		if _, ok := v.([]byte); ok {
			return v, true
		}
	case engine.TypeJSON:
		// Text that is not JSON is still published (wire writes it as a
		// string); a JSON number is stored as one by the column's NUMERIC
		// affinity. A blob is published as stored.
		switch x := v.(type) {
		case string:
			return json.RawMessage(x), true
		case int64, float64:
			return json.RawMessage(fmt.Sprint(x)), true
		}
	}
	return stored(v), false
}

// stored is a driver's value as SQLite stored it: an integer, a real, text
// or a blob. The driver returns nothing else for a column read through
// SelectColumn's unary +; should it return a bool or a time, that is
// published as SQLite stores one.
func stored(v any) engine.Value {
	switch x := v.(type) {
	case bool:
		return boolInt(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return v
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// storageClass names the SQLite storage class of a stored value, for logs.
func storageClass(v any) string {
	switch v.(type) {
	case int64, bool:
		return "integer"
	case float64:
		return "real"
	case []byte:
		return "blob"
	}
	return "text"
}

// bindValue converts a filter or seek value of a field of type typ into the
// argument SQLite compares with the stored values. A value of the field's
// type is bound as the column stores that type (a bool as 0 or 1, a time
// in the column's layout); any other is a cursor's boundary that held a
// value as stored (engine.Cursor) and is bound as it was read, so that SQL
// compares it exactly as it ordered it.
func bindValue(v engine.Value, typ engine.Type, layout timeLayout) (arg any, exact bool, err error) {
	switch x := v.(type) {
	case nil:
		return nil, true, nil
	case bool:
		return boolInt(x), true, nil
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
