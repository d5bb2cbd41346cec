package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// NativeQuery is a query of one collection of folio's native API: where the
// API is mounted, which collection, and the parameters that say which
// records and fields a harvest wants (filters, sort, fields, limit). The
// parameters that place or count a single page (cursor, offset, total) are
// not part of a query.
type NativeQuery struct {
	// Base is the URL the native API is mounted at, the one that lists
	// its collections: http://h/v1, or http://h/api/native.
	Base string
	// Collection is the collection's name as the API publishes it.
	Collection string
	// Params are the query parameters: filters (name[op]=value), sort,
	// fields and limit.
	Params url.Values
}

// The native API's paging parameters.
const (
	paramSort   = "sort"
	paramLimit  = "limit"
	paramFields = "fields"
	paramCursor = "cursor"
	paramOffset = "offset"
	paramTotal  = "total"
)

// ParseNative reads the URL of a native collection, wherever the native
// API is mounted: the last path segment is the collection, the path before
// it the API's base, the query string the parameters (less cursor, offset
// and total). http://h/api/native/entries?x=y has Base http://h/api/native,
// Collection entries and Params x=y.
func ParseNative(raw string) (NativeQuery, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return NativeQuery{}, fmt.Errorf("native collection URL: %w", err)
	}
	if u.Scheme == "" || u.Host == "" {
		return NativeQuery{}, fmt.Errorf("native collection URL %q: not an absolute http(s) URL", raw)
	}
	path := u.EscapedPath()
	i := strings.LastIndexByte(path, '/')
	if i < 0 || path[i+1:] == "" {
		return NativeQuery{}, fmt.Errorf("native collection URL %q: the path does not end in a collection's name ({base}/{collection})", raw)
	}
	name, err := url.PathUnescape(path[i+1:])
	if err != nil {
		return NativeQuery{}, fmt.Errorf("native collection URL %q: %w", raw, err)
	}
	params, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return NativeQuery{}, fmt.Errorf("native collection URL %q: %w", raw, err)
	}
	for _, p := range []string{paramCursor, paramOffset, paramTotal} {
		params.Del(p)
	}
	base := *u
	base.RawQuery, base.ForceQuery, base.Fragment, base.RawFragment = "", false, "", ""
	base.RawPath = path[:i]
	if base.Path, err = url.PathUnescape(base.RawPath); err != nil {
		return NativeQuery{}, fmt.Errorf("native collection URL %q: %w", raw, err)
	}
	return NativeQuery{Base: base.String(), Collection: name, Params: params}, nil
}

// URL returns the collection's URL with q's parameters.
func (q NativeQuery) URL() string {
	u := strings.TrimSuffix(q.Base, "/") + "/" + url.PathEscape(q.Collection)
	if s := q.Params.Encode(); s != "" {
		u += "?" + s
	}
	return u
}

// Request returns the request for the first page of q.
func (q NativeQuery) Request() Request { return Request{URL: q.URL()} }

// with returns a copy of q with parameters set (an empty value deletes
// the parameter); q's own parameters are not changed.
func (q NativeQuery) with(set map[string]string) NativeQuery {
	p := make(url.Values, len(q.Params)+len(set))
	for k, v := range q.Params {
		p[k] = append([]string(nil), v...)
	}
	for k, v := range set {
		if v == "" {
			p.Del(k)
		} else {
			p.Set(k, v)
		}
	}
	q.Params = p
	return q
}

// KeySlice returns q narrowed to the records whose key is at least from
// and below to (an empty bound is open), sorted by the key: one slice of a
// harvest cut along the key. The bounds are query parameter values, as
// KeyRange returns them.
func (q NativeQuery) KeySlice(key, from, to string) NativeQuery {
	s := q.with(map[string]string{paramSort: key})
	// Added beside any bound of the user's own on the key: both hold.
	if from != "" {
		s.Params.Add(key+"[gte]", from)
	}
	if to != "" {
		s.Params.Add(key+"[lt]", to)
	}
	return s
}

// Collection describes one collection of the native API as its listing
// (GET Base) gives it.
type Collection struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// Key is the unique field that ends every sort; "" when the collection
	// has none (it pages by offset only) or a key of several fields.
	Key string `json:"key"`
	// KeyFields names every field of the key, in order: one, or several
	// whose values together are unique.
	KeyFields   []string `json:"key_fields"`
	Paging      []string `json:"paging"` // "cursor", "offset"
	DefaultSort string   `json:"default_sort"`
	Limits      Limits   `json:"limits"`
	Fields      []Field  `json:"fields"`
}

// Limits are a collection's page sizes and deepest offset.
type Limits struct {
	DefaultLimit int `json:"default_limit"`
	MaxLimit     int `json:"max_limit"`
	MaxOffset    int `json:"max_offset"`
}

// Field describes one published field of a collection.
type Field struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"` // "text", "integer", "number", "boolean", "time", "bytes" or "json"
	Nullable   bool     `json:"nullable"`
	Sortable   bool     `json:"sortable"`
	Filterable bool     `json:"filterable"`
	Operators  []string `json:"operators,omitempty"`
}

