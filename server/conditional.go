package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"

	"folio/baseurl"
	"folio/config"
	"folio/engine"
)

// answers is the layer of each mount that knows an answer by the data
// version it was rendered at and by what else its bytes depend on
// (answerKey, the content coding): it gives every page, record and
// listing a strong ETag, answers If-None-Match with 304 without running
// the handler, serves and fills the page cache (nil: off), compresses the
// answers it holds whole, and labels every answer with the Cache-Control
// policy of its kind.
type answers struct {
	src    engine.Source
	cache  *pageCache
	policy config.CacheControl
	salt   []byte
}

func newAnswers(src engine.Source, cache *pageCache, policy config.CacheControl, salt []byte) *answers {
	return &answers{src: src, cache: cache, policy: policy.Policy(), salt: salt}
}

// answerKey names what an answer's bytes depend on besides the data and
// the content coding: the external base its links start with, the URI,
// and the Accept header some dialects negotiate by. It keys the page cache
// and goes into the ETag, so that neither ever gives one request's answer
// to another whose answer differs: who asks included.
func answerKey(r *http.Request) string {
	// Pages differ by principal (its rule, its fields): one's page is
	// never another's, and neither is its tag.
	return baseurl.Of(r) + "\x00" + r.URL.RequestURI() + "\x00" + r.Header.Get("Accept") + "\x00" + engine.PrincipalOf(r.Context()).Key()
}

// etag is the strong entity tag of the answer named by key in coding at
// version: a digest, so that it says nothing of the request, of the salt,
// the version, the key and the coding. A compressed answer has a tag of
// its own, as a strong tag must.
func (a *answers) etag(version uint64, key, coding string) string {
	h := sha256.New()
	h.Write(a.salt)
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], version)
	h.Write(v[:])
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(coding))
	return `"` + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18]) + `"`
}

// etagSalt identifies what an ETag's version counts in and what renders
// the data into answers: folio's build (a new release may write other
// bytes for the same rows), the mounts, and a random incarnation of this
// server's routes (new at every Reload, whose configuration may render
// the same data otherwise). A source's versions are only comparable within that source
// as opened (SQLite's count from 1 in every process; PostgreSQL's WAL
// position is shifted per process after a failover), so a tag validates
// only on the server that issued it: another node, or this one after a
// restart, answers 200 with its own tag, never a 304 for data it cannot
// know is the same.
func etagSalt(mounts []config.Mount) ([]byte, error) {
	s := "folio"
	if bi, ok := debug.ReadBuildInfo(); ok {
		s += " " + bi.Main.Version
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" || kv.Key == "vcs.modified" {
				s += " " + kv.Value
			}
		}
	}
	salt := fmt.Appendf([]byte(s), " %v ", mounts)
	incarnation := make([]byte, 16)
	if _, err := rand.Read(incarnation); err != nil {
		return nil, fmt.Errorf("server: etag salt: %w", err)
	}
	return append(salt, incarnation...), nil
}

// noneMatch reports whether If-None-Match lists tag, compared weakly as
// RFC 9110 says for this header. "*" matches nothing here: it asks
// whether the resource exists at all, which only running the request can
// tell.
func noneMatch(header []string, tag string) bool {
	for _, v := range header {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == tag {
				return true
			}
		}
	}
	return false
}

// label sets the Cache-Control of an answer of status, unless its handler
// set one: errors, streams and the rest (pages, records, listings) each
// their policy's.
func (a *answers) label(h http.Header, status int, streamed bool) {
	if h.Get("Cache-Control") != "" {
		return
	}
	var v string
	switch {
	case status >= 400:
		v = a.policy.Errors
	case status/100 != 2:
		return
	case streamed:
		v = a.policy.Exports
		// A proxy that buffers answers to cache them (nginx with
		// proxy_cache) passes this one on as it comes.
		h.Set("X-Accel-Buffering", "no")
	default:
		v = a.policy.Pages
	}
	if v != "" {
		h.Set("Cache-Control", v)
	}
}

// taggable reports whether an answer with header h and status may carry
// an ETag: a 200 that its handler does not mark as depending on more than
// the data (no-store: GOCDB's answers that depend on the time).
func taggable(h http.Header, status int) bool {
	return status == http.StatusOK && !strings.Contains(h.Get("Cache-Control"), "no-store")
}

