package pgtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// ReplicaAs is Replica with the base backup taken over TCP as user with
// password, as an operator takes it from another machine: the server's
// pg_hba.conf must let user replicate from 127.0.0.1 (see SetHBA).
func (s *Server) ReplicaAs(t testing.TB, user, password string) *Server {
	t.Helper()
	return s.replica(t, []string{"PGPASSWORD=" + password}, "-h", "127.0.0.1", "-p", strconv.Itoa(s.port), "-U", user)
}

// SetHBA replaces the server's pg_hba.conf with text and reloads it. The
// tests' own connections (URL: postgres over TCP; Replica: postgres over
// the unix socket) keep working only if text lets them in.
func (s *Server) SetHBA(t testing.TB, text string) {
	t.Helper()
	path := filepath.Join(s.data, "pg_hba.conf")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := chown(path); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if out, err := command(filepath.Join(s.bin, "pg_ctl"), "reload", "-D", s.data).CombinedOutput(); err != nil {
		t.Fatalf("pgtest: pg_ctl reload: %v: %s", err, out)
	}
}

// Command returns a command that runs one of the server's PostgreSQL
// programs (psql, pg_basebackup, …), as the postgres user when running as
// root.
func (s *Server) Command(program string, args ...string) *exec.Cmd {
	return command(filepath.Join(s.bin, program), args...)
}

// Port is the port the server listens on.
func (s *Server) Port() int { return s.port }
