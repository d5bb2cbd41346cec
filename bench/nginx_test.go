package bench

import (
	"os/exec"
	"testing"

	"folio/internal/nginxtest"
)

// BenchmarkNginx measures 100-row pages/s with 32 connections through nginx
// in front of one folio node and in front of two (same signing key, each
// with its own PostgreSQL pool, page cache off), against one PostgreSQL
// holding the demo dataset, in the same run. On a 2-core machine the nodes,
// nginx, PostgreSQL and wrk share the cores, so this shows the cost of the
// extra hop and of a second node, not the gain of a second machine.
func BenchmarkNginx(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Fatal("wrk is needed: apt-get install -y wrk")
	}
	secs := benchSeconds(b)
	url := postgresDemo(b)
	// Two nodes share one signing key, so a cursor from either works on both.
	node := func() string {
		_, srv := serve(b, postgresSource(b, url), -1)
		return listen(b, srv.Handler())[len("http://"):]
	}
	a, c := node(), node()
	one := nginxtest.Start(b, a)
	two := nginxtest.Start(b, a, c)
	dir := b.TempDir()
	paths := []string{"/v1/entries?limit=100"}
	for _, base := range []string{"http://" + a, one, two} {
		runWrk(b, wrk, dir, base, paths, 1) // warm
	}
	for range b.N {
		d := runWrk(b, wrk, dir, "http://"+a, paths, secs)
		n1 := runWrk(b, wrk, dir, one, paths, secs)
		n2 := runWrk(b, wrk, dir, two, paths, secs)
		b.ReportMetric(d, "direct_pages/s")
		b.ReportMetric(n1, "nginx1_pages/s")
		b.ReportMetric(n2, "nginx2_pages/s")
		b.Logf("100-row pages, 32 connections: one node direct %.0f pages/s, through nginx to one node %.0f, to two nodes %.0f", d, n1, n2)
	}
}
