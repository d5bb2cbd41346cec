package export

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"folio/dataset"
	"folio/engine"
	"folio/internal/demodb"
	"folio/internal/fulldisk"
	"folio/internal/golden"
	"folio/source/sqlite"
)

// thing is one row of the test collection "things".
type thing struct {
	id    int64
	name  any // string or nil
	score any // float64 or nil
	tags  any // JSON text or nil
	at    time.Time
	ok    bool
	raw   any // []byte or nil
}

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// things holds what CSV and JSON writers get wrong: commas, quotes, CR and
// LF, leading spaces, unicode, empty strings, NULLs of every type, floats
// that need an exponent, JSON arrays with commas and quotes inside.
var things = []thing{
	{1, "plain", 1.5, `["a","b"]`, t0, true, nil},
	{2, "comma, separated", 0.1, `["x,y"]`, t0.Add(1500 * time.Millisecond), false, []byte{0, 1, 0xfe, 0xff}},
	{3, `say "hi"`, -0.25, `[]`, t0.Add(time.Microsecond), true, nil},
	{4, "line\nbreak\r\nand CRLF", 1e21, `["Ti","O"]`, t0.Add(time.Hour), false, []byte("x")},
	{5, "Ünïcødé ☃ 𝄞 日本", nil, nil, t0.Add(2 * time.Hour), true, nil},
	{6, "", 3.0, `[1,2.5,"q\"uote, x"]`, t0.Add(3 * time.Hour), false, nil},
	{7, nil, 1e-7, `[null]`, t0.Add(4 * time.Hour), true, []byte{}},
	{8, " leading space", 123456.789, `["tab\there"]`, t0.Add(5 * time.Hour), false, nil},
}

func newEngine(tb testing.TB, ts []thing) (*engine.Engine, *engine.Collection) {
	tb.Helper()
	ctx := context.Background()
	table := &dataset.Table{
		Name: "things",
		Columns: []dataset.Column{
			{Name: "id", Type: engine.TypeInt},
			{Name: "name", Type: engine.TypeText, Nullable: true},
			{Name: "score", Type: engine.TypeFloat, Nullable: true},
			{Name: "tags", Type: engine.TypeJSON, Nullable: true},
			{Name: "at", Type: engine.TypeTime},
			{Name: "ok", Type: engine.TypeBool},
			{Name: "raw", Type: engine.TypeBytes, Nullable: true},
		},
		Key: []string{"id"},
		Len: len(ts),
		Rows: func(yield func([]engine.Value) bool) {
			for _, t := range ts {
				if !yield([]engine.Value{t.id, t.name, t.score, t.tags, t.at, t.ok, t.raw}) {
					return
				}
			}
		},
	}
	path := filepath.Join(tb.TempDir(), "things.sqlite")
	if err := sqlite.Load(ctx, path, []*dataset.Table{table}, nil); err != nil {
		tb.Fatal(err)
	}
	e := demodb.Open(tb, path, nil)
	c, err := e.Collection("things")
	if err != nil {
		tb.Fatal(err)
	}
	return e, c
}

func write(t *testing.T, e *engine.Engine, r Request) []byte {
	t.Helper()
	var b bytes.Buffer
	n, err := Write(context.Background(), e, r, &b)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Count(b.String(), "\n"); r.Format == NDJSON && int(n) != want {
		t.Errorf("Write reports %d rows, wrote %d lines", n, want)
	}
	return b.Bytes()
}

