package nginxtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocsQuoteTheConfig holds docs/SCALING.md to the file the tests run:
// it must quote docs/nginx/folio.conf whole, byte for byte, in an nginx
// code block.
func TestDocsQuoteTheConfig(t *testing.T) {
	conf := Config(t)
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "SCALING.md"))
	if err != nil {
		t.Fatal(err)
	}
	quoted := append(append([]byte("```nginx\n"), conf...), "```\n"...)
	if !bytes.Contains(doc, quoted) {
		t.Fatalf("docs/SCALING.md does not quote %s verbatim in a ```nginx block; paste the file's current text", ConfigPath)
	}
}

// TestRender checks the template mechanism on the repository's file and on
// texts it must refuse.
func TestRender(t *testing.T) {
	conf := Config(t)
	got, err := Render(conf, "127.0.0.1:9999", "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"    server 127.0.0.1:1 max_fails=1 fail_timeout=5s;\n    server 127.0.0.1:2 max_fails=1 fail_timeout=5s;\n    server 127.0.0.1:3 max_fails=1 fail_timeout=5s;\n    # The same",
		"    server 127.0.0.1:1 backup max_fails=0;\n    server 127.0.0.1:2 backup max_fails=0;\n    server 127.0.0.1:3 backup max_fails=0;\n    # Idle",
		"    listen 127.0.0.1:9999;\n",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("rendered config lacks %q:\n%s", want, got)
		}
	}
	for _, gone := range []string{"10.0.0.1", "listen 80;"} {
		if strings.Contains(string(got), gone) {
			t.Errorf("rendered config still holds %q:\n%s", gone, got)
		}
	}
	// Everything but the addresses is the file's.
	back := strings.NewReplacer(
		"    server 127.0.0.1:1 max_fails=1 fail_timeout=5s;\n    server 127.0.0.1:2 max_fails=1 fail_timeout=5s;\n    server 127.0.0.1:3 max_fails=1 fail_timeout=5s;\n",
		"    server 10.0.0.11:8080 max_fails=1 fail_timeout=5s;\n    server 10.0.0.12:8080 max_fails=1 fail_timeout=5s;\n",
		"    server 127.0.0.1:1 backup max_fails=0;\n    server 127.0.0.1:2 backup max_fails=0;\n    server 127.0.0.1:3 backup max_fails=0;\n",
		"    server 10.0.0.11:8080 backup max_fails=0;\n    server 10.0.0.12:8080 backup max_fails=0;\n",
		"listen 127.0.0.1:9999;", "listen 80;").Replace(string(got))
	if back != string(conf) {
		t.Errorf("Render changed more than the addresses:\n%s", got)
	}

	// Runs apart are each replaced; a single line is a run.
	two, err := Render([]byte("upstream folio {\n    server a:1 x;\n    keepalive 8;\n    server b:1 y;\n}\nserver {\n    listen 80;\n}\n"), "l:1", "n:1", "n:2")
	if err != nil {
		t.Fatal(err)
	}
	if want := "upstream folio {\n    server n:1 x;\n    server n:2 x;\n    keepalive 8;\n    server n:1 y;\n    server n:2 y;\n}\nserver {\n    listen l:1;\n}\n"; string(two) != want {
		t.Errorf("runs apart: got\n%s\nwant\n%s", two, want)
	}

	for _, c := range []struct{ name, conf string }{
		{"no upstream", "server {\n    listen 80;\n}\n"},
		{"no server line", "upstream folio {\n    keepalive 8;\n}\nserver {\n    listen 80;\n}\n"},
		{"two listens", "upstream folio {\n    server a:1;\n}\nserver {\n    listen 80;\n    listen 81;\n}\n"},
	} {
		if _, err := Render([]byte(c.conf), "127.0.0.1:1", "127.0.0.1:2"); err == nil {
			t.Errorf("%s: Render accepted\n%s", c.name, c.conf)
		}
	}
}

func TestWithoutKeepalive(t *testing.T) {
	got := string(WithoutKeepalive(t, Config(t)))
	for _, gone := range []string{"keepalive 32;", "keepalive_timeout 60s;", "proxy_http_version", `Connection ""`} {
		if strings.Contains(got, gone) {
			t.Errorf("still holds %q", gone)
		}
	}
}