// Field returns the field called name, or nil when there is none.
func (c *Collection) Field(name string) *Field {
	for i := range c.Fields {
		if c.Fields[i].Name == name {
			return &c.Fields[i]
		}
	}
	return nil
}

// ErrNoCollection is returned by Describe when the API publishes no
// collection of the name asked for.
var ErrNoCollection = errors.New("no such collection")

// Collections lists the collections of the native API mounted at base.
func (c *Client) Collections(ctx context.Context, base string) ([]Collection, error) {
	resp, err := c.Fetch(ctx, Request{URL: base})
	if err != nil {
		return nil, fmt.Errorf("list the collections of the native API at %s: %w", base, err)
	}
	var doc struct {
		Data *[]Collection `json:"data"`
	}
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		return nil, fmt.Errorf("list the collections of the native API at %s: %w", base, err)
	}
	if doc.Data == nil {
		return nil, fmt.Errorf("list the collections of the native API at %s: the answer has no data: is the native API mounted there?", base)
	}
	return *doc.Data, nil
}

// Describe returns the description of q's collection from its API's
// listing; the error wraps ErrNoCollection when the API has no such
// collection.
func (c *Client) Describe(ctx context.Context, q NativeQuery) (Collection, error) {
	all, err := c.Collections(ctx, q.Base)
	if err != nil {
		return Collection{}, err
	}
	for _, col := range all {
		if col.Name == q.Collection {
			return col, nil
		}
	}
	return Collection{}, fmt.Errorf("%w: %s at %s", ErrNoCollection, q.Collection, q.Base)
}

// FirstPage fetches the first page of q, of at most limit records (0: the
// limit of q's parameters, or the server's default).
func (c *Client) FirstPage(ctx context.Context, q NativeQuery, limit int) (Parsed, error) {
	if limit > 0 {
		q = q.with(map[string]string{paramLimit: strconv.Itoa(limit)})
	}
	return c.nativePage(ctx, q)
}

// nativePage fetches the page q's URL asks for and reads it as the native
// pager does.
func (c *Client) nativePage(ctx context.Context, q NativeQuery) (Parsed, error) {
	req := q.Request()
	resp, err := c.Fetch(ctx, req)
	if err != nil {
		return Parsed{}, err
	}
	p, err := linkPager{name: Native, sizeParam: paramLimit}.Parse(req, resp)
	if err != nil {
		return Parsed{}, fmt.Errorf("%s: %w", req.URL, err)
	}
	return p, nil
}

// Count returns the exact number of records q selects: the total of a
// one-record page asked for with total=exact.
func (c *Client) Count(ctx context.Context, q NativeQuery) (int64, error) {
	p, err := c.nativePage(ctx, q.with(map[string]string{paramLimit: "1", paramTotal: "exact"}))
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", q.Collection, err)
	}
	if p.Total < 0 {
		return 0, fmt.Errorf("count %s: the server answered without a total", q.Collection)
	}
	return p.Total, nil
}

// KeyRange is the least and the greatest key of the records a query
// selects, as query parameter values: an integer's digits, a text as it
// is.
type KeyRange struct {
	First, Last string
	// Empty reports that the query selects no record; First and Last are
	// then "".
	Empty bool
}

// KeyRange returns the range of key over the records q selects: the key of
// the first record sorted by key up, and down, one record each.
func (c *Client) KeyRange(ctx context.Context, q NativeQuery, key string) (KeyRange, error) {
	end := func(sort string) (string, bool, error) {
		p, err := c.nativePage(ctx, q.with(map[string]string{paramSort: sort, paramLimit: "1", paramFields: key}))
		if err != nil {
			return "", false, fmt.Errorf("key range of %s: %w", q.Collection, err)
		}
		if len(p.Records) == 0 {
			return "", false, nil
		}
		v, err := memberParam(p.Records[0], key)
		if err != nil {
			return "", false, fmt.Errorf("key range of %s: %w", q.Collection, err)
		}
		return v, true, nil
	}
	first, ok, err := end(key)
	if err != nil || !ok {
		return KeyRange{Empty: true}, err
	}
	last, ok, err := end("-" + key)
	if err != nil || !ok {
		// Every record went between the two requests.
		return KeyRange{Empty: true}, err
	}
	return KeyRange{First: first, Last: last}, nil
}

// memberParam returns member name of a record as a query parameter value:
// a string's text, a number's digits.
func memberParam(r Record, name string) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(r, &obj); err != nil {
		return "", fmt.Errorf("record %.100s: %w", r, err)
	}
	raw, ok := obj[name]
	if !ok {
		return "", fmt.Errorf("record %.100s has no %s", r, name)
	}
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) > 0 && raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("%s %s: %w", name, raw, err)
		}
		return s, nil
	case len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'):
		return string(raw), nil
	}
	return "", fmt.Errorf("%s is %s: neither a number nor a text", name, raw)
}
