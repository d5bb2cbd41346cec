package bench

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"folio/engine"
)

// BenchmarkThroughput measures pages/s of 100-row pages of entries with 32
// concurrent connections (wrk, from Debian's package), for folio and for
// the bare baseline, in the same run and on the same database:
//
//   - first: the first page, over and over;
//   - deep: pages at 1,000 different depths spread over the whole
//     collection, continued from cursors, so that no two requests in a row
//     read the same rows.
//
// folio runs twice: with its page cache off, which is the figure compared
// with the baseline (the same SQL per request), and as `folio serve` runs,
// with the cache on, where repeated requests for unchanged data skip SQL.
//
// Each figure runs FOLIO_BENCH_SECONDS (default 10) seconds per target.
func BenchmarkThroughput(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Fatal("wrk is needed: apt-get install -y wrk")
	}
	secs := benchSeconds(b)
	path := demoDB(b)
	st := newStack(b, path)
	cached := listen(b, st.srv.Handler())
	folio := listen(b, newStackCache(b, path, -1).srv.Handler())
	bare := listen(b, bareHandler(b, path))

	folioDeep, bareDeep := deepPaths(b, st.eng, 1000)
	dir := b.TempDir()
	for _, mix := range []struct {
		name        string
		folio, bare []string
	}{
		{"first", []string{"/v1/entries?limit=100"}, []string{"/?limit=100"}},
		{"deep", folioDeep, bareDeep},
	} {
		b.Run(mix.name, func(b *testing.B) {
			for _, base := range []string{folio, bare, cached} { // warm caches
				p := mix.folio
				if base == bare {
					p = mix.bare
				}
				runWrk(b, wrk, dir, base, p, 1)
			}
			for range b.N {
				// Alternate so that drift in the machine's load hits all three.
				f := runWrk(b, wrk, dir, folio, mix.folio, secs)
				r := runWrk(b, wrk, dir, bare, mix.bare, secs)
				c := runWrk(b, wrk, dir, cached, mix.folio, secs)
				b.ReportMetric(f, "folio_pages/s")
				b.ReportMetric(r, "bare_pages/s")
				b.ReportMetric(c, "cached_pages/s")
				b.ReportMetric(f/r, "ratio")
				b.Logf("%s: folio %.0f pages/s (page cache off), bare %.0f pages/s, ratio %.2f; folio with its page cache %.0f pages/s", mix.name, f, r, f/r, c)
			}
		})
	}
}

// deepPaths harvests entries once with the engine, 1000 rows a page, and
// returns for n evenly spread depths a folio URL (a signed cursor) and the
// bare baseline's URL for the same boundary row.
func deepPaths(tb testing.TB, e *engine.Engine, n int) (folio, bare []string) {
	ctx := context.Background()
	c, err := e.Collection("entries")
	if err != nil {
		tb.Fatal(err)
	}
	w := engine.Window{Limit: 1000}
	for len(folio) < n {
		p, err := e.Page(ctx, c, engine.Query{}, w, engine.TotalNone)
		if err != nil {
			tb.Fatal(err)
		}
		if !p.HasNext {
			break
		}
		v := p.SortValues(p.Rows[len(p.Rows)-1])
		folio = append(folio, "/v1/entries?limit=100&cursor="+p.Next)
		t := v[0].(time.Time).Format("2006-01-02T15:04:05.000000Z")
		bare = append(bare, "/?limit=100&after="+url.QueryEscape(t+","+v[1].(string)))
		w.At = engine.Token(p.Next)
	}
	return folio, bare
}

var requestsPerSec = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// runWrk loads base with 32 connections on 2 threads for secs seconds,
// picking paths at random, and returns the requests per second.
func runWrk(tb testing.TB, wrk, dir, base string, paths []string, secs int) float64 {
	return runWrkRequest(tb, wrk, dir, base, "GET", paths, "", secs)
}

// runWrkRequest is runWrk for any method, with body sent as JSON when set
// and the request headers given as name, value pairs.
func runWrkRequest(tb testing.TB, wrk, dir, base, method string, paths []string, body string, secs int, header ...string) float64 {
	tb.Helper()
	list := filepath.Join(dir, "paths.txt")
	if err := os.WriteFile(list, []byte(strings.Join(paths, "\n")+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	script := filepath.Join(dir, "paths.lua")
	lua := fmt.Sprintf(`
local paths = {}
for line in io.lines(%q) do paths[#paths + 1] = line end
local body = %q
local headers = {}
if body ~= "" then headers["Content-Type"] = "application/json" else body = nil end
%slocal errors = 0
request = function() return wrk.format(%q, paths[math.random(#paths)], headers, body) end
response = function(status) if status ~= 200 then errors = errors + 1 end end
done = function() if errors > 0 then io.write("non-200 responses: " .. errors .. "\n") end end
`, list, body, luaHeaders(header), method)
	if err := os.WriteFile(script, []byte(lua), 0o644); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(wrk, "-t2", "-c32", fmt.Sprintf("-d%ds", secs), "-s", script, base).CombinedOutput()
	if err != nil {
		tb.Fatalf("wrk: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "non-200") || strings.Contains(string(out), "Non-2xx") {
		tb.Fatalf("wrk saw errors:\n%s", out)
	}
	m := requestsPerSec.FindSubmatch(out)
	if m == nil {
		tb.Fatalf("wrk output has no rate:\n%s", out)
	}
	f, _ := strconv.ParseFloat(string(m[1]), 64)
	return f
}

// luaHeaders sets the name, value pairs of header in wrk's headers table.
func luaHeaders(header []string) string {
	var b strings.Builder
	for i := 0; i+1 < len(header); i += 2 {
		fmt.Fprintf(&b, "headers[%q] = %q\n", header[i], header[i+1])
	}
	return b.String()
}

// benchSeconds is how long each wrk run lasts: FOLIO_BENCH_SECONDS, default 10.
func benchSeconds(tb testing.TB) int {
	s := os.Getenv("FOLIO_BENCH_SECONDS")
	if s == "" {
		return 10
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		tb.Fatalf("FOLIO_BENCH_SECONDS=%q: want a whole number of seconds", s)
	}
	return n
}
