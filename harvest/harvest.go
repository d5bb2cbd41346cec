// Package harvest downloads a whole paginated result into an NDJSON file,
// resumably: the file is only ever appended with whole records, and after
// each page is durable a checkpoint (the pager's position and the file's
// length) replaces the previous one atomically. A harvest killed at any
// instant and run again with the same checkpoint truncates the file to the
// recorded length and continues, so no record is lost or written twice.
package harvest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"folio/client"
)

// Options describe one harvest.
type Options struct {
	Client   *client.Client
	Request  client.Request
	Dialect  string // a name from client.Dialects, or "auto"
	PageSize int    // 0: the server's default
	// Max is the most records the output holds at the end (0: all).
	Max int64
	// Out is the file to append to; "" writes to Stdout, which cannot be
	// resumed.
	Out    string
	Stdout io.Writer
	// Format is NDJSON or CSV; "" takes it from Out's extension (.csv is
	// CSV, anything else NDJSON).
	Format string
	// Checkpoint is the file that holds the position; "" harvests without
	// one (and starts Out afresh).
	Checkpoint string
	// CheckpointEvery spaces checkpoints: after a page, the checkpoint is
	// written only when this much time has passed since the last one (and
	// always at the end). 0 writes one after every page. Each checkpoint
	// costs two fsyncs; records after the last one are fetched again on
	// resume, never duplicated.
	CheckpointEvery time.Duration
	// Progress, when not nil, is called after every page.
	Progress func(Progress)

	// part marks a parallel harvest's slice: its file is merged into the
	// output, which has the CSV header, and, without a checkpoint, synced
	// as part of the output rather than on its own.
	part bool
	// columns fixes the CSV columns (a parallel harvest's slices share
	// them); nil takes them from the first page.
	columns []string
	// through, when not nil, stands between the harvest and its output
	// file: the tests' disk that fills up where no real one can be mounted.
	through func(io.Writer) io.Writer
}

// Progress is where a harvest stands.
type Progress struct {
	Records, Pages int64
	Total          int64 // the server's count, -1 when unknown
	Retries        int64
}

// Summary is what a harvest did in this run.
type Summary struct {
	Records  int64 // records in the output at the end, earlier runs included
	New      int64 // records written by this run
	Pages    int64 // pages fetched by this run
	Retries  int64
	Duration time.Duration
	Resumed  bool
}

// State is the checkpoint file's content.
type State struct {
	Position client.Checkpoint `json:"position"`
	// OutputBytes is the length of the output once the records the
	// position covers were written and synced.
	OutputBytes int64 `json:"output_bytes"`
	// Columns are a CSV output's columns, fixed by its first page.
	Columns []string `json:"columns,omitempty"`
}

// ReadState reads a checkpoint file; ok is false when there is none.
func ReadState(path string) (st State, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("read checkpoint: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, false, fmt.Errorf("read checkpoint %s: %w", path, err)
	}
	return st, true, nil
}

