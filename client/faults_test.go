package client

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"folio/internal/demotest"
)

// faultProxy stands in front of the real server and spoils some of the
// requests it forwards, by their number: the connection dropped half-way
// through the body, a 500, a 429 with Retry-After, or a delay (which is
// slow but not a fault).
type faultProxy struct {
	upstream string
	schedule []string // by request number modulo its length: "", drop, 500, 429, delay

	mu       sync.Mutex
	requests int
	faults   int
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	fault := p.schedule[p.requests%len(p.schedule)]
	p.requests++
	if fault == "drop" || fault == "500" || fault == "429" {
		p.faults++
	}
	p.mu.Unlock()

	switch fault {
	case "500":
		http.Error(w, "injected", http.StatusInternalServerError)
		return
	case "429":
		w.Header().Set("Retry-After", "1")
		http.Error(w, "slow down", http.StatusTooManyRequests)
		return
	case "delay":
		time.Sleep(20 * time.Millisecond)
	}
	body, _ := io.ReadAll(r.Body)
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	out.Host = r.Host // the server's links then point back at the proxy
	out.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(resp.StatusCode)
	if fault == "drop" {
		w.Write(b[:len(b)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the connection closes mid-body
	}
	w.Write(b)
}

func (p *faultProxy) counts() (requests, faults int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests, p.faults
}

// TestFaults harvests every dialect through the fault-injecting proxy: the
// harvest completes, equals the engine's result, and retried exactly the
// requests the proxy spoiled.
func TestFaults(t *testing.T) {
	ts, e := demotest.Serve(t, demoRows)
	for _, hc := range harvestCases("") {
		t.Run(hc.name, func(t *testing.T) {
			fp := &faultProxy{upstream: ts.URL, schedule: []string{"drop", "", "500", "delay", "429", "", "", "drop", "500", "429", "429", ""}}
			proxy := httptest.NewServer(fp)
			defer proxy.Close()
			c := New(Options{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxRetryAfter: 10 * time.Millisecond})
			req := hc.req
			req.URL = proxy.URL + req.URL
			cp, err := Start(req, hc.dialect, hc.pageSize)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for r, err := range c.Records(context.Background(), cp) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, recordKey(t, r, hc.key...))
			}
			demotest.ExactlyOnce(t, got, demotest.Keys(t, e, hc.collection, hc.filters))
			requests, faults := fp.counts()
			if faults == 0 {
				t.Fatalf("%d requests and no fault injected", requests)
			}
			if c.Retries() != int64(faults) {
				t.Errorf("%d retries, want %d (the injected faults, of %d requests)", c.Retries(), faults, requests)
			}
		})
	}
}

// TestRetryAfter holds the client to the server's Retry-After, and to its
// cap on it.
func TestRetryAfter(t *testing.T) {
	for _, c := range []struct {
		name     string
		cap      time.Duration
		min, max time.Duration
	}{
		{"honoured", 0, time.Second, 3 * time.Second},
		{"capped", 50 * time.Millisecond, 50 * time.Millisecond, 900 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			var n atomic.Int32
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					w.Header().Set("Retry-After", "1")
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				w.Write([]byte(`[{"a":1}]`))
			}))
			defer ts.Close()
			cl := New(Options{MaxRetryAfter: c.cap, MinBackoff: time.Millisecond})
			start := time.Now()
			if _, err := cl.Fetch(context.Background(), Request{URL: ts.URL}); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d < c.min || d > c.max {
				t.Errorf("waited %s, want between %s and %s", d, c.min, c.max)
			}
			if cl.Retries() != 1 {
				t.Errorf("%d retries, want 1", cl.Retries())
			}
		})
	}
}

// TestNoRetry gives up at once on a 4xx, and after MaxRetries on a 5xx.
func TestNoRetry(t *testing.T) {
	for _, c := range []struct {
		status, retries int
	}{
		{http.StatusBadRequest, 0},
		{http.StatusNotFound, 0},
		{http.StatusServiceUnavailable, 3},
	} {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(c.status)
		}))
		cl := New(Options{MaxRetries: 3, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
		_, err := cl.Fetch(context.Background(), Request{URL: ts.URL})
		ts.Close()
		if err == nil {
			t.Errorf("status %d: no error", c.status)
		}
		if cl.Retries() != int64(c.retries) {
			t.Errorf("status %d: %d retries, want %d", c.status, cl.Retries(), c.retries)
		}
	}
}

// TestRate spaces requests by the rate limit.
func TestRate(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ts.Close()
	cl := New(Options{Rate: 50})
	start := time.Now()
	for range 6 {
		if _, err := cl.Fetch(context.Background(), Request{URL: ts.URL}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Errorf("6 requests at 50/s took %s, want at least 100ms", d)
	}
}

// TestTimeout retries a request that outlives the per-request timeout.
func TestTimeout(t *testing.T) {
	var n atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			<-r.Context().Done() // answer only once the client gives up
			return
		}
		w.Write([]byte(`[]`))
	}))
	defer ts.Close()
	cl := New(Options{Timeout: 300 * time.Millisecond, MinBackoff: time.Millisecond})
	if _, err := cl.Fetch(context.Background(), Request{URL: ts.URL}); err != nil {
		t.Fatal(err)
	}
	if cl.Retries() != 1 {
		t.Errorf("%d retries, want 1", cl.Retries())
	}
}
