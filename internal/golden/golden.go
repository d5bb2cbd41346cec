// Package golden holds a test's output against a file under testdata/ that
// records the expected bytes, and rewrites those files when the tests run
// with -update. Every package's golden files go through it, so that the
// flag, the form of a recorded HTTP response and the message on a mismatch
// are the same everywhere.
package golden

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update is the one -update flag of every test binary that has golden
// files: a flag lives at package level, where the testing package's flag
// parsing finds it.
var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with what the tests produce")

// Assert fails the test unless got is, byte for byte, the golden file
// called name: testdata/NAME.golden beside the test. With -update it writes
// got to that file instead. The file holds exactly got: no final newline
// is added or taken away, since whether output ends in one is part of what
// a golden file pins (NDJSON's last line, an XML document without one).
func Assert(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: the output differs from the golden file (go test -update rewrites it)\n%s", path, diff(got, want))
	}
}

// contextLines is how many equal lines diff shows before the first
// difference.
const contextLines = 3

// diff describes where got first departs from want: the line number, a few
// equal lines before it, then want's line (-) and got's (+). Lines that
// differ only in what cannot be seen (a carriage return, trailing space, a
// missing final newline) are quoted.
func diff(got, want []byte) string {
	g, w := lines(got), lines(want)
	i := 0
	for i < len(g) && i < len(w) && g[i] == w[i] {
		i++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "first difference at line %d (- golden file, %d bytes; + this run, %d bytes):\n", i+1, len(want), len(got))
	for j := max(0, i-contextLines); j < i; j++ {
		fmt.Fprintf(&b, "  %5d  %s\n", j+1, strings.TrimRight(g[j], "\r\n"))
	}
	wl, gl := "(end of file)", "(end of file)"
	if i < len(w) {
		wl = w[i]
	}
	if i < len(g) {
		gl = g[i]
	}
	if show(wl) == show(gl) {
		wl, gl = fmt.Sprintf("%q", wl), fmt.Sprintf("%q", gl)
	} else {
		wl, gl = show(wl), show(gl)
	}
	fmt.Fprintf(&b, "- %5d  %s\n+ %5d  %s", i+1, wl, i+1, gl)
	return b.String()
}

// lines splits b after each newline, keeping it, so that a line without
// its newline differs from one with it.
func lines(b []byte) []string {
	var out []string
	for len(b) > 0 {
		n := bytes.IndexByte(b, '\n') + 1
		if n == 0 {
			n = len(b)
		}
		out = append(out, string(b[:n]))
		b = b[n:]
	}
	return out
}

// show is a line as diff prints it, without its line ending.
func show(line string) string { return strings.TrimRight(line, "\r\n") }

// Response is an HTTP response as a golden file records it, with the
// request that asked for it.
type Response struct {
	Method string // the request's method
	Target string // the request's target: path and query
	Status int
	Header http.Header
	Body   []byte // recorded as it is; see JSON for a JSON body
}

// Bytes returns r as golden files hold a response: the request line, the
// status, each of Content-Type, Content-Disposition, Content-Length, Link,
// Vary, Retry-After and Allow that r sets, a blank line, then the body:
//
//	GET /v1/items?limit=3
//	status: 200
//	Content-Type: application/json
//
//	{ ...
func (r Response) Bytes() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s\nstatus: %d\n", r.Method, r.Target, r.Status)
	// The headers that say how to read the body or what a client may do
	// next, in a fixed order.
	for _, k := range []string{"Content-Type", "Content-Disposition", "Content-Length", "Link", "Vary", "Retry-After", "Allow"} {
		if v := r.Header.Get(k); v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	b.WriteString("\n")
	b.Write(r.Body)
	return b.Bytes()
}

// JSON returns body, which must be JSON, indented by two spaces: a golden
// file holds one value a line, so that a diff names the field that
// changed. A body that is not JSON fails the test.
func JSON(t testing.TB, body []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, body, "", "  "); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	return b.Bytes()
}
