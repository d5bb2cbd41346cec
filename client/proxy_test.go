package client

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"folio/config"
	"folio/internal/demodb"
	"folio/internal/demotest"
	"folio/internal/nginxtest"
	"folio/server"
)

// proxied is the address nginx connects to folio from: the only trusted
// proxy. Tests that reach folio directly come from 127.0.0.1, an untrusted
// address on the same machine.
const proxied = "127.0.0.2"

// serveDemo serves the shared demo database as `folio serve` does, with
// the edge options of o, on a real listener.
func serveDemo(t *testing.T, o server.Options) *httptest.Server {
	t.Helper()
	o.Engine, o.Mounts, o.Logger = demodb.Shared(t, demoRows).Engine, config.Demo().MountList(), demodb.Quiet()
	srv, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// TestHarvestBehindNginx harvests every dialect through Debian's nginx at
// a path prefix the proxy strips, three ways: X-Forwarded-Proto/Host/
// Prefix, RFC 7239 Forwarded with X-Forwarded-Prefix, and a configured
// base URL with no header. nginx sends its upstream a Host of its own, so
// a link built from the request alone would lead outside the prefix, where
// nginx answers 404: each harvest completes with every record once only if
// every next link names the prefix. A client's own forwarding headers,
// sent to nginx or to folio directly, change nothing: each location sets
// or clears every header folio reads, as README.md says a proxy must.
func TestHarvestBehindNginx(t *testing.T) {
	trusting := serveDemo(t, server.Options{TrustedProxies: []string{proxied}})
	var based *httptest.Server
	nginx := nginxtest.Run(t, func(port int) string {
		if based == nil {
			based = serveDemo(t, server.Options{BaseURL: fmt.Sprintf("http://127.0.0.1:%d/base", port)})
		}
		location := func(prefix, upstream, headers string) string {
			return fmt.Sprintf(`    location %s/ {
      proxy_pass http://%s/;
      proxy_bind %s;
      proxy_set_header Host folio.internal;
%s    }
`, prefix, upstream, proxied, headers)
		}
		up := strings.TrimPrefix(trusting.URL, "http://")
		return fmt.Sprintf("  server {\n    listen 127.0.0.1:%d;\n%s%s%s  }\n", port,
			location("/data", up, `      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Prefix /data;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header Forwarded "";
`),
			location("/fwd", up, `      proxy_set_header Forwarded "for=$remote_addr;proto=$scheme;host=\"$http_host\"";
      proxy_set_header X-Forwarded-Prefix /fwd;
      proxy_set_header X-Forwarded-Proto "";
      proxy_set_header X-Forwarded-Host "";
      proxy_set_header X-Forwarded-For "";
`),
			location("/base", strings.TrimPrefix(based.URL, "http://"), ""))
	})
	e := demodb.Shared(t, demoRows).Engine
	spoofing := &http.Client{Transport: spoofer{}}
	for _, prefix := range []string{"/data", "/fwd", "/base"} {
		for _, hc := range harvestCases("http://" + nginx + prefix) {
			t.Run(prefix+"/"+hc.name, func(t *testing.T) {
				want := demotest.Keys(t, e, hc.collection, hc.filters)
				// No retries: a link that leads nowhere fails at once.
				for _, c := range []*Client{New(Options{MaxRetries: -1}), New(Options{MaxRetries: -1, HTTPClient: spoofing})} {
					got, pages, _ := harvestAll(t, c, hc, "auto")
					if pages < 3 {
						t.Errorf("only %d pages: the case does not page", pages)
					}
					demotest.ExactlyOnce(t, got, want)
				}
			})
		}
	}

	// Straight to folio from an untrusted address, the same headers
	// change no link.
	resp, err := spoofing.Get(trusting.URL + "/v1/entries?limit=2")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if link := resp.Header.Get("Link"); !strings.Contains(link, "<"+trusting.URL+"/v1/entries?") || strings.Contains(string(b), "evil") {
		t.Errorf("spoofed headers moved the links: Link %s, body %.300s", link, b)
	}
}

// spoofer sends every request with forwarding headers of a client's own
// making.
type spoofer struct{}

func (spoofer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Forwarded", `for=192.0.2.1;proto=https;host=evil.example`)
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-Host", "evil.example")
	r.Header.Set("X-Forwarded-Prefix", "/evil")
	r.Header.Set("X-Forwarded-For", proxied)
	return http.DefaultTransport.RoundTrip(r)
}
