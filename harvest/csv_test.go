package harvest

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"folio/client"
)

func TestCSVTable(t *testing.T) {
	for _, c := range []struct {
		name  string
		pages [][]string
		want  string
		err   string
	}{
		{"flat", [][]string{{`{"a":1,"b":"x"}`, `{"a":2.50,"b":null}`}}, "a,b\n1,x\n2.50,\n", ""},
		{"nested and arrays", [][]string{{`{"id":"d1","attributes":{"title":"T","years":[2020, 2021],"x":{"y":true}}}`}},
			"id,attributes.title,attributes.years,attributes.x.y\nd1,T,\"[2020,2021]\",true\n", ""},
		{"quoting", [][]string{{`{"s":"a,b \"q\"\nline"}`}}, "s\n\"a,b \"\"q\"\"\nline\"\n", ""},
		{"columns are the first page's union", [][]string{{`{"a":1}`, `{"b":2}`}, {`{"b":3,"a":4}`, `{}`}}, "a,b\n1,\n,2\n4,3\n,\n", ""},
		{"big integers stay exact", [][]string{{`{"n":12345678901234567890123}`}}, "n\n12345678901234567890123\n", ""},
		{"a field the first page lacked", [][]string{{`{"a":1}`}, {`{"a":2,"c":3}`}}, "", `record 2 has the field "c"`},
		{"not an object", [][]string{{`[1,2]`}}, "", "JSON objects"},
		{"a dotted name beside a nested object", [][]string{{`{"a.b":1,"a":{"b":2}}`}}, "", `"a.b" occurs twice`},
	} {
		t.Run(c.name, func(t *testing.T) {
			tbl := newCSVTable(nil, true)
			var buf bytes.Buffer
			n := int64(1)
			var err error
			for _, p := range c.pages {
				recs := make([]client.Record, len(p))
				for i, r := range p {
					recs[i] = client.Record(r)
				}
				if err = tbl.appendPage(&buf, recs, n); err != nil {
					break
				}
				n += int64(len(p))
			}
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one saying %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if buf.String() != c.want {
				t.Errorf("got\n%s\nwant\n%s", buf.String(), c.want)
			}
		})
	}
}

// csvMatchesNDJSON checks a CSV harvest against the NDJSON harvest of the
// same request: one header, one row per record in the same order, and
// every cell the record's value at that (dotted) path.
func csvMatchesNDJSON(t *testing.T, csvPath, ndjsonPath string) int {
	t.Helper()
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s is not CSV: %v", csvPath, err)
	}
	raw, err := os.ReadFile(ndjsonPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n"))
	if len(rows) != len(lines)+1 {
		t.Fatalf("CSV has %d rows after the header, NDJSON %d records", len(rows)-1, len(lines))
	}
	header := rows[0]
	for i, line := range lines {
		var rec map[string]any
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&rec); err != nil {
			t.Fatal(err)
		}
		for j, col := range header {
			var v any = rec
			for _, part := range strings.Split(col, ".") {
				v = v.(map[string]any)[part]
			}
			var want string
			switch x := v.(type) {
			case nil:
			case string:
				want = x
			default:
				b, _ := json.Marshal(x)
				want = string(b)
			}
			if rows[i+1][j] != want {
				t.Fatalf("record %d, column %s: CSV %q, NDJSON %q", i+1, col, rows[i+1][j], want)
			}
		}
	}
	return len(lines)
}

