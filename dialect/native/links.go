package native

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"folio/engine"
	"folio/wire"
)

// link is one navigation link of a page.
type link struct {
	rel, url string
}

// pageLinks returns the self, first, prev, next and last links of a page:
// the request's URL with its other parameters kept and only the position
// (cursor or offset) changed. Every reserved character in a path or query
// value is percent-encoded, commas in sort, fields and lists included: the
// links go into a Link header, which many clients split on every comma.
func pageLinks(r *http.Request, base string, q url.Values, p *engine.Page) []link {
	path := string(wire.AppendPath([]byte(base), r.URL.EscapedPath()))
	ls := []link{{"self", string(wire.AppendRequestURI([]byte(base), r.URL))}}
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
		ls = append(ls, link{"first", at(func(url.Values) {})})
		if p.HasPrev {
			ls = append(ls, link{"prev", at(func(v url.Values) { v.Set(paramCursor, p.Prev) })})
		}
		if p.HasNext {
			ls = append(ls, link{"next", at(func(v url.Values) { v.Set(paramCursor, p.Next) })})
		}
		if p.Last != "" {
			ls = append(ls, link{"last", at(func(v url.Values) { v.Set(paramCursor, p.Last) })})
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
	ls = append(ls, link{"first", at(withOffset(0))})
	if p.HasPrev {
		ls = append(ls, link{"prev", at(withOffset(max(0, p.Offset-p.Limit)))})
	}
	if p.HasNext {
		ls = append(ls, link{"next", at(withOffset(p.Offset + p.Limit))})
	}
	return ls
}

// linkHeader renders links as an RFC 8288 Link header.
func linkHeader(ls []link) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('<')
		b.WriteString(l.url)
		b.WriteString(`>; rel="`)
		b.WriteString(l.rel)
		b.WriteByte('"')
	}
	return b.String()
}
