package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"folio/internal/pgtest"
	"folio/source/postgres"
)

// BenchmarkHungReplica measures what a page costs while a replica hangs
// (accepts connections, never answers), against the demo dataset in
// PostgreSQL, beside the baseline of the same pages from a node without
// replicas, in the same run: the first page of a new node, which waits the
// replica timeout (the default, 2 s) and reads the primary, against the
// first page of a new node without replicas (both open their first
// connection and look up the columns' types); then 200 pages, once the
// replica has left rotation, against the same pages from the node without
// replicas. 100-row pages of entries over HTTP, page cache off.
func BenchmarkHungReplica(b *testing.B) {
	url := postgresDemo(b)
	hung := "postgres://postgres@" + pgtest.Hung(b) + "/hung?sslmode=disable"
	quiet := slog.New(slog.DiscardHandler)
	open := func(replicas ...string) string {
		src, err := postgres.Open(context.Background(), url, postgres.Options{Replicas: replicas, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { src.Close() })
		_, srv := serve(b, src, -1)
		return listen(b, srv.Handler())
	}
	client := &http.Client{Timeout: time.Minute}
	page := func(base string, i int) time.Duration {
		start := time.Now()
		resp, err := client.Get(fmt.Sprintf("%s/v1/entries?limit=100&offset=%d", base, 100*(i%100)))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return time.Since(start)
	}
	const pages = 200
	timeout := postgres.DefaultReplicaTimeout
	for range b.N {
		direct := open()
		cold := page(direct, 0)
		node := open(hung)
		first := page(node, 0)
		var after, primary time.Duration
		for i := range pages {
			after += page(node, i+1)
			primary += page(direct, i+1)
		}
		after /= pages
		primary /= pages
		b.ReportMetric(float64(first.Microseconds())/1000, "first_ms")
		b.ReportMetric(float64(cold.Microseconds())/1000, "first_no_replica_ms")
		b.ReportMetric(float64(after)/float64(primary), "after_ratio")
		b.Logf("replica hung: a new node's first page %s = the replica timeout %s + %s (a new node without replicas: %s); then %s a page vs %s without the replica (ratio %.2f)",
			first.Round(100*time.Microsecond), timeout, (first - timeout).Round(100*time.Microsecond), cold.Round(100*time.Microsecond),
			after.Round(10*time.Microsecond), primary.Round(10*time.Microsecond), float64(after)/float64(primary))
	}
}

// BenchmarkCachedPages measures pages/s served from the page cache over
// PostgreSQL, 32 connections asking for the same 100-row page: with
// Version polled in the background (folio serve's default), and with
// Version asking the primary on every request (before polling), alternating
// in the same run against the same database.
func BenchmarkCachedPages(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Fatal("wrk is needed: apt-get install -y wrk")
	}
	secs := benchSeconds(b)
	url := postgresDemo(b)
	node := func(opt postgres.Options) string {
		opt.Logger = slog.New(slog.DiscardHandler)
		src, err := postgres.Open(context.Background(), url, opt)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { src.Close() })
		_, srv := serve(b, src, 0)
		return listen(b, srv.Handler())
	}
	polled := node(postgres.Options{})
	everyCall := node(postgres.Options{VersionEveryCall: true})
	dir := b.TempDir()
	paths := []string{"/v1/entries?limit=100"}
	for _, base := range []string{polled, everyCall} {
		runWrk(b, wrk, dir, base, paths, 1) // warm
	}
	for range b.N {
		before := runWrk(b, wrk, dir, everyCall, paths, secs)
		after := runWrk(b, wrk, dir, polled, paths, secs)
		b.ReportMetric(before, "every_call_pages/s")
		b.ReportMetric(after, "polled_pages/s")
		b.ReportMetric(after/before, "ratio")
		b.Logf("cached 100-row pages, 32 connections: Version polled %.0f pages/s, asked on every request %.0f pages/s, ratio %.2f", after, before, after/before)
	}
}
