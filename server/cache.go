package server

import (
	"container/list"
	"net/http"
	"sync"
)

// Responses larger than this are never held whole (cached, compressed
// once): a page of 1,000 wide rows fits, a streamed export does not.
const maxCachedBody = 1 << 20

// pageCache keeps whole GET responses, keyed by what determines their bytes
// (answerKey: the external base of links, URI and the Accept header), each
// filed under the data version it was rendered at, with its body as the
// handler wrote it and compressed in each coding asked for so far, so that
// a hit costs no compression. A response is served again only while the
// source reports that same version, so a changing database is never
// answered from an old page; one that a source read from data older than
// that version (a lagging replica: engine.MarkBehind) is not kept. Least
// recently used entries go first when the byte budget is full.
type pageCache struct {
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
	header  http.Header // without Content-Encoding, Content-Length and ETag
	body    []byte      // identity
	encoded map[string][]byte
	rows    int64 // the rows of the page, counted again by metrics on a hit
	size    int64 // cost when last counted; pageCache.mu guards it and encoded
}

func (c *cached) cost() int64 {
	n := len(c.body) + len(c.key) + 512
	for _, b := range c.encoded {
		n += len(b)
	}
	return int64(n)
}

func newPageCache(budget int64) *pageCache {
	return &pageCache{budget: budget, order: list.New(), entries: map[string]*list.Element{}}
}

// get returns the entry of key at version and its body in coding ("":
// identity; nil when that coding was not asked for yet: see addEncoded).
func (c *pageCache) get(key string, version uint64, coding string) (*cached, []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil, nil
	}
	e := el.Value.(*cached)
	if e.version != version {
		c.remove(el)
		return nil, nil
	}
	c.order.MoveToFront(el)
	if coding == "" {
		return e, e.body
	}
	return e, e.encoded[coding]
}

func (c *pageCache) put(e *cached) {
	e.size = e.cost()
	if e.size > c.budget {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[e.key]; ok {
		c.remove(el)
	}
	c.entries[e.key] = c.order.PushFront(e)
	c.size += e.size
	c.evict()
}

// addEncoded keeps body as e's body in coding, if e is still cached.
func (c *pageCache) addEncoded(e *cached, coding string, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[e.key]; !ok || el.Value != e {
		return
	}
	if e.encoded == nil {
		e.encoded = map[string][]byte{}
	}
	e.encoded[coding] = body
	old := e.size
	e.size = e.cost()
	c.size += e.size - old
	c.evict()
}

func (c *pageCache) evict() {
	for c.size > c.budget {
		c.remove(c.order.Back())
	}
}

func (c *pageCache) remove(el *list.Element) {
	e := c.order.Remove(el).(*cached)
	delete(c.entries, e.key)
	c.size -= e.size
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
