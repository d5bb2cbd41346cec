package client

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// Record is one harvested record as a JSON object. XML records (GOCDB) are
// converted: attributes and child elements become string members.
type Record = json.RawMessage

// Dialect names, as Start, PagerFor and the --dialect flag take them.
const (
	Native    = "native"
	Nomad     = "nomad"
	Copernica = "copernica"
	JSONAPI   = "jsonapi"
	GOCDB     = "gocdb"
	Link      = "link" // any API with an RFC 8288 Link rel="next" or a JSON next link
)

// Dialects lists the pager names.
func Dialects() []string {
	return []string{Native, Nomad, Copernica, JSONAPI, GOCDB, Link}
}

// Pager reads one API's pages.
type Pager interface {
	// Name is the dialect, as Dialects lists it.
	Name() string
	// Prepare turns the user's first request into the first request of a
	// harvest: the page size set, paging switched on where it is optional.
	Prepare(req Request, pageSize int) (Request, error)
	// Parse reads the answer to req: its records, the request for the next
	// page (nil on the last) and the total when the server says it.
	Parse(req Request, resp Response) (Parsed, error)
}

// Parsed is what a Pager reads from one page.
type Parsed struct {
	Records []Record
	Next    *Request
	Total   int64 // -1: unknown
}

// PagerFor returns the pager of a dialect.
func PagerFor(dialect string) (Pager, error) {
	switch dialect {
	case Native:
		return linkPager{name: Native, sizeParam: "limit"}, nil
	case Link:
		return linkPager{name: Link}, nil
	case JSONAPI:
		return jsonapiPager{}, nil
	case Nomad:
		return nomadPager{}, nil
	case Copernica:
		return copernicaPager{}, nil
	case GOCDB:
		return gocdbPager{}, nil
	}
	return nil, fmt.Errorf("unknown dialect %q (want auto or one of %s)", dialect, strings.Join(Dialects(), ", "))
}

// Detect picks the pager for an API from the answer to its first request.
func Detect(req Request, resp Response) (Pager, error) {
	body := bytes.TrimSpace(resp.Body)
	if len(body) > 0 && body[0] == '<' {
		if bytes.Contains(body, []byte("<results")) {
			return gocdbPager{}, nil
		}
		return nil, errors.New("detect: an XML answer that is not GOCDB's <results>")
	}
	if len(body) > 0 && body[0] == '[' {
		return linkPager{name: Link}, nil // records bare, so paging is in the Link header
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, fmt.Errorf("detect: the first answer is neither JSON nor XML: %w", err)
	}
	has := func(k string) bool { _, ok := top[k]; return ok }
	switch {
	case has("pagination") && has("data"):
		return nomadPager{}, nil
	case has("start") && has("limit") && has("data"):
		return copernicaPager{}, nil
	case has("page") && has("links") && has("data"):
		return linkPager{name: Native, sizeParam: "limit"}, nil
	case has("meta") && has("links") && has("data"):
		return jsonapiPager{}, nil
	}
	return linkPager{name: Link}, nil
}

// linkPager follows a Link: <...>; rel="next" header or a JSON next link
// (links.next, next, or next_page_url) and reads records from the first
// array among data, results, items and records (or a top-level array).
type linkPager struct {
	name      string
	sizeParam string
}

func (p linkPager) Name() string { return p.name }

func (p linkPager) Prepare(req Request, pageSize int) (Request, error) {
	if pageSize <= 0 {
		return req, nil
	}
	if p.sizeParam == "" {
		return req, fmt.Errorf("%s: --page-size needs a dialect that knows the page-size parameter; put it in the URL", p.name)
	}
	return setParams(req, map[string]string{p.sizeParam: strconv.Itoa(pageSize)})
}

