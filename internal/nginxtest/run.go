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

// Run runs Debian's nginx with a configuration of the test's own: body
// is the inside of the http block (upstreams and servers), given the port
// nginx is to listen on at 127.0.0.1; Run supplies the rest (process,
// logs, temporary paths). It returns nginx's address, host:port, and
// stops nginx when the test ends.
func Run(t testing.TB, body func(port int) string) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("nginx is not installed: run `apt-get install -y nginx` (.ci/run installs it)")
		}
	}
	dir := t.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // else the workers run as nobody, who may not read dir
	}
	for attempt := 1; attempt <= 3; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		conf := filepath.Join(dir, "nginx.conf")
		text := fmt.Sprintf("%sdaemon off;\nmaster_process on;\nworker_processes 1;\nerror_log %[2]s/error.log;\npid %[2]s/nginx.pid;\nevents {}\n"+
			"http {\n  access_log off;\n  client_body_temp_path %[2]s/client_body;\n  proxy_temp_path %[2]s/proxy;\n  fastcgi_temp_path %[2]s/fastcgi;\n"+
			"  uwsgi_temp_path %[2]s/uwsgi;\n  scgi_temp_path %[2]s/scgi;\n%[3]s\n}\n", user, dir, body(port))
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
			_ = cmd.Process.Signal(syscall.SIGTERM) // the master stops its workers first
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if up(addr, exited) {
			t.Cleanup(stop)
			return addr
		}
		select {
		case <-exited: // most likely another program took the port: try another
		default:
			stop()
		}
		if attempt == 3 {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx does not answer on %s: %s %s", addr, out, log)
		}
	}
	return ""
}

// up waits up to 15 seconds for addr to accept a connection, or for nginx
// to exit.
func up(addr string, exited <-chan struct{}) bool {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return true
		}
		select {
		case <-exited:
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return false
}
