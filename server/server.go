// Package server wires folio's HTTP service: the dialects mounted where the
// configuration says, /healthz, /readyz and /livez, the middleware every request passes through
// (request id, access log, panic recovery; per mount, panic recovery and
// the body limit in the mount's error shape) and an http.Server
// with timeouts and graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"folio/auth"
	"folio/baseurl"
	"folio/config"
	"folio/dialect/copernica"
	"folio/dialect/gocdb"
	"folio/dialect/jsonapi"
	"folio/dialect/native"
	"folio/dialect/nomad"
	"folio/engine"
	"folio/face"
	"folio/httperr"
	"folio/openapi"
)

// Defaults for the zero values of Options.
const (
	DefaultMaxBodyBytes    = 1 << 20
	DefaultShutdownTimeout = 30 * time.Second
	DefaultCacheBytes      = 64 << 20
)

// Options configure a Server.
type Options struct {
	Engine *engine.Engine
	// Mounts says which dialect serves which path; nil serves the native
	// API at /v1. config.Config.MountList gives them from a file.
	Mounts []config.Mount
	Logger *slog.Logger
	// MaxBodyBytes bounds a request body (the API reads none today; the
	// bound keeps a client from making the server read forever).
	MaxBodyBytes int64
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// once shutdown starts.
	ShutdownTimeout time.Duration
	// CacheBytes is the budget of the page cache, which answers repeated GET
	// requests while the data is unchanged; 0 means DefaultCacheBytes and a
	// negative value turns the cache off.
	CacheBytes int64
	// RateLimit bounds the requests each client address may send (per
	// collection, each its own bucket); nil: no bound. CollectionRates
	// gives collections, by published name, a rate of their own instead.
	RateLimit       *config.Rate
	CollectionRates map[string]*config.Rate
	// CORSOrigins lists the origins whose scripts may read folio's
	// answers (allowCORS): nil allows any, an empty non-nil list none.
	CORSOrigins []string
	// BaseURL, when set, starts every absolute link (baseurl.New: its
	// path is the prefix a proxy strips); TrustedProxies lists the
	// addresses and networks whose Forwarded and X-Forwarded-* headers
	// are believed when it is not.
	BaseURL        string
	TrustedProxies []string
	// TLSCert and TLSKey name PEM files to serve HTTPS with, HTTP/2 and
	// HTTP/1.1 as negotiated. H2C also serves HTTP/2 without TLS (prior
	// knowledge), beside HTTP/1.1, for a proxy in front that speaks it.
	TLSCert, TLSKey string
	// TLSClientCA names a PEM file of the authorities whose client
	// certificates are accepted: such a certificate's subject is the
	// request's principal (GOCDB's model). It needs TLSCert.
	TLSClientCA string
	H2C         bool
	// Metrics, when set, count every request, query and cache lookup (see
	// NewMetrics); the engine's observer must be Metrics.Observer for the
	// query and row metrics to move.
	Metrics *Metrics
	// Auth verifies the credentials requests carry; nil accepts none (a
	// request with one is a 401, without one anonymous). AuthFailures
	// bounds each client address's failed authentications; nil:
	// config.DefaultAuthFailures.
	Auth         *auth.Authenticator
	AuthFailures *config.Rate
	// CacheControl is the Cache-Control of pages, exports and errors
	// (config.CacheControl; zero values: its defaults).
	CacheControl config.CacheControl
}

// Server is folio's HTTP server.
type Server struct {
	handler         http.Handler
	http            *http.Server
	log             *slog.Logger
	shutdownTimeout time.Duration
	// routes are the mounts over the current engine; Reload replaces them
	// with the ones build makes over another.
	routes *atomic.Pointer[routes]
	build  func(e *engine.Engine, mounts []config.Mount) (*routes, error)
	cache  *pageCache // nil when off
}

// routes is a server's mux of mounts and health checks over one engine.
type routes struct {
	mux      *http.ServeMux
	dialects map[string]string // route pattern → the dialect mounted there
}