func (a *answers) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method != http.MethodGet && r.Method != http.MethodHead) || r.Header.Get("Range") != "" {
			next.ServeHTTP(w, r)
			return
		}
		// The version is read before the handler reads the data, so a
		// write in between makes the tag older than the page, never the
		// page older than its tag: the next request then gets a new page
		// rather than a 304 for an old one.
		version, verr := a.src.Version(r.Context())
		key, coding := answerKey(r), codingOf(r)
		tag := ""
		if verr == nil {
			tag = a.etag(version, key, coding)
			if noneMatch(r.Header.Values("If-None-Match"), tag) {
				h := w.Header()
				h.Set("ETag", tag)
				a.label(h, http.StatusOK, false)
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		useCache := a.cache != nil && verr == nil && r.Method == http.MethodGet &&
			!strings.Contains(r.Header.Get("Cache-Control"), "no-cache")
		if useCache {
			if e, body := a.cache.get(key, version, coding); e != nil {
				a.hit(w, r, e, body, coding, tag)
				return
			}
			cacheMissed(r.Context())
		}
		ctx, behind := engine.WatchBehind(r.Context())
		rec := &holdWriter{w: w, header: http.Header{}}
		rec.onSend = func(h http.Header, status int, streamed bool) {
			a.label(h, status, streamed)
			// A stream's rows are still being read when its header goes:
			// whether a lagging replica answered is known only at the end.
			if tag != "" && !streamed && !behind.Marked() && taggable(h, status) {
				h.Set("ETag", tag)
			}
		}
		next.ServeHTTP(rec, r.WithContext(ctx))
		if rec.passthrough {
			return
		}
		if !rec.wroteHeader {
			rec.status = http.StatusOK
		}
		identity := rec.body
		header := rec.header.Clone()
		a.label(header, rec.status, false)
		out := identity
		if coding != "" && worthCompressing(rec.header, identity) {
			if b, err := encode(coding, identity); err == nil {
				out = b
				rec.header.Set("Content-Encoding", coding)
			}
		}
		rec.body = out
		rec.header.Set("Content-Length", strconv.Itoa(len(out)))
		rec.flushTo(w)
		// A page read from a replica that had not caught up with the
		// version is not that version's page: kept, it would be served
		// after the replica caught up, while a read would show more.
		if useCache && taggable(header, rec.status) && !behind.Marked() {
			header.Del("Content-Length")
			header.Del("ETag")
			e := &cached{key: key, version: version, status: rec.status, header: header, body: identity, rows: rowsSoFar(r.Context())}
			if coding != "" && len(out) != len(identity) {
				e.encoded = map[string][]byte{coding: out}
			}
			a.cache.put(e)
		}
	})
}

// hit answers from the cache entry e; body is e's body in coding, nil
// when that coding was not asked for since e was kept: it is compressed
// now, once, and kept beside the others.
func (a *answers) hit(w http.ResponseWriter, r *http.Request, e *cached, body []byte, coding, tag string) {
	if body == nil {
		body = e.body
		if worthCompressing(e.header, e.body) {
			if b, err := encode(coding, e.body); err == nil {
				body = b
				a.cache.addEncoded(e, coding, b)
			}
		}
	}
	cacheAnswered(r.Context(), e.rows)
	h := w.Header()
	copyHeader(h, e.header)
	if len(body) != len(e.body) {
		h.Set("Content-Encoding", coding)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("ETag", tag)
	w.WriteHeader(e.status)
	w.Write(body)
}

// holdWriter holds a response until the handler returns, unless it grows past
// maxCachedBody or the handler flushes (a stream): then it turns into the
// real writer for the rest of the response. onSend, when set, sees the
// header and status as they go to the real writer, and whether the
// response streams.
type holdWriter struct {
	w           http.ResponseWriter
	header      http.Header
	status      int
	wroteHeader bool
	body        []byte
	passthrough bool
	streamed    bool
	onSend      func(h http.Header, status int, streamed bool)
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
	if !r.passthrough {
		r.streamed = true
	}
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
	if r.onSend != nil {
		r.onSend(r.header, r.status, r.streamed)
	}
	copyHeader(w.Header(), r.header)
	w.WriteHeader(r.status)
	if len(r.body) > 0 {
		w.Write(r.body)
	}
	r.body = nil
}

// copyHeader sets the handler's header fields on the response, adding to
// Vary rather than replacing it: what the middleware outside the cache
// varies on (CORS's Origin, compression's Accept-Encoding) stays.
func copyHeader(dst, src http.Header) {
	for k, v := range src {
		if k == "Vary" {
			dst[k] = append(dst[k][:len(dst[k]):len(dst[k])], v...)
			continue
		}
		dst[k] = v
	}
}
