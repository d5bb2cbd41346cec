package harvest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"folio/client"
)

// slicesPerWorker is how many more key slices than concurrent requests a
// parallel harvest cuts. Keys are rarely spread evenly over their range
// (random identifiers in a 64-letter alphabet are not even in byte order),
// so equal-width slices differ in size; with several per worker, a worker
// that finishes early takes the next slice, and only the last slices run
// without company.
const slicesPerWorker = 8

// RunParallel harvests a keyed collection of the native dialect, wherever
// the dialect is mounted ({base}/{collection}?filters), with n requests at
// once: its key range is cut into slices that n workers take in key order,
// each slice a sequential harvest into its own part file (and checkpoint)
// beside o.Out, and the parts are appended to o.Out in key order as they
// complete. The user's sort is replaced by the key: a parallel harvest is
// in key order. A rerun with the same options resumes every unfinished
// slice; the plan is kept in o.Checkpoint so a resume slices alike. Every
// request goes through o.Client, with its retries, rate limit and
// timeouts.
func RunParallel(ctx context.Context, o Options, n int) (Summary, error) {
	if n <= 1 {
		return Run(ctx, o)
	}
	start, retries0 := time.Now(), o.Client.Retries()
	if err := o.checkParallel(); err != nil {
		return Summary{}, err
	}
	q, err := client.ParseNative(o.Request.URL)
	if err != nil {
		return Summary{}, fmt.Errorf("harvest: --parallel: %w", err)
	}
	format, err := o.format()
	if err != nil {
		return Summary{}, err
	}
	ps, resumed, err := readPlan(o.Checkpoint)
	if err != nil {
		return Summary{}, err
	}
	if ps.Merged {
		// A run killed after recording the merge may have left parts.
		removeParts(o, len(ps.Slices))
		return Summary{Resumed: true}, nil
	}
	if !resumed {
		if ps, err = newPlan(ctx, o.Client, q, n*slicesPerWorker, format == CSV); err != nil {
			return Summary{}, err
		}
		if o.Checkpoint != "" {
			if err := writeJSON(o.Checkpoint, ps); err != nil {
				return Summary{}, err
			}
		}
	}

	states, sums, parts := readSlices(o.Checkpoint, len(ps.Slices))
	opts := make([]Options, len(ps.Slices))
	var mu sync.Mutex // guards states and parts
	for i := range ps.Slices {
		opts[i] = sliceOptions(o, q, ps, i, format)
		if o.Progress != nil {
			opts[i].Progress = func(p Progress) {
				mu.Lock()
				defer mu.Unlock()
				parts[i] = p
				o.Progress(overall(parts, ps.Total, o.Client.Retries()))
			}
		}
	}
	errs := make([]error, len(ps.Slices))
	// changed wakes the merge when a slice ends; one pending wake-up is
	// enough, since the merge reads every state when it wakes.
	changed := make(chan struct{}, 1)
	var merging sync.WaitGroup
	var mergeErr error
	merging.Go(func() {
		var header []byte
		if format == CSV && len(ps.Columns) > 0 {
			header = headerLine(ps.Columns)
		}
		mergeErr = merge(o.Out, len(ps.Slices), header, o.through, func(next int) (int, bool) {
			mu.Lock()
			defer mu.Unlock()
			return mergeable(states, next)
		}, changed)
	})
	queue := make(chan int, len(ps.Slices))
	for _, i := range schedule(states) {
		queue <- i
	}
	close(queue)
	var workers sync.WaitGroup
	for range n {
		workers.Go(func() {
			for i := range queue {
				if errs[i] = ctx.Err(); errs[i] == nil {
					sums[i], errs[i] = Run(ctx, opts[i])
				}
				mu.Lock()
				states[i] = sliceDone
				if errs[i] != nil {
					states[i] = sliceFailed
				}
				mu.Unlock()
				select {
				case changed <- struct{}{}:
				default:
				}
			}
		})
	}
	workers.Wait()
	merging.Wait()
	sum, err := outcome(sums, errs)
	// The slices share the client: its count, not theirs, says how many
	// requests were retried.
	sum.Retries = o.Client.Retries() - retries0
	sum.Duration = time.Since(start)
	if err != nil {
		return sum, err
	}
	if mergeErr != nil {
		return sum, mergeErr
	}
	if o.Checkpoint != "" {
		ps.Merged = true
		if err := writeJSON(o.Checkpoint, ps); err != nil {
			return sum, err
		}
	}
	removeParts(o, len(ps.Slices))
	sum.Duration = time.Since(start)
	return sum, nil
}

// checkParallel refuses the options a parallel harvest cannot follow.
func (o Options) checkParallel() error {
	switch {
	case o.Dialect != "auto" && o.Dialect != "" && o.Dialect != client.Native:
		return fmt.Errorf("harvest: --parallel works with the native dialect only, not %s", o.Dialect)
	case o.Request.Method != "" && o.Request.Method != "GET":
		return errors.New("harvest: --parallel needs a GET request")
	case o.Out == "":
		return errors.New("harvest: --parallel needs an output file")
	case o.Max > 0:
		return errors.New("harvest: --parallel cannot be combined with --max")
	}
	return nil
}

