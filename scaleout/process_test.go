package scaleout

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds the folio command built for this test binary; TestMain
// removes it.
var binDir = sync.OnceValues(func() (string, error) { return os.MkdirTemp("", "scaleout-folio-") })

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := binDir(); err == nil {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// folioBinary builds the folio command once per test binary (with the race
// detector when the tests run with it, so that the build reuses their
// compiled packages) and returns its path.
var folioBinary = sync.OnceValues(func() (string, error) {
	dir, err := binDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "folio")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, "folio/cmd/folio")...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build folio: %v: %s", err, out)
	}
	return bin, nil
})

func folioBin(t *testing.T) string {
	t.Helper()
	bin, err := folioBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// process is one `folio serve` process on a fixed address, which a test
// may kill (SIGKILL) and start again on the same address, as a supervisor
// would restart it, so that nginx's upstream stays valid.
type process struct {
	bin  string
	addr string
	args []string
	log  string // its standard output and error, across restarts

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// startProcess starts `folio serve` with args on a free loopback port and
// waits until it serves; it is killed when the test ends.
func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &process{bin: folioBin(t), addr: addr, args: args, log: filepath.Join(t.TempDir(), "folio.log")}
	t.Cleanup(p.kill)
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// start runs the process and waits until /livez answers (up to 30 s).
func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("folio on %s is running", p.addr)
	}
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, append([]string{"serve", "--addr", p.addr}, p.args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start folio: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	p.cmd, p.done = cmd, done
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("http://" + p.addr + "/livez")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-done:
			p.cmd = nil
			return fmt.Errorf("folio on %s exited: %s", p.addr, p.tail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("folio on %s does not answer /livez after 30s: %s", p.addr, p.tail())
		}
	}
}

// kill sends SIGKILL, as a crash or the OOM killer would, and waits until
// the process is gone.
func (p *process) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p.cmd = nil
}

// tail is the end of the process's log, for failure messages.
func (p *process) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}
