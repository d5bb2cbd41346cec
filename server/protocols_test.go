package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"folio/client"
	"folio/config"
	"folio/internal/demodb"
	"folio/internal/testcert"
)

// protoServer serves the demo database with o's TLS and h2c settings on a
// real listener and counts the requests it sees by HTTP major version.
func protoServer(t *testing.T, o Options) (url string, seen func() map[int]int) {
	t.Helper()
	log, _ := newLogger()
	o.Engine, o.Mounts, o.Logger = demodb.Shared(t, demodb.Rows).Engine, config.Demo().MountList(), log
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	byMajor := map[int]int{}
	inner := srv.http.Handler
	srv.http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		byMajor[r.ProtoMajor]++
		mu.Unlock()
		inner.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	scheme := "http"
	if o.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + ln.Addr().String(), func() map[int]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[int]int{}
		for k, v := range byMajor {
			out[k] = v
		}
		byMajor = map[int]int{}
		return out
	}
}

// harvestKeys harvests req in dialect with c and returns each record's
// member key.
func harvestKeys(t *testing.T, c *client.Client, req client.Request, dialect, key string) (keys []string, pages int) {
	t.Helper()
	cp, err := client.Start(req, dialect, 0)
	if err != nil {
		t.Fatal(err)
	}
	for p, err := range c.Pages(context.Background(), cp) {
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range p.Records {
			var m map[string]any
			if err := json.Unmarshal(r, &m); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, fmt.Sprint(m[key]))
		}
	}
	return keys, pages
}

// TestHarvestOverHTTP2: a harvest over HTTP/2 with TLS (a certificate of
// a test authority the client is told to trust) and over h2c completes
// with every record once, in several dialects, and the server saw only
// HTTP/2; HTTP/1.1 clients are still served on the same ports.
func TestHarvestOverHTTP2(t *testing.T) {
	cert := testcert.Write(t)
	d := demodb.Shared(t, demodb.Rows)
	cases := []struct {
		name    string
		opts    Options
		client  client.Options
		h1      *http.Client // an HTTP/1.1 client of the same server
		wantTLS bool
	}{
		{"TLS", Options{TLSCert: cert.Cert, TLSKey: cert.Key}, client.Options{RootCAs: cert.Pool},
			&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool}, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}, true},
		{"TLS and h2c", Options{TLSCert: cert.Cert, TLSKey: cert.Key, H2C: true}, client.Options{RootCAs: cert.Pool}, nil, true},
		{"h2c", Options{H2C: true}, client.Options{H2C: true}, &http.Client{}, false},
	}
	// Each harvest reads a whole table, so every row must come once.
	harvests := []struct{ path, dialect, key, table string }{
		{"/v1/entries?limit=500&sort=-upload_create_time", client.Native, "entry_id", "entries"},
		{"/dois?page[size]=100", client.JSONAPI, "id", "dois"},
		{"/gocdbpi/public/?method=get_downtime", client.GOCDB, "ID", "downtimes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, seen := protoServer(t, tc.opts)
			c := client.New(tc.client)
			for _, h := range harvests {
				got, pages := harvestKeys(t, c, client.Request{URL: url + h.path}, h.dialect, h.key)
				if pages < 3 {
					t.Fatalf("%s: %d pages: the case does not page", h.path, pages)
				}
				onceEach(t, h.path, got, len(d.Oracle(t, h.table).Rows))
				if s := seen(); s[2] != pages || len(s) != 1 {
					t.Fatalf("%s: %d pages, the server saw requests by HTTP version %v", h.path, pages, s)
				}
			}
			if tc.h1 == nil {
				return
			}
			resp, err := tc.h1.Get(url + "/v1/entries?limit=3")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 1 {
				t.Fatalf("HTTP/1.1 client: %s %d", resp.Proto, resp.StatusCode)
			}
			// Links say https only when the request came over TLS.
			if strings.Contains(string(b), `"https://`) != tc.wantTLS {
				t.Errorf("links of %s: %.300s", url, b)
			}
			if s := seen(); s[1] != 1 {
				t.Errorf("the server saw %v", s)
			}
		})
	}
}

// onceEach fails the test unless keys are n distinct keys.
func onceEach(t *testing.T, what string, keys []string, n int) {
	t.Helper()
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			t.Fatalf("%s: key %s harvested twice", what, k)
		}
		seen[k] = true
	}
	if len(keys) != n {
		t.Fatalf("%s: harvested %d records, the table has %d", what, len(keys), n)
	}
}

// TestTLSOptions: a certificate without a key, or a file that is not one,
// fails at startup.
func TestTLSOptions(t *testing.T) {
	cert := testcert.Write(t)
	e := demodb.Shared(t, demodb.Rows).Engine
	for _, tc := range []struct {
		cert, key, want string
	}{
		{cert.Cert, "", "both a certificate and a key"},
		{"", cert.Key, "both a certificate and a key"},
		{cert.Key, cert.Cert, "TLS certificate"},
		{cert.Cert, cert.CA, "TLS certificate"},
	} {
		_, err := New(Options{Engine: e, TLSCert: tc.cert, TLSKey: tc.key})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("cert %s, key %s: %v, want %q", tc.cert, tc.key, err, tc.want)
		}
	}
}
