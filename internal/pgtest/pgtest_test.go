package pgtest

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestStart checks that every call gets its own, working database.
func TestStart(t *testing.T) {
	ctx := context.Background()
	seen := map[string]bool{}
	for range 2 {
		u := Start(t)
		if seen[u] {
			t.Fatalf("database %s handed out twice", u)
		}
		seen[u] = true
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE x (id int PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM x").Scan(&n); err != nil || n != 0 {
			t.Fatalf("count = %d, %v", n, err)
		}
		conn.Close(ctx)
	}
}

// TestCollation checks that a database's default text order is linguistic,
// so that tests relying on byte order must ask for it.
func TestCollation(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, Start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var linguistic, bytewise bool
	if err := conn.QueryRow(ctx, `SELECT 'a' < 'B', 'a' < 'B' COLLATE "C"`).Scan(&linguistic, &bytewise); err != nil {
		t.Fatal(err)
	}
	if !linguistic || bytewise {
		t.Fatalf("'a' < 'B': default %v, C %v; want true, false", linguistic, bytewise)
	}
}

// TestRestart checks that a dedicated server refuses connections while
// stopped and keeps its URL and data across a restart.
func TestRestart(t *testing.T) {
	ctx := context.Background()
	s := StartServer(t)
	u := s.CreateDB(t)
	exec := func(sql string) error {
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec("CREATE TABLE x (id int PRIMARY KEY); INSERT INTO x VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	s.Stop(t)
	if err := exec("SELECT 1"); err == nil {
		t.Fatal("a stopped server answers")
	}
	s.Start(t)
	if err := exec("INSERT INTO x VALUES (2)"); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

// TestReplica checks that a replica is a read-only hot standby that
// receives the primary's writes.
func TestReplica(t *testing.T) {
	ctx := context.Background()
	s := StartServer(t)
	u := s.CreateDB(t)
	p, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if _, err := p.Exec(ctx, "CREATE TABLE x (id int PRIMARY KEY); INSERT INTO x VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	r := s.Replica(t)
	if _, err := p.Exec(ctx, "INSERT INTO x VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	db, _ := url.Parse(u)
	conn, err := pgx.Connect(ctx, r.URL(strings.TrimPrefix(db.Path, "/")))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var standby bool
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&standby); err != nil || !standby {
		t.Fatalf("pg_is_in_recovery = %v, %v", standby, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM x").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica has %d rows after 10s, want 2", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO x VALUES (3)"); err == nil {
		t.Fatal("a replica accepts writes")
	}
}

// TestHung: a connection to Hung is accepted and never answered.
func TestHung(t *testing.T) {
	c, err := net.DialTimeout("tcp", Hung(t), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := c.Read(make([]byte, 1)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %d bytes, %v; want nothing until the deadline", n, err)
	}
}
