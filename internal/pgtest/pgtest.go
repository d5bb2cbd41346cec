// Package pgtest starts a real PostgreSQL server for tests: one server per
// test binary, one fresh database per test. It uses Debian's packaged
// binaries (apt-get install -y postgresql); when they are missing or the
// server cannot start, the test fails with the reason rather than skipping.
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

// server is the one PostgreSQL of this test binary. A test helper keeps it
// at package level so that every test in the binary shares it; Main stops it.
var server struct {
	once sync.Once
	err  error
	dir  string // data, socket and log directory
	port int
	bin  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the postmaster has exited
	dbs  atomic.Int64
}

// Main runs the tests of a package that uses Start and stops the server, if
// any test started it, after they finish. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	stop()
	return code
}

// Start returns the URL of a new, empty database on the shared server,
// starting the server on first use. The database's default collation is
// ICU's root locale, not byte order.
func Start(t testing.TB) string {
	t.Helper()
	server.once.Do(func() { server.err = start() })
	if server.err != nil {
		t.Fatalf("pgtest: %v", server.err)
	}
	name := fmt.Sprintf("t_%d", server.dbs.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL("postgres"))
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	// A linguistic default collation (ICU's root locale, where "a" < "B")
	// makes sure that code relying on byte order says COLLATE "C".
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'und' LOCALE 'C'"); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	return dbURL(name)
}

func dbURL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: "127.0.0.1:" + strconv.Itoa(server.port), Path: "/" + db,
		RawQuery: "sslmode=disable"}
	return u.String()
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

func start() error {
	bin, err := binDir()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return err
	}
	server.dir = dir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
	}
	data := filepath.Join(dir, "data")
	out, err := command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %v: %s", err, out)
	}
	// Another test binary may take the free port before the server binds
	// it; a new port fixes that.
	for attempt := 1; ; attempt++ {
		exited, err := launch(bin, dir, data)
		if err == nil || !exited || attempt == 3 {
			return err
		}
	}
}

// launch starts the postmaster on a free port and waits until it accepts
// connections. exited says that it failed by exiting (a port taken, say).
func launch(bin, dir, data string) (exited bool, err error) {
	port, err := freePort()
	if err != nil {
		return false, err
	}
	server.port = port
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return false, err
	}
	cmd := command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return false, fmt.Errorf("start postgres: %w", err)
	}
	server.cmd, server.bin = cmd, bin
	done := make(chan struct{})
	server.done = done
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait(); logf.Close(); close(done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, dbURL("postgres"))
		if err == nil {
			conn.Close(ctx)
			cancel()
			return false, nil
		}
		cancel()
		select {
		case werr := <-waited:
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			server.cmd = nil
			return true, fmt.Errorf("postgres exited: %v: %s", werr, log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
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

// stop shuts the server down with pg_ctl (fast mode) and removes its
// directory.
func stop() {
	if server.cmd != nil {
		_ = command(filepath.Join(server.bin, "pg_ctl"), "stop", "-D", filepath.Join(server.dir, "data"), "-m", "fast", "-w").Run()
		select {
		case <-server.done:
		case <-time.After(30 * time.Second):
			_ = server.cmd.Process.Kill()
		}
	}
	if server.dir != "" {
		os.RemoveAll(server.dir)
	}
}
