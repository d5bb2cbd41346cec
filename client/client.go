// Package client downloads whole result sets from paginated HTTP APIs: folio's
// own and its four dialects (NOMAD, Copernica, DataCite's JSON:API, GOCDB's
// XML), and any API that links to its next page with an RFC 8288 Link header
// or a JSON "next" link. It retries what can be retried, honours Retry-After,
// and keeps its position in a small Checkpoint from which a harvest resumes
// exactly.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzhttp"
)

// Options configure a Client; the zero value is usable.
type Options struct {
	// HTTPClient sends the requests (default: a client of its own).
	HTTPClient *http.Client
	// MaxRetries bounds the retries of one request (default 10; negative:
	// none).
	MaxRetries int
	// MinBackoff and MaxBackoff bound the exponential backoff between
	// retries (defaults 200ms and 30s); each wait is jittered.
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryAfter caps a server's Retry-After (default 5 minutes): a
	// server must not be able to stall a harvest for ever.
	MaxRetryAfter time.Duration
	// Timeout bounds one request, body included (default 2 minutes).
	Timeout time.Duration
	// Rate is the most requests per second (0: unlimited).
	Rate float64
	// UserAgent is sent with every request.
	UserAgent string
	// RootCAs, when set, are the certificate authorities HTTPS servers
	// are checked against instead of the system's (a private CA, a test
	// certificate). Ignored with HTTPClient.
	RootCAs *x509.CertPool
	// H2C speaks HTTP/2 to http:// URLs without TLS (prior knowledge), to a
	// server that offers it (`folio serve --h2c`); HTTPS is then HTTP/2
	// only. Ignored with HTTPClient.
	H2C bool
	// Credentials are sent with the requests they apply to.
	Credentials Credentials
	// DisableCompression asks for uncompressed answers. By default every
	// request asks for zstd or gzip (Accept-Encoding: zstd,gzip) and the
	// answer is decoded, with HTTPClient's transport too.
	DisableCompression bool
}

// Client fetches pages. It is safe for concurrent use.
type Client struct {
	opts    Options
	hc      *http.Client
	retries atomic.Int64
	creds   *credentials

	mu   sync.Mutex
	last time.Time // when the rate limit last let a request go
}

// New returns a Client with opts, defaults filled in.
func New(opts Options) *Client {
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 10
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 200 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.MaxRetryAfter <= 0 {
		opts.MaxRetryAfter = 5 * time.Minute
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "folio-client"
	}
	hc := opts.HTTPClient
	if hc == nil {
		// The default transport keeps two idle connections per host; a
		// parallel harvest has more requests in flight and would dial a
		// new connection for most of them.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		if opts.RootCAs != nil {
			t.TLSClientConfig = &tls.Config{RootCAs: opts.RootCAs}
		}
		if opts.H2C {
			var p http.Protocols
			p.SetHTTP2(true)
			p.SetUnencryptedHTTP2(true)
			t.Protocols = &p
		}
		// Compression is asked for and decoded below, zstd included,
		// which the transport's own gzip-only decoding lacks.
		t.DisableCompression = true
		hc = &http.Client{Transport: t}
	}
	creds := &credentials{Credentials: opts.Credentials}
	if opts.HTTPClient == nil {
		hc.CheckRedirect = creds.redirected
	}
	if !opts.DisableCompression {
		compressed := *hc
		parent := hc.Transport
		if parent == nil {
			parent = http.DefaultTransport
		}
		compressed.Transport = gzhttp.Transport(parent)
		hc = &compressed
	}
	return &Client{opts: opts, hc: hc, creds: creds}
}

// Retries returns how many requests this client has retried so far.
func (c *Client) Retries() int64 { return c.retries.Load() }

// Request is one HTTP request: what a pager asks for next.
type Request struct {
	Method      string `json:"method,omitempty"` // default GET
	URL         string `json:"url"`
	Body        string `json:"body,omitempty"`
	ContentType string `json:"content_type,omitempty"`
}

func (r Request) method() string {
	if r.Method == "" {
		return http.MethodGet
	}
	return r.Method
}

// Response is a fetched page before a pager reads it.
type Response struct {
	Header http.Header
	Body   []byte
}