// TestCSVHarvest harvests flat (native) and nested (JSON:API) records to
// CSV, and to CSV again after an interruption, and holds both against the
// NDJSON harvest of the same request.
func TestCSVHarvest(t *testing.T) {
	ts, _ := demoServer(t)
	for _, c := range []struct{ name, url string }{
		{"native", ts.URL + "/v1/entries?sort=-upload_create_time&elements[any]=O,Ti"},
		{"jsonapi", ts.URL + "/dois?page[cursor]=1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			o := Options{Client: client.New(client.Options{}), Request: client.Request{URL: c.url}, Dialect: "auto", PageSize: 50}
			nd := o
			nd.Out = filepath.Join(dir, "out.ndjson")
			if _, err := Run(context.Background(), nd); err != nil {
				t.Fatal(err)
			}
			plain := o
			plain.Out = filepath.Join(dir, "plain.csv")
			if _, err := Run(context.Background(), plain); err != nil {
				t.Fatal(err)
			}
			if n := csvMatchesNDJSON(t, plain.Out, nd.Out); n < 200 {
				t.Fatalf("only %d records: too few pages to test", n)
			}

			resumed := o
			resumed.Out = filepath.Join(dir, "resumed.csv")
			resumed.Checkpoint = filepath.Join(dir, "cp.json")
			ctx, cancel := context.WithCancel(context.Background())
			resumed.Progress = func(p Progress) {
				if p.Pages == 2 {
					cancel()
				}
			}
			if _, err := Run(ctx, resumed); err == nil {
				t.Fatal("the interrupted harvest succeeded")
			}
			resumed.Progress = nil
			if _, err := Run(context.Background(), resumed); err != nil {
				t.Fatal(err)
			}
			a, _ := os.ReadFile(plain.Out)
			b, _ := os.ReadFile(resumed.Out)
			if !bytes.Equal(a, b) {
				t.Error("the resumed CSV differs from the uninterrupted one")
			}
		})
	}
}

// TestParallelCSV: the parallel CSV harvest is the sequential one in key
// order, header once, byte for byte, also when resumed.
func TestParallelCSV(t *testing.T) {
	ts, _ := demoServer(t)
	dir := t.TempDir()
	u := ts.URL + "/v1/entries"
	seq := Options{Client: client.New(client.Options{}), Request: client.Request{URL: u + "?sort=entry_id"}, Dialect: "native", PageSize: 100, Out: filepath.Join(dir, "seq.csv")}
	if _, err := Run(context.Background(), seq); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(seq.Out)
	for _, interrupt := range []bool{false, true} {
		t.Run(fmt.Sprint("interrupted=", interrupt), func(t *testing.T) {
			par := Options{Client: client.New(client.Options{}), Request: client.Request{URL: u}, Dialect: "native", PageSize: 100,
				Out: filepath.Join(t.TempDir(), "par.csv")}
			if interrupt {
				par.Checkpoint = par.Out + ".checkpoint"
				ctx, cancel := context.WithCancel(context.Background())
				par.Progress = func(p Progress) {
					if p.Pages >= 5 {
						cancel()
					}
				}
				if _, err := RunParallel(ctx, par, 3); err == nil {
					t.Fatal("the interrupted harvest succeeded")
				}
				par.Progress = nil
			}
			if _, err := RunParallel(context.Background(), par, 3); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(par.Out)
			if !bytes.Equal(got, want) {
				t.Errorf("parallel CSV (%d bytes) differs from the sequential one (%d bytes)", len(got), len(want))
			}
		})
	}
}

// TestUnknownFormat is refused before any file is created or cut.
func TestUnknownFormat(t *testing.T) {
	dir := t.TempDir()
	o := Options{Client: client.New(client.Options{}), Request: client.Request{URL: "http://127.0.0.1:1/v1/entries"}, Dialect: "native",
		Out: filepath.Join(dir, "out.ndjson"), Checkpoint: filepath.Join(dir, "cp.json"), Format: "xlsx"}
	for name, run := range map[string]func() error{
		"sequential": func() error { _, err := Run(context.Background(), o); return err },
		"parallel":   func() error { _, err := RunParallel(context.Background(), o, 2); return err },
	} {
		if err := run(); err == nil || !strings.Contains(err.Error(), `unknown output format "xlsx"`) {
			t.Errorf("%s: error %v, want one naming the format", name, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s: files were created: %v", name, entries)
		}
	}
}
