package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serving is a folio serve process a test started.
type serving struct {
	public string // http://host:port
	admin  string // http://host:port, when --admin-addr was given
	stderr *syncBuffer
	proc   *os.Process
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	servingLine = regexp.MustCompile(`^folio is serving .* on (http://\S+)$`)
	metricsLine = regexp.MustCompile(`^metrics on (http://[^/\s]+)/metrics`)
)

// startServe runs bin with args (folio serve and its flags) in env, waits
// up to wait for it to say where it serves, and stops it with SIGTERM when
// the test ends, expecting a clean exit.
func startServe(t *testing.T, bin string, env []string, wait time.Duration, args ...string) *serving {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	s := &serving{stderr: &syncBuffer{}}
	cmd.Stderr = s.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.proc = cmd.Process
	exited := make(chan error, 1)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
	}()
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("folio serve did not exit cleanly: %v\n%s", err, s.stderr)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Errorf("folio serve did not stop within 30 s of SIGTERM")
		}
	})
	deadline := time.After(wait)
	for s.public == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("folio serve ended before serving:\n%s", s.stderr)
			}
			if m := metricsLine.FindStringSubmatch(line); m != nil {
				s.admin = m[1]
			}
			if m := servingLine.FindStringSubmatch(line); m != nil {
				s.public = m[1]
			}
		case <-deadline:
			t.Fatalf("folio serve did not serve within %s:\n%s", wait, s.stderr)
		}
	}
	go func() {
		for range lines {
		}
	}()
	return s
}

// get returns the status and body of a GET of url.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestServeAdminAddr: folio serve --admin-addr serves metrics and the
// profiler there and not on the public address, and the metrics see the
// requests, rows and queries the public address answered.
func TestServeAdminAddr(t *testing.T) {
	db := filepath.Join(t.TempDir(), "small.sqlite")
	if code, _, stderr := runFolio(t, nil, "demo", "--db", db, "--rows", "300"); code != 0 {
		t.Fatalf("folio demo: %s", stderr)
	}
	s := startServe(t, folioBinary(t), append(os.Environ(), "FOLIO_LOG_FORMAT=json"), time.Minute,
		"serve", "--db", db, "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0")
	if s.admin == "" {
		t.Fatal("folio serve did not say where its metrics are")
	}
	for range 3 {
		if code, body := get(t, s.public+"/v1/dois?limit=4&cursor_not_a_param=1"); code != 400 {
			t.Fatalf("a bad parameter: %d %s", code, body)
		}
		if code, body := get(t, s.public+"/v1/dois?limit=4"); code != 200 {
			t.Fatalf("/v1/dois: %d %s", code, body)
		}
	}
	for _, target := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/cmdline"} {
		if code, _ := get(t, s.public+target); code != 404 {
			t.Errorf("public %s: %d, want 404", target, code)
		}
	}
	if code, body := get(t, s.admin+"/debug/pprof/cmdline"); code != 200 || !strings.Contains(body, "serve") {
		t.Errorf("admin /debug/pprof/cmdline: %d %q", code, body)
	}
	code, metrics := get(t, s.admin+"/metrics")
	if code != 200 {
		t.Fatalf("admin /metrics: %d", code)
	}
	for _, want := range []string{
		`folio_http_requests_total{code="200",dialect="native",method="GET",route="/v1/"} 3`,
		`folio_http_requests_total{code="400",dialect="native",method="GET",route="/v1/"} 3`,
		// the first page read the database, the two after it came from the page cache
		`folio_rows_sent_total{dialect="native",route="/v1/"} 12`,
		`folio_page_cache_hits_total 2`,
		`folio_query_duration_seconds_count{collection="dois",read="page"} 1`,
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// The access log is JSON, one object a line, with the query string.
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(s.stderr.String(), `"query":"limit=4"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no JSON access log line with the query in:\n%s", s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dockerfile is what TestDockerfile reads from the Dockerfile: the build
// stage's go build command and environment, the binary's path in the
// runtime image, and how the image runs it.
type dockerfile struct {
	buildEnv   []string // VAR=value before go build
	buildArgs  []string // go build's arguments
	out        string   // go build's -o
	copyTo     string   // where the runtime stage copies out to
	env        []string // the runtime stage's ENV
	volume     string
	expose     string
	user       string
	entrypoint []string
	cmd        []string
}

// words splits a shell word list with single and double quotes, as the
// RUN line's shell does for the forms the Dockerfile uses.
func words(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed quote in %q", s)
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

// jsonArray reads an exec-form instruction's ["a", "b"].
func jsonArray(s string) []string {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	var out []string
	for _, part := range strings.Split(s, ",") {
		out = append(out, strings.Trim(strings.TrimSpace(part), `"`))
	}
	return out
}

func readDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	stage := 0
	for _, line := range strings.Split(string(b), "\n") {
		instr, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch instr {
		case "FROM":
			stage++
		case "RUN":
			ws, err := words(rest)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(ws); i++ {
				if ws[i] == "go" && ws[i+1] == "build" {
					d.buildEnv, d.buildArgs = ws[:i], ws[i+2:]
					break
				}
			}
		case "COPY":
			if ws, _ := words(rest); stage == 2 && len(ws) == 3 && strings.HasPrefix(ws[0], "--from=") {
				d.copyTo = ws[2]
				if ws[1] != d.out {
					t.Errorf("the runtime stage copies %s, the build writes %s", ws[1], d.out)
				}
			}
		case "ENV":
			if stage == 2 {
				d.env = append(d.env, rest)
			}
		case "VOLUME":
			d.volume = rest
		case "EXPOSE":
			d.expose = rest
		case "USER":
			d.user = rest
		case "ENTRYPOINT":
			d.entrypoint = jsonArray(rest)
		case "CMD":
			d.cmd = jsonArray(rest)
		}
		for i, a := range d.buildArgs {
			if a == "-o" && i+1 < len(d.buildArgs) && d.out == "" {
				d.out = d.buildArgs[i+1]
			}
		}
	}
	if d.buildArgs == nil || d.out == "" || d.copyTo == "" || d.volume == "" || d.entrypoint == nil || d.cmd == nil {
		t.Fatalf("Dockerfile: did not find the go build, its output, the COPY, VOLUME, ENTRYPOINT and CMD: %+v", d)
	}
	return d
}

// TestDockerfile builds folio exactly as the Dockerfile's build stage does
// (its go build line, environment and flags, read from the file) and runs
// it as the image does: its ENTRYPOINT and CMD, its ENV with the volume
// at a temporary directory, and the published port at a free one on
// loopback. On first run the demo database is built into the volume and
// served; the image's user is not root and its port is the one it exposes.
func TestDockerfile(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	d := readDockerfile(t, filepath.Join(root, "Dockerfile"))
	if d.user == "" || strings.HasPrefix(d.user, "root") || strings.HasPrefix(d.user, "0") {
		t.Errorf("the image runs as %q, want a user that is not root", d.user)
	}
	if d.entrypoint[0] != d.copyTo {
		t.Errorf("ENTRYPOINT runs %s, the binary is at %s", d.entrypoint[0], d.copyTo)
	}
	addr := -1
	for i, a := range d.cmd {
		if a == "--addr" && i+1 < len(d.cmd) {
			addr = i + 1
		}
	}
	if addr < 0 || d.cmd[addr] != "0.0.0.0:"+d.expose {
		t.Fatalf("CMD %v does not listen on every interface at the exposed port %s", d.cmd, d.expose)
	}

	bin := filepath.Join(t.TempDir(), "folio")
	args := append([]string{"build"}, d.buildArgs...)
	for i, a := range args {
		if a == "-o" {
			args[i+1] = bin
		}
	}
	build := exec.Command("go", args...)
	build.Dir = root
	build.Env = append(os.Environ(), d.buildEnv...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, out)
	}

	volume := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + volume}
	for _, e := range d.env {
		k, v, _ := strings.Cut(e, "=")
		if v == d.volume || strings.HasPrefix(v, d.volume+"/") {
			v = volume + strings.TrimPrefix(v, d.volume)
		}
		env = append(env, k+"="+v)
	}
	run := append([]string{}, d.entrypoint[1:]...)
	run = append(run, d.cmd...)
	run[len(d.entrypoint)-1+addr] = "127.0.0.1:0" // docker run -p publishes the port
	s := startServe(t, bin, env, 5*time.Minute, run...)
	if !strings.Contains(s.stderr.String(), "building the demo database at "+volume) {
		t.Errorf("the demo was not built into the volume:\n%s", s.stderr)
	}
	if code, body := get(t, s.public+"/v1/entries?limit=2"); code != 200 || !strings.Contains(body, `"entry_id"`) {
		t.Errorf("/v1/entries: %d %.200s", code, body)
	}
	if code, _ := get(t, s.public+"/readyz"); code != 200 {
		t.Errorf("/readyz: %d", code)
	}
	matches, _ := filepath.Glob(filepath.Join(volume, "folio", "demo-v*.sqlite"))
	if len(matches) != 1 {
		t.Errorf("the volume holds %v, want one demo database", matches)
	}
}
