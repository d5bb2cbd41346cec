package server

import (
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"folio/config"
	"folio/internal/demodb"
)

// linkRequests are the answers of every mount that hold absolute links:
// the native API's listing and pages (Link header and body), NOMAD's page
// URLs, JSON:API's links, GOCDB's next links; NOMAD's POST queries and
// Copernica's pages hold none (none) but are asked too.
var linkRequests = []struct {
	method, path, body string
	none               bool
}{
	{"GET", "/v1", "", false},
	{"GET", "/v1/entries?limit=5&sort=-upload_create_time", "", false},
	{"GET", "/v1/entries?limit=5&offset=10", "", false},
	{"GET", "/v1/dois?limit=5&total=exact", "", false},
	{"GET", "/api/v1/entries?page_size=5", "", false},
	{"GET", "/api/v1/entries?page_size=5&order_by=upload_create_time", "", false},
	{"POST", "/api/v1/entries/query", `{"pagination":{"page_size":5}}`, true},
	{"GET", "/v2/database/42/profiles?start=0&limit=5", "", true},
	{"GET", "/dois?page[size]=5", "", false},
	{"GET", "/dois?page[cursor]=1&page[size]=5", "", false},
	{"GET", "/dois?page[number]=2&page[size]=5", "", false},
	{"GET", "/gocdbpi/public/?method=get_downtime&next_cursor=0", "", false},
}

var absolute = regexp.MustCompile(`https?://[^"<>\s]*`)

// linksOf returns the absolute URLs in the answer's body and Link header
// that lead to one of folio's mounts; the demo's data holds URLs of its
// own (GOCDB's service endpoints, portal pages), which do not.
func linksOf(header, body string) []string {
	var out []string
	for _, s := range absolute.FindAllString(header+"\n"+body, -1) {
		u, err := url.Parse(strings.ReplaceAll(s, "&amp;", "&"))
		if err != nil {
			continue
		}
		for _, m := range config.Demo().MountList() {
			if strings.Contains(u.Path, m.Path) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// TestLinksFollowTheExternalBase: with a base URL, or behind a trusted
// proxy that says how the client reached it, every absolute link of every
// dialect starts with that base, path prefix included; the same headers
// from an untrusted address change nothing.
func TestLinksFollowTheExternalBase(t *testing.T) {
	e := demodb.Shared(t, demodb.Rows).Engine
	serve := func(o Options) *httptest.Server {
		log, _ := newLogger()
		o.Engine, o.Mounts, o.Logger = e, config.Demo().MountList(), log
		srv, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(ts.Close)
		return ts
	}
	spoof := map[string]string{
		"Forwarded":          `for=192.0.2.1;proto=https;host=evil.example`,
		"X-Forwarded-Proto":  "https",
		"X-Forwarded-Host":   "evil.example",
		"X-Forwarded-Prefix": "/evil",
	}
	for _, tc := range []struct {
		name    string
		opts    Options
		headers map[string]string
		want    func(ts *httptest.Server) string
	}{
		{"base URL", Options{BaseURL: "https://api.example.org/data/"}, spoof, func(*httptest.Server) string { return "https://api.example.org/data" }},
		{"trusted Forwarded", Options{TrustedProxies: []string{"127.0.0.0/8", "::1"}},
			map[string]string{"Forwarded": `for="[2001:db8::1]:4711";proto=https;host="api.example.org:8443"`, "X-Forwarded-Prefix": "/data"},
			func(*httptest.Server) string { return "https://api.example.org:8443/data" }},
		{"trusted X-Forwarded", Options{TrustedProxies: []string{"127.0.0.1"}},
			map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.org", "X-Forwarded-Prefix": "/data/"},
			func(*httptest.Server) string { return "https://api.example.org/data" }},
		{"untrusted", Options{TrustedProxies: []string{"10.0.0.0/8"}}, spoof, func(ts *httptest.Server) string { return ts.URL }},
		{"no proxies configured", Options{}, spoof, func(ts *httptest.Server) string { return ts.URL }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := serve(tc.opts)
			want := tc.want(ts) + "/"
			for _, round := range []string{"first", "cached"} {
				for _, c := range linkRequests {
					resp, body := send(t, c.method, ts.URL+c.path, c.body, tc.headers)
					if resp.StatusCode != 200 {
						t.Fatalf("%s %s: status %d: %.300s", c.method, c.path, resp.StatusCode, body)
					}
					links := linksOf(resp.Header.Get("Link"), string(body))
					if len(links) == 0 && !c.none {
						t.Errorf("%s %s: no absolute link in %.300s", c.method, c.path, body)
					}
					for _, l := range links {
						if !strings.HasPrefix(l, want) {
							t.Errorf("%s %s (%s): link %s does not start with %s", c.method, c.path, round, l, want)
						}
					}
				}
			}
		})
	}
	// The page cache keeps answers reached through different bases apart.
	ts := serve(Options{TrustedProxies: []string{"127.0.0.1"}})
	for _, host := range []string{"a.example", "b.example", "a.example"} {
		_, body := send(t, "GET", ts.URL+"/v1/entries?limit=2", "", map[string]string{"X-Forwarded-Host": host})
		for _, l := range linksOf("", string(body)) {
			if !strings.HasPrefix(l, "http://"+host+"/") {
				t.Fatalf("reached as %s, a link says %s", host, l)
			}
		}
	}
}
