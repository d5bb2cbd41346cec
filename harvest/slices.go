package harvest

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"unicode/utf8"

	"folio/client"
)

// This file plans a parallel harvest without touching the network or the
// disk: it cuts a key range into slices, says which slices a run harvests
// and in what order, which finished parts the merge may append, and what
// the slices add up to. parallel.go does the requests and the files.

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

// Key types that can be cut into slices, as the native API names them.
const (
	keyInteger = "integer"
	keyText    = "text"
)

// planSlices plans a parallel harvest of collection col, whose records the
// harvest's filters select have keys r, in up to n slices that cover the
// whole key line: the first open below, the last open above, each
// starting where the one before ends. Records inserted outside r during
// the harvest still fall in a slice.
func planSlices(col client.Collection, r client.KeyRange, n int) (parallelState, error) {
	ps := parallelState{Key: col.Key}
	keyType, err := sliceKey(col)
	if err != nil {
		return ps, err
	}
	var bounds []string
	switch {
	case r.Empty:
		// One open slice: it finds whatever is there when it runs.
	case keyType == keyInteger:
		var err error
		if bounds, err = intBounds(r.First, r.Last, n); err != nil {
			return ps, err
		}
	default:
		bounds = textBounds(r.First, r.Last, n)
	}
	ps.Slices = slicesBetween(bounds)
	return ps, nil
}

// sliceKey returns the type of col's key, or why col cannot be cut into
// key slices.
func sliceKey(col client.Collection) (string, error) {
	switch {
	case len(col.KeyFields) > 1:
		return "", fmt.Errorf("harvest: the key of collection %s has %d fields (%s): only a key of one field can be sliced for a parallel harvest", col.Name, len(col.KeyFields), strings.Join(col.KeyFields, ", "))
	case col.Key == "":
		return "", fmt.Errorf("harvest: collection %s has no key: it cannot be harvested in parallel", col.Name)
	}
	keyType := ""
	if f := col.Field(col.Key); f != nil {
		keyType = f.Type
	}
	if keyType != keyInteger && keyType != keyText {
		return "", fmt.Errorf("harvest: the key %s of %s is of type %q: only integer and text keys can be sliced", col.Key, col.Name, keyType)
	}
	return keyType, nil
}

// sliceOptions returns the options of the harvest of slice i of plan ps:
// o's client and page size, q narrowed to the slice and sorted by the key,
// and a part file (and checkpoint) of its own beside o's.
func sliceOptions(o Options, q client.NativeQuery, ps parallelState, i int, format string) Options {
	s := ps.Slices[i]
	so := o
	so.Request = q.KeySlice(ps.Key, s.From, s.To).Request()
	so.Dialect = client.Native
	so.Out = partName(o.Out, i)
	so.Format = format
	so.part = true
	so.columns = ps.Columns
	so.Checkpoint = ""
	if o.Checkpoint != "" {
		so.Checkpoint = partName(o.Checkpoint, i)
	}
	so.Progress = nil
	return so
}

// partName is the name of slice i's file beside path: its part of the
// output, or its checkpoint.
func partName(path string, i int) string { return fmt.Sprintf("%s.part-%d", path, i) }

// slicesBetween returns the slices that increasing boundaries cut the key
// line into: one more than there are boundaries.
func slicesBetween(bounds []string) []Slice {
	out := make([]Slice, 0, len(bounds)+1)
	prev := ""
	for _, b := range bounds {
		out = append(out, Slice{From: prev, To: b})
		prev = b
	}
	return append(out, Slice{From: prev})
}

// intBounds returns up to n-1 boundaries, increasing, that cut the
// integers [lo, hi] into ranges of about equal width; each is above lo and
// at most hi, so that no slice is empty for want of keys. The keys may be
// of any size.
func intBounds(loText, hiText string, n int) ([]string, error) {
	lo, ok1 := new(big.Int).SetString(loText, 10)
	hi, ok2 := new(big.Int).SetString(hiText, 10)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("harvest: key range %s..%s is not integer", loText, hiText)
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
// which keeps the order). Each is above lo and at most hi. Any increasing
// boundaries give contiguous, disjoint slices; interpolation only makes
// them about even.
func textBounds(lo, hi string, n int) []string {
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
	return slices.Compact(out)
}

// sliceState is where one slice of a parallel harvest stands in a run.
type sliceState uint8

const (
	// sliceWaiting: not harvested to its end yet (queued, or running).
	sliceWaiting sliceState = iota
	// sliceDone: harvested to its end; its part file is complete.
	sliceDone
	// sliceFailed: stopped by an error or a cancellation; its part file
	// and checkpoint wait for a resume.
	sliceFailed
)

// schedule returns, for a run that finds the slices in the states given
// (done by an earlier run, or not), the slices to harvest in the order the
// workers take them: key order, so that the merge can append the first
// parts while the last are still being harvested. A slice an earlier run
// completed is not harvested again.
func schedule(states []sliceState) []int {
	var queue []int
	for i, s := range states {
		if s != sliceDone {
			queue = append(queue, i)
		}
	}
	return queue
}

// mergeable says how far the merge may go, having appended the parts of
// the slices before next: it may append the parts of slices next to upto-1,
// all done; stop reports that it ends at upto, either because every part
// is appended (upto is the number of slices) or because slice upto failed.
// Otherwise slice upto is still running and the merge waits for it.
func mergeable(states []sliceState, next int) (upto int, stop bool) {
	upto = next
	for upto < len(states) && states[upto] == sliceDone {
		upto++
	}
	return upto, upto == len(states) || states[upto] == sliceFailed
}

// outcome is what the slices' runs add up to: the summary of the whole
// harvest (but its retries and duration), and its error when a slice
// failed, each different error once: a cancelled harvest stops every
// slice still queued with the same one.
func outcome(sums []Summary, errs []error) (Summary, error) {
	var sum Summary
	for _, s := range sums {
		sum.Records += s.Records
		sum.New += s.New
		sum.Pages += s.Pages
		sum.Resumed = sum.Resumed || s.Resumed
	}
	var distinct []error
	seen := map[string]bool{}
	for _, err := range errs {
		if err != nil && !seen[err.Error()] {
			seen[err.Error()] = true
			distinct = append(distinct, err)
		}
	}
	return sum, errors.Join(distinct...)
}

// overall is the progress of a parallel harvest from its slices'.
func overall(parts []Progress, total *int64, retries int64) Progress {
	all := Progress{Total: -1, Retries: retries}
	for _, p := range parts {
		all.Records += p.Records
		all.Pages += p.Pages
	}
	if total != nil {
		all.Total = *total
	}
	return all
}
