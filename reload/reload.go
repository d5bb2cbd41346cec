// Package reload keeps a running server's collections in step with its
// database and its configuration: when another process creates, drops or
// alters a table, view, column or index (the source's schema version
// moves), or when told to (folio serve on SIGHUP, which re-reads the
// configuration file), the collections are discovered again and the
// server's routes rebuilt over a new engine. A rebuild that fails (a
// configuration that no longer applies) changes nothing and is logged.
package reload

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"folio/config"
	"folio/engine"
	"folio/server"
)

// SchemaVersioner is a source that can name its schema's version (both of
// folio's sources are).
type SchemaVersioner interface {
	SchemaVersion(ctx context.Context) (string, error)
}

// Build discovers the collections again, applies the configuration and
// returns the engine to serve them with and the mounts.
type Build func(ctx context.Context) (*engine.Engine, []config.Mount, error)

// Watcher rebuilds a server's routes when the schema changes.
type Watcher struct {
	src   SchemaVersioner // nil: the source cannot tell, only Reload rebuilds
	srv   *server.Server
	build Build
	every time.Duration
	log   *slog.Logger

	mu   sync.Mutex // one rebuild at a time
	seen string     // the schema version the routes were built under
}

// New returns a Watcher of src's schema every interval (0: never) that
// rebuilds srv's routes with build.
func New(src engine.Source, srv *server.Server, build Build, every time.Duration, log *slog.Logger) *Watcher {
	w := &Watcher{srv: srv, build: build, every: every, log: log}
	if sv, ok := src.(SchemaVersioner); ok {
		w.src = sv
	}
	return w
}

// Start records the schema version the server's routes were built under;
// call it right after building them, before Run.
func (w *Watcher) Start(ctx context.Context) {
	if w.src == nil {
		return
	}
	if v, err := w.src.SchemaVersion(ctx); err == nil {
		w.mu.Lock()
		w.seen = v
		w.mu.Unlock()
	}
}

// Run polls the schema version until ctx ends, rebuilding when it moves.
// A database that cannot answer is asked again at the next tick.
func (w *Watcher) Run(ctx context.Context) {
	if w.src == nil || w.every <= 0 {
		return
	}
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, err := w.src.SchemaVersion(ctx)
		if err != nil {
			continue
		}
		w.mu.Lock()
		changed := v != w.seen
		w.mu.Unlock()
		if changed {
			w.Reload(ctx, "the database's schema changed")
		}
	}
}

// Reload rebuilds the routes now, saying why in the log, and reports
// whether the server serves the new ones.
func (w *Watcher) Reload(ctx context.Context, why string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	// The version is read before discovery: a change during it moves the
	// version again, and the next tick rebuilds once more.
	var v string
	if w.src != nil {
		var err error
		if v, err = w.src.SchemaVersion(ctx); err != nil {
			w.log.Warn("reload: the database cannot answer; the collections stay as they are", "why", why, "err", err)
			return false
		}
	}
	e, mounts, err := w.build(ctx)
	if err == nil {
		err = w.srv.Reload(e, mounts)
	}
	if err != nil {
		w.log.Error("reload: the collections stay as they are", "why", why, "err", err)
		w.seen = v // do not retry until the schema moves again
		return false
	}
	w.seen = v
	w.log.Info("reload: serving the collections discovered again", "why", why, "collections", len(e.Collections()))
	return true
}
