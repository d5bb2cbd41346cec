package nomad

import (
	"net/http"
	"net/url"
	"strconv"

	"folio/baseurl"
	"folio/engine"
	"folio/wire"
)

// render appends NOMAD's response envelope, keys in the order of NOMAD's
// response model (owner, query, pagination, required, data), null keys
// left out.
func (h *Handler) render(b []byte, r *http.Request, req *request, p *engine.Page) []byte {
	b = append(b, `{"owner":`...)
	b = wire.AppendString(b, req.owner)
	if req.queryEcho != nil {
		b = append(b, `,"query":`...)
		b = append(b, req.queryEcho...)
	}

	b = append(b, `,"pagination":{"page_size":`...)
	b = strconv.AppendInt(b, int64(req.size), 10)
	b = append(b, `,"order_by":`...)
	b = wire.AppendString(b, req.orderBy.name)
	b = append(b, `,"order":`...)
	if req.desc {
		b = append(b, `"desc"`...)
	} else {
		b = append(b, `"asc"`...)
	}
	if req.after != nil {
		b = append(b, `,"page_after_value":`...)
		b = wire.AppendString(b, *req.after)
	}
	if req.page != nil {
		b = append(b, `,"page":`...)
		b = strconv.AppendInt(b, int64(*req.page), 10)
	}
	if req.offset != nil {
		b = append(b, `,"page_offset":`...)
		b = strconv.AppendInt(b, int64(*req.offset), 10)
	}
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, p.Total.Count, 10)
	// folio: the cursor only when more rows exist, so a client never asks
	// for the empty page NOMAD sometimes makes it fetch.
	var next []byte
	if p.HasNext && len(p.Rows) > 0 {
		next = appendAfter(nil, p.Order, p.SortValues(p.Rows[len(p.Rows)-1]))
		b = append(b, `,"next_page_after_value":`...)
		b = wire.AppendString(b, string(next))
	}
	if req.get {
		b = h.appendURLs(b, r, req, next)
	}
	b = append(b, '}')

	b = append(b, `,"required":{`...)
	if req.hasInclude {
		b = append(b, `"include":`...)
		b = appendStrings(b, req.include)
	}
	if req.hasExclude {
		if req.hasInclude {
			b = append(b, ',')
		}
		b = append(b, `"exclude":`...)
		b = appendStrings(b, req.exclude)
	}
	b = append(b, '}')

	b = append(b, `,"data":[`...)
	doc := h.s.full
	if req.query.Fields != nil {
		doc = h.s.layout(p)
	}
	for i, row := range p.Rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendDocument(b, row, doc)
	}
	return append(b, "]}\n"...)
}

// appendURLs appends GET's page_url, first_page_url, next_page_url and
// prev_page_url: the request's URL with page and page_after_value changed.
func (h *Handler) appendURLs(b []byte, r *http.Request, req *request, next []byte) []byte {
	origin := baseurl.Of(r)
	base := string(wire.AppendPath([]byte(origin), r.URL.EscapedPath()))
	q := r.URL.Query()
	link := func(key string, edit func(url.Values)) {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		edit(v)
		u := base
		if len(v) > 0 {
			u += "?" + v.Encode()
		}
		b = append(b, `,"`...)
		b = append(b, key...)
		b = append(b, `":`...)
		b = wire.AppendString(b, u)
	}
	// page_url is the request as sent, with the reserved characters a
	// client left raw (commas, brackets, the braces and quotes of a
	// json_query) percent-encoded, as url.Values.Encode does for the others.
	b = append(b, `,"page_url":`...)
	b = wire.AppendString(b, string(wire.AppendRequestURI([]byte(origin), r.URL)))
	if next != nil {
		// folio drops page_offset as well as page: with both, the link
		// would be refused (NOMAD keeps it).
		link("next_page_url", func(v url.Values) {
			v.Del(paramPage)
			v.Del(paramPageOffset)
			v.Set(paramAfter, string(next))
		})
	}
	if req.page != nil && *req.page > 1 {
		link("prev_page_url", func(v url.Values) { v.Set(paramPage, strconv.Itoa(*req.page-1)) })
	}
	if req.size > 0 {
		link("first_page_url", func(v url.Values) {
			v.Del(paramPage)
			v.Del(paramPageOffset)
			v.Del(paramAfter)
		})
	}
	return b
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendString(b, s)
	}
	return append(b, ']')
}
