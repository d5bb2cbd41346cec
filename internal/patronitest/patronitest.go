// Package patronitest runs a PostgreSQL cluster managed by Patroni, the
// high-availability manager Debian packages, with one etcd as the store
// its members elect a leader in, for tests of failover. Everything runs
// from Debian's packages (apt-get install -y patroni etcd-server
// postgresql), as the postgres user when the tests run as root, with its
// data in a temporary directory removed when the test ends. When a
// component is missing or does not start, the test fails saying why.
package patronitest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"folio/internal/pgtest"
)

// The leader's lease: the leader renews it every LoopWait, and when it is
// not renewed for TTL (its machine died) a replica takes over. Patroni's
// defaults are 30 s and 10 s; these are short so that a test fails over in
// about TTL, and still leave etcd and the members RetryTimeout to answer.
const (
	TTL          = 10 * time.Second
	LoopWait     = 1 * time.Second
	RetryTimeout = 4 * time.Second
)

// startTimeout bounds each wait for a component to come up.
const startTimeout = 60 * time.Second

// Cluster is etcd and the Patroni members of one PostgreSQL cluster.
type Cluster struct {
	dir     string
	etcd    *process
	members []*Member
	owner   *syscall.Credential // the postgres user, when running as root
}

// Member is one Patroni process and the PostgreSQL server it manages.
type Member struct {
	Name    string
	dir     string
	pgPort  int
	apiPort int
	proc    *process
	killed  bool
}

// process is a running program and where its output goes.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once it has exited
	log  string
}