// TestGolden pins the bytes of each format.
func TestGolden(t *testing.T) {
	e, c := newEngine(t, things)
	tests := []struct {
		name string
		r    Request
	}{
		{"things.ndjson", Request{Collection: c, Format: NDJSON}},
		{"things.csv", Request{Collection: c, Format: CSV}},
		{"things.json", Request{Collection: c, Format: JSON}},
		{"query.csv", Request{Collection: c, Format: CSV, Limit: 3, Query: engine.Query{
			Sort:    engine.Sort{{Field: "score", Desc: true}},
			Fields:  []string{"name", "score"},
			Filters: []engine.Filter{{Field: "ok", Op: engine.OpEq, Values: []engine.Value{"true"}}},
		}}},
		{"empty.csv", Request{Collection: c, Format: CSV, Query: engine.Query{Filters: []engine.Filter{{Field: "id", Op: engine.OpGt, Values: []engine.Value{"99"}}}}}},
		{"empty.json", Request{Collection: c, Format: JSON, Query: engine.Query{Filters: []engine.Filter{{Field: "id", Op: engine.OpGt, Values: []engine.Value{"99"}}}}}},
		{"empty.ndjson", Request{Collection: c, Format: NDJSON, Query: engine.Query{Filters: []engine.Filter{{Field: "id", Op: engine.OpGt, Values: []engine.Value{"99"}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden.Assert(t, tt.name, write(t, e, tt.r))
		})
	}
}

// cells is how a thing reads in CSV: NULL empty, times RFC 3339, bytes
// base64url, JSON as its text.
func (th thing) cells() []string {
	text := func(v any) string {
		switch x := v.(type) {
		case nil:
			return ""
		case string:
			return x
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64)
		case []byte:
			return base64.RawURLEncoding.EncodeToString(x)
		}
		panic(v)
	}
	return []string{strconv.FormatInt(th.id, 10), text(th.name), text(th.score), text(th.tags), th.at.Format(time.RFC3339Nano), strconv.FormatBool(th.ok), text(th.raw)}
}

// TestCSVReadsBack: encoding/csv, strict, reads the same cells back.
func TestCSVReadsBack(t *testing.T) {
	e, c := newEngine(t, things)
	out := write(t, e, Request{Collection: c, Format: CSV})
	if !bytes.HasSuffix(out, []byte("\r\n")) || bytes.Count(out, []byte("\r\n")) < len(things)+1 {
		t.Errorf("records do not end in CRLF:\n%q", out)
	}
	r := csv.NewReader(bytes.NewReader(out))
	r.FieldsPerRecord = 7
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, out)
	}
	if want := []string{"id", "name", "score", "tags", "at", "ok", "raw"}; strings.Join(recs[0], "|") != strings.Join(want, "|") {
		t.Errorf("header %q, want %q", recs[0], want)
	}
	if len(recs) != len(things)+1 {
		t.Fatalf("%d records, want %d", len(recs), len(things)+1)
	}
	for i, th := range things {
		want := th.cells()
		// encoding/csv turns \r\n inside a quoted field into \n.
		want[1] = strings.ReplaceAll(want[1], "\r\n", "\n")
		for j := range want {
			if recs[i+1][j] != want[j] {
				t.Errorf("row %d cell %d: %q, want %q", th.id, j, recs[i+1][j], want[j])
			}
		}
	}
}

// record is a thing as JSON carries it.
type record struct {
	ID    int64           `json:"id"`
	Name  *string         `json:"name"`
	Score *float64        `json:"score"`
	Tags  json.RawMessage `json:"tags"`
	At    time.Time       `json:"at"`
	OK    bool            `json:"ok"`
	Raw   *string         `json:"raw"`
}

func (rec record) check(t *testing.T, th thing) {
	t.Helper()
	if rec.ID != th.id || !rec.At.Equal(th.at) || rec.OK != th.ok {
		t.Errorf("row %d read back as %+v", th.id, rec)
	}
	if (rec.Name == nil) != (th.name == nil) || rec.Name != nil && *rec.Name != th.name {
		t.Errorf("row %d name %v, want %q", th.id, rec.Name, th.name)
	}
	if (rec.Score == nil) != (th.score == nil) || rec.Score != nil && *rec.Score != th.score {
		t.Errorf("row %d score %v, want %v", th.id, rec.Score, th.score)
	}
	want := "null"
	if th.tags != nil {
		want = th.tags.(string)
	}
	if string(rec.Tags) != want {
		t.Errorf("row %d tags %s, want %s", th.id, rec.Tags, want)
	}
	if (rec.Raw == nil) != (th.raw == nil) {
		t.Errorf("row %d raw %v, want %v", th.id, rec.Raw, th.raw)
	} else if rec.Raw != nil {
		if b, err := base64.RawURLEncoding.DecodeString(*rec.Raw); err != nil || !bytes.Equal(b, th.raw.([]byte)) {
			t.Errorf("row %d raw %q, want %x", th.id, *rec.Raw, th.raw)
		}
	}
}

