package engine

import (
	"context"
	"sync/atomic"
)

// Behind is a note that travels in a request's context from whoever keeps
// a result under a Version (the page cache) to the source that reads the
// data. A source that answers from a copy that may not yet hold everything
// the latest Version stands for (a read replica that lags) marks it, so
// the result is not kept as if it were that version's: it would be served
// again after the copy has caught up, while the same request would read
// newer data.
type Behind struct{ marked atomic.Bool }

type behindKey struct{}

// WatchBehind returns ctx carrying a new note and the note.
func WatchBehind(ctx context.Context) (context.Context, *Behind) {
	b := &Behind{}
	return context.WithValue(ctx, behindKey{}, b), b
}

// MarkBehind notes in ctx, if it carries a note, that a read was answered
// from data older than the latest Version.
func MarkBehind(ctx context.Context) {
	if b, ok := ctx.Value(behindKey{}).(*Behind); ok {
		b.marked.Store(true)
	}
}

// Marked reports whether any read under the note was answered from data
// older than the latest Version.
func (b *Behind) Marked() bool { return b.marked.Load() }
