package baseurl

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestBase(t *testing.T) {
	trusted := []string{"10.0.0.1", "10.1.0.0/16", "::1"}
	for _, tc := range []struct {
		name    string
		base    string // configured base URL
		peer    string // RemoteAddr
		tls     bool
		headers map[string]string
		want    string
	}{
		{"direct", "", "192.0.2.9:5000", false, nil, "http://folio.internal:8080"},
		{"direct over TLS", "", "192.0.2.9:5000", true, nil, "https://folio.internal:8080"},
		{"base URL wins", "https://api.example.org/data/", "10.0.0.1:5000", false, map[string]string{"Forwarded": "proto=http;host=other.example"}, "https://api.example.org/data"},

		// A spoofed header from an untrusted address changes nothing.
		{"untrusted Forwarded", "", "192.0.2.9:5000", false, map[string]string{"Forwarded": "proto=https;host=evil.example"}, "http://folio.internal:8080"},
		{"untrusted X-Forwarded", "", "192.0.2.9:5000", false, map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example", "X-Forwarded-Prefix": "/evil"}, "http://folio.internal:8080"},
		{"untrusted IPv6", "", "[2001:db8::1]:5000", false, map[string]string{"X-Forwarded-Host": "evil.example"}, "http://folio.internal:8080"},
		{"no peer address", "", "@", false, map[string]string{"X-Forwarded-Host": "evil.example"}, "http://folio.internal:8080"},

		{"trusted Forwarded", "", "10.0.0.1:5000", false, map[string]string{"Forwarded": `for=192.0.2.9;proto=https;host=api.example.org`, "X-Forwarded-Prefix": "/data/"}, "https://api.example.org/data"},
		{"trusted in a network", "", "10.1.200.3:5000", false, map[string]string{"Forwarded": `proto=https;host="api.example.org:8443"`}, "https://api.example.org:8443"},
		{"trusted IPv6 peer", "", "[::1]:5000", false, map[string]string{"Forwarded": `for="[2001:db8::9]:1234";host="[2001:db8::1]:8443";proto=https`}, "https://[2001:db8::1]:8443"},
		{"IPv4-mapped peer", "", "[::ffff:10.0.0.1]:5000", false, map[string]string{"Forwarded": `host=api.example.org`}, "http://api.example.org"},
		{"Forwarded without host keeps Host", "", "10.0.0.1:5000", false, map[string]string{"Forwarded": `proto=https`}, "https://folio.internal:8080"},
		{"Forwarded wins over X-Forwarded", "", "10.0.0.1:5000", false, map[string]string{"Forwarded": `host=a.example`, "X-Forwarded-Host": "b.example"}, "http://a.example"},
		{"malformed Forwarded ignored", "", "10.0.0.1:5000", false, map[string]string{"Forwarded": `host="a.example`, "X-Forwarded-Host": "b.example"}, "http://folio.internal:8080"},
		// Hops: the client wrote the first element, a trusted proxy
		// (10.1.0.5) the second, the peer the third.
		{"hops: outermost trusted wins", "", "10.0.0.1:5000", false, map[string]string{"Forwarded": `host=evil.example;proto=http, for=192.0.2.9;host=api.example.org;proto=https, for=10.1.0.5;host=inner.internal;proto=http`}, "https://api.example.org"},
		{"hops: an untrusted hop stops the walk", "", "10.0.0.1:5000", false, map[string]string{"Forwarded": `for=192.0.2.9;host=api.example.org;proto=https, for=192.0.2.77;host=inner.internal`}, "http://inner.internal"},
		{"hops: a hop without host falls back inwards", "", "10.0.0.1:5000", false, map[string]string{"Forwarded": `for=192.0.2.9;proto=https, for=10.1.0.5;host=api.example.org`}, "https://api.example.org"},
		{"hops: unknown stops", "", "10.0.0.1:5000", false, map[string]string{"Forwarded": `host=evil.example, for=unknown;host=api.example.org`}, "http://api.example.org"},
		{"bad values ignored", "", "10.0.0.1:5000", false, map[string]string{"Forwarded": `proto=gopher;host="evil.example/x?y"`}, "http://folio.internal:8080"},

		{"trusted X-Forwarded", "", "10.0.0.1:5000", false, map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.org", "X-Forwarded-Prefix": "/data"}, "https://api.example.org/data"},
		{"X-Forwarded appended: the peer's value", "", "10.0.0.1:5000", false, map[string]string{"X-Forwarded-For": "192.0.2.9", "X-Forwarded-Host": "evil.example, api.example.org", "X-Forwarded-Prefix": "/evil,/data"}, "http://api.example.org/data"},
		{"X-Forwarded two trusted hops", "", "10.0.0.1:5000", false, map[string]string{"X-Forwarded-For": "192.0.2.9, 10.1.0.5", "X-Forwarded-Proto": "https, http", "X-Forwarded-Host": "api.example.org, inner.internal"}, "https://api.example.org"},
		{"X-Forwarded set once by the outer proxy", "", "10.0.0.1:5000", false, map[string]string{"X-Forwarded-For": "192.0.2.9, 10.1.0.5", "X-Forwarded-Host": "api.example.org"}, "http://api.example.org"},
		{"bad X-Forwarded values ignored", "", "10.0.0.1:5000", false, map[string]string{"X-Forwarded-Proto": "javascript", "X-Forwarded-Host": "a b", "X-Forwarded-Prefix": "//evil.example"}, "http://folio.internal:8080"},
		{"prefix with a byte outside a path", "", "10.0.0.1:5000", false, map[string]string{"X-Forwarded-Prefix": "/a%20b/c<"}, "http://folio.internal:8080"},
		{"prefix of a slash", "", "10.0.0.1:5000", false, map[string]string{"X-Forwarded-Prefix": "/"}, "http://folio.internal:8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := New(tc.base, trusted)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "http://folio.internal:8080/v1/entries", nil)
			r.RemoteAddr = tc.peer
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			var got string
			res.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = Of(r) })).ServeHTTP(httptest.NewRecorder(), r)
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestOfWithoutHandler: a dialect served without the server's middleware
// (its own tests) links to the request's own scheme and host.
func TestOfWithoutHandler(t *testing.T) {
	r := httptest.NewRequest("GET", "http://example.com:81/x", nil)
	r.Header.Set("X-Forwarded-Host", "evil.example")
	if got := Of(r); got != "http://example.com:81" {
		t.Fatalf("got %q", got)
	}
}

func TestNewRejects(t *testing.T) {
	for _, tc := range []struct {
		base    string
		trusted []string
		want    string
	}{
		{"ftp://example.org", nil, "http:// or https://"},
		{"https://", nil, "host"},
		{"https://user@example.org", nil, "no user"},
		{"https://example.org/data?x=1", nil, "no user, query"},
		{"https://example.org/#x", nil, "no user, query"},
		{"example.org/data", nil, "http:// or https://"},
		{"https://exa mple.org", nil, "base URL"},
		{"", []string{"10.0.0.0/33"}, "trusted proxy"},
		{"", []string{"localhost"}, "trusted proxy"},
	} {
		_, err := New(tc.base, tc.trusted)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q, %q): %v, want an error saying %q", tc.base, tc.trusted, err, tc.want)
		}
	}
}
