// Package pgtest starts a real PostgreSQL server for tests: one shared
// server per test binary with one fresh database per test (Start), or a
// dedicated server that a test may stop, restart and replicate
// (StartServer), and a server that accepts connections and never answers,
// as a hung one (Hung). It uses Debian's packaged binaries (apt-get install -y
// postgresql); when they are missing or the server cannot start, the test
// fails with the reason rather than skipping.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// shared is the one shared PostgreSQL of this test binary. A test helper
// keeps it at package level so that every test in the binary shares it;
// Main stops it.
var shared struct {
	once sync.Once
	err  error
	srv  *Server
}

// Server is one running (or stopped) PostgreSQL cluster in a temporary
// directory, listening on 127.0.0.1 and on a unix socket in that directory.
// Its methods are not safe for concurrent use, except URL and CreateDB.
type Server struct {
	dir  string // socket and log directory; data lives below it
	data string
	port int
	bin  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the postmaster has exited
	dbs  atomic.Int64
}

// Main runs the tests of a package that uses Start and stops the shared
// server, if any test started it, after they finish. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if shared.srv != nil {
		shared.srv.remove()
	}
	return code
}

// Start returns the URL of a new, empty database on the shared server,
// starting the server on first use. The database's default collation is
// ICU's root locale, not byte order.
func Start(t testing.TB) string {
	t.Helper()
	shared.once.Do(func() { shared.srv, shared.err = newServer() })
	if shared.err != nil {
		t.Fatalf("pgtest: %v", shared.err)
	}
	return shared.srv.CreateDB(t)
}

// StartServer starts a dedicated server for one test, which the test may
// stop and start again (to test recovery) or replicate. It is removed when
// the test ends. Use Start when the test does not need that: a server
// costs about a second to create.
func StartServer(t testing.TB) *Server {
	t.Helper()
	s, err := newServer()
	if s != nil {
		t.Cleanup(s.remove)
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return s
}

// CreateDB creates a new, empty database as Start does and returns its URL.
func (s *Server) CreateDB(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t_%d", s.dbs.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	// A linguistic default collation (ICU's root locale, where "a" < "B")
	// makes sure that code relying on byte order says COLLATE "C".
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'und' LOCALE 'C'"); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	return s.URL(name)
}

// URL returns the URL of database db on the server, as the superuser
// postgres over TCP. It stays valid across Stop and Start.
func (s *Server) URL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: "127.0.0.1:" + strconv.Itoa(s.port), Path: "/" + db,
		RawQuery: "sslmode=disable"}
	return u.String()
}

// Stop shuts the server down (pg_ctl's fast mode: open connections are
// closed, committed data kept) and waits until it has exited.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if err := s.stop(); err != nil {
		t.Fatalf("pgtest: stop: %v", err)
	}
}

// Start starts a stopped server again on the same port and waits until it
// accepts connections.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if s.cmd != nil {
		t.Fatal("pgtest: server is running")
	}
	if _, err := s.launch(); err != nil {
		t.Fatalf("pgtest: restart: %v", err)
	}
}

// Replica creates a streaming replica of the server with pg_basebackup and
// starts it as a hot standby on a port of its own. It is removed when the
// test ends. Data written on the server reaches the replica asynchronously.
func (s *Server) Replica(t testing.TB) *Server {
	t.Helper()
	// The unix socket has trust auth for replication, as initdb -A trust
	// sets it up.
	return s.replica(t, nil, "-h", s.dir, "-p", strconv.Itoa(s.port), "-U", "postgres")
}

// replica takes the base backup with the connection arguments and
// environment given and starts the replica.
func (s *Server) replica(t testing.TB, env []string, conn ...string) *Server {
	t.Helper()
	r := &Server{dir: filepath.Join(s.dir, fmt.Sprintf("replica%d", s.dbs.Add(1))), bin: s.bin}
	r.data = filepath.Join(r.dir, "data")
	t.Cleanup(r.remove)
	if err := os.Mkdir(r.dir, 0o700); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := chown(r.dir); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	// -R writes standby.signal and primary_conninfo; -X stream copies the
	// WAL written during the backup.
	cmd := command(filepath.Join(s.bin, "pg_basebackup"), append([]string{"-D", r.data, "-R", "-X", "stream", "-c", "fast"}, conn...)...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pgtest: pg_basebackup: %v: %s", err, out)
	}
	if err := r.launchRetry(); err != nil {
		t.Fatalf("pgtest: start replica: %v", err)
	}
	return r
}

// newServer creates a cluster in a new temporary directory and starts it.
// The returned server, when not nil, must be removed even after an error.
func newServer() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, data: filepath.Join(dir, "data"), bin: bin}
	if err := chown(dir); err != nil {
		return s, err
	}
	out, err := command(filepath.Join(bin, "initdb"), "-D", s.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput()
	if err != nil {
		return s, fmt.Errorf("initdb: %v: %s", err, out)
	}
	return s, s.launchRetry()
}

// chown gives dir (or a file) to the postgres user when running as root,
// since the server runs as that user.
func chown(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs the postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}

// binDir finds the newest installed PostgreSQL's binaries.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var ok []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			ok = append(ok, d)
		}
	}
	if len(ok) == 0 {
		return "", fmt.Errorf("no PostgreSQL binaries in /usr/lib/postgresql/*/bin: run `apt-get install -y postgresql` (.ci/run installs it)")
	}
	sort.Slice(ok, func(i, j int) bool { return version(ok[i]) < version(ok[j]) })
	return ok[len(ok)-1], nil
}

func version(bin string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return n
}

// command runs a PostgreSQL binary, as the postgres user when running as
// root: initdb and postgres refuse to run as root.
func command(bin string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", bin}, args...)...)
	}
	return exec.Command(bin, args...)
}

// launchRetry launches the server on a free port. Another test binary may
// take the free port before the server binds it; a new port fixes that.
func (s *Server) launchRetry() error {
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		s.port = port
		exited, err := s.launch()
		if err == nil || !exited || attempt == 3 {
			return err
		}
	}
}

// launch starts the postmaster on s.port and waits until it accepts
// connections. exited says that it failed by exiting (a port taken, say).
func (s *Server) launch() (exited bool, err error) {
	logf, err := os.OpenFile(filepath.Join(s.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return false, err
	}
	// wal_level=replica and the WAL senders let Replica take a base backup;
	// hot_standby lets a replica answer queries.
	cmd := command(filepath.Join(s.bin, "postgres"), "-D", s.data, "-p", strconv.Itoa(s.port), "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200",
		"-c", "wal_level=replica", "-c", "max_wal_senders=5", "-c", "hot_standby=on")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return false, fmt.Errorf("start postgres: %w", err)
	}
	s.cmd = cmd
	done := make(chan struct{})
	s.done = done
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait(); logf.Close(); close(done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, s.URL("postgres"))
		if err == nil {
			conn.Close(ctx)
			cancel()
			return false, nil
		}
		cancel()
		select {
		case werr := <-waited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
			s.cmd = nil
			return true, fmt.Errorf("postgres exited: %v: %s", werr, log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
			return false, fmt.Errorf("postgres does not accept connections after 60s: %v: %s", err, log)
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

// stop shuts the server down with pg_ctl (fast mode), killing it if it has
// not exited after 30 seconds.
func (s *Server) stop() error {
	if s.cmd == nil {
		return nil
	}
	err := command(filepath.Join(s.bin, "pg_ctl"), "stop", "-D", s.data, "-m", "fast", "-w").Run()
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %w", err)
	}
	return nil
}

// remove stops the server and deletes its directory.
func (s *Server) remove() {
	_ = s.stop()
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}