// StatusError is a response the client will not retry (or gave up on).
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d: %.300s", e.Status, e.Body)
}

// retryErr is a failure that may pass when the request is sent again
// (a network error, 429, 5xx), with the wait the server asked for.
type retryErr struct {
	err   error
	after time.Duration // the server's Retry-After, or 0
}

func (e *retryErr) Error() string { return e.err.Error() }
func (e *retryErr) Unwrap() error { return e.err }

// Fetch sends req, retrying network errors (a connection dropped mid-body
// included), 429 and 5xx with exponential backoff and jitter, and
// honouring Retry-After.
func (c *Client) Fetch(ctx context.Context, req Request) (Response, error) {
	for attempt := 0; ; attempt++ {
		if err := c.wait(ctx); err != nil {
			return Response{}, err
		}
		resp, err := c.once(ctx, req)
		if err == nil {
			return resp, nil
		}
		var re *retryErr
		if !errors.As(err, &re) || ctx.Err() != nil {
			return Response{}, err
		}
		if c.opts.MaxRetries < 0 || attempt >= c.opts.MaxRetries {
			return Response{}, fmt.Errorf("%s %s: giving up after %d retries: %w", req.method(), req.URL, attempt, re.err)
		}
		d := c.backoff(attempt)
		if re.after > 0 {
			d = min(re.after, c.opts.MaxRetryAfter)
		}
		c.retries.Add(1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return Response{}, ctx.Err()
		case <-t.C:
		}
	}
}

