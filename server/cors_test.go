package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"folio/config"
	"folio/internal/demodb"
)

// corsServer serves the demo database with every mount of the demo
// configuration, the page cache on, and the allowed origins given.
func corsServer(t *testing.T, origins []string) *httptest.Server {
	return corsServerCache(t, origins, 0)
}

// corsServerCache is corsServer with the page cache's budget (negative:
// off).
func corsServerCache(t *testing.T, origins []string, cacheBytes int64) *httptest.Server {
	t.Helper()
	log, _ := newLogger()
	srv, err := New(Options{Engine: demodb.Shared(t, demodb.Rows).Engine, Mounts: config.Demo().MountList(), Logger: log, CORSOrigins: origins, CacheBytes: cacheBytes})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// corsRequests are answers of every kind on every mount: pages, records,
// streams and exports, listings, errors (400, 404, 405), and the health
// check.
var corsRequests = []struct{ method, path, body string }{
	{"GET", "/v1", ""},
	{"GET", "/v1/entries?limit=5&sort=-upload_create_time", ""},
	{"GET", "/v1/entries.csv?limit=5", ""},
	{"GET", "/v1/entries?limit=-1", ""},
	{"GET", "/v1/nothing", ""},
	{"POST", "/v1/entries", ""}, // a 405, with Allow
	{"POST", "/api/v1/entries/query", `{"pagination":{"page_size":5}}`},
	{"GET", "/api/v1/entries?page_size=5", ""},
	{"GET", "/api/v1/entries?page_size=x", ""},
	{"GET", "/v2/database/42/profiles?start=0&limit=5", ""},
	{"GET", "/stream/v2/database/42/profiles?limit=5", ""},
	{"GET", "/v2/database/42/profiles?limit=x", ""},
	{"GET", "/dois?page[size]=5", ""},
	{"GET", "/dois?page[size]=x", ""},
	{"GET", "/gocdbpi/public/?method=get_downtime&next_cursor=0", ""},
	{"GET", "/gocdbpi/public/?method=get_nothing", ""},
	{"GET", "/healthz", ""},
}

func send(t *testing.T, method, url, body string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b
}

// varies reports whether the response's Vary names field.
func varies(h http.Header, field string) bool {
	for _, v := range h.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), field) {
				return true
			}
		}
	}
	return false
}

// TestCORSSimpleRequests: by default every answer of every mount, errors
// and cached repeats included, lets a script of any origin read it, says
// it varies by Origin, and keeps the Vary its dialect set, with the page
// cache on and off.
func TestCORSSimpleRequests(t *testing.T) {
	ts := corsServer(t, nil)
	uncached := corsServerCache(t, nil, -1)
	for _, c := range corsRequests {
		for _, round := range []string{"first", "repeat", "uncached"} { // the repeat may come from the page cache
			url := ts.URL
			if round == "uncached" {
				url = uncached.URL
			}
			resp, body := send(t, c.method, url+c.path, c.body, map[string]string{"Origin": "https://app.example.org"})
			what := c.method + " " + c.path + " (" + round + ")"
			if resp.StatusCode == http.StatusInternalServerError {
				t.Fatalf("%s: 500: %s", what, body)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("%s: status %d, Access-Control-Allow-Origin %q, want *", what, resp.StatusCode, got)
			}
			if !varies(resp.Header, "Origin") {
				t.Errorf("%s: Vary %q lacks Origin", what, resp.Header.Values("Vary"))
			}
			if strings.HasPrefix(c.path, "/dois") && !varies(resp.Header, "Accept") {
				t.Errorf("%s: Vary %q lacks JSON:API's Accept", what, resp.Header.Values("Vary"))
			}
			if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("%s: credentials allowed", what)
			}
		}
	}
	// A request without Origin (curl, a harvester) gets no CORS headers
	// but still the Vary a shared cache needs.
	resp, _ := send(t, "GET", ts.URL+"/v1/entries?limit=5", "", nil)
	if resp.Header.Get("Access-Control-Allow-Origin") != "" || !varies(resp.Header, "Origin") {
		t.Errorf("without Origin: %v", resp.Header)
	}
}

