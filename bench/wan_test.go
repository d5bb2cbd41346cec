package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"folio/internal/nginxtest"
	"folio/internal/testcert"
	"folio/server"
)

// The simulated link: 40 ms round trip (20 ms each way) and 100 Mbit/s
// each way, shared by every connection over it.
const (
	wanOneWay    = 20 // milliseconds
	wanBytesPerS = 100_000_000 / 8
	linkBurst    = 16 << 10
)

// linkToxic limits the bytes of every connection through a toxiproxy
// proxy, in one direction, to Rate bytes per second in all: a shared
// link, where toxiproxy's own bandwidth toxic limits each connection
// alone (four parallel connections would get four links). It counts the
// bytes it passes.
type linkToxic struct {
	Rate  int64 `json:"rate"` // bytes per second
	once  sync.Once
	lim   *rate.Limiter
	bytes atomic.Int64
}

func (t *linkToxic) Pipe(stub *toxics.ToxicStub) {
	t.once.Do(func() { t.lim = rate.NewLimiter(rate.Limit(t.Rate), linkBurst) })
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			for off := 0; off < len(c.Data); off += linkBurst {
				n := min(linkBurst, len(c.Data)-off)
				if d := t.lim.ReserveN(time.Now(), n).Delay(); d > 0 {
					select {
					case <-time.After(d):
					case <-stub.Interrupt:
						stub.Output <- c // drop nothing
						return
					}
				}
			}
			t.bytes.Add(int64(len(c.Data)))
			stub.Output <- c
		}
	}
}

func init() { toxics.Register("folio_link", new(linkToxic)) }

// wan is a toxiproxy proxy to upstream with the link's latency and
// shared bandwidth in both directions; down counts the bytes sent to the
// client.
type wan struct {
	addr string
	down *linkToxic
}

func newWAN(tb testing.TB, upstream string) *wan {
	tb.Helper()
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(api, "folio", "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Stop)
	w := &wan{addr: p.Listen}
	// Latency first: it delays each chunk from the moment it was read,
	// then the link spaces chunks out at its rate.
	for _, dir := range []string{"downstream", "upstream"} {
		if _, err := p.Toxics.AddToxicJson(strings.NewReader(fmt.Sprintf(`{"type":"latency","stream":%q,"attributes":{"latency":%d}}`, dir, wanOneWay))); err != nil {
			tb.Fatal(err)
		}
		tw, err := p.Toxics.AddToxicJson(strings.NewReader(fmt.Sprintf(`{"type":"folio_link","stream":%q,"attributes":{"rate":%d}}`, dir, wanBytesPerS)))
		if err != nil {
			tb.Fatal(err)
		}
		if dir == "downstream" {
			w.down = tw.Toxic.(*linkToxic)
		}
	}
	return w
}

// BenchmarkWANHarvest harvests the demo's entries with `folio harvest`
// through a simulated wide-area link (toxiproxy on loopback: 40 ms round
// trip, 100 Mbit/s shared), one page of 1,000 at a time and with
// --parallel 4, with compression (zstd, negotiated) and without, straight
// to folio over HTTP/1.1 and through nginx terminating TLS with HTTP/2
// (toxiproxy between the client and nginx). It reports rows/s and the
// share of the link's capacity the harvest used: bytes through the link
// towards the client / (100 Mbit/s × time).
func BenchmarkWANHarvest(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "folio")
	if out, err := exec.Command("go", "build", "-o", bin, "folio/cmd/folio").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	st := newStack(b, demoDB(b))
	folio := serveWith(b, st, server.Options{TrustedProxies: []string{"127.0.0.1"}}, "http")
	cert := testcert.Write(b)
	front := nginxtest.Run(b, func(port int) string {
		return fmt.Sprintf(`upstream folio { server %s; keepalive 32; }
server {
    listen 127.0.0.1:%d ssl http2;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / {
        proxy_pass http://folio;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $http_host;
        proxy_set_header Forwarded "";
        proxy_buffering off;
    }
}`, strings.TrimPrefix(folio, "http://"), port, cert.Cert, cert.Key)
	})
	links := []struct {
		name, scheme string
		w            *wan
	}{
		{"h1", "http", newWAN(b, strings.TrimPrefix(folio, "http://"))},
		{"nginx_h2", "https", newWAN(b, front)},
	}
	type run struct {
		link     int
		parallel bool
		compress bool
	}
	var runs []run
	for l := range links {
		for _, par := range []bool{false, true} {
			for _, comp := range []bool{true, false} {
				runs = append(runs, run{l, par, comp})
			}
		}
	}
	harvestOnce := func(r run) (rows int, secs float64, wire int64) {
		l := links[r.link]
		out := filepath.Join(dir, "out.ndjson")
		os.Remove(out)
		url := l.scheme + "://" + l.w.addr + "/v1/entries"
		args := []string{"harvest", "--page-size", "1000", "--out", out, "--ca-cert", cert.CA, "--compress=" + fmt.Sprint(r.compress)}
		if r.parallel {
			args = append(args, "--parallel", "4")
		} else {
			url += "?sort=entry_id"
		}
		before := l.w.down.bytes.Load()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append(args, url)...)
		cmd.Env = append(os.Environ(), "GOGC=")
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("folio harvest %v: %v\n%s", args, err, msg)
		}
		secs = time.Since(start).Seconds()
		wire = l.w.down.bytes.Load() - before
		f, err := os.Open(out)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			rows++
		}
		return rows, secs, wire
	}
	want := benchRows(b)
	b.ResetTimer()
	for range b.N {
		for _, r := range runs {
			rows, secs, wire := harvestOnce(r)
			if rows != want {
				b.Fatalf("%+v: %d rows, want %d", r, rows, want)
			}
			name := links[r.link].name
			if r.parallel {
				name += "_par4"
			} else {
				name += "_seq"
			}
			if r.compress {
				name += "_zstd"
			} else {
				name += "_plain"
			}
			use := float64(wire) / (wanBytesPerS * secs)
			b.ReportMetric(float64(rows)/secs, name+"_rows/s")
			b.ReportMetric(use, name+"_link_use")
			b.Logf("%-20s %8d rows in %7.1fs: %9.0f rows/s, %6.1f MB through the link, %4.0f%% of its capacity",
				name, rows, secs, float64(rows)/secs, float64(wire)/1e6, 100*use)
		}
	}
}
