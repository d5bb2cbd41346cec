package gocdb

import (
	"math"
	"strconv"
	"strings"
	"time"

	"folio/engine"
	"folio/httperr"
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
	// volatile marks an answer that depends on the time of the request
	// (ongoing_only, all_lastmonth), which no cache may keep.
	volatile bool
}

// parse checks a request's parameters in the order GOCDB checks them, so
// that a request with several faults gets the message GOCDB would give.
func (h *Handler) parse(raw string) (*request, error) {
	ps := parseQuery(raw)
	name, _ := ps.get(paramMethod)
	md := h.methods[name]
	if md == nil {
		return nil, engine.Invalidf(paramMethod, "Unable to find method: %s", httperr.Echo(name))
	}
	for _, p := range ps {
		if _, ok := md.filters[p.key]; !ok && !md.reserved(p.key) {
			return nil, engine.Invalidf(p.key, "Unsupported parameter: %s", httperr.Echo(p.key))
		}
	}
	for _, p := range ps {
		if p.key != paramMethod && strings.ContainsAny(p.value, "\"'`") {
			return nil, engine.Invalidf(p.key, "Unsuported chracter in value: %s", httperr.Echo(p.value))
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
	if err := req.downtimeFilters(h.now()); err != nil {
		return nil, err
	}
	if err := req.scopeFilter(); err != nil {
		return nil, err
	}
	return req, nil
}

// The messages GOCDB gives for its time parameters, as GetDowntime.php
// writes them (line break and indentation included).
const (
	msgOngoingValue = "Invalid ongoing_only value - must be 'yes' or 'no'"
	msgOngoingDates = "Invalid parameter combination - do not specify startdate or enddate with ongoing_only"
	msgLastMonth    = "Invalid parameters - only scope, scope_match,\n                   topentity params allowed when specifying all_lastmonth"
)

// downtimeFilters adds get_downtime's topentity and time parameters, in
// the order GetDowntime.php reads them, with its comparisons: now is the
// time of the request.
func (r *request) downtimeFilters(now time.Time) error {
	md, ps := r.md, r.params
	add := func(f *engine.Field, op engine.Op, v engine.Value) {
		r.query.Filters = append(r.query.Filters, engine.Filter{Field: f.Name, Op: op, Values: []engine.Value{v}})
	}
	if v, ok := ps.get(paramTopEntity); ok && md.topentity != nil {
		// GOCDB: the host, site, NGI or country name LIKE the value.
		or := engine.Filter{Op: engine.OpOr}
		for _, f := range md.topentity {
			or.Sub = append(or.Sub, []engine.Filter{{Field: f.Name, Op: engine.OpEq, Values: []engine.Value{v}}})
		}
		r.query.Filters = append(r.query.Filters, or)
	}
	if md.start == nil {
		return nil
	}
	// Whole seconds, as Doctrine binds GOCDB's DateTime('now') ('Y-m-d
	// H:i:s'), so that a downtime starting this very second is not yet
	// under way.
	now = now.UTC().Truncate(time.Second)
	_, hasStart := ps.get(paramStartDate)
	_, hasEnd := ps.get(paramEndDate)
	if v, ok := ps.get(paramOngoing); ok {
		switch v {
		case "yes":
			if hasStart || hasEnd {
				return engine.Invalidf(paramOngoing, msgOngoingDates)
			}
			// Started before now and not yet ended, as GOCDB compares.
			add(md.start, engine.OpLt, now)
			add(md.end, engine.OpGt, now)
			r.volatile = true
		case "no":
		default:
			return engine.Invalidf(paramOngoing, msgOngoingValue)
		}
	}
	for _, t := range []struct {
		param string
		f     *engine.Field
		op    engine.Op
		days  int // GOCDB adds a day to windowend
	}{
		{paramStartDate, md.start, engine.OpGt, 0},
		{paramEndDate, md.end, engine.OpLt, 0},
		{paramWinStart, md.end, engine.OpGt, 0},
		{paramWinEnd, md.start, engine.OpLt, 1},
	} {
		v, ok := ps.get(t.param)
		if !ok {
			continue
		}
		tv, err := engine.ParseValue(engine.TypeTime, v)
		if err != nil {
			return engine.Invalidf(t.param, "Invalid '%s' parameter - %v", t.param, err)
		}
		add(t.f, t.op, tv.(time.Time).AddDate(0, 0, t.days))
	}
	if _, ok := ps.get(paramLastMonth); ok {
		// Present at all, whatever its value, as PHP's isset reads it.
		for _, p := range []string{paramOngoing, paramStartDate, paramEndDate, paramWinStart, paramWinEnd} {
			if _, ok := ps.get(p); ok {
				return engine.Invalidf(paramLastMonth, msgLastMonth)
			}
		}
		// Starting after a month and a day ago: GOCDB's "all downtimes
		// from one month ago, current and future ones included".
		add(md.start, engine.OpGt, now.AddDate(0, -1, 0).AddDate(0, 0, -1))
		r.volatile = true
	}
	return nil
}

// scopeFilter adds the scope parameter: a comma-separated list of tags,
// the empty value for every scope, the mount's default_scope when absent.
// Several tags must all be present, or any of them with scope_match=any.
// A mount without a field of scope tags takes both parameters and filters
// nothing.
func (r *request) scopeFilter() error {
	md := r.md
	match, _ := r.params.get(paramScopeMatch)
	all := md.scopeAll
	switch match {
	case "":
	case "all":
		all = true
	case "any":
		all = false
	default:
		return engine.Invalidf(paramScopeMatch, "Invalid scope_match value - must be 'all' or 'any'")
	}
	if md.scope == nil {
		return nil
	}
	v, ok := r.params.get(paramScope)
	if !ok {
		v = md.defaultScope
	}
	var tags []engine.Value
	for _, t := range strings.Split(strings.Trim(strings.TrimSpace(v), ","), ",") {
		if t != "" {
			tags = append(tags, t)
		}
	}
	switch {
	case len(tags) == 0:
		return nil
	case all && len(tags) > 1:
		r.query.Filters = append(r.query.Filters, engine.Filter{Field: md.scope.Name, Op: engine.OpAll, Values: tags})
	default:
		r.query.Filters = append(r.query.Filters, engine.Filter{Field: md.scope.Name, Op: engine.OpAny, Values: tags})
	}
	return nil
}

// window is the engine window of a paged request: ids above next_cursor, or
// the page of ids just below prev_cursor.
func (r *request) window() engine.Window {
	if r.before {
		return engine.Window{Limit: r.md.pageSize, At: engine.Before{r.cursor}}
	}
	return engine.Window{Limit: r.md.pageSize, At: engine.After{r.cursor}}
}
