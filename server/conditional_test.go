package server

import (
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"folio/config"
	"folio/engine"
	"folio/internal/demodb"
)

// rawClient sends requests as given: no Accept-Encoding of its own, no
// decoding, so that a test sees the bytes and headers on the wire.
var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

// rawGet GETs url with the headers given as name, value pairs.
func rawGet(t *testing.T, method, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestETagRevalidation: a page, a record and a listing carry a strong
// ETag; If-None-Match with it is answered 304 without a query (counted at
// the real source), with the ETag and the page's Cache-Control; after a
// write by another connection the same If-None-Match gets a 200 with the
// new row and a new ETag. A tag differs by coding, Accept and external
// base, and validates only on the server that issued it.
func TestETagRevalidation(t *testing.T) {
	db := newE2EDB(t)
	var counter *queryCounter
	base, _ := db.serve(t, func(s engine.Source) engine.Source {
		counter = &queryCounter{Source: s}
		return counter
	})
	other, _ := db.serve(t, nil) // another node over the same file, or this one restarted
	page := "/v1/items?limit=5&sort=a"
	for _, target := range []string{page, "/v1", "/v1/items/1"} {
		resp, body := rawGet(t, "GET", base+target)
		tag := resp.Header.Get("ETag")
		if resp.StatusCode != 200 || !strings.HasPrefix(tag, `"`) || !strings.HasSuffix(tag, `"`) || len(tag) < 10 {
			t.Fatalf("%s: status %d, ETag %q: %s", target, resp.StatusCode, tag, body)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != config.DefaultPagesCacheControl {
			t.Errorf("%s: Cache-Control %q", target, cc)
		}
		n := counter.queries.Load()
		for _, inm := range []string{tag, `"other", ` + tag, "W/" + tag} {
			resp, body = rawGet(t, "GET", base+target, "If-None-Match", inm)
			if resp.StatusCode != http.StatusNotModified || len(body) != 0 || resp.Header.Get("ETag") != tag ||
				resp.Header.Get("Cache-Control") != config.DefaultPagesCacheControl {
				t.Errorf("%s: If-None-Match %s: status %d, ETag %q, Cache-Control %q, %d bytes", target, inm, resp.StatusCode,
					resp.Header.Get("ETag"), resp.Header.Get("Cache-Control"), len(body))
			}
		}
		if got := counter.queries.Load(); got != n {
			t.Errorf("%s: a 304 ran %d queries", target, got-n)
		}
		// Another server's versions count in another space: it answers
		// in full, with a tag of its own.
		if resp, _ := rawGet(t, "GET", other+target, "If-None-Match", tag); resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == tag {
			t.Errorf("%s: another server answers %d to the tag, with ETag %q", target, resp.StatusCode, resp.Header.Get("ETag"))
		}
		// Another representation has another tag, and the tag of one is
		// no validator of the other.
		for _, h := range [][]string{{"Accept-Encoding", "gzip"}, {"Accept-Encoding", "zstd"}, {"Accept", "text/csv"}, {"X-Forwarded-Host", "evil.example"}} {
			r2, _ := rawGet(t, "GET", base+target, h...)
			t2 := r2.Header.Get("ETag")
			if h[0] == "X-Forwarded-Host" {
				// From an untrusted client the header changes nothing,
				// links included: the same tag.
				if t2 != tag {
					t.Errorf("%s: an untrusted X-Forwarded-Host changed the tag", target)
				}
				continue
			}
			if r2.StatusCode == 200 && (t2 == tag || t2 == "") {
				t.Errorf("%s with %s: ETag %q, the identity answer's %q", target, h, t2, tag)
			}
			if r3, _ := rawGet(t, "GET", base+target, h[0], h[1], "If-None-Match", tag); r3.StatusCode != r2.StatusCode {
				t.Errorf("%s with %s and the identity tag: status %d", target, h, r3.StatusCode)
			}
		}
	}

	resp, _ := rawGet(t, "GET", base+page)
	tag := resp.Header.Get("ETag")
	w, err := sql.Open("sqlite3", "file:"+db.path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Exec(`INSERT INTO items (id, a, t) SELECT 999999, -1000000, t FROM items LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	n := counter.queries.Load()
	resp, body := rawGet(t, "GET", base+page, "If-None-Match", tag)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "999999") {
		t.Fatalf("after a write: status %d: %s", resp.StatusCode, body)
	}
	if nt := resp.Header.Get("ETag"); nt == tag || nt == "" {
		t.Errorf("after a write the ETag is %q, before %q", nt, tag)
	}
	if counter.queries.Load() == n {
		t.Error("after a write the page was not read again")
	}
}

// TestCacheControlKinds: pages carry the pages policy and an ETag;
// exports and unpaged reads (streams) the exports policy and no ETag;
// errors the errors policy and no ETag; an answer its handler marks
// no-store (GOCDB's, depending on the time) keeps its own and gets no
// ETag. A configured policy replaces the defaults, "none" sends none.
func TestCacheControlKinds(t *testing.T) {
	e := demodb.Shared(t, demodb.Rows).Engine
	serve := func(cc config.CacheControl) string {
		log, _ := newLogger()
		srv, err := New(Options{Engine: e, Mounts: config.Demo().MountList(), Logger: log, CacheControl: cc})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(ts.Close)
		return ts.URL
	}
	type kind int
	const (
		pageKind kind = iota
		exportKind
		errorKind
		ownKind
	)
	requests := []struct {
		path string
		kind kind
	}{
		{"/v1/entries?limit=5", pageKind},
		{"/v1", pageKind},
		{"/api/v1/entries?page_size=5", pageKind},
		{"/v2/database/42/profiles?start=0&limit=5", pageKind},
		{"/dois?page[size]=5", pageKind},
		{"/gocdbpi/public/?method=get_downtime&next_cursor=0", pageKind},
		{"/v1/entries.csv?limit=5", exportKind},
		{"/v1/entries.ndjson?limit=5", exportKind},
		{"/stream/v2/database/42/profiles?limit=5", exportKind},
		{"/v1/nothing", errorKind},
		{"/v1/entries?limit=x", errorKind},
		{"/dois?page[size]=x", errorKind},
		{"/gocdbpi/public/?method=get_downtime&ongoing_only=yes", ownKind},
	}
	for _, policy := range []config.CacheControl{{}, {Pages: "public, max-age=60", Exports: "no-cache", Errors: "none"}} {
		base := serve(policy)
		want := policy.Policy()
		for _, c := range requests {
			resp, body := rawGet(t, "GET", base+c.path, "Accept-Encoding", "gzip")
			cc, tag := resp.Header.Get("Cache-Control"), resp.Header.Get("ETag")
			switch c.kind {
			case pageKind:
				if resp.StatusCode != 200 || cc != want.Pages || tag == "" {
					t.Errorf("%v %s: status %d, Cache-Control %q, ETag %q: %.200s", policy, c.path, resp.StatusCode, cc, tag, body)
				}
			case exportKind:
				if resp.StatusCode != 200 || cc != want.Exports || tag != "" {
					t.Errorf("%v %s: status %d, Cache-Control %q, ETag %q", policy, c.path, resp.StatusCode, cc, tag)
				}
			case errorKind:
				if resp.StatusCode < 400 || cc != want.Errors || tag != "" {
					t.Errorf("%v %s: status %d, Cache-Control %q, ETag %q", policy, c.path, resp.StatusCode, cc, tag)
				}
			case ownKind:
				if resp.StatusCode != 200 || cc != "no-store" || tag != "" {
					t.Errorf("%v %s: status %d, Cache-Control %q, ETag %q", policy, c.path, resp.StatusCode, cc, tag)
				}
			}
		}
	}
}