func (p linkPager) Parse(req Request, resp Response) (Parsed, error) {
	recs, top, err := jsonRecords(resp.Body)
	if err != nil {
		return Parsed{}, err
	}
	out := Parsed{Records: recs, Total: -1}
	if next := nextLink(resp, top); next != "" {
		u, err := resolve(req.URL, next)
		if err != nil {
			return Parsed{}, err
		}
		out.Next = &Request{Method: req.Method, URL: u, Body: req.Body, ContentType: req.ContentType}
	}
	if pg, ok := top["page"]; ok {
		var page struct {
			Total *int64 `json:"total"`
		}
		if json.Unmarshal(pg, &page) == nil && page.Total != nil {
			out.Total = *page.Total
		}
	}
	return out, nil
}

// jsonRecords reads the records of a JSON page and its top-level members.
func jsonRecords(body []byte) ([]Record, map[string]json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	elems, members, ok := scanPage(body)
	if !ok {
		var v any
		return nil, nil, fmt.Errorf("read page: %w", json.Unmarshal(body, &v))
	}
	if body[0] == '[' {
		return elems, nil, nil
	}
	if body[0] != '{' {
		return nil, nil, errors.New("read page: neither an object nor an array of records")
	}
	top := make(map[string]json.RawMessage, len(members))
	arrays := map[string][]Record{}
	for _, m := range members {
		k, err := memberKey(m.key)
		if err != nil {
			return nil, nil, fmt.Errorf("read page: %w", err)
		}
		// The last of a repeated key wins, as in encoding/json.
		top[k] = m.value
		arrays[k] = m.elems
	}
	for _, k := range []string{"data", "results", "items", "records"} {
		raw, ok := top[k]
		if !ok || len(raw) == 0 || raw[0] != '[' {
			continue
		}
		return arrays[k], top, nil
	}
	return nil, nil, errors.New("read page: no array of records (data, results, items or records)")
}

// nextLink finds the next page's URL: the first link with rel "next" in
// the Link header fields, then the JSON body's links.next, next or
// next_page_url.
func nextLink(resp Response, top map[string]json.RawMessage) string {
	for _, h := range resp.Header.Values("Link") {
		for _, l := range parseLinks(h) {
			if l.hasRel("next") {
				return l.target
			}
		}
	}
	str := func(raw json.RawMessage) string {
		var s string
		json.Unmarshal(raw, &s)
		return s
	}
	if raw, ok := top["links"]; ok {
		var links map[string]json.RawMessage
		if json.Unmarshal(raw, &links) == nil {
			if s := str(links["next"]); s != "" {
				return s
			}
		}
	}
	for _, k := range []string{"next", "next_page_url"} {
		if s := str(top[k]); s != "" {
			return s
		}
	}
	return ""
}

func resolve(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("next link: %w", err)
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("next link %q: %w", ref, err)
	}
	return b.ResolveReference(r).String(), nil
}

