// Package nginxtest runs Debian's nginx for tests and benchmarks, in front
// of folio nodes, with the configuration docs/SCALING.md gives operators:
// the one file docs/nginx/folio.conf, read as it is in the repository, with
// only its addresses replaced (see Render). Each nginx listens on a free
// loopback port and is stopped when the test ends.
package nginxtest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// ConfigPath is the configuration's path inside the repository.
const ConfigPath = "docs/nginx/folio.conf"

// Config returns the text of docs/nginx/folio.conf, found by walking up
// from the working directory (a package's directory under go test) to the
// module's root.
func Config(t testing.TB) []byte {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("nginxtest: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(root, ConfigPath))
	if err != nil {
		t.Fatalf("nginxtest: %v", err)
	}
	return b
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = up
	}
}

var (
	// An upstream's server line: indentation, address, the rest.
	serverLine = regexp.MustCompile(`(?m)^([ \t]*)server[ \t]+(\S+)([^\n]*;)[ \t]*\n`)
	listenLine = regexp.MustCompile(`(?m)^([ \t]*)listen[ \t]+[^;\n]+;`)
	upstream   = regexp.MustCompile(`(?s)upstream[ \t]+\w+[ \t]*\{.*?\n\}`)
)

// Render is the template mechanism, and all of it: in conf (the text of
// docs/nginx/folio.conf), each run of consecutive server lines in the
// upstream block is replaced by one line per address in upstreams, each
// keeping the parameters after the address of the run's first line
// (max_fails=1 fail_timeout=5s; backup max_fails=0), and the one listen
// directive's address by listen. Nothing else changes. It fails when the
// text does not have that shape, so that a change to the file the tests
// could no longer run shows at once.
func Render(conf []byte, listen string, upstreams ...string) ([]byte, error) {
	if len(upstreams) == 0 {
		return nil, fmt.Errorf("no upstream address")
	}
	blocks := upstream.FindAllIndex(conf, -1)
	if len(blocks) != 1 {
		return nil, fmt.Errorf("%s: want one upstream block, found %d", ConfigPath, len(blocks))
	}
	from, to := blocks[0][0], blocks[0][1]
	block := conf[from:to]
	lines := serverLine.FindAllSubmatchIndex(block, -1)
	if len(lines) == 0 {
		return nil, fmt.Errorf("%s: the upstream block has no server line", ConfigPath)
	}
	var b bytes.Buffer
	b.Write(conf[:from])
	at := 0
	for i, l := range lines {
		if i > 0 && l[0] == lines[i-1][1] {
			continue // the run goes on
		}
		b.Write(block[at:l[0]])
		indent, rest := block[l[2]:l[3]], block[l[6]:l[7]]
		for _, u := range upstreams {
			fmt.Fprintf(&b, "%sserver %s%s\n", indent, u, rest)
		}
		at = l[1]
		for _, m := range lines[i+1:] {
			if m[0] != at {
				break
			}
			at = m[1]
		}
	}
	b.Write(block[at:])
	b.Write(conf[to:])
	out := b.Bytes()
	listens := listenLine.FindAllSubmatchIndex(out, -1)
	if len(listens) != 1 {
		return nil, fmt.Errorf("%s: want one listen directive, found %d", ConfigPath, len(listens))
	}
	l := listens[0]
	var r bytes.Buffer
	r.Write(out[:l[0]])
	fmt.Fprintf(&r, "%slisten %s;", out[l[2]:l[3]], listen)
	r.Write(out[l[1]:])
	return r.Bytes(), nil
}

// Start runs nginx with docs/nginx/folio.conf in front of the nodes at
// upstreams (host:port) and returns nginx's base URL.
func Start(t testing.TB, upstreams ...string) string {
	t.Helper()
	return StartConfig(t, Config(t), upstreams...)
}

// StartConfig is Start with the configuration's text given: a benchmark
// compares the file with a variant of it (see WithoutKeepalive).
func StartConfig(t testing.TB, conf []byte, upstreams ...string) string {
	t.Helper()
	// The site goes into a process of nginx's own as Debian includes
	// conf.d into the http context; Run supplies the rest.
	return "http://" + Run(t, func(port int) string {
		site, err := Render(conf, fmt.Sprintf("127.0.0.1:%d", port), upstreams...)
		if err != nil {
			t.Fatalf("nginxtest: %v", err)
		}
		return string(site)
	})
}

// keepaliveLines are the directives that keep connections to the nodes
// open; WithoutKeepalive removes them.
var keepaliveLines = regexp.MustCompile(`(?m)^[ \t]*(keepalive|keepalive_timeout|proxy_http_version|proxy_set_header[ \t]+Connection)[ \t][^\n]*\n`)

// WithoutKeepalive returns conf without its upstream keepalive (nginx's
// default: a new HTTP/1.0 connection to a node for every request), for a
// benchmark to measure what keepalive buys.
func WithoutKeepalive(t testing.TB, conf []byte) []byte {
	t.Helper()
	if n := len(keepaliveLines.FindAll(conf, -1)); n != 4 {
		t.Fatalf("nginxtest: %s: want 4 keepalive directives, found %d", ConfigPath, n)
	}
	return keepaliveLines.ReplaceAll(conf, nil)
}
