package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"folio/config"
	"folio/internal/demodb"
)

// rateServer serves the demo with every mount under rate r, and
// collections under rates of their own.
func rateServer(t *testing.T, r *config.Rate, per map[string]*config.Rate) *httptest.Server {
	t.Helper()
	log, _ := newLogger()
	srv, err := New(Options{Engine: demodb.Shared(t, demodb.Rows).Engine, Mounts: config.Demo().MountList(), Logger: log, RateLimit: r, CollectionRates: per})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func fetch(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b
}

// TestRateLimitEveryMount: past its burst, a client is answered 429 with
// Retry-After and the RateLimit headers, in the mount's own error shape,
// also for a page the cache holds; a collection with a rate of its own
// follows that rate, in a bucket of its own.
func TestRateLimitEveryMount(t *testing.T) {
	rate := &config.Rate{Requests: 3, Per: time.Minute, Burst: 3}
	own := map[string]*config.Rate{"dois": {Requests: 1, Per: time.Minute, Burst: 1}}
	for _, m := range faultMounts {
		ts := rateServer(t, rate, own)
		if strings.HasPrefix(m.path, "/stream/") {
			continue // the same collection as the paged host: its bucket is spent
		}
		t.Run(m.shape+" "+m.path, func(t *testing.T) {
			burst := 3
			if m.shape == "jsonapi" {
				burst = 1 // dois has a rate of its own
			}
			for i := range burst {
				resp, body := fetch(t, ts.URL+m.path)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("request %d: %d %.200s", i+1, resp.StatusCode, body)
				}
				if got := resp.Header.Get("RateLimit-Remaining"); got != strconv.Itoa(burst-1-i) {
					t.Errorf("request %d: RateLimit-Remaining %q, want %d", i+1, got, burst-1-i)
				}
				if got := resp.Header.Get("RateLimit-Limit"); got != strconv.Itoa(burst) {
					t.Errorf("RateLimit-Limit %q, want %d", got, burst)
				}
			}
			// The same URL again: the page cache holds it, and still the
			// limit answers first.
			resp, body := fetch(t, ts.URL+m.path)
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("past the burst: %d %.200s", resp.StatusCode, body)
			}
			ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || ra < 1 || ra > 60 {
				t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
			if resp.Header.Get("RateLimit-Remaining") != "0" || resp.Header.Get("RateLimit-Policy") == "" || resp.Header.Get("RateLimit-Reset") == "" {
				t.Errorf("headers %v", resp.Header)
			}
			if msg := shapes[m.shape](t, resp.StatusCode, body); !strings.Contains(msg, "too many requests") {
				t.Errorf("message %q", msg)
			}
		})
	}
	// The server's rate is one bucket per client for every collection
	// without a rate of its own; dois has its own.
	ts := rateServer(t, rate, own)
	for i, path := range []string{"/v1/entries?limit=1", "/v1/downtimes?limit=1", "/api/v1/entries?page_size=1", "/v1/dois?limit=1", "/v1/profiles?limit=1"} {
		want := http.StatusOK
		if i == 4 {
			want = http.StatusTooManyRequests
		}
		if resp, body := fetch(t, ts.URL+path); resp.StatusCode != want {
			t.Errorf("%s: %d %.200s, want %d", path, resp.StatusCode, body, want)
		}
	}
	// The health checks are no collection's and never limited.
	for range 5 {
		if resp, _ := fetch(t, ts.URL+"/livez"); resp.StatusCode != http.StatusOK || resp.Header.Get("RateLimit-Limit") != "" {
			t.Fatalf("/livez: %d %v", resp.StatusCode, resp.Header)
		}
	}
}