// New builds the server's routes and middleware. It returns an error when a
// mount names an unknown dialect or its path collides with another route.
func New(o Options) (*Server, error) {
	if o.Engine == nil {
		return nil, errors.New("server: no engine")
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	mounts := o.Mounts
	body := o.MaxBodyBytes
	if body <= 0 {
		body = DefaultMaxBodyBytes
	}
	var pc *pageCache
	cache := o.CacheBytes
	if cache == 0 {
		cache = DefaultCacheBytes
	}
	if cache > 0 {
		pc = newPageCache(cache)
	}
	compress, err := compressResponses()
	if err != nil {
		return nil, err
	}
	rates := newRateLimits(o.RateLimit, o.CollectionRates)
	failures := config.DefaultAuthFailures
	if o.AuthFailures != nil {
		failures = *o.AuthFailures
	}
	fails := newFailedAuths(failures)
	build := func(e *engine.Engine, mounts []config.Mount) (*routes, error) {
		// A salt of its own for each build: ETags issued before a reload
		// (another configuration may render the same data otherwise)
		// never validate after it.
		salt, err := etagSalt(mounts)
		if err != nil {
			return nil, err
		}
		known := newAnswers(e.Source(), pc, o.CacheControl, salt)
		return buildRoutes(e, mounts, log, body, known, compress, rates, o.Auth, fails)
	}
	rt, err := build(o.Engine, mounts)
	if err != nil {
		return nil, err
	}
	current := &atomic.Pointer[routes]{}
	current.Store(rt)
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		current.Load().mux.ServeHTTP(w, r)
	})
	// The external base is known before the cache (in each mount), which
	// keys on it.
	base, err := baseurl.New(o.BaseURL, o.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	h = base.Handler(h)
	h = allowCORS(o.CORSOrigins)(h)
	// Outside the mounts (the health checks) folio answers in the
	// native API's shape.
	h = recoverPanics(log, native.Errors(log))(h)
	if o.Metrics != nil {
		h = o.Metrics.instrument(func() (*http.ServeMux, map[string]string) {
			rt := current.Load()
			return rt.mux, rt.dialects
		})(h)
	}
	h = accessLog(log)(h)
	h = requestID(newIDs())(h)
	s := newServer(h, log, o.ShutdownTimeout)
	if err := s.protocols(o.TLSCert, o.TLSKey, o.TLSClientCA, o.H2C); err != nil {
		return nil, err
	}
	s.routes, s.build, s.cache = current, build, pc
	return s, nil
}

// buildRoutes mounts every dialect of mounts over e, and the health checks.
func buildRoutes(e *engine.Engine, mounts []config.Mount, log *slog.Logger, body int64, known *answers, compress func(http.Handler) http.Handler, rates *rateLimits, authn *auth.Authenticator, fails *failedAuths) (*routes, error) {
	if mounts == nil {
		mounts = []config.Mount{{Dialect: config.Native, Path: config.NativePath}}
	}
	mux := http.NewServeMux()
	readiness := ready(e.Source())
	mux.Handle("GET /healthz", readiness)
	mux.Handle("GET /readyz", readiness)
	mux.Handle("GET /livez", live())
	paths := map[string]bool{"/healthz": true, "/readyz": true, "/livez": true, "/openapi.json": true, "/openapi.yaml": true, "/docs": true, "/favicon.ico": true}
	// The API's description and the pages for people, built from the same
	// collections and mounts.
	doc, err := openapi.Build(e, mounts)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	fc, err := face.New(e, mounts, doc, log)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	mux.Handle("GET /openapi.json", doc.Handler())
	mux.Handle("GET /openapi.yaml", doc.Handler())
	mux.Handle("GET /docs", fc.Docs())
	mux.Handle("GET /{$}", fc.Landing())
	mux.Handle("GET /favicon.ico", fc.Favicon())
	dialects := map[string]string{}
	for _, group := range groupMounts(mounts) {
		m := group[0]
		if paths[m.Path] {
			return nil, fmt.Errorf("server: path %s is mounted twice", m.Path)
		}
		paths[m.Path] = true
		var h http.Handler
		var err error
		if len(group) > 1 {
			// GOCDB serves every method under one path; the method
			// parameter picks the mount.
			h, err = gocdb.NewGroup(e, group, log)
		} else {
			h, err = dialect(e, m, log)
		}
		if err != nil {
			return nil, err
		}
		// Every answer of a mount has the mount's shape, those of the
		// body limit, the rate limit and of a panic included. One cache
		// serves every mount, each behind its own rate limit, so that a
		// cached answer or a 304 is no way around the limit.
		errs := h.(errorWriter).Errors()
		if m.Dialect == config.Native {
			// Browsers get the same URLs as HTML; the cache and the ETag
			// key on Accept.
			h = fc.Negotiate(m.Path, h)
		}
		h = compress(known.handler(h))
		// The principal is known before the cache, which keys on it.
		h = authenticate(authn, fails, m.Dialect == config.Copernica, errs)(h)
		h = limitRate(rates, mountCollection(group), errs)(h)
		h = recoverPanics(log, errs)(limitBody(body, errs)(h))
		mux.Handle(m.Path, h)
		mux.Handle(m.Path+"/", h)
		dialects[m.Path], dialects[m.Path+"/"] = m.Dialect, m.Dialect
	}
	return &routes{mux: mux, dialects: dialects}, nil
}

