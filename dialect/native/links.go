package native

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"folio/engine"
	"folio/wire"
)

// Link is one navigation link of a page: its relation (self, first,
// prev, next, last) and absolute URL.
type Link struct {
	Rel, URL string
}

// pageLinks returns the self, first, prev, next and last links of a page:
// the request's URL with its other parameters kept and only the position
// (cursor or offset) changed. Every reserved character in a path or query
// value is percent-encoded, commas in sort, fields and lists included: the
// links go into a Link header, which many clients split on every comma.
func pageLinks(r *http.Request, base string, q url.Values, p *engine.Page) []Link {
	path := string(wire.AppendPath([]byte(base), r.URL.EscapedPath()))
	ls := []Link{{"self", string(wire.AppendRequestURI([]byte(base), r.URL))}}
	at := func(set func(url.Values)) string {
		v := make(url.Values, len(q)+1)
		for k, vs := range q {
			if k != paramCursor && k != paramOffset {
				v[k] = vs
			}
		}
		set(v)
		if s := v.Encode(); s != "" {
			return path + "?" + s
		}
		return path
	}
	if p.Keyset {
		ls = append(ls, Link{"first", at(func(url.Values) {})})
		if p.HasPrev {
			ls = append(ls, Link{"prev", at(func(v url.Values) { v.Set(paramCursor, p.Prev) })})
		}
		if p.HasNext {
			ls = append(ls, Link{"next", at(func(v url.Values) { v.Set(paramCursor, p.Next) })})
		}
		if p.Last != "" {
			ls = append(ls, Link{"last", at(func(v url.Values) { v.Set(paramCursor, p.Last) })})
		}
		return ls
	}
	// Offset paging; keep the offset parameter in the first link only when
	// the client used it, since an unkeyed collection pages by offset anyway.
	withOffset := func(n int) func(url.Values) {
		return func(v url.Values) {
			if n > 0 || q.Has(paramOffset) {
				v.Set(paramOffset, strconv.Itoa(n))
			}
		}
	}
	ls = append(ls, Link{"first", at(withOffset(0))})
	if p.HasPrev {
		ls = append(ls, Link{"prev", at(withOffset(max(0, p.Offset-p.Limit)))})
	}
	if p.HasNext {
		ls = append(ls, Link{"next", at(withOffset(p.Offset + p.Limit))})
	}
	return ls
}

// linkHeader renders links as an RFC 8288 Link header.
func linkHeader(ls []Link) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('<')
		b.WriteString(l.URL)
		b.WriteString(`>; rel="`)
		b.WriteString(l.Rel)
		b.WriteByte('"')
	}
	return b.String()
}

// PageLinks returns the links of page p of the request r as the native
// API writes them into its envelope and Link header (see pageLinks), for
// views that present the same page in another form.
func PageLinks(r *http.Request, base string, q url.Values, p *engine.Page) []Link {
	return pageLinks(r, base, q, p)
}
