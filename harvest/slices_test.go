package harvest

import (
	"context"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"folio/client"
)

// keyed describes a collection whose key is of type typ.
func keyed(key, typ string) client.Collection {
	return client.Collection{Name: "c", Key: key, Fields: []client.Field{{Name: "other", Type: "text"}, {Name: key, Type: typ}}}
}

// TestPlanSlices cuts key ranges into slices: exactly where the cuts are
// predictable, and for every case slices that cover the whole key line,
// each starting where the one before ends, with increasing boundaries
// strictly above the range's first key and at most its last.
func TestPlanSlices(t *testing.T) {
	intKey, textKey := keyed("id", "integer"), keyed("id", "text")
	rng := func(first, last string) client.KeyRange { return client.KeyRange{First: first, Last: last} }
	one := []Slice{{}}
	for _, c := range []struct {
		name    string
		col     client.Collection
		r       client.KeyRange
		n       int
		want    []Slice // nil: only the properties are checked
		slices  int     // the number of slices, when want is nil
		prefix  string  // every boundary starts with it
		wantErr string
	}{
		{name: "integer, even", col: intKey, r: rng("1", "1000"), n: 4, want: []Slice{{To: "251"}, {"251", "501"}, {"501", "751"}, {From: "751"}}},
		{name: "integer, negative", col: intKey, r: rng("-5", "-3"), n: 4, want: []Slice{{To: "-4"}, {"-4", "-3"}, {From: "-3"}}},
		{name: "integer, two rows, many slices", col: intKey, r: rng("1", "2"), n: 32, want: []Slice{{To: "2"}, {From: "2"}}},
		{name: "integer, beyond 64 bits", col: intKey, r: rng("9223372036854775807", "9223372036854775815"), n: 4,
			want: []Slice{{To: "9223372036854775809"}, {"9223372036854775809", "9223372036854775811"}, {"9223372036854775811", "9223372036854775813"}, {From: "9223372036854775813"}}},
		{name: "integer, a single row", col: intKey, r: rng("7", "7"), n: 4, want: one},
		{name: "integer, empty range", col: intKey, r: client.KeyRange{Empty: true}, n: 4, want: one},
		{name: "integer, one slice", col: intKey, r: rng("1", "1000"), n: 1, want: one},
		{name: "text, empty range", col: textKey, r: client.KeyRange{Empty: true}, n: 4, want: one},
		{name: "text, a single row", col: textKey, r: rng("x", "x"), n: 4, want: one},
		{name: "text, letters", col: textKey, r: rng("a", "z"), n: 4, slices: 4},
		{name: "text, common prefix", col: textKey, r: rng("10.1234/aaa", "10.1234/zzz"), n: 4, slices: 4, prefix: "10.1234/"},
		{name: "text, prefix of the other", col: textKey, r: rng("ab", "abzz"), n: 8, slices: 8, prefix: "ab"},
		{name: "text, many slices", col: textKey, r: rng("0BrbHfS", "zz9aD-q"), n: 32, slices: 32},
		// No printable boundary lies between them: one slice, still whole.
		{name: "text, non-ASCII", col: textKey, r: rng("é", "ü"), n: 4, want: one},
		{name: "text, nothing between", col: textKey, r: rng("ab", "ab\x00"), n: 4, want: one},
		{name: "no key", col: client.Collection{Name: "c", Fields: []client.Field{{Name: "id", Type: "integer"}}}, r: rng("1", "9"), n: 4, wantErr: "has no key"},
		{name: "key of two fields", col: client.Collection{Name: "c", KeyFields: []string{"a", "b"}, Fields: []client.Field{{Name: "a", Type: "integer"}, {Name: "b", Type: "text"}}}, r: rng("1", "9"), n: 4, wantErr: "2 fields (a, b)"},
		{name: "number key", col: keyed("id", "number"), r: rng("1.5", "9.5"), n: 4, wantErr: `type "number"`},
		{name: "time key", col: keyed("id", "time"), r: rng("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"), n: 4, wantErr: `type "time"`},
		{name: "key not among the fields", col: client.Collection{Name: "c", Key: "id"}, r: rng("1", "9"), n: 4, wantErr: `type ""`},
		{name: "integer key, text range", col: intKey, r: rng("a", "z"), n: 4, wantErr: "not integer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ps, err := planSlices(c.col, c.r, c.n)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ps.Key != c.col.Key {
				t.Errorf("plan keyed by %q, want %q", ps.Key, c.col.Key)
			}
			if c.want != nil && !slices.Equal(ps.Slices, c.want) {
				t.Errorf("slices %q, want %q", ps.Slices, c.want)
			}
			if c.want == nil && len(ps.Slices) != c.slices {
				t.Errorf("%d slices %q, want %d", len(ps.Slices), ps.Slices, c.slices)
			}
			checkCover(t, ps.Slices, c.col.Fields[len(c.col.Fields)-1].Type == keyInteger, c.r, c.n, c.prefix)
		})
	}
}

