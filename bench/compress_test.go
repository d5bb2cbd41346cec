package bench

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"testing"
	"time"
)

// codings are the Accept-Encoding values the compression benchmarks
// compare: none (identity), gzip and zstd.
var codings = []struct{ name, accept string }{{"none", ""}, {"gzip", "gzip"}, {"zstd", "zstd"}}

// wireBytes GETs url asking for accept and returns the body's bytes as
// sent (not decoded) and how long the whole answer took.
func wireBytes(tb testing.TB, url, accept string) (int64, time.Duration) {
	tb.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept-Encoding", accept)
	}
	start := time.Now()
	resp, err := rawHTTP.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != accept {
		tb.Fatalf("%s (%s): status %d, Content-Encoding %q", url, accept, resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	return n, time.Since(start)
}

// rawHTTP neither asks for compression nor decodes it.
var rawHTTP = &http.Client{Transport: &http.Transport{DisableCompression: true}}

// BenchmarkCompressionBytes measures the bytes on the wire of a 1000-row
// native page (JSON) and of 1000-row exports (NDJSON, CSV, JSON), and of
// the NDJSON export of every entry, uncompressed, gzip and zstd, and
// reports each compressed size as a ratio of the uncompressed one.
func BenchmarkCompressionBytes(b *testing.B) {
	st := newStackCache(b, demoDB(b), -1)
	base := listen(b, st.srv.Handler())
	targets := []struct{ name, path string }{
		{"page_json", "/v1/entries?limit=1000"},
		{"export_ndjson", "/v1/entries.ndjson?limit=1000"},
		{"export_csv", "/v1/entries.csv?limit=1000"},
		{"export_json", "/v1/entries.json?limit=1000"},
		{"all_ndjson", "/v1/entries.ndjson"},
	}
	for range b.N {
		for _, t := range targets {
			var plain int64
			for _, c := range codings {
				n, d := wireBytes(b, base+t.path, c.accept)
				if c.accept == "" {
					plain = n
					b.ReportMetric(float64(n), t.name+"_bytes")
				} else {
					b.ReportMetric(float64(n)/float64(plain), t.name+"_"+c.name+"/none")
				}
				b.Logf("%-14s %-5s %12d bytes (%.3f of uncompressed) in %v", t.name, c.name, n, float64(n)/float64(plain), d.Round(time.Millisecond))
			}
		}
	}
}

// BenchmarkCompressionPages loads folio with wrk (32 connections, 100-row
// keyset pages at 50 depths, FOLIO_BENCH_SECONDS each) asking for no
// compression, gzip and zstd, with the page cache off and on, in the same
// run, and reports pages/s and each coding's rate as a ratio of the
// uncompressed rate with the same cache setting. wrk does not decode, so
// the figures are the server's cost.
func BenchmarkCompressionPages(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Fatal("wrk is needed: apt-get install wrk")
	}
	path := demoDB(b)
	secs := benchSeconds(b)
	dir := b.TempDir()
	stacks := []struct {
		name string
		base string
	}{
		{"cache_off", listen(b, newStackCache(b, path, -1).srv.Handler())},
		{"cache_on", listen(b, newStackCache(b, path, 0).srv.Handler())},
	}
	paths, _ := deepPaths(b, newStack(b, path).eng, 50)
	for iter := range b.N {
		for _, s := range stacks {
			rates := make([]float64, len(codings))
			// Each run starts with another coding, so that none always
			// comes first on a machine whose load moves.
			for k := range codings {
				i := (iter + k) % len(codings)
				c := codings[i]
				var header []string
				if c.accept != "" {
					header = []string{"Accept-Encoding", c.accept}
				}
				runWrkRequest(b, wrk, dir, s.base, "GET", paths, "", 1, header...) // warm: the cache, the database's pages
				rates[i] = runWrkRequest(b, wrk, dir, s.base, "GET", paths, "", secs, header...)
			}
			for i, c := range codings {
				b.ReportMetric(rates[i], fmt.Sprintf("%s_%s_pages/s", s.name, c.name))
				if i > 0 {
					b.ReportMetric(rates[i]/rates[0], fmt.Sprintf("%s_%s/none", s.name, c.name))
				}
				b.Logf("run %d %-9s %-4s %8.0f pages/s (%.2f of uncompressed)", iter, s.name, c.name, rates[i], rates[i]/rates[0])
			}
		}
	}
}
