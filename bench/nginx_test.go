package bench

import (
	"os/exec"
	"testing"

	"folio/internal/nginxtest"
)

// BenchmarkNginx measures 100-row pages/s with 32 connections against one
// PostgreSQL holding the demo dataset, in the same run: one folio node
// asked directly, nginx in front of one node and in front of two (same
// signing key, each node with its own PostgreSQL pool), with the page
// cache off and on, and nginx with docs/nginx/folio.conf as it is and
// without its upstream keepalive. The ratio to read is nginx + one node
// against the node asked directly. On a 2-core machine the nodes, nginx,
// PostgreSQL and wrk share the cores, so this shows the cost of the extra
// hop and of a second node, not the gain of a second machine.
func BenchmarkNginx(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Fatal("wrk is needed: apt-get install -y wrk")
	}
	secs := benchSeconds(b)
	url := postgresDemo(b)
	conf := nginxtest.Config(b)
	plain := nginxtest.WithoutKeepalive(b, conf)
	dir := b.TempDir()
	paths := []string{"/v1/entries?limit=100"}

	// One set of targets per cache setting, each node with its own pool.
	type target struct{ name, base string }
	var targets []target
	for _, c := range []struct {
		name  string
		bytes int64
	}{{"off", -1}, {"on", 0}} {
		node := func() string {
			_, srv := serve(b, postgresSource(b, url), c.bytes)
			return listen(b, srv.Handler())[len("http://"):]
		}
		a, d := node(), node()
		targets = append(targets,
			target{"cache " + c.name + ", direct", "http://" + a},
			target{"cache " + c.name + ", nginx + 1 node", nginxtest.StartConfig(b, conf, a)},
			target{"cache " + c.name + ", nginx + 1 node, no keepalive", nginxtest.StartConfig(b, plain, a)},
			target{"cache " + c.name + ", nginx + 2 nodes", nginxtest.StartConfig(b, conf, a, d)},
			target{"cache " + c.name + ", nginx + 2 nodes, no keepalive", nginxtest.StartConfig(b, plain, a, d)},
		)
	}
	for _, t := range targets {
		runWrk(b, wrk, dir, t.base, paths, 1) // warm
	}
	for range b.N {
		got := make([]float64, len(targets))
		for i, t := range targets {
			got[i] = runWrk(b, wrk, dir, t.base, paths, secs)
		}
		// Per cache setting: direct, nginx 1, nginx 1 without keepalive,
		// nginx 2, nginx 2 without keepalive.
		for c, name := range []string{"off", "on"} {
			g := got[5*c : 5*c+5]
			b.ReportMetric(g[0], "direct_cache_"+name+"_pages/s")
			b.ReportMetric(g[1]/g[0], "nginx1_cache_"+name+"_ratio")
			b.ReportMetric(g[3]/g[0], "nginx2_cache_"+name+"_ratio")
			b.Logf("100-row pages, 32 connections, cache %s: direct %.0f pages/s; nginx + 1 node %.0f (%.2f of direct), without keepalive %.0f (%.2f); nginx + 2 nodes %.0f (%.2f), without keepalive %.0f (%.2f)",
				name, g[0], g[1], g[1]/g[0], g[2], g[2]/g[0], g[3], g[3]/g[0], g[4], g[4]/g[0])
		}
	}
}