// TestNDJSONLines: every line is one JSON object, holding the row exactly.
func TestNDJSONLines(t *testing.T) {
	e, c := newEngine(t, things)
	out := write(t, e, Request{Collection: c, Format: NDJSON})
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(things) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(things), out)
	}
	for i, line := range lines {
		var rec record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, line)
		}
		rec.check(t, things[i])
	}
}

// TestJSONArray: the JSON format is one array holding every row.
func TestJSONArray(t *testing.T) {
	e, c := newEngine(t, things)
	var recs []record
	if out := write(t, e, Request{Collection: c, Format: JSON}); json.Unmarshal(out, &recs) != nil {
		t.Fatalf("not a JSON array:\n%s", out)
	}
	if len(recs) != len(things) {
		t.Fatalf("%d rows, want %d", len(recs), len(things))
	}
	for i, rec := range recs {
		rec.check(t, things[i])
	}
}

// TestQuery: filters, sort, projection and limit apply as in a page.
func TestQuery(t *testing.T) {
	e, c := newEngine(t, things)
	tests := []struct {
		q     engine.Query
		limit int
		want  string
	}{
		{engine.Query{Sort: engine.Sort{{Field: "score"}}, Fields: []string{"score"}}, 0,
			`[{"id":3,"score":-0.25},{"id":7,"score":1e-07},{"id":2,"score":0.1},{"id":1,"score":1.5},{"id":6,"score":3},{"id":8,"score":123456.789},{"id":4,"score":1e+21},{"id":5,"score":null}]`},
		{engine.Query{Filters: []engine.Filter{{Field: "tags", Op: engine.OpAny, Values: []engine.Value{"Ti", "b"}}}, Fields: []string{"ok"}}, 0,
			`[{"id":1,"ok":true},{"id":4,"ok":false}]`},
		{engine.Query{Sort: engine.Sort{{Field: "at", Desc: true}}, Fields: []string{"id"}}, 2,
			`[{"id":8},{"id":7}]`},
	}
	for _, tt := range tests {
		out := write(t, e, Request{Collection: c, Format: JSON, Query: tt.q, Limit: tt.limit})
		var compact bytes.Buffer
		if err := json.Compact(&compact, out); err != nil {
			t.Fatal(err)
		}
		if compact.String() != tt.want {
			t.Errorf("%+v limit %d:\n%s\nwant\n%s", tt.q, tt.limit, compact.String(), tt.want)
		}
	}
	_, err := Write(context.Background(), e, Request{Collection: c, Format: CSV, Query: engine.Query{Sort: engine.Sort{{Field: "nope"}}}}, &bytes.Buffer{})
	if e, ok := engine.AsError(err); !ok || e.Param != engine.ParamSort {
		t.Errorf("unknown sort field: %v, want an engine error naming sort", err)
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range Formats {
		if g, err := ParseFormat(string(f)); err != nil || g != f {
			t.Errorf("ParseFormat(%q) = %q, %v", f, g, err)
		}
	}
	for _, s := range []string{"", "CSV", "xml", "nd-json"} {
		if _, err := ParseFormat(s); err == nil {
			t.Errorf("ParseFormat(%q) accepted", s)
		}
	}
}

// manyThings repeats things as n rows, keys 1 to n: more than fits in
// the writer's buffer.
func manyThings(n int) []thing {
	many := make([]thing, n)
	for i := range many {
		many[i] = things[i%len(things)]
		many[i].id = int64(i + 1)
	}
	return many
}

// failWriter fails every write.
type failWriter struct{ writes int }

var errDiskFull = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) { w.writes++; return 0, errDiskFull }

