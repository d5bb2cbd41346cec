package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"folio/config"
	"folio/engine"
	"folio/internal/demodb"
	"folio/source/sqlite"
)

// heldSource is the real source whose streams stop after their first row
// until hold is closed, so that a test sees an export in flight.
type heldSource struct {
	engine.Source
	hold chan struct{}
}

func (s *heldSource) Query(ctx context.Context, plan *engine.Plan, emit func(engine.Row) error) error {
	n := 0
	return s.Source.Query(ctx, plan, func(row engine.Row) error {
		if n == 1 && plan.Limit == 0 { // a stream without a limit: pages ask for limit+1 rows
			select {
			case <-s.hold:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		n++
		return emit(row)
	})
}

// metered serves the shared demo database over src's wrapper with every
// demo mount, metrics on a registry of its own and the engine's observer
// feeding them, as folio serve --admin-addr does; it returns the public
// and the admin server.
func metered(t *testing.T, wrap func(engine.Source) engine.Source, cacheBytes int64) (public, admin *httptest.Server) {
	t.Helper()
	src, err := sqlite.Open(context.Background(), demodb.Shared(t, demodb.Rows).Path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	var s engine.Source = src
	if wrap != nil {
		s = wrap(src)
	}
	cfg := config.Demo()
	found, err := s.Collections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cols, err := config.Apply(found, cfg)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := engine.NewSigner([]byte("metrics-test-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(s, signer, cols, engine.WithObserver(m.Observer()))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Engine: e, Mounts: cfg.MountList(), Logger: demodb.Quiet(), CacheBytes: cacheBytes, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	public = httptest.NewServer(srv.Handler())
	t.Cleanup(public.Close)
	admin = httptest.NewServer(Admin(reg, demodb.Quiet()))
	t.Cleanup(admin.Close)
	return public, admin
}

// samples are the values of one scrape: a counter's or gauge's value, a
// histogram's _count and _sum, each under its name and labels.
type samples map[string]float64

func scrape(t *testing.T, admin *httptest.Server) samples {
	t.Helper()
	resp, err := http.Get(admin.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := samples{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			key := series(name, m.GetLabel())
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[series(name+"_count", m.GetLabel())] = float64(m.GetHistogram().GetSampleCount())
				out[series(name+"_sum", m.GetLabel())] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

// series names one series as name{label="value",...}, labels sorted.
func series(name string, labels []*dto.LabelPair) string {
	var parts []string
	for _, l := range labels {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	slices.Sort(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

// moved returns how far every series moved from before to after, keeping
// only those that did.
func moved(before, after samples) samples {
	out := samples{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// TestMetricsMoveByTheRequestsMade: after a scrape, a known set of
// requests, and another scrape, every request counter, latency histogram,
// byte and row counter, cache counter and query histogram has moved by
// exactly what those requests did, and nothing else has.
func TestMetricsMoveByTheRequestsMade(t *testing.T) {
	public, admin := metered(t, nil, 0)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	bytes := map[string]int{} // route → body bytes received
	do := func(route, method, target, body string, status int) {
		t.Helper()
		req, err := http.NewRequest(method, public.URL+target, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != status {
			t.Fatalf("%s %s: %d, want %d: %s", method, target, resp.StatusCode, status, b)
		}
		bytes[route] += len(b)
	}
	// The first scrape happens before any request, the second after all:
	// only these requests may move the counters in between.
	before := scrape(t, admin)
	for i := range 3 {
		do("/v1/", "GET", fmt.Sprintf("/v1/entries?limit=5&offset=%d", 5*i), "", 200) // 3 misses, 15 rows
	}
	do("/v1/", "GET", "/v1/entries?limit=5&offset=0", "", 200) // a hit: 5 rows from the cache
	do("/v1/", "GET", "/v1/entries?limit=abc", "", 400)        // no query, no row
	do("/v1/", "GET", "/v1/dois.ndjson?limit=40", "", 200)     // a stream of 40 rows, not cached
	do("/api/v1/entries/", "POST", "/api/v1/entries/query", `{"pagination":{"page_size":7}}`, 200)
	do("GET /healthz", "GET", "/healthz", "", 200)
	do("unmatched", "GET", "/nowhere", "", 404)
	d := moved(before, scrape(t, admin))

	want := samples{
		`folio_http_requests_total{code="200",dialect="native",method="GET",route="/v1/"}`:             5,
		`folio_http_requests_total{code="400",dialect="native",method="GET",route="/v1/"}`:             1,
		`folio_http_requests_total{code="200",dialect="nomad",method="POST",route="/api/v1/entries/"}`: 1,
		`folio_http_requests_total{code="200",dialect="",method="GET",route="GET /healthz"}`:           1,
		`folio_http_requests_total{code="404",dialect="",method="GET",route="unmatched"}`:              1,
		`folio_http_request_duration_seconds_count{dialect="native",route="/v1/"}`:                     6,
		`folio_http_request_duration_seconds_count{dialect="nomad",route="/api/v1/entries/"}`:          1,
		`folio_http_request_duration_seconds_count{dialect="",route="GET /healthz"}`:                   1,
		`folio_http_request_duration_seconds_count{dialect="",route="unmatched"}`:                      1,
		`folio_http_response_bytes_total{dialect="native",route="/v1/"}`:                               float64(bytes["/v1/"]),
		`folio_http_response_bytes_total{dialect="nomad",route="/api/v1/entries/"}`:                    float64(bytes["/api/v1/entries/"]),
		`folio_http_response_bytes_total{dialect="",route="GET /healthz"}`:                             float64(bytes["GET /healthz"]),
		`folio_http_response_bytes_total{dialect="",route="unmatched"}`:                                float64(bytes["unmatched"]),
		`folio_rows_sent_total{dialect="native",route="/v1/"}`:                                         15 + 5 + 40,
		`folio_rows_sent_total{dialect="nomad",route="/api/v1/entries/"}`:                              7,
		`folio_page_cache_hits_total{}`:                                                                1,
		`folio_page_cache_misses_total{}`:                                                              3 + 1 + 1, // the pages, the 400, the export: only the mounts have the cache
		// three native pages and NOMAD's; one count for the native pages'
		// filters (then cached), one for NOMAD's, which shows only public entries
		`folio_query_duration_seconds_count{collection="entries",read="page"}`:  4,
		`folio_query_duration_seconds_count{collection="entries",read="count"}`: 2,
		`folio_query_duration_seconds_count{collection="dois",read="stream"}`:   1,
	}
	for k, v := range d {
		if strings.HasSuffix(strings.SplitN(k, "{", 2)[0], "_sum") {
			if v <= 0 {
				t.Errorf("%s moved by %v, want more than 0", k, v)
			}
			continue
		}
		if !strings.HasPrefix(k, "folio_") {
			continue // the registry holds only folio's; the process collectors are main's
		}
		if want[k] != v {
			t.Errorf("%s moved by %v, want %v", k, v, want[k])
		}
	}
	for k, v := range want {
		if _, ok := d[k]; !ok {
			t.Errorf("%s did not move, want %v", k, v)
		}
	}
}

// TestExportsInFlight: the gauge counts an export while it streams and
// drops back when it ends.
func TestExportsInFlight(t *testing.T) {
	held := &heldSource{hold: make(chan struct{})}
	public, admin := metered(t, func(s engine.Source) engine.Source { held.Source = s; return held }, 0)
	const gauge = `folio_exports_in_flight{}`
	if v := scrape(t, admin)[gauge]; v != 0 {
		t.Fatalf("%s = %v before any export", gauge, v)
	}
	got := make(chan error, 1)
	go func() {
		resp, err := http.Get(public.URL + "/v1/dois.ndjson")
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		got <- err
	}()
	// Rows are held after the first: the export is in flight until released.
	waitFor := func(want float64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for scrape(t, admin)[gauge] != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s is %v, want %v", gauge, scrape(t, admin)[gauge], want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(1)
	close(held.hold)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	waitFor(0)
}

// TestDatabaseErrorsCounted: a database that fails is counted as a
// database error of the read it failed, and its 503 under its route.
func TestDatabaseErrorsCounted(t *testing.T) {
	faulty := &faultySource{}
	public, admin := metered(t, func(s engine.Source) engine.Source { faulty.Source = s; return faulty }, -1)
	before := scrape(t, admin)
	faulty.mode.Store("fail")
	faulty.after.Store(0)
	for _, target := range []string{"/v1/entries?limit=3", "/v1/dois?limit=3"} {
		resp, err := http.Get(public.URL + target)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s: %d, want 503", target, resp.StatusCode)
		}
	}
	d := moved(before, scrape(t, admin))
	for k, want := range map[string]float64{
		`folio_database_errors_total{read="page"}`:                                         2,
		`folio_http_requests_total{code="503",dialect="native",method="GET",route="/v1/"}`: 2,
		`folio_rows_sent_total{dialect="native",route="/v1/"}`:                             0,
	} {
		if d[k] != want {
			t.Errorf("%s moved by %v, want %v", k, d[k], want)
		}
	}
}

// TestAdminApartFromPublic: metrics and the profiler answer on the admin
// listener only; on the public port they are 404s like any unknown path.
func TestAdminApartFromPublic(t *testing.T) {
	public, admin := metered(t, nil, 0)
	for _, tt := range []struct {
		srv    *httptest.Server
		target string
		status int
		has    string
	}{
		{public, "/metrics", 404, ""},
		{public, "/debug/pprof/", 404, ""},
		{public, "/debug/pprof/cmdline", 404, ""},
		{public, "/debug/pprof/heap", 404, ""},
		{admin, "/metrics", 200, "folio_http_requests_total"},
		{admin, "/debug/pprof/", 200, "goroutine"},
		{admin, "/debug/pprof/heap?debug=1", 200, "heap profile"},
		{admin, "/v1/entries", 404, ""},
	} {
		resp, err := http.Get(tt.srv.URL + tt.target)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		where := "public"
		if tt.srv == admin {
			where = "admin"
		}
		if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.has) {
			t.Errorf("%s %s: %d %.80q, want %d with %q", where, tt.target, resp.StatusCode, b, tt.status, tt.has)
		}
	}
}
