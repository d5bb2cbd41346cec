package harvest

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"testing"

	"folio/client"
	"folio/internal/demotest"
)

// TestParallel harvests in 4 slices and compares with the sequential
// harvest: the same records, in key order.
func TestParallel(t *testing.T) {
	ts, e := demoServer(t)
	for _, c := range []struct {
		name, collection, key, query string
		filters                      url.Values
		intKey                       bool
	}{
		{"text key", "entries", "entry_id", "sort=-upload_create_time", nil, false},
		{"text key filtered", "dois", "id", "state=findable", url.Values{"state": {"findable"}}, false},
		{"integer key", "downtimes", "id", "", nil, true},
		{"integer key filtered", "profiles", "id", "database_id[lt]=5", url.Values{"database_id[lt]": {"5"}}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			u := ts.URL + "/v1/" + c.collection + "?" + c.query
			seq := Options{Client: client.New(client.Options{}), Request: client.Request{URL: u}, Dialect: "native", PageSize: 100, Out: filepath.Join(dir, "seq.ndjson")}
			if _, err := Run(context.Background(), seq); err != nil {
				t.Fatal(err)
			}
			par := seq
			par.Out = filepath.Join(dir, "par.ndjson")
			sum, err := RunParallel(context.Background(), par, 4)
			if err != nil {
				t.Fatal(err)
			}
			want := demotest.Keys(t, e, c.collection, c.filters)
			if len(want) < 100 {
				t.Fatalf("only %d records: the filter selects too few to test", len(want))
			}
			seqKeys := fileKeys(t, seq.Out, c.key)
			got := fileKeys(t, par.Out, c.key)
			demotest.ExactlyOnce(t, got, want)
			demotest.ExactlyOnce(t, seqKeys, want)
			if sum.Records != int64(len(want)) {
				t.Errorf("summary says %d records, want %d", sum.Records, len(want))
			}
			less := func(a, b string) bool { return a < b }
			if c.intKey {
				less = func(a, b string) bool {
					x, _ := strconv.ParseInt(a, 10, 64)
					y, _ := strconv.ParseInt(b, 10, 64)
					return x < y
				}
			}
			sorted := slices.Clone(seqKeys)
			sort.Slice(sorted, func(i, j int) bool { return less(sorted[i], sorted[j]) })
			if !slices.Equal(got, sorted) {
				t.Error("the parallel harvest is not the sequential one in key order")
			}
			if parts, _ := filepath.Glob(par.Out + ".part-*"); len(parts) != 0 {
				t.Errorf("parts left behind: %v", parts)
			}
		})
	}
}

// TestParallelResume interrupts a parallel harvest after some pages and
// runs it again: the output equals the uninterrupted harvest.
func TestParallelResume(t *testing.T) {
	ts, e := demoServer(t)
	for _, c := range []struct{ collection, key string }{{"entries", "entry_id"}, {"downtimes", "id"}} {
		t.Run(c.collection, func(t *testing.T) {
			dir := t.TempDir()
			o := Options{
				Client: client.New(client.Options{}), Request: client.Request{URL: ts.URL + "/v1/" + c.collection}, Dialect: "auto", PageSize: 10,
				Out: filepath.Join(dir, "out.ndjson"), Checkpoint: filepath.Join(dir, "cp.json"),
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var total int64
			o.Progress = func(p Progress) {
				total = p.Total
				if p.Pages >= 6 {
					cancel()
				}
			}
			if _, err := RunParallel(ctx, o, 4); err == nil {
				t.Fatal("the interrupted harvest succeeded")
			}
			var ps parallelState
			if b, err := os.ReadFile(o.Checkpoint); err != nil || json.Unmarshal(b, &ps) != nil || len(ps.Slices) < 4 || len(ps.Slices) > 4*slicesPerWorker || ps.Merged {
				t.Fatalf("the main checkpoint holds %+v (%v), want a plan of 4 to %d unmerged slices", ps, err, 4*slicesPerWorker)
			}
			// Only slices that were started have checkpoints, and no more
			// than the 4 workers can have started before the 6th page.
			if parts, _ := filepath.Glob(o.Checkpoint + ".part-*"); len(parts) < 1 || len(parts) > 4+6 {
				t.Fatalf("the interrupted harvest left %d slice checkpoints, want 1 to 10", len(parts))
			}
			o.Progress = nil
			sum, err := RunParallel(context.Background(), o, 4)
			if err != nil {
				t.Fatal(err)
			}
			if !sum.Resumed {
				t.Error("the second run did not resume")
			}
			want := demotest.Keys(t, e, c.collection, nil)
			demotest.ExactlyOnce(t, fileKeys(t, o.Out, c.key), want)
			if total != int64(len(want)) {
				t.Errorf("progress showed a total of %d, want %d", total, len(want))
			}
			if sum.Records != int64(len(want)) {
				t.Errorf("summary says %d records, want %d", sum.Records, len(want))
			}
			// A third run finds the harvest merged and changes nothing.
			before, _ := os.ReadFile(o.Out)
			if sum, err := RunParallel(context.Background(), o, 4); err != nil || sum.New != 0 {
				t.Fatalf("a run of a complete harvest wrote %d records (%v)", sum.New, err)
			}
			after, _ := os.ReadFile(o.Out)
			if string(before) != string(after) {
				t.Error("a run of a complete harvest changed the output")
			}
		})
	}
}

// TestParallelRejects refuses what cannot be sliced.
func TestParallelRejects(t *testing.T) {
	ts, _ := demoServer(t)
	dir := t.TempDir()
	for _, o := range []Options{
		{Request: client.Request{URL: ts.URL + "/dois"}, Dialect: "jsonapi", Out: filepath.Join(dir, "a")},
		{Request: client.Request{URL: ts.URL + "/gocdbpi/public/?method=get_downtime"}, Dialect: "auto", Out: filepath.Join(dir, "b")},
		{Request: client.Request{URL: ts.URL + "/v1/entries"}, Dialect: "native"},
	} {
		o.Client = client.New(client.Options{})
		if _, err := RunParallel(context.Background(), o, 4); err == nil {
			t.Errorf("%s (%s) was harvested in parallel", o.Request.URL, o.Dialect)
		}
	}
}

// TestBounds cuts key ranges into increasing boundaries strictly inside.
func TestBounds(t *testing.T) {
	for _, c := range []struct {
		lo, hi string
		text   bool
		want   int
	}{
		{"1", "1000", false, 3},
		{"-5", "-3", false, 2},
		{"7", "7", false, 0},
		{`"a"`, `"z"`, true, 3},
		{`"10.1234/aaa"`, `"10.1234/zzz"`, true, 3},
		{`"é"`, `"ü"`, true, 0},
		{`"ab"`, `"ab\u0000"`, true, 0},
		{`"x"`, `"x"`, true, 0},
	} {
		f := intBounds
		if c.text {
			f = textBounds
		}
		got, err := f([]byte(c.lo), []byte(c.hi), 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != c.want {
			t.Errorf("%s..%s: %q, want %d boundaries", c.lo, c.hi, got, c.want)
		}
		for i := 1; i < len(got); i++ {
			if c.text && got[i-1] >= got[i] {
				t.Errorf("%s..%s: %q not increasing", c.lo, c.hi, got)
			}
		}
	}
}