// checkCover fails unless ss cut the whole key line at increasing
// boundaries within (r.First, r.Last], into at most n slices.
func checkCover(t *testing.T, ss []Slice, integer bool, r client.KeyRange, n int, prefix string) {
	t.Helper()
	if len(ss) == 0 || len(ss) > n {
		t.Fatalf("%d slices, want 1 to %d", len(ss), n)
	}
	if ss[0].From != "" || ss[len(ss)-1].To != "" {
		t.Errorf("slices %q do not reach both ends of the key line", ss)
	}
	less := func(a, b string) bool { return a < b }
	if integer {
		less = func(a, b string) bool {
			x, _ := new(big.Int).SetString(a, 10)
			y, _ := new(big.Int).SetString(b, 10)
			return x.Cmp(y) < 0
		}
	}
	for i := 1; i < len(ss); i++ {
		b := ss[i].From
		switch {
		case ss[i-1].To != b || b == "":
			t.Errorf("slice %d starts at %q, not where slice %d ends (%q)", i, b, i-1, ss[i-1].To)
		case i > 1 && !less(ss[i-1].From, b):
			t.Errorf("boundaries %q and %q do not increase", ss[i-1].From, b)
		case !less(r.First, b) || less(r.Last, b):
			t.Errorf("boundary %q outside (%q, %q]", b, r.First, r.Last)
		case !strings.HasPrefix(b, prefix):
			t.Errorf("boundary %q lacks the common prefix %q", b, prefix)
		}
	}
}

// TestSliceOptions: each slice harvests the user's query, wherever the
// native API is mounted, narrowed to its key range and sorted by the key,
// into files of its own.
func TestSliceOptions(t *testing.T) {
	q, err := client.ParseNative("http://h:8/api/native/entries?elements%5Ball%5D=O&sort=-upload_create_time&limit=250&cursor=abc")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Request: q.Request(), PageSize: 100, Out: "/d/out.csv", Checkpoint: "/d/cp.json", Progress: func(Progress) {}}
	ps := parallelState{Key: "entry_id", Slices: []Slice{{To: "b"}, {"b", "m"}, {From: "m"}}, Columns: []string{"entry_id"}}
	for i, want := range []url.Values{
		{"entry_id[lt]": {"b"}},
		{"entry_id[gte]": {"b"}, "entry_id[lt]": {"m"}},
		{"entry_id[gte]": {"m"}},
	} {
		so := sliceOptions(o, q, ps, i, CSV)
		u, err := url.Parse(so.Request.URL)
		if err != nil {
			t.Fatal(err)
		}
		if u.Path != "/api/native/entries" || u.Host != "h:8" {
			t.Errorf("slice %d asks %s, not the collection the user named", i, so.Request.URL)
		}
		want.Set("elements[all]", "O")
		want.Set("sort", "entry_id")
		want.Set("limit", "250")
		if got := u.Query(); !equalValues(got, want) {
			t.Errorf("slice %d asks %v, want %v", i, got, want)
		}
		if so.Out != partName("/d/out.csv", i) || so.Checkpoint != partName("/d/cp.json", i) {
			t.Errorf("slice %d writes %s and %s", i, so.Out, so.Checkpoint)
		}
		if so.Dialect != client.Native || so.Format != CSV || !so.part || so.Progress != nil || so.PageSize != 100 || !slices.Equal(so.columns, ps.Columns) {
			t.Errorf("slice %d options %+v", i, so)
		}
	}
	o.Checkpoint = ""
	if so := sliceOptions(o, q, ps, 0, NDJSON); so.Checkpoint != "" {
		t.Errorf("a harvest without a checkpoint gave its slice %s", so.Checkpoint)
	}
}

