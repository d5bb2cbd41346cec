package server

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"folio/engine"
)

// Metrics are the Prometheus metrics of one folio server, registered on a
// registry the caller owns (folio serve makes one and serves it on the
// operators' listener, see Admin), never on a global one. The labels are
// bounded: a route is the pattern a request matched (a mount's path, a
// health check), never the raw path, so no client can mint series.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
	rows     *prometheus.CounterVec
	hits     prometheus.Counter
	misses   prometheus.Counter
	queries  *prometheus.HistogramVec
	dbErrors *prometheus.CounterVec
	streams  prometheus.Gauge
}

// Buckets of the latency histograms, in seconds: a cached page takes well
// under a millisecond, an export of a million rows tens of seconds.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// NewMetrics creates folio's metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	route := []string{"route", "dialect"}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "folio_http_requests_total",
			Help: "HTTP requests answered, by route pattern, dialect, method and status code.",
		}, []string{"route", "dialect", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "folio_http_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its response, by route pattern and dialect.",
			Buckets: latencyBuckets,
		}, route),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "folio_http_response_bytes_total",
			Help: "Bytes of response bodies sent, as sent (compressed when the client asked for it), by route pattern and dialect.",
		}, route),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "folio_rows_sent_total",
			Help: "Rows sent in pages, records and exports (from the database or the page cache), by route pattern and dialect.",
		}, route),
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "folio_page_cache_hits_total",
			Help: "GET requests answered from the page cache.",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "folio_page_cache_misses_total",
			Help: "GET requests the page cache could have answered but did not hold (or held for older data).",
		}),
		queries: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "folio_query_duration_seconds",
			Help:    "Time the database took to answer the engine, by read (page, stream, count, estimate) and collection; a stream's time includes sending its rows.",
			Buckets: latencyBuckets,
		}, []string{"read", "collection"}),
		dbErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "folio_database_errors_total",
			Help: "Reads the database could not answer (answered 503 unavailable, or cut off mid-stream), by read.",
		}, []string{"read"}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "folio_exports_in_flight",
			Help: "Streamed responses (exports, unpaged reads) being sent now.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.bytes, m.rows, m.hits, m.misses, m.queries, m.dbErrors, m.streams} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Observer returns the engine observer that feeds the query metrics, and
// counts each request's rows for folio_rows_sent_total.
func (m *Metrics) Observer() engine.Observer {
	return func(ctx context.Context, read engine.Read, c *engine.Collection) func(int64, error) {
		start := time.Now()
		if read == engine.ReadStream {
			m.streams.Inc()
		}
		return func(rows int64, err error) {
			if read == engine.ReadStream {
				m.streams.Dec()
			}
			m.queries.WithLabelValues(string(read), c.Name).Observe(time.Since(start).Seconds())
			if ee, ok := engine.AsError(err); ok && ee.Code == engine.CodeUnavailable {
				m.dbErrors.WithLabelValues(string(read)).Inc()
			}
			if st := statsOf(ctx); st != nil {
				st.rows.Add(rows)
			}
		}
	}
}

// requestStats is what the layers below the metrics middleware tell it of
// one request: the rows sent and whether the page cache answered.
type requestStats struct {
	rows  atomic.Int64
	cache atomic.Int32 // 0: not asked, cacheHit or cacheMiss
}

const (
	cacheHit  = 1
	cacheMiss = 2
)

type statsKey struct{}

func statsOf(ctx context.Context) *requestStats {
	st, _ := ctx.Value(statsKey{}).(*requestStats)
	return st
}

// cacheAnswered tells the metrics, if any, that the page cache answered
// the request with a page of rows rows.
func cacheAnswered(ctx context.Context, rows int64) {
	if st := statsOf(ctx); st != nil {
		st.cache.Store(cacheHit)
		st.rows.Add(rows)
	}
}

// cacheMissed tells the metrics, if any, that the page cache did not hold
// the request's page.
func cacheMissed(ctx context.Context) {
	if st := statsOf(ctx); st != nil {
		st.cache.Store(cacheMiss)
	}
}

// rowsSoFar is the rows the request has been sent so far (0 without
// metrics), which the page cache keeps with a page to count again on a hit.
func rowsSoFar(ctx context.Context) int64 {
	if st := statsOf(ctx); st != nil {
		return st.rows.Load()
	}
	return 0
}

// instrument counts every request into m, labelled with the pattern routes
// matches it with and that route's dialect (mounts maps patterns to
// dialects; others, health checks and unmatched paths, have none).
func (m *Metrics) instrument(current func() (*http.ServeMux, map[string]string)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			routes, mounts := current()
			_, route := routes.Handler(r)
			dialect := mounts[route]
			if route == "" {
				route = "unmatched"
			}
			st := &requestStats{}
			r = r.WithContext(context.WithValue(r.Context(), statsKey{}, st))
			rec := &recorder{ResponseWriter: w}
			defer func() {
				if rec.status == 0 {
					rec.status = http.StatusOK
				}
				m.requests.WithLabelValues(route, dialect, method(r.Method), strconv.Itoa(rec.status)).Inc()
				m.duration.WithLabelValues(route, dialect).Observe(time.Since(start).Seconds())
				m.bytes.WithLabelValues(route, dialect).Add(float64(rec.bytes))
				m.rows.WithLabelValues(route, dialect).Add(float64(st.rows.Load()))
				switch st.cache.Load() {
				case cacheHit:
					m.hits.Inc()
				case cacheMiss:
					m.misses.Inc()
				}
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// method is a request's method as a label: any other than HTTP's own would
// let a client mint series.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}
