package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"
)

// Limits bound the work one request may make the database do, so that a
// few costly requests cannot hold up everyone else's pages. The zero value
// bounds nothing.
type Limits struct {
	// QueryTime bounds a page, a record or a count, from the engine's
	// entry to its answer (the wait for a costly slot included), and an
	// export until its first row: once rows flow, an export takes as long
	// as its client reads. When it runs out, the query is cancelled in the
	// database and the client told which limit it met. 0: no bound.
	QueryTime time.Duration
	// Costly is how many costly operations run at once: exact counts that
	// no cached count answers, exports, deep offsets and heavy filters
	// (HeavyValues values or more in all, or a substring search). Others
	// wait their turn, within QueryTime; cheap pages never wait. 0: no
	// bound.
	Costly int
}

// DefaultQueryTime is the query time limit folio serve applies unless told
// otherwise: seconds, where a page takes milliseconds.
const DefaultQueryTime = 5 * time.Second

// DefaultCostly is how many costly operations folio serve runs at once
// unless told otherwise: half the CPUs (at least one), so that the other
// half is always free for cheap pages.
func DefaultCostly() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// Thresholds past which a page is costly.
const (
	// HeavyValues is the number of filter values, in all, from which a
	// query is costly: each value is one more condition on every row.
	HeavyValues = 32
	// HeavyOffset is the offset from which an offset page is costly: the
	// database reads and drops every row before it.
	HeavyOffset = 1000
)

// WithLimits bounds the work of each request (see Limits).
func WithLimits(l Limits) Option {
	return func(e *Engine) {
		e.limits = l
		if l.Costly > 0 {
			e.costly = make(chan struct{}, l.Costly)
		}
	}
}

// Limits returns the engine's limits.
func (e *Engine) Limits() Limits { return e.limits }

// overTime is the cause of a context whose time limit ran out.
type overTime struct{ limit time.Duration }

func (o *overTime) Error() string { return fmt.Sprintf("over the query time limit of %v", o.limit) }

// bound returns ctx limited to the engine's query time.
func (e *Engine) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if e.limits.QueryTime <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, e.limits.QueryTime, &overTime{e.limits.QueryTime})
}

// overLimit returns the limit ctx ran out of, if that is why it ended.
func overLimit(ctx context.Context) (time.Duration, bool) {
	var o *overTime
	if ctx.Err() != nil && errors.As(context.Cause(ctx), &o) {
		return o.limit, true
	}
	return 0, false
}

// admit waits for a costly slot, within ctx; release gives it back.
func (e *Engine) admit(ctx context.Context) (release func(), err error) {
	if e.costly == nil {
		return func() {}, nil
	}
	select {
	case e.costly <- struct{}{}:
		return func() { <-e.costly }, nil
	default:
	}
	start := time.Now()
	select {
	case e.costly <- struct{}{}:
		return func() { <-e.costly }, nil
	case <-ctx.Done():
		if _, ok := overLimit(ctx); ok {
			return nil, &Error{Code: CodeBusy, Message: fmt.Sprintf(
				"the server runs %d costly queries (exact counts, exports, deep offsets, heavy filters) at once, and this one waited %v for its turn; retry later, or ask for an estimated total",
				cap(e.costly), time.Since(start).Round(time.Millisecond))}
		}
		return nil, fmt.Errorf("waiting for a costly slot: %w", context.Cause(ctx))
	}
}

// heavy reports whether a query with filters fs costs more than a page's
// worth of index reads: many filter values, or a substring search that
// reads every row until enough match.
func heavy(fs []Cond) bool {
	values := 0
	var walk func(fs []Cond) bool
	walk = func(fs []Cond) bool {
		for _, f := range fs {
			if f.Op == OpContains {
				return true
			}
			values += len(f.Values)
			for _, g := range f.Sub {
				if walk(g) {
					return true
				}
			}
		}
		return values >= HeavyValues
	}
	return walk(fs)
}

// timeout is the error of a query its time limit cancelled.
func timeout(limit time.Duration) *Error {
	return &Error{Code: CodeTimeout, Message: fmt.Sprintf(
		"the query ran longer than this server's limit of %v and was cancelled; narrow the filters, ask for fewer rows, or for an estimated total instead of an exact one", limit)}
}
