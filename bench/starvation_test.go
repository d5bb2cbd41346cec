package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"folio/config"
	"folio/engine"
	"folio/internal/demodb"
	"folio/internal/demotest"
	"folio/source/sqlite"
)

// BenchmarkStarvation measures what eight costly requests in flight do to
// a cheap page: the p50 and p99 of 100-row first pages of entries, one at
// a time, idle and while eight clients loop on costly requests (an
// elements[any] filter of 150 random values that no entry holds, with
// total=exact: every row is read and tested against each value; each
// request a new filter, so that no count is cached), with the engine's
// limits off (before) and as `folio serve` sets them (after: the default
// query time and half the CPUs for costly work). The page cache is off.
//
// Reported: p99 under load / p99 idle, for each (goal after: ≤ 2).
func BenchmarkStarvation(b *testing.B) {
	path := demoDB(b)
	pages := 200
	for _, c := range []struct {
		name   string
		limits engine.Limits
	}{
		{"before", engine.Limits{}},
		{"after", engine.Limits{QueryTime: engine.DefaultQueryTime, Costly: engine.DefaultCostly()}},
	} {
		b.Run(c.name, func(b *testing.B) {
			base := listen(b, limitedStack(b, path, c.limits).Handler())
			for range b.N {
				idle := cheapLatencies(b, base, pages)
				ctx, stop := context.WithCancel(context.Background())
				var wg sync.WaitGroup
				var mu sync.Mutex
				statuses := map[int]int{}
				for w := range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rng := rand.New(rand.NewPCG(uint64(w), 9))
						for ctx.Err() == nil {
							st := costlyRequest(ctx, base, rng)
							mu.Lock()
							statuses[st]++
							mu.Unlock()
						}
					}()
				}
				time.Sleep(time.Second) // let the costly requests pile up
				loaded := cheapLatencies(b, base, pages)
				stop()
				wg.Wait()
				p := func(ls []time.Duration, q float64) time.Duration { return ls[int(q*float64(len(ls)-1))] }
				b.ReportMetric(float64(p(idle, 0.99).Microseconds())/1000, "idle_p99_ms")
				b.ReportMetric(float64(p(loaded, 0.5).Microseconds())/1000, "loaded_p50_ms")
				b.ReportMetric(float64(p(loaded, 0.99).Microseconds())/1000, "loaded_p99_ms")
				b.ReportMetric(float64(p(loaded, 0.99))/float64(p(idle, 0.99)), "p99_ratio")
				b.Logf("%s: idle p50 %v p99 %v; under 8 costly clients (%d pages) p50 %v p99 %v; costly answers by status %v",
					c.name, p(idle, 0.5), p(idle, 0.99), len(loaded), p(loaded, 0.5), p(loaded, 0.99), statuses)
			}
		})
	}
}

// limitedStack is `folio serve` over the demo at path with the page cache
// off and the engine's limits l.
func limitedStack(tb testing.TB, path string, l engine.Limits) interface{ Handler() http.Handler } {
	tb.Helper()
	src, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { src.Close() })
	cfg := config.Demo()
	e := demodb.NewEngineWith(tb, src, cfg, engine.WithLimits(l))
	return demotest.NewServer(tb, e, cfg.MountList(), -1)
}

// cheapLatencies returns the sorted latencies of n first pages, one at a
// time, or of those that 30 seconds allowed (a starved server answers few).
func cheapLatencies(tb testing.TB, base string, n int) []time.Duration {
	tb.Helper()
	out := make([]time.Duration, 0, n)
	for end := time.Now().Add(30 * time.Second); len(out) < n && time.Now().Before(end); {
		start := time.Now()
		resp, err := http.Get(base + "/v1/entries?limit=100")
		if err != nil {
			tb.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			tb.Fatalf("a cheap page: status %d", resp.StatusCode)
		}
		out = append(out, time.Since(start))
	}
	slices.Sort(out)
	return out
}

var elementPool = strings.Fields(`H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn
	Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy
	Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn`)

// costlyRequest sends one costly request and returns its status.
func costlyRequest(ctx context.Context, base string, rng *rand.Rand) int {
	vals := make([]string, 150)
	for i := range vals {
		vals[i] = elementPool[rng.IntN(len(elementPool))] + fmt.Sprint(rng.IntN(1000))
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/entries?limit=10&total=exact&elements%5Bany%5D="+strings.Join(vals, ","), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