// Reload serves the collections of e, mounted as mounts, from now on: what
// a server needs when the database's schema or its configuration changed.
// Requests under way finish on the routes they started on; the page cache
// is emptied, since its pages were rendered from the old collections. The
// HTTP edge (rate limits, CORS, the base URL, TLS, metrics) stays as it is.
// On an error nothing changes.
func (s *Server) Reload(e *engine.Engine, mounts []config.Mount) error {
	rt, err := s.build(e, mounts)
	if err != nil {
		return err
	}
	s.routes.Store(rt)
	if s.cache != nil {
		s.cache.purge()
	}
	return nil
}

// errorWriter is a dialect's handler, which answers its failures in its
// own error shape.
type errorWriter interface{ Errors() *httperr.Writer }

// groupMounts keeps the mounts in order, gathering gocdb mounts that share a
// path into one group; every other mount is a group of its own, so a path
// mounted twice is still caught.
func groupMounts(mounts []config.Mount) [][]config.Mount {
	var groups [][]config.Mount
	at := map[string]int{}
	for _, m := range mounts {
		if i, ok := at[m.Path]; ok && m.Dialect == config.GOCDB && groups[i][0].Dialect == config.GOCDB {
			groups[i] = append(groups[i], m)
			continue
		}
		if m.Dialect == config.GOCDB {
			at[m.Path] = len(groups)
		}
		groups = append(groups, []config.Mount{m})
	}
	return groups
}

// mountCollection returns the function that names the collection a
// request to the mounts of group is for: the path's first segment under a
// native mount, the method's collection under GOCDB's, else the mount's.
func mountCollection(group []config.Mount) func(*http.Request) string {
	m := group[0]
	switch {
	case m.Dialect == config.Native:
		prefix := m.Path + "/"
		return func(r *http.Request) string {
			name, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, prefix), "/")
			return name
		}
	case len(group) > 1:
		byMethod := map[string]string{}
		for _, g := range group {
			byMethod[strings.ToLower(g.Options["method"])] = g.Collection
		}
		return func(r *http.Request) string { return byMethod[strings.ToLower(r.URL.Query().Get("method"))] }
	}
	return func(*http.Request) string { return m.Collection }
}

// dialect builds the handler of one mount.
func dialect(e *engine.Engine, m config.Mount, log *slog.Logger) (http.Handler, error) {
	switch m.Dialect {
	case config.Native:
		return native.New(e, native.Options{Path: m.Path, Logger: log}), nil
	case config.Copernica:
		return copernica.New(e, m, log)
	case config.JSONAPI:
		return jsonapi.New(e, m, log)
	case config.NOMAD:
		return nomad.New(e, m, log)
	case config.GOCDB:
		return gocdb.New(e, m, log)
	}
	return nil, fmt.Errorf("server: mount %s: unknown dialect %q", m.Path, m.Dialect)
}

func newServer(h http.Handler, log *slog.Logger, shutdown time.Duration) *Server {
	if shutdown <= 0 {
		shutdown = DefaultShutdownTimeout
	}
	return &Server{
		handler: h,
		log:     log,
		http: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       time.Minute,
			// Generous: exports and large pages stream for a long time.
			WriteTimeout: 5 * time.Minute,
			IdleTimeout:  2 * time.Minute,
			ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		shutdownTimeout: shutdown,
	}
}

// Handler returns the server's handler with every middleware applied.
func (s *Server) Handler() http.Handler { return s.handler }

// Run listens on addr and serves until ctx is cancelled; see Serve.
func (s *Server) Run(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is cancelled, then stops accepting
// connections and waits up to the shutdown timeout for in-flight requests
// to finish. Request contexts do not derive from ctx, so a page being
// written when shutdown starts is completed, not cut off.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() {
		if s.http.TLSConfig != nil {
			errc <- s.http.ServeTLS(ln, "", "")
		} else {
			errc <- s.http.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.shutdownTimeout)
	defer cancel()
	err := s.http.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