// TestCORSPreflight: a preflight from an allowed origin is answered 204
// with the Access-Control-Allow-* headers on every mount; from a
// disallowed origin with none; with CORS off, as before (405).
func TestCORSPreflight(t *testing.T) {
	paths := []string{"/v1/entries", "/api/v1/entries/query", "/v2/database/42/profiles", "/dois", "/gocdbpi/public/", "/healthz"}
	preflight := func(ts *httptest.Server, path, origin, method, headers string) *http.Response {
		h := map[string]string{"Origin": origin, "Access-Control-Request-Method": method}
		if headers != "" {
			h["Access-Control-Request-Headers"] = headers
		}
		resp, _ := send(t, "OPTIONS", ts.URL+path, "", h)
		return resp
	}
	allowed := func(t *testing.T, resp *http.Response, origin, method, headers string) {
		t.Helper()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("status %d, want 204", resp.StatusCode)
		}
		h := resp.Header
		if got := h.Get("Access-Control-Allow-Origin"); got != origin {
			t.Errorf("Access-Control-Allow-Origin %q, want %q", got, origin)
		}
		if got := h.Get("Access-Control-Allow-Methods"); got != method {
			t.Errorf("Access-Control-Allow-Methods %q, want %q", got, method)
		}
		if got := h.Get("Access-Control-Allow-Headers"); got != headers {
			t.Errorf("Access-Control-Allow-Headers %q, want %q", got, headers)
		}
		if got := h.Get("Access-Control-Max-Age"); got != "600" {
			t.Errorf("Access-Control-Max-Age %q", got)
		}
		for _, f := range []string{"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"} {
			if !varies(h, f) {
				t.Errorf("Vary %q lacks %s", h.Values("Vary"), f)
			}
		}
	}
	noCORS := func(t *testing.T, resp *http.Response) {
		t.Helper()
		for k := range resp.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("%s: %q", k, resp.Header.Values(k))
			}
		}
	}

	t.Run("any origin", func(t *testing.T) {
		ts := corsServer(t, nil)
		for _, p := range paths {
			t.Run(p, func(t *testing.T) {
				allowed(t, preflight(ts, p, "https://app.example.org", "GET", "if-none-match,x-request-id"), "*", "GET", "if-none-match,x-request-id")
				allowed(t, preflight(ts, p, "https://app.example.org", "POST", "content-type"), "*", "POST", "content-type")
			})
		}
		// A method folio never serves, or a header it does not take, gets
		// no permission.
		noCORS(t, preflight(ts, "/v1/entries", "https://app.example.org", "DELETE", ""))
		noCORS(t, preflight(ts, "/v1/entries", "https://app.example.org", "GET", "x-secret"))
	})
	t.Run("restricted", func(t *testing.T) {
		ts := corsServer(t, []string{"https://app.example.org", "https://*.example.net"})
		for _, p := range paths {
			t.Run(p, func(t *testing.T) {
				allowed(t, preflight(ts, p, "https://app.example.org", "GET", ""), "https://app.example.org", "GET", "")
				allowed(t, preflight(ts, p, "https://a.b.example.net", "GET", "if-none-match"), "https://a.b.example.net", "GET", "if-none-match")
				resp := preflight(ts, p, "https://evil.example.com", "GET", "")
				noCORS(t, resp)
				if !varies(resp.Header, "Origin") {
					t.Errorf("Vary %q lacks Origin", resp.Header.Values("Vary"))
				}
			})
		}
		// The page itself: the allowed origin is echoed, a disallowed one
		// gets no CORS header (the browser then hides the answer).
		resp, _ := send(t, "GET", ts.URL+"/v1/entries?limit=2", "", map[string]string{"Origin": "https://app.example.org"})
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example.org" || !varies(resp.Header, "Origin") {
			t.Errorf("allowed origin's GET: Access-Control-Allow-Origin %q, Vary %q", got, resp.Header.Values("Vary"))
		}
		resp, _ = send(t, "GET", ts.URL+"/v1/entries?limit=2", "", map[string]string{"Origin": "https://evil.example.com"})
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d", resp.StatusCode)
		}
		noCORS(t, resp)
	})
	t.Run("off", func(t *testing.T) {
		ts := corsServer(t, []string{})
		resp := preflight(ts, "/v1/entries", "https://app.example.org", "GET", "")
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("status %d, want 405", resp.StatusCode)
		}
		noCORS(t, resp)
		resp, _ = send(t, "GET", ts.URL+"/v1/entries?limit=2", "", map[string]string{"Origin": "https://app.example.org"})
		noCORS(t, resp)
	})
	// OPTIONS that is no preflight is still a method the API does not
	// serve.
	ts := corsServer(t, nil)
	if resp, _ := send(t, "OPTIONS", ts.URL+"/v1/entries", "", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("a plain OPTIONS: status %d, want 405", resp.StatusCode)
	}
}

