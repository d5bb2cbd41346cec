// Package nginxtest runs Debian's nginx for tests: a round-robin proxy in
// front of folio nodes, on a free loopback port, stopped when the test ends.
package nginxtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Start runs Debian's nginx in front of the nodes, round-robining
// between them and passing a request on to the other node when one fails.
// It returns nginx's base URL.
func Start(t testing.TB, upstreams ...string) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("nginx is not installed: run `apt-get install -y nginx` (.ci/run installs it)")
		}
	}
	dir := t.TempDir()
	var servers strings.Builder
	for _, u := range upstreams {
		fmt.Fprintf(&servers, "    server %s max_fails=1 fail_timeout=1s;\n", u)
	}
	user := ""
	if os.Geteuid() == 0 {
		// Otherwise the workers run as nobody, who may not read the
		// temporary directory.
		user = "user root;\n"
	}
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(dir, "nginx.conf")
		text := fmt.Sprintf(`%sdaemon off;
master_process on;
worker_processes 1;
error_log %[2]s/error.log;
pid %[2]s/nginx.pid;
events {}
http {
  access_log off;
  client_body_temp_path %[2]s/client_body;
  proxy_temp_path %[2]s/proxy;
  fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi;
  scgi_temp_path %[2]s/scgi;
  upstream folio {
%[3]s  }
  server {
    listen 127.0.0.1:%[4]d;
    location / {
      proxy_pass http://folio;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_set_header Host $host:$server_port;
    }
  }
}
`, user, dir, servers.String(), port)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-c", conf, "-p", dir+"/", "-e", filepath.Join(dir, "error.log"))
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start nginx: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		stop := func() {
			// SIGTERM makes the master stop its workers before it exits.
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		deadline := time.Now().Add(15 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				t.Cleanup(stop)
				return "http://" + addr
			}
			select {
			case <-exited:
				log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
				if attempt < 3 {
					break // another program took the port: try another
				}
				t.Fatalf("nginx exited: %s %s", out, log)
			case <-time.After(50 * time.Millisecond):
				if time.Now().After(deadline) {
					stop()
					log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
					t.Fatalf("nginx does not answer on %s: %s %s", addr, out, log)
				}
				continue
			}
			break
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
