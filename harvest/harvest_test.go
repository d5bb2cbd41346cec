package harvest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"folio/client"
	"folio/internal/demotest"
)

// fileKeys reads an NDJSON output and returns member key of every line;
// every line must be a whole JSON object.
func fileKeys(t testing.TB, path, key string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("%s line %d: %v: %.200s", path, len(keys)+1, err, sc.Text())
		}
		keys = append(keys, fmt.Sprint(row[key]))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestResumeAfterInterrupt stops a harvest after some pages, appends a
// torn record as a kill between the write and the checkpoint would leave,
// and resumes: the output holds every record exactly once.
func TestResumeAfterInterrupt(t *testing.T) {
	ts, e := demoServer(t)
	for _, c := range []struct {
		name, dialect string
		req           client.Request
		key           string
		collection    string
		filters       url.Values
	}{
		{"native", "auto", client.Request{URL: ts.URL + "/v1/entries?sort=-upload_create_time"}, "entry_id", "entries", nil},
		{"nomad", "nomad", client.Request{Method: "POST", URL: ts.URL + "/api/v1/entries/query", Body: `{"query":{"results.material.elements":{"all":["O"]}}}`}, "entry_id", "entries", url.Values{"public": {"true"}, "elements[all]": {"O"}}},
		{"gocdb", "gocdb", client.Request{URL: ts.URL + "/gocdbpi/public/?method=get_downtime"}, "ID", "downtimes", nil},
	} {
		for _, every := range []time.Duration{0, time.Hour} {
			t.Run(fmt.Sprintf("%s/every=%s", c.name, every), func(t *testing.T) {
				dir := t.TempDir()
				o := Options{
					Client: client.New(client.Options{}), Request: c.req, Dialect: c.dialect, PageSize: 40,
					Out: filepath.Join(dir, "out.ndjson"), Checkpoint: filepath.Join(dir, "cp.json"), CheckpointEvery: every,
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				o.Progress = func(p Progress) {
					if p.Pages == 2 {
						cancel()
					}
				}
				sum, err := Run(ctx, o)
				if err == nil {
					t.Fatal("the interrupted harvest succeeded")
				}
				if sum.Pages != 2 {
					t.Fatalf("interrupted after %d pages, want 2", sum.Pages)
				}
				// The interrupted run kept what it wrote, however seldom it
				// checkpoints.
				st, ok, err := ReadState(o.Checkpoint)
				written := fileKeys(t, o.Out, c.key)
				if err != nil || !ok || st.Position.Pages != 2 || st.Position.Records != int64(len(written)) || st.Position.Done() {
					t.Fatalf("checkpoint after the interrupt: %+v, %v, %v; want 2 pages and the %d records written", st.Position, ok, err, len(written))
				}
				if fi, err := os.Stat(o.Out); err != nil || fi.Size() != st.OutputBytes {
					t.Fatalf("checkpoint says %d bytes of output, the file differs (%v)", st.OutputBytes, err)
				}
				f, err := os.OpenFile(o.Out, os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteString(`{"entry_id":"torn`)
				f.Close()

				o.Progress = nil
				sum, err = Run(context.Background(), o)
				if err != nil {
					t.Fatal(err)
				}
				if !sum.Resumed {
					t.Error("the second run did not resume")
				}
				want := demotest.Keys(t, e, c.collection, c.filters)
				demotest.ExactlyOnce(t, fileKeys(t, o.Out, c.key), want)
				if sum.Records != int64(len(want)) {
					t.Errorf("summary says %d records, want %d", sum.Records, len(want))
				}
				// A third run finds the harvest complete and changes nothing.
				before, _ := os.ReadFile(o.Out)
				sum, err = Run(context.Background(), o)
				if err != nil {
					t.Fatal(err)
				}
				after, _ := os.ReadFile(o.Out)
				if sum.New != 0 || sum.Pages != 0 || !bytes.Equal(before, after) {
					t.Errorf("a run of a complete harvest fetched %d pages and wrote %d records", sum.Pages, sum.New)
				}
			})
		}
	}
}

// TestMax stops at the most records asked for, also across a resume.
func TestMax(t *testing.T) {
	ts, e := demoServer(t)
	dir := t.TempDir()
	o := Options{
		Client: client.New(client.Options{}), Request: client.Request{URL: ts.URL + "/v1/dois"}, Dialect: "native", PageSize: 30,
		Max: 100, Out: filepath.Join(dir, "out.ndjson"), Checkpoint: filepath.Join(dir, "cp.json"),
	}
	sum, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	got := fileKeys(t, o.Out, "id")
	want := demotest.Keys(t, e, "dois", nil)[:100]
	if !slices.Equal(got, want) || sum.Records != 100 || sum.Pages != 4 {
		t.Fatalf("%d records in %d pages (summary %d), want the first 100 in 4", len(got), sum.Pages, sum.Records)
	}
	// Raising --max continues nothing: the checkpoint is complete.
	o.Max = 200
	if sum, err = Run(context.Background(), o); err != nil || sum.New != 0 {
		t.Fatalf("a second run wrote %d records (%v)", sum.New, err)
	}
}

// TestStdout harvests to a writer without a checkpoint.
func TestStdout(t *testing.T) {
	ts, e := demoServer(t)
	var buf bytes.Buffer
	sum, err := Run(context.Background(), Options{Client: client.New(client.Options{}), Request: client.Request{URL: ts.URL + "/dois"}, Dialect: "jsonapi", PageSize: 200, Stdout: &buf})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "out")
	os.WriteFile(path, buf.Bytes(), 0o644)
	demotest.ExactlyOnce(t, fileKeys(t, path, "id"), demotest.Keys(t, e, "dois", nil))
	if sum.Pages < 2 {
		t.Errorf("%d pages", sum.Pages)
	}
	if _, err := Run(context.Background(), Options{Client: client.New(client.Options{}), Request: client.Request{URL: ts.URL + "/dois"}, Checkpoint: path + ".cp"}); err == nil {
		t.Error("a checkpoint without an output file was accepted")
	}
}