// safelisted are the response headers a browser shows a cross-origin
// script without being told (Fetch, CORS-safelisted response-header name).
var safelisted = []string{"Cache-Control", "Content-Language", "Content-Length", "Content-Type", "Expires", "Last-Modified", "Pragma"}

// notForScripts are headers a script has no use for: connection and
// caching machinery (X-Accel-Buffering is for a proxy in front), and
// CORS's own.
func notForScripts(k string) bool {
	return strings.HasPrefix(k, "Access-Control-") || slices.Contains([]string{"Date", "Vary", "X-Content-Type-Options", "Connection", "Keep-Alive", "Transfer-Encoding", "X-Accel-Buffering"}, k)
}

// browserView applies the Fetch standard's CORS check for a request from
// origin without credentials: whether a script may read the response at
// all, and which of its headers it sees.
func browserView(origin string, resp *http.Response) (readable bool, visible map[string]bool) {
	allow := resp.Header.Values("Access-Control-Allow-Origin")
	if len(allow) != 1 || (allow[0] != "*" && allow[0] != origin) {
		return false, nil
	}
	visible = map[string]bool{}
	exposed := map[string]bool{}
	for _, v := range resp.Header.Values("Access-Control-Expose-Headers") {
		for f := range strings.SplitSeq(v, ",") {
			exposed[http.CanonicalHeaderKey(strings.TrimSpace(f))] = true
		}
	}
	for k := range resp.Header {
		if slices.Contains(safelisted, k) || exposed[k] || exposed["*"] {
			visible[k] = true
		}
	}
	return true, visible
}

// TestCORSExposesEveryHeader reads every answer as a browser's script
// would: each header folio sends for its clients (Link on a page, the
// request id, an export's file name, a 405's Allow, ...) is visible, and
// an origin the configuration does not allow reads nothing.
func TestCORSExposesEveryHeader(t *testing.T) {
	for _, origins := range [][]string{nil, {"https://app.example.org"}} {
		ts := corsServer(t, origins)
		sawLink := false
		for _, c := range corsRequests {
			resp, _ := send(t, c.method, ts.URL+c.path, c.body, map[string]string{"Origin": "https://app.example.org"})
			readable, visible := browserView("https://app.example.org", resp)
			if !readable {
				t.Errorf("%v: %s %s: a script cannot read the answer", origins, c.method, c.path)
				continue
			}
			for k := range resp.Header {
				if !notForScripts(k) && !visible[k] {
					t.Errorf("%v: %s %s: header %s is hidden from scripts: expose it (server/cors.go)", origins, c.method, c.path, k)
				}
			}
			sawLink = sawLink || visible["Link"]
			if readable, _ := browserView("https://evil.example.com", resp); readable && origins != nil {
				t.Errorf("%v: %s %s: another origin may read the answer to this one", origins, c.method, c.path)
			}
			resp, _ = send(t, c.method, ts.URL+c.path, c.body, map[string]string{"Origin": "https://evil.example.com"})
			if readable, _ := browserView("https://evil.example.com", resp); readable != (origins == nil) {
				t.Errorf("%v: %s %s: a script of a disallowed origin reads the answer: %v", origins, c.method, c.path, readable)
			}
		}
		if !sawLink {
			t.Errorf("%v: no answer showed a script the Link header", origins)
		}
	}
}
