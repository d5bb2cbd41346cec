package server

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"folio/baseurl"
	"folio/config"
	"folio/engine"
	"folio/httperr"
)

// maxBuckets bounds the token buckets kept: past it, the buckets that are
// full again (the same as a new one) are dropped, and if that is not
// enough, all of them, so that many client addresses cannot grow memory
// without bound.
const maxBuckets = 100_000

// rateLimits keeps a token bucket per client address and scope: a
// collection with a rate of its own, or the server's rate for every other.
type rateLimits struct {
	global *config.Rate
	per    map[string]*config.Rate // by published collection name

	mu      sync.Mutex
	buckets map[bucketKey]*rate.Limiter
}

type bucketKey struct{ client, scope string }

func newRateLimits(global *config.Rate, per map[string]*config.Rate) *rateLimits {
	if global == nil && len(per) == 0 {
		return nil
	}
	return &rateLimits{global: global, per: per, buckets: map[bucketKey]*rate.Limiter{}}
}

// verdict is what a bucket says of one request.
type verdict struct {
	rate      *config.Rate
	allowed   bool
	remaining int
	retry     time.Duration // until the next token, when not allowed
	reset     time.Duration // until the bucket is full again
}

// take spends a token of client's bucket for collection, if it has one;
// rate is nil when no limit applies.
func (l *rateLimits) take(client, collection string, now time.Time) verdict {
	r, scope := l.per[collection], collection
	if r == nil {
		r, scope = l.global, ""
	}
	if r == nil {
		return verdict{allowed: true}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(bucketKey{client, scope}, r, now)
	v := verdict{rate: r}
	res := b.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		v.retry = d
	} else {
		v.allowed = true
	}
	tokens := b.TokensAt(now)
	v.remaining = max(0, int(math.Floor(tokens)))
	v.reset = time.Duration((float64(r.Burst) - tokens) / r.PerSecond() * float64(time.Second))
	return v
}

// bucket returns the bucket of k, a new one of rate r if it has none;
// l.mu is held.
func (l *rateLimits) bucket(k bucketKey, r *config.Rate, now time.Time) *rate.Limiter {
	b := l.buckets[k]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now)
		}
		b = rate.NewLimiter(rate.Limit(r.PerSecond()), r.Burst)
		l.buckets[k] = b
	}
	return b
}

// sweep drops the buckets that are full again; l.mu is held.
func (l *rateLimits) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(b.Burst()) {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxBuckets {
		clear(l.buckets)
	}
}

// limitRate answers a client over its rate with 429, Retry-After and the
// RateLimit headers (IETF draft-ietf-httpapi-ratelimit-headers), in the
// mount's error shape; every answer under a limit carries the headers.
// collection names the collection a request is for ("" when unknown).
func limitRate(l *rateLimits, collection func(*http.Request) string, errs *httperr.Writer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if l == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			v := l.take(clientAddr(r), collection(r), time.Now())
			if v.rate == nil {
				next.ServeHTTP(w, r)
				return
			}
			h := w.Header()
			h.Set("RateLimit-Limit", strconv.Itoa(v.rate.Burst))
			h.Set("RateLimit-Remaining", strconv.Itoa(v.remaining))
			h.Set("RateLimit-Reset", strconv.Itoa(seconds(v.reset)))
			h.Set("RateLimit-Policy", fmt.Sprintf("%d;w=%d;burst=%d", v.rate.Requests, seconds(v.rate.Per), v.rate.Burst))
			if !v.allowed {
				h.Set("Retry-After", strconv.Itoa(max(1, seconds(v.retry))))
				errs.Error(w, r, &engine.Error{Code: engine.CodeRateLimited, Message: fmt.Sprintf(
					"too many requests: each client may send %d requests per %v (in bursts of up to %d); retry after %v",
					v.rate.Requests, v.rate.Per, v.rate.Burst, v.retry.Round(time.Millisecond))})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// seconds rounds d up to whole seconds, as the headers count them.
func seconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// clientAddr is the address a rate is kept for: the client's, as trusted
// proxies name it, else the peer's (baseurl.ClientOf).
func clientAddr(r *http.Request) string { return baseurl.ClientOf(r) }