// backoff is the wait before retry attempt+1: exponential, capped, with
// "equal jitter" so that many clients do not retry in step.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.MinBackoff << min(attempt, 30)
	if d <= 0 || d > c.opts.MaxBackoff {
		d = c.opts.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// wait holds a request back until the rate limit lets it go.
func (c *Client) wait(ctx context.Context) error {
	if c.opts.Rate <= 0 {
		return nil
	}
	interval := time.Duration(float64(time.Second) / c.opts.Rate)
	c.mu.Lock()
	now := time.Now()
	at := c.last.Add(interval)
	if at.Before(now) {
		at = now
	}
	c.last = at
	c.mu.Unlock()
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Client) once(ctx context.Context, req Request) (Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	var body io.Reader
	if req.Body != "" {
		body = bytes.NewReader([]byte(req.Body))
	}
	hr, err := http.NewRequestWithContext(ctx, req.method(), req.URL, body)
	if err != nil {
		return Response{}, fmt.Errorf("request %s: %w", req.URL, err)
	}
	if req.Body != "" {
		ct := req.ContentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	hr.Header.Set("User-Agent", c.opts.UserAgent)
	c.creds.apply(hr)
	resp, err := c.hc.Do(hr)
	if err != nil {
		if ctx.Err() != nil && ctx.Err() != context.DeadlineExceeded {
			return Response{}, err
		}
		return Response{}, &retryErr{err: err}
	}
	b, err := readBody(resp)
	resp.Body.Close()
	if err != nil {
		// A connection dropped mid-body: the page is incomplete, ask again.
		return Response{}, &retryErr{err: fmt.Errorf("%s %s: read body: %w", req.method(), req.URL, err)}
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return Response{}, &retryErr{err: &StatusError{Status: resp.StatusCode, Body: string(b)}, after: retryAfter(resp.Header.Get("Retry-After"))}
	}
	if resp.StatusCode/100 != 2 {
		return Response{}, fmt.Errorf("%s %s: %w", req.method(), req.URL, &StatusError{Status: resp.StatusCode, Body: string(b)})
	}
	return Response{Header: resp.Header, Body: b}, nil
}

// readBody reads a response body into a buffer sized by Content-Length
// when the server sent one (up to 64 MiB, so that a wrong header cannot
// make it allocate more), instead of growing one from 512 bytes: a page of
// a thousand records is a third of a megabyte.
func readBody(resp *http.Response) ([]byte, error) {
	n := resp.ContentLength
	if n <= 0 || n > 64<<20 {
		return io.ReadAll(resp.Body)
	}
	var buf bytes.Buffer
	buf.Grow(int(n) + bytes.MinRead) // ReadFrom wants MinRead free to read the end
	_, err := buf.ReadFrom(resp.Body)
	return buf.Bytes(), err
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(s string) time.Duration {
	if s == "" {
		return 0
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(s); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// Checkpoint is a harvest's position: the request for the next page (nil
// once the harvest is complete), the pager that reads the answers, and what
// has been harvested so far. It is small and JSON-serialisable; Pages
// resumes from it exactly.
type Checkpoint struct {
	Dialect string   `json:"dialect"` // "" until the first response names it
	Next    *Request `json:"next,omitempty"`
	// PageSize, when Dialect was not known at the start, is applied to the
	// first request once the first response names the dialect (the first
	// request is then sent again if the dialect changes it).
	PageSize int   `json:"page_size,omitempty"`
	Records  int64 `json:"records"`
	Pages    int64 `json:"pages"`
	Total    int64 `json:"total,omitempty"` // the server's count of all records, when known (-1 unknown)
}

// Done reports whether the harvest is complete.
func (cp Checkpoint) Done() bool { return cp.Next == nil }

// Start returns the checkpoint of a harvest that has not begun: req is the
// first request, dialect a name from Dialects or "auto" (or ""), pageSize
// the records per page to ask for (0: the server's default).
func Start(req Request, dialect string, pageSize int) (Checkpoint, error) {
	if dialect == "auto" {
		dialect = ""
	}
	cp := Checkpoint{Dialect: dialect, Next: &req, Total: -1}
	if dialect == "" {
		cp.PageSize = pageSize
		return cp, nil
	}
	p, err := PagerFor(dialect)
	if err != nil {
		return Checkpoint{}, err
	}
	first, err := p.Prepare(req, pageSize)
	if err != nil {
		return Checkpoint{}, err
	}
	cp.Next = &first
	return cp, nil
}

// Page is one page of a harvest: its records and the checkpoint after them.
type Page struct {
	Records []Record
	After   Checkpoint
}

// Pages fetches page after page from cp to the end, yielding each page
// with the checkpoint that follows it. It stops at the first error it
// cannot retry away, or when ctx is cancelled.
func (c *Client) Pages(ctx context.Context, cp Checkpoint) iter.Seq2[Page, error] {
	return func(yield func(Page, error) bool) {
		for !cp.Done() {
			if err := ctx.Err(); err != nil {
				yield(Page{}, err)
				return
			}
			req := *cp.Next
			resp, err := c.Fetch(ctx, req)
			if err != nil {
				yield(Page{}, err)
				return
			}
			var p Pager
			if cp.Dialect == "" {
				p, err = Detect(req, resp)
				if err != nil {
					yield(Page{}, err)
					return
				}
				cp.Dialect = p.Name()
				first, err := p.Prepare(req, cp.PageSize)
				if err != nil {
					yield(Page{}, err)
					return
				}
				cp.PageSize = 0
				if first != req {
					// Ask again as the dialect pages best: with the page
					// size, by cursor rather than page number, paged
					// rather than everything at once.
					cp.Next = &first
					continue
				}
			} else if p, err = PagerFor(cp.Dialect); err != nil {
				yield(Page{}, err)
				return
			}
			pg, err := p.Parse(req, resp)
			if err != nil {
				yield(Page{}, fmt.Errorf("%s page %d (%s): %w", cp.Dialect, cp.Pages+1, req.URL, err))
				return
			}
			cp.Next = pg.Next
			cp.Pages++
			cp.Records += int64(len(pg.Records))
			if pg.Total >= 0 {
				cp.Total = pg.Total
			}
			if len(pg.Records) == 0 {
				cp.Next = nil // an empty page ends every harvest
			}
			if !yield(Page{Records: pg.Records, After: cp}, nil) {
				return
			}
		}
	}
}

// Records yields every record from cp to the end, one at a time.
func (c *Client) Records(ctx context.Context, cp Checkpoint) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for p, err := range c.Pages(ctx, cp) {
			if err != nil {
				yield(nil, err)
				return
			}
			for _, r := range p.Records {
				if !yield(r, nil) {
					return
				}
			}
		}
	}
}