func equalValues(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestSchedule: a run harvests, in key order, the slices an earlier run
// did not complete.
func TestSchedule(t *testing.T) {
	const W, D, F = sliceWaiting, sliceDone, sliceFailed
	for _, c := range []struct {
		name   string
		states []sliceState
		want   []int
	}{
		{"fresh", []sliceState{W, W, W, W}, []int{0, 1, 2, 3}},
		{"some done", []sliceState{D, W, D, W, W}, []int{1, 3, 4}},
		{"first and last done", []sliceState{D, W, W, D}, []int{1, 2}},
		{"all done", []sliceState{D, D, D}, nil},
		{"failed again", []sliceState{F, D, W}, []int{0, 2}},
		{"one slice", []sliceState{W}, []int{0}},
	} {
		if got := schedule(c.states); !slices.Equal(got, c.want) {
			t.Errorf("%s: schedule %v, want %v", c.name, got, c.want)
		}
	}
}

// TestMergeable: the merge appends the done parts in slice order, waits at
// the first slice still running, and stops at the first that failed or at
// the end.
func TestMergeable(t *testing.T) {
	const W, D, F = sliceWaiting, sliceDone, sliceFailed
	for _, c := range []struct {
		name   string
		states []sliceState
		next   int
		upto   int
		stop   bool
	}{
		{"nothing done", []sliceState{W, W, W}, 0, 0, false},
		{"a later slice done first", []sliceState{W, D, D}, 0, 0, false},
		{"a run of done slices", []sliceState{D, D, W, D}, 0, 2, false},
		{"waiting at a running slice", []sliceState{D, D, W, D}, 2, 2, false},
		{"the rest once it is done", []sliceState{D, D, D, D}, 2, 4, true},
		{"a failed slice", []sliceState{D, F, D}, 0, 1, true},
		{"a failed slice after a running one", []sliceState{D, W, F}, 1, 1, false},
		{"failed first", []sliceState{F, D}, 0, 0, true},
		{"all appended", []sliceState{D, D}, 2, 2, true},
		{"a single slice", []sliceState{D}, 0, 1, true},
		{"no slice", nil, 0, 0, true},
	} {
		upto, stop := mergeable(c.states, c.next)
		if upto != c.upto || stop != c.stop {
			t.Errorf("%s: from %d: up to %d, stop %v; want %d, %v", c.name, c.next, upto, stop, c.upto, c.stop)
		}
	}
}

// TestMerge appends parts in slice order while slices end in another, and
// leaves the parts from a failed slice on for a resume.
func TestMerge(t *testing.T) {
	for _, c := range []struct {
		name  string
		ends  []int // the slices in the order they end
		fail  int   // the slice that fails, -1 none
		want  string
		parts []int // the parts still there afterwards
	}{
		{"in order", []int{0, 1, 2, 3}, -1, "h\n0\n1\n2\n3\n", []int{0, 1, 2, 3}},
		{"last first", []int{3, 2, 1, 0}, -1, "h\n0\n1\n2\n3\n", []int{0, 1, 2, 3}},
		{"mixed", []int{1, 0, 3, 2}, -1, "h\n0\n1\n2\n3\n", []int{0, 1, 2, 3}},
		{"a slice fails", []int{0, 3, 2, 1}, 2, "h\n0\n1\n", []int{0, 1, 2, 3}},
		{"the first fails", []int{1, 0, 2, 3}, 0, "h\n", []int{0, 1, 2, 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			states := make([]sliceState, len(c.ends))
			for i := range states {
				if err := os.WriteFile(partName(out, i), []byte{byte('0' + i), '\n'}, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			changed := make(chan struct{}, 1)
			var mu sync.Mutex // guards states
			done := make(chan error, 1)
			go func() {
				done <- merge(out, len(states), []byte("h\n"), nil, func(next int) (int, bool) {
					mu.Lock()
					defer mu.Unlock()
					return mergeable(states, next)
				}, changed)
			}()
			for _, i := range c.ends {
				time.Sleep(time.Millisecond) // let the merge run between the ends
				mu.Lock()
				states[i] = sliceDone
				if i == c.fail {
					states[i] = sliceFailed
				}
				mu.Unlock()
				select {
				case changed <- struct{}{}:
				default:
				}
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the merge did not end after every slice did")
			}
			got, _ := os.ReadFile(out)
			if string(got) != c.want {
				t.Errorf("output %q, want %q", got, c.want)
			}
			for _, i := range c.parts {
				if _, err := os.Stat(partName(out, i)); err != nil {
					t.Errorf("part %d: %v", i, err)
				}
			}
		})
	}
}

// TestReadSlices: a resume finds which slices an earlier run completed,
// and how far the others got.
func TestReadSlices(t *testing.T) {
	dir := t.TempDir()
	cp := filepath.Join(dir, "cp.json")
	next := &client.Request{URL: "http://h/v1/c?cursor=x"}
	for i, st := range []*State{
		{Position: client.Checkpoint{Dialect: client.Native, Records: 40, Pages: 4}}, // done
		{Position: client.Checkpoint{Dialect: client.Native, Next: next, Records: 20, Pages: 2}},
		nil, // never started
		{Position: client.Checkpoint{Dialect: client.Native, Records: 7, Pages: 1}}, // done
	} {
		if st != nil {
			if err := writeState(partName(cp, i), *st); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(partName(cp, 4), []byte("{torn"), 0o644); err != nil {
		t.Fatal(err)
	}
	states, sums, parts := readSlices(cp, 5)
	const W, D = sliceWaiting, sliceDone
	if want := []sliceState{D, W, W, D, W}; !slices.Equal(states, want) {
		t.Errorf("states %v, want %v", states, want)
	}
	if want := []int{1, 2, 4}; !slices.Equal(schedule(states), want) {
		t.Errorf("the resume harvests slices %v, want %v", schedule(states), want)
	}
	if want := []Summary{{Records: 40, Resumed: true}, {}, {}, {Records: 7, Resumed: true}, {}}; !slices.Equal(sums, want) {
		t.Errorf("summaries %+v, want %+v", sums, want)
	}
	if want := []Progress{{Records: 40, Pages: 4}, {Records: 20, Pages: 2}, {}, {Records: 7, Pages: 1}, {}}; !slices.Equal(parts, want) {
		t.Errorf("progress %+v, want %+v", parts, want)
	}
	states, _, _ = readSlices("", 3)
	if !slices.Equal(states, []sliceState{W, W, W}) {
		t.Errorf("without a checkpoint the states are %v", states)
	}
}

// TestOutcome adds the slices' summaries up and names each distinct error
// once.
func TestOutcome(t *testing.T) {
	sum, err := outcome([]Summary{{Records: 10, New: 4, Pages: 2, Retries: 9}, {Records: 5, New: 5, Pages: 1, Resumed: true}}, []error{nil, nil})
	if err != nil || sum != (Summary{Records: 15, New: 9, Pages: 3, Resumed: true}) {
		t.Errorf("outcome %+v, %v", sum, err)
	}
	boom := errors.New("HTTP 400: boom")
	_, err = outcome(make([]Summary, 5), []error{nil, context.Canceled, boom, context.Canceled, context.Canceled})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, boom) || strings.Count(err.Error(), "canceled") != 1 {
		t.Errorf("error %q, want each of the two once", err)
	}
	if p := overall([]Progress{{Records: 3, Pages: 1, Total: 99}, {Records: 4, Pages: 2}}, nil, 6); p != (Progress{Records: 7, Pages: 3, Total: -1, Retries: 6}) {
		t.Errorf("overall progress without a count %+v", p)
	}
	total := int64(50)
	if p := overall(nil, &total, 0); p.Total != 50 {
		t.Errorf("overall progress with a count of 50: %+v", p)
	}
}
