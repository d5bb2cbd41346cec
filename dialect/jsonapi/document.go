package jsonapi

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"folio/baseurl"
	"folio/engine"
	"folio/wire"
)

// appendList appends the document of one page:
//
//	{"data":[…],"meta":{"total":…,"totalPages":…,"page":…},"links":{"self":…,"next":…}}
//
// meta.page only in page-number mode; links.next only when there is a next
// page (folio knows, so there is never a trailing empty page).
func (h *handler) appendList(b []byte, r *http.Request, req *request, p *engine.Page) []byte {
	b = append(b, `{"data":[`...)
	idx := req.tmpl.indexes(p)
	for i, row := range p.Rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = req.tmpl.appendResource(b, row, idx)
	}
	var total int64
	if p.Total != nil {
		total = p.Total.Count
	}
	// totalPages as DataCite counts it: capped at the page-number window in
	// page-number mode; 0 for page[size]=0.
	var pages int64
	if req.size > 0 {
		reach := total
		if !req.cursor {
			reach = min(total, int64(h.c.MaxOffset))
		}
		pages = (reach + int64(req.size) - 1) / int64(req.size)
	}
	b = append(b, `],"meta":{"total":`...)
	b = strconv.AppendInt(b, total, 10)
	b = append(b, `,"totalPages":`...)
	b = strconv.AppendInt(b, pages, 10)
	if !req.cursor {
		b = append(b, `,"page":`...)
		b = strconv.AppendInt(b, int64(req.number), 10)
	}
	base := baseurl.Of(r)
	b = append(b, `},"links":{"self":`...)
	// self is the request as sent, with the reserved characters a client
	// left raw percent-encoded, as next is: a client may carry either link
	// in a list that is split on commas.
	b = wire.AppendString(b, string(wire.AppendRequestURI([]byte(base), r.URL)))
	if next := h.next(req, p); next != "" {
		b = append(b, `,"next":`...)
		b = wire.AppendString(b, string(wire.AppendPath([]byte(base), h.path))+"?"+next)
	}
	return append(b, "}}\n"...)
}

// next returns the query string of the next page, or "" on the last one.
func (h *handler) next(req *request, p *engine.Page) string {
	if req.size == 0 || !p.HasNext {
		return ""
	}
	v := url.Values{}
	if req.cursor {
		v.Set(paramCursor, p.Next)
	} else {
		if (req.number)*req.size >= h.c.MaxOffset {
			return "" // the next page lies beyond the page-number window
		}
		v.Set(paramNumber, strconv.Itoa(req.number+1))
	}
	v.Set(paramSize, strconv.Itoa(req.size))
	for k, vs := range req.keep {
		v[k] = vs
	}
	return encodeQuery(v)
}

// encodeQuery encodes parameters the way DataCite's links do (Rails'
// Hash#to_query): each key=value escaped, space as '+', and the pairs sorted
// by their escaped text.
func encodeQuery(v url.Values) string {
	pairs := make([]string, 0, len(v))
	for k, vs := range v {
		for _, s := range vs {
			pairs = append(pairs, url.QueryEscape(k)+"="+url.QueryEscape(s))
		}
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "&")
}
