package bench

import (
	"os/exec"
	"strings"
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
	// Other work on the machine moves single runs by a half and more, so
	// every round measures the node directly before and after the proxied
	// runs of a cache setting, takes the mean of the two as that round's
	// baseline, and the medians of the rounds' ratios are reported.
	ratios := make([][]float64, len(targets))
	var direct [2][]float64
	for round := range b.N {
		for c := range 2 {
			g := make([]float64, 5)
			before := runWrk(b, wrk, dir, targets[5*c].base, paths, secs)
			for i := 1; i < 5; i++ {
				g[i] = runWrk(b, wrk, dir, targets[5*c+i].base, paths, secs)
			}
			g[0] = (before + runWrk(b, wrk, dir, targets[5*c].base, paths, secs)) / 2
			direct[c] = append(direct[c], g[0])
			for i := range g {
				ratios[5*c+i] = append(ratios[5*c+i], g[i]/g[0])
			}
			b.Logf("round %d, 100-row pages, 32 connections, %s: %.0f pages/s; nginx + 1 node %.0f (%.2f), without keepalive %.0f (%.2f); nginx + 2 nodes %.0f (%.2f), without keepalive %.0f (%.2f)",
				round, targets[5*c].name, g[0], g[1], g[1]/g[0], g[2], g[2]/g[0], g[3], g[3]/g[0], g[4], g[4]/g[0])
		}
	}
	for c := range 2 {
		b.ReportMetric(median(direct[c]), "cache_"+[]string{"off", "on"}[c]+"_direct_pages/s")
	}
	for i, t := range targets {
		if i%5 == 0 {
			continue
		}
		m := median(ratios[i])
		b.ReportMetric(m, strings.NewReplacer(", ", "_", " + ", "", " ", "_").Replace(t.name)+"_ratio")
		b.Logf("%s: median %.2f of direct over %d rounds", t.name, m, len(ratios[i]))
	}
}
