package harvest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"folio/client"
)

// Slice is one key range of a parallel harvest: From ≤ key < To, where
// an empty bound is open.
type Slice struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// parallelState is the main checkpoint of a parallel harvest: the plan,
// so that a resume slices the same way, and whether the parts were merged.
type parallelState struct {
	Key    string  `json:"key"`
	Slices []Slice `json:"slices"`
	Total  *int64  `json:"total,omitempty"` // records in the whole range, when the server counted them
	// Columns are a CSV output's columns, taken from the first record
	// before slicing, since every slice writes rows under one header.
	Columns []string `json:"columns,omitempty"`
	Merged  bool     `json:"merged"`
}

// slicesPerWorker is how many more key slices than concurrent requests a
// parallel harvest cuts. Keys are rarely spread evenly over their range
// (random identifiers in a 64-letter alphabet are not even in byte order),
// so equal-width slices differ in size; with several per worker, a worker
// that finishes early takes the next slice, and only the last slices run
// without company.
const slicesPerWorker = 8

// RunParallel harvests a keyed collection of the native dialect with n
// requests at once: its key range is cut into slices that n workers take
// in order, each slice a sequential harvest into its own part file (and
// checkpoint) beside o.Out, and the parts are appended to o.Out in key
// order as they complete. The user's sort is replaced by the key: a parallel harvest
// is in key order. A rerun with the same options resumes every unfinished
// slice; the plan is kept in o.Checkpoint so a resume slices alike.
func RunParallel(ctx context.Context, o Options, n int) (Summary, error) {
	if n <= 1 {
		return Run(ctx, o)
	}
	start := time.Now()
	var sum Summary
	if o.Dialect != "auto" && o.Dialect != "" && o.Dialect != client.Native {
		return sum, fmt.Errorf("harvest: --parallel works with the native dialect only, not %s", o.Dialect)
	}
	if o.Request.Method != "" && o.Request.Method != "GET" {
		return sum, errors.New("harvest: --parallel needs a GET request")
	}
	if o.Out == "" {
		return sum, errors.New("harvest: --parallel needs an output file")
	}
	if o.Max > 0 {
		return sum, errors.New("harvest: --parallel cannot be combined with --max")
	}
	u, err := url.Parse(o.Request.URL)
	if err != nil {
		return sum, fmt.Errorf("harvest: %w", err)
	}
	i := strings.LastIndex(u.Path, "/v1/")
	if i < 0 || u.Path[i+4:] == "" || strings.Contains(u.Path[i+4:], "/") {
		return sum, fmt.Errorf("harvest: --parallel needs a native collection URL (…/v1/{collection}), not %s", o.Request.URL)
	}
	collection, err := url.PathUnescape(u.Path[i+4:])
	if err != nil {
		return sum, fmt.Errorf("harvest: %w", err)
	}
	filters := u.Query()
	for _, p := range []string{"sort", "cursor", "offset", "limit", "total"} {
		filters.Del(p)
	}

	format, err := o.format()
	if err != nil {
		return sum, err
	}
	var ps parallelState
	resumed := false
	if o.Checkpoint != "" {
		b, err := os.ReadFile(o.Checkpoint)
		switch {
		case err == nil:
			if err := json.Unmarshal(b, &ps); err != nil || len(ps.Slices) == 0 {
				return sum, fmt.Errorf("harvest: %s is not a parallel harvest's checkpoint", o.Checkpoint)
			}
			resumed = true
		case !errors.Is(err, os.ErrNotExist):
			return sum, fmt.Errorf("harvest: read checkpoint: %w", err)
		}
	}
	if ps.Merged {
		sum.Resumed = true
		return sum, nil
	}
	if !resumed {
		ps, err = plan(ctx, o.Client, u, collection, filters, n*slicesPerWorker, format == CSV)
		if err != nil {
			return sum, err
		}
		if o.Checkpoint != "" {
			if err := writeJSON(o.Checkpoint, ps); err != nil {
				return sum, err
			}
		}
	}

	sums := make([]Summary, len(ps.Slices))
	errs := make([]error, len(ps.Slices))
	var mu sync.Mutex
	recs := make([]Progress, len(ps.Slices))
	var wg sync.WaitGroup
	// finished[i] is closed when slice i is done, well or not; the merge
	// appends each part as soon as it and every part before it are done,
	// while later slices are still being harvested.
	finished := make([]chan struct{}, len(ps.Slices))
	for i := range finished {
		finished[i] = make(chan struct{})
	}
	var mergeErr error
	var merging sync.WaitGroup
	merging.Go(func() {
		var header []byte
		if format == CSV && len(ps.Columns) > 0 {
			header = headerLine(ps.Columns)
		}
		mergeErr = merge(o.Out, len(ps.Slices), header, func(i int) bool {
			<-finished[i]
			return errs[i] == nil
		})
	})
	opts := make([]Options, len(ps.Slices))
	for i, s := range ps.Slices {
		so := o
		q := url.Values{}
		for k, v := range filters {
			q[k] = slices.Clone(v)
		}
		q.Set("sort", ps.Key)
		if s.From != "" {
			q.Add(ps.Key+"[gte]", s.From)
		}
		if s.To != "" {
			q.Add(ps.Key+"[lt]", s.To)
		}
		su := *u
		su.RawQuery = q.Encode()
		so.Request = client.Request{URL: su.String()}
		so.Dialect = client.Native
		so.Out = partName(o.Out, i)
		so.Format = format
		so.part = true
		so.columns = ps.Columns
		if o.Checkpoint != "" {
			so.Checkpoint = partName(o.Checkpoint, i)
		}
		so.Progress = nil
		if o.Progress != nil {
			so.Progress = func(p Progress) {
				mu.Lock()
				defer mu.Unlock()
				recs[i] = p
				var all Progress
				for _, r := range recs {
					all.Records += r.Records
					all.Pages += r.Pages
				}
				all.Total = -1
				if ps.Total != nil {
					all.Total = *ps.Total
				}
				all.Retries = o.Client.Retries()
				o.Progress(all)
			}
		}
		opts[i] = so
	}
	// n workers take the slices in key order, so that the merge can
	// append the first parts while the last are still being harvested.
	queue := make(chan int, len(ps.Slices))
	for i := range ps.Slices {
		queue <- i
	}
	close(queue)
	for range n {
		wg.Go(func() {
			for i := range queue {
				if err := ctx.Err(); err != nil {
					errs[i] = err
				} else {
					sums[i], errs[i] = Run(ctx, opts[i])
				}
				close(finished[i])
			}
		})
	}
	wg.Wait()
	merging.Wait()
	for _, s := range sums {
		sum.Records += s.Records
		sum.New += s.New
		sum.Pages += s.Pages
		sum.Retries += s.Retries
		sum.Resumed = sum.Resumed || s.Resumed
	}
	sum.Duration = time.Since(start)
	if err := errors.Join(errs...); err != nil {
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
	for i := range ps.Slices {
		os.Remove(partName(o.Out, i))
		if o.Checkpoint != "" {
			os.Remove(partName(o.Checkpoint, i))
		}
	}
	sum.Duration = time.Since(start)
	return sum, nil
}

func partName(path string, i int) string { return fmt.Sprintf("%s.part-%d", path, i) }

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

// merge writes the header and the parts, in slice order, as the output,
// each part once ready reports it complete; it stops, leaving the parts
// for a resume, at the first that is not.
func merge(out string, n int, header []byte, ready func(i int) bool) error {
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("harvest: merge: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(header); err != nil {
		return fmt.Errorf("harvest: merge: %w", err)
	}
	for i := range n {
		if !ready(i) {
			return nil
		}
		p, err := os.Open(partName(out, i))
		if err != nil {
			return fmt.Errorf("harvest: merge: %w", err)
		}
		_, err = io.Copy(f, p)
		p.Close()
		if err != nil {
			return fmt.Errorf("harvest: merge: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("harvest: merge: %w", err)
	}
	return f.Close()
}

// plan learns the collection's key and the filtered key range and cuts it
// into n slices.
func plan(ctx context.Context, c *client.Client, u *url.URL, collection string, filters url.Values, n int, columns bool) (parallelState, error) {
	var ps parallelState
	base := *u
	base.Path = base.Path[:strings.LastIndex(base.Path, "/v1/")+3]
	base.RawQuery = ""
	resp, err := c.Fetch(ctx, client.Request{URL: base.String()})
	if err != nil {
		return ps, fmt.Errorf("harvest: list collections: %w", err)
	}
	var doc struct {
		Data []struct {
			Name   string  `json:"name"`
			Key    *string `json:"key"`
			Fields []struct {
				Name, Type string
			} `json:"fields"`
		} `json:"data"`
	}
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		return ps, fmt.Errorf("harvest: list collections: %w", err)
	}
	keyType := ""
	for _, d := range doc.Data {
		if d.Name != collection {
			continue
		}
		if d.Key == nil {
			return ps, fmt.Errorf("harvest: collection %s has no key: it cannot be harvested in parallel", collection)
		}
		ps.Key = *d.Key
		for _, f := range d.Fields {
			if f.Name == ps.Key {
				keyType = f.Type
			}
		}
	}
	if ps.Key == "" {
		return ps, fmt.Errorf("harvest: no collection %s at %s", collection, base.String())
	}
	if keyType != "integer" && keyType != "text" {
		return ps, fmt.Errorf("harvest: the key %s of %s is of type %q: only integer and text keys can be sliced", ps.Key, collection, keyType)
	}
	end := func(sort string) (json.RawMessage, error) {
		q := url.Values{}
		for k, v := range filters {
			q[k] = v
		}
		q.Set("sort", sort)
		q.Set("limit", "1")
		q.Set("fields", ps.Key)
		eu := *u
		eu.RawQuery = q.Encode()
		resp, err := c.Fetch(ctx, client.Request{URL: eu.String()})
		if err != nil {
			return nil, fmt.Errorf("harvest: key range: %w", err)
		}
		var page struct {
			Data []map[string]json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(resp.Body, &page); err != nil {
			return nil, fmt.Errorf("harvest: key range: %w", err)
		}
		if len(page.Data) == 0 {
			return nil, nil
		}
		return page.Data[0][ps.Key], nil
	}
	lo, err := end(ps.Key)
	if err != nil {
		return ps, err
	}
	hi, err := end("-" + ps.Key)
	if err != nil {
		return ps, err
	}
	ps.Total = count(ctx, c, u, filters)
	var bounds []string
	if lo != nil && hi != nil {
		if keyType == "integer" {
			bounds, err = intBounds(lo, hi, n)
		} else {
			bounds, err = textBounds(lo, hi, n)
		}
		if err != nil {
			return ps, err
		}
	}
	if columns && lo != nil {
		q := url.Values{}
		for k, v := range filters {
			q[k] = v
		}
		q.Set("limit", "1")
		eu := *u
		eu.RawQuery = q.Encode()
		resp, err := c.Fetch(ctx, client.Request{URL: eu.String()})
		if err != nil {
			return ps, fmt.Errorf("harvest: CSV columns: %w", err)
		}
		var page struct {
			Data []json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(resp.Body, &page); err != nil {
			return ps, fmt.Errorf("harvest: CSV columns: %w", err)
		}
		if len(page.Data) > 0 {
			cells, err := flatten(page.Data[0])
			if err != nil {
				return ps, fmt.Errorf("harvest: CSV columns: %w", err)
			}
			for _, c := range cells {
				ps.Columns = append(ps.Columns, c.key)
			}
		}
	}
	prev := ""
	for _, b := range bounds {
		ps.Slices = append(ps.Slices, Slice{From: prev, To: b})
		prev = b
	}
	ps.Slices = append(ps.Slices, Slice{From: prev})
	return ps, nil
}

// countBudget bounds the wait for the exact count that gives the progress
// bar its total: on a very large table the count may take longer than it
// is worth, and the harvest starts without one.
const countBudget = 2 * time.Second

// count asks the server for the exact number of records the filters
// select; nil when it does not answer within countBudget.
func count(ctx context.Context, c *client.Client, u *url.URL, filters url.Values) *int64 {
	ctx, cancel := context.WithTimeout(ctx, countBudget)
	defer cancel()
	q := url.Values{}
	for k, v := range filters {
		q[k] = v
	}
	q.Set("limit", "1")
	q.Set("total", "exact")
	cu := *u
	cu.RawQuery = q.Encode()
	resp, err := c.Fetch(ctx, client.Request{URL: cu.String()})
	if err != nil {
		return nil
	}
	var page struct {
		Page struct {
			Total *int64 `json:"total"`
		} `json:"page"`
	}
	if json.Unmarshal(resp.Body, &page) != nil {
		return nil
	}
	return page.Page.Total
}

// intBounds returns up to n-1 increasing boundaries cutting [lo, hi] into
// ranges of equal width.
func intBounds(loJSON, hiJSON json.RawMessage, n int) ([]string, error) {
	lo, ok1 := new(big.Int).SetString(string(loJSON), 10)
	hi, ok2 := new(big.Int).SetString(string(hiJSON), 10)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("harvest: key range %s..%s is not integer", loJSON, hiJSON)
	}
	width := new(big.Int).Sub(hi, lo)
	width.Add(width, big.NewInt(1))
	var out []string
	for i := 1; i < n; i++ {
		b := new(big.Int).Mul(width, big.NewInt(int64(i)))
		b.Quo(b, big.NewInt(int64(n)))
		b.Add(b, lo)
		s := b.String()
		if b.Cmp(lo) > 0 && (len(out) == 0 || out[len(out)-1] != s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// textBounds returns up to n-1 boundaries between lo and hi, increasing in
// byte order: the common prefix followed by the next characters
// interpolated as a number in base 95, the printable ASCII characters (so
// that every boundary is valid text; others are clamped into that range,
// which keeps the order). Any increasing boundaries give contiguous,
// disjoint slices; interpolation only makes them about even.
func textBounds(loJSON, hiJSON json.RawMessage, n int) ([]string, error) {
	var lo, hi string
	if err := json.Unmarshal(loJSON, &lo); err != nil {
		return nil, fmt.Errorf("harvest: key range: %w", err)
	}
	if err := json.Unmarshal(hiJSON, &hi); err != nil {
		return nil, fmt.Errorf("harvest: key range: %w", err)
	}
	p := 0
	for p < len(lo) && p < len(hi) && lo[p] == hi[p] {
		p++
	}
	const digits, first, base = 6, 0x20, 95
	num := func(s string) *big.Int {
		v := new(big.Int)
		for i := range digits {
			v.Mul(v, big.NewInt(base))
			if p+i < len(s) {
				v.Add(v, big.NewInt(int64(min(max(s[p+i], first), first+base-1)-first)))
			}
		}
		return v
	}
	a, b := num(lo), num(hi)
	d := new(big.Int).Sub(b, a)
	var out []string
	for i := 1; i < n; i++ {
		v := new(big.Int).Mul(d, big.NewInt(int64(i)))
		v.Quo(v, big.NewInt(int64(n)))
		v.Add(v, a)
		raw := make([]byte, digits)
		m := new(big.Int)
		for j := digits - 1; j >= 0; j-- {
			v.QuoRem(v, big.NewInt(base), m)
			raw[j] = byte(m.Int64()) + first
		}
		s := hi[:p] + strings.TrimRight(string(raw), " ")
		if !utf8.ValidString(s) || s <= lo || s > hi {
			continue
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
