package gocdb

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"folio/baseurl"
	"folio/engine"
	"folio/wire"
)

// GOCDB builds its documents with PHP's DOMDocument and formatOutput: the
// declaration, two-space indentation, and a final newline. The renderer
// writes the same bytes by hand; reflection per row would dominate a page.

const xmlDecl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

// formattedLayout is PHP's 'Y-m-d H:i', GOCDB's FORMATED_* dates.
const formattedLayout = "2006-01-02 15:04"

// rowIndexes returns, for each attribute and element of md, the index of
// its field in columns.
func (md *method) rowIndexes(columns []*engine.Field) (attrs, elems []int) {
	find := func(cols []column) []int {
		out := make([]int, len(cols))
		for i, c := range cols {
			out[i] = slices.Index(columns, c.field)
		}
		return out
	}
	return find(md.attrs), find(md.elems)
}

// appendRow appends one row element.
func (md *method) appendRow(b []byte, row engine.Row, attrs, elems []int) []byte {
	b = append(b, md.open...)
	for i, c := range md.attrs {
		b = append(b, c.open...)
		b = appendValue(b, row[attrs[i]], c.text)
		b = append(b, c.close...)
	}
	start := len(b)
	b = append(b, ">\n"...)
	for i, c := range md.elems {
		v := row[elems[i]]
		if c.item != "" && v != nil {
			// Written even when empty, as GOCDB adds AFFECTED_ENDPOINTS.
			b = appendNested(b, c, v)
			continue
		}
		// GOCDB's addIfNotEmpty leaves out empty values.
		if s, ok := v.(string); v == nil || ok && s == "" {
			continue
		}
		b = append(b, c.open...)
		b = appendValue(b, v, c.text)
		b = append(b, c.close...)
	}
	if len(b) == start+2 {
		return append(b[:start], "/>\n"...)
	}
	return append(b, md.close...)
}

// appendValue appends a value as GOCDB writes it, escaped for XML: times
// as Unix seconds, or as "2006-01-02 15:04" under FORMATED_ names.
func appendValue(b []byte, v engine.Value, text bool) []byte {
	switch x := v.(type) {
	case nil:
		return b
	case string:
		return wire.AppendXML(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(b, x)
	case time.Time:
		if text {
			return x.UTC().AppendFormat(b, formattedLayout)
		}
		return strconv.AppendInt(b, x.Unix(), 10)
	case []byte:
		return base64.RawURLEncoding.AppendEncode(b, x)
	case json.RawMessage:
		return wire.AppendXML(b, string(x))
	}
	return wire.AppendXML(b, engine.FormatValue(v))
}

// appendNested appends the child element c whose value is JSON as XML, the
// way GOCDB builds nested elements with SimpleXML: an object's members as
// child elements in their order, the items of an array as c.item elements
// (the items of an array inside an object as elements named by the
// member), a scalar as text, an empty value as <NAME/>. Names that are not
// XML names are made into one ('_' for each other character). A value that
// is not JSON is written as text, as a plain element would be.
func appendNested(b []byte, c column, v engine.Value) []byte {
	var raw []byte
	switch x := v.(type) {
	case json.RawMessage:
		raw = x
	case string:
		raw = []byte(x)
	case []byte:
		raw = x
	}
	if raw == nil || !json.Valid(raw) {
		b = append(b, c.open...)
		b = appendValue(b, v, c.text)
		return append(b, c.close...)
	}
	w := jsonXML{src: raw}
	return w.value(b, 4, c.name, c.item)
}

// jsonXML walks a valid JSON text (json.Valid said so) once and writes it
// as XML: a page writes one such value a row, and encoding/json's token
// reader costs an allocation a token.
type jsonXML struct {
	src []byte
	i   int
}

func (w *jsonXML) space() {
	for w.i < len(w.src) && (w.src[w.i] == ' ' || w.src[w.i] == '\t' || w.src[w.i] == '\n' || w.src[w.i] == '\r') {
		w.i++
	}
}

// value appends the value at w.i as element name, indented by indent
// spaces; item names the elements of an array's items.
func (w *jsonXML) value(b []byte, indent int, name, item string) []byte {
	w.space()
	b = appendIndent(b, indent)
	b = append(b, '<')
	b = append(b, name...)
	switch c := w.src[w.i]; c {
	case '{', '[':
		w.i++
		b = append(b, ">\n"...)
		start := len(b)
		for first := true; ; first = false {
			w.space()
			if w.src[w.i] == '}' || w.src[w.i] == ']' {
				w.i++
				break
			}
			if !first {
				w.i++ // ','
				w.space()
			}
			if c == '[' {
				b = w.value(b, indent+2, item, item)
				continue
			}
			member := xmlName(w.text())
			w.space()
			w.i++ // ':'
			w.space()
			if w.src[w.i] != '[' {
				b = w.value(b, indent+2, member, member)
				continue
			}
			// An array member: one element per item, named by the member.
			w.i++
			for firstItem := true; ; firstItem = false {
				w.space()
				if w.src[w.i] == ']' {
					w.i++
					break
				}
				if !firstItem {
					w.i++ // ','
				}
				b = w.value(b, indent+2, member, member)
			}
		}
		if len(b) == start {
			return append(b[:start-2], "/>\n"...)
		}
		b = appendIndent(b, indent)
	default:
		text := w.scalar()
		if text == "" {
			return append(b, "/>\n"...)
		}
		b = append(b, '>')
		b = wire.AppendXML(b, text)
	}
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, ">\n"...)
}