// TestWriteError: an error of the output stops the query and is returned.
func TestWriteError(t *testing.T) {
	many := manyThings(20000)
	e, c := newEngine(t, many)
	w := &failWriter{}
	var seen int64
	n, err := Write(context.Background(), e, Request{Collection: c, Format: NDJSON, Progress: func(n int64) { seen = n }}, w)
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("error %v, want the writer's", err)
	}
	if e, ok := engine.AsError(err); ok {
		t.Errorf("the writer's error came back as the engine's %q (%v)", e.Code, err)
	}
	if w.writes != 1 || n >= int64(len(many)) || seen >= int64(len(many)) {
		t.Errorf("the export went on after the output failed: %d writes, %d rows", w.writes, n)
	}
}

// TestWriteFile: the file appears whole when the export completes, and an
// interrupted export leaves neither a partial file nor a temporary one,
// and leaves an existing file as it was.
func TestWriteFile(t *testing.T) {
	many := manyThings(20000)
	e, c := newEngine(t, many)
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	r := Request{Collection: c, Format: CSV}
	n, err := WriteFile(context.Background(), e, r, path)
	if err != nil || n != int64(len(many)) {
		t.Fatalf("WriteFile: %d rows, %v", n, err)
	}
	want := write(t, e, r)
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the file differs from Write's output (%d bytes, want %d), %v", len(got), len(want), err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("file mode %v, %v", fi.Mode(), err)
	}

	// Interrupted halfway, as by Ctrl-C, over the complete file.
	ctx, cancel := context.WithCancel(context.Background())
	r.Format = NDJSON
	r.Progress = func(n int64) {
		if n >= 8192 {
			cancel()
		}
	}
	if _, err := WriteFile(ctx, e, r, path); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted WriteFile: %v, want a cancellation", err)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
		t.Errorf("the interrupted export changed the existing file (%d bytes), %v", len(got), err)
	}
	os.Remove(path)
	if _, err := WriteFile(ctx, e, r, path); err == nil {
		t.Fatal("WriteFile with a cancelled context succeeded")
	}
	entries, _ := os.ReadDir(dir)
	for _, en := range entries {
		t.Errorf("left behind: %s", en.Name())
	}
	if _, err := WriteFile(context.Background(), e, r, filepath.Join(dir, "no", "such", "dir.csv")); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
}

func TestEstimate(t *testing.T) {
	e, c := newEngine(t, things)
	for _, tt := range []struct {
		limit int
		want  int64
	}{{0, int64(len(things))}, {3, 3}} {
		n, err := Estimate(context.Background(), e, Request{Collection: c, Limit: tt.limit})
		if err != nil || n != tt.want {
			t.Errorf("Estimate limit %d: %d, %v; want %d", tt.limit, n, err, tt.want)
		}
	}
}

// TestFullDisk: an export to a full disk says so, as the operating system
// put it, and is not mistaken for the database failing; WriteFile leaves
// nothing behind on the full filesystem.
func TestFullDisk(t *testing.T) {
	many := manyThings(20000)
	e, c := newEngine(t, many)
	r := Request{Collection: c, Format: NDJSON}
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "no space left on device") {
			t.Errorf("%s: %v, want no space left on device", what, err)
		}
		if e, ok := engine.AsError(err); ok {
			t.Errorf("%s: the full disk came back as the engine's %q (%v)", what, e.Code, err)
		}
	}

	// Standard output on a full device: /dev/full fails every write with
	// ENOSPC, as the kernel reports it.
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	_, err = Write(context.Background(), e, r, full)
	check("Write to /dev/full", err)

	dir, err := fulldisk.Mount(t, 256<<10)
	if err != nil {
		// No tmpfs here (not root): a writer that fails as a full disk does.
		t.Logf("no tmpfs (%v): the disk fills up in a simulated writer", err)
		_, err = Write(context.Background(), e, r, fulldisk.New(100000).Writer(io.Discard))
		check("Write to a writer that fills up", err)
		return
	}
	path := filepath.Join(dir, "out.ndjson")
	_, err = WriteFile(context.Background(), e, r, path)
	check("WriteFile to a full tmpfs", err)
	entries, _ := os.ReadDir(dir)
	for _, en := range entries {
		t.Errorf("left behind on the full disk: %s", en.Name())
	}
}
