package bench

import (
	"os/exec"
	"testing"
)

// BenchmarkDialects measures pages/s of each dialect's first page of 100
// rows with 32 connections (wrk), beside the native API asked for the same
// rows, sort and total in the same run; the page cache is off, so every
// request runs its SQL. Each dialect must reach 0.8x of native.
func BenchmarkDialects(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Fatal("wrk is needed: apt-get install -y wrk")
	}
	secs := benchSeconds(b)
	st := newStackCache(b, demoDB(b), -1)
	base := listen(b, st.srv.Handler())
	dir := b.TempDir()
	for _, d := range []struct {
		name, native, method, path, body string
	}{
		{"nomad", "/v1/entries?limit=100&sort=entry_id&public=true&total=exact", "POST", "/api/v1/entries/query",
			`{"pagination":{"page_size":100}}`},
		{"copernica", "/v1/profiles?limit=100&database_id=42&sort=id&total=exact", "GET", "/v2/database/42/profiles?limit=100", ""},
		{"jsonapi", "/v1/dois?limit=100&sort=-updated&total=exact", "GET", "/dois?page[size]=100", ""},
		{"gocdb", "/v1/downtimes?limit=100&sort=id", "GET", "/gocdbpi/public/?method=get_downtime&next_cursor=0", ""},
	} {
		b.Run(d.name, func(b *testing.B) {
			// Warm both: caches, statement caches and the exact totals.
			runWrk(b, wrk, dir, base, []string{d.native}, 1)
			runWrkRequest(b, wrk, dir, base, d.method, []string{d.path}, d.body, 1)
			for range b.N {
				n := runWrk(b, wrk, dir, base, []string{d.native}, secs)
				p := runWrkRequest(b, wrk, dir, base, d.method, []string{d.path}, d.body, secs)
				b.ReportMetric(n, "native_pages/s")
				b.ReportMetric(p, "dialect_pages/s")
				b.ReportMetric(p/n, "ratio")
				b.Logf("%s: %.0f pages/s, native %.0f pages/s, ratio %.2f", d.name, p, n, p/n)
			}
		})
	}
}