// scalar reads a string, number, true, false or null and returns its text
// ("" for null).
func (w *jsonXML) scalar() string {
	switch c := w.src[w.i]; {
	case c == '"':
		return w.text()
	case c == 'n':
		w.i += len("null")
		return ""
	case c == 't':
		w.i += len("true")
		return "true"
	case c == 'f':
		w.i += len("false")
		return "false"
	}
	start := w.i // a number, written as it stands
	for w.i < len(w.src) && strings.IndexByte("+-.0123456789eE", w.src[w.i]) >= 0 {
		w.i++
	}
	return string(w.src[start:w.i])
}

// text reads a JSON string and returns it unquoted.
func (w *jsonXML) text() string {
	start := w.i
	escaped := false
	for w.i++; w.src[w.i] != '"'; w.i++ {
		if w.src[w.i] == '\\' {
			escaped = true
			w.i++
		}
	}
	w.i++
	if !escaped {
		return string(w.src[start+1 : w.i-1])
	}
	var s string
	json.Unmarshal(w.src[start:w.i], &s) // valid JSON: the string is too
	return s
}

func appendIndent(b []byte, n int) []byte {
	for range n {
		b = append(b, ' ')
	}
	return b
}

// xmlName returns s if it is an XML name (validName), else an XML name made
// from it: every other character becomes '_', and a leading digit, '-' or
// '.' gets a '_' before it, so that no data can make the document
// malformed.
func xmlName(s string) string {
	if validName(s) {
		return s
	}
	out := make([]byte, 0, len(s)+1)
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
			out = append(out, byte(r))
		case r >= '0' && r <= '9' || r == '-' || r == '.':
			if i == 0 {
				out = append(out, '_')
			}
			out = append(out, byte(r))
		default:
			out = append(out, '_')
		}
	}
	if len(out) == 0 {
		return "_"
	}
	return string(out)
}

