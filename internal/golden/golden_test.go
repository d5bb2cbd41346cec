package golden

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what Assert reports instead of
// failing the test that runs it.
type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	panic(r) // stands for runtime.Goexit: Fatalf does not return
}

// assert runs Assert on a recorder from dir, and reports what it said.
func assert(t *testing.T, dir, name string, got []byte) (failed bool, msg string) {
	t.Helper()
	t.Chdir(dir)
	r := &recorder{TB: t}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
		failed, msg = r.failed, r.msg
	}()
	Assert(r, name, got)
	return
}

func TestAssert(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "testdata"), 0o755); err != nil {
		t.Fatal(err)
	}
	want := "one\ntwo\nthree\nfour\nfive\nsix\n"
	if err := os.WriteFile(filepath.Join(dir, "testdata", "x.golden"), []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		got    string
		failed bool
		says   []string
	}{
		{want, false, nil},
		{"one\ntwo\nthree\nfour\nFIVE\nsix\n", true, []string{"line 5", "      2  two\n", "      4  four\n", "-     5  five\n+     5  FIVE", "testdata/x.golden", "-update"}},
		{strings.TrimSuffix(want, "\n"), true, []string{"line 6", `-     6  "six\n"`, `+     6  "six"`}},
		{want + "seven\n", true, []string{"line 7", "-     7  (end of file)\n+     7  seven"}},
		{strings.ReplaceAll(want, "\n", "\r\n"), true, []string{"line 1", `"one\n"`, `"one\r\n"`}},
		{"", true, []string{"line 1", "+     1  (end of file)"}},
	}
	for _, tt := range tests {
		failed, msg := assert(t, dir, "x", []byte(tt.got))
		if failed != tt.failed {
			t.Errorf("Assert(%q) failed=%v, want %v: %s", tt.got, failed, tt.failed, msg)
		}
		for _, s := range tt.says {
			if !strings.Contains(msg, s) {
				t.Errorf("Assert(%q) says\n%s\nwhich lacks %q", tt.got, msg, s)
			}
		}
		if strings.Contains(msg, "      1  one") {
			t.Errorf("Assert(%q) shows more than %d lines of context:\n%s", tt.got, contextLines, msg)
		}
	}
	if failed, msg := assert(t, dir, "missing", []byte("x")); !failed || !strings.Contains(msg, "-update") {
		t.Errorf("a missing golden file: failed=%v, %q", failed, msg)
	}
}

func TestUpdate(t *testing.T) {
	dir := t.TempDir()
	*update = true
	defer func() { *update = false }()
	for _, got := range []string{"no final newline", "", "a\r\nb\n\n"} {
		if failed, msg := assert(t, dir, "new", []byte(got)); failed {
			t.Fatalf("-update: %s", msg)
		}
		b, err := os.ReadFile(filepath.Join(dir, "testdata", "new.golden"))
		if err != nil || string(b) != got {
			t.Errorf("-update wrote %q, %v; want %q byte for byte", b, err, got)
		}
	}
}

func TestResponse(t *testing.T) {
	h := http.Header{}
	h.Set("Allow", "GET, HEAD")
	h.Set("X-Request-Id", "not recorded")
	h.Set("Content-Type", "application/json")
	h.Set("Retry-After", "1")
	got := string(Response{Method: "POST", Target: "/v1/items?a=b", Status: 405, Header: h, Body: []byte("{}\n")}.Bytes())
	want := "POST /v1/items?a=b\nstatus: 405\nContent-Type: application/json\nRetry-After: 1\nAllow: GET, HEAD\n\n{}\n"
	if got != want {
		t.Errorf("Bytes:\n%q\nwant\n%q", got, want)
	}
}

func TestJSON(t *testing.T) {
	if got := string(JSON(t, []byte(`{"a":[1,{"b":null}]}`+"\n"))); got != "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ]\n}\n" {
		t.Errorf("JSON = %q", got)
	}
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		JSON(r, []byte("<error/>"))
	}()
	if !r.failed || !strings.Contains(r.msg, "not JSON") {
		t.Errorf("a body that is not JSON: failed=%v %q", r.failed, r.msg)
	}
}