// setParams returns req with query parameters set (an empty value removes
// the parameter).
func setParams(req Request, set map[string]string) (Request, error) {
	u, err := url.Parse(req.URL)
	if err != nil {
		return req, fmt.Errorf("url %q: %w", req.URL, err)
	}
	q := u.Query()
	for k, v := range set {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	req.URL = u.String()
	return req, nil
}

// jsonapiPager pages DataCite's JSON:API by cursor (page[cursor]=1, then
// links.next): page numbers reach only the first 10,000 records.
type jsonapiPager struct{}

func (jsonapiPager) Name() string { return JSONAPI }

func (jsonapiPager) Prepare(req Request, pageSize int) (Request, error) {
	u, err := url.Parse(req.URL)
	if err != nil {
		return req, fmt.Errorf("url %q: %w", req.URL, err)
	}
	q := u.Query()
	set := map[string]string{}
	if q.Get("page[cursor]") == "" && q.Get("page[number]") == "" {
		set["page[cursor]"] = "1"
	}
	if pageSize > 0 {
		set["page[size]"] = strconv.Itoa(pageSize)
	}
	return setParams(req, set)
}

func (jsonapiPager) Parse(req Request, resp Response) (Parsed, error) {
	out, err := linkPager{name: JSONAPI}.Parse(req, resp)
	if err != nil {
		return out, err
	}
	var doc struct {
		Meta struct {
			Total *int64 `json:"total"`
		} `json:"meta"`
	}
	if json.Unmarshal(resp.Body, &doc) == nil && doc.Meta.Total != nil {
		out.Total = *doc.Meta.Total
	}
	return out, nil
}

// nomadPager pages NOMAD's API by page_after_value: in the POST body's
// pagination, or as a query parameter of a GET.
type nomadPager struct{}

func (nomadPager) Name() string { return Nomad }

func (nomadPager) Prepare(req Request, pageSize int) (Request, error) {
	if pageSize <= 0 {
		return req, nil
	}
	if req.Body == "" && req.method() == "GET" {
		return setParams(req, map[string]string{"page_size": strconv.Itoa(pageSize)})
	}
	return nomadBody(req, "page_size", pageSize)
}

// nomadBody returns req with one member of the body's pagination set.
func nomadBody(req Request, key string, v any) (Request, error) {
	body := map[string]json.RawMessage{}
	if strings.TrimSpace(req.Body) != "" {
		if err := json.Unmarshal([]byte(req.Body), &body); err != nil {
			return req, fmt.Errorf("nomad: request body: %w", err)
		}
	}
	pag := map[string]json.RawMessage{}
	if raw, ok := body["pagination"]; ok {
		if err := json.Unmarshal(raw, &pag); err != nil {
			return req, fmt.Errorf("nomad: request body's pagination: %w", err)
		}
	}
	b, _ := json.Marshal(v)
	pag[key] = b
	body["pagination"], _ = json.Marshal(pag)
	out, _ := json.Marshal(body)
	req.Body = string(out)
	if req.Method == "" || req.Method == "GET" {
		req.Method = "POST"
	}
	return req, nil
}

func (nomadPager) Parse(req Request, resp Response) (Parsed, error) {
	var doc struct {
		Pagination struct {
			Total *int64          `json:"total"`
			Next  json.RawMessage `json:"next_page_after_value"`
		} `json:"pagination"`
		Data []Record `json:"data"`
	}
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		return Parsed{}, fmt.Errorf("read page: %w", err)
	}
	out := Parsed{Records: doc.Data, Total: -1}
	if doc.Pagination.Total != nil {
		out.Total = *doc.Pagination.Total
	}
	next := doc.Pagination.Next
	if len(next) == 0 || string(next) == "null" {
		return out, nil
	}
	var v any
	if err := json.Unmarshal(next, &v); err != nil {
		return Parsed{}, fmt.Errorf("read next_page_after_value: %w", err)
	}
	var r Request
	var err error
	if req.Body == "" && req.method() == "GET" {
		r, err = setParams(req, map[string]string{"page_after_value": fmt.Sprint(v)})
	} else {
		r, err = nomadBody(req, "page_after_value", v)
	}
	if err != nil {
		return Parsed{}, err
	}
	out.Next = &r
	return out, nil
}

// copernicaPager pages Copernica's REST API: by nextid when the server
// gives one (sorted by ID: fields[]=ID>=nextid, deep pages cost the same),
// else by start and limit until count is 0 or start+count reaches total.
type copernicaPager struct{}

func (copernicaPager) Name() string { return Copernica }

func (copernicaPager) Prepare(req Request, pageSize int) (Request, error) {
	if pageSize <= 0 {
		return req, nil
	}
	return setParams(req, map[string]string{"limit": strconv.Itoa(pageSize)})
}

