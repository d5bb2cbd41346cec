package pgtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BinDir returns the directory of the newest installed PostgreSQL's
// binaries (initdb, postgres, pg_ctl), for helpers that run a server of
// their own making, such as a high-availability manager's.
func BinDir() (string, error) { return binDir() }

// Kill kills the server with SIGKILL, the postmaster and every process it
// started, as a crash of its machine would: nothing is flushed, no
// connection is closed cleanly, no WAL is sent on to replicas. Start brings
// it back through crash recovery.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	if s.cmd == nil {
		t.Fatal("pgtest: server is not running")
	}
	if err := KillPostmaster(s.data); err != nil {
		t.Fatalf("pgtest: kill: %v", err)
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatal("pgtest: killed postgres has not exited after 30s")
	}
	s.cmd = nil
}

// Promote promotes a replica (see Replica) to a primary that accepts
// writes, as a failover does: it ends recovery and starts a new timeline.
// Its URL stays the same.
func (s *Server) Promote(t testing.TB) {
	t.Helper()
	out, err := command(filepath.Join(s.bin, "pg_ctl"), "promote", "-w", "-t", "60", "-D", s.data).CombinedOutput()
	if err != nil {
		t.Fatalf("pgtest: pg_ctl promote: %v: %s", err, out)
	}
}

// KillPostmaster sends SIGKILL to the postmaster of the cluster in data
// (its pid is the first line of postmaster.pid, and its command line names
// data) and then to every process whose parent it was. The children go too because a backend outlives its
// postmaster until it next looks, and a client connected to it would go on
// being answered by a server that is meant to be gone.
func KillPostmaster(data string) error {
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return fmt.Errorf("postmaster.pid: %w", err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	pid, err := strconv.Atoi(string(bytes.TrimSpace(line)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("postmaster.pid: bad pid %q", line)
	}
	// A file left by a server that died may name a pid that another
	// process has taken since.
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || !bytes.Contains(cmdline, []byte(data)) {
		return fmt.Errorf("no postmaster of %s runs as pid %d", data, pid)
	}
	// The children are listed first: once the postmaster is gone they are
	// handed to another parent and can no longer be told apart.
	children, err := childrenOf(pid)
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill postmaster %d: %w", pid, err)
	}
	for _, c := range children {
		if err := syscall.Kill(c, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("kill postgres process %d: %w", c, err)
		}
	}
	return nil
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // it has exited meanwhile
		}
		// The command name in parentheses may hold spaces; the fields after
		// its closing parenthesis are the state and the parent's pid.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := bytes.Fields(stat[i+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(string(fields[1])); ppid == pid {
			out = append(out, p)
		}
	}
	return out, nil
}