// appendPage writes a paged document: <meta> with its links and counts,
// then the rows.
func (h *Handler) appendPage(b []byte, r *http.Request, req *request, p *engine.Page) []byte {
	// The cursors GOCDB's links carry: the first and last id of a page;
	// past the end of a forward walk, the cursor + 1 (so that prev includes
	// the last row seen); before the start of a backward walk, the cursor
	// - 1 (at least 0).
	var first, last int64
	hasFirst, hasLast := false, false
	if len(p.Rows) > 0 {
		// An id stored as something else than an integer (a value that does
		// not fit its column, published as stored) is no cursor: no link.
		k := slices.Index(p.Columns, req.md.key)
		first, hasFirst = p.Rows[0][k].(int64)
		last, hasLast = p.Rows[len(p.Rows)-1][k].(int64)
	} else if req.before {
		last, hasLast = max(req.cursor-1, 0), true
	} else {
		first, hasFirst = req.cursor+1, true
	}

	base := appendBase(nil, r)
	b = append(b, xmlDecl...)
	b = append(b, "<results>\n  <meta>\n"...)
	// self is the query as sent (GOCDB does not rebuild it), with the
	// reserved characters a client left raw percent-encoded, so that every
	// link is safe in any list a client splits on commas.
	b = appendLink(b, "self", base, wire.AppendQuery(nil, r.URL.RawQuery))
	// GOCDB edits one copy of the query for all three links, in this order.
	ps := slices.Clone(req.params)
	var q []byte
	if hasLast {
		ps = ps.del(paramPrev).set(paramNext, formatCursor(last))
		q = ps.appendEncoded(q[:0])
		b = appendLink(b, "next", base, q)
	}
	if hasFirst {
		ps = ps.del(paramNext).set(paramPrev, formatCursor(first))
		q = ps.appendEncoded(q[:0])
		b = appendLink(b, "prev", base, q)
	}
	ps = ps.del(paramPrev).del(paramNext).set(paramNext, "0")
	b = appendLink(b, "start", base, ps.appendEncoded(q[:0]))
	b = append(b, "    <count>"...)
	b = strconv.AppendInt(b, int64(len(p.Rows)), 10)
	b = append(b, "</count>\n    <max_page_size>"...)
	b = strconv.AppendInt(b, int64(req.md.pageSize), 10)
	b = append(b, "</max_page_size>\n  </meta>\n"...)

	attrs, elems := req.md.rowIndexes(p.Columns)
	for _, row := range p.Rows {
		b = req.md.appendRow(b, row, attrs, elems)
	}
	return append(b, "</results>\n"...)
}

// formatCursor writes a cursor; past the largest int64 id it still counts
// up rather than wrap.
func formatCursor(n int64) string {
	if n < 0 {
		return strconv.FormatUint(uint64(n), 10)
	}
	return strconv.FormatInt(n, 10)
}

func appendLink(b []byte, rel string, base, query []byte) []byte {
	b = append(b, `    <link rel="`...)
	b = append(b, rel...)
	b = append(b, `" href="`...)
	b = wire.AppendXML(b, string(base))
	b = wire.AppendXML(b, string(query))
	return append(b, "\"/>\n"...)
}

// appendBase appends the absolute URL of the request's path and the '?'
// before the query, as GOCDB prefixes its server_base_url.
func appendBase(b []byte, r *http.Request) []byte {
	b = append(b, baseurl.Of(r)...)
	b = wire.AppendPath(b, r.URL.EscapedPath())
	return append(b, '?')
}

// stream writes the whole result of an unpaged request as rows arrive, in
// constant memory: no <meta>, chunked transfer.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, req *request) {
	md := req.md
	s := wire.NewStream(w, ContentType)
	var attrs, elems []int
	rows := 0
	start := func(columns []*engine.Field, _ []int) error {
		attrs, elems = md.rowIndexes(columns)
		s.Buf = append(s.Buf, xmlDecl...)
		return nil
	}
	emit := func(row engine.Row) error {
		if rows == 0 {
			s.Buf = append(s.Buf, "<results>\n"...)
		}
		rows++
		s.Buf = md.appendRow(s.Buf, row, attrs, elems)
		return s.Row()
	}
	if err := h.e.Stream(r.Context(), md.c, req.query, engine.Span{}, start, emit); err != nil {
		// Before the first byte the answer can still be an error; after
		// it, the connection is dropped, so that a cut-off document can
		// never look complete.
		h.errs.Stream(w, r, s, err)
		return
	}
	if rows == 0 {
		s.Buf = append(s.Buf, "<results/>\n"...)
	} else {
		s.Buf = append(s.Buf, "</results>\n"...)
	}
	s.Flush()
}
