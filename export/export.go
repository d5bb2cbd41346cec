// Package export writes the whole filtered, sorted, projected result of a
// query over a collection as NDJSON, CSV or a JSON array, streaming rows
// from the engine in constant memory. The native API's export endpoints
// (GET /v1/{collection}.ndjson, .csv, .json) and folio export share its
// Encoder, so both write the same bytes for the same query.
package export

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"folio/engine"
)

// Request is one export.
type Request struct {
	Collection *engine.Collection
	Query      engine.Query
	Format     Format
	// Limit is the most rows to write; 0 writes every row.
	Limit int
	// Progress, when not nil, is told the number of rows written so far,
	// every few thousand rows and once at the end.
	Progress func(rows int64)
}

// progressEvery is how many rows pass between two Progress calls: often
// enough for a progress bar, rarely enough to cost nothing.
const progressEvery = 4096

// bufferSize is the size of the buffer in front of the output.
const bufferSize = 64 << 10

// Write runs the export and writes it to w through a buffer, returning
// the number of rows written. Cancelling ctx stops the query; an error
// from w stops it too.
func Write(ctx context.Context, e *engine.Engine, r Request, w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, bufferSize)
	var enc *Encoder
	start := func(columns []*engine.Field, out []int) error {
		enc = NewEncoder(r.Format, columns, out)
		_, err := bw.Write(enc.Head(bw.AvailableBuffer()))
		return err
	}
	emit := func(row engine.Row) error {
		// Appending to the writer's free space encodes in place: Write then
		// copies nothing unless the row does not fit.
		if _, err := bw.Write(enc.Row(bw.AvailableBuffer(), row)); err != nil {
			return err
		}
		if r.Progress != nil && enc.Rows()%progressEvery == 0 {
			r.Progress(enc.Rows())
		}
		return nil
	}
	err := e.Stream(ctx, r.Collection, r.Query, engine.Span{Limit: r.Limit}, start, emit)
	if err != nil {
		return rows(enc), fmt.Errorf("export %s: %w", r.Collection.Name, err)
	}
	if _, err := bw.Write(enc.Tail(bw.AvailableBuffer())); err != nil {
		return enc.Rows(), fmt.Errorf("export %s: %w", r.Collection.Name, err)
	}
	if err := bw.Flush(); err != nil {
		return enc.Rows(), fmt.Errorf("export %s: %w", r.Collection.Name, err)
	}
	if r.Progress != nil {
		r.Progress(enc.Rows())
	}
	return enc.Rows(), nil
}

func rows(enc *Encoder) int64 {
	if enc == nil {
		return 0
	}
	return enc.Rows()
}

// WriteFile runs the export into the file at path. It writes a temporary
// file beside it and renames it into place only when the export is
// complete, so that an interrupted or failed export leaves no partial file
// at path (and an existing file there is replaced whole or not at all).
func WriteFile(ctx context.Context, e *engine.Engine, r Request, path string) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.partial")
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	tmp := f.Name()
	n, err := Write(ctx, e, r, f)
	if err == nil {
		err = finish(f, path)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return n, err
	}
	return n, nil
}

// finish makes the complete temporary file f durable and moves it to path.
func finish(f *os.File, path string) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	// CreateTemp makes the file private; an export is an ordinary file.
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// Estimate returns the number of rows the export will write, from the
// database's statistics (engine.TotalEstimate): cheap, and close enough
// for a progress bar, not for anything that needs the exact count.
func Estimate(ctx context.Context, e *engine.Engine, r Request) (int64, error) {
	t, err := e.Total(ctx, r.Collection, r.Query, engine.TotalEstimate)
	if err != nil {
		return 0, err
	}
	n := t.Count
	if r.Limit > 0 && n > int64(r.Limit) {
		n = int64(r.Limit)
	}
	return n, nil
}
