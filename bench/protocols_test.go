package bench

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"testing"
	"time"

	"folio/config"
	"folio/internal/demodb"
	"folio/internal/testcert"
	"folio/server"
)

// BenchmarkHarvestProtocols harvests all 1M entries, 1000 rows a page
// following links.next, one request at a time, over HTTP/1.1 and HTTP/2,
// each with TLS and without (h2c), from one folio server per transport
// security, in the same run. It reports rows/s of each and the ratio of
// HTTP/2 to HTTP/1.1 on each.
func BenchmarkHarvestProtocols(b *testing.B) {
	path := demoDB(b)
	st := newStack(b, path)
	cert := testcert.Write(b)
	secure := serveWith(b, st, server.Options{TLSCert: cert.Cert, TLSKey: cert.Key}, "https")
	plain := serveWith(b, st, server.Options{H2C: true}, "http")
	tlsConf := &tls.Config{RootCAs: cert.Pool}
	clients := []struct {
		name, base string
		proto      func(*http.Protocols)
		major      int
	}{
		{"h1_tls", secure, func(p *http.Protocols) { p.SetHTTP1(true) }, 1},
		{"h2_tls", secure, func(p *http.Protocols) { p.SetHTTP2(true) }, 2},
		{"h1", plain, func(p *http.Protocols) { p.SetHTTP1(true) }, 1},
		{"h2c", plain, func(p *http.Protocols) { p.SetUnencryptedHTTP2(true) }, 2},
	}
	hcs := make([]*http.Client, len(clients))
	for i, c := range clients {
		var p http.Protocols
		c.proto(&p)
		hcs[i] = &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf, Protocols: &p, MaxIdleConnsPerHost: 1}}
		resp, err := hcs[i].Get(c.base + "/v1/entries?limit=1")
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != c.major {
			b.Fatalf("%s: the server answered %s", c.name, resp.Proto)
		}
	}
	harvest(b, hcs[0], secure, secure+"/v1/entries?limit=1000") // warm the database's pages
	for iter := range b.N {
		rate := make([]float64, len(clients))
		rows := -1
		// Each run starts with another transport, so that none always
		// comes first or last.
		for k := range clients {
			i := (iter + k) % len(clients)
			c := clients[i]
			n, d := harvest(b, hcs[i], c.base, c.base+"/v1/entries?limit=1000")
			if rows >= 0 && n != rows {
				b.Fatalf("%s harvested %d rows, the others %d", c.name, n, rows)
			}
			rows = n
			rate[i] = float64(n) / d.Seconds()
		}
		for i, c := range clients {
			b.ReportMetric(rate[i], c.name+"_rows/s")
		}
		b.ReportMetric(rate[1]/rate[0], "h2/h1_tls")
		b.ReportMetric(rate[3]/rate[2], "h2c/h1")
		b.Logf("%d rows: HTTP/1.1+TLS %.0f rows/s, HTTP/2+TLS %.0f (%.2fx); HTTP/1.1 %.0f, h2c %.0f (%.2fx)",
			rows, rate[0], rate[1], rate[1]/rate[0], rate[2], rate[3], rate[3]/rate[2])
	}
}

// serveWith serves st's engine as `folio serve` does with o's protocols on
// a loopback port until the benchmark ends, and returns its base URL.
func serveWith(tb testing.TB, st *stack, o server.Options, scheme string) string {
	tb.Helper()
	o.Engine, o.Mounts, o.Logger = st.eng, config.Demo().MountList(), demodb.Quiet()
	srv, err := server.New(o)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(time.Minute):
		}
	})
	return scheme + "://" + ln.Addr().String()
}
