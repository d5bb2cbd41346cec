package server

import (
	"container/list"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"folio/baseurl"
	"folio/engine"
)

// Responses larger than this are never cached: a page of 1,000 wide rows
// fits, a streamed export does not.
const maxCachedBody = 1 << 20

// pageCache keeps whole GET responses, keyed by what determines their bytes
// (the external base of links, URI, the Accept header and the principal), each filed under the data version it
// was rendered at. A response is served again only while the source reports
// that same version, so a changing database is never answered from an old
// page; one that a source read from data older than that version (a
// lagging replica: engine.MarkBehind) is not kept. Least recently used
// entries go first when the byte budget is full.
type pageCache struct {
	src    engine.Source
	budget int64

	mu      sync.Mutex
	size    int64
	order   *list.List // of *cached, most recently used at the front
	entries map[string]*list.Element
}

type cached struct {
	key     string
	version uint64
	status  int
	header  http.Header
	body    []byte
	rows    int64 // the rows of the page, counted again by metrics on a hit
}

func (c *cached) cost() int64 { return int64(len(c.body) + len(c.key) + 512) }

func newPageCache(src engine.Source, budget int64) *pageCache {
	return &pageCache{src: src, budget: budget, order: list.New(), entries: map[string]*list.Element{}}
}

func (c *pageCache) get(key string, version uint64) *cached {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil
	}
	e := el.Value.(*cached)
	if e.version != version {
		c.remove(el)
		return nil
	}
	c.order.MoveToFront(el)
	return e
}

func (c *pageCache) put(e *cached) {
	if e.cost() > c.budget {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[e.key]; ok {
		c.remove(el)
	}
	c.entries[e.key] = c.order.PushFront(e)
	c.size += e.cost()
	for c.size > c.budget {
		c.remove(c.order.Back())
	}
}

func (c *pageCache) remove(el *list.Element) {
	e := c.order.Remove(el).(*cached)
	delete(c.entries, e.key)
	c.size -= e.cost()
}

// cacheResponses answers repeated GET requests from the cache while the data
// is unchanged. Requests with conditional or range headers, and responses
// that stream (flush), are too large, are not 200 or say Cache-Control:
// no-store (an answer that depends on the time, not only on the data), pass
// through untouched.
func cacheResponses(c *pageCache) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || r.Header.Get("Range") != "" || r.Header.Get("If-None-Match") != "" ||
				r.Header.Get("If-Modified-Since") != "" || r.Header.Get("Cache-Control") == "no-cache" {
				next.ServeHTTP(w, r)
				return
			}
			version, err := c.src.Version(r.Context())
			if err != nil {
				next.ServeHTTP(w, r) // the handler reports the source's trouble in its own shape
				return
			}
			// Pages differ by principal (its rule, its fields): one's page is
			// never another's.
			key := baseurl.Of(r) + "\x00" + r.URL.RequestURI() + "\x00" + r.Header.Get("Accept") + "\x00" + engine.PrincipalOf(r.Context()).Key()
			if e := c.get(key, version); e != nil {
				cacheAnswered(r.Context(), e.rows)
				copyHeader(w.Header(), e.header)
				w.Header().Set("Content-Length", strconv.Itoa(len(e.body)))
				w.WriteHeader(e.status)
				w.Write(e.body)
				return
			}
			cacheMissed(r.Context())
			rec := &holdWriter{w: w, header: http.Header{}}
			ctx, behind := engine.WatchBehind(r.Context())
			next.ServeHTTP(rec, r.WithContext(ctx))
			if rec.passthrough {
				return
			}
			if !rec.wroteHeader {
				rec.status = http.StatusOK
			}
			body, header := rec.body, rec.header.Clone()
			rec.flushTo(w)
			// A page read from a replica that had not caught up with the
			// version is not that version's page: kept, it would be served
			// after the replica caught up, while a read would show more.
			if rec.status == http.StatusOK && !strings.Contains(header.Get("Cache-Control"), "no-store") && !behind.Marked() {
				c.put(&cached{key: key, version: version, status: rec.status, header: header, body: body, rows: rowsSoFar(r.Context())})
			}
		})
	}
}

// holdWriter holds a response until the handler returns, unless it grows past
// maxCachedBody or the handler flushes (a stream): then it turns into the
// real writer for the rest of the response.
type holdWriter struct {
	w           http.ResponseWriter
	header      http.Header
	status      int
	wroteHeader bool
	body        []byte
	passthrough bool
}

func (r *holdWriter) Header() http.Header {
	if r.passthrough {
		return r.w.Header()
	}
	return r.header
}

func (r *holdWriter) WriteHeader(status int) {
	if r.passthrough {
		r.w.WriteHeader(status)
		return
	}
	if !r.wroteHeader {
		r.wroteHeader, r.status = true, status
	}
}

func (r *holdWriter) Write(b []byte) (int, error) {
	if r.passthrough {
		return r.w.Write(b)
	}
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	if len(r.body)+len(b) > maxCachedBody {
		r.switchToPassthrough()
		return r.w.Write(b)
	}
	r.body = append(r.body, b...)
	return len(b), nil
}

// FlushError lets http.ResponseController flush through the holdWriter.
func (r *holdWriter) FlushError() error {
	r.switchToPassthrough()
	return http.NewResponseController(r.w).Flush()
}

// Unwrap gives http.ResponseController the real writer for everything else.
func (r *holdWriter) Unwrap() http.ResponseWriter { return r.w }

func (r *holdWriter) switchToPassthrough() {
	if r.passthrough {
		return
	}
	r.passthrough = true
	if !r.wroteHeader {
		r.wroteHeader, r.status = true, http.StatusOK
	}
	r.flushTo(r.w)
}

// flushTo sends the held header and body to w.
func (r *holdWriter) flushTo(w http.ResponseWriter) {
	copyHeader(w.Header(), r.header)
	w.WriteHeader(r.status)
	if len(r.body) > 0 {
		w.Write(r.body)
	}
	r.body = nil
}

// copyHeader sets the handler's header fields on the response, adding to
// Vary rather than replacing it: what the middleware outside the cache
// varies on (CORS's Origin) stays.
func copyHeader(dst, src http.Header) {
	for k, v := range src {
		if k == "Vary" {
			dst[k] = append(dst[k][:len(dst[k]):len(dst[k])], v...)
			continue
		}
		dst[k] = v
	}
}

// purge drops every page: they were rendered from collections the server
// no longer serves.
func (c *pageCache) purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.order.Init()
	clear(c.entries)
	c.size = 0
}