// writeState replaces the checkpoint file atomically and durably: a
// temporary file, synced, renamed over the old one, and the directory
// synced so that the rename survives a crash.
func writeState(path string, st State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Check refuses options that cannot work together with workers workers
// (see RunParallel), before any request is sent: what a command line
// reports as a usage error.
func (o Options) Check(workers int) error {
	if o.Checkpoint != "" && o.Out == "" {
		return errors.New("harvest: a checkpoint needs an output file")
	}
	if workers > 1 {
		return o.checkParallel()
	}
	return nil
}

// Run harvests as o says, resuming from o.Checkpoint when it exists.
func Run(ctx context.Context, o Options) (Summary, error) {
	start := time.Now()
	retries0 := o.Client.Retries()
	var sum Summary
	if err := o.Check(1); err != nil {
		return sum, err
	}
	format, err := o.format()
	if err != nil {
		return sum, err
	}
	st, resumed, err := State{}, false, error(nil)
	if o.Checkpoint != "" {
		st, resumed, err = ReadState(o.Checkpoint)
		if err != nil {
			return sum, err
		}
	}
	if o.Checkpoint != "" {
		// A run killed while writing the checkpoint leaves its temporary file.
		old, _ := filepath.Glob(o.Checkpoint + ".tmp*")
		for _, f := range old {
			os.Remove(f)
		}
	}
	if !resumed {
		cp, err := client.Start(o.Request, o.Dialect, o.PageSize)
		if err != nil {
			return sum, fmt.Errorf("harvest: %w", err)
		}
		st = State{Position: cp}
	}
	sum.Resumed = resumed

	var w io.Writer
	var f *os.File
	if o.Out != "" {
		flags := os.O_WRONLY | os.O_CREATE
		if !resumed {
			flags |= os.O_TRUNC
		}
		f, err = os.OpenFile(o.Out, flags, 0o644)
		if err != nil {
			return sum, fmt.Errorf("harvest: %w", err)
		}
		defer f.Close()
		// What a killed run appended after its last checkpoint goes.
		if err := f.Truncate(st.OutputBytes); err != nil {
			return sum, fmt.Errorf("harvest: truncate %s: %w", o.Out, err)
		}
		if _, err := f.Seek(st.OutputBytes, io.SeekStart); err != nil {
			return sum, fmt.Errorf("harvest: %w", err)
		}
		w = f
		if o.through != nil {
			w = o.through(f)
		}
	} else {
		w = o.Stdout
		if w == nil {
			w = os.Stdout
		}
	}
	if o.Checkpoint != "" && !resumed {
		// Record the start, so that a run killed before its first page
		// resumes with the same request rather than starting over on a
		// file another run may have begun.
		if err := writeState(o.Checkpoint, st); err != nil {
			return sum, err
		}
	}

	sum.Records = st.Position.Records
	if o.Max > 0 && sum.Records >= o.Max {
		st.Position.Next = nil
	}
	// save makes the records written so far durable, then the position
	// that covers them.
	lastSave, dirty := time.Now(), false
	save := func() error {
		if o.Checkpoint == "" || !dirty {
			return nil
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("harvest: sync %s: %w", o.Out, err)
		}
		if err := writeState(o.Checkpoint, st); err != nil {
			return err
		}
		lastSave, dirty = time.Now(), false
		return nil
	}
	var table *csvTable
	if format == CSV {
		cols := st.Columns
		if cols == nil {
			cols = o.columns
		}
		table = newCSVTable(cols, !o.part && st.OutputBytes == 0)
	}
	var buf bytes.Buffer
	pos := st.Position
	for p, err := range o.Client.Pages(ctx, pos) {
		if err != nil {
			sum.Retries = o.Client.Retries() - retries0
			sum.Duration = time.Since(start)
			// Keep what was written: an interrupted harvest resumes after it.
			if serr := save(); serr != nil {
				return sum, errors.Join(fmt.Errorf("harvest: %w", err), serr)
			}
			return sum, fmt.Errorf("harvest: %w", err)
		}
		recs := p.Records
		after := p.After
		if o.Max > 0 && sum.Records+int64(len(recs)) >= o.Max {
			recs = recs[:o.Max-sum.Records]
			after.Records = o.Max
			after.Next = nil // the harvest ends here
		}
		buf.Reset()
		if table != nil {
			if err := table.appendPage(&buf, recs, sum.Records+1); err != nil {
				return sum, errors.Join(fmt.Errorf("harvest: %w", err), save())
			}
			st.Columns = table.cols
		} else {
			for _, r := range recs {
				if err := appendLine(&buf, r); err != nil {
					return sum, fmt.Errorf("harvest: record %d is not JSON: %w", sum.Records+1, err)
				}
			}
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			err = fmt.Errorf("harvest: %w", err)
			if f == nil {
				return sum, err // standard output cannot be cut back
			}
			// A write that failed midway (a full disk) left part of a
			// record: cut the output back to its last whole record, where
			// the records already written end, and checkpoint those.
			if terr := f.Truncate(st.OutputBytes); terr != nil {
				return sum, errors.Join(err, fmt.Errorf("harvest: cut %s back to its last whole record: %w", o.Out, terr))
			}
			return sum, errors.Join(err, save())
		}
		st.OutputBytes += int64(buf.Len())
		st.Position = after
		sum.Records += int64(len(recs))
		sum.New += int64(len(recs))
		sum.Pages++
		dirty = true
		if after.Done() || time.Since(lastSave) >= o.CheckpointEvery {
			if err := save(); err != nil {
				return sum, err
			}
		}
		if o.Progress != nil {
			o.Progress(Progress{Records: sum.Records, Pages: after.Pages, Total: after.Total, Retries: o.Client.Retries() - retries0})
		}
		if after.Done() {
			break
		}
	}
	if f != nil && o.Checkpoint == "" && !o.part {
		if err := f.Sync(); err != nil {
			return sum, fmt.Errorf("harvest: sync %s: %w", o.Out, err)
		}
	}
	sum.Retries = o.Client.Retries() - retries0
	sum.Duration = time.Since(start)
	return sum, nil
}

// appendLine appends one record as one NDJSON line. The pagers hand over
// records they have validated; one that spans lines (a pretty-printed
// API) is compacted, any other is copied as it is.
func appendLine(buf *bytes.Buffer, r client.Record) error {
	if bytes.ContainsAny(r, "\r\n") {
		if err := json.Compact(buf, r); err != nil {
			return err
		}
	} else {
		buf.Write(r)
	}
	return buf.WriteByte('\n')
}
