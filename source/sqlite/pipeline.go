package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"folio/engine"
)

// pipelineMin is the number of rows above which Query pipelines: below
// it, as for every page, handing rows between goroutines would cost more
// than it saves.
const pipelineMin = 4096

// batchRows is how many rows pass between the pipeline's goroutines at a
// time, and batches how many batches circulate: enough to keep both sides
// busy, few enough that memory stays constant and small.
const (
	batchRows = 256
	batches   = 3
)

// batch is a run of rows as the driver returned them, not yet decoded.
type batch struct {
	vals []any // n rows of len(plan.Columns) values
	n    int
	err  error // the reader's last word: the query failed (nil at the end)
}

// pipeline runs a long query on two goroutines, so that a stream uses two
// cores: one steps the statement and takes the driver's values (the
// driver's half of the cost: SQLite itself, and converting each column to
// Go), the caller's decodes them and runs emit (folio's half: decoding,
// encoding, writing). Batches of raw values circulate between the two;
// memory is constant. When emit fails or ctx ends, the reader's context is
// cancelled, which interrupts SQLite, and Query returns only once the
// reader has closed the statement.
func (s *Source) pipeline(ctx context.Context, db *sql.DB, plan *engine.Plan, query string, args []any, layouts []timeLayout, emit func(engine.Row) error) (err error) {
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows, err := db.QueryContext(qctx, query, args...)
	if err != nil {
		return s.statementError("query", plan.Collection, err)
	}
	ncol := len(plan.Columns)
	full := make(chan *batch, batches)
	free := make(chan *batch, batches)
	for range batches {
		free <- &batch{vals: make([]any, batchRows*ncol)}
	}

	go func() {
		defer close(full)
		defer rows.Close()
		dest := make([]any, ncol)
		for {
			var b *batch
			select {
			case b = <-free:
			case <-qctx.Done():
				return
			}
			// database/sql copies []byte values scanned into *any, so the
			// values stay valid after the next row is read.
			for b.n = 0; b.n < batchRows && rows.Next(); b.n++ {
				v := b.vals[b.n*ncol : (b.n+1)*ncol]
				for i := range dest {
					dest[i] = &v[i]
				}
				if b.err = rows.Scan(dest...); b.err != nil {
					break
				}
			}
			last := b.n < batchRows
			if last && b.err == nil {
				b.err = rows.Err()
			}
			// full has room for every batch: this never waits.
			full <- b
			if last {
				return
			}
		}
	}()
	// Whatever way this returns, the reader stops and closes the statement
	// before Query returns.
	defer func() {
		cancel()
		for range full {
		}
	}()

	row := make(engine.Row, ncol)
	dec := s.rowDecoder(plan, layouts)
	for b := range full {
		// The reader may be batches ahead: rows read before a cancellation
		// are not passed on after it.
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("query %s: %w", plan.Collection.Table, err)
		}
		for r := range b.n {
			dec.decode(row, b.vals[r*ncol:(r+1)*ncol])
			if err := emit(row); err != nil {
				return err
			}
		}
		if b.err != nil {
			return s.statementError("query", plan.Collection, b.err)
		}
		clear(b.vals) // let the batch's strings be collected
		free <- b
	}
	// The reader also stops, sending nothing more, when ctx ends between
	// batches: that is a cancelled query, not the end of the result.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("query %s: %w", plan.Collection.Table, err)
	}
	return nil
}