func (copernicaPager) Parse(req Request, resp Response) (Parsed, error) {
	var doc struct {
		Start  int64           `json:"start"`
		Limit  int64           `json:"limit"`
		Count  int64           `json:"count"`
		Total  *int64          `json:"total"`
		Data   []Record        `json:"data"`
		NextID json.RawMessage `json:"nextid"`
	}
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		return Parsed{}, fmt.Errorf("read page: %w", err)
	}
	out := Parsed{Records: doc.Data, Total: -1}
	if doc.Total != nil {
		out.Total = *doc.Total
	}
	n := int64(len(doc.Data))
	if n == 0 {
		return out, nil
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		return Parsed{}, fmt.Errorf("url %q: %w", req.URL, err)
	}
	q := u.Query()
	if len(doc.NextID) > 0 && string(doc.NextID) != "null" {
		var id any
		json.Unmarshal(doc.NextID, &id)
		// Replace the ID>= condition of the previous page; a condition of
		// the user's own on ID>= is weaker than nextid, so it goes too.
		var keep []string
		for _, c := range q["fields[]"] {
			if !strings.HasPrefix(c, "ID>=") {
				keep = append(keep, c)
			}
		}
		q["fields[]"] = append(keep, fmt.Sprintf("ID>=%v", id))
		q.Del("start")
		u.RawQuery = q.Encode()
		out.Next = &Request{Method: req.Method, URL: u.String()}
		return out, nil
	}
	if doc.Total != nil && doc.Start+n >= *doc.Total || doc.Limit > 0 && n < doc.Limit {
		return out, nil
	}
	q.Set("start", strconv.FormatInt(doc.Start+n, 10))
	u.RawQuery = q.Encode()
	out.Next = &Request{Method: req.Method, URL: u.String()}
	return out, nil
}

// gocdbPager pages GOCDB's XML by the <link rel="next"> of <meta>, until
// a page's <count> is 0. Without next_cursor GOCDB answers everything at
// once, so Prepare asks for paging from the start.
type gocdbPager struct{}

func (gocdbPager) Name() string { return GOCDB }

func (gocdbPager) Prepare(req Request, _ int) (Request, error) {
	u, err := url.Parse(req.URL)
	if err != nil {
		return req, fmt.Errorf("url %q: %w", req.URL, err)
	}
	q := u.Query()
	if q.Get("next_cursor") == "" && q.Get("prev_cursor") == "" {
		return setParams(req, map[string]string{"next_cursor": "0"})
	}
	return req, nil
}

func (gocdbPager) Parse(req Request, resp Response) (Parsed, error) {
	d := xml.NewDecoder(bytes.NewReader(resp.Body))
	out := Parsed{Total: -1}
	var next string
	count := int64(-1)
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Parsed{}, fmt.Errorf("read page: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth != 2 {
				continue
			}
			if t.Name.Local == "meta" {
				var meta struct {
					Links []struct {
						Rel  string `xml:"rel,attr"`
						Href string `xml:"href,attr"`
					} `xml:"link"`
					Count *int64 `xml:"count"`
				}
				if err := d.DecodeElement(&meta, &t); err != nil {
					return Parsed{}, fmt.Errorf("read <meta>: %w", err)
				}
				for _, l := range meta.Links {
					if l.Rel == "next" {
						next = l.Href
					}
				}
				if meta.Count != nil {
					count = *meta.Count
				}
			} else {
				rec, err := xmlRecord(d, t)
				if err != nil {
					return Parsed{}, err
				}
				out.Records = append(out.Records, rec)
			}
			depth--
		case xml.EndElement:
			depth--
		}
	}
	if next != "" && count != 0 && len(out.Records) > 0 {
		u, err := resolve(req.URL, next)
		if err != nil {
			return Parsed{}, err
		}
		out.Next = &Request{Method: req.Method, URL: u}
	}
	return out, nil
}

// xmlRecord reads one row element into a JSON object: its attributes,
// then its child elements' text, in document order; a child named like an
// attribute before it is left out, so that no member repeats.
func xmlRecord(d *xml.Decoder, start xml.StartElement) (Record, error) {
	var b bytes.Buffer
	seen := map[string]bool{}
	member := func(k, v string) {
		if seen[k] {
			return
		}
		seen[k] = true
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(v)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	for _, a := range start.Attr {
		member(a.Name.Local, a.Value)
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("read <%s>: %w", start.Name.Local, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var text struct {
				Inner string `xml:",innerxml"`
				Text  string `xml:",chardata"`
			}
			if err := d.DecodeElement(&text, &t); err != nil {
				return nil, fmt.Errorf("read <%s>: %w", t.Name.Local, err)
			}
			member(t.Name.Local, strings.TrimSpace(text.Text))
		case xml.EndElement:
			return Record("{" + b.String() + "}"), nil
		}
	}
}