// Start starts etcd and a cluster of n members: the first bootstraps the
// database and becomes the primary, the others are streaming replicas of
// it. Start returns once every replica streams.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	patroni, err := exec.LookPath("patroni")
	if err != nil {
		t.Fatal("patronitest: patroni is not installed: run `apt-get install -y patroni etcd-server` (.ci/run installs it)")
	}
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		t.Fatal("patronitest: etcd is not installed: run `apt-get install -y etcd-server` (.ci/run installs it)")
	}
	bin, err := pgtest.BinDir()
	if err != nil {
		t.Fatalf("patronitest: %v", err)
	}
	dir, err := os.MkdirTemp("", "patronitest-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{dir: dir}
	t.Cleanup(c.remove)
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("patronitest: running as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.owner = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	etcdURL := c.startEtcd(t, etcd)
	for i := range n {
		m := &Member{Name: fmt.Sprintf("m%d", i+1), dir: filepath.Join(dir, fmt.Sprintf("m%d", i+1))}
		m.pgPort, m.apiPort = freePort(t), freePort(t)
		if err := os.Mkdir(m.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if c.owner != nil {
			if err := os.Chown(m.dir, int(c.owner.Uid), int(c.owner.Gid)); err != nil {
				t.Fatal(err)
			}
		}
		conf := filepath.Join(m.dir, "patroni.yml")
		if err := os.WriteFile(conf, []byte(m.config(etcdURL, bin)), 0o644); err != nil {
			t.Fatal(err)
		}
		m.proc = c.start(t, filepath.Join(m.dir, "patroni.log"), patroni, conf)
		c.members = append(c.members, m)
		if i == 0 {
			// The first member alone, so that it is the one that runs
			// initdb and leads.
			if p := c.Primary(t); p != m {
				t.Fatalf("patronitest: %s leads, not the first member", p.Name)
			}
		}
	}
	c.WaitStreaming(t)
	return c
}

// config is a member's patroni.yml. The bootstrap section only counts for
// the member that initialises the cluster. Trust authentication on
// loopback keeps passwords out of the test; pg_rewind is off because a
// killed member is not brought back.
func (m *Member) config(etcd, bin string) string {
	return fmt.Sprintf(`scope: folio
name: %[1]s
log:
  level: INFO
restapi:
  listen: 127.0.0.1:%[2]d
  connect_address: 127.0.0.1:%[2]d
etcd3:
  hosts: %[3]s
bootstrap:
  dcs:
    ttl: %[4]d
    loop_wait: %[5]d
    retry_timeout: %[6]d
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: false
      parameters:
        wal_level: replica
        hot_standby: 'on'
        max_wal_senders: 5
        max_replication_slots: 5
        max_connections: 200
        fsync: 'off'
        full_page_writes: 'off'
  initdb:
    - encoding: UTF8
    - locale: C
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - local replication all trust
    - host replication all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:%[7]d
  connect_address: 127.0.0.1:%[7]d
  data_dir: %[8]s
  bin_dir: %[9]s
  pgpass: %[10]s
  authentication:
    superuser:
      username: postgres
      password: postgres
    replication:
      username: replicator
      password: replicator
  parameters:
    unix_socket_directories: '%[11]s'
`, m.Name, m.apiPort, etcd, int(TTL/time.Second), int(LoopWait/time.Second), int(RetryTimeout/time.Second),
		m.pgPort, m.data(), bin, filepath.Join(m.dir, "pgpass"), m.dir)
}

func (m *Member) data() string { return filepath.Join(m.dir, "data") }

// startEtcd starts a one-node etcd and returns its client address. Another
// program may take a free port before etcd binds it; new ports fix that.
func (c *Cluster) startEtcd(t testing.TB, bin string) string {
	t.Helper()
	for attempt := 1; ; attempt++ {
		client, peer := freePort(t), freePort(t)
		curl, purl := fmt.Sprintf("http://127.0.0.1:%d", client), fmt.Sprintf("http://127.0.0.1:%d", peer)
		data := filepath.Join(c.dir, fmt.Sprintf("etcd%d", attempt))
		p := c.start(t, data+".log", bin, "--name", "etcd", "--data-dir", data,
			"--listen-client-urls", curl, "--advertise-client-urls", curl,
			"--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
			"--initial-cluster", "etcd="+purl)
		err := waitUntil(startTimeout, p, func() bool {
			resp, err := http.Get(curl + "/health")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
		if err == nil {
			c.etcd = p
			return fmt.Sprintf("127.0.0.1:%d", client)
		}
		if attempt == 3 || !p.exited() {
			t.Fatalf("patronitest: etcd: %v", err)
		}
	}
}

// start runs a program as the postgres user (when running as root) with
// its output in log.
func (c *Cluster) start(t testing.TB, log, bin string, args ...string) *process {
	t.Helper()
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "HOME="+c.dir)
	if c.owner != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.owner}
		cmd.Env = append(cmd.Env, "USER=postgres", "LOGNAME=postgres")
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("patronitest: start %s: %v", bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{}), log: log}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	return p
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tail is the end of the process's log, for a failure message.
func (p *process) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// waitUntil polls ok every 50ms until it holds, p exits or timeout passes.
func waitUntil(timeout time.Duration, p *process, ok func() bool) error {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if p != nil && p.exited() {
			return fmt.Errorf("exited: %s", p.tail())
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("not ready after %v", timeout)
			if p != nil {
				msg += ": " + p.tail()
			}
			return errors.New(msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// Primary waits until a member that has not been killed leads the cluster
// with a running primary that accepts writes, and returns it.
func (c *Cluster) Primary(t testing.TB) *Member {
	t.Helper()
	var leader *Member
	err := waitUntil(startTimeout, nil, func() bool {
		for _, m := range c.members {
			if !m.killed && m.proc.exited() {
				t.Fatalf("patronitest: %s exited: %s", m.Name, m.proc.tail())
			}
			if !m.killed && m.IsPrimary() {
				leader = m
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("patronitest: no primary: %v; %s", err, c.logs())
	}
	return leader
}

// IsPrimary reports whether Patroni says this member runs the primary
// (its REST API's /primary answers 200) and PostgreSQL agrees.
func (m *Member) IsPrimary() bool {
	hc := http.Client{Timeout: time.Second}
	resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/primary", m.apiPort))
	if err != nil {
		return false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, m.URL("postgres"))
	if err != nil {
		return false
	}
	defer conn.Close(ctx)
	var recovering bool
	return conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&recovering) == nil && !recovering
}

// WaitStreaming waits until every member that has not been killed, other
// than the primary, streams WAL from it.
func (c *Cluster) WaitStreaming(t testing.TB) {
	t.Helper()
	p := c.Primary(t)
	want := 0
	for _, m := range c.members {
		if m != p && !m.killed {
			want++
		}
	}
	err := waitUntil(startTimeout, nil, func() bool {
		n, err := queryInt(p.URL("postgres"), "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
		return err == nil && n == want
	})
	if err != nil {
		t.Fatalf("patronitest: %d replicas do not stream from %s: %v; %s", want, p.Name, err, c.logs())
	}
}

// WaitReplayed waits until every replica that has not been killed has
// replayed all WAL the primary has flushed (every commit, with
// synchronous_commit on as here), so that a failover loses none of it.
func (c *Cluster) WaitReplayed(t testing.TB) {
	t.Helper()
	p := c.Primary(t)
	ctx := context.Background()
	var target string
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		t.Fatalf("patronitest: %v", err)
	}
	err = conn.QueryRow(ctx, "SELECT pg_current_wal_flush_lsn()::text").Scan(&target)
	conn.Close(ctx)
	if err != nil {
		t.Fatalf("patronitest: %v", err)
	}
	for _, m := range c.members {
		if m == p || m.killed {
			continue
		}
		err := waitUntil(startTimeout, nil, func() bool {
			n, err := queryInt(m.URL("postgres"), "SELECT (pg_last_wal_replay_lsn() >= '"+target+"'::pg_lsn)::int")
			return err == nil && n == 1
		})
		if err != nil {
			t.Fatalf("patronitest: %s has not replayed up to %s: %v", m.Name, target, err)
		}
	}
}

func queryInt(u, sql string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, sql).Scan(&n)
	return n, err
}

// CreateDB creates a database on the primary and returns URL(name).
func (c *Cluster) CreateDB(t testing.TB, name string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.Primary(t).URL("postgres"))
	if err != nil {
		t.Fatalf("patronitest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("patronitest: create database: %v", err)
	}
	return c.URL(name)
}

// URL is the address of database db as a client of the cluster writes it:
// every member's host, and target_session_attrs=read-write, so that a
// connection goes to whichever member is the primary now. connect_timeout
// bounds the attempt on a member whose machine no longer answers.
func (c *Cluster) URL(db string) string {
	hosts := make([]string, len(c.members))
	for i, m := range c.members {
		hosts[i] = m.host()
	}
	return dbURL(strings.Join(hosts, ","), db, "&target_session_attrs=read-write")
}

// URL is the address of database db on this member alone.
func (m *Member) URL(db string) string { return dbURL(m.host(), db, "") }

func (m *Member) host() string { return "127.0.0.1:" + strconv.Itoa(m.pgPort) }

func dbURL(hosts, db, more string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: hosts, Path: "/" + db,
		RawQuery: "sslmode=disable&connect_timeout=2" + more}
	return u.String()
}

// Kill kills the member with SIGKILL, Patroni first (else it would start
// PostgreSQL again) and then PostgreSQL with all its processes, as the
// death of its machine would. Its leader lease, if it held it, runs out
// after TTL and another member is promoted.
func (m *Member) Kill(t testing.TB) {
	t.Helper()
	if m.killed {
		t.Fatalf("patronitest: %s is already killed", m.Name)
	}
	m.killed = true
	if err := m.proc.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("patronitest: kill patroni %s: %v", m.Name, err)
	}
	<-m.proc.done
	if err := pgtest.KillPostmaster(m.data()); err != nil {
		t.Fatalf("patronitest: kill postgres of %s: %v", m.Name, err)
	}
	// Until its port refuses connections, a client could still reach it.
	err := waitUntil(30*time.Second, nil, func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(m.pgPort), time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	if err != nil {
		t.Fatalf("patronitest: killed %s still accepts connections", m.Name)
	}
}

// Timeline returns the timeline of the member's server: 1 until a
// failover, one more for each promotion.
func (m *Member) Timeline(t testing.TB) int {
	t.Helper()
	n, err := queryInt(m.URL("postgres"), "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int")
	if err != nil {
		t.Fatalf("patronitest: timeline of %s: %v", m.Name, err)
	}
	return n
}

// logs is the end of every member's log, for a failure message.
func (c *Cluster) logs() string {
	var b strings.Builder
	for _, m := range c.members {
		fmt.Fprintf(&b, "\n--- %s:\n%s", m.Name, m.proc.tail())
	}
	return b.String()
}

// remove stops the members (Patroni stops its PostgreSQL), then etcd, and
// deletes the directory. Whatever does not stop in time is killed.
func (c *Cluster) remove() {
	for _, m := range c.members {
		if !m.killed {
			_ = m.proc.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, m := range c.members {
		if m.killed {
			continue
		}
		select {
		case <-m.proc.done:
		case <-time.After(30 * time.Second):
			_ = m.proc.cmd.Process.Kill()
			<-m.proc.done
		}
		// A postmaster Patroni could not stop is killed; none is an error.
		_ = pgtest.KillPostmaster(m.data())
	}
	if c.etcd != nil {
		_ = c.etcd.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.etcd.done:
		case <-time.After(10 * time.Second):
			_ = c.etcd.cmd.Process.Kill()
			<-c.etcd.done
		}
	}
	os.RemoveAll(c.dir)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