// readPlan reads a parallel harvest's main checkpoint; resumed is false
// when there is none (or no checkpoint file is named).
func readPlan(path string) (ps parallelState, resumed bool, err error) {
	if path == "" {
		return ps, false, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return ps, false, nil
	}
	if err != nil {
		return ps, false, fmt.Errorf("harvest: read checkpoint: %w", err)
	}
	if err := json.Unmarshal(b, &ps); err != nil || len(ps.Slices) == 0 {
		return ps, false, fmt.Errorf("harvest: %s is not a parallel harvest's checkpoint", path)
	}
	return ps, true, nil
}

// readSlices reads the checkpoints of n slices beside path: which slices
// an earlier run harvested to the end, what the summary of each of those
// is, and how far every slice got. A checkpoint that cannot be read leaves
// its slice waiting; its harvest reports the error.
func readSlices(path string, n int) ([]sliceState, []Summary, []Progress) {
	states := make([]sliceState, n)
	sums := make([]Summary, n)
	parts := make([]Progress, n)
	if path == "" {
		return states, sums, parts
	}
	for i := range n {
		st, ok, err := ReadState(partName(path, i))
		if err != nil || !ok {
			continue
		}
		parts[i] = Progress{Records: st.Position.Records, Pages: st.Position.Pages}
		if st.Position.Done() {
			states[i] = sliceDone
			sums[i] = Summary{Records: st.Position.Records, Resumed: true}
		}
	}
	return states, sums, parts
}

// newPlan asks the server what a parallel harvest of q needs, through c:
// the collection's key and its type, the key range of the records q
// selects, their count for the progress bar (when it comes within
// countBudget), and for a CSV output the columns of the first record; and
// cuts the range into n slices.
func newPlan(ctx context.Context, c *client.Client, q client.NativeQuery, n int, columns bool) (parallelState, error) {
	col, err := c.Describe(ctx, q)
	if err != nil {
		return parallelState{}, fmt.Errorf("harvest: --parallel: %w", err)
	}
	if _, err := sliceKey(col); err != nil {
		return parallelState{}, err
	}
	// The count only feeds the progress bar: it runs beside the requests
	// the plan needs, and is not waited for beyond its budget.
	cctx, cancel := context.WithTimeout(ctx, countBudget)
	defer cancel()
	total := make(chan *int64, 1)
	go func() {
		count, err := c.Count(cctx, q)
		if err != nil {
			total <- nil
			return
		}
		total <- &count
	}()
	r, err := c.KeyRange(ctx, q, col.Key)
	if err != nil {
		return parallelState{}, fmt.Errorf("harvest: %w", err)
	}
	ps, err := planSlices(col, r, n)
	if err != nil {
		return ps, err
	}
	if columns && !r.Empty {
		// The first record in key order, the order of the output.
		p, err := c.FirstPage(ctx, q.KeySlice(col.Key, "", ""), 1)
		if err != nil {
			return ps, fmt.Errorf("harvest: CSV columns: %w", err)
		}
		if len(p.Records) > 0 {
			cells, err := flatten(p.Records[0])
			if err != nil {
				return ps, fmt.Errorf("harvest: CSV columns: %w", err)
			}
			for _, c := range cells {
				ps.Columns = append(ps.Columns, c.key)
			}
		}
	}
	ps.Total = <-total
	return ps, nil
}

// countBudget bounds the wait for the exact count that gives the progress
// bar its total: on a very large table the count may take longer than it
// is worth, and the harvest starts without one.
const countBudget = 2 * time.Second

// removeParts removes the part files and slice checkpoints of a merged
// harvest.
func removeParts(o Options, n int) {
	for i := range n {
		os.Remove(partName(o.Out, i))
		if o.Checkpoint != "" {
			os.Remove(partName(o.Checkpoint, i))
		}
	}
}

// writeJSON replaces path atomically and durably with v.
func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

// merge writes header and then the n parts, in slice order, as the output
// out (through through, when not nil: see Options): ready says how far it
// may go from a part on (see mergeable), and changed wakes it when a slice
// ends. It stops at the first slice that failed, leaving the parts for a
// resume; the output is synced once every part is in it.
func merge(out string, n int, header []byte, through func(io.Writer) io.Writer, ready func(next int) (upto int, stop bool), changed <-chan struct{}) error {
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("harvest: merge: %w", err)
	}
	defer f.Close()
	var w io.Writer = f
	if through != nil {
		w = through(f)
	}
	// cut ends a merge that failed writing (a full disk): the output is cut
	// back to the length at which its last whole part ended, so that it
	// never ends in part of a record.
	cut := func(err error, whole int64) error {
		err = fmt.Errorf("harvest: merge: %w", err)
		if terr := f.Truncate(whole); terr != nil {
			err = errors.Join(err, fmt.Errorf("harvest: cut %s back to its last whole record: %w", out, terr))
		}
		return err
	}
	if _, err := w.Write(header); err != nil {
		return cut(err, 0)
	}
	whole := int64(len(header))
	next := 0
	for {
		upto, stop := ready(next)
		for ; next < upto; next++ {
			n, err := appendFile(w, partName(out, next))
			if err != nil {
				return cut(err, whole)
			}
			whole += n
		}
		if stop {
			break
		}
		<-changed
	}
	if next < n {
		return nil // a slice failed: its error is the harvest's
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("harvest: merge: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("harvest: merge: %w", err)
	}
	return nil
}

// appendFile copies the file at path to the end of w and returns the
// number of bytes copied.
func appendFile(w io.Writer, path string) (int64, error) {
	p, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	return io.Copy(w, p)
}
