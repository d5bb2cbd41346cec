package gocdb

import (
	"math"
	"strconv"
	"strings"

	"folio/engine"
)

// param is one query parameter.
type param struct{ key, value string }

// params holds a query string the way PHP's parse_str reads it: each key at
// the place it first appears, with the last value given for it. GOCDB
// builds its next, prev and start links from that form, so folio's links
// keep the same parameter order.
type params []param

// parseQuery reads a raw query string as PHP does: pairs split on '&' only,
// '+' and %XX decoded, malformed escapes kept as they are, a key without
// '=' given the empty value, spaces and dots in keys turned into '_'.
func parseQuery(raw string) params {
	var ps params
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k = strings.TrimLeft(phpDecode(k), " ")
		if k == "" {
			continue
		}
		k = strings.Map(func(r rune) rune {
			if r == ' ' || r == '.' {
				return '_'
			}
			return r
		}, k)
		ps = ps.set(k, phpDecode(v))
	}
	return ps
}

// get returns the value of k and whether it is present.
func (ps params) get(k string) (string, bool) {
	for _, p := range ps {
		if p.key == k {
			return p.value, true
		}
	}
	return "", false
}

// set gives k the value v, in place when k is present, else at the end.
func (ps params) set(k, v string) params {
	for i, p := range ps {
		if p.key == k {
			ps[i].value = v
			return ps
		}
	}
	return append(ps, param{k, v})
}

// del removes k.
func (ps params) del(k string) params {
	out := ps[:0:0]
	for _, p := range ps {
		if p.key != k {
			out = append(out, p)
		}
	}
	return out
}

// appendEncoded appends the parameters as PHP's http_build_query writes them.
func (ps params) appendEncoded(b []byte) []byte {
	for i, p := range ps {
		if i > 0 {
			b = append(b, '&')
		}
		b = phpEncode(b, p.key)
		b = append(b, '=')
		b = phpEncode(b, p.value)
	}
	return b
}

const upperHex = "0123456789ABCDEF"

// phpEncode appends s as PHP's urlencode writes it: letters, digits and
// "-_." as they are, space as '+', every other byte as %XX.
func phpEncode(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

// phpDecode decodes as PHP's urldecode: '+' is a space, %XX a byte, and a
// '%' not followed by two hex digits stays as it is.
func phpDecode(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// wholeNumber reports whether GOCDB accepts s as a cursor, and its value.
// GOCDB's test is `(string)(int)$v == $v && (int)$v >= 0` under PHP 8's
// loose comparison: s must be a numeric string (surrounding whitespace
// allowed) whose value is a whole number that fits an int64, so "007",
// "+7", "1e3" and "5.0" pass while "", "1.5", "-1", "0x1A" and "7abc" fail.
func wholeNumber(s string) (int64, bool) {
	t := strings.Trim(s, " \t\n\r\v\f")
	if !numeric(t) {
		return 0, false
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		return n, n >= 0
	}
	if strings.ContainsAny(t, ".eE") {
		f, err := strconv.ParseFloat(t, 64)
		if err == nil && f >= 0 && f == math.Trunc(f) && f < math.MaxInt64 {
			return int64(f), true
		}
	}
	return 0, false
}

// numeric reports whether s is a PHP numeric string without whitespace:
// [+-] digits [. digits] [e [+-] digits], or with the digits after the point only.
func numeric(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

// request is a parsed GOCDB request.
type request struct {
	md     *method
	params params
	query  engine.Query
	paged  bool
	before bool  // prev_cursor (else next_cursor)
	cursor int64 // the cursor's value when paged
}

// parse checks a request's parameters in the order GOCDB checks them, so
// that a request with several faults gets the message GOCDB would give.
func (h *Handler) parse(raw string) (*request, error) {
	ps := parseQuery(raw)
	name, _ := ps.get(paramMethod)
	md := h.methods[name]
	if md == nil {
		return nil, engine.Invalidf(paramMethod, "Unable to find method: %s", name)
	}
	for _, p := range ps {
		if p.key == paramMethod || p.key == paramNext || p.key == paramPrev {
			continue
		}
		if _, ok := md.filters[p.key]; !ok {
			return nil, engine.Invalidf(p.key, "Unsupported parameter: %s", p.key)
		}
	}
	for _, p := range ps {
		if p.key != paramMethod && strings.ContainsAny(p.value, "\"'`") {
			return nil, engine.Invalidf(p.key, "Unsuported chracter in value: %s", p.value)
		}
	}
	req := &request{md: md, params: ps}
	next, hasNext := ps.get(paramNext)
	prev, hasPrev := ps.get(paramPrev)
	switch {
	case hasNext && hasPrev:
		return nil, engine.Invalidf(paramNext, "It is invalid to specify both 'next_cursor' and 'prev_cursor' parameters in the same query")
	case hasNext || hasPrev:
		p, v := paramNext, next
		if hasPrev {
			p, v = paramPrev, prev
		}
		n, ok := wholeNumber(v)
		if !ok {
			return nil, engine.InvalidCursorf(p, "Invalid '%s' parameter - must be a whole number greater than or equal to zero", p)
		}
		req.paged, req.before, req.cursor = true, hasPrev, n
	}

	req.query = engine.Query{Sort: engine.Sort{{Field: md.key.Name}}, Fields: md.fields}
	for _, p := range ps {
		fp, ok := md.filters[p.key]
		if !ok {
			continue
		}
		texts := []string{p.value}
		if fp.list {
			texts = strings.Split(p.value, ",")
		}
		f := engine.Filter{Field: fp.field.Name, Op: fp.op}
		for _, s := range texts {
			v, err := engine.ParseValue(fp.field.Type, s)
			if err != nil {
				return nil, engine.Invalidf(p.key, "Invalid '%s' parameter - %v", p.key, err)
			}
			f.Values = append(f.Values, v)
		}
		req.query.Filters = append(req.query.Filters, f)
	}
	return req, nil
}

// window is the engine window of a paged request: ids above next_cursor, or
// the page of ids just below prev_cursor.
func (r *request) window() engine.Window {
	if r.before {
		return engine.Window{Limit: r.md.pageSize, At: engine.Before{r.cursor}}
	}
	return engine.Window{Limit: r.md.pageSize, At: engine.After{r.cursor}}
}
