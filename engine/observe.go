package engine

import "context"

// Read names what the engine asked its source for, as an Observer is told.
type Read string

const (
	ReadPage     Read = "page"     // the rows of one page or one record
	ReadStream   Read = "stream"   // every row of a span, streamed: exports and unpaged reads
	ReadCount    Read = "count"    // an exact total
	ReadEstimate Read = "estimate" // a total from the database's statistics
)

// Observer is told of each read the engine asks its source for as it
// starts and, through the function it returns, as it ends: with the rows
// handed to the caller (a page's rows without the one read ahead, the rows
// a stream emitted) and the error as the engine reports it (an Unavailable
// Error when the database failed). It is how an operator's metrics see
// query time, rows and database errors without the engine knowing of them.
// It is called concurrently and on every query, so it must be quick.
type Observer func(ctx context.Context, read Read, c *Collection) (done func(rows int64, err error))

// Option configures an Engine beyond its source, signer and collections.
type Option func(*Engine)

// WithObserver has the engine tell o of every read of its source.
func WithObserver(o Observer) Option { return func(e *Engine) { e.observer = o } }

// observe starts an observation of read; the nil Observer costs nothing.
func (e *Engine) observe(ctx context.Context, read Read, c *Collection) func(int64, error) {
	if e.observer == nil {
		return func(int64, error) {}
	}
	return e.observer(ctx, read, c)
}
